// The chain writer: assigns sequence numbers, links and MACs entries synchronously (so the order
// of `append` calls is the order in the chain), then commits them in batches: one write and one
// fdatasync for every entry queued meanwhile (group commit). `append` resolves after that
// fdatasync; any failure rejects the batch and every later append (fail closed: the writer does
// not know what reached the disk, so nothing more is acknowledged until it is reopened, which
// re-verifies the file and records a resume entry).
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, renameSync, statSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { hostname } from 'node:os';
import { canonicalJson, loadPrivateKey, type PrivateKeyInfo } from '../trust/index.js';
import type { ChainState } from './chain-check.js';
import { inspect } from './resume.js';
import { signCheckpoint, type CheckpointStatement } from './checkpoint.js';
import { AuditError } from './errors.js';
import { checkEvent } from './event.js';
import { DigestRun, Macer, zeroMac, zeroSeed, FORMAT_VERSION, MAC_PREFIX } from './format.js';
import { bodyPrefix, eventJson } from './event-json.js';
import { resolveWriterKey, type LoadedKey } from './key.js';
import { acquireLock } from './lock.js';
import { MAX_LINE_BYTES } from './scan.js';
import { expandRotated } from './verify.js';
import type { AuditEntry, AuditEventInput, AuditForwarder, AuditKeySpec, AuditSink, EntryType, HashAlgorithm, OpenAuditLogOptions } from './types.js';

/** Largest payload accepted; lines stay below the reader's MAX_LINE_BYTES. */
const MAX_ENTRY_CHARS = MAX_LINE_BYTES - 1024;

/** Payload placeholder for events whose JSON was prepared elsewhere (forwarders see {}). */
const PREPARED: Record<string, unknown> = Object.freeze({}) as Record<string, unknown>;

/** Everyone waiting for the same batch shares one promise (no allocation per append). */
interface Batch { promise: Promise<void>; resolve(): void; reject(e: Error): void }

function newBatch(): Batch {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<void>((res, rej) => { resolve = res; reject = rej; });
  return { promise, resolve, reject };
}

/** Name a rotated-away file gets: `<file>.<index, 6 digits>`, oldest has the smallest index. */
export function rotatedName(file: string, index: number): string {
  return `${file}.${String(index).padStart(6, '0')}`;
}

export class AuditWriter implements AuditSink {
  // Pending bytes of the next batch, and offsets in it where a new file begins (rotation).
  private buf = Buffer.allocUnsafe(1 << 20);
  private len = 0;
  private rotateAt: number[] = [];
  private queuedEntries: { entry: AuditEntry; chain: string }[] = [];
  private batch: Batch | null = null;
  private draining: Promise<void> | null = null;
  private broken: Error | null = null;
  private closing = false;
  private timer: NodeJS.Timeout | null = null;
  private bytesInFile: number;
  private macer: Macer;
  private lastT = 0;
  private lastIso = '';
  /** Index of the file currently open for writing (advances as rotations are committed). */
  private fileNo: number;

  private constructor(
    readonly path: string,
    private fh: FileHandle,
    private key: LoadedKey,
    private st: ChainState,
    private readonly release: () => void,
    private readonly opts: OpenAuditLogOptions,
    private readonly signer: PrivateKeyInfo | null,
    size: number,
  ) {
    this.macer = new Macer(st.alg, key.key);
    this.bytesInFile = size;
    this.fileNo = st.fileIndex;
    const every = opts.checkpoint?.everyMs ?? 10_000;
    if (signer && every > 0) {
      this.timer = setInterval(() => { if (this.st.sinceCheckpoint > 0 && !this.broken && !this.closing) { this.checkpoint(); this.kick(); } }, every);
      this.timer.unref();
    }
  }

  get chain(): string { return this.st.chain; }
  get keyFingerprint(): string { return this.key.fingerprint; }
  /** Sequence number the next entry will get. */
  get nextSeq(): number { return this.st.nextSeq; }

