// Properties of the detectors over inputs built from the fragments attackers use (escape
// introducers, invisible characters, secret prefixes, instruction words): stripping is
// idempotent and leaves nothing to find, findings stay in bounds and never overlap, and no
// input makes a scanner superlinear (1 MB adversarial inputs finish fast; a quadratic scanner
// would take minutes). Seeded, with anti-vacuity counts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  findAnsi, findSuspiciousUnicode, sanitizeText, scanSecrets, scanText, stripAnsi, stripSuspiciousUnicode,
} from '../../src/detect/index.js';

const FRAGMENTS = ['\u001b[', '\u001b]', '\u0007', '\u001b\\', 'm', '31', ';', '\u009b', '\u200b', '\u202e', '\u2066',
  String.fromCodePoint(0xe0069), String.fromCodePoint(0xe0020), '\ufe0f', 'AKIA', 'A', '0', 'Z', 'ignore', ' ', 'previous',
  'instructions', 'eyJ', '.', '_', '-', 'ghp_', 'a', 'sk-', 'sk-ant-', '-----BEGIN ', 'PRIVATE KEY-----', '-----END ',
  '\n', '\t', 'é', '🎉', '<IMPORTANT>', 'read', '~/.ssh', 'xoxb-', 'AIza'];
const text = fc.array(fc.constantFrom(...FRAGMENTS), { maxLength: 80 }).map((a) => a.join(''));
const SEED = 0xc0dd;

test('stripAnsi and stripSuspiciousUnicode are idempotent and leave nothing to find', () => {
  let withAnsi = 0;
  let withUnicode = 0;
  fc.assert(fc.property(text, (s) => {
    if (findAnsi(s).length > 0) withAnsi++;
    if (findSuspiciousUnicode(s).length > 0) withUnicode++;
    const a = stripAnsi(s);
    assert.equal(stripAnsi(a), a);
    assert.deepEqual(findAnsi(a), []);
    const u = stripSuspiciousUnicode(s);
    assert.equal(stripSuspiciousUnicode(u), u);
    assert.deepEqual(findSuspiciousUnicode(u), []);
  }), { seed: SEED, numRuns: 600 });
  assert.ok(withAnsi > 100 && withUnicode > 100, `anti-vacuity: ${withAnsi} inputs with ANSI, ${withUnicode} with invisible characters`);
});

test('findings are in bounds and secret findings never overlap; sanitize leaves no finding of the kinds it removes', () => {
  let withSecrets = 0;
  fc.assert(fc.property(text, (s) => {
    for (const f of scanText(s)) {
      assert.ok(f.index >= 0 && f.length > 0, JSON.stringify(f));
    }
    const secrets = scanSecrets(s);
    if (secrets.length > 0) withSecrets++;
    let end = 0;
    for (const f of secrets) {
      assert.ok(f.index >= end && f.index + f.length <= s.length, JSON.stringify(f));
      end = f.index + f.length;
    }
    const kinds = ['ansi', 'invisible', 'bidi', 'tag_chars'] as const;
    const clean = sanitizeText(s, kinds).text;
    assert.deepEqual(scanText(clean, { kinds }), []);
  }), { seed: SEED, numRuns: 600 });
  assert.ok(withSecrets > 0, `anti-vacuity: ${withSecrets} inputs held a secret`);
});

test('1 MB adversarial inputs scan in linear time (no scanner backtracks or rescans)', () => {
  const MB = 1 << 20;
  const rep = (s: string) => s.repeat(Math.ceil(MB / s.length)).slice(0, MB);
  const inputs: Record<string, string> = {
    'secret prefixes': rep('AKIA'),
    'jwt starts': rep('eyJ'),
    'jwt segments': rep('eyJaaaaaaaaaaaa.'),
    'github prefix runs': rep('ghp_'),
    'unterminated OSC': '\u001b]' + 'x'.repeat(MB),
    'escape storm': rep('\u001b['),
    'invisible storm': rep('\u200b\u202e'),
    'instruction words': rep('ignore previous all any '),
    'pem headers': rep('-----BEGIN '),
    'sensitive paths': rep('~/.ssh '),
  };
  for (const [name, s] of Object.entries(inputs)) {
    const t0 = performance.now();
    scanText(s);
    sanitizeText(s, ['ansi', 'invisible', 'bidi', 'tag_chars', 'secret']);
    const ms = performance.now() - t0;
    // Generous for a loaded 2-core machine: linear scans take well under a second per MB;
    // a quadratic one on 1 MB would take minutes.
    assert.ok(ms < 4000, `${name}: ${ms.toFixed(0)} ms for 1 MB`);
  }
});
