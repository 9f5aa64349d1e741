// bench/sandbox-overhead: a syscall-heavy real workload under a realistic policy (agent-default
// with the repo as PROJECT_ROOT) against the same workload bare, in the same run. Workload:
// `git status` + `git log -p` + `grep -r` over a generated repository (thousands of files,
// every one opened by grep). Target (DESIGN.md): ≤ 1.05×. Reported twice: the raw ratio of
// `cordon run -- WORKLOAD`, and with Cordon's fixed start cost (`cordon run -- true`, measured
// here too) taken out, which is the per-syscall enforcement overhead. Also prints the cost per
// intercepted syscall: a cached decision (same file), a Node round trip (distinct files), and an
// untrapped syscall (static filter only).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CORDON = join(ROOT, 'bin', 'cordon.js');
const LAT = join(ROOT, 'native', 'build', 'probes', 'latency');
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const FILES = Number(process.env.FILES ?? 4000);
const COMMITS = Number(process.env.COMMITS ?? 40);

const repo = mkdtempSync(join(tmpdir(), 'cordon-bench-repo-'));
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
const workload = 'git status --porcelain >/dev/null && git log -p >/dev/null && grep -r "changed in" . >/dev/null; true';
// The probe runs from inside the project, where agent-default allows execution.
execFileSync('cp', [LAT, join(repo, 'latency-probe')]);
const latDir = join(repo, 'lat');
const nodeDir = join(repo, 'latnode');
mkdirSync(latDir);
mkdirSync(nodeDir);
for (let i = 0; i < 2000; i++) { writeFileSync(join(latDir, `f${i}`), ''); writeFileSync(join(nodeDir, `f${i}`), ''); }
// For the per-syscall rows: the project decided natively, latnode/ by an audit rule (every
// open goes to Node and is appended to the audit chain).
const latPolicy = join(repo, '..', `${repo.split('/').pop()}-latency.yaml`);
writeFileSync(latPolicy, `version: 1
name: latency
defaults: { file: deny, command: deny }
file_rules:
  - { name: node-decided, paths: ["${nodeDir}/**"], decision: audit }
  - { name: project, paths: ["${repo}/**"], decision: allow }
  - { name: sys, paths: ["/usr/**", "/lib/**", "/lib64/**", "/etc/**", "/proc/**", "/dev/**"], operations: [read, open, stat, list, readlink, access, exec], decision: allow }
command_rules:
  - { name: tools, commands: ["/usr/**", "${repo}/**"], decision: allow }
`);

function time(args: string[]): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(args[0]!, args.slice(1), { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed: ${r.stderr}`);
  return Number(process.hrtime.bigint() - t0) / 1e6;
}
const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]!; };
const wrap = (cmd: string[]) => [process.execPath, CORDON, 'run', '--project-root', repo, '--', ...cmd];

/** The workload timed from inside (bash `time`), so Cordon's start cost and Node are not in it. */
function inner(args: string[]): number {
  const r = spawnSync(args[0]!, args.slice(1), { cwd: repo, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  const m = /WORKLOAD_MS=([\d.]+)/.exec(r.stderr);
  if (!m) throw new Error(`${args.join(' ')} failed: ${r.stderr}`);
  return Number(m[1]) * 1000;
}
const timed = ['/bin/bash', '-c', `TIMEFORMAT=WORKLOAD_MS=%R; time ( ${workload} )`];
const bare: number[] = [], wrapped: number[] = [], start: number[] = [], ib: number[] = [], iw: number[] = [];
time(wrap(['/bin/sh', '-c', workload])); // warm caches (page cache, policy cache)
for (let i = 0; i < ROUNDS; i++) {
  // Alternate which side runs first so cache warmth favours neither.
  const pair = <T>(a: () => T, b: () => T): [T, T] => (i % 2 ? ((y) => [a(), y] as [T, T])(b()) : [a(), b()]);
  const [b1, w1] = pair(() => time(['/bin/sh', '-c', workload]), () => time(wrap(['/bin/sh', '-c', workload])));
  bare.push(b1); wrapped.push(w1);
  start.push(time(wrap(['/bin/true'])));
  const [b2, w2] = pair(() => inner(timed), () => inner(wrap(timed)));
  ib.push(b2); iw.push(w2);
}
const b = median(bare), w = median(wrapped), s = median(start), bi = median(ib), wi = median(iw);
console.log(`workload: git status + git log -p + grep -r over ${FILES} files, ${COMMITS} commits`);
console.log(`wall: bare ${b.toFixed(0)} ms, cordon run ${w.toFixed(0)} ms (cordon run -- true: ${s.toFixed(0)} ms): raw ratio ${(w / b).toFixed(3)}×`);
console.log(`timed inside: bare ${bi.toFixed(0)} ms, sandboxed ${wi.toFixed(0)} ms: ratio ${(wi / bi).toFixed(3)}× (target ≤ 1.05×)  ${wi / bi <= 1.05 ? 'MET' : 'NOT MET'}`);

function lat(mode: string, arg: string, n: number, wrapped: boolean, policy = latPolicy): number {
  const cmd = [join(repo, 'latency-probe'), mode, arg, String(n)];
  const full = wrapped ? [process.execPath, CORDON, 'run', '--policy', policy, '--project-root', repo, '--', ...cmd] : cmd;
  const r = spawnSync(full[0]!, full.slice(1), { cwd: repo, encoding: 'utf8' });
  const m = /ns_per_call=(\d+)/.exec(r.stdout);
  if (!m) throw new Error(`latency probe failed: ${r.stderr}`);
  return Number(m[1]);
}
const same = join(repo, 'd0', 'f0.txt');
// The latency policy has an audit rule, so its read-only opens are all trapped (no fast path);
// agent-default's are left to Landlock (the read fast path).
const rows: Array<[string, number, number]> = [
  ['read-only open, agent-default (Landlock)', lat('same', same, 20000, false), lat('same', same, 20000, true, 'agent-default')],
  ['open+close, same file (native)', lat('same', same, 20000, false), lat('same', same, 20000, true)],
  ['open+close, new files (native)', lat('distinct', latDir, 2000, false), lat('distinct', latDir, 2000, true)],
  ['open+close, new files (Node + audit)', lat('distinct', nodeDir, 2000, false), lat('distinct', nodeDir, 2000, true)],
  ['getpid (untrapped, static filter)', lat('getpid', '-', 200000, false), lat('getpid', '-', 200000, true)],
];
for (const [n, bb, ww] of rows) console.log(`${n.padEnd(36)} bare ${String(bb).padStart(6)} ns  sandboxed ${String(ww).padStart(7)} ns  added ${((ww - bb) / 1000).toFixed(1)} µs`);