  static async open(opts: OpenAuditLogOptions): Promise<AuditWriter> {
    const file = opts.file;
    const key = resolveWriterKey(opts.key);
    const signer = opts.checkpoint ? loadPrivateKey(opts.checkpoint.signingKeyFile, { strict: true }) : null;
    mkdirSync(dirname(file), { recursive: true });
    const release = acquireLock(file);
    let fh: FileHandle | null = null;
    try {
      const pre = existsSync(file) ? statSync(file).size : 0;
      let resume: { st: ChainState; closed: boolean; discarded: { bytes: number; sha256: string } | null } | null = null;
      let discardedOrphan: { bytes: number; sha256: string } | null = null;
      let continueFrom: string | null = null;
      if (pre > 0) {
        const r = inspect(file, key);
        if (r.st) resume = { st: r.st, closed: r.closed, discarded: r.discarded };
        else discardedOrphan = r.discarded;
      } else {
        // No active file but rotated ones: a crash between renaming the full file and starting
        // the next one (or the active file was removed). Continue the chain from the newest
        // rotated file, saying so in the chain; never start a second, unlinked chain beside it.
        const earlier = expandRotated(file).slice(0, -1);
        const last = earlier[earlier.length - 1];
        if (last) {
          const r = inspect(last, key);
          if (r.st && !r.st.rotatingTo) { resume = { st: r.st, closed: r.closed, discarded: r.discarded }; continueFrom = last; }
        }
      }
      fh = await open(file, 'a', 0o600);
      const w = new AuditWriter(file, fh, key, resume?.st ?? newChainState(opts.algorithm ?? 'sha256', key), release, opts, signer, statSync(file).size);
      if (resume && continueFrom) {
        w.continueAfter(continueFrom);
        w.push('resume', { reason: 'active-file-missing', writer: { pid: process.pid, host: hostname() }, ...(resume.discarded ? { discarded: resume.discarded } : {}) });
      } else if (!resume) {
        w.push('genesis', { alg: `hmac-${w.st.alg}`, chain: w.st.chain, key: key.fingerprint, writer: { pid: process.pid, host: hostname() }, ...(discardedOrphan ? { discarded: discardedOrphan } : {}) });
      } else if (resume.st.rotatingTo) {
        if (resume.st.rotatingTo.key !== key.fingerprint) throw new AuditError('chain', `${file} ends with a key rotation to key ${resume.st.rotatingTo.key}; open it with that key`);
        w.startChainAfterRotation(resume.st.rotatingTo.chain);
      } else {
        w.push('resume', { reason: resume.closed ? 'restart' : 'crash', writer: { pid: process.pid, host: hostname() }, ...(resume.discarded ? { discarded: resume.discarded } : {}) });
      }
      await w.flush();
      return w;
    } catch (e) {
      await fh?.close().catch(() => undefined);
      release();
      throw e;
    }
  }

  /** Starts the (empty) active file as the continuation of rotated file `prev`. */
  private continueAfter(prev: string): void {
    const d = this.st.run.finish();
    this.st.run = new DigestRun(this.st.alg, Buffer.from(d, 'hex'));
    this.st.fileIndex++;
    this.fileNo = this.st.fileIndex;
    this.push('segment', { alg: this.st.alg, chain: this.st.chain, d, file: this.st.fileIndex, key: this.key.fingerprint, prevFile: basename(prev) });
  }

  append(e: AuditEventInput): Promise<void> {
    if (this.broken) return Promise.reject(this.broken);
    if (this.closing) return Promise.reject(new AuditError('closed', `audit log ${this.path} is closed; the operation cannot be recorded`));
    try {
      this.push('event', checkEvent(e));
    } catch (err) {
      return Promise.reject(err instanceof AuditError ? err : new AuditError('invalid-event', `audit event rejected: ${(err as Error).message}`, { cause: err }));
    }
    const n = this.opts.checkpoint?.everyN ?? 1000;
    if (this.signer && n > 0 && this.st.sinceCheckpoint >= n) this.checkpoint();
    return this.wait();
  }

  /**
   * Appends events already validated and serialised by checkEvent + eventJson (the threaded
   * writer's proxy does that on the caller's thread). Same durability and failure semantics.
   */
  appendPrepared(xJsons: readonly string[]): Promise<void> {
    if (this.broken) return Promise.reject(this.broken);
    if (this.closing) return Promise.reject(new AuditError('closed', `audit log ${this.path} is closed; the operation cannot be recorded`));
    const n = this.opts.checkpoint?.everyN ?? 1000;
    for (const xJson of xJsons) {
      try {
        this.push('event', PREPARED, this.now(), xJson);
      } catch (err) {
        return Promise.reject(err instanceof AuditError ? err : new AuditError('invalid-event', `audit event rejected: ${(err as Error).message}`, { cause: err }));
      }
      if (this.signer && n > 0 && this.st.sinceCheckpoint >= n) this.checkpoint();
    }
    return this.wait();
  }

  flush(): Promise<void> {
    if (this.broken) return Promise.reject(this.broken);
    if (this.len === 0 && !this.draining) return Promise.resolve();
    return this.wait();
  }

