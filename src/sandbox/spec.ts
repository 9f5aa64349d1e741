// The supervisor's start spec, built from a policy as a pure function (snapshot-tested in
// test/sandbox/spec.test.ts), then encoded into control-socket frames.
//
// Landlock write roots: the literal directory prefix of every file_rules pattern whose rule is
// not a deny and covers a write-type operation. This is the coarse kernel-held boundary under
// the exact per-syscall decisions (which the supervisor makes for every open and mutation);
// a pattern starting with a wildcard makes "/" a root (no coarse write boundary).
import { compileGlob, expandBraces, FILE_OPS, type Policy } from '../policy/index.js';
import { isAbsolute, normalize } from 'node:path';
import { FrameWriter, OPT, TO_SUPERVISOR } from './protocol.js';
import type { ReadGrants } from './read-fastpath.js';

export const DEGRADABLE = ['landlock', 'exec-verify'] as const;
export type Degradable = (typeof DEGRADABLE)[number];

const WRITE_OPS = new Set(['write', 'create', 'mkdir', 'chmod', 'chown', 'rename', 'delete', 'rmdir', 'link', 'symlink', 'mknod', '*']);

export interface SpecInput {
  policy: Policy;
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  /** Features the user explicitly agreed to run without (`--allow-degraded=NAME`). */
  degraded?: readonly Degradable[];
  /** Cordon's own state (audit log, trash): no operation allowed at all, whatever the policy says. */
  protectedPaths?: readonly string[];
  /** Fault injection name (tests only; see buildSpec). */
  fault?: string | undefined;
  /** Start egress (src/net) in the sandbox's network namespace before the command runs. */
  egress?: boolean;
  /** Landlock read grants for the read fast path (src/sandbox/read-fastpath.ts); absent: off. */
  readGrants?: ReadGrants | undefined;
  /** The session trash directory (absolute, canonical) soft_delete moves into; absent: none. */
  trashDir?: string | undefined;
}

/** Native rule kinds (native/src/rules.h RK_*). */
export const RK = { allow: 0, deny: 1, ask: 2 } as const;

export interface NativeRule {
  mask: number;
  kind: number;
  errno: number;
  patterns: string[];
}

export interface NativeRules {
  rules: NativeRule[];
  defaultKind: number;
  defaultErrno: number;
}

// Mirrors the engine's errno names (src/policy/compile/decisions.ts); any other name makes the
// rule ASK (Node decides) rather than risk a different errno.
const ERRNO_NAMES: Record<string, number> = { EPERM: 1, ENOENT: 2, EACCES: 13, EROFS: 30, ENETUNREACH: 101, ECONNREFUSED: 111 };
function errnoOf(e: string | number | undefined): number | undefined | null {
  if (e === undefined) return undefined;
  if (typeof e === 'number') return e;
  return ERRNO_NAMES[e] ?? null;
}

/**
 * file_rules as the supervisor's table: allow and deny (errno ≠ 0) are decided natively; every
 * other decision (audit is recorded one by one; redirect, soft_delete, approve, absorb) is ASK.
 */
export function nativeFileRules(policy: Policy): NativeRules {
  const dflt = errnoOf(policy.defaults?.errno);
  const baseErrno = dflt === null ? undefined : dflt ?? 13;
  const kindOf = (decision: string, errno: number | undefined): number =>
    decision === 'allow' ? RK.allow : decision === 'deny' && errno !== undefined && errno !== 0 ? RK.deny : RK.ask;
  const rules = (policy.file_rules ?? []).map((r): NativeRule => {
    let mask = 0;
    for (const o of r.operations ?? ['*']) mask |= o === '*' ? (1 << FILE_OPS.length) - 1 : 1 << FILE_OPS.indexOf(o as never);
    const e = errnoOf(r.errno);
    const errno = e === null ? undefined : e ?? baseErrno;
    return { mask, kind: kindOf(r.decision, errno), errno: errno ?? 0, patterns: r.paths.flatMap((p) => expandBraces(p)) };
  });
  const d = policy.defaults?.file ?? 'deny';
  return { rules, defaultKind: kindOf(d, baseErrno), defaultErrno: baseErrno ?? 0 };
}

export interface SandboxSpec {
  native: NativeRules;
  readGrants?: ReadGrants | undefined;
  options: number;
  argv: string[];
  env: string[];
  cwd: string;
  writeRoots: string[];
  protectedPaths: string[];
  trashDir?: string;
}

