// Address canonicalisation: one spelling for every host the sandbox names, decided on and
// connected to. Every entry point (proxy request line, CONNECT target, SOCKS5 request, DNS
// question, transparent destination) goes through here before the policy sees anything, so
// `0x7f.1`, `2130706433`, `127.1`, `[::ffff:127.0.0.1]` and `127.0.0.1` are one address, and
// `Example.COM.` and `example.com` are one name (trap 6 in STYLE.md: deciding on one spelling,
// acting on another).
//
// We lean on the WHATWG URL host parser (Node's, the one browsers use) for the IPv4 number
// forms, IPv6 compression and IDNA/punycode, then add what it leaves: trailing-dot removal,
// IPv4-mapped IPv6 folded to IPv4 (the kernel talks IPv4 to those), zone ids refused, and
// anything that smells of userinfo, paths or extra ports refused outright rather than "fixed".
import { isIPv4, isIPv6 } from 'node:net';

export type CanonicalHost =
  | { kind: 'ip'; ip: string; family: 4 | 6 }
  | { kind: 'name'; host: string };

export interface HostPort {
  host: CanonicalHost;
  port: number;
}

/** A host or authority that cannot be canonicalised; `reason` is a sentence for the agent. */
export class AddressError extends Error {
  constructor(readonly input: string, readonly reason: string) {
    super(`invalid address ${JSON.stringify(input.slice(0, 200))}: ${reason}`);
    this.name = 'AddressError';
  }
}

// Characters that never belong in a bare host: userinfo, path, query, fragment, zone id,
// whitespace and controls. Refusing them here is what stops `allowed.test@evil.test`,
// `evil.test#.allowed.test` and `evil.test/allowed.test` from being read two ways.
const FORBIDDEN_IN_HOST = /[@/\\?#%\s\u0000-\u001f\u007f]/;
const LABEL = /^(?!-)[a-z0-9_-]{1,63}(?<!-)$/;

// Hosts repeat (every request to the same API); canonical forms are immutable, so a small
// bounded cache of successful results saves a URL parse per request.
const CACHE_MAX = 1024;
const cache = new Map<string, CanonicalHost>();

/** Canonical form of a host as typed: IP literal (any spelling) or DNS name. Throws AddressError. */
export function canonicalHost(raw: string): CanonicalHost {
  const hit = cache.get(raw);
  if (hit) return hit;
  const c = Object.freeze(canonicalHostUncached(raw));
  if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value as string);
  cache.set(raw, c);
  return c;
}

function canonicalHostUncached(raw: string): CanonicalHost {
  if (typeof raw !== 'string' || raw.length === 0) throw new AddressError(String(raw), 'empty host');
  if (raw.length > 300) throw new AddressError(raw, 'host longer than 300 characters');
  if (FORBIDDEN_IN_HOST.test(raw)) {
    throw new AddressError(raw, 'host contains a character that only appears in userinfo, paths, zone ids or whitespace');
  }
  let inner = raw;
  if (inner.startsWith('[') && inner.endsWith(']')) inner = inner.slice(1, -1);
  if (inner.includes(':')) {
    if (!isIPv6(inner)) throw new AddressError(raw, 'contains ":" but is not an IPv6 address (ports are given separately)');
    return canonicalIp(inner);
  }
  let hostname: string;
  try {
    hostname = new URL(`http://${inner}/`).hostname;
  } catch {
    throw new AddressError(raw, 'not a valid host name or IPv4 address');
  }
  if (isIPv4(hostname)) return { kind: 'ip', ip: hostname, family: 4 };
  if (hostname.endsWith('.')) hostname = hostname.slice(0, -1);
  if (hostname.length === 0 || hostname.length > 253) throw new AddressError(raw, 'host name must be 1 to 253 characters');
  const labels = hostname.split('.');
  for (const l of labels) {
    if (!LABEL.test(l)) throw new AddressError(raw, `host name label ${JSON.stringify(l)} is not a valid DNS label`);
  }
  // A name whose last label is all digits would be read as an IPv4 number by some resolvers.
  if (/^\d+$/.test(labels[labels.length - 1]!)) throw new AddressError(raw, 'last label is numeric: neither a name nor an IPv4 address');
  return { kind: 'name', host: hostname };
}

