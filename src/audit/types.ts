// The audit event model: one shape for every enforcement point (kernel supervisor, MCP gateway,
// egress proxy, LLM proxy, SDK guards, approvals). Documented field by field in docs/audit.md.
import type { DecisionKind } from '../policy/index.js';

export const EVENT_KINDS = [
  'file', 'exec', 'net', 'unix_socket', 'signal', 'mcp', 'tool', 'http', 'llm', 'session', 'approval', 'detection',
] as const;
export type AuditEventKind = (typeof EVENT_KINDS)[number];

export interface AuditProcess {
  pid: number;
  ppid?: number;
  exe?: string;
  argv?: string[];
}

/** What a caller records. The writer adds sequence number, time, chain link and MAC. */
export interface AuditEventInput {
  kind: AuditEventKind;
  /** What was attempted, in the kind's vocabulary (`read`, `connect`, `tools/call`, ...). */
  operation: string;
  /** The object acted on: canonical path, `host:port`, `server/tool`, session id, ... */
  subject: string;
  decision?: DecisionKind;
  /** Name of the rule that decided (or `defaults.<kind>`). */
  rule?: string;
  message?: string;
  /** hex SHA-256 of the resolved policy that decided (CompiledPolicy.digest). */
  policyDigest?: string;
  session: string;
  process?: AuditProcess;
  /** Kind-specific detail (ports, byte counts, usage, approver...). Must be JSON data. */
  fields?: Record<string, unknown>;
  /** Names (JSON pointers or field names) of values the caller redacted before recording. */
  redacted?: string[];
}

/**
 * A durable, fail-closed audit trail. `append` resolves only once the entry has reached the
 * disk (fdatasync, shared by every entry of the same batch: group commit). It REJECTS on any
 * failure (invalid event, write error, disk full, writer closed): the caller must then deny the
 * operation it was about to allow, because it cannot be recorded.
 */
export interface AuditSink {
  append(e: AuditEventInput): Promise<void>;
  /** Resolves when everything appended so far is durable. */
  flush(): Promise<void>;
  /** Flushes, writes a `close` entry (marks the chain as not truncated) and releases the file. */
  close(): Promise<void>;
  readonly path: string;
}

export type HashAlgorithm = 'sha256' | 'sha512';

export interface AuditKeySpec {
  /** File holding the HMAC key (hex, base64 or raw bytes; at least 32 bytes). Must be mode 0600. */
  file?: string;
  /** Name of an environment variable holding the key (hex or base64). */
  env?: string;
}

export interface OpenAuditLogOptions {
  /** The active JSONL chain file. Created (with its directory) if missing; resumed if present. */
  file: string;
  /** HMAC key; default: the per-user key in the state dir (created on first use, mode 0600). */
  key?: AuditKeySpec;
  /** Hash for the MAC chain; default sha256. Fixed for a chain at its genesis entry. */
  algorithm?: HashAlgorithm;
  /** Ed25519-signed checkpoints: every N entries (default 1000) and/or every T ms (default 10 s). */
  checkpoint?: { signingKeyFile: string; everyN?: number; everyMs?: number };
  /** Rotate the JSONL file when it would exceed this many bytes (default: never). */
  rotateBytes?: number;
  /** Receivers of committed entries (SQLite index, OTLP export). Called after the fsync. */
  forwarders?: AuditForwarder[];
  /**
   * Hash, MAC and write on a worker thread (default false): frees the caller's thread and uses a
   * second core. Same format and guarantees; AuditWriter-only internals are not reachable.
   */
  thread?: boolean;
}

/** A committed entry as forwarders and readers see it. */
export interface AuditEntry {
  /** Entry type: genesis, event, checkpoint, rotate, segment, resume, close. */
  k: EntryType;
  seq: number;
  /** ISO-8601 time the writer recorded the entry. */
  t: string;
  prev: string;
  v: number;
  x: Record<string, unknown>;
  mac: string;
}

export type EntryType = 'genesis' | 'event' | 'checkpoint' | 'rotate' | 'segment' | 'resume' | 'close';

export interface AuditForwarder {
  /** Committed entries with the chain they belong to; must not throw (errors are its own). */
  write(entries: readonly AuditEntry[], chain: string): void | Promise<void>;
  close(): Promise<void>;
}
