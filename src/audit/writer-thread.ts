// Worker side of the threaded writer (threaded.ts): runs an ordinary AuditWriter on its own
// thread, so hashing and MACs overlap with the caller's work. Messages, in order:
//   in : {type:'append', id, xs}  {type:'flush', id}  {type:'rotate', id, key}  {type:'close', id}
//   out: {type:'ready', chain, key}  {type:'done', id, chain, key, nextSeq}  {type:'failed', id, code, message, cause}
//        {type:'entries', chain, entries}   (committed entries, only when the caller has forwarders)
import { parentPort, workerData } from 'node:worker_threads';
import { AuditError } from './errors.js';
import { AuditWriter } from './writer.js';
import type { AuditEntry, AuditKeySpec, OpenAuditLogOptions } from './types.js';

interface Msg { type: 'append' | 'flush' | 'rotate' | 'close'; id: number; xs?: string[]; key?: AuditKeySpec }

const port = parentPort!;
const { opts, forward } = workerData as { opts: OpenAuditLogOptions; forward: boolean };

function failure(id: number, e: unknown): Record<string, unknown> {
  const err = e as AuditError & { cause?: { code?: string } };
  return { type: 'failed', id, code: e instanceof AuditError ? err.code : 'write-failed', message: err?.message ?? String(e), cause: err?.cause?.code ?? null };
}

try {
  const w = await AuditWriter.open({
    ...opts,
    forwarders: forward ? [{ write(entries: readonly AuditEntry[], chain: string) { port.postMessage({ type: 'entries', chain, entries }); }, close: () => Promise.resolve() }] : [],
  });
  const state = () => ({ chain: w.chain, key: w.keyFingerprint, nextSeq: w.nextSeq });
  port.postMessage({ type: 'ready', ...state() });
  port.on('message', (m: Msg) => {
    const p = m.type === 'append' ? w.appendPrepared(m.xs ?? [])
      : m.type === 'flush' ? w.flush()
        : m.type === 'rotate' ? w.rotateKey(m.key ?? {})
          : w.close();
    p.then(() => port.postMessage({ type: 'done', id: m.id, ...state() }), (e: unknown) => port.postMessage(failure(m.id, e)));
  });
} catch (e) {
  port.postMessage(failure(0, e));
}
