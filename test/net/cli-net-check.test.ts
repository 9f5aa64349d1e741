// `cordon net check` through the built CLI with real flags: canonical form, decision, exit code.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

const root = new URL('../../../', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'cordon-net-cli-'));
const pol = join(dir, 'p.yaml');
writeFileSync(pol, `version: 1
name: cli
network_rules:
  - name: github
    domains: ['*.github.test']
    ports: [443]
    decision: allow
    message: GitHub over TLS only
`);
after(() => rmSync(dir, { recursive: true, force: true }));

function cordon(...args: string[]) {
  const r = spawnSync(process.execPath, [join(root, 'bin/cordon.js'), 'net', 'check', pol, ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('allowed destination: exit 0, decision and rule on stdout', () => {
  const r = cordon('API.GitHub.test.', '--resolve', 'api.github.test=140.82.112.3');
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out, 'allow api.github.test:443 (140.82.112.3): rule "github" (network_rules): GitHub over TLS only\n');
});

test('same host on another port: exit 1, the default that denied it', () => {
  const r = cordon('api.github.test:22', '--resolve', 'api.github.test=140.82.112.3');
  assert.equal(r.code, 1);
  assert.match(r.out, /^deny api\.github\.test:22 \(140\.82\.112\.3\): rule "defaults\.network"/);
});

test('--json reports the canonical form of an odd spelling and the SSRF guard', () => {
  const r = cordon('http://0251.0376.0251.0376/latest/meta-data', '--json');
  assert.equal(r.code, 1);
  const j = JSON.parse(r.out) as Record<string, unknown>;
  assert.equal(j.canonical, '169.254.169.254:80/latest/meta-data');
  assert.equal(j.allowed, false);
});

test('a target with userinfo is bad input: exit 2 with the reason on stderr', () => {
  const r = cordon('api.github.test@evil.test');
  assert.equal(r.code, 2);
  assert.match(r.err, /^cordon: invalid address .*userinfo/);
});

test('a host http_rules govern: an http:// URL is decided per request (exit 0 / 1 by path); a tunnel to it is refused', () => {
  const gov = join(dir, 'gov.yaml');
  writeFileSync(gov, `version: 1
name: cli-http
network_rules:
  - name: api
    domains: [api.test]
    decision: allow
http_rules:
  - name: read-public
    hosts: [api.test]
    methods: [GET]
    paths: ['/public/**']
    decision: allow
`);
  const check = (target: string) => {
    const r = spawnSync(process.execPath, [join(root, 'bin/cordon.js'), 'net', 'check', gov, target, '--resolve', 'api.test=140.82.112.3'], { encoding: 'utf8' });
    return { code: r.status, out: r.stdout, err: r.stderr };
  };
  const pub = check('http://api.test/public/x');
  assert.equal(pub.code, 0, pub.out + pub.err);
  assert.match(pub.out, /rule "read-public" \(http_rules\)/);
  const admin = check('http://api.test/admin');
  assert.equal(admin.code, 1, admin.out + admin.err);
  const tls = check('https://api.test/public/x');
  assert.equal(tls.code, 1, tls.out + tls.err);
  assert.match(tls.out, /rule "http-rules-uninspectable" \(http_rules\)/);
});
