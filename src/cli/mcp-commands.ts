// `cordon mcp ...`: the MCP gateway's commands. wrap (stdio) and serve (Streamable HTTP) run the
// gateway; install/uninstall rewrite an agent's MCP config; pins list/diff/trust manage pinned
// tool definitions. The mcp part and the SDK are imported inside the handlers so other commands
// do not pay for them.
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { EXIT } from './exit-codes.js';
import type { PolicyVarOptions } from './policy-load.js';

const collect = (v: string, prev: string[]) => [...prev, v];

function usage(message: string): Error {
  return Object.assign(new Error(message), { exitCode: EXIT.USAGE });
}

function positiveInt(flag: string) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) throw usage(`${flag} must be a positive whole number (got "${v}")`);
    return n;
  };
}

interface RunFlags extends PolicyVarOptions {
  name?: string;
  policy?: string;
  audit?: string;
  state?: string;
  maxMessageBytes?: number;
  maxInFlight?: number;
  requestTimeout?: number;
  maxServerMessageBytes?: number;
  pins?: string;
  frozenPins?: boolean;
}

function withRunOptions(c: Command): Command {
  return c
    .requiredOption('--name <NAME>', 'the server\'s name in mcp_rules (`server:` globs), pins and audit records')
    .requiredOption('--policy <FILE>', 'policy file (or built-in name) whose mcp_rules decide every call')
    .option('--audit <FILE>', 'append every call and detection to this audit chain; a call that cannot be recorded is denied')
    .option('--state <DIR>', 'directory for pins and flow fingerprints (default $CORDON_MCP_STATE or ~/.local/state/cordon/mcp)')
    .option('--pins <FILE>', 'this server\'s pin file (default <state>/pins/<name>.json), e.g. one reviewed in your repository')
    .option('--frozen-pins', 'no trust on first use: tools missing from the pin file are withheld until `cordon mcp pins trust`')
    .option('--max-message-bytes <N>', 'largest message accepted from the agent (default 4194304)', positiveInt('--max-message-bytes'))
    .option('--max-in-flight <N>', 'requests in flight per agent before new ones are refused (default 128)', positiveInt('--max-in-flight'))
    .option('--max-server-message-bytes <N>', 'largest message accepted from the server; a server sending more is stopped (default 67108864)', positiveInt('--max-server-message-bytes'))
    .option('--request-timeout <MS>', 'answer requests the server has not answered within MS milliseconds with an error, and cancel them upstream (default: no timeout)', positiveInt('--request-timeout'))
    .option('--var <NAME=VALUE>', 'define a policy variable (repeatable)', collect, [])
    .option('--project-root <DIR>', 'value of ${PROJECT_ROOT} (default: detected from the current directory)');
}

async function prepare(flags: RunFlags) {
  const { compilePolicy } = await import('../policy/index.js');
  const { loadCliPolicy } = await import('./policy-load.js');
  const mcp = await import('../mcp/index.js');
  try {
    mcp.checkServerName(flags.name!);
  } catch (e) {
    throw usage(`--name: ${(e as Error).message}`);
  }
  const compiled = compilePolicy(loadCliPolicy(flags.policy!, flags));
  const stateDir = flags.state ? resolve(flags.state) : mcp.defaultStateDir();
  let audit: (import('../audit/index.js').AuditSink) | undefined;
  if (flags.audit) {
    const { openAuditLog } = await import('../audit/index.js');
    try {
      audit = await openAuditLog({ file: resolve(flags.audit) });
    } catch (e) {
      throw Object.assign(new Error(`cannot open the audit trail ${flags.audit}: ${(e as Error).message}; without it no call can be recorded, so the gateway does not start`), { exitCode: EXIT.CANNOT_RUN });
    }
  }
  return { mcp, compiled, stateDir, audit };
}

const log = (line: string) => process.stderr.write(`${line}\n`);

