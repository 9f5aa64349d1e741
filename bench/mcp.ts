// MCP `tools/call` latency through the gateway vs direct to the same server, in one run.
// Target (DESIGN.md): at most 0.5 ms added at p99.
//
// Server: a minimal SDK stdio server (this file re-run with --server) with an `echo` tool.
// Direct: the SDK Client spawns it. Gateway: the SDK Client spawns `cordon mcp wrap` (the real
// CLI, as an agent's MCP config would), which spawns it, with a realistic rule (allow with an
// argument constraint; definitions pinned and scanned, results scanned). Rounds alternate
// direct/gateway so machine noise hits both. Sequential latency (p50/p99/mean) and throughput
// with 16 calls in flight; then the same through `--audit` (durable HMAC chain) for reference;
// then the Streamable HTTP transport (`cordon mcp serve` vs direct).
//
// Run: npm run bench -- mcp
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';

const SELF = fileURLToPath(import.meta.url);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CORDON = join(ROOT, 'bin', 'cordon.js');

function benchServer(): Server {
  const s = new Server({ name: 'bench', version: '1' }, { capabilities: { tools: {} } });
  s.setRequestHandler(ListToolsRequestSchema, async () => ({
    tools: [{ name: 'echo', description: 'Echoes its text.', inputSchema: { type: 'object', properties: { text: { type: 'string' } } } }],
  }));
  s.setRequestHandler(CallToolRequestSchema, async (req) => ({ content: [{ type: 'text', text: String((req.params.arguments as { text?: unknown })?.text ?? '') }] }));
  return s;
}

async function serve(): Promise<void> {
  await benchServer().connect(new StdioServerTransport());
}

/** The same server over Streamable HTTP (stateful, SSE responses as the SDK defaults) on 127.0.0.1; prints its port. */
async function serveHttp(): Promise<void> {
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  const http = createServer(async (req, res) => {
    const sid = req.headers['mcp-session-id'];
    let t = typeof sid === 'string' ? sessions.get(sid) : undefined;
    if (!t) {
      const created: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => { sessions.set(id, created); },
      });
      await benchServer().connect(created);
      t = created;
    }
    await t.handleRequest(req, res);
  });
  http.listen(0, '127.0.0.1', () => process.stdout.write(`PORT ${(http.address() as AddressInfo).port}\n`));
}

function waitFor(child: ChildProcess, re: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const m = buf.match(re);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`exited ${code} before printing ${re}: ${buf}`)));
  });
}

async function connectHttp(url: string): Promise<Client> {
  const c = new Client({ name: 'bench', version: '1' });
  await c.connect(new StreamableHTTPClientTransport(new URL(url)));
  await c.listTools();
  return c;
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

interface Stats { p50: number; p99: number; mean: number; seqPerSec: number; concPerSec: number }

async function connect(command: string, args: string[]): Promise<Client> {
  const c = new Client({ name: 'bench', version: '1' });
  await c.connect(new StdioClientTransport({ command, args, stderr: 'inherit', env: process.env as Record<string, string> }));
  await c.listTools();
  return c;
}

const ARGS = { text: 'The quick brown fox jumps over the lazy dog; nothing to see here. '.repeat(3) };

async function sequential(c: Client, n: number, into: number[]): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const s = performance.now();
    await c.callTool({ name: 'echo', arguments: ARGS });
    into.push(performance.now() - s);
  }
  return n / ((performance.now() - t0) / 1000);
}

async function concurrent(c: Client, ms: number, inFlight: number): Promise<number> {
  let done = 0;
  const end = performance.now() + ms;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (performance.now() < end) {
      await c.callTool({ name: 'echo', arguments: ARGS });
      done++;
    }
  }));
  return done / ((performance.now() - t0) / 1000);
}

function summarize(lat: number[], seq: number[], conc: number): Stats {
  const s = [...lat].sort((a, b) => a - b);
  return { p50: pct(s, 50), p99: pct(s, 99), mean: s.reduce((a, b) => a + b, 0) / s.length, seqPerSec: seq.reduce((a, b) => a + b, 0) / seq.length, concPerSec: conc };
}

