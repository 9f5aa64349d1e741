// The Unix socket cordon-egress uses to ask Cordon for decisions must be out of the sandbox's
// reach: a sandboxed process that could speak the helper protocol could at least flood the
// audit trail. It is an abstract socket in Cordon's network namespace, so from inside the
// sandbox namespace it is neither listed (/proc/net/unix) nor connectable, even by exact name.
// Control: the same connect from Cordon's namespace succeeds (the name is real and listening).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { startEgress, staticResolver, type Egress } from '../../src/net/index.js';
import { policy, requireRoot, run, SandboxNs } from './helpers/world.js';

/** Every Unix socket address of any cordon-egress helper, as this namespace lists them. */
function helperSockets(): string[] {
  const names = new Set<string>();
  for (const line of readFileSync('/proc/net/unix', 'utf8').split('\n').slice(1)) {
    const path = line.trim().split(/\s+/)[7];
    if (path?.includes('cordon-egress')) names.add(path);
  }
  return [...names];
}

// Lists what it can see, then tries each given name: prints "<visible> <connected>".
const PROBE = `import json, socket, sys
seen = [l.split()[7] for l in open('/proc/net/unix').read().splitlines()[1:] if len(l.split()) > 7 and 'cordon-egress' in l.split()[7]]
ok = 0
for n in json.loads(sys.argv[1]):
    s = socket.socket(socket.AF_UNIX)
    try:
        # /proc/net/unix shows an abstract name's NUL bytes (leading and padding) as '@'.
        s.connect(n.replace('@', '\\0') if n.startswith('@') else n)
        ok += 1
    except OSError:
        pass
    s.close()
print(len(seen), ok)`;

describe('the helper control socket is hidden from the sandbox', () => {
  requireRoot('helper socket isolation test');
  const sb = new SandboxNs();
  let egress: Egress;
  before(async () => {
    await sb.start();
    egress = await startEgress({ netns: sb.path, policy: policy('version: 1\nname: hidden-socket\n'), resolver: staticResolver({}) });
    sb.setResolvConf(egress.resolvConf);
  });
  after(async () => { await egress?.close(); await sb.close(); });

  test('from inside the sandbox: not listed, not connectable by exact name; from Cordon\'s namespace: connectable (control)', async () => {
    const names = helperSockets();
    assert.ok(names.length >= 1, 'no cordon-egress socket found in this namespace: the test would prove nothing');
    const inside = await sb.run(['python3', '-c', PROBE, JSON.stringify(names)]);
    assert.equal(inside.code, 0, inside.stderr);
    assert.equal(inside.stdout.trim(), '0 0');
    const outside = await run('python3', ['-c', PROBE, JSON.stringify(names)]);
    assert.equal(outside.code, 0, outside.stderr);
    const [seen, connected] = outside.stdout.trim().split(' ').map(Number);
    assert.ok(seen! >= 1 && connected! >= 1, outside.stdout);
  });
});
