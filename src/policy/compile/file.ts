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

/** Buckets whose keys share one length: few keys are compared in place, many are hashed. */
interface LengthGroup<Op> {
  len: number;
  keys: string[];
  buckets: Entry<Op>[][];
  map: Map<string, Entry<Op>[]> | undefined;
}

export interface PathIndex<Op> {
  /** Literal patterns: consulted once, with the whole path. */
  exact: Map<string, Entry<Op>[]>;
  /** Patterns starting with a wildcard, consulted for every path. */
  always: Entry<Op>[];
  /** Literal directory prefixes of the other patterns, grouped by length, shortest first. */
  groups: LengthGroup<Op>[];
}

const HASH_ABOVE = 6;
const MATCHED = (): boolean => true;

/**
 * `path` begins with `key` (the caller has checked the lengths). Compared from the end, where
 * keys of one length differ: a mismatch costs a character or two, and no builtin call (on slow
 * cores `startsWith` costs ~100 ns a call, more than this whole loop on a miss).
 */
function hasPrefix(path: string, key: string): boolean {
  for (let i = key.length - 1; i >= 0; i--) if (path.charCodeAt(i) !== key.charCodeAt(i)) return false;
  return true;
}

export interface PathItem<Op> {
  rule: number;
  pattern: string;
  /** Operation bits the item covers (a cheap pre-check); absent: all. */
  mask?: number;
  test: (op: Op, matched: (s: string) => boolean) => boolean;
}

export function buildPathIndex<Op>(items: PathItem<Op>[]): PathIndex<Op> {
  const byKey = new Map<string, Entry<Op>[]>();
  const exact = new Map<string, Entry<Op>[]>();
  const always: Entry<Op>[] = [];
  const add = (m: Map<string, Entry<Op>[]>, k: string, e: Entry<Op>) => {
    let b = m.get(k);
    if (!b) m.set(k, (b = []));
    b.push(e);
  };
  for (const it of items) {
    for (const p of expandBraces(it.pattern)) {
      const g = compileGlob(p, '/');
      // A `prefix/**` pattern in its prefix's bucket matches whenever the bucket is consulted.
      const matched = g.subtree ? MATCHED : g.test;
      const entry: Entry<Op> = { rule: it.rule, test: (op) => it.test(op, matched) };
      if (it.mask !== undefined) entry.mask = it.mask;
      if (g.literal) add(exact, g.text, entry);
      else if (g.prefix === '') always.push(entry);
      else add(byKey, g.prefix, entry);
    }
  }
  for (const b of exact.values()) sortBucket(b);
  sortBucket(always);
  const byLen = new Map<number, LengthGroup<Op>>();
  for (const [key, bucket] of byKey) {
    sortBucket(bucket);
    let g = byLen.get(key.length);
    if (!g) byLen.set(key.length, (g = { len: key.length, keys: [], buckets: [], map: undefined }));
    g.keys.push(key);
    g.buckets.push(bucket);
  }
  const groups = [...byLen.values()].sort((a, b) => a.len - b.len);
  for (const g of groups) if (g.keys.length > HASH_ABOVE) g.map = new Map(g.keys.map((k, i) => [k, g.buckets[i]!]));
  return { exact, always, groups };
}

/**
 * Lowest matching rule index for `path` (canonical, absolute), or Infinity. A prefix key of
 * length L applies when the path equals it or continues with "/" at L: i.e. it is the path
 * itself or one of its ancestor directories. Small groups compare in place (no substring is
 * built). `bit` is the operation's bit, checked against each entry's mask before its test.
 */
export function lookupPath<Op>(ix: PathIndex<Op>, path: string, op: Op, bit = -1): number {
  let best = scan(ix.exact.get(path), op, Infinity, bit);
  best = scan(ix.always, op, best, bit);
  const n = path.length;
  const groups = ix.groups;
  for (let gi = 0; gi < groups.length; gi++) {
    const g = groups[gi]!;
    const L = g.len;
    if (L > n) break;
    // "/" (length 1) is every absolute path's ancestor.
    if (L !== n && L !== 1 && path.charCodeAt(L) !== 47) continue;
    if (g.map !== undefined) {
      best = scan(g.map.get(L === n ? path : path.slice(0, L)), op, best, bit);
      continue;
    }
    const keys = g.keys;
    for (let k = 0; k < keys.length; k++) {
      if (hasPrefix(path, keys[k]!)) {
        best = scan(g.buckets[k], op, best, bit);
        break;
      }
    }
  }
  return best;
}

export function compileFileRules(rules: readonly FileRule[]): (op: FileOperation, path: string) => number {
  const items = rules.flatMap((r, i) => {
    const mask = opsMask(r.operations);
    return r.paths.map((pattern): PathItem<{ path: string }> => ({ rule: i, pattern, mask, test: (op, matched) => matched(op.path) }));
  });
  const ix = buildPathIndex(items);
  // One reusable probe object: evaluation is synchronous and single-threaded.
  const probe = { path: '' };
  return (op, path) => {
    probe.path = path;
    return lookupPath(ix, path, probe, OP_BIT[op.op] ?? 0);
  };
}
