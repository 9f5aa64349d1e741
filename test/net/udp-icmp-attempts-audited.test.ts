// UDP other than DNS, ICMP and SOCKS5 UDP ASSOCIATE are never relayed, and every attempt is in
// the audit trail with the address, port, bytes, decision and a reason saying it is not relayed
// (the issue: "Every connection attempt, allowed or not, goes to the audit interface"). A real
// sender inside a sandbox namespace aims at a UDP listener this test owns: zero datagrams
// arrive (the same datagram from outside does: the control), the sender is told EPERM at
// once, and the audit entry is there. A policy rule that would allow UDP is refused when the
// egress starts (never a silent deny), and a rule without it starts (the control).
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { AuditEventInput } from '../../src/audit/index.js';
import { EgressError, startEgress, startProxy, staticResolver, type Egress } from '../../src/net/index.js';
import { DocAddresses, MemoryAudit, policy, requireRoot, SandboxNs, sleep } from './helpers/world.js';

const A4 = '192.0.2.31';
const A6 = '2001:db8::31';
const noProxy = { HTTP_PROXY: '', HTTPS_PROXY: '', ALL_PROXY: '' };

const pol = policy(`version: 1
name: udp-audit
network_rules:
  - name: allowed-upstream          # no protocols: tcp and udp; only the TCP part is carried out
    domains: [allowed.test]
    cidrs: [${A4}/32, '${A6}/128']
    decision: allow
`);

/** A UDP listener the test owns, counting every datagram that reaches it. */
class UdpSink {
  got: Buffer[] = [];
  private sock!: dgram.Socket;
  port = 0;
  constructor(private readonly host: string) {}
  async start(): Promise<this> {
    this.sock = dgram.createSocket(this.host.includes(':') ? 'udp6' : 'udp4');
    this.sock.on('message', (m) => this.got.push(m));
    await new Promise<void>((res) => this.sock.bind(0, this.host, () => res()));
    this.port = this.sock.address().port;
    return this;
  }
  close(): void { this.sock.close(); }
}

