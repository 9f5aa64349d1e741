// Landlock read grants are attached to directory inodes, so a granted directory moved elsewhere
// keeps its grant. Moved into a place where the policy denies reading but allows writing, it
// would let the sandbox read what the policy denies: here a key in a read-denied vault is moved
// into the moved project and read through its grant. The supervisor answers such a rename with
// EXDEV (mv then copies: new inodes, no grant). Control differs by ONE rule (the vault readable).
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { layout, policyYaml, requireSandbox, sandboxRun } from './helpers/sandbox.js';

before(requireSandbox);

function vaultRun(vaultReadable: boolean) {
  const l = layout();
  const vault = join(l.base, 'vault');
  mkdirSync(vault);
  writeFileSync(join(vault, 'key'), 'VAULT-KEY-4711\n');
  writeFileSync(join(l.work, 'README'), 'project\n');
  const rules = `  - name: vault-read
    paths: ["${vault}", "${vault}/**"]
    operations: [read, list]
    decision: ${vaultReadable ? 'allow' : 'deny'}
  - name: vault-write
    paths: ["${vault}", "${vault}/**"]
    decision: allow
`;
  const script = `cd /; mv ${l.work} ${vault}/work; echo "mv=$?"; mv ${vault}/key ${vault}/work/key; echo "mv2=$?"; cat ${vault}/work/key; echo "cat=$?"; cat ${vault}/work/README`;
  return { l, run: sandboxRun(policyYaml(l, { extraFileRules: rules }), ['/bin/sh', '-c', script], l.work, { readFastPath: true }) };
}

test('a granted directory moved into a read-denied place does not carry its read grant there', async () => {
  const { run } = vaultRun(false);
  const r = await run;
  assert.doesNotMatch(r.stdout, /VAULT-KEY-4711/, `the vault key was read through a moved grant: ${r.stdout}${r.stderr}`);
  assert.match(r.stdout, /mv2=0/, `anti-vacuity: the key was moved into the moved project: ${r.stdout}${r.stderr}`);
  assert.match(r.stdout, /cat=1/, `the read was refused: ${r.stdout}${r.stderr}`);
  // mv fell back to a copy: the project's contents arrived (and are not readable there either).
  assert.doesNotMatch(r.stdout, /^project$/m);
  const c = await vaultRun(true).run;
  assert.match(c.stdout, /VAULT-KEY-4711/, `control: with the vault readable the key is read: ${c.stdout}${c.stderr}`);
  assert.match(c.stdout, /^project$/m);
});
