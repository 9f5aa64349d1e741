// The gateway's view of the audit trail: the `append` half of src/audit's AuditSink (structural,
// so the real sink, or a test's, plugs in). Records never carry raw arguments or results (they
// may hold secrets): argument names and a SHA-256 of their canonical JSON instead.

import { createHash } from 'node:crypto';
import type { AuditEventInput } from '../audit/index.js';
import { canonicalJson } from '../policy/index.js';

/** src/audit's event, narrowed to the kinds the gateway records. */
export type McpAuditEvent = Omit<AuditEventInput, 'kind' | 'process' | 'redacted'> & { kind: 'mcp' | 'detection' };

export interface McpAuditSink {
  /** Resolves once recorded; rejects when it cannot be, and the caller then denies. */
  append(e: McpAuditEvent): Promise<void>;
}

export function argsDigest(args: unknown): string {
  return createHash('sha256').update(canonicalJson(args)).digest('hex');
}
