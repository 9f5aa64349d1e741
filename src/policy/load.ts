// Loading a policy: read (size-capped), parse YAML safely, expand variables, validate strictly
// with the zod schema, run the semantic checks, resolve `extends:`. Every failure is a
// PolicyError pointing at file:line:col; nothing else escapes.
import { readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { addAncestorGuards } from './ancestor-guards.js';
import { checkPolicy } from './checks.js';
import { PolicyError, policyError, type PolicyIssue } from './errors.js';
import { builtinPath, BUILTIN_POLICIES } from './builtin.js';
import { makeLookup, recordingLookup, type Lookup, type RecordedLookups } from './lookup.js';
import { mergePolicies } from './merge.js';
import { policySchema, type Policy } from './schema/policy.js';
import { nearest } from './suggest.js';
import { expandTree } from './vars.js';
import { locate, MAX_POLICY_BYTES, parsePolicyText, type ParsedSource } from './yaml-source.js';

export interface LoadOptions {
  /** A policy file path. */
  file?: string;
  /** A built-in policy name (`agent-default`, `strict`). */
  builtin?: string;
  /** Policy text, with `source` naming it in errors. */
  text?: string;
  source?: string;
  /** Variables: PROJECT_ROOT, GIT_ROOT, HOME, TMPDIR and any others the policy uses. */
  vars?: Record<string, string | undefined>;
  /** Environment consulted for ${VAR} after `vars` (default: process.env). */
  env?: Record<string, string | undefined>;
  /** Where PROJECT_ROOT / GIT_ROOT detection starts when `vars` does not give them (default: cwd). */
  cwd?: string;
}

const MAX_EXTENDS_DEPTH = 8;

export function loadPolicy(opts: LoadOptions): Policy {
  return loadWith(opts, makeLookup(opts));
}

/**
 * loadPolicy, also returning every variable the load consulted and the value it got: the
 * policy is a pure function of its source text and these answers (for a policy without
 * `extends:`), which is what lets `cordon run` reuse a cached copy without parsing it again.
 */
export function loadPolicyRecorded(opts: LoadOptions): { policy: Policy; lookups: RecordedLookups; extended: boolean } {
  const rec = recordingLookup(makeLookup(opts));
  const seen = { extended: false };
  const policy = loadWith(opts, rec.lookup, seen);
  return { policy, lookups: rec.recorded, extended: seen.extended };
}

/** What a load came across that a caller may need to know (`extends:` reads other files). */
interface Seen { extended: boolean }

function loadWith(opts: LoadOptions, lookup: Lookup, seen: Seen = { extended: false }): Policy {
  try {
    if (opts.text !== undefined) return addAncestorGuards(loadFrom(parsePolicyText(opts.text, opts.source ?? '<inline>'), undefined, lookup, [], seen));
    const file = opts.file ?? (opts.builtin !== undefined ? builtinFile(opts.builtin) : undefined);
    if (file === undefined) throw policyError('<none>', 'no policy given: name a file or a built-in policy');
    return addAncestorGuards(loadFile(resolve(file), lookup, [], seen));
  } catch (e) {
    if (e instanceof PolicyError) throw e;
    // Anything else is a loader bug or an unexpected parser failure; it still must not escape untyped.
    throw policyError(opts.file ?? opts.source ?? '<policy>', `could not be loaded: ${(e as Error)?.message ?? String(e)}`);
  }
}

function builtinFile(name: string): string {
  const p = builtinPath(name);
  if (!p) throw policyError(name, `there is no built-in policy named "${name}" (built-ins: ${BUILTIN_POLICIES.join(', ')})`);
  return p;
}

function readPolicyFile(file: string): string {
  let size: number;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw policyError(file, 'is not a regular file');
    size = st.size;
  } catch (e) {
    if (e instanceof PolicyError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw policyError(file, code === 'ENOENT' ? 'no such file' : `cannot be read (${code ?? (e as Error).message})`);
  }
  if (size > MAX_POLICY_BYTES) throw policyError(file, `the file is ${size} bytes; a policy may be at most ${MAX_POLICY_BYTES} bytes (1 MiB). Split it with \`extends:\``);
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw policyError(file, `cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

function loadFile(file: string, lookup: Lookup, chain: string[], seen: Seen): Policy {
  if (chain.includes(file)) throw policyError(file, `extends itself through ${[...chain, file].join(' -> ')}`);
  if (chain.length >= MAX_EXTENDS_DEPTH) throw policyError(file, `extends chain is deeper than ${MAX_EXTENDS_DEPTH}`);
  return loadFrom(parsePolicyText(readPolicyFile(file), file), file, lookup, chain, seen);
}

function loadFrom(src: ParsedSource, file: string | undefined, lookup: Lookup, chain: string[], seen: Seen): Policy {
  const failures = expandTree(src.data, lookup);
  if (failures.length > 0) {
    throw new PolicyError(failures.map((f) => issueAt(src, f.path, f.error.message)));
  }
  const parsed = policySchema.safeParse(src.data, { reportInput: true });
  if (!parsed.success) throw new PolicyError(zodIssues(src, parsed.error.issues));
  const policy = parsed.data;
  const problems = checkPolicy(policy);
  if (problems.length > 0) throw new PolicyError(problems.map((p) => issueAt(src, p.path, p.message)));
  if (policy.extends === undefined) return policy;
  seen.extended = true;
  const bases = (Array.isArray(policy.extends) ? policy.extends : [policy.extends]).map((ref, i) => {
    const base = resolveExtends(ref, file);
    if (!base) throw new PolicyError([issueAt(src, ['extends', ...(Array.isArray(policy.extends) ? [i] : [])], `extends "${ref}" is neither a built-in policy (${BUILTIN_POLICIES.join(', ')}) nor a path; paths are relative to this file`)]);
    return loadFile(base, lookup, file ? [...chain, file] : chain, seen);
  });
  return bases.reduce((acc, base) => mergePolicies(acc, base), { ...policy, extends: undefined } as Policy);
}

function resolveExtends(ref: string, from: string | undefined): string | undefined {
  const name = ref.startsWith('builtin:') ? ref.slice(8) : ref;
  if (!name.includes('/') && !name.endsWith('.yaml') && !name.endsWith('.yml')) return builtinPath(name);
  if (isAbsolute(name)) return name;
  return resolve(from ? dirname(from) : process.cwd(), name);
}

export { mergePolicies };

function issueAt(src: ParsedSource, path: (string | number)[], message: string, key?: string): PolicyIssue {
  const pos = locate(src, path, key);
  return { file: src.file, path: key === undefined ? path : [...path, key], message, ...(pos ? { line: pos.line, col: pos.col } : {}) };
}

function zodIssues(src: ParsedSource, issues: z.core.$ZodIssue[]): PolicyIssue[] {
  const out: PolicyIssue[] = [];
  for (const i of issues) {
    const path = i.path.filter((p): p is string | number => typeof p !== 'symbol');
    if (i.code === 'unrecognized_keys') {
      const valid = keysAt(policySchema, path);
      for (const k of i.keys) {
        const guess = nearest(k, valid);
        const hint = guess ? ` (did you mean "${guess}"?)` : valid.length ? ` (valid keys here: ${valid.join(', ')})` : '';
        out.push(issueAt(src, path, `unknown key "${k}"${hint}`, k));
      }
    } else {
      out.push(issueAt(src, path, describeIssue(i, path)));
    }
  }
  return out;
}

function describeIssue(i: z.core.$ZodIssue, path: (string | number)[]): string {
  if (i.code === 'invalid_value' && 'values' in i) return `must be one of ${i.values.map((v) => JSON.stringify(v)).join(', ')}`;
  if (i.code === 'invalid_type' && i.input === undefined) return `is required (${i.expected})`;
  if (i.code === 'invalid_type') return `must be ${i.expected === 'object' ? 'a mapping' : i.expected === 'array' ? 'a list' : `a ${i.expected}`} (got ${describeValue(i.input)})`;
  if (i.code === 'too_small' && i.origin === 'array') return `needs at least ${i.minimum} entr${i.minimum === 1 ? 'y' : 'ies'}`;
  if (i.code === 'too_small' && i.origin === 'string') return 'must not be empty';
  void path;
  return i.message;
}

function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v)}`;
  return `${typeof v} ${String(v)}`;
}

/** Valid keys of the object the schema expects at `path` (for "did you mean"). */
function keysAt(schema: z.ZodType, path: (string | number)[]): string[] {
  let s: z.ZodType | undefined = schema;
  for (const step of [...path, '']) {
    s = unwrap(s);
    if (step === '') break;
    if (s instanceof z.ZodObject) s = (s.shape as Record<string, z.ZodType>)[step as string];
    else if (s instanceof z.ZodArray) s = s.element as z.ZodType;
    else return [];
  }
  s = unwrap(s);
  return s instanceof z.ZodObject ? Object.keys(s.shape) : [];
}

function unwrap(s: z.ZodType | undefined): z.ZodType | undefined {
  for (let k = 0; k < 8 && s; k++) {
    if (s instanceof z.ZodOptional || s instanceof z.ZodDefault || s instanceof z.ZodNullable) s = s.unwrap() as z.ZodType;
    else if (s instanceof z.ZodPipe) s = s.in as z.ZodType;
    else break;
  }
  return s;
}