  async close(): Promise<void> {
    if (this.closing) return;
    if (this.broken) { await this.shutdown(); throw this.broken; }
    // With a signing key the close entry is itself the final checkpoint, so a public-key
    // verifier also sees that the chain ended here (only its own MAC field is not signed).
    if (this.signer) this.checkpoint('close');
    else this.push('close', {});
    this.closing = true;
    try {
      await this.wait();
    } finally {
      await this.shutdown();
    }
  }

  /**
   * Key rotation: a `rotate` entry (MAC'd with the old key) announces the new key's fingerprint
   * and chain id, then the new chain's genesis (new key) links back to it. Verify needs both keys.
   */
  async rotateKey(spec: AuditKeySpec): Promise<void> {
    if (this.broken) throw this.broken;
    const next = resolveWriterKey(spec);
    if (next.fingerprint === this.key.fingerprint) throw new AuditError('key', 'the new audit key is the same as the current one');
    const nextChain = randomBytes(16).toString('hex');
    if (this.signer && this.st.sinceCheckpoint > 0) this.checkpoint();
    this.push('rotate', { nextChain, nextKey: next.fingerprint });
    this.key = next;
    this.macer = new Macer(this.st.alg, next.key);
    this.startChainAfterRotation(nextChain);
    await this.wait();
  }

  private startChainAfterRotation(nextChain: string): void {
    const from = { chain: this.st.chain, seq: this.st.nextSeq - 1, mac: this.st.lastMac };
    this.st = { ...newChainState(this.st.alg, this.key), chain: nextChain, fileIndex: this.st.fileIndex };
    this.push('genesis', { alg: `hmac-${this.st.alg}`, chain: nextChain, from, key: this.key.fingerprint, writer: { pid: process.pid, host: hostname() } });
  }

  private checkpoint(k: 'checkpoint' | 'close' = 'checkpoint'): void {
    const s = this.signer!;
    const t = this.now();
    const cp: CheckpointStatement = { alg: this.st.alg, chain: this.st.chain, d: this.st.run.finish(), head: this.st.lastMac, seq: this.st.nextSeq - 1, t };
    this.st.run = new DigestRun(this.st.alg, Buffer.from(cp.d, 'hex'));
    this.push(k, { cp, keyId: s.keyId, sig: signCheckpoint(s.key, cp) }, t);
    this.st.sinceCheckpoint = 0;
  }

  private now(): string {
    const ms = Date.now();
    if (ms !== this.lastT) { this.lastT = ms; this.lastIso = new Date(ms).toISOString(); }
    return this.lastIso;
  }

