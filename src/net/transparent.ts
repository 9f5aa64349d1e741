// Connections the sandbox made with no proxy in mind, captured in its namespace by
// cordon-egress. Cordon decides; the helper moves the bytes (splice, in the kernel) so the
// common case costs no copy through this process. Control protocol on the helper's Unix
// connection (see native/net/cordon-egress.c):
//   helper → "T <ip> <port>\n"          Cordon → "X\n" (deny) | "A <ip> <port> <I|->\n"
//   helper → "F <len>\n<bytes>"          Cordon → "P\n" pass | "M\n" more | "R\n" refuse
//   helper → "E <errno>\n"               upstream connect failed
//   helper → "B <up> <down>\n"           closed, with byte counts
// TCP to port 53 never comes here: the helper sends it as DNS over TCP ("D"), answered by us.
import type net from 'node:net';
import { canonicalIp } from './address.js';
import type { Gateway, Verdict } from './gateway.js';
import { decideConnectRequest } from './http-proxy.js';
import { judgeFirstFlight } from './relay.js';

export async function acceptTransparent(gw: Gateway, sock: net.Socket, rawIp: string, port: number): Promise<void> {
  sock.on('error', () => sock.destroy());
  let ip: string;
  try {
    ip = canonicalIp(rawIp).ip;
  } catch {
    sock.end('X\n');
    return;
  }
  const v = await gw.decideConnect({ kind: 'ip', ip, family: ip.includes(':') ? 6 : 4 }, port, 'transparent');
  if (!v.allowed) { sock.end('X\n'); return; }
  control(gw, sock, await inspected(gw, v, v.host, 'transparent'), v.host, 'transparent');
}

/**
 * A CONNECT the helper read on the proxy port ("C <len>" + request head): decided here like any
 * CONNECT; if allowed, the helper answers 200 and carries the tunnel on its fast path.
 */
export async function acceptHelperConnect(gw: Gateway, sock: net.Socket, head: string): Promise<void> {
  sock.on('error', () => sock.destroy());
  const lines = head.replace(/\r\n\r\n$/, '').split('\r\n');
  const m = /^CONNECT (\S+) HTTP\/1\.[01]$/.exec(lines[0] ?? '');
  const hosts: string[] = [];
  let bad = !m;
  for (const l of lines.slice(1)) {
    const c = l.indexOf(':');
    if (c <= 0 || /\s/.test(l.slice(0, c))) { bad = true; break; }
    if (l.slice(0, c).toLowerCase() === 'host') hosts.push(l.slice(c + 1).trim());
  }
  if (bad || hosts.length > 1) {
    const body = 'Cordon egress proxy: malformed CONNECT request\n';
    reply(sock, `HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
    return;
  }
  const o = await decideConnectRequest(gw, m![1]!, hosts[0]);
  if (!o.ok) { reply(sock, o.response); return; }
  control(gw, sock, await inspected(gw, o.v, o.name, 'connect'), o.name, 'connect');
}

/**
 * With TLS inspection (tls-inspect.ts), the helper carries the client's bytes to a one-shot
 * listener of the inspector instead of the upstream; the inspector checks SNI itself.
 */
async function inspected(gw: Gateway, v: Verdict, name: string | undefined, via: 'transparent' | 'connect'): Promise<Verdict> {
  if (v.inspect === undefined || !gw.inspector) return v;
  return { ...v, connect: await gw.inspector.loopbackFor(v, name, via) };
}

/** "W <len>\n<bytes>": the helper writes the bytes to the client and closes. */
function reply(sock: net.Socket, response: string): void {
  const b = Buffer.from(response, 'latin1');
  sock.end(Buffer.concat([Buffer.from(`W ${b.length}\n`), b]));
}

/** Tells the helper to connect, then answers its first-flight and close reports. */
function control(gw: Gateway, sock: net.Socket, v: Verdict, name: string | undefined, via: 'transparent' | 'connect'): void {
  sock.write(`A ${v.connect!.ip} ${v.connect!.port} ${name !== undefined && v.inspect === undefined ? 'I' : '-'}\n`);
  const base = { via, host: name, ip: v.ip, port: v.port, decision: v.decision.decision, rule: v.decision.rule } as const;
  let buf: Buffer = Buffer.alloc(0);
  let flight: Buffer = Buffer.alloc(0);
  let want = -1;
  sock.on('data', (c: Buffer) => {
    buf = buf.length === 0 ? c : Buffer.concat([buf, c]);
    for (;;) {
      if (want >= 0) {
        if (buf.length < want) return;
        flight = Buffer.concat([flight, buf.subarray(0, want)]);
        buf = buf.subarray(want);
        want = -1;
        const j = judgeFirstFlight(flight, name ?? '');
        if (j === 'pass') sock.write('P\n');
        else if (j === 'more') sock.write('M\n');
        else {
          sock.write('R\n');
          gw.note({ ...base, action: 'connect', decision: 'deny', rule: 'host-agreement', reason: j.refuse });
        }
        continue;
      }
      const nl = buf.indexOf(10);
      if (nl < 0) { if (buf.length > 100) sock.destroy(); return; }
      const line = buf.subarray(0, nl).toString('latin1');
      buf = buf.subarray(nl + 1);
      const [tag, a, b] = line.split(' ');
      if (tag === 'F') want = Math.min(Number(a), 70_000);
      else if (tag === 'E') gw.note({ ...base, action: 'close', reason: `upstream connect failed (errno ${a})` });
      else if (tag === 'B') {
        gw.note({ ...base, action: 'close', reason: 'connection closed', bytesUp: Number(a), bytesDown: Number(b) });
        sock.end();
        return;
      } else { sock.destroy(); return; }
    }
  });
  sock.resume();
}
