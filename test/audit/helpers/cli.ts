// Runs the built CLI (`node bin/cordon.js ...`) with real flags.
import { spawnSync } from 'node:child_process';
import { REPO_ROOT } from './tmp.js';

export interface CliResult { status: number | null; stdout: string; stderr: string }

export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): CliResult {
  const r = spawnSync(process.execPath, [`${REPO_ROOT}bin/cordon.js`, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `cordon policy sign|verify` (registered into the policy group by policy-commands.ts). */
export const runPolicyTrust = runCli;
