// One cgroup per `cordon run` session: tracks the whole process tree, applies
// `resource_limits`, kills everything on timeout or teardown (`cgroup.kill`), then removes itself.
//
// Layout (see cgroup-hierarchy.ts for why v1 appears at all):
//   v2 (always):  <cgroup2 mount><parent, default /cordon>/<session>   membership, cgroup.kill,
//                 cgroup.events, cpu.stat; and memory/pids/cpu limits when v2 carries them.
//   v1 (hybrid):  <v1 mount><this process's cgroup>/cordon/<session>  for a controller v2 lacks.
//                 Nested under our own v1 cgroup so limits set on us by whoever started Cordon
//                 still bound the session.
// Fail closed: every limit the policy sets is written AND read back; a missing controller, a
// missing file (e.g. swap accounting off), a permission error or a value the kernel did not
// take throws CgroupError (exitCode 126) naming the limit, before anything runs.
//
// Security scope, NOT covered here: a sandboxed process that can write cgroupfs (uid 0 with
// /sys/fs/cgroup visible and writable) can move itself out of the session cgroup; the sandbox
// must hide or read-only-mount cgroupfs (or use a cgroup namespace rooted at the session).
// Processes forked before `addPid` ran stay outside: add the pid before it can fork.
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { resolveLayout } from './cgroup-hierarchy.js';
import { CgroupError, CPU_PERIOD_US, planLimits, verifyLimit } from './cgroup-limits.js';
import type { ResourceLimitsInput } from './cgroup-limits.js';

export { CgroupError } from './cgroup-limits.js';
export type { ResourceLimitsInput } from './cgroup-limits.js';
import type { CgroupLayout } from './cgroup-hierarchy.js';

export type KillReason = 'command_timeout' | 'session_timeout' | 'idle_timeout' | 'teardown' | 'requested';

export interface AppliedLimit {
  limit: keyof ResourceLimitsInput;
  controller: string;
  file: string;
  value: string;
  hierarchy: 'v2' | 'v1';
}

export interface CgroupStats {
  /** Processes the kernel OOM-killed inside the session. */
  oomKills: number;
  /** fork/clone calls refused because pids_max was reached. */
  pidsLimitHits: number;
  /** Scheduler periods in which the session hit cpu_quota_percent and was throttled. */
  cpuThrottled: number;
  /** CPU time consumed by the session, microseconds. */
  cpuUsageUsec: number;
  memoryPeakBytes?: number;
}

export interface SessionCgroupOptions {
  /** Session id: [A-Za-z0-9._-]{1,64}, not `.` or `..`. */
  session: string;
  limits?: ResourceLimitsInput | undefined;
  /** v2 cgroup path (relative to the cgroup2 mount) holding the sessions. Default `/cordon`. */
  parent?: string;
  /** Fault injection for tests: text to use instead of /proc/self/mountinfo, /proc/self/cgroup. */
  mountinfo?: string;
  procSelfCgroup?: string;
}

const SESSION_RE = /^[A-Za-z0-9._-]{1,64}$/;

function errText(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  return err?.code ? `${err.code}: ${err.message}` : String((e as Error)?.message ?? e);
}

function readTrim(file: string): string {
  return readFileSync(file, 'utf8').trim();
}

/** `key value` lines (cgroup.events, memory.events, pids.events, cpu.stat, memory.oom_control). */
function readKeyed(file: string): Map<string, number> {
  const m = new Map<string, number>();
  try {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const [k, v] = line.trim().split(/\s+/);
      if (k && v !== undefined) m.set(k, Number(v));
    }
  } catch {
    // absent on this kernel: reported as zero by the callers
  }
  return m;
}

export class SessionCgroup {
  readonly session: string;
  /** The v2 session directory (membership, cgroup.kill). */
  readonly path: string;
  /** Every `cgroup.procs` file a process must be written to, v2 first. */
  readonly procsFiles: string[];
  readonly applied: AppliedLimit[];
  private readonly dirs: string[];
  private readonly parentsCreated: string[];
  private readonly limits: ResourceLimitsInput;
  private readonly v1ByController: Map<string, string>;
  private timers: NodeJS.Timeout[] = [];
  private listeners: Array<(r: KillReason) => void> = [];
  private reason: KillReason | undefined;
  private destroyed = false;

  /** @internal use createSessionCgroup */
  constructor(p: { session: string; path: string; dirs: string[]; parentsCreated: string[]; applied: AppliedLimit[]; limits: ResourceLimitsInput; v1ByController: Map<string, string> }) {
    this.session = p.session;
    this.path = p.path;
    this.dirs = p.dirs;
    this.parentsCreated = p.parentsCreated;
    this.applied = p.applied;
    this.limits = p.limits;
    this.v1ByController = p.v1ByController;
    this.procsFiles = p.dirs.map((d) => `${d}/cgroup.procs`);
  }

