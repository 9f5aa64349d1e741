// Crash safety: a writer killed with SIGKILL mid-stream, many times. After each kill the chain
// verifies up to (at most) a reported truncation; every event whose append had resolved
// ("ack" printed by the child after the fdatasync) is in the file; the next writer resumes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { verifyWithKey, writeHmacKey } from './helpers/chain.js';
import { tempDir } from './helpers/tmp.js';

const CHILD = new URL('./helpers/crash-writer.js', import.meta.url).pathname;

function runChild(args: string[], killAfterMs: number | null): Promise<{ acked: string[]; signal: string | null }> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    c.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (killAfterMs !== null && out.startsWith('open\n') && !c.killed) {
        const ms = killAfterMs;
        killAfterMs = null;
        setTimeout(() => c.kill('SIGKILL'), ms);
      }
    });
    c.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    c.on('error', reject);
    c.on('close', (code, signal) => {
      if (signal === null && code !== 0) return reject(new Error(`writer exited ${code}: ${err}`));
      const acked = out.split('\n').filter((l) => l.startsWith('ack ')).map((l) => l.slice(4));
      resolve({ acked, signal });
    });
  });
}

test('kill -9 mid-stream, 10 times: acknowledged events survive, the chain verifies up to a reported truncation, the writer resumes', async (t) => {
  const dir = tempDir(t);
  const keyFile = writeHmacKey(join(dir, 'k'));
  const file = join(dir, 'audit.jsonl');
  const acked = new Set<string>();
  let truncations = 0;
  const ROUNDS = 10;
  for (let r = 0; r < ROUNDS; r++) {
    const res = await runChild([file, keyFile, `r${r}`], 40 + ((r * 37) % 120));
    assert.equal(res.signal, 'SIGKILL', 'the writer was killed, not finished');
    res.acked.forEach((id) => acked.add(id));
    const v = verifyWithKey([file], keyFile, { allowOpen: true });
    assert.ok(v.firstBad === null || v.firstBad.reason === 'truncated', `after kill ${r}: ${v.summary}`);
    if (v.status === 'truncated') truncations++;
    const present = new Set(readFileSync(file, 'utf8').split('\n').flatMap((l) => { const m = /"id":"([^"]+)"/.exec(l); return m ? [m[1]!] : []; }));
    for (const id of res.acked) assert.ok(present.has(id), `acknowledged event ${id} is missing after kill ${r}`);
  }
  const last = await runChild([file, keyFile, 'final', 'close'], null);
  last.acked.forEach((id) => acked.add(id));
  const v = verifyWithKey([file], keyFile);
  assert.equal(v.ok, true, v.summary);
  assert.equal(v.status, 'intact');
  const events = readFileSync(file, 'utf8').split('\n').filter((l) => l.includes('"k":"event"'));
  const ids = new Set(events.map((l) => /"id":"([^"]+)"/.exec(l)![1]!));
  for (const id of acked) assert.ok(ids.has(id), `acknowledged event ${id} lost`);
  assert.ok(acked.size > ROUNDS * 20, `anti-vacuity: ${acked.size} events acknowledged across the kills`);
  // Each resume after a kill is recorded in the chain.
  assert.equal(v.notes.filter((n) => /restarted after a crash/.test(n)).length, ROUNDS);
  t.diagnostic(`acknowledged ${acked.size}, kills landing mid-line ${truncations}/${ROUNDS}`);
});

test('an incomplete last line (power cut mid-write) is reported as truncation, then cut and recorded by the resuming writer', async (t) => {
  const { openAuditLog } = await import('../../src/audit/index.js');
  const { truncateSync, statSync } = await import('node:fs');
  const dir = tempDir(t);
  const keyFile = writeHmacKey(join(dir, 'k'));
  const file = join(dir, 'audit.jsonl');
  const w = await openAuditLog({ file, key: { file: keyFile } });
  for (let i = 0; i < 5; i++) await w.append({ kind: 'file', operation: 'read', subject: `/f${i}`, session: 's' });
  await w.flush();
  // Simulate the crash: no close entry, and the last entry half written.
  (w as unknown as { release(): void }).release();
  truncateSync(file, statSync(file).size - 30);
  const before = verifyWithKey([file], keyFile);
  assert.equal(before.status, 'truncated', before.summary);
  assert.match(before.summary, /incomplete entry/);
  const w2 = await openAuditLog({ file, key: { file: keyFile } });
  await w2.close();
  const after = verifyWithKey([file], keyFile);
  assert.equal(after.ok, true, after.summary);
  assert.equal(after.events, 4, 'the half-written (never acknowledged as complete) entry is gone');
  assert.ok(after.notes.some((n) => /discarded an incomplete last line of \d+ bytes/.test(n)), after.notes.join('; '));
});
