// SSRF guard: addresses that reach the machine itself, its cloud metadata service or the
// private network are denied unless a rule *names* them: the matching network rule has a
// `cidrs` entry that contains the address and is at least as specific as the special range
// (`127.0.0.0/8` names loopback; `0.0.0.0/0` or `::/0` does not). A domain rule never names a
// special address: `*.example.com` resolving to 169.254.169.254 (DNS rebinding, a hostile
// record) is still denied.
//
// IPv6 forms that carry an IPv4 address (NAT64 64:ff9b::/96, 6to4 2002::/16, IPv4-compatible
// ::/96) are classified by the IPv4 address they carry. IPv4-mapped ::ffff:0:0/96 never gets
// here: canonicalIp folds it to IPv4. Teredo (2001::/32) is refused as a whole: the IPv4 it
// reaches is obfuscated and it is a tunnel out by design.
//
// NOT covered: names that resolve differently for the upstream than for us (we connect to
// the address we resolved and decided on, so that cannot be exploited through Cordon), and
// public addresses that happen to front internal services (that is policy, not SSRF).
import { ipv4Bytes, ipv6Bytes } from './address.js';

export type SpecialClass =
  | 'unspecified' | 'loopback' | 'private' | 'shared' | 'link-local' | 'metadata'
  | 'multicast' | 'broadcast' | 'reserved' | 'documentation' | 'benchmark' | 'tunnel';

export interface Cidr {
  family: 4 | 6;
  bytes: number[];
  prefix: number;
  text: string;
}

export interface SpecialRange {
  cls: SpecialClass;
  range: Cidr;
}

/** Parses `a.b.c.d/n`, `v6/n` or a bare address (full-length prefix). Returns undefined if invalid. */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  const addr = slash < 0 ? text : text.slice(0, slash);
  const pfx = slash < 0 ? undefined : text.slice(slash + 1);
  let family: 4 | 6;
  let bytes: number[];
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(addr)) {
    family = 4;
    bytes = ipv4Bytes(addr);
    if (bytes.some((b) => b > 255)) return undefined;
  } else if (addr.includes(':')) {
    family = 6;
    try {
      bytes = ipv6Bytes(addr);
    } catch {
      return undefined;
    }
    if (bytes.length !== 16 || bytes.some((b) => Number.isNaN(b))) return undefined;
  } else return undefined;
  const max = family === 4 ? 32 : 128;
  const prefix = pfx === undefined ? max : /^\d{1,3}$/.test(pfx) ? Number(pfx) : NaN;
  if (!(prefix >= 0 && prefix <= max)) return undefined;
  return { family, bytes, prefix, text };
}

export function cidrContains(c: Cidr, family: 4 | 6, bytes: number[]): boolean {
  if (c.family !== family) return false;
  let bits = c.prefix;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((c.bytes[i]! & mask) !== (bytes[i]! & mask)) return false;
  }
  return true;
}

function table(entries: [SpecialClass, string][]): SpecialRange[] {
  return entries.map(([cls, t]) => ({ cls, range: parseCidr(t)! }));
}

// Most specific first: the first containing range classifies the address.
const V4 = table([
  ['metadata', '169.254.169.254/32'],
  ['metadata', '100.100.100.200/32'],
  ['broadcast', '255.255.255.255/32'],
  ['unspecified', '0.0.0.0/8'],
  ['private', '10.0.0.0/8'],
  ['shared', '100.64.0.0/10'],
  ['loopback', '127.0.0.0/8'],
  ['link-local', '169.254.0.0/16'],
  ['private', '172.16.0.0/12'],
  ['reserved', '192.0.0.0/24'],
  ['documentation', '192.0.2.0/24'],
  ['private', '192.168.0.0/16'],
  ['benchmark', '198.18.0.0/15'],
  ['documentation', '198.51.100.0/24'],
  ['documentation', '203.0.113.0/24'],
  ['multicast', '224.0.0.0/4'],
  ['reserved', '240.0.0.0/4'],
]);

const V6 = table([
  ['metadata', 'fd00:ec2::254/128'],
  ['unspecified', '::/128'],
  ['loopback', '::1/128'],
  ['reserved', '100::/64'],
  ['tunnel', '2001::/32'],
  ['documentation', '2001:db8::/32'],
  ['private', '64:ff9b:1::/48'],
  ['private', 'fc00::/7'],
  ['link-local', 'fe80::/10'],
  ['private', 'fec0::/10'],
  ['multicast', 'ff00::/8'],
]);

const NAT64 = parseCidr('64:ff9b::/96')!;
const SIX_TO_FOUR = parseCidr('2002::/16')!;
const V4_COMPAT = parseCidr('::/96')!;

/** The IPv4 address an IPv6 address carries (NAT64, 6to4, IPv4-compatible), if any. */
export function embeddedIpv4(bytes: number[]): number[] | undefined {
  if (cidrContains(NAT64, 6, bytes)) return bytes.slice(12, 16);
  if (cidrContains(SIX_TO_FOUR, 6, bytes)) return bytes.slice(2, 6);
  // ::/128 and ::1 are classified before we get here.
  if (cidrContains(V4_COMPAT, 6, bytes)) return bytes.slice(12, 16);
  return undefined;
}

/**
 * The special range a canonical IP belongs to, or undefined for ordinary public unicast.
 * For IPv6 embedding IPv4, the class is the embedded address's and the range is the IPv6
 * embedding prefix (a rule must name the IPv6 form to allow it).
 */
export function classifyIp(ip: string): SpecialRange | undefined {
  if (classified.has(ip)) return classified.get(ip);
  const r = classifyUncached(ip);
  if (classified.size >= 4096) classified.delete(classified.keys().next().value as string);
  classified.set(ip, r);
  return r;
}

const classified = new Map<string, SpecialRange | undefined>();

function classifyUncached(ip: string): SpecialRange | undefined {
  if (!ip.includes(':')) {
    const b = ipv4Bytes(ip);
    return V4.find((r) => cidrContains(r.range, 4, b));
  }
  const b = ipv6Bytes(ip);
  const direct = V6.find((r) => cidrContains(r.range, 6, b));
  if (direct) return direct;
  const v4 = embeddedIpv4(b);
  if (v4) {
    const inner = V4.find((r) => cidrContains(r.range, 4, v4));
    if (inner) {
      const range = cidrContains(NAT64, 6, b) ? NAT64 : cidrContains(SIX_TO_FOUR, 6, b) ? SIX_TO_FOUR : V4_COMPAT;
      return { cls: inner.cls, range };
    }
  }
  return undefined;
}

/**
 * True when one of `cidrs` contains `ip` and is at least as specific as the special range the
 * address is in: that is what "a rule names it" means.
 */
export function cidrsName(cidrs: readonly string[] | undefined, ip: string, special: SpecialRange): boolean {
  if (!cidrs) return false;
  const family = ip.includes(':') ? 6 : 4;
  const bytes = family === 4 ? ipv4Bytes(ip) : ipv6Bytes(ip);
  return cidrs.some((t) => {
    const c = parseCidr(t);
    return c !== undefined && c.prefix >= special.range.prefix && cidrContains(c, family, bytes);
  });
}
