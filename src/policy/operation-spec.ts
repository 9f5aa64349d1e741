// Builds an Operation from a textual spec (`file:read` + path, `net:connect` + host/port, ...):
// shared by the policy's own `tests:` and by `cordon policy test`, so both mean the same thing.
import { parseIp } from './ip.js';
import { resolveSignalSpec } from './signals.js';
import { FILE_OPS, SIGNAL_TARGETS, UNIX_SOCKET_OPS, type Operation, type SignalTargetClass } from './types.js';

export interface OperationSpec {
  op: string;
  path?: string | undefined;
  host?: string | undefined;
  ip?: string | undefined;
  port?: number | undefined;
  protocol?: 'tcp' | 'udp' | undefined;
  argv?: string[] | undefined;
  depth?: number | undefined;
  signal?: string | number | undefined;
  target?: string | undefined;
  server?: string | undefined;
  tool?: string | undefined;
  method?: string | undefined;
}

export const OPERATION_KINDS_HELP = 'file:<operation> (read, write, create, delete, ... or exec), net:connect, exec, unix:<connect|bind|listen|sendto>, signal, mcp:call, tool:call, http:request';

export class OperationSpecError extends Error {}

const need = <T>(v: T | undefined, what: string, op: string): T => {
  if (v === undefined || v === '') throw new OperationSpecError(`${op} needs ${what}`);
  return v;
};

export function operationFromSpec(s: OperationSpec): Operation {
  const [kind, sub] = s.op.split(':', 2) as [string, string | undefined];
  switch (kind) {
    case 'file': {
      if (!sub || !(FILE_OPS as readonly string[]).includes(sub)) throw new OperationSpecError(`unknown file operation "${sub ?? ''}" (one of ${FILE_OPS.join(', ')})`);
      return { kind: 'file', op: sub as (typeof FILE_OPS)[number], path: need(s.path, 'a path', s.op) };
    }
    case 'net': {
      if (sub !== 'connect') throw new OperationSpecError(`unknown network operation "${sub ?? ''}" (use net:connect)`);
      const host = s.host;
      let ip = s.ip;
      if (host !== undefined && ip === undefined && parseIp(host)) ip = host;
      if (host === undefined && ip === undefined) throw new OperationSpecError('net:connect needs a host or an ip');
      const op: Operation = { kind: 'net', port: need(s.port, 'a port', s.op), protocol: s.protocol ?? 'tcp' };
      if (host !== undefined && !parseIp(host)) op.host = host;
      if (ip !== undefined) op.ip = ip;
      return op;
    }
    case 'exec': {
      const argv = need(s.argv, 'argv (the command and its arguments)', s.op);
      const path = s.path ?? argv[0]!;
      if (!path.startsWith('/')) throw new OperationSpecError(`exec needs an absolute path for "${path}" (give path:, or an absolute argv[0])`);
      return { kind: 'exec', path, argv, depth: s.depth ?? 0 };
    }
    case 'unix': {
      if (!sub || !(UNIX_SOCKET_OPS as readonly string[]).includes(sub)) throw new OperationSpecError(`unknown unix socket operation "${sub ?? ''}" (one of ${UNIX_SOCKET_OPS.join(', ')})`);
      return { kind: 'unix_socket', op: sub as (typeof UNIX_SOCKET_OPS)[number], path: need(s.path, 'a path', s.op) };
    }
    case 'signal': {
      const nums = resolveSignalSpec(need(s.signal, 'a signal', s.op));
      if (!nums || nums.length !== 1) throw new OperationSpecError(`"${s.signal}" does not name one signal`);
      const targets = (s.target ?? 'external').split(',').map((t) => t.trim());
      for (const t of targets) if (!(SIGNAL_TARGETS as readonly string[]).includes(t)) throw new OperationSpecError(`unknown signal target "${t}" (one of ${SIGNAL_TARGETS.join(', ')})`);
      return { kind: 'signal', signal: nums[0]!, targets: targets as SignalTargetClass[] };
    }
    case 'mcp':
      return { kind: 'mcp', server: need(s.server, 'a server', s.op), tool: need(s.tool, 'a tool', s.op) };
    case 'tool':
      return { kind: 'tool', tool: need(s.tool, 'a tool', s.op) };
    case 'http':
      return { kind: 'http', method: (s.method ?? 'GET').toUpperCase(), host: need(s.host, 'a host', s.op), path: s.path ?? '/' };
    default:
      throw new OperationSpecError(`unknown operation "${s.op}" (one of ${OPERATION_KINDS_HELP})`);
  }
}

/** A short human description of an operation, for explanations and approval prompts. */
export function describeOperation(op: Operation): string {
  switch (op.kind) {
    case 'file': return `file ${op.op} ${op.path}`;
    case 'net': return `connect ${op.host ?? op.ip}${op.host && op.ip ? ` (${op.ip})` : ''} port ${op.port}/${op.protocol ?? 'tcp'}`;
    case 'exec': return `exec ${op.path}${op.argv.length > 1 ? ` ${op.argv.slice(1).join(' ')}` : ''} (depth ${op.depth})`;
    case 'unix_socket': return `unix socket ${op.op} ${op.path}`;
    case 'signal': return `signal ${op.signal} to ${op.targets.join('/')}`;
    case 'mcp': return `MCP tool ${op.server}/${op.tool}`;
    case 'tool': return `tool ${op.tool}`;
    case 'http': return `HTTP ${op.method} ${op.host}${op.path}`;
  }
}
