// UDP other than DNS, ICMP and every other non-TCP protocol: never relayed, always audited.
//
// Inside the sandbox's namespace, Cordon's nftables filter chain (nftRules in egress.ts) drops
// every non-TCP packet to a non-loopback address except DNS (redirected to Cordon), so the
// sender's sendto / send gets EPERM and no byte reaches anything. The same rule logs the packet
// to NFLOG; cordon-egress reads that log in the namespace (native/net/droplog.c) and sends one
// line per packet here, and this file writes the audit event: decision deny, rule
// `udp-not-relayed` (or `icmp-not-relayed`, `protocol-not-relayed`), with the address, port,
// bytes and, when the address is one of Cordon's synthetic DNS answers, the name.
//
// A flow (protocol, source port, destination, port) is one attempt: its first packet is an
// event at once, and further packets within FLOW_WINDOW_MS are summed into one `close` event
// with the packet count and bytes, so a chatty sender cannot flood the audit trail with one
// entry per datagram. NOT covered: packets beyond what the kernel's netlink buffer holds are
// dropped all the same but reported only as one `droplog-overflow` event.
//
// A policy rule that would *allow* UDP beyond DNS cannot be carried out, so the egress refuses
// to start with it (udpRuleRefusal): never a silent deny of what the policy says is allowed.
import type net from 'node:net';
import type { CompiledPolicy } from '../policy/index.js';
import { FakeIpTable } from './fakeip.js';
import type { Gateway, NetAuditEvent } from './gateway.js';

/** Packets of one flow within this window after its first are summed into one event. */
export const FLOW_WINDOW_MS = 2_000;
/** Flows tracked at once; beyond this every packet is its own event (nothing goes unrecorded). */
const MAX_FLOWS = 10_000;

interface Flow {
  packets: number;
  bytes: number;
  base: Omit<NetAuditEvent, 'kind' | 'action' | 'reason'>;
}

/**
 * The reason a network rule cannot be carried out by the egress, or undefined. Rules that list
 * `udp` in `protocols` with a decision other than deny would allow UDP, which is not relayed;
 * UDP to port 53 only is fine (DNS is answered by Cordon, decided by name). Rules without
 * `protocols` mean TCP and UDP: their TCP part is carried out and UDP attempts they match are
 * audited as not relayed (the event's reason says so).
 */
export function udpRuleRefusal(policy: CompiledPolicy): string | undefined {
  const rules = policy.policy.network_rules ?? [];
  for (const r of rules) {
    if (r.decision === 'deny' || !r.protocols?.includes('udp')) continue;
    const dnsOnly = (r.ports?.length ?? 0) > 0 && r.ports!.every((p) => String(p) === '53' || p === '53-53');
    if (dnsOnly) continue;
    return `network rule "${r.name}" ${r.decision === 'allow' ? 'allows' : `decides ${r.decision} for`} UDP, but Cordon's egress relays only TCP (DNS is answered by Cordon itself): `
      + 'UDP other than DNS never leaves the sandbox, so this rule could not be carried out. Remove udp from its protocols (or restrict it to port 53), or make it deny.';
  }
  return undefined;
}

function ruleFor(proto: string): { rule: string; what: string } {
  if (proto === 'udp') return { rule: 'udp-not-relayed', what: 'UDP other than DNS is not relayed' };
  if (proto === 'icmp' || proto === 'icmpv6') return { rule: 'icmp-not-relayed', what: `${proto.toUpperCase()} is not relayed` };
  return { rule: 'protocol-not-relayed', what: `IP protocol ${proto.slice(2)} is not relayed (only TCP is)` };
}

/** The helper's drop-log channel ("L"): one line per dropped packet (see droplog.c). */
export function serveDropLog(gw: Gateway, sock: net.Socket): void {
  const flows = new Map<string, Flow>();
  let buf = '';
  sock.setEncoding('latin1');
  sock.on('error', () => sock.destroy());
  sock.on('data', (c: string) => {
    buf += c;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      try {
        onPacket(gw, flows, line);
      } catch (e) {
        gw.onError(e);
      }
    }
    if (buf.length > 4096) sock.destroy();
  });
  sock.on('close', () => { for (const k of [...flows.keys()]) flush(gw, flows, k); });
  sock.resume();
}

function onPacket(gw: Gateway, flows: Map<string, Flow>, line: string): void {
  const [proto, src, sportText, dst, dportText, bytesText] = line.split(' ');
  if (proto === 'lost') {
    gw.note({
      action: 'connect', via: 'datagram', decision: 'deny', rule: 'droplog-overflow',
      reason: 'the kernel\'s log of dropped non-TCP packets overflowed: some were dropped (never relayed) without an audit entry each',
    });
    return;
  }
  if (!proto || !dst || dportText === undefined || bytesText === undefined) return;
  const dport = Number(dportText);
  const bytes = Number(bytesText) || 0;
  const key = `${proto} ${src} ${sportText} ${dst} ${dportText}`;
  const have = flows.get(key);
  if (have) {
    have.packets++;
    have.bytes += bytes;
    return;
  }
  const fake = FakeIpTable.inRange(dst) ? gw.fake.lookup(dst) : undefined;
  const ip = fake?.ips[0] ?? dst;
  const isUdp = proto === 'udp';
  const { rule, what } = ruleFor(proto);
  // What the policy says about this destination for UDP, so the entry shows that a rule
  // without `protocols` (tcp and udp) matched but only its TCP part is carried out.
  let policyNote = '';
  if (isUdp) {
    const op = fake ? { kind: 'net' as const, host: fake.host, ip, port: dport, protocol: 'udp' as const } : { kind: 'net' as const, ip, port: dport, protocol: 'udp' as const };
    const d = gw.decider.compiled.evaluate(op);
    if (d.decision !== 'deny' && d.decision !== 'soft_delete') policyNote = `; rule "${d.rule}" (${d.list}) matches it for tcp and udp, and only its TCP part is carried out`;
  }
  const where = isUdp ? `the datagram to ${dst}:${dport}` : proto.startsWith('icmp') ? `the ${proto.toUpperCase()} packet (type ${dport}) to ${dst}` : `the packet to ${dst}`;
  const base: Flow['base'] = { via: 'datagram', ip, protocol: proto, decision: 'deny', rule, bytesUp: bytes };
  if (isUdp) base.port = dport;
  if (fake) base.host = fake.host;
  gw.note({
    ...base, action: 'connect',
    reason: `${what} by Cordon's egress: ${where} was dropped in the sandbox's network namespace (the sender got EPERM)${policyNote}`,
    message: `Cordon does not relay ${isUdp ? 'UDP other than DNS' : proto.toUpperCase()}; use TCP (for HTTP/3, clients fall back to TCP).`,
  });
  if (flows.size >= MAX_FLOWS) return;
  flows.set(key, { packets: 1, bytes, base });
  setTimeout(() => flush(gw, flows, key), FLOW_WINDOW_MS).unref();
}

/** Ends a flow's window: a summary event when more than its first packet was dropped. */
function flush(gw: Gateway, flows: Map<string, Flow>, key: string): void {
  const f = flows.get(key);
  if (!f) return;
  flows.delete(key);
  if (f.packets <= 1) return;
  gw.note({ ...f.base, action: 'close', bytesUp: f.bytes, reason: `${f.packets} packets of this flow were dropped within ${FLOW_WINDOW_MS} ms (never relayed)` });
}
