// resource_limits enforced by the kernel through the session cgroup. Each limit is shown by
// an effect (forks refused, an OOM kill, CPU time withheld, processes gone) next to a control
// run that differs only by the limit and does get further.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createSessionCgroup, CgroupError, resolveLayout } from '../../src/sandbox/support.js';
import type { ResourceLimitsInput, SessionCgroup } from '../../src/sandbox/support.js';
import { PYTHON, isDead, requirePython, requireRoot, runGated, uniqueSession } from './helpers/cgroup-run.js';

requireRoot();
requirePython();

async function withSession<T>(tag: string, limits: ResourceLimitsInput, fn: (cg: SessionCgroup) => Promise<T>): Promise<T> {
  const cg = createSessionCgroup({ session: uniqueSession(tag), limits });
  try {
    return await fn(cg);
  } finally {
    await cg.destroy();
  }
}

// Forks up to 200 children (each sleeps), reports how many forks succeeded and failed.
const FORK_LOOP = `
import os, time
ok = fail = 0
for i in range(200):
    try:
        pid = os.fork()
    except OSError:
        fail += 1
        continue
    if pid == 0:
        nul = os.open('/dev/null', os.O_RDWR)
        for fd in (0, 1, 2): os.dup2(nul, fd)
        time.sleep(60)
        os._exit(0)
    ok += 1
print(ok, fail, flush=True)
`;

test('fork bomb under pids_max is contained; the same loop without the limit forks all 200', async () => {
  const limited = await withSession('forkbomb', { pids_max: 20 }, async (cg) => {
    const r = await runGated(cg, [PYTHON, '-c', FORK_LOOP]);
    const stats = cg.stats();
    assert.equal(cg.pids().length, 19, 'the loop itself plus 19 sleeping children fill the 20 pids');
    return { r, stats };
  });
  const control = await withSession('forkbomb-control', {}, async (cg) => {
    const r = await runGated(cg, [PYTHON, '-c', FORK_LOOP]);
    return { r, pids: cg.pids().length };
  });
  const [okL, failL] = limited.r.stdout.trim().split(' ').map(Number);
  const [okC, failC] = control.r.stdout.trim().split(' ').map(Number);
  assert.equal(okL, 19, `limited: ${limited.r.stdout} ${limited.r.stderr}`);
  assert.equal(failL, 181);
  assert.ok(limited.stats.pidsLimitHits >= 181, `pids.events max = ${limited.stats.pidsLimitHits}`);
  assert.equal(okC, 200, `control: ${control.r.stdout} ${control.r.stderr}`);
  assert.equal(failC, 0);
  assert.equal(control.pids, 200, 'the control children were still alive until teardown');
});

// Allocates and touches 1 MiB at a time up to 200 MiB, recording progress in a file.
const MEMORY_HOG = `
import sys
chunks = []
with open(sys.argv[1], 'w') as f:
    for i in range(200):
        chunks.append(bytearray(b'\\x01') * (1 << 20))
        f.write(f"{i + 1}\\n"); f.flush()
print("done", flush=True)
`;