async function main(): Promise<void> {
  // The SDK's HTTP client adds an abort listener per in-flight SSE response to one shared signal;
  // at 16 in flight for seconds that trips Node's leak warning. Not ours to fix here; keep output clean.
  EventEmitter.setMaxListeners(0);
  if (process.argv.includes('--server')) return serve();
  if (process.argv.includes('--http-server')) return serveHttp();
  const dir = mkdtempSync(join(tmpdir(), 'cordon-bench-mcp-'));
  const policy = join(dir, 'policy.yaml');
  writeFileSync(policy, `
version: 1
name: bench
defaults: { mcp: deny }
mcp_rules:
  - name: echo
    server: bench
    tools: [echo]
    decision: allow
    args:
      text: { type: string, max_length: 10000 }
`);
  const serverCmd = [process.execPath, SELF, '--server'];
  const wrapArgs = (extra: string[]) => [CORDON, 'mcp', 'wrap', '--name', 'bench', '--policy', policy, '--state', join(dir, 'state'), ...extra, '--', ...serverCmd];
  const direct = await connect(process.execPath, serverCmd.slice(1));
  const gateway = await connect(process.execPath, wrapArgs([]));
  const audited = await connect(process.execPath, wrapArgs(['--audit', join(dir, 'audit.jsonl')]));

  const WARM = 500;
  const ROUNDS = 5;
  const PER_ROUND = 1000;
  for (const c of [direct, gateway, audited]) await sequential(c, WARM, []);
  const lat = { direct: [] as number[], gateway: [] as number[], audited: [] as number[] };
  const seq = { direct: [] as number[], gateway: [] as number[], audited: [] as number[] };
  for (let r = 0; r < ROUNDS; r++) {
    seq.direct.push(await sequential(direct, PER_ROUND, lat.direct));
    seq.gateway.push(await sequential(gateway, PER_ROUND, lat.gateway));
    seq.audited.push(await sequential(audited, Math.floor(PER_ROUND / 5), lat.audited));
  }
  const concDirect = await concurrent(direct, 2000, 16);
  const concGateway = await concurrent(gateway, 2000, 16);
  const concAudited = await concurrent(audited, 2000, 16);
  const d = summarize(lat.direct, seq.direct, concDirect);
  const g = summarize(lat.gateway, seq.gateway, concGateway);
  const a = summarize(lat.audited, seq.audited, concAudited);
  const f = (x: number) => x.toFixed(3);
  const row = (name: string, s: Stats) => `${name.padEnd(22)} p50 ${f(s.p50)} ms  p99 ${f(s.p99)} ms  mean ${f(s.mean)} ms  ${s.seqPerSec.toFixed(0)} calls/s sequential  ${s.concPerSec.toFixed(0)} calls/s at 16 in flight`;
  console.log(`tools/call, ${ROUNDS * PER_ROUND} sequential calls per path (rounds alternate), stdio transport`);
  console.log(row('direct', d));
  console.log(row('through cordon mcp wrap', g));
  console.log(row('  ... with --audit', a));
  const addedP99 = g.p99 - d.p99;
  console.log(`added by the gateway: p50 +${f(g.p50 - d.p50)} ms, p99 +${f(addedP99)} ms (target <= 0.5 ms at p99: ${addedP99 <= 0.5 ? 'MET' : 'NOT MET'})`);
  console.log(`ratio gateway/direct: p50 ${(g.p50 / d.p50).toFixed(2)}x, p99 ${(g.p99 / d.p99).toFixed(2)}x, throughput ${(g.concPerSec / d.concPerSec).toFixed(2)}x`);
  console.log(`with --audit (fsync'd HMAC chain before each call is forwarded): p99 +${f(a.p99 - d.p99)} ms over direct`);
  await Promise.all([direct.close(), gateway.close(), audited.close()]);

  // Streamable HTTP: the same comparison through `cordon mcp serve`.
  const upstream = spawn(process.execPath, [SELF, '--http-server'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await waitFor(upstream, /PORT (\d+)/);
  const serveProc = spawn(process.execPath, [CORDON, 'mcp', 'serve', '--json', '--name', 'bench', '--policy', policy, '--state', join(dir, 'state'), '--upstream', `http://127.0.0.1:${port}/mcp`], { stdio: ['ignore', 'pipe', 'inherit'] });
  const gwUrl = await waitFor(serveProc, /"url":"([^"]+)"/);
  const hDirect = await connectHttp(`http://127.0.0.1:${port}/mcp`);
  const hGateway = await connectHttp(gwUrl);
  for (const c of [hDirect, hGateway]) await sequential(c, WARM, []);
  const hl = { direct: [] as number[], gateway: [] as number[] };
  const hs = { direct: [] as number[], gateway: [] as number[] };
  for (let r = 0; r < ROUNDS; r++) {
    hs.direct.push(await sequential(hDirect, PER_ROUND / 2, hl.direct));
    hs.gateway.push(await sequential(hGateway, PER_ROUND / 2, hl.gateway));
  }
  const hd = summarize(hl.direct, hs.direct, await concurrent(hDirect, 2000, 16));
  const hg = summarize(hl.gateway, hs.gateway, await concurrent(hGateway, 2000, 16));
  console.log(`tools/call, ${ROUNDS * PER_ROUND / 2} sequential calls per path, Streamable HTTP transport`);
  console.log(row('direct', hd));
  console.log(row('through cordon mcp serve', hg));
  console.log(`added by the gateway: p50 +${f(hg.p50 - hd.p50)} ms, p99 +${f(hg.p99 - hd.p99)} ms; ratio p50 ${(hg.p50 / hd.p50).toFixed(2)}x, p99 ${(hg.p99 / hd.p99).toFixed(2)}x, throughput ${(hg.concPerSec / hd.concPerSec).toFixed(2)}x`);
  await Promise.all([hDirect.close(), hGateway.close()]);
  serveProc.kill('SIGTERM');
  upstream.kill('SIGTERM');
}

main().catch((e) => {
  console.error(`bench/mcp failed: ${(e as Error).stack ?? e}`);
  process.exit(1);
});
