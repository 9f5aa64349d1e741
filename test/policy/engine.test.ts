// Decisions of the compiled engine, one behaviour per test, whole values asserted.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileGlob, expandBraces, globToRegexSource, type Operation } from '../../src/policy/index.js';
import { compiled, HEADER } from './helpers/load.js';

const files = compiled(`${HEADER}
file_rules:
  - name: no-ssh
    paths: ["\${HOME}/.ssh/**"]
    decision: deny
    message: no keys
  - name: hooks
    paths: ["\${PROJECT_ROOT}/.git/hooks/**"]
    operations: [write, create, delete]
    decision: deny
  - name: project
    paths: ["\${PROJECT_ROOT}/**"]
    decision: allow
  - name: logs
    paths: ["/var/log/*.log"]
    operations: [read]
    decision: audit
  - name: trash
    paths: ["/data/**"]
    operations: [delete]
    decision: soft_delete
  - name: secrets-redirect
    paths: ["/etc/secret/**"]
    operations: [read, open]
    decision: redirect
    redirect_to: /tmp/decoy
    preserve_tree: true
  - name: ask
    paths: ["/srv/{a,b}/[0-9]*"]
    decision: approve
    timeout: 30s
  - name: env-anywhere
    paths: ["**/.env"]
    decision: deny
defaults:
  file: deny
`);

const fileOp = (op: string, path: string) => files.evaluate({ kind: 'file', op: op as 'read', path });

test('first matching rule wins, in file order', () => {
  const d = fileOp('read', '/home/agent/.ssh/id_rsa');
  assert.deepEqual({ ...d }, { decision: 'deny', rule: 'no-ssh', ruleIndex: 1, list: 'file_rules', message: 'no keys', reason: 'rule "no-ssh" (file_rules[1]) matched: deny', errno: 13 });
  assert.equal(fileOp('read', '/work/proj/.git/hooks/pre-commit').rule, 'project');
  assert.equal(fileOp('write', '/work/proj/.git/hooks/pre-commit').rule, 'hooks');
  assert.equal(fileOp('write', '/work/proj/src/a.ts').decision, 'allow');
});

test('unmatched operations get the default, and the default of defaults is deny', () => {
  const d = fileOp('read', '/opt/x');
  assert.equal(d.decision, 'deny');
  assert.equal(d.rule, 'defaults.file');
  assert.equal(d.ruleIndex, -1);
  const none = compiled(HEADER);
  for (const op of [
    { kind: 'file', op: 'read', path: '/x' },
    { kind: 'net', host: 'a.b', port: 443 },
    { kind: 'exec', path: '/bin/true', argv: ['true'], depth: 0 },
    { kind: 'signal', signal: 9, targets: ['external'] },
    { kind: 'mcp', server: 's', tool: 't' },
    { kind: 'http', method: 'GET', host: 'a', path: '/' },
  ] as Operation[]) assert.equal(none.evaluate(op).decision, 'deny', JSON.stringify(op));
});

test('paths are canonicalised lexically before matching', () => {
  assert.equal(fileOp('read', '/work/proj/../../home/agent/.ssh/id_rsa').rule, 'no-ssh');
  assert.equal(fileOp('read', '/home//agent/./.ssh/id_rsa').rule, 'no-ssh');
  assert.equal(fileOp('read', '/work/proj/src/../../proj/x').rule, 'project');
  assert.equal(fileOp('read', '/work/proj/..').rule, 'defaults.file');
  assert.equal(fileOp('read', 'relative/path').decision, 'deny');
  assert.equal(fileOp('read', 'relative/path').rule, 'invalid-operation');
});

test('`dir/**` covers the directory itself and everything below', () => {
  assert.equal(fileOp('list', '/work/proj').rule, 'project');
  assert.equal(fileOp('list', '/work/proj/').rule, 'project');
  assert.equal(fileOp('read', '/work/proj/a/b/c/d').rule, 'project');
  assert.equal(fileOp('read', '/work/project-other/x').rule, 'defaults.file');
});

test('`*` stays within one segment; `?`, classes and braces work', () => {
  assert.equal(fileOp('read', '/var/log/syslog.log').decision, 'audit');
  assert.equal(fileOp('read', '/var/log/nginx/access.log').rule, 'defaults.file');
  assert.equal(fileOp('read', '/srv/a/1x').decision, 'approve');
  assert.equal(fileOp('read', '/srv/b/9').timeoutMs, 30_000);
  assert.equal(fileOp('read', '/srv/c/1').rule, 'defaults.file');
  assert.equal(fileOp('read', '/srv/a/x1').rule, 'defaults.file');
});

