// How a policy's ${NAME} references are answered at load time, in one place, so that a cached
// policy can be checked against exactly the values its load consulted (see recordingLookup).
// Explicit variables first, then the detected roots, HOME, TMPDIR, the npm registry host, and
// the environment.
import { homedir, tmpdir } from 'node:os';
import { detectRoots } from './project-root.js';
import { npmRegistryHost } from './registries.js';

/** The inputs of a load that variables depend on (a subset of LoadOptions). */
export interface LookupOptions {
  vars?: Record<string, string | undefined>;
  env?: Record<string, string | undefined>;
  cwd?: string;
}

export type Lookup = (name: string) => string | undefined;

export function makeLookup(opts: LookupOptions): Lookup {
  const env = opts.env ?? process.env;
  const vars = opts.vars ?? {};
  let roots: ReturnType<typeof detectRoots> | undefined;
  const detected = () => (roots ??= detectRoots(opts.cwd ?? process.cwd()));
  return (name) => {
    if (vars[name] !== undefined) return vars[name];
    switch (name) {
      case 'PROJECT_ROOT': return detected().projectRoot;
      case 'GIT_ROOT': return detected().gitRoot;
      case 'HOME': return env.HOME ?? homedir();
      case 'TMPDIR': return env.TMPDIR ?? tmpdir();
      case 'NPM_REGISTRY_HOST': return npmRegistryHost(env, vars.PROJECT_ROOT ?? detected().projectRoot);
      default: return env[name];
    }
  };
}

/** Every variable a load asked for, with the answer it got (null: undefined). */
export type RecordedLookups = Array<[name: string, value: string | null]>;

/** A lookup that remembers each name it answered (first answer per name). */
export function recordingLookup(inner: Lookup): { lookup: Lookup; recorded: RecordedLookups } {
  const seen = new Map<string, string | null>();
  return {
    lookup: (name) => {
      const v = inner(name);
      if (!seen.has(name)) seen.set(name, v ?? null);
      return v;
    },
    get recorded() { return [...seen]; },
  };
}

/**
 * True when every variable a recorded load consulted still has the same value under `opts`.
 * Expansion is a pure function of the policy text and these answers, so an unchanged text plus
 * unchanged answers is the same policy; a name the load did not consult (an unused fallback's
 * inner variable) cannot change it.
 */
export function lookupsStillHold(opts: LookupOptions, recorded: RecordedLookups): boolean {
  const lookup = makeLookup(opts);
  for (const [name, value] of recorded) {
    if ((lookup(name) ?? null) !== value) return false;
  }
  return true;
}
