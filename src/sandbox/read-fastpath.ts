// The read fast path: read-only opens (open/openat with O_RDONLY and no O_CREAT, O_TRUNC,
// O_PATH, O_TMPFILE, O_DIRECTORY) are not trapped at all when the policy's read decisions can be
// expressed exactly as Landlock grants; the kernel then decides them itself, at no cost per open.
// Directory opens with O_DIRECTORY (opendir, ls) stay trapped and are decided by the policy
// (op list); READ_DIR is granted only where listing is uniformly allowed, so the rare
// directory opened without O_DIRECTORY is refused by Landlock elsewhere (sound, not complete).
//
// Soundness: a path is granted READ_FILE (op read) or READ_DIR (op list) only if the policy
// allows that op for it and for everything beneath it. For an allow rule `LIT/**` (or `LIT`),
// LIT is granted whole when no earlier non-allow rule covering the op (nor a Cordon-protected
// path) can match anything at or beneath LIT; otherwise its children on disk are examined (each
// decided by the engine) down to a small depth. Symlinks are never granted (Landlock would
// follow them; the policy decides on canonical paths). Completeness: when the allowed area
// cannot be covered exactly (an allow pattern with wildcards inside, a read rule that needs
// Node: audit/approve/redirect/soft_delete, a tree too large to enumerate), the fast path is
// OFF and every open is trapped as before. NOT covered when ON: allowed read-only opens are
// neither counted nor recorded; entries created after start inside an enumerated (non-uniform)
// directory are not readable until the next session.
import { lstatSync, readdirSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { compileGlob, expandBraces, type CompiledPolicy } from '../policy/index.js';

export interface ReadGrants {
  /** Trees where every file may be read (Landlock READ_FILE). */
  read: string[];
  /** Trees where every directory may be listed (Landlock READ_DIR). */
  list: string[];
}

export type ReadFastPath = { on: true; grants: ReadGrants } | { on: false; why: string };

const MAX_DEPTH = 4;
const MAX_ENTRIES = 20_000;

interface Blocker { prefix: string; any: boolean }

function opsOf(ops: readonly string[] | undefined): Set<string> {
  return new Set(ops ?? ['*']);
}

function overlaps(b: Blocker, path: string): boolean {
  if (b.any) return true;
  const p = b.prefix;
  return p === '/' || p === path || p.startsWith(`${path}/`) || path.startsWith(`${p}/`) || path === '/';
}

export function readFastPath(c: CompiledPolicy, protectedPaths: readonly string[]): ReadFastPath {
  const rules = c.policy.file_rules ?? [];
  const grants: ReadGrants = { read: [], list: [] };
  let entries = 0;
  for (const op of ['read', 'list'] as const) {
    const candidates: Array<{ root: string; index: number; tree: boolean }> = [];
    const blockersBefore: Blocker[][] = [];
    const blockers: Blocker[] = protectedPaths.map((p) => ({ prefix: p, any: false }));
    for (let i = 0; i < rules.length; i++) {
      const r = rules[i]!;
      blockersBefore.push([...blockers]);
      const ops = opsOf(r.operations);
      if (!ops.has('*') && !ops.has(op)) continue;
      const pats = r.paths.flatMap((p) => expandBraces(p));
      if (r.decision === 'allow') {
        for (const p of pats) {
          if (p.endsWith('/**') && compileGlob(p.slice(0, -3), '/').literal) candidates.push({ root: p.slice(0, -3) || '/', index: i, tree: true });
          else if (compileGlob(p, '/').literal) candidates.push({ root: p, index: i, tree: false });
          else if (op === 'read') return { on: false, why: `rule "${r.name}" allows ${op} with a pattern Landlock cannot express exactly (${p})` };
          else blockers.push({ prefix: '', any: true }); // list: not granted from here on (still trapped via O_DIRECTORY)
        }
      } else if (r.decision === 'deny' || op === 'list') {
        for (const p of pats) {
          const g = compileGlob(p, '/');
          blockers.push({ prefix: g.literal ? g.text : g.prefix, any: !g.literal && g.prefix === '' });
        }
      } else {
        return { on: false, why: `rule "${r.name}" (${r.decision}) must see every ${op}` };
      }
    }
    const dflt = c.policy.defaults?.file ?? 'deny';
    if (dflt === 'allow') { blockersBefore.push([...blockers]); candidates.push({ root: '/', index: rules.length, tree: true }); }
    else if (dflt !== 'deny' && op === 'read') return { on: false, why: `defaults.file is ${dflt}` };

    const out = op === 'read' ? grants.read : grants.list;
    const allowed = (p: string) => c.evaluate({ kind: 'file', op, path: p }).decision === 'allow';
    const grant = (path: string, bl: Blocker[], depth: number): boolean => {
      let st;
      try { st = lstatSync(path); } catch { return true; } // nothing there: nothing to grant
      if (st.isSymbolicLink()) return true;
      if (!allowed(path)) return true; // an earlier rule denies this very path: leave it out
      if (protectedPaths.some((pp) => path === pp || path.startsWith(`${pp}/`))) return true; // Cordon's own state
      if (!bl.some((b) => overlaps(b, path))) { out.push(path); return true; }
      if (!st.isDirectory()) { out.push(path); return true; } // a file has nothing beneath it
      if (depth >= MAX_DEPTH) return false;
      let names: string[];
      try { names = readdirSync(path); } catch { return false; }
      entries += names.length;
      if (entries > MAX_ENTRIES) return false;
      // The directory itself is listed/read only through its own grant: for `list`, grant the
      // children individually and leave the (non-uniform) directory out.
      for (const n of names) if (!grant(join(path, n), bl, depth + 1)) return false;
      return true;
    };
    for (const cand of candidates) {
      let real: string;
      try { real = realpathSync(cand.root); } catch { continue; }
      if (real !== cand.root) continue; // canonical paths never match a symlinked rule path
      const bl = blockersBefore[cand.index]!;
      if (!cand.tree) {
        let st;
        try { st = lstatSync(cand.root); } catch { continue; }
        if (!st.isDirectory() && allowed(cand.root) && !bl.some((b) => b.prefix === cand.root || b.any)) out.push(cand.root);
        continue;
      }
      if (!grant(cand.root, bl, 0) && op === 'read') return { on: false, why: `the area under ${cand.root} is too large or deep to express exactly` };
    }
  }
  return { on: true, grants: { read: dedupe(grants.read), list: dedupe(grants.list) } };
}

/** Sorted, without duplicates and without paths under another listed path (ancestors looked up
 * one by one: linear in the number of paths, not quadratic). */
function dedupe(xs: string[]): string[] {
  const all = new Set(xs);
  return [...all].sort().filter((x) => {
    if (x !== '/' && all.has('/')) return false;
    for (let i = x.lastIndexOf('/'); i > 0; i = x.lastIndexOf('/', i - 1)) {
      if (all.has(x.slice(0, i))) return false;
    }
    return true;
  });
}
