// The start spec is a pure function of the policy: pinned here (Landlock write roots, native
// rule table, option bits), plus the sandbox part's public exports.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compilePolicy, loadPolicy } from '../../src/policy/index.js';
import * as sandbox from '../../src/sandbox/index.js';
import { buildSpec, encodeSpec, FrameReader, nativeFileRules, OPT, RK, writeRoots } from '../../src/sandbox/index.js';

const YAML = `version: 1
name: spec-test
defaults: { file: deny, errno: EPERM }
file_rules:
  - { name: hooks, paths: ["/p/.git/hooks/**"], operations: [write, create], decision: deny }
  - { name: proj, paths: ["/p/**"], decision: allow }
  - { name: tmp, paths: ["/tmp/{a,b}/*.txt"], operations: [read, write], decision: allow }
  - { name: watched, paths: ["/w/**"], decision: audit }
  - { name: ro, paths: ["/usr/**"], operations: [read, exec], decision: allow }
  - { name: quiet, paths: ["/q"], decision: deny, errno: 0 }
`;
const policy = compilePolicy(loadPolicy({ text: YAML, source: 'spec' })).policy;

test('Landlock write roots: literal prefixes of non-deny rules covering writes, nested ones dropped', () => {
  assert.deepEqual(writeRoots(policy), ['/dev', '/p', '/tmp/a', '/tmp/b', '/w']);
});

test('native rule table: allow/deny decided natively, audit and absorb ask Node, errno from defaults', () => {
  const n = nativeFileRules(policy);
  // The loader puts a generated ":ancestors" guard before each deny rule (src/policy/ancestor-guards.ts).
  assert.deepEqual(n.rules.map((r) => [r.kind, r.errno, r.patterns]), [
    [RK.deny, 1, ['/p', '/p/.git', '/p/.git/hooks']],
    [RK.deny, 1, ['/p/.git/hooks/**']],
    [RK.allow, 1, ['/p/**']],
    [RK.allow, 1, ['/tmp/a/*.txt', '/tmp/b/*.txt']],
    [RK.ask, 1, ['/w/**']],
    [RK.allow, 1, ['/usr/**']],
    [RK.ask, 0, ['/q']],
    [RK.ask, 0, ['/q']],
  ]);
  assert.equal(n.rules[1]!.mask, (1 << 6) | (1 << 7));
  assert.equal(n.rules[5]!.mask, (1 << 0) | (1 << 17));
  // rename, link, symlink, create, mknod
  assert.equal(n.rules[0]!.mask, (1 << 11) | (1 << 14) | (1 << 15) | (1 << 7) | (1 << 16));
  assert.deepEqual([n.defaultKind, n.defaultErrno], [RK.deny, 1]);
});

test('spec: options, argv, env and the frame sequence ending with go', () => {
  const s = buildSpec({ policy, argv: ['git', 'status'], env: { A: '1' }, cwd: '/p', degraded: ['landlock'], protectedPaths: ['/state'] });
  assert.equal(s.options, OPT.NEWNET | OPT.TRAP_UNIX | OPT.TRAP_SIGNAL | OPT.DEGRADE_LANDLOCK);
  assert.deepEqual(s.env, ['A=1']);
  const buf = encodeSpec(s, [4]);
  const types: string[] = [];
  for (let off = 0; off < buf.length;) {
    const n = buf.readUInt32LE(off);
    types.push(new FrameReader(buf.subarray(off + 4, off + 4 + n)).type);
    off += 4 + n;
  }
  assert.deepEqual(types.join(''), 'OAAEWWWWWPRRRRRRRRDCG');
  assert.throws(() => buildSpec({ policy, argv: [], env: {}, cwd: '/' }), /no command/);
  // protected paths are matched canonically by the supervisor: relative or unnormalized ones are refused
  assert.throws(() => buildSpec({ policy, argv: ['true'], env: {}, cwd: '/', protectedPaths: ['audit.jsonl'] }), /absolute and normalized/);
  assert.throws(() => buildSpec({ policy, argv: ['true'], env: {}, cwd: '/', protectedPaths: ['/a/../b'] }), /absolute and normalized/);
  // the session trash goes in its own frame after the cwd
  const t = encodeSpec(buildSpec({ policy, argv: ['true'], env: {}, cwd: '/', trashDir: '/state/trash/s-1' }), []);
  assert.ok(t.includes(Buffer.from('/state/trash/s-1')));
});

test('public exports of src/sandbox are named and pinned', () => {
  assert.deepEqual(Object.keys(sandbox).sort(), [
    'ANS', 'DEGRADABLE', 'FrameReader', 'FrameSplitter', 'FrameWriter', 'OPT', 'RK', 'SUPERVISOR_PATH', 'SandboxError', 'TO_SUPERVISOR',
    'TrashError', 'answerFor', 'buildSpec', 'combine', 'decideQuestion', 'detectHost', 'encodeSpec', 'formatDetect', 'jsonEventWriter',
    'listTrash', 'loadPolicyCached', 'moveToTrash', 'nativeFileRules', 'newSessionId', 'operationsOf', 'opsFromMask', 'parseQuestion', 'policyCacheKey',
    'redactArgv', 'restoreFromTrash', 'runCommand', 'runSandbox', 'trashRoot', 'writeRoots',
  ]);
});
