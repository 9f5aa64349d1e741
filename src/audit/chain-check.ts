// The chain checker: consumes entries line by line (across files given in order) and tells the
// first bad entry and why. Used by `cordon audit verify` and by the writer before it resumes a
// chain (a writer never extends a chain it cannot verify).
//
// What each verdict means (first bad entry only; later entries are read for context):
//   edited      an entry's bytes changed (MAC mismatch, and the next entry still links to it)
//   inserted    an entry that the writer did not write here (forged, replayed or spliced)
//   deleted     entries are missing (sequence jumps and the missing ones are not found later)
//   reordered   entries are out of order (the missing sequence number appears later)
//   truncated   the last line is incomplete (a crash mid-write, or bytes cut off)
//   wrong-key   the chain was written with another key than the one given
//   no-key      no key for the chain's fingerprint was found
//   malformed   not a chain entry at all (garbage, binary, over-long line, unknown version)
//   bad-checkpoint  a signed checkpoint does not match the entries or its signature is invalid
// A chain that verifies but has no `close` entry is `open`: the writer is running, crashed, or
// its tail was cut at a line boundary; verify says so and fails unless told the chain is live.
import type { KeyObject } from 'node:crypto';
import { DigestRun, hashBytes, Macer, macSuffixStart, parseHeaderBytes, type Header, zeroMac, zeroSeed, FORMAT_VERSION } from './format.js';
import { verifyCheckpointSignature, type CheckpointStatement } from './checkpoint.js';
import type { LoadedKey } from './key.js';
import type { HashAlgorithm } from './types.js';

export type Verdict =
  | 'edited' | 'inserted' | 'deleted' | 'reordered' | 'truncated' | 'wrong-key' | 'no-key' | 'malformed' | 'bad-checkpoint';

export interface BadEntry {
  file: string;
  line: number;
  offset: number;
  seq: number | null;
  reason: Verdict;
  message: string;
}

export interface ChainState {
  chain: string;
  alg: HashAlgorithm;
  keyFp: string;
  nextSeq: number;
  lastMac: string;
  lastKind: string;
  run: DigestRun;
  sinceCheckpoint: number;
  fileIndex: number;
  /** Set after a rotate entry until the next genesis. */
  rotatingTo: { chain: string; key: string } | null;
}

export interface CheckerOptions {
  keys: LoadedKey[];
  /** Public keys accepted for checkpoint signatures, by keyId. */
  publicKeys: Map<string, KeyObject>;
  /** When the keys were given explicitly (wrong-key) rather than found by default (no-key). */
  explicitKeys: boolean;
  /**
   * Check chains whose key is not at hand for structure and links only (the writer resuming a
   * file whose earlier chains were rotated away from; it still verifies the last chain fully).
   */
  skipUnknownKeys?: boolean;
  /**
   * Chain heads known from elsewhere (an OTLP export, a checkpoint printed earlier): sequence
   * number → MAC. Each must be found among the verified entries; this catches a tail cut off at
   * an entry boundary, which the file alone cannot show while the chain is open.
   */
  expectHeads?: Map<number, string>;
}

interface Pending { seq: number; prev: string; mac: string; k: string }
const LOOKAHEAD = 1 << 20;

export class ChainChecker {
  state: ChainState | null = null;
  entries = 0;
  events = 0;
  checkpoints = 0;
  checkpointsVerified = 0;
  lastSignedSeq = -1;
  /** For expectHeads: the MAC seen at each expected sequence number. */
  readonly headsSeen = new Map<number, string[]>();
  closed = false;
  chains: { chain: string; alg: string; key: string; firstSeq: number; lastSeq: number }[] = [];
  notes: string[] = [];
  bad: BadEntry | null = null;
  private badCtx: { kind: 'mac' | 'link'; hdr: Header; macField: string; expectSeq: number; lastMac: string } | null = null;
  private after: Pending[] = [];
  private file = '';
  private fileNo = -1;
  private atFileStart = false;
  private macers = new Map<string, Macer>();
  private hashers = new Map<HashAlgorithm, Macer>();

  private hasher(alg: HashAlgorithm): Macer {
    let m = this.hashers.get(alg);
    if (!m) { m = new Macer(alg, Buffer.alloc(32)); this.hashers.set(alg, m); }
    return m;
  }

  constructor(private readonly opts: CheckerOptions) {}

  get hmac(): boolean { return this.opts.keys.length > 0; }

