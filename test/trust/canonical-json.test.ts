import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { canonicalJson, CanonicalJsonError } from '../../src/trust/index.js';

test('canonical JSON sorts keys at every level and has no whitespace', () => {
  assert.equal(canonicalJson({ b: 1, a: [{ d: true, c: null }], 'é': 'x' }), '{"a":[{"c":null,"d":true}],"b":1,"é":"x"}');
  assert.equal(canonicalJson({ a: undefined, b: 2 }), '{"b":2}');
});

test('canonical JSON rejects what JSON cannot carry', () => {
  for (const v of [Number.NaN, Infinity, -Infinity, 10n, () => 1, Symbol('s'), new Date(0), new Map(), Buffer.from('x'), [undefined]]) {
    assert.throws(() => canonicalJson({ v }), CanonicalJsonError, String(v));
  }
  const cyc: Record<string, unknown> = {};
  cyc.self = cyc;
  assert.throws(() => canonicalJson(cyc), /cyclic/);
});

test('canonical JSON round-trips and is independent of key insertion order', () => {
  let runs = 0;
  fc.assert(fc.property(fc.jsonValue(), (v) => {
    runs++;
    const c = canonicalJson(v);
    assert.deepEqual(JSON.parse(c), JSON.parse(JSON.stringify(v)));
    const reordered = JSON.parse(c, (_k, x: unknown) => (x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).reverse()) : x)) as unknown;
    assert.equal(canonicalJson(reordered), c);
  }), { seed: 11, numRuns: 300 });
  assert.equal(runs, 300);
});
