// Invariant 6: any single edit, insertion, deletion, reorder or truncation of a chain is
// detected by verify (HMAC key), and by checkpoint signatures alone (public key) when it touches
// a signed part; an untouched chain always verifies, with either.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { buildChain, verifyWithKey, verifyWithPublicKey } from './helpers/chain.js';
import { tempDir } from './helpers/tmp.js';

type Mutation =
  | { t: 'edit'; line: number; pos: number; byte: number }
  | { t: 'insert'; line: number; from: number }
  | { t: 'delete'; line: number }
  | { t: 'swap'; a: number; b: number }
  | { t: 'truncate'; at: number };

function apply(orig: Buffer, m: Mutation): Buffer {
  const lines = orig.toString('utf8').split('\n').slice(0, -1).map((l) => l + '\n');
  const n = lines.length;
  switch (m.t) {
    case 'edit': {
      const i = m.line % n;
      const b = Buffer.from(lines[i]!, 'utf8');
      const pos = m.pos % (b.length - 1); // never the newline
      if (b[pos] === m.byte || m.byte === 10) return orig; // not a change: counted as vacuous
      b[pos] = m.byte;
      lines[i] = b.toString('latin1');
      return Buffer.concat(lines.map((l, j) => (j === i ? b : Buffer.from(l, 'utf8'))));
    }
    case 'insert': lines.splice(m.line % (n + 1), 0, lines[m.from % n]!); break;
    case 'delete': lines.splice(m.line % n, 1); break;
    case 'swap': {
      const a = m.a % n, b = m.b % n;
      if (lines[a] === lines[b]) return orig;
      [lines[a], lines[b]] = [lines[b]!, lines[a]!];
      break;
    }
    case 'truncate': return orig.subarray(0, m.at % orig.length);
  }
  return Buffer.from(lines.join(''), 'utf8');
}

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ t: fc.constant('edit' as const), line: fc.nat(), pos: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ t: fc.constant('insert' as const), line: fc.nat(), from: fc.nat() }),
  fc.record({ t: fc.constant('delete' as const), line: fc.nat() }),
  fc.record({ t: fc.constant('swap' as const), a: fc.nat(), b: fc.nat() }),
  fc.record({ t: fc.constant('truncate' as const), at: fc.nat() }),
);

test('any single edit, insertion, deletion, reorder or truncation fails verify (HMAC key)', async (t) => {
  const dir = tempDir(t);
  const c = await buildChain(dir, 24);
  const orig = readFileSync(c.file);
  assert.equal(verifyWithKey([c.file], c.keyFile).ok, true, 'control: the untouched chain verifies');
  const target = join(dir, 'mutated.jsonl');
  const changed = new Map<string, number>();
  fc.assert(fc.property(mutation, (m) => {
    const bytes = apply(orig, m);
    if (bytes.equals(orig)) return;
    changed.set(m.t, (changed.get(m.t) ?? 0) + 1);
    writeFileSync(target, bytes);
    const r = verifyWithKey([target], c.keyFile);
    assert.equal(r.ok, false, `mutation ${JSON.stringify(m)} was not detected: ${r.summary}`);
  }), { seed: 20261122, numRuns: 400 });
  // Anti-vacuity: every kind of mutation really happened many times.
  for (const k of ['edit', 'insert', 'delete', 'swap', 'truncate']) assert.ok((changed.get(k) ?? 0) >= 40, `${k}: only ${changed.get(k) ?? 0} effective mutations`);
});

const macSuffix = ',"mac":"'.length + 64 + 2;
function firstDiff(a: Buffer, b: Buffer): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return a.length;
}

test('signed checkpoints detect any change before the last checkpoint with the public key alone', async (t) => {
  const dir = tempDir(t);
  const c = await buildChain(dir, 24, 4);
  const orig = readFileSync(c.file);
  const clean = verifyWithPublicKey([c.file], c.pubFile);
  assert.equal(clean.ok, true, `control: ${clean.summary}`);
  assert.equal(clean.mode, 'public');
  assert.ok(clean.checkpoints.verified >= 6, `checkpoints verified: ${clean.checkpoints.verified}`);
  const target = join(dir, 'mutated.jsonl');
  let effective = 0;
  fc.assert(fc.property(mutation, (m) => {
    const bytes = apply(orig, m);
    if (bytes.equals(orig)) return;
    // By design the last entry's own MAC field is checked only with the HMAC key (nothing after
    // it can sign it); every other byte is covered by the signature in the close entry.
    if (m.t === 'edit' && bytes.length === orig.length && firstDiff(bytes, orig) >= orig.length - 1 - macSuffix) return;
    effective++;
    writeFileSync(target, bytes);
    const r = verifyWithPublicKey([target], c.pubFile);
    assert.equal(r.ok, false, `mutation ${JSON.stringify(m)} passed public verification: ${r.summary}`);
  }), { seed: 77, numRuns: 300 });
  assert.ok(effective >= 250, `effective mutations: ${effective}`);
});

test('an untouched chain always verifies, whatever its events', async (t) => {
  const { openAuditLog } = await import('../../src/audit/index.js');
  const { writeHmacKey } = await import('./helpers/chain.js');
  const dir = tempDir(t);
  const keyFile = writeHmacKey(join(dir, 'k'));
  let runs = 0;
  await fc.assert(fc.asyncProperty(
    fc.array(fc.record({
      subject: fc.string({ unit: 'binary', maxLength: 40 }),
      session: fc.string({ minLength: 1, maxLength: 8 }),
      fields: fc.dictionary(fc.string({ maxLength: 6 }), fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.string({ unit: 'binary' }), fc.boolean(), fc.constant(null)), { maxKeys: 4 }),
    }), { minLength: 0, maxLength: 12 }),
    async (evs) => {
      const file = join(dir, `c${runs++}.jsonl`);
      const w = await openAuditLog({ file, key: { file: keyFile } });
      for (const e of evs) await w.append({ kind: 'tool', operation: 'call', ...e });
      await w.close();
      const r = verifyWithKey([file], keyFile);
      assert.equal(r.ok, true, r.summary);
      assert.equal(r.events, evs.length);
    },
  ), { seed: 5, numRuns: 40 });
  assert.equal(runs, 40);
});