export function writeRoots(policy: Policy): string[] {
  const roots = new Set<string>(['/dev']);
  for (const r of policy.file_rules ?? []) {
    if (r.decision === 'deny') continue;
    const ops = r.operations ?? ['*'];
    if (!ops.some((o) => WRITE_OPS.has(o))) continue;
    for (const p of r.paths) {
      for (const q of expandBraces(p)) {
        const g = compileGlob(q, '/');
        roots.add(g.literal ? g.text : g.prefix === '' ? '/' : g.prefix);
      }
    }
  }
  const sorted = [...roots].sort();
  // Drop roots beneath another root: the ancestor already grants them.
  return sorted.filter((r) => !sorted.some((o) => o !== r && (o === '/' || r.startsWith(o + '/'))));
}

export function buildSpec(i: SpecInput): SandboxSpec {
  if (i.argv.length === 0) throw new Error('no command to run');
  let options = OPT.NEWNET | OPT.TRAP_UNIX | OPT.TRAP_SIGNAL;
  // Fault injection for the fail-closed tests (CORDON_TEST_FAULT=no-landlock): it can only make
  // cordon run refuse to start, never weaken it without an explicit --allow-degraded.
  if (i.fault === 'no-landlock') options |= OPT.FAULT_NO_LANDLOCK;
  if (i.egress) options |= OPT.EGRESS;
  if (i.readGrants) options |= OPT.READ_FASTPATH;
  for (const d of i.degraded ?? []) {
    if (d === 'landlock') options |= OPT.DEGRADE_LANDLOCK;
    if (d === 'exec-verify') options |= OPT.DEGRADE_PTRACE_EXEC;
  }
  return {
    native: nativeFileRules(i.policy),
    ...(i.readGrants ? { readGrants: i.readGrants } : {}),
    options,
    argv: [...i.argv],
    env: Object.entries(i.env).map(([k, v]) => `${k}=${v}`),
    cwd: i.cwd,
    writeRoots: writeRoots(i.policy),
    protectedPaths: [...(i.protectedPaths ?? [])].map((p) => {
      // Matched by the supervisor against canonical paths: a relative or symlinked one would
      // never match (the caller canonicalizes; see runCommand).
      if (!isAbsolute(p) || normalize(p) !== p || (p.length > 1 && p.endsWith('/'))) throw new Error(`protected path must be absolute and normalized: ${p}`);
      return p;
    }),
    ...(i.trashDir ? { trashDir: i.trashDir } : {}),
  };
}

/** The frames sent before the supervisor starts the sandbox. cgroupFds are child fd numbers. */
export function encodeSpec(s: SandboxSpec, cgroupFds: number[]): Buffer {
  const T = TO_SUPERVISOR;
  const o = new FrameWriter(T.options).u32(s.options).u32(0xffffffff).u32(cgroupFds.length);
  for (const fd of cgroupFds) o.u32(fd);
  const frames = [o.frame()];
  for (const a of s.argv) frames.push(new FrameWriter(T.arg).str(a).frame());
  for (const e of s.env) frames.push(new FrameWriter(T.env).str(e).frame());
  for (const w of s.writeRoots) frames.push(new FrameWriter(T.writeRoot).str(w).frame());
  for (const p of s.protectedPaths) frames.push(new FrameWriter(T.protectedPath).str(p).frame());
  if (s.readGrants) {
    const rights = new Map<string, number>();
    for (const p of s.readGrants.read) rights.set(p, (rights.get(p) ?? 0) | 1);
    for (const p of s.readGrants.list) rights.set(p, (rights.get(p) ?? 0) | 2);
    for (const [p, r] of [...rights].sort()) frames.push(new FrameWriter('L').u32(r).str(p).frame());
  }
  for (const r of s.native.rules) {
    const w = new FrameWriter('R').u32(r.mask).u32(r.kind).u32(r.errno).u32(r.patterns.length);
    for (const p of r.patterns) w.str(p);
    frames.push(w.frame());
  }
  frames.push(new FrameWriter('D').u32(s.native.defaultKind).u32(s.native.defaultErrno).frame());
  frames.push(new FrameWriter(T.cwd).str(s.cwd).frame());
  if (s.trashDir) frames.push(new FrameWriter('X').str(s.trashDir).frame());
  frames.push(new FrameWriter(T.go).frame());
  return Buffer.concat(frames);
}

/** True when the policy can allow any network operation: only then is egress worth starting
 * (without it the sandbox's network namespace has loopback only, which denies all egress). */
export function policyNeedsEgress(policy: Policy): boolean {
  const d = policy.defaults?.network;
  if (d !== undefined && d !== 'deny') return true;
  return (policy.network_rules ?? []).some((r) => r.decision !== 'deny');
}
