// Before a writer extends an existing chain file it verifies it with its own key (a writer never
// extends a chain it cannot verify), cuts an incomplete last line (a crash mid-write: that entry
// was never acknowledged) and returns the state to continue from.
import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, ftruncateSync, openSync, readSync } from 'node:fs';
import { ChainChecker, type ChainState } from './chain-check.js';
import { AuditError } from './errors.js';
import type { LoadedKey } from './key.js';
import { scanLines } from './scan.js';

/**
 * Verifies an existing chain file with the writer's key before extending it. An incomplete last
 * line (crash mid-write: never acknowledged) is cut off and its length and hash recorded in the
 * resume entry; anything else wrong refuses the file.
 */
export function inspect(file: string, key: LoadedKey): { st: ChainState | null; closed: boolean; discarded: { bytes: number; sha256: string } | null } {
  const checker = new ChainChecker({ keys: [key], publicKeys: new Map(), explicitKeys: true, skipUnknownKeys: true });
  checker.beginFile(file);
  const end = scanLines(file, checker);
  checker.finish();
  if (checker.bad) {
    throw new AuditError('chain', `cannot extend audit chain ${file}: ${checker.bad.message}. Keep the file as evidence, move it aside, and start a new chain (\`cordon audit verify ${file}\` shows the details)`);
  }
  const st = checker.state;
  const current = st?.rotatingTo ? st.rotatingTo.key : st?.keyFp;
  if (st && current !== key.fingerprint) {
    throw new AuditError('chain', `cannot extend audit chain ${file}: wrong key: its current chain was written with key fingerprint ${current}, the key given (${key.source}) has fingerprint ${key.fingerprint}. Open it with that key, or move the file aside and start a new chain`);
  }
  let discarded: { bytes: number; sha256: string } | null = null;
  if (end.tailBytes > 0) {
    const fd = openSync(file, 'r+');
    try {
      const tail = Buffer.alloc(Math.min(end.tailBytes, 64 << 20));
      readSync(fd, tail, 0, tail.length, end.tailOffset);
      discarded = { bytes: end.tailBytes, sha256: createHash('sha256').update(tail).digest('hex') };
      ftruncateSync(fd, end.tailOffset);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
  return { st: checker.state, closed: checker.closed, discarded };
}