export function registerMcpCommands(program: Command): Command {
  const mcp = program.command('mcp').description('MCP gateway: policy on every tool call an agent makes through MCP');

  withRunOptions(
    mcp.command('wrap')
      .description('run a stdio MCP server behind the gateway (use in place of the server command in an MCP config)')
      .argument('<command...>', 'the server command and its arguments, after --')
      .usage('--name NAME --policy FILE [options] -- COMMAND [ARGS...]'),
  ).action(async (command: string[], flags: RunFlags) => {
    const { mcp: m, compiled, stateDir, audit } = await prepare(flags);
    const stop = () => { process.stdin.destroy(); };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    try {
      process.exitCode = await m.runWrap({
        server: flags.name!, command: command[0]!, args: command.slice(1), policy: compiled, stateDir, audit, log,
        pinFile: flags.pins ? resolve(flags.pins) : undefined, frozenPins: flags.frozenPins,
        ...(flags.maxMessageBytes !== undefined ? { maxMessageBytes: flags.maxMessageBytes } : {}),
        ...(flags.maxInFlight !== undefined ? { maxInFlight: flags.maxInFlight } : {}),
        ...(flags.requestTimeout !== undefined ? { requestTimeoutMs: flags.requestTimeout } : {}),
        ...(flags.maxServerMessageBytes !== undefined ? { maxServerMessageBytes: flags.maxServerMessageBytes } : {}),
      });
    } finally {
      await audit?.close().catch((e: Error) => log(`cordon: closing the audit trail failed: ${e.message}`));
    }
  });

  withRunOptions(
    mcp.command('serve')
      .description('serve a Streamable HTTP MCP endpoint that forwards to an upstream MCP server through the gateway')
      .requiredOption('--upstream <URL>', 'the real server\'s Streamable HTTP endpoint, e.g. http://127.0.0.1:3001/mcp')
      .option('--host <HOST>', 'address to listen on (default 127.0.0.1)', '127.0.0.1')
      .option('--port <N>', 'port to listen on (default 0: any free port; the URL is printed)', (v) => {
        const n = Number(v);
        if (!Number.isInteger(n) || n < 0 || n > 65535) throw usage(`--port must be a whole number from 0 to 65535 (got "${v}")`);
        return n;
      }, 0)
      .option('--path <PATH>', 'URL path of the endpoint', '/mcp')
      .option('--max-sessions <N>', 'agent sessions kept open; beyond it the least recently used idle one is closed (default 64)', positiveInt('--max-sessions'))
      .option('--json', 'print the listening URL as JSON'),
  ).action(async (flags: RunFlags & { upstream: string; host: string; port: number; path: string; json?: boolean; maxSessions?: number }) => {
    let upstream: URL;
    try {
      upstream = new URL(flags.upstream);
      if (upstream.protocol !== 'http:' && upstream.protocol !== 'https:') throw new Error('not http(s)');
    } catch {
      throw usage(`--upstream must be an http:// or https:// URL (got "${flags.upstream}")`);
    }
    const { mcp: m, compiled, stateDir, audit } = await prepare(flags);
    let running;
    try {
      running = await m.startServe({
        server: flags.name!, upstream, policy: compiled, stateDir, audit, host: flags.host, port: flags.port, path: flags.path, log,
        pinFile: flags.pins ? resolve(flags.pins) : undefined, frozenPins: flags.frozenPins,
        ...(flags.maxMessageBytes !== undefined ? { maxMessageBytes: flags.maxMessageBytes } : {}),
        ...(flags.maxInFlight !== undefined ? { maxInFlight: flags.maxInFlight } : {}),
        ...(flags.requestTimeout !== undefined ? { requestTimeoutMs: flags.requestTimeout } : {}),
        ...(flags.maxServerMessageBytes !== undefined ? { maxServerMessageBytes: flags.maxServerMessageBytes } : {}),
        ...(flags.maxSessions !== undefined ? { maxSessions: flags.maxSessions } : {}),
      });
    } catch (e) {
      throw Object.assign(new Error(`cannot listen on ${flags.host}:${flags.port}: ${(e as Error).message}`), { exitCode: EXIT.CANNOT_RUN });
    }
    process.stdout.write(flags.json ? `${JSON.stringify({ url: running.url.href, upstream: upstream.href, server: flags.name })}\n` : `cordon mcp serve: ${running.url.href} -> ${upstream.href}\n`);
    await new Promise<void>((r) => {
      process.once('SIGTERM', () => r());
      process.once('SIGINT', () => r());
    });
    await running.close();
    await audit?.close().catch((e: Error) => log(`cordon: closing the audit trail failed: ${e.message}`));
  });

  mcp.command('install')
    .description('wrap every stdio server of an MCP client config (Claude, Cursor, VS Code mcp.json) with `cordon mcp wrap`')
    .argument('<config>', 'the MCP config file to rewrite in place')
    .requiredOption('--policy <FILE>', 'policy file the wrapped servers use (stored as an absolute path)')
    .option('--audit <FILE>', 'audit chain for every wrapped server')
    .option('--state <DIR>', 'state directory for pins')
    .option('--dry-run', 'show what would change without writing')
    .option('--json', 'machine-readable output')
    .action(async (config: string, flags: { policy: string; audit?: string; state?: string; dryRun?: boolean; json?: boolean }) => {
      const { installConfig } = await import('../mcp/index.js');
      const { existsSync } = await import('node:fs');
      const policy = existsSync(flags.policy) ? resolve(flags.policy) : flags.policy;
      const changes = installConfig(resolve(config), { policy, audit: flags.audit ? resolve(flags.audit) : undefined, stateDir: flags.state ? resolve(flags.state) : undefined }, flags.dryRun);
      printChanges(changes, flags.json, flags.dryRun);
    });

  mcp.command('uninstall')
    .description('undo `cordon mcp install`: restore the original server commands')
    .argument('<config>', 'the MCP config file')
    .option('--dry-run', 'show what would change without writing')
    .option('--json', 'machine-readable output')
    .action(async (config: string, flags: { dryRun?: boolean; json?: boolean }) => {
      const { uninstallConfig } = await import('../mcp/index.js');
      printChanges(uninstallConfig(resolve(config), flags.dryRun), flags.json, flags.dryRun);
    });

  const pins = mcp.command('pins').description('pinned tool definitions (rug-pull protection)');
  const stateOpt = (c: Command) => c
    .option('--state <DIR>', 'state directory (default $CORDON_MCP_STATE or ~/.local/state/cordon/mcp)')
    .option('--pins <FILE>', 'the server\'s pin file when it is not in the state directory (needs the server argument)')
    .option('--json', 'machine-readable output');
  type PinFlags = { state?: string; pins?: string; json?: boolean };
  const storeFor = async (flags: PinFlags, server: string | undefined) => {
    const m = await import('../mcp/index.js');
    if (flags.pins && !server) throw usage('--pins needs the server name argument');
    const files = flags.pins && server ? { [server]: resolve(flags.pins) } : undefined;
    return { m, store: new m.PinStore(flags.state ? resolve(flags.state) : m.defaultStateDir(), files ? { files } : {}) };
  };

  stateOpt(pins.command('list').description('list pinned tools and definitions waiting for review').argument('[server]', 'only this server'))
    .action(async (server: string | undefined, flags: PinFlags) => {
      const { store } = await storeFor(flags, server);
      const names = server ? [server] : store.servers();
      const out = names.map((s) => {
        const p = store.load(s);
        return { server: s, tools: Object.entries(p.tools).map(([name, t]) => ({ name, sha256: t.sha256, pinnedAt: t.pinnedAt, pending: p.pending[name]?.sha256 })) };
      });
      if (flags.json) { process.stdout.write(`${JSON.stringify(out, null, 2)}\n`); return; }
      if (out.length === 0) process.stdout.write('no pinned servers\n');
      for (const s of out) {
        process.stdout.write(`${s.server}\n`);
        for (const t of s.tools) process.stdout.write(`  ${t.pending ? 'CHANGED' : 'pinned '} ${t.name}  ${t.sha256.slice(0, 16)}${t.pending ? ` -> ${t.pending.slice(0, 16)} (run: cordon mcp pins diff ${s.server} ${t.name})` : ''}\n`);
      }
    });

  stateOpt(pins.command('diff').description('show how changed tool definitions differ from their pins').argument('<server>').argument('[tool]'))
    .action(async (server: string, tool: string | undefined, flags: PinFlags) => {
      const { m, store } = await storeFor(flags, server);
      const p = store.load(server);
      const names = (tool ? [tool] : Object.keys(p.pending)).filter((n) => p.pending[n]);
      if (tool && names.length === 0) throw Object.assign(new Error(`no changed definition is waiting for tool "${tool}" of server "${server}"`), { exitCode: EXIT.CHECK_FAILED });
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(names.map((n) => ({ tool: n, pinned: p.tools[n], pending: p.pending[n] })), null, 2)}\n`);
      } else {
        if (names.length === 0) process.stdout.write(`no changed definitions for server "${server}"\n`);
        for (const n of names) {
          const pinned = p.tools[n];
          process.stdout.write(`--- ${server}/${n} ${pinned ? `pinned ${pinned.sha256.slice(0, 16)}` : '(not pinned)'}\n+++ ${server}/${n} seen   ${p.pending[n]!.sha256.slice(0, 16)}\n${m.diffDefinitions(pinned?.definition ?? {}, p.pending[n]!.definition)}\n`);
        }
      }
      process.exitCode = names.length > 0 ? EXIT.CHECK_FAILED : EXIT.OK;
    });

  stateOpt(pins.command('trust').description('accept changed tool definitions (all of a server\'s, or the named tools)').argument('<server>').argument('[tools...]'))
    .action(async (server: string, tools: string[], flags: PinFlags) => {
      const { store } = await storeFor(flags, server);
      const done = store.trust(server, tools);
      const missing = tools.filter((t) => !done.includes(t));
      if (flags.json) process.stdout.write(`${JSON.stringify({ server, trusted: done, notPending: missing })}\n`);
      else {
        for (const t of done) process.stdout.write(`trusted ${server}/${t}\n`);
        if (done.length === 0) process.stdout.write(`nothing to trust for server "${server}"\n`);
      }
      if (missing.length > 0) {
        process.stderr.write(`cordon: no changed definition was waiting for: ${missing.join(', ')}\n`);
        process.exitCode = EXIT.CHECK_FAILED;
      }
    });

  return mcp;
}

function printChanges(changes: Array<{ server: string; action: string; detail?: string }>, json?: boolean, dryRun?: boolean): void {
  if (json) { process.stdout.write(`${JSON.stringify({ dryRun: !!dryRun, changes }, null, 2)}\n`); return; }
  for (const c of changes) process.stdout.write(`${c.action.padEnd(16)} ${c.server}${c.detail ? `  (${c.detail})` : ''}\n`);
  if (dryRun) process.stdout.write('(dry run: nothing written)\n');
}
