// Builds real chains with the real writer, and verifies (mutated) copies of them.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateKeyPairFiles, loadPublicKey } from '../../../src/trust/index.js';
import { openAuditLog, readKeyFile, verifyChainFiles, type AuditEventInput, type VerifyReport } from '../../../src/audit/index.js';

export function writeHmacKey(file: string): string {
  writeFileSync(file, randomBytes(32).toString('hex') + '\n', { mode: 0o600 });
  return file;
}

export function event(i: number, extra: Partial<AuditEventInput> = {}): AuditEventInput {
  const kinds = ['file', 'exec', 'net', 'mcp'] as const;
  const kind = kinds[i % kinds.length]!;
  return {
    kind, operation: kind === 'file' ? 'read' : kind === 'exec' ? 'exec' : kind === 'net' ? 'connect' : 'tools/call',
    subject: kind === 'net' ? `host${i}.example.invalid:443` : `/work/project/f${i}.txt`,
    decision: i % 5 === 0 ? 'deny' : 'allow', rule: `rule-${i % 3}`, session: `s${i % 2}`,
    process: { pid: 1000 + i, argv: ['tool', String(i)] }, fields: { i, ok: i % 2 === 0, tag: 'é✓' }, ...extra,
  };
}

export interface Built { dir: string; file: string; keyFile: string; pubFile: string; signFile: string }

/** A closed chain of `n` events, checkpoints every `every` entries, signed with a fresh key. */
export async function buildChain(dir: string, n: number, every = 4): Promise<Built> {
  const keyFile = writeHmacKey(join(dir, 'hmac.key'));
  const k = generateKeyPairFiles(join(dir, 'signer'), { label: 'test signer' });
  const file = join(dir, 'chain.jsonl');
  const w = await openAuditLog({ file, key: { file: keyFile }, checkpoint: { signingKeyFile: k.privateFile, everyN: every, everyMs: 0 } });
  for (let i = 0; i < n; i++) await w.append(event(i));
  await w.close();
  return { dir, file, keyFile, pubFile: k.publicFile, signFile: k.privateFile };
}

export function verifyWithKey(files: string[], keyFile: string, extra: { allowOpen?: boolean } = {}): VerifyReport {
  return verifyChainFiles(files, { keys: [readKeyFile(keyFile)], explicitKeys: true, exactFiles: true, ...extra });
}

export function verifyWithPublicKey(files: string[], pubFile: string): VerifyReport {
  const pk = loadPublicKey(pubFile);
  return verifyChainFiles(files, { keys: [], publicKeys: new Map([[pk.keyId, pk.key]]), exactFiles: true });
}
