// Strict IP parsing for CIDR rules. The engine expects canonical addresses from its callers
// (the egress part canonicalises odd spellings); here an IPv4-mapped IPv6 address is still
// folded to IPv4 so a rule on 10.0.0.0/8 cannot be sidestepped by writing ::ffff:10.0.0.1.

/** An address as four 32-bit words (IPv4 in the last word with `v4` set). */
export interface Ip {
  v4: boolean;
  w: [number, number, number, number];
}

const V4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function parseV4(s: string): number | undefined {
  const m = V4.exec(s);
  if (!m) return undefined;
  let n = 0;
  for (let i = 1; i <= 4; i++) {
    const part = m[i]!;
    if (part.length > 1 && part[0] === '0') return undefined; // no octal-looking octets
    const o = Number(part);
    if (o > 255) return undefined;
    n = n * 256 + o;
  }
  return n >>> 0;
}

function parseV6(s: string): [number, number, number, number] | undefined {
  let str = s;
  const zone = str.indexOf('%');
  if (zone >= 0) return undefined;
  let tailV4: number | undefined;
  const lastColon = str.lastIndexOf(':');
  if (str.indexOf('.', lastColon) >= 0) {
    tailV4 = parseV4(str.slice(lastColon + 1));
    if (tailV4 === undefined) return undefined;
    str = `${str.slice(0, lastColon + 1)}0:0`;
  }
  const halves = str.split('::');
  if (halves.length > 2) return undefined;
  const parse = (h: string): number[] | undefined => {
    if (h === '') return [];
    const out: number[] = [];
    for (const g of h.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const a = parse(halves[0]!);
  const b = halves.length === 2 ? parse(halves[1]!) : [];
  if (!a || !b) return undefined;
  const groups = halves.length === 2 ? [...a, ...new Array<number>(8 - a.length - b.length).fill(0), ...b] : a;
  if (groups.length !== 8 || (halves.length === 2 && a.length + b.length > 7)) return undefined;
  const w: [number, number, number, number] = [0, 0, 0, 0];
  for (let i = 0; i < 4; i++) w[i] = ((groups[2 * i]! << 16) | groups[2 * i + 1]!) >>> 0;
  if (tailV4 !== undefined) w[3] = tailV4;
  return w;
}

export function parseIp(s: string): Ip | undefined {
  const v4 = parseV4(s);
  if (v4 !== undefined) return { v4: true, w: [0, 0, 0, v4] };
  const str = s.startsWith('[') && s.endsWith(']') ? s.slice(1, -1) : s;
  const w = parseV6(str);
  if (!w) return undefined;
  if (w[0] === 0 && w[1] === 0 && w[2] === 0xffff) return { v4: true, w: [0, 0, 0, w[3]] };
  return { v4: false, w };
}

export interface Cidr {
  v4: boolean;
  w: [number, number, number, number];
  bits: number;
}

export function parseCidr(s: string): Cidr | undefined {
  const slash = s.indexOf('/');
  const ip = parseIp(slash < 0 ? s : s.slice(0, slash));
  if (!ip) return undefined;
  const max = ip.v4 ? 32 : 128;
  let bits = max;
  if (slash >= 0) {
    const b = s.slice(slash + 1);
    if (!/^\d{1,3}$/.test(b)) return undefined;
    bits = Number(b);
    if (bits > max) return undefined;
  }
  return { v4: ip.v4, w: ip.w, bits: ip.v4 ? bits + 96 : bits };
}

export function cidrContains(c: Cidr, ip: Ip): boolean {
  if (c.v4 !== ip.v4) return false;
  let left = c.bits;
  for (let i = 0; i < 4 && left > 0; i++) {
    const take = Math.min(32, left);
    const mask = take === 32 ? 0xffffffff : (0xffffffff << (32 - take)) >>> 0;
    if (((c.w[i]! & mask) >>> 0) !== ((ip.w[i]! & mask) >>> 0)) return false;
    left -= take;
  }
  return true;
}
