// `cordon trash list | restore`: what soft_delete decisions moved aside, and putting it back.
// Results on stdout, diagnostics on stderr, `--json` for machines.
import type { Command } from 'commander';

function fmtSize(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

export function registerTrashCommands(program: Command): Command {
  const trash = program
    .command('trash')
    .description('files soft-deleted by a policy (soft_delete): list them, restore them');

  trash
    .command('list')
    .description('list soft-deleted files, oldest first')
    .option('--session <ID>', 'only this session')
    .option('--json', 'machine-readable output')
    .action(async (opts: { session?: string; json?: boolean }) => {
      // support.js, not index.js: the sandbox core owns index.ts and re-exports these there.
      const { listTrash, trashRoot } = await import('../sandbox/index.js');
      const entries = listTrash(opts.session !== undefined ? { session: opts.session } : {});
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(entries, null, 2)}\n`);
        return;
      }
      if (entries.length === 0) {
        process.stderr.write(`cordon: the trash is empty (${trashRoot()})\n`);
        return;
      }
      for (const e of entries) {
        const mode = e.mode.toString(8).padStart(4, '0');
        process.stdout.write(`${e.id}  ${e.trashedAt}  ${e.session}  ${e.kind} ${mode} ${fmtSize(e.size)}  ${e.originalPath}\n`);
      }
    });

  trash
    .command('restore')
    .description('put a soft-deleted file back where it was (never overwrites unless --force)')
    .argument('<id>', 'entry id from `cordon trash list`')
    .option('--to <PATH>', 'restore to PATH instead of the original location')
    .option('--force', 'replace an existing file at the destination')
    .option('--json', 'machine-readable output')
    .action(async (id: string, opts: { to?: string; force?: boolean; json?: boolean }) => {
      const { restoreFromTrash } = await import('../sandbox/index.js');
      const r = restoreFromTrash(id, {
        ...(opts.to !== undefined ? { to: opts.to } : {}),
        ...(opts.force ? { force: true } : {}),
      });
      if (opts.json) process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
      else {
        for (const d of r.createdParents) process.stderr.write(`cordon: created missing directory ${d}\n`);
        process.stdout.write(`restored ${r.path}\n`);
      }
    });
  return trash;
}
