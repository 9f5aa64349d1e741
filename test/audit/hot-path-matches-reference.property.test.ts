// The writer's hot path replaces two general tools with fast special cases; these properties pin
// them to the reference: the keyed-state HMAC and the batched digest run to node:crypto (OpenSSL), and the event serialiser
// to the generic canonical JSON writer (so any other canonicaliser reproduces MAC inputs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import fc from 'fast-check';
import { canonicalJson } from '../../src/trust/index.js';
import { eventJson } from '../../src/audit/event-json.js';
import { HmacSha256 } from '../../src/audit/sha256.js';
import { DigestRun } from '../../src/audit/format.js';
import { EVENT_KINDS, type AuditEventInput } from '../../src/audit/index.js';

test('the reused keyed HMAC-SHA-256 equals node:crypto on random inputs', () => {
  let runs = 0;
  fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), fc.uint8Array({ minLength: 1, maxLength: 100 }), fc.array(fc.uint8Array({ maxLength: 80 }), { maxLength: 5 }), (msg, key, more) => {
    runs++;
    const m = Buffer.from(msg);
    // One keyed object serves many messages: each MAC must be independent of the ones before.
    const h = new HmacSha256(Buffer.from(key));
    for (const x of [m, ...more.map((b) => Buffer.from(b))]) {
      assert.equal(h.mac(x).toString('hex'), createHmac('sha256', Buffer.from(key)).update(x).digest('hex'));
    }
  }), { seed: 3, numRuns: 400 });
  assert.equal(runs, 400);
});

test('the batched digest run equals one hash over the seed and every h, across batch boundaries', () => {
  let runs = 0;
  fc.assert(fc.property(fc.constantFrom('sha256' as const, 'sha512' as const), fc.integer({ min: 0, max: 200 }), fc.integer(), (alg, n, salt) => {
    runs++;
    const size = alg === 'sha256' ? 32 : 64;
    const seed = createHash(alg).update(`seed${salt}`).digest();
    const run = new DigestRun(alg, seed);
    const ref = createHash(alg).update(seed);
    for (let i = 0; i < n; i++) {
      const h = createHash(alg).update(`${salt}:${i}`).digest();
      assert.equal(h.length, size);
      run.add(h);
      ref.update(h);
    }
    assert.equal(run.count, n);
    assert.equal(run.finish(), ref.digest('hex'));
  }), { seed: 5, numRuns: 120 });
  assert.equal(runs, 120);
});

const str = fc.string({ unit: 'binary', maxLength: 20 });
const eventArb: fc.Arbitrary<AuditEventInput> = fc.record({
  kind: fc.constantFrom(...EVENT_KINDS),
  operation: str.filter((s) => s.length > 0),
  subject: str,
  decision: fc.option(fc.constantFrom('allow', 'deny', 'audit', 'redirect', 'approve', 'soft_delete' as const), { nil: undefined }),
  rule: fc.option(str, { nil: undefined }),
  message: fc.option(str, { nil: undefined }),
  policyDigest: fc.option(str, { nil: undefined }),
  session: str.filter((s) => s.length > 0),
  process: fc.option(fc.record({ pid: fc.integer(), ppid: fc.option(fc.integer(), { nil: undefined }), exe: fc.option(str, { nil: undefined }), argv: fc.option(fc.array(str), { nil: undefined }) }), { nil: undefined }),
  fields: fc.option(fc.dictionary(str, fc.jsonValue()) as fc.Arbitrary<Record<string, unknown>>, { nil: undefined }),
  redacted: fc.option(fc.array(str), { nil: undefined }),
});

test('the fast event serialiser produces exactly the canonical JSON of the event', () => {
  let runs = 0;
  fc.assert(fc.property(eventArb, (e) => {
    runs++;
    assert.equal(eventJson(e), canonicalJson(e));
  }), { seed: 9, numRuns: 500 });
  assert.equal(runs, 500);
});

test('the byte-level header parser accepts exactly what the reference regular expression accepts', async () => {
  const { parseHeader, parseHeaderBytes } = await import('../../src/audit/format.js');
  const piece = (alphabet: string, max: number) => fc.string({ unit: fc.constantFrom(...alphabet.split('')), maxLength: max });
  // Each field is usually well-formed (so many headers parse) and sometimes not.
  const field = (ok: fc.Arbitrary<string>, bad: fc.Arbitrary<string>) => fc.oneof({ weight: 6, arbitrary: ok }, { weight: 1, arbitrary: bad });
  const header = fc.tuple(
    field(fc.stringMatching(/^[a-z]{1,16}$/), piece('abkzA', 18)),
    field(fc.stringMatching(/^[0-9a-f]{1,128}$/), piece('0123456789abcdefg', 130)),
    field(fc.stringMatching(/^(0|[1-9][0-9]{0,15})$/), piece('0123456789', 18)),
    field(fc.stringMatching(/^[0-9T:.Z-]{1,40}$/), piece('0123456789T:.Z-x', 42)),
    field(fc.stringMatching(/^[0-9]{1,6}$/), piece('0123456789', 8)),
    fc.constantFrom(',"x":{', ',"x":{', ',"x":{', ',"x":[', ',"y":{', ''), fc.constantFrom('"', '"', '"', ''),
  ).map(([k, prev, seq, t, v, x, quote]) => `{"k":"${k}","prev":"${prev}","seq":${seq},"t":"${t}${quote}","v":${v}${x}`);
  let runs = 0;
  let accepted = 0;
  fc.assert(fc.property(fc.oneof(header, fc.string({ unit: 'binary-ascii', maxLength: 80 })), (text) => {
    runs++;
    const b = Buffer.from(text, 'latin1');
    const want = parseHeader(text);
    if (want) want.seq = Number(want.seq);
    if (want) accepted++;
    assert.deepEqual(parseHeaderBytes(b, 0, b.length), want);
  }), { seed: 21, numRuns: 2000 });
  assert.equal(runs, 2000);
  assert.ok(accepted > 50, `anti-vacuity: ${accepted} well-formed headers`);
});
