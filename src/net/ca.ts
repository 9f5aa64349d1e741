// The local certificate authority for opt-in TLS inspection (tls-inspect.ts). One CA per egress
// session: its private key is generated in this process and lives only in memory (it is never
// written to a file, so there is no key file for the sandbox, or anyone, to read), it is valid
// for a short window (default 24 h), and — where the policy's http_rules hosts allow it — it
// carries critical X.509 name constraints, so even a leaked key could only vouch for the hosts
// the policy inspects. Leaf certificates are minted per host on demand and cached.
//
// Built on node-forge (X.509 encoding, signing); keys come from node:crypto (native, fast).
// node:crypto cannot issue certificates, which is why forge is here.
//
// NOT covered: name constraints are left out when a hosts entry is a glob with no fixed suffix
// (`*`, `api-*.example.com`): the CA then vouches for any name, for this session only.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import forge from 'node-forge';

export interface CaOptions {
  /** http_rules `hosts` entries: the name constraints are derived from them. */
  hosts: readonly string[];
  /** Validity of the CA and every leaf (default 24 h). */
  validityMs?: number;
  /** Shown in the CA's subject (e.g. the session id). */
  label?: string;
}

export interface Leaf {
  certPem: string;
  keyPem: string;
}

const { pki, asn1 } = forge;

function rsaKeys(): { pub: forge.pki.PublicKey; priv: forge.pki.rsa.PrivateKey; privPem: string } {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const privPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  return {
    pub: pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString()),
    priv: pki.privateKeyFromPem(privPem) as forge.pki.rsa.PrivateKey,
    privPem,
  };
}

function serial(): string {
  const b = randomBytes(16);
  b[0] = b[0]! & 0x7f; // positive INTEGER
  return b.toString('hex');
}

/** The suffix a hosts glob pins (`*.a.test` → `a.test`), or undefined when it pins none. */
export function constraintFor(glob: string): { dns: string } | { ip: string } | undefined {
  const g = glob.toLowerCase().replace(/\.$/, '');
  const bare = g.replace(/^\[|\]$/g, '');
  if (isIP(bare)) return { ip: bare };
  const rest = g.startsWith('*.') ? g.slice(2) : g;
  if (rest === '' || /[*?[\]{}]/.test(rest)) return undefined;
  return { dns: rest };
}

function ipBytes(ip: string): string {
  if (isIP(ip) === 4) return ip.split('.').map((n) => String.fromCharCode(Number(n))).join('');
  // Expand :: for IPv6.
  const [head, tail] = ip.includes('::') ? ip.split('::') as [string, string] : [ip, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return groups.map((g) => { const n = parseInt(g, 16); return String.fromCharCode(n >> 8, n & 0xff); }).join('');
}

function subtree(tag: number, value: string): forge.asn1.Asn1 {
  return asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [asn1.create(asn1.Class.CONTEXT_SPECIFIC, tag, false, value)]);
}

/**
 * RFC 5280 NameConstraints: permitted dNSName subtrees for the named hosts, permitted
 * iPAddress /32 (/128) for address hosts; when no address is named, every address is excluded
 * (a leaf for an IP could not chain). Undefined when some entry pins no suffix.
 */
export function nameConstraints(hosts: readonly string[]): forge.asn1.Asn1 | undefined {
  const cs = hosts.map(constraintFor);
  if (cs.length === 0 || cs.some((c) => c === undefined)) return undefined;
  const permitted: forge.asn1.Asn1[] = [];
  const excluded: forge.asn1.Asn1[] = [];
  for (const c of cs) {
    if ('dns' in c!) permitted.push(subtree(2, c.dns));
    else {
      const b = ipBytes(c!.ip);
      permitted.push(subtree(7, b + '\xff'.repeat(b.length)));
    }
  }
  if (!cs.some((c) => 'ip' in c!)) {
    excluded.push(subtree(7, '\0'.repeat(8)), subtree(7, '\0'.repeat(32)));
  }
  const parts = [asn1.create(asn1.Class.CONTEXT_SPECIFIC, 0, true, permitted)];
  if (excluded.length > 0) parts.push(asn1.create(asn1.Class.CONTEXT_SPECIFIC, 1, true, excluded));
  return asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, parts);
}

export class SessionCa {
  readonly certPem: string;
  readonly notAfter: Date;
  private readonly cert: forge.pki.Certificate;
  private readonly key: forge.pki.rsa.PrivateKey;
  // One key pair for every leaf of the session (RSA generation is the slow part); each leaf
  // is still its own certificate, for one host.
  private readonly leafKeys: ReturnType<typeof rsaKeys>;
  private readonly leaves = new Map<string, Leaf>();
  readonly constrained: boolean;

  constructor(o: CaOptions) {
    const validity = o.validityMs ?? 24 * 3600_000;
    const k = rsaKeys();
    this.key = k.priv;
    const c = pki.createCertificate();
    c.publicKey = k.pub;
    c.serialNumber = serial();
    const now = Date.now();
    c.validity.notBefore = new Date(now - 5 * 60_000); // clock skew between us and the sandbox: none, but be lenient
    c.validity.notAfter = new Date(now + validity);
    const name = [{ name: 'commonName', value: `Cordon TLS inspection CA${o.label ? ` ${o.label}` : ''}` }, { name: 'organizationName', value: 'Cordon (local, per session)' }];
    c.setSubject(name);
    c.setIssuer(name);
    const nc = nameConstraints(o.hosts);
    this.constrained = nc !== undefined;
    c.setExtensions([
      { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
      { name: 'subjectKeyIdentifier' },
      ...(nc ? [{ id: '2.5.29.30', critical: true, value: nc }] : []),
    ]);
    c.sign(this.key, forge.md.sha256.create());
    this.cert = c;
    this.notAfter = c.validity.notAfter;
    this.certPem = pki.certificateToPem(c);
    this.leafKeys = rsaKeys();
  }

  /** A certificate for `host` (a canonical name or address), minted once per session. */
  leaf(host: string): Leaf {
    const hit = this.leaves.get(host);
    if (hit) return hit;
    const c = pki.createCertificate();
    c.publicKey = this.leafKeys.pub;
    c.serialNumber = serial();
    c.validity.notBefore = this.cert.validity.notBefore;
    c.validity.notAfter = this.cert.validity.notAfter;
    c.setSubject([{ name: 'commonName', value: host.slice(0, 64) }]);
    c.setIssuer(this.cert.subject.attributes);
    const ip = isIP(host) !== 0;
    c.setExtensions([
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [ip ? { type: 7, ip: host } : { type: 2, value: host }] },
      { name: 'authorityKeyIdentifier', keyIdentifier: this.cert.generateSubjectKeyIdentifier().getBytes() },
    ]);
    c.sign(this.key, forge.md.sha256.create());
    const leaf = { certPem: pki.certificateToPem(c) + this.certPem, keyPem: this.leafKeys.privPem };
    if (this.leaves.size > 10_000) this.leaves.clear();
    this.leaves.set(host, leaf);
    return leaf;
  }
}
