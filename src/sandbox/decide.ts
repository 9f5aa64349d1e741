// Turns the supervisor's questions into policy operations and the policy's decisions into
// answers. Pure: no I/O here (session.ts does approvals, trash, audit and the socket).
import { FILE_OPS, severity, SIGNAL_TARGETS, type CompiledPolicy, type Decision, type Operation, type SignalTargetClass } from '../policy/index.js';
import { ANS } from './protocol.js';
import type { FrameReader } from './protocol.js';

export type Question =
  | { kind: 'file'; id: number; pid: number; nr: number; ops: string[]; path: string; ops2: string[]; path2: string }
  | { kind: 'exec'; id: number; pid: number; nr: number; depth: number; path: string; interp: string; argv: string[] }
  | { kind: 'unix'; id: number; pid: number; nr: number; op: 'connect' | 'bind' | 'sendto'; path: string }
  | { kind: 'signal'; id: number; pid: number; nr: number; signal: number; targetPid: number; targets: SignalTargetClass[]; targetName: string };

/** Signal target class bits (native/src/notify.c C_*), in this order. */
const CLASS_BITS: SignalTargetClass[] = ['self', 'children', 'descendants', 'siblings', 'session', 'parent', 'external', 'system'];

export function opsFromMask(mask: number): string[] {
  return FILE_OPS.filter((_o, i) => (mask & (1 << i)) !== 0);
}

export function parseQuestion(r: FrameReader): Question {
  const id = r.u32();
  const kind = String.fromCharCode(r.u32());
  const pid = r.u32();
  const nr = r.u32();
  switch (kind) {
    case 'f': {
      const ops = opsFromMask(r.u32());
      const path = r.str();
      const ops2 = opsFromMask(r.u32());
      return { kind: 'file', id, pid, nr, ops, path, ops2, path2: r.str() };
    }
    case 'x': {
      const depth = r.u32();
      const path = r.str();
      const interp = r.str();
      const argc = r.u32();
      const argv: string[] = [];
      for (let i = 0; i < argc; i++) argv.push(r.str());
      return { kind: 'exec', id, pid, nr, depth, path, interp, argv };
    }
    case 'u': {
      const k = r.u32();
      const op = k === 1 ? 'bind' : k === 2 ? 'sendto' : 'connect';
      return { kind: 'unix', id, pid, nr, op, path: r.str() };
    }
    case 's': {
      const signal = r.u32();
      const targetPid = r.u32() | 0;
      const cls = r.u32();
      const targets = CLASS_BITS.filter((_c, i) => (cls & (1 << i)) !== 0);
      return { kind: 'signal', id, pid, nr, signal, targetPid, targets, targetName: r.str() };
    }
  }
  throw new Error(`supervisor sent an unknown question kind ${JSON.stringify(kind)}`);
}

/** The operations one question stands for; every one must be allowed (most severe wins). */
export function operationsOf(q: Question): Operation[] {
  switch (q.kind) {
    case 'file': {
      const out: Operation[] = q.ops.map((op) => ({ kind: 'file', op: op as never, path: q.path }));
      for (const op of q.ops2) out.push({ kind: 'file', op: op as never, path: q.path2 });
      return out;
    }
    case 'exec': {
      const out: Operation[] = [{ kind: 'exec', path: q.path, argv: q.argv, depth: q.depth }];
      // A #! script runs its interpreter: that image must be allowed too.
      if (q.interp) out.push({ kind: 'exec', path: q.interp, argv: [q.interp, q.path, ...q.argv.slice(1)], depth: q.depth });
      return out;
    }
    case 'unix':
      return [{ kind: 'unix_socket', op: q.op, path: q.path }];
    case 'signal': {
      const targets = q.targets.length ? q.targets : (['external'] as SignalTargetClass[]);
      const op: Operation = { kind: 'signal', signal: q.signal, targets: targets.filter((t) => (SIGNAL_TARGETS as readonly string[]).includes(t)) };
      if (q.targetName) op.targetName = q.targetName;
      if (q.targetPid > 0) op.targetPid = q.targetPid;
      return [op];
    }
  }
}

/** Most severe decision among several (first one on ties, so the order of ops is the tie-break). */
export function combine(ds: Decision[]): Decision {
  let best = ds[0]!;
  for (const d of ds) if (severity(d.decision) > severity(best.decision)) best = d;
  return best;
}

