// The loader (YAML parser, zod schema, checks: most of the policy part's start cost) is
// loaded on first use, so that importing the policy part to compile and evaluate an
// already-validated policy (`cordon run` with a cached policy, the other parts) stays cheap.
// loadPolicy stays synchronous: Node 20.19+ loads the ES module with require(); an older
// Node 20 without require(esm) gets it eagerly instead (correct, just slower to start).
import { createRequire } from 'node:module';
import type * as Loader from './load.js';
import type { LoadOptions } from './load.js';
import type { RecordedLookups } from './lookup.js';
import type { Policy } from './schema/policy.js';

const requireHere = createRequire(import.meta.url);
let loader: typeof Loader | undefined = (process.features as { require_module?: boolean }).require_module ? undefined : await import('./load.js');

function load(): typeof Loader {
  return (loader ??= requireHere('./load.js') as typeof Loader);
}

/** Reads, parses, expands, validates and checks a policy (PolicyError, exitCode 2, on any problem). */
export function loadPolicy(opts: LoadOptions): Policy {
  return load().loadPolicy(opts);
}

/** loadPolicy plus every variable the load consulted and its value, and whether `extends:` pulled
 * other files in (for caching; see lookupsStillHold). */
export function loadPolicyRecorded(opts: LoadOptions): { policy: Policy; lookups: RecordedLookups; extended: boolean } {
  return load().loadPolicyRecorded(opts);
}
