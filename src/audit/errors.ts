// Local errors of the audit part. Each says what failed, why, and what to do; `exitCode` follows
// src/cli/exit-codes.ts so the CLI can print it as is.

export type AuditErrorCode =
  | 'invalid-event'   // the event is not valid (caller bug): the operation must be denied
  | 'write-failed'    // disk full, I/O error, closed file: the trail cannot record, deny
  | 'closed'          // append after close()
  | 'key'             // missing/unreadable/too short/loose-permission key
  | 'chain'           // existing file cannot be extended (tampered, other key, not a chain)
  | 'locked';         // another writer holds the chain

export class AuditError extends Error {
  readonly exitCode: number;
  constructor(readonly code: AuditErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AuditError';
    this.exitCode = code === 'key' || code === 'invalid-event' || code === 'chain' ? 2 : code === 'locked' ? 126 : 70;
  }
}
