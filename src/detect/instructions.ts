// Hidden-instruction detector: text aimed at the model rather than the user ("ignore previous
// instructions", `<IMPORTANT>` blocks, "do not tell the user", "read ~/.ssh/id_rsa and pass it
// as ..."), the signature of tool-poisoning and indirect prompt-injection payloads.
//
// How: normalise (tag-smuggled ASCII revealed, invisible characters dropped, NFKC, lower case),
// split into word tokens, and match short token patterns with bounded gaps. Patterns are indexed
// by their first word, and every gap is bounded by a small constant, so the work is linear in
// the input whatever it holds. No regular expressions.
//
// Scope: a heuristic tripwire for the common phrasings, tuned to stay silent on ordinary tool
// descriptions (the clean reference servers produce no findings; a test pins that). It is NOT
// a classifier: paraphrases, other languages and encodings (base64, leetspeak) get through.
// Positions (`index`, `length`) refer to the normalised text.

import type { Finding } from './finding.js';
import { normalizeText } from './unicode.js';

type Slot = { words: ReadonlySet<string>; min: number; max: number } | { gap: number };
interface Pattern { rule: string; slots: Slot[] }

const w = (...words: string[]): Slot => ({ words: new Set(words), min: 1, max: 1 });
const opt = (...words: string[]): Slot => ({ words: new Set(words), min: 0, max: 1 });
const gap = (n: number): Slot => ({ gap: n });

const INSTRUCTION_NOUNS = ['instructions', 'instruction', 'directions', 'directives', 'rules', 'guidelines',
  'prompt', 'prompts', 'context', 'messages', 'constraints', 'guardrails', 'commands', 'orders'];
const USER = ['user', 'users', 'human', 'humans', 'operator', 'developer'];

const PATTERNS: Pattern[] = [
  { rule: 'ignore_previous', slots: [w('ignore', 'disregard', 'forget', 'override', 'bypass', 'overrule'), gap(2),
    w('previous', 'prior', 'above', 'earlier', 'preceding', 'all', 'any', 'your', 'system', 'safety', 'existing'), gap(2),
    w(...INSTRUCTION_NOUNS)] },
  { rule: 'conceal_from_user', slots: [w('do', 'dont', 'never', 'without'), opt('not'), gap(1),
    w('tell', 'telling', 'inform', 'informing', 'mention', 'mentioning', 'reveal', 'revealing', 'notify', 'notifying', 'alert', 'alerting', 'disclose', 'disclosing', 'show', 'showing'), gap(3), w(...USER)] },
  { rule: 'conceal_from_user', slots: [w('hide', 'conceal', 'keep'), gap(2), w('from'), opt('the'), w(...USER)] },
  { rule: 'conceal_from_user', slots: [w('user', 'users', 'human'), w('must', 'should', 'will'), w('not', 'never'), w('know', 'see', 'notice', 'find', 'learn')] },
  { rule: 'role_override', slots: [w('you'), w('are'), w('now'), w('dan', 'acting', 'unrestricted', 'jailbroken', 'uncensored', 'free', 'no')] },
  { rule: 'role_override', slots: [w('you'), w('are'), w('now'), w('in'), w('developer', 'god', 'admin', 'debug', 'jailbreak', 'unrestricted'), w('mode')] },
  { rule: 'role_override', slots: [w('new', 'updated', 'real', 'actual', 'true', 'hidden', 'secret', 'override'), w('system'), w('prompt', 'instructions', 'message')] },
  { rule: 'role_override', slots: [w('hidden', 'secret'), w('instructions', 'instruction', 'directive', 'directives', 'task')] },
  { rule: 'reveal_system_prompt', slots: [w('reveal', 'print', 'output', 'show', 'repeat', 'leak', 'send', 'include', 'dump'), gap(2), w('system', 'initial', 'hidden'), w('prompt', 'instructions', 'message')] },
  { rule: 'tool_directive', slots: [w('secretly', 'silently', 'quietly', 'covertly'), gap(2),
    w('send', 'call', 'read', 'forward', 'copy', 'upload', 'include', 'add', 'pass', 'use', 'execute', 'run', 'write', 'bcc', 'email')] },
];

// Tag-shaped markers that address the model directly; matched on the normalised text.
const MARKERS: Array<[string, string]> = [
  ['<important>', 'important_tag'], ['</important>', 'important_tag'], ['<system>', 'system_tag'],
  ['</system>', 'system_tag'], ['<instructions>', 'instructions_tag'], ['<secret>', 'secret_tag'],
  ['<admin>', 'admin_tag'], ['<|im_start|>', 'chat_template_token'], ['<|system|>', 'chat_template_token'],
  ['<|endoftext|>', 'chat_template_token'], ['[inst]', 'chat_template_token'], ['<<sys>>', 'chat_template_token'],
  ['<system-reminder>', 'system_tag'], ['<system_prompt>', 'system_tag'],
];

