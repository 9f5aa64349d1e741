// The on-disk format of a chain: one entry per line (JSONL), format version 1.
//
//   {"k":"event","prev":"<mac of entry seq-1>","seq":17,"t":"2026-...Z","v":1,"x":{...},"mac":"<hex>"}
//
// The part before `,"mac":` is P, the canonical JSON of the entry body (keys sorted, no
// whitespace; see trust/canonical-json.ts) without its closing brace. Then
//   h   = H(P)                  (H = SHA-256, or SHA-512 when the genesis entry says so)
//   mac = HMAC-H(key, h)        (covers version v, seq, prev = previous MAC, time and payload x)
// and the mac field is appended last, so verification needs no JSON parsing on its fast path:
// it locates the fixed-length suffix, hashes the exact bytes written, and reads the short header.
//
// The publicly computable digest chain for signed checkpoints is built from the same h values:
//   run starts with seed s (32 or 64 zero bytes at a chain's genesis; the `d` of the previous
//   anchor otherwise), d = H(s || h_a || ... || h_b) over the entries since that anchor.
// Anchors are checkpoint and segment entries; each records d for the entries before it, and
// its own h opens the next run. Anyone can recompute d without the HMAC key; a checkpoint's
// Ed25519 signature over d therefore vouches for every byte of every entry before it.
import { createHash, createHmac, hash as oneShotHash } from 'node:crypto';
import { canonicalJson } from '../trust/index.js';
import { HmacSha256 } from './sha256.js';
import type { EntryType, HashAlgorithm } from './types.js';

export const FORMAT_VERSION = 1;
export const MAC_PREFIX = ',"mac":"';
const MAC_PREFIX_BYTES = Buffer.from(MAC_PREFIX, 'latin1');

export function hashBytes(alg: HashAlgorithm): number {
  return alg === 'sha512' ? 64 : 32;
}

/** Bytes of `,"mac":"<hex>"}` at the end of a line (without the newline). */
export function suffixLength(alg: HashAlgorithm): number {
  return MAC_PREFIX.length + hashBytes(alg) * 2 + 2;
}

export interface EntryBody {
  k: EntryType;
  prev: string;
  seq: number;
  t: string;
  v: number;
  x: Record<string, unknown>;
}

/** P: canonical body without the closing brace. Throws CanonicalJsonError on non-JSON data. */
export function encodeBody(body: EntryBody): string {
  const c = canonicalJson(body);
  return c.slice(0, -1);
}

export function lineOf(p: string, mac: string): string {
  return `${p}${MAC_PREFIX}${mac}"}\n`;
}

/** H(P): node:crypto's one-shot hash, which beats the JS hash at every entry length measured (64-400 bytes). */
export function hashOf(alg: HashAlgorithm, p: Buffer | string): Buffer {
  return oneShotHash(alg, p, 'buffer') as unknown as Buffer;
}

/** Computes h = H(P) and mac = HMAC(key, h) for entries of one chain and key. */
export class Macer {
  private readonly js: HmacSha256 | null;
  private readonly macBuf: Buffer;
  constructor(readonly alg: HashAlgorithm, private readonly key: Buffer) {
    this.js = alg === 'sha256' ? new HmacSha256(key) : null;
    this.macBuf = Buffer.allocUnsafe(hashBytes(alg));
  }
  /** h of buf[off, off+len). */
  hInto(buf: Buffer, off: number, len: number): Buffer {
    return oneShotHash(this.alg, buf.subarray(off, off + len), 'buffer') as unknown as Buffer;
  }
  h(p: Buffer | string): Buffer {
    return hashOf(this.alg, p);
  }
  mac(h: Buffer): string {
    if (this.js) { this.js.macInto(h, 0, h.length, this.macBuf, 0); return this.macBuf.toString('hex'); }
    return createHmac(this.alg, this.key).update(h).digest('hex');
  }
}

/** Hex of the all-zero seed for a digest run at genesis. */
export function zeroSeed(alg: HashAlgorithm): Buffer {
  return Buffer.alloc(hashBytes(alg));
}

/** Incremental d computation (see header). */
export class DigestRun {
  // The h values are gathered and handed to node:crypto a batch at a time: one update per
  // 64 entries instead of one 32-byte call each (a call costs more than hashing 32 bytes).
  private readonly hash: ReturnType<typeof createHash>;
  private readonly batch: Buffer;
  private used = 0;
  count = 0;
  constructor(readonly alg: HashAlgorithm, seed: Buffer) {
    this.hash = createHash(alg).update(seed);
    this.batch = Buffer.allocUnsafe(64 * hashBytes(alg));
  }
  add(h: Buffer): void {
    if (this.used + h.length > this.batch.length) this.flush();
    this.used += h.copy(this.batch, this.used);
    this.count++;
  }
  private flush(): void {
    if (this.used > 0) this.hash.update(this.batch.subarray(0, this.used));
    this.used = 0;
  }
  /** Finishes the run and returns d (hex); the object must not be used afterwards. */
  finish(): string {
    this.flush();
    return this.hash.digest('hex');
  }
}

