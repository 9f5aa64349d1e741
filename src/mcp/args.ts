// Argument constraints from an mcp_rules entry's `args:`: JSON-schema style limits, plus path
// and URL arguments re-checked against file_rules and network_rules, so an MCP filesystem or
// fetch tool cannot reach what the policy forbids the agent's own process.
//
// Security scope: the path decided on is the canonical one at check time (`~` expanded,
// relative paths resolved against the gateway's working directory, which the wrapped server
// inherits, symlinks in the existing prefix resolved). The server acts on it later, so a
// symlink swapped in between is NOT caught here: run the server under `cordon run` for a
// kernel-held boundary. URLs are decided on scheme, host and port as written (IP literals in
// their WHATWG canonical form); DNS answers are the egress proxy's business, not this check's.

import { realpathSync } from 'node:fs';
import { isIP } from 'node:net';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import type { Decision, Operation } from '../policy/index.js';
import type { McpArgConstraint } from './rules.js';
import { globMatch } from './glob.js';

export interface ArgContext {
  evaluate(op: Operation): Decision;
  /** Directory relative paths are resolved against (the server's working directory). */
  cwd: string;
}

export type ArgVerdict = { ok: true } | { ok: false; reason: string; decision?: Decision };

/**
 * Canonical absolute path as the kernel would resolve it for the server: components are walked
 * in order and symlinks followed as they are met, so `lnk/../x` (lnk -> /etc/ssl/certs) is
 * /etc/ssl/x, not the lexical /proj/x. A `..` applies to the physical parent. The part below the
 * deepest existing directory is appended as written (no symlinks can be met there yet).
 */
export function canonicalizePath(p: string, cwd: string): string {
  let raw = p;
  if (raw === '~' || raw.startsWith('~/')) raw = join(homedir(), raw.slice(1));
  if (!isAbsolute(raw)) raw = `${cwd}/${raw}`;
  let cur = '/';
  let missing = false;
  for (const part of raw.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      cur = dirname(cur);
      continue;
    }
    const next = cur === '/' ? `/${part}` : `${cur}/${part}`;
    if (missing) {
      cur = next;
      continue;
    }
    try {
      cur = realpathSync.native(next);
    } catch {
      missing = true;
      cur = next;
    }
  }
  return cur;
}

const DEFAULT_PORTS: Record<string, number> = { 'http:': 80, 'https:': 443, 'ws:': 80, 'wss:': 443, 'ftp:': 21 };

/**
 * A resource URI the agent asks a server to read: `file:` URIs are file reads decided by
 * file_rules, network URLs connections decided by network_rules. Other schemes name resources
 * internal to the server (no file or host to decide) and are left to mcp_rules on tools.
 */
export function checkResourceUri(uri: string, ctx: ArgContext): ArgVerdict {
  let scheme: string;
  try {
    scheme = new URL(uri).protocol;
  } catch {
    return { ok: false, reason: 'resources/read needs an absolute URI' };
  }
  if (scheme === 'file:' || scheme in DEFAULT_PORTS) return checkUrl(uri, 'uri', ctx);
  return { ok: true };
}

function checkUrl(value: string, name: string, ctx: ArgContext): ArgVerdict {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    return { ok: false, reason: `argument "${name}" is not a valid absolute URL` };
  }
  if (u.protocol === 'file:') return checkPath(decodeURIComponent(u.pathname), name, 'read', ctx);
  const port = u.port ? Number(u.port) : DEFAULT_PORTS[u.protocol];
  if (port === undefined) return { ok: false, reason: `argument "${name}": scheme ${u.protocol} has no default port and none is given, so network_rules cannot decide it` };
  let host = u.hostname.toLowerCase();
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  while (host.endsWith('.')) host = host.slice(0, -1);
  const op: Operation = isIP(host) ? { kind: 'net', ip: host, port, protocol: 'tcp' } : { kind: 'net', host, port, protocol: 'tcp' };
  const d = ctx.evaluate(op);
  if (d.decision === 'allow' || d.decision === 'audit') return { ok: true };
  return { ok: false, decision: d, reason: `argument "${name}": connecting to ${host}:${port} is ${d.decision === 'approve' ? 'subject to approval' : 'denied'} by ${d.list} rule "${d.rule}"${d.message ? ` (${d.message})` : ''}` };
}

