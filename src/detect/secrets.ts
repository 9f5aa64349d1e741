// Credential detectors: well-known token formats with fixed prefixes (AWS, GitHub, GitLab,
// Slack, OpenAI, Anthropic, Google, Stripe, npm), PEM private keys and JWTs.
//
// How: for each detector, `indexOf` its literal prefix, then consume its character class up to
// a fixed maximum length. Each prefix occurrence costs at most `max` steps, so a scan is linear
// in the input for every input (no regular expressions, nothing to backtrack). Overlapping
// matches keep the earliest, most specific one.
//
// Scope: high-confidence formats only, to keep false positives near zero. NOT covered: generic
// high-entropy strings, passwords in prose, PII (names, e-mail, card numbers: the data-protection
// part adds those on top of this interface), secrets split across messages or encoded.

import type { Finding } from './finding.js';

type CharClass = (c: number) => boolean;

const upperDigit: CharClass = (c) => (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39);
const alnum: CharClass = (c) => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39);
const alnumUnderscore: CharClass = (c) => alnum(c) || c === 0x5f;
const alnumDashUnderscore: CharClass = (c) => alnum(c) || c === 0x5f || c === 0x2d;
const base64: CharClass = (c) => alnum(c) || c === 0x2b || c === 0x2f || c === 0x3d;
const slackChars: CharClass = (c) => alnum(c) || c === 0x2d;
const pathChars: CharClass = (c) => alnum(c) || c === 0x2f || c === 0x5f || c === 0x2d;

interface PrefixDetector {
  rule: string;
  label: string;
  prefixes: string[];
  body: CharClass;
  min: number;
  max: number;
  /** Require a non-body character (or end of text) right after the token. */
  boundaryAfter?: boolean;
}

const PREFIX_DETECTORS: PrefixDetector[] = [
  { rule: 'aws_access_key_id', label: 'AWS access key ID', prefixes: ['AKIA', 'ASIA', 'ABIA', 'ACCA'], body: upperDigit, min: 16, max: 16, boundaryAfter: true },
  { rule: 'github_token', label: 'GitHub token', prefixes: ['ghp_', 'gho_', 'ghu_', 'ghs_', 'ghr_'], body: alnum, min: 36, max: 255 },
  { rule: 'github_fine_grained_token', label: 'GitHub fine-grained token', prefixes: ['github_pat_'], body: alnumUnderscore, min: 22, max: 255 },
  { rule: 'gitlab_token', label: 'GitLab token', prefixes: ['glpat-'], body: alnumDashUnderscore, min: 20, max: 255 },
  { rule: 'slack_token', label: 'Slack token', prefixes: ['xoxb-', 'xoxp-', 'xoxa-', 'xoxr-', 'xoxs-', 'xapp-'], body: slackChars, min: 10, max: 255 },
  { rule: 'slack_webhook', label: 'Slack webhook URL', prefixes: ['https://hooks.slack.com/services/'], body: pathChars, min: 20, max: 255 },
  { rule: 'anthropic_api_key', label: 'Anthropic API key', prefixes: ['sk-ant-'], body: alnumDashUnderscore, min: 32, max: 255 },
  { rule: 'openai_api_key', label: 'OpenAI API key', prefixes: ['sk-proj-', 'sk-svcacct-', 'sk-admin-'], body: alnumDashUnderscore, min: 20, max: 255 },
  { rule: 'openai_api_key', label: 'OpenAI API key', prefixes: ['sk-'], body: alnum, min: 32, max: 255, boundaryAfter: true },
  { rule: 'google_api_key', label: 'Google API key', prefixes: ['AIza'], body: alnumDashUnderscore, min: 35, max: 35, boundaryAfter: true },
  { rule: 'stripe_secret_key', label: 'Stripe secret key', prefixes: ['sk_live_', 'rk_live_', 'sk_test_', 'rk_test_'], body: alnum, min: 16, max: 255 },
  { rule: 'npm_token', label: 'npm token', prefixes: ['npm_'], body: alnum, min: 36, max: 36, boundaryAfter: true },
];

function isAlnumAt(s: string, i: number): boolean {
  return i >= 0 && i < s.length && alnum(s.charCodeAt(i));
}

/** Scans one prefix occurrence at `at`; returns where the next search may start. */
function scanPrefixAt(s: string, d: PrefixDetector, prefix: string, at: number, out: Finding[]): number {
  if (alnum(prefix.charCodeAt(0)) && isAlnumAt(s, at - 1)) return at + 1;
  const bodyStart = at + prefix.length;
  let j = bodyStart;
  const limit = Math.min(s.length, bodyStart + d.max + 1);
  while (j < limit && d.body(s.charCodeAt(j))) j++;
  const len = j - bodyStart;
  const boundaryOk = !d.boundaryAfter || !(j < s.length && alnumUnderscore(s.charCodeAt(j)));
  if (len >= d.min && len <= d.max && boundaryOk) {
    out.push({ kind: 'secret', rule: d.rule, index: at, length: j - at, detail: d.label });
  }
  // Later occurrences inside this run would re-scan it: skip it, which keeps the scan linear
  // even on inputs like "AKIAAKIAAKIA...".
  return Math.max(at + 1, j);
}

// AWS secret access keys have no prefix: only report them next to their variable name.
const AWS_SECRET_NAMES = ['aws_secret_access_key', 'AWS_SECRET_ACCESS_KEY', 'SecretAccessKey', 'aws-secret-access-key'];

