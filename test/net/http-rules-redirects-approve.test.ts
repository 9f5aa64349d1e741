// L7 rules on plain HTTP, connect_redirects / dns_redirects, approve, and the audit trail's
// fail-closed contract, each proved at a listener the test owns with a one-rule control.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openAuditLog } from '../../src/audit/index.js';
import { answerDns, Gateway, startProxy, staticResolver, type Approver } from '../../src/net/index.js';
import { Listener, MemoryAudit, policy } from './helpers/world.js';

async function ask(port: number, text: string): Promise<{ status: string; body: string }> {
  const s = net.connect(port, '127.0.0.1');
  s.on('error', () => {});
  s.write(text);
  let out = '';
  try {
    for await (const c of s) out += (c as Buffer).toString();
  } catch {
    // reset: keep what arrived
  }
  const cut = out.indexOf('\r\n\r\n');
  return { status: out.split('\r\n')[0] ?? '', body: cut < 0 ? '' : out.slice(cut + 4) };
}

const get = (host: string, port: number, path: string, method = 'GET') =>
  `${method} http://${host}:${port}${path} HTTP/1.1\r\nHost: ${host}:${port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`;

describe('http_rules decide methods and paths on plain HTTP', () => {
  const web = new Listener('127.0.0.2');
  const pol = policy(`version: 1
name: http-rules
network_rules:
  - name: upstreams
    domains: [api.test, other.test]
    cidrs: [127.0.0.2/32]
    decision: allow
http_rules:
  - name: read-public
    hosts: [api.test]
    methods: [GET]
    paths: ['/public/**']
    decision: allow
  - name: no-admin
    hosts: [api.test]
    paths: ['/admin/**']
    decision: deny
    message: the admin API is off limits
`);
  let port = 0;
  let close: () => Promise<void>;
  before(async () => {
    await web.start();
    const p = await startProxy({ policy: pol, resolver: staticResolver({ 'api.test': '127.0.0.2', 'other.test': '127.0.0.2' }) });
    port = p.address.port;
    close = p.close;
  });
  after(async () => { await close(); await web.close(); });

  test('GET /public/x reaches the listener; POST /public/x and GET /admin/x get 403 naming the rule, zero bytes', async () => {
    web.reset();
    assert.equal((await ask(port, get('api.test', web.port, '/public/x'))).status, 'HTTP/1.1 200 OK');
    assert.equal(web.requests.length, 1);
    const post = await ask(port, get('api.test', web.port, '/public/x', 'POST'));
    assert.equal(post.status, 'HTTP/1.1 403 Forbidden');
    assert.match(post.body, /rule "defaults\.http" \(http_rules\) decided deny/);
    const admin = await ask(port, get('api.test', web.port, '/admin/users'));
    assert.equal(admin.status, 'HTTP/1.1 403 Forbidden');
    assert.equal(admin.body, `Cordon denied the connection to api.test:${web.port}/admin/users: rule "no-admin" (http_rules) decided deny. the admin API is off limits\n`);
    assert.equal(web.requests.length, 1);
  });

  test('encoded separators and dot segments cannot smuggle /admin through /public/**', async () => {
    web.reset();
    for (const path of ['/public/..%2fadmin/users', '/public/%2e%2e/admin/users', '/public/..%5cadmin']) {
      const r = await ask(port, get('api.test', web.port, path));
      assert.match(r.status, /^HTTP\/1\.1 40[03]/, path);
    }
    // WHATWG URL parsing resolves literal dot segments before the decision: /admin, denied.
    assert.equal((await ask(port, get('api.test', web.port, '/public/../admin/users'))).status, 'HTTP/1.1 403 Forbidden');
    assert.equal(web.bytes, 0);
  });

  test('a CONNECT tunnel to a host http_rules govern is refused (TLS would hide the path); other hosts tunnel', async () => {
    web.reset();
    const r = await ask(port, `CONNECT api.test:${web.port} HTTP/1.1\r\nHost: api.test:${web.port}\r\n\r\n`);
    assert.equal(r.status, 'HTTP/1.1 403 Forbidden');
    assert.match(r.body, /http-rules-uninspectable/);
    assert.equal(web.connections, 0);
    const ok = await ask(port, `CONNECT other.test:${web.port} HTTP/1.1\r\nHost: other.test:${web.port}\r\n\r\nGET / HTTP/1.1\r\nHost: other.test\r\nConnection: close\r\n\r\n`);
    assert.equal(ok.status, 'HTTP/1.1 200 Connection Established');
    assert.equal(web.requests.length, 1);
  });
});

