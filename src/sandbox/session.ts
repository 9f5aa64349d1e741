// One `cordon run` session: starts native/build/cordon-supervisor with the control socket on
// fd 3, sends the spec, answers its questions with the policy, carries out approve (a human),
// soft_delete (the trash) and audit, and returns the command's exit status.
//
// Fail closed: the supervisor refusing to start (missing kernel feature, bad spec) is an error
// with exitCode 126 naming the cause; an audit append that fails denies the operation (deny,
// approve and audit decisions wait for the append before answering) or, for an allow answered
// before its record became durable, ends the whole session (exit 126). If this process dies, the
// supervisor sees its control socket close and kills the sandbox.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CompiledPolicy, Decision } from '../policy/index.js';
import type { AuditEventInput, AuditSink } from '../audit/index.js';
import { answerFor, decideQuestion, describe, opsFromMask, type Answer, type Question, parseQuestion } from './decide.js';
import { ANS, FrameReader, FrameSplitter, FrameWriter, TO_SUPERVISOR } from './protocol.js';
import { buildSpec, encodeSpec, type Degradable } from './spec.js';
import { readFastPath, type ReadFastPath } from './read-fastpath.js';
import { redactArgv } from './redact.js';
import { abandonTrashEntry, completeTrashEntry, prepareTrashEntry, type PendingTrash } from './trash.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const SUPERVISOR_PATH = join(ROOT, 'native', 'build', 'cordon-supervisor');

export class SandboxError extends Error {
  constructor(message: string, readonly exitCode = 126) {
    super(message);
    this.name = 'SandboxError';
  }
}

/** What `cordon run` reports as each decision happens (also the `--json-events` lines). */
export interface SandboxEvent {
  type: 'decision' | 'exec_killed' | 'started' | 'exit' | 'error';
  time: string;
  pid?: number;
  kind?: Question['kind'];
  subject?: string;
  operation?: string;
  decision?: Decision['decision'];
  rule?: string;
  message?: string;
  detail?: string;
  exitCode?: number;
}

export interface Approver {
  (req: { summary: string; rule: string; message?: string | undefined; timeoutMs: number }): Promise<'allow' | 'deny'>;
}

export interface RunSandboxOptions {
  argv: string[];
  policy: CompiledPolicy;
  cwd: string;
  /** The command's environment after env_policy (the caller applies it). */
  env: Record<string, string>;
  audit: AuditSink;
  session?: string;
  degraded?: readonly Degradable[];
  /** Files the sandbox may not touch at all (audit log, trash, Cordon's state dir). */
  protectedPaths?: readonly string[];
  /** fds (O_WRONLY cgroup.procs files) the sandbox's init writes itself into. */
  cgroupProcsFds?: number[];
  approver?: Approver;
  /** The session trash directory (sessionTrashDir): soft_delete moves into it (the supervisor
   * moves the pinned object; this process only writes the index). Absent: soft_delete denies. */
  trashDir?: string;
  onEvent?: (e: SandboxEvent) => void;
  supervisorPath?: string;
  /** stdin, stdout, stderr of the sandboxed command (default: inherited). */
  stdio?: [StdioSlot, StdioSlot, StdioSlot];
  onSupervisorPid?: (pid: number) => void;
  /** Called once the network namespace exists (init's pid); returns the command's extra
   * environment and a resolv.conf file to bind over /etc/resolv.conf. Enables egress. */
  onNetns?: (initPid: number) => Promise<{ env: Record<string, string>; resolvConfPath?: string }>;
  /** Leave plain read-only opens to Landlock when the policy allows it exactly (default true);
   * or the fast path the caller already computed for this policy (runCommand does, meanwhile). */
  readFastPath?: boolean | ReadFastPath;
}

export type StdioSlot = 'inherit' | 'ignore' | number;

export interface RunSandboxResult {
  /** The command's status: its exit code, or 128+N when killed by signal N. */
  exitCode: number;
  signal?: number;
  /** Set when the session was ended by Cordon (audit failure) rather than by the command. */
  cordonError?: string;
  sandboxPid: number;
  /** Set when resource_limits (timeout, cgroup kill) ended the command; its status stays as is. */
  limitKill?: string;
  /** File operations allowed by the supervisor's native table (counted, not recorded one by one). */
  nativeAllows: number;
  /** File operations answered from the supervisor's decision cache. */
  cacheHits: number;
}

const AUDIT_KIND = { file: 'file', exec: 'exec', unix: 'unix_socket', signal: 'signal' } as const;

