// bench/sandbox-overhead: syscall-heavy real workloads under a realistic policy (the built-in
// agent-default, PROJECT_ROOT = the workload's directory) against the same workloads bare, in
// the same run. Target (DESIGN.md): ≤ 1.05×.
//
// Workloads (WORKLOADS=git,tsc by default):
//   git  `git status` + `git log -p` + `grep -r` over a generated repository (FILES files in
//        FILES/100 directories, COMMITS commits of loose objects): ~33k opens, every file opened
//        by grep, every directory listed; the open-heaviest case.
//   tsc  the TypeScript 7 compiler (`tsc -p`, type-check only) over zod's sources, copied from
//        node_modules with the compiler binary into a project directory: a real build, CPU-bound,
//        multi-threaded Go (whose runtime signals its own threads, each signal a decided syscall).
// Method: ROUNDS rounds; in each, the workload runs bare and under `cordon run`, in alternating
// order (so cache warmth and machine load drift favour neither side), after one warm-up pair.
// Each run is timed from outside (wall, including Cordon's start) and from inside (bash `time`
// around the workload: the enforcement overhead alone). Reported: medians, the ratio of medians,
// and the median of the per-round ratios (paired, so load that changes between rounds cancels).
//
// Per-intercepted-syscall latency (native/probes/latency, run bare and under cordon run): the
// cost added to one syscall on each path it can take through the sandbox, from the cheapest
// (an untrapped syscall: static filter only) to the dearest (a decision Node records durably).
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CORDON = join(ROOT, 'bin', 'cordon.js');
const LAT = join(ROOT, 'native', 'build', 'probes', 'latency');
const ROUNDS = Number(process.env.ROUNDS ?? 7);
const FILES = Number(process.env.FILES ?? 4000);
const COMMITS = Number(process.env.COMMITS ?? 40);
const WORKLOADS = (process.env.WORKLOADS ?? 'git,tsc').split(',').filter(Boolean);

const base = mkdtempSync(join(tmpdir(), 'cordon-bench-overhead-'));

interface Workload { name: string; dir: string; script: string; describe: string }

function gitWorkload(): Workload {
  const repo = join(base, 'repo');
  mkdirSync(repo);
  const git = (...a: string[]) => execFileSync('git', ['-C', repo, '-c', 'user.name=b', '-c', 'user.email=b@e', ...a], { stdio: 'ignore' });
  git('init', '-q');
  for (let d = 0; d < FILES / 100; d++) {
    mkdirSync(join(repo, `d${d}`));
    for (let f = 0; f < 100; f++) writeFileSync(join(repo, `d${d}`, `f${f}.txt`), `file ${d}/${f}\n${'line of text\n'.repeat(20)}`);
  }
  git('add', '-A');
  git('commit', '-qm', 'initial');
  for (let c = 1; c < COMMITS; c++) {
    for (let k = 0; k < 50; k++) writeFileSync(join(repo, `d${(c * 7 + k) % (FILES / 100)}`, `f${(c * 13 + k) % 100}.txt`), `changed in ${c}\n`);
    git('commit', '-qam', `change ${c}`);
  }
  return {
    name: 'git', dir: repo,
    script: 'git status --porcelain >/dev/null && git log -p >/dev/null && grep -r "changed in" . >/dev/null; true',
    describe: `git status + git log -p + grep -r over ${FILES} files, ${COMMITS} commits`,
  };
}

function tscWorkload(): Workload | undefined {
  const compiler = join(ROOT, 'node_modules', '@typescript', 'typescript-linux-x64');
  const zod = join(ROOT, 'node_modules', 'zod', 'src');
  if (!existsSync(join(compiler, 'lib', 'tsc')) || !existsSync(zod)) {
    console.log('tsc workload: skipped (node_modules/@typescript/typescript-linux-x64 or zod/src missing)');
    return undefined;
  }
  const proj = join(base, 'tsproj');
  mkdirSync(join(proj, 'node_modules', '@typescript'), { recursive: true });
  cpSync(zod, join(proj, 'src'), { recursive: true });
  cpSync(compiler, join(proj, 'node_modules', '@typescript', 'typescript-linux-x64'), { recursive: true });
  writeFileSync(join(proj, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { target: 'es2022', module: 'nodenext', moduleResolution: 'nodenext', strict: true, noEmit: true, skipLibCheck: true, types: [] },
    include: ['src/**/*.ts'], exclude: ['src/**/tests/**', 'src/**/benchmarks/**'],
  }));
  return {
    name: 'tsc', dir: proj,
    script: './node_modules/@typescript/typescript-linux-x64/lib/tsc -p . >/dev/null',
    describe: 'tsc -p (TypeScript 7, type-check) over zod\'s sources from node_modules',
  };
}

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]!; };

