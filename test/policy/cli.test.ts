// The built CLI, run with real flags, for the policy commands.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

const cordon = (...args: string[]) => spawnSync(process.execPath, ['bin/cordon.js', ...args], { encoding: 'utf8', env: { ...process.env, HOME: '/home/dev' } });

test('policy validate: built-ins pass, exit 0', () => {
  const r = cordon('policy', 'validate', 'agent-default', 'strict', '--project-root', '/home/dev/p');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^ok {3}agent-default: policy "agent-default", \d+ rules, (\d+)\/\1 self-tests passed$/m);
  assert.match(r.stdout, /^ok {3}strict: /m);
});

test('policy validate: a failing self-test exits 1 and says what differed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cordon-cli-'));
  const f = join(dir, 'p.yaml');
  writeFileSync(f, 'version: 1\nname: p\nfile_rules:\n  - { name: r, paths: ["/x/**"], decision: allow }\ntests:\n  - { op: "file:read", path: /x/a, expect: allow }\n  - { name: wrong, op: "file:read", path: /y, expect: allow }\n');
  const r = cordon('policy', 'validate', f);
  assert.equal(r.status, 1);
  assert.match(r.stdout, /^FAIL .*p\.yaml: policy "p", 1 rules, 1\/2 self-tests passed\n {5}test "wrong": expected allow, got deny by defaults\.file\n$/);
  const j = cordon('policy', 'validate', f, '--json');
  assert.equal(j.status, 1);
  const parsed = JSON.parse(j.stdout) as { valid: boolean; tests: { passed: boolean }[] }[];
  assert.deepEqual(parsed[0]!.tests.map((t) => t.passed), [true, false]);
});

test('policy test: human and --json output, paths resolved', () => {
  const r = cordon('policy', 'test', 'agent-default', '--op', 'file:read', '--path', '/home/dev/.ssh/id_ed25519');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'DENY  file read /home/dev/.ssh/id_ed25519\n  rule:    deny-credentials (file_rules[3])\n  why:     rule "deny-credentials" (file_rules[3]) matched: deny\n  message: Credentials are out of bounds for the agent.\n');
  const j = cordon('policy', 'test', 'agent-default', '--op', 'net:connect', '--host', '169.254.169.254', '--port', '80', '--json');
  const d = JSON.parse(j.stdout) as Record<string, unknown>;
  assert.equal(d.decision, 'deny');
  assert.equal(d.rule, 'defaults.network');
  assert.deepEqual(d.operation, { kind: 'net', port: 80, protocol: 'tcp', ip: '169.254.169.254' });
  const e = cordon('policy', 'test', 'agent-default', '--op', 'exec', '--json', '--', 'sh', '-c', 'true');
  assert.equal((JSON.parse(e.stdout) as { decision: string }).decision, 'allow');
});

test('policy test: bad flags are usage errors (exit 2) with a hint', () => {
  const r = cordon('policy', 'test', 'agent-default', '--op', 'file:teleport', '--path', '/x');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^cordon: unknown file operation "teleport"/);
  const p = cordon('policy', 'test', 'agent-default', '--op', 'net:connect', '--host', 'a', '--port', '99999');
  assert.equal(p.status, 2);
  assert.match(p.stderr, /--port must be a whole number from 0 to 65535/);
  const u = cordon('policy', 'frobnicate');
  assert.equal(u.status, 2);
});

test('policy explain: a readable summary', () => {
  const r = cordon('policy', 'explain', 'strict', '--project-root', '/p');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^Policy "strict" \(version 1\)/);
  assert.match(r.stdout, /Files:\n {3}1\. DENY rename, link, symlink, create, mknod on \/p, .*\[protect-deferred-execution:ancestors\]/);
  assert.match(r.stdout, /\n {3}2\. DENY write, create, delete, .*\[protect-deferred-execution\]/);
  assert.match(r.stdout, /otherwise: approve/);
});
