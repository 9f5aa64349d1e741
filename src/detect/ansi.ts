// Terminal escape sequences and control characters. In tool descriptions and results they can
// hide text from a human watching a terminal (SGR 8 "conceal", cursor moves that overwrite a
// line, OSC 8 hyperlinks whose target differs from the label, title changes) while the model
// reads the raw bytes. A hand-written scanner (ECMA-48 grammar), not a regular expression, so it
// is linear on any input, including unterminated sequences.
//
// Reported: ESC sequences (CSI, OSC, DCS/SOS/PM/APC strings, two-byte escapes), 8-bit C1
// controls (U+0080..U+009F), and C0 controls other than TAB, LF, CR. Not covered: text made
// invisible by markup or fonts.

import type { Finding } from './finding.js';
import { MAX_FINDINGS } from './unicode.js';

const ESC = 0x1b;
const BEL = 0x07;

function isC0Reportable(c: number): boolean {
  return (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) || c === 0x7f;
}

/** Returns the end index (exclusive) of the escape/control sequence starting at i. */
function sequenceEnd(s: string, i: number): number {
  const c = s.charCodeAt(i);
  const n = s.length;
  // 7-bit ESC introducer or 8-bit C1 introducer.
  let kind: 'csi' | 'string' | 'esc' | 'single';
  let j: number;
  if (c === ESC) {
    if (i + 1 >= n) return n;
    const d = s.charCodeAt(i + 1);
    if (d === 0x5b) { kind = 'csi'; j = i + 2; } // ESC [
    else if (d === 0x5d || d === 0x50 || d === 0x58 || d === 0x5e || d === 0x5f) { kind = 'string'; j = i + 2; } // ] P X ^ _
    else { kind = 'esc'; j = i + 1; }
  } else if (c === 0x9b) { kind = 'csi'; j = i + 1; }
  else if (c === 0x9d || c === 0x90 || c === 0x98 || c === 0x9e || c === 0x9f) { kind = 'string'; j = i + 1; }
  else { kind = 'single'; j = i + 1; }

  if (kind === 'single') return j;
  if (kind === 'csi') {
    // Parameter bytes 0x30-0x3F, intermediates 0x20-0x2F, one final byte 0x40-0x7E.
    while (j < n) {
      const d = s.charCodeAt(j);
      if (d >= 0x20 && d <= 0x3f) { j++; continue; }
      if (d >= 0x40 && d <= 0x7e) return j + 1;
      return j; // malformed: stop before the offending character
    }
    return n;
  }
  if (kind === 'string') {
    // Terminated by BEL, ST (ESC \) or 8-bit ST (U+009C). Unterminated: runs to the end.
    while (j < n) {
      const d = s.charCodeAt(j);
      if (d === BEL || d === 0x9c) return j + 1;
      if (d === ESC) return j + 1 < n && s.charCodeAt(j + 1) === 0x5c ? j + 2 : j;
      j++;
    }
    return n;
  }
  // Two-byte (or with intermediates) escape: ESC, intermediates 0x20-0x2F, final 0x30-0x7E.
  while (j < n) {
    const d = s.charCodeAt(j);
    if (d >= 0x20 && d <= 0x2f) { j++; continue; }
    if (d >= 0x30 && d <= 0x7e) return j + 1;
    return j;
  }
  return n;
}

function isIntroducer(c: number): boolean {
  return c === ESC || (c >= 0x80 && c <= 0x9f) || isC0Reportable(c);
}

/** True when the string holds any escape sequence or reportable control character. */
export function hasAnsi(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (isIntroducer(s.charCodeAt(i))) return true;
  return false;
}

/** One finding per maximal run of adjacent sequences. */
export function findAnsi(s: string): Finding[] {
  const out: Finding[] = [];
  let i = 0;
  while (i < s.length) {
    if (!isIntroducer(s.charCodeAt(i))) { i++; continue; }
    const start = i;
    let count = 0;
    while (i < s.length && isIntroducer(s.charCodeAt(i))) {
      i = Math.max(sequenceEnd(s, i), i + 1);
      count++;
    }
    if (out.length >= MAX_FINDINGS) {
      out.push({ kind: 'ansi', index: start, length: s.length - start, detail: 'more terminal escape/control sequences up to the end of the text (report truncated)' });
      break;
    }
    out.push({ kind: 'ansi', index: start, length: i - start, detail: `${count} terminal escape/control sequence${count === 1 ? '' : 's'}` });
  }
  return out;
}

/** Removes every escape sequence and reportable control character. Idempotent. */
export function stripAnsi(s: string): string {
  if (!hasAnsi(s)) return s;
  let out = '';
  let from = 0;
  let i = 0;
  while (i < s.length) {
    if (!isIntroducer(s.charCodeAt(i))) { i++; continue; }
    out += s.slice(from, i);
    i = Math.max(sequenceEnd(s, i), i + 1);
    from = i;
  }
  return out + s.slice(from);
}
