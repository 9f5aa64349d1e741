// `cordon run` end to end: policy → environment → audit log → cgroup → supervisor → status.
// Each step that cannot be enforced stops the run with exitCode 126 and says which one.
import { closeSync, mkdirSync, mkdtempSync, realpathSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import type { CompiledPolicy } from '../policy/index.js';
import { applyEnvPolicy, createSessionCgroup, sessionTrashDir, trashRoot } from './support.js';
import { newSessionId, openProcsFds, runSandbox, SandboxError, type Approver, type RunSandboxResult, type SandboxEvent, type StdioSlot } from './session.js';
import { policyNeedsEgress, type Degradable } from './spec.js';
import { redactArgv } from './redact.js';
import { readFastPath } from './read-fastpath.js';

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
  const wantEgress = o.egress !== false && policyNeedsEgress(o.policy.policy);
  const netModule = wantEgress ? import('../net/index.js') : undefined; // loads while the sandbox starts
  netModule?.catch(() => { /* reported where it is awaited (onNetns) */ });
  // Start work overlaps: the audit log opens and records the session start (file I/O off this
  // thread) while the cgroup, the environment and the read fast path are prepared here. The
  // supervisor starts only once all of them are done: nothing runs unrecorded or untracked.
  const startArgv = redactArgv(o.argv); // invariant 7: no secrets from argv in the chain
  let audit: Awaited<ReturnType<typeof openAuditLog>> | undefined;
  const auditReady = (async () => {
    try {
      mkdirSync(join(state, 'sessions'), { recursive: true, mode: 0o700 });
      audit = await openAuditLog({ file: auditFile });
    } catch (e) {
      throw new SandboxError(`cannot open the audit log ${auditFile}: ${(e as Error).message}. Every decision must be recorded, so nothing ran; pass --audit FILE to choose another place.`);
    }
    performance.mark('cordon:audit-open');
    await audit.append({ kind: 'session', operation: 'start', subject: session, session, policyDigest: o.policy.digest, fields: { argv: startArgv.argv, cwd: o.cwd, policy: o.policy.policy.name }, ...(startArgv.redacted.length ? { redacted: startArgv.redacted.map((i) => `/fields/argv/${i}`) } : {}) });
    performance.mark('cordon:start-recorded');
  })();
  auditReady.catch(() => { /* awaited below */ });
  const envResult = applyEnvPolicy(o.policy.policy.env_policy, o.env ?? process.env);
  for (const r of envResult.removed) o.verbose?.(`env: not passing ${r.name} (${r.reason}: ${r.detail})`);
  const limits = o.policy.policy.resource_limits;
  let cgroup;
  try {
    cgroup = createSessionCgroup({ session, limits: limits ?? {} });
    performance.mark('cordon:cgroup');
  } catch (e) {
    const why = `cannot create the session's cgroup: ${(e as Error).message}. cordon run tracks and kills the whole process tree through it (and enforces resource_limits), so nothing ran.`;
    await auditReady.catch(() => {});
    await audit?.append({ kind: 'session', operation: 'end', subject: session, session, fields: { error: why } }).catch(() => {});
    await audit?.close().catch(() => {});
    throw new SandboxError(why);
  }
  let fds: number[] = [];
  try {
    // The session trash exists only when the policy can soft-delete (the supervisor moves into it).
    const pol = o.policy.policy;
    const trashDir = (pol.file_rules ?? []).some((r) => r.decision === 'soft_delete') ? sessionTrashDir(session) : undefined;
    const protectedPaths = [...new Set([state, trashRoot(), auditFile].map(canonicalProtected))];
    // Protected paths are over-mounted (hidden) inside the sandbox, so they need no carve-out here.
    const fast = o.readFastPath === false ? undefined : readFastPath(o.policy, []);
    performance.mark('cordon:read-fastpath');
    fds = openProcsFds(cgroup.procsFiles);
    await auditReady;
    const log = audit!;
    let egress: { close(): Promise<void> } | undefined;
    let resolvDir: string | undefined;
    const onNetns = !wantEgress ? undefined : async (initPid: number) => {
      performance.mark('cordon:netns');
      const net = await netModule!;
      performance.mark('cordon:net-imported');
      const approver = o.approver;
      const e = await net.startEgress({
        policy: o.policy, netns: initPid, audit: log, session,
        ...(approver ? { approver: async (op, d) => (await approver({ summary: `network ${JSON.stringify(op)}`, rule: d.rule, message: d.message, timeoutMs: d.timeoutMs ?? 300_000 })) === 'allow' } : {}),
        onError: (err) => o.verbose?.(`egress: ${(err as Error).message}`),
      });
      egress = e;
      performance.mark('cordon:egress-started');
      resolvDir = mkdtempSync(join(tmpdir(), 'cordon-resolv-'));
      const resolvConfPath = join(resolvDir, 'resolv.conf');
      writeFileSync(resolvConfPath, e.resolvConf, { mode: 0o644 });
      return { env: e.env, resolvConfPath };
    };
    let killedBy: string | undefined;
    cgroup.onKill((r) => { killedBy = r; });
    cgroup.startTimers();
    const cgroupProcsFds = fds;
    fds = []; // runSandbox owns (and closes) them from here on
    const res = await runSandbox({
      argv: o.argv, policy: o.policy, cwd: o.cwd, env: envResult.env, audit: log, session, degraded: o.degraded ?? [],
      protectedPaths,
      cgroupProcsFds,
      ...(trashDir ? { trashDir } : {}),
      ...(o.approver ? { approver: o.approver } : {}),
      ...(o.onEvent ? { onEvent: o.onEvent } : {}),
      ...(o.stdio ? { stdio: o.stdio } : {}),
      ...(o.onSupervisorPid ? { onSupervisorPid: o.onSupervisorPid } : {}),
      ...(onNetns ? { onNetns } : {}),
      readFastPath: fast ?? false,
    }).finally(async () => {
      performance.mark('cordon:sandbox-done');
      await egress?.close().catch(() => {});
      performance.mark('cordon:egress-closed');
      if (resolvDir) rmSync(resolvDir, { recursive: true, force: true });
    });
    if (trashDir) { try { rmdirSync(trashDir); } catch { /* not empty: something was soft-deleted */ } }
    if (killedBy && killedBy !== 'teardown') res.limitKill = `the command was stopped by resource_limits (${killedBy})`;
    await log.append({ kind: 'session', operation: 'end', subject: session, session, fields: { exitCode: res.exitCode, ...(res.limitKill ? { limitKill: res.limitKill } : {}), nativeAllows: res.nativeAllows, cachedDecisions: res.cacheHits, ...(res.cordonError ? { error: res.cordonError } : {}) } });
    performance.mark('cordon:end-recorded');
    return { ...res, session, auditFile };
  } finally {
    for (const fd of fds) { try { closeSync(fd); } catch { /* already closed */ } }
    await auditReady.catch(() => {});
    await cgroup.destroy().catch(() => {});
    performance.mark('cordon:cgroup-destroyed');
    await audit?.close().catch(() => {});
    performance.mark('cordon:audit-closed');
  }
}
