// The one pipeline every egress path shares: canonical target in, resolved-once address and a
// settled, audited verdict out. Proxy (HTTP, CONNECT, SOCKS5), transparent TCP and DNS differ
// only in how they learn the target and how they carry the verdict out.
//
// Order matters and is the security argument: canonicalise (address.ts) → map synthetic DNS
// addresses back to the name and real address they stand for (fakeip.ts) → resolve a name once
// → decide on name + address + port (engine + SSRF guard) → follow a redirect → ask a human for
// approve → write the audit event, and if that write fails, deny. The caller then connects to
// exactly `connect.ip`, never to a name.
import type { Decision, Operation } from '../policy/index.js';
import type { CanonicalHost } from './address.js';
import { AddressError, canonicalHost, parseAuthority } from './address.js';
import type { Approver, NetTarget } from './decide.js';
import { NetDecider, hostGlob } from './decide.js';
import { FakeIpTable } from './fakeip.js';
import type { Resolver } from './resolver.js';
import type { CompiledPolicy } from '../policy/index.js';
import type { AuditEventInput, AuditSink } from '../audit/index.js';
import type { TlsInspector } from './tls-inspect.js';

export type Via = 'http' | 'connect' | 'socks5' | 'transparent' | 'dns' | 'datagram';

/** What one egress audit event says, before it becomes an audit-part event (see toAuditEvent). */
export interface NetAuditEvent {
  kind: 'net';
  action: 'connect' | 'http' | 'dns' | 'close';
  via: Via;
  host?: string;
  ip?: string;
  port?: number;
  /** tcp, udp, or for dropped packets (via `datagram`) icmp, icmpv6, ip<N>. */
  protocol?: string;
  method?: string;
  path?: string;
  qtype?: string;
  decision: string;
  rule: string;
  reason: string;
  message?: string;
  bytesUp?: number;
  bytesDown?: number;
}

/** The audit part's sink (src/audit): `append` rejects when the event was not durably recorded. */
export type NetAuditSink = Pick<AuditSink, 'append'>;

const AUDIT_DECISIONS = new Set(['allow', 'deny', 'redirect', 'approve', 'audit', 'soft_delete']);

/**
 * Maps an egress event onto the audit model: kind `net` (or `http` for request decisions),
 * operation = action, subject = `host:port` (the name when known, else the address), and the
 * rest in `fields`.
 */
export function toAuditEvent(e: NetAuditEvent, session: string, policyDigest?: string): AuditEventInput {
  const where = e.host ?? (e.ip?.includes(':') ? `[${e.ip}]` : e.ip) ?? '?';
  const fields: Record<string, unknown> = { via: e.via, reason: e.reason };
  for (const k of ['host', 'ip', 'port', 'protocol', 'method', 'path', 'qtype', 'bytesUp', 'bytesDown'] as const) {
    if (e[k] !== undefined) fields[k] = e[k];
  }
  const out: AuditEventInput = {
    kind: e.action === 'http' ? 'http' : 'net',
    operation: e.action === 'http' ? (e.method ?? 'request') : e.action,
    subject: e.action === 'http' && e.path !== undefined ? `${where}:${e.port ?? ''}${e.path}` : `${where}:${e.port ?? ''}`,
    rule: e.rule,
    session,
    fields,
  };
  if (AUDIT_DECISIONS.has(e.decision)) out.decision = e.decision as AuditEventInput['decision'] & string;
  if (e.message !== undefined) out.message = e.message;
  if (policyDigest !== undefined) out.policyDigest = policyDigest;
  return out;
}

export interface Verdict {
  allowed: boolean;
  decision: Decision;
  /** The canonical name, when one is known (asked for, or behind a synthetic address). */
  host?: string;
  /** The address decided on (the real one, never a synthetic one). */
  ip?: string;
  port: number;
  /** Where to connect when allowed (differs from ip/port only for a redirect). */
  connect?: { ip: string; port: number };
  /** Set when TLS inspection takes this tunnel over: the host http_rules match (tls-inspect.ts). */
  inspect?: string;
}

export interface GatewayOptions {
  policy: CompiledPolicy;
  resolver: Resolver;
  audit?: NetAuditSink;
  approver?: Approver;
  /** Session id written on every audit event (default `egress`). */
  session?: string;
  /** Called for internal errors that must not take the egress down (default: stderr). */
  onError?: (e: unknown) => void;
}

