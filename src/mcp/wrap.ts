// `cordon mcp wrap -- CMD ARGS...`: the stdio transport. Spawns the real server with the SDK's
// StdioClientTransport, speaks to the agent on our own stdin/stdout, and puts the gateway in
// between. A drop-in replacement for the server command in an agent's MCP config: the server
// gets our environment and working directory, its stderr goes to ours.

import type { ChildProcess } from 'node:child_process';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CompiledPolicy } from '../policy/index.js';
import type { McpAuditSink } from './audit.js';
import { Gateway } from './gateway.js';
import { StdioAgentTransport } from './stdio-agent.js';
import { WrapError } from './errors.js';

export interface WrapOptions {
  server: string;
  command: string;
  args: string[];
  policy: CompiledPolicy;
  stateDir: string;
  pinFile?: string | undefined;
  frozenPins?: boolean | undefined;
  audit?: McpAuditSink | undefined;
  maxMessageBytes?: number;
  maxInFlight?: number;
  requestTimeoutMs?: number;
  /** When closing: how long the server may take to exit after its input ends before SIGTERM (default 300 ms). */
  shutdownGraceMs?: number;
  /** Largest message accepted from the server (default 64 MiB); a server sending more is stopped. */
  maxServerMessageBytes?: number;
  log?: (line: string) => void;
}

/**
 * The SDK's stdio client transport with a shorter shutdown: many servers ignore the end of
 * their input, and the SDK then waits 2 s before SIGTERM. Once the agent is gone there is nothing
 * left for the server to do, so it gets `graceMs`. Also exposes the child for its exit status
 * (the SDK keeps it private; if that ever changes this degrades to a less specific message).
 */
class ServerProcessTransport extends StdioClientTransport {
  constructor(private readonly graceMs: number, params: ConstructorParameters<typeof StdioClientTransport>[0]) {
    super(params);
  }

  child(): ChildProcess | undefined {
    return (this as unknown as { _process?: ChildProcess })._process;
  }

  // Requests sent in the same tick go to the server in one writev instead of one write each.
  private corked = false;
  override send(message: Parameters<StdioClientTransport['send']>[0]): Promise<void> {
    const stdin = this.child()?.stdin;
    if (stdin && !this.corked) {
      this.corked = true;
      stdin.cork();
      process.nextTick(() => { this.corked = false; stdin.uncork(); });
    }
    return super.send(message);
  }

  override async close(): Promise<void> {
    const c = this.child();
    const t = c ? setTimeout(() => { if (c.exitCode === null) c.kill('SIGTERM'); }, this.graceMs) : undefined;
    try {
      await super.close();
    } finally {
      if (t) clearTimeout(t);
    }
  }
}

/** Runs until the agent or the server goes away. Resolves to the process exit status. */
export async function runWrap(opts: WrapOptions): Promise<number> {
  const upstream = new ServerProcessTransport(opts.shutdownGraceMs ?? 300, {
    command: opts.command,
    args: opts.args,
    env: process.env as Record<string, string>,
    cwd: process.cwd(),
    stderr: 'inherit',
  });
  let gateway: Gateway | undefined;
  const agent = new StdioAgentTransport({
    ...(opts.maxMessageBytes !== undefined ? { maxMessageBytes: opts.maxMessageBytes } : {}),
    onMalformed: (code, message) => gateway?.noteMalformed(code, message),
  });
  gateway = new Gateway(agent, upstream, {
    server: opts.server,
    policy: opts.policy,
    stateDir: opts.stateDir,
    pinFile: opts.pinFile,
    frozenPins: opts.frozenPins,
    cwd: process.cwd(),
    audit: opts.audit,
    ...(opts.maxInFlight !== undefined ? { maxInFlight: opts.maxInFlight } : {}),
    ...(opts.requestTimeoutMs !== undefined ? { requestTimeoutMs: opts.requestTimeoutMs } : {}),
    ...(opts.log ? { log: opts.log } : {}),
  });
  let serverFailed = false;
  gateway.onUpstreamClosed = () => {
    serverFailed = true;
    void gateway!.close();
  };
  try {
    await gateway.start();
  } catch (e) {
    throw new WrapError(`cannot start MCP server ${JSON.stringify([opts.command, ...opts.args].join(' '))}: ${(e as Error).message}; check the command after "--"`);
  }
  // Best effort: the exit status makes the "server exited" error the agent reads specific.
  // StdioClientTransport does not expose it, so peek at its child process if it is there.
  const child = upstream.child();
  let killedFor = '';
  child?.once('exit', (code, signal) => {
    gateway!.setUpstreamExit(killedFor || (signal ? `killed by ${signal}` : `exit status ${code}`));
  });
  // The SDK buffers the server's output until a newline, without bound. Count bytes since the
  // last newline as they arrive and stop a server that exceeds the limit, before memory does.
  const maxFromServer = opts.maxServerMessageBytes ?? 64 * 1024 * 1024;
  let sinceNewline = 0;
  child?.stdout?.on('data', (chunk: Buffer) => {
    const nl = chunk.lastIndexOf(0x0a);
    sinceNewline = nl < 0 ? sinceNewline + chunk.length : chunk.length - nl - 1;
    if (nl < 0 && sinceNewline > maxFromServer && !killedFor) {
      killedFor = `stopped by cordon: it sent a message larger than ${maxFromServer} bytes`;
      opts.log?.(`cordon mcp [${opts.server}]: server ${killedFor}`);
      child.kill('SIGKILL');
    }
  });
  await gateway.closed;
  return serverFailed ? 1 : 0;
}
