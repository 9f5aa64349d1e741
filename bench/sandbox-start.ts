// bench/sandbox-start: wall time to run `true` wrapped, against `true` bare and against
// @anthropic-ai/sandbox-runtime (`srt true`) measured in the same run, interleaved round by
// round so machine load hits all three alike. Targets (DESIGN.md): cordon ≤ 0.25× srt, and
// ≤ 100 ms added over bare. srt needs bubblewrap, socat and ripgrep (Debian:
// `apt-get install -y bubblewrap socat ripgrep`); without them its column says why.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CORDON = join(ROOT, 'bin', 'cordon.js');
const SRT = join(ROOT, 'node_modules', '@anthropic-ai', 'sandbox-runtime', 'dist', 'cli.js');
const ROUNDS = Number(process.env.ROUNDS ?? 15);

function timeOnce(cmd: string, args: string[], cwd: string): { ms: number; ok: boolean; err: string } {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  return { ms, ok: r.status === 0, err: (r.stderr ?? '') + (r.error?.message ?? '') };
}

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]!; };

const project = mkdtempSync(join(tmpdir(), 'cordon-bench-start-'));
// The same run under a policy that allows no network: no egress to start (loopback only).
const noNet = join(project, 'no-network.yaml');
writeFileSync(noNet, 'version: 1\nname: no-network\ndefaults: { file: allow, command: allow }\n');
const srtMissing = ['bwrap', 'socat', 'rg'].filter((b) => spawnSync('sh', ['-c', `command -v ${b}`]).status !== 0);
const haveSrt = existsSync(SRT) && srtMissing.length === 0;
const cases: Array<[string, string, string[]]> = [
  ['bare true', '/bin/true', []],
  // Node's own floor: no Cordon code at all, then Cordon's CLI with nothing to do.
  ['node -e 0', process.execPath, ['-e', '0']],
  ['cordon --version', process.execPath, [CORDON, '--version']],
  ['cordon run -- true', process.execPath, [CORDON, 'run', '--', 'true']],
  ['cordon (no network)', process.execPath, [CORDON, 'run', '--policy', noNet, '--', 'true']],
];
if (haveSrt) cases.push(['srt true', process.execPath, [SRT, 'true']]);
const times = new Map<string, number[]>(cases.map(([n]) => [n, []]));
for (const [n, cmd, args] of cases) { const w = timeOnce(cmd, args, project); if (!w.ok) { console.error(`${n} failed: ${w.err.trim()}`); process.exit(1); } }
for (let i = 0; i < ROUNDS; i++) {
  for (const [n, cmd, args] of cases) times.get(n)!.push(timeOnce(cmd, args, project).ms);
}
const m = Object.fromEntries([...times].map(([n, xs]) => [n, median(xs)]));
for (const [n] of cases) console.log(`${n.padEnd(22)} median ${m[n]!.toFixed(1).padStart(7)} ms  (${ROUNDS} rounds)`);
const cordon = m['cordon run -- true']!;
const bare = m['bare true']!;
console.log(`added over bare: ${(cordon - bare).toFixed(1)} ms (target ≤ 100 ms)  ${cordon - bare <= 100 ? 'MET' : 'NOT MET'}`);
if (haveSrt) {
  const ratio = cordon / m['srt true']!;
  console.log(`cordon / srt: ${ratio.toFixed(3)}× (target ≤ 0.25×)  ${ratio <= 0.25 ? 'MET' : 'NOT MET'}`);
} else {
  console.log(`srt baseline not measured: ${existsSync(SRT) ? `missing ${srtMissing.join(', ')} (apt-get install -y bubblewrap socat ripgrep)` : 'npm install (devDependency @anthropic-ai/sandbox-runtime)'}`);
}
console.log(`cordon over node -e 0 (Cordon's own start cost): ${(cordon - m['node -e 0']!).toFixed(1)} ms; of which egress (agent-default allows registries): ${(cordon - m['cordon (no network)']!).toFixed(1)} ms`);
console.log(`no-network policy: ${(m['cordon (no network)']! - bare).toFixed(1)} ms over bare${haveSrt ? `, ${(m['cordon (no network)']! / m['srt true']!).toFixed(3)}× srt` : ''}`);
console.log(`floor: node -e 0 alone is ${(m['node -e 0']! - bare).toFixed(1)} ms over bare${haveSrt ? ` (${(m['node -e 0']! / m['srt true']!).toFixed(3)}× srt)` : ''}; the CLI with nothing to do (--version) ${(m['cordon --version']! - bare).toFixed(1)} ms`);

// Where the time goes: the start phases `cordon run` marks (CORDON_TIMING=1), median of the
// rounds, as ms since the process began. Measured apart from the timed rounds above.
const phases = new Map<string, number[]>();
for (let i = 0; i < Math.min(ROUNDS, 9); i++) {
  const r = spawnSync(process.execPath, [CORDON, 'run', '--', 'true'], { cwd: project, encoding: 'utf8', env: { ...process.env, CORDON_TIMING: '1' } });
  for (const l of (r.stderr ?? '').split('\n')) {
    const mm = /^cordon-timing:\s+([\d.]+) ms\s+\+\s*[\d.]+\s+(\S+)$/.exec(l);
    if (mm) { if (!phases.has(mm[2]!)) phases.set(mm[2]!, []); phases.get(mm[2]!)!.push(Number(mm[1])); }
  }
}
if (phases.size > 0) {
  console.log('\nphases of `cordon run -- true` (agent-default; median ms since process start, and the step from the previous phase):');
  let prev = 0;
  for (const [name, xs] of [...phases].sort((a, b) => median(a[1]) - median(b[1]))) {
    const at = median(xs);
    console.log(`  ${at.toFixed(1).padStart(7)} ms  +${(at - prev).toFixed(1).padStart(6)}  ${name}`);
    prev = at;
  }
}