  /** Builds, links and queues one entry. Throws (before changing any state) on invalid data. */
  private push(k: EntryType, x: Record<string, unknown>, t = this.now(), xJson = k === 'event' ? eventJson(x as unknown as AuditEventInput) : canonicalJson(x)): void {
    if (xJson.length > MAX_ENTRY_CHARS && Buffer.byteLength(xJson) > MAX_ENTRY_CHARS) {
      throw new AuditError('invalid-event', `audit event rejected: it is ${Buffer.byteLength(xJson)} bytes as JSON; entries are limited to ${MAX_ENTRY_CHARS} (move bulk data out of 'fields')`);
    }
    const rot = this.opts.rotateBytes;
    if (rot && k !== 'segment' && this.bytesInFile > 0 && this.bytesInFile + xJson.length + 400 > rot) this.segment();
    const p = bodyPrefix(k, this.st.lastMac, this.st.nextSeq, t, FORMAT_VERSION, xJson);
    const need = this.len + p.length * 3 + 300;
    if (need > this.buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(need, this.buf.length * 2));
      this.buf.copy(bigger, 0, 0, this.len);
      this.buf = bigger;
    }
    const off = this.len;
    const pLen = this.buf.write(p, off, 'utf8');
    const h = this.macer.hInto(this.buf, off, pLen);
    const mac = this.macer.mac(h);
    const sLen = this.buf.write(MAC_PREFIX + mac + '"}\n', off + pLen, 'latin1');
    this.len = off + pLen + sLen;
    this.bytesInFile += pLen + sLen;
    if (this.opts.forwarders?.length) this.queuedEntries.push({ entry: { k, prev: this.st.lastMac, seq: this.st.nextSeq, t, v: FORMAT_VERSION, x, mac }, chain: this.st.chain });
    this.st.run.add(h);
    if (k !== 'checkpoint') this.st.sinceCheckpoint++;
    this.st.nextSeq++;
    this.st.lastMac = mac;
    this.st.lastKind = k;
  }

  /** Ends the current file and continues the chain in a new one (size-based rotation). */
  private segment(): void {
    const d = this.st.run.finish();
    this.st.run = new DigestRun(this.st.alg, Buffer.from(d, 'hex'));
    const from = rotatedName(this.path, this.st.fileIndex);
    this.st.fileIndex++;
    this.rotateAt.push(this.len);
    this.bytesInFile = 0;
    this.push('segment', { alg: this.st.alg, chain: this.st.chain, d, file: this.st.fileIndex, key: this.key.fingerprint, prevFile: basename(from) });
  }

  private wait(): Promise<void> {
    this.batch ??= newBatch();
    this.kick();
    return this.batch.promise;
  }

  private kick(): void {
    if (this.draining) return;
    this.draining = new Promise<void>((r) => setImmediate(r)).then(() => this.drain()).finally(() => {
      this.draining = null;
      // Appends or flushes that arrived while the last batch was finishing.
      if (this.broken) { this.batch?.reject(this.broken); this.batch = null; }
      else if (this.len > 0 || this.batch) this.kick();
    });
  }

  private async drain(): Promise<void> {
    while (this.len > 0 || this.batch) {
      const bytes = this.buf.subarray(0, this.len);
      const rotateAt = this.rotateAt;
      const batch = this.batch;
      const entries = this.queuedEntries;
      this.buf = Buffer.allocUnsafe(Math.max(1 << 20, Math.min(this.buf.length, 16 << 20)));
      this.len = 0;
      this.rotateAt = [];
      this.batch = null;
      this.queuedEntries = [];
      try {
        await this.commit(bytes, rotateAt);
      } catch (e) {
        const err = e instanceof AuditError ? e : new AuditError('write-failed', `audit write to ${this.path} failed: ${(e as Error).message}; operations are denied until the audit trail is writable again`, { cause: e });
        this.broken = err;
        batch?.reject(err);
        (this.batch as Batch | null)?.reject(err); // appends that arrived during the failed write
        this.batch = null;
        this.len = 0;
        return;
      }
      batch?.resolve();
      // Forwarders get runs of entries of one chain (a key rotation changes the chain mid-batch).
      for (let i = 0; i < entries.length;) {
        const chain = entries[i]!.chain;
        let j = i;
        while (j < entries.length && entries[j]!.chain === chain) j++;
        const run = entries.slice(i, j).map((q) => q.entry);
        for (const f of this.opts.forwarders ?? []) forward(f, run, chain);
        i = j;
      }
    }
  }

  private async commit(bytes: Buffer, rotateAt: number[]): Promise<void> {
    let from = 0;
    for (const at of rotateAt) {
      await this.writeAll(bytes.subarray(from, at));
      from = at;
      await this.fh.datasync();
      await this.fh.close();
      this.fileNo++;
      renameSync(this.path, rotatedName(this.path, this.fileNo - 1));
      this.fh = await open(this.path, 'ax', 0o600);
      syncDir(dirname(this.path));
    }
    await this.writeAll(bytes.subarray(from));
    await this.fh.datasync();
  }

  private async writeAll(buf: Buffer): Promise<void> {
    if (buf.length === 0) return;
    let off = 0;
    while (off < buf.length) {
      const { bytesWritten } = await this.fh.write(buf, off, buf.length - off, null);
      if (bytesWritten <= 0) throw new Error('write wrote nothing');
      off += bytesWritten;
    }
  }

  private async shutdown(): Promise<void> {
    this.closing = true;
    if (this.timer) clearInterval(this.timer);
    try { await this.fh.close(); } catch { /* already closed */ }
    this.release();
    for (const f of this.opts.forwarders ?? []) await f.close().catch(() => undefined);
  }
}

function forward(f: AuditForwarder, entries: AuditEntry[], chain: string): void {
  try {
    const r = f.write(entries, chain);
    if (r && typeof (r as Promise<void>).catch === 'function') (r as Promise<void>).catch((e) => process.stderr.write(`cordon audit: forwarder failed: ${(e as Error).message}\n`));
  } catch (e) {
    process.stderr.write(`cordon audit: forwarder failed: ${(e as Error).message}\n`);
  }
}

function newChainState(alg: HashAlgorithm, key: LoadedKey): ChainState {
  return {
    chain: randomBytes(16).toString('hex'), alg, keyFp: key.fingerprint, nextSeq: 0, lastMac: zeroMac(alg), lastKind: '',
    run: new DigestRun(alg, zeroSeed(alg)), sinceCheckpoint: 0, fileIndex: 0, rotatingTo: null,
  };
}

function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try { fsyncSync(fd); } finally { closeSync(fd); }
}