  beginFile(file: string): void {
    this.file = file;
    this.fileNo++;
    this.atFileStart = true;
  }

  /** Feeds one complete line; returns false once nothing more needs reading. */
  /**
   * Feeds one complete line. `preH`, when given, is H(P) of this line computed elsewhere (the
   * parallel verifier's workers); it is used only if its length fits the chain's algorithm.
   */
  line(buf: Buffer, start: number, end: number, offset: number, lineNo: number, preH?: Buffer): boolean {
    if (this.bad) return this.lookahead(buf, start, end);
    this.entries++;
    const algGuess: HashAlgorithm[] = this.state ? [this.state.alg] : ['sha256', 'sha512'];
    let sfx = -1;
    let alg: HashAlgorithm = 'sha256';
    for (const a of algGuess) { sfx = macSuffixStart(buf, start, end, a); if (sfx >= 0) { alg = a; break; } }
    const hdr = sfx >= 0 ? parseHeaderBytes(buf, start, sfx) : null;
    if (!hdr) return this.fail(offset, lineNo, null, 'malformed', `line ${lineNo} is not a chain entry (${describeGarbage(buf, start, end)})`);
    if (hdr.v !== FORMAT_VERSION) return this.fail(offset, lineNo, hdr.seq, 'malformed', `entry ${hdr.seq} has format version ${hdr.v}; this cordon reads version ${FORMAT_VERSION}`);
    const macField = buf.toString('latin1', sfx + 8, end - 2);
    const wantsBody = hdr.k !== 'event';
    let x: Record<string, unknown> = {};
    if (wantsBody) {
      try {
        const body = JSON.parse(buf.toString('utf8', start, sfx) + '}') as { x?: unknown };
        x = (body.x && typeof body.x === 'object' ? body.x : {}) as Record<string, unknown>;
      } catch {
        return this.fail(offset, lineNo, hdr.seq, 'malformed', `entry ${hdr.seq} (${hdr.k}) is not valid JSON`);
      }
    }

    // Starting a chain: at the beginning, or after a rotate entry.
    const st0 = this.state;
    if (!st0 || st0.rotatingTo) {
      if (hdr.k === 'genesis') {
        const r = this.startGenesis(hdr, x, alg, offset, lineNo);
        if (r !== true) return r;
      } else if (hdr.k === 'segment' && !st0) {
        const r = this.startSegment(hdr, x, alg, offset, lineNo);
        if (r !== true) return r;
        this.notes.push(`${this.file} starts at entry ${hdr.seq} of chain ${String(x.chain)} (a continuation file): entries before it were not checked; give the earlier files too`);
      } else if (!st0) {
        return this.fail(offset, lineNo, hdr.seq, 'deleted', `${this.file} starts with entry ${hdr.seq} (${hdr.k}) instead of a genesis entry: the chain's first entries were removed`);
      } else {
        return this.fail(offset, lineNo, hdr.seq, 'deleted', `entry after the key rotation at ${st0.nextSeq - 1} is a ${hdr.k} entry, not the new chain's genesis: entries were removed`);
      }
    } else if (this.atFileStart) {
      if (hdr.k !== 'segment') return this.fail(offset, lineNo, hdr.seq, 'malformed', `${this.file} does not start with a segment entry continuing chain ${st0.chain}; is it the next file of this chain?`);
    }
    const st = this.state!;
    if (alg !== st.alg) return this.fail(offset, lineNo, hdr.seq, 'malformed', `entry ${hdr.seq} carries a ${alg} MAC in a ${st.alg} chain`);

    const macer = this.macers.get(st.keyFp);
    const h = preH && preH.length === hashBytes(st.alg) ? preH : this.hasher(st.alg).hInto(buf, start, sfx - start);
    if (macer && macer.mac(h) !== macField) {
      this.badCtx = { kind: 'mac', hdr, macField, expectSeq: st.nextSeq, lastMac: st.lastMac };
      return this.fail(offset, lineNo, hdr.seq, 'edited', '');
    }
    if (hdr.seq !== st.nextSeq || hdr.prev !== st.lastMac) {
      this.badCtx = { kind: 'link', hdr, macField, expectSeq: st.nextSeq, lastMac: st.lastMac };
      return this.fail(offset, lineNo, hdr.seq, 'deleted', '');
    }
    this.atFileStart = false;

    switch (hdr.k) {
      case 'event':
        this.events++;
        st.run.add(h);
        break;
      case 'genesis':
        if (st.nextSeq !== 0) return this.fail(offset, lineNo, hdr.seq, 'inserted', `a genesis entry at ${hdr.seq} starts a new chain without a rotation entry`);
        st.run.add(h);
        break;
      case 'segment': {
        if (this.fileNo === 0 && st.sinceCheckpoint === -1) { st.sinceCheckpoint = 0; st.run.add(h); break; }
        const d = st.run.finish();
        if (x.d !== d || x.chain !== st.chain) return this.fail(offset, lineNo, hdr.seq, 'edited', `segment entry ${hdr.seq} does not match the previous file (digest ${String(x.d).slice(0, 16)}… expected ${d.slice(0, 16)}…): files are missing, out of order, or changed`);
        st.run = new DigestRun(st.alg, Buffer.from(d, 'hex'));
        st.run.add(h);
        st.fileIndex = typeof x.file === 'number' ? x.file : st.fileIndex + 1;
        break;
      }
      case 'checkpoint': {
        const d = this.checkSignedStatement(x, hdr, st, offset, lineNo);
        if (d === null) return false;
        st.run = new DigestRun(st.alg, Buffer.from(d, 'hex'));
        st.run.add(h);
        st.sinceCheckpoint = 0;
        break;
      }
      case 'rotate':
        if (typeof x.nextChain !== 'string' || typeof x.nextKey !== 'string') return this.fail(offset, lineNo, hdr.seq, 'malformed', `rotation entry ${hdr.seq} lacks nextChain/nextKey`);
        st.rotatingTo = { chain: x.nextChain, key: x.nextKey };
        st.run.add(h);
        break;
      case 'resume':
        if (x.reason === 'active-file-missing') this.notes.push(`entry ${hdr.seq}: the writer found the active file missing and continued the chain in a new file; entries written to the missing file, if any, are not in the files given`);
        else if (!this.closed) this.notes.push(`entry ${hdr.seq}: the writer restarted after a crash (no close entry before it)${x.discarded ? `; it discarded an incomplete last line of ${(x.discarded as { bytes?: number }).bytes} bytes` : ''}`);
        this.closed = false;
        st.run.add(h);
        break;
      case 'close':
        // With a signing key the close entry carries the final checkpoint (so it stays last).
        if (x.cp !== undefined) {
          const d = this.checkSignedStatement(x, hdr, st, offset, lineNo);
          if (d === null) return false;
          st.run = new DigestRun(st.alg, Buffer.from(d, 'hex'));
        }
        this.closed = true;
        st.run.add(h);
        break;
      default:
        return this.fail(offset, lineNo, hdr.seq, 'malformed', `entry ${hdr.seq} has unknown type ${JSON.stringify(hdr.k)}`);
    }
    if (this.closed && hdr.k !== 'close') return this.fail(offset, lineNo, hdr.seq, 'inserted', `entry ${hdr.seq} follows a close entry without a resume entry`);
    if (hdr.k !== 'checkpoint') st.sinceCheckpoint++;
    st.nextSeq = hdr.seq + 1;
    st.lastMac = macField;
    if (this.opts.expectHeads?.has(hdr.seq)) {
      const seen = this.headsSeen.get(hdr.seq) ?? [];
      seen.push(macField);
      this.headsSeen.set(hdr.seq, seen);
    }
    st.lastKind = hdr.k;
    const c = this.chains[this.chains.length - 1];
    if (c) c.lastSeq = hdr.seq;
    return true;
  }

