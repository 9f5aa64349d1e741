// What Node answers the supervisor for redirect decisions (src/sandbox/decide.ts): the
// substitute's argv is [command, ...args, ...original argv[1..], ...args_append] with the rule's
// environment after it, NUL-separated; a field execve cannot carry (a NUL byte) is a deny; a
// signal redirect names the signal. The effects in the world are in test/escape/redirect-*.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compilePolicy, loadPolicy } from '../../src/policy/index.js';
import { ANS, answerFor, decideQuestion, type Question } from '../../src/sandbox/index.js';

const policy = (redirectTo: string) => compilePolicy(loadPolicy({ text: `version: 1
name: t
defaults: { file: deny, command: deny, unix_socket: deny, signal: deny }
command_rules:
  - name: curl-wrap
    commands: ["/usr/bin/curl"]
    decision: redirect
    redirect_to: ${redirectTo}
signal_rules:
  - name: term-to-int
    signals: [SIGTERM]
    target: { type: children }
    decision: redirect
    redirect_to: SIGINT
`, source: 't' }));

const exec = (argv: string[]): Question => ({ kind: 'exec', id: 1, pid: 2, nr: 59, depth: 1, path: '/usr/bin/curl', interp: '', argv });

test('exec redirect answer: command, argc, argv (rule args, original args, appended), then the environment', () => {
  const p = policy('{ command: /opt/safe-curl, args: ["--proxy", "p"], args_append: ["--end"], environment: { A: "1", B: "x=y" } }');
  const q = exec(['curl', 'https://example.com', '-o', 'f']);
  const a = answerFor(q, decideQuestion(p, q).decision, false);
  assert.equal(a.ans, ANS.redirect);
  assert.equal(a.cacheable, false);
  assert.deepEqual(a.text.split('\0'), ['/opt/safe-curl', '7', '/opt/safe-curl', '--proxy', 'p', 'https://example.com', '-o', 'f', '--end', 'A=1', 'B=x=y']);
});

test('exec redirect answer: a NUL byte in an argument cannot be passed to execve and is a deny', () => {
  const p = policy('{ command: /opt/safe-curl }');
  const q = exec(['curl', 'a\0b']);
  const a = answerFor(q, decideQuestion(p, q).decision, false);
  assert.equal(a.ans, ANS.deny);
  assert.match(a.text, /NUL/);
});

test('signal redirect answer names the substitute signal', () => {
  const p = policy('{ command: /opt/safe-curl }');
  const q: Question = { kind: 'signal', id: 1, pid: 2, nr: 62, signal: 15, targetPid: 3, targets: ['children'], targetName: 'x' };
  const a = answerFor(q, decideQuestion(p, q).decision, false);
  assert.deepEqual([a.ans, a.text], [ANS.redirect, '2']);
});
