// bench/audit: audit chain append throughput with durable batches (target >= 100k events/s) and
// verify throughput (target >= 500k events/s). Baselines measured in the same run:
//   append: plain JSONL (JSON.stringify + newline, no chain, no MAC) with the same group commit
//           (one write + fdatasync per batch, promise per event);
//   verify: reading the same file and JSON.parse-ing every line (no crypto);
//   ceiling: node:crypto SHA-256 over the same bytes (the hash alone, this CPU).
// Run: npm run build && npm run bench -- audit   (env AUDIT_BENCH_N to change the event count)
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { openAuditLog, readKeyFile, scanLines, verifyChainFiles, verifyChainFilesParallel, type AuditEventInput } from '../src/audit/index.js';

const N = Number(process.env.AUDIT_BENCH_N ?? 200_000);
const WINDOW = 2000; // events in flight (many enforcement points appending concurrently)

function ev(i: number): AuditEventInput {
  return {
    kind: 'file', operation: 'read', subject: `/home/user/project/src/module${i % 977}/file${i}.ts`, decision: i % 17 === 0 ? 'deny' : 'allow',
    rule: 'project-read', session: 'sess-8c1f2a', process: { pid: 4242, ppid: 4200, exe: '/usr/bin/node', argv: ['node', 'build.js'] },
    policyDigest: '3f9a0c2b7d41e8a65b0f9d2c4e7a1b3c5d6e8f0a2b4c6d8e0f1a3b5c7d9e1f2a',
  };
}

/** Baseline: un-chained JSONL with the same group commit as the audit writer. */
class PlainJsonl {
  private pending: string[] = [];
  private waiters: (() => void)[] = [];
  private busy = false;
  private constructor(private fh: import('node:fs/promises').FileHandle) {}
  static async open(file: string): Promise<PlainJsonl> { return new PlainJsonl(await open(file, 'a')); }
  append(e: AuditEventInput): Promise<void> {
    this.pending.push(JSON.stringify({ t: new Date().toISOString(), ...e }) + '\n');
    return new Promise((r) => { this.waiters.push(r); if (!this.busy) { this.busy = true; setImmediate(() => void this.drain()); } });
  }
  private async drain(): Promise<void> {
    while (this.pending.length) {
      const buf = Buffer.from(this.pending.join(''));
      const ws = this.waiters;
      this.pending = []; this.waiters = [];
      await this.fh.write(buf, 0, buf.length, null);
      await this.fh.datasync();
      for (const w of ws) w();
    }
    this.busy = false;
  }
  async close(): Promise<void> { await this.fh.close(); }
}

/** CPU seconds (all threads of this process) used by `f`. */
function cpuSince(u0: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(u0);
  return (d.user + d.system) / 1e6;
}