export interface Header {
  k: string;
  prev: string;
  seq: number;
  t: string;
  v: number;
}

// Header fields come first because canonical order sorts k < prev < seq < t < v < x.
const HEADER_RE = /^\{"k":"([a-z]{1,16})","prev":"([0-9a-f]{1,128})","seq":(0|[1-9][0-9]{0,15}),"t":"([0-9T:.Z-]{1,40})","v":([0-9]{1,6}),"x":\{/;

const enc = (t: string): Buffer => Buffer.from(t, 'latin1');
const H_K = enc('{"k":"');
const H_PREV = enc('","prev":"');
const H_SEQ = enc('","seq":');
const H_T = enc(',"t":"');
const H_V = enc('","v":');
const H_X = enc(',"x":{');

function expect(buf: Buffer, at: number, lit: Buffer, end: number): number {
  if (at + lit.length > end) return -1;
  for (let i = 0; i < lit.length; i++) if (buf[at + i] !== lit[i]) return -1;
  return at + lit.length;
}

/**
 * Parses the fixed header straight from the bytes (the verifier's hot path); same grammar as
 * HEADER_RE: k [a-z]{1,16}, prev hex{1,128}, seq without leading zeros, t [0-9T:.Z-]{1,40}, v digits.
 */
export function parseHeaderBytes(buf: Buffer, start: number, end: number): Header | null {
  let p = expect(buf, start, H_K, end);
  if (p < 0) return null;
  let q = p;
  while (q < end && q - p <= 16 && buf[q]! >= 0x61 && buf[q]! <= 0x7a) q++;
  if (q === p || q - p > 16) return null;
  const k = buf.toString('latin1', p, q);
  p = expect(buf, q, H_PREV, end);
  if (p < 0) return null;
  q = p;
  while (q < end && q - p <= 128 && ((buf[q]! >= 0x30 && buf[q]! <= 0x39) || (buf[q]! >= 0x61 && buf[q]! <= 0x66))) q++;
  if (q === p || q - p > 128) return null;
  const prev = buf.toString('latin1', p, q);
  p = expect(buf, q, H_SEQ, end);
  if (p < 0) return null;
  q = p;
  let seq = 0;
  while (q < end && q - p <= 16 && buf[q]! >= 0x30 && buf[q]! <= 0x39) { seq = seq * 10 + (buf[q]! - 0x30); q++; }
  if (q === p || q - p > 16 || (buf[p] === 0x30 && q - p > 1)) return null;
  p = expect(buf, q, H_T, end);
  if (p < 0) return null;
  q = p;
  while (q < end && q - p <= 40 && buf[q] !== 0x22) {
    const c = buf[q]!;
    if (!((c >= 0x30 && c <= 0x3a) || c === 0x54 || c === 0x2e || c === 0x5a || c === 0x2d)) return null;
    q++;
  }
  if (q === p || q - p > 40) return null;
  const t = buf.toString('latin1', p, q);
  p = expect(buf, q, H_V, end);
  if (p < 0) return null;
  q = p;
  let v = 0;
  while (q < end && q - p <= 6 && buf[q]! >= 0x30 && buf[q]! <= 0x39) { v = v * 10 + (buf[q]! - 0x30); q++; }
  if (q === p || q - p > 6) return null;
  if (expect(buf, q, H_X, end) < 0) return null;
  return { k, prev, seq, t, v };
}

/** Parses the fixed header of a line given as latin1 text (its first ~400 bytes suffice). */
export function parseHeader(text: string): Header | null {
  const m = HEADER_RE.exec(text);
  if (!m) return null;
  return { k: m[1]!, prev: m[2]!, seq: Number(m[3]), t: m[4]!, v: Number(m[5]) };
}

/**
 * Where P ends in buf[start, end) (end excludes the newline), if the line ends with a well-formed
 * MAC suffix for `alg`; else -1. Returns the index of the `,` that starts the suffix.
 */
export function macSuffixStart(buf: Buffer, start: number, end: number, alg: HashAlgorithm): number {
  const len = suffixLength(alg);
  const s = end - len;
  if (s <= start) return -1;
  if (buf[end - 1] !== 0x7d || buf[end - 2] !== 0x22) return -1;
  for (let i = 0; i < MAC_PREFIX_BYTES.length; i++) if (buf[s + i] !== MAC_PREFIX_BYTES[i]) return -1;
  for (let i = s + MAC_PREFIX_BYTES.length; i < end - 2; i++) {
    const c = buf[i]!;
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return -1;
  }
  return s;
}

/** Genesis/other zero MAC used as `prev` of the very first entry of a chain. */
export function zeroMac(alg: HashAlgorithm): string {
  return '0'.repeat(hashBytes(alg) * 2);
}
