// `cordon run`'s policy cache (src/sandbox/policy-cache.ts) must never serve a policy that a
// fresh load would not produce: every input that changes the loaded policy (the file's bytes,
// --var values, the environment variables it names however they are spelt, the detected project
// root) makes a miss, and a hit is exactly what loadPolicy returns. A hit must also work without
// the YAML parser and the schema (the point of the cache: `cordon run` never loads them then).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { compilePolicy, loadPolicy, type LoadOptions } from '../../src/policy/index.js';
import { loadPolicyCached } from '../../src/sandbox/index.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

function world(policyText: string) {
  const dir = mkdtempSync(join(tmpdir(), 'cordon-pcache-'));
  const file = join(dir, 'p.yaml');
  writeFileSync(file, policyText);
  return { dir, file, cache: join(dir, 'cache') };
}

/** The cached load, and the fresh load of the same options: their compiled digests must agree. */
function both(o: LoadOptions, cache: string, cwd: string) {
  const c = loadPolicyCached(o, cache, cwd);
  const fresh = loadPolicy({ ...o, cwd: o.cwd ?? cwd });
  assert.equal(compilePolicy(c.policy).digest, compilePolicy(fresh).digest, 'a cached policy is exactly what a fresh load gives');
  return c;
}

test('policy cache: a file rewritten with the same size and mtime is a miss (the key is its bytes, not its stat)', () => {
  const w = world('version: 1\nname: same-size\nfile_rules:\n  - { name: x, paths: ["/srv/a/**"], decision: allow }\n');
  const st = statSync(w.file);
  assert.equal(both({ file: w.file }, w.cache, w.dir).cached, false);
  assert.equal(both({ file: w.file }, w.cache, w.dir).cached, true, 'control: unchanged file is a hit');
  writeFileSync(w.file, 'version: 1\nname: same-size\nfile_rules:\n  - { name: x, paths: ["/srv/a/**"], decision: deny  }\n');
  utimesSync(w.file, st.atime, st.mtime);
  assert.equal(statSync(w.file).size, st.size);
  const r = both({ file: w.file }, w.cache, w.dir);
  assert.equal(r.cached, false);
  assert.equal(r.policy.file_rules?.[0]?.decision, 'deny');
});

test('policy cache: a changed --var, or a changed environment variable the policy names, is a miss', () => {
  const w = world('version: 1\nname: vars\nfile_rules:\n  - { name: data, paths: ["${DATA_DIR}/**"], decision: allow }\n  - { name: proj, paths: ["${PROJECT_ROOT}/**"], decision: allow }\n');
  const env = { ...process.env, DATA_DIR: '/srv/one' };
  assert.equal(both({ file: w.file, env }, w.cache, w.dir).cached, false);
  assert.equal(both({ file: w.file, env: { ...env, UNRELATED: 'x' } }, w.cache, w.dir).cached, true, 'control: a variable the policy does not name changes nothing');
  const changedEnv = both({ file: w.file, env: { ...env, DATA_DIR: '/srv/two' } }, w.cache, w.dir);
  assert.equal(changedEnv.cached, false);
  assert.equal(changedEnv.policy.file_rules?.[0]?.paths[0], '/srv/two/**');
  const changedVar = both({ file: w.file, env, vars: { DATA_DIR: '/srv/three' } }, w.cache, w.dir);
  assert.equal(changedVar.cached, false);
  assert.equal(changedVar.policy.file_rules?.[0]?.paths[0], '/srv/three/**');
  const projVar = both({ file: w.file, env, vars: { PROJECT_ROOT: '/srv/proj' } }, w.cache, w.dir);
  assert.equal(projVar.cached, false);
  assert.equal(projVar.policy.file_rules?.[1]?.paths[0], '/srv/proj/**');
  // Both variants stay cached: going back is a hit, with the old values.
  const back = both({ file: w.file, env }, w.cache, w.dir);
  assert.equal(back.cached, true);
  assert.equal(back.policy.file_rules?.[0]?.paths[0], '/srv/one/**');
});

test('policy cache: a variable reference hidden by a YAML escape is still tracked (recorded by the loader, not scanned from the text)', () => {
  // "\u0024{SECRET_ROOT}" is ${SECRET_ROOT} once YAML has parsed it; a scan of the raw text would miss it.
  const w = world('version: 1\nname: escaped\nfile_rules:\n  - { name: s, paths: ["\\u0024{SECRET_ROOT}/**"], decision: deny }\ndefaults: { file: allow }\n');
  const env = { ...process.env, SECRET_ROOT: '/srv/secret-a' };
  const a = both({ file: w.file, env }, w.cache, w.dir);
  const rule = (r: { policy: { file_rules?: Array<{ name: string; paths: string[] }> } }) => r.policy.file_rules?.find((x) => x.name === 's')?.paths[0];
  assert.equal(rule(a), '/srv/secret-a/**', 'anti-vacuity: the escape does expand to a variable');
  assert.equal(both({ file: w.file, env }, w.cache, w.dir).cached, true);
  const b = both({ file: w.file, env: { ...env, SECRET_ROOT: '/srv/secret-b' } }, w.cache, w.dir);
  assert.equal(b.cached, false);
  assert.equal(rule(b), '/srv/secret-b/**');
});

