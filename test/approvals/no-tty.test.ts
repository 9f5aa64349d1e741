// With no terminal and no other approver, an approval is denied after the timeout: not at once
// (an approver could still answer in time), never hanging, never allowed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requestApproval, requestApprovalDetailed } from '../../src/approvals/index.js';
import type { ApprovalOutcome } from '../../src/approvals/index.js';

const driver = fileURLToPath(new URL('./helpers/approval-driver.js', import.meta.url));

test('no controlling terminal (new session, setsid): denied after ≈ the timeout', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cordon-notty-'));
  try {
    const out = join(dir, 'out.json');
    const reqs = [{ summary: 'exec /bin/rm -rf /', rule: 'r', timeoutMs: 800 }];
    // detached: the child calls setsid(), so it has no controlling terminal and /dev/tty fails (ENXIO).
    const p = spawn(process.execPath, [driver, JSON.stringify(reqs), out], { detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr.on('data', (d) => (stderr += d));
    const code = await new Promise<number | null>((r) => p.on('close', r));
    assert.equal(code, 0, stderr);
    const [o] = JSON.parse(readFileSync(out, 'utf8')) as ApprovalOutcome[];
    assert.equal(o!.decision, 'deny');
    assert.equal(o!.reason, 'timeout');
    assert.match(o!.detail, /no approver reachable .*no controlling terminal/);
    assert.ok(o!.elapsedMs >= 780 && o!.elapsedMs < 1800, `denied after ${o!.elapsedMs} ms for an 800 ms timeout`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a path that is not a terminal, or no channel at all, also waits out the timeout and denies', async () => {
  const t0 = performance.now();
  const [a, b] = await Promise.all([
    requestApprovalDetailed({ summary: 's', rule: 'r', timeoutMs: 400 }, { ttyPath: '/dev/null' }),
    requestApproval({ summary: 's', rule: 'r', timeoutMs: 400 }, { ttyPath: null }),
  ]);
  const ms = performance.now() - t0;
  assert.deepEqual([a.decision, a.reason], ['deny', 'timeout']);
  assert.match(a.detail, /\/dev\/null is not a terminal/);
  assert.equal(b, 'deny');
  assert.ok(ms >= 390 && ms < 1500, `took ${ms} ms`);
});

test('an invalid timeout denies immediately instead of waiting forever or allowing', async () => {
  for (const timeoutMs of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
    const o = await requestApprovalDetailed({ summary: 's', rule: 'r', timeoutMs }, { ttyPath: null });
    assert.deepEqual([o.decision, o.reason], ['deny', 'error'], String(timeoutMs));
  }
});
