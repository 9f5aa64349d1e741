// Synthetic addresses handed to the sandbox by Cordon's DNS. A name the policy may reach gets
// one address from 198.18.0.0/15 (RFC 2544 benchmarking space, never routed publicly); Cordon
// remembers which name and which real address it stands for. A connection to it, from any
// client and by any path (proxy-unaware raw socket included), is then decided on the name
// *and* the real address resolved once, and goes to that same real address: DNS rebinding has
// nothing to rebind. An address in the range that Cordon never handed out is denied (the SSRF
// guard classes 198.18.0.0/15 as `benchmark`).

export interface FakeEntry {
  host: string;
  /** Real addresses resolved once, in preference order. */
  ips: string[];
}

const BASE = (198 << 24) | (18 << 16); // 198.18.0.0
const SIZE = 1 << 17; // /15

function toText(n: number): string {
  return [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export class FakeIpTable {
  private next = 1;
  private readonly byName = new Map<string, string>();
  private readonly byIp = new Map<string, FakeEntry>();

  /** The synthetic address for `host`; the first assignment's real addresses are kept. */
  assign(host: string, ips: string[]): string {
    const have = this.byName.get(host);
    if (have) return have;
    if (this.byIp.size >= SIZE - 2) {
      // Reuse the oldest assignment (Map keeps insertion order).
      const [oldIp, old] = this.byIp.entries().next().value as [string, FakeEntry];
      this.byIp.delete(oldIp);
      this.byName.delete(old.host);
    }
    let ip: string;
    do {
      ip = toText((BASE + this.next) >>> 0);
      this.next = this.next + 1 >= SIZE - 1 ? 1 : this.next + 1;
    } while (this.byIp.has(ip));
    this.byName.set(host, ip);
    this.byIp.set(ip, { host, ips: [...ips] });
    return ip;
  }

  lookup(ip: string): FakeEntry | undefined {
    return this.byIp.get(ip);
  }

  static inRange(ip: string): boolean {
    return ip.startsWith('198.18.') || ip.startsWith('198.19.');
  }
}
