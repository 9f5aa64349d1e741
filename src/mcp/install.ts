// `cordon mcp install / uninstall`: rewrites an agent's MCP config so every stdio server runs
// behind `cordon mcp wrap`, and back. Understands the two common shapes: `mcpServers` (Claude
// Desktop, Claude Code `.mcp.json`, Cursor) and `servers` (VS Code `.vscode/mcp.json`).
//
// The rewrite is self-describing: the original command and arguments follow `--` in the new
// argument list, so uninstall restores them exactly with no side file, and installing twice
// changes nothing. Remote (url) servers are left as they are and reported: they need a running
// `cordon mcp serve --upstream URL` to point at. The file is replaced atomically; every other
// key is kept.

import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { checkServerName } from './pins.js';

export class InstallError extends Error {
  readonly exitCode = 2;
}

export interface InstallOptions {
  /** Policy file (absolute) every wrapped server uses. */
  policy: string;
  audit?: string | undefined;
  stateDir?: string | undefined;
  /** Command that runs cordon: default this Node and this package's bin/cordon.js. */
  cordon?: string[];
}

export interface InstallChange {
  server: string;
  action: 'wrapped' | 'already_wrapped' | 'skipped_remote' | 'unwrapped' | 'not_wrapped' | 'skipped_invalid';
  detail?: string;
}

type Entry = Record<string, unknown>;

export function defaultCordonCommand(): string[] {
  return [process.execPath, fileURLToPath(new URL('../../../bin/cordon.js', import.meta.url))];
}

function serversOf(config: Record<string, unknown>, file: string): Record<string, Entry> {
  const s = config.mcpServers ?? config.servers;
  if (s === undefined) throw new InstallError(`${file} has neither "mcpServers" nor "servers": it does not look like an MCP client config`);
  if (s === null || typeof s !== 'object' || Array.isArray(s)) throw new InstallError(`${file}: "${config.mcpServers !== undefined ? 'mcpServers' : 'servers'}" must be an object of server entries`);
  return s as Record<string, Entry>;
}

function readConfig(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new InstallError(`cannot read ${file}: ${(e as Error).message}`);
  }
  try {
    const v = JSON.parse(text) as unknown;
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('top level is not an object');
    return v as Record<string, unknown>;
  } catch (e) {
    throw new InstallError(`${file} is not valid JSON (${(e as Error).message}); fix it first (comments are not supported)`);
  }
}

function writeConfig(file: string, config: Record<string, unknown>): void {
  const tmp = `${file}.cordon-${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(config, null, 2) + '\n');
  renameSync(tmp, file);
}

/** Index of `wrap` in args when the entry is a cordon wrap, else -1. */
function wrapIndex(e: Entry): number {
  const args = Array.isArray(e.args) ? e.args : [];
  for (let i = 0; i + 1 < args.length; i++) if (args[i] === 'mcp' && args[i + 1] === 'wrap') return i + 1;
  return -1;
}

export function installConfig(file: string, opts: InstallOptions, dryRun = false): InstallChange[] {
  const config = readConfig(file);
  const servers = serversOf(config, file);
  const cordon = opts.cordon ?? defaultCordonCommand();
  const changes: InstallChange[] = [];
  for (const [name, entry] of Object.entries(servers)) {
    if (entry === null || typeof entry !== 'object') { changes.push({ server: name, action: 'skipped_invalid', detail: 'entry is not an object' }); continue; }
    if (typeof entry.command !== 'string') {
      changes.push({ server: name, action: typeof entry.url === 'string' ? 'skipped_remote' : 'skipped_invalid', detail: typeof entry.url === 'string' ? `remote server ${entry.url}: run \`cordon mcp serve --name ${name} --upstream ${entry.url}\` and point this entry at it` : 'no "command"' });
      continue;
    }
    if (wrapIndex(entry) >= 0) { changes.push({ server: name, action: 'already_wrapped' }); continue; }
    try {
      checkServerName(name);
    } catch (e) {
      changes.push({ server: name, action: 'skipped_invalid', detail: (e as Error).message });
      continue;
    }
    const original = [entry.command, ...(Array.isArray(entry.args) ? entry.args.map(String) : [])];
    const flags = ['--name', name, '--policy', opts.policy];
    if (opts.audit) flags.push('--audit', opts.audit);
    if (opts.stateDir) flags.push('--state', opts.stateDir);
    entry.command = cordon[0];
    entry.args = [...cordon.slice(1), 'mcp', 'wrap', ...flags, '--', ...original];
    changes.push({ server: name, action: 'wrapped', detail: original.join(' ') });
  }
  if (!dryRun && changes.some((c) => c.action === 'wrapped')) writeConfig(file, config);
  return changes;
}

export function uninstallConfig(file: string, dryRun = false): InstallChange[] {
  const config = readConfig(file);
  const servers = serversOf(config, file);
  const changes: InstallChange[] = [];
  for (const [name, entry] of Object.entries(servers)) {
    if (entry === null || typeof entry !== 'object') continue;
    const w = wrapIndex(entry);
    const args = Array.isArray(entry.args) ? entry.args.map(String) : [];
    const sep = w >= 0 ? args.indexOf('--', w) : -1;
    if (sep < 0 || sep + 1 >= args.length) { changes.push({ server: name, action: 'not_wrapped' }); continue; }
    const original = args.slice(sep + 1);
    entry.command = original[0];
    entry.args = original.slice(1);
    changes.push({ server: name, action: 'unwrapped', detail: original.join(' ') });
  }
  if (!dryRun && changes.some((c) => c.action === 'unwrapped')) writeConfig(file, config);
  return changes;
}
