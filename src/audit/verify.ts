// `cordon audit verify` as a function: checks one chain spread over files given in order
// (rotated files first; a FILE whose rotated predecessors FILE.000000... exist gets them
// prepended automatically) and returns a report; never throws on bad input files.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { availableParallelism, loadavg } from 'node:os';
import type { KeyObject } from 'node:crypto';
import { ChainChecker, type BadEntry, type Verdict } from './chain-check.js';
import type { LoadedKey } from './key.js';
import { scanLines, type ScanEnd } from './scan.js';

export interface VerifyOptions {
  /** HMAC keys to try, matched by fingerprint. */
  keys: LoadedKey[];
  /** Public keys for checkpoint signatures (by keyId). With no HMAC keys: public-only mode. */
  publicKeys?: Map<string, KeyObject>;
  /** Keys were named by the user (mismatch = wrong key) rather than found by default. */
  explicitKeys?: boolean;
  /** Accept a chain without a close entry (a live log). Default false. */
  allowOpen?: boolean;
  /** Do not add rotated predecessors of the files given. */
  exactFiles?: boolean;
  /** Heads recorded elsewhere (seq → MAC) that the chain must contain (see CheckerOptions). */
  expectHeads?: Map<number, string>;
}

export type ChainStatus = 'intact' | 'open' | 'truncated' | 'broken';

export interface VerifyReport {
  ok: boolean;
  status: ChainStatus;
  mode: 'hmac' | 'public' | 'hmac+public';
  files: string[];
  entries: number;
  events: number;
  chains: { chain: string; alg: string; key: string; firstSeq: number; lastSeq: number }[];
  checkpoints: { total: number; verified: number; lastSignedSeq: number | null };
  firstBad: BadEntry | null;
  truncation: { file: string; offset: number; bytes: number } | null;
  /** Entries after the last verified checkpoint (public mode: not covered by any signature). */
  unsignedTail: number;
  notes: string[];
  summary: string;
}

/** FILE plus its rotated predecessors (FILE.NNNNNN, oldest first), when they exist. */
export function expandRotated(file: string): string[] {
  const dir = dirname(file);
  const base = basename(file);
  let names: string[] = [];
  try { names = readdirSync(dir); } catch { return [file]; }
  const rotated = names.filter((n) => n.startsWith(base + '.') && /^\d{6,}$/.test(n.slice(base.length + 1))).sort();
  return [...rotated.map((n) => join(dir, n)), file];
}

interface Run {
  all: string[];
  checker: ChainChecker;
  mode: VerifyReport['mode'];
  truncation: VerifyReport['truncation'];
}

function begin(files: string[], opts: VerifyOptions): Run {
  const all = opts.exactFiles ? files : [...new Set(files.flatMap((f) => (/\.\d{6,}$/.test(f) ? [f] : expandRotated(f))))];
  const publicKeys = opts.publicKeys ?? new Map<string, KeyObject>();
  const mode = opts.keys.length && publicKeys.size ? 'hmac+public' : opts.keys.length ? 'hmac' : 'public';
  const checker = new ChainChecker({ keys: opts.keys, publicKeys, explicitKeys: !!opts.explicitKeys, ...(opts.expectHeads ? { expectHeads: opts.expectHeads } : {}) });
  return { all, checker, mode, truncation: null };
}

/** Checks that `f` can be read next; false (with the verdict recorded) when the run must stop. */
function admit(run: Run, f: string): boolean {
  const { checker } = run;
  const bad = (reason: Verdict, message: string): boolean => {
    if (!checker.bad) checker.bad = { file: f, line: 0, offset: 0, seq: null, reason, message };
    return false;
  };
  if (checker.bad) return false;
  if (!existsSync(f)) return bad('malformed', `${f} does not exist`);
  if (!statSync(f).isFile()) return bad('malformed', `${f} is not a regular file`);
  if (run.truncation) return bad('truncated', `${run.truncation.file} ends with an incomplete entry but is followed by ${f}`);
  checker.beginFile(f);
  return true;
}

function afterFile(run: Run, f: string, end: ScanEnd): void {
  const { checker } = run;
  if (end.tailBytes > 0 && !checker.bad) run.truncation = { file: f, offset: end.tailOffset, bytes: end.tailBytes };
  if (!checker.bad && end.lines === 0 && end.tailBytes === 0) checker.bad = { file: f, line: 0, offset: 0, seq: null, reason: 'malformed', message: `${f} is empty: no genesis entry` };
}

export function verifyChainFiles(files: string[], opts: VerifyOptions): VerifyReport {
  const run = begin(files, opts);
  for (const f of run.all) {
    if (!admit(run, f)) break;
    afterFile(run, f, scanLines(f, run.checker));
  }
  return finish(run, opts);
}

/**
 * Same checks and report as verifyChainFiles; large files have their entry hashes computed by
 * worker threads while this thread checks them in order (see verify-parallel.ts).
 */