// Credential and agent-config paths: reported when a verb that moves data comes shortly before
// ("read ~/.ssh/id_rsa", "include the contents of mcp.json"). Matched as literals with a word
// boundary after. `.env` is deliberately absent: READMEs say "copy .env.example to .env".
const CREDENTIAL_PATHS = ['~/.ssh', '.ssh/', 'id_rsa', 'id_ed25519', 'id_ecdsa', 'id_dsa', '.aws/credentials',
  '/etc/passwd', '/etc/shadow', '.netrc', '.npmrc', '.pgpass', '.gnupg', '.kube/config', '.git-credentials',
  '.docker/config.json'];
// Agent configs: READMEs legitimately say "open your mcp.json", so only verbs that move data
// somewhere count for these.
const CONFIG_PATHS = ['mcp.json', 'claude_desktop_config'];
const MOVE_VERBS = new Set(['read', 'cat', 'open', 'send', 'include', 'pass', 'upload', 'fetch', 'attach', 'copy',
  'load', 'extract', 'provide', 'forward', 'post', 'leak', 'exfiltrate', 'email', 'share', 'append', 'embed']);
const SEND_VERBS = new Set(['send', 'include', 'pass', 'upload', 'attach', 'provide', 'forward', 'post', 'leak',
  'exfiltrate', 'email', 'share', 'append', 'embed']);
const SENSITIVE_PATHS: Array<[string, ReadonlySet<string>]> = [
  ...CREDENTIAL_PATHS.map((p): [string, ReadonlySet<string>] => [p, MOVE_VERBS]),
  ...CONFIG_PATHS.map((p): [string, ReadonlySet<string>] => [p, SEND_VERBS]),
];
const VERB_WINDOW = 6;

const BY_FIRST = new Map<string, Pattern[]>();
for (const p of PATTERNS) {
  const first = p.slots[0] as { words: ReadonlySet<string> };
  for (const word of first.words) {
    const list = BY_FIRST.get(word) ?? [];
    list.push(p);
    BY_FIRST.set(word, list);
  }
}

function isWordChar(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x5f || c >= 0x80 ||
    (c >= 0x41 && c <= 0x5a);
}

/**
 * Word tokens of `t` from position `from`, produced on demand: matching a pattern usually fails
 * on its second word, so most candidates tokenize two or three words, not the whole text.
 * Apostrophes inside a word vanish: "don't" is the token "dont".
 */
class Tokens {
  readonly words: string[] = [];
  readonly starts: number[] = [];
  readonly ends: number[] = [];
  private pos: number;

  constructor(private readonly t: string, from = 0, private readonly limit = t.length) {
    this.pos = from;
  }

  /** True when token i exists (producing tokens up to it). */
  has(i: number): boolean {
    while (this.words.length <= i) if (!this.next()) return false;
    return true;
  }

  private next(): boolean {
    const t = this.t;
    let i = this.pos;
    while (i < this.limit && !isWordChar(t.charCodeAt(i))) i++;
    if (i >= this.limit) { this.pos = i; return false; }
    const start = i;
    let word = '';
    let from = i;
    while (i < this.limit) {
      const c = t.charCodeAt(i);
      if (isWordChar(c)) { i++; continue; }
      if ((c === 0x27 || c === 0x2019) && i + 1 < this.limit && isWordChar(t.charCodeAt(i + 1))) {
        word += t.slice(from, i);
        i++;
        from = i;
        continue;
      }
      break;
    }
    word += t.slice(from, i);
    this.words.push(word);
    this.starts.push(start);
    this.ends.push(i);
    this.pos = i;
    return true;
  }
}

/** Returns the index after the last matched token, or -1. Bounded: gaps and optionals are small. */
function matchAt(p: Pattern, slot: number, tok: Tokens, i: number): number {
  if (slot === p.slots.length) return i;
  const s = p.slots[slot]!;
  if ('gap' in s) {
    for (let skip = 0; skip <= s.gap; skip++) {
      if (skip > 0 && !tok.has(i + skip - 1)) break;
      const r = matchAt(p, slot + 1, tok, i + skip);
      if (r >= 0) return r;
    }
    return -1;
  }
  if (tok.has(i) && s.words.has(tok.words[i]!)) {
    const r = matchAt(p, slot + 1, tok, i + 1);
    if (r >= 0) return r;
  }
  return s.min === 0 ? matchAt(p, slot + 1, tok, i) : -1;
}

