// verify tells which entry is bad first and why: edited, inserted, deleted, reordered,
// truncated, wrong key; and turns garbage, binary and huge lines into a verdict, not a crash.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildChain, verifyWithKey, writeHmacKey } from './helpers/chain.js';
import { tempDir } from './helpers/tmp.js';

async function setup(t: { after(fn: () => void): void }) {
  const dir = tempDir(t);
  const c = await buildChain(dir, 12);
  const lines = readFileSync(c.file, 'utf8').split('\n').slice(0, -1);
  const out = join(dir, 'x.jsonl');
  const check = (ls: string[] | Buffer, trailingNewline = true) => {
    writeFileSync(out, Buffer.isBuffer(ls) ? ls : ls.join('\n') + (trailingNewline ? '\n' : ''));
    return verifyWithKey([out], c.keyFile);
  };
  return { c, lines, check, dir };
}

test('control: the untouched chain is intact and closed', async (t) => {
  const { lines, check } = await setup(t);
  const r = check(lines);
  assert.equal(r.ok, true, r.summary);
  assert.equal(r.status, 'intact');
  assert.equal(r.firstBad, null);
});

test('an edited event is reported as edited at its sequence number', async (t) => {
  const { lines, check } = await setup(t);
  const i = lines.findIndex((l) => l.includes('"decision":"deny"') && l.includes('"k":"event"'));
  const seq = (JSON.parse(lines[i]!) as { seq: number }).seq;
  lines[i] = lines[i]!.replace('"decision":"deny"', '"decision":"allow"');
  const r = check(lines);
  assert.equal(r.ok, false);
  assert.equal(r.firstBad?.reason, 'edited');
  assert.equal(r.firstBad?.seq, seq);
  assert.match(r.summary, new RegExp(`entry ${seq} was edited`));
});

test('a forged entry inserted between two entries is reported as inserted', async (t) => {
  const { lines, check } = await setup(t);
  const forged = JSON.parse(lines[3]!) as Record<string, unknown>;
  forged.x = { ...(forged.x as object), subject: '/etc/shadow' };
  lines.splice(4, 0, JSON.stringify(forged));
  const r = check(lines);
  assert.equal(r.firstBad?.reason, 'inserted', r.summary);
  assert.equal(r.firstBad?.line, 5);
});

test('a replayed copy of an earlier entry is reported as inserted', async (t) => {
  const { lines, check } = await setup(t);
  lines.splice(6, 0, lines[2]!);
  const r = check(lines);
  assert.equal(r.firstBad?.reason, 'inserted', r.summary);
});

test('a deleted entry is reported as deleted with the missing sequence numbers', async (t) => {
  const { lines, check } = await setup(t);
  lines.splice(5, 2);
  const r = check(lines);
  assert.equal(r.firstBad?.reason, 'deleted', r.summary);
  assert.match(r.firstBad!.message, /entries 5\.\.6 were deleted/);
});

test('two swapped entries are reported as reordered', async (t) => {
  const { lines, check } = await setup(t);
  [lines[4], lines[5]] = [lines[5]!, lines[4]!];
  const r = check(lines);
  assert.equal(r.firstBad?.reason, 'reordered', r.summary);
});

test('deleting the genesis entry is reported', async (t) => {
  const { lines, check } = await setup(t);
  const r = check(lines.slice(1));
  assert.equal(r.firstBad?.reason, 'deleted', r.summary);
});

test('a cut in the middle of the last line is reported as truncation after the last good entry', async (t) => {
  const { lines, check } = await setup(t);
  const text = lines.join('\n') + '\n';
  const r2 = check(Buffer.from(text.slice(0, text.length - 50)));
  assert.equal(r2.status, 'truncated', r2.summary);
  assert.equal(r2.firstBad?.reason, 'truncated');
  assert.match(r2.summary, /incomplete entry/);
});

test('a cut at an entry boundary (close entry gone) leaves the chain open, which fails', async (t) => {
  const { lines, check } = await setup(t);
  const r = check(lines.slice(0, -3));
  assert.equal(r.ok, false);
  assert.equal(r.status, 'open', r.summary);
  assert.match(r.summary, /no close entry/);
});

test('another key is reported as wrong key with both fingerprints', async (t) => {
  const { c, dir } = await setup(t);
  const other = writeHmacKey(join(dir, 'other.key'));
  const r = verifyWithKey([c.file], other);
  assert.equal(r.ok, false);
  assert.equal(r.firstBad?.reason, 'wrong-key');
  assert.match(r.summary, /wrong key: the chain was written with key fingerprint [0-9a-f]{32}/);
});

test('garbage, binary data, an empty file and huge lines get a verdict, not a crash', async (t) => {
  const { check, lines } = await setup(t);
  const cases: [string, Buffer, RegExp][] = [
    ['text', Buffer.from('hello world\nthis is not a chain\n'), /not a chain entry \(starts "hello world"\)/],
    ['binary', Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 37) % 256)), /binary data|not a chain entry/],
    ['empty', Buffer.alloc(0), /empty/],
    ['huge line', Buffer.concat([Buffer.from(lines[0]! + '\n'), Buffer.alloc(3 << 20, 0x61), Buffer.from('\n')]), /bytes long/],
    ['huge unterminated', Buffer.concat([Buffer.from(lines[0]! + '\n'), Buffer.alloc(5 << 20, 0x62)]), /incomplete|truncated/i],
    ['json but not ours', Buffer.from('{"a":1}\n'), /not a chain entry/],
  ];
  for (const [name, bytes, re] of cases) {
    const r = check(bytes);
    assert.equal(r.ok, false, name);
    assert.match(r.summary, re, `${name}: ${r.summary}`);
  }
});

test('an open chain cut at an entry boundary passes --allow-open alone, and fails against a head recorded elsewhere', async (t) => {
  const { lines, check, c } = await setup(t);
  const { verifyChainFiles, readKeyFile } = await import('../../src/audit/index.js');
  const head = JSON.parse(lines[8]!) as { seq: number; mac: string };
  const out = join(c.dir, 'cut.jsonl');
  writeFileSync(out, lines.slice(0, 6).join('\n') + '\n'); // open chain, entries 6.. removed
  const keys = [readKeyFile(c.keyFile)];
  assert.equal(verifyChainFiles([out], { keys, explicitKeys: true, allowOpen: true }).ok, true, 'control: without an anchor the cut is invisible');
  const r = verifyChainFiles([out], { keys, explicitKeys: true, allowOpen: true, expectHeads: new Map([[head.seq, head.mac]]) });
  assert.equal(r.ok, false);
  assert.equal(r.firstBad?.reason, 'truncated');
  assert.match(r.summary, new RegExp(`entry ${head.seq} .* is missing`));
  const full = verifyChainFiles([c.file], { keys, explicitKeys: true, expectHeads: new Map([[head.seq, head.mac]]) });
  assert.equal(full.ok, true, full.summary);
  void check;
});
