// Decision objects are built once per rule at compile time and returned as-is (frozen), so an
// evaluation allocates nothing unless the decision depends on the operation (redirect paths).
import type { Decision, DecisionKind } from '../types.js';

const ERRNO: Record<string, number> = { EPERM: 1, ENOENT: 2, EACCES: 13, EROFS: 30, ENETUNREACH: 101, ECONNREFUSED: 111 };

export function errnoValue(e: string | number | undefined): number | undefined {
  if (e === undefined) return undefined;
  return typeof e === 'number' ? e : ERRNO[e];
}

export interface DecisionInput {
  decision: DecisionKind;
  rule: string;
  ruleIndex: number;
  list: string;
  message?: string | undefined;
  reason: string;
  timeoutMs?: number | undefined;
  errno?: number | undefined;
  redirect?: Decision['redirect'];
}

export function makeDecision(d: DecisionInput): Decision {
  const out: Decision = { decision: d.decision, rule: d.rule, ruleIndex: d.ruleIndex, list: d.list, reason: d.reason };
  if (d.message !== undefined) out.message = d.message;
  if (d.decision === 'approve') out.timeoutMs = d.timeoutMs;
  if (d.decision === 'deny' && d.errno !== undefined) out.errno = d.errno;
  if (d.redirect !== undefined) out.redirect = d.redirect;
  return Object.freeze(out);
}

export const DEFAULT_APPROVAL_TIMEOUT_MS = 5 * 60_000;
