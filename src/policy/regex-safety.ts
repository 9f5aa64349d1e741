// args_patterns are regexes run on agent-controlled argv. JavaScript regexes backtrack, so a
// pattern with a quantified group that itself contains a quantifier (star height > 1, e.g.
// `(a+)+`) or a backreference could be driven into exponential time by a crafted argument.
// Those are refused at load; what remains matches in time polynomial (at worst) in the input,
// and argv is bounded by the kernel's ARG_MAX.

export function checkRegexSafety(src: string): string | undefined {
  try {
    new RegExp(src);
  } catch (e) {
    return `"${src}" is not a valid regular expression (${(e as Error).message})`;
  }
  if (/\\[1-9]|\\k</.test(src)) return `"${src}" uses a backreference, which can take exponential time; rewrite it without one`;
  // Track, per open group, whether it contains a quantifier; a quantifier applied to such a
  // group is nested repetition.
  const stack: boolean[] = [];
  let lastGroupHadQuant = false;
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (c === '\\') { i++; lastGroupHadQuant = false; continue; }
    if (c === '[') {
      const end = findClassEnd(src, i);
      i = end;
      lastGroupHadQuant = false;
      continue;
    }
    if (c === '(') { stack.push(false); lastGroupHadQuant = false; continue; }
    if (c === ')') { lastGroupHadQuant = stack.pop() ?? false; if (lastGroupHadQuant && stack.length) stack[stack.length - 1] = true; continue; }
    if (c === '*' || c === '+' || c === '?' || c === '{') {
      const isQuant = c !== '{' || /^\{\d+(,\d*)?\}/.test(src.slice(i));
      if (!isQuant) { lastGroupHadQuant = false; continue; }
      if (c === '?' && src[i - 1] === '(') continue;
      if (lastGroupHadQuant) return `"${src}" repeats a group that itself repeats (nested quantifiers), which can take exponential time on crafted arguments; flatten it`;
      if (stack.length) stack[stack.length - 1] = true;
      if (c === '{') i = src.indexOf('}', i);
      lastGroupHadQuant = false;
      continue;
    }
    lastGroupHadQuant = false;
  }
  return undefined;
}

function findClassEnd(src: string, start: number): number {
  for (let i = start + 1; i < src.length; i++) {
    if (src[i] === '\\') { i++; continue; }
    if (src[i] === ']' && i > start + 1) return i;
  }
  return src.length;
}
