// JSON-RPC 2.0 framing as MCP uses it: classify one parsed message, build error replies.
// The gateway validates every message from the agent itself (cheap structural checks, no
// schema library on the hot path) so that malformed input gets a JSON-RPC error naming what is
// wrong, never a silent drop or a crash.

import type { JSONRPCMessage, RequestId } from '@modelcontextprotocol/sdk/types.js';

/** Standard JSON-RPC codes, plus the server-error range MCP implementations use. */
export const RPC = {
  PARSE_ERROR: -32700,
  INVALID_REQUEST: -32600,
  METHOD_NOT_FOUND: -32601,
  INVALID_PARAMS: -32602,
  INTERNAL_ERROR: -32603,
  /** Upstream server unavailable (exited, unreachable). */
  UPSTREAM_UNAVAILABLE: -32001,
  /** Too many requests in flight or too large: try again later / smaller. */
  OVERLOADED: -32002,
  /** Message larger than the configured limit. */
  TOO_LARGE: -32003,
  /** The server did not answer within the gateway's request timeout. */
  UPSTREAM_TIMEOUT: -32004,
  /** The policy refused the request (resources/read of a denied file or host). */
  POLICY_DENIED: -32005,
} as const;

export type Classified =
  | { type: 'request'; id: RequestId; method: string; params: Record<string, unknown> | undefined }
  | { type: 'notification'; method: string; params: Record<string, unknown> | undefined }
  | { type: 'response'; id: RequestId }
  | { type: 'invalid'; id: RequestId | null; code: number; message: string };

function isId(v: unknown): v is RequestId {
  return (typeof v === 'string') || (typeof v === 'number' && Number.isFinite(v));
}

/** Classifies a parsed JSON value received from a peer. */
export function classify(m: unknown): Classified {
  if (Array.isArray(m)) {
    return { type: 'invalid', id: null, code: RPC.INVALID_REQUEST, message: 'JSON-RPC batches are not supported by MCP (protocol 2025-06-18 and later); send one message per line' };
  }
  if (m === null || typeof m !== 'object') {
    return { type: 'invalid', id: null, code: RPC.INVALID_REQUEST, message: 'a JSON-RPC message must be a JSON object' };
  }
  const o = m as Record<string, unknown>;
  const id = isId(o.id) ? o.id : null;
  if (o.jsonrpc !== '2.0') {
    return { type: 'invalid', id, code: RPC.INVALID_REQUEST, message: 'missing or wrong "jsonrpc" member (must be "2.0")' };
  }
  if ('method' in o) {
    if (typeof o.method !== 'string' || o.method.length === 0) {
      return { type: 'invalid', id, code: RPC.INVALID_REQUEST, message: '"method" must be a non-empty string' };
    }
    if (o.params !== undefined && (o.params === null || typeof o.params !== 'object' || Array.isArray(o.params))) {
      return { type: 'invalid', id, code: RPC.INVALID_REQUEST, message: 'MCP "params" must be an object when present' };
    }
    const params = o.params as Record<string, unknown> | undefined;
    if (!('id' in o)) return { type: 'notification', method: o.method, params };
    if (!isId(o.id)) {
      return { type: 'invalid', id: null, code: RPC.INVALID_REQUEST, message: 'request "id" must be a string or a number (not null)' };
    }
    return { type: 'request', id: o.id, method: o.method, params };
  }
  if ('result' in o || 'error' in o) {
    if (!isId(o.id)) return { type: 'invalid', id: null, code: RPC.INVALID_REQUEST, message: 'response "id" must be a string or a number' };
    if ('error' in o && (o.error === null || typeof o.error !== 'object')) {
      return { type: 'invalid', id: o.id, code: RPC.INVALID_REQUEST, message: 'response "error" must be an object' };
    }
    return { type: 'response', id: o.id };
  }
  return { type: 'invalid', id, code: RPC.INVALID_REQUEST, message: 'not a request, notification or response (no "method", "result" or "error")' };
}

export function errorMessage(id: RequestId | null, code: number, message: string, data?: unknown): JSONRPCMessage {
  const error: { code: number; message: string; data?: unknown } = { code, message };
  if (data !== undefined) error.data = data;
  // id null is valid JSON-RPC for errors about unidentifiable requests; the SDK type wants an id.
  return { jsonrpc: '2.0', id: id as RequestId, error } as JSONRPCMessage;
}

/** A key for a request id that keeps 1 and "1" apart. */
export function idKey(id: RequestId): string {
  return typeof id === 'number' ? `n${id}` : `s${id}`;
}