// Where a pattern may start: a token that is one of the first words. Found by one pass over
// the characters that only slices tokens whose length and first letter could match.
const MAX_FIRST = Math.max(...[...BY_FIRST.keys()].map((w) => w.length)) + 1; // +1: "don't"
const FIRST_LETTER = new Uint8Array(128);
for (const w of BY_FIRST.keys()) FIRST_LETTER[w.charCodeAt(0)] = 1;

function excerpt(t: string, start: number, end: number): string {
  const e = t.slice(start, Math.min(end, start + 80)).replace(/\s+/g, ' ');
  return end - start > 80 ? `${e}…` : e;
}

function isPathBoundary(c: number): boolean {
  return !((c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x5f);
}

/** The (up to) `n` words right before `pos`. */
function wordsBefore(t: string, pos: number, n: number): { words: string[]; starts: number[] } {
  const from = Math.max(0, pos - 40 * n);
  const tok = new Tokens(t, from, pos);
  while (tok.has(tok.words.length)) { /* tokenize the window */ }
  let k = 0;
  // A window starting inside a word would yield a fragment ("thread" → "read"): drop it.
  if (from > 0 && isWordChar(t.charCodeAt(from - 1)) && tok.starts[0] === from) k = 1;
  const words = tok.words.slice(Math.max(k, tok.words.length - n));
  const starts = tok.starts.slice(Math.max(k, tok.words.length - n));
  return { words, starts };
}

function findSensitivePaths(t: string, out: Finding[]): void {
  for (const [p, verbs] of SENSITIVE_PATHS) {
    let at = t.indexOf(p);
    while (at >= 0) {
      const end = at + p.length;
      if (end >= t.length || isPathBoundary(t.charCodeAt(end)) || p.endsWith('/')) {
        const before = wordsBefore(t, at, VERB_WINDOW);
        for (let k = before.words.length - 1; k >= 0; k--) {
          if (verbs.has(before.words[k]!)) {
            const start = before.starts[k]!;
            out.push({ kind: 'hidden_instruction', rule: 'exfiltrate_sensitive_file', index: start, length: end - start, detail: `exfiltrate_sensitive_file: "${excerpt(t, start, end)}"` });
            return; // one finding per text is enough to act on
          }
        }
      }
      at = t.indexOf(p, end);
    }
  }
}

/**
 * Finds hidden instructions. `text` may be raw: it is normalised here (pass
 * `{ normalized: true }` if the caller already did, to save the pass).
 */
export function findHiddenInstructions(text: string, opts: { normalized?: boolean } = {}): Finding[] {
  const t = (opts.normalized ? text : normalizeText(text)).toLowerCase();
  const out: Finding[] = [];
  for (const [marker, rule] of MARKERS) {
    const at = t.indexOf(marker);
    if (at >= 0) out.push({ kind: 'hidden_instruction', rule, index: at, length: marker.length, detail: `${rule}: "${marker}"` });
  }
  findSensitivePaths(t, out);
  const n = t.length;
  let i = 0;
  while (i < n) {
    if (!isWordChar(t.charCodeAt(i))) { i++; continue; }
    // A token as the tokenizer sees it: word characters, apostrophes between them included.
    const at = i;
    let apostrophe = false;
    while (i < n) {
      const c = t.charCodeAt(i);
      if (isWordChar(c)) { i++; continue; }
      if ((c === 0x27 || c === 0x2019) && i + 1 < n && isWordChar(t.charCodeAt(i + 1))) { apostrophe = true; i++; continue; }
      break;
    }
    const c0 = t.charCodeAt(at);
    if (i - at > MAX_FIRST || c0 >= 128 || FIRST_LETTER[c0] === 0) continue;
    let word = t.slice(at, i);
    if (apostrophe) word = word.replace(/['\u2019]/g, '');
    const candidates = BY_FIRST.get(word);
    if (!candidates) continue;
    const tok = new Tokens(t, at);
    tok.has(0);
    for (const p of candidates) {
      const end = matchAt(p, 1, tok, 1);
      if (end < 0) continue;
      const stop = tok.ends[end - 1]!;
      out.push({ kind: 'hidden_instruction', rule: p.rule, index: at, length: stop - at, detail: `${p.rule}: "${excerpt(t, at, stop)}"` });
      i = stop; // do not report overlapping matches of the same phrase
      break;
    }
  }
  return out.sort((a, b) => a.index - b.index);
}
