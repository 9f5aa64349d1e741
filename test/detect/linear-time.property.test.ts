// Properties of the detectors over inputs built from the fragments attackers use (escape
// introducers, invisible characters, secret prefixes, instruction words): stripping is
// idempotent and leaves nothing to find, findings stay in bounds and never overlap, and no
// input makes a scanner superlinear (growing an adversarial input 8x grows the time about 8x,
// where a quadratic scanner would take 64x). Seeded, with anti-vacuity counts.
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

const SLOW_MS = 1500;

test('adversarial inputs scan in linear time: 8x the input takes about 8x the time, not 64x', { timeout: 120_000 }, () => {
  const patterns: Record<string, string> = {
    'secret prefixes': 'AKIA',
    'jwt starts': 'eyJ',
    'jwt segments': 'eyJaaaaaaaaaaaa.',
    'jwt starts in one long run': '-eyJ',
    'github prefix runs': 'ghp_',
    'escape storm': '\u001b[',
    'invisible storm': '\u200b\u202e',
    'instruction words': 'ignore previous all any ',
    'pem headers': '-----BEGIN ',
    'sensitive paths': '~/.ssh ',
  };
  const build = (unit: string, size: number) => unit.repeat(Math.ceil(size / unit.length)).slice(0, size);
  // Best of two, so a busy machine's scheduling noise does not decide the ratio (a run that is
  // already slow is not repeated: that is the regression this test exists for).
  const time = (s: string) => {
    let best = Infinity;
    for (let i = 0; i < 2 && (i === 0 || best < SLOW_MS); i++) {
      const t0 = performance.now();
      scanText(s);
      sanitizeText(s, ['ansi', 'invisible', 'bidi', 'tag_chars', 'secret']);
      best = Math.min(best, performance.now() - t0);
    }
    return best;
  };
  const cases = { ...patterns, 'unterminated OSC': '' };
  for (const [name, unit] of Object.entries(cases)) {
    const small = name === 'unterminated OSC' ? '\u001b]' + 'x'.repeat(16 * 1024) : build(unit, 16 * 1024);
    const large = name === 'unterminated OSC' ? '\u001b]' + 'x'.repeat(128 * 1024) : build(unit, 128 * 1024);
    // Linear: ~8x. Quadratic: ~64x, every time. A busy machine can spoil one measurement, so a
    // ratio over the bound is measured again (up to three times) before it counts.
    let ratio = Infinity;
    let detail = '';
    for (let attempt = 0; attempt < 3 && ratio >= 24; attempt++) {
      const ts = Math.max(time(small), 0.5);
      const tl = time(large);
      ratio = tl / ts;
      detail = `128 KB took ${tl.toFixed(1)} ms, 16 KB took ${ts.toFixed(1)} ms`;
      if (tl >= SLOW_MS) break; // linear code scans 128 KB in well under this even on a busy machine
    }
    assert.ok(ratio < 24, `${name}: ${detail} (ratio ${ratio.toFixed(1)})`);
  }
});
