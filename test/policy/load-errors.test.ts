// Bad input never produces a stack trace or a hang: every failure is a PolicyError whose
// message names the file, line and column, and says what to do.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadPolicy, PolicyError } from '../../src/policy/index.js';
import { HEADER, VARS } from './helpers/load.js';

function loadError(text: string): PolicyError {
  const started = Date.now();
  try {
    loadPolicy({ text, source: 'p.yaml', vars: VARS, env: {} });
  } catch (e) {
    assert.ok(e instanceof PolicyError, `expected PolicyError, got ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
    assert.ok(Date.now() - started < 2000, 'loading bad input must not take seconds');
    return e;
  }
  assert.fail('expected the policy to be rejected');
}

test('malformed YAML names line and column', () => {
  const e = loadError(`${HEADER}file_rules:\n  - name: a\n    paths: [/x\n    decision: allow\n`);
  assert.match(e.message, /p\.yaml:\d+:\d+: malformed YAML/);
});

test('unknown key suggests the nearest valid key, at the key position', () => {
  const e = loadError(`${HEADER}file_rules:\n  - name: a\n    pathz: [/x]\n    decision: allow\n`);
  assert.match(e.message, /p\.yaml:5:5: file_rules\[0\]\.pathz: unknown key "pathz" \(did you mean "paths"\?\)/);
  const top = loadError(`${HEADER}file_rule: []\n`);
  assert.match(top.message, /p\.yaml:3:1: file_rule: unknown key "file_rule" \(did you mean "file_rules"\?\)/);
});

test('wrong types say what was expected and what was found', () => {
  const e = loadError(`${HEADER}file_rules:\n  - name: a\n    paths: /x\n    decision: allow\n`);
  assert.match(e.message, /file_rules\[0\]\.paths: must be a list \(got the string "\/x"\)/);
  const d = loadError(`${HEADER}file_rules:\n  - name: a\n    paths: [/x]\n    decision: maybe\n`);
  assert.match(d.message, /p\.yaml:6:15: file_rules\[0\]\.decision: must be one of "allow", "deny"/);
});

test('empty file and non-mapping top level', () => {
  assert.match(loadError('').message, /empty/);
  assert.match(loadError('# only a comment\n').message, /empty/);
  assert.match(loadError('- a\n- b\n').message, /top level must be a mapping/);
  assert.match(loadError('just a string').message, /top level must be a mapping/);
});

test('missing required keys are reported', () => {
  assert.match(loadError('name: x\n').message, /version: is required/);
});

test('a YAML alias bomb is refused quickly', () => {
  const lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
  for (let i = 1; i < 10; i++) lines.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [*${String.fromCharCode(96 + i)},*${String.fromCharCode(96 + i)},*${String.fromCharCode(96 + i)},*${String.fromCharCode(96 + i)},*${String.fromCharCode(96 + i)},*${String.fromCharCode(96 + i)},*${String.fromCharCode(96 + i)},*${String.fromCharCode(96 + i)},*${String.fromCharCode(96 + i)}]`);
  const e = loadError(`${HEADER}${lines.join('\n')}\n`);
  assert.match(e.message, /aliases may expand at most/);
});

test('deep nesting is refused, not a stack overflow', () => {
  const deep = `${HEADER}x: ${'['.repeat(5000)}${']'.repeat(5000)}\n`;
  const e = loadError(deep);
  assert.match(e.message, /nested/);
});

test('a 10 MB file is refused by size before parsing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cordon-policy-'));
  const f = join(dir, 'huge.yaml');
  writeFileSync(f, `${HEADER}description: "${'x'.repeat(10 * 1024 * 1024)}"\n`);
  const started = Date.now();
  assert.throws(() => loadPolicy({ file: f, vars: VARS, env: {} }), (e: unknown) => e instanceof PolicyError && /at most 1048576 bytes/.test(e.message));
  assert.ok(Date.now() - started < 1000);
});

test('missing and unreadable files name the file', () => {
  assert.throws(() => loadPolicy({ file: '/nonexistent/p.yaml', vars: VARS, env: {} }), (e: unknown) => e instanceof PolicyError && /\/nonexistent\/p\.yaml: no such file/.test(e.message));
  assert.throws(() => loadPolicy({ file: '/tmp', vars: VARS, env: {} }), (e: unknown) => e instanceof PolicyError && /not a regular file/.test(e.message));
});

test('binary garbage is refused cleanly', () => {
  assert.match(loadError('\u0000\u0001\u0002binary').message, /NUL bytes/);
  assert.ok(loadError('\u00ff\u00fe{{{{:::').message.length > 0);
});

test('contradictions are refused with the fix', () => {
  assert.match(loadError(`${HEADER}file_rules:\n  - name: a\n    paths: [/x]\n    decision: redirect\n`).message, /redirect needs redirect_to/);
  assert.match(loadError(`${HEADER}file_rules:\n  - name: a\n    paths: [/x]\n    decision: allow\n    timeout: 5s\n`).message, /timeout applies only to decision: approve/);
  assert.match(loadError(`${HEADER}file_rules:\n  - name: a\n    paths: [x/y]\n    decision: allow\n`).message, /must be absolute/);
  assert.match(loadError(`${HEADER}file_rules:\n  - name: a\n    paths: [/x]\n    decision: allow\n  - name: a\n    paths: [/y]\n    decision: deny\n`).message, /already used/);
  assert.match(loadError(`${HEADER}network_rules:\n  - name: a\n    cidrs: [10.0.0.0/33]\n    decision: allow\n`).message, /not an IPv4\/IPv6 address or CIDR/);
  assert.match(loadError(`${HEADER}command_rules:\n  - name: a\n    commands: [x]\n    args_patterns: ["(a+)+$"]\n    decision: allow\n`).message, /nested quantifiers/);
  assert.match(loadError(`${HEADER}signal_rules:\n  - name: a\n    signals: [SIGNOPE]\n    target: { type: self }\n    decision: allow\n`).message, /unknown signal "SIGNOPE"/);
  assert.match(loadError(`${HEADER}llm:\n  budgets: [{ name: b, period: day, max_usd: 5 }]\n`).message, /no part of this Cordon version enforces it yet/);
});

test('the CLI prints one paragraph and exits 2, never a stack trace', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cordon-policy-'));
  const f = join(dir, 'bad.yaml');
  writeFileSync(f, `${HEADER}file_rules:\n  - name: a\n    pathz: [/x]\n`);
  const r = spawnSync(process.execPath, ['bin/cordon.js', 'policy', 'validate', f], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^cordon: policy .*bad\.yaml is invalid: .*bad\.yaml:5:5: file_rules\[0\]\.pathz: unknown key "pathz" \(did you mean "paths"\?\).*\n$/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
});
