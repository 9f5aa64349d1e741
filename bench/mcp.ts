// MCP `tools/call` latency through the gateway vs direct to the same server, in one run.
// Target (DESIGN.md): at most 0.5 ms added at p99.
//
// Server: a minimal SDK stdio server (this file re-run with --server) with an `echo` tool.
// Direct: the SDK Client spawns it. Gateway: the SDK Client spawns `cordon mcp wrap` (the real
// CLI, as an agent's MCP config would), which spawns it, with a realistic rule (allow with an
// argument constraint; definitions pinned and scanned, results scanned). Rounds alternate
// direct/gateway so machine noise hits both. Sequential latency (p50/p99/mean) and throughput
// with 16 calls in flight; then the same through `--audit` (durable HMAC chain) for reference.
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
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';

const SELF = fileURLToPath(import.meta.url);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CORDON = join(ROOT, 'bin', 'cordon.js');

async function serve(): Promise<void> {
  const s = new Server({ name: 'bench', version: '1' }, { capabilities: { tools: {} } });
  s.setRequestHandler(ListToolsRequestSchema, async () => ({
    tools: [{ name: 'echo', description: 'Echoes its text.', inputSchema: { type: 'object', properties: { text: { type: 'string' } } } }],
  }));
  s.setRequestHandler(CallToolRequestSchema, async (req) => ({ content: [{ type: 'text', text: String((req.params.arguments as { text?: unknown })?.text ?? '') }] }));
  await s.connect(new StdioServerTransport());
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
  if (process.argv.includes('--server')) return serve();
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
}

main().catch((e) => {
  console.error(`bench/mcp failed: ${(e as Error).stack ?? e}`);
  process.exit(1);
});
