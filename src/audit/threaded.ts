// The threaded writer: the same chain, format and guarantees as AuditWriter, with the hashing,
// MACs and file I/O on a worker thread. The caller's thread validates and serialises each event
// (so invalid events still reject at once) and hands batches over; `append` resolves when the
// worker's group commit for that batch reached the disk, and rejects (fail closed) on any
// failure, after which every later append rejects too. Enable with openAuditLog({ thread: true }).
import { Worker } from 'node:worker_threads';
import { AuditError, type AuditErrorCode } from './errors.js';
import { checkEvent } from './event.js';
import { eventJson } from './event-json.js';
import { MAX_LINE_BYTES } from './scan.js';

const MAX_ENTRY_CHARS = MAX_LINE_BYTES - 1024;
import type { AuditEntry, AuditEventInput, AuditForwarder, AuditKeySpec, AuditSink, OpenAuditLogOptions } from './types.js';

interface Pending { resolve(): void; reject(e: Error): void }
interface Out { type: string; id: number; chain?: string; key?: string; nextSeq?: number; code?: AuditErrorCode; message?: string; cause?: string | null; entries?: AuditEntry[] }

export class ThreadedAuditWriter implements AuditSink {
  private xs: string[] = [];
  private events: AuditEventInput[] = [];
  private batch: { promise: Promise<void>; resolve(): void; reject(e: Error): void } | null = null;
  private readonly inflight = new Map<number, Pending>();
  private readonly requestsEvenIfBroken = new Set<number>();
  private last: Promise<void> = Promise.resolve();
  private id = 0;
  private scheduled = false;
  private broken: Error | null = null;
  private closing = false;
  private chainId = '';
  private keyFp = '';
  private seq = 0;

  private constructor(readonly path: string, private readonly worker: Worker, private readonly forwarders: AuditForwarder[]) {}

  get chain(): string { return this.chainId; }
  get keyFingerprint(): string { return this.keyFp; }
  get nextSeq(): number { return this.seq; }

  static async open(opts: OpenAuditLogOptions): Promise<ThreadedAuditWriter> {
    const forwarders = opts.forwarders ?? [];
    const { forwarders: _f, thread: _t, ...rest } = opts;
    const worker = new Worker(new URL('./writer-thread.js', import.meta.url), { workerData: { opts: rest, forward: forwarders.length > 0 } });
    const w = new ThreadedAuditWriter(opts.file, worker, forwarders);
    await new Promise<void>((resolve, reject) => {
      const first = (m: Out): void => {
        if (m.type === 'entries') { w.onMessage(m); return; } // the genesis/resume entry, for forwarders
        worker.off('message', first);
        if (m.type === 'ready') { w.update(m); resolve(); } else { void worker.terminate(); reject(w.errorOf(m)); }
      };
      worker.on('message', first);
      worker.once('error', reject);
    });
    worker.on('message', (m: Out) => w.onMessage(m));
    worker.on('error', (e) => w.fail(new AuditError('write-failed', `the audit writer thread failed: ${e.message}`, { cause: e })));
    worker.on('exit', () => { if (!w.closing) w.fail(new AuditError('write-failed', 'the audit writer thread exited')); });
    worker.unref();
    return w;
  }

  append(e: AuditEventInput): Promise<void> {
    if (this.broken) return Promise.reject(this.broken);
    if (this.closing) return Promise.reject(new AuditError('closed', `audit log ${this.path} is closed; the operation cannot be recorded`));
    let x: string;
    try {
      checkEvent(e);
      x = eventJson(e);
    } catch (err) {
      return Promise.reject(err instanceof AuditError ? err : new AuditError('invalid-event', `audit event rejected: ${(err as Error).message}`, { cause: err }));
    }
    if (x.length > MAX_ENTRY_CHARS / 3 && Buffer.byteLength(x) > MAX_ENTRY_CHARS) {
      return Promise.reject(new AuditError('invalid-event', `audit event rejected: it is ${Buffer.byteLength(x)} bytes as JSON; entries are limited to ${MAX_ENTRY_CHARS} (move bulk data out of 'fields')`));
    }
    this.xs.push(x);
    if (this.forwarders.length) this.events.push(e);
    if (!this.batch) {
      let resolve!: () => void;
      let reject!: (e: Error) => void;
      const promise = new Promise<void>((res, rej) => { resolve = res; reject = rej; });
      this.batch = { promise, resolve, reject };
    }
    if (!this.scheduled) { this.scheduled = true; setImmediate(() => this.send()); }
    return this.batch.promise;
  }

