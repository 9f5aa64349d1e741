// DNS for the sandbox, answered by Cordon. Every query is decided before anything is asked
// upstream, so a query name cannot carry data out to an unlisted zone:
//   - A: the name is resolved once (resolver.ts), decided on name + each address (could any
//     port be allowed?), and answered with a synthetic address (fakeip.ts) standing for that
//     name and the real address. Denied or unresolvable: NXDOMAIN.
//   - AAAA for an allowed name: empty answer (NOERROR/NODATA), so clients use the IPv4
//     synthetic address; IPv6 literals are still decided when connected to.
//   - ANY: REFUSED (RFC 8482 spirit). TXT, MX, SRV and every other type: NXDOMAIN for names
//     the policy does not allow, empty answer for names it does (Cordon does not forward them).
//   - More than one question, non-IN class, unparseable names: REFUSED / FORMERR.
// Every query is an audit event (action `dns`).
//
// NOT covered: DNS over HTTPS/TLS inside a tunnel the policy allows (that is an allowed
// connection; deny the DoH hosts by rule), and PTR for synthetic addresses (NXDOMAIN).
import dnsPacket from 'dns-packet';
import type { Question } from 'dns-packet';
import { AddressError, canonicalHost } from './address.js';
import type { Gateway, Verdict } from './gateway.js';
import { denial } from './gateway.js';

const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, REFUSED: 5 } as const;
const TTL = 60;

function respond(id: number, rd: boolean, q: Question[], rcode: number, answers: dnsPacket.Answer[] = []): Buffer {
  return dnsPacket.encode({
    type: 'response', id,
    flags: (rd ? dnsPacket.RECURSION_DESIRED : 0) | dnsPacket.RECURSION_AVAILABLE | rcode,
    questions: q, answers,
  });
}

/** Answers one DNS message (UDP payload or one TCP frame). undefined: drop silently. */
export async function answerDns(gw: Gateway, msg: Buffer): Promise<Buffer | undefined> {
  // Every message is an attempt and is audited, malformed ones included (rule dns-malformed).
  const refuse = async (reason: string, qtype?: string, host?: string) => {
    const v: Verdict = { allowed: false, port: 53, decision: denial('dns-malformed', reason) };
    if (host !== undefined) v.host = host;
    await gw.record(v, qtype === undefined ? { action: 'dns', via: 'dns', protocol: 'udp' } : { action: 'dns', via: 'dns', qtype, protocol: 'udp' });
  };
  if (msg.length < 12) { await refuse(`a ${msg.length}-byte message is shorter than a DNS header (dropped)`); return undefined; }
  const id = msg.readUInt16BE(0);
  let p: dnsPacket.DecodedPacket;
  try {
    p = dnsPacket.decode(msg);
  } catch {
    await refuse('unparseable DNS message (FORMERR)');
    return respond(id, false, [], RCODE.FORMERR);
  }
  if (p.type !== 'query') { await refuse('a DNS response sent to the resolver (dropped)'); return undefined; }
  const rd = ((p.flags ?? 0) & dnsPacket.RECURSION_DESIRED) !== 0;
  const qs = p.questions ?? [];
  if (qs.length !== 1) { await refuse(`${qs.length} questions in one query (REFUSED)`); return respond(id, rd, qs.slice(0, 1), RCODE.REFUSED); }
  const q = qs[0]!;
  if (q.class !== 'IN') { await refuse(`class ${q.class} (REFUSED)`, q.type); return respond(id, rd, qs, RCODE.REFUSED); }
  let host: string;
  try {
    const c = canonicalHost(q.name);
    if (c.kind !== 'name') { await refuse(`${q.name} is an address, not a name (NXDOMAIN)`, q.type); return respond(id, rd, qs, RCODE.NXDOMAIN); }
    host = c.host;
  } catch (e) {
    if (!(e instanceof AddressError)) throw e;
    await gw.record({ allowed: false, port: 53, decision: denial('dns-bad-name', e.reason) }, { action: 'dns', via: 'dns', qtype: q.type, protocol: 'udp' });
    return respond(id, rd, qs, RCODE.REFUSED);
  }
  const audit = (v: Verdict) => gw.record(v, { action: 'dns', via: 'dns', qtype: q.type, protocol: 'udp' });
  if ((q.type as string) === 'ANY') {
    await audit({ allowed: false, host, port: 53, decision: denial('dns-any', 'ANY queries are refused') });
    return respond(id, rd, qs, RCODE.REFUSED);
  }
  const v = await decideName(gw, host);
  const recorded = await audit(v);
  if (!recorded.allowed) return respond(id, rd, qs, RCODE.NXDOMAIN);
  if (q.type !== 'A') return respond(id, rd, qs, RCODE.NOERROR);
  const fake = gw.fake.assign(host, [recorded.ip!]);
  return respond(id, rd, qs, RCODE.NOERROR, [{ type: 'A', name: q.name, ttl: TTL, data: fake }]);
}

/** Name-level verdict: gate on the name (no upstream query for hopeless names), resolve once, decide per address. */
async function decideName(gw: Gateway, host: string): Promise<Verdict> {
  const gate = gw.nameGate(host);
  if (gate) return { allowed: false, host, port: 53, decision: gate };
  const ips = await gw.resolveName(host);
  if (ips.length === 0) return { allowed: false, host, port: 53, decision: denial('unresolvable', `${host} does not resolve`) };
  let first: Verdict | undefined;
  for (const ip of ips) {
    const d = gw.decider.decideName(host, ip);
    const v: Verdict = { allowed: d.decision !== 'deny' && d.decision !== 'soft_delete', decision: d, host, ip, port: 53 };
    if (v.allowed) return v;
    first ??= v;
  }
  return first!;
}
