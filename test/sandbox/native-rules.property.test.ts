// The supervisor decides hot file operations natively (native/src/rules.c) from a table the TS
// side builds (nativeFileRules). That is only sound if it gives exactly the engine's decision:
// this property test generates policies (globs with *, **, ?, classes, braces; op subsets;
// allow/deny/audit; errnos) and paths, and compares `cordon-supervisor --match` with
// CompiledPolicy.evaluate. "ask" (Node decides) is always sound; anti-vacuity: most answers
// must be native, and both allows and denies must occur.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { compilePolicy, FILE_OPS, loadPolicy, type Decision } from '../../src/policy/index.js';
import { FrameWriter, nativeFileRules, opsFromMask, SUPERVISOR_PATH } from '../../src/sandbox/index.js';
import { combine } from '../../src/sandbox/index.js';
import { readFastPath } from '../../src/sandbox/read-fastpath.js';

const SEG = ['a', 'b', 'ab', 'x.js', '.git', 'hooks', 'c1'];
const segArb = fc.constantFrom(...SEG);
const globSegArb = fc.oneof(
  { weight: 5, arbitrary: segArb },
  { weight: 2, arbitrary: fc.constant('*') },
  { weight: 2, arbitrary: fc.constant('**') },
  { weight: 1, arbitrary: fc.constantFrom('*.js', 'a*', '?b', '[ab]', '[!a]*', '{a,b}', '{hooks,c1}', 'x.*', '*b*') },
);
// Adjacent globstars (`**/**`) are left out: the engine's glob.ts builds an invalid regex for
// them (reported to the policy part); the native side answers "ask" for them anyway.
const patternArb = fc.oneof(
  fc.array(globSegArb, { minLength: 1, maxLength: 4 }).map((s) => `/${s.join('/')}`),
  fc.array(globSegArb, { minLength: 1, maxLength: 3 }).map((s) => `**/${s.join('/')}`),
).filter((p) => !/\*\*\/\*\*/.test(p));
const opsArb = fc.option(fc.subarray(['read', 'write', 'create', 'delete', 'list', 'stat', 'rename'] as const, { minLength: 1 }), { nil: undefined });
const ruleArb = fc.record({
  paths: fc.array(patternArb, { minLength: 1, maxLength: 3 }),
  operations: opsArb,
  decision: fc.constantFrom('allow', 'allow', 'deny', 'deny', 'audit'),
  errno: fc.option(fc.constantFrom(1, 13, 'EPERM', 'ENOENT', 30), { nil: undefined }),
});
const policyArb = fc.record({
  rules: fc.array(ruleArb, { minLength: 1, maxLength: 6 }),
  def: fc.constantFrom('allow', 'deny', 'audit'),
  defErrno: fc.option(fc.constantFrom(1, 13), { nil: undefined }),
});
const pathArb = fc.array(segArb, { minLength: 0, maxLength: 5 }).map((s) => `/${s.join('/')}`);
const maskArb = fc.constantFrom(1 << 0, 1 << 6, (1 << 0) | (1 << 6), 1 << 7, 1 << 12, 1 << 3, 1 << 2, (1 << 6) | (1 << 7));

