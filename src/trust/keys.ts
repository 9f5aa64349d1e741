// Ed25519 keys (node:crypto; no extra dependency). Files:
//   NAME.key  private key, PKCS#8 PEM (openssl can read it), mode 0600, refused if group/other
//             can read it: anyone who reads it can sign policies and checkpoints as you.
//   NAME.pub  public key as JSON: {"type":"cordon-public-key","alg":"ed25519","keyId":...,
//             "publicKey":"<base64 of the raw 32 bytes>","label":...,"created":...,"expires"?:...}
//             A PEM SPKI public key (`.pem`) is accepted too (no label, no expiry).
// keyId = hex SHA-256 of the raw 32-byte public key, so anyone can recompute it from the key.
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { closeSync, constants as C, fstatSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { TrustError } from './errors.js';

export interface PublicKeyInfo {
  keyId: string;
  key: KeyObject;
  label: string | null;
  created: string | null;
  /** ISO time after which signatures by this key are no longer accepted; null: no expiry. */
  expires: string | null;
  /** Not accepted before this time; null: no lower bound. */
  notBefore: string | null;
  file: string | null;
}

export interface PrivateKeyInfo {
  keyId: string;
  key: KeyObject;
  publicKey: KeyObject;
  file: string;
}

export function rawPublicKey(pub: KeyObject): Buffer {
  const jwk = pub.export({ format: 'jwk' }) as { kty?: string; crv?: string; x?: string };
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || !jwk.x) throw new TrustError('bad-key-file', 'not an Ed25519 key');
  return Buffer.from(jwk.x, 'base64url');
}

export function keyIdOf(pub: KeyObject): string {
  return createHash('sha256').update(rawPublicKey(pub)).digest('hex');
}

export function publicKeyFromRaw(raw: Buffer): KeyObject {
  if (raw.length !== 32) throw new TrustError('bad-key-file', `an Ed25519 public key is 32 bytes, got ${raw.length}`);
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
}

/** mode bits group/other may not have on a file, by what the file is. */
export function permissionProblem(file: string, mode: number, kind: 'private' | 'trust'): string | null {
  const bad = kind === 'private' ? mode & 0o077 : mode & 0o022;
  if (bad === 0) return null;
  const m = (mode & 0o777).toString(8).padStart(4, '0');
  return kind === 'private'
    ? `private key ${file} has mode ${m}: group or others can read it. Run \`chmod 600 ${file}\``
    : `trusted key ${file} has mode ${m}: group or others can replace it. Run \`chmod go-w ${file}\``;
}

export interface GeneratedKey {
  keyId: string;
  privateFile: string;
  publicFile: string;
}

/** Writes NAME.key (0600, must not exist) and NAME.pub. */
export function generateKeyPairFiles(base: string, opts: { label?: string; expires?: string; now?: Date } = {}): GeneratedKey {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const keyId = keyIdOf(publicKey);
  const privateFile = `${base}.key`;
  const publicFile = `${base}.pub`;
  mkdirSync(dirname(privateFile), { recursive: true });
  const created = (opts.now ?? new Date()).toISOString();
  if (opts.expires !== undefined && Number.isNaN(Date.parse(opts.expires))) {
    throw new TrustError('usage', `--expires ${JSON.stringify(opts.expires)} is not a date (use ISO 8601, e.g. 2027-01-31)`);
  }
  const pub = {
    type: 'cordon-public-key', alg: 'ed25519', keyId, publicKey: rawPublicKey(publicKey).toString('base64'),
    label: opts.label ?? null, created, ...(opts.expires ? { expires: new Date(opts.expires).toISOString() } : {}),
  };
  writeExclusive(privateFile, privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, 0o600);
  writeExclusive(publicFile, JSON.stringify(pub, null, 2) + '\n', 0o644);
  return { keyId, privateFile, publicFile };
}

