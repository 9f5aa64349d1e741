// The built-in policies ship as YAML files in the package's policies/ folder, so users can read
// and copy exactly what runs.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BUILTIN_POLICIES = ['agent-default', 'strict'] as const;
export type BuiltinPolicy = (typeof BUILTIN_POLICIES)[number];

/** The package's policies/ folder (from dist/src/policy/ or src/policy/). */
export function builtinDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, 'policies');
    if (existsSync(join(candidate, 'agent-default.yaml'))) return candidate;
    dir = dirname(dir);
  }
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'policies');
}

export function builtinPath(name: string): string | undefined {
  return (BUILTIN_POLICIES as readonly string[]).includes(name) ? join(builtinDir(), `${name}.yaml`) : undefined;
}
