// `cordon` subcommands owned by the net part. Placeholder until that part lands.
import type { Command } from 'commander';

export function registerNetCommands(_program: Command): void {}
