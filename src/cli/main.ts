// The `cordon` command: parses argv, hands each subcommand to the part that owns it, and turns
// failures into one clear paragraph on stderr and an exit status. Subcommand modules import
// their parts lazily so `cordon run` does not pay for the MCP SDK or SQLite at start.
import { Command, CommanderError } from 'commander';
import { registerPolicyCommands } from './policy-commands.js';
import { registerRunCommands } from './run-commands.js';
import { registerAuditCommands } from './audit-commands.js';
import { registerMcpCommands } from './mcp-commands.js';
import { registerNetCommands } from './net-commands.js';
import { registerTrashCommands } from './trash-commands.js';
import { EXIT } from './exit-codes.js';

/** An error meant for the user: its message says what failed, why, and what to do. */
export interface UserFacingError extends Error {
  exitCode: number;
}

export function isUserFacing(e: unknown): e is UserFacingError {
  return e instanceof Error && typeof (e as { exitCode?: unknown }).exitCode === 'number';
}

export function buildProgram(): Command {
  const program = new Command('cordon')
    .description('Execution-layer security for AI agents: policy on every file, exec, connection, signal and tool call.')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s), writeOut: (s) => process.stdout.write(s) });
  registerPolicyCommands(program);
  registerRunCommands(program);
  registerAuditCommands(program);
  registerMcpCommands(program);
  registerNetCommands(program);
  registerTrashCommands(program);
  return program;
}

/** Runs the CLI; resolves to the process exit status. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.OK;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and version exit 0; every other commander error is a usage error.
      return e.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    }
    if (isUserFacing(e)) {
      process.stderr.write(`cordon: ${e.message}\n`);
      return e.exitCode;
    }
    const detail = process.env.CORDON_DEBUG ? `\n${(e as Error)?.stack ?? String(e)}` : ' (set CORDON_DEBUG=1 for a stack trace)';
    process.stderr.write(`cordon: internal error: ${(e as Error)?.message ?? String(e)}${detail}\n`);
    return EXIT.INTERNAL;
  }
}