  /** Checks a checkpoint statement against the digest run; returns d, or null after fail(). */
  private checkSignedStatement(x: Record<string, unknown>, hdr: Header, st: ChainState, offset: number, lineNo: number): string | null {
    const d = st.run.finish();
    const cp = x.cp as CheckpointStatement | undefined;
    const sig = typeof x.sig === 'string' ? x.sig : '';
    const keyId = typeof x.keyId === 'string' ? x.keyId : '';
    if (!cp || cp.d !== d || cp.seq !== hdr.seq - 1 || cp.head !== st.lastMac || cp.chain !== st.chain || cp.alg !== st.alg || cp.t !== hdr.t) {
      this.fail(offset, lineNo, hdr.seq, 'bad-checkpoint', `checkpoint ${hdr.seq} does not match the entries before it (digest ${String(cp?.d).slice(0, 16)}…, recomputed ${d.slice(0, 16)}…): an entry before it was changed, inserted or removed`);
      return null;
    }
    this.checkpoints++;
    const pk = this.opts.publicKeys.get(keyId);
    if (pk) {
      if (!verifyCheckpointSignature(pk, cp, sig)) {
        this.fail(offset, lineNo, hdr.seq, 'bad-checkpoint', `checkpoint ${hdr.seq}: the Ed25519 signature by key ${keyId.slice(0, 16)}… is invalid`);
        return null;
      }
      this.checkpointsVerified++;
      this.lastSignedSeq = hdr.seq;
    } else if (this.opts.publicKeys.size > 0) {
      this.fail(offset, lineNo, hdr.seq, 'bad-checkpoint', `checkpoint ${hdr.seq} is signed by key ${keyId.slice(0, 16)}…, which is not among the public keys given`);
      return null;
    }
    return d;
  }

