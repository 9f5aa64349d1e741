// Cordon's own files are protected by their canonical path whatever form the user gave them
// in: a relative `--audit` file inside an allowed project directory cannot be overwritten,
// appended to or truncated from inside the sandbox (its chain still verifies); the control is
// the same writes on a sibling file in the same directory, which go through.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { layout, policyYaml, requireSandbox, ROOT } from './helpers/sandbox.js';

before(requireSandbox);

const CORDON = join(ROOT, 'bin', 'cordon.js');
const cordon = (args: string[], cwd: string, env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [CORDON, ...args], { cwd, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 });

// printf octal escapes: the bytes written (PWNED) never appear in the argv the audit records.
const attack = (f: string) => `printf '\\120WNED1\\n' > ${f}; printf '\\120WNED2\\n' >> ${f}; /usr/bin/truncate -s 0 ${f}; printf '\\120WNED3\\n' >> ${f}; true`;

test('a relative --audit file in the project cannot be written or truncated from inside; a sibling can', () => {
  const l = layout();
  const p = join(l.base, 'policy.yaml');
  writeFileSync(p, policyYaml(l));
  writeFileSync(join(l.work, 'sibling.txt'), 'before\n');
  const r = cordon(['run', '--policy', p, '--audit', 'audit.jsonl', '--', '/bin/sh', '-c', `${attack('audit.jsonl')}; ${attack('sibling.txt')}`], l.work);
  assert.equal(r.status, 0, r.stderr);
  const chain = readFileSync(join(l.work, 'audit.jsonl'), 'utf8');
  assert.doesNotMatch(chain, /PWNED/, 'the sandbox wrote into Cordon\'s audit chain');
  assert.ok(chain.length > 0, 'anti-vacuity: the chain has the session\'s entries');
  const v = cordon(['audit', 'verify', 'audit.jsonl'], l.work);
  assert.equal(v.status, 0, `the chain must verify after the attack: ${v.stdout}${v.stderr}`);
  // control: the same writes on a sibling in the same allowed directory land
  assert.equal(readFileSync(join(l.work, 'sibling.txt'), 'utf8'), 'PWNED3\n');
});

test('a symlinked XDG_STATE_HOME pointing into the project: audit.key cannot be read or replaced from inside', () => {
  const l = layout();
  const p = join(l.base, 'policy.yaml');
  writeFileSync(p, policyYaml(l));
  mkdirSync(join(l.work, 'state'));
  symlinkSync(join(l.work, 'state'), join(l.base, 'state-link'));
  const env = { XDG_STATE_HOME: join(l.base, 'state-link') };
  // A first run creates the key (and the state directory) through the symlink.
  assert.equal(cordon(['run', '--policy', p, '--', '/bin/true'], l.work, env).status, 0);
  const keyFile = join(l.work, 'state', 'cordon', 'audit.key');
  const key = readFileSync(keyFile);
  const r = cordon(['run', '--policy', p, '--', '/bin/sh', '-c', `cat ${keyFile} > leaked; printf '\\120WNED' > ${keyFile}; printf '\\120WNED' > state/sibling; true`], l.work, env);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(readFileSync(keyFile), key, 'the audit key was replaced from inside the sandbox');
  assert.ok(!readFileSync(join(l.work, 'leaked')).includes(key), 'the audit key was read from inside the sandbox');
  // control: a sibling of Cordon's state directory in the same allowed tree is writable
  assert.equal(readFileSync(join(l.work, 'state', 'sibling'), 'utf8'), 'PWNED');
});
