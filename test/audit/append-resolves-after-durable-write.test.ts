import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { openAuditLog, AuditError } from '../../src/audit/index.js';
import { isolateState, tempDir } from './helpers/tmp.js';

test('appended events are on disk when append resolves, in append order, and the default key is created 0600', async (t) => {
  const dir = tempDir(t);
  const state = isolateState(dir);
  const file = join(dir, 'a.jsonl');
  const w = await openAuditLog({ file });
  const subjects = Array.from({ length: 50 }, (_, i) => `/p/${i}`);
  await Promise.all(subjects.map((s) => w.append({ kind: 'file', operation: 'read', subject: s, decision: 'allow', session: 's1' })));
  // Durable before close: read the file now.
  const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { k: string; seq: number; x: { subject?: string } });
  assert.deepEqual(lines.filter((l) => l.k === 'event').map((l) => l.x.subject), subjects);
  assert.deepEqual(lines.map((l) => l.seq), lines.map((_, i) => i));
  await w.close();
  assert.equal(statSync(join(state, 'cordon', 'audit.key')).mode & 0o777, 0o600);
});

test('an invalid event is rejected and the chain goes on', async (t) => {
  const dir = tempDir(t);
  isolateState(dir);
  const w = await openAuditLog({ file: join(dir, 'a.jsonl') });
  await assert.rejects(w.append({ kind: 'file', operation: 'read', subject: '/x', session: 's', fields: { n: Number.NaN } }), (e: unknown) => e instanceof AuditError && e.code === 'invalid-event' && /not finite/.test(e.message));
  await assert.rejects(w.append({ kind: 'nope' as 'file', operation: 'read', subject: '/x', session: 's' }), /kind "nope"/);
  await assert.rejects(w.append({ kind: 'file', operation: 'read', subject: '/x', session: 's', extra: 1 } as never), /unknown field "extra"/);
  await w.append({ kind: 'file', operation: 'read', subject: '/ok', session: 's' });
  await w.close();
  await assert.rejects(w.append({ kind: 'file', operation: 'read', subject: '/late', session: 's' }), (e: unknown) => e instanceof AuditError && e.code === 'closed');
});

test('one writer per chain: a second writer (same process or another) is refused; a dead writer\'s lock is taken over', async (t) => {
  const { spawnSync } = await import('node:child_process');
  const { writeFileSync } = await import('node:fs');
  const dir = tempDir(t);
  isolateState(dir);
  const file = join(dir, 'a.jsonl');
  const w = await openAuditLog({ file });
  await assert.rejects(openAuditLog({ file }), (e: unknown) => e instanceof AuditError && e.code === 'locked' && /another writer in this process/.test(e.message));
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', `
    const { openAuditLog } = await import(${JSON.stringify(new URL('../../src/audit/index.js', import.meta.url).href)});
    try { await openAuditLog({ file: ${JSON.stringify(file)} }); console.log('opened'); } catch (e) { console.log(e.code); }
  `], { encoding: 'utf8', env: { ...process.env } });
  assert.equal(child.stdout.trim(), 'locked', child.stderr);
  await w.close();
  // A lock left by a process that no longer exists is taken over.
  writeFileSync(`${file}.lock`, '999999999\n');
  const w2 = await openAuditLog({ file });
  await w2.close();
});
