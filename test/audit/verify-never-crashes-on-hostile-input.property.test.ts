// Bad input to verify gives a verdict, never an exception: random bytes, random lines of JSON,
// valid lines with random bytes spliced in, and lines crafted to look like entries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { buildChain, verifyWithKey } from './helpers/chain.js';
import { tempDir } from './helpers/tmp.js';

test('verify returns a failing verdict with a reason for any hostile file, and never throws', async (t) => {
  const dir = tempDir(t);
  const c = await buildChain(dir, 6, 3);
  const good = readFileSync(c.file, 'utf8').split('\n').slice(0, -1);
  const target = join(dir, 'hostile.jsonl');
  const entryLike = fc.record({
    k: fc.constantFrom('genesis', 'event', 'checkpoint', 'rotate', 'segment', 'resume', 'close', 'zzz'),
    prev: fc.stringMatching(/^[0-9a-f]{64}$/), seq: fc.nat(), t: fc.constant('2026-01-01T00:00:00.000Z'), v: fc.constantFrom(1, 2),
    x: fc.dictionary(fc.constantFrom('chain', 'alg', 'key', 'd', 'cp', 'from', 'nextChain', 'nextKey'), fc.jsonValue()),
  }).map((o) => JSON.stringify(o).slice(0, -1) + `,"mac":"${'a'.repeat(64)}"}`);
  const content = fc.oneof(
    fc.uint8Array({ maxLength: 3000 }).map((b) => Buffer.from(b)),
    fc.array(fc.jsonValue().map((v) => JSON.stringify(v)), { maxLength: 8 }).map((ls) => Buffer.from(ls.join('\n') + '\n')),
    fc.array(entryLike, { minLength: 1, maxLength: 6 }).map((ls) => Buffer.from(ls.join('\n') + '\n')),
    fc.tuple(fc.nat({ max: good.length - 1 }), fc.uint8Array({ minLength: 1, maxLength: 50 })).map(([i, junk]) => Buffer.concat([Buffer.from(good.slice(0, i).join('\n') + '\n'), Buffer.from(junk), Buffer.from('\n' + good.slice(i).join('\n') + '\n')])),
    fc.tuple(fc.nat({ max: good.length - 1 }), entryLike).map(([i, l]) => Buffer.from([...good.slice(0, i), l, ...good.slice(i)].join('\n') + '\n')),
  );
  let runs = 0;
  fc.assert(fc.property(content, (bytes) => {
    runs++;
    writeFileSync(target, bytes);
    const r = verifyWithKey([target], c.keyFile);
    assert.equal(r.ok, false);
    assert.ok(r.firstBad || r.status === 'open', r.summary);
    assert.ok(r.summary.length > 10);
  }), { seed: 4242, numRuns: 300 });
  assert.equal(runs, 300);
});
