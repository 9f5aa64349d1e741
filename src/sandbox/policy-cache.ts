// A cache of loaded (parsed, validated, variable-expanded) policies for `cordon run`, so a run
// pays neither YAML parsing nor schema validation, nor even loading the parser and the schema
// (the largest part of its start cost): a hit is a JSON read plus compilePolicy.
//
// When a cached policy is reused: a policy without `extends:` is a pure function of its source
// text, the loader's own code, and the answers its ${NAME} references got (explicit --var values,
// detected project/git roots, HOME, TMPDIR, the npm registry host read from npm's configuration,
// the environment). So an entry is keyed by the file's path, its exact text and the policy
// engine's compiled files (path, inode, size, mtime of each), and stores every variable the load
// consulted with its answer (src/policy/lookup.ts records them from the loader itself, not from
// a scan of the text, so YAML escapes cannot hide a reference). A hit requires each of those
// variables to get the same answer now. A miss loads from the very text that was hashed (no
// second read of the file that could see different bytes).
//
// Policies with `extends:` are never cached (their inputs span files); neither is inline text.
// The cache lives in Cordon's state directory, which the sandbox cannot see or touch.
// NOT covered: someone who can write the user's state directory can plant a policy here (they
// could equally replace the audit key); a change to the policy engine's code that keeps every
// file's inode, size and mtime goes unnoticed.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { builtinPath, loadPolicyRecorded, lookupsStillHold, type LoadOptions, type Policy, type RecordedLookups } from '../policy/index.js';

const POLICY_DIST = join(dirname(fileURLToPath(import.meta.url)), '..', 'policy');
/** Bumped when the entry format or what a hit means changes. */
const FORMAT = 2;
/** Entries kept per policy text (one per distinct set of variable answers: projects, users). */
const MAX_VARIANTS = 8;

interface Variant { lookups: RecordedLookups; policy: Policy }
interface Entry { format: number; key: string; variants: Variant[] }

function statSig(p: string): string {
  try {
    const s = statSync(p);
    return `${p}:${s.ino}:${s.size}:${s.mtimeMs}`;
  } catch {
    return `${p}:-`;
  }
}

let engineSigMemo: string | undefined;
function engineSig(): string {
  if (engineSigMemo !== undefined) return engineSigMemo;
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.js')) out.push(statSig(p));
    }
  };
  walk(POLICY_DIST);
  return (engineSigMemo = out.sort().join('\n'));
}

/** The policy file these options name, or undefined when the load is not cacheable. */
function sourceFile(o: LoadOptions): string | undefined {
  if (o.text !== undefined) return undefined;
  const f = o.file ?? (o.builtin !== undefined ? builtinPath(o.builtin) : undefined);
  return f === undefined ? undefined : resolve(f);
}

/** The cache key for a policy file with this text, or undefined when it must not be cached. */
export function policyCacheKey(file: string, text: string): string | undefined {
  // `extends:` pulls other files in; such policies are always loaded afresh.
  // A cheap pre-filter; the load itself reports `extends:` however it is spelt (see below).
  if (/^extends\s*:/m.test(text)) return undefined;
  const h = createHash('sha256');
  h.update(JSON.stringify({ format: FORMAT, file, text }));
  h.update(engineSig());
  return h.digest('hex');
}

function readEntry(path: string, key: string): Entry | undefined {
  try {
    const e = JSON.parse(readFileSync(path, 'utf8')) as Entry;
    return e.format === FORMAT && e.key === key && Array.isArray(e.variants) ? e : undefined;
  } catch {
    return undefined;
  }
}

/**
 * loadPolicy, through the cache in `dir` when the inputs allow it. Errors are loadPolicy's
 * (PolicyError, exitCode 2): an invalid policy is never cached, so it fails on every run.
 */
export function loadPolicyCached(o: LoadOptions, dir: string, cwd = process.cwd()): { policy: Policy; cached: boolean } {
  const opts: LoadOptions = { ...o, cwd: o.cwd ?? cwd };
  const file = sourceFile(opts);
  let text: string | undefined;
  if (file !== undefined) {
    try { text = readFileSync(file, 'utf8'); } catch { /* loadPolicy reports it */ }
  }
  const key = file !== undefined && text !== undefined ? policyCacheKey(file, text) : undefined;
  if (key === undefined || file === undefined || text === undefined) return { policy: loadPolicyRecorded(opts).policy, cached: false };
  const path = join(dir, `${key}.json`);
  const entry = readEntry(path, key);
  const hit = entry?.variants.find((v) => lookupsStillHold(opts, v.lookups));
  if (hit) return { policy: hit.policy, cached: true };
  // Loaded from the exact bytes that were hashed; `source` keeps file:line:col in errors.
  const { file: _f, builtin: _b, ...rest } = opts;
  let loaded;
  try {
    loaded = loadPolicyRecorded({ ...rest, text, source: file });
  } catch {
    loaded = undefined; // reported below, by the load of the file itself
  }
  // A failure, or an `extends:` the pre-filter missed (spelt another way): load it as a file
  // (relative bases resolve against it, errors are exactly loadPolicy's) and do not cache it.
  if (!loaded || loaded.extended) return { policy: loadPolicyRecorded(opts).policy, cached: false };
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const variants = [{ lookups: loaded.lookups, policy: loaded.policy }, ...(entry?.variants ?? [])].slice(0, MAX_VARIANTS);
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify({ format: FORMAT, key, variants } satisfies Entry), { mode: 0o600 });
    renameSync(tmp, path);
  } catch { /* a cache that cannot be written only costs time */ }
  return { policy: loaded.policy, cached: false };
}
