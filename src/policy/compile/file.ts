// file_rules compiled into buckets keyed by each pattern's literal directory prefix, so an
// evaluation consults only the rules whose patterns could match the path's ancestors.
import { compileGlob, expandBraces } from '../glob.js';
import type { FileRule } from '../schema/file-rules.js';
import { FILE_OPS, type FileOperation } from '../types.js';
import { scan, sortBucket, type Entry } from './first-match.js';

export const OP_BIT: Readonly<Record<string, number>> = Object.fromEntries(FILE_OPS.map((o, i) => [o, 1 << i]));
const ALL_OPS = (1 << FILE_OPS.length) - 1;

export function opsMask(ops: readonly string[] | undefined): number {
  if (!ops) return ALL_OPS;
  let m = 0;
  for (const o of ops) m |= o === '*' ? ALL_OPS : OP_BIT[o]!;
  return m;
}

export interface PathIndex<Op> {
  /** Exact-path and prefix buckets. */
  byKey: Map<string, Entry<Op>[]>;
  /** Patterns starting with a wildcard, consulted for every path. */
  always: Entry<Op>[];
  /** keyLen[n] is true when some key has length n: lets lookups skip prefixes no key can equal. */
  keyLen: Uint8Array;
}

export function buildPathIndex<Op>(items: { rule: number; pattern: string; test: (op: Op, matched: (s: string) => boolean) => boolean }[]): PathIndex<Op> {
  const byKey = new Map<string, Entry<Op>[]>();
  const always: Entry<Op>[] = [];
  let maxLen = 0;
  for (const it of items) {
    for (const p of expandBraces(it.pattern)) {
      const g = compileGlob(p, '/');
      const entry: Entry<Op> = { rule: it.rule, test: (op) => it.test(op, g.test) };
      const key = g.literal ? g.text : g.prefix;
      if (key === '') always.push(entry);
      else {
        let b = byKey.get(key);
        if (!b) byKey.set(key, (b = []));
        b.push(entry);
        maxLen = Math.max(maxLen, key.length);
      }
    }
  }
  for (const b of byKey.values()) sortBucket(b);
  sortBucket(always);
  const keyLen = new Uint8Array(maxLen + 1);
  for (const k of byKey.keys()) keyLen[k.length] = 1;
  return { byKey, always, keyLen };
}

/** Lowest matching rule index for `path` (canonical, absolute), or Infinity. */
export function lookupPath<Op>(ix: PathIndex<Op>, path: string, op: Op): number {
  let best = scan(ix.always, op, Infinity);
  const { byKey, keyLen } = ix;
  if (keyLen.length > 1 && keyLen[1]) best = scan(byKey.get('/'), op, best);
  const n = path.length;
  const maxKey = keyLen.length - 1;
  // Every ancestor directory (each "/" boundary) and the path itself, shortest first.
  for (let j = path.indexOf('/', 1); ; j = path.indexOf('/', j + 1)) {
    const end = j < 0 ? n : j;
    if (end > maxKey) break;
    if (keyLen[end] === 1) best = scan(byKey.get(end === n ? path : path.slice(0, end)), op, best);
    if (j < 0) break;
  }
  return best;
}

export function compileFileRules(rules: readonly FileRule[]): (op: FileOperation, path: string) => number {
  const items = rules.flatMap((r, i) => {
    const mask = opsMask(r.operations);
    return r.paths.map((pattern) => ({
      rule: i,
      pattern,
      test: (op: { bit: number; path: string }, matched: (s: string) => boolean) => (op.bit & mask) !== 0 && matched(op.path),
    }));
  });
  const ix = buildPathIndex(items);
  // One reusable probe object: evaluation is synchronous and single-threaded.
  const probe = { bit: 0, path: '' };
  return (op, path) => {
    probe.bit = OP_BIT[op.op] ?? 0;
    probe.path = path;
    return lookupPath(ix, path, probe);
  };
}
