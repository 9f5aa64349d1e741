// The approval broker on a real pseudo-terminal (python3's pty module gives the child a
// controlling terminal; its stdin is /dev/null): 'y' allows, 'n' / Enter / EOF / silence deny,
// silence denies at the timeout, agent-controlled text cannot draw on the approver's screen,
// and input typed before the prompt is not taken as the answer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ApprovalOutcome, ApprovalRequest } from '../../src/approvals/index.js';

const PYTHON = '/usr/bin/python3';
if (!existsSync(PYTHON)) throw new Error(`${PYTHON} is needed for the pty tests (apt-get install -y python3)`);
const root = fileURLToPath(new URL('../../../', import.meta.url));
const driver = fileURLToPath(new URL('./helpers/approval-driver.js', import.meta.url));
const ptyDrive = join(root, 'test', 'approvals', 'fixtures', 'pty_drive.py');

interface PtyRun { outcomes: ApprovalOutcome[]; screen: string }

function onPty(reqs: ApprovalRequest[], answers: string[], waitFor = 'Allow? [y/N]', delayS = 0.3): Promise<PtyRun> {
  const dir = mkdtempSync(join(tmpdir(), 'cordon-approve-'));
  const out = join(dir, 'out.json');
  const p = spawn(PYTHON, [ptyDrive, JSON.stringify(answers), waitFor, String(delayS), '--', process.execPath, driver, JSON.stringify(reqs), out]);
  let stdout = '';
  let stderr = '';
  p.stdout.on('data', (d) => (stdout += d));
  p.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve, reject) => {
    p.on('close', (code) => {
      try {
        assert.equal(code, 0, stderr);
        const screen = (JSON.parse(stdout) as { output: string }).output;
        assert.ok(existsSync(out), `driver wrote no result; terminal showed:\n${screen}`);
        resolve({ outcomes: JSON.parse(readFileSync(out, 'utf8')) as ApprovalOutcome[], screen });
      } catch (e) {
        reject(e);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}

const req = (timeoutMs: number, summary = 'exec /usr/bin/git push --force origin main'): ApprovalRequest =>
  ({ summary, rule: 'approve-force-push', message: 'Force pushes rewrite shared history.', timeoutMs });

test("typing 'y' allows; the prompt names the rule, the operation and the message", async () => {
  const { outcomes, screen } = await onPty([req(10_000)], ['y\n']);
  assert.equal(outcomes[0]!.decision, 'allow');
  assert.equal(outcomes[0]!.reason, 'approved');
  assert.ok(outcomes[0]!.elapsedMs < 5000);
  assert.match(screen, /approval needed \(rule "approve-force-push"\)/);
  assert.match(screen, /exec \/usr\/bin\/git push --force origin main/);
  assert.match(screen, /Force pushes rewrite shared history\./);
});

test("typing 'n', or just Enter, denies at once", async () => {
  const [n, enter] = await Promise.all([onPty([req(10_000)], ['n\n']), onPty([req(10_000)], ['\n'])]);
  assert.deepEqual([n.outcomes[0]!.decision, n.outcomes[0]!.reason], ['deny', 'denied_by_user']);
  assert.deepEqual([enter.outcomes[0]!.decision, enter.outcomes[0]!.reason], ['deny', 'denied_by_user']);
  assert.ok(n.outcomes[0]!.elapsedMs < 5000 && enter.outcomes[0]!.elapsedMs < 5000);
});

test('no answer denies at the timeout (not before, not hanging); Ctrl-D (EOF) denies at once', async () => {
  const [silent, eof] = await Promise.all([onPty([req(1200)], []), onPty([req(10_000)], ['\x04'])]);
  const s = silent.outcomes[0]!;
  assert.deepEqual([s.decision, s.reason], ['deny', 'timeout']);
  assert.ok(s.elapsedMs >= 1150 && s.elapsedMs < 2500, `denied after ${s.elapsedMs} ms for a 1200 ms timeout`);
  assert.match(silent.screen, /no answer; denied/);
  assert.deepEqual([eof.outcomes[0]!.decision, eof.outcomes[0]!.reason], ['deny', 'eof']);
  assert.ok(eof.outcomes[0]!.elapsedMs < 5000);
});

test('agent-controlled text cannot draw on the terminal: control and bidi characters are shown escaped', async () => {
  const evil = 'rm -rf ~\x1b[2K\r\x1b[1Aexec /bin/true (harmless)\u202e';
  const { outcomes, screen } = await onPty([{ ...req(10_000), summary: evil }], ['n\n']);
  assert.equal(outcomes[0]!.decision, 'deny');
  assert.ok(!screen.includes('\x1b[2K') && !screen.includes('\x1b[1A') && !screen.includes('\u202e'), 'raw control sequence reached the terminal');
  assert.ok(screen.includes('rm -rf ~\\x1b[2K\\x0d\\x1b[1Aexec /bin/true (harmless)\\u202e'), screen);
});

test('typeahead is not an answer: a "y" typed before the prompt appeared is ignored (then silence denies)', async () => {
  const { outcomes, screen } = await onPty([req(1500)], ['y\n'], '');
  assert.deepEqual([outcomes[0]!.decision, outcomes[0]!.reason], ['deny', 'timeout']);
  assert.match(screen, /ignored input typed before the prompt/);
});

test('concurrent requests are asked one after the other and each gets its own answer', async () => {
  const { outcomes, screen } = await onPty([req(10_000, 'first'), req(10_000, 'second')], ['y\n', 'n\n']);
  assert.deepEqual(outcomes.map((o) => o.decision), ['allow', 'deny']);
  assert.ok(screen.indexOf('first') < screen.indexOf('second'));
});
