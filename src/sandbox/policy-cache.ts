// A cache of loaded (parsed, validated, variable-expanded) policies for `cordon run`, so a
// run does not pay YAML parsing and schema validation each time (the largest part of its start
// cost). A cached policy is reused only when every input of loadPolicy is byte-identical:
// the policy file's content, the explicit variables, the environment variables it names, the
// detected project/git roots, the npmrc files that feed ${NPM_REGISTRY_HOST}, and the policy
// engine's own compiled files. Policies with `extends:` are never cached (their inputs span
// files). The cache lives in Cordon's state directory, which the sandbox cannot touch.
// NOT covered: a change to npm's built-in npmrc outside the paths below goes unnoticed.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { builtinPath, detectRoots, loadPolicy, type LoadOptions, type Policy } from '../policy/index.js';

const POLICY_DIST = join(dirname(fileURLToPath(import.meta.url)), '..', 'policy');

function statSig(p: string): string {
  try {
    const s = statSync(p);
    return `${p}:${s.ino}:${s.size}:${s.mtimeMs}`;
  } catch {
    return `${p}:-`;
  }
}

function engineSig(): string {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.js')) out.push(statSig(p));
    }
  };
  walk(POLICY_DIST);
  return out.sort().join('\n');
}

/** The cache key for these load options, or undefined when the policy must not be cached. */
export function policyCacheKey(o: LoadOptions, cwd: string, env: Record<string, string | undefined> = process.env): string | undefined {
  const file = o.file ?? (o.builtin !== undefined ? builtinPath(o.builtin) : undefined);
  if (!file) return undefined;
  let text: string;
  try { text = readFileSync(file, 'utf8'); } catch { return undefined; }
  if (/^extends\s*:/m.test(text)) return undefined;
  const names = [...new Set([...text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]!))].sort();
  const roots = detectRoots(o.cwd ?? cwd);
  const home = env.HOME ?? homedir();
  const projectRoot = o.vars?.PROJECT_ROOT ?? roots.projectRoot;
  const h = createHash('sha256');
  h.update(JSON.stringify({
    file, text, vars: o.vars ?? {}, roots, home, tmp: env.TMPDIR ?? tmpdir(),
    env: names.map((n) => [n, env[n] ?? null]),
    npm: [env.npm_config_registry, env.NPM_CONFIG_REGISTRY, env.NPM_CONFIG_USERCONFIG],
    npmrc: [join(projectRoot, '.npmrc'), env.NPM_CONFIG_USERCONFIG ?? join(home, '.npmrc'), '/usr/etc/npmrc', '/usr/local/etc/npmrc',
      '/usr/lib/node_modules/npm/npmrc', '/usr/local/lib/node_modules/npm/npmrc'].map(statSig),
  }));
  h.update(engineSig());
  return h.digest('hex');
}

/** loadPolicy, through the cache in `dir` when the inputs allow it. */
export function loadPolicyCached(o: LoadOptions, dir: string, cwd = process.cwd()): { policy: Policy; cached: boolean } {
  const key = policyCacheKey(o, cwd);
  const file = key ? join(dir, `${key}.json`) : undefined;
  if (file) {
    try {
      const c = JSON.parse(readFileSync(file, 'utf8')) as { key: string; policy: Policy };
      if (c.key === key) return { policy: c.policy, cached: true };
    } catch { /* miss */ }
  }
  const policy = loadPolicy(o);
  if (file) {
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const tmp = `${file}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify({ key, policy }), { mode: 0o600 });
      renameSync(tmp, file);
    } catch { /* a cache that cannot be written only costs time */ }
  }
  return { policy, cached: false };
}
