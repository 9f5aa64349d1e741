// The address-trick table: every odd spelling of a host is one canonical address, decided and
// connected to as that address; special addresses are denied unless a rule names them.
// Unit rows first, then the same tricks against the running proxy, proved by bytes at a
// listener the test owns (zero when denied; the control, naming the range, gets them).
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { AddressError, canonicalHost, classifyIp, NetDecider, parseAuthority, startProxy, staticResolver } from '../../src/net/index.js';
import { DocAddresses, Listener, policy, requireRoot } from './helpers/world.js';

const canon = (h: string) => {
  const c = canonicalHost(h);
  return c.kind === 'ip' ? c.ip : c.host;
};

describe('canonical host: one spelling per address', () => {
  const rows: [string, string][] = [
    ['127.1', '127.0.0.1'],
    ['0x7f.1', '127.0.0.1'],
    ['0x7f000001', '127.0.0.1'],
    ['0177.0.0.1', '127.0.0.1'],
    ['017700000001', '127.0.0.1'],
    ['2130706433', '127.0.0.1'],
    ['127.0.0.1.', '127.0.0.1'],
    ['0251.0376.0251.0376', '169.254.169.254'],
    ['0xa9fea9fe', '169.254.169.254'],
    ['2852039166', '169.254.169.254'],
    ['[::ffff:127.0.0.1]', '127.0.0.1'],
    ['::ffff:7f00:1', '127.0.0.1'],
    ['[::FFFF:169.254.169.254]', '169.254.169.254'],
    ['[0:0:0:0:0:0:0:1]', '::1'],
    ['FD00:EC2:0:0:0:0:0:254', 'fd00:ec2::254'],
    ['Allowed.TEST.', 'allowed.test'],
    ['ＡＬＬＯＷＥＤ．test', 'allowed.test'],
    ['bücher.test', 'xn--bcher-kva.test'],
    ['XN--BCHER-KVA.test', 'xn--bcher-kva.test'],
  ];
  for (const [input, want] of rows) {
    test(`${JSON.stringify(input)} is ${want}`, () => assert.equal(canon(input), want));
  }
  const bad: [string, RegExp][] = [
    ['allowed.test@evil.test', /userinfo/],
    ['user:pass@evil.test', /userinfo/],
    ['evil.test#allowed.test', /userinfo|paths/],
    ['evil.test/allowed.test', /paths/],
    ['evil.test\\allowed.test', /paths/],
    ['fe80::1%lo', /zone/],
    ['[fe80::1%25lo]', /zone/],
    ['allowed..test', /label/],
    [`${'a'.repeat(64)}.test`, /label/],
    ['1.2.3.256', /not a valid/],
    ['allowed.test ', /whitespace/],
    ['allowed.test\r\nX: y', /whitespace/],
    ['evil.test.123', /numeric|not a valid/],
    ['', /empty/],
  ];
  for (const [input, why] of bad) {
    test(`${JSON.stringify(input)} is refused`, () => assert.throws(() => canonicalHost(input), (e: unknown) => e instanceof AddressError && why.test(e.reason)));
  }
});

describe('authority (CONNECT target, Host header): exactly one host and one port', () => {
  test('host:port and [v6]:port parse', () => {
    assert.deepEqual(parseAuthority('Allowed.Test.:443'), { host: { kind: 'name', host: 'allowed.test' }, port: 443 });
    assert.deepEqual(parseAuthority('[::ffff:127.0.0.1]:80'), { host: { kind: 'ip', ip: '127.0.0.1', family: 4 }, port: 80 });
  });
  const bad: [string, RegExp][] = [
    ['allowed.test:443@evil.test:443', /userinfo/],
    ['allowed.test:443:80', /more than one/],
    ['::1:443', /brackets/],
    ['allowed.test', /missing :port/],
    ['allowed.test:+443', /decimal digits/],
    ['allowed.test:0x1bb', /decimal digits/],
    ['allowed.test:0', /between 1 and 65535/],
    ['allowed.test:65536', /between 1 and 65535/],
    ['allowed.test: 443', /decimal digits/],
    ['[::1]', /\[IPv6\]:port/],
  ];
  for (const [input, why] of bad) {
    test(`${JSON.stringify(input)} is refused`, () => assert.throws(() => parseAuthority(input), (e: unknown) => e instanceof AddressError && why.test(e.reason)));
  }
});

