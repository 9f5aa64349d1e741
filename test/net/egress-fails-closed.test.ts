// startEgress refuses to run where it cannot be the only way out, and losing the helper
// loses the network (never gains it).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { EgressError, startEgress, staticResolver } from '../../src/net/index.js';
import { DocAddresses, Listener, policy, requireRoot, SandboxNs, sleep } from './helpers/world.js';

const pol = policy(`version: 1
name: fail-closed
network_rules:
  - name: upstream
    domains: [allowed.test]
    cidrs: [192.0.2.30/32]
    decision: allow
`);

describe('egress fails closed', () => {
  requireRoot('egress fail-closed tests');

  test('a namespace with another interface is refused (Cordon would not be the only way out)', async () => {
    const sb = await new SandboxNs().start();
    const ifname = `cnx${process.pid % 100000}`;
    try {
      assert.equal(spawnSync('ip', ['link', 'add', ifname, 'type', 'veth', 'peer', 'name', `${ifname}p`, 'netns', String(sb.pid)]).status, 0);
      await assert.rejects(startEgress({ netns: sb.path, policy: pol, resolver: staticResolver({}) }),
        (e: unknown) => e instanceof EgressError && e.exitCode === 126 && /interfaces besides lo \(.*cnx/.test(e.message));
    } finally {
      spawnSync('ip', ['link', 'del', ifname]);
      await sb.close();
    }
  });

  test('a missing helper or namespace is an EgressError, not a sandbox without egress control', async () => {
    const sb = await new SandboxNs().start();
    try {
      await assert.rejects(startEgress({ netns: sb.path, policy: pol, helperPath: '/nonexistent/cordon-egress' }), /egress helper .* is missing/);
      await assert.rejects(startEgress({ netns: '/proc/999999999/ns/net', policy: pol }), /does not exist/);
    } finally {
      await sb.close();
    }
  });

  test('killing cordon-egress cuts the sandbox off: the allowed listener stops receiving (control: it received before)', async () => {
    const docs = await new DocAddresses(['192.0.2.30']).start();
    const l = await new Listener('192.0.2.30', 'echo').start();
    const sb = await new SandboxNs().start();
    const eg = await startEgress({ netns: sb.path, policy: pol, resolver: staticResolver({ 'allowed.test': '192.0.2.30' }), onError: () => {} });
    sb.setResolvConf(eg.resolvConf);
    const py = `import socket
s = socket.create_connection(('192.0.2.30', ${l.port}), timeout=3)
s.sendall(b'ping'); print(s.recv(10))`;
    try {
      const before = await sb.run(['python3', '-c', py]);
      assert.match(before.stdout, /b'ping'/, before.stderr);
      const bytes = l.bytes;
      process.kill(eg.helperPid, 'SIGKILL');
      await sleep(100);
      const afterKill = await sb.run(['python3', '-c', py]);
      assert.notEqual(afterKill.code, 0);
      assert.match(afterKill.stderr, /ConnectionRefused|timed out|unreachable/i);
      assert.equal(l.bytes, bytes);
    } finally {
      await eg.close();
      await sb.close();
      await l.close();
      await docs.close();
    }
  });
});
