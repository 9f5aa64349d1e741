// Signal redirect: a signal_rules redirect delivers the rule's signal instead, to the same
// target, sent by the supervisor on the caller's behalf through the target pinned when the call
// was decoded (a /proc/<pid> directory or the caller's own pidfd), so pid reuse cannot move it.
// The target records the signal it received; the control differs by one rule (allow).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { layout, PROBES, probeResult, requireSandbox, ROOT, sandboxRun, type Layout } from './helpers/sandbox.js';

before(requireSandbox);
const REDIR = join(PROBES, 'redirect');

function policy(l: Layout, redirect: boolean): string {
  return `version: 1
name: signal-redirect-test
defaults: { file: deny, command: deny, unix_socket: deny, signal: deny }
file_rules:
  - name: work
    paths: ["${l.work}", "${l.work}/**"]
    decision: allow
  - name: system
    paths: ["/usr/**", "/lib/**", "/lib64/**", "/bin/**", "/etc/**", "/proc/**", "/sys/**", "/dev/**", "${PROBES}/**", "${ROOT}node_modules/**"]
    operations: [read, open, stat, list, readlink, access, exec]
    decision: allow
command_rules:
  - name: tools
    commands: ["/usr/**", "/bin/**", "${PROBES}/**"]
    decision: allow
signal_rules:
  - name: usr1-to-children
    signals: [SIGUSR1]
    target: { type: children }
${redirect ? '    decision: redirect\n    redirect_to: SIGUSR2' : '    decision: allow'}
  - name: own
    signals: ["@all"]
    target: { type: session }
    decision: allow
`;
}

for (const how of ['kill', 'tgkill', 'pidfd']) {
  test(`signal redirect (${how}): the target receives the rule's signal instead of the caller's`, async () => {
    const l = layout();
    const got = join(l.work, 'got');
    const r = await sandboxRun(policy(l, true), [REDIR, 'sigredir', how, '10', got], l.work);
    assert.equal(probeResult(r.stdout).result, 'sent', r.stdout + r.stderr);
    assert.equal(readFileSync(got, 'utf8'), 'got=12\n', 'the child received SIGUSR2 (12), not SIGUSR1 (10)');
    assert.ok(r.events.some((e) => e.type === 'decision' && e.kind === 'signal' && e.decision === 'redirect' && e.rule === 'usr1-to-children'));
    // control: the rule allows SIGUSR1
    const c = layout();
    const cgot = join(c.work, 'got');
    await sandboxRun(policy(c, false), [REDIR, 'sigredir', how, '10', cgot], c.work);
    assert.equal(readFileSync(cgot, 'utf8'), 'got=10\n', 'control: the child receives SIGUSR1');
  });
}
