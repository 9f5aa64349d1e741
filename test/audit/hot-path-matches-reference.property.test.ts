// The writer's hot path replaces two general tools with fast special cases; these properties pin
// them to the reference: the JS SHA-256/HMAC to node:crypto (OpenSSL), and the event serialiser
// to the generic canonical JSON writer (so any other canonicaliser reproduces MAC inputs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import fc from 'fast-check';
import { canonicalJson } from '../../src/trust/index.js';
import { eventJson } from '../../src/audit/event-json.js';
import { HmacSha256, Sha256Stream, sha256 } from '../../src/audit/sha256.js';
import { EVENT_KINDS, type AuditEventInput } from '../../src/audit/index.js';

test('JS SHA-256, streaming SHA-256 and HMAC-SHA-256 equal node:crypto on random inputs', () => {
  let runs = 0;
  fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), fc.uint8Array({ minLength: 1, maxLength: 100 }), fc.integer({ min: 1, max: 70 }), (msg, key, step) => {
    runs++;
    const m = Buffer.from(msg);
    assert.equal(sha256(m).toString('hex'), createHash('sha256').update(m).digest('hex'));
    assert.equal(new HmacSha256(Buffer.from(key)).mac(m).toString('hex'), createHmac('sha256', Buffer.from(key)).update(m).digest('hex'));
    const s = new Sha256Stream();
    for (let i = 0; i < m.length; i += step) s.update(m, i, Math.min(step, m.length - i));
    assert.equal(s.digest().toString('hex'), createHash('sha256').update(m).digest('hex'));
  }), { seed: 3, numRuns: 400 });
  assert.equal(runs, 400);
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