  flush(): Promise<void> {
    if (this.broken) return Promise.reject(this.broken);
    if (this.batch) return this.batch.promise;
    return this.last;
  }

  async close(): Promise<void> {
    if (this.closing) return;
    const broken = this.broken;
    if (!broken) this.send();
    this.closing = true;
    try {
      // Even when broken: the worker's close releases the chain's lock file.
      await this.request({ type: 'close' }, true);
      if (broken) throw broken;
    } finally {
      await this.worker.terminate();
      for (const f of this.forwarders) await f.close().catch(() => undefined);
    }
  }

  async rotateKey(key: AuditKeySpec): Promise<void> {
    if (this.broken) throw this.broken;
    this.send();
    await this.request({ type: 'rotate', key });
  }

  private send(): void {
    this.scheduled = false;
    const b = this.batch;
    if (!b || this.broken) return;
    const xs = this.xs;
    this.xs = [];
    this.batch = null;
    this.last = b.promise;
    const id = ++this.id;
    this.track(id, b);
    this.worker.postMessage({ type: 'append', id, xs });
  }

  private request(m: Record<string, unknown>, evenIfBroken = false): Promise<void> {
    const id = ++this.id;
    const p = new Promise<void>((resolve, reject) => this.track(id, { resolve, reject }));
    this.requestsEvenIfBroken.add(id);
    if (!evenIfBroken) this.requestsEvenIfBroken.delete(id);
    this.last = p.catch(() => undefined);
    this.worker.postMessage({ ...m, id });
    return p;
  }

  private track(id: number, p: Pending): void {
    if (this.inflight.size === 0) this.worker.ref(); // keep the process alive until acknowledged
    this.inflight.set(id, p);
  }

  private settle(id: number): Pending | undefined {
    const p = this.inflight.get(id);
    this.inflight.delete(id);
    if (this.inflight.size === 0) this.worker.unref();
    return p;
  }

  private update(m: Out): void {
    if (m.chain) this.chainId = m.chain;
    if (m.key) this.keyFp = m.key;
    if (m.nextSeq !== undefined) this.seq = m.nextSeq;
  }

  private onMessage(m: Out): void {
    if (m.type === 'done') { this.update(m); this.settle(m.id)?.resolve(); return; }
    if (m.type === 'failed') {
      if (this.requestsEvenIfBroken.has(m.id)) { this.requestsEvenIfBroken.delete(m.id); this.settle(m.id)?.reject(this.errorOf(m)); return; }
      this.fail(this.errorOf(m));
      return;
    }
    if (m.type === 'entries' && m.entries) {
      // Event payloads stay on this thread: fill them back in, in commit (= append) order.
      const entries = m.entries.map((en) => (en.k === 'event' ? { ...en, x: this.events.shift() as unknown as Record<string, unknown> } : en));
      for (const f of this.forwarders) {
        try {
          const r = f.write(entries, m.chain ?? '');
          if (r && typeof (r as Promise<void>).catch === 'function') (r as Promise<void>).catch((e) => process.stderr.write(`cordon audit: forwarder failed: ${(e as Error).message}\n`));
        } catch (e) {
          process.stderr.write(`cordon audit: forwarder failed: ${(e as Error).message}\n`);
        }
      }
    }
  }

  private errorOf(m: Out): AuditError {
    return new AuditError(m.code ?? 'write-failed', m.message ?? 'audit writer failed', m.cause ? { cause: Object.assign(new Error(m.cause), { code: m.cause }) } : undefined);
  }

  private fail(e: Error): void {
    if (this.broken) return;
    this.broken = e;
    for (const id of [...this.inflight.keys()]) if (!this.requestsEvenIfBroken.has(id)) this.settle(id)?.reject(e);
    this.batch?.reject(e);
    this.batch = null;
  }
}
