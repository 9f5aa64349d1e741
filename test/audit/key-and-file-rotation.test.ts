// Key rotation starts a new chain with an explicit rotation entry (verify needs both keys, and
// removing the rotation entry is caught); size-based file rotation continues the chain across
// files (a missing or swapped file is caught); SHA-512 chains work the same way.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openAuditLog, readKeyFile, verifyChainFiles, expandRotated } from '../../src/audit/index.js';
import { event, verifyWithKey, writeHmacKey } from './helpers/chain.js';
import { tempDir } from './helpers/tmp.js';

test('key rotation: old chain ends with a rotation entry, the new chain links back; both keys verify it, one does not', async (t) => {
  const dir = tempDir(t);
  const k1 = writeHmacKey(join(dir, 'k1'));
  const k2 = writeHmacKey(join(dir, 'k2'));
  const file = join(dir, 'a.jsonl');
  const w = await openAuditLog({ file, key: { file: k1 } });
  for (let i = 0; i < 5; i++) await w.append(event(i));
  const oldChain = w.chain;
  await w.rotateKey({ file: k2 });
  assert.notEqual(w.chain, oldChain);
  for (let i = 5; i < 9; i++) await w.append(event(i));
  await w.close();
  const keys = [readKeyFile(k1), readKeyFile(k2)];
  const r = verifyChainFiles([file], { keys, explicitKeys: true });
  assert.equal(r.ok, true, r.summary);
  assert.deepEqual(r.chains.map((c) => c.key), keys.map((k) => k.fingerprint));
  assert.equal(r.events, 9);
  const onlyOld = verifyWithKey([file], k1);
  assert.equal(onlyOld.firstBad?.reason, 'wrong-key', onlyOld.summary);
  // Remove the rotation entry: the new genesis no longer follows an announced rotation.
  const lines = readFileSync(file, 'utf8').split('\n');
  writeFileSync(file, lines.filter((l) => !l.startsWith('{"k":"rotate"')).join('\n'));
  const cut = verifyChainFiles([file], { keys, explicitKeys: true });
  assert.equal(cut.ok, false);
  assert.equal(cut.firstBad?.reason, 'inserted', cut.summary);
  // Resuming after rotation needs the new key.
  writeFileSync(file, lines.join('\n'));
  await assert.rejects(openAuditLog({ file, key: { file: k1 } }), /wrong key/);
  const w2 = await openAuditLog({ file, key: { file: k2 } });
  await w2.close();
  assert.equal(verifyChainFiles([file], { keys, explicitKeys: true }).ok, true);
});

test('file rotation: the chain continues across files; verify takes them all; a missing middle file is caught', async (t) => {
  const dir = tempDir(t);
  const k = writeHmacKey(join(dir, 'k'));
  const file = join(dir, 'a.jsonl');
  const w = await openAuditLog({ file, key: { file: k }, rotateBytes: 4096 });
  for (let i = 0; i < 60; i++) await w.append(event(i));
  await w.close();
  const files = expandRotated(file);
  assert.ok(files.length >= 4, `rotated into ${files.length} files: ${readdirSync(dir).join(' ')}`);
  const all = verifyWithKey(files, k);
  assert.equal(all.ok, true, all.summary);
  assert.equal(all.events, 60);
  // verify FILE picks up its rotated predecessors by itself.
  assert.equal(verifyChainFiles([file], { keys: [readKeyFile(k)], explicitKeys: true }).ok, true);
  // Only the newest file: verifies as a continuation, with a note that earlier files were not given.
  const tail = verifyWithKey([file], k);
  assert.equal(tail.ok, true, tail.summary);
  assert.ok(tail.notes.some((n) => /continuation file/.test(n)));
  // Drop a middle file: the next file's segment entry no longer matches.
  const withoutMiddle = files.filter((_, i) => i !== 1);
  const gap = verifyWithKey(withoutMiddle, k);
  assert.equal(gap.ok, false, gap.summary);
  // Swap two files: caught too.
  const swapped = [files[0]!, files[2]!, files[1]!, ...files.slice(3)];
  assert.equal(verifyWithKey(swapped, k).ok, false);
  // Resume after rotation continues in the active file.
  rmSync(`${file}.lock`, { force: true });
  const w2 = await openAuditLog({ file, key: { file: k }, rotateBytes: 4096 });
  await w2.append(event(99));
  await w2.close();
  assert.equal(verifyWithKey(expandRotated(file), k).ok, true);
  renameSync(files[0]!, join(dir, 'moved-away'));
  assert.equal(verifyChainFiles([file], { keys: [readKeyFile(k)], explicitKeys: true }).notes.some((n) => /continuation/.test(n)), true);
});