  overlong(offset: number, lineNo: number, length: number): boolean {
    if (this.bad) { this.after.push({ seq: -1, prev: '', mac: '', k: '' }); return this.after.length < LOOKAHEAD; }
    return this.fail(offset, lineNo, null, 'malformed', `line ${lineNo} is ${length} bytes long, more than any entry the writer produces: not a chain entry`);
  }

  private selectKey(fp: string, offset: number, lineNo: number, seq: number): boolean {
    if (!this.hmac || this.macers.has(fp)) return true;
    const k = this.opts.keys.find((c) => c.fingerprint === fp);
    if (k) { this.macers.set(fp, new Macer(this.state?.alg ?? 'sha256', k.key)); return true; }
    if (this.opts.skipUnknownKeys) return true;
    if (this.opts.explicitKeys) {
      this.fail(offset, lineNo, seq, 'wrong-key', `wrong key: the chain was written with key fingerprint ${fp}; the key given (${this.opts.keys.map((c) => `${c.source}, fingerprint ${c.fingerprint}`).join('; ')}) is another key`);
    } else {
      this.fail(offset, lineNo, seq, 'no-key', `no HMAC key with fingerprint ${fp} was found (looked at: ${this.opts.keys.map((c) => c.source).join(', ') || 'nothing'}); pass --key FILE, or --public-key FILE to check signed checkpoints`);
    }
    return false;
  }

  private startGenesis(hdr: Header, x: Record<string, unknown>, alg: HashAlgorithm, offset: number, lineNo: number): true | boolean {
    const prevState = this.state;
    if (x.alg !== `hmac-${alg}` || typeof x.chain !== 'string' || typeof x.key !== 'string') {
      return this.fail(offset, lineNo, hdr.seq, 'malformed', `genesis entry of ${this.file} lacks chain/key/alg fields`);
    }
    if (prevState?.rotatingTo) {
      const from = x.from as { chain?: unknown; seq?: unknown; mac?: unknown } | undefined;
      if (x.chain !== prevState.rotatingTo.chain || x.key !== prevState.rotatingTo.key || !from || from.chain !== prevState.chain || from.seq !== prevState.nextSeq - 1 || from.mac !== prevState.lastMac) {
        return this.fail(offset, lineNo, hdr.seq, 'inserted', `the chain after the key rotation at entry ${prevState.nextSeq - 1} is not the one that rotation announced (${prevState.rotatingTo.chain})`);
      }
    }
    this.state = {
      chain: x.chain, alg, keyFp: x.key, nextSeq: 0, lastMac: zeroMac(alg), lastKind: '', run: new DigestRun(alg, zeroSeed(alg)),
      sinceCheckpoint: 0, fileIndex: 0, rotatingTo: null,
    };
    this.closed = false;
    this.chains.push({ chain: x.chain, alg, key: x.key, firstSeq: hdr.seq, lastSeq: hdr.seq });
    return this.selectKey(x.key, offset, lineNo, hdr.seq);
  }

  private startSegment(hdr: Header, x: Record<string, unknown>, alg: HashAlgorithm, offset: number, lineNo: number): true | boolean {
    if (typeof x.chain !== 'string' || typeof x.key !== 'string' || typeof x.d !== 'string' || !/^[0-9a-f]+$/.test(x.d)) {
      return this.fail(offset, lineNo, hdr.seq, 'malformed', `segment entry of ${this.file} lacks chain/key/d fields`);
    }
    this.state = {
      chain: x.chain, alg, keyFp: x.key, nextSeq: hdr.seq, lastMac: hdr.prev, lastKind: 'segment',
      run: new DigestRun(alg, Buffer.from(x.d, 'hex')), sinceCheckpoint: -1, fileIndex: typeof x.file === 'number' ? x.file : 0, rotatingTo: null,
    };
    this.chains.push({ chain: x.chain, alg, key: x.key, firstSeq: hdr.seq, lastSeq: hdr.seq });
    return this.selectKey(x.key, offset, lineNo, hdr.seq);
  }

