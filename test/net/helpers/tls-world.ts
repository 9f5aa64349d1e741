// HTTPS upstreams for the TLS inspection tests: a test CA of their own (not Cordon's session CA),
// server certificates it signs (or self-signed "bad" ones), and a listener counting the
// requests and bytes that reach it. Generated per run; nothing here touches a real host.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import https from 'node:https';
import type net from 'node:net';
import forge from 'node-forge';

const { pki } = forge;

function keys() {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  return { pub: pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString()), priv: pki.privateKeyFromPem(keyPem), keyPem };
}

function cert(subjectCn: string, pub: forge.pki.PublicKey, issuer: { cn: string; priv: forge.pki.PrivateKey }, ext: object[]): string {
  const c = pki.createCertificate();
  c.publicKey = pub;
  c.serialNumber = `01${randomBytes(8).toString('hex')}`;
  c.validity.notBefore = new Date(Date.now() - 3600_000);
  c.validity.notAfter = new Date(Date.now() + 3600_000);
  c.setSubject([{ name: 'commonName', value: subjectCn }]);
  c.setIssuer([{ name: 'commonName', value: issuer.cn }]);
  c.setExtensions(ext);
  c.sign(issuer.priv as forge.pki.rsa.PrivateKey, forge.md.sha256.create());
  return pki.certificateToPem(c);
}

export class TestCa {
  readonly cn = 'Cordon test upstream CA';
  private readonly k = keys();
  readonly certPem: string;

  constructor() {
    this.certPem = cert(this.cn, this.k.pub, { cn: this.cn, priv: this.k.priv }, [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    ]);
  }

  /** A server certificate for `names`, signed by this CA. */
  server(names: string[]): { cert: string; key: string } {
    const k = keys();
    const alt = names.map((n) => (isIP(n) ? { type: 7, ip: n } : { type: 2, value: n }));
    return {
      cert: cert(names[0]!, k.pub, { cn: this.cn, priv: this.k.priv }, [{ name: 'subjectAltName', altNames: alt }, { name: 'extKeyUsage', serverAuth: true }]),
      key: k.keyPem,
    };
  }
}

/** A self-signed certificate for `name`: no trust store vouches for it. */
export function selfSigned(name: string): { cert: string; key: string } {
  const k = keys();
  return { cert: cert(name, k.pub, { cn: name, priv: k.priv }, [{ name: 'subjectAltName', altNames: [{ type: 2, value: name }] }]), key: k.keyPem };
}

/** An HTTPS server that records each request reaching it and the raw bytes it receives. */
export class HttpsListener {
  requests: { method: string; url: string; host: string | undefined; body: string }[] = [];
  connections = 0;
  private server!: https.Server;
  private readonly sockets = new Set<net.Socket>();
  port = 0;

  constructor(readonly host: string, private readonly creds: { cert: string; key: string }) {}

  async start(port = 0): Promise<this> {
    this.server = https.createServer({ cert: this.creds.cert, key: this.creds.key }, (q, r) => {
      let body = '';
      q.on('data', (c: Buffer) => { body += c.toString(); });
      q.on('end', () => {
        this.requests.push({ method: q.method ?? '', url: q.url ?? '', host: q.headers.host, body });
        r.end(`hello over TLS from ${this.host} ${q.method} ${q.url}\n`);
      });
    });
    this.server.on('connection', (s: net.Socket) => {
      this.connections++;
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    });
    this.server.on('tlsClientError', () => {});
    await new Promise<void>((res, rej) => { this.server.once('error', rej); this.server.listen({ port, host: this.host }, () => res()); });
    this.port = (this.server.address() as net.AddressInfo).port;
    return this;
  }

  reset(): void {
    this.requests = [];
    this.connections = 0;
    for (const s of this.sockets) s.destroy();
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((res) => this.server.close(() => res()));
  }
}
