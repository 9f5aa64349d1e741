// Audit HMAC keys: a key file others can read is refused (anyone who reads it can forge the
// chain), keys from the environment work, short keys and PEM files are refused with a reason,
// and the writer's default key is created once, 0600, and found again by verify.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AuditError, defaultKeyFile, keyFingerprint, openAuditLog, readKeyEnv, readKeyFile, verifyChainFiles } from '../../src/audit/index.js';
import { writeHmacKey } from './helpers/chain.js';
import { isolateState, tempDir } from './helpers/tmp.js';

const keyErr = (re: RegExp) => (e: unknown) => e instanceof AuditError && e.code === 'key' && e.exitCode === 2 && re.test(e.message);

test('a group- or world-readable key file is refused; the same file at 0600 is accepted', async (t) => {
  const dir = tempDir(t);
  const k = writeHmacKey(join(dir, 'k'));
  chmodSync(k, 0o640);
  assert.throws(() => readKeyFile(k), keyErr(/mode 0640.*chmod 600/));
  await assert.rejects(openAuditLog({ file: join(dir, 'a.jsonl'), key: { file: k } }), keyErr(/could forge/));
  chmodSync(k, 0o600);
  assert.equal(readKeyFile(k).key.length, 32);
});

test('keys: short, PEM and missing are refused with the reason; hex, base64 and raw bytes are read', (t) => {
  const dir = tempDir(t);
  const f = join(dir, 'k');
  writeFileSync(f, 'abcd', { mode: 0o600 });
  assert.throws(() => readKeyFile(f), keyErr(/2 bytes; at least 32/));
  writeFileSync(f, '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n');
  assert.throws(() => readKeyFile(f), keyErr(/PEM key, not an audit HMAC key/));
  assert.throws(() => readKeyFile(join(dir, 'nope')), keyErr(/cannot read audit key/));
  const raw = Buffer.alloc(32, 7);
  for (const text of [raw.toString('hex'), raw.toString('base64'), raw]) {
    writeFileSync(f, text);
    assert.equal(readKeyFile(f).fingerprint, keyFingerprint(raw));
  }
  assert.equal(readKeyEnv('CORDON_T_KEY', { CORDON_T_KEY: raw.toString('hex') }).fingerprint, keyFingerprint(raw));
  assert.throws(() => readKeyEnv('CORDON_T_KEY', {}), keyErr(/not set/));
});

test('a key from an environment variable writes a chain that verifies with the same key and not another', async (t) => {
  const dir = tempDir(t);
  process.env.CORDON_TEST_AUDIT_KEY = Buffer.alloc(32, 9).toString('hex');
  t.after(() => { delete process.env.CORDON_TEST_AUDIT_KEY; });
  const file = join(dir, 'a.jsonl');
  const w = await openAuditLog({ file, key: { env: 'CORDON_TEST_AUDIT_KEY' } });
  await w.append({ kind: 'tool', operation: 'call', subject: 'search', session: 's' });
  await w.close();
  assert.equal(verifyChainFiles([file], { keys: [readKeyEnv('CORDON_TEST_AUDIT_KEY')], explicitKeys: true }).ok, true);
  assert.equal(verifyChainFiles([file], { keys: [readKeyFile(writeHmacKey(join(dir, 'other')))], explicitKeys: true }).firstBad?.reason, 'wrong-key');
});

test('the default key is created once (0600, in the state dir) and reused by later writers', async (t) => {
  const dir = tempDir(t);
  isolateState(dir);
  const w1 = await openAuditLog({ file: join(dir, 'a.jsonl') });
  await w1.close();
  const key1 = readFileSync(defaultKeyFile());
  assert.equal(statSync(defaultKeyFile()).mode & 0o777, 0o600);
  const w2 = await openAuditLog({ file: join(dir, 'b.jsonl') });
  await w2.close();
  assert.deepEqual(readFileSync(defaultKeyFile()), key1);
  assert.equal(w1.keyFingerprint, w2.keyFingerprint);
});