test('leading `**/` matches at any depth, including directly under /', () => {
  assert.equal(fileOp('read', '/opt/app/.env').rule, 'env-anywhere');
  assert.equal(fileOp('read', '/.env').rule, 'env-anywhere');
  assert.equal(fileOp('read', '/opt/app/.env.local').rule, 'defaults.file');
});

test('glob edge cases: repeated ** segments, a lone * below **, the root', () => {
  for (const [pattern, path, want] of [
    ['/a/**/**', '/a/b/c', true], ['/a/**/**', '/a', true], ['**/**', '/x', true], ['/a/**/**/b', '/a/b', true],
    ['**/*', '/', false], ['**/*', '/x', true], ['/**', '/', true], ['/*', '/', false], ['/*', '/x', true],
  ] as const) {
    const g = expandBraces(pattern).map((p) => compileGlob(p, '/'));
    assert.equal(g.some((x) => x.test(path)), want, `${pattern} on ${path}`);
    assert.equal(new RegExp(`^${globToRegexSource(pattern, '/')}$`).test(path), want, `regex of ${pattern} on ${path}`);
  }
});

test('a file name with a newline cannot slip past a deny rule', () => {
  assert.equal(fileOp('read', '/home/agent/.ssh/id\nrsa').rule, 'no-ssh');
});

test('renaming or replacing a protected directory or any ancestor is refused (no moving hooks out and back)', () => {
  // mv .git .g; edit .g/hooks/x; mv .g .git — the first step is already refused.
  assert.equal(fileOp('rename', '/work/proj/.git').rule, 'hooks:ancestors');
  assert.equal(fileOp('rename', '/work/proj/.git/hooks').rule, 'hooks:ancestors');
  assert.equal(fileOp('rename', '/work/proj').rule, 'hooks:ancestors');
  assert.equal(fileOp('rename', '/home/agent').rule, 'no-ssh:ancestors');
  // Planting a symlink or a file where the protected directory should be.
  assert.equal(fileOp('symlink', '/work/proj/.git').decision, 'deny');
  assert.equal(fileOp('create', '/work/proj/.git').decision, 'deny');
  // Control: the same operations on a sibling are the project's business.
  assert.equal(fileOp('rename', '/work/proj/.github').rule, 'project');
  assert.equal(fileOp('symlink', '/work/proj/src').rule, 'project');
  assert.equal(fileOp('mkdir', '/work/proj/.git').rule, 'project');
  assert.equal(fileOp('read', '/work/proj/.git').rule, 'project');
});

test('soft_delete and redirect carry their targets', () => {
  assert.equal(fileOp('delete', '/data/x').decision, 'soft_delete');
  const r = fileOp('read', '/etc/secret/db/password');
  assert.equal(r.decision, 'redirect');
  assert.deepEqual(r.redirect, { kind: 'file', path: '/tmp/decoy/db/password' });
});

const cmds = compiled(`${HEADER}
command_rules:
  - name: no-sudo
    commands: [sudo]
    decision: deny
    message: nope
  - name: git-push-approve
    commands: [git]
    args_patterns: ["^push( |$)"]
    decision: approve
  - name: git
    commands: [/usr/bin/git]
    decision: allow
  - name: py
    commands: ["python3*"]
    decision: allow
  - name: nested-only
    commands: [make]
    context: { min_depth: 1 }
    decision: allow
  - name: rm-redirect
    commands: [rm]
    decision: redirect
    redirect_to: { command: /usr/bin/trash, args: [--safe] }
  - name: tools
    commands: ["/usr/local/bin/**"]
    decision: audit
`);
const exec = (path: string, args: string[] = [], depth = 0) => cmds.evaluate({ kind: 'exec', path, argv: [path.slice(path.lastIndexOf('/') + 1), ...args], depth });

