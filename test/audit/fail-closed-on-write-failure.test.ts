// Fail closed: when the audit trail cannot record (disk full, I/O error), append rejects, so the
// enforcement point denies, and every later append rejects too until the chain is reopened.
// Fault injection is real: a 64 KiB tmpfs fills up (ENOSPC), or the writer's fd is closed (EBADF);
// each test asserts the injected errno is the cause, and a control run with room succeeds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { openAuditLog, AuditError, type AuditSink } from '../../src/audit/index.js';
import { event, verifyWithKey, writeHmacKey } from './helpers/chain.js';
import { tempDir } from './helpers/tmp.js';

async function appendUntilFailure(w: AuditSink, max: number): Promise<{ acked: number; error: unknown }> {
  let acked = 0;
  for (let i = 0; i < max; i++) {
    try {
      await w.append(event(i, { fields: { pad: 'x'.repeat(300), i } }));
      acked++;
    } catch (e) {
      return { acked, error: e };
    }
  }
  return { acked, error: null };
}

function causeCode(e: unknown): string | undefined {
  return ((e as { cause?: NodeJS.ErrnoException }).cause)?.code;
}

test('a full filesystem makes append reject (ENOSPC) and keeps rejecting; reopening with room resumes the chain', async (t) => {
  assert.equal(process.getuid?.(), 0, 'this test mounts a tmpfs and must run as root (CI runs as root)');
  const dir = tempDir(t);
  const keyFile = writeHmacKey(join(dir, 'k'));
  const mnt = join(dir, 'small');
  mkdirSync(mnt);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mnt]);
  try {
    await fullDisk(mnt, keyFile);
  } finally {
    execFileSync('umount', ['-l', mnt]);
  }
});

async function fullDisk(mnt: string, keyFile: string): Promise<void> {
  const file = join(mnt, 'audit.jsonl');

  const w = await openAuditLog({ file, key: { file: keyFile } });
  const { acked, error } = await appendUntilFailure(w, 2000);
  assert.ok(error instanceof AuditError, `expected an AuditError, got ${String(error)}`);
  assert.equal(error.code, 'write-failed');
  assert.equal(causeCode(error), 'ENOSPC', 'the injected fault (disk full) is what failed the append');
  assert.ok(acked > 10 && acked < 2000, `acknowledged ${acked} events before the disk filled`);
  // Fail closed: nothing more is acknowledged, even small events.
  await assert.rejects(w.append({ kind: 'file', operation: 'read', subject: '/a', session: 's' }), (e: unknown) => e instanceof AuditError && e.code === 'write-failed');
  await assert.rejects(w.flush());
  await w.close().catch(() => undefined);

  // Room again: the writer verifies what is there, cuts the partial last line, records it, resumes.
  execFileSync('mount', ['-o', 'remount,size=4m', mnt]);
  const w2 = await openAuditLog({ file, key: { file: keyFile } });
  await w2.append({ kind: 'session', operation: 'note', subject: 'after-resume', session: 's' });
  await w2.close();
  const r = verifyWithKey([file], keyFile);
  assert.equal(r.ok, true, r.summary);
  assert.ok(r.events >= acked + 1, `every acknowledged event is still there (${r.events} >= ${acked + 1})`);
  assert.ok(r.notes.some((n) => /restarted after a crash/.test(n)), r.notes.join('; '));
}

test('control: the same appends on a filesystem with room all succeed', async (t) => {
  const dir = tempDir(t);
  const keyFile = writeHmacKey(join(dir, 'k'));
  const w = await openAuditLog({ file: join(dir, 'audit.jsonl'), key: { file: keyFile } });
  const { acked, error } = await appendUntilFailure(w, 400);
  assert.equal(error, null);
  assert.equal(acked, 400);
  await w.close();
});

test('an I/O error on the chain file (its fd closed underneath) rejects the append (EBADF)', async (t) => {
  const dir = tempDir(t);
  const keyFile = writeHmacKey(join(dir, 'k'));
  const w = await openAuditLog({ file: join(dir, 'audit.jsonl'), key: { file: keyFile } });
  await w.append(event(1));
  await (w as unknown as { fh: { close(): Promise<void> } }).fh.close();
  const e = await w.append(event(2)).then(() => null, (x: unknown) => x);
  assert.ok(e instanceof AuditError && e.code === 'write-failed', String(e));
  assert.equal(causeCode(e), 'EBADF');
  await assert.rejects(w.append(event(3)));
});
