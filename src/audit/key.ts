// HMAC keys for the audit chain: where they live, how they are read, and their fingerprint.
// The fingerprint (recorded in each chain's genesis entry) lets `cordon audit verify` pick the
// right key and tell "wrong key" apart from "tampered entry"; it is a hash of the key under a
// domain-separation prefix, so it reveals nothing usable about the key.
// Security scope: a key file readable by group or others is refused (anyone who can read the key
// can forge a chain). Root can always read it; the chain defends against edits by processes
// that do not hold the key (the sandboxed agent, a later intruder), not against root at write
// time. Signed checkpoints (checkpoint.ts) cover the case where the verifier must not hold it.
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, fstatSync, mkdirSync, openSync, readFileSync, readdirSync, writeSync, constants as C } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { AuditError } from './errors.js';

export const MIN_KEY_BYTES = 32;

/** Per-user state directory: $XDG_STATE_HOME/cordon, else ~/.local/state/cordon. */
export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_STATE_HOME;
  return xdg && xdg.startsWith('/') ? join(xdg, 'cordon') : join(env.HOME || homedir(), '.local', 'state', 'cordon');
}

/** The key the writer uses when none is given (created on first use). */
export function defaultKeyFile(env: NodeJS.ProcessEnv = process.env): string {
  return join(stateDir(env), 'audit.key');
}

/** Where keys replaced by rotation are kept, named by fingerprint, so old chains still verify. */
export function keyArchiveDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(stateDir(env), 'audit-keys');
}

export function keyFingerprint(key: Buffer): string {
  return createHash('sha256').update('cordon-audit-key-fingerprint/1\0').update(key).digest('hex').slice(0, 32);
}

export interface LoadedKey {
  key: Buffer;
  fingerprint: string;
  /** Where it came from, for messages (`file /x`, `env CORDON_AUDIT_KEY`). */
  source: string;
}

/** Decodes key material: hex or base64 text (trimmed), else the raw bytes. */
export function decodeKeyMaterial(raw: Buffer): Buffer {
  const text = raw.toString('utf8').trim();
  if (/^[0-9a-fA-F]+$/.test(text) && text.length % 2 === 0) return Buffer.from(text, 'hex');
  if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(text) && text.length >= 43) return Buffer.from(text, 'base64');
  return raw;
}

function checked(key: Buffer, source: string): LoadedKey {
  if (key.subarray(0, 11).toString('latin1') === '-----BEGIN ') {
    throw new AuditError('key', `${source} holds a PEM key, not an audit HMAC key (32+ random bytes); to check signed checkpoints with an Ed25519 public key use --public-key`);
  }
  if (key.length < MIN_KEY_BYTES) {
    throw new AuditError('key', `audit key from ${source} is ${key.length} bytes; at least ${MIN_KEY_BYTES} are needed (generate one with \`head -c 32 /dev/urandom | xxd -p -c 64\`)`);
  }
  return { key, fingerprint: keyFingerprint(key), source };
}

/** Reads a key file, refusing it unless only its owner can read it (mode 0600 or stricter). */
export function readKeyFile(file: string): LoadedKey {
  let fd: number;
  try {
    fd = openSync(file, C.O_RDONLY | C.O_NOFOLLOW);
  } catch (e) {
    throw new AuditError('key', `cannot read audit key ${file}: ${(e as Error).message}`, { cause: e });
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new AuditError('key', `audit key ${file} is not a regular file`);
    if ((st.mode & 0o077) !== 0) {
      throw new AuditError('key', `audit key ${file} has mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}; anyone in its group or others could forge the audit chain. Run \`chmod 600 ${file}\``);
    }
    const euid = process.geteuid?.();
    if (euid !== undefined && st.uid !== euid && euid !== 0) {
      throw new AuditError('key', `audit key ${file} is owned by uid ${st.uid}, not by you (uid ${euid}); refusing a key another user controls`);
    }
    return checked(decodeKeyMaterial(readFileSync(fd)), `file ${file}`);
  } finally {
    closeSync(fd);
  }
}

export function readKeyEnv(name: string, env: NodeJS.ProcessEnv = process.env): LoadedKey {
  const v = env[name];
  if (!v) throw new AuditError('key', `environment variable ${name} (named as the audit key) is not set or empty`);
  return checked(decodeKeyMaterial(Buffer.from(v, 'utf8')), `env ${name}`);
}

/** Creates a new random key file (mode 0600, fails if it exists) and returns it. */
export function createKeyFile(file: string): LoadedKey {
  const key = randomBytes(MIN_KEY_BYTES);
  const dir = file.slice(0, file.lastIndexOf('/')) || '/';
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  let fd: number;
  try {
    fd = openSync(file, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, 0o600);
  } catch (e) {
    throw new AuditError('key', `cannot create audit key ${file}: ${(e as Error).message}`, { cause: e });
  }
  try {
    writeSync(fd, key.toString('hex') + '\n');
  } finally {
    closeSync(fd);
  }
  return { key, fingerprint: keyFingerprint(key), source: `file ${file}` };
}

/** The writer's key: the one named, else the default key file (created on first use). */
export function resolveWriterKey(spec: { file?: string; env?: string } | undefined, env: NodeJS.ProcessEnv = process.env): LoadedKey {
  if (spec?.file && spec.env) throw new AuditError('key', 'give the audit key as a file or an environment variable, not both');
  if (spec?.file) return readKeyFile(spec.file);
  if (spec?.env) return readKeyEnv(spec.env, env);
  const f = defaultKeyFile(env);
  try {
    return readKeyFile(f);
  } catch (e) {
    if ((e as AuditError).cause && ((e as AuditError).cause as NodeJS.ErrnoException).code === 'ENOENT') {
      try {
        return createKeyFile(f);
      } catch (e2) {
        // Another process created it between our two calls: read theirs.
        if (((e2 as AuditError).cause as NodeJS.ErrnoException | undefined)?.code === 'EEXIST') return readKeyFile(f);
        throw e2;
      }
    }
    throw e;
  }
}

/** Every key a verifier may try by default: the default key and the rotation archive. */
export function defaultVerifierKeys(env: NodeJS.ProcessEnv = process.env): { keys: LoadedKey[]; problems: string[] } {
  const keys: LoadedKey[] = [];
  const problems: string[] = [];
  const files = [defaultKeyFile(env)];
  try {
    for (const n of readdirSync(keyArchiveDir(env)).sort()) if (n.endsWith('.key')) files.push(join(keyArchiveDir(env), n));
  } catch { /* no archive */ }
  for (const f of files) {
    try {
      keys.push(readKeyFile(f));
    } catch (e) {
      const c = (e as AuditError).cause as NodeJS.ErrnoException | undefined;
      if (c?.code !== 'ENOENT') problems.push((e as Error).message);
    }
  }
  return { keys, problems };
}
