// `cordon` subcommands owned by the audit part. Placeholder until that part lands.
import type { Command } from 'commander';

export function registerAuditCommands(_program: Command): void {}
