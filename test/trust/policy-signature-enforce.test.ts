// Signed policies: enforce refuses unsigned, tampered, unknown-key and expired-key policies (and
// loose trust-store permissions) with exit code 2; warn reports and continues; off skips. Each
// refusal has a control differing by one thing that is accepted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  generateKeyPairFiles, loadPrivateKey, signPolicyFile, verifyPolicyFile, resolveTrustSettings, TrustError,
  TRUST_STORE_ENV, TRUST_MODE_ENV,
} from '../../src/trust/index.js';

const POLICY = 'version: 1\nname: demo\nfile_rules:\n  - name: read-project\n    paths: ["/work/**"]\n    operations: [read]\n    decision: allow\n';

function setup(t: { after(fn: () => void): void }) {
  const dir = mkdtempSync(join(tmpdir(), 'cordon-trust-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const store = join(dir, 'store');
  mkdirSync(store, { mode: 0o755 });
  chmodSync(store, 0o755);
  const alice = generateKeyPairFiles(join(dir, 'alice'), { label: 'alice' });
  copyFileSync(alice.publicFile, join(store, 'alice.pub'));
  const policy = join(dir, 'p.yaml');
  writeFileSync(policy, POLICY);
  return { dir, store, alice, policy };
}

function trustErr(code: string) {
  return (e: unknown) => e instanceof TrustError && e.code === code && e.exitCode === 2;
}

test('a policy signed by a trusted key verifies, naming the key and signer', (t) => {
  const { store, alice, policy } = setup(t);
  const { sig } = signPolicyFile(policy, loadPrivateKey(alice.privateFile), 'alice@example');
  assert.equal(sig.keyId, alice.keyId);
  assert.match(sig.keyId, /^[0-9a-f]{64}$/);
  const r = verifyPolicyFile(policy, { trustStore: store, mode: 'enforce' });
  assert.deepEqual({ verified: r.verified, keyId: r.keyId, signer: r.signer, warnings: r.warnings }, { verified: true, keyId: alice.keyId, signer: 'alice@example', warnings: [] });
  assert.equal(r.bytes.toString(), POLICY);
});

test('one changed byte after signing: enforce refuses, warn warns, off does not look', (t) => {
  const { store, alice, policy } = setup(t);
  signPolicyFile(policy, loadPrivateKey(alice.privateFile), 'alice');
  writeFileSync(policy, POLICY.replace('decision: allow', 'decision: allaw'));
  assert.throws(() => verifyPolicyFile(policy, { trustStore: store, mode: 'enforce' }), trustErr('bad-signature'));
  assert.throws(() => verifyPolicyFile(policy, { trustStore: store, mode: 'enforce' }), /was changed after it was signed/);
  const w = verifyPolicyFile(policy, { trustStore: store, mode: 'warn' });
  assert.equal(w.verified, false);
  assert.match(w.warnings.join('\n'), /changed after it was signed/);
  assert.equal(verifyPolicyFile(policy, { trustStore: null, mode: 'off' }).verified, false);
});

test('an unsigned policy is refused in enforce mode', (t) => {
  const { store, policy } = setup(t);
  assert.throws(() => verifyPolicyFile(policy, { trustStore: store, mode: 'enforce' }), trustErr('unsigned'));
});

test('a signature by a key outside the trust store is refused; the same policy signed by a trusted key passes', (t) => {
  const { dir, store, alice, policy } = setup(t);
  const mallory = generateKeyPairFiles(join(dir, 'mallory'), { label: 'mallory' });
  signPolicyFile(policy, loadPrivateKey(mallory.privateFile), 'alice');
  assert.throws(() => verifyPolicyFile(policy, { trustStore: store, mode: 'enforce' }), trustErr('unknown-key'));
  signPolicyFile(policy, loadPrivateKey(alice.privateFile), 'alice');
  assert.equal(verifyPolicyFile(policy, { trustStore: store, mode: 'enforce' }).verified, true);
});

test('an altered signer label or time in the .sig breaks the signature', (t) => {
  const { store, alice, policy } = setup(t);
  const { sigFile } = signPolicyFile(policy, loadPrivateKey(alice.privateFile), 'alice');
  const sig = JSON.parse(readFileSync(sigFile, 'utf8')) as Record<string, string>;
  writeFileSync(sigFile, JSON.stringify({ ...sig, signer: 'bob' }));
  assert.throws(() => verifyPolicyFile(policy, { trustStore: store, mode: 'enforce' }), trustErr('bad-signature'));
  writeFileSync(sigFile, JSON.stringify({ ...sig, time: '2020-01-01T00:00:00.000Z' }));
  assert.throws(() => verifyPolicyFile(policy, { trustStore: store, mode: 'enforce' }), trustErr('bad-signature'));
  writeFileSync(sigFile, 'garbage');
  assert.throws(() => verifyPolicyFile(policy, { trustStore: store, mode: 'enforce' }), trustErr('bad-signature-file'));
});

test('a key past its expiry is refused; the same key before expiry is accepted', (t) => {
  const { dir, store, policy } = setup(t);
  const k = generateKeyPairFiles(join(dir, 'temp'), { label: 'temp', expires: '2030-01-01T00:00:00Z' });
  copyFileSync(k.publicFile, join(store, 'temp.pub'));
  signPolicyFile(policy, loadPrivateKey(k.privateFile), 'temp');
  assert.equal(verifyPolicyFile(policy, { trustStore: store, mode: 'enforce', now: new Date('2029-12-31T00:00:00Z') }).verified, true);
  assert.throws(() => verifyPolicyFile(policy, { trustStore: store, mode: 'enforce', now: new Date('2030-01-02T00:00:00Z') }), trustErr('expired-key'));
});

test('a trust store or trusted key writable by others is refused in enforce mode, a warning in warn mode', (t) => {
  const { store, alice, policy } = setup(t);
  signPolicyFile(policy, loadPrivateKey(alice.privateFile), 'alice');
  chmodSync(store, 0o777);
  assert.throws(() => verifyPolicyFile(policy, { trustStore: store, mode: 'enforce' }), trustErr('loose-permissions'));
  const w = verifyPolicyFile(policy, { trustStore: store, mode: 'warn' });
  assert.equal(w.verified, true);
  assert.match(w.warnings.join('\n'), /group or others can add keys/);
  chmodSync(store, 0o755);
  chmodSync(join(store, 'alice.pub'), 0o666);
  assert.throws(() => verifyPolicyFile(policy, { trustStore: store, mode: 'enforce' }), /group or others can replace it/);
  chmodSync(join(store, 'alice.pub'), 0o644);
  assert.equal(verifyPolicyFile(policy, { trustStore: store, mode: 'enforce' }).verified, true, 'control: tight permissions pass');
});

test('a signing key readable by others is refused', (t) => {
  const { alice } = setup(t);
  chmodSync(alice.privateFile, 0o644);
  assert.throws(() => loadPrivateKey(alice.privateFile), trustErr('loose-permissions'));
  chmodSync(alice.privateFile, 0o600);
  assert.equal(loadPrivateKey(alice.privateFile).keyId, alice.keyId);
});

test('trust settings: a configured store means enforce; modes are validated; enforce without a store is an error', () => {
  assert.deepEqual(resolveTrustSettings({}, {}), { trustStore: null, mode: 'off' });
  assert.deepEqual(resolveTrustSettings({}, { [TRUST_STORE_ENV]: '/s' }), { trustStore: '/s', mode: 'enforce' });
  assert.deepEqual(resolveTrustSettings({ mode: 'warn' }, { [TRUST_STORE_ENV]: '/s', [TRUST_MODE_ENV]: 'off' }), { trustStore: '/s', mode: 'warn' });
  assert.deepEqual(resolveTrustSettings({ trustStore: '/flag' }, { [TRUST_STORE_ENV]: '/env' }), { trustStore: '/flag', mode: 'enforce' });
  assert.throws(() => resolveTrustSettings({ mode: 'strict' }, {}), /not one of enforce, warn, off/);
  assert.throws(() => resolveTrustSettings({}, { [TRUST_MODE_ENV]: 'enforce' }), /needs a trust store/);
});
