// First-match-wins over an index: each bucket holds candidate entries sorted by rule index;
// the winner is the lowest rule index whose entry matches, across every bucket consulted. A
// bucket is abandoned as soon as its next entry cannot beat the best found so far.

export interface Entry<Op> {
  rule: number;
  /** Operation bits this entry can match (checked before `test`, without a call); absent: all. */
  mask?: number;
  test: (op: Op) => boolean;
}

export function sortBucket<Op>(b: Entry<Op>[]): Entry<Op>[] {
  return b.sort((x, y) => x.rule - y.rule);
}

/** Best (lowest) matching rule index in `bucket` below `best`, else `best`. */
export function scan<Op>(bucket: readonly Entry<Op>[] | undefined, op: Op, best: number, bit = -1): number {
  if (bucket === undefined) return best;
  for (let i = 0; i < bucket.length; i++) {
    const e = bucket[i]!;
    if (e.rule >= best) return best;
    if (e.mask !== undefined && (e.mask & bit) === 0) continue;
    if (e.test(op)) return e.rule;
  }
  return best;
}
