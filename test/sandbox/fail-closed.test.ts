// Fail closed: an audit trail that cannot record denies the operation and ends the session
// (control: the same run with a working sink); the policy cache never serves a stale policy.
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import type { AuditEventInput, AuditSink } from '../../src/audit/index.js';
import { compilePolicy, loadPolicy } from '../../src/policy/index.js';
import { loadPolicyCached, runSandbox } from '../../src/sandbox/index.js';
import { layout, policyYaml, requireSandbox } from '../escape/helpers/sandbox.js';

before(requireSandbox);

function sink(fail: boolean): AuditSink & { events: AuditEventInput[] } {
  const events: AuditEventInput[] = [];
  return {
    events, path: '/dev/null',
    append: async (e) => { if (fail) throw new Error('disk full (injected)'); events.push(e); },
    flush: async () => {}, close: async () => {},
  };
}

async function run(fail: boolean) {
  const l = layout();
  const f = join(l.work, 'audited.txt');
  writeFileSync(f, 'AUDITED CONTENT\n');
  const rule = `  - name: must-record\n    paths: ["${f}"]\n    decision: audit\n`;
  const policy = compilePolicy(loadPolicy({ text: policyYaml(l, { extraFileRules: rule }), source: 't' }));
  const out = join(l.base, 'out');
  const fd = openSync(out, 'w');
  const s = sink(fail);
  try {
    const r = await runSandbox({ argv: ['/bin/cat', f], policy, cwd: l.work, env: { PATH: '/usr/bin:/bin' }, audit: s, stdio: ['ignore', fd, 'ignore'] });
    return { r, out: readFileSync(out, 'utf8'), s };
  } finally {
    closeSync(fd);
  }
}

test('an audit append that fails denies the operation and stops the session', async () => {
  const bad = await run(true);
  assert.equal(bad.out, '', 'nothing was read');
  assert.match(bad.r.cordonError ?? '', /audit write failed.*disk full \(injected\)/);
  const good = await run(false);
  assert.equal(good.out, 'AUDITED CONTENT\n');
  assert.ok(good.s.events.some((e) => e.decision === 'audit' && e.subject.endsWith('audited.txt')), 'anti-vacuity: the injected failure hit the audited operation');
});

test('policy cache: a hit equals a fresh load (same digest); editing the file is a miss', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cordon-pcache-'));
  const file = join(dir, 'p.yaml');
  writeFileSync(file, 'version: 1\nname: one\nfile_rules:\n  - { name: home, paths: ["${HOME}/**"], decision: allow }\n');
  const cache = join(dir, 'cache');
  const a = loadPolicyCached({ file, vars: {} }, cache, dir);
  const b = loadPolicyCached({ file, vars: {} }, cache, dir);
  assert.deepEqual([a.cached, b.cached], [false, true]);
  assert.equal(compilePolicy(b.policy).digest, compilePolicy(loadPolicy({ file })).digest);
  writeFileSync(file, 'version: 1\nname: two\nfile_rules:\n  - { name: home, paths: ["${HOME}/**"], decision: deny }\n');
  const c = loadPolicyCached({ file, vars: {} }, cache, dir);
  assert.equal(c.cached, false);
  assert.equal(c.policy.name, 'two');
  const d = loadPolicyCached({ file, vars: { HOME: '/elsewhere' } }, cache, dir);
  assert.equal(d.cached, false, 'different variables are a different policy');
});
