// The supervisor caches Node's plain allow/deny answers to signal questions (native/src/notify.c),
// keyed by every field the engine's decision reads: the signal, the target's classes, its pid and
// its name. It must never change a decision: after many allowed signals to one child, a signal to
// its sibling that a rule denies by name stays denied (before and after), and the allowed child
// renaming itself to the denied name is denied from then on. Effects are observed in the world:
// the children count the signals they receive. The control drops the one deny rule.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { layout, policyYaml, probeResult, PROBES, requireSandbox, sandboxRun } from '../escape/helpers/sandbox.js';

const SIGPROBE = join(PROBES, 'sigprobe');
before(requireSandbox);

/** policyYaml's signal rule allows the session; this one, before it, denies SIGUSR1 to "nochild". */
function withDeny(yaml: string, deny: boolean): string {
  if (!deny) return yaml;
  return yaml.replace('signal_rules:\n', `signal_rules:
  - name: not-to-nochild
    signals: [SIGUSR1]
    target: { type: process, pattern: nochild }
    decision: deny
`);
}

test('signal decision cache: a denied sibling stays denied around many allowed signals, and a renamed target is decided by its new name; control without the rule', async () => {
  const l = layout();
  const r = await sandboxRun(withDeny(policyYaml(l), true), [SIGPROBE, 'seq', '20'], l.work);
  assert.equal(r.code, 0, r.stderr);
  const p = probeResult(r.stdout);
  assert.equal(p.result, 'done', r.stdout + r.stderr);
  assert.equal(p.ok_sent, '40');
  assert.ok(Number(p.ok_got) > 0, `anti-vacuity: the allowed child received signals: ${JSON.stringify(p)}`);
  assert.equal(p.no_rc, '1,1', 'EPERM both times: before and after the cached allows');
  assert.equal(p.no_got, '0');
  assert.equal(p.renamed_rc, '1', 'the same pid under the denied name is denied');
  assert.equal(p.renamed_got, '0');
  // Only the first of the identical allowed signals needs Node; the rest are answered from the cache.
  const allowed = r.events.filter((e) => e.type === 'decision' && e.kind === 'signal' && e.decision === 'allow');
  assert.ok(allowed.length >= 1 && allowed.length < 40, `cached: ${allowed.length} of 40 allowed signals went to Node`);
  const denied = r.events.filter((e) => e.type === 'decision' && e.kind === 'signal' && e.decision === 'deny');
  assert.ok(denied.length >= 1 && denied.every((e) => e.rule === 'not-to-nochild'), JSON.stringify(denied));

  const c = layout();
  const ctl = probeResult((await sandboxRun(withDeny(policyYaml(c), false), [SIGPROBE, 'seq', '20'], c.work)).stdout);
  assert.equal(ctl.no_rc, '0,0', `control: ${JSON.stringify(ctl)}`);
  assert.ok(Number(ctl.no_got) > 0 && Number(ctl.renamed_got) > 0, `control: the signals arrive: ${JSON.stringify(ctl)}`);
});

test('signal decision cache: a thread signalling itself (Go-style preemption) is answered from the cache after the first', async () => {
  const l = layout();
  const r = await sandboxRun(policyYaml(l), [SIGPROBE, 'self', '500'], l.work);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(probeResult(r.stdout), { result: 'done', sent: '500', got: '500' });
  const asked = r.events.filter((e) => e.type === 'decision' && e.kind === 'signal').length;
  assert.ok(asked >= 1 && asked <= 2, `${asked} of 500 identical self-signals went to Node`);
});
