// `cordon mcp serve --upstream URL`: the Streamable HTTP transport. An HTTP endpoint (the SDK's
// StreamableHTTPServerTransport, one per agent session) in front of an upstream Streamable HTTP
// server (the SDK's StreamableHTTPClientTransport, one upstream session per agent session), with
// a gateway per session.
//
// Before the SDK sees a POST body, it is read here with a size cap (413 + JSON-RPC TOO_LARGE
// beyond it) and parsed (400 + PARSE_ERROR / INVALID_REQUEST), so malformed input gets a clear
// JSON-RPC error. Listening on loopback turns on the SDK's DNS-rebinding protection (Host header
// must name this listener). NOT covered: TLS and client authentication (bind to loopback, or put
// an authenticating proxy in front).

import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { CompiledPolicy } from '../policy/index.js';
import type { McpAuditSink } from './audit.js';
import { Gateway } from './gateway.js';
import { classify, errorMessage, RPC } from './jsonrpc.js';

export interface ServeOptions {
  server: string;
  upstream: URL;
  policy: CompiledPolicy;
  stateDir: string;
  pinFile?: string | undefined;
  frozenPins?: boolean | undefined;
  host?: string;
  port?: number;
  /** URL path of the MCP endpoint (default /mcp). */
  path?: string;
  audit?: McpAuditSink | undefined;
  maxMessageBytes?: number;
  maxInFlight?: number;
  requestTimeoutMs?: number;
  /** Largest message accepted from the upstream (default 64 MiB); beyond it the session ends. */
  maxServerMessageBytes?: number;
  /** Concurrent agent sessions before new ones are refused (default 64). */
  maxSessions?: number;
  log?: (line: string) => void;
}

export interface RunningServe {
  url: URL;
  server: Server;
  close(): Promise<void>;
}

interface Session { transport: StreamableHTTPServerTransport; gateway: Gateway; lastSeen: number }

/**
 * fetch for the upstream client transport with a cap on what the server may send: the whole
 * body for JSON answers, each event for SSE streams (bytes since the last blank line). Beyond
 * it the body errors and `onOversize` is told, so the gateway can fail the session's requests
 * instead of leaving them waiting on a stream the SDK may try to resume.
 */
export function limitedFetch(max: number, onOversize: (reason: string) => void): typeof fetch {
  return async (input, init) => {
    const res = await fetch(input, init);
    if (!res.body) return res;
    const sse = (res.headers.get('content-type') ?? '').includes('text/event-stream');
    let run = 0;
    let last = 0; // last byte seen, to find "\n\n" split across chunks
    const counter = new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        if (sse) {
          for (let i = 0; i < chunk.length; i++) {
            const b = chunk[i]!;
            if (b === 0x0a && last === 0x0a) run = 0;
            else if (b !== 0x0d) run++;
            if (b !== 0x0d) last = b;
          }
        } else {
          run += chunk.length;
        }
        if (run > max) {
          const reason = `stopped by cordon: the server sent a message larger than ${max} bytes`;
          onOversize(reason);
          controller.error(new Error(reason));
          return;
        }
        controller.enqueue(chunk);
      },
    });
    return new Response(res.body.pipeThrough(counter), { status: res.status, statusText: res.statusText, headers: res.headers });
  };
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

