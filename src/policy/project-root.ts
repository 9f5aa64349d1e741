// ${PROJECT_ROOT} and ${GIT_ROOT} as agentsh finds them: walk up from the working directory to
// the nearest language marker (project root) and the nearest .git (git root).
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

const LANGUAGE_MARKERS = ['package.json', 'go.mod', 'Cargo.toml', 'pyproject.toml', 'setup.py', 'pom.xml', 'build.gradle', 'Makefile', '.cordon-root'];

function findUp(start: string, names: readonly string[]): string | undefined {
  let dir = resolve(start);
  for (;;) {
    if (names.some((n) => existsSync(join(dir, n)))) return dir;
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

export function detectRoots(cwd: string): { projectRoot: string; gitRoot: string | undefined } {
  const gitRoot = findUp(cwd, ['.git']);
  const lang = findUp(cwd, LANGUAGE_MARKERS);
  // A language marker above the git root belongs to another project.
  const projectRoot = lang && (!gitRoot || lang.startsWith(gitRoot)) ? lang : gitRoot ?? resolve(cwd);
  return { projectRoot, gitRoot };
}
