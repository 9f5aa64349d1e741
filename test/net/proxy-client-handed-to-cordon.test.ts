// Plain-HTTP and SOCKS5 clients of cordon-egress's proxy port are handed to Cordon as sockets
// (SCM_RIGHTS over Node's IPC channel) instead of being relayed byte by byte by the helper: the
// latency fix of session 2. Observable effect: while such a client keeps its connection open,
// no helper process holds a descriptor for it. Control: the same helper started without the
// IPC channel (NODE_CHANNEL_FD removed by a wrapper) relays, and then holds two descriptors per
// open client (client and Cordon connection). Both are served the same answer.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DEFAULT_HELPER, startProxy, staticResolver } from '../../src/net/index.js';
import { Listener, policy, sleep } from './helpers/world.js';

const pol = policy(`version: 1
name: hand-over
network_rules:
  - name: test-upstream
    domains: [allowed.test]
    cidrs: [127.0.0.2/32]
    decision: allow
`);

function helperFds(): number {
  const kids = (pid: number) => spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).map(Number);
  let n = 0;
  for (const main of kids(process.pid)) {
    let comm = '';
    try { comm = readFileSync(`/proc/${main}/comm`, 'utf8').trim(); } catch { continue; }
    if (comm !== 'cordon-egress' && comm !== 'sh') continue;
    for (const p of [main, ...kids(main)]) n += readdirSync(`/proc/${p}/fd`).length;
  }
  return n;
}

/** Opens n kept-alive connections, one GET each, answered; returns them open. */
async function openClients(port: number, up: number, n: number): Promise<net.Socket[]> {
  const out: net.Socket[] = [];
  for (let i = 0; i < n; i++) {
    const s = net.connect(port, '127.0.0.1');
    s.on('error', () => {});
    const got = await new Promise<string>((resolve, reject) => {
      let buf = '';
      s.setTimeout(5000, () => reject(new Error('no answer')));
      s.on('data', (c: Buffer) => { buf += c.toString('latin1'); if (buf.includes('hello from')) resolve(buf); });
      s.write(`GET http://allowed.test:${up}/k${i} HTTP/1.1\r\nHost: allowed.test:${up}\r\n\r\n`);
    });
    s.setTimeout(0);
    assert.match(got, new RegExp(`^HTTP/1\\.1 200 OK[\\s\\S]*hello from 127\\.0\\.0\\.2 GET /k${i}`));
    out.push(s);
  }
  return out;
}

describe('proxy clients are handed to Cordon, not relayed by the helper', () => {
  const up = new Listener('127.0.0.2');
  const dir = mkdtempSync(join(tmpdir(), 'cordon-handover-'));
  const noIpc = join(dir, 'no-ipc.sh');
  before(async () => {
    await up.start();
    writeFileSync(noIpc, `#!/bin/sh\nunset NODE_CHANNEL_FD\nexec '${DEFAULT_HELPER}' "$@"\n`);
    chmodSync(noIpc, 0o755);
  });
  after(async () => {
    await up.close();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const handed of [true, false]) {
    test(handed ? 'with the IPC channel: 20 open kept-alive clients cost the helper no descriptor' : 'control, no IPC channel: the helper relays and holds two descriptors per client', async () => {
      const proxy = await startProxy({ policy: pol, fastPath: true, resolver: staticResolver({ 'allowed.test': '127.0.0.2' }), ...(handed ? {} : { helperPath: noIpc }) });
      let socks: net.Socket[] = [];
      try {
        await sleep(200);
        const base = helperFds();
        socks = await openClients(proxy.address.port, up.port, 20);
        await sleep(200);
        const grown = helperFds() - base;
        if (handed) assert.ok(grown <= 1, `helper descriptors grew by ${grown}`);
        else assert.ok(grown >= 40, `helper descriptors grew by ${grown} (relay: client + Cordon connection each)`);
      } finally {
        for (const s of socks) s.destroy();
        await proxy.close();
      }
    });
  }
});
