// `env_policy`: which environment variables the sandboxed command receives. A pure function of
// (policy, environment): no I/O, deterministic, and its result lists every removed name with
// the reason, for the audit trail. Values never appear in the result's `removed` list, so the
// record is safe to log.
//
// Order of checks for each variable (first that applies removes it):
//   1. invalid   : name empty, containing `=` or NUL, or value containing NUL (execve cannot carry it)
//   2. deny      : name matches a `deny` glob (deny always wins, even over an exact allow)
//   3. not_allowed: `allow` is present and no `allow` glob matches the name
//   4. secret_name / secret_value: unless `strip_secrets: false`, the name looks like a credential
//      (`*_TOKEN`, `*SECRET*`, `*PASSWORD*`, `AWS_*`, ...) or the value contains one (known token
//      formats via src/detect, PEM keys, JWTs, `scheme://user:password@`). A secret survives only
//      if `allow` names it EXACTLY (no glob characters): `allow: ["*"]` never lets a token through.
//   5. max_keys / max_bytes: survivors are taken in ascending name order; a variable that would
//      exceed `max_bytes` (counted as the kernel does: `NAME=value` plus NUL) is skipped, and once
//      `max_keys` are kept the rest are dropped.
// Globs: `*` any run of characters, `?` one character, case-sensitive (Linux variable names are);
// secret-name patterns are matched case-insensitively.
//
// Scope: this decides the initial environment only. NOT covered: secrets a process reads from
// files or obtains later, secrets encoded or split across variables, and agentsh's
// `block_iteration` (that needs an LD_PRELOAD shim).
import { scanSecrets } from '../detect/index.js';

export interface EnvPolicyInput {
  allow?: readonly string[] | undefined;
  deny?: readonly string[] | undefined;
  max_bytes?: number | undefined;
  max_keys?: number | undefined;
  /** Default true. */
  strip_secrets?: boolean | undefined;
}

export type EnvRemovalReason =
  | 'invalid' | 'deny' | 'not_allowed' | 'secret_name' | 'secret_value' | 'max_keys' | 'max_bytes';

export interface EnvRemoval {
  name: string;
  reason: EnvRemovalReason;
  /** The glob or detector that decided (`deny: AWS_*`, `secret_name: *_TOKEN`, `github_token`). */
  detail: string;
}

export interface EnvPolicyResult {
  /** The environment to pass to the command (a fresh object; keys in ascending order). */
  env: Record<string, string>;
  /** Every variable not passed, in ascending name order. Never contains values. */
  removed: EnvRemoval[];
  /** Bytes the kept environment occupies for execve (sum of `NAME=value\0`). */
  bytes: number;
}

/** Name patterns treated as credentials (matched on the upper-cased name). */
export const SECRET_NAME_PATTERNS: readonly string[] = [
  '*TOKEN', '*_TOKEN_*', '*SECRET*', '*PASSWORD*', '*PASSWD*', '*PASSPHRASE*',
  '*_KEY', '*APIKEY*', '*API_KEY*', '*PRIVATE_KEY*', '*ACCESS_KEY*', '*CREDENTIAL*',
  '*_PAT', '*_DSN', '*COOKIE*', 'AWS_*', 'AZURE_CLIENT_*',
];

/** Wildcard match (`*`, `?`) without regular expressions: O(n·m) worst case, no backtracking blow-up. */
export function globMatch(pattern: string, name: string): boolean {
  let p = 0;
  let n = 0;
  let star = -1;
  let mark = 0;
  while (n < name.length) {
    const c = pattern[p];
    if (c === '?' || (c !== undefined && c !== '*' && c === name[n])) {
      p++;
      n++;
    } else if (c === '*') {
      star = p++;
      mark = n;
    } else if (star >= 0) {
      p = star + 1;
      n = ++mark;
    } else {
      return false;
    }
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}

function hasGlob(p: string): boolean {
  return p.includes('*') || p.includes('?');
}

export function secretNamePattern(name: string): string | undefined {
  const upper = name.toUpperCase();
  return SECRET_NAME_PATTERNS.find((p) => globMatch(p, upper));
}

/** `scheme://user:password@host`: a credential in a URL. Linear: one indexOf pass per `://`. */
function urlWithPassword(value: string): boolean {
  let at = value.indexOf('://');
  while (at >= 0) {
    let i = at + 3;
    let colon = -1;
    for (; i < value.length; i++) {
      const c = value[i]!;
      if (c === '@') return colon > at + 3 && i > colon + 1;
      if (c === ':' && colon < 0) colon = i;
      else if (c === '/' || c === ' ' || c === '\n' || c === '\t' || c === '?' || c === '#') break;
    }
    at = value.indexOf('://', at + 3);
  }
  return false;
}

/** The detector that finds a credential in `value`, if any. */
export function secretValueRule(value: string): string | undefined {
  const found = scanSecrets(value)[0];
  if (found) return found.rule ?? 'secret';
  if (urlWithPassword(value)) return 'url_credentials';
  return undefined;
}

function entryBytes(name: string, value: string): number {
  return Buffer.byteLength(name, 'utf8') + 1 + Buffer.byteLength(value, 'utf8') + 1;
}

/** Applies `policy` to `env` (typically `process.env`). Pure and deterministic. */
export function applyEnvPolicy(
  policy: EnvPolicyInput | undefined,
  env: Readonly<Record<string, string | undefined>>,
): EnvPolicyResult {
  const p = policy ?? {};
  const allow = p.allow;
  const deny = p.deny ?? [];
  const stripSecrets = p.strip_secrets !== false;
  const exactAllow = new Set((allow ?? []).filter((a) => !hasGlob(a)));
  const removed: EnvRemoval[] = [];
  const kept: Array<[string, string]> = [];

  const names = Object.keys(env).sort();
  for (const name of names) {
    const value = env[name];
    if (value === undefined) continue;
    if (name === '' || name.includes('=') || name.includes('\0') || value.includes('\0')) {
      removed.push({ name, reason: 'invalid', detail: 'name empty or containing "=" or NUL, or value containing NUL' });
      continue;
    }
    const d = deny.find((g) => globMatch(g, name));
    if (d !== undefined) {
      removed.push({ name, reason: 'deny', detail: `deny: ${d}` });
      continue;
    }
    if (allow && !allow.some((g) => globMatch(g, name))) {
      removed.push({ name, reason: 'not_allowed', detail: 'no allow glob matches' });
      continue;
    }
    if (stripSecrets && !exactAllow.has(name)) {
      const sn = secretNamePattern(name);
      if (sn !== undefined) {
        removed.push({ name, reason: 'secret_name', detail: `secret_name: ${sn}` });
        continue;
      }
      const sv = secretValueRule(value);
      if (sv !== undefined) {
        removed.push({ name, reason: 'secret_value', detail: sv });
        continue;
      }
    }
    kept.push([name, value]);
  }

  const out: Record<string, string> = {};
  let bytes = 0;
  let keys = 0;
  for (const [name, value] of kept) {
    if (p.max_keys !== undefined && keys >= p.max_keys) {
      removed.push({ name, reason: 'max_keys', detail: `max_keys: ${p.max_keys}` });
      continue;
    }
    const b = entryBytes(name, value);
    if (p.max_bytes !== undefined && bytes + b > p.max_bytes) {
      removed.push({ name, reason: 'max_bytes', detail: `max_bytes: ${p.max_bytes}` });
      continue;
    }
    out[name] = value;
    bytes += b;
    keys++;
  }
  removed.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { env: out, removed, bytes };
}
