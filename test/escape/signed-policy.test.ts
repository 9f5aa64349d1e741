// Signed-policy enforcement in `cordon run` (the built CLI, real flags): with a trust store in
// enforce mode an unsigned policy, or one changed after signing, stops the run with exit 2
// before anything runs (the marker the command would write is absent). The control is the same
// policy signed with a key in the trust store: it runs and writes the marker.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { layout, policyYaml, requireSandbox, ROOT } from './helpers/sandbox.js';

before(requireSandbox);

const CORDON = join(ROOT, 'bin', 'cordon.js');
const cordon = (args: string[], cwd: string, env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [CORDON, ...args], { cwd, encoding: 'utf8', env: { ...process.env, CORDON_TRUST_STORE: '', CORDON_TRUST_MODE: '', ...env }, timeout: 60_000 });

function setup() {
  const l = layout();
  const policy = join(l.base, 'policy.yaml');
  writeFileSync(policy, policyYaml(l));
  const keys = join(l.base, 'keys');
  const store = join(l.base, 'trust');
  mkdirSync(store, { mode: 0o700 });
  const g = cordon(['keys', 'generate', '--out', join(keys, 'ci'), '--label', 'ci'], l.base);
  assert.equal(g.status, 0, g.stderr);
  copyFileSync(join(keys, 'ci.pub'), join(store, 'ci.pub'));
  return { l, policy, keys, store, marker: join(l.work, 'ran') };
}
const touch = (marker: string) => ['--', '/bin/sh', '-c', `echo ran > ${marker}`];

test('enforce mode: an unsigned policy exits 2 and nothing runs; signed with a trusted key it runs', () => {
  const s = setup();
  const unsigned = cordon(['run', '--policy', s.policy, '--trust-store', s.store, '--trust-mode', 'enforce', ...touch(s.marker)], s.l.work);
  assert.equal(unsigned.status, 2, unsigned.stderr);
  assert.match(unsigned.stderr, /not signed/);
  assert.equal(existsSync(s.marker), false, 'the command ran under an unsigned policy');
  // the same through the environment (CORDON_TRUST_STORE alone means enforce)
  const viaEnv = cordon(['run', '--policy', s.policy, ...touch(s.marker)], s.l.work, { CORDON_TRUST_STORE: s.store });
  assert.equal(viaEnv.status, 2, viaEnv.stderr);
  assert.equal(existsSync(s.marker), false);
  // control: signed by a key in the store, it runs
  const sign = cordon(['policy', 'sign', s.policy, '--key', join(s.keys, 'ci.key')], s.l.base);
  assert.equal(sign.status, 0, sign.stderr);
  const ok = cordon(['run', '--policy', s.policy, '--trust-store', s.store, '--trust-mode', 'enforce', ...touch(s.marker)], s.l.work);
  assert.equal(ok.status, 0, ok.stderr);
  assert.equal(existsSync(s.marker), true, 'control: the signed policy runs the command');
});

test('enforce mode: a policy changed after signing exits 2 (even after a cached run of the signed one)', () => {
  const s = setup();
  assert.equal(cordon(['policy', 'sign', s.policy, '--key', join(s.keys, 'ci.key')], s.l.base).status, 0);
  assert.equal(cordon(['run', '--policy', s.policy, '--', '/bin/true'], s.l.work).status, 0); // fills the policy cache
  appendFileSync(s.policy, '# tampered\n');
  const r = cordon(['run', '--policy', s.policy, '--trust-store', s.store, ...touch(s.marker)], s.l.work);
  assert.equal(r.status, 2, r.stderr);
  assert.equal(existsSync(s.marker), false, 'the command ran under a tampered policy');
});
