// SHA-256 and HMAC-SHA-256 for the audit chain's hot path, on @noble/hashes (audited, pure JS).
// Why not node:crypto here: every call into OpenSSL 3 costs several microseconds of fixed
// overhead (algorithm fetch, context allocation), more than hashing a 300-byte entry itself, and
// the chain needs two hashes per entry at >100k entries/s. With noble the HMAC key's pad states
// are absorbed once and cloned per message, so a short entry costs only its own blocks.
// Long inputs still go to node:crypto (format.ts, ONE_SHOT_MIN). Checked against node:crypto on
// random inputs in test/audit/sha256-matches-node-crypto.test.ts.
import { hmac, type _HMAC } from '@noble/hashes/hmac.js';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';

type Sha256Hash = ReturnType<typeof nobleSha256.create>;

const scratch = new Uint8Array(32);

function view(msg: Uint8Array, off: number, len: number): Uint8Array {
  return off === 0 && len === msg.length ? msg : msg.subarray(off, off + len);
}

/** Writes a finished hash's 32 bytes into out[outOff, outOff+32) (noble needs a whole-buffer target). */
function emit(h: { digestInto(out: Uint8Array): void }, out: Uint8Array, outOff: number): void {
  if (outOff === 0 && out.length === 32) { h.digestInto(out); return; }
  h.digestInto(scratch);
  out.set(scratch, outOff);
}

/** SHA-256 of msg[off, off+len) into out[outOff, outOff+32). */
export function sha256Into(msg: Uint8Array, off: number, len: number, out: Uint8Array, outOff = 0): void {
  emit(nobleSha256.create().update(view(msg, off, len)), out, outOff);
}

export function sha256(msg: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(32);
  sha256Into(msg, 0, msg.length, out, 0);
  return out;
}

/** HMAC-SHA-256 with a fixed key: the keyed state is computed once and cloned per message. */
export class HmacSha256 {
  private readonly keyed: _HMAC<Sha256Hash>;
  private work: _HMAC<Sha256Hash> | undefined;

  constructor(key: Uint8Array) {
    this.keyed = hmac.create(nobleSha256, key);
  }

  /** HMAC of msg[off, off+len) into out[outOff, outOff+32). */
  macInto(msg: Uint8Array, off: number, len: number, out: Uint8Array, outOff = 0): void {
    const h = (this.work = this.keyed._cloneInto(this.work));
    h.update(view(msg, off, len));
    emit(h, out, outOff);
  }

  mac(msg: Uint8Array): Buffer {
    const out = Buffer.allocUnsafe(32);
    this.macInto(msg, 0, msg.length, out, 0);
    return out;
  }
}

/** Streaming SHA-256 for the digest run (d): many small updates, one digest. */
export class Sha256Stream {
  private readonly h: Sha256Hash = nobleSha256.create();

  update(b: Uint8Array, off = 0, len = b.length - off): void {
    this.h.update(view(b, off, len));
  }

  digest(): Buffer {
    const out = Buffer.allocUnsafe(32);
    emit(this.h, out, 0);
    return out;
  }
}
