import { compilePolicy, loadPolicy, type CompiledPolicy, type Policy } from '../../../src/policy/index.js';

export const VARS = { PROJECT_ROOT: '/work/proj', HOME: '/home/agent', TMPDIR: '/tmp', GIT_ROOT: '/work/proj' };

/** Loads policy text with fixed variables and an empty environment (tests must not depend on the host). */
export function policyFrom(text: string, vars: Record<string, string> = VARS): Policy {
  return loadPolicy({ text, source: 'test.yaml', vars, env: {} });
}

export function compiled(text: string, vars: Record<string, string> = VARS): CompiledPolicy {
  return compilePolicy(policyFrom(text, vars));
}

export const HEADER = 'version: 1\nname: t\n';
