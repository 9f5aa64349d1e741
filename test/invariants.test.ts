// Coverage gate for all seven DESIGN.md security invariants: each names the tests that would
// catch its breach, across parts; this fails if one of them is renamed or removed. The sandbox
// part keeps its own finer manifest for 1-5 (test/escape/invariants.test.ts).
import assert from 'node:assert/strict';
import { dirname, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { checkManifest, type InvariantManifest } from './helpers/invariant-manifest.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

const MANIFEST: InvariantManifest = {
  '1 no check-then-continue on pointer arguments': [
    ['test/escape/races.test.ts', 'path-rewriting thread race on open never yields the denied file'],
    ['test/escape/races.test.ts', 'path-rewriting thread race on exec never runs the denied image'],
    ['test/escape/races.test.ts', 'symlink swap race (renameat2 RENAME_EXCHANGE loop)'],
    ['test/escape/redirect-exec.test.ts', 'exec redirect race: threads rewriting the path, the argv and the injected arguments'],
    ['test/escape/fd-side-doors.test.ts', 'with msg_name to a unix datagram socket is decided by unix_socket_rules'],
    ['test/net/address-tricks.test.ts', 'DNS rebinding: a name the catch-all rule allows, resolving to metadata, is denied'],
  ],
  '2 side doors shut by a static filter': [
    ['test/escape/side-doors.test.ts', 'io_uring_setup'],
    ['test/escape/side-doors.test.ts', 'clone3'],
    ['test/escape/side-doors.test.ts', 'x32 syscall numbers'],
  ],
  '3 supervisor out of reach': [
    ['test/escape/supervisor.test.ts', 'the sandbox cannot see the supervisor or Node in its /proc'],
    ['test/escape/supervisor.test.ts', 'only stdin, stdout and stderr are inherited'],
  ],
  '4 supervisor dies, sandbox dies': [
    ['test/escape/supervisor.test.ts', 'killing the supervisor kills the whole sandbox'],
  ],
  '5 deferred-execution files write-protected by default': [
    ['test/escape/deferred-and-limits.test.ts', 'agent-default: writes to .git/hooks and .git/config are refused'],
    ['test/policy/builtin-policies.test.ts', 'agent-default: deferred-execution files are write-protected, readable'],
    ['test/policy/engine.test.ts', 'renaming or replacing a protected directory or any ancestor is refused'],
    ['test/escape/deferred-and-limits.test.ts', 'the ancestor rename attack (mv .git .g'],
  ],
  '6 audit append-only and verifiable': [
    ['test/audit/tamper-detected.property.test.ts', 'any single edit, insertion, deletion, reorder or truncation fails verify'],
    ['test/audit/tamper-detected.property.test.ts', 'signed checkpoints detect any change before the last checkpoint with the public key alone'],
    ['test/audit/crash-kill9-resume.test.ts', 'kill -9 mid-stream'],
    ['test/audit/fail-closed-on-write-failure.test.ts', 'a full filesystem makes append reject (ENOSPC)'],
  ],
  '7 secrets never reach the audit trail or an upstream unredacted': [
    ['test/mcp/tool-poisoning.test.ts', 'secrets redacted'],
    ['test/detect/detectors.test.ts', 'secrets: well-known formats found with their rule, redacted without leaking'],
    ['test/sandbox/env-policy.test.ts', 'property: no denied or secret name/value survives'],
    ['test/escape/audit-redaction.test.ts', 'secrets in exec argv are redacted in the audit chain'],
  ],
};

test('every DESIGN.md security invariant (1-7) names existing tests that would catch its breach', () => {
  assert.equal(Object.keys(MANIFEST).length, 7);
  assert.ok(checkManifest(ROOT, MANIFEST) >= 20);
});
