// The `cordon` command: parses argv, hands each subcommand to the part that owns it, and turns
// failures into one clear paragraph on stderr and an exit status. Subcommand modules import
// their parts lazily so `cordon run` does not pay for the MCP SDK or SQLite at start.
import { Command, CommanderError } from 'commander';
import { EXIT } from './exit-codes.js';

type Registrar = (program: Command) => unknown;
/** The module that registers each top-level command. */
const REGISTRARS: Record<string, () => Promise<Registrar>> = {
  policy: async () => (await import('./policy-commands.js')).registerPolicyCommands,
  run: async () => (await import('./run-commands.js')).registerRunCommands,
  audit: async () => (await import('./audit-commands.js')).registerAuditCommands,
  mcp: async () => (await import('./mcp-commands.js')).registerMcpCommands,
  net: async () => (await import('./net-commands.js')).registerNetCommands,
  trash: async () => (await import('./trash-commands.js')).registerTrashCommands,
};
/** Commands registered by another command's module. */
const ALSO: Record<string, string> = { detect: 'run', keys: 'audit' };

/** An error meant for the user: its message says what failed, why, and what to do. */
export interface UserFacingError extends Error {
  exitCode: number;
}

export function isUserFacing(e: unknown): e is UserFacingError {
  return e instanceof Error && typeof (e as { exitCode?: unknown }).exitCode === 'number';
}

/**
 * The commander program. With `argv`, a known command's module is the only one loaded (so
 * `cordon run` does not load the others); otherwise, for help, a typo's suggestion or no
 * command at all, every command is registered.
 */
export async function buildProgram(argv: readonly string[] = []): Promise<Command> {
  const program = new Command('cordon')
    .description('Execution-layer security for AI agents: policy on every file, exec, connection, signal and tool call.')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s), writeOut: (s) => process.stdout.write(s) });
  const first = argv[0] ?? '';
  const only = Object.hasOwn(REGISTRARS, first) ? first : Object.hasOwn(ALSO, first) ? ALSO[first]! : undefined;
  const names = only !== undefined ? [only] : Object.keys(REGISTRARS);
  for (const register of await Promise.all(names.map((n) => REGISTRARS[n]!()))) register(program);
  return program;
}

/** Runs the CLI; resolves to the process exit status. */
export async function main(argv: string[]): Promise<number> {
  performance.mark('cordon:main');
  try {
    const program = await buildProgram(argv);
    performance.mark('cordon:cli-built');
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
  } finally {
    if (process.env.CORDON_TIMING) printTiming();
  }
}

/** CORDON_TIMING=1: the start phases (performance marks, ms since the process began) on stderr. */
function printTiming(): void {
  let prev = 0;
  const lines = performance.getEntriesByType('mark').filter((m) => m.name.startsWith('cordon:')).map((m) => {
    const l = `cordon-timing: ${m.startTime.toFixed(1).padStart(7)} ms  +${(m.startTime - prev).toFixed(1).padStart(6)}  ${m.name.slice(7)}`;
    prev = m.startTime;
    return l;
  });
  process.stderr.write(`${lines.join('\n')}\n`);
}
