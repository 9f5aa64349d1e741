// Races against the directory fast path (native/src/notify.c): the supervisor predicts from its
// own copy of the path that a directory open lies inside a Landlock READ_DIR grant and lets the
// kernel carry it out (CONTINUE), so the kernel re-reads the path. A thread rewriting the path
// buffer, or a symlink swapped into the path with renameat2(RENAME_EXCHANGE), must still never
// get a listing of the denied directory: Landlock decides the object the kernel finds. Controls
// differ by ONE rule (the secret directory allowed) and show the race is won when nothing stops it.
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { layout, policyYaml, probeResult, PROBES, requireSandbox, sandboxRun } from './helpers/sandbox.js';

const DIRPROBE = join(PROBES, 'dirprobe');
before(requireSandbox);

/** work/okk (fine) and secret/ (SECRETNAME); "<base>/work/okk" and "<base>/secret/." have equal length. */
function raceLayout() {
  const l = layout();
  mkdirSync(join(l.work, 'okk'));
  writeFileSync(join(l.work, 'okk', 'fine'), 'x');
  writeFileSync(join(l.secret, 'SECRETNAME'), 'x');
  return { l, good: join(l.work, 'okk'), bad: `${l.secret}/.` };
}

test('path-rewriting thread race on a directory open (fast path left to the kernel) never lists the denied directory', async () => {
  const a = raceLayout();
  assert.equal(a.good.length, a.bad.length);
  const blocked = probeResult((await sandboxRun(policyYaml(a.l), [DIRPROBE, 'dirrace', a.good, a.bad, '3000', 'SECRETNAME'], a.l.work)).stdout);
  assert.equal(blocked.result, 'done');
  assert.equal(blocked.secret_lists, '0');
  assert.ok(Number(blocked.ok_lists) > 0, `anti-vacuity: the allowed directory was listed: ${JSON.stringify(blocked)}`);
  assert.ok(Number(blocked.kernel) > 0, `anti-vacuity: some opens were left to the kernel (the fast path): ${JSON.stringify(blocked)}`);
  assert.ok(Number(blocked.failed) > 0, `anti-vacuity: the race hit the denied directory: ${JSON.stringify(blocked)}`);
  const c = raceLayout();
  const control = probeResult((await sandboxRun(policyYaml(c.l, { secretDenied: false }), [DIRPROBE, 'dirrace', c.good, c.bad, '3000', 'SECRETNAME'], c.l.work)).stdout);
  assert.ok(Number(control.secret_lists) > 0, `control must list the secret directory at least once: ${JSON.stringify(control)}`);
});

function swapLayout() {
  const l = layout();
  const dir = join(l.work, 'race');
  mkdirSync(join(dir, 'd'), { recursive: true });
  writeFileSync(join(dir, 'd', 'fine'), 'x');
  writeFileSync(join(l.secret, 'SECRETNAME'), 'x');
  symlinkSync(l.secret, join(dir, 'e'));
  return { l, dir };
}

test('symlink swap race (renameat2 RENAME_EXCHANGE loop) on a directory open never lists the denied directory', async () => {
  const a = swapLayout();
  const blocked = probeResult((await sandboxRun(policyYaml(a.l), [DIRPROBE, 'dirswap', a.dir, '3000', 'SECRETNAME'], a.l.work)).stdout);
  assert.equal(blocked.result, 'done');
  assert.equal(blocked.secret_lists, '0');
  assert.ok(Number(blocked.ok_lists) > 0, `anti-vacuity: the real directory was listed: ${JSON.stringify(blocked)}`);
  assert.ok(Number(blocked.kernel) > 0, `anti-vacuity: some opens were left to the kernel: ${JSON.stringify(blocked)}`);
  assert.ok(Number(blocked.failed) > 0, `anti-vacuity: some opens went through the swapped-in symlink: ${JSON.stringify(blocked)}`);
  const c = swapLayout();
  const control = probeResult((await sandboxRun(policyYaml(c.l, { secretDenied: false }), [DIRPROBE, 'dirswap', c.dir, '3000', 'SECRETNAME'], c.l.work)).stdout);
  assert.ok(Number(control.secret_lists) > 0, `control must list through the swapped symlink: ${JSON.stringify(control)}`);
});
