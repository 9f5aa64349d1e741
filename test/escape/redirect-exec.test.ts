// Exec redirect: the process that called execve becomes the rule's substitute command (the
// original program never runs), with the original arguments passed on between the rule's `args`
// and `args_append`, and the rule's environment set. Effects are files the programs write; each
// test has a control that differs by one rule (the redirect rule is an allow rule there). The
// racing test rewrites the path and argv from a second thread and overwrites the page where
// the supervisor's injected arguments will land from a third: the original never runs.
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { layout, MARK, PROBES, probeResult, requireSandbox, ROOT, sandboxRun, type Layout } from './helpers/sandbox.js';

before(requireSandbox);
const REDIR = join(PROBES, 'redirect');

/** The "curl-like" original (a copy of the mark probe: writes RAN to argv[1], exits 42). */
function redirLayout() {
  const l = layout();
  mkdirSync(join(l.work, 'bin'));
  mkdirSync(join(l.work, 'no'));
  const curl = join(l.work, 'bin', 'curl');
  copyFileSync(MARK, curl);
  copyFileSync(MARK, join(l.work, 'no', 'progx'));
  return { l, curl, bad: join(l.work, 'no', 'progx'), origMark: join(l.work, 'orig-ran'), subMark: join(l.work, 'sub-ran') };
}

/** `redirect` true: curl redirected to /bin/sh writing its argv and $REDIR_VAR; false: allowed. */
function policy(l: Layout, curl: string, subMark: string, redirect: boolean, subExit = 0): string {
  const script = `printf '%s|' "$0" "$@" "$REDIR_VAR" > ${subMark}; exit ${subExit}`;
  const rule = redirect
    ? `    decision: redirect
    redirect_to:
      command: /bin/sh
      args: ["-c", ${JSON.stringify(script)}, "sub"]
      args_append: ["tail"]
      environment: { REDIR_VAR: "from-rule" }`
    : '    decision: allow';
  return `version: 1
name: redirect-test
defaults: { file: deny, command: deny, unix_socket: deny, signal: deny }
file_rules:
  - name: work
    paths: ["${l.work}", "${l.work}/**"]
    decision: allow
  - name: system
    paths: ["/usr/**", "/lib/**", "/lib64/**", "/bin/**", "/etc/**", "/proc/**", "/sys/**", "/dev/**", "${PROBES}/**", "${ROOT}node_modules/**"]
    operations: [read, open, stat, list, readlink, access, exec]
    decision: allow
  - name: devnull
    paths: ["/dev/null", "/dev/tty"]
    decision: allow
  - name: look
    paths: ["/**"]
    operations: [stat]
    decision: allow
command_rules:
  - name: curl-to-wrapper
    commands: ["${curl}"]
${rule}
  - name: forbidden
    commands: ["${l.work}/no/**"]
    decision: deny
  - name: tools
    commands: ["/usr/**", "/bin/**", "${PROBES}/**"]
    decision: allow
signal_rules:
  - name: own
    signals: ["@all"]
    target: { type: session }
    decision: allow
`;
}

test('exec redirect: a redirected curl-like command runs the substitute with its arguments passed on; the original never runs', async () => {
  const a = redirLayout();
  const r = await sandboxRun(policy(a.l, a.curl, a.subMark, true), ['/bin/sh', '-c', `${a.curl} ${a.origMark}; echo "rc=$?"`], a.l.work);
  assert.equal(existsSync(a.origMark), false, 'the original program ran');
  assert.ok(existsSync(a.subMark), `the substitute did not run: ${r.stderr}`);
  // argv: [/bin/sh, -c, script, sub, <original argv[1..]>, tail]; environment from the rule.
  assert.equal(readFileSync(a.subMark, 'utf8'), `sub|${a.origMark}|tail|from-rule|`);
  assert.match(r.stdout, /rc=0/, 'the caller saw the substitute exit with its status');
  assert.ok(r.events.some((e) => e.type === 'decision' && e.kind === 'exec' && e.decision === 'redirect' && e.rule === 'curl-to-wrapper'), 'the redirect was recorded');
  // control: the rule allows curl instead of redirecting it
  const c = redirLayout();
  await sandboxRun(policy(c.l, c.curl, c.subMark, false), ['/bin/sh', '-c', `${c.curl} ${c.origMark}`], c.l.work);
  assert.equal(readFileSync(c.origMark, 'utf8'), 'RAN\n', 'control: the original runs when its rule allows it');
  assert.equal(existsSync(c.subMark), false);
});

