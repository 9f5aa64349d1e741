// `cordon detect`: what this host can enforce. Every row comes from a real attempt made by
// `cordon-supervisor --probe` (install a Landlock ruleset, a seccomp listener answered with
// ADDFD, create namespaces, seize a process) — never from header or version checks.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { SUPERVISOR_PATH } from './session.js';

export interface Protection {
  name: string;
  available: boolean;
  /** What `cordon run` loses without it, or how it is used. */
  detail: string;
  /** Required: cordon run refuses to start without it (unless degraded by name). */
  required: boolean;
  weight: number;
}

export interface DetectReport {
  supervisor: string;
  raw: Record<string, string>;
  protections: Protection[];
  /** 0..100: weighted share of protections available. */
  score: number;
  /** True when `cordon run` can start with no degraded mode. */
  ready: boolean;
}

export function detectHost(supervisor = SUPERVISOR_PATH): DetectReport {
  const raw: Record<string, string> = {};
  if (existsSync(supervisor)) {
    const r = spawnSync(supervisor, ['--probe'], { encoding: 'utf8', timeout: 10_000 });
    for (const line of (r.stdout ?? '').split('\n')) {
      const i = line.indexOf('=');
      if (i > 0) raw[line.slice(0, i)] = line.slice(i + 1);
    }
  }
  const on = (k: string) => raw[k] === '1';
  const abi = Number(raw.landlock_abi ?? 0);
  const cgroup2 = existsSync('/sys/fs/cgroup/cgroup.controllers') || existsSync('/sys/fs/cgroup/unified/cgroup.controllers');
  const protections: Protection[] = [
    { name: 'native supervisor built', available: existsSync(supervisor), required: true, weight: 3, detail: supervisor },
    { name: 'root (namespaces, cgroups)', available: on('root'), required: true, weight: 2, detail: 'cordon run needs root for its namespaces and cgroups' },
    { name: 'seccomp user notification', available: on('seccomp_notify'), required: true, weight: 3, detail: 'every open, exec, mutation, unix connect and signal decided by the policy' },
    { name: 'seccomp ADDFD (emulated opens)', available: on('seccomp_addfd_send'), required: true, weight: 3, detail: 'opens done by the supervisor on the checked path (no TOCTOU)' },
    { name: 'seccomp WAIT_KILLABLE_RECV', available: on('seccomp_wait_killable'), required: false, weight: 1, detail: 'no syscall restarts while a decision is pending' },
    { name: 'seccomp SYNC_WAKE_UP', available: on('seccomp_sync_wakeup'), required: false, weight: 1, detail: '~5 µs per decided syscall instead of 17-40 µs' },
    { name: `Landlock (ABI ${abi})`, available: on('landlock_restrict') && abi >= 1, required: true, weight: 2, detail: abi >= 6 ? 'write boundary + signal and abstract-socket scoping' : 'write boundary (ABI < 6: no signal scoping)' },
    { name: 'PID/mount/IPC/UTS namespaces', available: on('ns_pid_mnt_ipc_uts'), required: true, weight: 2, detail: 'supervisor invisible; PID 1 death ends the sandbox' },
    { name: 'network namespace', available: on('ns_net'), required: true, weight: 2, detail: 'no route out except Cordon egress' },
    { name: 'ptrace exec verification', available: on('ptrace_seize'), required: true, weight: 2, detail: 'the executed image is the decided one (race-proof exec)' },
    { name: 'cgroup v2', available: cgroup2, required: true, weight: 1, detail: 'whole-tree kill and resource_limits' },
  ];
  const total = protections.reduce((s, p) => s + p.weight, 0);
  const got = protections.reduce((s, p) => s + (p.available ? p.weight : 0), 0);
  return {
    supervisor, raw, protections,
    score: Math.round((100 * got) / total),
    ready: protections.every((p) => p.available || !p.required),
  };
}

export function formatDetect(r: DetectReport): string {
  const w = Math.max(...r.protections.map((p) => p.name.length));
  const lines = r.protections.map((p) => `${p.available ? 'yes' : 'NO '}  ${p.name.padEnd(w)}  ${p.required ? 'required' : 'optional'}  ${p.detail}`);
  lines.push('', `score ${r.score}/100 — ${r.ready ? 'cordon run can enforce every protection here' : 'cordon run will refuse to start (a required protection is missing)'}`);
  return lines.join('\n') + '\n';
}
