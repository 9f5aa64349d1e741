// The static filter's side doors (DESIGN invariant 2). These are built-in protections, not
// policy rules, so each control is the same probe run bare: it must NOT get the marker errno
// the filter returns (EPERM, or ENOSYS for clone3, EAFNOSUPPORT for AF_VSOCK).
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { bareRun, layout, policyYaml, probeResult, PROBE, requireSandbox, sandboxRun } from './helpers/sandbox.js';

before(requireSandbox);

const CASES: Array<{ probe: string; name: string; marker: string }> = [
  { probe: 'iouring', name: 'io_uring_setup', marker: 'EPERM' },
  { probe: 'clone3', name: 'clone3 (libc falls back to clone, whose flags the filter can see)', marker: 'ENOSYS' },
  { probe: 'userns', name: 'unshare(CLONE_NEWUSER)', marker: 'EPERM' },
  { probe: 'clone_newuser', name: 'clone(CLONE_NEWUSER)', marker: 'EPERM' },
  { probe: 'x32', name: 'x32 syscall numbers', marker: 'EPERM' },
  { probe: 'vsock', name: 'AF_VSOCK sockets', marker: 'EAFNOSUPPORT' },
  { probe: 'ptrace_sibling', name: 'ptrace of a sibling process', marker: 'EPERM' },
  { probe: 'process_vm', name: 'process_vm_readv', marker: 'EPERM' },
  { probe: 'tiocsti', name: 'TIOCSTI terminal input injection', marker: 'EPERM' },
];

for (const c of CASES) {
  test(`${c.name} is refused inside the sandbox (${c.marker}); bare it is not`, async () => {
    const l = layout();
    const inside = await sandboxRun(policyYaml(l), [PROBE, c.probe], l.work);
    assert.equal(probeResult(inside.stdout).result, c.marker, inside.stdout + inside.stderr);
    const bare = bareRun([PROBE, c.probe], l.work);
    assert.notEqual(probeResult(bare.stdout).result, c.marker, `control: bare ${c.probe} must not show the filter's marker (${bare.stdout})`);
    assert.ok(probeResult(bare.stdout).result, 'control produced a result line');
  });
}

test('the i386 entry point (int 0x80, a foreign syscall table) kills the process; bare it runs', async () => {
  const l = layout();
  const inside = probeResult((await sandboxRun(policyYaml(l), [PROBE, 'int80'], l.work)).stdout);
  assert.equal(inside.result, 'killed');
  assert.equal(inside.sig, '31', 'SIGSYS from SECCOMP_RET_KILL_PROCESS');
  const bare = probeResult(bareRun([PROBE, 'int80'], l.work).stdout);
  assert.equal(bare.result, 'ok', `control: this kernel runs i386 syscalls bare (${JSON.stringify(bare)})`);
});

test('ptrace of the sandbox\'s PID 1 (the only ancestor visible) is refused', async () => {
  const l = layout();
  const inside = await sandboxRun(policyYaml(l), [PROBE, 'ptrace_pid1'], l.work);
  assert.equal(probeResult(inside.stdout).result, 'EPERM');
});
