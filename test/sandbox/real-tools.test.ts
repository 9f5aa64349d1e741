// Real tools under the built-in agent-default policy: what a coding agent does all day must
// work (git clone + commit, node, npm, python3, bash pipelines, make + a C compiler).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { requireSandbox, sandboxRun } from '../escape/helpers/sandbox.js';

before(requireSandbox);

const AGENT = { builtin: 'agent-default' };
const ENV = { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: process.env.HOME ?? '/root', LANG: 'C.UTF-8', NPM_CONFIG_UPDATE_NOTIFIER: 'false', NO_UPDATE_NOTIFIER: '1' };

function project(): string {
  return mkdtempSync(join(tmpdir(), 'cordon-proj-'));
}

test('git: clone a local repository, commit in the clone, log shows the commit', async () => {
  const upstream = mkdtempSync(join(tmpdir(), 'cordon-upstream-'));
  execFileSync('git', ['init', '-q', '-b', 'main', upstream]);
  writeFileSync(join(upstream, 'README'), 'hello\n');
  execFileSync('git', ['-C', upstream, '-c', 'user.name=t', '-c', 'user.email=t@e', 'commit', '-qam', 'init', '--allow-empty']);
  execFileSync('git', ['-C', upstream, 'add', 'README']);
  execFileSync('git', ['-C', upstream, '-c', 'user.name=t', '-c', 'user.email=t@e', 'commit', '-qm', 'readme']);
  const p = project();
  const r = await sandboxRun(AGENT, ['/bin/bash', '-c', [
    `git clone -q ${upstream} clone`,
    'cd clone',
    'echo change >> README',
    'git -c user.name=agent -c user.email=a@e commit -qam "agent change"',
    'git log --oneline | head -3',
    'git status --short | wc -l',
  ].join(' && ')], p, { env: ENV });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /agent change/);
  assert.match(readFileSync(join(p, 'clone', 'README'), 'utf8'), /change/);
});

test('node and npm: run a script, npm init and npm run', async () => {
  const p = project();
  const r = await sandboxRun(AGENT, ['/bin/bash', '-c', [
    'node -e "require(\'fs\').writeFileSync(\'out.txt\', String(6*7))"',
    'npm init -y >/dev/null',
    'npm pkg set scripts.hello="node -e \\"console.log(\'from npm\')\\""',
    'npm run -s hello',
  ].join(' && ')], p, { env: ENV });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(readFileSync(join(p, 'out.txt'), 'utf8'), '42');
  assert.match(r.stdout, /from npm/);
  assert.ok(existsSync(join(p, 'package.json')));
});

test('python3 and a bash pipeline', async () => {
  const p = project();
  const r = await sandboxRun(AGENT, ['/bin/bash', '-c', 'python3 -c "print(sum(range(10)))" | tr 4 X | sed s/5/five/ > py.txt; cat py.txt; seq 1 100 | sort -rn | head -1'], p, { env: ENV });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(readFileSync(join(p, 'py.txt'), 'utf8'), 'Xfive\n');
  assert.match(r.stdout, /^100$/m);
});

test('make drives the C compiler; the built program runs', async () => {
  const p = project();
  mkdirSync(join(p, 'src'));
  writeFileSync(join(p, 'src', 'hello.c'), '#include <stdio.h>\nint main(void){puts("built inside cordon");return 0;}\n');
  writeFileSync(join(p, 'Makefile'), 'hello: src/hello.c\n\tcc -O1 -o $@ $<\n');
  const r = await sandboxRun(AGENT, ['/bin/bash', '-c', 'make -s && ./hello'], p, { env: ENV });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /built inside cordon/);
});
