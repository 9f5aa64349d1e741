// Unix socket rules (invariant 1): the sockaddr is copied once and the call is carried out on
// the supervisor's own copy of the socket, so neither a thread flipping the address family nor
// a datagram sent to a path gets past unix_socket_rules. Effects are observed at listeners the
// test owns (connections accepted, datagrams received); each control allows the socket by ONE
// rule and does reach it.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { layout, policyYaml, probeResult, PROBE, requireSandbox, sandboxRun, type Layout } from './helpers/sandbox.js';

before(requireSandbox);

const allowSock = (l: Layout, sock: string, ops = '') =>
  policyYaml(l).replace('signal_rules:', `unix_socket_rules:\n  - name: svc\n    paths: ["${sock}"]\n${ops}    decision: allow\nsignal_rules:`);

test('family-flipping race (AF_INET <-> AF_UNIX in the same buffer) never connects to a denied unix listener', async () => {
  const l = layout();
  const sock = join(l.work, 'docker.sock');
  let accepted = 0;
  const srv = createServer((s) => { accepted++; s.resume(); });
  await new Promise<void>((res) => srv.listen(sock, res));
  try {
    const blocked = probeResult((await sandboxRun(policyYaml(l), [PROBE, 'unixrace', sock, '3000'], l.work)).stdout);
    assert.equal(blocked.result, 'done');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(accepted, 0, `a denied unix socket accepted ${accepted} connections: ${JSON.stringify(blocked)}`);
    assert.equal(blocked.connected, '0');
    assert.ok(Number(blocked.failed) > 0, 'anti-vacuity: attempts were made');
    const control = probeResult((await sandboxRun(allowSock(l, sock), [PROBE, 'unixrace', sock, '3000'], l.work)).stdout);
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(Number(control.connected) > 0 && accepted > 0, `control (socket allowed) must connect: ${JSON.stringify(control)} accepted=${accepted}`);
  } finally {
    srv.close();
  }
});

test('fd-swapping race (dup2 of a unix socket over an inet socket\'s fd, plus the family flip) never connects to a denied unix listener', async () => {
  const l = layout();
  const sock = join(l.work, 'svc.sock');
  let accepted = 0;
  const srv = createServer((s) => { accepted++; s.resume(); });
  await new Promise<void>((res) => srv.listen(sock, res));
  try {
    const blocked = probeResult((await sandboxRun(policyYaml(l), [PROBE, 'unixfdswap', sock, '3000'], l.work)).stdout);
    assert.equal(blocked.result, 'done');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(accepted, 0, `a denied unix socket accepted ${accepted} connections: ${JSON.stringify(blocked)}`);
    assert.equal(blocked.connected, '0');
    const control = probeResult((await sandboxRun(allowSock(l, sock), [PROBE, 'unixfdswap', sock, '3000'], l.work)).stdout);
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(Number(control.connected) > 0 && accepted > 0, `control (socket allowed) must connect: ${JSON.stringify(control)} accepted=${accepted}`);
  } finally {
    srv.close();
  }
});

/** A datagram listener the test owns (the probe run bare); resolves with what it received. */
function dgramListener(path: string, ms: number): Promise<{ ready: Promise<void>; done: Promise<string> }> {
  const p = spawn(PROBE, ['udgram_recv', path, String(ms)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  let onReady!: () => void;
  const ready = new Promise<void>((r) => { onReady = r; });
  p.stdout.on('data', (b: Buffer) => { out += b.toString(); if (out.includes('ready')) onReady(); });
  const done = new Promise<string>((r) => p.on('close', () => r(out)));
  return Promise.resolve({ ready, done });
}

test('unix datagram sendto a path on an unconnected socket is decided like connect: a denied listener receives nothing', async () => {
  const l = layout();
  const sock = join(l.work, 'log.sock');
  const deny = await dgramListener(sock, 1500);
  await deny.ready;
  const blocked = await sandboxRun(policyYaml(l), [PROBE, 'udgram_send', sock, 'leak'], l.work);
  const got = await deny.done;
  assert.doesNotMatch(got, /got=leak/, `a denied datagram listener received the message: ${got}`);
  assert.match(got, /received=0/);
  assert.notEqual(probeResult(blocked.stdout).result, 'ok', blocked.stdout);

  const allow = await dgramListener(sock, 1500);
  await allow.ready;
  const control = await sandboxRun(allowSock(l, sock), [PROBE, 'udgram_send', sock, 'hello'], l.work);
  const got2 = await allow.done;
  assert.equal(probeResult(control.stdout).result, 'ok', control.stdout + control.stderr);
  assert.match(got2, /got=hello/, `control (allowed) must receive the datagram: ${got2}`);
});

test('inet sockets work through the supervisor\'s copy: UDP sendto, bind and a blocking TCP connect on loopback', async () => {
  const l = layout();
  const py = [
    'import socket',
    'u=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); u.bind(("127.0.0.1",0)); p=u.getsockname()[1]',
    'c=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); n=c.sendto(b"ping-udp",("127.0.0.1",p)); print("sent",n); print(u.recv(64).decode())',
    't=socket.socket(); t.bind(("127.0.0.1",0)); t.listen(1); q=t.getsockname()[1]',
    'k=socket.create_connection(("127.0.0.1",q)); a,_=t.accept(); k.sendall(b"ping-tcp"); print(a.recv(64).decode())',
  ].join('\n');
  const r = await sandboxRun(policyYaml(l), ['/usr/bin/python3', '-c', py], l.work);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /sent 8\nping-udp\nping-tcp/);
});