function checkPath(value: string, name: string, op: NonNullable<McpArgConstraint['path']>, ctx: ArgContext): ArgVerdict {
  if (value.length === 0 || value.includes('\0')) return { ok: false, reason: `argument "${name}" is not a usable path` };
  const path = canonicalizePath(value, ctx.cwd);
  const d = ctx.evaluate({ kind: 'file', op, path });
  if (d.decision === 'allow' || d.decision === 'audit') return { ok: true };
  return { ok: false, decision: d, reason: `argument "${name}": ${op} of ${path} is ${d.decision === 'approve' ? 'subject to approval' : 'denied'} by ${d.list} rule "${d.rule}"${d.message ? ` (${d.message})` : ''}` };
}

function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function checkScalar(v: unknown, name: string, c: McpArgConstraint, ctx: ArgContext): ArgVerdict {
  if (c.enum && !c.enum.some((e) => e === v)) return { ok: false, reason: `argument "${name}" must be one of ${c.enum.map((e) => JSON.stringify(e)).join(', ')}` };
  if (typeof v === 'string') {
    if (c.min_length !== undefined && v.length < c.min_length) return { ok: false, reason: `argument "${name}" is shorter than ${c.min_length} characters` };
    if (c.max_length !== undefined && v.length > c.max_length) return { ok: false, reason: `argument "${name}" is longer than ${c.max_length} characters` };
    if (c.glob && !c.glob.some((g) => globMatch(g, v))) return { ok: false, reason: `argument "${name}" matches none of the allowed patterns ${c.glob.join(', ')}` };
    if (c.not_glob) {
      const hit = c.not_glob.find((g) => globMatch(g, v));
      if (hit !== undefined) return { ok: false, reason: `argument "${name}" matches the forbidden pattern ${hit}` };
    }
    if (c.path !== undefined) return checkPath(v, name, c.path, ctx);
    if (c.url) return checkUrl(v, name, ctx);
  } else {
    if (c.path !== undefined || c.url) return { ok: false, reason: `argument "${name}" must be a string ${c.path !== undefined ? 'path' : 'URL'} (got ${jsonType(v)})` };
    if (c.glob || c.not_glob || c.min_length !== undefined || c.max_length !== undefined) {
      return { ok: false, reason: `argument "${name}" must be a string (got ${jsonType(v)})` };
    }
  }
  if (typeof v === 'number') {
    if (c.minimum !== undefined && v < c.minimum) return { ok: false, reason: `argument "${name}" is below the minimum ${c.minimum}` };
    if (c.maximum !== undefined && v > c.maximum) return { ok: false, reason: `argument "${name}" is above the maximum ${c.maximum}` };
  } else if (c.minimum !== undefined || c.maximum !== undefined) {
    return { ok: false, reason: `argument "${name}" must be a number (got ${jsonType(v)})` };
  }
  return { ok: true };
}

/** Checks every constrained argument; the first violation denies the call. */
export function checkArgs(constraints: Readonly<Record<string, McpArgConstraint>>, args: Record<string, unknown>, ctx: ArgContext): ArgVerdict {
  for (const [name, c] of Object.entries(constraints)) {
    const present = Object.prototype.hasOwnProperty.call(args, name) && args[name] !== undefined;
    if (!present) {
      if (c.required) return { ok: false, reason: `argument "${name}" is required by policy` };
      continue;
    }
    const v = args[name];
    if (c.type !== undefined) {
      const t = jsonType(v);
      const fits = t === c.type || (c.type === 'number' && t === 'integer');
      if (!fits) return { ok: false, reason: `argument "${name}" must be of type ${c.type} (got ${t})` };
    }
    if (Array.isArray(v)) {
      if (c.max_items !== undefined && v.length > c.max_items) return { ok: false, reason: `argument "${name}" has more than ${c.max_items} items` };
      for (let i = 0; i < v.length; i++) {
        const r = checkScalar(v[i], `${name}[${i}]`, c, ctx);
        if (!r.ok) return r;
      }
      continue;
    }
    if (v !== null && typeof v === 'object') {
      if (c.path !== undefined || c.url || c.enum || c.glob || c.not_glob) return { ok: false, reason: `argument "${name}" must be a string or an array of strings (got object)` };
      continue;
    }
    const r = checkScalar(v, name, c, ctx);
    if (!r.ok) return r;
  }
  return { ok: true };
}
