// Trust material for opt-in TLS inspection: what Cordon trusts upstream (system store plus the
// policy's `tls_inspection.upstream_ca`), and the bundle the sandbox trusts (system store plus
// the session CA), written to a per-session file the sandbox can read but not change: file
// 0444 and directory 0555, owned by nobody (65534) when Cordon runs as root — the sandbox runs
// as uid 0 without CAP_DAC_OVERRIDE/CAP_FOWNER, so it can neither write, chmod, rename nor
// unlink them. The session CA's private key is not in it (it never leaves Cordon's memory).
import { chmodSync, chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import type { CompiledPolicy } from '../policy/index.js';
import { SessionCa } from './ca.js';
import type { Gateway } from './gateway.js';
import type { ProxyLimits } from './http-proxy.js';
import { TlsInspector } from './tls-inspect.js';

/** Debian/Ubuntu, Fedora/RHEL, Alpine/Arch (first that exists wins). */
const SYSTEM_BUNDLES = ['/etc/ssl/certs/ca-certificates.crt', '/etc/pki/tls/certs/ca-bundle.crt', '/etc/ssl/cert.pem'];

/** Variables naming the bundle for the common TLS stacks (OpenSSL, Node, Python requests, curl, git). */
export const CA_ENV_VARS = ['SSL_CERT_FILE', 'NODE_EXTRA_CA_CERTS', 'REQUESTS_CA_BUNDLE', 'CURL_CA_BUNDLE', 'GIT_SSL_CAINFO'] as const;

function systemBundle(): string {
  for (const f of SYSTEM_BUNDLES) {
    try {
      return readFileSync(f, 'utf8');
    } catch { /* next */ }
  }
  return tls.rootCertificates.join('\n');
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

export interface Inspection {
  /** CA variables for the sandboxed command (all name the bundle file). */
  env: Record<string, string>;
  bundlePath: string;
  caPem: string;
  close(): void;
}

/**
 * Turns inspection on for `gw` when the policy enables it; undefined otherwise (nothing
 * changes). Throws an Error saying what failed when it cannot (an upstream_ca file unreadable
 * or holding no certificate): the caller refuses to start rather than run without it.
 */
export async function setupInspection(gw: Gateway, policy: CompiledPolicy, limits: ProxyLimits, label: string): Promise<Inspection | undefined> {
  const t = policy.policy.tls_inspection;
  if (!t?.enabled) return undefined;
  const extra: string[] = [];
  for (const f of t.upstream_ca ?? []) {
    let text: string;
    try {
      text = readFileSync(f, 'utf8');
    } catch (e) {
      throw new Error(`tls_inspection.upstream_ca file ${f} cannot be read (${(e as Error).message}); fix the path or remove it`);
    }
    const certs = text.match(PEM_CERT);
    if (!certs) throw new Error(`tls_inspection.upstream_ca file ${f} holds no PEM certificate`);
    extra.push(...certs);
  }
  const sys = systemBundle();
  const upstreamCa = [...(sys.match(PEM_CERT) ?? []), ...tls.rootCertificates, ...extra];
  const hosts = (policy.policy.http_rules ?? []).flatMap((r) => r.hosts);
  const ca = await SessionCa.create({ hosts, label });
  gw.inspector = new TlsInspector(gw, { ca, upstreamCa, limits });
  const dir = mkdtempSync(join(tmpdir(), 'cordon-tls-'));
  const bundlePath = join(dir, 'ca-bundle.pem');
  writeFileSync(bundlePath, `${sys.trimEnd()}\n${ca.certPem}`, { mode: 0o444 });
  chmodSync(dir, 0o555);
  if (process.getuid?.() === 0) {
    chownSync(bundlePath, 65534, 65534);
    chownSync(dir, 65534, 65534);
  }
  const env: Record<string, string> = {};
  for (const k of CA_ENV_VARS) env[k] = bundlePath;
  return {
    env, bundlePath, caPem: ca.certPem,
    close: () => {
      gw.inspector?.close();
      try { chmodSync(dir, 0o700); } catch { /* not ours to chmod: root removes it anyway */ }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
