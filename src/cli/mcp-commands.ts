// `cordon` subcommands owned by the mcp part. Placeholder until that part lands.
import type { Command } from 'commander';

export function registerMcpCommands(_program: Command): void {}
