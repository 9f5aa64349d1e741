// End to end through the real CLI: `cordon run` puts the command in a network namespace and
// starts this part's egress for it. A proxy-aware client and a proxy-ignoring one reach the
// allowed listener; the denied name delivers zero bytes. Names come from dns_redirects (the
// policy's own answers), so the host's resolver is never asked.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DocAddresses, Listener, requireRoot } from './helpers/world.js';

const root = new URL('../../../', import.meta.url).pathname;

function cordonRun(policyFile: string, argv: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((res) => {
    const c = spawn(process.execPath, [join(root, 'bin/cordon.js'), 'run', '--policy', policyFile, '--', ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    c.stdout.on('data', (x: Buffer) => { out += x.toString(); });
    c.stderr.on('data', (x: Buffer) => { err += x.toString(); });
    c.on('close', (code) => res({ code, out, err }));
  });
}

describe('cordon run uses the egress', () => {
  requireRoot('cordon run egress test');
  const docs = new DocAddresses(['192.0.2.40', '192.0.2.41']);
  const allowed = new Listener('192.0.2.40');
  const denied = new Listener('192.0.2.41');
  const dir = mkdtempSync(join(tmpdir(), 'cordon-net-run-'));
  const pol = join(dir, 'policy.yaml');
  before(async () => {
    await docs.start();
    await allowed.start();
    await denied.start(allowed.port);
    writeFileSync(pol, `version: 1
name: run-egress
extends: agent-default
network_rules:
  - name: site
    domains: [site.test]
    cidrs: [192.0.2.40/32]
    decision: allow
  - name: not-that-one
    domains: [other.test]
    decision: deny
    message: other.test is off limits
dns_redirects:
  - match: site.test
    redirect_ip: 192.0.2.40
  - match: other.test
    redirect_ip: 192.0.2.41
`);
  });
  after(async () => {
    await allowed.close();
    await denied.close();
    await docs.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('curl with the proxy variables cordon run sets: allowed reached, denied gets the 403 body', async () => {
    const ok = await cordonRun(pol, ['curl', '-sS', '-m', '10', `http://site.test:${allowed.port}/via-proxy`]);
    assert.equal(ok.code, 0, ok.err);
    assert.match(ok.out, /hello from 192\.0\.2\.40 GET \/via-proxy/);
    const no = await cordonRun(pol, ['curl', '-sS', '-m', '10', `http://other.test:${allowed.port}/via-proxy`]);
    assert.match(no.out, /rule "not-that-one" \(network_rules\) decided deny\. other\.test is off limits/);
    assert.equal(denied.bytes, 0);
  });

  test('curl ignoring proxy variables (--noproxy): captured, decided on the name; denied name never connects', async () => {
    const ok = await cordonRun(pol, ['curl', '-sS', '-m', '10', '--noproxy', '*', `http://site.test:${allowed.port}/direct`]);
    assert.equal(ok.code, 0, ok.err);
    assert.match(ok.out, /GET \/direct/);
    const no = await cordonRun(pol, ['curl', '-sS', '-m', '10', '--noproxy', '*', `http://other.test:${allowed.port}/direct`]);
    assert.notEqual(no.code, 0);
    assert.equal(denied.bytes, 0);
    assert.equal(denied.connections, 0);
  });
});
