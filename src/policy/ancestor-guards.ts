// A path rule protects a place, not a spelling: renaming an ancestor directory moves the
// protected files to a path no rule names (`mv .git .g; edit .g/hooks/x; mv .g .git`), and
// planting a symlink or file where a protected directory should be redirects every later write
// (`ln -s /tmp/evil .git`). So for every deny/approve file rule, each literal directory its
// patterns live under, and every ancestor of it, gets a guard rule placed just before the
// original: rename, link, symlink, create and mknod of exactly that path get the original's
// decision. The guards are ordinary rules in the policy, so every enforcement point (the native
// supervisor's table included) applies them identically, and `cordon policy explain` shows them.
//
// Not covered: patterns that start with a wildcard (`**/.env`) have no literal place to guard;
// mkdir of a missing protected directory stays allowed (its contents are checked one by one).
import { compileGlob, expandBraces } from './glob.js';
import type { FileRule } from './schema/file-rules.js';
import type { Policy } from './schema/policy.js';

const GUARD_OPS = ['rename', 'link', 'symlink', 'create', 'mknod'] as const;
export const GUARD_SUFFIX = ':ancestors';

function placesOf(pattern: string): string[] {
  const out: string[] = [];
  for (const p of expandBraces(pattern)) {
    const g = compileGlob(p, '/');
    let dir = g.literal ? g.text : g.prefix;
    while (dir.length > 1) {
      out.push(dir);
      dir = dir.slice(0, dir.lastIndexOf('/')) || '/';
    }
  }
  return out;
}

export function addAncestorGuards(policy: Policy): Policy {
  const rules = policy.file_rules;
  if (!rules || rules.length === 0) return policy;
  const out: FileRule[] = [];
  for (const r of rules) {
    if ((r.decision === 'deny' || r.decision === 'approve') && !r.name.endsWith(GUARD_SUFFIX)) {
      const places = [...new Set(r.paths.flatMap(placesOf))].sort();
      if (places.length > 0) {
        const guard: FileRule = {
          name: `${r.name}${GUARD_SUFFIX}`,
          description: `Generated: guards the directories "${r.name}" protects (and their ancestors) against rename, link, symlink, create and mknod.`,
          paths: places.map(escapeGlob),
          operations: [...GUARD_OPS],
          decision: r.decision,
        };
        if (r.message !== undefined) guard.message = r.message;
        if (r.timeout !== undefined) guard.timeout = r.timeout;
        if (r.errno !== undefined) guard.errno = r.errno;
        out.push(guard);
      }
    }
    out.push(r);
  }
  return { ...policy, file_rules: out };
}

function escapeGlob(literal: string): string {
  return literal.replace(/[*?[\]{}\\]/g, '\\$&');
}
