// The trust store: a directory of public key files (`*.pub` cordon JSON, or `*.pem`), each
// optionally with an expiry. Whoever can write to this directory decides which policies run, so
// in enforce mode a store (or key file in it) writable by group or others, or owned by another
// non-root user, is refused; in warn mode that is a warning.
import { lstatSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { TrustError } from './errors.js';
import { loadPublicKey, permissionProblem, type PublicKeyInfo } from './keys.js';

export interface TrustStore {
  dir: string;
  keys: Map<string, PublicKeyInfo>;
  /** Problems tolerated (warn mode) or files skipped; empty when all is well. */
  warnings: string[];
}

function ownerProblem(path: string, uid: number): string | null {
  const euid = process.geteuid?.();
  if (euid === undefined || uid === 0 || uid === euid) return null;
  return `${path} is owned by uid ${uid}, neither you (uid ${euid}) nor root; that user could add trusted keys`;
}

/** Loads the store; `strict` (enforce mode) turns permission problems into a TrustError. */
export function loadTrustStore(dir: string, opts: { strict: boolean }): TrustStore {
  const warnings: string[] = [];
  const problem = (msg: string): void => {
    if (opts.strict) throw new TrustError('loose-permissions', `trust store: ${msg}`);
    warnings.push(msg);
  };
  let st;
  try { st = statSync(dir); } catch (e) {
    throw new TrustError('trust-store', `trust store ${dir} cannot be read: ${(e as Error).message}`, { cause: e });
  }
  if (!st.isDirectory()) throw new TrustError('trust-store', `trust store ${dir} is not a directory`);
  if ((st.mode & 0o022) !== 0) problem(`directory ${dir} has mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}: group or others can add keys. Run \`chmod go-w ${dir}\``);
  const op = ownerProblem(dir, st.uid);
  if (op) problem(op);
  const keys = new Map<string, PublicKeyInfo>();
  for (const name of readdirSync(dir).sort()) {
    if (!name.endsWith('.pub') && !name.endsWith('.pem')) continue;
    const file = join(dir, name);
    const ls = lstatSync(file);
    if (ls.isSymbolicLink()) { problem(`${file} is a symbolic link; put the key file itself in the store`); continue; }
    if (!ls.isFile()) continue;
    const k = loadPublicKey(file);
    const pp = permissionProblem(file, k.mode, 'trust');
    if (pp) problem(pp);
    const fo = ownerProblem(file, ls.uid);
    if (fo) problem(fo);
    keys.set(k.keyId, k);
  }
  return { dir, keys, warnings };
}