export function newSessionId(): string {
  return `s-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}

export function runSandbox(o: RunSandboxOptions): Promise<RunSandboxResult> {
  const sup = o.supervisorPath ?? SUPERVISOR_PATH;
  if (!existsSync(sup)) {
    for (const fd of o.cgroupProcsFds ?? []) { try { closeSync(fd); } catch { /* already closed */ } }
    return Promise.reject(new SandboxError(`the native supervisor ${sup} is missing; run \`npm install\` (it builds native/ with the system C compiler)`));
  }
  const session = o.session ?? newSessionId();
  // Protected paths are over-mounted (hidden) inside the sandbox, so they need no carve-out here.
  const fast = o.readFastPath === false ? undefined : typeof o.readFastPath === 'object' ? o.readFastPath : readFastPath(o.policy, []);
  const spec = buildSpec({
    readGrants: fast?.on ? fast.grants : undefined, policy: o.policy.policy, argv: o.argv, env: o.env, cwd: o.cwd, degraded: o.degraded ?? [], protectedPaths: o.protectedPaths ?? [], fault: process.env.CORDON_TEST_FAULT, egress: o.onNetns !== undefined, trashDir: o.trashDir });
  const cg = o.cgroupProcsFds ?? [];
  // An empty environment: the supervisor needs none, and its sandbox init inherits it.
  performance.mark('cordon:spec-built');
  const child = spawn(sup, [], { stdio: [...(o.stdio ?? ['inherit', 'inherit', 'inherit']), 'pipe', ...cg], detached: false, env: {} });
  const ctl = child.stdio[3] as import('node:net').Socket;
  performance.mark('cordon:supervisor-spawned');
  if (child.pid) o.onSupervisorPid?.(child.pid);
  const hasSchedule = o.policy.policy.schedule !== undefined;
  const emit = (e: Omit<SandboxEvent, 'time'>) => o.onEvent?.({ time: new Date().toISOString(), ...e });

  return new Promise<RunSandboxResult>((resolve, reject) => {
    let fatal: string | undefined;
    let cordonError: string | undefined;
    let exit: { status: number; real: boolean } | undefined;
    let sandboxPid = 0;
    let nativeAllows = 0;
    let cacheHits = 0;
    let settled = false;
    const pending = new Set<Promise<unknown>>();
    const trashing = new Map<number, PendingTrash & { rule: string }>();

    const send = (b: Buffer) => { if (!ctl.destroyed) ctl.write(b); };
    const terminate = (why: string) => {
      if (!cordonError) cordonError = why;
      send(new FrameWriter(TO_SUPERVISOR.terminate).frame());
    };
    const answer = (q: Question, a: Answer) => {
      send(new FrameWriter(TO_SUPERVISOR.answer).u32(q.id).u8(a.ans).u32(a.errno).u8(a.cacheable ? 1 : 0).str(a.text).frame());
    };
    const record = (q: Question, d: Decision, final: Decision['decision'], extra?: Record<string, unknown>): Promise<void> => {
      // Invariant 7: secrets in argv never reach the audit chain (src/sandbox/redact.ts).
      const red = q.kind === 'exec' ? redactArgv(q.argv) : undefined;
      const ev: AuditEventInput = {
        kind: AUDIT_KIND[q.kind],
        operation: q.kind === 'file' ? [...q.ops, ...q.ops2].join('+') : q.kind === 'exec' ? 'exec' : q.kind === 'unix' ? q.op : 'signal',
        subject: q.kind === 'file' ? (q.path2 ? `${q.path} -> ${q.path2}` : q.path) : q.kind === 'exec' ? q.path : q.kind === 'unix' ? q.path : String(q.targetPid),
        decision: final,
        rule: d.rule,
        policyDigest: o.policy.digest,
        session,
        process: { pid: q.pid, ...(red ? { argv: red.argv } : {}) },
      };
      if (red?.redacted.length) ev.redacted = red.redacted.map((i) => `/process/argv/${i}`);
      if (d.message) ev.message = d.message;
      const fields: Record<string, unknown> = { ...extra };
      if (q.kind === 'signal') Object.assign(fields, { signal: q.signal, targets: q.targets });
      if (q.kind === 'exec') Object.assign(fields, { depth: q.depth, ...(q.interp ? { interpreter: q.interp } : {}) });
      if (Object.keys(fields).length) ev.fields = fields;
      emit({ type: 'decision', pid: q.pid, kind: q.kind, subject: ev.subject, operation: ev.operation, decision: final, rule: d.rule, ...(d.message ? { message: d.message } : {}) });
      return o.audit.append(ev);
    };

    const onQuestion = async (q: Question) => {
      const { decision: d } = decideQuestion(o.policy, q);
      let a = answerFor(q, d, hasSchedule);
      let final = d.decision;
      const extra: Record<string, unknown> = {};
      if (d.decision === 'approve') {
        let verdict: 'allow' | 'deny' = 'deny';
        try {
          verdict = o.approver ? await o.approver({ summary: describe(q), rule: d.rule, message: d.message, timeoutMs: d.timeoutMs ?? 300_000 }) : 'deny';
        } catch { verdict = 'deny'; }
        extra.approval = verdict;
        if (verdict === 'allow') a = { ans: ANS.allow, errno: 0, cacheable: false, text: '' };
        final = verdict === 'allow' ? 'allow' : 'deny';
      } else if (d.decision === 'soft_delete') {
        if (q.kind === 'file' && !q.ops2.length && (q.ops.includes('delete') || q.ops.includes('rmdir')) && o.trashDir) {
          try {
            // The index entry first; the supervisor then moves the object it pinned into
            // <trashDir>/<id>/data and reports back ('Z').
            const p = prepareTrashEntry(q.path, session, o.trashDir);
            trashing.set(q.id, { ...p, rule: d.rule });
            extra.trashId = p.entry.id;
            a = { ans: ANS.trash, errno: 0, cacheable: false, text: p.name };
          } catch (e) {
            extra.trashError = (e as Error).message;
            final = 'deny';
          }
        } else {
          final = 'deny';
          extra.note = 'soft_delete applies to deletions only; other operations under a soft_delete rule are denied';
        }
      }
      if (a.ans === ANS.allow && d.decision === 'allow') {
        // Plain allow: answer now, record durably in the background; a failed record ends the session.
        answer(q, a);
        const p = record(q, d, final, extra).catch((e: Error) => terminate(`audit write failed (${e.message}); the session was stopped because allowed operations can no longer be recorded`));
        pending.add(p);
        void p.finally(() => pending.delete(p));
        return;
      }
      try {
        await record(q, d, final, extra);
      } catch (e) {
        // Cannot record: deny, and stop the session (fail closed).
        answer(q, { ans: ANS.deny, errno: 13, cacheable: false, text: 'cannot record this operation in the audit trail' });
        terminate(`audit write failed (${(e as Error).message})`);
        return;
      }
      answer(q, a);
    };

    const onFrame = (f: Buffer) => {
      const r = new FrameReader(f);
      const t = r.type;
      r.skipType();
      try {
        if (t === 'Q') {
          const q = parseQuestion(r);
          void onQuestion(q).catch((e: Error) => {
            answer(q, { ans: ANS.deny, errno: 13, cacheable: false, text: '' });
            terminate(`internal error deciding ${describe(q)}: ${e.message}`);
          });
        } else if (t === 'S') {
          sandboxPid = r.u32();
          performance.mark('cordon:started');
          emit({ type: 'started', pid: sandboxPid, detail: `landlock ABI ${r.u32()}, flags ${r.u32()}` });
        } else if (t === 'K') {
          const pid = r.u32();
          const expected = r.str();
          const why = r.str();
          emit({ type: 'exec_killed', pid, subject: expected, detail: why });
          const p = o.audit.append({ kind: 'exec', operation: 'exec', subject: expected, decision: 'deny', rule: 'exec-verification', message: why, session, process: { pid }, policyDigest: o.policy.digest })
            .catch((e: Error) => terminate(`audit write failed (${e.message})`));
          pending.add(p);
          void p.finally(() => pending.delete(p));
        } else if (t === 'V') {
          // A deny the supervisor decided natively: the engine names the rule; always recorded.
          const pid = r.u32(), nr = r.u32();
          const ops = opsFromMask(r.u32()), path = r.str(), ops2 = opsFromMask(r.u32()), path2 = r.str();
          r.u32();
          const q: Question = { kind: 'file', id: 0, pid, nr, ops, path, ops2, path2 };
          const { decision } = decideQuestion(o.policy, q);
          const p = record(q, decision, 'deny', { native: true }).catch((e: Error) => terminate(`audit write failed (${e.message})`));
          pending.add(p);
          void p.finally(() => pending.delete(p));
        } else if (t === 'Z') {
          // The supervisor's soft_delete result: complete the index entry or drop it.
          const id = r.u32(), err = r.u32(), method = r.u32() === 1 ? 'copy' as const : 'rename' as const;
          const mode = r.u32(), uid = r.u32(), gid = r.u32();
          const size = Number(r.str()), mtimeMs = Number(r.str()), atimeMs = Number(r.str());
          const p = trashing.get(id);
          trashing.delete(id);
          if (p) {
            try {
              if (err === 0) completeTrashEntry(p, { mode, uid, gid, size, mtimeMs, atimeMs, method });
              else {
                abandonTrashEntry(p);
                // The soft_delete decision was recorded before the move; its failure is too.
                const f = o.audit.append({ kind: 'file', operation: 'delete', subject: p.entry.originalPath, decision: 'deny', rule: p.rule, session, policyDigest: o.policy.digest, message: `soft_delete could not move the object into the trash (errno ${err}); it was left in place`, fields: { trashId: p.entry.id } })
                  .catch((e: Error) => terminate(`audit write failed (${e.message})`));
                pending.add(f);
                void f.finally(() => pending.delete(f));
              }
            } catch (e) {
              terminate(`cannot complete the trash index for ${p.entry.originalPath} (${(e as Error).message})`);
            }
          }
        } else if (t === 'C') {
          nativeAllows = r.u32();
          cacheHits = r.u32();
        } else if (t === 'N') {
          const initPid = r.u32();
          void (async () => {
            try {
              const e = await o.onNetns!(initPid);
              const w = new FrameWriter(TO_SUPERVISOR.hold).u32(Object.keys(e.env).length);
              for (const [k, v] of Object.entries(e.env)) w.str(`${k}=${v}`);
              send(w.str(e.resolvConfPath ?? '').frame());
              performance.mark('cordon:hold-sent');
            } catch (err) {
              // The first cause wins: egress starts while init sets up, so init's own failure
              // (reported in an 'F' frame) can come first and make egress fail after it.
              fatal ??= `cannot start egress for the sandbox: ${(err as Error).message}`;
              send(new FrameWriter(TO_SUPERVISOR.terminate).frame());
            }
          })();
        } else if (t === 'F') {
          r.u32();
          const m = r.str();
          fatal ??= m; // an earlier cause (egress) wins
        } else if (t === 'Y') {
          performance.mark('cordon:exit-frame');
          const status = r.u32();
          exit = { status, real: r.u32() === 1 };
        }
      } catch (e) {
        fatal = `protocol error from the supervisor: ${(e as Error).message}`;
        child.kill('SIGKILL');
      }
    };

    const split = new FrameSplitter();
    ctl.on('data', (c: Buffer) => split.push(c, onFrame));
    ctl.on('error', () => { /* the exit handler reports */ });
    // The control socket is not the child's stdio: its last frames (the exit status) can still
    // be unread when the child's 'close' fires. Wait for the socket to close too (bounded), so a
    // normal end is never mistaken for a supervisor crash.
    const ctlClosed = new Promise<void>((res) => {
      ctl.once('close', () => res());
      ctl.once('end', () => res());
    });
    child.on('error', (e) => { if (!settled) { settled = true; reject(new SandboxError(`cannot start the supervisor ${sup}: ${e.message}`)); } });
    child.on('close', async (code, sig) => {
      performance.mark('cordon:supervisor-closed');
      for (const fd of cg) { try { closeSync(fd); } catch { /* already closed */ } }
      await Promise.race([ctlClosed, new Promise((res) => setTimeout(res, 2000).unref())]);
      await Promise.allSettled([...pending]);
      if (settled) return;
      settled = true;
      if (fatal) return reject(new SandboxError(fatal));
      if (!exit) return reject(new SandboxError(`the supervisor ended unexpectedly (${sig ?? `exit ${code}`}); the sandboxed command was killed with it`));
      const st = exit.status;
      const termsig = st & 0x7f;
      const res: RunSandboxResult = termsig === 0 ? { exitCode: (st >> 8) & 0xff, sandboxPid, nativeAllows, cacheHits } : { exitCode: 128 + termsig, signal: termsig, sandboxPid, nativeAllows, cacheHits };
      if (!exit.real) res.exitCode = 128 + 9;
      if (cordonError) res.cordonError = cordonError;
      emit({ type: 'exit', exitCode: res.exitCode });
      resolve(res);
    });
    ctl.write(encodeSpec(spec, cg.map((_fd, i) => 4 + i)));
  });
}

/** Writes events as JSON lines to an fd the caller opened (`--json-events FD`). */
export function jsonEventWriter(fd: number): (e: SandboxEvent) => void {
  return (e) => {
    try { writeSync(fd, `${JSON.stringify(e)}\n`); } catch { /* reader went away: events are best effort, audit is not */ }
  };
}

export function openProcsFds(files: readonly string[]): number[] {
  return files.map((f) => openSync(f, 'w'));
}
