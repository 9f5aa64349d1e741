// Unicode tricks used to hide text from a human reviewer while a model still reads it:
// invisible characters (zero-width, fillers, variation selectors), bidirectional controls that
// reorder what a screen shows, and Unicode "tag" characters that smuggle ASCII invisibly
// (U+E0020..U+E007E mirror ASCII 0x20..0x7E). Everything here is one pass over the string with
// a code-point switch: linear time, no regular expressions.
//
// Scope: this finds and removes the characters; it does not decide whether text is malicious.
// NOT covered: homoglyph detection in running prose (see `skeleton` for identifiers only),
// font-level tricks, text hidden by markup (HTML comments are the instruction detector's job).

import type { Finding } from './finding.js';

export type UnicodeFindingKind = 'invisible' | 'bidi' | 'tag_chars';

/** Bidirectional formatting controls (Trojan Source, CVE-2021-42574). */
export function isBidiControl(cp: number): boolean {
  return (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) || cp === 0x061c ||
    cp === 0x200e || cp === 0x200f;
}

/** Unicode tag characters: invisible, and map 1:1 to ASCII (used for "ASCII smuggling"). */
export function isTagChar(cp: number): boolean {
  return cp >= 0xe0000 && cp <= 0xe007f;
}

/**
 * Characters that render as nothing (or as blank space indistinguishable from a space) in
 * common UIs. Bidi marks and tag characters are reported under their own kinds.
 */
export function isInvisible(cp: number): boolean {
  switch (cp) {
    case 0x00ad: // soft hyphen
    case 0x034f: // combining grapheme joiner
    case 0x115f: case 0x1160: // hangul fillers
    case 0x17b4: case 0x17b5: // khmer inherent vowels
    case 0x180e: // mongolian vowel separator
    case 0x200b: case 0x200c: case 0x200d: // zero-width space / non-joiner / joiner
    case 0x2060: case 0x2061: case 0x2062: case 0x2063: case 0x2064: // word joiner, invisible operators
    case 0x3164: // hangul filler
    case 0xfeff: // zero-width no-break space (BOM)
    case 0xffa0: // halfwidth hangul filler
      return true;
    default:
      return (cp >= 0xfe00 && cp <= 0xfe0f) || // variation selectors
        (cp >= 0xe0100 && cp <= 0xe01ef) || // variation selectors supplement
        (cp >= 0x206a && cp <= 0x206f) || // deprecated format characters
        (cp >= 0x1d173 && cp <= 0x1d17a); // musical symbol format controls
  }
}

/** Classifies one code point, or undefined when it is an ordinary character. */
export function classifyCodePoint(cp: number): UnicodeFindingKind | undefined {
  if (cp < 0x00ad) return undefined; // fast path: ASCII and Latin-1 up to the soft hyphen
  if (isTagChar(cp)) return 'tag_chars';
  if (isBidiControl(cp)) return 'bidi';
  if (isInvisible(cp)) return 'invisible';
  return undefined;
}

/** Fast check used on hot paths: true when the string holds any character worth reporting. */
export function hasSuspiciousUnicode(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x00ad) continue;
    const cp = s.codePointAt(i)!;
    if (cp > 0xffff) i++;
    if (classifyCodePoint(cp) !== undefined) return true;
  }
  return false;
}

/** Findings reported per text and detector before the report is truncated. */
export const MAX_FINDINGS = 1000;

/**
 * Reports runs of invisible, bidi and tag characters (one finding per run and kind, so a
 * 10 000-character zero-width payload is one finding, not 10 000). For tag characters the
 * decoded ASCII is given in `decoded` so callers can scan what was smuggled.
 */
export function findSuspiciousUnicode(s: string): Finding[] {
  const out: Finding[] = [];
  let capped = false;
  let runKind: UnicodeFindingKind | undefined;
  let runStart = 0;
  let runCount = 0;
  let decoded = '';
  const flush = (end: number) => {
    if (runKind === undefined || capped) return;
    if (out.length >= MAX_FINDINGS) {
      // Enough to act on; one last finding covers the rest so positions stay honest.
      out.push({ kind: runKind, index: runStart, length: s.length - runStart, detail: 'more suspicious characters up to the end of the text (report truncated)' });
      capped = true;
      return;
    }
    const f: Finding = {
      kind: runKind,
      index: runStart,
      length: end - runStart,
      detail: `${runCount} ${runKind === 'bidi' ? 'bidirectional control' : runKind === 'tag_chars' ? 'Unicode tag' : 'invisible'} character${runCount === 1 ? '' : 's'}`,
    };
    if (runKind === 'tag_chars' && decoded.length > 0) f.decoded = decoded;
    out.push(f);
    runKind = undefined;
    runCount = 0;
    decoded = '';
  };
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let kind: UnicodeFindingKind | undefined;
    let cp = c;
    if (c >= 0x00ad) {
      cp = s.codePointAt(i)!;
      kind = classifyCodePoint(cp);
    }
    if (kind !== runKind) {
      flush(i);
      if (kind !== undefined) { runKind = kind; runStart = i; }
    }
    if (kind !== undefined) {
      runCount++;
      if (kind === 'tag_chars' && cp >= 0xe0020 && cp <= 0xe007e && decoded.length < 4096) {
        decoded += String.fromCharCode(cp - 0xe0000);
      }
    }
    if (cp > 0xffff) i++;
  }
  flush(s.length);
  return out;
}

