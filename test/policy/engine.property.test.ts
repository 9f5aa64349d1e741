// Properties of the engine and loader, checked on generated inputs (seeded, with counts that
// prove the generators reached the interesting cases).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import picomatch from 'picomatch';
import { stringify } from 'yaml';
import { compileGlob, compilePolicy, expandBraces, loadPolicy, PolicyError } from '../../src/policy/index.js';
import { compiled, HEADER, VARS } from './helpers/load.js';

const SEED = 20261121;
const seg = fc.constantFrom('a', 'b', 'ab', '.a', 'ba', 'x.js');
// The root itself is left to unit tests: picomatch's answers for "/" are not self-consistent.
const canonicalPathArb = fc.array(seg, { minLength: 1, maxLength: 5 }).map((s) => `/${s.join('/')}`);
const patSeg = fc.constantFrom('a', 'b', '*', '**', '?', 'a*', '*b', '[ab]', '[^a]', '{a,b}', '.a', '*.js', 'a?');
const patternArb = fc.array(patSeg, { minLength: 1, maxLength: 4 }).map((s) => `/${s.join('/')}`);

/**
 * picomatch as the reference. Both sides are made relative (leading "/" dropped), because
 * picomatch treats a leading `/**​/` inconsistently with `/x/**​/a` matching `/x/a`.
 * One documented difference remains: in Cordon `X/**` also matches whatever X matches (the
 * directory itself); picomatch does so only when X is literal.
 */
function oracle(pattern: string, path: string): boolean {
  if (picomatch(pattern.slice(1), { dot: true })(path.slice(1))) return true;
  return pattern.endsWith('/**') && pattern.length > 3 && oracle(pattern.slice(0, -3), path);
}

test('glob matching agrees with picomatch (reference oracle) on canonical paths', () => {
  let matches = 0;
  let total = 0;
  fc.assert(
    fc.property(patternArb, canonicalPathArb, (pattern, path) => {
      const expected = oracle(pattern, path);
      const ours = expandBraces(pattern).some((p) => compileGlob(p, '/').test(path));
      total++;
      if (ours) matches++;
      assert.equal(ours, expected, `pattern ${pattern} on ${path}`);
    }),
    { seed: SEED, numRuns: 20000 },
  );
  // Anti-vacuity: the generators must produce both outcomes in quantity.
  assert.ok(matches > total * 0.05, `only ${matches}/${total} matched`);
  assert.ok(matches < total * 0.95);
});

const fileOps = fc.constantFrom('read', 'write', 'create', 'delete', 'stat', 'exec', 'rename');
const ruleArb = fc.record({
  paths: fc.array(patternArb, { minLength: 1, maxLength: 3 }),
  operations: fc.option(fc.uniqueArray(fileOps, { minLength: 1, maxLength: 3 }), { nil: undefined }),
  decision: fc.constantFrom('allow', 'deny', 'audit', 'approve'),
});

function policyText(rules: { paths: string[]; operations?: string[] | undefined; decision: string }[]): string {
  return stringify({ version: 1, name: 'gen', file_rules: rules.map((r, i) => ({ name: `r${i}`, ...r, ...(r.operations ? {} : { operations: undefined }) })) });
}

/** The specification of first-match-wins, written naively: scan every rule in order. */
function naive(rules: { paths: string[]; operations?: string[] | undefined; decision: string }[], op: string, path: string): number {
  for (let i = 0; i < rules.length; i++) {
    const r = rules[i]!;
    if (r.operations && !r.operations.includes(op) && !r.operations.includes('*')) continue;
    if (r.paths.some((p) => oracle(p, path))) return i;
  }
  return -1;
}

test('the indexed engine gives the decision a naive in-order scan gives', () => {
  let matched = 0;
  fc.assert(
    fc.property(fc.array(ruleArb, { minLength: 1, maxLength: 12 }), fileOps, canonicalPathArb, (rules, op, path) => {
      const c = compilePolicy(loadPolicy({ text: policyText(rules), source: 'gen', vars: VARS, env: {} }));
      const d = c.evaluate({ kind: 'file', op: op as 'read', path });
      // The spec runs over the loaded rule list, generated ancestor guards included.
      const loaded = c.policy.file_rules!;
      const want = naive(loaded, op, path);
      if (want >= 0) matched++;
      assert.equal(d.ruleIndex, want);
      assert.equal(d.decision, want >= 0 ? loaded[want]!.decision : 'deny');
    }),
    { seed: SEED, numRuns: 800 },
  );
  assert.ok(matched > 150, `only ${matched} runs had a matching rule`);
});

test('evaluation is deterministic: same operation, same decision, in any order and repetition', () => {
  const c = compiled(`${HEADER}file_rules:\n  - { name: a, paths: ["/a/**"], decision: allow }\n  - { name: b, paths: ["**/*.js"], operations: [write], decision: deny }\n`);
  fc.assert(
    fc.property(fc.array(fc.tuple(fileOps, canonicalPathArb), { minLength: 1, maxLength: 30 }), (ops) => {
      const first = ops.map(([op, path]) => c.evaluate({ kind: 'file', op: op as 'read', path }));
      const again = [...ops].reverse().map(([op, path]) => c.evaluate({ kind: 'file', op: op as 'read', path })).reverse();
      assert.deepEqual(again, first);
    }),
    { seed: SEED, numRuns: 500 },
  );
});

test('a deny rule placed first always wins for what it matches', () => {
  let denied = 0;
  fc.assert(
    fc.property(patternArb, fc.array(ruleArb, { maxLength: 8 }), fileOps, canonicalPathArb, (denyPattern, rest, op, path) => {
      const rules = [{ paths: [denyPattern], decision: 'deny' }, ...rest.map((r) => ({ ...r, decision: 'allow' }))];
      const c = compilePolicy(loadPolicy({ text: policyText(rules), source: 'gen', vars: VARS, env: {} }));
      const d = c.evaluate({ kind: 'file', op: op as 'read', path });
      if (oracle(denyPattern, path)) {
        denied++;
        assert.equal(d.decision, 'deny');
        assert.ok(d.rule === 'r0' || d.rule === 'r0:ancestors', d.rule);
      }
    }),
    { seed: SEED, numRuns: 800 },
  );
  assert.ok(denied > 30, `the deny rule matched only ${denied} times`);
});

test('no input makes the loader throw anything but a PolicyError', () => {
  const yamlish = fc.array(fc.constantFrom('a', ':', ' ', '\n', '-', '[', ']', '{', '}', '&x', '*x', '!!', '"', "'", '#', 'version: 1', 'name: n', 'file_rules:', '  - ', 'paths: [', '${', '}', '\t', '?', '|', '>', '%', '@', '`', '\u200b', '1e999'), { maxLength: 60 }).map((parts) => parts.join(''));
  const jsonish = fc.jsonValue({ maxDepth: 4 }).map((v) => stringify({ version: 1, name: 'x', file_rules: [v] }));
  let rejected = 0;
  fc.assert(
    fc.property(fc.oneof(yamlish, jsonish, fc.string({ maxLength: 100 })), (text) => {
      try {
        loadPolicy({ text, source: 'fuzz', vars: VARS, env: {} });
      } catch (e) {
        rejected++;
        assert.ok(e instanceof PolicyError, `threw ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
        assert.ok(e.message.length > 0 && !e.message.includes('\n    at '));
      }
    }),
    { seed: SEED, numRuns: 3000 },
  );
  assert.ok(rejected > 2500);
});