test('memory hog under max_memory_mb is OOM-killed; without the limit it allocates all 200 MiB', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cordon-mem-'));
  try {
    const progress = (f: string) => Number(readFileSync(f, 'utf8').trim().split('\n').pop() ?? 0);
    const limited = await withSession('memhog', { max_memory_mb: 64, memory_swap_max_mb: 0 }, async (cg) => {
      const r = await runGated(cg, [PYTHON, '-c', MEMORY_HOG, join(dir, 'limited')]);
      return { r, stats: cg.stats() };
    });
    const control = await withSession('memhog-control', {}, (cg) => runGated(cg, [PYTHON, '-c', MEMORY_HOG, join(dir, 'control')]));
    assert.equal(limited.r.signal, 'SIGKILL', `limited run ended with ${limited.r.code}/${limited.r.signal}: ${limited.r.stderr}`);
    assert.ok(limited.stats.oomKills >= 1, `oom_kill = ${limited.stats.oomKills}`);
    assert.ok(progress(join(dir, 'limited')) < 64, `limited run got to ${progress(join(dir, 'limited'))} MiB`);
    assert.equal(control.code, 0, control.stderr);
    assert.equal(progress(join(dir, 'control')), 200);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('cpu_quota_percent withholds CPU time: 5% of a core vs an unlimited busy loop', async () => {
  // Busy-loops for 1 s of wall time and prints the CPU seconds it got. The limited run can get at
  // most ~0.05 s whatever the load; the control gets far more unless the machine is more than
  // ~10x oversubscribed. The kernel's throttle counter shows the quota acting.
  const BUSY = 'import time\nt=time.monotonic()\nwhile time.monotonic()-t<1.0: pass\nprint(time.process_time())';
  const [limited, control] = await Promise.all([
    withSession('cpu', { cpu_quota_percent: 5 }, async (cg) => ({ r: await runGated(cg, [PYTHON, '-c', BUSY]), stats: cg.stats() })),
    withSession('cpu-control', {}, async (cg) => ({ r: await runGated(cg, [PYTHON, '-c', BUSY]), stats: cg.stats() })),
  ]);
  const cpuL = Number(limited.r.stdout.trim());
  const cpuC = Number(control.r.stdout.trim());
  assert.ok(cpuL > 0 && cpuL < 0.08, `limited got ${cpuL} s of CPU in 1 s (${limited.r.stderr})`);
  assert.ok(limited.stats.cpuThrottled > 0, 'the quota never throttled the busy loop');
  assert.ok(cpuC > 0.1, `control got only ${cpuC} s of CPU in 1 s: it should exceed the quota`);
  assert.equal(control.stats.cpuThrottled, 0);
});

// Writes its pid, starts a child that starts a detached grandchild (new session, so it escapes
// the process group), all sleeping; each records its pid.
function treeScript(dir: string): string {
  return `echo $$ > ${dir}/p0; sh -c 'echo $$ > ${dir}/p1; setsid sh -c "echo \\$\\$ > ${dir}/p2; exec sleep 60" & exec sleep 60' & exec sleep 60`;
}

async function waitFiles(files: string[], ms = 3000): Promise<number[]> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (files.every((f) => existsSync(f) && readFileSync(f, 'utf8').trim() !== '')) return files.map((f) => Number(readFileSync(f, 'utf8').trim()));
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`pid files not written: ${files.filter((f) => !existsSync(f)).join(', ')}`);
}

test('command_timeout kills the whole tree, grandchildren included; without it they live until teardown', async () => {
  const dirL = mkdtempSync(join(tmpdir(), 'cordon-tree-'));
  const dirC = mkdtempSync(join(tmpdir(), 'cordon-tree-c-'));
  try {
    const files = (d: string) => ['p0', 'p1', 'p2'].map((n) => join(d, n));
    const limited = await withSession('timeout', { command_timeout: 600 }, async (cg) => {
      let reason: string | undefined;
      cg.onKill((r) => (reason = r));
      const run = runGated(cg, ['/bin/sh', '-c', treeScript(dirL)]);
      cg.startTimers();
      const pids = await waitFiles(files(dirL));
      const r = await run;
      assert.ok(await cg.waitEmpty(3000), 'tree still populated after the timeout');
      return { r, pids, reason, killReason: cg.killReason };
    });
    assert.equal(limited.reason, 'command_timeout');
    assert.equal(limited.r.signal, 'SIGKILL');
    assert.ok(limited.r.ms >= 550 && limited.r.ms < 3000, `killed after ${limited.r.ms} ms`);
    for (const pid of limited.pids) assert.ok(isDead(pid), `pid ${pid} survived the timeout`);

    // Control: no timeout; after the same wait every process is still alive; teardown then kills them.
    let controlPids: number[] = [];
    await withSession('timeout-control', {}, async (cg) => {
      void runGated(cg, ['/bin/sh', '-c', treeScript(dirC)]);
      cg.startTimers();
      controlPids = await waitFiles(files(dirC));
      await new Promise((r) => setTimeout(r, 800));
      for (const pid of controlPids) assert.ok(!isDead(pid), `control pid ${pid} died without a timeout`);
      assert.equal(cg.killReason, undefined);
    });
    for (const pid of controlPids) assert.ok(isDead(pid), `teardown left pid ${pid} running`);
  } finally {
    rmSync(dirL, { recursive: true, force: true });
    rmSync(dirC, { recursive: true, force: true });
  }
});

test('idle_timeout kills a session that uses no CPU, and leaves a busy one running', async () => {
  const BUSY = 'import time\nt=time.monotonic()\nwhile time.monotonic()-t<1.2: pass\nprint("finished")';
  const [idle, busy] = await Promise.all([
    withSession('idle', { idle_timeout: 400 }, async (cg) => {
      const run = runGated(cg, ['/bin/sleep', '30']);
      cg.startTimers();
      return { r: await run, reason: cg.killReason };
    }),
    withSession('idle-control', { idle_timeout: 400 }, async (cg) => {
      const run = runGated(cg, [PYTHON, '-c', BUSY]);
      cg.startTimers();
      return { r: await run, reason: cg.killReason };
    }),
  ]);
  assert.equal(idle.reason, 'idle_timeout');
  assert.equal(idle.r.signal, 'SIGKILL');
  assert.ok(idle.r.ms < 2500, `idle session killed after ${idle.r.ms} ms`);
  assert.equal(busy.reason, undefined);
  assert.equal(busy.r.code, 0);
  assert.equal(busy.r.stdout.trim(), 'finished');
});

