// SHA-256 and HMAC-SHA-256 in plain JavaScript, for the audit chain's hot path only.
// Why not node:crypto: every call into OpenSSL 3 costs several microseconds of fixed overhead
// (algorithm fetch, context allocation), more than hashing a 300-byte entry itself; the chain
// needs two hashes per entry at >100k entries/s. This implementation has no per-call overhead
// and precomputes the HMAC inner/outer key states once per key. It is checked against
// node:crypto on random inputs in test/audit/sha256-matches-node-crypto.test.ts.
// Not constant-time with respect to the message (messages are not secret); the key only enters
// through the precomputed pad states.

const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
const IV = new Int32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);

const W = new Int32Array(64);

/** Compresses 64-byte blocks of `b` from `off` (n blocks) into state `s` (8 words). */
function blocks(s: Int32Array, b: Uint8Array, off: number, n: number): void {
  let h0 = s[0]!, h1 = s[1]!, h2 = s[2]!, h3 = s[3]!, h4 = s[4]!, h5 = s[5]!, h6 = s[6]!, h7 = s[7]!;
  const w = W;
  for (let blk = 0; blk < n; blk++, off += 64) {
    for (let i = 0; i < 16; i++) {
      const j = off + i * 4;
      w[i] = (b[j]! << 24) | (b[j + 1]! << 16) | (b[j + 2]! << 8) | b[j + 3]!;
    }
    for (let i = 16; i < 64; i++) {
      const x = w[i - 15]!, y = w[i - 2]!;
      const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
      const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
      w[i] = (w[i - 16]! + s0 + w[i - 7]! + s1) | 0;
    }
    let a = h0, bb = h1, c = h2, d = h3, e = h4, f = h5, g = h6, h = h7;
    for (let i = 0; i < 64; i++) {
      const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const ch = (e & f) ^ (~e & g);
      const t1 = (h + S1 + ch + K[i]! + w[i]!) | 0;
      const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const maj = (a & bb) ^ (a & c) ^ (bb & c);
      const t2 = (S0 + maj) | 0;
      h = g; g = f; f = e; e = (d + t1) | 0; d = c; c = bb; bb = a; a = (t1 + t2) | 0;
    }
    h0 = (h0 + a) | 0; h1 = (h1 + bb) | 0; h2 = (h2 + c) | 0; h3 = (h3 + d) | 0;
    h4 = (h4 + e) | 0; h5 = (h5 + f) | 0; h6 = (h6 + g) | 0; h7 = (h7 + h) | 0;
  }
  s[0] = h0; s[1] = h1; s[2] = h2; s[3] = h3; s[4] = h4; s[5] = h5; s[6] = h6; s[7] = h7;
}

const tail = new Uint8Array(128);

/**
 * Hashes msg[off, off+len) continuing from state `s` after `prefixBytes` already-compressed bytes,
 * writing the 32-byte digest into out[outOff..]. `s` is overwritten.
 */
function finish(s: Int32Array, msg: Uint8Array, off: number, len: number, prefixBytes: number, out: Uint8Array, outOff: number): void {
  const full = len >>> 6;
  if (full > 0) blocks(s, msg, off, full);
  const rem = len - full * 64;
  tail.fill(0);
  for (let i = 0; i < rem; i++) tail[i] = msg[off + full * 64 + i]!;
  tail[rem] = 0x80;
  const total = rem + 9 <= 64 ? 64 : 128;
  const bits = (prefixBytes + len) * 8;
  const hi = Math.floor(bits / 0x100000000);
  const lo = bits >>> 0;
  tail[total - 8] = hi >>> 24; tail[total - 7] = hi >>> 16; tail[total - 6] = hi >>> 8; tail[total - 5] = hi;
  tail[total - 4] = lo >>> 24; tail[total - 3] = lo >>> 16; tail[total - 2] = lo >>> 8; tail[total - 1] = lo;
  blocks(s, tail, 0, total / 64);
  for (let i = 0; i < 8; i++) {
    const v = s[i]!;
    out[outOff + i * 4] = v >>> 24; out[outOff + i * 4 + 1] = v >>> 16; out[outOff + i * 4 + 2] = v >>> 8; out[outOff + i * 4 + 3] = v;
  }
}

const scratch = new Int32Array(8);

/** SHA-256 of msg[off, off+len) into out[outOff, outOff+32). */
export function sha256Into(msg: Uint8Array, off: number, len: number, out: Uint8Array, outOff = 0): void {
  scratch.set(IV);
  finish(scratch, msg, off, len, 0, out, outOff);
}

export function sha256(msg: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(32);
  sha256Into(msg, 0, msg.length, out, 0);
  return out;
}

/** HMAC-SHA-256 with a fixed key: the pad states are computed once. */
export class HmacSha256 {
  private readonly inner = new Int32Array(8);
  private readonly outer = new Int32Array(8);
  private readonly mid = new Uint8Array(32);

  constructor(key: Uint8Array) {
    let k = key;
    if (k.length > 64) k = sha256(k);
    const pad = new Uint8Array(64);
    pad.set(k);
    const ipad = pad.map((x) => x ^ 0x36);
    const opad = pad.map((x) => x ^ 0x5c);
    this.inner.set(IV); blocks(this.inner, ipad, 0, 1);
    this.outer.set(IV); blocks(this.outer, opad, 0, 1);
  }

  /** HMAC of msg[off, off+len) into out[outOff, outOff+32). */
  macInto(msg: Uint8Array, off: number, len: number, out: Uint8Array, outOff = 0): void {
    scratch.set(this.inner);
    finish(scratch, msg, off, len, 64, this.mid, 0);
    scratch.set(this.outer);
    finish(scratch, this.mid, 0, 32, 64, out, outOff);
  }

  mac(msg: Uint8Array): Buffer {
    const out = Buffer.allocUnsafe(32);
    this.macInto(msg, 0, msg.length, out, 0);
    return out;
  }
}

/** Streaming SHA-256 for the digest run (d): many small updates, one digest. */
export class Sha256Stream {
  private readonly s = new Int32Array(IV);
  private readonly buf = new Uint8Array(64);
  private used = 0;
  private total = 0;

  update(b: Uint8Array, off = 0, len = b.length - off): void {
    this.total += len;
    if (this.used > 0) {
      const take = Math.min(64 - this.used, len);
      for (let i = 0; i < take; i++) this.buf[this.used + i] = b[off + i]!;
      this.used += take; off += take; len -= take;
      if (this.used < 64) return;
      blocks(this.s, this.buf, 0, 1);
      this.used = 0;
    }
    const full = len >>> 6;
    if (full > 0) { blocks(this.s, b, off, full); off += full * 64; len -= full * 64; }
    for (let i = 0; i < len; i++) this.buf[i] = b[off + i]!;
    this.used = len;
  }

  digest(): Buffer {
    const out = Buffer.allocUnsafe(32);
    finish(this.s, this.buf, 0, this.used, this.total - this.used, out, 0);
    return out;
  }
}