describe('special addresses are classified (IPv6 forms carrying IPv4 by the IPv4 inside)', () => {
  const rows: [string, string | undefined][] = [
    ['127.0.0.1', 'loopback'], ['127.255.0.9', 'loopback'], ['::1', 'loopback'],
    ['0.0.0.0', 'unspecified'], ['::', 'unspecified'],
    ['10.1.2.3', 'private'], ['172.16.0.1', 'private'], ['172.31.255.255', 'private'], ['192.168.1.1', 'private'],
    ['fc00::1', 'private'], ['fd12:3456::1', 'private'], ['100.64.0.1', 'shared'],
    ['169.254.169.254', 'metadata'], ['fd00:ec2::254', 'metadata'], ['100.100.100.200', 'metadata'],
    ['169.254.1.1', 'link-local'], ['fe80::1', 'link-local'],
    ['224.0.0.1', 'multicast'], ['ff02::1', 'multicast'], ['255.255.255.255', 'broadcast'],
    ['64:ff9b::a9fe:a9fe', 'metadata'], ['64:ff9b::7f00:1', 'loopback'], ['2002:7f00:1::', 'loopback'],
    ['2002:a00:1::', 'private'], ['::7f00:1', 'loopback'], ['2001::1', 'tunnel'],
    ['172.32.0.1', undefined], ['8.8.8.8', undefined], ['2606:4700::1111', undefined], ['64:ff9b::808:808', undefined],
  ];
  for (const [ip, cls] of rows) test(`${ip} is ${cls ?? 'public'}`, () => assert.equal(classifyIp(ip)?.cls, cls));
});

describe('SSRF guard: special addresses denied unless the matching rule names them in cidrs', () => {
  const allowAll = policy(`version: 1
name: allow-all
network_rules:
  - name: everything
    domains: ['*']
    cidrs: [0.0.0.0/0, '::/0']
    decision: allow
`);
  const naming = policy(`version: 1
name: naming
network_rules:
  - name: metadata-on-purpose
    cidrs: [169.254.169.254/32, 'fd00:ec2::254/128']
    decision: allow
  - name: lab
    cidrs: [10.0.0.0/8]
    decision: allow
  - name: everything
    domains: ['*']
    cidrs: [0.0.0.0/0, '::/0']
    decision: allow
`);
  const d = new NetDecider(allowAll);
  const n = new NetDecider(naming);
  const cases: [string, string | undefined, NetDecider, string][] = [
    ['169.254.169.254', undefined, d, 'deny'],
    ['fd00:ec2::254', undefined, d, 'deny'],
    ['127.0.0.1', undefined, d, 'deny'],
    ['::1', undefined, d, 'deny'],
    ['10.0.0.1', undefined, d, 'deny'],
    ['192.168.0.1', undefined, d, 'deny'],
    ['169.254.169.254', 'rebind.example.test', d, 'deny'],
    ['8.8.8.8', 'public.example.test', d, 'allow'],
    ['169.254.169.254', undefined, n, 'allow'],
    ['fd00:ec2::254', undefined, n, 'allow'],
    ['10.9.9.9', undefined, n, 'allow'],
    ['127.0.0.1', undefined, n, 'deny'],
    ['172.16.0.1', undefined, n, 'deny'],
  ];
  for (const [ip, host, dec, want] of cases) {
    test(`${host ?? ''}@${ip} under ${dec === d ? 'a catch-all rule' : 'rules naming ranges'}: ${want}`, () => {
      const r = dec.decideNet(host ? { host, ip, port: 80, protocol: 'tcp' } : { ip, port: 80, protocol: 'tcp' });
      assert.equal(r.decision, want, r.reason);
      if (want === 'deny') assert.equal(r.rule, 'ssrf-guard');
    });
  }
});

