// Per-test temporary directories and an isolated per-user state dir (default audit key).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function tempDir(t: { after(fn: () => void): void }, prefix = 'cordon-audit-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

/** Points XDG_STATE_HOME at a fresh dir for the rest of this test file's process. */
export function isolateState(dir: string): string {
  process.env.XDG_STATE_HOME = join(dir, 'state');
  return process.env.XDG_STATE_HOME;
}

export const REPO_ROOT = new URL('../../../../', import.meta.url).pathname;
