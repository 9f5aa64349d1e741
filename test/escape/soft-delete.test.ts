// soft_delete is carried out by the supervisor on the object it pinned when deciding (renameat2
// into the session trash fd), never by Node on a path string in the host's mount namespace: a
// symlink swapped into an ancestor between the decision and the move cannot redirect the move
// to a file outside the sandbox's view. The control is the normal soft_delete: the file lands
// in the session trash (`cordon trash list`) and restores byte-identical.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { listTrash, restoreFromTrash } from '../../src/sandbox/index.js';
import { layout, policyYaml, probeResult, PROBE, requireSandbox, sandboxRun, type Layout } from './helpers/sandbox.js';

before(requireSandbox);

const softDelete = (l: Layout) => policyYaml(l, { extraFileRules: `  - name: recoverable\n    paths: ["${l.work}/**"]\n    operations: [delete, rmdir]\n    decision: soft_delete\n` });

test('symlink swapped into an ancestor during soft_delete never moves a file outside the sandbox\'s view', async () => {
  const l = layout();
  const dir = join(l.work, 'race');
  mkdirSync(join(dir, 'd'), { recursive: true });
  symlinkSync(l.secret, join(dir, 'e'));
  const N = 150;
  for (let i = 0; i < N; i++) {
    writeFileSync(join(dir, 'd', `v${i}`), `work ${i}\n`);
    writeFileSync(join(l.secret, `v${i}`), `HOST ${i}\n`);
  }
  const r = await sandboxRun(softDelete(l), [PROBE, 'rmswap', dir, String(N)], l.work);
  const res = probeResult(r.stdout);
  assert.equal(res.result, 'done', r.stdout + r.stderr);
  assert.ok(Number(res.removed) > 0, `anti-vacuity: some soft deletes went through: ${JSON.stringify(res)}`);
  for (let i = 0; i < N; i++) {
    assert.ok(existsSync(join(l.secret, `v${i}`)), `host file secret/v${i} was moved by a soft_delete`);
    assert.equal(readFileSync(join(l.secret, `v${i}`), 'utf8'), `HOST ${i}\n`);
  }
  const entries = listTrash({ session: r.session });
  assert.equal(entries.length, Number(res.removed), 'every reported removal is in the trash, nothing else');
  for (const e of entries) {
    assert.ok(e.originalPath.startsWith(`${dir}/`), `trash entry from outside the work tree: ${e.originalPath}`);
    assert.match(readFileSync(e.storedPath, 'utf8'), /^work \d+\n$/, 'the trashed object is the sandbox\'s file');
  }
});

test('control: a normal soft_delete lands in `cordon trash list` (CLI) and restores byte-identical', async () => {
  const l = layout();
  mkdirSync(join(l.work, 'keep'));
  const f = join(l.work, 'keep', 'a.txt');
  writeFileSync(f, 'precious\n');
  const r = await sandboxRun(softDelete(l), ['/bin/rm', f], l.work);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(existsSync(f), false);
  const { execFileSync } = await import('node:child_process');
  const { ROOT } = await import('./helpers/sandbox.js');
  const listed = execFileSync(process.execPath, [join(ROOT, 'bin', 'cordon.js'), 'trash', 'list', '--json'], { encoding: 'utf8' });
  const entry = listTrash({ session: r.session })[0];
  assert.ok(entry, 'the soft-deleted file is in the session trash');
  assert.ok(listed.includes(entry.id), `cordon trash list shows ${entry.id}`);
  assert.equal(entry.originalPath, f);
  assert.equal(entry.kind, 'file');
  restoreFromTrash(entry.id);
  assert.equal(readFileSync(f, 'utf8'), 'precious\n');
});

test('soft_delete of a /dev/shm name (a fresh tmpfs inside): the sandbox\'s file is copied to the trash; the host file of the same name stays', async () => {
  const l = layout();
  const name = `/dev/shm/cordon-esc-${process.pid}-${Date.now()}`;
  writeFileSync(name, 'HOST shm file\n'); // the host's file under the same path
  try {
    const rules = `  - name: shm-recoverable\n    paths: ["/dev/shm/**"]\n    operations: [delete]\n    decision: soft_delete\n  - name: shm\n    paths: ["/dev/shm/**"]\n    decision: allow\n`;
    const r = await sandboxRun(policyYaml(l, { extraFileRules: rules }), ['/bin/sh', '-c', `printf shm-data > ${name} && rm ${name} && test ! -e ${name} && echo gone`], l.work);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /gone/);
    assert.equal(readFileSync(name, 'utf8'), 'HOST shm file\n', 'a soft_delete inside moved the host\'s /dev/shm file');
    const [e] = listTrash({ session: r.session });
    assert.ok(e, 'the sandbox\'s file is in the session trash');
    assert.equal(e.originalPath, name);
    assert.equal(e.method, 'copy', 'another mount than the trash: copied on the pinned file');
    assert.equal(readFileSync(e.storedPath, 'utf8'), 'shm-data');
  } finally {
    rmSync(name, { force: true });
  }
});

test('a soft_delete the supervisor cannot carry out leaves no trash entry and is recorded as a failure', async () => {
  const l = layout();
  const r = await sandboxRun(softDelete(l), ['/bin/rm', join(l.work, 'does-not-exist')], l.work);
  assert.notEqual(r.code, 0, 'rm reports the failure');
  assert.deepEqual(listTrash({ session: r.session }), []);
  const chain = readFileSync(r.auditFile, 'utf8');
  assert.match(chain, /soft_delete could not move the object into the trash \(errno 2\)/);
});
