// Rule lists matched by names and small attribute sets (unix sockets, MCP tools, in-process
// tools, HTTP requests): short lists in practice, scanned in order with precompiled globs.
import { canonicalPath } from '../canonical-path.js';
import { compileGlobAny } from '../glob.js';
import type { HttpRule } from '../schema/http-rules.js';
import type { McpRule } from '../schema/mcp-rules.js';
import type { ToolRule } from '../schema/tool-rules.js';
import type { UnixSocketRule } from '../schema/unix-socket-rules.js';
import type { HttpOperation, McpOperation, ToolOperation, UnixSocketOperation } from '../types.js';
import { normalizeHost } from './network.js';

function firstIndex<Op>(tests: ((op: Op) => boolean)[]): (op: Op) => number {
  return (op) => {
    for (let i = 0; i < tests.length; i++) if (tests[i]!(op)) return i;
    return Infinity;
  };
}

const any = (globs: string[], sep: '/' | '.' | ''): ((s: string) => boolean) => {
  const ms = globs.map((g) => compileGlobAny(g, sep));
  return (s) => ms.some((m) => m(s));
};

export function compileUnixSocketRules(rules: readonly UnixSocketRule[]): (op: UnixSocketOperation) => number {
  return firstIndex(rules.map((r) => {
    const m = any(r.paths, '/');
    const ops = r.operations;
    return (op: UnixSocketOperation) => (!ops || ops.includes(op.op)) && m(op.path.startsWith('@') ? op.path : canonicalPath(op.path) ?? op.path);
  }));
}

export function compileMcpRules(rules: readonly McpRule[]): (op: McpOperation) => number {
  return firstIndex(rules.map((r) => {
    const server = r.server === undefined ? () => true : compileGlobAny(r.server, '');
    const tool = any(r.tools, '');
    return (op: McpOperation) => server(op.server) && tool(op.tool);
  }));
}

export function compileToolRules(rules: readonly ToolRule[]): (op: ToolOperation) => number {
  return firstIndex(rules.map((r) => {
    const tool = any(r.tools, '');
    return (op: ToolOperation) => tool(op.tool);
  }));
}

export function compileHttpRules(rules: readonly HttpRule[]): (op: HttpOperation) => number {
  return firstIndex(rules.map((r) => {
    const host = any(r.hosts.map((h) => normalizeHost(h)), '.');
    const methods = r.methods?.map((m) => m.toUpperCase());
    const path = r.paths ? any(r.paths, '/') : undefined;
    return (op: HttpOperation) => {
      if (!host(normalizeHost(op.host))) return false;
      if (methods && !methods.includes(op.method.toUpperCase())) return false;
      if (!path) return true;
      const q = op.path.indexOf('?');
      const p = canonicalPath(q >= 0 ? op.path.slice(0, q) : op.path);
      return p !== undefined && path(p);
    };
  }));
}