  /** Moves `pid` (and its future children) into the session on every hierarchy. */
  addPid(pid: number): void {
    for (const f of this.procsFiles) {
      try {
        writeFileSync(f, String(pid));
      } catch (e) {
        throw new CgroupError(`cannot move process ${pid} into its session cgroup (${f}: ${errText(e)}); nothing was started under enforcement`);
      }
    }
  }

  /** Pids currently in the session (v2 view). */
  pids(): number[] {
    return readFileSync(`${this.path}/cgroup.procs`, 'utf8').split('\n').filter(Boolean).map(Number);
  }

  populated(): boolean {
    return readKeyed(`${this.path}/cgroup.events`).get('populated') === 1;
  }

  /** Why the session was killed, if it was. */
  get killReason(): KillReason | undefined {
    return this.reason;
  }

  onKill(fn: (r: KillReason) => void): void {
    this.listeners.push(fn);
  }

  /** SIGKILLs every process in the session (cgroup.kill), once; later calls are no-ops. */
  kill(reason: KillReason = 'requested'): void {
    if (this.destroyed) return; // removed: no process is left to kill
    if (this.reason === undefined) {
      this.reason = reason;
      for (const fn of this.listeners) {
        try { fn(reason); } catch { /* a listener's failure must not stop the kill */ }
      }
    }
    writeFileSync(`${this.path}/cgroup.kill`, '1');
  }

  /**
   * Starts command_timeout / session_timeout / idle_timeout. Call right after the command starts.
   * Idle means the session used no CPU time for idle_timeout (a process blocked reading input is idle).
   */
  startTimers(): void {
    const l = this.limits;
    const arm = (ms: number | undefined, r: KillReason) => {
      if (ms === undefined) return;
      const t = setTimeout(() => this.safeKill(r), ms);
      t.unref();
      this.timers.push(t);
    };
    arm(l.command_timeout, 'command_timeout');
    arm(l.session_timeout, 'session_timeout');
    if (l.idle_timeout !== undefined) {
      const idle = l.idle_timeout;
      let last = this.cpuUsage();
      let lastChange = Date.now();
      const t = setInterval(() => {
        const now = this.cpuUsage();
        if (now !== last) {
          last = now;
          lastChange = Date.now();
        } else if (Date.now() - lastChange >= idle) {
          this.safeKill('idle_timeout');
        }
      }, Math.max(25, Math.min(1000, Math.floor(idle / 4))));
      t.unref();
      this.timers.push(t);
    }
  }

  private safeKill(r: KillReason): void {
    if (this.destroyed) return;
    try {
      this.kill(r);
    } catch {
      // The cgroup vanished: nothing left to kill.
    }
  }

  private cpuUsage(): number {
    return readKeyed(`${this.path}/cpu.stat`).get('usage_usec') ?? 0;
  }

  stats(): CgroupStats {
    const memV1 = this.v1ByController.get('memory');
    const pidsV1 = this.v1ByController.get('pids');
    const oomKills = memV1
      ? readKeyed(`${memV1}/memory.oom_control`).get('oom_kill') ?? 0
      : readKeyed(`${this.path}/memory.events`).get('oom_kill') ?? 0;
    const pidsLimitHits = readKeyed(`${pidsV1 ?? this.path}/pids.events`).get('max') ?? 0;
    const cpuV1 = this.v1ByController.get('cpu');
    const cpuThrottled = readKeyed(`${cpuV1 ?? this.path}/cpu.stat`).get('nr_throttled') ?? 0;
    const s: CgroupStats = { oomKills, pidsLimitHits, cpuThrottled, cpuUsageUsec: this.cpuUsage() };
    const peakFile = memV1 ? `${memV1}/memory.max_usage_in_bytes` : `${this.path}/memory.peak`;
    if (existsSync(peakFile)) s.memoryPeakBytes = Number(readTrim(peakFile));
    return s;
  }

