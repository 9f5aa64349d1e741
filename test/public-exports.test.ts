// Each part's index is its whole public surface: pin what the policy part exports so a
// change to it is a visible decision.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as policy from '../src/policy/index.js';

test('src/policy exports exactly these names', () => {
  assert.deepEqual(Object.keys(policy).sort(), [
    'BUILTIN_POLICIES', 'DECISIONS', 'FILE_OPS', 'OPERATION_KINDS_HELP', 'OperationSpecError', 'PolicyError', 'RULE_LIST_OF',
    'SIGNAL_NUMBERS', 'SIGNAL_TARGETS', 'UNIX_SOCKET_OPS', 'builtinPath', 'canonicalJson', 'canonicalPath', 'cidrContains',
    'compileGlob', 'compileGlobAny', 'compilePolicy', 'describeOperation', 'detectRoots', 'expandBraces', 'explainPolicy',
    'globToRegexSource', 'loadPolicy', 'mergePolicies', 'operationFromSpec', 'parseCidr', 'parseIp', 'policySchema',
    'resolveSignalSpec', 'runSelfTests', 'severity', 'signalName',
  ]);
});
