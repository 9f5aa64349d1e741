// Glob patterns compiled to anchored regular expressions (linear-time: the generated regexes
// have no nested quantifiers). Syntax, as agentsh's: `*` any run within one segment, `**` as a
// whole segment any depth (also zero segments, so `/a/**` matches `/a` itself), `?` one
// character within a segment, `[a-z]` / `[!a-z]` a character class, `{a,b}` alternatives,
// `\x` a literal x. A class or `?` never matches the separator.

export class GlobError extends Error {}

const MAX_ALTERNATIVES = 256;

/** Expands `{a,b}` alternatives (nested allowed) into plain patterns. */
export function expandBraces(pattern: string): string[] {
  const open = findUnescaped(pattern, '{', 0);
  if (open < 0) return [pattern];
  let depth = 0;
  const commas: number[] = [];
  let close = -1;
  for (let i = open; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') { i++; continue; }
    if (c === '{') depth++;
    else if (c === '}') {
      depth--;
      if (depth === 0) { close = i; break; }
    } else if (c === ',' && depth === 1) commas.push(i);
  }
  if (close < 0) throw new GlobError(`unbalanced "{" in pattern "${pattern}"`);
  const head = pattern.slice(0, open);
  const tail = pattern.slice(close + 1);
  const cuts = [open, ...commas, close];
  const out: string[] = [];
  for (let k = 0; k < cuts.length - 1; k++) {
    const alt = pattern.slice(cuts[k]! + 1, cuts[k + 1]);
    for (const e of expandBraces(head + alt + tail)) {
      out.push(e);
      if (out.length > MAX_ALTERNATIVES) throw new GlobError(`pattern "${pattern}" expands to more than ${MAX_ALTERNATIVES} alternatives`);
    }
  }
  return out;
}

function findUnescaped(s: string, ch: string, from: number): number {
  for (let i = from; i < s.length; i++) {
    if (s[i] === '\\') { i++; continue; }
    if (s[i] === ch) return i;
  }
  return -1;
}

const RE_SPECIAL = /[.*+?^${}()|[\]\\/]/;
function esc(c: string): string {
  return RE_SPECIAL.test(c) ? `\\${c}` : c;
}

/**
 * Regex source for one brace-free pattern. `sep` is the segment separator ('/' for paths,
 * '.' for domain labels, '' for plain names where `*` matches anything).
 */
export function globToRegexSource(pattern: string, sep: '/' | '.' | ''): string {
  // Consecutive `**` segments mean the same as one.
  let p = pattern;
  if (sep !== '') {
    const twice = `**${sep}**`;
    while (p.includes(twice)) p = p.replace(twice, '**');
  }
  const notSep = sep === '' ? '[\\s\\S]' : `[^${esc(sep)}]`;
  let out = '';
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === '\\') {
      if (i + 1 >= p.length) throw new GlobError(`pattern "${p}" ends with a lone backslash`);
      out += esc(p[++i]!);
    } else if (c === '*') {
      if (p[i + 1] === '*' && sep !== '') {
        const atStart = i === 0 || p[i - 1] === sep;
        const j = i + 2;
        const atEnd = j === p.length || p[j] === sep;
        if (atStart && atEnd) {
          if (i === 0 && j === p.length) out += '[\\s\\S]*';
          else if (i === 0) { out += `(?:[\\s\\S]*${esc(sep)})?`; i = j; }          // `**/x`
          else if (j === p.length) { out = out.slice(0, -esc(sep).length) + `(?:${esc(sep)}[\\s\\S]*)?`; } // `x/**`
          else { out = out.slice(0, -esc(sep).length) + `(?:${esc(sep)}[\\s\\S]*)?${esc(sep)}`; i = j; } // `x/**/y`
          i = Math.max(i, j - 1);
          continue;
        }
        while (p[i + 1] === '*') i++;
      }
      // A `*` that is a whole segment names an entry, so it needs at least one character:
      // `/*` must not match the root itself.
      const wholeSegment = sep !== '' && (i === 0 || p[i - 1] === sep) && (i + 1 === p.length || p[i + 1] === sep);
      out += wholeSegment ? `${notSep}+` : `${notSep}*`;
    } else if (c === '?') {
      out += notSep;
    } else if (c === '[') {
      const end = p.indexOf(']', i + 2);
      if (end < 0) throw new GlobError(`unbalanced "[" in pattern "${p}"`);
      let body = p.slice(i + 1, end);
      let neg = false;
      if (body[0] === '!' || body[0] === '^') { neg = true; body = body.slice(1); }
      const cls = body.replace(/[\\\]^]/g, '\\$&');
      out += neg ? `(?!${esc(sep || '\u0000')})[^${cls}]` : `(?!${esc(sep || '\u0000')})[${cls}]`;
      i = end;
    } else {
      out += esc(c);
    }
  }
  return out;
}

