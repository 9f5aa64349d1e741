// command_rules: exact full paths and exact basenames are hashed; globs are scanned. The image
// is matched by its canonical path only (never by the name it was invoked as), so a symlink
// named `git` pointing at `rm` is judged as `rm`.
import { compileGlob, compileGlobAny, expandBraces } from '../glob.js';
import type { CommandRule } from '../schema/command-rules.js';
import type { ExecOperation } from '../types.js';
import { buildPathIndex, lookupPath, type PathItem } from './file.js';
import { scan, sortBucket, type Entry } from './first-match.js';

interface Probe {
  op: ExecOperation;
  base: string;
  args: string | undefined;
}

function joinedArgs(p: Probe): string {
  if (p.args === undefined) p.args = p.op.argv.slice(1).join(' ');
  return p.args;
}

export function compileCommandRules(rules: readonly CommandRule[]): (op: ExecOperation) => number {
  const exactPath = new Map<string, Entry<Probe>[]>();
  const exactBase = new Map<string, Entry<Probe>[]>();
  const globs: Entry<Probe>[] = [];
  const pathGlobs: PathItem<Probe>[] = [];
  const add = (m: Map<string, Entry<Probe>[]>, k: string, e: Entry<Probe>) => {
    let b = m.get(k);
    if (!b) m.set(k, (b = []));
    b.push(e);
  };
  rules.forEach((r, i) => {
    const args = r.args_patterns?.map((a) => new RegExp(a));
    const min = r.context?.min_depth ?? 0;
    const max = r.context?.max_depth ?? Infinity;
    const rest = (p: Probe): boolean => {
      if (p.op.depth < min || p.op.depth > max) return false;
      if (args) {
        const s = joinedArgs(p);
        return args.some((re) => re.test(s));
      }
      return true;
    };
    for (const c of r.commands) {
      const isPath = c.includes('/');
      for (const e of expandBraces(c)) {
        const g = compileGlob(e, isPath ? '/' : '');
        if (g.literal) add(isPath ? exactPath : exactBase, g.text, { rule: i, test: rest });
        else if (isPath) pathGlobs.push({ rule: i, pattern: e, test: (p, matched) => matched(p.op.path) && rest(p) });
        else {
          const m = compileGlobAny(e, '');
          globs.push({ rule: i, test: (p) => m(p.base) && rest(p) });
        }
      }
    }
  });
  for (const b of exactPath.values()) sortBucket(b);
  for (const b of exactBase.values()) sortBucket(b);
  sortBucket(globs);
  const pathIndex = buildPathIndex(pathGlobs);
  const probe: Probe = { op: undefined as unknown as ExecOperation, base: '', args: undefined };
  return (op) => {
    probe.op = op;
    probe.base = op.path.slice(op.path.lastIndexOf('/') + 1);
    probe.args = undefined;
    let best = scan(exactPath.get(op.path), probe, Infinity);
    best = scan(exactBase.get(probe.base), probe, best);
    best = Math.min(best, lookupPath(pathIndex, op.path, probe));
    return scan(globs, probe, best);
  };
}