export function denial(rule: string, reason: string, message?: string): Decision {
  const d: Decision = { decision: 'deny', rule, ruleIndex: -1, list: 'network_rules', reason };
  if (message !== undefined) d.message = message;
  return d;
}

export class Gateway {
  readonly decider: NetDecider;
  readonly fake = new FakeIpTable();
  readonly resolver: Resolver;
  private readonly audit: NetAuditSink | undefined;
  private readonly session: string;
  readonly onError: (e: unknown) => void;
  /** Opt-in TLS inspection (tls-inspect.ts); absent, tunnels to hosts http_rules govern are refused. */
  inspector?: TlsInspector;

  constructor(opts: GatewayOptions) {
    this.decider = new NetDecider(opts.policy, opts.approver);
    this.resolver = opts.resolver;
    this.audit = opts.audit;
    this.session = opts.session ?? 'egress';
    this.onError = opts.onError ?? ((e) => process.stderr.write(`cordon net: ${(e as Error)?.stack ?? String(e)}\n`));
  }

  /** Resolve once, decide, settle approve, audit. Never throws; a failure is a deny. */
  async decideConnect(target: CanonicalHost, port: number, via: Via, protocol: 'tcp' | 'udp' = 'tcp'): Promise<Verdict> {
    let v: Verdict;
    try {
      v = await this.decideInner(target, port, protocol, via);
    } catch (e) {
      this.onError(e);
      v = { allowed: false, decision: denial('internal-error', `egress error: ${(e as Error)?.message ?? String(e)}`), port };
    }
    if (v.allowed && this.inspector && (via === 'connect' || via === 'socks5' || (via === 'transparent' && port === 443))) {
      const s = this.httpSubject(v.host, v.ip);
      if (s !== undefined) v.inspect = s;
    }
    return this.record(v, { action: 'connect', via, protocol });
  }

  private async decideInner(target: CanonicalHost, port: number, protocol: 'tcp' | 'udp', via: Via): Promise<Verdict> {
    let host: string | undefined;
    let candidates: string[];
    if (target.kind === 'ip') {
      const entry = FakeIpTable.inRange(target.ip) ? this.fake.lookup(target.ip) : undefined;
      if (entry) {
        host = entry.host;
        candidates = entry.ips;
      } else candidates = [target.ip];
      const governed = this.uninspectable(via, host, candidates[0]!, port);
      if (governed) return { allowed: false, host, ip: candidates[0]!, port, decision: governed };
    } else {
      host = target.host;
      // Before the name gate and the lookup: a refused connection asks nothing upstream.
      const governed = this.uninspectable(via, host, undefined, port);
      if (governed) return { allowed: false, host, port, decision: governed };
      const gate = this.nameGate(host);
      if (gate) return { allowed: false, host, port, decision: gate };
      // connect_redirects match a name on the name alone: the original is never contacted,
      // so it is not looked up either (a glob like '*.example.com' would otherwise carry
      // the client's choice of subdomain to that zone's DNS).
      const byName = this.connectRedirect(host, '', port);
      if (byName) return this.followRedirect(byName, host, undefined, port);
      candidates = await this.resolveName(host);
      if (candidates.length === 0) {
        return { allowed: false, host, port, decision: denial('unresolvable', `${host} does not resolve`, `Cordon could not resolve ${host}.`) };
      }
    }
    const redirected = this.connectRedirect(host, candidates[0]!, port);
    if (redirected) return this.followRedirect(redirected, host, candidates[0]!, port);
    // Decide on each resolved address in order; connect to the first one allowed.
    let first: Decision | undefined;
    let chosen: { ip: string; d: Decision } | undefined;
    for (const ip of candidates) {
      const t: NetTarget = { ip, port, protocol };
      if (host !== undefined) t.host = host;
      const d = this.decider.decideNet(t);
      first ??= d;
      if (d.decision !== 'deny' && d.decision !== 'soft_delete') { chosen = { ip, d }; break; }
    }
    if (!chosen) return { allowed: false, decision: first!, host, ip: candidates[0]!, port };
    const op: Operation = { kind: 'net', ip: chosen.ip, port, protocol };
    if (host !== undefined) op.host = host;
    const settled = await this.decider.settle(op, chosen.d);
    const v: Verdict = { allowed: settled.allowed, decision: settled.decision, ip: chosen.ip, port };
    if (host !== undefined) v.host = host;
    if (!settled.allowed) return v;
    if (settled.decision.decision === 'redirect') {
      const r = settled.decision.redirect;
      if (!r || r.kind !== 'net') {
        return { ...v, allowed: false, decision: denial(settled.decision.rule, 'redirect decision without a network target') };
      }
      const to = canonicalHost(r.host);
      const ips = to.kind === 'ip' ? [to.ip] : await this.resolveName(to.host);
      if (ips.length === 0) return { ...v, allowed: false, decision: denial(settled.decision.rule, `redirect target ${r.host} does not resolve`) };
      v.connect = { ip: ips[0]!, port: r.port };
      return v;
    }
    v.connect = { ip: chosen.ip, port };
    return v;
  }

