// The built CLI with real flags: keys generate / id, policy sign / verify against a trust store.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, runPolicyTrust } from './helpers/cli.js';
import { tempDir } from './helpers/tmp.js';

test('keys generate, policy sign and policy verify with a trust store (exit 0 trusted, 1 tampered or untrusted)', (t) => {
  const dir = tempDir(t);
  const gen = runCli(['keys', 'generate', '--out', join(dir, 'alice'), '--label', 'alice', '--json']);
  assert.equal(gen.status, 0, gen.stderr);
  const k = JSON.parse(gen.stdout) as { keyId: string; privateFile: string; publicFile: string };
  assert.equal(runCli(['keys', 'id', k.publicFile]).stdout.trim(), k.keyId);
  const store = join(dir, 'store');
  mkdirSync(store);
  copyFileSync(k.publicFile, join(store, 'alice.pub'));
  const policy = join(dir, 'p.yaml');
  writeFileSync(policy, 'version: 1\nname: p\n');
  const sign = runPolicyTrust(['policy', 'sign', policy, '--key', k.privateFile]);
  assert.equal(sign.status, 0, sign.stderr);
  assert.match(sign.stdout, /signer alice/);
  const ok = runPolicyTrust(['policy', 'verify', policy, '--trust-store', store]);
  assert.equal(ok.status, 0, ok.stderr + ok.stdout);
  assert.match(ok.stdout, /^OK: .* is signed by alice/);
  const viaEnv = runPolicyTrust(['policy', 'verify', policy], { CORDON_TRUST_STORE: store });
  assert.equal(viaEnv.status, 0, 'CORDON_TRUST_STORE is honoured');
  writeFileSync(policy, 'version: 1\nname: p2\n');
  const bad = runPolicyTrust(['policy', 'verify', policy, '--trust-store', store]);
  assert.equal(bad.status, 1);
  assert.match(bad.stdout, /FAILED \(bad-signature\)/);
  const warn = runPolicyTrust(['policy', 'verify', policy, '--trust-store', store, '--trust-mode', 'warn']);
  assert.equal(warn.status, 1, 'warn mode still reports NOT VERIFIED with exit 1');
  assert.match(warn.stderr, /warning: .*changed after it was signed/);
  assert.equal(runPolicyTrust(['policy', 'verify', policy]).status, 2, 'no trust store is a usage error');
});
