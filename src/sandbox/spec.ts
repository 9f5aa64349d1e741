// The supervisor's start spec, built from a policy as a pure function (snapshot-tested in
// test/sandbox/spec.test.ts), then encoded into control-socket frames.
//
// Landlock write roots: the literal directory prefix of every file_rules pattern whose rule is
// not a deny and covers a write-type operation. This is the coarse kernel-held boundary under
// the exact per-syscall decisions (which the supervisor makes for every open and mutation);
// a pattern starting with a wildcard makes "/" a root (no coarse write boundary).
import { compileGlob, expandBraces, type Policy } from '../policy/index.js';
import { FrameWriter, OPT, TO_SUPERVISOR } from './protocol.js';

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
}

export interface SandboxSpec {
  options: number;
  argv: string[];
  env: string[];
  cwd: string;
  writeRoots: string[];
  protectedPaths: string[];
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
  for (const d of i.degraded ?? []) {
    if (d === 'landlock') options |= OPT.DEGRADE_LANDLOCK;
    if (d === 'exec-verify') options |= OPT.DEGRADE_PTRACE_EXEC;
  }
  return {
    options,
    argv: [...i.argv],
    env: Object.entries(i.env).map(([k, v]) => `${k}=${v}`),
    cwd: i.cwd,
    writeRoots: writeRoots(i.policy),
    protectedPaths: [...(i.protectedPaths ?? [])],
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
  frames.push(new FrameWriter(T.cwd).str(s.cwd).frame());
  frames.push(new FrameWriter(T.go).frame());
  return Buffer.concat(frames);
}
