// Host header, CONNECT target and TLS SNI must name the same host, or the request is refused
// before any byte reaches the upstream: a tunnel decided for allowed.test cannot carry a
// request for evil.test (domain fronting). Each refusal has a control that differs only in the
// name and does reach the listener.
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { inspectFirstFlight, startProxy, staticResolver, type Proxy } from '../../src/net/index.js';
import { Listener, MemoryAudit, policy, sleep } from './helpers/world.js';

const pol = policy(`version: 1
name: agreement
network_rules:
  - name: test-upstream
    domains: [allowed.test, evil.test]
    cidrs: [127.0.0.2/32]
    decision: allow
`);

async function openTunnel(port: number, target: string, hostHeader = target): Promise<{ sock: net.Socket; status: string }> {
  const sock = net.connect(port, '127.0.0.1');
  sock.on('error', () => {});
  sock.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${hostHeader}\r\n\r\n`);
  let buf = '';
  await new Promise<void>((res) => {
    const on = (c: Buffer) => { buf += c.toString('latin1'); if (buf.includes('\r\n\r\n')) { sock.off('data', on); res(); } };
    sock.on('data', on);
    sock.on('close', () => res());
  });
  return { sock, status: buf.split('\r\n')[0] ?? '' };
}

function closed(sock: net.Socket): Promise<void> {
  return new Promise((res) => { if (sock.destroyed) res(); else sock.once('close', () => res()); });
}

for (const fastPath of [false, true]) describe(`Host, CONNECT target and SNI agree (${fastPath ? 'cordon-egress fast path' : 'proxy relaying in Node'})`, () => {
  const raw = new Listener('127.0.0.2', 'raw');
  const web = new Listener('127.0.0.2');
  const audit = new MemoryAudit();
  let proxy: Proxy;
  before(async () => {
    await raw.start();
    await web.start();
    proxy = await startProxy({ policy: pol, audit, fastPath, resolver: staticResolver({ 'allowed.test': '127.0.0.2', 'evil.test': '127.0.0.2' }) });
  });
  after(async () => {
    await proxy.close();
    await raw.close();
    await web.close();
  });

  for (const [sni, refused] of [['evil.test', true], ['allowed.test', false]] as const) {
    test(`CONNECT allowed.test then a ClientHello for ${sni}: ${refused ? 'refused, zero bytes upstream' : 'relayed (control)'}`, async () => {
      raw.reset();
      const { sock, status } = await openTunnel(proxy.address.port, `allowed.test:${raw.port}`);
      assert.equal(status, 'HTTP/1.1 200 Connection Established');
      const t = tls.connect({ socket: sock, servername: sni, rejectUnauthorized: false });
      t.on('error', () => {});
      await (refused ? closed(sock) : sleep(150));
      if (refused) assert.equal(raw.bytes, 0);
      else assert.ok(raw.bytes > 0 && raw.data[0] === 0x16, 'the ClientHello reached the upstream');
      t.destroy();
    });
  }

  test('the refusal is audited with the reason', () => {
    const e = audit.events.find((x) => x.rule === 'host-agreement');
    assert.ok(e);
    assert.match(String((e.fields as { reason?: string }).reason), /TLS SNI names evil\.test but the connection was decided for allowed\.test/);
  });

  for (const [host, refused] of [['evil.test', true], ['allowed.test', false]] as const) {
    test(`plain HTTP inside a CONNECT tunnel to allowed.test with Host: ${host}: ${refused ? 'refused' : 'relayed'}`, async () => {
      web.reset();
      const { sock } = await openTunnel(proxy.address.port, `allowed.test:${web.port}`);
      sock.write(`GET /inner HTTP/1.1\r\nHost: ${host}:${web.port}\r\nConnection: close\r\n\r\n`);
      let out = '';
      sock.on('data', (c: Buffer) => { out += c.toString(); });
      await closed(sock);
      if (refused) {
        assert.equal(web.bytes, 0);
        assert.equal(out, '');
      } else assert.match(out, /hello from 127\.0\.0\.2 GET \/inner/);
    });
  }

  test('a CONNECT whose Host header names another host is refused before any connection', async () => {
    web.reset();
    const { status } = await openTunnel(proxy.address.port, `allowed.test:${web.port}`, `evil.test:${web.port}`);
    assert.equal(status, 'HTTP/1.1 400 Bad Request');
    assert.equal(web.connections, 0);
  });

  test('an absolute-form request whose Host header disagrees with the URL is refused; agreeing is relayed', async () => {
    web.reset();
    const ask = async (host: string) => {
      const s = net.connect(proxy.address.port, '127.0.0.1');
      s.write(`GET http://allowed.test:${web.port}/x HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
      let out = '';
      for await (const c of s) out += (c as Buffer).toString();
      return out.split('\r\n')[0];
    };
    assert.equal(await ask(`evil.test:${web.port}`), 'HTTP/1.1 400 Bad Request');
    assert.equal(await ask(`allowed.test:${web.port + 1}`), 'HTTP/1.1 400 Bad Request');
    assert.equal(web.connections, 0);
    assert.equal(await ask(`ALLOWED.test.:${web.port}`), 'HTTP/1.1 200 OK');
    assert.equal(web.requests.length, 1);
  });

  test('first-flight parser: SNI, Host, duplicate Host, and non-HTTP bytes', () => {
    assert.deepEqual(inspectFirstFlight(Buffer.from('GET / HTTP/1.1\r\nHost: a.test\r\n\r\n')), { kind: 'http', host: 'a.test' });
    assert.deepEqual(inspectFirstFlight(Buffer.from('GET / HTTP/1.1\r\nHost: a.test\r\nHost: b.test\r\n\r\n')), { kind: 'malformed', reason: 'more than one Host header' });
    assert.deepEqual(inspectFirstFlight(Buffer.from('GET / HTTP/1.1\r\nHost: a.te')), { kind: 'need-more' });
    assert.deepEqual(inspectFirstFlight(Buffer.from('SSH-2.0-OpenSSH\r\n')), { kind: 'other' });
    assert.deepEqual(inspectFirstFlight(Buffer.from([0x16, 0x03, 0x01])), { kind: 'need-more' });
    assert.equal(inspectFirstFlight(Buffer.from([0x16, 0x09, 0x01, 0, 5, 1, 0, 0, 1, 0])).kind, 'malformed');
  });
});