let lastCpu = 0;
async function drive(append: (e: AuditEventInput) => Promise<void>): Promise<number> {
  const u0 = process.cpuUsage();
  const t0 = performance.now();
  // A steady stream: chunks of WINDOW/4 events, up to 4 chunks unacknowledged at any time (as
  // with many enforcement points appending concurrently), so a writer thread can overlap work.
  const chunk = WINDOW / 4;
  const inFlight: Promise<unknown>[] = [];
  for (let i = 0; i < N; i += chunk) {
    const ps: Promise<void>[] = [];
    for (let j = i; j < Math.min(N, i + chunk); j++) ps.push(append(ev(j)));
    inFlight.push(Promise.all(ps));
    if (inFlight.length >= 4) await inFlight.shift();
  }
  await Promise.all(inFlight);
  lastCpu = cpuSince(u0);
  return (performance.now() - t0) / 1000;
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'cordon-bench-audit-'));
  process.env.XDG_STATE_HOME = join(dir, 'state');
  try {
    // Warm-up (JIT) on a small chain.
    const warm = await openAuditLog({ file: join(dir, 'warm.jsonl') });
    for (let i = 0; i < 20_000; i += WINDOW) await Promise.all(Array.from({ length: WINDOW }, (_, j) => warm.append(ev(i + j))));
    await warm.close();

    const plain = await PlainJsonl.open(join(dir, 'plain.jsonl'));
    const plainS = await drive((e) => plain.append(e));
    const plainCpu = lastCpu;
    await plain.close();

    const file = join(dir, 'chain.jsonl');
    const w = await openAuditLog({ file });
    const chainS = await drive((e) => w.append(e));
    const chainCpu = lastCpu;
    await w.close();
    const bytes = statSync(file).size;

    const tw = await openAuditLog({ file: join(dir, 'threaded.jsonl'), thread: true });
    const threadS = await drive((e) => tw.append(e));
    const threadCpu = lastCpu;
    await tw.close();

    const key = readKeyFile(join(dir, 'state', 'cordon', 'audit.key'));
    const vu = process.cpuUsage();
    const v0 = performance.now();
    const r = verifyChainFiles([file], { keys: [key], explicitKeys: true });
    const verifyS = (performance.now() - v0) / 1000;
    const verifyCpu = cpuSince(vu);
    if (!r.ok) throw new Error(`bench chain did not verify: ${r.summary}`);

    const q0 = performance.now();
    const rp = await verifyChainFilesParallel([file], { keys: [key], explicitKeys: true, workers: Math.max(1, availableParallelism() - 1) });
    const verifyParS = (performance.now() - q0) / 1000;
    if (!rp.ok || rp.entries !== r.entries) throw new Error(`parallel verify disagrees: ${rp.summary}`);

    const p0 = performance.now();
    let parsed = 0;
    scanLines(file, { line: (b, s, e) => { JSON.parse(b.toString('utf8', s, e)); parsed++; }, overlong: () => {} });
    const parseS = (performance.now() - p0) / 1000;

    const raw = readFileSync(file);
    const h0 = performance.now();
    createHash('sha256').update(raw).digest();
    const hashS = (performance.now() - h0) / 1000;

    const appendRate = N / chainS;
    const plainRate = N / plainS;
    const verifyRate = r.entries / verifyS;
    const parseRate = parsed / parseS;
    const [l1, l5] = loadavg();
    console.log(`load average ${l1!.toFixed(2)} ${l5!.toFixed(2)} on ${availableParallelism()} CPUs (figures per CPU-second are less sensitive to other load)`);
    console.log(`events: ${fmt(N)} (${Math.round(bytes / r.entries)} bytes per entry), ${WINDOW} in flight, fdatasync per batch`);
    console.log(`append  cordon chain : ${fmt(appendRate)} events/s  (target 100,000: ${(appendRate / 100_000).toFixed(2)}x); ${fmt(N / chainCpu)} per CPU-second`);
    console.log(`append  thread: true : ${fmt(N / threadS)} events/s  (target 100,000: ${(N / threadS / 100_000).toFixed(2)}x; writer on a worker thread); ${fmt(N / threadCpu)} per CPU-second`);
    console.log(`append  plain JSONL  : ${fmt(plainRate)} events/s  (chain/plain = ${(appendRate / plainRate).toFixed(2)}x); ${fmt(N / plainCpu)} per CPU-second`);
    const verifyParRate = r.entries / verifyParS;
    console.log(`verify  cordon chain : ${fmt(verifyParRate)} entries/s (target 500,000: ${(verifyParRate / 500_000).toFixed(2)}x) with ${Math.max(1, availableParallelism() - 1)} hash worker(s)`);
    console.log(`verify  one thread   : ${fmt(verifyRate)} entries/s (${(verifyRate / 500_000).toFixed(2)}x); ${fmt(r.entries / verifyCpu)} per CPU-second`);
    console.log(`verify  JSON.parse   : ${fmt(parseRate)} lines/s   (verify/parse = ${(verifyParRate / parseRate).toFixed(2)}x)`);
    console.log(`ceiling SHA-256 (OpenSSL, one buffer): ${(bytes / hashS / 1e6).toFixed(0)} MB/s = ${fmt(bytes / hashS / (bytes / r.entries))} entries/s of hashing alone`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
