// Runs a command inside a session cgroup with no window for it to fork outside: a gate shell
// waits on stdin until its pid has been moved in, then execs the command.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import type { SessionCgroup } from '../../../src/sandbox/support.js';

export const PYTHON = '/usr/bin/python3';

export function requirePython(): void {
  if (!existsSync(PYTHON)) throw new Error(`${PYTHON} is needed by this test (apt-get install -y python3)`);
}

export function requireRoot(): void {
  if (process.getuid?.() !== 0) throw new Error('this test needs root (cgroup creation); run the suite as root as CI does');
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export function runGated(cg: SessionCgroup | undefined, argv: string[], onStart?: (pid: number) => void): Promise<RunResult> {
  const t0 = performance.now();
  const child = spawn('/bin/sh', ['-c', 'read _ && exec "$@"', 'gate', ...argv], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const done = new Promise<RunResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr, ms: performance.now() - t0 }));
  });
  if (cg) cg.addPid(child.pid!);
  onStart?.(child.pid!);
  child.stdin.end('\n');
  return done;
}

export function uniqueSession(tag: string): string {
  return `test-${tag}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}

/** True if `pid` no longer runs (gone, or a zombie awaiting its reaper). */
export function isDead(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return true;
  }
  // Field 3 (state) follows the parenthesised command name.
  return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
}
