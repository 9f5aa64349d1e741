// Worker for the parallel verifier: hashes the entry bodies P of a byte range of a chain file.
// It decides nothing: the main thread's ChainChecker does every check, in order, with these
// precomputed hashes (H(P) is the only per-byte work and is independent from line to line).
import { closeSync, openSync, readSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { hashOf, macSuffixStart } from './format.js';

export interface HashJob { file: string; start: number; end: number }
export interface HashResult { lines: number; hs: ArrayBuffer; algs: ArrayBuffer }

/** For each line in [start, end): 64-byte slot with H(P) (sha256: first 32 bytes), alg code. */
export function hashRange(job: HashJob): HashResult {
  const len = job.end - job.start;
  const buf = Buffer.allocUnsafe(len);
  const fd = openSync(job.file, 'r');
  try {
    let got = 0;
    while (got < len) {
      const n = readSync(fd, buf, got, len - got, job.start + got);
      if (n === 0) break;
      got += n;
    }
  } finally {
    closeSync(fd);
  }
  let lines = 0;
  for (let i = buf.indexOf(10); i >= 0; i = buf.indexOf(10, i + 1)) lines++;
  const hs = Buffer.alloc(lines * 64);
  const algs = new Uint8Array(lines);
  let s = 0;
  for (let n = 0; n < lines; n++) {
    const e = buf.indexOf(10, s);
    let sfx = macSuffixStart(buf, s, e, 'sha256');
    if (sfx >= 0) {
      hashOf('sha256', buf.subarray(s, sfx)).copy(hs, n * 64);
      algs[n] = 1;
    }
    else if ((sfx = macSuffixStart(buf, s, e, 'sha512')) >= 0) { hashOf('sha512', buf.subarray(s, sfx)).copy(hs, n * 64); algs[n] = 2; }
    s = e + 1;
  }
  return { lines, hs: hs.buffer.slice(hs.byteOffset, hs.byteOffset + hs.length) as ArrayBuffer, algs: algs.buffer };
}

if (parentPort) {
  const port = parentPort;
  port.on('message', (job: HashJob & { id: number }) => {
    try {
      const r = hashRange(job);
      port.postMessage({ id: job.id, ...r }, [r.hs, r.algs]);
    } catch (e) {
      port.postMessage({ id: job.id, error: (e as Error).message });
    }
  });
}
