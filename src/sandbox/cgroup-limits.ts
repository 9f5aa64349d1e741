// `resource_limits` → cgroup files: what each limit writes on cgroup v2 and on v1, and how
// the value read back is checked. Pure apart from the read-back.
import { readFileSync } from 'node:fs';

export const CPU_PERIOD_US = 100_000;
const MB = 1024 * 1024;

/** `resource_limits` after schema parsing (durations in milliseconds). */
export interface ResourceLimitsInput {
  max_memory_mb?: number | undefined;
  memory_swap_max_mb?: number | undefined;
  cpu_quota_percent?: number | undefined;
  pids_max?: number | undefined;
  command_timeout?: number | undefined;
  session_timeout?: number | undefined;
  idle_timeout?: number | undefined;
}

export class CgroupError extends Error {
  readonly exitCode = 126;
  constructor(message: string, readonly limit?: string) {
    super(message);
    this.name = 'CgroupError';
  }
}

function readTrim(file: string): string {
  return readFileSync(file, 'utf8').trim();
}

export interface LimitPlan {
  limit: keyof ResourceLimitsInput;
  controller: string;
  /** v2 file and value; v1 file and value. */
  v2: { file: string; value: string; exact: boolean };
  v1: { file: string; value: string; exact: boolean };
}

export function planLimits(l: ResourceLimitsInput): LimitPlan[] {
  const plans: LimitPlan[] = [];
  const posInt = (name: keyof ResourceLimitsInput, v: number | undefined, min: number): v is number => {
    if (v === undefined) return false;
    if (!Number.isInteger(v) || v < min) throw new CgroupError(`resource_limits.${name} must be an integer >= ${min} (got ${v})`, name);
    return true;
  };
  if (posInt('max_memory_mb', l.max_memory_mb, 1)) {
    const b = String(l.max_memory_mb * MB);
    plans.push({ limit: 'max_memory_mb', controller: 'memory', v2: { file: 'memory.max', value: b, exact: false }, v1: { file: 'memory.limit_in_bytes', value: b, exact: false } });
  }
  if (posInt('memory_swap_max_mb', l.memory_swap_max_mb, 0)) {
    // v1 has no swap-only knob: memsw limits memory+swap, so it needs max_memory_mb alongside.
    if (l.max_memory_mb === undefined) {
      plans.push({ limit: 'memory_swap_max_mb', controller: 'memory', v2: { file: 'memory.swap.max', value: String(l.memory_swap_max_mb * MB), exact: false }, v1: { file: '', value: '', exact: false } });
    } else {
      plans.push({
        limit: 'memory_swap_max_mb', controller: 'memory',
        v2: { file: 'memory.swap.max', value: String(l.memory_swap_max_mb * MB), exact: false },
        v1: { file: 'memory.memsw.limit_in_bytes', value: String((l.max_memory_mb + l.memory_swap_max_mb) * MB), exact: false },
      });
    }
  }
  if (posInt('pids_max', l.pids_max, 1)) {
    const v = String(l.pids_max);
    plans.push({ limit: 'pids_max', controller: 'pids', v2: { file: 'pids.max', value: v, exact: true }, v1: { file: 'pids.max', value: v, exact: true } });
  }
  if (posInt('cpu_quota_percent', l.cpu_quota_percent, 1)) {
    // Percent of one CPU: 50 = half a core, 200 = two cores.
    const quota = String(Math.round((l.cpu_quota_percent * CPU_PERIOD_US) / 100));
    plans.push({ limit: 'cpu_quota_percent', controller: 'cpu', v2: { file: 'cpu.max', value: `${quota} ${CPU_PERIOD_US}`, exact: true }, v1: { file: 'cpu.cfs_quota_us', value: quota, exact: true } });
  }
  for (const t of ['command_timeout', 'session_timeout', 'idle_timeout'] as const) posInt(t, l[t], 1);
  return plans;
}

/** The kernel rounds memory limits down to a page; accept anything within one page below. */
export function verifyLimit(file: string, want: string, exact: boolean): boolean {
  const got = readTrim(file);
  if (exact) return got === want;
  const g = Number(got);
  const w = Number(want);
  return Number.isFinite(g) && g <= w && w - g < 65536;
}