  private async followRedirect(r: { to: string; decision: Decision }, host: string | undefined, ip: string | undefined, port: number): Promise<Verdict> {
    const to = parseAuthority(r.to);
    const ips = to.host.kind === 'ip' ? [to.host.ip] : await this.resolveName(to.host.host);
    const v: Verdict = { allowed: ips.length > 0, decision: r.decision, port };
    if (ip !== undefined) v.ip = ip;
    if (host !== undefined) v.host = host;
    if (ips.length === 0) v.decision = denial(r.decision.rule, `redirect target ${r.to} does not resolve`);
    else v.connect = { ip: ips[0]!, port: to.port };
    return v;
  }

  /**
   * connect_redirects: the first entry whose `host:port` glob matches the name (or, with no
   * name, the address) sends the connection to its `redirect_to` instead. The policy author
   * named the target, so the SSRF guard does not apply to it; network_rules are not consulted
   * for the original target, which is never contacted.
   */
  private connectRedirect(host: string | undefined, ip: string, port: number): { to: string; decision: Decision } | undefined {
    const list = this.decider.compiled.policy.connect_redirects ?? [];
    for (let i = 0; i < list.length; i++) {
      const r = list[i]!;
      const cut = r.match.lastIndexOf(':');
      const hostPat = cut < 0 ? r.match : r.match.slice(0, cut);
      const portPat = cut < 0 ? '*' : r.match.slice(cut + 1);
      if (portPat !== '*' && Number(portPat) !== port) continue;
      const subject = host ?? ip;
      if (!hostGlob(hostPat.replace(/^\[|\]$/g, ''))(subject)) continue;
      const name = r.name ?? `connect_redirects[${i}]`;
      const d: Decision = {
        decision: 'redirect', rule: name, ruleIndex: i, list: 'connect_redirects',
        reason: `connect_redirects entry "${name}" sends ${subject}:${port} to ${r.redirect_to}`,
        redirect: { kind: 'net', host: r.redirect_to.slice(0, r.redirect_to.lastIndexOf(':')), port: Number(r.redirect_to.slice(r.redirect_to.lastIndexOf(':') + 1)) },
      };
      if (r.message !== undefined) d.message = r.message;
      return { to: r.redirect_to, decision: d };
    }
    return undefined;
  }

  /**
   * The host http_rules govern for this connection (the name when known, else the address),
   * or undefined. Forward-proxy requests (`via: 'http'`) use it to decide each request.
   */
  httpSubject(host: string | undefined, ip: string | undefined): string | undefined {
    if (host !== undefined && this.decider.httpGoverned(host)) return host;
    if (ip !== undefined && this.decider.httpGoverned(ip)) return ip;
    return undefined;
  }