test('policy cache: the detected project root is an input (same policy, another project is a miss)', () => {
  const w = world('version: 1\nname: roots\nfile_rules:\n  - { name: proj, paths: ["${PROJECT_ROOT}/**"], decision: allow }\n');
  const p1 = join(w.dir, 'p1');
  const p2 = join(w.dir, 'p2');
  for (const p of [p1, p2]) { mkdirSync(p); writeFileSync(join(p, 'package.json'), '{}'); }
  assert.equal(both({ file: w.file }, w.cache, p1).policy.file_rules?.[0]?.paths[0], `${p1}/**`);
  assert.equal(both({ file: w.file }, w.cache, p1).cached, true);
  const r = both({ file: w.file }, w.cache, p2);
  assert.equal(r.cached, false);
  assert.equal(r.policy.file_rules?.[0]?.paths[0], `${p2}/**`);
});

test('policy cache: policies with extends are never cached, however the key is spelt, and relative bases resolve against the file', () => {
  const w = world('"extends": ./base.yaml\nversion: 1\nname: child\n');
  writeFileSync(join(w.dir, 'base.yaml'), 'version: 1\nname: base\nfile_rules:\n  - { name: b, paths: ["/srv/base/**"], decision: allow }\n');
  const elsewhere = mkdtempSync(join(tmpdir(), 'cordon-pcache-cwd-'));
  const a = loadPolicyCached({ file: w.file }, w.cache, elsewhere);
  assert.equal(a.cached, false);
  assert.equal(a.policy.file_rules?.[0]?.name, 'b', 'the base next to the policy file was used, not one relative to the working directory');
  writeFileSync(join(w.dir, 'base.yaml'), 'version: 1\nname: base\nfile_rules:\n  - { name: b2, paths: ["/srv/base/**"], decision: deny }\n');
  const b = loadPolicyCached({ file: w.file }, w.cache, elsewhere);
  assert.equal(b.cached, false);
  assert.ok(b.policy.file_rules?.some((r) => r.name === 'b2'), 'an edited base is seen at once');
  let entries: string[] = [];
  try { entries = readdirSync(w.cache); } catch { /* never created */ }
  assert.deepEqual(entries, []);
});

test('policy cache: an invalid policy is never cached (it fails on every run, exit code 2)', () => {
  const w = world('version: 1\nname: bad\nfile_rules:\n  - { name: x, paths: ["/a"], decision: maybe }\n');
  for (let i = 0; i < 2; i++) {
    assert.throws(() => loadPolicyCached({ file: w.file }, w.cache, w.dir), (e: unknown) => (e as { exitCode?: number }).exitCode === 2 && /p\.yaml:4/.test((e as Error).message));
  }
});

test('policy cache: a corrupted cache entry is a miss, never an error or a wrong policy', () => {
  const w = world('version: 1\nname: corrupt\nfile_rules:\n  - { name: x, paths: ["/srv/x/**"], decision: allow }\n');
  both({ file: w.file }, w.cache, w.dir);
  const [entry] = readdirSync(w.cache);
  const path = join(w.cache, entry!);
  const text = readFileSync(path, 'utf8');
  writeFileSync(path, text.slice(0, text.length / 2));
  assert.equal(both({ file: w.file }, w.cache, w.dir).cached, false);
  writeFileSync(path, JSON.stringify({ ...JSON.parse(readFileSync(path, 'utf8')), key: 'not-this-one' }));
  assert.equal(both({ file: w.file }, w.cache, w.dir).cached, false, 'an entry whose key does not match is ignored');
});

test('a cache hit loads and compiles the policy without the YAML parser or the schema library', () => {
  // A copy of the compiled policy, sandbox and detect parts (all a hit needs) where packages
  // resolve only while node_modules is linked in: after unlinking it, zod and yaml cannot be
  // loaded at all (by import or require), so a hit that needed them would fail.
  const w = world('version: 1\nname: nozod\nfile_rules:\n  - { name: x, paths: ["${HOME}/**"], decision: allow }\n');
  const copy = mkdtempSync(join(tmpdir(), 'cordon-pcache-dist-'));
  for (const part of ['policy', 'sandbox', 'detect']) cpSync(join(ROOT, 'dist', 'src', part), join(copy, 'dist', 'src', part), { recursive: true });
  writeFileSync(join(copy, 'package.json'), '{"type":"module"}');
  symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'));
  const script = (cache: string) => `
    const { loadPolicyCached } = await import(${JSON.stringify(join(copy, 'dist/src/sandbox/index.js'))});
    const { compilePolicy } = await import(${JSON.stringify(join(copy, 'dist/src/policy/index.js'))});
    const r = loadPolicyCached({ file: ${JSON.stringify(w.file)} }, ${JSON.stringify(cache)}, ${JSON.stringify(w.dir)});
    console.log(r.cached, compilePolicy(r.policy).digest);`;
  const run = (cache: string) => spawnSync(process.execPath, ['--input-type=module', '-e', script(cache)], { encoding: 'utf8', cwd: copy });
  const expected = compilePolicy(loadPolicy({ file: w.file, cwd: w.dir })).digest;
  const warm = run(w.cache);
  assert.equal(warm.status, 0, warm.stderr);
  assert.equal(warm.stdout.trim(), `false ${expected}`, 'the first run loads (with the loader available)');
  unlinkSync(join(copy, 'node_modules'));
  const hit = run(w.cache);
  assert.equal(hit.status, 0, hit.stderr);
  assert.equal(hit.stdout.trim(), `true ${expected}`);
  const miss = run(join(w.dir, 'empty-cache'));
  assert.notEqual(miss.status, 0, 'control: a miss does need the loader, which is now missing');
  assert.match(miss.stderr, /Cannot find (package|module) '(zod|yaml)'/);
});
