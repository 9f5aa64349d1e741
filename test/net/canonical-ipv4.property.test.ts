// Property: every numeric spelling of an IPv4 address (dotted decimal, octal, hex, 1-4 parts,
// trailing dot, IPv4-mapped IPv6) canonicalises to the same dotted quad, and the SSRF class is
// the same for all of them. Seeded, with an anti-vacuity count.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { canonicalHost, classifyIp } from '../../src/net/index.js';

const octet = fc.integer({ min: 0, max: 255 });

function spell(n: number, radix: 8 | 10 | 16): string {
  return radix === 10 ? String(n) : radix === 8 ? `0${n.toString(8)}` : `0x${n.toString(16)}`;
}

test('property: all spellings of an IPv4 address are one canonical address with one SSRF class', () => {
  let checked = 0;
  fc.assert(
    fc.property(fc.tuple(octet, octet, octet, octet), fc.constantFrom(8, 10, 16), fc.integer({ min: 1, max: 4 }), fc.boolean(), ([a, b, c, d], radix, parts, dot) => {
      const quad = `${a}.${b}.${c}.${d}`;
      const n = ((a << 24) >>> 0) + (b << 16) + (c << 8) + d;
      const r = radix as 8 | 10 | 16;
      const forms = parts === 4 ? [a, b, c, d].map((x) => spell(x, r)).join('.')
        : parts === 3 ? `${spell(a, r)}.${spell(b, r)}.${spell((c << 8) + d, r)}`
        : parts === 2 ? `${spell(a, r)}.${spell(n & 0xffffff, r)}`
        : spell(n, r);
      const spellings = [forms + (dot ? '.' : ''), `[::ffff:${quad}]`, `::ffff:${((a << 8) + b).toString(16)}:${((c << 8) + d).toString(16)}`];
      const cls = classifyIp(quad)?.cls;
      for (const sp of spellings) {
        const h = canonicalHost(sp);
        assert.deepEqual(h, { kind: 'ip', ip: quad, family: 4 }, sp);
        assert.equal(classifyIp(h.kind === 'ip' ? h.ip : '')?.cls, cls);
      }
      checked++;
    }),
    { seed: 4242, numRuns: 2000 },
  );
  assert.equal(checked, 2000);
});