  /**
   * One rule for every path: a host that http_rules govern is reached only as plain HTTP
   * through the forward proxy, where each request is decided. A CONNECT or SOCKS5 tunnel or a
   * captured connection (transparent, helper CONNECT) carries bytes Cordon does not parse per
   * request (TLS hides them; a kept-alive plain-HTTP stream would need per-request parsing),
   * so it is refused before any lookup, approval or upstream byte. DNS answers are not
   * connections (the connection that follows is refused here). NOT covered: a governed name
   * reached by a raw address that only a `cidrs` rule allows (no name to match); name the
   * address in http_rules `hosts` too.
   */
  private uninspectable(via: Via, host: string | undefined, ip: string | undefined, port: number): Decision | undefined {
    if (via === 'http' || via === 'dns') return undefined;
    // With TLS inspection on, tunnels (and captured HTTPS) are terminated and decided per request.
    if (this.inspector && (via === 'connect' || via === 'socks5' || (via === 'transparent' && port === 443))) return undefined;
    const subject = this.httpSubject(host, ip);
    if (subject === undefined) return undefined;
    const how = via === 'connect' ? 'a CONNECT tunnel' : via === 'socks5' ? 'a SOCKS5 tunnel' : 'a connection that bypasses the proxy';
    return {
      decision: 'deny', rule: 'http-rules-uninspectable', ruleIndex: -1, list: 'http_rules',
      reason: `http_rules govern ${subject}, and ${how} cannot be inspected per request (TLS is not terminated), so it is refused`,
      message: `http_rules govern ${subject}: send plain http:// requests through Cordon's HTTP proxy (HTTP_PROXY), where each request is decided; ${how} to it is refused.`,
    };
  }

  /**
   * Denies a name before anything is asked upstream, when no rule could allow it: the lookup
   * itself could carry data out (`secret.attacker.example`). Judged on the name alone (domain
   * rules) on every port a rule mentions; when some non-deny rule is address-based (`cidrs`)
   * the name must be resolved to be decided, so no gate applies. connect_redirects and
   * dns_redirects entries that match the name also open the gate. Undefined: go on.
   */
  nameGate(host: string): Decision | undefined {
    const p = this.decider.compiled.policy;
    if ((p.network_rules ?? []).some((r) => r.decision !== 'deny' && (r.cidrs?.length ?? 0) > 0)) return undefined;
    if ((p.dns_redirects ?? []).some((r) => hostGlob(r.match)(host))) return undefined;
    if ((p.connect_redirects ?? []).some((r) => hostGlob(r.match.slice(0, Math.max(0, r.match.lastIndexOf(':'))) || r.match)(host))) return undefined;
    let last: Decision | undefined;
    for (const port of this.decider.probePorts()) {
      const d = this.decider.compiled.evaluate({ kind: 'net', host, port, protocol: 'tcp' });
      if (d.decision !== 'deny' && d.decision !== 'soft_delete') return undefined;
      last = d;
    }
    return last;
  }

  /** dns_redirects first (the policy's answer), then the resolver. */
  async resolveName(host: string): Promise<string[]> {
    for (const r of this.decider.compiled.policy.dns_redirects ?? []) {
      if (hostGlob(r.match)(host)) {
        try {
          const c = canonicalHost(r.redirect_ip);
          if (c.kind === 'ip') return [c.ip];
        } catch (e) {
          if (!(e instanceof AddressError)) throw e;
        }
        return [];
      }
    }
    return this.resolver.resolve(host);
  }

  /** Writes the event; a failed write turns an allow into a deny (fail closed). */
  async record(v: Verdict, extra: Pick<NetAuditEvent, 'action' | 'via'> & Partial<NetAuditEvent>): Promise<Verdict> {
    if (!this.audit) return v;
    const ev: NetAuditEvent = {
      kind: 'net', ...extra,
      port: v.port, decision: v.allowed ? v.decision.decision : 'deny', rule: v.decision.rule, reason: v.decision.reason,
    };
    if (v.host !== undefined) ev.host = v.host;
    if (v.ip !== undefined) ev.ip = v.ip;
    if (v.decision.message !== undefined) ev.message = v.decision.message;
    try {
      await this.audit.append(toAuditEvent(ev, this.session, this.decider.compiled.digest));
      return v;
    } catch (e) {
      return { ...v, allowed: false, decision: denial('audit-failed', `the audit trail could not record this connection (${(e as Error)?.message ?? String(e)}), so it is denied`) };
    }
  }

  /** Best-effort event whose failure cannot undo anything (closes, byte counts). */
  note(ev: Omit<NetAuditEvent, 'kind'>): void {
    if (!this.audit) return;
    this.audit.append(toAuditEvent({ kind: 'net', ...ev }, this.session, this.decider.compiled.digest)).catch((e) => this.onError(e));
  }
}
