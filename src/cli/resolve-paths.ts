// The CLI resolves what the user typed to the object the kernel would act on: absolute,
// symlinks followed (for a path that does not exist yet, its parent's), commands looked up on PATH.
import { accessSync, constants, realpathSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { EXIT } from './exit-codes.js';

export function resolveFilePath(p: string): string {
  const abs = resolve(p);
  try {
    return realpathSync(abs);
  } catch {
    try {
      return join(realpathSync(dirname(abs)), basename(abs));
    } catch {
      return abs;
    }
  }
}

export function resolveExecPath(cmd: string): string {
  if (cmd.includes('/')) return resolveFilePath(cmd);
  for (const dir of (process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin').split(':')) {
    if (!dir) continue;
    const cand = join(dir, cmd);
    try {
      accessSync(cand, constants.X_OK);
      return realpathSync(cand);
    } catch {
      /* not here */
    }
  }
  throw Object.assign(new Error(`command "${cmd}" was not found on PATH; give its absolute path`), { exitCode: EXIT.USAGE });
}
