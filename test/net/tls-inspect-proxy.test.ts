// Opt-in TLS inspection through Cordon's proxy (startProxy, Node relay and helper fast path):
// HTTPS requests to a host http_rules govern are decided one by one. Controlled pairs against
// HTTPS upstreams the test starts on loopback with its own test CA (which the policy's
// tls_inspection.upstream_ca tells Cordon to trust): the allowed path reaches the server, the
// denied path delivers zero requests and the client reads the 403 naming the rule, and the
// same request under the policy without the deny rule reaches the server.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { startProxy, staticResolver, type Proxy } from '../../src/net/index.js';
import { MemoryAudit, policy, run } from './helpers/world.js';
import { HttpsListener, selfSigned, TestCa } from './helpers/tls-world.js';

const dir = mkdtempSync(join(tmpdir(), 'cordon-tls-inspect-'));
const caFile = join(dir, 'test-ca.pem');
const resolver = staticResolver({ 'api.test': '127.0.0.2', 'bad.test': '127.0.0.3', 'plain.test': '127.0.0.4', 'other.test': '127.0.0.2' });

function yaml(o: { deny: boolean; inspect: boolean }): string {
  return `version: 1
name: tls-inspect-proxy
network_rules:
  - name: upstreams
    domains: [api.test, bad.test, plain.test, other.test]
    cidrs: [127.0.0.2/32, 127.0.0.3/32, 127.0.0.4/32]
    decision: allow
http_rules:
${o.deny ? `  - name: no-secrets
    hosts: [api.test, bad.test, other.test]
    paths: ['/secret/**']
    decision: deny
    message: secrets stay inside
` : ''}  - name: api-read
    hosts: [api.test, bad.test, other.test]
    methods: [GET, POST]
    decision: allow
${o.inspect ? `tls_inspection:
  enabled: true
  upstream_ca: [${caFile}]
` : ''}`;
}

/** CONNECT through the proxy, then TLS with `sni`, then one raw request; returns what came back. */
function rawThroughTunnel(p: Proxy, target: string, sni: string, ca: string, request: string): Promise<{ status: number; text: string; error?: string }> {
  return new Promise((resolve) => {
    const req = http.request({ host: p.address.host, port: p.address.port, method: 'CONNECT', path: target, headers: { host: target } });
    req.on('connect', (res, sock) => {
      if (res.statusCode !== 200) { resolve({ status: res.statusCode ?? 0, text: '' }); sock.destroy(); return; }
      const t = tls.connect({ socket: sock, servername: sni, ca: readFileSync(ca, 'utf8') });
      let text = '';
      t.on('secureConnect', () => t.write(request));
      t.on('data', (c: Buffer) => { text += c.toString(); });
      t.on('error', (e) => resolve({ status: 0, text, error: e.message }));
      t.on('close', () => resolve({ status: Number(/^HTTP\/1\.1 (\d+)/.exec(text)?.[1] ?? 0), text }));
    });
    req.on('error', (e) => resolve({ status: 0, text: '', error: e.message }));
    req.end();
  });
}

