// Runs the built CLI with real flags. `policy sign|verify` are registered by the policy group's
// owner calling registerPolicyTrustCommands; until that is wired, runPolicyTrust() launches the
// same program (buildProgram from dist) with them added, so the flags are still tested for real.
import { spawnSync } from 'node:child_process';
import { REPO_ROOT } from './tmp.js';

export interface CliResult { status: number | null; stdout: string; stderr: string }

export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): CliResult {
  const r = spawnSync(process.execPath, [`${REPO_ROOT}bin/cordon.js`, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const LAUNCH = `
const { buildProgram, main } = await import(${JSON.stringify(`${REPO_ROOT}dist/src/cli/main.js`)});
const { registerPolicyTrustCommands } = await import(${JSON.stringify(`${REPO_ROOT}dist/src/cli/audit-commands.js`)});
const probe = buildProgram();
const policy = probe.commands.find((c) => c.name() === 'policy');
const wired = policy && policy.commands.some((c) => c.name() === 'sign');
if (wired) { process.exitCode = await main(process.argv.slice(1)); }
else {
  const { Command } = await import(${JSON.stringify(`${REPO_ROOT}node_modules/commander/index.js`)});
  const p = policy ?? probe.command('policy');
  registerPolicyTrustCommands(p);
  const { EXIT } = await import(${JSON.stringify(`${REPO_ROOT}dist/src/cli/exit-codes.js`)});
  try { await probe.parseAsync(process.argv.slice(1), { from: 'user' }); process.exitCode = typeof process.exitCode === 'number' ? process.exitCode : 0; }
  catch (e) { if (e instanceof Error && typeof e.exitCode === 'number' && e.code === undefined) { process.stderr.write('cordon: ' + e.message + '\\n'); process.exitCode = e.exitCode; } else if (e && e.code && String(e.code).startsWith('commander.')) { process.exitCode = e.exitCode === 0 ? 0 : EXIT.USAGE; } else { process.stderr.write(String(e && e.stack || e) + '\\n'); process.exitCode = 70; } }
  void Command;
}
`;

export function runPolicyTrust(args: string[], env: NodeJS.ProcessEnv = {}): CliResult {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', LAUNCH, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
