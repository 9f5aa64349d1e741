// Path tricks into a denied directory. Each attack runs twice: under the protected policy and
// under the control policy that differs by ONE rule (the secret directory allowed); the
// control must show the effect (secret bytes read, file created) so the block is real.
import assert from 'node:assert/strict';
import { existsSync, linkSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { layout, policyYaml, probeResult, PROBE, requireSandbox, sandboxRun, STATIC_RAW } from './helpers/sandbox.js';

before(requireSandbox);

// Read attacks run in both modes: the read fast path (Landlock decides plain read-only opens)
// and every open trapped (the supervisor decides).
let FAST = true;
async function both(argv: (l: ReturnType<typeof layout>) => string[], prep?: (l: ReturnType<typeof layout>) => void) {
  // Separate trees: the control run must not see (or undo) the blocked run's world.
  const l = layout();
  const lc = layout();
  prep?.(l);
  prep?.(lc);
  const blocked = await sandboxRun(policyYaml(l), argv(l), l.work, { readFastPath: FAST });
  const control = await sandboxRun(policyYaml(lc, { secretDenied: false }), argv(lc), lc.work, { readFastPath: FAST });
  return { l, lc, blocked, control };
}

for (const fast of [true, false]) {
  const mode = fast ? 'read fast path' : 'trapped opens';
  test(`dot-dot traversal from the project into a denied directory reads nothing (${mode})`, async () => {
    FAST = fast;
    const { blocked, control } = await both((l) => ['/bin/cat', `${l.work}/../secret/file`]);
    assert.doesNotMatch(blocked.stdout, /SECRET/);
    assert.match(blocked.stderr, /Permission denied/);
    assert.match(control.stdout, /SECRET data/);
  });

  test(`symlink in the project pointing into a denied directory: the read is decided on the target (${mode})`, async () => {
    FAST = fast;
    const { blocked, control } = await both((l) => ['/bin/cat', `${l.work}/link`], (l) => symlinkSync(l.secretFile, join(l.work, 'link')));
    assert.doesNotMatch(blocked.stdout, /SECRET/);
    assert.match(control.stdout, /SECRET data/);
  });

  test(`creating a hardlink to a denied file is refused (no new name appears) (${mode})`, async () => {
    FAST = fast;
    const { l, blocked } = await both((x) => ['/bin/ln', x.secretFile, `${x.work}/hl`]);
    assert.notEqual(blocked.code, 0);
    assert.equal(existsSync(join(l.work, 'hl')), false);
    // control: same command, secret allowed, link appears and reads the secret
    const l2 = layout();
    const control = await sandboxRun(policyYaml(l2, { secretDenied: false }), ['/bin/sh', '-c', `ln ${l2.secretFile} ${l2.work}/hl && cat ${l2.work}/hl`], l2.work);
    assert.match(control.stdout, /SECRET data/);
  });

  test(`/proc/self/root re-open of a denied path is decided on the real path (${mode})`, async () => {
    FAST = fast;
    const { blocked, control } = await both((l) => ['/bin/cat', `/proc/self/root${l.secretFile}`]);
    assert.doesNotMatch(blocked.stdout, /SECRET/);
    assert.match(control.stdout, /SECRET data/);
  });

  test(`a static binary with raw syscalls (no libc, no loader) is held to the same rules (${mode})`, async () => {
    FAST = fast;
    const { blocked, control } = await both((l) => [STATIC_RAW, l.secretFile]);
    assert.equal(probeResult(blocked.stdout).result, '-13');
    assert.doesNotMatch(blocked.stdout, /SECRET/);
    assert.match(control.stdout, /data=SECRET data/);
  });

}

test('/proc/self/fd re-open cannot upgrade a read-only open to a write', async () => {
  const l = layout();
  const ro = join(l.work, 'ro.txt');
  writeFileSync(ro, 'ORIGINAL\n');
  const readOnly = `  - name: ro-file-no-write
    paths: ["${ro}"]
    operations: [write, create, delete, rename]
    decision: deny
`;
  const blocked = await sandboxRun(policyYaml(l, { extraFileRules: readOnly }), [PROBE, 'procfd_write', ro], l.work);
  assert.equal(probeResult(blocked.stdout).result, 'EACCES');
  assert.equal(readFileSync(ro, 'utf8'), 'ORIGINAL\n');
  const control = await sandboxRun(policyYaml(l), [PROBE, 'procfd_write', ro], l.work);
  assert.equal(probeResult(control.stdout).result, 'ok');
  assert.equal(readFileSync(ro, 'utf8'), 'PWNED\n');
});

test('writes into a denied directory through a symlinked parent leave it unchanged', async () => {
  const { l, blocked } = await both((x) => ['/bin/sh', '-c', `echo EVIL > ${x.work}/dirlink/new.txt; echo EVIL > ${x.work}/dirlink/file`], (x) => symlinkSync(x.secret, join(x.work, 'dirlink')));
  assert.equal(existsSync(join(l.secret, 'new.txt')), false);
  assert.equal(readFileSync(l.secretFile, 'utf8'), 'SECRET data\n');
  assert.match(blocked.stderr, /Permission denied/);
  const l2 = layout();
  symlinkSync(l2.secret, join(l2.work, 'dirlink'));
  await sandboxRun(policyYaml(l2, { secretDenied: false }), ['/bin/sh', '-c', `echo EVIL > ${l2.work}/dirlink/new.txt`], l2.work);
  assert.equal(readFileSync(join(l2.secret, 'new.txt'), 'utf8'), 'EVIL\n');
});

test('rename and unlink of a denied file are refused; the file stays', async () => {
  const { l, blocked } = await both((x) => ['/bin/sh', '-c', `mv ${x.secretFile} ${x.work}/stolen; rm -f ${x.secretFile}`]);
  assert.equal(readFileSync(l.secretFile, 'utf8'), 'SECRET data\n');
  assert.equal(existsSync(join(l.work, 'stolen')), false);
  assert.match(blocked.stderr, /denied/i);
  const l2 = layout();
  await sandboxRun(policyYaml(l2, { secretDenied: false }), ['/bin/mv', l2.secretFile, `${l2.work}/stolen`], l2.work);
  assert.equal(existsSync(join(l2.work, 'stolen')), true);
});

void mkdirSync; void linkSync;

test('no setuid/setgid files: chmod, fchmod and create modes lose the bits (a root setuid binary would outlive the session)', async () => {
  const l = layout();
  const f = join(l.work, 'prog');
  writeFileSync(f, '#!/bin/sh\n');
  const py = `import os\ntry:\n  os.chmod(${JSON.stringify(f)}, 0o4755); print("chmod=ok")\nexcept OSError as e: print("chmod=%d" % e.errno)\nfd = os.open(${JSON.stringify(f)}, os.O_RDONLY)\ntry:\n  os.fchmod(fd, 0o6755); print("fchmod=ok")\nexcept OSError as e: print("fchmod=%d" % e.errno)\nfd2 = os.open(${JSON.stringify(f + '2')}, os.O_CREAT | os.O_WRONLY, 0o4755)\nprint("created")`;
  const r = await sandboxRun(policyYaml(l), ['/usr/bin/python3', '-c', py], l.work);
  assert.match(r.stdout, /chmod=1\n/);
  assert.match(r.stdout, /fchmod=1\n/);
  assert.match(r.stdout, /created/);
  const { statSync } = await import('node:fs');
  assert.equal(statSync(f).mode & 0o6000, 0);
  assert.equal(statSync(f + '2').mode & 0o6000, 0);
  // control (built-in protection): the same script bare sets the bits
  const { bareRun } = await import('./helpers/sandbox.js');
  const c = layout();
  const cf = join(c.work, 'prog');
  writeFileSync(cf, '#!/bin/sh\n');
  bareRun(['/usr/bin/python3', '-c', py.split(f).join(cf)], c.work);
  assert.equal(statSync(cf).mode & 0o4000, 0o4000);
});
