// Layering rules from DESIGN.md, checked by reading the sources:
// - no part imports another part's non-index file;
// - the policy engine's evaluation path does no I/O (only the loader may touch node:fs);
// - index files list named exports (no `export *`).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const src = join(root, 'src');

function walk(dir: string, out: string[] = []): string[] {
  for (const n of readdirSync(dir)) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (n.endsWith('.ts')) out.push(p);
  }
  return out;
}

const IMPORT = /(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(IMPORT)].map((m) => m[1] ?? m[2]!).filter(Boolean);
}

test('no part imports another part\'s non-index file', () => {
  const bad: string[] = [];
  for (const f of walk(src)) {
    const part = relative(src, f).split(sep)[0]!;
    for (const spec of imports(f)) {
      if (!spec.startsWith('.')) continue;
      const target = resolve(dirname(f), spec);
      const rel = relative(src, target).split(sep);
      if (rel[0] === '..' || rel[0] === part) continue;
      // Another part: only its index (or, for the CLI, nothing but indexes either).
      if (!(rel.length === 2 && rel[1] === 'index.js')) bad.push(`${relative(root, f)} imports ${spec}`);
    }
  }
  assert.deepEqual(bad, []);
});

test('policy evaluation does no I/O: only the loader files import node:fs', () => {
  const allowed = new Set(['load.ts', 'builtin.ts', 'project-root.ts', 'registries.ts']);
  const bad: string[] = [];
  for (const f of walk(join(src, 'policy'))) {
    for (const spec of imports(f)) {
      if (/^(node:)?(fs|net|http|https|child_process|dgram|dns|fs\/promises)$/.test(spec) && !allowed.has(relative(join(src, 'policy'), f))) bad.push(`${relative(root, f)} imports ${spec}`);
    }
  }
  assert.deepEqual(bad, []);
});

test('part index files use named exports only', () => {
  const bad = walk(src).filter((f) => f.endsWith(`${sep}index.ts`) && /export \*/.test(readFileSync(f, 'utf8')));
  assert.deepEqual(bad.map((f) => relative(root, f)), []);
});
