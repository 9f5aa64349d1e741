// Shared test plumbing: temp dirs, policies, fixture servers, and real SDK clients connected
// through the built `cordon` CLI (stdio: `cordon mcp wrap`; HTTP: `cordon mcp serve`) or
// directly to the same server for control runs.

import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { FixtureConfig } from './fixture-server.js';

export const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
export const CORDON = join(ROOT, 'bin', 'cordon.js');
export const FIXTURE = join(ROOT, 'dist', 'test', 'mcp', 'helpers', 'fixture-server.js');
export const FS_SERVER = join(ROOT, 'node_modules', '@modelcontextprotocol', 'server-filesystem', 'dist', 'index.js');
export const EVERYTHING_SERVER = join(ROOT, 'node_modules', '@modelcontextprotocol', 'server-everything', 'dist', 'index.js');

export function tmp(prefix = 'cordon-mcp-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function writePolicy(dir: string, yaml: string, name = 'policy.yaml'): string {
  const p = join(dir, name);
  writeFileSync(p, yaml);
  return p;
}

/** Writes a fixture server config; returns the command line that runs it and its call log. */
export function fixture(dir: string, cfg: Omit<FixtureConfig, 'log'>, file = `${cfg.name}.json`): { command: string[]; log: string; config: string } {
  const log = join(dir, `${cfg.name}.calls.jsonl`);
  const config = join(dir, file);
  writeFileSync(config, JSON.stringify({ ...cfg, log }));
  return { command: [process.execPath, FIXTURE, config], log, config };
}

/** Calls the fixture server received (server-side evidence). */
export function calls(log: string): Array<{ tool: string; arguments: Record<string, unknown> }> {
  if (!existsSync(log)) return [];
  return readFileSync(log, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

export interface WrapRun {
  client: Client;
  stderr: () => string;
  close: () => Promise<void>;
}

export interface WrapArgs {
  name: string;
  policy: string;
  state: string;
  server: string[];
  audit?: string;
  extra?: string[];
  cwd?: string;
}

export function wrapArgv(a: WrapArgs): string[] {
  return [CORDON, 'mcp', 'wrap', '--name', a.name, '--policy', a.policy, '--state', a.state,
    ...(a.audit ? ['--audit', a.audit] : []), ...(a.extra ?? []), '--', ...a.server];
}

export function testEnv(state: string): Record<string, string> {
  return { ...(process.env as Record<string, string>), XDG_STATE_HOME: join(state, 'xdg') };
}

/** A real SDK client talking to `cordon mcp wrap` over stdio. */
export async function connectWrap(a: WrapArgs): Promise<WrapRun> {
  const transport = new StdioClientTransport({ command: process.execPath, args: wrapArgv(a), env: testEnv(a.state), stderr: 'pipe', cwd: a.cwd ?? ROOT });
  let err = '';
  transport.stderr?.on('data', (d: Buffer) => { err += d.toString(); });
  const client = new Client({ name: 'cordon-test', version: '1.0.0' });
  await client.connect(transport);
  return { client, stderr: () => err, close: () => client.close() };
}

/** The same server without the gateway (control runs). */
export async function connectDirect(server: string[], cwd = ROOT): Promise<WrapRun> {
  const transport = new StdioClientTransport({ command: server[0]!, args: server.slice(1), stderr: 'pipe', cwd, env: process.env as Record<string, string> });
  let err = '';
  transport.stderr?.on('data', (d: Buffer) => { err += d.toString(); });
  const client = new Client({ name: 'cordon-test', version: '1.0.0' });
  await client.connect(transport);
  return { client, stderr: () => err, close: () => client.close() };
}

/** Waits for a line matching `re` on a child's stdout; returns the match. */
export function waitForLine(child: ChildProcess, re: RegExp, timeoutMs = 10_000): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let buf = '';
    let errBuf = '';
    const t = setTimeout(() => reject(new Error(`timed out waiting for ${re}; stdout: ${buf}; stderr: ${errBuf}`)), timeoutMs);
    child.stderr?.on('data', (d: Buffer) => { errBuf += d.toString(); });
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const m = buf.match(re);
      if (m) { clearTimeout(t); resolve(m); }
    });
    child.once('exit', (code) => { clearTimeout(t); reject(new Error(`process exited (${code}) before printing ${re}; stdout: ${buf}; stderr: ${errBuf}`)); });
  });
}

export interface HttpProc { url: string; child: ChildProcess; stop: () => Promise<void> }

function stopper(child: ChildProcess): () => Promise<void> {
  return () => new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) { resolve(); return; }
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

/** The fixture server in Streamable HTTP mode on 127.0.0.1. */
export async function startFixtureHttp(dir: string, cfg: Omit<FixtureConfig, 'log' | 'http'>): Promise<HttpProc & { log: string }> {
  const f = fixture(dir, { ...cfg, http: true });
  const child = spawn(f.command[0]!, f.command.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  const m = await waitForLine(child, /LISTENING (\d+)/);
  return { url: `http://127.0.0.1:${m[1]}/mcp`, child, stop: stopper(child), log: f.log };
}

/** `cordon mcp serve` in front of `upstream`. */
export async function startServe(a: { name: string; policy: string; state: string; upstream: string; audit?: string; extra?: string[] }): Promise<HttpProc> {
  const child = spawn(process.execPath, [CORDON, 'mcp', 'serve', '--json', '--name', a.name, '--policy', a.policy, '--state', a.state, '--upstream', a.upstream,
    ...(a.audit ? ['--audit', a.audit] : []), ...(a.extra ?? [])], { stdio: ['ignore', 'pipe', 'pipe'], env: testEnv(a.state) });
  const m = await waitForLine(child, /"url":"([^"]+)"/);
  return { url: m[1]!, child, stop: stopper(child) };
}

export async function connectHttp(url: string): Promise<Client> {
  const client = new Client({ name: 'cordon-test', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  return client;
}

/** Text of the first content item of a tool result. */
export function text(r: unknown): string {
  const c = (r as { content?: Array<{ text?: string }> }).content;
  return c?.[0]?.text ?? '';
}

/** Audit JSONL events (entries of type event) from a chain file. */
export function auditEvents(file: string): Array<Record<string, unknown>> {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
}
