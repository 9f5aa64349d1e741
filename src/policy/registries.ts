// ${NPM_REGISTRY_HOST}: the host npm on this machine actually uses, read from npm's own
// configuration (environment, project/user/global npmrc, then npm's built-in default), so a
// policy allows the registry the user really talks to, mirrors included, without hard-coding it.
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

function hostOf(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    return new URL(url.trim()).hostname || undefined;
  } catch {
    return undefined;
  }
}

function fromNpmrc(file: string): string | undefined {
  try {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const m = /^\s*registry\s*=\s*(\S+)/.exec(line);
      if (m) return hostOf(m[1]);
    }
  } catch {
    /* absent or unreadable: try the next source */
  }
  return undefined;
}

function npmInstallDir(): string | undefined {
  const candidates = [join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm'), '/usr/lib/node_modules/npm', '/usr/local/lib/node_modules/npm'];
  for (const c of candidates) if (existsSync(join(c, 'package.json'))) return realpathSync(c);
  return undefined;
}

function npmBuiltinDefault(): string | undefined {
  const dir = npmInstallDir();
  if (!dir) return undefined;
  try {
    const src = readFileSync(join(dir, 'node_modules', '@npmcli', 'config', 'lib', 'definitions', 'definitions.js'), 'utf8');
    const m = /registry: new Definition\('registry', \{\s*default: '([^']+)'/.exec(src);
    return hostOf(m?.[1]);
  } catch {
    return undefined;
  }
}

export function npmRegistryHost(env: Record<string, string | undefined>, projectRoot: string | undefined): string | undefined {
  const prefix = npmInstallDir() ? dirname(dirname(dirname(npmInstallDir()!))) : '/usr';
  return (
    hostOf(env.npm_config_registry ?? env.NPM_CONFIG_REGISTRY) ??
    (projectRoot ? fromNpmrc(join(projectRoot, '.npmrc')) : undefined) ??
    fromNpmrc(env.NPM_CONFIG_USERCONFIG ?? join(env.HOME ?? homedir(), '.npmrc')) ??
    fromNpmrc(join(prefix, 'etc', 'npmrc')) ??
    npmBuiltinDefault()
  );
}
