// TLS inspection end to end through the real CLI: `cordon run --inspect-tls` with real clients
// inside the sandbox — curl and python urllib (through HTTPS_PROXY: CONNECT) and node fetch
// (which ignores proxy variables: captured on port 443) — against HTTPS upstreams this test
// starts on documentation addresses, with its own test CA that the policy's
// tls_inspection.upstream_ca tells Cordon to trust. Controlled pairs: the allowed path reaches
// the server; the denied path delivers zero requests and the client reads the 403 naming the
// rule; the same request under the policy without the deny rule reaches the server.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DocAddresses, requireRoot } from './helpers/world.js';
import { HttpsListener, selfSigned, TestCa } from './helpers/tls-world.js';

const root = new URL('../../../', import.meta.url).pathname;
const API = '192.0.2.70';
const BAD = '192.0.2.71';

function cordonRun(args: string[], argv: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((res) => {
    const c = spawn(process.execPath, [join(root, 'bin/cordon.js'), 'run', ...args, '--', ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    c.stdout.on('data', (x: Buffer) => { out += x.toString(); });
    c.stderr.on('data', (x: Buffer) => { err += x.toString(); });
    c.on('close', (code) => res({ code, out, err }));
  });
}

const curl = (url: string, extra: string[] = []) => ['/usr/bin/curl', '-sS', '-m', '15', '-w', '\n%{http_code}', ...extra, url];
const nodeFetch = (url: string) => [process.execPath, '-e', `fetch(${JSON.stringify(url)}).then(async (r) => process.stdout.write(await r.text() + '\\n' + r.status), (e) => { console.error(e.cause ?? e); process.exit(3); })`];
const pyUrllib = (url: string) => ['/usr/bin/python3', '-c', `import urllib.request, urllib.error, sys
try:
    r = urllib.request.urlopen(${JSON.stringify(url)}, timeout=15)
    sys.stdout.write(r.read().decode() + "\\n" + str(r.status))
except urllib.error.HTTPError as e:
    sys.stdout.write(e.read().decode() + "\\n" + str(e.code))
`];

describe('cordon run --inspect-tls: per-request decisions inside HTTPS', () => {
  requireRoot('TLS inspection sandbox test');
  const docs = new DocAddresses([API, BAD]);
  const testCa = new TestCa();
  const api = new HttpsListener(API, testCa.server(['api.test']));
  const bad = new HttpsListener(BAD, selfSigned('bad.test'));
  const dir = mkdtempSync(join(tmpdir(), 'cordon-tls-run-'));
  const caFile = join(dir, 'test-ca.pem');
  const withDeny = join(dir, 'with-deny.yaml');
  const control = join(dir, 'control.yaml');
  const auditFile = join(dir, 'audit.jsonl');
  const policyText = (deny: boolean) => `version: 1
name: tls-inspect-run
extends: agent-default
network_rules:
  - name: api
    domains: [api.test, bad.test]
    cidrs: [${API}/32, ${BAD}/32]
    ports: [443]
    decision: allow
http_rules:
${deny ? `  - name: no-secrets
    hosts: [api.test, bad.test]
    paths: ['/secret/**']
    decision: deny
    message: secrets stay inside
` : ''}  - name: api-all
    hosts: [api.test, bad.test]
    decision: allow
tls_inspection:
  enabled: false
  upstream_ca: [${caFile}]
dns_redirects:
  - match: api.test
    redirect_ip: ${API}
  - match: bad.test
    redirect_ip: ${BAD}
`;

  before(async () => {
    await docs.start();
    await api.start(443);
    await bad.start(443);
    writeFileSync(caFile, testCa.certPem);
    writeFileSync(withDeny, policyText(true));
    writeFileSync(control, policyText(false));
  });
  after(async () => {
    await api.close();
    await bad.close();
    await docs.close();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const [client, make] of [['curl (CONNECT via HTTPS_PROXY)', curl], ['node fetch (captured on 443)', nodeFetch], ['python urllib (CONNECT via https_proxy)', pyUrllib]] as const) {
    test(`${client}: allowed path reached; denied path 403 naming the rule, zero requests; control without the rule reached`, async () => {
      api.reset();
      const ok = await cordonRun(['--policy', withDeny, '--inspect-tls'], make('https://api.test/ok/1'));
      assert.equal(ok.code, 0, ok.err);
      assert.equal(ok.out, `hello over TLS from ${API} GET /ok/1\n\n200`);
      assert.deepEqual(api.requests.map((r) => [r.method, r.url, r.host]), [['GET', '/ok/1', 'api.test']]);

      api.reset();
      const no = await cordonRun(['--policy', withDeny, '--inspect-tls'], make('https://api.test/secret/keys'));
      assert.equal(no.code, 0, no.err);
      assert.equal(no.out, 'Cordon denied the connection to api.test:443/secret/keys: rule "no-secrets" (http_rules) decided deny. secrets stay inside\n\n403');
      assert.equal(api.requests.length, 0);

      const ctl = await cordonRun(['--policy', control, '--inspect-tls'], make('https://api.test/secret/keys'));
      assert.equal(ctl.code, 0, ctl.err);
      assert.equal(ctl.out, `hello over TLS from ${API} GET /secret/keys\n\n200`);
      assert.deepEqual(api.requests.map((r) => r.url), ['/secret/keys']);
    });
  }

  test('without --inspect-tls the same HTTPS request is refused (http-rules-uninspectable) and nothing reaches the server', async () => {
    api.reset();
    const r = await cordonRun(['--policy', control], curl('https://api.test/ok/1', ['-v']));
    assert.notEqual(r.code, 0);
    assert.match(r.out + r.err, /403/);
    const f = await cordonRun(['--policy', control], nodeFetch('https://api.test/ok/1'));
    assert.notEqual(f.code, 0);
    assert.equal(api.connections, 0);
    // And no CA variables are set: nothing changes without the opt-in.
    const env = await cordonRun(['--policy', control], ['/usr/bin/env']);
    assert.equal(env.code, 0, env.err);
    assert.doesNotMatch(env.out, /cordon-tls-/);
  });

  test('an upstream whose certificate does not verify is refused with a clear message; zero requests reach it', async () => {
    bad.reset();
    const r = await cordonRun(['--policy', withDeny, '--inspect-tls'], curl('https://bad.test/ok/1'));
    assert.match(r.out, /^Cordon refused the request to bad\.test:443\/ok\/1: the upstream bad\.test:443 presented a certificate that does not verify for bad\.test \(DEPTH_ZERO_SELF_SIGNED_CERT: .*\); Cordon does not pass requests to an unverified upstream\n\n502$/);
    assert.equal(bad.requests.length, 0);
  });

  test('a Host header naming another host than the SNI and CONNECT target is refused (421); zero requests', async () => {
    api.reset();
    bad.reset();
    const r = await cordonRun(['--policy', control, '--inspect-tls'], curl('https://api.test/ok/1', ['-H', 'Host: bad.test']));
    assert.match(r.out, /Host header "bad\.test" does not match api\.test:443, the host this connection was decided for\n\n421$/);
    assert.equal(api.requests.length, 0);
    assert.equal(bad.connections, 0);
  });

  test('inside the sandbox: the CA bundle is system + session CA, readable but not writable, and no CA key is reachable', async () => {
    const script = [
      'for v in SSL_CERT_FILE NODE_EXTRA_CA_CERTS REQUESTS_CA_BUNDLE CURL_CA_BUNDLE GIT_SSL_CAINFO; do eval "echo $v=\\$$v"; done',
      'echo certs=$(grep -c "BEGIN CERTIFICATE" "$SSL_CERT_FILE")',
      'echo keys=$(grep -c "PRIVATE KEY" "$SSL_CERT_FILE")',
      'echo envkeys=$(env | grep -c "PRIVATE KEY")',
      '(echo x >> "$SSL_CERT_FILE") 2>/dev/null && echo append=yes || echo append=no',
      '(chmod 644 "$SSL_CERT_FILE") 2>/dev/null && echo chmod=yes || echo chmod=no',
      '(rm -f "$SSL_CERT_FILE") 2>/dev/null && echo rm=yes || echo rm=no',
      'echo dirfiles=$(ls -A "$(dirname "$SSL_CERT_FILE")" | tr "\\n" " ")',
      'echo cordonvisible=$(cat /proc/[0-9]*/cmdline 2>/dev/null | tr "\\0" " " | grep -c "bin/cordon[.]js")',
    ].join('\n');
    const r = await cordonRun(['--policy', withDeny, '--inspect-tls', '--audit', auditFile], ['/bin/sh', '-c', script]);
    assert.equal(r.code, 0, r.err);
    const kv = Object.fromEntries(r.out.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    const bundle = kv.SSL_CERT_FILE!;
    assert.match(bundle, /\/cordon-tls-[^/]+\/ca-bundle\.pem$/);
    for (const v of ['NODE_EXTRA_CA_CERTS', 'REQUESTS_CA_BUNDLE', 'CURL_CA_BUNDLE', 'GIT_SSL_CAINFO']) assert.equal(kv[v], bundle, v);
    const system = readFileSync('/etc/ssl/certs/ca-certificates.crt', 'utf8').match(/BEGIN CERTIFICATE/g)!.length;
    assert.equal(Number(kv.certs), system + 1);
    assert.deepEqual([kv.keys, kv.envkeys, kv.append, kv.chmod, kv.rm, kv.dirfiles!.trim(), kv.cordonvisible], ['0', '0', 'no', 'no', 'no', 'ca-bundle.pem', '0']);
    // Control for the write refusal: the same shell can write its own file in the same /tmp.
    const w = await cordonRun(['--policy', withDeny, '--inspect-tls'], ['/bin/sh', '-c', `echo x >> ${join(dir, 'writable')} && echo ok`]);
    assert.equal(w.out.trim(), 'ok', w.err);
    assert.throws(() => readFileSync(bundle), /ENOENT/, 'the session bundle is removed when the session ends');
  });

  test('every inspected request is in the audit log with method, host, path, bytes and decision', async () => {
    rmSync(auditFile, { force: true });
    api.reset();
    await cordonRun(['--policy', withDeny, '--inspect-tls', '--audit', auditFile], ['/bin/sh', '-c', 'curl -sS -m 15 https://api.test/ok/2 -d hello; curl -sS -m 15 https://api.test/secret/x']);
    type Ev = Record<string, unknown> & { fields?: Record<string, unknown> };
    const events = readFileSync(auditFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { k: string; x: Ev }).filter((l) => l.k === 'event').map((l) => l.x);
    const pick = (e: (typeof events)[number]) => ({ kind: e.kind, op: e.operation, decision: e.decision, rule: e.rule, host: e.fields?.host, path: e.fields?.path });
    const http = events.filter((e) => e.kind === 'http').map(pick);
    assert.deepEqual(http, [
      { kind: 'http', op: 'POST', decision: 'allow', rule: 'api-all', host: 'api.test', path: '/ok/2' },
      { kind: 'http', op: 'GET', decision: 'deny', rule: 'no-secrets', host: 'api.test', path: '/secret/x' },
    ]);
    const done = events.find((e) => e.operation === 'close' && e.fields?.path === '/ok/2');
    assert.ok(done, 'completion event');
    assert.equal(done.fields?.method, 'POST');
    assert.equal(done.fields?.bytesUp, 5);
    assert.ok(Number(done.fields?.bytesDown) > 20);
    assert.deepEqual(api.requests.map((r) => [r.method, r.url, r.body]), [['POST', '/ok/2', 'hello']]);
  });
});
