// http_rules hold on every path, not only the forward proxy: a host they govern is reached only
// as plain HTTP through the forward proxy (each request decided). A SOCKS5 tunnel (ALL_PROXY,
// which Cordon itself sets), a CONNECT on the helper's fast path, and a connection captured
// because the client ignored the proxy (curl --noproxy) are refused before any byte reaches the
// governed host's listener. Control in each case: the same path to a host no http rule names
// reaches its listener.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startEgress, startProxy, staticResolver, type Egress, type Proxy } from '../../src/net/index.js';
import { DocAddresses, Listener, MemoryAudit, policy, requireRoot, SandboxNs } from './helpers/world.js';

const yaml = (api: string, other: string) => `version: 1
name: http-rules-every-path
network_rules:
  - name: upstreams
    domains: [api.test, other.test]
    cidrs: [${api}/32, ${other}/32]
    decision: allow
http_rules:
  - name: read-public
    hosts: [api.test]
    methods: [GET]
    paths: ['/public/**']
    decision: allow
`;

/** SOCKS5 CONNECT by name (as socks5h:// clients send it), then a plain-HTTP POST in the tunnel. */
async function socks5Post(proxyPort: number, host: string, port: number): Promise<{ rep: number; out: string }> {
  const s = net.connect(proxyPort, '127.0.0.1');
  s.on('error', () => {});
  const name = Buffer.from(host);
  s.write(Buffer.from([5, 1, 0]));
  s.write(Buffer.concat([Buffer.from([5, 1, 0, 3, name.length]), name, Buffer.from([port >> 8, port & 255])]));
  s.write(`POST /forbidden HTTP/1.1\r\nHost: ${host}:${port}\r\nContent-Length: 6\r\nConnection: close\r\n\r\nsecret`);
  let out = Buffer.alloc(0);
  try {
    for await (const c of s) out = Buffer.concat([out, c as Buffer]);
  } catch {
    // reset: keep what arrived
  }
  // [5, 0] method choice, then the 10-byte reply whose second byte is REP.
  return { rep: out.length >= 4 ? out[3]! : -1, out: out.subarray(12).toString('latin1') };
}

async function connectPost(proxyPort: number, host: string, port: number): Promise<string> {
  const s = net.connect(proxyPort, '127.0.0.1');
  s.on('error', () => {});
  s.write(`CONNECT ${host}:${port} HTTP/1.1\r\nHost: ${host}:${port}\r\n\r\n`);
  s.write(`POST /forbidden HTTP/1.1\r\nHost: ${host}:${port}\r\nContent-Length: 6\r\nConnection: close\r\n\r\nsecret`);
  let out = '';
  try {
    for await (const c of s) out += (c as Buffer).toString('latin1');
  } catch {
    // reset: keep what arrived
  }
  return out;
}

