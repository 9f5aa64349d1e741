// The supervisor's directory fast path (native/src/notify.c): under the read fast path, a
// directory open (O_DIRECTORY) is still trapped, and when its object lies inside a Landlock
// READ_DIR grant the kernel carries it out itself (CONTINUE) instead of the supervisor opening it
// and injecting the fd. It must never change a decision: a denied directory next to a granted one
// stays denied before and after the granted one was opened, a listable directory that no grant
// covers (its subtree holds a denied path) is still listed, and with the read fast path off
// nothing is left to the kernel. The probe lists what it opened (the effect in the world) and
// tells who opened it: kernel=1 when the kernel did (O_NOFOLLOW kept), kernel=0 when the
// supervisor did (its re-open drops O_NOFOLLOW).
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { layout, policyYaml, PROBES, requireSandbox, sandboxRun, type Layout } from '../escape/helpers/sandbox.js';

const DIRPROBE = join(PROBES, 'dirprobe');
before(requireSandbox);

interface Listing { path: string; err: number; kernel: string; names: string[] }
function listings(stdout: string): Listing[] {
  return stdout.split('\n').filter((l) => l.startsWith('ls ')).map((l) => {
    const f = Object.fromEntries(l.slice(3).split(' ').map((kv) => { const i = kv.indexOf('='); return [kv.slice(0, i), kv.slice(i + 1)]; }));
    return { path: f.path!, err: Number(f.err), kernel: f.kernel!, names: f.names ? f.names.split(',').sort() : [] };
  });
}

/** work/pub (pubfile), work/hidden (HIDDENNAME), secret/ (file, SECRETNAME). */
function tree(): Layout {
  const l = layout();
  mkdirSync(join(l.work, 'pub'));
  writeFileSync(join(l.work, 'pub', 'pubfile'), 'x');
  mkdirSync(join(l.work, 'hidden'));
  writeFileSync(join(l.work, 'hidden', 'HIDDENNAME'), 'x');
  writeFileSync(join(l.secret, 'SECRETNAME'), 'x');
  return l;
}
/** The one rule the control drops: work/hidden may not be listed or read. */
const hiddenRule = (l: Layout) => `  - name: hidden
    paths: ["${l.work}/hidden", "${l.work}/hidden/**"]
    operations: [list, read]
    decision: deny
`;
const SEQ = (l: Layout) => [DIRPROBE, 'ls', 'pub', 'hidden', '.', 'pub', 'hidden', l.secret, 'pub', 'hidden'];

test('directory fast path: a granted directory goes to the kernel, a denied neighbour stays denied before and after it, the ungranted parent is still listed; control lists the neighbour', async () => {
  const l = tree();
  const r = await sandboxRun(policyYaml(l, { extraFileRules: hiddenRule(l) }), SEQ(l), l.work);
  assert.equal(r.code, 0, r.stderr);
  const out = listings(r.stdout);
  assert.deepEqual(out.map((o) => [o.path, o.err, o.kernel, o.names.join(',')]), [
    ['pub', 0, '1', 'pubfile'],
    ['hidden', 13, '-', ''],
    // work/ itself may be listed but holds a denied path: no grant covers it, the supervisor opens it.
    ['.', 0, '0', 'hidden,pub'],
    ['pub', 0, '1', 'pubfile'],
    ['hidden', 13, '-', ''],
    [l.secret, 13, '-', ''],
    ['pub', 0, '1', 'pubfile'],
    ['hidden', 13, '-', ''],
  ]);
  // Native denials are recorded one by one.
  const denied = r.events.filter((e) => e.type === 'decision' && e.decision === 'deny' && e.operation === 'list');
  assert.ok(denied.some((e) => e.subject === join(l.work, 'hidden') && e.rule === 'hidden'), JSON.stringify(denied));
  assert.ok(denied.some((e) => e.subject === l.secret && e.rule === 'secret'), JSON.stringify(denied));

  const c = tree();
  const ctl = await sandboxRun(policyYaml(c), SEQ(c), c.work);
  assert.equal(ctl.code, 0, ctl.stderr);
  const co = listings(ctl.stdout);
  assert.deepEqual(co[1], { path: 'hidden', err: 0, kernel: '1', names: ['HIDDENNAME'] }, 'control: without the rule the neighbour is listed (by the kernel: now inside the grant)');
  assert.deepEqual(co[2], { path: '.', err: 0, kernel: '1', names: ['hidden', 'pub'] });
  assert.equal(co[5]!.err, 13, 'control still denies the secret directory');
});

test('with the read fast path off, every directory open is decided and carried out by the supervisor: same decisions, none left to the kernel', async () => {
  const l = tree();
  const r = await sandboxRun(policyYaml(l, { extraFileRules: hiddenRule(l) }), SEQ(l), l.work, { readFastPath: false });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(listings(r.stdout).map((o) => [o.path, o.err, o.kernel, o.names.join(',')]), [
    ['pub', 0, '0', 'pubfile'],
    ['hidden', 13, '-', ''],
    ['.', 0, '0', 'hidden,pub'],
    ['pub', 0, '0', 'pubfile'],
    ['hidden', 13, '-', ''],
    [l.secret, 13, '-', ''],
    ['pub', 0, '0', 'pubfile'],
    ['hidden', 13, '-', ''],
  ]);
});

test('directory fast path: relative, dirfd-relative and dot-dot paths resolve to the same decisions', async () => {
  const l = tree();
  mkdirSync(join(l.work, 'pub', 'deep'));
  const argv = [DIRPROBE, 'ls', 'deep/..', `${l.work}/pub/deep/../../hidden`, '../pub', '../../secret', `${l.work}/./pub`, 'nonexistent'];
  const r = await sandboxRun(policyYaml(l, { extraFileRules: hiddenRule(l) }), argv, join(l.work, 'pub'));
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(listings(r.stdout).map((o) => [o.err, o.names.join(',')]), [
    [0, 'deep,pubfile'],
    [13, ''],
    [0, 'deep,pubfile'],
    [13, ''],
    [0, 'deep,pubfile'],
    [2, ''],
  ]);
  // openat(dirfd, ...) as grep -r and find walk trees: the same decisions.
  const at = await sandboxRun(policyYaml(l, { extraFileRules: hiddenRule(l) }), [DIRPROBE, 'lsat', l.work, 'pub', 'hidden', 'pub/deep', '../secret', '.'], l.base);
  assert.equal(at.code, 0, at.stderr);
  assert.deepEqual(listings(at.stdout).map((o) => [o.path, o.err, o.kernel, o.names.join(',')]), [
    ['pub', 0, '1', 'deep,pubfile'],
    ['hidden', 13, '-', ''],
    ['pub/deep', 0, '1', ''],
    ['../secret', 13, '-', ''],
    ['.', 0, '0', 'hidden,pub'],
  ]);
});
