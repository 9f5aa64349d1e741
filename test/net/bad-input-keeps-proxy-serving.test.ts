// Hostile or broken clients cannot take the proxy down or starve others: malformed HTTP,
// oversized heads, slowloris, thousands of concurrent tunnels, SOCKS garbage and random bytes.
// After each, a well-behaved client is still served (the proof that the proxy kept serving).
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { startProxy, staticResolver, type Proxy } from '../../src/net/index.js';
import { Listener, policy, sleep } from './helpers/world.js';

const pol = policy(`version: 1
name: bad-input
network_rules:
  - name: test-upstream
    domains: [allowed.test]
    cidrs: [127.0.0.2/32]
    decision: allow
`);

async function exchange(port: number, text: string | Buffer, opts: { timeoutMs?: number } = {}): Promise<string> {
  const s = net.connect(port, '127.0.0.1');
  s.on('error', () => {});
  s.setTimeout(opts.timeoutMs ?? 5000, () => s.destroy());
  s.write(text);
  let out = '';
  try {
    for await (const c of s) out += (c as Buffer).toString('latin1');
  } catch {
    // A reset is an answer too; what matters is that the proxy keeps serving.
  }
  return out;
}

describe('bad input keeps the proxy serving', { timeout: 120_000 }, () => {
  const up = new Listener('127.0.0.2');
  const echo = new Listener('127.0.0.2', 'echo');
  let proxy: Proxy;
  /** Same proxy with a 600 ms head timeout, for the slowloris and random-bytes cases. */
  let short: Proxy;
  before(async () => {
    await up.start();
    await echo.start();
    proxy = await startProxy({ policy: pol, resolver: staticResolver({ 'allowed.test': '127.0.0.2' }) });
    short = await startProxy({ policy: pol, resolver: staticResolver({ 'allowed.test': '127.0.0.2' }), limits: { headersTimeoutMs: 600 } });
  });
  after(async () => {
    await proxy.close();
    await short.close();
    await up.close();
    await echo.close();
  });

  async function stillServes(): Promise<void> {
    const r = await exchange(proxy.address.port, `GET http://allowed.test:${up.port}/ok HTTP/1.1\r\nHost: allowed.test:${up.port}\r\nConnection: close\r\n\r\n`);
    assert.match(r, /^HTTP\/1\.1 200 OK[\s\S]*hello from 127\.0\.0\.2 GET \/ok/);
  }

  test('malformed request lines and headers get 400, and the proxy keeps serving', async () => {
    for (const bad of ['GARBAGE\r\n\r\n', 'GET http://allowed.test/ HTTP/9.9\r\n\r\n', 'GET http://allowed.test/ HTTP/1.1\r\nNo colon here\r\n\r\n', '\x00\x01\x02\x03\r\n\r\n', 'GET http://allowed.test/ HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n']) {
      const r = await exchange(proxy.address.port, bad);
      assert.match(r, /^HTTP\/1\.1 400/, JSON.stringify(bad));
    }
    await stillServes();
  });

  test('bad CONNECT targets get 400 (userinfo, two ports, no port)', async () => {
    for (const t of ['allowed.test:443@evil.test:443', 'allowed.test:443:80', 'allowed.test', '[::1', `allowed.test:${'9'.repeat(6)}`]) {
      const r = await exchange(proxy.address.port, `CONNECT ${t} HTTP/1.1\r\n\r\n`);
      assert.match(r, /^HTTP\/1\.1 400/, t);
    }
    await stillServes();
  });

  test('an oversized request head gets 431, and the proxy keeps serving', async () => {
    const r = await exchange(proxy.address.port, `GET http://allowed.test:${up.port}/ HTTP/1.1\r\nHost: allowed.test:${up.port}\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`);
    assert.match(r, /^HTTP\/1\.1 431/);
    assert.equal(up.requests.filter((q) => q.url === '/').length, 0);
    await stillServes();
  });

  test('slowloris: 100 connections dribbling a head are cut at the head timeout while others are served', async () => {
    const slow: net.Socket[] = [];
    let closed = 0;
    for (let i = 0; i < 100; i++) {
      const s = net.connect(short.address.port, '127.0.0.1');
      s.on('error', () => {});
      s.on('close', () => { closed++; });
      s.write('GET http://allowed.test/ HTTP/1.1\r\n');
      slow.push(s);
    }
    const dribble = setInterval(() => { for (const s of slow) if (!s.destroyed) s.write('X-a: b\r\n'); }, 100);
    try {
      await stillServes(); // a good client is served while the slowloris connections are open
      for (let i = 0; i < 40 && closed < 100; i++) await sleep(100);
      assert.equal(closed, 100, 'every slowloris connection is closed by the head timeout');
    } finally {
      clearInterval(dribble);
      for (const s of slow) s.destroy();
    }
    await stillServes();
  });

  test('2000 concurrent CONNECT tunnels are all relayed, then the proxy keeps serving', async () => {
    const N = 2000;
    const socks: net.Socket[] = [];
    const ok = await Promise.all(Array.from({ length: N }, (_, i) => new Promise<boolean>((resolve) => {
      const s = net.connect(proxy.address.port, '127.0.0.1');
      socks.push(s);
      s.on('error', () => resolve(false));
      s.on('close', () => resolve(false));
      let buf = '';
      let sent = false;
      s.write(`CONNECT allowed.test:${echo.port} HTTP/1.1\r\nHost: allowed.test:${echo.port}\r\n\r\n`);
      s.on('data', (c: Buffer) => {
        buf += c.toString('latin1');
        if (!sent && buf.includes('\r\n\r\n')) {
          sent = true;
          if (!buf.startsWith('HTTP/1.1 200')) { resolve(false); return; }
          buf = '';
          s.write(`ping-${i}`);
        } else if (sent && buf === `ping-${i}`) resolve(true);
      });
    })));
    assert.equal(ok.filter(Boolean).length, N);
    await stillServes();
    for (const s of socks) s.destroy();
  });

  test('the same 2000 concurrent tunnels through the cordon-egress fast path (a thread each, spliced)', async () => {
    const fast = await startProxy({ policy: pol, fastPath: true, resolver: staticResolver({ 'allowed.test': '127.0.0.2' }) });
    const socks: net.Socket[] = [];
    try {
      const ok = await Promise.all(Array.from({ length: 2000 }, (_, i) => new Promise<boolean>((resolve) => {
        const s = net.connect(fast.address.port, '127.0.0.1');
        socks.push(s);
        s.on('error', () => resolve(false));
        s.on('close', () => resolve(false));
        let buf = '';
        let sent = false;
        s.write(`CONNECT allowed.test:${echo.port} HTTP/1.1\r\nHost: allowed.test:${echo.port}\r\n\r\n`);
        s.on('data', (c: Buffer) => {
          buf += c.toString('latin1');
          if (!sent && buf.includes('\r\n\r\n')) {
            sent = true;
            if (!buf.startsWith('HTTP/1.1 200')) { resolve(false); return; }
            buf = '';
            s.write(`ping-${i}`);
          } else if (sent && buf === `ping-${i}`) resolve(true);
        });
      })));
      assert.equal(ok.filter(Boolean).length, 2000);
    } finally {
      for (const s of socks) s.destroy();
      await fast.close();
    }
    await stillServes();
  });

  test('SOCKS garbage, SOCKS4 and unsupported SOCKS5 commands are closed, and the proxy keeps serving', async () => {
    assert.equal(await exchange(proxy.address.port, Buffer.from([5, 1, 2])), '\x05\xff'); // no acceptable auth method
    // SOCKS4 is not spoken: its first byte is not 5, so the HTTP parser refuses it.
    assert.match(await exchange(proxy.address.port, Buffer.from([4, 1, 0, 80, 127, 0, 0, 2, 0])), /^HTTP\/1\.1 400/);
    const udp = await exchange(proxy.address.port, Buffer.from([5, 1, 0, 5, 3, 0, 1, 127, 0, 0, 2, 0, 80]));
    assert.deepEqual([...Buffer.from(udp, 'latin1')].slice(0, 4), [5, 0, 5, 7]); // command not supported
    const bind = await exchange(proxy.address.port, Buffer.from([5, 1, 0, 5, 2, 0, 1, 127, 0, 0, 2, 0, 80]));
    assert.deepEqual([...Buffer.from(bind, 'latin1')].slice(0, 4), [5, 0, 5, 7]);
    await stillServes();
  });

  test('property: random bytes never crash the proxy (seeded)', async () => {
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 300 }), async (bytes) => {
        runs++;
        await exchange(short.address.port, Buffer.from(bytes), { timeoutMs: 1500 });
      }),
      { seed: 20261122, numRuns: 150 },
    );
    assert.equal(runs, 150, 'anti-vacuity: every generated input was sent');
    await stillServes();
  });
});
