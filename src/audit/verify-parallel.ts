// Parallel verification of large chain files. H(P), the only per-byte work, does not depend on
// other lines, so worker threads compute it for consecutive ranges of the file while this thread
// feeds the lines, in order, to the same ChainChecker the sequential path uses (MACs, links,
// digests and signatures are all checked here). Lines are split exactly as scanLines splits
// them; a range boundary that cannot be placed (a line longer than MAX_LINE_BYTES) falls back to
// hashing on this thread.
import { availableParallelism } from 'node:os';
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import type { ChainChecker } from './chain-check.js';
import { MAX_LINE_BYTES, type ScanEnd } from './scan.js';
import type { HashJob, HashResult } from './verify-worker.js';

export const PARALLEL_MIN_BYTES = 8 << 20;
export const DEFAULT_CHUNK = 4 << 20;

export class HashPool {
  private readonly workers: Worker[] = [];
  private next = 0;
  private id = 0;
  private readonly waiting = new Map<number, { resolve(r: HashResult): void; reject(e: Error): void }>();

  // One thread per spare CPU: this thread checks the lines meanwhile.
  constructor(n = Math.min(4, Math.max(1, availableParallelism() - 1))) {
    for (let i = 0; i < n; i++) {
      const w = new Worker(new URL('./verify-worker.js', import.meta.url));
      w.on('message', (m: HashResult & { id: number; error?: string }) => {
        const p = this.waiting.get(m.id);
        this.waiting.delete(m.id);
        if (m.error) p?.reject(new Error(m.error)); else p?.resolve(m);
      });
      w.on('error', (e) => { for (const p of this.waiting.values()) p.reject(e); this.waiting.clear(); });
      this.workers.push(w);
    }
  }

  hash(job: HashJob): Promise<HashResult> {
    const id = ++this.id;
    const w = this.workers[this.next++ % this.workers.length]!;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      w.postMessage({ ...job, id });
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

function readRange(fd: number, start: number, len: number): Buffer {
  const buf = Buffer.allocUnsafe(len);
  let got = 0;
  while (got < len) {
    const n = readSync(fd, buf, got, len - got, start + got);
    if (n === 0) break;
    got += n;
  }
  return got === len ? buf : buf.subarray(0, got);
}

/** Range ends: each just after a newline, the last one after the file's last newline. */
function ranges(fd: number, size: number, CHUNK: number): { start: number; end: number }[] | null {
  const out: { start: number; end: number }[] = [];
  let start = 0;
  while (start < size) {
    let end: number;
    if (size - start <= CHUNK) {
      // Last range: up to the last newline of the file (the rest is an incomplete tail).
      const w = readRange(fd, start, size - start);
      const nl = w.lastIndexOf(10);
      if (nl < 0) break;
      end = start + nl + 1;
    } else {
      const w = readRange(fd, start + CHUNK, Math.min(MAX_LINE_BYTES + 1, size - start - CHUNK));
      const nl = w.indexOf(10);
      if (nl < 0) return null;
      end = start + CHUNK + nl + 1;
    }
    out.push({ start, end });
    start = end;
  }
  return out;
}

export async function scanFileParallel(file: string, checker: ChainChecker, pool: HashPool, chunk = DEFAULT_CHUNK): Promise<ScanEnd> {
  const size = statSync(file).size;
  const fd = openSync(file, 'r');
  try {
    const rs = ranges(fd, size, chunk);
    if (!rs) {
      const { scanLines } = await import('./scan.js');
      return scanLines(file, checker);
    }
    // Keep a few ranges in flight ahead of the one being checked.
    const AHEAD = 4;
    const pending: Promise<HashResult>[] = [];
    let lineNo = 0;
    const covered = rs.length ? rs[rs.length - 1]!.end : 0;
    for (let i = 0; i < rs.length; i++) {
      while (pending.length < AHEAD && i + pending.length < rs.length) pending.push(pool.hash({ file, ...rs[i + pending.length]! }));
      const res = await pending.shift()!;
      const r = rs[i]!;
      const buf = readRange(fd, r.start, r.end - r.start);
      const hs = Buffer.from(res.hs);
      const algs = new Uint8Array(res.algs);
      let s = 0;
      for (let n = 0; n < res.lines; n++) {
        const e = buf.indexOf(10, s);
        lineNo++;
        let go: boolean | void;
        if (e - s > MAX_LINE_BYTES) go = checker.overlong(r.start + s, lineNo, e - s);
        else {
          const a = algs[n];
          const pre = a === 1 ? hs.subarray(n * 64, n * 64 + 32) : a === 2 ? hs.subarray(n * 64, n * 64 + 64) : undefined;
          go = checker.line(buf, s, e, r.start + s, lineNo, pre);
        }
        if (go === false) return { tailBytes: 0, tailOffset: 0, lines: lineNo, stopped: true };
        s = e + 1;
      }
    }
    return { tailBytes: size - covered, tailOffset: covered, lines: lineNo, stopped: false };
  } finally {
    closeSync(fd);
  }
}
