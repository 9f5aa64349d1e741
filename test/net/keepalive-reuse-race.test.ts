// An upstream that drops a kept-alive connection just as the proxy reuses it: a bodiless GET is
// sent again once on a fresh connection (the client sees 200); a POST with a body is not
// replayed (the client sees 502), so nothing is sent twice that could act twice.
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { test } from 'node:test';
import { startProxy, staticResolver } from '../../src/net/index.js';
import { policy } from './helpers/world.js';

test('a reused upstream connection closed under the proxy: GET retried once, POST not replayed', async () => {
  let connections = 0;
  const requests: string[] = [];
  // Answers the first request on each connection with keep-alive, then drops the connection
  // when a second request arrives on it (the race, made deterministic).
  const upstream = net.createServer((s) => {
    connections++;
    let seen = 0;
    let buf = '';
    s.on('data', (c: Buffer) => {
      buf += c.toString('latin1');
      while (buf.includes('\r\n\r\n')) {
        const head = buf.slice(0, buf.indexOf('\r\n\r\n'));
        const len = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
        if (buf.length < head.length + 4 + len) return;
        buf = buf.slice(head.length + 4 + len);
        requests.push(head.split('\r\n')[0]!);
        if (++seen > 1) { s.destroy(); return; }
        s.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok');
      }
    });
    s.on('error', () => {});
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.2', () => r()));
  const port = (upstream.address() as net.AddressInfo).port;
  const p = await startProxy({ policy: policy(`version: 1
name: race
network_rules:
  - name: up
    domains: [up.test]
    cidrs: [127.0.0.2/32]
    decision: allow
`), resolver: staticResolver({ 'up.test': '127.0.0.2' }) });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const ask = (method: string, body?: string) => new Promise<number>((res, rej) => {
    const q = http.request({ host: '127.0.0.1', port: p.address.port, method, path: `http://up.test:${port}/x`, agent, headers: { host: `up.test:${port}` } }, (r) => { r.resume(); r.on('end', () => res(r.statusCode ?? 0)); });
    q.on('error', rej);
    q.end(body);
  });
  try {
    assert.equal(await ask('GET'), 200);
    assert.equal(await ask('GET'), 200, 'the second GET is retried on a fresh upstream connection');
    assert.equal(connections, 2);
    assert.equal(await ask('POST', 'charge-card'), 502, 'a POST with a body is never replayed');
    assert.deepEqual(requests, ['GET /x HTTP/1.1', 'GET /x HTTP/1.1', 'GET /x HTTP/1.1', 'POST /x HTTP/1.1']);
  } finally {
    agent.destroy();
    await p.close();
    upstream.close();
  }
});