/** Reads a body up to `max` bytes; undefined when larger (the rest is drained, not kept). */
function readBody(req: IncomingMessage, max: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      if (over) return;
      size += c.length;
      if (size > max) { over = true; chunks.length = 0; return; }
      chunks.push(c);
    });
    req.on('end', () => resolve(over ? undefined : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export async function startServe(opts: ServeOptions): Promise<RunningServe> {
  const host = opts.host ?? '127.0.0.1';
  const path = opts.path ?? '/mcp';
  const max = opts.maxMessageBytes ?? 4 * 1024 * 1024;
  const maxSessions = opts.maxSessions ?? 64;
  const sessions = new Map<string, Session>();
  const log = opts.log ?? (() => {});
  let allowedHosts: string[] | undefined;
  const loopback = host === '127.0.0.1' || host === 'localhost' || host === '::1';

  async function newSession(req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> {
    if (sessions.size >= maxSessions) {
      // Most clients never DELETE their session; make room by closing the least recently used
      // session with nothing in flight. Only if every session is busy is the newcomer refused.
      let idle: [string, Session] | undefined;
      for (const e of sessions) if (e[1].gateway.inFlight === 0 && (!idle || e[1].lastSeen < idle[1].lastSeen)) idle = e;
      if (!idle) {
        sendJson(res, 503, errorMessage(null, RPC.OVERLOADED, `too many MCP sessions busy (limit ${maxSessions}); retry when one finishes`));
        return;
      }
      sessions.delete(idle[0]);
      log(`cordon mcp [${opts.server}]: closing idle session ${idle[0]} to make room (limit ${maxSessions})`);
      void idle[1].gateway.close();
    }
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => { sessions.set(id, { transport, gateway, lastSeen: Date.now() }); },
      ...(loopback && allowedHosts ? { enableDnsRebindingProtection: true, allowedHosts } : {}),
    });
    let failed: ((reason: string) => void) | undefined;
    const upstream = new StreamableHTTPClientTransport(opts.upstream, {
      fetch: limitedFetch(opts.maxServerMessageBytes ?? 64 * 1024 * 1024, (reason) => failed?.(reason)),
    });
    const gateway = new Gateway(transport, upstream, {
      server: opts.server,
      policy: opts.policy,
      stateDir: opts.stateDir,
      pinFile: opts.pinFile,
      frozenPins: opts.frozenPins,
      audit: opts.audit,
      ...(opts.maxInFlight !== undefined ? { maxInFlight: opts.maxInFlight } : {}),
      ...(opts.requestTimeoutMs !== undefined ? { requestTimeoutMs: opts.requestTimeoutMs } : {}),
      log,
    });
    gateway.onUpstreamClosed = () => { void gateway.close(); };
    failed = (reason) => { log(`cordon mcp [${opts.server}]: upstream ${reason}`); gateway.upstreamFailed(reason); };
    void gateway.closed.then(() => {
      if (transport.sessionId) sessions.delete(transport.sessionId);
      upstream.terminateSession().catch(() => {});
    });
    await gateway.start();
    await transport.handleRequest(req, res, body);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname !== path) {
      sendJson(res, 404, errorMessage(null, RPC.METHOD_NOT_FOUND, `no MCP endpoint at ${url.pathname}; use ${path}`));
      return;
    }
    const sid = req.headers['mcp-session-id'];
    const session = typeof sid === 'string' ? sessions.get(sid) : undefined;
    if (session) session.lastSeen = Date.now();
    if (req.method === 'POST') {
      const raw = await readBody(req, max);
      if (raw === undefined) {
        sendJson(res, 413, errorMessage(null, RPC.TOO_LARGE, `message larger than the gateway limit of ${max} bytes; it was discarded`));
        return;
      }
      let body: unknown;
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch (e) {
        sendJson(res, 400, errorMessage(null, RPC.PARSE_ERROR, `parse error: ${(e as Error).message}`));
        return;
      }
      const c = classify(body);
      if (c.type === 'invalid') {
        sendJson(res, 400, errorMessage(c.id, c.code, `invalid request: ${c.message}`));
        return;
      }
      if (session) { await session.transport.handleRequest(req, res, body); return; }
      if (typeof sid === 'string') {
        sendJson(res, 404, errorMessage(c.type === 'request' ? c.id : null, RPC.INVALID_REQUEST, 'unknown or expired MCP session; start a new one with initialize'));
        return;
      }
      if (c.type !== 'request' || c.method !== 'initialize') {
        sendJson(res, 400, errorMessage(c.type === 'request' ? c.id : null, RPC.INVALID_REQUEST, 'no MCP session: the first request must be initialize'));
        return;
      }
      await newSession(req, res, body);
      return;
    }
    if (req.method === 'GET' || req.method === 'DELETE') {
      if (!session) {
        sendJson(res, typeof sid === 'string' ? 404 : 400, errorMessage(null, RPC.INVALID_REQUEST, typeof sid === 'string' ? 'unknown or expired MCP session' : 'missing mcp-session-id header'));
        return;
      }
      await session.transport.handleRequest(req, res);
      return;
    }
    res.writeHead(405, { allow: 'GET, POST, DELETE' }).end();
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((e) => {
      log(`internal error handling ${req.method} ${req.url}: ${(e as Error).message}`);
      if (!res.headersSent) sendJson(res, 500, errorMessage(null, RPC.INTERNAL_ERROR, `cordon gateway internal error: ${(e as Error).message}`));
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => { server.off('error', reject); resolve(); });
  });
  const addr = server.address() as AddressInfo;
  const hostPart = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  allowedHosts = [`${hostPart}:${addr.port}`, `localhost:${addr.port}`];
  const url = new URL(`http://${hostPart}:${addr.port}${path}`);
  return {
    url,
    server,
    async close() {
      await Promise.all([...sessions.values()].map((s) => s.gateway.close()));
      const closed = new Promise<void>((r) => server.close(() => r()));
      server.closeAllConnections();
      await closed;
    },
  };
}
