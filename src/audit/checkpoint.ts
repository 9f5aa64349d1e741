// Signed checkpoints: an Ed25519 signature over (chain, sequence, chain head MAC, digest d, time).
// d is computable from the file without the HMAC secret (format.ts), so a third party holding
// only the public key can check that no byte before the checkpoint changed. NOT covered: entries
// after the last checkpoint (the writer signs one at close and every N entries / T ms), and the
// deletion of a whole tail including its checkpoints (detected only when the chain was closed,
// or by comparing with a copy of an earlier checkpoint held elsewhere, e.g. the OTLP sink).
import { sign, verify, type KeyObject } from 'node:crypto';
import { canonicalJson } from '../trust/index.js';

export interface CheckpointStatement {
  alg: string;
  chain: string;
  /** Digest run value d over all entries up to and including `seq`. */
  d: string;
  /** MAC of entry `seq` (the chain head at the time). */
  head: string;
  /** Sequence number of the last entry covered. */
  seq: number;
  t: string;
}

const DOMAIN = 'cordon-audit-checkpoint/1\n';

export function checkpointMessage(s: CheckpointStatement): Buffer {
  return Buffer.from(DOMAIN + canonicalJson({ alg: s.alg, chain: s.chain, d: s.d, head: s.head, seq: s.seq, t: s.t }), 'utf8');
}

export function signCheckpoint(key: KeyObject, s: CheckpointStatement): string {
  return sign(null, checkpointMessage(s), key).toString('base64');
}

export function verifyCheckpointSignature(key: KeyObject, s: CheckpointStatement, sigB64: string): boolean {
  try {
    return verify(null, checkpointMessage(s), key, Buffer.from(sigB64, 'base64'));
  } catch {
    return false;
  }
}
