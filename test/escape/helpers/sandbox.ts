// Shared by test/escape and test/sandbox: run a command under a policy in-process (the same
// runCommand `cordon run` uses), capture its output and the decisions, and build the two
// policies of an attack test: the protected one and the control that differs by ONE rule.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compilePolicy, loadPolicy } from '../../../src/policy/index.js';
import { runCommand, SUPERVISOR_PATH, type Approver, type SandboxEvent } from '../../../src/sandbox/index.js';

export const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
export const PROBES = join(ROOT, 'native', 'build', 'probes');
export const PROBE = join(PROBES, 'escape');
export const MARK = join(PROBES, 'mark');
export const STATIC_RAW = join(PROBES, 'static_raw');

/** These tests need root and the built supervisor; without them they FAIL (never skip). */
export function requireSandbox(): void {
  assert.equal(process.getuid?.(), 0, 'the sandbox tests need root (namespaces, cgroups, seccomp listener); run them as root');
  assert.ok(existsSync(SUPERVISOR_PATH), `native supervisor missing at ${SUPERVISOR_PATH}: run npm run build`);
  assert.ok(existsSync(PROBE), `escape probes missing at ${PROBES}: run npm run build`);
}

export interface Layout {
  base: string;
  work: string;
  secret: string;
  secretFile: string;
}

/** A temp tree: work/ (the project), secret/file (contents "SECRET data"). */
export function layout(): Layout {
  const base = mkdtempSync(join(tmpdir(), 'cordon-esc-'));
  const work = join(base, 'work');
  const secret = join(base, 'secret');
  mkdirSync(work);
  mkdirSync(secret);
  const secretFile = join(secret, 'file');
  writeFileSync(secretFile, 'SECRET data\n');
  return { base, work, secret, secretFile };
}

export interface PolicyOpts {
  /** The one rule the control flips: the secret directory denied (true) or allowed (false). */
  secretDenied?: boolean;
  /** Command rule: ${WORK}/no/** denied (true) or allowed (false). */
  noBinDenied?: boolean;
  extraFileRules?: string;
  resourceLimits?: string;
}

export function policyYaml(l: Layout, o: PolicyOpts = {}): string {
  const sd = o.secretDenied ?? true;
  const nd = o.noBinDenied ?? true;
  return `version: 1
name: escape-test
defaults: { file: deny, command: deny, unix_socket: deny, signal: deny }
file_rules:
${o.extraFileRules ?? ''}
  - name: secret
    paths: ["${l.secret}", "${l.secret}/**"]
    decision: ${sd ? 'deny' : 'allow'}
  - name: work
    paths: ["${l.work}", "${l.work}/**"]
    decision: allow
  - name: devices
    paths: ["/dev/null", "/dev/tty", "/dev/ptmx", "/dev/pts/**", "/dev/urandom"]
    decision: allow
  - name: system
    paths: ["/usr/**", "/lib/**", "/lib64/**", "/bin/**", "/etc/**", "/proc/**", "/sys/**", "/dev/**", "${PROBES}/**", "${ROOT}node_modules/**", "${ROOT}dist/**"]
    operations: [read, open, stat, list, readlink, access, exec]
    decision: allow
  - name: look
    paths: ["/**"]
    operations: [stat]
    decision: allow
command_rules:
  - name: forbidden-bin
    commands: ["${l.work}/no/**"]
    decision: ${nd ? 'deny' : 'allow'}
    message: "forbidden binary"
  - name: tools
    commands: ["/usr/**", "/bin/**", "${l.work}/**", "${PROBES}/**"]
    decision: allow
signal_rules:
  - name: own
    signals: ["@all"]
    target: { type: session }
    decision: allow
${o.resourceLimits ?? ''}
`;
}

export interface RunOut {
  code: number;
  stdout: string;
  stderr: string;
  events: SandboxEvent[];
  cordonError?: string | undefined;
  session: string;
  auditFile: string;
}

/** yaml: policy text, or `{ builtin: 'agent-default' }` (PROJECT_ROOT = cwd). */
export async function sandboxRun(yaml: string | { builtin: string }, argv: string[], cwd: string, opts: { env?: Record<string, string>; onSupervisorPid?: (pid: number) => void; approver?: Approver; readFastPath?: boolean; egress?: boolean } = {}): Promise<RunOut> {
  const vars = { PROJECT_ROOT: cwd };
  const policy = compilePolicy(loadPolicy(typeof yaml === 'string' ? { text: yaml, source: 'test-policy', vars } : { builtin: yaml.builtin, vars }));
  const dir = mkdtempSync(join(tmpdir(), 'cordon-run-'));
  const outF = join(dir, 'out');
  const errF = join(dir, 'err');
  const o = openSync(outF, 'w');
  const e = openSync(errF, 'w');
  const events: SandboxEvent[] = [];
  try {
    const r = await runCommand({
      argv, policy, cwd, auditFile: join(dir, 'audit.jsonl'), stdio: ['ignore', o, e],
      env: opts.env ?? { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: process.env.HOME ?? '/root' },
      onEvent: (ev) => events.push(ev),
      ...(opts.onSupervisorPid ? { onSupervisorPid: opts.onSupervisorPid } : {}),
      ...(opts.approver ? { approver: opts.approver } : {}),
      ...(opts.readFastPath === false ? { readFastPath: false } : {}),
      ...(opts.egress === false ? { egress: false } : {}),
    });
    return { code: r.exitCode, stdout: readFileSync(outF, 'utf8'), stderr: readFileSync(errF, 'utf8'), events, cordonError: r.cordonError, session: r.session, auditFile: r.auditFile };
  } finally {
    closeSync(o);
    closeSync(e);
  }
}

/** The same command outside any sandbox (controls for built-in protections). */
export function bareRun(argv: string[], cwd: string): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(argv[0]!, argv.slice(1), { cwd, encoding: 'utf8', timeout: 30_000 });
  return { code: r.status ?? 128, stdout: r.stdout, stderr: r.stderr };
}

/** `result=X key=v ...` line of an escape probe → fields. */
export function probeResult(stdout: string): Record<string, string> {
  const line = stdout.split('\n').find((l) => l.startsWith('result=')) ?? '';
  return Object.fromEntries(line.split(' ').filter(Boolean).map((kv) => { const i = kv.indexOf('='); return [kv.slice(0, i), kv.slice(i + 1)]; }));
}
