// What `cordon run` calls before loading a policy: is this policy file signed by a key in the
// trust store? Modes:
//   enforce  unsigned, tampered, unknown-key or expired-key policy: TrustError (exit 2), nothing runs
//   warn     the same problems are returned as warnings; the policy is used
//   off      no check at all
// Default: enforce as soon as a trust store is configured (flag or CORDON_TRUST_STORE), off
// otherwise. Asking for enforce or warn without a trust store is an error, not a silent off.
// The caller must load the policy from `result.bytes` (the bytes that were verified), not by
// reading the file again: a swap between check and use would otherwise run unverified text.
import { readFileSync } from 'node:fs';
import { TrustError } from './errors.js';
import { checkSignature, parseSignature, signatureFileFor } from './policy-signature.js';
import { loadTrustStore } from './trust-store.js';

export const TRUST_STORE_ENV = 'CORDON_TRUST_STORE';
export const TRUST_MODE_ENV = 'CORDON_TRUST_MODE';
export const TRUST_MODES = ['enforce', 'warn', 'off'] as const;
export type TrustMode = (typeof TRUST_MODES)[number];

export interface TrustSettings {
  trustStore: string | null;
  mode: TrustMode;
}

/** Flags win over the environment; returns the effective settings or throws TrustError. */
export function resolveTrustSettings(flags: { trustStore?: string; mode?: string }, env: NodeJS.ProcessEnv = process.env): TrustSettings {
  const trustStore = flags.trustStore || env[TRUST_STORE_ENV] || null;
  const rawMode = flags.mode ?? (env[TRUST_MODE_ENV] || undefined);
  if (rawMode !== undefined && !(TRUST_MODES as readonly string[]).includes(rawMode)) {
    throw new TrustError('usage', `trust mode ${JSON.stringify(rawMode)} is not one of ${TRUST_MODES.join(', ')} (from ${flags.mode !== undefined ? '--trust-mode' : TRUST_MODE_ENV})`);
  }
  const mode = (rawMode as TrustMode | undefined) ?? (trustStore ? 'enforce' : 'off');
  if (mode !== 'off' && !trustStore) {
    throw new TrustError('usage', `trust mode ${mode} needs a trust store: pass --trust-store DIR or set ${TRUST_STORE_ENV}`);
  }
  return { trustStore, mode };
}

export interface TrustResult {
  ok: true;
  /** True only when a trusted key's valid signature covers these bytes. */
  verified: boolean;
  keyId: string | null;
  signer: string | null;
  mode: TrustMode;
  /** The policy bytes that were checked: load the policy from these. */
  bytes: Buffer;
  warnings: string[];
}

export interface VerifyPolicyOptions {
  trustStore: string | null;
  mode: TrustMode;
  /** Signature file; default FILE.sig. */
  sigFile?: string;
  now?: Date;
}

export function verifyPolicyFile(file: string, opts: VerifyPolicyOptions): TrustResult {
  let bytes: Buffer;
  try { bytes = readFileSync(file); } catch (e) {
    throw new TrustError('io', `cannot read policy ${file}: ${(e as Error).message}`, { cause: e });
  }
  if (opts.mode === 'off') return { ok: true, verified: false, keyId: null, signer: null, mode: 'off', bytes, warnings: [] };
  if (!opts.trustStore) throw new TrustError('usage', `trust mode ${opts.mode} needs a trust store (--trust-store DIR or ${TRUST_STORE_ENV})`);
  const strict = opts.mode === 'enforce';
  const warnings: string[] = [];
  try {
    const store = loadTrustStore(opts.trustStore, { strict });
    warnings.push(...store.warnings);
    const sigFile = opts.sigFile ?? signatureFileFor(file);
    let sigText: string;
    try { sigText = readFileSync(sigFile, 'utf8'); } catch (e) {
      throw new TrustError('unsigned', `policy ${file} is not signed: no signature file ${sigFile} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}). Sign it with \`cordon policy sign ${file} --key KEY\`, or run with --trust-mode warn`);
    }
    const sig = parseSignature(sigText, sigFile);
    const key = store.keys.get(sig.keyId);
    if (!key) {
      throw new TrustError('unknown-key', `policy ${file} is signed by key ${sig.keyId.slice(0, 16)}… (${sig.signer}), which is not in the trust store ${opts.trustStore} (${store.keys.size} key${store.keys.size === 1 ? '' : 's'} there)`);
    }
    checkSignature(bytes, sig, key, opts.now ?? new Date(), `policy ${file}`);
    return { ok: true, verified: true, keyId: sig.keyId, signer: sig.signer, mode: opts.mode, bytes, warnings };
  } catch (e) {
    if (strict || !(e instanceof TrustError) || e.code === 'usage' || e.code === 'trust-store') throw e;
    warnings.push(e.message);
    return { ok: true, verified: false, keyId: null, signer: null, mode: opts.mode, bytes, warnings };
  }
}
