// One writer per chain: an exclusive lock file `<chain>.lock` holding the writer's pid.
// A lock left by a dead process (kill -9, crash) is taken over; a live holder is an error.
// Scope: cooperative between Cordon writers on one host (PID namespace); not a defence against
// a process that deletes the lock file on purpose.
import { closeSync, openSync, readFileSync, unlinkSync, writeSync, constants as C } from 'node:fs';
import { AuditError } from './errors.js';

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM'; }
}

export function acquireLock(chainFile: string): () => void {
  const lock = `${chainFile}.lock`;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(lock, C.O_WRONLY | C.O_CREAT | C.O_EXCL, 0o600);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return () => { try { unlinkSync(lock); } catch { /* already gone */ } };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new AuditError('write-failed', `cannot create lock ${lock}: ${(e as Error).message}`, { cause: e });
      let pid = NaN;
      try { pid = Number.parseInt(readFileSync(lock, 'utf8'), 10); } catch { /* raced with its removal */ }
      if (Number.isInteger(pid) && pid > 0 && (pid === process.pid || alive(pid))) {
        const who = pid === process.pid ? 'another writer in this process' : `process ${pid}`;
        throw new AuditError('locked', `audit chain ${chainFile} is being written by ${who} (lock ${lock}); one writer per chain`);
      }
      try { unlinkSync(lock); } catch { /* someone else took it over */ }
    }
  }
  throw new AuditError('locked', `could not take the lock ${lock} after 3 attempts (another writer is starting?)`);
}
