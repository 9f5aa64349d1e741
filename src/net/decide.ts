// From a canonical target to a verdict: the policy engine's decision, then the SSRF overlay,
// then approval. The engine is pure and expects canonical input; everything here is too,
// except `approve`, which waits for a human (and denies when none answers in time).
import type { CompiledPolicy, Decision, Operation } from '../policy/index.js';
import { classifyIp, cidrsName } from './ssrf.js';

export interface NetTarget {
  /** Canonical host name, when the client named one (lower case, no trailing dot). */
  host?: string;
  /** Canonical IP the connection will go to. */
  ip: string;
  port: number;
  protocol: 'tcp' | 'udp';
}

/** Asks a human; resolves true to allow. Cordon's approvals part provides one; absent = deny. */
export type Approver = (op: Operation, decision: Decision) => Promise<boolean>;

const DEFAULT_APPROVAL_MS = 5 * 60_000;

/** A policy as the egress sees it: net and http questions, with the SSRF guard applied. */
export class NetDecider {
  private readonly httpHostMatchers: ((h: string) => boolean)[];

  constructor(readonly compiled: CompiledPolicy, private readonly approver?: Approver) {
    this.httpHostMatchers = (compiled.policy.http_rules ?? []).flatMap((r) => r.hosts.map(hostGlob));
  }

  /** The engine's decision for a connection, with special addresses denied unless named. */
  decideNet(t: NetTarget): Decision {
    const op: Operation = { kind: 'net', ip: t.ip, port: t.port, protocol: t.protocol };
    if (t.host !== undefined) op.host = t.host;
    const d = this.compiled.evaluate(op);
    return this.ssrfOverlay(d, t.ip);
  }

  private ssrfOverlay(d: Decision, ip: string): Decision {
    if (d.decision === 'deny' || d.decision === 'redirect') return d;
    const special = classifyIp(ip);
    if (!special) return d;
    const rule = d.list === 'network_rules' && d.ruleIndex >= 0 ? this.compiled.policy.network_rules?.[d.ruleIndex] : undefined;
    if (rule && cidrsName(rule.cidrs, ip, special)) return d;
    return {
      decision: 'deny',
      rule: 'ssrf-guard',
      ruleIndex: -1,
      list: 'network_rules',
      message: `${ip} is a ${special.cls} address (${special.range.text}); Cordon denies it unless a network rule names it in cidrs.`,
      reason: `${ip} is in ${special.range.text} (${special.cls}) and ${rule ? `rule "${rule.name}"` : d.rule} does not name it in cidrs`,
    };
  }

  /**
   * For DNS: could a connection to `host` at `ip` be allowed on some port? Ports only change the
   * outcome where a rule mentions them, so we try every mentioned port (and range ends) plus
   * one port no rule mentions. Returns the allowing decision, or the last denial.
   */
  decideName(host: string, ip: string): Decision {
    let last: Decision | undefined;
    for (const port of this.probePorts()) {
      const d = this.decideNet({ host, ip, port, protocol: 'tcp' });
      if (d.decision !== 'deny' && d.decision !== 'soft_delete') return d;
      last = d;
    }
    return last!;
  }

  private probe: number[] | undefined;
  /** Every port a rule mentions (and range ends), plus one no rule mentions. */
  probePorts(): number[] {
    if (this.probe) return this.probe;
    const set = new Set<number>();
    for (const r of this.compiled.policy.network_rules ?? []) {
      for (const p of r.ports ?? []) {
        if (typeof p === 'number') set.add(p);
        else for (const n of p.split('-')) set.add(Number(n));
      }
    }
    let free = 443;
    while (set.has(free)) free++;
    this.probe = [...set, free].filter((p) => p >= 1 && p <= 65535);
    return this.probe;
  }

  /** True when some http rule names this host: requests to it are decided by http_rules too. */
  httpGoverned(host: string): boolean {
    return this.httpHostMatchers.some((m) => m(host));
  }

  /** The http_rules decision for a request, or undefined when no http rule names the host. */
  decideHttp(method: string, host: string, path: string, port: number): Decision | undefined {
    if (!this.httpGoverned(host)) return undefined;
    return this.compiled.evaluate({ kind: 'http', method: method.toUpperCase(), host, path, port });
  }

  /**
   * Carries out approve (asks the approver, bounded by the rule's timeout) and maps the result
   * to allowed or not. allow/audit pass; deny/soft_delete do not; redirect passes (the caller
   * follows `redirect`).
   */
  async settle(op: Operation, d: Decision): Promise<{ allowed: boolean; decision: Decision }> {
    if (d.decision === 'allow' || d.decision === 'audit' || d.decision === 'redirect') return { allowed: true, decision: d };
    if (d.decision !== 'approve') return { allowed: false, decision: d };
    if (!this.approver) {
      return { allowed: false, decision: { ...d, decision: 'deny', reason: `${d.reason}; no approver is connected, so approve denies` } };
    }
    const ms = d.timeoutMs ?? DEFAULT_APPROVAL_MS;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((res) => { timer = setTimeout(() => res(false), ms); });
    try {
      const ok = await Promise.race([this.approver(op, d).catch(() => false), timeout]);
      return ok
        ? { allowed: true, decision: { ...d, reason: `${d.reason}; approved` } }
        : { allowed: false, decision: { ...d, decision: 'deny', reason: `${d.reason}; not approved within ${ms} ms` } };
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Host glob as the schema documents it: `example.com`, `*.example.com` (subdomains only), `*`. */
export function hostGlob(pattern: string): (h: string) => boolean {
  const p = pattern.toLowerCase().replace(/\.$/, '');
  if (p === '*') return () => true;
  if (!p.includes('*')) return (h) => h === p;
  const src = p.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[^.]+(?:\\.[^.]+)*');
  const re = new RegExp(`^${src}$`);
  return (h) => re.test(h);
}
