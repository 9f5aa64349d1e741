// DESIGN invariant 7: secrets in a command line never reach the audit chain. The command runs
// with a fake bearer token, a provider-shaped token and a --password value in its argv; the
// chain file contains none of them and the exec event names the redacted fields. Control: a
// non-secret argument in the same command line is recorded verbatim.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { before, test } from 'node:test';
import { layout, policyYaml, requireSandbox, sandboxRun } from './helpers/sandbox.js';

before(requireSandbox);

test('secrets in exec argv are redacted in the audit chain; a plain argument is recorded verbatim', async () => {
  const l = layout();
  const bearer = 'f4k3B34r3rT0k3nZZqwertyuiop0123456789';
  const ghp = `ghp_${'A1b2C3d4E5'.repeat(4)}`;
  const pw = 'hunter2-fake-password';
  const argv = ['/bin/echo', '-H', `Authorization: Bearer ${bearer}`, `--token=${ghp}`, '--password', pw, 'plain-visible-arg'];
  const r = await sandboxRun(policyYaml(l), argv, l.work);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(bearer), 'the command itself got its real arguments');
  const chain = readFileSync(r.auditFile, 'utf8');
  for (const s of [bearer, ghp, pw]) assert.equal(chain.includes(s), false, `the audit chain contains the secret ${s.slice(0, 8)}…`);
  const events = chain.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, any>);
  const find = (e: Record<string, any>): Record<string, any> => (e.x ?? e);
  const exec = events.map(find).find((e) => e.kind === 'exec' && e.subject === '/usr/bin/echo' || e.kind === 'exec' && String(e.subject).endsWith('/echo'));
  assert.ok(exec, `an exec event for echo is in the chain: ${chain.slice(0, 400)}`);
  assert.deepEqual(exec.redacted, ['/process/argv/2', '/process/argv/3', '/process/argv/5']);
  // control: the non-secret argument is recorded verbatim (and so is the non-secret header name)
  assert.equal(exec.process.argv[6], 'plain-visible-arg');
  assert.match(exec.process.argv[2], /^Authorization: \[REDACTED/);
  const start = events.map(find).find((e) => e.kind === 'session' && e.operation === 'start');
  assert.ok(start?.redacted?.length === 3, `the session start event records redactions too: ${JSON.stringify(start)}`);
});