test('teardown removes the session cgroups and the empty shared parents', async () => {
  const session = uniqueSession('cleanup');
  const cg = createSessionCgroup({ session, limits: { pids_max: 50, max_memory_mb: 100 } });
  const dirs = cg.procsFiles.map((f) => f.slice(0, -'/cgroup.procs'.length));
  for (const d of dirs) assert.ok(existsSync(d), d);
  assert.deepEqual(cg.applied.map((a) => a.limit).sort(), ['max_memory_mb', 'pids_max']);
  void runGated(cg, ['/bin/sleep', '30']);
  await cg.destroy();
  for (const d of dirs) assert.ok(!existsSync(d), `${d} left behind`);
});

test('fail closed: a limit whose controller the host lacks throws 126 naming it, and creates nothing', () => {
  // A fake cgroup2 tree offering only "cpu" (fault injection: the real host may offer memory).
  const root = mkdtempSync(join(tmpdir(), 'cordon-fakecg-'));
  try {
    writeFileSync(join(root, 'cgroup.controllers'), 'cpu\n');
    writeFileSync(join(root, 'cgroup.subtree_control'), '');
    const mountinfo = `41 31 0:38 / ${root} rw,relatime - cgroup2 cgroup2 rw\n`;
    assert.throws(
      () => createSessionCgroup({ session: 'x', limits: { max_memory_mb: 64 }, mountinfo, procSelfCgroup: '0::/\n' }),
      (e: unknown) => e instanceof CgroupError && e.exitCode === 126 && e.limit === 'max_memory_mb' && /"memory" cgroup controller/.test(e.message),
    );
    assert.deepEqual(readdirSync(root).sort(), ['cgroup.controllers', 'cgroup.subtree_control']);
    // No cgroup2 at all: refuses, naming the unified hierarchy.
    assert.throws(
      () => createSessionCgroup({ session: 'x', limits: {}, mountinfo: '', procSelfCgroup: '' }),
      (e: unknown) => e instanceof CgroupError && e.exitCode === 126 && /cgroup v2/.test(e.message),
    );
    // Nonsense values never reach the kernel.
    assert.throws(() => createSessionCgroup({ session: 'x', limits: { pids_max: 0 } }), /pids_max must be an integer >= 1/);
    assert.throws(() => createSessionCgroup({ session: '../escape', limits: {} }), /invalid session id/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('fail closed: without root, a session with limits is refused with 126 (real EACCES, not simulated)', () => {
  const support = fileURLToPath(new URL('../../src/sandbox/support.js', import.meta.url));
  const script = `
    import(${JSON.stringify(support)}).then((m) => {
      try { m.createSessionCgroup({ session: 'nobody-${process.pid}', limits: { pids_max: 10 } }); console.log(JSON.stringify({ ok: true })); }
      catch (e) { console.log(JSON.stringify({ exitCode: e.exitCode, message: e.message })); }
    });`;
  const r = spawnSync(process.execPath, ['-e', script], { uid: 65534, gid: 65534, encoding: 'utf8', cwd: '/' });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { ok?: boolean; exitCode?: number; message?: string };
  assert.equal(out.ok, undefined, 'an unprivileged user created a cgroup with limits');
  assert.equal(out.exitCode, 126);
  assert.match(out.message ?? '', /EACCES|EPERM|EROFS/);
});

test('layout: hybrid host (cgroup2 without controllers, v1 memory nested under a service cgroup)', () => {
  const mountinfo = [
    '31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755',
    '32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct',
    '35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory',
    '40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd',
    '41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw',
  ].join('\n');
  const l = resolveLayout(mountinfo, '4:memory:/svc/abc\n2:cpu,cpuacct:/\n1:name=systemd:/x\n0::/\n');
  assert.deepEqual(l.v2, { mountpoint: '/sys/fs/cgroup/unified', ownDir: '/sys/fs/cgroup/unified' });
  assert.deepEqual([...l.v1], [
    ['cpu', { mountpoint: '/sys/fs/cgroup/cpu,cpuacct', ownDir: '/sys/fs/cgroup/cpu,cpuacct' }],
    ['cpuacct', { mountpoint: '/sys/fs/cgroup/cpu,cpuacct', ownDir: '/sys/fs/cgroup/cpu,cpuacct' }],
    ['memory', { mountpoint: '/sys/fs/cgroup/memory', ownDir: '/sys/fs/cgroup/memory/svc/abc' }],
  ]);
});
