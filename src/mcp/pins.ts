// Tool-definition pinning against rug pulls: the first definition seen for a tool (name,
// description, schemas, annotations) is pinned by SHA-256 of its canonical JSON; a later,
// different definition is withheld from the agent and its calls denied until a human runs
// `cordon mcp pins trust`. The changed definition is kept as "pending" so `pins diff` can show
// exactly what changed.
//
// Storage: one JSON file per server under `<state>/pins/<server>.json`, written atomically
// (temp file + rename) so a crash never leaves a half-written pin file. A pin file that exists
// but cannot be parsed is an error (fail closed), not an empty store.
//
// NOT covered: behaviour changes behind an unchanged definition.

import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { canonicalJson } from '../policy/index.js';

export interface PinnedTool {
  sha256: string;
  definition: Record<string, unknown>;
  pinnedAt: string;
}

export interface PendingTool {
  sha256: string;
  definition: Record<string, unknown>;
  seenAt: string;
}

export interface PinFile {
  server: string;
  tools: Record<string, PinnedTool>;
  pending: Record<string, PendingTool>;
}

export class PinStoreError extends Error {
  readonly exitCode = 2;
}

/** Default state directory: $CORDON_MCP_STATE, else $XDG_STATE_HOME/cordon/mcp (~/.local/state/cordon/mcp). */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.CORDON_MCP_STATE) return env.CORDON_MCP_STATE;
  const xdg = env.XDG_STATE_HOME;
  return xdg && xdg.startsWith('/') ? join(xdg, 'cordon', 'mcp') : join(env.HOME || homedir(), '.local', 'state', 'cordon', 'mcp');
}


/** The pinned part of a tool definition: everything but `_meta` (free-form, often volatile). */
export function pinnedDefinition(tool: Record<string, unknown>): Record<string, unknown> {
  const { _meta: _ignored, ...rest } = tool;
  return rest;
}

export function definitionHash(tool: Record<string, unknown>): string {
  return createHash('sha256').update(canonicalJson(pinnedDefinition(tool))).digest('hex');
}

const SERVER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function checkServerName(name: string): void {
  if (!SERVER_NAME.test(name)) {
    throw new PinStoreError(`server name "${name}" is not usable: use letters, digits, ".", "_" and "-" (at most 128, not starting with a punctuation mark)`);
  }
}

export interface PinStoreOptions {
  /** Pin files kept elsewhere than the state directory (e.g. reviewed in a repository), by server. */
  files?: Record<string, string>;
}

export class PinStore {
  constructor(readonly stateDir: string, private readonly opts: PinStoreOptions = {}) {}

  private file(server: string): string {
    checkServerName(server);
    return this.opts.files?.[server] ?? join(this.stateDir, 'pins', `${server}.json`);
  }

  load(server: string): PinFile {
    const f = this.file(server);
    let text: string;
    try {
      text = readFileSync(f, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { server, tools: {}, pending: {} };
      throw new PinStoreError(`cannot read pin file ${f}: ${(e as Error).message}`);
    }
    try {
      const p = JSON.parse(text) as PinFile;
      if (typeof p !== 'object' || p === null || typeof p.tools !== 'object' || p.tools === null) throw new Error('missing "tools"');
      return { server, tools: p.tools, pending: p.pending ?? {} };
    } catch (e) {
      throw new PinStoreError(`pin file ${f} is corrupt (${(e as Error).message}); fix or delete it, then re-pin with the server you trust`);
    }
  }

  save(p: PinFile): void {
    const f = this.file(p.server);
    mkdirSync(dirname(f), { recursive: true, mode: 0o700 });
    const tmp = `${f}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(p, null, 2) + '\n', { mode: 0o600 });
    renameSync(tmp, f);
  }

  /** Names of servers with a pin file. */
  servers(): string[] {
    try {
      return readdirSync(join(this.stateDir, 'pins')).filter((n) => n.endsWith('.json')).map((n) => n.slice(0, -5)).sort();
    } catch {
      return [];
    }
  }

  /** Accepts pending definitions (all, or the named tools). Returns the tools trusted. */
  trust(server: string, tools?: readonly string[]): string[] {
    const p = this.load(server);
    const names = tools && tools.length > 0 ? [...tools] : Object.keys(p.pending);
    const done: string[] = [];
    for (const n of names) {
      const pend = p.pending[n];
      if (!pend) continue;
      p.tools[n] = { sha256: pend.sha256, definition: pend.definition, pinnedAt: new Date().toISOString() };
      delete p.pending[n];
      done.push(n);
    }
    if (done.length > 0) this.save(p);
    return done;
  }
}

export type PinVerdict =
  | { status: 'match' }
  | { status: 'new' }
  | { status: 'changed'; pinned: string; seen: string }
  /** Frozen pins: a tool the pin file does not know; recorded as pending, not trusted. */
  | { status: 'unpinned'; seen: string };

/**
 * Checks one tool against the pin file, updating `p` in memory: a new tool is pinned (or, with
 * `frozen`, recorded as pending: no trust on first use), a changed one recorded as pending.
 * Returns whether `p` changed (the caller saves once per listing).
 */
export function checkPin(p: PinFile, tool: Record<string, unknown>, now: Date, frozen = false): { verdict: PinVerdict; dirty: boolean } {
  const name = String(tool.name);
  const sha = definitionHash(tool);
  const pinned = p.tools[name];
  if (!pinned && frozen) {
    const prev = p.pending[name];
    const dirty = !prev || prev.sha256 !== sha;
    if (dirty) p.pending[name] = { sha256: sha, definition: pinnedDefinition(tool), seenAt: now.toISOString() };
    return { verdict: { status: 'unpinned', seen: sha }, dirty };
  }
  if (!pinned) {
    p.tools[name] = { sha256: sha, definition: pinnedDefinition(tool), pinnedAt: now.toISOString() };
    return { verdict: { status: 'new' }, dirty: true };
  }
  if (pinned.sha256 === sha) {
    // A definition that reverted to the pinned one clears its pending entry.
    if (p.pending[name]) { delete p.pending[name]; return { verdict: { status: 'match' }, dirty: true }; }
    return { verdict: { status: 'match' }, dirty: false };
  }
  const prev = p.pending[name];
  const dirty = !prev || prev.sha256 !== sha;
  if (dirty) p.pending[name] = { sha256: sha, definition: pinnedDefinition(tool), seenAt: now.toISOString() };
  return { verdict: { status: 'changed', pinned: pinned.sha256, seen: sha }, dirty };
}

/** A line diff of two definitions' pretty JSON (small inputs: O(n·m) LCS is fine). */
export function diffDefinitions(a: Record<string, unknown>, b: Record<string, unknown>): string {
  const pretty = (v: unknown) => JSON.stringify(JSON.parse(canonicalJson(v)), null, 2).split('\n');
  const x = pretty(a);
  const y = pretty(b);
  const n = x.length;
  const m = y.length;
  const lcs: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) {
    lcs[i]![j] = x[i] === y[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  }
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (x[i] === y[j]) { out.push(`  ${x[i]}`); i++; j++; }
    else if (lcs[i + 1]![j]! >= lcs[i]![j + 1]!) out.push(`- ${x[i++]}`);
    else out.push(`+ ${y[j++]}`);
  }
  while (i < n) out.push(`- ${x[i++]}`);
  while (j < m) out.push(`+ ${y[j++]}`);
  return out.join('\n');
}
