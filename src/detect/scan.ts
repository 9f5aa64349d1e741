// One entry point over all detectors, for callers that scan untrusted text (MCP tool
// descriptions and results, later LLM traffic): `scanText` reports, `sanitizeText` removes.
//
// Positions: unicode, ANSI and secret findings index the text as given; hidden-instruction
// findings, and secrets only visible once invisible characters are removed ("AKIA\u200B..."),
// index the normalised text and say so in `detail`.

import type { Finding, FindingKind } from './finding.js';
import { findAnsi, hasAnsi, stripAnsi } from './ansi.js';
import { findHiddenInstructions } from './instructions.js';
import { redactFindings, scanSecrets } from './secrets.js';
import { findSuspiciousUnicode, hasSuspiciousUnicode, normalizeText, stripSuspiciousUnicode } from './unicode.js';

export interface ScanOptions {
  /** Which detectors to run (default: all). */
  kinds?: readonly FindingKind[];
}

const UNICODE_KINDS: readonly FindingKind[] = ['invisible', 'bidi', 'tag_chars'];

export function scanText(text: string, opts: ScanOptions = {}): Finding[] {
  const want = (k: FindingKind) => !opts.kinds || opts.kinds.includes(k);
  const out: Finding[] = [];
  if (UNICODE_KINDS.some(want) && hasSuspiciousUnicode(text)) {
    for (const f of findSuspiciousUnicode(text)) if (want(f.kind)) out.push(f);
  }
  if (want('ansi') && hasAnsi(text)) for (const f of findAnsi(text)) out.push(f);
  const normalized = normalizeText(text);
  if (want('secret')) {
    const raw = scanSecrets(text);
    for (const f of raw) out.push(f);
    if (normalized !== text) {
      const seen = new Set(raw.map((f) => f.rule));
      for (const f of scanSecrets(normalized)) {
        if (!seen.has(f.rule)) out.push({ ...f, detail: `${f.detail} (after normalisation)` });
      }
    }
  }
  if (want('hidden_instruction')) {
    // ANSI sequences removed first so "ig\x1b[0mnore previous instructions" still reads as one.
    const readable = hasAnsi(normalized) ? stripAnsi(normalized) : normalized;
    const found = findHiddenInstructions(readable, { normalized: true });
    for (const f of found) out.push(f);
    // Invisible characters may be joiners ("ig\u200Bnore") or separators ("send\u200Bthe\u200Bkey"):
    // read the text both ways.
    if (normalized !== text && hasSuspiciousUnicode(text)) {
      const spaced = normalizeText(text, { invisibleAs: ' ' });
      const seen = new Set(found.map((f) => f.rule));
      for (const f of findHiddenInstructions(hasAnsi(spaced) ? stripAnsi(spaced) : spaced, { normalized: true })) {
        if (!seen.has(f.rule)) out.push({ ...f, detail: `${f.detail} (invisible characters read as spaces)` });
      }
    }
  }
  return out;
}

export interface SanitizeResult {
  text: string;
  /** What was removed or redacted (positions refer to intermediate texts; for reporting). */
  findings: Finding[];
}

/**
 * Removes what the given kinds find: ANSI sequences and invisible/bidi/tag characters are
 * deleted, secrets replaced with `[REDACTED:<rule>]`. `hidden_instruction` cannot be removed
 * piecemeal (the rest of the text is still the attacker's), so it is not handled here: callers
 * replace or block the whole text.
 */
export function sanitizeText(text: string, kinds: readonly FindingKind[]): SanitizeResult {
  const findings: Finding[] = [];
  let t = text;
  if (kinds.includes('ansi') && hasAnsi(t)) {
    for (const f of findAnsi(t)) findings.push(f);
    t = stripAnsi(t);
  }
  if (UNICODE_KINDS.some((k) => kinds.includes(k)) && hasSuspiciousUnicode(t)) {
    for (const f of findSuspiciousUnicode(t)) if (kinds.includes(f.kind)) findings.push(f);
    // Stripping is all-or-nothing across the unicode kinds: keeping bidi controls while
    // deleting zero-width characters would not make the text any safer to show.
    t = stripSuspiciousUnicode(t);
  }
  if (kinds.includes('secret')) {
    const s = scanSecrets(t);
    if (s.length > 0) {
      for (const f of s) findings.push(f);
      t = redactFindings(t, s);
    }
  }
  return { text: t, findings };
}