test('command rules: basename, full path, globs, args, depth, redirect', () => {
  assert.equal(exec('/usr/bin/sudo', ['id']).rule, 'no-sudo');
  assert.equal(exec('/usr/bin/sudo').errno, 1);
  assert.equal(exec('/usr/bin/git', ['push', 'origin']).decision, 'approve');
  assert.equal(exec('/usr/bin/git', ['pushy']).rule, 'git');
  assert.equal(exec('/opt/git', ['status']).rule, 'defaults.command');
  assert.equal(exec('/usr/bin/python3.11').rule, 'py');
  assert.equal(exec('/usr/bin/make', [], 0).rule, 'defaults.command');
  assert.equal(exec('/usr/bin/make', [], 2).rule, 'nested-only');
  assert.deepEqual(exec('/bin/rm', ['-rf', '/']).redirect, { kind: 'exec', command: '/usr/bin/trash', args: ['--safe'], argsAppend: [], env: {} });
  assert.equal(exec('/usr/local/bin/sub/tool').decision, 'audit');
});

test('the image is judged by its canonical path, not the name it was called by', () => {
  // argv[0] says "git" but the image is rm: the git rules must not apply.
  const d = cmds.evaluate({ kind: 'exec', path: '/bin/rm', argv: ['git', 'status'], depth: 0 });
  assert.equal(d.rule, 'rm-redirect');
  assert.equal(cmds.evaluate({ kind: 'exec', path: '/usr/bin/../bin/git', argv: ['git'], depth: 0 }).rule, 'git');
});

const net = compiled(`${HEADER}
network_rules:
  - name: block-meta
    cidrs: [169.254.0.0/16, "fd00:ec2::254/128"]
    decision: deny
  - name: gh
    domains: ["github.com", "*.github.com"]
    ports: [443, "8000-8010"]
    decision: allow
  - name: internal
    cidrs: [10.0.0.0/8]
    protocols: [udp]
    decision: audit
  - name: dns-any
    ports: [53]
    protocols: [udp]
    decision: approve
`);
const conn = (o: { host?: string; ip?: string; port: number; protocol?: 'tcp' | 'udp' }) => net.evaluate({ kind: 'net', ...o });

test('network rules: domains, zones, ports, ranges, protocols', () => {
  assert.equal(conn({ host: 'github.com', port: 443 }).rule, 'gh');
  assert.equal(conn({ host: 'GitHub.COM.', port: 443 }).rule, 'gh');
  assert.equal(conn({ host: 'api.github.com', port: 8005 }).rule, 'gh');
  assert.equal(conn({ host: 'a.b.github.com', port: 443 }).rule, 'gh');
  assert.equal(conn({ host: 'evilgithub.com', port: 443 }).rule, 'defaults.network');
  assert.equal(conn({ host: 'github.com.evil.io', port: 443 }).rule, 'defaults.network');
  assert.equal(conn({ host: 'github.com', port: 80 }).rule, 'defaults.network');
  assert.equal(conn({ host: 'x', port: 53, protocol: 'udp' }).decision, 'approve');
  assert.equal(conn({ host: 'x', port: 53, protocol: 'tcp' }).rule, 'defaults.network');
  assert.equal(conn({ ip: '10.1.2.3', port: 5, protocol: 'udp' }).rule, 'internal');
  assert.equal(conn({ ip: '10.1.2.3', port: 5, protocol: 'tcp' }).rule, 'defaults.network');
});

test('CIDRs hold against IPv4-mapped IPv6 and match IPv6', () => {
  assert.equal(conn({ ip: '169.254.169.254', port: 80 }).rule, 'block-meta');
  assert.equal(conn({ ip: '::ffff:169.254.169.254', port: 80 }).rule, 'block-meta');
  assert.equal(conn({ ip: '::ffff:a9fe:a9fe', port: 80 }).rule, 'block-meta');
  assert.equal(conn({ ip: 'fd00:ec2:0::254', port: 80 }).rule, 'block-meta');
  assert.equal(conn({ ip: 'fd00:ec2::255', port: 80 }).rule, 'defaults.network');
  // A host name that is allowed does not launder a metadata address.
  assert.equal(conn({ host: 'github.com', ip: '169.254.169.254', port: 443 }).rule, 'block-meta');
});

const misc = compiled(`${HEADER}
unix_socket_rules:
  - name: docker
    paths: [/var/run/docker.sock]
    decision: deny
  - name: abstract
    paths: ["@dbus-*"]
    operations: [connect]
    decision: allow
signal_rules:
  - name: kill-to-term
    signals: [SIGKILL]
    target: { type: children }
    decision: redirect
    redirect_to: SIGTERM
  - name: absorb-hup
    signals: [HUP]
    target: { type: session }
    decision: absorb
  - name: db
    signals: ["@fatal"]
    target: { type: process, pattern: "postgres*" }
    decision: deny
  - name: own
    signals: ["@all"]
    target: { type: session }
    decision: allow
mcp_rules:
  - name: fs-read
    server: filesystem
    tools: ["read_*", list_directory]
    decision: allow
  - name: any-delete
    tools: ["*delete*"]
    decision: approve
http_rules:
  - name: gh-read
    hosts: [api.github.com]
    methods: [GET]
    paths: ["/repos/*/*/issues", "/repos/*/*/issues/**"]
    decision: allow
defaults:
  mcp: audit
`);