export async function verifyChainFilesParallel(
  files: string[],
  opts: VerifyOptions & {
    /** Hash worker threads (default: CPUs, at most 4); 0 = sequential. */
    workers?: number;
    /** Files smaller than this are checked on this thread (default 8 MiB). */
    minBytes?: number;
    /** Bytes per worker range (default 4 MiB). */
    chunkBytes?: number;
  },
): Promise<VerifyReport> {
  const { HashPool, scanFileParallel, PARALLEL_MIN_BYTES } = await import('./verify-parallel.js');
  const run = begin(files, opts);
  let pool: InstanceType<typeof HashPool> | null = null;
  try {
    for (const f of run.all) {
      if (!admit(run, f)) break;
      // Workers only pay off with idle CPUs: on a saturated host they slow the check down.
      const idle = opts.workers !== undefined || loadavg()[0]! < availableParallelism() - 0.5;
      if (statSync(f).size >= (opts.minBytes ?? PARALLEL_MIN_BYTES) && opts.workers !== 0 && idle) {
        pool ??= new HashPool(opts.workers);
        afterFile(run, f, await scanFileParallel(f, run.checker, pool, opts.chunkBytes));
      } else {
        afterFile(run, f, scanLines(f, run.checker));
      }
    }
  } finally {
    await pool?.close();
  }
  return finish(run, opts);
}

function finish(run: Run, opts: VerifyOptions): VerifyReport {
  const { checker, all, mode, truncation } = run;
  checker.finish();
  if (!checker.bad && opts.expectHeads) {
    for (const [seq, mac] of opts.expectHeads) {
      const seen = checker.headsSeen.get(seq) ?? [];
      if (seen.includes(mac)) continue;
      checker.bad = seen.length
        ? { file: all[all.length - 1] ?? '', line: 0, offset: 0, seq, reason: 'edited', message: `entry ${seq} is not the one recorded elsewhere (its MAC is ${seen[0]!.slice(0, 16)}…, the recorded head ${mac.slice(0, 16)}…): the chain was replaced from that point` }
        : { file: all[all.length - 1] ?? '', line: 0, offset: 0, seq, reason: 'truncated', message: `truncated: entry ${seq} (MAC ${mac.slice(0, 16)}…, recorded elsewhere) is missing: the chain was cut after entry ${checker.state ? checker.state.nextSeq - 1 : '?'}` };
      break;
    }
  }
  const st = checker.state;
  let status: ChainStatus = 'intact';
  let firstBad = checker.bad;
  if (firstBad) status = 'broken';
  else if (truncation) {
    status = 'truncated';
    firstBad = { file: truncation.file, line: 0, offset: truncation.offset, seq: st ? st.nextSeq : null, reason: 'truncated', message: `truncated: ${truncation.file} ends with an incomplete entry (${truncation.bytes} bytes at offset ${truncation.offset}) after entry ${st ? st.nextSeq - 1 : '?'}; entries before it verify` };
  } else if (!checker.closed) status = 'open';
  if (st?.rotatingTo && status === 'open') checker.notes.push(`the chain ends with a key rotation to ${st.rotatingTo.chain} whose genesis entry is missing`);

  const lastSeq = st ? st.nextSeq - 1 : -1;
  const unsignedTail = checker.checkpointsVerified > 0 ? Math.max(0, lastSeq - checker.lastSignedSeq) : checker.entries;
  let ok = status === 'intact' || (status === 'open' && !!opts.allowOpen);
  if (mode === 'public' && ok) {
    if (checker.checkpointsVerified === 0) { ok = false; checker.notes.push('no checkpoint signed by the given public key was found: nothing could be verified without the HMAC key'); }
    else if (unsignedTail > 0) { ok = false; checker.notes.push(`${unsignedTail} entries after the last signed checkpoint (entry ${checker.lastSignedSeq}) are not covered by a signature; verify them with the HMAC key`); }
  }
  const report: VerifyReport = {
    ok, status, mode, files: all, entries: checker.entries, events: checker.events, chains: checker.chains,
    checkpoints: { total: checker.checkpoints, verified: checker.checkpointsVerified, lastSignedSeq: checker.lastSignedSeq >= 0 ? checker.lastSignedSeq : null },
    firstBad, truncation, unsignedTail, notes: checker.notes, summary: '',
  };
  report.summary = summarize(report);
  return report;
}

function summarize(r: VerifyReport): string {
  const what = `${r.entries} entries (${r.events} events) in ${r.files.length} file${r.files.length === 1 ? '' : 's'}`;
  const how = r.mode === 'public' ? 'signed checkpoints (public key only)' : r.mode === 'hmac' ? 'HMAC chain' : 'HMAC chain and signed checkpoints';
  switch (r.status) {
    case 'intact': return r.ok ? `OK: ${what} verified by ${how}; the chain is closed` : `FAILED: ${what}: ${r.notes[r.notes.length - 1] ?? 'not verified'}`;
    case 'open': return r.ok ? `OK (open): ${what} verified by ${how}; no close entry yet (live log)` : `OPEN: ${what} verify by ${how}, but the chain has no close entry: the writer is still running, crashed, or the end was cut off at an entry boundary (pass --allow-open for a live log)`;
    case 'truncated': return `TRUNCATED: ${r.firstBad!.message}`;
    case 'broken': return `FAILED (${r.firstBad!.reason}): ${r.firstBad!.message}${r.firstBad!.line ? ` [${r.firstBad!.file}:${r.firstBad!.line}]` : ''}`;
  }
}
