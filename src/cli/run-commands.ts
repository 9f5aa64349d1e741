// `cordon` subcommands owned by the run part. Placeholder until that part lands.
import type { Command } from 'commander';

export function registerRunCommands(_program: Command): void {}