test('unix socket rules: paths, abstract names, operations', () => {
  assert.equal(misc.evaluate({ kind: 'unix_socket', op: 'connect', path: '/var/run/docker.sock' }).rule, 'docker');
  assert.equal(misc.evaluate({ kind: 'unix_socket', op: 'connect', path: '/var/run/../run/docker.sock' }).rule, 'docker');
  assert.equal(misc.evaluate({ kind: 'unix_socket', op: 'connect', path: '@dbus-1' }).rule, 'abstract');
  assert.equal(misc.evaluate({ kind: 'unix_socket', op: 'bind', path: '@dbus-1' }).rule, 'defaults.unix_socket');
});

test('signal rules: redirect, absorb, process patterns, groups', () => {
  assert.deepEqual(misc.evaluate({ kind: 'signal', signal: 9, targets: ['children', 'descendants', 'session'] }).redirect, { kind: 'signal', signal: 15 });
  const absorbed = misc.evaluate({ kind: 'signal', signal: 1, targets: ['session'] });
  assert.equal(absorbed.decision, 'deny');
  assert.equal(absorbed.errno, 0);
  assert.equal(misc.evaluate({ kind: 'signal', signal: 15, targets: ['external'], targetName: 'postgres: writer' }).rule, 'db');
  assert.equal(misc.evaluate({ kind: 'signal', signal: 10, targets: ['session'] }).rule, 'own');
  assert.equal(misc.evaluate({ kind: 'signal', signal: 10, targets: ['external'] }).rule, 'defaults.signal');
});

test('mcp and http rules; tool operations fall to defaults', () => {
  assert.equal(misc.evaluate({ kind: 'mcp', server: 'filesystem', tool: 'read_file' }).decision, 'allow');
  assert.equal(misc.evaluate({ kind: 'mcp', server: 'other', tool: 'read_file' }).decision, 'audit');
  assert.equal(misc.evaluate({ kind: 'mcp', server: 'other', tool: 'bulk_delete_rows' }).decision, 'approve');
  assert.equal(misc.evaluate({ kind: 'tool', tool: 'shell' }).decision, 'deny');
  // tool_rules themselves are refused until the SDK guards exist to enforce them.
  assert.throws(() => compiled(`${HEADER}tool_rules:\n  - { name: shell, tools: [shell], decision: deny }\n`), /tool_rules are recognised but no part/);
  assert.equal(misc.evaluate({ kind: 'http', method: 'get', host: 'API.github.com', path: '/repos/a/b/issues?page=2' }).rule, 'gh-read');
  assert.equal(misc.evaluate({ kind: 'http', method: 'GET', host: 'api.github.com', path: '/repos/a/b/issues/../../../admin' }).rule, 'defaults.http');
  assert.equal(misc.evaluate({ kind: 'http', method: 'POST', host: 'api.github.com', path: '/repos/a/b/issues' }).rule, 'defaults.http');
});

test('decisions are frozen objects shared across evaluations (no per-call allocation)', () => {
  const a = fileOp('read', '/work/proj/a');
  const b = fileOp('read', '/work/proj/b');
  assert.equal(a, b);
  assert.ok(Object.isFrozen(a));
});

test('approve without a timeout uses defaults.approval_timeout, else 5 minutes', () => {
  const p = compiled(`${HEADER}command_rules:\n  - { name: a, commands: [x], decision: approve }\n`);
  assert.equal(p.evaluate({ kind: 'exec', path: '/bin/x', argv: ['x'], depth: 0 }).timeoutMs, 300_000);
  const q = compiled(`${HEADER}defaults: { approval_timeout: 2m }\ncommand_rules:\n  - { name: a, commands: [x], decision: approve }\n`);
  assert.equal(q.evaluate({ kind: 'exec', path: '/bin/x', argv: ['x'], depth: 0 }).timeoutMs, 120_000);
});