  /** Waits until no process is left (populated 0), polling every 10 ms. */
  async waitEmpty(timeoutMs = 5000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.populated()) {
      if (Date.now() > deadline) return false;
      await new Promise((r) => setTimeout(r, 10));
    }
    return true;
  }

  /**
   * Teardown: stops timers, kills every process left, waits for the tree to be gone, removes
   * the session cgroups (and the `cordon` parents we created, when no other session uses them).
   * Returns the final stats. Throws (exitCode 126) if processes survive the kill.
   */
  async destroy(timeoutMs = 5000): Promise<CgroupStats> {
    for (const t of this.timers) clearTimeout(t);
    this.timers = [];
    if (this.destroyed) return { oomKills: 0, pidsLimitHits: 0, cpuThrottled: 0, cpuUsageUsec: 0 };
    if (this.populated()) this.kill('teardown');
    if (!(await this.waitEmpty(timeoutMs))) {
      throw new CgroupError(`session ${this.session}: processes survived cgroup.kill for ${timeoutMs} ms (${this.path}); left in place for inspection`);
    }
    const stats = this.stats();
    this.destroyed = true;
    for (const d of [...this.dirs].reverse()) await rmdirRetry(d);
    for (const d of this.parentsCreated) {
      try { rmdirSync(d); } catch { /* another session uses it, or it is not ours to remove */ }
    }
    return stats;
  }
}

