// The one question every enforcement point asks: an Operation in, a Decision out.
// Kernel, MCP, proxy and SDK paths differ only in how they observe the operation and how
// they carry out the decision; they all build one of these and call `evaluate`.

/** Decisions, ordered from least to most severe (see `severity`). */
export const DECISIONS = ['allow', 'audit', 'redirect', 'soft_delete', 'approve', 'deny'] as const;
export type DecisionKind = (typeof DECISIONS)[number];

/** Higher is more severe; used where several decisions must be combined (most severe wins). */
export function severity(d: DecisionKind): number {
  return DECISIONS.indexOf(d);
}

export const FILE_OPS = [
  'read', 'open', 'stat', 'list', 'readlink', 'access', 'write', 'create', 'mkdir', 'chmod',
  'chown', 'rename', 'delete', 'rmdir', 'link', 'symlink', 'mknod', 'exec',
] as const;
export type FileOp = (typeof FILE_OPS)[number];

export const UNIX_SOCKET_OPS = ['connect', 'bind', 'listen', 'sendto'] as const;
export type UnixSocketOp = (typeof UNIX_SOCKET_OPS)[number];

/** Who receives a signal, as the sandbox sees it. */
export const SIGNAL_TARGETS = [
  'self', 'children', 'descendants', 'siblings', 'session', 'parent', 'external', 'system', 'user',
] as const;
export type SignalTargetClass = (typeof SIGNAL_TARGETS)[number];

export interface FileOperation {
  kind: 'file';
  op: FileOp;
  /** Absolute path of the object the kernel will act on (the caller resolves symlinks). */
  path: string;
}

export interface NetOperation {
  kind: 'net';
  /** Host name as asked for (lower-case, no trailing dot), when known. */
  host?: string;
  /** Canonical IP address (IPv4 dotted quad or compressed IPv6), when known. */
  ip?: string;
  port: number;
  protocol?: 'tcp' | 'udp';
}

export interface ExecOperation {
  kind: 'exec';
  /** Absolute, canonical path of the image to execute. */
  path: string;
  /** argv as the process passed it; argv[0] is the name it was called by. */
  argv: string[];
  /** 0 for the command Cordon started, 1 for its children, and so on. */
  depth: number;
}

export interface UnixSocketOperation {
  kind: 'unix_socket';
  op: UnixSocketOp;
  /** Filesystem path, or `@name` for the abstract namespace. */
  path: string;
}

export interface SignalOperation {
  kind: 'signal';
  /** Signal number (1..64). */
  signal: number;
  /** Every class the target belongs to (a child is also a descendant and in the session). */
  targets: SignalTargetClass[];
  /** Target process name (comm), when known, for `target.type: process` rules. */
  targetName?: string;
  targetPid?: number;
}

export interface McpOperation {
  kind: 'mcp';
  server: string;
  tool: string;
  args?: unknown;
}

export interface ToolOperation {
  kind: 'tool';
  tool: string;
  args?: unknown;
}

export interface HttpOperation {
  kind: 'http';
  method: string;
  host: string;
  path: string;
  port?: number;
}

export type Operation =
  | FileOperation
  | NetOperation
  | ExecOperation
  | UnixSocketOperation
  | SignalOperation
  | McpOperation
  | ToolOperation
  | HttpOperation;

export type OperationKind = Operation['kind'];

/** The rule list each operation kind is decided by. */
export const RULE_LIST_OF: Record<OperationKind, string> = {
  file: 'file_rules',
  net: 'network_rules',
  exec: 'command_rules',
  unix_socket: 'unix_socket_rules',
  signal: 'signal_rules',
  mcp: 'mcp_rules',
  tool: 'tool_rules',
  http: 'http_rules',
};

/** What a redirect decision redirects to, by operation kind. */
export type Redirect =
  | { kind: 'file'; path: string }
  | { kind: 'exec'; command: string; args: string[]; argsAppend: string[]; env: Record<string, string> }
  | { kind: 'signal'; signal: number }
  | { kind: 'net'; host: string; port: number };

export interface Decision {
  decision: DecisionKind;
  /** Name of the matching rule, or `defaults.<kind>` when no rule matched. */
  rule: string;
  /** Index of the rule within its list (file order), or -1 for the default. */
  ruleIndex: number;
  /** The rule list consulted (`file_rules`, ...). */
  list: string;
  /** The author's message for the agent, if any. */
  message?: string;
  /** A one-sentence human explanation of why this decision was reached. */
  reason: string;
  redirect?: Redirect;
  /** For approve: how long to wait for a human before denying, in milliseconds. */
  timeoutMs?: number;
  /** For deny of a syscall: the errno to return; 0 means report success without acting (absorb). */
  errno?: number;
}
