// The built-in policies load, prove themselves with their own tests, and keep the promises
// the README makes for them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BUILTIN_POLICIES, compilePolicy, loadPolicy, runSelfTests } from '../../src/policy/index.js';

const vars = { PROJECT_ROOT: '/home/dev/proj', HOME: '/home/dev', TMPDIR: '/tmp', GIT_ROOT: '/home/dev/proj', NPM_REGISTRY_HOST: 'registry.example.test' };

for (const name of BUILTIN_POLICIES) {
  test(`built-in ${name} passes its own tests`, () => {
    const c = compilePolicy(loadPolicy({ builtin: name, vars, env: {} }));
    const results = runSelfTests(c);
    assert.ok(results.length >= 8, `${name} should carry real tests`);
    assert.deepEqual(results.filter((r) => !r.passed), []);
  });
}

test('agent-default: deferred-execution files are write-protected, readable', () => {
  const c = compilePolicy(loadPolicy({ builtin: 'agent-default', vars, env: {} }));
  for (const p of ['/home/dev/proj/.git/hooks/post-checkout', '/home/dev/proj/.git/config', '/home/dev/proj/sub/.envrc', '/home/dev/proj/.vscode/tasks.json', '/home/dev/proj/.mcp.json', '/home/dev/proj/.claude/settings.json', '/home/dev/.bashrc', '/home/dev/.zshrc', '/home/dev/.profile']) {
    for (const op of ['write', 'create', 'delete', 'rename', 'symlink', 'link'] as const) {
      assert.equal(c.evaluate({ kind: 'file', op, path: p }).decision, 'deny', `${op} ${p}`);
    }
  }
  assert.equal(c.evaluate({ kind: 'file', op: 'read', path: '/home/dev/proj/.git/config' }).decision, 'allow');
});

test('agent-default: only package registries on 443, resolved from npm configuration', () => {
  const c = compilePolicy(loadPolicy({ builtin: 'agent-default', vars, env: {} }));
  assert.equal(c.evaluate({ kind: 'net', host: 'registry.example.test', port: 443, protocol: 'tcp' }).decision, 'allow');
  assert.equal(c.evaluate({ kind: 'net', host: 'registry.example.test', port: 22, protocol: 'tcp' }).decision, 'deny');
  assert.equal(c.evaluate({ kind: 'net', host: 'pypi.org', port: 443, protocol: 'udp' }).decision, 'deny');
  assert.equal(c.evaluate({ kind: 'net', ip: '10.0.0.1', port: 443, protocol: 'tcp' }).decision, 'deny');
  // With no npm configuration at all the registry entry matches nothing (fail closed).
  const none = compilePolicy(loadPolicy({ builtin: 'agent-default', vars: { ...vars, NPM_REGISTRY_HOST: 'npm-registry.invalid' }, env: {} }));
  assert.equal(none.evaluate({ kind: 'net', host: 'registry.example.test', port: 443, protocol: 'tcp' }).decision, 'deny');
});

test('agent-default: privilege escalation denied even from allowed directories', () => {
  const c = compilePolicy(loadPolicy({ builtin: 'agent-default', vars, env: {} }));
  for (const b of ['/usr/bin/sudo', '/bin/su', '/usr/bin/pkexec', '/usr/bin/nsenter', '/usr/bin/unshare', '/bin/mount']) {
    assert.equal(c.evaluate({ kind: 'exec', path: b, argv: [b], depth: 1 }).decision, 'deny', b);
  }
  for (const b of ['/usr/bin/git', '/usr/bin/make', '/usr/bin/gcc', '/usr/bin/python3.11', '/usr/bin/bash', '/home/dev/proj/node_modules/.bin/tsc']) {
    assert.equal(c.evaluate({ kind: 'exec', path: b, argv: [b], depth: 1 }).decision, 'allow', b);
  }
});
