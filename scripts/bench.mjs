// Runs one benchmark (or all) from dist/bench. Benchmarks are not tests: they are never part of
// `npm test`. Usage: npm run bench -- [name ...]   (name = file under bench/ without extension)
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dir = join(root, 'dist', 'bench');
const all = readdirSync(dir).filter((f) => f.endsWith('.js')).map((f) => f.slice(0, -3)).sort();
const names = process.argv.length > 2 ? process.argv.slice(2) : all;
let status = 0;
for (const n of names) {
  if (!all.includes(n)) { console.error(`bench: no benchmark named ${n} (have: ${all.join(', ')})`); process.exit(2); }
  console.log(`== bench/${n}`);
  const r = spawnSync(process.execPath, [join(dir, `${n}.js`)], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) status = 1;
}
process.exit(status);
