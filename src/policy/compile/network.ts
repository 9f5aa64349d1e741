// network_rules: a rule matches when the host matches one of its domains or the address lies in
// one of its CIDRs (a rule with neither matches any destination), and the port and protocol fit.
// Domains are hashed: exact names directly, `*.zone` by walking the host's parent zones.
import { compileGlobAny } from '../glob.js';
import { cidrContains, parseCidr, parseIp, type Ip } from '../ip.js';
import type { NetworkRule } from '../schema/network-rules.js';
import type { NetOperation } from '../types.js';
import { scan, sortBucket, type Entry } from './first-match.js';

interface Probe {
  op: NetOperation;
  host: string | undefined;
  ip: Ip | undefined;
}

export function normalizeHost(h: string): string {
  const l = h.toLowerCase();
  return l.endsWith('.') ? l.slice(0, -1) : l;
}

function portRanges(ports: NetworkRule['ports']): [number, number][] | undefined {
  if (!ports || ports.length === 0) return undefined;
  return ports.map((p) => {
    if (typeof p === 'number') return [p, p];
    const [lo, hi] = p.split('-').map(Number);
    return [lo!, hi ?? lo!];
  });
}

export function compileNetworkRules(rules: readonly NetworkRule[]): (op: NetOperation) => number {
  const exact = new Map<string, Entry<Probe>[]>();
  const zones = new Map<string, Entry<Probe>[]>();
  const scanned: Entry<Probe>[] = [];
  const add = (m: Map<string, Entry<Probe>[]>, k: string, e: Entry<Probe>) => {
    let b = m.get(k);
    if (!b) m.set(k, (b = []));
    b.push(e);
  };
  rules.forEach((r, i) => {
    const ranges = portRanges(r.ports);
    const protos = r.protocols;
    const rest = (p: Probe): boolean => {
      if (ranges) {
        const port = p.op.port;
        let ok = false;
        for (const [lo, hi] of ranges) if (port >= lo && port <= hi) { ok = true; break; }
        if (!ok) return false;
      }
      return !protos || protos.includes(p.op.protocol ?? 'tcp');
    };
    const hasDomains = r.domains !== undefined && r.domains.length > 0;
    const hasCidrs = r.cidrs !== undefined && r.cidrs.length > 0;
    if (!hasDomains && !hasCidrs) {
      scanned.push({ rule: i, test: rest });
      return;
    }
    for (const d of r.domains ?? []) {
      const dom = normalizeHost(d);
      if (dom === '*') scanned.push({ rule: i, test: (p) => p.host !== undefined && rest(p) });
      else if (dom.startsWith('*.') && !/[*?[\\{]/.test(dom.slice(2))) add(zones, dom.slice(2), { rule: i, test: rest });
      else if (!/[*?[\\{]/.test(dom)) add(exact, dom, { rule: i, test: rest });
      else {
        const m = compileGlobAny(dom, '.');
        scanned.push({ rule: i, test: (p) => p.host !== undefined && m(p.host) && rest(p) });
      }
    }
    if (hasCidrs) {
      const cidrs = r.cidrs!.map((c) => parseCidr(c)!);
      scanned.push({ rule: i, test: (p) => p.ip !== undefined && cidrs.some((c) => cidrContains(c, p.ip!)) && rest(p) });
    }
  });
  for (const b of exact.values()) sortBucket(b);
  for (const b of zones.values()) sortBucket(b);
  sortBucket(scanned);
  const probe: Probe = { op: undefined as unknown as NetOperation, host: undefined, ip: undefined };
  return (op) => {
    probe.op = op;
    probe.host = op.host === undefined ? undefined : normalizeHost(op.host);
    probe.ip = op.ip === undefined ? undefined : parseIp(op.ip);
    let best = Infinity;
    const host = probe.host;
    if (host !== undefined) {
      best = scan(exact.get(host), probe, best);
      // `*.zone` matches every name strictly below zone.
      for (let dot = host.indexOf('.'); dot >= 0; dot = host.indexOf('.', dot + 1)) {
        best = scan(zones.get(host.slice(dot + 1)), probe, best);
      }
    }
    return scan(scanned, probe, best);
  };
}
