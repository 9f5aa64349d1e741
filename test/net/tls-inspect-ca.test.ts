// The session CA and the tls_inspection policy field: the CA is short-lived and name-constrained
// to the hosts http_rules name (OpenSSL itself refuses a leaf for any other name, which is what
// a leaked key would be used for), leaves chain to it, and a policy or setup that cannot be
// carried out is refused instead of silently running without inspection.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import forge from 'node-forge';
import { SessionCa } from '../../src/net/ca.js';
import { EgressError, startProxy, staticResolver } from '../../src/net/index.js';
import { loadPolicy, PolicyError } from '../../src/policy/index.js';
import { policy } from './helpers/world.js';

const dir = mkdtempSync(join(tmpdir(), 'cordon-tls-ca-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** `openssl verify` of a leaf against only this CA (no system store); returns its output. */
function opensslVerify(caPem: string, leafPem: string, host: string): { ok: boolean; out: string } {
  const ca = join(dir, 'ca.pem');
  const leaf = join(dir, 'leaf.pem');
  writeFileSync(ca, caPem);
  writeFileSync(leaf, leafPem.slice(0, leafPem.indexOf('-----END CERTIFICATE-----') + 25));
  const r = spawnSync('openssl', ['verify', '-no-CApath', '-no-CAstore', '-CAfile', ca, '-verify_hostname', host, '-purpose', 'sslserver', leaf], { encoding: 'utf8' });
  return { ok: r.status === 0, out: r.stdout + r.stderr };
}

describe('session CA', () => {
  let ca: SessionCa;
  before(async () => { ca = await SessionCa.create({ hosts: ['api.test', '*.svc.test'], label: 'test' }); });

  test('is a CA for one day at most, with critical name constraints, and chains the leaves it mints', () => {
    const c = new X509Certificate(ca.certPem);
    assert.equal(c.ca, true);
    const life = Date.parse(c.validTo) - Date.parse(c.validFrom);
    assert.ok(life <= 24 * 3600_000 + 10 * 60_000, `validity ${life} ms`);
    assert.equal(ca.constrained, true);
    const text = spawnSync('openssl', ['x509', '-noout', '-ext', 'nameConstraints'], { input: ca.certPem, encoding: 'utf8' }).stdout;
    assert.match(text, /X509v3 Name Constraints: critical/);
    assert.match(text, /Permitted:\s+DNS:api\.test\s+DNS:svc\.test/);
    assert.match(text, /Excluded:\s+IP:0\.0\.0\.0\/0\.0\.0\.0\s+IP:0:0:0:0:0:0:0:0\/0:0:0:0:0:0:0:0/);
    for (const host of ['api.test', 'a.svc.test']) {
      const leaf = ca.leaf(host);
      const v = opensslVerify(ca.certPem, leaf.certPem, host);
      assert.equal(v.ok, true, v.out);
      assert.equal(ca.leaf(host), leaf, 'cached per host');
    }
  });

  test('OpenSSL refuses a leaf for a name outside the constraints (what a leaked key would sign)', () => {
    // Control: the same signing path for a permitted name verifies (previous test); here the
    // CA's key signs a leaf for another name, and the name constraints make it worthless.
    const evil = ca.leaf('evil.example');
    const v = opensslVerify(ca.certPem, evil.certPem, 'evil.example');
    assert.equal(v.ok, false);
    assert.match(v.out, /permitted subtree violation/);
    // No address is named in http_rules, so every address is excluded.
    const ip = opensslVerify(ca.certPem, ca.leaf('192.0.2.1').certPem, '192.0.2.1');
    assert.equal(ip.ok, false);
    assert.match(ip.out, /excluded subtree violation/);
  });

  test('the private key is not part of anything the CA hands out', () => {
    assert.doesNotMatch(ca.certPem, /PRIVATE KEY/);
    assert.doesNotMatch(ca.leaf('api.test').certPem, /PRIVATE KEY/);
    // The leaf key is not the CA key: it cannot sign a certificate that chains.
    const leafKey = forge.pki.privateKeyFromPem(ca.leaf('api.test').keyPem) as forge.pki.rsa.PrivateKey;
    const caCert = forge.pki.certificateFromPem(ca.certPem);
    assert.notEqual((caCert.publicKey as forge.pki.rsa.PublicKey).n.toString(16), leafKey.n.toString(16));
  });

  test('address hosts become iPAddress constraints: a leaf for the named address verifies, another address does not', async () => {
    const ipCa = await SessionCa.create({ hosts: ['192.0.2.7', '2001:db8::7'] });
    const text = spawnSync('openssl', ['x509', '-noout', '-ext', 'nameConstraints'], { input: ipCa.certPem, encoding: 'utf8' }).stdout;
    assert.match(text, /IP:192\.0\.2\.7\/255\.255\.255\.255/);
    assert.match(text, /IP:2001:DB8:0:0:0:0:0:7\/FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF/i);
    assert.equal(opensslVerify(ipCa.certPem, ipCa.leaf('192.0.2.7').certPem, '192.0.2.7').ok, true);
    const other = opensslVerify(ipCa.certPem, ipCa.leaf('192.0.2.8').certPem, '192.0.2.8');
    assert.equal(other.ok, false);
    assert.match(other.out, /permitted subtree violation/);
  });

  test('a hosts glob with no fixed suffix leaves the CA unconstrained (documented), still session-scoped', async () => {
    assert.equal((await SessionCa.create({ hosts: ['*'] })).constrained, false);
  });
});

describe('tls_inspection policy field', () => {
  const base = `version: 1
name: t
network_rules:
  - { name: api, domains: [api.test], decision: allow }
`;
  test('enabled with no http_rules is refused as inert; relative upstream_ca and unknown keys are refused', () => {
    assert.throws(() => loadPolicy({ text: `${base}tls_inspection: { enabled: true }\n`, vars: {} }), (e: unknown) => e instanceof PolicyError && /inspects only hosts that http_rules name/.test(e.message));
    const withRules = `${base}http_rules:\n  - { name: r, hosts: [api.test], decision: allow }\n`;
    assert.throws(() => loadPolicy({ text: `${withRules}tls_inspection: { enabled: true, upstream_ca: [ca.pem] }\n`, vars: {} }), /must be an absolute path/);
    assert.throws(() => loadPolicy({ text: `${withRules}tls_inspection: { enabled: true, verify: false }\n`, vars: {} }), /unknown key "verify"/);
    assert.equal(loadPolicy({ text: `${withRules}tls_inspection: { enabled: true }\n`, vars: {} }).tls_inspection?.enabled, true);
  });

  test('an unreadable upstream_ca fails the egress start (no run without the trust it names)', async () => {
    const p = policy(`${base}http_rules:\n  - { name: r, hosts: [api.test], decision: allow }\ntls_inspection: { enabled: true, upstream_ca: [${join(dir, 'missing.pem')}] }\n`);
    await assert.rejects(startProxy({ policy: p, resolver: staticResolver({}) }), (e: unknown) => e instanceof EgressError && /tls_inspection\.upstream_ca file .*missing\.pem cannot be read/.test(e.message));
    writeFileSync(join(dir, 'empty.pem'), 'not a certificate\n');
    const q = policy(`${base}http_rules:\n  - { name: r, hosts: [api.test], decision: allow }\ntls_inspection: { enabled: true, upstream_ca: [${join(dir, 'empty.pem')}] }\n`);
    await assert.rejects(startProxy({ policy: q, resolver: staticResolver({}) }), /holds no PEM certificate/);
  });

  test('without the opt-in, startProxy sets up nothing (no CA, no bundle)', async () => {
    const p = await startProxy({ policy: policy(`${base}http_rules:\n  - { name: r, hosts: [api.test], decision: allow }\n`), resolver: staticResolver({}) });
    assert.equal(p.inspectionCaPem, undefined);
    assert.equal(p.inspectionBundle, undefined);
    await p.close();
  });
});
