// Coverage gate for the DESIGN.md security invariants this part enforces (1-5, and 7 for what
// the sandbox records): each names
// the tests that would catch its breach; this test fails if one of them is renamed or removed.
// (6 belongs to the audit part; 7 is shared with the detect and gateway parts.)
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkManifest, type InvariantManifest } from '../helpers/invariant-manifest.js';
import { ROOT } from './helpers/sandbox.js';

const MANIFEST: InvariantManifest = {
  '1 no check-then-continue on pointer arguments': [
    ['test/escape/races.test.ts', 'path-rewriting thread race on open never yields the denied file'],
    ['test/escape/races.test.ts', 'symlink swap race (renameat2 RENAME_EXCHANGE loop)'],
    ['test/escape/races.test.ts', 'path-rewriting thread race on exec never runs the denied image'],
    ['test/escape/file-paths.test.ts', '/proc/self/fd re-open cannot upgrade a read-only open to a write'],
    ['test/escape/unix-sockets.test.ts', 'family-flipping race (AF_INET <-> AF_UNIX in the same buffer)'],
    ['test/escape/unix-sockets.test.ts', 'fd-swapping race (dup2 of a unix socket over an inet socket'],
    ['test/escape/unix-sockets.test.ts', 'unix datagram sendto a path on an unconnected socket'],
    ['test/escape/soft-delete.test.ts', 'symlink swapped into an ancestor during soft_delete'],
    ['test/escape/redirect-exec.test.ts', 'exec redirect race: threads rewriting the path, the argv and the injected arguments'],
    ['test/escape/fd-side-doors.test.ts', 'with msg_name to a unix datagram socket is decided by unix_socket_rules'],
    ['test/escape/fd-side-doors.test.ts', 'fchmod on an fd is decided like chmod on the fd'],
    ['test/escape/fd-side-doors.test.ts', 'fchown on an fd is decided like chown on the fd'],
    ['test/escape/redirect-signal.test.ts', 'signal redirect (${how}): the target receives the rule\'s signal'],
  ],
  '2 side doors shut by a static filter': [
    ['test/escape/side-doors.test.ts', 'io_uring_setup'],
    ['test/escape/side-doors.test.ts', 'unshare(CLONE_NEWUSER)'],
    ['test/escape/side-doors.test.ts', 'x32 syscall numbers'],
    ['test/escape/side-doors.test.ts', 'AF_VSOCK sockets'],
    ['test/escape/side-doors.test.ts', 'clone3'],
    ['test/escape/side-doors.test.ts', 'the i386 entry point (int 0x80'],
    ['test/escape/side-doors.test.ts', 'process_vm_readv of a forked child'],
    ['test/escape/side-doors.test.ts', 'TIOCSTI into its own controlling terminal'],
  ],
  '3 supervisor out of reach': [
    ['test/escape/supervisor.test.ts', 'the sandbox cannot see the supervisor or Node in its /proc'],
    ['test/escape/supervisor.test.ts', 'only stdin, stdout and stderr are inherited'],
    ['test/escape/side-doors.test.ts', 'ptrace of a forked child'],
    ['test/escape/cordon-files.test.ts', 'a relative --audit file in the project cannot be written'],
    ['test/escape/supervisor.test.ts', 'the supervisor is no confused deputy'],
  ],
  '4 supervisor dies, sandbox dies': [
    ['test/escape/supervisor.test.ts', 'killing the supervisor kills the whole sandbox'],
  ],
  '5 deferred-execution files write-protected by default': [
    ['test/escape/deferred-and-limits.test.ts', 'agent-default: writes to .git/hooks and .git/config are refused'],
    ['test/escape/deferred-and-limits.test.ts', 'the ancestor rename attack (mv .git .g'],
  ],
  '7 no secrets in the audit trail (the fields the sandbox records)': [
    ['test/escape/audit-redaction.test.ts', 'secrets in exec argv are redacted in the audit chain'],
  ],
};

test('every enforced DESIGN.md invariant (1-5, 7) names existing tests', () => {
  assert.ok(checkManifest(ROOT, MANIFEST) >= 15);
});
