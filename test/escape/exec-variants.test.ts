// Other ways to run a denied program: execveat with a directory fd, fexecve on an fd, an
// anonymous memfd image, and the dynamic loader run directly (`ld.so ./binary`). The world
// effect is the marker file the forbidden program writes when it runs.
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { bareRun, layout, MARK, policyYaml, probeResult, PROBE, requireSandbox, sandboxRun } from './helpers/sandbox.js';

before(requireSandbox);

function execLayout() {
  const l = layout();
  mkdirSync(join(l.work, 'no'));
  copyFileSync(MARK, join(l.work, 'no', 'prog'));
  return { l, bad: join(l.work, 'no', 'prog'), marker: join(l.work, 'RAN') };
}

async function blockedAndControl(argv: (a: ReturnType<typeof execLayout>) => string[]) {
  const a = execLayout();
  const blocked = await sandboxRun(policyYaml(a.l), argv(a), a.l.work);
  const c = execLayout();
  const control = await sandboxRun(policyYaml(c.l, { noBinDenied: false }), argv(c), c.l.work);
  return { a, blocked, c, control };
}

test('execve of a denied program fails (EPERM, the policy default for exec) with its rule message on stderr', async () => {
  const { a, blocked, c } = await blockedAndControl((x) => ['/bin/sh', '-c', `${x.bad} ${x.marker}`]);
  assert.equal(existsSync(a.marker), false);
  assert.match(blocked.stderr, /cordon: forbidden binary \(rule forbidden-bin\)/);
  assert.equal(existsSync(c.marker), true);
});

test('execveat(dirfd, name) of a denied program is decided on the resolved file', async () => {
  const { a, blocked, c } = await blockedAndControl((x) => [PROBE, 'execveat', join(x.l.work, 'no'), 'prog', x.marker]);
  assert.equal(probeResult(blocked.stdout).result, 'EPERM');
  assert.equal(existsSync(a.marker), false);
  assert.equal(existsSync(c.marker), true);
});

test('fexecve on an fd of a denied program is decided on the fd\'s file', async () => {
  const { a, blocked, c } = await blockedAndControl((x) => [PROBE, 'fexecve', x.bad, x.marker]);
  assert.equal(probeResult(blocked.stdout).result, 'EPERM');
  assert.equal(existsSync(a.marker), false);
  assert.equal(existsSync(c.marker), true);
});

test('memfd exec (anonymous image) is denied; the same probe runs it outside the sandbox', async () => {
  const a = execLayout();
  const blocked = await sandboxRun(policyYaml(a.l, { noBinDenied: false }), [PROBE, 'memfdexec', a.bad, a.marker], a.l.work);
  assert.equal(probeResult(blocked.stdout).result, 'EACCES');
  assert.match(blocked.stderr, /anonymous or deleted file/);
  assert.equal(existsSync(a.marker), false);
  // control: a built-in protection, so the control is the bare run
  const c = execLayout();
  bareRun([PROBE, 'memfdexec', c.bad, c.marker], c.l.work);
  assert.equal(existsSync(c.marker), true);
});

test('ld.so ./binary (the loader run directly) is denied; bare it runs the program', async () => {
  const loader = '/lib64/ld-linux-x86-64.so.2';
  assert.ok(existsSync(loader), `${loader} missing on this host`);
  const a = execLayout();
  const blocked = await sandboxRun(policyYaml(a.l), [loader, a.bad, a.marker], a.l.work);
  assert.notEqual(blocked.code, 0);
  assert.match(blocked.stderr, /dynamic loader/);
  assert.equal(existsSync(a.marker), false);
  const c = execLayout();
  bareRun([loader, c.bad, c.marker], c.l.work);
  assert.equal(existsSync(c.marker), true);
});