function nativeAnswers(table: ReturnType<typeof nativeFileRules>, queries: Array<{ mask: number; path: string }>): string[] {
  const frames: Buffer[] = [];
  for (const r of table.rules) {
    const w = new FrameWriter('R').u32(r.mask).u32(r.kind).u32(r.errno).u32(r.patterns.length);
    for (const p of r.patterns) w.str(p);
    frames.push(w.frame());
  }
  frames.push(new FrameWriter('D').u32(table.defaultKind).u32(table.defaultErrno).frame());
  for (const q of queries) frames.push(new FrameWriter('M').u32(q.mask).str(q.path).frame());
  const r = spawnSync(SUPERVISOR_PATH, ['--match'], { input: Buffer.concat(frames), encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim().split('\n');
}

test('native file_rules decisions equal the engine\'s on generated policies and paths', () => {
  let native = 0, asked = 0, allows = 0, denies = 0;
  fc.assert(
    fc.property(policyArb, fc.array(fc.record({ mask: maskArb, path: pathArb }), { minLength: 20, maxLength: 40 }), (p, queries) => {
      const doc = {
        version: 1, name: 'gen',
        defaults: { file: p.def, ...(p.defErrno !== undefined ? { errno: p.defErrno } : {}) },
        file_rules: p.rules.map((r, i) => ({ name: `r${i}`, paths: r.paths, decision: r.decision, ...(r.operations ? { operations: r.operations } : {}), ...(r.errno !== undefined && r.decision === 'deny' ? { errno: r.errno } : {}) })),
      };
      const c = compilePolicy(loadPolicy({ text: stringify(doc), source: 'generated' }));
      const answers = nativeAnswers(nativeFileRules(c.policy), queries);
      queries.forEach((q, i) => {
        const a = answers[i]!;
        if (a === 'ask') { asked++; return; }
        native++;
        const d: Decision = combine(opsFromMask(q.mask).map((op) => c.evaluate({ kind: 'file', op: op as (typeof FILE_OPS)[number], path: q.path })));
        if (a === 'allow') {
          allows++;
          assert.equal(d.decision, 'allow', `${q.path} mask ${q.mask}: native allow, engine ${d.decision} (${d.rule})\n${stringify(doc)}`);
        } else {
          denies++;
          assert.equal(d.decision, 'deny', `${q.path} mask ${q.mask}: native ${a}, engine ${d.decision} (${d.rule})\n${stringify(doc)}`);
          assert.equal(a, `deny ${d.errno ?? 13}`, `${q.path}: errno differs\n${stringify(doc)}`);
        }
      });
    }),
    { seed: 20261122, numRuns: 150 },
  );
  assert.ok(native > asked, `anti-vacuity: most answers native (native ${native}, ask ${asked})`);
  assert.ok(allows > 100 && denies > 100, `anti-vacuity: allows ${allows}, denies ${denies}`);
});

// The directory fast path (native/src/notify.c) leaves a directory open to the kernel when the
// supervisor's grant lookup (rules.c grants_cover) says the object lies inside a Landlock
// READ_DIR grant of the read fast path. Both halves are checked here on generated policies over
// a real tree: the C lookup answers exactly as a prefix check over the grants does, and every
// covered path (existing or not) is one the engine lets be listed. Anti-vacuity: both answers
// occur, and policies with the fast path on and with grants both occur.
const TREE = mkdtempSync(join(tmpdir(), 'cordon-grants-'));
for (const a of ['a', 'b', '.git', 'hooks']) for (const b of ['a', 'c1', 'hooks']) {
  mkdirSync(join(TREE, a, b, 'ab'), { recursive: true });
  writeFileSync(join(TREE, a, b, 'x.js'), 'x');
}
const treeLiteralArb = fc.tuple(fc.array(fc.constantFrom('a', 'b', '.git', 'hooks', 'c1'), { minLength: 0, maxLength: 2 }), fc.boolean())
  .map(([segs, tree]) => [TREE, ...segs].join('/') + (tree ? '/**' : ''));
const treePatternArb = fc.oneof(
  { weight: 6, arbitrary: treeLiteralArb },
  { weight: 2, arbitrary: fc.array(globSegArb, { minLength: 1, maxLength: 3 }).map((s) => `${TREE}/${s.join('/')}`).filter((p) => !/\*\*\/\*\*/.test(p)) },
);
const treeRuleArb = fc.record({
  paths: fc.array(treePatternArb, { minLength: 1, maxLength: 3 }),
  operations: fc.option(fc.subarray(['read', 'list', 'stat', 'write'] as const, { minLength: 1 }), { nil: undefined }),
  decision: fc.constantFrom('allow', 'allow', 'allow', 'deny', 'deny', 'audit'),
});
const treePathArb = fc.array(fc.constantFrom('a', 'b', '.git', 'hooks', 'c1', 'ab', 'x.js', 'zz'), { minLength: 0, maxLength: 4 }).map((s) => [TREE, ...s].join('/'));

function grantAnswers(grants: string[], paths: string[]): string[] {
  const frames = [...grants.map((g) => new FrameWriter('G').str(g).frame()), ...paths.map((p) => new FrameWriter('g').str(p).frame())];
  const r = spawnSync(SUPERVISOR_PATH, ['--match'], { input: Buffer.concat(frames), encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim().split('\n');
}

test('directory fast path: the supervisor\'s grant lookup equals a prefix check, and a covered path may be listed by the policy', () => {
  let covered = 0, notCovered = 0, withGrants = 0, off = 0;
  fc.assert(
    fc.property(fc.array(treeRuleArb, { minLength: 1, maxLength: 5 }), fc.constantFrom('deny', 'allow'), fc.array(treePathArb, { minLength: 10, maxLength: 25 }), (rules, def, paths) => {
      const doc = {
        version: 1, name: 'gen', defaults: { file: def },
        file_rules: rules.map((r, i) => ({ name: `r${i}`, paths: r.paths, decision: r.decision, ...(r.operations ? { operations: r.operations } : {}) })),
      };
      const c = compilePolicy(loadPolicy({ text: stringify(doc), source: 'generated' }));
      const fast = readFastPath(c, []);
      if (!fast.on) { off++; return; }
      // Paths outside TREE are left out of the comparison only for a default-allow policy's "/" grant.
      const grants = fast.grants.list;
      if (grants.length) withGrants++;
      const answers = grantAnswers(grants, paths);
      paths.forEach((p, i) => {
        const ref = grants.some((g) => g === '/' || p === g || p.startsWith(`${g}/`));
        assert.equal(answers[i], ref ? 'cover' : 'no', `${p}: grants ${JSON.stringify(grants)}`);
        if (!ref) { notCovered++; return; }
        covered++;
        const d = c.evaluate({ kind: 'file', op: 'list', path: p });
        assert.equal(d.decision, 'allow', `${p} is inside a READ_DIR grant but the engine says ${d.decision} (${d.rule})\n${stringify(doc)}\ngrants ${JSON.stringify(grants)}`);
      });
    }),
    { seed: 20261122, numRuns: 120 },
  );
  assert.ok(covered > 100 && notCovered > 100, `anti-vacuity: covered ${covered}, not covered ${notCovered}`);
  assert.ok(withGrants > 20 && off > 5, `anti-vacuity: policies with grants ${withGrants}, with the fast path off ${off}`);
});
