// Side doors through calls that carry their object in an fd or a message header rather than a
// path argument: sendmsg/sendmmsg with msg_name on a unix datagram socket (past
// unix_socket_rules, before they were trapped) and fchmod/fchown on an fd (past chmod/chown
// rules). Each is carried out by the supervisor on its pidfd_getfd copy, decided by the object
// (the named socket, the fd's file). Effects in the world: what a listener the test owns
// received, the file's mode and group. Each control differs by one rule.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { layout, policyYaml, PROBE, PROBES, probeResult, requireSandbox, sandboxRun, type Layout } from './helpers/sandbox.js';

before(requireSandbox);
const REDIR = join(PROBES, 'redirect');

/** A unix datagram listener the test owns (the escape probe run bare): what it received. */
function dgramListener(path: string, ms: number): { ready: Promise<void>; done: Promise<string> } {
  const p = spawn(PROBE, ['udgram_recv', path, String(ms)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  let onReady!: () => void;
  const ready = new Promise<void>((r) => { onReady = r; });
  p.stdout.on('data', (b: Buffer) => { out += b.toString(); if (out.includes('ready')) onReady(); });
  return { ready, done: new Promise<string>((r) => p.on('close', () => r(out))) };
}

const allowSock = (l: Layout, sock: string) =>
  policyYaml(l).replace('signal_rules:', `unix_socket_rules:\n  - name: svc\n    paths: ["${sock}"]\n    decision: allow\nsignal_rules:`);

for (const call of ['sendmsg', 'sendmmsg']) {
  test(`${call} with msg_name to a unix datagram socket is decided by unix_socket_rules: a denied listener receives nothing`, async () => {
    const l = layout();
    const sock = join(l.work, 'log.sock');
    const deny = dgramListener(sock, 1200);
    await deny.ready;
    const blocked = probeResult((await sandboxRun(policyYaml(l), [REDIR, call, sock, 'leak-data'], l.work)).stdout);
    const got = await deny.done;
    assert.doesNotMatch(got, /got=/, `a denied datagram listener received: ${got}`);
    assert.equal(blocked.result, 'failed', JSON.stringify(blocked));
    const allow = dgramListener(sock, 1200);
    await allow.ready;
    const control = probeResult((await sandboxRun(allowSock(l, sock), [REDIR, call, sock, 'hello-data'], l.work)).stdout);
    const got2 = await allow.done;
    // the two iovecs arrive as one datagram; sendmmsg sends it twice and reports both lengths
    assert.match(got2, /got=hello-data/, `control (allowed) must receive the datagram: ${got2} ${JSON.stringify(control)}`);
    assert.equal(control.result, 'ok');
    if (call === 'sendmmsg') assert.deepEqual([control.sent, control.len0], ['2', '10']);
    else assert.equal(control.sent, '10');
  });
}

test('sendmmsg whose later message names another unix datagram socket: that message is decided too (a denied listener receives nothing)', async () => {
  const l = layout();
  const okSock = join(l.work, 'ok.sock');
  const sock = join(l.work, 'log.sock');
  const both = (decision: string) => policyYaml(l).replace('signal_rules:', `unix_socket_rules:\n  - name: peer\n    paths: ["${okSock}"]\n    decision: allow\n  - name: named\n    paths: ["${sock}"]\n    decision: ${decision}\nsignal_rules:`);
  const peer = dgramListener(okSock, 1500);
  const deny = dgramListener(sock, 1500);
  await Promise.all([peer.ready, deny.ready]);
  const blocked = probeResult((await sandboxRun(both('deny'), [REDIR, 'sendmmsg_mixed', okSock, sock], l.work)).stdout);
  const [gotPeer, got] = await Promise.all([peer.done, deny.done]);
  assert.match(gotPeer, /got=to-peer/, `anti-vacuity: the connected peer received the first message: ${gotPeer}`);
  assert.doesNotMatch(got, /got=/, `a denied datagram listener received: ${got} ${JSON.stringify(blocked)}`);
  assert.deepEqual([blocked.result, blocked.sent], ['failed', '1']);
  const peer2 = dgramListener(okSock, 1500);
  const allow = dgramListener(sock, 1500);
  await Promise.all([peer2.ready, allow.ready]);
  const control = probeResult((await sandboxRun(both('allow'), [REDIR, 'sendmmsg_mixed', okSock, sock], l.work)).stdout);
  const [, got2] = await Promise.all([peer2.done, allow.done]);
  assert.match(got2, /got=to-named/, `control (allowed) must receive the second message: ${got2} ${JSON.stringify(control)}`);
  assert.deepEqual([control.result, control.sent], ['ok', '2']);
});

function metaLayout() {
  const l = layout();
  mkdirSync(join(l.work, 'locked'));
  const f = join(l.work, 'locked', 'f');
  writeFileSync(f, 'x');
  chmodSync(f, 0o644);
  chownSync(f, 0, 1234);
  return { l, f };
}
const lockedRule = (l: Layout, decision: string) => `  - name: locked-meta\n    paths: ["${l.work}/locked/**"]\n    operations: [chmod, chown]\n    decision: ${decision}\n`;

test('fchmod on an fd is decided like chmod on the fd\'s file: mode unchanged under a deny rule', async () => {
  const a = metaLayout();
  const r = probeResult((await sandboxRun(policyYaml(a.l, { extraFileRules: lockedRule(a.l, 'deny') }), [REDIR, 'fchmod', a.f], a.l.work)).stdout);
  assert.equal(r.result, 'failed');
  assert.equal(statSync(a.f).mode & 0o777, 0o644, 'the mode changed through fchmod');
  const c = metaLayout();
  const cr = probeResult((await sandboxRun(policyYaml(c.l, { extraFileRules: lockedRule(c.l, 'allow') }), [REDIR, 'fchmod', c.f], c.l.work)).stdout);
  assert.equal(cr.result, 'ok');
  assert.equal(statSync(c.f).mode & 0o777, 0o600, 'control: fchmod changes the mode when allowed');
});

test('fchown on an fd is decided like chown on the fd\'s file: group unchanged under a deny rule', async () => {
  const a = metaLayout();
  const r = probeResult((await sandboxRun(policyYaml(a.l, { extraFileRules: lockedRule(a.l, 'deny') }), [REDIR, 'fchown', a.f], a.l.work)).stdout);
  assert.equal(r.result, 'failed');
  assert.equal(statSync(a.f).gid, 1234, 'the group changed through fchown');
  const c = metaLayout();
  const cr = probeResult((await sandboxRun(policyYaml(c.l, { extraFileRules: lockedRule(c.l, 'allow') }), [REDIR, 'fchown', c.f], c.l.work)).stdout);
  assert.equal(cr.result, 'ok');
  assert.equal(statSync(c.f).gid, 0, 'control: fchown changes the group when allowed');
});
