// The gateway's view of the audit trail: the `append` half of src/audit's AuditSink (structural,
// so the real sink, or a test's, plugs in). Records never carry raw arguments or results (they
// may hold secrets): argument names and a SHA-256 of their canonical JSON instead.

import { createHash } from 'node:crypto';
import type { DecisionKind } from '../policy/index.js';

export interface McpAuditEvent {
  kind: 'mcp' | 'detection';
  operation: string;
  subject: string;
  decision?: DecisionKind;
  rule?: string;
  message?: string;
  policyDigest?: string;
  session: string;
  fields?: Record<string, unknown>;
}

export interface McpAuditSink {
  /** Resolves once recorded; rejects when it cannot be, and the caller then denies. */
  append(e: McpAuditEvent): Promise<void>;
}

function canonical(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o).sort().map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`).join(',')}}`;
}

export function argsDigest(args: unknown): string {
  return createHash('sha256').update(canonical(args)).digest('hex');
}
