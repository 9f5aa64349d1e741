// An agentsh-style policy, written from agentsh's documented format, loads and decides as
// agentsh documents, except where Cordon is deliberately stricter (docs/policy.md lists each).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compilePolicy, loadPolicy, PolicyError } from '../../src/policy/index.js';

const AGENTSH_STYLE = `
version: 1
name: dev-safe
description: agentsh-style development policy
file_rules:
  - name: allow-workspace
    description: Full access to the workspace
    paths: ["\${PROJECT_ROOT}/**"]
    operations: ["*"]
    decision: allow
  - name: approve-etc-writes
    paths: ["/etc/**"]
    operations: [write, create, delete]
    decision: approve
    message: "Agent wants to modify {{.Path}}"
    timeout: 5m
  - name: redirect-outside-writes
    paths: ["/home/**"]
    operations: [write, create]
    decision: redirect
    redirect_to: /tmp/agentsh-redirect
  - name: soft-delete-home
    paths: ["/home/**"]
    operations: [delete]
    decision: soft_delete
  - name: read-system
    paths: ["/usr/**", "/lib/**", "/etc/**"]
    operations: [read, open, stat, list, readlink, access]
    decision: allow
network_rules:
  - name: allow-github
    domains: ["github.com", "*.github.com"]
    ports: [443]
    decision: allow
  - name: block-private
    cidrs: ["10.0.0.0/8", "192.168.0.0/16"]
    decision: deny
command_rules:
  - name: allow-emdash-pinned
    description: Allow the emdash agent CLI (pinned)
    commands: ["/opt/emdash/bin/emdash"]
    decision: allow
  - name: approve-git-push
    commands: [git]
    args_patterns: ["push.*"]
    decision: approve
    timeout: 5m
  - name: allow-python
    commands: ["py*"]
    decision: allow
  - name: nested-make
    commands: [make]
    context: { min_depth: 1 }
    decision: allow
  - name: rm-to-trash
    commands: [rm]
    decision: redirect
    redirect_to:
      command: /usr/local/bin/trash
      args: ["--"]
unix_socket_rules:
  - name: deny-docker
    paths: [/var/run/docker.sock]
    operations: [connect]
    decision: deny
signal_rules:
  - name: allow-self-and-children
    signals: ["@all"]
    target: { type: self }
    decision: allow
  - name: graceful-kill
    signals: ["SIGKILL"]
    target: { type: children }
    decision: redirect
    redirect_to: SIGTERM
  - name: protect-database
    signals: ["@fatal"]
    target: { type: process, pattern: "postgres*" }
    decision: deny
resource_limits:
  max_memory_mb: 2048
  cpu_quota_percent: 200
  pids_max: 256
  command_timeout: 10m
env_policy:
  allow: ["PATH", "HOME", "LANG"]
  deny: ["AWS_*"]
`;

const vars = { PROJECT_ROOT: '/ws', HOME: '/home/u', TMPDIR: '/tmp' };

test('an agentsh-style policy loads and gives agentsh decisions', () => {
  const c = compilePolicy(loadPolicy({ text: AGENTSH_STYLE, source: 'dev-safe.yaml', vars, env: {} }));
  const f = (op: string, path: string) => c.evaluate({ kind: 'file', op: op as 'read', path });
  assert.equal(f('write', '/ws/src/a.go').decision, 'allow');
  assert.equal(f('write', '/etc/hosts').decision, 'approve');
  assert.equal(f('write', '/etc/hosts').timeoutMs, 300_000);
  assert.deepEqual(f('write', '/home/u/notes.txt').redirect, { kind: 'file', path: '/tmp/agentsh-redirect/notes.txt' });
  assert.equal(f('delete', '/home/u/notes.txt').decision, 'soft_delete');
  assert.equal(f('read', '/usr/lib/libc.so').decision, 'allow');
  const n = (host: string | undefined, ip: string | undefined, port: number) => c.evaluate({ kind: 'net', ...(host ? { host } : {}), ...(ip ? { ip } : {}), port });
  assert.equal(n('api.github.com', undefined, 443).decision, 'allow');
  assert.equal(n(undefined, '192.168.1.1', 22).decision, 'deny');
  const x = (path: string, args: string[], depth = 0) => c.evaluate({ kind: 'exec', path, argv: [path, ...args], depth });
  assert.equal(x('/opt/emdash/bin/emdash', []).decision, 'allow');
  assert.equal(x('/usr/bin/git', ['push', 'origin', 'main']).decision, 'approve');
  assert.equal(x('/usr/bin/python3', ['-c', '1']).decision, 'allow');
  assert.equal(x('/usr/bin/make', [], 1).decision, 'allow');
  assert.equal(x('/bin/rm', ['-rf', 'x']).redirect?.kind, 'exec');
  assert.equal(c.evaluate({ kind: 'unix_socket', op: 'connect', path: '/var/run/docker.sock' }).decision, 'deny');
  assert.deepEqual(c.evaluate({ kind: 'signal', signal: 9, targets: ['children'] }).redirect, { kind: 'signal', signal: 15 });
  assert.equal(c.evaluate({ kind: 'signal', signal: 15, targets: ['external'], targetName: 'postgres' }).decision, 'deny');
  assert.equal(c.policy.resource_limits?.command_timeout, 600_000);
});

test('deliberately stricter: unmatched file reads are denied (agentsh allows them)', () => {
  const c = compilePolicy(loadPolicy({ text: AGENTSH_STYLE, source: 'dev-safe.yaml', vars, env: {} }));
  assert.equal(c.evaluate({ kind: 'file', op: 'read', path: '/var/lib/x' }).decision, 'deny');
});

test('deliberately stricter: fields Cordon would not enforce are refused, not ignored', () => {
  const refuse = (extra: string, re: RegExp) => assert.throws(() => loadPolicy({ text: `version: 1\nname: x\n${extra}`, source: 'x.yaml', vars, env: {} }), (e: unknown) => e instanceof PolicyError && re.test(e.message));
  // agentsh's platform "fallback" turns an unenforceable signal rule into a weaker one.
  refuse('signal_rules:\n  - { name: s, signals: [SIGKILL], target: { type: external }, decision: deny, fallback: audit }\n', /unknown key "fallback"/);
  refuse('command_rules:\n  - { name: c, commands: [x], decision: allow, env_allow: [PATH] }\n', /unknown key "env_allow"/);
  refuse('resource_limits:\n  net_bandwidth_mbps: 10\n', /unknown key "net_bandwidth_mbps"/);
});