export interface CompiledGlob {
  source: string;
  /** The literal directory every match lies in or equals ('' when the pattern starts with a wildcard). */
  prefix: string;
  /** True when the pattern has no wildcard at all (exact comparison suffices). */
  literal: boolean;
  /** The unescaped literal, when `literal`. */
  text: string;
  /**
   * True when the pattern is exactly `prefix/**` over a plain prefix: then a path matches iff it
   * is `prefix` or lies under it, which is precisely when an index keyed by `prefix` consults
   * the pattern, so the index may skip `test`.
   */
  subtree: boolean;
  test: (s: string) => boolean;
}

/** Compiles one brace-free pattern. */
export function compileGlob(pattern: string, sep: '/' | '.' | ''): CompiledGlob {
  let p = pattern;
  if (sep === '/') while (p.includes('**/**')) p = p.replace('**/**', '**');
  const source = globToRegexSource(p, sep);
  let firstMeta = -1;
  for (let i = 0; i < p.length; i++) {
    const c = p[i];
    if (c === '*' || c === '?' || c === '[' || c === '\\') { firstMeta = i; break; }
  }
  if (firstMeta < 0) {
    return { source, prefix: p, literal: true, text: p, subtree: false, test: (s) => s === p };
  }
  const cut = sep === '/' ? p.lastIndexOf('/', firstMeta) : -1;
  const prefix = cut < 0 ? '' : cut === 0 ? '/' : p.slice(0, cut);
  const base = p.slice(0, -3);
  const subtree = sep === '/' && p.endsWith('/**') && PLAIN.test(base) && prefix === (base === '' ? '/' : base);
  return { source, prefix, literal: false, text: p, subtree, test: sep === '/' ? fastPathTest(p, source) : regexTest(source) };
}

function regexTest(source: string): (s: string) => boolean {
  const re = new RegExp(`^${source}$`);
  return (s) => re.test(s);
}

const PLAIN = /^[^*?[\\{]*$/;

// Character loops instead of startsWith/endsWith: TurboFan inlines them, while the builtins
// cost a call each (about 100 ns on this project's CI cores), and most tests here are misses
// that a loop rejects at the first differing character.
function startsAt(s: string, lit: string, at: number): boolean {
  if (s.length - at < lit.length) return false;
  for (let i = lit.length - 1; i >= 0; i--) if (s.charCodeAt(at + i) !== lit.charCodeAt(i)) return false;
  return true;
}

function endsIn(s: string, lit: string): boolean {
  return startsAt(s, lit, s.length - lit.length);
}

/**
 * The shapes that dominate real policies, matched with string operations instead of a regex:
 * `P/**` (a subtree), `P/*` (direct children), `P/*S` (children with a suffix), `**​/L`
 * (a name anywhere). Everything else falls back to the regex. Semantics are identical; the
 * property test against the reference oracle covers both paths.
 */
function fastPathTest(p: string, source: string): (s: string) => boolean {
  if (p.endsWith('/**') && PLAIN.test(p.slice(0, -3))) {
    const base = p.slice(0, -3);
    if (base === '') return (s) => s.charCodeAt(0) === 47;
    const n = base.length;
    return (s) => (s.length === n ? s === base : s.charCodeAt(n) === 47 && startsAt(s, base, 0));
  }
  const star = p.lastIndexOf('/*');
  if (star >= 0 && p.indexOf('*', star + 2) < 0 && PLAIN.test(p.slice(0, star)) && PLAIN.test(p.slice(star + 2)) && !p.slice(star + 2).includes('/') && p[star + 2] !== '*') {
    const dir = p.slice(0, star);
    const suffix = p.slice(star + 2);
    const n = dir.length + 1;
    const min = n + Math.max(1, suffix.length);
    return (s) => s.length >= min && s.charCodeAt(dir.length) === 47 && endsIn(s, suffix) && startsAt(s, dir, 0) && s.indexOf('/', n) < 0;
  }
  if (p.startsWith('**/') && !p.slice(3).includes('/')) {
    const name = p.slice(3);
    if (PLAIN.test(name)) {
      const tail = `/${name}`;
      return (s) => endsIn(s, tail);
    }
    // `**/prefix*` and `**/*suffix`: one star within the last segment.
    const st = name.indexOf('*');
    if (st >= 0 && name.indexOf('*', st + 1) < 0 && PLAIN.test(name.slice(0, st)) && PLAIN.test(name.slice(st + 1))) {
      const pre = name.slice(0, st);
      const suf = name.slice(st + 1);
      // A `*` that is the whole segment needs one character (as in the regex).
      const min = pre === '' && suf === '' ? 1 : pre.length + suf.length;
      return (s) => {
        const b = s.lastIndexOf('/') + 1;
        return s.length - b >= min && startsAt(s, pre, b) && endsIn(s, suf);
      };
    }
  }
  return regexTest(source);
}

/** Compiles a pattern with alternatives into one matcher (for lists that are scanned, not indexed). */
export function compileGlobAny(pattern: string, sep: '/' | '.' | ''): (s: string) => boolean {
  const parts = expandBraces(pattern).map((p) => globToRegexSource(p, sep));
  const re = new RegExp(`^(?:${parts.join('|')})$`);
  return (s) => re.test(s);
}
