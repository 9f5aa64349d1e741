// Each part's index is its whole public surface: pin what the policy part exports so a
// change to it is a visible decision.
// Session 2: `policySchema` (a zod object) left the index so that importing the policy part
// does not load zod; the loader (yaml, zod) now loads on the first loadPolicy call.
// `loadPolicyRecorded` and `lookupsStillHold` were added for `cordon run`'s policy cache.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as policy from '../src/policy/index.js';

test('src/policy exports exactly these names', () => {
  assert.deepEqual(Object.keys(policy).sort(), [
    'BUILTIN_POLICIES', 'DECISIONS', 'FILE_OPS', 'OPERATION_KINDS_HELP', 'OperationSpecError', 'PolicyError', 'RULE_LIST_OF',
    'SIGNAL_NUMBERS', 'SIGNAL_TARGETS', 'UNIX_SOCKET_OPS', 'builtinPath', 'canonicalJson', 'canonicalPath', 'cidrContains',
    'compileGlob', 'compileGlobAny', 'compilePolicy', 'describeOperation', 'detectRoots', 'expandBraces', 'explainPolicy',
    'globToRegexSource', 'loadPolicy', 'loadPolicyRecorded', 'lookupsStillHold', 'mergePolicies', 'operationFromSpec', 'parseCidr', 'parseIp',
    'resolveSignalSpec', 'runSelfTests', 'severity', 'signalName',
  ]);
});
