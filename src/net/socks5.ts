// SOCKS5 (RFC 1928), CONNECT only, no authentication: for tools that honour ALL_PROXY
// (socks5h://). Names are resolved by Cordon, never by the client. UDP ASSOCIATE and BIND are
// audited, then answered "command not supported"; SOCKS4 and anything else is closed.
import type net from 'node:net';
import type { CanonicalHost } from './address.js';
import { AddressError, canonicalHost, canonicalIp } from './address.js';
import type { Gateway, Verdict } from './gateway.js';
import { denial } from './gateway.js';
import type { ProxyLimits } from './http-proxy.js';
import { openTunnel } from './http-proxy.js';

const REP = { OK: 0, FAIL: 1, NOT_ALLOWED: 2, HOST_UNREACHABLE: 4, REFUSED: 5, CMD: 7, ATYP: 8 } as const;

function reply(code: number): Buffer {
  return Buffer.from([5, code, 0, 1, 0, 0, 0, 0, 0, 0]);
}

type Parsed<T> = { need: true } | { need: false; value: T; used: number };

function parseGreeting(b: Buffer): Parsed<number[]> {
  if (b.length < 2) return { need: true };
  const n = b[1]!;
  if (b.length < 2 + n) return { need: true };
  return { need: false, value: [...b.subarray(2, 2 + n)], used: 2 + n };
}

function parseRequest(b: Buffer): Parsed<{ cmd: number; host: CanonicalHost | string; port: number }> {
  if (b.length < 5) return { need: true };
  const atyp = b[3]!;
  let o = 4;
  let host: CanonicalHost | string;
  if (atyp === 1) {
    if (b.length < o + 4 + 2) return { need: true };
    host = canonicalIp(`${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`);
    o += 4;
  } else if (atyp === 4) {
    if (b.length < o + 16 + 2) return { need: true };
    const g: string[] = [];
    for (let i = 0; i < 8; i++) g.push(b.readUInt16BE(o + 2 * i).toString(16));
    host = canonicalIp(g.join(':'));
    o += 16;
  } else if (atyp === 3) {
    const len = b[o]!;
    if (b.length < o + 1 + len + 2) return { need: true };
    const raw = b.subarray(o + 1, o + 1 + len).toString('latin1');
    try {
      host = canonicalHost(raw);
    } catch (e) {
      if (!(e instanceof AddressError)) throw e;
      host = `invalid: ${e.reason}`;
    }
    o += 1 + len;
  } else {
    host = 'invalid: unknown address type';
    return { need: false, value: { cmd: -atyp, host, port: 0 }, used: b.length };
  }
  return { need: false, value: { cmd: b[1]!, host, port: b.readUInt16BE(o) }, used: o + 2 };
}

export function handleSocks5(gw: Gateway, limits: ProxyLimits, sock: net.Socket, first: Buffer): void {
  let buf = first;
  let stage: 'greeting' | 'request' | 'done' = 'greeting';
  const timer = setTimeout(() => sock.destroy(), limits.headersTimeoutMs);
  const onData = (c: Buffer) => { buf = Buffer.concat([buf, c]); step(); };
  const step = () => {
    if (buf.length > 600) { sock.destroy(); return; }
    if (stage === 'greeting') {
      const g = parseGreeting(buf);
      if (g.need) return;
      buf = buf.subarray(g.used);
      if (!g.value.includes(0)) { sock.end(Buffer.from([5, 0xff])); stage = 'done'; return; }
      sock.write(Buffer.from([5, 0]));
      stage = 'request';
    }
    if (stage === 'request') {
      if (buf.length >= 1 && buf[0] !== 5) { sock.destroy(); return; }
      const r = parseRequest(buf);
      if (r.need) return;
      stage = 'done';
      clearTimeout(timer);
      sock.off('data', onData);
      sock.pause();
      const rest = buf.subarray(r.used);
      const { cmd, host, port } = r.value;
      if (cmd < 0) { sock.end(reply(REP.ATYP)); return; }
      if (cmd !== 1) {
        // UDP ASSOCIATE (3) and BIND (2) are attempts too: audited, then refused (UDP other
        // than DNS is not relayed; nothing listens for inbound connections on the sandbox's
        // behalf). The reply waits for the audit write, as every other decision does.
        const what = cmd === 3 ? 'SOCKS5 UDP ASSOCIATE: UDP other than DNS is not relayed by Cordon\'s egress' : cmd === 2 ? 'SOCKS5 BIND (inbound connections) is not supported' : `SOCKS5 command ${cmd} is not supported`;
        const v: Verdict = { allowed: false, port, decision: denial(cmd === 3 ? 'udp-not-relayed' : 'socks5-command-not-supported', what) };
        if (typeof host !== 'string') { if (host.kind === 'name') v.host = host.host; else v.ip = host.ip; }
        void gw.record(v, { action: 'connect', via: 'socks5', protocol: cmd === 3 ? 'udp' : 'tcp' })
          .catch((e) => gw.onError(e))
          .finally(() => sock.end(reply(REP.CMD)));
        return;
      }
      if (typeof host === 'string' || port === 0) { sock.end(reply(REP.HOST_UNREACHABLE)); return; }
      void connectSocks(gw, limits, sock, host, port, rest).catch((e) => { gw.onError(e); sock.destroy(); });
    }
  };
  sock.on('data', onData);
  sock.on('error', () => sock.destroy());
  sock.on('close', () => clearTimeout(timer));
  step();
}

async function connectSocks(gw: Gateway, limits: ProxyLimits, sock: net.Socket, host: CanonicalHost, port: number, rest: Buffer): Promise<void> {
  const v = await gw.decideConnect(host, port, 'socks5');
  if (!v.allowed) { sock.end(reply(REP.NOT_ALLOWED)); return; }
  const name = host.kind === 'name' ? host.host : v.host;
  await openTunnel(gw, limits, sock, v, name, rest, 'socks5', () => sock.write(reply(REP.OK)), () => sock.end(reply(REP.REFUSED)));
}