/** Canonical IP string: dotted quad, or compressed lower-case IPv6; IPv4-mapped IPv6 becomes IPv4. */
export function canonicalIp(raw: string): CanonicalHost & { kind: 'ip' } {
  if (isIPv4(raw)) {
    // net.isIPv4 accepts only dotted-decimal quads; still normalise leading zeros away.
    return { kind: 'ip', ip: raw.split('.').map((p) => String(Number(p))).join('.'), family: 4 };
  }
  const s = raw.startsWith('[') && raw.endsWith(']') ? raw.slice(1, -1) : raw;
  if (s.includes('%')) throw new AddressError(raw, 'IPv6 zone ids are not accepted');
  if (!isIPv6(s)) throw new AddressError(raw, 'not an IP address');
  const bytes = ipv6Bytes(s);
  if (bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) {
    return { kind: 'ip', ip: `${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`, family: 4 };
  }
  const h = new URL(`http://[${s}]/`).hostname;
  return { kind: 'ip', ip: h.slice(1, -1), family: 6 };
}

/** 16 bytes of an IPv6 address (already validated by isIPv6). */
export function ipv6Bytes(s: string): number[] {
  let text = s;
  const tail: number[] = [];
  const lastColon = text.lastIndexOf(':');
  const last = text.slice(lastColon + 1);
  if (last.includes('.')) {
    for (const p of last.split('.')) tail.push(Number(p));
    text = text.slice(0, lastColon + 1) + '0:0';
  }
  const [head, rest] = text.includes('::') ? text.split('::') as [string, string] : [text, undefined];
  const hs = head ? head.split(':') : [];
  const rs = rest !== undefined && rest !== '' ? rest.split(':') : [];
  const fill = 8 - hs.length - rs.length;
  const groups = [...hs, ...Array(rest !== undefined ? fill : 0).fill('0'), ...rs].map((g) => parseInt(g, 16));
  const out: number[] = [];
  for (const g of groups) out.push((g >> 8) & 0xff, g & 0xff);
  if (tail.length === 4) out.splice(12, 4, ...tail);
  return out;
}

/** 4 bytes of a dotted-quad IPv4 address. */
export function ipv4Bytes(s: string): number[] {
  return s.split('.').map(Number);
}

const PORT = /^[0-9]{1,5}$/;

/** A port as written after a colon: decimal digits only, 1..65535. */
export function parsePort(raw: string): number {
  if (!PORT.test(raw)) throw new AddressError(raw, 'port must be 1 to 5 decimal digits');
  const n = Number(raw);
  if (n < 1 || n > 65535) throw new AddressError(raw, 'port must be between 1 and 65535');
  return n;
}

/**
 * `host:port` as in a CONNECT request line or SOCKS-style target: exactly one port, IPv6 in
 * brackets, no userinfo. `allowed.test:443@evil.test:443`, `evil.test:443:80`, `[::1]` without a
 * port and `host:+443` are all refused.
 */
export function parseAuthority(raw: string): HostPort {
  if (raw.length > 300) throw new AddressError(raw, 'authority longer than 300 characters');
  if (raw.includes('@')) throw new AddressError(raw, 'userinfo (user@) is not accepted in a target');
  let hostPart: string;
  let portPart: string;
  if (raw.startsWith('[')) {
    const close = raw.indexOf(']');
    if (close < 0 || raw[close + 1] !== ':') throw new AddressError(raw, 'expected [IPv6]:port');
    hostPart = raw.slice(0, close + 1);
    portPart = raw.slice(close + 2);
  } else {
    const colon = raw.indexOf(':');
    if (colon < 0) throw new AddressError(raw, 'missing :port');
    if (raw.indexOf(':', colon + 1) >= 0) throw new AddressError(raw, 'more than one ":" (IPv6 must be in brackets)');
    hostPart = raw.slice(0, colon);
    portPart = raw.slice(colon + 1);
  }
  return { host: canonicalHost(hostPart), port: parsePort(portPart) };
}

/** The host part of a Host header value (`name`, `name:port`, `[v6]:port`), canonical. */
export function parseHostHeader(raw: string): HostPort | { host: CanonicalHost; port: undefined } {
  if (raw.startsWith('[')) {
    const close = raw.indexOf(']');
    if (close === raw.length - 1) return { host: canonicalHost(raw), port: undefined };
    return parseAuthority(raw);
  }
  if (raw.includes(':')) return parseAuthority(raw);
  return { host: canonicalHost(raw), port: undefined };
}

/** Text form for messages and audit: names as is, IPv6 in brackets when a port follows. */
export function formatHost(h: CanonicalHost): string {
  return h.kind === 'name' ? h.host : h.family === 6 ? `[${h.ip}]` : h.ip;
}

export function sameHost(a: CanonicalHost, b: CanonicalHost): boolean {
  return a.kind === 'name' ? b.kind === 'name' && a.host === b.host : b.kind === 'ip' && a.ip === b.ip;
}