describe('http_rules outside a sandbox: SOCKS5 (Node proxy) and CONNECT (helper fast path)', () => {
  const api = new Listener('127.0.0.2');
  const other = new Listener('127.0.0.3');
  const pol = policy(yaml('127.0.0.2', '127.0.0.3'));
  const resolver = staticResolver({ 'api.test': '127.0.0.2', 'other.test': '127.0.0.3' });
  let plain: Proxy;
  let fast: Proxy;
  before(async () => {
    await api.start();
    await other.start(api.port);
    plain = await startProxy({ policy: pol, resolver });
    fast = await startProxy({ policy: pol, resolver, fastPath: true });
  });
  after(async () => { await plain?.close(); await fast?.close(); await api.close(); await other.close(); });

  for (const which of ['node', 'fast path'] as const) {
    test(`SOCKS5 (${which}) to a host http_rules govern: reply 0x02, zero bytes at its listener; control host reached`, async () => {
      const port = (which === 'node' ? plain : fast).address.port;
      api.reset();
      other.reset();
      const no = await socks5Post(port, 'api.test', api.port);
      assert.equal(no.rep, 2);
      assert.equal(api.bytes, 0);
      assert.equal(api.connections, 0);
      const ok = await socks5Post(port, 'other.test', api.port);
      assert.equal(ok.rep, 0);
      assert.match(ok.out, /^HTTP\/1\.1 200 OK[\s\S]*hello from 127\.0\.0\.3 POST \/forbidden/);
      assert.deepEqual(other.requests.map((r) => r.method), ['POST']);
    });
  }

  test("SOCKS5 to the governed host's raw address when http_rules name the address: refused; control address reached; forward proxy decides per request", async () => {
    const byIp = await startProxy({ policy: policy(yaml('127.0.0.2', '127.0.0.3').replace('hosts: [api.test]', "hosts: [api.test, '127.0.0.2']")), resolver });
    try {
      api.reset();
      other.reset();
      assert.equal((await socks5Post(byIp.address.port, '127.0.0.2', api.port)).rep, 2);
      assert.equal(api.bytes, 0);
      assert.equal((await socks5Post(byIp.address.port, '127.0.0.3', api.port)).rep, 0);
      assert.equal(other.requests.length, 1);
      // And the same address through the forward proxy is decided per request.
      const s = net.connect(byIp.address.port, '127.0.0.1');
      s.write(`POST http://127.0.0.2:${api.port}/forbidden HTTP/1.1\r\nHost: 127.0.0.2:${api.port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
      let out = '';
      for await (const c of s) out += (c as Buffer).toString();
      assert.match(out, /^HTTP\/1\.1 403[\s\S]*\(http_rules\) decided deny/);
      assert.equal(api.bytes, 0);
    } finally {
      await byIp.close();
    }
  });

  test('CONNECT on the helper fast path to a governed host: 403 naming http-rules-uninspectable, zero bytes; control tunnels', async () => {
    api.reset();
    other.reset();
    const no = await connectPost(fast.address.port, 'api.test', api.port);
    assert.match(no, /^HTTP\/1\.1 403 Forbidden[\s\S]*rule "http-rules-uninspectable" \(http_rules\)/);
    assert.equal(api.bytes, 0);
    assert.equal(api.connections, 0);
    const ok = await connectPost(fast.address.port, 'other.test', api.port);
    assert.match(ok, /^HTTP\/1\.1 200 Connection Established[\s\S]*hello from 127\.0\.0\.3 POST \/forbidden/);
    assert.equal(other.requests.length, 1);
  });
});

describe('http_rules inside a sandbox: ALL_PROXY=socks5h:// and curl --noproxy', () => {
  requireRoot('sandbox http_rules tests');
  const API = '192.0.2.50';
  const OTHER = '192.0.2.51';
  const docs = new DocAddresses([API, OTHER]);
  const sb = new SandboxNs();
  const api = new Listener(API);
  const other = new Listener(OTHER);
  const audit = new MemoryAudit();
  let egress: Egress;
  const PATH = process.env.PATH ?? '/usr/bin:/bin';
  before(async () => {
    await docs.start();
    await sb.start();
    await api.start();
    await other.start(api.port);
    egress = await startEgress({ netns: sb.path, policy: policy(yaml(API, OTHER)), audit, resolver: staticResolver({ 'api.test': API, 'other.test': OTHER }) });
    sb.setResolvConf(egress.resolvConf);
  });
  after(async () => {
    await egress?.close();
    await api.close();
    await other.close();
    await sb.close();
    await docs.close();
  });

  const post = (host: string, extra: string[], env: Record<string, string>) =>
    sb.run(['curl', '-sS', '-m', '5', '-X', 'POST', '--data', 'secret', ...extra, `http://${host}:${api.port}/forbidden`], { env });

  test('ALL_PROXY=socks5h:// POST to the governed host: refused, zero bytes; control host reached', async () => {
    api.reset();
    other.reset();
    const env = { PATH, ALL_PROXY: egress.env.ALL_PROXY! };
    const no = await post('api.test', [], env);
    assert.notEqual(no.code, 0, no.stdout);
    assert.equal(api.bytes, 0);
    assert.equal(api.connections, 0);
    const ok = await post('other.test', [], env);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /hello from 192\.0\.2\.51 POST \/forbidden/);
    assert.ok(audit.events.some((e) => e.rule === 'http-rules-uninspectable' && (e.fields as { via?: string }).via === 'socks5'));
  });

  test("curl --noproxy '*' POST to the governed host (captured): refused, zero bytes; control host reached", async () => {
    api.reset();
    other.reset();
    const no = await post('api.test', ['--noproxy', '*'], { PATH });
    assert.notEqual(no.code, 0, no.stdout);
    assert.equal(api.bytes, 0);
    assert.equal(api.connections, 0);
    const ok = await post('other.test', ['--noproxy', '*'], { PATH });
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /hello from 192\.0\.2\.51 POST \/forbidden/);
    assert.ok(audit.events.some((e) => e.rule === 'http-rules-uninspectable' && (e.fields as { via?: string }).via === 'transparent'));
  });

  test('the governed host stays usable the inspected way: GET /public through HTTP_PROXY reaches it, POST gets 403', async () => {
    api.reset();
    const env = { PATH, HTTP_PROXY: egress.env.HTTP_PROXY!, http_proxy: egress.env.http_proxy! };
    const ok = await sb.run(['curl', '-sS', '-m', '5', `http://api.test:${api.port}/public/x`], { env });
    assert.match(ok.stdout, /hello from 192\.0\.2\.50 GET \/public\/x/, ok.stderr);
    const no = await post('api.test', ['-w', '%{http_code}'], env);
    assert.match(no.stdout, /\(http_rules\) decided deny[\s\S]*403$/);
    assert.deepEqual(api.requests.map((r) => r.url), ['/public/x']);
  });
});