function writeExclusive(file: string, text: string, mode: number): void {
  let fd: number;
  try {
    fd = openSync(file, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, mode);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new TrustError('io', code === 'EEXIST' ? `${file} already exists; refusing to overwrite a key (choose another name)` : `cannot create ${file}: ${(e as Error).message}`, { cause: e });
  }
  try { writeSync(fd, text); } finally { closeSync(fd); }
}

/** Loads a private key; `strict` refuses group/other-readable files (enforce mode). */
export function loadPrivateKey(file: string, opts: { strict?: boolean; warn?: (m: string) => void } = {}): PrivateKeyInfo {
  const { text, mode } = readWithMode(file);
  const problem = permissionProblem(file, mode, 'private');
  if (problem) {
    if (opts.strict !== false) throw new TrustError('loose-permissions', problem);
    opts.warn?.(problem);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(text);
  } catch (e) {
    throw new TrustError('bad-key-file', `${file} is not a PEM private key: ${(e as Error).message}`, { cause: e });
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new TrustError('bad-key-file', `${file} is a ${key.asymmetricKeyType} key; Cordon signs with Ed25519 (make one with \`cordon keys generate\`)`);
  const publicKey = createPublicKey(key);
  return { keyId: keyIdOf(publicKey), key, publicKey, file };
}

/** Loads a public key file (.pub JSON or PEM SPKI). Permission checks are the caller's. */
export function loadPublicKey(file: string): PublicKeyInfo & { mode: number } {
  const { text, mode } = readWithMode(file);
  return { ...parsePublicKey(text, file), mode };
}

export function parsePublicKey(text: string, file: string | null): PublicKeyInfo {
  const where = file ?? 'public key';
  const trimmed = text.trim();
  if (trimmed.startsWith('-----BEGIN')) {
    let key: KeyObject;
    try { key = createPublicKey(trimmed); } catch (e) { throw new TrustError('bad-key-file', `${where}: not a PEM public key (${(e as Error).message})`); }
    if (key.asymmetricKeyType !== 'ed25519') throw new TrustError('bad-key-file', `${where}: ${key.asymmetricKeyType} key, expected Ed25519`);
    return { keyId: keyIdOf(key), key, label: null, created: null, expires: null, notBefore: null, file };
  }
  let j: Record<string, unknown>;
  try { j = JSON.parse(trimmed) as Record<string, unknown>; } catch { throw new TrustError('bad-key-file', `${where}: neither a cordon .pub JSON file nor a PEM public key`); }
  if (j === null || typeof j !== 'object' || j.type !== 'cordon-public-key' || j.alg !== 'ed25519' || typeof j.publicKey !== 'string') {
    throw new TrustError('bad-key-file', `${where}: expected {"type":"cordon-public-key","alg":"ed25519","publicKey":...}`);
  }
  const key = publicKeyFromRaw(Buffer.from(j.publicKey, 'base64'));
  const keyId = keyIdOf(key);
  if (typeof j.keyId === 'string' && j.keyId !== keyId) throw new TrustError('bad-key-file', `${where}: keyId ${j.keyId} does not match the key (${keyId})`);
  const date = (name: string): string | null => {
    const v = j[name];
    if (v === undefined || v === null) return null;
    if (typeof v !== 'string' || Number.isNaN(Date.parse(v))) throw new TrustError('bad-key-file', `${where}: ${name} must be an ISO 8601 date`);
    return new Date(v).toISOString();
  };
  return {
    keyId, key, label: typeof j.label === 'string' ? j.label : null, created: date('created'),
    expires: date('expires'), notBefore: date('notBefore'), file,
  };
}

function readWithMode(file: string): { text: string; mode: number } {
  let fd: number;
  try { fd = openSync(file, C.O_RDONLY); } catch (e) { throw new TrustError('io', `cannot read key ${file}: ${(e as Error).message}`, { cause: e }); }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new TrustError('bad-key-file', `${file} is not a regular file`);
    if (st.size > 64 * 1024) throw new TrustError('bad-key-file', `${file} is ${st.size} bytes; too big for a key file`);
    return { text: readFileSync(fd, 'utf8'), mode: st.mode };
  } finally { closeSync(fd); }
}
