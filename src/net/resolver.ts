// Where Cordon resolves names for the sandbox. Injectable so tests supply their own world (a
// static table, or a DNS server they run on loopback) and never reach a real host. Every
// resolver returns canonical IPs (IPv4 first) and an empty list for "no such name": failure to
// resolve is a deny, never a fallback.
import { promises as dns } from 'node:dns';
import { canonicalIp } from './address.js';

export interface Resolver {
  /** Canonical IPs for a canonical name; [] when the name does not resolve. */
  resolve(host: string): Promise<string[]>;
}

function canonList(ips: readonly string[]): string[] {
  const out: string[] = [];
  for (const ip of ips) {
    try {
      const c = canonicalIp(ip).ip;
      if (!out.includes(c)) out.push(c);
    } catch {
      // A resolver answer that is not an IP is dropped, never passed on.
    }
  }
  return out.sort((a, b) => Number(a.includes(':')) - Number(b.includes(':')));
}

/** A fixed table: `{ 'allowed.test': '127.0.0.2' }`. Names absent from it do not resolve. */
export function staticResolver(table: Record<string, string | string[]>): Resolver {
  const m = new Map<string, string[]>();
  for (const [k, v] of Object.entries(table)) m.set(k.toLowerCase().replace(/\.$/, ''), canonList(Array.isArray(v) ? v : [v]));
  return { resolve: async (host) => m.get(host) ?? [] };
}

/** Queries the given DNS servers (`ip` or `ip:port`) directly, A and AAAA. */
export function dnsServerResolver(servers: string[], timeoutMs = 2000): Resolver {
  const r = new dns.Resolver({ timeout: timeoutMs, tries: 1 });
  r.setServers(servers);
  return {
    resolve: async (host) => {
      const [a, aaaa] = await Promise.all([r.resolve4(host).catch(() => []), r.resolve6(host).catch(() => [])]);
      return canonList([...a, ...aaaa]);
    },
  };
}

/** The host's resolver (getaddrinfo via libuv). */
export function systemResolver(): Resolver {
  return {
    resolve: async (host) => {
      try {
        const rs = await dns.lookup(host, { all: true, verbatim: true });
        return canonList(rs.map((r) => r.address));
      } catch {
        return [];
      }
    },
  };
}
