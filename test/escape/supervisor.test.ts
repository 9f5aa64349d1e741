// The supervisor is out of reach (invariant 3) and its death ends the sandbox (invariant 4).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { before, test } from 'node:test';
import { layout, policyYaml, probeResult, PROBE, requireSandbox, sandboxRun } from './helpers/sandbox.js';

before(requireSandbox);

test('the sandbox cannot see the supervisor or Node in its /proc (PID namespace)', async () => {
  const l = layout();
  const r = probeResult((await sandboxRun(policyYaml(l), [PROBE, 'findsup'], l.work)).stdout);
  assert.equal(r.supervisor_or_node, '0');
  assert.ok(Number(r.processes) >= 2, 'anti-vacuity: /proc listed the sandbox\'s own processes');
  assert.equal(r.pid, '2', 'the command is PID 2 under the sandbox init');
});

test('kill -9 -1 inside the sandbox kills only the sandbox; the supervisor survives to report', async () => {
  const l = layout();
  let sup = 0;
  const r = await sandboxRun(policyYaml(l), [PROBE, 'kill_all'], l.work, { onSupervisorPid: (p) => { sup = p; } });
  assert.ok(sup > 0);
  // kill(-1) spares the caller and the namespace's init: the command reports and exits 0.
  assert.equal(r.code, 0);
  assert.match(r.stdout, /result=survived/);
  assert.ok(r.events.some((e) => e.type === 'exit'), 'the supervisor reported the exit');
});

test('only stdin, stdout and stderr are inherited: no control socket, no notify fd, no cgroup fds', async () => {
  const l = layout();
  const r = probeResult((await sandboxRun(policyYaml(l), [PROBE, 'fdlist'], l.work)).stdout);
  assert.equal(r.fds, '0,1,2,');
  // control: the same probe started by a parent that leaks an fd does list it
  const c = await new Promise<string>((res) => {
    const ch = spawn(PROBE, ['fdlist'], { stdio: ['ignore', 'pipe', 'inherit', 'pipe'] });
    let out = '';
    ch.stdout!.on('data', (b: Buffer) => { out += b.toString(); });
    ch.on('close', () => res(out));
  });
  assert.match(probeResult(c).fds!, /3,/);
});

function alive(marker: string): number[] {
  const pids: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try { if (readFileSync(`/proc/${d}/cmdline`, 'latin1').includes(marker)) pids.push(Number(d)); } catch { /* gone */ }
  }
  return pids;
}

test('killing the supervisor kills the whole sandbox (no enforcement-free survivors)', async () => {
  const l = layout();
  const marker = `cordon-survivor-${process.pid}-${Date.now()}`;
  let sup = 0;
  const run = sandboxRun(policyYaml(l), ['/bin/sh', '-c', `(sleep 30; echo ${marker}) & sleep 30 # ${marker}`], l.work, { onSupervisorPid: (p) => { sup = p; } }).catch((e: Error) => e);
  const t0 = Date.now();
  while (alive(marker).length < 2 && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 20));
  assert.ok(alive(marker).length >= 1, 'anti-vacuity: the sandboxed processes were running');
  process.kill(sup, 'SIGKILL');
  const res = await run;
  assert.ok(res instanceof Error && /supervisor ended unexpectedly/.test(res.message), `cordon run reports the supervisor's death: ${String(res)}`);
  const t1 = Date.now();
  while (alive(marker).length && Date.now() - t1 < 3000) await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(alive(marker), [], 'sandboxed processes outlived the supervisor');
});

test('the network namespace: a listener on the host loopback gets no connection from the sandbox', async () => {
  const { createServer } = await import('node:net');
  let conns = 0;
  const srv = createServer((s) => { conns++; s.destroy(); });
  await new Promise<void>((res) => srv.listen(0, '127.0.0.1', res));
  const port = (srv.address() as { port: number }).port;
  const client = ['/usr/bin/python3', '-c', `import socket\ntry:\n  socket.create_connection(("127.0.0.1", ${port}), timeout=2); print("result=connected")\nexcept OSError as e:\n  print("result=failed", e.errno)`];
  try {
    const l = layout();
    const inside = await sandboxRun(policyYaml(l), client, l.work);
    assert.match(inside.stdout, /result=failed/);
    assert.equal(conns, 0);
    const { bareRun } = await import('./helpers/sandbox.js');
    assert.match(bareRun(client, l.work).stdout, /result=connected/);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(conns, 1, 'control: the bare client reached the listener');
  } finally {
    srv.close();
  }
});

test('the supervisor is no confused deputy: another process\'s /proc/PID/environ stays unreadable', async () => {
  // The sibling makes itself non-dumpable; the supervisor (which keeps CAP_SYS_PTRACE to read
  // target memory) must not open its ptrace-gated /proc files on the caller's behalf.
  const l = layout();
  const { bareRun } = await import('./helpers/sandbox.js');
  const inside = await sandboxRun(policyYaml(l), [PROBE, 'environ_peek', '0'], l.work);
  assert.equal(probeResult(inside.stdout).result, 'EACCES', inside.stdout + inside.stderr);
  const bare = probeResult(bareRun([PROBE, 'environ_peek', '0'], l.work).stdout);
  assert.equal(bare.leaked, 'yes', 'control: bare root reads the secret');
});

test('Cordon\'s own process dying (kill -9 of `cordon run`) ends the sandbox: nothing runs unrecorded', async () => {
  const { writeFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { ROOT } = await import('./helpers/sandbox.js');
  const l = layout();
  const policy = join(l.work, 'policy.yaml');
  writeFileSync(policy, policyYaml(l));
  const start = (marker: string) => spawn(process.execPath, [join(ROOT, 'bin', 'cordon.js'), 'run', '--policy', policy, '--', '/bin/sh', '-c', `(sleep 30; echo ${marker}) & sleep 30 # ${marker}`], { cwd: l.work, stdio: 'ignore' });
  const waitAlive = async (marker: string) => {
    const t0 = Date.now();
    while (alive(marker).length < 2 && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 20));
    assert.ok(alive(marker).length >= 2, 'anti-vacuity: the sandboxed processes were running');
  };
  const settle = async (marker: string) => {
    const t1 = Date.now();
    while (alive(marker).length && Date.now() - t1 < 3000) await new Promise((r) => setTimeout(r, 20));
  };
  // Control: the same run, Cordon left alive, still has its processes after the same wait.
  const keep = `cordon-cli-kept-${process.pid}-${Date.now()}`;
  const kept = start(keep);
  try {
    await waitAlive(keep);
    await settle(keep);
    assert.ok(alive(keep).length >= 2, 'control: with Cordon alive the sandbox keeps running');
  } finally {
    kept.kill('SIGKILL');
  }
  const marker = `cordon-cli-killed-${process.pid}-${Date.now()}`;
  const cli = start(marker);
  await waitAlive(marker);
  cli.kill('SIGKILL');
  await settle(marker);
  assert.deepEqual(alive(marker), [], 'sandboxed processes outlived Cordon\'s own process');
  await settle(keep);
});