describe('redirects and approve', () => {
  const target = new Listener('127.0.0.2');
  const original = new Listener('127.0.0.4');
  const mirror = new Listener('127.0.0.3');
  before(async () => { await target.start(); await original.start(target.port); await mirror.start(target.port); });
  after(async () => { await target.close(); await original.close(); await mirror.close(); });

  test('connect_redirects sends old.test to the named target; the original listener gets nothing', async () => {
    const audit = new MemoryAudit();
    const pol = policy(`version: 1
name: redirects
connect_redirects:
  - name: old-to-new
    match: 'old.test:${target.port}'
    redirect_to: '127.0.0.2:${target.port}'
`);
    const p = await startProxy({ policy: pol, audit, resolver: staticResolver({ 'old.test': '127.0.0.4' }) });
    try {
      target.reset();
      original.reset();
      assert.equal((await ask(p.address.port, get('old.test', target.port, '/r'))).status, 'HTTP/1.1 200 OK');
      assert.equal(target.requests.length, 1);
      assert.equal(original.bytes, 0);
      assert.deepEqual([audit.events[0]?.decision, audit.events[0]?.rule], ['redirect', 'old-to-new']);
    } finally {
      await p.close();
    }
  });

  test('dns_redirects answers the policy address for a name (resolver bypassed); control without it goes to the resolver address', async () => {
    const yaml = (withRedirect: boolean) => `version: 1
name: dns-redirects
network_rules:
  - name: mirror
    domains: [pkg.test]
    cidrs: [127.0.0.3/32, 127.0.0.4/32]
    decision: allow
${withRedirect ? `dns_redirects:
  - name: to-mirror
    match: pkg.test
    redirect_ip: 127.0.0.3
` : ''}`;
    for (const withRedirect of [true, false]) {
      const p = await startProxy({ policy: policy(yaml(withRedirect)), resolver: staticResolver({ 'pkg.test': '127.0.0.4' }) });
      try {
        mirror.reset();
        original.reset();
        assert.equal((await ask(p.address.port, get('pkg.test', target.port, '/d'))).status, 'HTTP/1.1 200 OK');
        assert.equal(mirror.requests.length, withRedirect ? 1 : 0);
        assert.equal(original.requests.length, withRedirect ? 0 : 1);
      } finally {
        await p.close();
      }
    }
  });

  test('approve: no approver denies; an approver saying yes allows; one that never answers times out to deny', async () => {
    const pol = policy(`version: 1
name: approve
network_rules:
  - name: ask-first
    domains: [ask.test]
    cidrs: [127.0.0.2/32]
    decision: approve
    timeout: 200ms
`);
    const cases: [Approver | undefined, string][] = [
      [undefined, 'HTTP/1.1 403 Forbidden'],
      [async () => true, 'HTTP/1.1 200 OK'],
      [() => new Promise<boolean>(() => {}), 'HTTP/1.1 403 Forbidden'],
      [async () => false, 'HTTP/1.1 403 Forbidden'],
    ];
    for (const [approver, want] of cases) {
      const p = await startProxy({ policy: pol, approver, resolver: staticResolver({ 'ask.test': '127.0.0.2' }) });
      try {
        target.reset();
        const r = await ask(p.address.port, get('ask.test', target.port, '/a'));
        assert.equal(r.status, want, r.body);
        assert.equal(target.requests.length, want.includes('200') ? 1 : 0);
      } finally {
        await p.close();
      }
    }
  });
});

describe('audit: every attempt recorded; a failed write denies', () => {
  const web = new Listener('127.0.0.2');
  const pol = policy(`version: 1
name: audited
network_rules:
  - name: upstream
    domains: [allowed.test]
    cidrs: [127.0.0.2/32]
    decision: allow
`);
  before(async () => { await web.start(); });
  after(async () => { await web.close(); });

  test('an audit sink that rejects turns allow into deny: zero bytes; the control (working sink) reaches the listener', async () => {
    for (const failing of [true, false]) {
      const audit = new MemoryAudit();
      audit.failing = failing;
      const p = await startProxy({ policy: pol, audit, resolver: staticResolver({ 'allowed.test': '127.0.0.2' }) });
      try {
        web.reset();
        const r = await ask(p.address.port, get('allowed.test', web.port, '/audited'));
        assert.equal(r.status, failing ? 'HTTP/1.1 403 Forbidden' : 'HTTP/1.1 200 OK');
        if (failing) assert.match(r.body, /rule "audit-failed".*could not record this connection/);
        assert.equal(web.bytes > 0, !failing);
      } finally {
        await p.close();
      }
    }
  });

  test('the real audit chain (openAuditLog) records allowed and denied attempts with name, address, port and bytes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cordon-net-audit-'));
    process.env.CORDON_NET_TEST_KEY = 'a'.repeat(64);
    const log = await openAuditLog({ file: join(dir, 'audit.jsonl'), key: { env: 'CORDON_NET_TEST_KEY' } });
    const p = await startProxy({ policy: pol, audit: log, session: 'net-test', resolver: staticResolver({ 'allowed.test': '127.0.0.2', 'denied.test': '127.0.0.9' }) });
    try {
      await ask(p.address.port, get('allowed.test', web.port, '/chain'));
      await ask(p.address.port, get('denied.test', web.port, '/chain'));
      await new Promise((r) => setTimeout(r, 50));
    } finally {
      await p.close();
      await log.close();
    }
    const lines = readFileSync(join(dir, 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { k: string; x: Record<string, unknown> });
    const events = lines.filter((l) => l.k === 'event').map((l) => l.x);
    const subjects = events.map((x) => `${x.operation} ${x.subject} ${x.decision}`);
    assert.ok(subjects.includes(`connect allowed.test:${web.port} allow`), subjects.join('\n'));
    assert.ok(subjects.includes(`connect denied.test:${web.port} deny`), subjects.join('\n'));
    const close = events.find((x) => x.operation === 'close') as { fields: { ip: string; bytesDown: number } } | undefined;
    assert.equal(close?.fields.ip, '127.0.0.2');
    assert.ok((close?.fields.bytesDown ?? 0) > 0);
    rmSync(dir, { recursive: true, force: true });
  });

  test('DNS answers are audited too, and a failing sink turns an allowed name into NXDOMAIN', async () => {
    for (const failing of [false, true]) {
      const audit = new MemoryAudit();
      audit.failing = failing;
      const gw = new Gateway({ policy: pol, audit, resolver: staticResolver({ 'allowed.test': '127.0.0.2' }) });
      const q = Buffer.from('12340100000100000000000007616c6c6f77656404746573740000010001', 'hex');
      const r = (await answerDns(gw, q))!;
      assert.equal(r[3]! & 15, failing ? 3 : 0);
      if (!failing) assert.equal(audit.events[0]?.operation, 'dns');
    }
  });
});
