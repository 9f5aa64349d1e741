// Variables expand to literal paths; undefined ones are errors; `extends:` puts the extending
// policy's rules first and detects cycles.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { compilePolicy, loadPolicy, PolicyError } from '../../src/policy/index.js';
import { HEADER } from './helpers/load.js';

const load = (text: string, vars: Record<string, string>, env: Record<string, string> = {}) => loadPolicy({ text, source: 'v.yaml', vars, env });

test('${VAR}, ${VAR:-fallback}, nested fallbacks and $${ escapes', () => {
  const p = load(`${HEADER}description: "$\${LITERAL} \${A} \${B:-fb} \${C:-\${A}}"\nfile_rules:\n  - { name: r, paths: ["\${A}/**"], decision: allow }\n`, { A: '/a' });
  assert.equal(p.description, '${LITERAL} /a fb /a');
  assert.deepEqual(p.file_rules![0]!.paths, ['/a/**']);
});

test('environment variables are used after explicit vars', () => {
  const p = load(`${HEADER}description: "\${FROM_ENV}"\n`, {}, { FROM_ENV: 'e' });
  assert.equal(p.description, 'e');
});

test('an undefined variable is an error at its line, never an empty string', () => {
  assert.throws(() => load(`${HEADER}file_rules:\n  - { name: r, paths: ["\${NOPE}/**"], decision: allow }\n`, {}), (e: unknown) => e instanceof PolicyError && /v\.yaml:4:\d+: file_rules\[0\]\.paths\[0\]: variable \$\{NOPE\} is not defined/.test(e.message));
  assert.throws(() => load(`${HEADER}description: "\${BROKEN"\n`, {}), (e: unknown) => e instanceof PolicyError && /malformed variable reference/.test(e.message));
});

test('a variable value with glob characters stands for a literal path', () => {
  const c = compilePolicy(load(`${HEADER}file_rules:\n  - { name: r, paths: ["\${PROJECT_ROOT}/**"], decision: allow }\n`, { PROJECT_ROOT: '/w/pro*ject[1]' }));
  assert.equal(c.evaluate({ kind: 'file', op: 'read', path: '/w/pro*ject[1]/x' }).rule, 'r');
  assert.equal(c.evaluate({ kind: 'file', op: 'read', path: '/w/proXXject1/x' }).rule, 'defaults.file');
});

test('PROJECT_ROOT and GIT_ROOT are detected from the working directory', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cordon-roots-'));
  mkdirSync(join(dir, '.git'));
  mkdirSync(join(dir, 'pkg', 'src'), { recursive: true });
  writeFileSync(join(dir, 'pkg', 'package.json'), '{}');
  const p = loadPolicy({ text: `${HEADER}description: "\${PROJECT_ROOT} \${GIT_ROOT}"\n`, source: 'x', cwd: join(dir, 'pkg', 'src'), env: {} });
  assert.equal(p.description, `${join(dir, 'pkg')} ${dir}`);
});

test('extends: the extending policy comes first; defaults merge; cycles are refused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cordon-extends-'));
  writeFileSync(join(dir, 'base.yaml'), `version: 1\nname: base\ndefaults: { file: deny, command: allow }\nfile_rules:\n  - { name: base-allow, paths: ["/data/**"], decision: allow }\n`);
  writeFileSync(join(dir, 'child.yaml'), `version: 1\nname: child\nextends: base.yaml\ndefaults: { file: audit }\nfile_rules:\n  - { name: child-deny, paths: ["/data/secret/**"], decision: deny }\n`);
  const c = compilePolicy(loadPolicy({ file: join(dir, 'child.yaml'), vars: {}, env: {} }));
  assert.equal(c.evaluate({ kind: 'file', op: 'read', path: '/data/secret/x' }).rule, 'child-deny');
  assert.equal(c.evaluate({ kind: 'file', op: 'read', path: '/data/x' }).rule, 'base-allow');
  assert.equal(c.evaluate({ kind: 'file', op: 'read', path: '/etc/x' }).decision, 'audit');
  assert.equal(c.evaluate({ kind: 'exec', path: '/bin/x', argv: ['x'], depth: 0 }).decision, 'allow');
  assert.equal(c.policy.name, 'child');
  writeFileSync(join(dir, 'a.yaml'), 'version: 1\nname: a\nextends: b.yaml\n');
  writeFileSync(join(dir, 'b.yaml'), 'version: 1\nname: b\nextends: a.yaml\n');
  assert.throws(() => loadPolicy({ file: join(dir, 'a.yaml'), vars: {}, env: {} }), (e: unknown) => e instanceof PolicyError && /extends itself/.test(e.message));
  writeFileSync(join(dir, 'c.yaml'), 'version: 1\nname: c\nextends: nowhere.yaml\n');
  assert.throws(() => loadPolicy({ file: join(dir, 'c.yaml'), vars: {}, env: {} }), (e: unknown) => e instanceof PolicyError && /nowhere\.yaml: no such file/.test(e.message));
});

test('extends a built-in policy by name', () => {
  const c = compilePolicy(loadPolicy({ text: `${HEADER}extends: agent-default\nfile_rules:\n  - { name: extra, paths: ["/srv/**"], decision: allow }\n`, source: 'x', vars: { PROJECT_ROOT: '/p', HOME: '/h', TMPDIR: '/tmp' }, env: {} }));
  assert.equal(c.evaluate({ kind: 'file', op: 'read', path: '/srv/a' }).rule, 'extra');
  assert.equal(c.evaluate({ kind: 'file', op: 'read', path: '/h/.ssh/id_rsa' }).rule, 'deny-credentials');
});

test('the digest identifies the resolved policy, not its spelling', () => {
  const a = compilePolicy(load(`${HEADER}file_rules:\n  - { name: r, paths: [/x], decision: allow }\n`, {}));
  const b = compilePolicy(load(`name: t\nversion: 1\nfile_rules:\n  - decision: allow\n    paths: [/x]\n    name: r\n`, {}));
  const c = compilePolicy(load(`${HEADER}file_rules:\n  - { name: r, paths: [/y], decision: allow }\n`, {}));
  assert.equal(a.digest, b.digest);
  assert.notEqual(a.digest, c.digest);
  assert.match(a.digest, /^[0-9a-f]{64}$/);
});