async function until(what: string, ok: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

describe('UDP other than DNS, ICMP and other protocols from a sandbox: dropped and audited', () => {
  requireRoot('UDP audit tests');
  const docs = new DocAddresses([A4], [A6]);
  const sb = new SandboxNs();
  const audit = new MemoryAudit();
  const sink4 = new UdpSink(A4);
  const sink6 = new UdpSink(A6);
  let egress: Egress;
  const datagramEvents = (pred: (e: AuditEventInput) => boolean = () => true) =>
    audit.events.filter((e) => (e.fields as { via?: string } | undefined)?.via === 'datagram' && pred(e));

  before(async () => {
    await docs.start();
    await sb.start();
    await sink4.start();
    await sink6.start();
    egress = await startEgress({ netns: sb.path, policy: pol, audit, resolver: staticResolver({ 'allowed.test': A4 }) });
    sb.setResolvConf(egress.resolvConf);
  });
  after(async () => {
    await egress?.close();
    await sb.close();
    sink4.close();
    sink6.close();
    await docs.close();
  });

  test('sendto and connect+send to the test\'s UDP listener: zero bytes arrive, EPERM, one audit entry per flow with address, port, bytes and reason', async () => {
    audit.events = [];
    const py = `import socket
a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try:
    a.sendto(b'exfil-by-sendto', ('${A4}', ${sink4.port}))
    print('sendto sent')
except OSError as e:
    print('sendto errno', e.errno)
b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
b.connect(('${A4}', ${sink4.port}))
try:
    b.send(b'exfil-by-connect-and-send')
    print('send sent')
except OSError as e:
    print('send errno', e.errno)
print('dns', socket.gethostbyname('allowed.test'))`;
    const r = await sb.run(['python3', '-c', py], { env: noProxy });
    assert.match(r.stdout, /sendto errno 1\n/, r.stderr);
    assert.match(r.stdout, /send errno 1\n/, r.stderr);
    // DNS (UDP to port 53) is still answered in the same sandbox: the drop is specific.
    assert.match(r.stdout, /dns 198\.1[89]\.\d+\.\d+/, r.stderr);
    await until('two datagram audit entries', () => datagramEvents().length >= 2);
    await sleep(200);
    assert.equal(sink4.got.length, 0, 'no datagram reached the listener');
    const evs = datagramEvents();
    assert.equal(evs.length, 2, JSON.stringify(evs));
    for (const [e, bytes] of [[evs[0]!, 15], [evs[1]!, 25]] as const) {
      assert.equal(e.kind, 'net');
      assert.equal(e.operation, 'connect');
      assert.equal(e.decision, 'deny');
      assert.equal(e.rule, 'udp-not-relayed');
      assert.equal(e.subject, `${A4}:${sink4.port}`);
      const f = e.fields as Record<string, unknown>;
      assert.equal(f.protocol, 'udp');
      assert.equal(f.ip, A4);
      assert.equal(f.port, sink4.port);
      assert.equal(f.bytesUp, bytes);
      assert.match(String(f.reason), /UDP other than DNS is not relayed/);
      assert.match(String(f.reason), /rule "allowed-upstream" \(network_rules\) matches it for tcp and udp, and only its TCP part is carried out/);
    }
    // Control: the same datagram from outside the sandbox arrives.
    const out = dgram.createSocket('udp4');
    await new Promise<void>((res) => out.send('control', sink4.port, A4, () => { out.close(); res(); }));
    await until('the control datagram', () => sink4.got.length === 1);
    assert.equal(sink4.got[0]!.toString(), 'control');
  });

  test('UDP to a name (Cordon\'s synthetic DNS address) is audited with the name and the real address', async () => {
    audit.events = [];
    const py = `import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try:
    s.sendto(b'quic-initial', ('allowed.test', 443))
except OSError as e:
    print('errno', e.errno)`;
    const r = await sb.run(['python3', '-c', py], { env: noProxy });
    assert.match(r.stdout, /errno 1/, r.stderr);
    await until('the audit entry', () => datagramEvents().length >= 1);
    const e = datagramEvents()[0]!;
    assert.equal(e.subject, 'allowed.test:443');
    assert.equal((e.fields as Record<string, unknown>).ip, A4);
    assert.equal(e.rule, 'udp-not-relayed');
  });

  test('IPv6 UDP is dropped and audited the same way (zero bytes at the listener)', async () => {
    audit.events = [];
    const py = `import socket
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
try:
    s.sendto(b'v6', ('${A6}', ${sink6.port}))
except OSError as e:
    print('errno', e.errno)`;
    const r = await sb.run(['python3', '-c', py], { env: noProxy });
    assert.match(r.stdout, /errno 1/, r.stderr);
    await until('the audit entry', () => datagramEvents().length >= 1);
    assert.equal(datagramEvents()[0]!.subject, `[${A6}]:${sink6.port}`);
    assert.equal(sink6.got.length, 0);
  });

  test('a chatty flow is one entry plus one summary with the packet count and bytes', async () => {
    audit.events = [];
    const py = `import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
n = 0
for i in range(30):
    try:
        s.sendto(b'x' * 10, ('${A4}', ${sink4.port}))
    except OSError:
        n += 1
print('refused', n)`;
    const r = await sb.run(['python3', '-c', py], { env: noProxy });
    assert.match(r.stdout, /refused 30/, r.stderr);
    await until('the flow summary', () => datagramEvents((e) => e.operation === 'close').length === 1, 8000);
    assert.equal(datagramEvents((e) => e.operation === 'connect').length, 1);
    const sum = datagramEvents((e) => e.operation === 'close')[0]!;
    assert.match(String((sum.fields as Record<string, unknown>).reason), /^30 packets of this flow were dropped/);
    assert.equal((sum.fields as Record<string, unknown>).bytesUp, 300);
    assert.equal(sink4.got.length, 1, 'still only the earlier control datagram');
  });

  test('ICMP echo (raw socket) is dropped with EPERM and audited as not relayed', async () => {
    audit.events = [];
    // An ICMP echo request with a valid checksum, sent through a raw socket (root in the test
    // namespace; the sandbox drops CAP_NET_RAW on top of this).
    const py = `import socket, struct
def csum(b):
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff); s += s >> 16
    return ~s & 0xffff
body = b'ping-from-sandbox'
hdr = struct.pack('!BBHHH', 8, 0, 0, 1, 1)
pkt = struct.pack('!BBHHH', 8, 0, csum(hdr + body + b'\\0'), 1, 1) + body
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
try:
    s.sendto(pkt, ('${A4}', 0))
    print('sent')
except OSError as e:
    print('errno', e.errno)`;
    const r = await sb.run(['python3', '-c', py], { env: noProxy });
    assert.match(r.stdout, /errno 1/, r.stderr);
    await until('the audit entry', () => datagramEvents().length >= 1);
    const e = datagramEvents()[0]!;
    assert.equal(e.rule, 'icmp-not-relayed');
    assert.equal(e.decision, 'deny');
    assert.equal((e.fields as Record<string, unknown>).protocol, 'icmp');
    assert.match(String((e.fields as Record<string, unknown>).reason), /ICMP is not relayed.*\(type 8\) to 192\.0\.2\.31/);
  });

  test('malformed DNS is answered or dropped, and audited either way', async () => {
    audit.events = [];
    const py = `import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(b'\\x01\\x02\\x03', ('127.0.0.1', 53))`;
    await sb.run(['python3', '-c', py], { env: noProxy });
    await until('the audit entry', () => audit.events.some((e) => e.rule === 'dns-malformed'));
    const e = audit.events.find((x) => x.rule === 'dns-malformed')!;
    assert.equal(e.operation, 'dns');
    assert.equal(e.decision, 'deny');
  });
});

describe('a rule that would allow UDP is refused when the egress starts', () => {
  requireRoot('UDP rule refusal tests');
  const sb = new SandboxNs();
  before(async () => { await sb.start(); });
  after(async () => { await sb.close(); });

  const rule = (extra: string) => policy(`version: 1
name: udp-rule
network_rules:
  - name: game-server
    cidrs: [192.0.2.40/32]
${extra}    decision: allow
`);

  test('protocols: [udp] with allow: EgressError (exit 126) naming the rule; nothing is started', async () => {
    await assert.rejects(startEgress({ netns: sb.path, policy: rule('    protocols: [udp]\n'), resolver: staticResolver({}) }), (e: unknown) => {
      assert.ok(e instanceof EgressError);
      assert.equal(e.exitCode, 126);
      assert.match(e.message, /network rule "game-server" allows UDP, but Cordon's egress relays only TCP/);
      return true;
    });
    await assert.rejects(startProxy({ policy: rule('    protocols: [tcp, udp]\n    ports: [53, 3478]\n'), resolver: staticResolver({}) }), EgressError);
  });

  test('controls: protocols [tcp], and udp on port 53 only, start', async () => {
    for (const extra of ['    protocols: [tcp]\n', '    protocols: [udp]\n    ports: [53]\n', '']) {
      const eg = await startEgress({ netns: sb.path, policy: rule(extra), resolver: staticResolver({}) });
      await eg.close();
    }
  });
});

describe('SOCKS5 UDP ASSOCIATE and BIND are audited before they are refused', () => {
  test('the refusal reaches the client after the audit entry is written', async () => {
    const audit = new MemoryAudit();
    const proxy = await startProxy({ policy: pol, audit, resolver: staticResolver({ 'allowed.test': A4 }) });
    try {
      for (const [cmd, rule] of [[3, 'udp-not-relayed'], [2, 'socks5-command-not-supported']] as const) {
        const got = await new Promise<Buffer>((resolve, reject) => {
          const s = net.connect(proxy.address.port, '127.0.0.1');
          let out = Buffer.alloc(0);
          s.on('error', reject);
          s.on('data', (c: Buffer) => { out = Buffer.concat([out, c]); });
          s.on('close', () => resolve(out));
          s.write(Buffer.from([5, 1, 0, 5, cmd, 0, 1, 192, 0, 2, 31, 0x1f, 0x90]));
        });
        assert.deepEqual([...got.subarray(2, 6)], [5, 7, 0, 1], 'command not supported');
        const e = audit.events.find((x) => x.rule === rule);
        assert.ok(e, `an audit entry with rule ${rule}`);
        assert.equal(e.decision, 'deny');
        assert.equal(e.subject, `${A4}:8080`);
        assert.equal((e.fields as Record<string, unknown>).via, 'socks5');
        if (cmd === 3) assert.match(String((e.fields as Record<string, unknown>).reason), /UDP other than DNS is not relayed/);
      }
    } finally {
      await proxy.close();
    }
  });
});
