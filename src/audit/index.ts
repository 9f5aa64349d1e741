// Public surface of the audit part: the event model, the durable fail-closed chain writer,
// verification, and the sinks built on committed entries (SQLite index, OTLP, session report).
import { AuditWriter } from './writer.js';
import { ThreadedAuditWriter } from './threaded.js';
import type { AuditKeySpec, AuditSink, OpenAuditLogOptions } from './types.js';

export type {
  AuditEventInput, AuditEventKind, AuditProcess, AuditSink, AuditKeySpec, OpenAuditLogOptions, AuditEntry, AuditForwarder,
  EntryType, HashAlgorithm,
} from './types.js';
export { EVENT_KINDS } from './types.js';
export { AuditError, type AuditErrorCode } from './errors.js';

// Writing.
export { AuditWriter, rotatedName } from './writer.js';
export { ThreadedAuditWriter } from './threaded.js';
export { stateDir, defaultKeyFile, keyArchiveDir, keyFingerprint, readKeyFile, readKeyEnv, defaultVerifierKeys, type LoadedKey } from './key.js';

/**
 * Opens (creating or resuming) an audit chain. Resolves once the genesis or resume entry is on
 * disk. Rejects if the key is unusable, another writer holds the file, or the existing file
 * does not verify with this key (a writer never extends a chain it cannot verify).
 */
export function openAuditLog(opts: OpenAuditLogOptions & { thread?: false }): Promise<AuditWriter>;
export function openAuditLog(opts: OpenAuditLogOptions): Promise<AuditLog>;
export function openAuditLog(opts: OpenAuditLogOptions): Promise<AuditLog> {
  return opts.thread ? ThreadedAuditWriter.open(opts) : AuditWriter.open(opts);
}

/** What either writer offers beyond AuditSink. */
export interface AuditLog extends AuditSink {
  readonly chain: string;
  readonly keyFingerprint: string;
  readonly nextSeq: number;
  rotateKey(key: AuditKeySpec): Promise<void>;
}

// Reading and verifying.
export { scanLines, MAX_LINE_BYTES, type LineSink } from './scan.js';
export { verifyChainFiles, verifyChainFilesParallel, expandRotated, type VerifyOptions, type VerifyReport, type ChainStatus } from './verify.js';
export type { BadEntry, Verdict } from './chain-check.js';

// Sinks and reports.
export { AuditIndex, sqliteForwarder, parseTime, hostOf, type IndexedEvent, type QueryFilter } from './sqlite-index.js';
export { buildSessionReport, formatSessionReport, type SessionReport } from './report.js';
export { otlpForwarder, type OtlpOptions, type OtlpForwarder } from './otlp.js';