for (const fastPath of [false, true]) {
  describe(`TLS inspection through startProxy (${fastPath ? 'helper fast path' : 'Node relay'})`, () => {
    const testCa = new TestCa();
    const api = new HttpsListener('127.0.0.2', testCa.server(['api.test', 'other.test']));
    const bad = new HttpsListener('127.0.0.3', selfSigned('bad.test'));
    const plain = new HttpsListener('127.0.0.4', testCa.server(['plain.test']));
    const audit = new MemoryAudit();
    let withDeny: Proxy;
    let control: Proxy;
    let off: Proxy;
    let bundle: string;

    before(async () => {
      writeFileSync(caFile, testCa.certPem);
      await api.start();
      await bad.start();
      await plain.start();
      const common = { resolver, ...(fastPath ? { fastPath: true } : {}) };
      withDeny = await startProxy({ ...common, policy: policy(yaml({ deny: true, inspect: true })), audit });
      control = await startProxy({ ...common, policy: policy(yaml({ deny: false, inspect: true })) });
      off = await startProxy({ ...common, policy: policy(yaml({ deny: true, inspect: false })) });
      // Clients trust the session CA (Cordon's bundle) and, for the uninspected host, the test CA.
      bundle = join(dir, `client-bundle-${fastPath}.pem`);
      writeFileSync(bundle, readFileSync(withDeny.inspectionBundle!, 'utf8') + readFileSync(control.inspectionBundle!, 'utf8') + testCa.certPem);
    });

    after(async () => {
      for (const p of [withDeny, control, off]) await p?.close();
      for (const l of [api, bad, plain]) await l.close();
    });

    const curl = (p: Proxy, url: string, extra: string[] = []) =>
      run('curl', ['-sS', '-m', '10', '--proxy', p.url, '--cacert', bundle, '-w', '\n%{http_code}', ...extra, url]);

    test('curl: allowed path reaches the upstream; denied path gets the 403 naming the rule and delivers zero requests; control reaches it', async () => {
      api.reset();
      const ok = await curl(withDeny, `https://api.test:${api.port}/ok/1?q=2`);
      assert.equal(ok.code, 0, ok.stderr);
      assert.match(ok.stdout, /hello over TLS from 127\.0\.0\.2 GET \/ok\/1\?q=2\n\n200$/);
      assert.deepEqual(api.requests.map((r) => [r.method, r.url, r.host]), [['GET', '/ok/1?q=2', `api.test:${api.port}`]]);

      api.reset();
      const no = await curl(withDeny, `https://api.test:${api.port}/secret/keys`);
      assert.equal(no.code, 0, no.stderr);
      assert.equal(no.stdout, `Cordon denied the connection to api.test:${api.port}/secret/keys: rule "no-secrets" (http_rules) decided deny. secrets stay inside\n\n403`);
      assert.equal(api.requests.length, 0);

      const ctl = await curl(control, `https://api.test:${api.port}/secret/keys`);
      assert.equal(ctl.code, 0, ctl.stderr);
      assert.match(ctl.stdout, /GET \/secret\/keys\n\n200$/);
      assert.deepEqual(api.requests.map((r) => r.url), ['/secret/keys']);
    });

    test('method rules hold inside TLS: DELETE is not in api-read, so it is denied and never reaches the upstream', async () => {
      api.reset();
      const no = await curl(withDeny, `https://api.test:${api.port}/ok/1`, ['-X', 'DELETE']);
      assert.match(no.stdout, /rule "default" \(http_rules\)|decided deny/);
      assert.match(no.stdout, /403$/);
      assert.equal(api.requests.length, 0);
      const post = await curl(withDeny, `https://api.test:${api.port}/ok/upload`, ['--data', 'x=1']);
      assert.match(post.stdout, /POST \/ok\/upload\n\n200$/);
      assert.deepEqual(api.requests.map((r) => [r.method, r.body]), [['POST', 'x=1']]);
    });

    test('SOCKS5 (socks5h://) to the governed host is inspected the same way: allowed reached, denied 403 with zero requests', async () => {
      api.reset();
      const socks = `socks5h://${withDeny.address.host}:${withDeny.address.port}`;
      const ok = await run('curl', ['-sS', '-m', '10', '--proxy', socks, '--cacert', bundle, '-w', '\n%{http_code}', `https://api.test:${api.port}/ok/socks`]);
      assert.equal(ok.code, 0, ok.stderr);
      assert.match(ok.stdout, /GET \/ok\/socks\n\n200$/);
      const no = await run('curl', ['-sS', '-m', '10', '--proxy', socks, '--cacert', bundle, '-w', '\n%{http_code}', `https://api.test:${api.port}/secret/socks`]);
      assert.match(no.stdout, /rule "no-secrets" \(http_rules\) decided deny\. secrets stay inside\n\n403$/);
      assert.deepEqual(api.requests.map((r) => r.url), ['/ok/socks']);
    });

    test('without the opt-in, a CONNECT to a host http_rules govern is refused (http-rules-uninspectable), zero bytes upstream', async () => {
      api.reset();
      const r = await run('curl', ['-sS', '-m', '10', '--proxy', off.url, '--cacert', bundle, `https://api.test:${api.port}/ok/1`]);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /403/);
      assert.equal(api.connections, 0);
      const raw = await rawThroughTunnel(off, `api.test:${api.port}`, 'api.test', bundle, 'GET / HTTP/1.1\r\nHost: api.test\r\n\r\n');
      assert.equal(raw.status, 403);
      assert.equal(api.connections, 0);
    });

    test('hosts no http_rules entry names are not inspected: the client sees the upstream\'s own certificate', async () => {
      plain.reset();
      const r = await run('curl', ['-sS', '-m', '10', '-v', '--proxy', withDeny.url, '--cacert', bundle, `https://plain.test:${plain.port}/x`]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /issuer: CN=Cordon test upstream CA/);
      assert.deepEqual(plain.requests.map((q) => q.url), ['/x']);
      api.reset();
      const i = await run('curl', ['-sS', '-m', '10', '-v', '--proxy', withDeny.url, '--cacert', bundle, `https://api.test:${api.port}/ok/2`]);
      assert.equal(i.code, 0, i.stderr);
      assert.match(i.stderr, /issuer: CN=Cordon TLS inspection CA/);
    });

    test('an upstream whose certificate does not verify is refused with a clear message; no request reaches it', async () => {
      bad.reset();
      const r = await curl(withDeny, `https://bad.test:${bad.port}/ok/1`);
      assert.match(r.stdout, /Cordon refused the request to bad\.test:\d+\/ok\/1: the upstream bad\.test:\d+ presented a certificate that does not verify for bad\.test \(DEPTH_ZERO_SELF_SIGNED_CERT/);
      assert.match(r.stdout, /502$/);
      assert.equal(bad.requests.length, 0);
      const ev = audit.events.find((e) => e.rule === 'upstream-certificate');
      assert.ok(ev, 'upstream certificate failure audited');
      assert.equal(ev.decision, 'deny');
    });

    test('SNI naming another host than the CONNECT target is refused before any request goes upstream', async () => {
      api.reset();
      const r = await rawThroughTunnel(withDeny, `api.test:${api.port}`, 'other.test', bundle, `GET /ok/1 HTTP/1.1\r\nHost: other.test:${api.port}\r\n\r\n`);
      assert.ok(r.error, 'handshake refused');
      assert.equal(api.requests.length, 0);
      assert.ok(audit.events.some((e) => e.rule === 'host-agreement' && /TLS SNI names other\.test but the connection was decided for api\.test/.test(String(e.fields?.reason))));
      // Control: the same tunnel with agreeing names reaches the upstream.
      const ok = await rawThroughTunnel(withDeny, `api.test:${api.port}`, 'api.test', bundle, `GET /ok/1 HTTP/1.1\r\nHost: api.test:${api.port}\r\nConnection: close\r\n\r\n`);
      assert.equal(ok.status, 200, ok.error);
      assert.equal(api.requests.length, 1);
    });

    test('a Host header naming another host than SNI and CONNECT target gets 421; zero requests upstream', async () => {
      api.reset();
      const r = await curl(withDeny, `https://api.test:${api.port}/ok/1`, ['-H', `Host: other.test:${api.port}`]);
      assert.match(r.stdout, /Host header "other\.test:\d+" does not match api\.test:\d+, the host this connection was decided for\n\n421$/);
      assert.equal(api.requests.length, 0);
    });

    test('a protocol upgrade (WebSocket) on an inspected host is refused; zero requests upstream', async () => {
      api.reset();
      const r = await curl(withDeny, `https://api.test:${api.port}/ok/ws`, ['-H', 'Upgrade: websocket', '-H', 'Connection: Upgrade']);
      assert.match(r.stdout, /Cordon refused a protocol upgrade \(websocket\) to api\.test[\s\S]*403$/);
      assert.equal(api.requests.length, 0);
    });

    test('plain HTTP inside a CONNECT tunnel to an inspected host is not TLS: closed, zero bytes upstream', async () => {
      api.reset();
      const r = await run('curl', ['-sS', '-m', '10', '--proxytunnel', '--proxy', withDeny.url, `http://api.test:${api.port}/ok/plain`]);
      assert.notEqual(r.code, 0);
      assert.equal(api.connections, 0);
    });

    test('every inspected request is audited with method, host, path, bytes and decision', async () => {
      const reqs = audit.events.filter((e) => e.kind === 'http');
      const denied = reqs.find((e) => e.fields?.path === '/secret/keys');
      assert.ok(denied);
      assert.deepEqual({ op: denied.operation, decision: denied.decision, rule: denied.rule, host: denied.fields?.host, subject: denied.subject },
        { op: 'GET', decision: 'deny', rule: 'no-secrets', host: 'api.test', subject: `api.test:${api.port}/secret/keys` });
      const allowed = reqs.find((e) => e.fields?.path === '/ok/1' && e.decision === 'allow');
      assert.ok(allowed);
      const done = audit.events.find((e) => e.operation === 'close' && e.fields?.path === '/ok/upload');
      assert.ok(done, 'completion event with bytes');
      assert.equal(done.fields?.method, 'POST');
      assert.equal(done.fields?.bytesUp, 3);
      assert.ok(Number(done.fields?.bytesDown) > 20);
    });
  });
}

after(() => rmSync(dir, { recursive: true, force: true }));