test('a SHA-512 chain verifies and detects an edit', async (t) => {
  const dir = tempDir(t);
  const k = writeHmacKey(join(dir, 'k'));
  const file = join(dir, 'a.jsonl');
  const w = await openAuditLog({ file, key: { file: k }, algorithm: 'sha512' });
  for (let i = 0; i < 6; i++) await w.append(event(i));
  await w.close();
  const r = verifyWithKey([file], k);
  assert.equal(r.ok, true, r.summary);
  assert.equal(r.chains[0]!.alg, 'sha512');
  assert.match(readFileSync(file, 'utf8'), /"mac":"[0-9a-f]{128}"/);
  writeFileSync(file, readFileSync(file, 'utf8').replace('/work/project/f3.txt', '/work/project/f4.txt'));
  assert.equal(verifyWithKey([file], k).firstBad?.reason, 'edited');
});

test('checkpoints are also written on a timer, not only every N entries', async (t) => {
  const { generateKeyPairFiles } = await import('../../src/trust/index.js');
  const dir = tempDir(t);
  const k = writeHmacKey(join(dir, 'k'));
  const s = generateKeyPairFiles(join(dir, 's'));
  const file = join(dir, 'a.jsonl');
  const w = await openAuditLog({ file, key: { file: k }, checkpoint: { signingKeyFile: s.privateFile, everyN: 0, everyMs: 50 } });
  await w.append(event(1));
  // Several timer periods, generous for a loaded CI machine.
  for (let i = 0; i < 40 && !/"k":"checkpoint"[^\n]*\n$/.test(readFileSync(file, 'utf8')); i++) await new Promise((r) => setTimeout(r, 50));
  await w.flush();
  const count = () => (readFileSync(file, 'utf8').match(/"k":"checkpoint"/g) ?? []).length;
  const n = count();
  assert.ok(n >= 1, 'a timed checkpoint was written');
  const lines = readFileSync(file, 'utf8').trim().split('\n');
  assert.match(lines[lines.length - 1]!, /^\{"k":"checkpoint"/, 'it covers the event');
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(count(), n, 'no new checkpoints while nothing new is written');
  await w.close();
});

test('a crash between rotating a full file away and starting the next one: the writer continues the chain from the rotated file', async (t) => {
  const dir = tempDir(t);
  const k = writeHmacKey(join(dir, 'k'));
  const file = join(dir, 'a.jsonl');
  const w = await openAuditLog({ file, key: { file: k }, rotateBytes: 4096 });
  for (let i = 0; i < 20; i++) await w.append(event(i));
  await w.flush();
  (w as unknown as { release(): void }).release();
  // Simulate: the active file was renamed away and the process died before the next file.
  const { rotatedName } = await import('../../src/audit/index.js');
  const next = expandRotated(file).length - 1;
  renameSync(file, rotatedName(file, next));
  const w2 = await openAuditLog({ file, key: { file: k }, rotateBytes: 4096 });
  await w2.append(event(100));
  await w2.close();
  const r = verifyChainFiles([file], { keys: [readKeyFile(k)], explicitKeys: true });
  assert.equal(r.ok, true, r.summary);
  assert.equal(r.events, 21);
  assert.ok(r.notes.some((n) => /active file missing/.test(n)), r.notes.join('; '));
});
