// `cordon run` end to end: policy → environment → audit log → cgroup → supervisor → status.
// Each step that cannot be enforced stops the run with exitCode 126 and says which one.
import { mkdirSync, mkdtempSync, realpathSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import type { CompiledPolicy } from '../policy/index.js';
import { applyEnvPolicy, createSessionCgroup, sessionTrashDir, trashRoot } from './support.js';
import { newSessionId, openProcsFds, runSandbox, SandboxError, type Approver, type RunSandboxResult, type SandboxEvent, type StdioSlot } from './session.js';
import { policyNeedsEgress, type Degradable } from './spec.js';
import { redactArgv } from './redact.js';

export interface RunCommandOptions {
  argv: string[];
  policy: CompiledPolicy;
  cwd: string;
  /** Audit chain file (default: <state>/sessions/<session>.jsonl). */
  auditFile?: string;
  degraded?: readonly Degradable[];
  onEvent?: (e: SandboxEvent) => void;
  /** Environment before env_policy (default process.env). */
  env?: Readonly<Record<string, string | undefined>>;
  approver?: Approver;
  verbose?: (line: string) => void;
  stdio?: [StdioSlot, StdioSlot, StdioSlot];
  /** Passed to the supervisor for the session's lifetime (tests: observe its pid). */
  onSupervisorPid?: (pid: number) => void;
  /** Start Cordon egress when the policy allows any network (default true); false: loopback only. */
  egress?: boolean;
  /** Leave plain read-only opens to Landlock when the policy allows it exactly (default true). */
  readFastPath?: boolean;
}

/** The canonical form of a path Cordon protects: the supervisor matches canonical paths, so a
 * relative `--audit` file or a symlinked HOME / XDG_STATE_HOME would otherwise never match. */
export function canonicalProtected(p: string): string {
  const abs = resolve(p);
  try {
    return realpathSync(abs);
  } catch {
    return join(realpathSync(dirname(abs)), basename(abs));
  }
}

export async function runCommand(o: RunCommandOptions): Promise<RunSandboxResult & { session: string; auditFile: string }> {
  const { openAuditLog, stateDir } = await import('../audit/index.js');
  const session = newSessionId();
  const state = stateDir();
  const auditFile = o.auditFile ?? join(state, 'sessions', `${session}.jsonl`);
  o.verbose?.(`session ${session}; audit log ${auditFile}`);
  const envResult = applyEnvPolicy(o.policy.policy.env_policy, o.env ?? process.env);
  for (const r of envResult.removed) o.verbose?.(`env: not passing ${r.name} (${r.reason}: ${r.detail})`);
  let audit;
  try {
    mkdirSync(join(state, 'sessions'), { recursive: true, mode: 0o700 });
    audit = await openAuditLog({ file: auditFile });
  } catch (e) {
    throw new SandboxError(`cannot open the audit log ${auditFile}: ${(e as Error).message}. Every decision must be recorded, so nothing ran; pass --audit FILE to choose another place.`);
  }
  const limits = o.policy.policy.resource_limits;
  let cgroup;
  try {
    cgroup = createSessionCgroup({ session, limits: limits ?? {} });
  } catch (e) {
    await audit.close().catch(() => {});
    throw new SandboxError(`cannot create the session's cgroup: ${(e as Error).message}. cordon run tracks and kills the whole process tree through it (and enforces resource_limits), so nothing ran.`);
  }
  let fds: number[] = [];
  try {
    fds = openProcsFds(cgroup.procsFiles);
    const startArgv = redactArgv(o.argv); // invariant 7: no secrets from argv in the chain
    await audit.append({ kind: 'session', operation: 'start', subject: session, session, policyDigest: o.policy.digest, fields: { argv: startArgv.argv, cwd: o.cwd, policy: o.policy.policy.name }, ...(startArgv.redacted.length ? { redacted: startArgv.redacted.map((i) => `/fields/argv/${i}`) } : {}) });
    let egress: { close(): Promise<void> } | undefined;
    let resolvDir: string | undefined;
    const wantEgress = o.egress !== false && policyNeedsEgress(o.policy.policy);
    const netModule = wantEgress ? import('../net/index.js') : undefined; // loads while the sandbox starts
    const onNetns = !wantEgress ? undefined : async (initPid: number) => {
      const net = await netModule!;
      const approver = o.approver;
      const e = await net.startEgress({
        policy: o.policy, netns: initPid, audit, session,
        ...(approver ? { approver: async (op, d) => (await approver({ summary: `network ${JSON.stringify(op)}`, rule: d.rule, message: d.message, timeoutMs: d.timeoutMs ?? 300_000 })) === 'allow' } : {}),
        onError: (err) => o.verbose?.(`egress: ${(err as Error).message}`),
      });
      egress = e;
      resolvDir = mkdtempSync(join(tmpdir(), 'cordon-resolv-'));
      const resolvConfPath = join(resolvDir, 'resolv.conf');
      writeFileSync(resolvConfPath, e.resolvConf, { mode: 0o644 });
      return { env: e.env, resolvConfPath };
    };
    // The session trash exists only when the policy can soft-delete (the supervisor moves into it).
    const pol = o.policy.policy;
    const trashDir = (pol.file_rules ?? []).some((r) => r.decision === 'soft_delete') ? sessionTrashDir(session) : undefined;
    const protectedPaths = [...new Set([state, trashRoot(), auditFile].map(canonicalProtected))];
    let killedBy: string | undefined;
    cgroup.onKill((r) => { killedBy = r; });
    cgroup.startTimers();
    const res = await runSandbox({
      argv: o.argv, policy: o.policy, cwd: o.cwd, env: envResult.env, audit, session, degraded: o.degraded ?? [],
      protectedPaths,
      cgroupProcsFds: fds,
      ...(trashDir ? { trashDir } : {}),
      ...(o.approver ? { approver: o.approver } : {}),
      ...(o.onEvent ? { onEvent: o.onEvent } : {}),
      ...(o.stdio ? { stdio: o.stdio } : {}),
      ...(o.onSupervisorPid ? { onSupervisorPid: o.onSupervisorPid } : {}),
      ...(onNetns ? { onNetns } : {}),
      ...(o.readFastPath === false ? { readFastPath: false } : {}),
    }).finally(async () => {
      await egress?.close().catch(() => {});
      if (resolvDir) rmSync(resolvDir, { recursive: true, force: true });
    });
    if (trashDir) { try { rmdirSync(trashDir); } catch { /* not empty: something was soft-deleted */ } }
    fds = [];
    if (killedBy && killedBy !== 'teardown') res.limitKill = `the command was stopped by resource_limits (${killedBy})`;
    await audit.append({ kind: 'session', operation: 'end', subject: session, session, fields: { exitCode: res.exitCode, ...(res.limitKill ? { limitKill: res.limitKill } : {}), nativeAllows: res.nativeAllows, cachedDecisions: res.cacheHits, ...(res.cordonError ? { error: res.cordonError } : {}) } });
    return { ...res, session, auditFile };
  } finally {
    await cgroup.destroy().catch(() => {});
    await audit.close().catch(() => {});
  }
}