async function rmdirRetry(dir: string): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      rmdirSync(dir);
      return;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (code !== 'EBUSY' || i >= 50) throw new CgroupError(`cannot remove cgroup ${dir}: ${errText(e)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

function readLayout(opts: SessionCgroupOptions): CgroupLayout {
  try {
    return resolveLayout(
      opts.mountinfo ?? readFileSync('/proc/self/mountinfo', 'utf8'),
      opts.procSelfCgroup ?? readFileSync('/proc/self/cgroup', 'utf8'),
    );
  } catch (e) {
    throw new CgroupError(`cannot read the cgroup layout from /proc/self (${errText(e)})`);
  }
}

/** Makes `dir` and its missing ancestors below `stopAt`. */
function mkdirs(dir: string, stopAt: string): void {
  const missing: string[] = [];
  for (let d = dir; d.length > stopAt.length && !existsSync(d); d = d.slice(0, d.lastIndexOf('/'))) missing.push(d);
  for (const d of [...missing].reverse()) {
    try {
      mkdirSync(d);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
}

function enableV2(mountpoint: string, parentDir: string, controllers: string[]): void {
  // Each level from the mount root down to the parent must pass the controller to its children.
  const levels = [mountpoint];
  const rel = parentDir.slice(mountpoint.length).split('/').filter(Boolean);
  for (let i = 0; i < rel.length; i++) levels.push(`${mountpoint}/${rel.slice(0, i + 1).join('/')}`);
  for (const dir of levels) {
    const enabled = readTrim(`${dir}/cgroup.subtree_control`).split(/\s+/);
    for (const c of controllers) {
      if (enabled.includes(c)) continue;
      try {
        writeFileSync(`${dir}/cgroup.subtree_control`, `+${c}`);
      } catch (e) {
        throw new CgroupError(`cannot enable the ${c} controller for Cordon sessions in ${dir}/cgroup.subtree_control (${errText(e)}); a cgroup holding processes cannot delegate controllers: set another parent, or run as root`);
      }
    }
  }
}

/**
 * Creates the session cgroup and applies `limits`. Throws CgroupError (exitCode 126) naming the
 * limit or step that cannot be enforced; on error nothing is left behind.
 */
export function createSessionCgroup(opts: SessionCgroupOptions): SessionCgroup {
  if (!SESSION_RE.test(opts.session) || opts.session === '.' || opts.session === '..') {
    throw new CgroupError(`invalid session id "${opts.session}" for a cgroup name (allowed: 1-64 of A-Z a-z 0-9 . _ -)`);
  }
  const limits = opts.limits ?? {};
  const plans = planLimits(limits);
  const layout = readLayout(opts);
  if (!layout.v2) {
    throw new CgroupError('cgroup v2 (the unified hierarchy) is not mounted: Cordon needs it to track and kill the whole process tree. Mount it (mount -t cgroup2 none /sys/fs/cgroup/unified) or boot with systemd.unified_cgroup_hierarchy=1');
  }
  const { mountpoint } = layout.v2;
  let v2Controllers: string[];
  try {
    v2Controllers = readTrim(`${mountpoint}/cgroup.controllers`).split(/\s+/).filter(Boolean);
  } catch (e) {
    throw new CgroupError(`cannot read ${mountpoint}/cgroup.controllers (${errText(e)})`);
  }

  // Which hierarchy each needed controller comes from; missing ones are fatal.
  const where = new Map<string, 'v2' | 'v1'>();
  for (const p of plans) {
    if (where.has(p.controller)) continue;
    if (v2Controllers.includes(p.controller)) where.set(p.controller, 'v2');
    else if (layout.v1.has(p.controller)) where.set(p.controller, 'v1');
    else {
      throw new CgroupError(`resource_limits.${p.limit} needs the "${p.controller}" cgroup controller, which this host does not provide (not in ${mountpoint}/cgroup.controllers, and no cgroup v1 hierarchy carries it); refusing to run without the limit`, p.limit);
    }
  }
  for (const p of plans) {
    if (where.get(p.controller) === 'v1' && p.v1.file === '') {
      throw new CgroupError('resource_limits.memory_swap_max_mb needs max_memory_mb as well on this host (cgroup v1 memory limits memory+swap together)', p.limit);
    }
  }

  const parentRel = '/' + (opts.parent ?? '/cordon').split('/').filter(Boolean).join('/');
  if (parentRel.split('/').includes('..')) throw new CgroupError(`invalid cgroup parent "${opts.parent}"`);
  const v2Parent = `${mountpoint}${parentRel === '/' ? '' : parentRel}`;
  const created: string[] = [];
  const parentsCreated: string[] = [];
  const v1ByController = new Map<string, string>();
  const applied: AppliedLimit[] = [];
  const cleanup = () => {
    for (const d of [...created].reverse()) { try { rmdirSync(d); } catch { /* best effort on the error path */ } }
    for (const d of parentsCreated) { try { rmdirSync(d); } catch { /* in use by another session */ } }
  };
  try {
    const mk = (dir: string, stopAt: string, removableParent: boolean) => {
      const parent = dir.slice(0, dir.lastIndexOf('/'));
      for (let attempt = 0; ; attempt++) {
        try {
          mkdirs(parent, stopAt);
          mkdirSync(dir);
          created.push(dir);
          if (removableParent && !parentsCreated.includes(parent)) parentsCreated.push(parent);
          return;
        } catch (e) {
          // ENOENT: a finishing session removed the shared parent between our two mkdirs.
          if ((e as NodeJS.ErrnoException).code === 'ENOENT' && attempt < 3) continue;
          throw new CgroupError(`cannot create cgroup ${dir} (${errText(e)})${(e as NodeJS.ErrnoException).code === 'EEXIST' ? ': a session with this id exists' : '; Cordon needs root (or a delegated cgroup) for resource limits'}`);
        }
      }
    };
    const v2Dir = `${v2Parent}/${opts.session}`;
    mk(v2Dir, mountpoint, opts.parent === undefined);
    const v2Needed = [...where].filter(([, h]) => h === 'v2').map(([c]) => c);
    enableV2(mountpoint, v2Parent, v2Needed);
    if (!existsSync(`${v2Dir}/cgroup.kill`)) {
      throw new CgroupError(`${v2Dir}/cgroup.kill is missing: Linux 5.14 or later is needed to kill a session's whole process tree`);
    }
    const dirs = [v2Dir];
    for (const [c, h] of where) {
      if (h !== 'v1') continue;
      const h1 = layout.v1.get(c)!;
      const dir = `${h1.ownDir}/cordon/${opts.session}`;
      if (!dirs.includes(dir)) {
        mk(dir, h1.mountpoint, true);
        dirs.push(dir);
      }
      v1ByController.set(c, dir);
    }
    for (const p of plans) {
      const h = where.get(p.controller)!;
      const dir = h === 'v2' ? v2Dir : v1ByController.get(p.controller)!;
      const spec = h === 'v2' ? p.v2 : p.v1;
      const file = `${dir}/${spec.file}`;
      if (!existsSync(file)) {
        throw new CgroupError(`resource_limits.${p.limit} cannot be applied: ${file} does not exist${p.limit === 'memory_swap_max_mb' ? ' (swap accounting is off: boot with swapaccount=1)' : ''}; refusing to run without the limit`, p.limit);
      }
      try {
        if (h === 'v1' && p.controller === 'cpu') writeFileSync(`${dir}/cpu.cfs_period_us`, String(CPU_PERIOD_US));
        writeFileSync(file, spec.value);
      } catch (e) {
        throw new CgroupError(`resource_limits.${p.limit} cannot be applied: writing "${spec.value}" to ${file} failed (${errText(e)}); refusing to run without the limit`, p.limit);
      }
      if (!verifyLimit(file, spec.value, spec.exact)) {
        throw new CgroupError(`resource_limits.${p.limit} did not take: ${file} reads "${readTrim(file)}" after writing "${spec.value}"`, p.limit);
      }
      applied.push({ limit: p.limit, controller: p.controller, file, value: spec.value, hierarchy: h });
    }
    return new SessionCgroup({ session: opts.session, path: v2Dir, dirs, parentsCreated, applied, limits, v1ByController });
  } catch (e) {
    cleanup();
    if (e instanceof CgroupError) throw e;
    throw new CgroupError(`cannot set up the session cgroup: ${errText(e)}`);
  }
}