describe('the tricks against the running proxy (bytes at a listener the test owns)', () => {
  requireRoot('address-trick proxy tests');
  const docs = new DocAddresses(['169.254.169.254'], ['fd00:ec2::254']);
  const lo = new Listener('127.0.0.1');
  const meta = new Listener('169.254.169.254');
  const meta6 = new Listener('fd00:ec2::254');
  const resolver = staticResolver({ 'localhost': '127.0.0.1', 'rebind.example.test': '169.254.169.254' });
  const catchAll = policy(`version: 1
name: catch-all
network_rules:
  - name: everything
    domains: ['*']
    cidrs: [0.0.0.0/0, '::/0']
    decision: allow
`);
  const named = policy(`version: 1
name: named
network_rules:
  - name: loopback-and-metadata-on-purpose
    cidrs: [127.0.0.0/8, 169.254.169.254/32, 'fd00:ec2::254/128']
    decision: allow
`);
  before(async () => {
    await docs.start();
    await lo.start();
    await meta.start(lo.port);
    await meta6.start(lo.port);
  });
  after(async () => {
    await lo.close();
    await meta.close();
    await meta6.close();
    await docs.close();
  });

  /** Sends a raw proxy request; returns the status line. */
  async function ask(proxyPort: number, text: string): Promise<string> {
    const s = net.connect(proxyPort, '127.0.0.1');
    s.write(text);
    let out = '';
    for await (const c of s) out += (c as Buffer).toString();
    return out.split('\r\n')[0] ?? '';
  }

  const spellings = (port: number): [string, Listener][] => [
    [`127.1:${port}`, lo], [`0x7f.1:${port}`, lo], [`2130706433:${port}`, lo], [`0177.0.0.1:${port}`, lo],
    [`017700000001:${port}`, lo], [`127.0.0.1.:${port}`, lo], [`[::ffff:127.0.0.1]:${port}`, lo], [`[::ffff:7f00:1]:${port}`, lo],
    [`localhost.:${port}`, lo], [`LOCALHOST:${port}`, lo],
    [`169.254.169.254:${port}`, meta], [`0xa9fea9fe:${port}`, meta], [`0251.0376.0251.0376:${port}`, meta], [`[::ffff:169.254.169.254]:${port}`, meta],
    [`[fd00:ec2::254]:${port}`, meta6], [`[FD00:EC2:0::254]:${port}`, meta6],
  ];

  for (const form of ['absolute-form GET', 'CONNECT'] as const) {
    test(`${form}: every spelling of loopback and metadata is denied under a catch-all rule, reached when a rule names it`, async () => {
      const deny = await startProxy({ policy: catchAll, resolver });
      const allow = await startProxy({ policy: named, resolver: staticResolver({ localhost: '127.0.0.1' }) });
      try {
        let checked = 0;
        for (const [authority, listener] of spellings(lo.port)) {
          const req = form === 'CONNECT'
            ? `CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\nGET / HTTP/1.1\r\nHost: ${authority}\r\n\r\n`
            : `GET http://${authority}/probe HTTP/1.1\r\nHost: ${authority}\r\nConnection: close\r\n\r\n`;
          listener.reset();
          const denied = await ask(deny.address.port, req);
          assert.match(denied, /^HTTP\/1\.1 403/, `${authority} through the catch-all proxy`);
          assert.equal(listener.bytes, 0, `${authority}: no byte may reach the listener`);
          assert.equal(listener.connections, 0, `${authority}: no connection may reach the listener`);
          const allowed = await ask(allow.address.port, form === 'CONNECT' ? `${req.slice(0, -2)}Connection: close\r\n\r\n` : req);
          assert.match(allowed, /^HTTP\/1\.1 200/, `${authority} through the naming proxy`);
          assert.ok(listener.bytes > 0, `${authority}: the control must reach the listener`);
          checked++;
        }
        assert.equal(checked, 16);
      } finally {
        await deny.close();
        await allow.close();
      }
    });
  }

  test('DNS rebinding: a name the catch-all rule allows, resolving to metadata, is denied', async () => {
    const p = await startProxy({ policy: catchAll, resolver });
    try {
      meta.reset();
      const r = await ask(p.address.port, `GET http://rebind.example.test:${meta.port}/ HTTP/1.1\r\nHost: rebind.example.test:${meta.port}\r\n\r\n`);
      assert.match(r, /^HTTP\/1\.1 403/);
      assert.equal(meta.bytes, 0);
    } finally {
      await p.close();
    }
  });
});
