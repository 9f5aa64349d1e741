// Build everything `npm install` must produce: the TypeScript (dist/) and the native
// supervisor (native/, from source with the system compiler). A failure here is loud: a
// Cordon without its supervisor must not look installed.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function run(cmd, args, what) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.error || r.status !== 0) {
    const why = r.error ? r.error.message : `exit status ${r.status}`;
    console.error(`cordon build: ${what} failed (${why}).`);
    process.exit(1);
  }
}

const tsc = join(root, 'node_modules', '.bin', 'tsc');
if (!existsSync(tsc)) {
  console.error('cordon build: TypeScript compiler not found; run `npm install` (dev dependencies are needed to build).');
  process.exit(1);
}
run(tsc, ['-p', 'tsconfig.json'], 'TypeScript compile (tsc -p tsconfig.json)');
if (existsSync(join(root, 'native', 'Makefile'))) {
  run('make', ['-s', '-C', 'native'], 'native supervisor build (make -C native)');
}
