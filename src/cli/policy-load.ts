// How the CLI turns a policy argument and --var/--project-root flags into a loaded policy.
// A bare name that is not an existing file is taken as a built-in policy.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { LoadOptions, Policy } from '../policy/index.js';
import { loadPolicy, BUILTIN_POLICIES } from '../policy/index.js';
import { EXIT } from './exit-codes.js';

export interface PolicyVarOptions {
  var?: string[];
  projectRoot?: string;
}

export function policyLoadOptions(ref: string, opts: PolicyVarOptions): LoadOptions {
  const vars: Record<string, string> = {};
  for (const kv of opts.var ?? []) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw Object.assign(new Error(`--var takes NAME=VALUE (got "${kv}")`), { exitCode: EXIT.USAGE });
    vars[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  if (opts.projectRoot) vars.PROJECT_ROOT = resolve(opts.projectRoot);
  const name = ref.startsWith('builtin:') ? ref.slice(8) : ref;
  if (!existsSync(ref) && (BUILTIN_POLICIES as readonly string[]).includes(name)) return { builtin: name, vars };
  return { file: ref, vars };
}

export function loadCliPolicy(ref: string, opts: PolicyVarOptions): Policy {
  return loadPolicy(policyLoadOptions(ref, opts));
}
