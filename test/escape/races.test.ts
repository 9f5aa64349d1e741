// Races against the check: a thread rewriting the path while the supervisor decides (open and
// exec), and a symlink swapped in and out of the path with renameat2(RENAME_EXCHANGE). The
// controls differ by ONE rule and must show the race CAN be won when nothing stops it.
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { layout, MARK, policyYaml, probeResult, PROBE, requireSandbox, sandboxRun } from './helpers/sandbox.js';

before(requireSandbox);

/** work/okk/f ("fine") and secret/f ("SECRET"), paths of equal length via a work/ symlink. */
function openRaceLayout() {
  const l = layout();
  mkdirSync(join(l.work, 'okk'));
  writeFileSync(join(l.work, 'okk', 'f'), 'fine\n');
  writeFileSync(join(l.secret, 'f'), 'SECRET\n');
  return { l, good: `${l.work}/okk/f`, bad: `${l.secret}/f` };
}

// Reads are run with the read fast path off (every open trapped, so the supervisor's copy and
// the kernel's re-read can differ: the race this test is about) and on (Landlock decides).
test('path-rewriting thread race on open never yields the denied file (trapped opens)', async () => {
  const a = openRaceLayout();
  // equal lengths: "<base>/work/okk/f" vs "<base>/secret/f" differ; pad the secret side
  const bad = `${a.l.base}/secret/./f`;
  assert.equal(a.good.length, bad.length);
  const blocked = probeResult((await sandboxRun(policyYaml(a.l), [PROBE, 'openrace', a.good, bad, '3000'], a.l.work, { readFastPath: false })).stdout);
  assert.equal(blocked.result, 'done');
  assert.equal(blocked.secret_reads, '0');
  assert.ok(Number(blocked.ok_reads) > 0, 'anti-vacuity: some opens of the allowed file went through');
  assert.ok(Number(blocked.failed) > 0, 'anti-vacuity: the race hit the denied path at least once');
  const c = openRaceLayout();
  const cbad = `${c.l.base}/secret/./f`;
  const control = probeResult((await sandboxRun(policyYaml(c.l, { secretDenied: false }), [PROBE, 'openrace', c.good, cbad, '3000'], c.l.work, { readFastPath: false })).stdout);
  assert.ok(Number(control.secret_reads) > 0, `control must read the secret at least once: ${JSON.stringify(control)}`);
});

test('path-rewriting thread race on open, read fast path (Landlock decides): never the denied file', async () => {
  const a = openRaceLayout();
  const bad = `${a.l.base}/secret/./f`;
  const blocked = probeResult((await sandboxRun(policyYaml(a.l), [PROBE, 'openrace', a.good, bad, '3000'], a.l.work)).stdout);
  assert.equal(blocked.secret_reads, '0');
  assert.ok(Number(blocked.ok_reads) > 0);
  const c = openRaceLayout();
  const control = probeResult((await sandboxRun(policyYaml(c.l, { secretDenied: false }), [PROBE, 'openrace', c.good, `${c.l.base}/secret/./f`, '20000'], c.l.work)).stdout);
  assert.ok(Number(control.secret_reads) > 0, `control must read the secret at least once: ${JSON.stringify(control)}`);
});

function swapLayout() {
  const l = layout();
  const dir = join(l.work, 'race');
  mkdirSync(join(dir, 'd'), { recursive: true });
  writeFileSync(join(dir, 'd', 'f'), 'fine\n');
  writeFileSync(join(l.secret, 'f'), 'SECRET\n');
  symlinkSync(l.secret, join(dir, 'e'));
  return { l, dir };
}

for (const fast of [false, true]) test(`symlink swap race (renameat2 RENAME_EXCHANGE loop) never reaches the denied directory (${fast ? 'read fast path' : 'trapped opens'})`, async () => {
  const a = swapLayout();
  const blocked = probeResult((await sandboxRun(policyYaml(a.l), [PROBE, 'swaprace', a.dir, '3000'], a.l.work, { readFastPath: fast })).stdout);
  assert.equal(blocked.result, 'done');
  assert.equal(blocked.secret_reads, '0');
  assert.ok(Number(blocked.ok_reads) > 0, 'anti-vacuity: the real directory was read');
  assert.ok(Number(blocked.failed) > 0, 'anti-vacuity: some opens went through the swapped-in symlink');
  const c = swapLayout();
  const control = probeResult((await sandboxRun(policyYaml(c.l, { secretDenied: false }), [PROBE, 'swaprace', c.dir, '3000'], c.l.work, { readFastPath: fast })).stdout);
  assert.ok(Number(control.secret_reads) > 0, `control must read through the swapped symlink: ${JSON.stringify(control)}`);
});

function execLayout() {
  const l = layout();
  mkdirSync(join(l.work, 'ok'));
  mkdirSync(join(l.work, 'no'));
  copyFileSync('/bin/true', join(l.work, 'ok', 'prog'));
  copyFileSync(MARK, join(l.work, 'no', 'prog'));
  return { l, good: join(l.work, 'ok', 'prog'), bad: join(l.work, 'no', 'prog'), marker: join(l.work, 'RAN') };
}

test('path-rewriting thread race on exec never runs the denied image (verified at the exec stop)', async () => {
  const a = execLayout();
  const r = await sandboxRun(policyYaml(a.l), [PROBE, 'execrace', a.good, a.bad, a.marker, '200'], a.l.work);
  const blocked = probeResult(r.stdout);
  assert.equal(blocked.result, 'done', r.stderr);
  assert.equal(existsSync(a.marker), false, 'the denied program ran');
  assert.equal(blocked.bad_runs, '0');
  assert.ok(Number(blocked.good_runs) > 0, 'anti-vacuity: allowed execs went through');
  assert.ok(Number(blocked.denied) > 0, 'anti-vacuity: the check saw the denied path');
  // The attacker won the kernel's re-read at least once: only the exec-stop verification stopped it.
  assert.ok(Number(blocked.killed) > 0, `anti-vacuity: some swapped execs were caught at the exec stop: ${JSON.stringify(blocked)}`);
  assert.ok(r.events.some((e) => e.type === 'exec_killed'), 'the kill was reported');
  const c = execLayout();
  await sandboxRun(policyYaml(c.l, { noBinDenied: false }), [PROBE, 'execrace', c.good, c.bad, c.marker, '150'], c.l.work);
  assert.ok(existsSync(c.marker) && readFileSync(c.marker, 'utf8').includes('RAN'), 'control: the program runs when its rule allows it');
});