test('exec redirect of the top-level command and of execveat (fexecve-style) callers', async () => {
  const a = redirLayout();
  await sandboxRun(policy(a.l, a.curl, a.subMark, true), [a.curl, a.origMark], a.l.work);
  assert.equal(existsSync(a.origMark), false, 'the original program ran');
  assert.equal(readFileSync(a.subMark, 'utf8'), `sub|${a.origMark}|tail|from-rule|`);
  const b = redirLayout();
  await sandboxRun(policy(b.l, b.curl, b.subMark, true), [join(PROBES, 'escape'), 'execveat', join(b.l.work, 'bin'), 'curl', b.origMark], b.l.work);
  assert.equal(existsSync(b.origMark), false, 'the original program ran through execveat');
  assert.equal(readFileSync(b.subMark, 'utf8'), `sub|${b.origMark}|tail|from-rule|`);
});

test('exec redirect race: threads rewriting the path, the argv and the injected arguments never get the original (or a denied program) to run', async () => {
  const a = redirLayout();
  assert.equal(a.curl.length, a.bad.length);
  const r = await sandboxRun(policy(a.l, a.curl, a.subMark, true, 7), [REDIR, 'redirrace', a.curl, a.bad, a.origMark, '120'], a.l.work);
  const res = probeResult(r.stdout);
  assert.equal(res.result, 'done', r.stderr);
  assert.equal(res.orig_runs, '0');
  assert.equal(existsSync(a.origMark), false, 'the original (or the denied program) ran');
  assert.equal(existsSync(`${a.origMark}2`), false, 'the original (or the denied program) ran');
  assert.ok(Number(res.sub_runs) > 0, `anti-vacuity: redirects were carried out: ${JSON.stringify(res)}`);
  assert.ok(Number(res.denied) > 0, `anti-vacuity: the flipping thread was seen at the check: ${JSON.stringify(res)}`);
  assert.equal(res.other, '0', JSON.stringify(res) + r.stderr);
  // The third thread won against the injected arguments: refused at their check (the caller got
  // its registers back) or killed at the exec stop (rewritten after the check).
  const lost = (r.stderr.match(/could not be carried out/g) ?? []).length + Number(res.killed);
  assert.ok(lost > 0, `anti-vacuity: the injected arguments were overwritten at least once: ${JSON.stringify(res)}`);
  // control: curl allowed (one rule differs): the same race runs the original
  const c = redirLayout();
  const cr = probeResult((await sandboxRun(policy(c.l, c.curl, c.subMark, false), [REDIR, 'redirrace', c.curl, c.bad, c.origMark, '20'], c.l.work)).stdout);
  assert.ok(Number(cr.orig_runs) > 0 && existsSync(c.origMark), `control: the original runs when allowed: ${JSON.stringify(cr)}`);
});

test('exec redirect to a substitute that does not exist fails closed: the original does not run and the caller is told', async () => {
  const a = redirLayout();
  const missing = join(a.l.work, 'nope', 'safe-curl');
  const yaml = policy(a.l, a.curl, a.subMark, true).replace('command: /bin/sh', `command: ${missing}`);
  const r = await sandboxRun(yaml, ['/bin/sh', '-c', `${a.curl} ${a.origMark}; echo "rc=$?"`], a.l.work);
  assert.equal(existsSync(a.origMark), false, 'the original program ran');
  assert.match(r.stderr, /substitute .*safe-curl was not found/);
  assert.doesNotMatch(r.stdout, /rc=0/);
});

test('exec redirect from vfork/posix_spawn callers (python subprocess, node child_process): the parent carries on, the substitute runs', async () => {
  for (const make of [
    (c: string, m: string) => ['/usr/bin/python3', '-c', `import subprocess,sys; r=subprocess.run([${JSON.stringify(c)}, ${JSON.stringify(m)}]); print("rc=%d" % r.returncode)`],
    (c: string, m: string) => [process.execPath, '-e', `const r=require('child_process').spawnSync(${JSON.stringify(c)}, [${JSON.stringify(m)}]); console.log('rc=' + r.status)`],
  ]) {
    const a = redirLayout();
    const r = await sandboxRun(policy(a.l, a.curl, a.subMark, true), make(a.curl, a.origMark), a.l.work);
    assert.equal(existsSync(a.origMark), false, 'the original program ran');
    assert.equal(readFileSync(a.subMark, 'utf8'), `sub|${a.origMark}|tail|from-rule|`, r.stderr);
    assert.match(r.stdout, /rc=0/, `the parent saw the substitute's status: ${r.stdout} ${r.stderr}`);
  }
});
