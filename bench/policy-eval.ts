// bench/policy-eval: decisions per second of the compiled engine on one core, over a realistic
// 200-rule policy and a mixed operation stream (files, execs, connections, signals).
// Baseline in the same run: the same policy evaluated naively (every rule in file order, each
// glob matched by picomatch) — what an uncompiled engine costs. Target: >= 2,000,000 decisions/s.
import picomatch from 'picomatch';
import { stringify } from 'yaml';
import { compilePolicy, loadPolicy, type Operation, type Policy } from '../src/policy/index.js';

const TARGET = 2_000_000;
const HOME = '/home/dev';
const PROJ = `${HOME}/work/app`;

function buildPolicy(): string {
  const file_rules: object[] = [];
  const secretDirs = ['.ssh', '.aws', '.gnupg', '.kube', '.docker', '.config/gcloud', '.config/gh', '.azure', '.password-store', '.local/share/keyrings'];
  secretDirs.forEach((d, i) => file_rules.push({ name: `secret-${i}`, paths: [`${HOME}/${d}/**`], decision: 'deny' }));
  const hooks = ['.git/hooks/**', '.git/config', '.envrc', '.vscode/tasks.json', '.vscode/settings.json', '.mcp.json', '.claude/**', '.cursor/**', '.idea/**', '.codex/**'];
  hooks.forEach((h, i) => file_rules.push({ name: `hook-${i}`, paths: [`${PROJ}/${h}`], operations: ['write', 'create', 'delete', 'rename'], decision: 'deny' }));
  for (let i = 0; i < 40; i++) file_rules.push({ name: `pkg-${i}`, paths: [`${PROJ}/packages/pkg${i}/secrets/**`, `${PROJ}/packages/pkg${i}/*.pem`], decision: 'deny' });
  for (let i = 0; i < 59; i++) file_rules.push({ name: `ro-${i}`, paths: [`/opt/vendor${i}/**`], operations: ['read', 'open', 'stat', 'exec'], decision: 'allow' });
  file_rules.push({ name: 'env-files', paths: ['**/.env', '**/.env.*'], decision: 'deny' });
  file_rules.push({ name: 'project', paths: [`${PROJ}/**`], decision: 'allow' });
  file_rules.push({ name: 'tmp', paths: ['/tmp/**'], decision: 'allow' });
  for (const d of ['/usr', '/bin', '/lib', '/lib64', '/etc', '/proc', `${HOME}/.nvm`, `${HOME}/.cargo`, `${HOME}/.cache`, `${HOME}/.npm`]) {
    file_rules.push({ name: `sys-${d.replace(/\W/g, '_')}`, paths: [`${d}/**`], operations: ['read', 'open', 'stat', 'list', 'readlink', 'access', 'exec'], decision: 'allow' });
  }
  const command_rules: object[] = [
    { name: 'no-escalation', commands: ['sudo', 'su', 'doas', 'pkexec', 'nsenter', 'unshare', 'mount'], decision: 'deny' },
    { name: 'git-push', commands: ['git'], args_patterns: ['^push( |$)'], decision: 'approve' },
  ];
  for (let i = 0; i < 30; i++) command_rules.push({ name: `tool-${i}`, commands: [`tool${i}`, `/opt/vendor${i}/bin/*`], decision: 'allow' });
  command_rules.push({ name: 'system', commands: ['/usr/**', '/bin/**'], decision: 'allow' });
  command_rules.push({ name: 'project-bins', commands: [`${PROJ}/**`], decision: 'allow' });
  const network_rules: object[] = [{ name: 'meta', cidrs: ['169.254.0.0/16', 'fd00:ec2::254/128'], decision: 'deny' }];
  for (let i = 0; i < 30; i++) network_rules.push({ name: `svc-${i}`, domains: [`svc${i}.example.com`, `*.svc${i}.example.net`], ports: [443], decision: 'allow' });
  network_rules.push({ name: 'private', cidrs: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'], decision: 'deny' });
  const signal_rules: object[] = [
    { name: 'own', signals: ['@all'], target: { type: 'session' }, decision: 'allow' },
    { name: 'ext', signals: ['@all'], target: { type: 'external' }, decision: 'deny' },
  ];
  return stringify({ version: 1, name: 'bench-200', file_rules, command_rules, network_rules, signal_rules });
}

function buildOps(n: number): Operation[] {
  let seed = 42;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const filePaths = [
    ...Array.from({ length: 200 }, (_, i) => `${PROJ}/src/module${i % 37}/component${i}/index.ts`),
    ...Array.from({ length: 60 }, (_, i) => `${PROJ}/node_modules/pkg${i}/lib/dist/index.js`),
    ...Array.from({ length: 40 }, (_, i) => `/usr/lib/x86_64-linux-gnu/lib${i}.so.6`),
    ...Array.from({ length: 20 }, (_, i) => `/usr/include/c++/12/bits/h${i}.h`),
    `${HOME}/.ssh/id_ed25519`, `${PROJ}/.git/hooks/pre-commit`, `${PROJ}/.env`, '/etc/passwd', '/proc/self/status', `/tmp/build-${1}/obj.o`,
    `${PROJ}/packages/pkg7/secrets/key`, '/opt/vendor3/share/data.bin', `${HOME}/.cache/node/x`,
  ];
  const ops: Operation[] = [];
  const fops = ['read', 'open', 'stat', 'write', 'create', 'exec'] as const;
  const bins = ['/usr/bin/git', '/usr/bin/node', '/bin/sh', '/usr/bin/sudo', '/opt/vendor4/bin/run', `${PROJ}/node_modules/.bin/tsc`, '/usr/local/bin/tool7'];
  const hosts = ['svc3.example.com', 'api.svc9.example.net', 'evil.example.org', 'svc29.example.com'];
  for (let i = 0; i < n; i++) {
    const r = rnd();
    if (r < 0.6) ops.push({ kind: 'file', op: pick([...fops]), path: pick(filePaths) });
    else if (r < 0.8) ops.push({ kind: 'exec', path: pick(bins), argv: [pick(bins), pick(['status', 'push', '-c', 'build'])], depth: 1 });
    else if (r < 0.95) ops.push(rnd() < 0.7 ? { kind: 'net', host: pick(hosts), ip: '93.184.216.34', port: 443, protocol: 'tcp' } : { kind: 'net', ip: pick(['10.1.2.3', '169.254.169.254', '8.8.8.8']), port: 443, protocol: 'tcp' });
    else ops.push({ kind: 'signal', signal: pick([9, 15, 1]), targets: rnd() < 0.8 ? ['children', 'descendants', 'session'] : ['external'] });
  }
  return ops;
}

function naiveEvaluator(p: Policy): (op: Operation) => string {
  const m = (g: string) => picomatch(g, { dot: true });
  const files = (p.file_rules ?? []).map((r) => ({ r, ms: r.paths.map(m) }));
  const cmds = (p.command_rules ?? []).map((r) => ({ r, ms: r.commands.map((c) => ({ full: c.includes('/'), m: m(c) })), args: r.args_patterns?.map((a) => new RegExp(a)) }));
  return (op) => {
    if (op.kind === 'file') {
      for (const { r, ms } of files) if ((!r.operations || r.operations.includes(op.op)) && ms.some((x) => x(op.path))) return r.decision;
      return 'deny';
    }
    if (op.kind === 'exec') {
      const base = op.path.slice(op.path.lastIndexOf('/') + 1);
      for (const { r, ms, args } of cmds) {
        if (!ms.some((x) => x.m(x.full ? op.path : base))) continue;
        if (args && !args.some((a) => a.test(op.argv.slice(1).join(' ')))) continue;
        return r.decision;
      }
      return 'deny';
    }
    return 'deny';
  };
}

/**
 * Decisions per CPU-second of this (single-threaded) process: CPU time, not wall time, so other
 * load on the machine does not count against the engine. Wall-clock rate is printed alongside.
 */
function rate(fn: (op: Operation) => unknown, ops: Operation[], seconds: number): { cpu: number; wall: number } {
  let n = 0;
  let sink = 0;
  const cpu0 = process.cpuUsage();
  const start = process.hrtime.bigint();
  const until = start + BigInt(Math.round(seconds * 1e9));
  let now = start;
  while (now < until) {
    for (let i = 0; i < ops.length; i++) if (fn(ops[i]!)) sink++;
    n += ops.length;
    now = process.hrtime.bigint();
  }
  if (sink < 0) console.log(sink);
  const cpu = process.cpuUsage(cpu0);
  return { cpu: n / ((cpu.user + cpu.system) / 1e6), wall: n / (Number(now - start) / 1e9) };
}

const vars = { PROJECT_ROOT: PROJ, HOME, TMPDIR: '/tmp' };
const policy = loadPolicy({ text: buildPolicy(), source: 'bench-200', vars, env: {} });
const rules = ['file_rules', 'command_rules', 'network_rules', 'signal_rules'].reduce((n, k) => n + ((policy as unknown as Record<string, unknown[]>)[k]?.length ?? 0), 0);
const compiled = compilePolicy(policy);
// Operations arrive decoded from a wire (the supervisor's frames, JSON-RPC, HTTP), i.e. as flat
// strings; JSON round-tripping gives the same shape (template literals would be V8 cons strings).
const ops = JSON.parse(JSON.stringify(buildOps(100_000))) as Operation[];
const fileExecOps = ops.filter((o) => o.kind === 'file' || o.kind === 'exec');
const naive = naiveEvaluator(policy);

/** How fast this machine runs plain JS right now (steal time and load show up here). */
function calibrate(): number {
  const cpu0 = process.cpuUsage();
  let x = 0;
  for (let i = 0; i < 50_000_000; i++) x += i & 7;
  const cpu = process.cpuUsage(cpu0);
  if (x < 0) console.log(x);
  return ((cpu.user + cpu.system) * 1000) / 50_000_000;
}

const loopNs = calibrate();
rate(compiled.evaluate, ops, 0.5); // warm-up
const mixed = rate(compiled.evaluate, ops, 3);
const fe = rate(compiled.evaluate, fileExecOps, 2);
const base = rate(naive, fileExecOps, 2);
const fmt = (x: { cpu: number; wall: number }) => `${(x.cpu / 1e6).toFixed(2)} M/s per CPU-second (${(x.wall / 1e6).toFixed(2)} M/s wall)`;
console.log(`calibration: one trivial JS loop iteration takes ${loopNs.toFixed(2)} ns of CPU here (about 0.4-0.8 ns on an unloaded 2.5 GHz core); the figures below scale with it`);
console.log(`policy: ${rules} rules; stream: ${ops.length} operations (60% file, 20% exec, 15% net, 5% signal)`);
console.log(`compiled engine, mixed stream:      ${fmt(mixed)}: ${(mixed.cpu / TARGET).toFixed(2)}x the 2 M/s target, ${(1e9 / mixed.cpu).toFixed(0)} ns/decision`);
console.log(`compiled engine, file+exec only:    ${fmt(fe)}`);
console.log(`baseline, naive in-order picomatch: ${fmt(base)}: compiled is ${(fe.cpu / base.cpu).toFixed(1)}x faster on the same file+exec stream`);
console.log(`RESULT policy-eval decisions_per_cpu_s=${Math.round(mixed.cpu)} ratio_vs_target=${(mixed.cpu / TARGET).toFixed(2)} speedup_vs_naive=${(fe.cpu / base.cpu).toFixed(1)} loop_ns=${loopNs.toFixed(2)} decision_in_loop_iterations=${(1e9 / mixed.cpu / loopNs).toFixed(0)}`);