function scanAwsSecretAt(s: string, name: string, at: number, out: Finding[]): number {
  let j = at + name.length;
  const sepEnd = Math.min(s.length, j + 6);
  while (j < sepEnd && ' \t"\':=>'.includes(s[j]!)) j++;
  const start = j;
  const limit = Math.min(s.length, start + 41);
  while (j < limit && base64(s.charCodeAt(j))) j++;
  if (j - start === 40) out.push({ kind: 'secret', rule: 'aws_secret_access_key', index: start, length: 40, detail: 'AWS secret access key' });
  return at + name.length;
}

const PEM_END_MARK = 'PRIVATE KEY-----';

function scanPrivateKeyAt(s: string, at: number, out: Finding[]): number {
  // The label ("RSA PRIVATE KEY", "OPENSSH PRIVATE KEY", ...) is short: look only 40 chars on.
  const header = s.slice(at + 11, at + 11 + 40);
  const markAt = header.indexOf(PEM_END_MARK);
  if (markAt < 0) return at + 11;
  const bodyFrom = at + 11 + markAt + PEM_END_MARK.length;
  const endAt = s.indexOf('-----END ', bodyFrom);
  let stop = s.length;
  if (endAt >= 0) {
    const close = s.indexOf('-----', endAt + 9);
    stop = close >= 0 ? close + 5 : s.length;
  }
  out.push({ kind: 'secret', rule: 'private_key', index: at, length: stop - at, detail: 'PEM private key' });
  return stop;
}

function runEnd(s: string, i: number): number {
  let j = i;
  while (j < s.length && alnumDashUnderscore(s.charCodeAt(j))) j++;
  return j;
}

// Linear: a failed candidate skips its whole first segment (any later "eyJ" inside it would end
// at the same place and fail the same way), and each character belongs to at most three segments.
function scanJwtAt(s: string, at: number, out: Finding[]): number {
  if (isAlnumAt(s, at - 1)) return at + 3;
  const a = runEnd(s, at);
  if (a - at >= 10 && s.charCodeAt(a) === 0x2e && s.startsWith('eyJ', a + 1)) {
    const b = runEnd(s, a + 1);
    if (b - a - 1 >= 10 && s.charCodeAt(b) === 0x2e) {
      const c = runEnd(s, b + 1);
      if (c - b - 1 >= 10) {
        out.push({ kind: 'secret', rule: 'jwt', index: at, length: c - at, detail: 'JSON Web Token' });
        return c;
      }
    }
  }
  return Math.max(at + 3, a);
}

// Every trigger literal in one alternation, longest first so `sk-ant-` wins over `sk-`. A
// pattern of plain literals has no quantifiers: irregexp finds the leftmost match in one pass.
type Handler = (s: string, at: number, out: Finding[]) => number;
const HANDLERS = new Map<string, Handler>();
for (const d of PREFIX_DETECTORS) for (const p of d.prefixes) HANDLERS.set(p, (s, at, out) => scanPrefixAt(s, d, p, at, out));
for (const n of AWS_SECRET_NAMES) HANDLERS.set(n, (s, at, out) => scanAwsSecretAt(s, n, at, out));
HANDLERS.set('-----BEGIN ', scanPrivateKeyAt);
HANDLERS.set('eyJ', scanJwtAt);
const TRIGGERS = new RegExp([...HANDLERS.keys()].sort((a, b) => b.length - a.length).map((k) => k.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&')).join('|'), 'g');

/** Finds credentials in text. Findings are sorted by position and never overlap. */
export function scanSecrets(s: string): Finding[] {
  const raw: Finding[] = [];
  // Each literal keeps its own "scanned up to" mark so a run is never rescanned by the same
  // detector (linear), while other detectors still see matches inside it.
  const skip = new Map<string, number>();
  const re = new RegExp(TRIGGERS.source, 'g');
  let m: RegExpExecArray | null;
  while ((m = re.exec(s)) !== null) {
    const lit = m[0];
    const at = m.index;
    if (at < (skip.get(lit) ?? 0)) { re.lastIndex = at + 1; continue; }
    skip.set(lit, HANDLERS.get(lit)!(s, at, raw));
    re.lastIndex = at + 1;
  }
  if (raw.length <= 1) return raw;
  // Earliest first; at equal start the longest (most specific: sk-ant- over sk-) wins.
  raw.sort((a, b) => a.index - b.index || b.length - a.length);
  const out: Finding[] = [];
  let end = -1;
  for (const f of raw) {
    if (f.index < end) continue;
    out.push(f);
    end = f.index + f.length;
  }
  return out;
}

/** Replaces each finding's span with `[REDACTED:<rule>]`. Findings must not overlap. */
export function redactFindings(s: string, findings: readonly Finding[]): string {
  if (findings.length === 0) return s;
  const sorted = [...findings].sort((a, b) => a.index - b.index);
  let out = '';
  let from = 0;
  for (const f of sorted) {
    if (f.index < from) continue;
    out += s.slice(from, f.index) + `[REDACTED:${f.rule ?? f.kind}]`;
    from = f.index + f.length;
  }
  return out + s.slice(from);
}

/** Convenience: scan and redact in one call. */
export function redactSecrets(s: string): { text: string; findings: Finding[] } {
  const findings = scanSecrets(s);
  return { text: redactFindings(s, findings), findings };
}
