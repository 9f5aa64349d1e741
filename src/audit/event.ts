// Validation of caller events before they enter the chain. Strict: unknown keys are errors (an
// inert field is a bug the caller should hear about), and everything must be JSON data.
import type { DecisionKind } from '../policy/index.js';
import { AuditError } from './errors.js';
import { EVENT_KINDS, type AuditEventInput } from './types.js';

// Kept here (not imported) so audit depends on policy for types only; the `satisfies` clause
// breaks the build if the policy part adds a decision this list lacks.
const DECISIONS = ['allow', 'audit', 'redirect', 'soft_delete', 'approve', 'deny'] as const satisfies readonly DecisionKind[];
type Missing = Exclude<DecisionKind, (typeof DECISIONS)[number]>;
const exhaustive: Missing extends never ? true : false = true;
void exhaustive;
const KINDS = new Set<string>(EVENT_KINDS);
const DECISION_SET = new Set<string>(DECISIONS);
const KEYS = new Set(['kind', 'operation', 'subject', 'decision', 'rule', 'message', 'policyDigest', 'session', 'process', 'fields', 'redacted']);
const PROCESS_KEYS = new Set(['pid', 'ppid', 'exe', 'argv']);

function bad(msg: string): never {
  throw new AuditError('invalid-event', `audit event rejected: ${msg}`);
}

/** Returns the payload stored as `x` of an event entry (same object when already valid). */
export function checkEvent(e: AuditEventInput): Record<string, unknown> {
  if (e === null || typeof e !== 'object') bad('not an object');
  for (const k in e) if (!KEYS.has(k)) bad(`unknown field ${JSON.stringify(k)} (known: ${[...KEYS].join(', ')})`);
  if (!KINDS.has(e.kind)) bad(`kind ${JSON.stringify(e.kind)} is not one of ${EVENT_KINDS.join(', ')}`);
  if (typeof e.operation !== 'string' || e.operation === '') bad('operation must be a non-empty string');
  if (typeof e.subject !== 'string') bad('subject must be a string');
  if (typeof e.session !== 'string' || e.session === '') bad('session must be a non-empty string');
  if (e.decision !== undefined && !DECISION_SET.has(e.decision)) bad(`decision ${JSON.stringify(e.decision)} is not one of ${DECISIONS.join(', ')}`);
  for (const k of ['rule', 'message', 'policyDigest'] as const) {
    if (e[k] !== undefined && typeof e[k] !== 'string') bad(`${k} must be a string`);
  }
  const p = e.process;
  if (p !== undefined) {
    if (p === null || typeof p !== 'object') bad('process must be an object');
    for (const k in p) if (!PROCESS_KEYS.has(k)) bad(`unknown process field ${JSON.stringify(k)}`);
    if (!Number.isInteger(p.pid)) bad('process.pid must be an integer');
    if (p.ppid !== undefined && !Number.isInteger(p.ppid)) bad('process.ppid must be an integer');
    if (p.exe !== undefined && typeof p.exe !== 'string') bad('process.exe must be a string');
    if (p.argv !== undefined && (!Array.isArray(p.argv) || p.argv.some((a) => typeof a !== 'string'))) bad('process.argv must be an array of strings');
  }
  if (e.fields !== undefined && (e.fields === null || typeof e.fields !== 'object' || Array.isArray(e.fields))) bad('fields must be an object');
  if (e.redacted !== undefined && (!Array.isArray(e.redacted) || e.redacted.some((a) => typeof a !== 'string'))) bad('redacted must be an array of strings');
  return e as unknown as Record<string, unknown>;
}