export function decideQuestion(policy: CompiledPolicy, q: Question): { decision: Decision; operations: Operation[] } {
  const operations = operationsOf(q);
  return { decision: combine(operations.map((o) => policy.evaluate(o))), operations };
}

/** Default errno by kind when the decision names none (EACCES for files, EPERM otherwise). */
export function errnoFor(q: Question, d: Decision): number {
  if (d.errno !== undefined) return d.errno;
  return q.kind === 'file' ? 13 : 1;
}

export interface Answer {
  ans: number;
  errno: number;
  cacheable: boolean;
  text: string;
}

/** Answer for a final (non-approve) decision. soft_delete is turned into ANS.trash by the caller after the move. */
export function answerFor(q: Question, d: Decision, policyHasSchedule: boolean): Answer {
  // Signals too: the supervisor keys its cache on every field operationsOf reads (notify.c).
  const cacheable = !policyHasSchedule && (q.kind === 'file' || q.kind === 'signal');
  const msg = d.message ? `${d.message} (rule ${d.rule})` : `denied by ${d.rule}: ${d.reason}`;
  switch (d.decision) {
    case 'allow':
    case 'audit':
      return { ans: ANS.allow, errno: 0, cacheable: cacheable && d.decision === 'allow', text: '' };
    case 'redirect': {
      if (q.kind === 'file' && d.redirect?.kind === 'file') return { ans: ANS.redirect, errno: 0, cacheable: false, text: d.redirect.path };
      if (q.kind === 'exec' && d.redirect?.kind === 'exec') {
        const r = substituteCommand(q.argv, d.redirect);
        if (r) return { ans: ANS.redirect, errno: 0, cacheable: false, text: r };
        return { ans: ANS.deny, errno: 1, cacheable: false, text: `the substitute command of rule ${d.rule} has a NUL byte or a bad environment name; denied` };
      }
      if (q.kind === 'signal' && d.redirect?.kind === 'signal') return { ans: ANS.redirect, errno: 0, cacheable: false, text: String(d.redirect.signal) };
      return { ans: ANS.deny, errno: 1, cacheable: false, text: `redirect of ${q.kind} operations is not supported by cordon run; denied (rule ${d.rule})` };
    }
    case 'deny': {
      const e = errnoFor(q, d);
      if (e === 0) return { ans: ANS.absorb, errno: 0, cacheable: false, text: msg };
      return { ans: ANS.deny, errno: e, cacheable, text: msg };
    }
    default:
      // approve and soft_delete are carried out by the session (a human / the trash); this is
      // the fail-closed answer when they cannot be.
      return { ans: ANS.deny, errno: errnoFor(q, d) || 13, cacheable: false, text: msg };
  }
}

/**
 * The substitute's argv for an exec redirect: `[command, ...args, ...original argv[1..],
 * ...args_append]` (the original arguments are passed on, between the rule's prepended and
 * appended ones), encoded for the supervisor as NUL-separated fields: command, argc, the argv,
 * then `K=V` for each of the rule's environment variables (native/src/exec.c exec_redirect).
 * undefined when a field cannot be passed to execve (a NUL byte, an empty or `=` env name).
 */
export function substituteCommand(argv: readonly string[], r: { command: string; args: string[]; argsAppend: string[]; env: Record<string, string> }): string | undefined {
  const out = [r.command, ...r.args, ...argv.slice(1), ...r.argsAppend];
  const env = Object.entries(r.env).map(([k, v]) => (k === '' || k.includes('=') ? undefined : `${k}=${v}`));
  const all = [r.command, ...out, ...env];
  if (all.some((s) => s === undefined || s.includes('\0'))) return undefined;
  return [r.command, String(out.length), ...out, ...(env as string[])].join('\0');
}

export function describe(q: Question): string {
  switch (q.kind) {
    case 'file': return `${q.ops.join('+')} ${q.path}${q.path2 ? ` -> ${q.path2}` : ''}`;
    case 'exec': return `exec ${q.argv.join(' ')} (${q.path})`;
    case 'unix': return `unix ${q.op} ${q.path}`;
    case 'signal': return `signal ${q.signal} to pid ${q.targetPid} (${q.targets.join(',')})`;
  }
}
