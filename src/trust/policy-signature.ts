// Detached policy signatures: `POLICY.sig` next to the policy, JSON:
//   {"type":"cordon-policy-signature","v":1,"alg":"ed25519","keyId":"<hex sha256 of raw pubkey>",
//    "signer":"<label>","time":"<ISO>","sha256":"<hex of the policy file bytes>","signature":"<b64>"}
// The Ed25519 signature covers the domain string "cordon-policy-signature/1\n" followed by the
// canonical JSON of {alg, keyId, sha256, signer, time}: the file's exact bytes (through their
// SHA-256) and the signer label and time, so neither can be swapped without breaking it.
// Scope: the signature covers the policy file's bytes only. Files it pulls in with `extends:`
// and values substituted from the environment (`${VAR}`) are NOT covered.
import { createHash, sign, verify } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { canonicalJson } from './canonical-json.js';
import { TrustError } from './errors.js';
import type { PrivateKeyInfo, PublicKeyInfo } from './keys.js';

export interface PolicySignature {
  type: 'cordon-policy-signature';
  v: 1;
  alg: 'ed25519';
  keyId: string;
  signer: string;
  time: string;
  sha256: string;
  signature: string;
}

const DOMAIN = 'cordon-policy-signature/1\n';

function message(s: Pick<PolicySignature, 'alg' | 'keyId' | 'sha256' | 'signer' | 'time'>): Buffer {
  return Buffer.from(DOMAIN + canonicalJson({ alg: s.alg, keyId: s.keyId, sha256: s.sha256, signer: s.signer, time: s.time }), 'utf8');
}

export function signatureFileFor(policyFile: string): string {
  return `${policyFile}.sig`;
}

export function signPolicyBytes(bytes: Buffer, key: PrivateKeyInfo, signer: string, now = new Date()): PolicySignature {
  const base = { alg: 'ed25519' as const, keyId: key.keyId, signer, time: now.toISOString(), sha256: createHash('sha256').update(bytes).digest('hex') };
  return { type: 'cordon-policy-signature', v: 1, ...base, signature: sign(null, message(base), key.key).toString('base64') };
}

/** Signs `policyFile` and writes the detached signature (default POLICY.sig). */
export function signPolicyFile(policyFile: string, key: PrivateKeyInfo, signer: string, out = signatureFileFor(policyFile)): { sigFile: string; sig: PolicySignature } {
  let bytes: Buffer;
  try { bytes = readFileSync(policyFile); } catch (e) { throw new TrustError('io', `cannot read policy ${policyFile}: ${(e as Error).message}`, { cause: e }); }
  const sig = signPolicyBytes(bytes, key, signer);
  writeFileSync(out, JSON.stringify(sig, null, 2) + '\n');
  return { sigFile: out, sig };
}

export function parseSignature(text: string, where: string): PolicySignature {
  let j: Record<string, unknown>;
  try { j = JSON.parse(text) as Record<string, unknown>; } catch {
    throw new TrustError('bad-signature-file', `${where} is not JSON; expected a cordon policy signature (made by \`cordon policy sign\`)`);
  }
  const str = (k: string): string => {
    const v = j?.[k];
    if (typeof v !== 'string' || v === '') throw new TrustError('bad-signature-file', `${where}: field ${k} is missing or not a string`);
    return v;
  };
  if (j?.type !== 'cordon-policy-signature' || j.v !== 1 || j.alg !== 'ed25519') {
    throw new TrustError('bad-signature-file', `${where}: not a version 1 ed25519 cordon policy signature`);
  }
  return { type: 'cordon-policy-signature', v: 1, alg: 'ed25519', keyId: str('keyId'), signer: str('signer'), time: str('time'), sha256: str('sha256'), signature: str('signature') };
}

/** Checks `sig` for `bytes` against one trusted key at time `now`; throws TrustError. */
export function checkSignature(bytes: Buffer, sig: PolicySignature, key: PublicKeyInfo, now: Date, what: string): void {
  const digest = createHash('sha256').update(bytes).digest('hex');
  if (digest !== sig.sha256) {
    throw new TrustError('bad-signature', `${what} was changed after it was signed (its SHA-256 is ${digest.slice(0, 16)}…, the signature covers ${sig.sha256.slice(0, 16)}…); re-sign it with \`cordon policy sign\` if the change is yours`);
  }
  let ok = false;
  try { ok = verify(null, message(sig), key.key, Buffer.from(sig.signature, 'base64')); } catch { ok = false; }
  if (!ok) throw new TrustError('bad-signature', `the signature on ${what} is invalid (signer, time or signature bytes were altered, or it was not made by key ${sig.keyId.slice(0, 16)}…)`);
  if (key.expires && now.getTime() > Date.parse(key.expires)) {
    throw new TrustError('expired-key', `${what} is signed by key ${key.label ?? sig.keyId.slice(0, 16)} (${sig.keyId.slice(0, 16)}…), which expired at ${key.expires}; sign it with a current key`);
  }
  if (key.notBefore && now.getTime() < Date.parse(key.notBefore)) {
    throw new TrustError('not-yet-valid', `${what} is signed by key ${sig.keyId.slice(0, 16)}…, which is valid only from ${key.notBefore}`);
  }
}
