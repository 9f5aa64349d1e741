// A small, real MCP server (the official SDK's low-level Server) whose tools the tests define
// in a JSON config file, read at start-up: so a test can change a description between runs (rug
// pull), plant poison in a description or a result, and see, at the server side, every call
// that reached it (one JSON line per call appended to `log`).
//
// Usage: node dist/test/mcp/helpers/fixture-server.js CONFIG.json
// Config: { name, log?, http?: boolean, tools: [{ name, description, result?, echo?, die?, delayMs? }] }
// In http mode it listens on 127.0.0.1 (Streamable HTTP, stateful) and prints `LISTENING <port>`.

import { appendFileSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { CallToolRequestSchema, ListToolsRequestSchema, ListResourcesRequestSchema, ReadResourceRequestSchema } from '@modelcontextprotocol/sdk/types.js';

export interface FixtureTool {
  name: string;
  description: string;
  /** Text returned by a call (default: the arguments as JSON). */
  result?: string;
  /** Exit the process (status 3) when called, before answering. */
  die?: boolean;
  delayMs?: number;
}

export interface FixtureConfig {
  name: string;
  log?: string;
  http?: boolean;
  tools: FixtureTool[];
  /** Resource contents served at fixture://doc. */
  resource?: string;
}

function makeServer(cfg: FixtureConfig): Server {
  const server = new Server({ name: cfg.name, version: '1.0.0' }, { capabilities: { tools: {}, resources: {} } });
  server.setRequestHandler(ListToolsRequestSchema, async () => ({
    tools: cfg.tools.map((t) => ({
      name: t.name,
      description: t.description,
      inputSchema: { type: 'object', properties: { text: { type: 'string' }, path: { type: 'string' }, url: { type: 'string' } } },
    })),
  }));
  server.setRequestHandler(CallToolRequestSchema, async (req) => {
    const t = cfg.tools.find((x) => x.name === req.params.name);
    if (cfg.log) appendFileSync(cfg.log, JSON.stringify({ tool: req.params.name, arguments: req.params.arguments ?? {} }) + '\n');
    if (!t) return { content: [{ type: 'text', text: `no tool ${req.params.name}` }], isError: true };
    if (t.die) process.exit(3);
    if (t.delayMs) await new Promise((r) => setTimeout(r, t.delayMs));
    return { content: [{ type: 'text', text: t.result ?? JSON.stringify(req.params.arguments ?? {}) }] };
  });
  server.setRequestHandler(ListResourcesRequestSchema, async () => ({ resources: cfg.resource === undefined ? [] : [{ uri: 'fixture://doc', name: 'doc' }] }));
  server.setRequestHandler(ReadResourceRequestSchema, async (req) => {
    // Resource reads go to their own log (`<log>.resources`), one URI a line.
    if (cfg.log) appendFileSync(`${cfg.log}.resources`, `${req.params.uri}\n`);
    return { contents: [{ uri: req.params.uri, text: cfg.resource ?? '' }] };
  });
  return server;
}

async function main(): Promise<void> {
  const cfg = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as FixtureConfig;
  if (!cfg.http) {
    await makeServer(cfg).connect(new StdioServerTransport());
    return;
  }
  const transports = new Map<string, StreamableHTTPServerTransport>();
  const http = createServer(async (req, res) => {
    const sid = req.headers['mcp-session-id'];
    let t = typeof sid === 'string' ? transports.get(sid) : undefined;
    if (!t) {
      if (req.method !== 'POST' || sid !== undefined) { res.writeHead(404).end(); return; }
      const created: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => { transports.set(id, created); },
      });
      created.onclose = () => { if (created.sessionId) transports.delete(created.sessionId); };
      await makeServer(cfg).connect(created);
      t = created;
    }
    await t.handleRequest(req, res);
  });
  http.listen(0, '127.0.0.1', () => {
    process.stdout.write(`LISTENING ${(http.address() as AddressInfo).port}\n`);
  });
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  main().catch((e) => { process.stderr.write(`fixture server failed: ${(e as Error).stack}\n`); process.exit(1); });
}
