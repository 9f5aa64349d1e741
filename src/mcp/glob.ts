// Name globs for MCP (server names, argument patterns): `*` any run of characters, `?` one
// character, everything else literal. The two-pointer wildcard algorithm: no regular expression
// is built from policy text, and the worst case is O(pattern × value) with no backtracking blowup.

export function globMatch(pattern: string, value: string): boolean {
  let p = 0;
  let v = 0;
  let starP = -1;
  let starV = 0;
  while (v < value.length) {
    const pc = pattern[p];
    if (pc === '*') {
      starP = p++;
      starV = v;
    } else if (pc !== undefined && (pc === '?' || pc === value[v])) {
      p++;
      v++;
    } else if (starP >= 0) {
      p = starP + 1;
      v = ++starV;
    } else {
      return false;
    }
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}