/** One run: wall time from outside, workload time from inside (bash `time`), in ms. */
function run(w: Workload, sandboxed: boolean, audit?: string): { wall: number; inner: number } {
  const timed = ['/bin/bash', '-c', `TIMEFORMAT=WORKLOAD_S=%R; time ( ${w.script} )`];
  const argv = sandboxed ? [process.execPath, CORDON, 'run', '--project-root', w.dir, ...(audit ? ['--audit', audit] : []), '--', ...timed] : timed;
  const t0 = process.hrtime.bigint();
  const r = spawnSync(argv[0]!, argv.slice(1), { cwd: w.dir, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  const wall = Number(process.hrtime.bigint() - t0) / 1e6;
  const m = /WORKLOAD_S=([\d.]+)/.exec(r.stderr);
  if (r.status !== 0 || !m) throw new Error(`${sandboxed ? 'cordon run' : 'bare'} ${w.name} failed (${r.status}): ${r.stderr}`);
  return { wall, inner: Number(m[1]) * 1000 };
}

/** What the supervisor intercepted in one sandboxed run (the audit log's session end, and the
 * decisions Node recorded one by one). */
function intercepted(audit: string): string {
  const events = readFileSync(audit, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { k: string; x?: { kind?: string; operation?: string; fields?: Record<string, number> } });
  const end = events.find((e) => e.x?.kind === 'session' && e.x.operation === 'end')?.x?.fields ?? {};
  const byKind: Record<string, number> = {};
  for (const e of events) if (e.k === 'event' && e.x?.kind && e.x.kind !== 'session') byKind[e.x.kind] = (byKind[e.x.kind] ?? 0) + 1;
  const node = Object.entries(byKind).map(([k, n]) => `${n} ${k}`).join(', ') || 'none';
  return `decided in the supervisor: ${end.nativeAllows ?? '?'} file operations allowed natively (directory opens left to Landlock included), ${end.cachedDecisions ?? '?'} from its decision cache; recorded one by one by Node: ${node}`;
}

const fmt = (x: number) => x.toFixed(0).padStart(6);
const results: string[] = [];
for (const name of WORKLOADS) {
  const w = name === 'git' ? gitWorkload() : name === 'tsc' ? tscWorkload() : undefined;
  if (!w) { if (name !== 'tsc') console.log(`unknown workload ${name}`); continue; }
  const audit = join(base, `${w.name}-audit.jsonl`);
  run(w, false); run(w, true); // warm-up: page cache, policy cache
  const bare: Array<{ wall: number; inner: number }> = [];
  const wrapped: Array<{ wall: number; inner: number }> = [];
  for (let i = 0; i < ROUNDS; i++) {
    rmSync(audit, { force: true });
    if (i % 2) { wrapped.push(run(w, true, audit)); bare.push(run(w, false)); } else { bare.push(run(w, false)); wrapped.push(run(w, true, audit)); }
  }
  const bw = median(bare.map((x) => x.wall)), ww = median(wrapped.map((x) => x.wall));
  const bi = median(bare.map((x) => x.inner)), wi = median(wrapped.map((x) => x.inner));
  const paired = median(bare.map((b, i) => wrapped[i]!.inner / b.inner));
  const pairedWall = median(bare.map((b, i) => wrapped[i]!.wall / b.wall));
  console.log(`\nworkload ${w.name}: ${w.describe}; policy agent-default; ${ROUNDS} rounds, bare and sandboxed alternating`);
  console.log(`  wall (cordon run, start included): bare ${fmt(bw)} ms  sandboxed ${fmt(ww)} ms  ratio ${(ww / bw).toFixed(3)}×  (paired ${pairedWall.toFixed(3)}×)`);
  console.log(`  timed inside (enforcement only):    bare ${fmt(bi)} ms  sandboxed ${fmt(wi)} ms  ratio ${(wi / bi).toFixed(3)}×  (paired ${paired.toFixed(3)}×)  target ≤ 1.05×: ${wi / bi <= 1.05 ? 'MET' : 'NOT MET'}`);
  console.log(`  ${intercepted(audit)}`);
  results.push(`${w.name} ${(wi / bi).toFixed(3)}×`);
}

// ---- per-intercepted-syscall latency ----
const probeDir = join(base, 'lat');
mkdirSync(probeDir);
const probe = join(probeDir, 'latency-probe'); // inside the project: agent-default lets it run
cpSync(LAT, probe);
const files = join(probeDir, 'files');
const nodeFiles = join(probeDir, 'node-decided');
mkdirSync(files);
mkdirSync(nodeFiles);
for (let i = 0; i < 2000; i++) { writeFileSync(join(files, `f${i}`), ''); writeFileSync(join(nodeFiles, `f${i}`), ''); }
// With an audit rule on read the read fast path is off: every open is trapped. node-decided/ is
// decided by Node and appended to the audit chain before the answer (decision: audit).
const trapAll = join(base, 'trap-all-opens.yaml');
writeFileSync(trapAll, `version: 1
name: trap-all-opens
defaults: { file: deny, command: deny }
file_rules:
  - { name: node-decided, paths: ["${nodeFiles}/**"], decision: audit }
  - { name: project, paths: ["${probeDir}/**"], decision: allow }
  - { name: sys, paths: ["/usr/**", "/lib/**", "/lib64/**", "/etc/**", "/proc/**", "/dev/**"], operations: [read, open, stat, list, readlink, access, exec], decision: allow }
command_rules:
  - { name: tools, commands: ["/usr/**", "${probeDir}/**"], decision: allow }
`);
function lat(mode: string, arg: string, n: number, policy?: string): number {
  const cmd = [probe, mode, arg, String(n)];
  const full = policy ? [process.execPath, CORDON, 'run', '--policy', policy, '--project-root', probeDir, '--', ...cmd] : cmd;
  const r = spawnSync(full[0]!, full.slice(1), { cwd: probeDir, encoding: 'utf8' });
  const m = /ns_per_call=(\d+)/.exec(r.stdout);
  if (!m) throw new Error(`latency probe ${mode} failed: ${r.stderr}`);
  return Number(m[1]);
}
/** Bare and sandboxed, interleaved LAT_ROUNDS times; medians. */
function row(label: string, mode: string, arg: string, n: number, policy: string): string {
  const b: number[] = [], s: number[] = [];
  for (let i = 0; i < Number(process.env.LAT_ROUNDS ?? 3); i++) { b.push(lat(mode, arg, n)); s.push(lat(mode, arg, n, policy)); }
  const bb = median(b), ss = median(s);
  return `  ${label.padEnd(76)} bare ${String(bb).padStart(8)} ns  sandboxed ${String(ss).padStart(8)} ns  added ${((ss - bb) / 1000).toFixed(1).padStart(6)} µs`;
}
console.log('\nper-syscall cost, by the path a syscall takes through the sandbox (median of interleaved runs):');
console.log(row('getpid: untrapped, static seccomp filter only', 'getpid', '-', 200000, 'agent-default'));
console.log(row('open+close, read-only (agent-default: Landlock decides, untrapped)', 'same', join(files, 'f0'), 20000, 'agent-default'));
console.log(row('opendir inside a READ_DIR grant (trapped, left to the kernel)', 'dir', files, 20000, 'agent-default'));
console.log(row('opendir of /etc (trapped, no grant covers it: decided natively, emulated)', 'dir', '/etc', 5000, 'agent-default'));
console.log(row('open+close, new files, every open trapped (decided natively, emulated)', 'distinct', files, 2000, trapAll));
console.log(row('open+close, new files decided by Node (audit rule: durable append first)', 'distinct', nodeFiles, 300, trapAll));
console.log(row('fork + exec /bin/true (exec decided by Node, verified at the exec stop)', 'exec', '/bin/true', 100, 'agent-default'));
console.log(`\nsummary: ${results.join(', ')} (timed inside; target ≤ 1.05×)`);
rmSync(base, { recursive: true, force: true });