  private fail(offset: number, line: number, seq: number | null, reason: Verdict, message: string): boolean {
    this.bad = { file: this.file, line, offset, seq, reason, message };
    return !!this.badCtx; // keep reading only when later entries can explain the failure
  }

  private lookahead(buf: Buffer, start: number, end: number): boolean {
    const alg = this.state?.alg ?? 'sha256';
    const sfx = macSuffixStart(buf, start, end, alg);
    const hdr = sfx >= 0 ? parseHeaderBytes(buf, start, sfx) : null;
    this.after.push(hdr ? { seq: hdr.seq, prev: hdr.prev, mac: buf.toString('latin1', sfx + 8, end - 2), k: hdr.k } : { seq: -1, prev: '', mac: '', k: '' });
    return this.after.length < LOOKAHEAD;
  }

  /** Settles the verdict of the first bad entry once the lookahead has been read. */
  finish(): void {
    const b = this.bad;
    const c = this.badCtx;
    if (!b || !c) return;
    const { hdr, macField, expectSeq, lastMac } = c;
    const next = this.after[0];
    if (c.kind === 'mac') {
      if (next && next.prev === lastMac && next.seq === expectSeq) {
        b.reason = 'inserted';
        b.message = `line ${b.line} (claims entry ${hdr.seq}) was inserted: its MAC is not valid and the next entry links to entry ${expectSeq - 1} before it`;
      } else if (hdr.seq === expectSeq && hdr.prev === lastMac && next && next.prev === macField) {
        b.reason = 'edited';
        b.message = `entry ${hdr.seq} was edited: its MAC does not match its contents (the entries around it are in place)`;
      } else if (!next && hdr.seq === expectSeq && hdr.prev === lastMac) {
        b.reason = 'edited';
        b.message = `entry ${hdr.seq} (the last one) was edited: its MAC does not match its contents`;
      } else if (hdr.seq !== expectSeq || hdr.prev !== lastMac) {
        b.reason = 'inserted';
        b.message = `line ${b.line} (claims entry ${hdr.seq}) has no valid MAC and does not link to entry ${expectSeq - 1}: it was inserted or forged`;
      } else {
        b.reason = 'edited';
        b.message = `entry ${hdr.seq} was edited: its MAC does not match its contents`;
      }
      return;
    }
    if (hdr.seq > expectSeq) {
      const later = this.after.some((a) => a.seq === expectSeq);
      if (later) {
        b.reason = 'reordered';
        b.message = `entries are out of order: entry ${hdr.seq} appears where entry ${expectSeq} belongs, and entry ${expectSeq} comes later`;
      } else {
        b.reason = 'deleted';
        b.message = hdr.seq - expectSeq === 1
          ? `entry ${expectSeq} was deleted: entry ${hdr.seq} follows entry ${expectSeq - 1}`
          : `entries ${expectSeq}..${hdr.seq - 1} were deleted: entry ${hdr.seq} follows entry ${expectSeq - 1}`;
      }
    } else if (hdr.seq < expectSeq) {
      // Entry hdr.seq was already seen in its place (a move would have shown a jump first).
      b.reason = 'inserted';
      b.message = `entry ${hdr.seq} appears a second time after entry ${expectSeq - 1} (a replayed copy was inserted)`;
    } else {
      b.reason = 'inserted';
      b.message = `entry ${hdr.seq} has a valid MAC but belongs to another chain (its previous-MAC link does not match entry ${expectSeq - 1}): it was spliced in`;
    }
  }
}

function describeGarbage(buf: Buffer, start: number, end: number): string {
  if (end === start) return 'empty line';
  let bin = 0;
  const n = Math.min(end, start + 256);
  for (let i = start; i < n; i++) { const c = buf[i]!; if (c < 9 || (c > 13 && c < 32)) bin++; }
  if (bin > 0) return 'binary data';
  const text = buf.toString('utf8', start, Math.min(end, start + 60)).replace(/[^\x20-\x7e]/g, '?');
  return `starts ${JSON.stringify(text)}${end - start > 60 ? '…' : ''}`;
}