/** Removes every invisible, bidi and tag character. Idempotent. */
export function stripSuspiciousUnicode(s: string): string {
  if (!hasSuspiciousUnicode(s)) return s;
  let out = '';
  let from = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x00ad) continue;
    const cp = s.codePointAt(i)!;
    const width = cp > 0xffff ? 2 : 1;
    if (classifyCodePoint(cp) !== undefined) {
      out += s.slice(from, i);
      from = i + width;
    }
    i += width - 1;
  }
  return out + s.slice(from);
}

/** Decodes ASCII smuggled in Unicode tag characters (U+E0020..U+E007E); other text is dropped. */
export function decodeTagChars(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const cp = s.codePointAt(i)!;
    if (cp > 0xffff) {
      i++;
      if (cp >= 0xe0020 && cp <= 0xe007e) out += String.fromCharCode(cp - 0xe0000);
    }
  }
  return out;
}

/**
 * The form text detectors should read: tag-smuggled ASCII made visible, invisible and bidi
 * characters removed (so "ig\u200Bnore" reads "ignore"), then NFKC (so fullwidth and
 * mathematical letters read as ASCII). NFKC is linear in V8/ICU. `invisibleAs: ' '` gives the
 * other reading, for text that uses invisible characters as word separators
 * ("secretly\u200Bforward"): detectors should scan both.
 */
export function normalizeText(s: string, opts: { invisibleAs?: string } = {}): string {
  let t = s;
  if (hasSuspiciousUnicode(t)) {
    const repl = opts.invisibleAs ?? '';
    const parts: string[] = [];
    let from = 0;
    for (let i = 0; i < t.length; i++) {
      if (t.charCodeAt(i) < 0x00ad) continue;
      const cp = t.codePointAt(i)!;
      const width = cp > 0xffff ? 2 : 1;
      const kind = classifyCodePoint(cp);
      if (kind !== undefined) {
        if (from < i) parts.push(t.slice(from, i));
        parts.push(cp >= 0xe0020 && cp <= 0xe007e ? String.fromCharCode(cp - 0xe0000) : repl);
        from = i + width;
      }
      i += width - 1;
    }
    if (from < t.length) parts.push(t.slice(from));
    t = parts.join('');
  }
  return t.normalize('NFKC');
}

// Latin look-alikes from Cyrillic and Greek most used in spoofed identifiers. Deliberately
// small: this is for tool-name near-collision checks, not a full UTS #39 confusables table.
const CONFUSABLES: Record<string, string> = {
  'а': 'a', 'в': 'b', 'с': 'c', 'е': 'e', 'һ': 'h', 'і': 'i', 'ј': 'j', 'к': 'k', 'м': 'm',
  'н': 'h', 'о': 'o', 'р': 'p', 'ѕ': 's', 'т': 't', 'у': 'y', 'х': 'x', 'ԁ': 'd', 'ԛ': 'q',
  'ԝ': 'w', 'ӏ': 'l', 'α': 'a', 'β': 'b', 'ε': 'e', 'ι': 'i', 'κ': 'k', 'ν': 'v', 'ο': 'o',
  'ρ': 'p', 'τ': 't', 'υ': 'u', 'χ': 'x', 'ω': 'w', 'ı': 'i',
};

/**
 * A comparison key for identifiers: normalised, lower-cased, confusables folded, and the
 * separators `-`, `_`, `.`, space and digits that look like letters (0→o, 1→l) unified, so
 * `read_file`, `read-file`, `reаd_file` (Cyrillic а) and `READ_FILE` share one skeleton.
 */
export function skeleton(s: string): string {
  const t = normalizeText(s).toLowerCase();
  let out = '';
  for (const ch of t) {
    const mapped = CONFUSABLES[ch] ?? ch;
    if (mapped === '-' || mapped === '.' || mapped === ' ' || mapped === '_') out += '_';
    else if (mapped === '0') out += 'o';
    else if (mapped === '1') out += 'l';
    else out += mapped;
  }
  return out;
}
