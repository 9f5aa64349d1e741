// The local certificate authority for opt-in TLS inspection (tls-inspect.ts). One CA per egress
// session: its private key is generated in this process and lives only in memory (it is never
// written to a file, so there is no key file for the sandbox, or anyone, to read), it is valid
// for a short window (default 24 h), and — where the policy's http_rules hosts allow it — it
// carries critical X.509 name constraints, so even a leaked key could only vouch for the hosts
// the policy inspects. Leaf certificates are minted per host on demand and cached.
//
// Built on node-forge for the X.509 encoding; keys and signatures come from node:crypto
// (native: forge's own RSA signing costs ~200 ms per certificate, OpenSSL's ~3 ms). node:crypto
// cannot build certificates, which is why forge is here.
//
// NOT covered: name constraints are left out when a hosts entry is a glob with no fixed suffix
// (`*`, `api-*.example.com`): the CA then vouches for any name, for this session only.
import { constants, generateKeyPair, privateEncrypt, randomBytes, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import { promisify } from 'node:util';
import forge from 'node-forge';
import { ipv4Bytes, ipv6Bytes } from './address.js';

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

interface Keys {
  pub: forge.pki.PublicKey;
  priv: KeyObject;
}

/** RSA 2048 from OpenSSL, off the event loop (two of these run at once on the thread pool). */
async function rsaKeys(): Promise<Keys> {
  const { publicKey, privateKey } = await promisify(generateKeyPair)('rsa', { modulusLength: 2048 });
  return { pub: pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString()), priv: privateKey };
}

// DER prefix of a PKCS#1 v1.5 DigestInfo for SHA-256 (RFC 8017 section 9.2, note 1).
const DIGEST_INFO_SHA256 = Buffer.from('3031300d060960864801650304020105000420', 'hex');

/**
 * What forge's certificate.sign() calls: `sign(md)` over the TBS digest it computed, returning
 * the signature as a binary string. RSASSA-PKCS1-v1_5 is the private-key operation over the
 * DigestInfo with block type 1 padding, which is what privateEncrypt with PKCS#1 padding does.
 */
function nativeSigner(key: KeyObject): forge.pki.rsa.PrivateKey {
  return {
    sign: (md: forge.md.MessageDigest) => privateEncrypt({ key, padding: constants.RSA_PKCS1_PADDING }, Buffer.concat([DIGEST_INFO_SHA256, Buffer.from(md.digest().getBytes(), 'binary')])).toString('binary'),
  } as unknown as forge.pki.rsa.PrivateKey;
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
  return String.fromCharCode(...(isIP(ip) === 4 ? ipv4Bytes(ip) : ipv6Bytes(ip)));
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
  private readonly leafKeyPem: string;
  private readonly leaves = new Map<string, Leaf>();
  readonly constrained: boolean;

  /** Makes the CA key and the session's leaf key (one for every leaf: each leaf is still its own certificate, for one host). */
  static async create(o: CaOptions): Promise<SessionCa> {
    const [ca, leaf] = await Promise.all([rsaKeys(), rsaKeys()]);
    return new SessionCa(o, ca, leaf);
  }

  private constructor(o: CaOptions, k: Keys, private readonly leafKeys: Keys) {
    const validity = o.validityMs ?? 24 * 3600_000;
    this.key = nativeSigner(k.priv);
    this.leafKeyPem = leafKeys.priv.export({ type: 'pkcs8', format: 'pem' }).toString();
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
    const leaf = { certPem: pki.certificateToPem(c) + this.certPem, keyPem: this.leafKeyPem };
    if (this.leaves.size > 10_000) this.leaves.clear();
    this.leaves.set(host, leaf);
    return leaf;
  }
}
