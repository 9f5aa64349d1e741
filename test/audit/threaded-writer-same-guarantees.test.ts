// The threaded writer (thread: true) keeps every guarantee of the in-thread writer: append order,
// acknowledged = on disk, invalid events rejected at once, fail closed on a full disk (ENOSPC
// injected by a real 64 KiB tmpfs), resume, signed checkpoints, key rotation, forwarders.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AuditError, AuditIndex, openAuditLog, readKeyFile, sqliteForwarder, verifyChainFiles } from '../../src/audit/index.js';
import { generateKeyPairFiles } from '../../src/trust/index.js';
import { event, verifyWithKey, verifyWithPublicKey, writeHmacKey } from './helpers/chain.js';
import { tempDir } from './helpers/tmp.js';

test('threaded: appends are durable when acknowledged, in order; the chain verifies with HMAC and public keys; forwarders see every event', async (t) => {
  const dir = tempDir(t);
  const keyFile = writeHmacKey(join(dir, 'k'));
  const signer = generateKeyPairFiles(join(dir, 's'));
  const file = join(dir, 'a.jsonl');
  const db = join(dir, 'i.sqlite');
  const w = await openAuditLog({ file, key: { file: keyFile }, thread: true, checkpoint: { signingKeyFile: signer.privateFile, everyN: 50, everyMs: 0 }, forwarders: [sqliteForwarder(db)] });
  const subjects = Array.from({ length: 600 }, (_, i) => `/p/${i}`);
  await Promise.all(subjects.map((s, i) => w.append({ kind: 'file', operation: 'read', subject: s, decision: i % 3 ? 'allow' : 'deny', session: 's' })));
  const onDisk = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { k: string; x: { subject?: string } });
  assert.deepEqual(onDisk.filter((l) => l.k === 'event').map((l) => l.x.subject), subjects, 'acknowledged events are already in the file, in order');
  await assert.rejects(w.append({ kind: 'file', operation: 'read', subject: '/x', session: 's', fields: { n: Infinity } }), (e: unknown) => e instanceof AuditError && e.code === 'invalid-event');
  await w.append(event(1));
  const before = w.keyFingerprint;
  const k2 = writeHmacKey(join(dir, 'k2'));
  await w.rotateKey({ file: k2 });
  assert.notEqual(w.keyFingerprint, before);
  await w.append(event(2));
  await w.close();
  await assert.rejects(w.append(event(3)), (e: unknown) => e instanceof AuditError && e.code === 'closed');
  const r = verifyChainFiles([file], { keys: [readKeyFile(keyFile), readKeyFile(k2)], explicitKeys: true });
  assert.equal(r.ok, true, r.summary);
  assert.equal(r.events, 602);
  assert.equal(verifyWithPublicKey([file], signer.publicFile).ok, true);
  const idx = AuditIndex.open(db);
  t.after(() => idx.close());
  assert.equal(idx.query({ limit: 10_000 }).length, 602);
  assert.equal(idx.query({ decision: ['deny'], limit: 10_000 }).length, 200 + (event(1).decision === 'deny' ? 1 : 0) + (event(2).decision === 'deny' ? 1 : 0));
  // Resume with the in-thread writer (same format).
  const w2 = await openAuditLog({ file, key: { file: k2 } });
  await w2.close();
  assert.equal(verifyChainFiles([file], { keys: [readKeyFile(keyFile), readKeyFile(k2)], explicitKeys: true }).ok, true);
});

test('threaded: a full disk rejects the append with ENOSPC and every later one', async (t) => {
  assert.equal(process.getuid?.(), 0, 'this test mounts a tmpfs and must run as root (CI runs as root)');
  const dir = tempDir(t);
  const keyFile = writeHmacKey(join(dir, 'k'));
  const mnt = join(dir, 'small');
  mkdirSync(mnt);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mnt]);
  try {
    const w = await openAuditLog({ file: join(mnt, 'a.jsonl'), key: { file: keyFile }, thread: true });
    let acked = 0;
    let error: unknown = null;
    for (let i = 0; i < 2000 && !error; i++) {
      await w.append(event(i, { fields: { pad: 'x'.repeat(300) } })).then(() => { acked++; }, (e: unknown) => { error = e; });
    }
    assert.ok(error instanceof AuditError, String(error));
    assert.equal(error.code, 'write-failed');
    assert.equal((error.cause as NodeJS.ErrnoException | undefined)?.code, 'ENOSPC');
    assert.ok(acked > 10, `${acked} acknowledged before the disk filled`);
    await assert.rejects(w.append(event(1)), (e: unknown) => e instanceof AuditError && e.code === 'write-failed');
    await w.close().catch(() => undefined);
    execFileSync('mount', ['-o', 'remount,size=4m', mnt]);
    const w2 = await openAuditLog({ file: join(mnt, 'a.jsonl'), key: { file: keyFile }, thread: true });
    await w2.close();
    const r = verifyWithKey([join(mnt, 'a.jsonl')], keyFile);
    assert.equal(r.ok, true, r.summary);
    assert.ok(r.events >= acked);
  } finally {
    execFileSync('umount', ['-l', mnt]);
  }
});

test('threaded: a file that does not verify is refused at open, with the reason', async (t) => {
  const dir = tempDir(t);
  const keyFile = writeHmacKey(join(dir, 'k'));
  const file = join(dir, 'a.jsonl');
  const { writeFileSync } = await import('node:fs');
  writeFileSync(file, 'not a chain\n');
  await assert.rejects(openAuditLog({ file, key: { file: keyFile }, thread: true }), (e: unknown) => e instanceof AuditError && e.code === 'chain' && /not a chain entry/.test(e.message));
});
