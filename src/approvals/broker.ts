// The approval broker: one entry point for every `approve` decision. It asks the approvers it
// can reach (today: the controlling terminal) and returns 'allow' only on an explicit yes.
// No approver, a timeout, EOF, an invalid request or any error: 'deny'. With no approver
// reachable it still waits out the timeout (an approver on another channel could answer;
// returning at once would also let an agent probe for an unattended session).
//
// Prompts on one terminal are serialised: concurrent requests queue, each keeping its own
// deadline counted from when it was asked (a request whose deadline passes in the queue is
// denied without being shown).
import { promptOnTty } from './tty-prompt.js';
import type { ApprovalBrokerOptions, ApprovalDecision, ApprovalOutcome, ApprovalRequest } from './types.js';

const MAX_TIMEOUT_MS = 24 * 3600 * 1000;
const queues = new Map<string, Promise<unknown>>();

function sleepUntil(deadline: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.max(0, deadline - Date.now())));
}

export async function requestApprovalDetailed(req: ApprovalRequest, opts: ApprovalBrokerOptions = {}): Promise<ApprovalOutcome> {
  const t0 = Date.now();
  try {
    if (typeof req?.timeoutMs !== 'number' || !Number.isFinite(req.timeoutMs) || req.timeoutMs <= 0) {
      return { decision: 'deny', reason: 'error', elapsedMs: 0, detail: `invalid approval timeout (${String(req?.timeoutMs)})` };
    }
    const deadline = t0 + Math.min(req.timeoutMs, MAX_TIMEOUT_MS);
    const ttyPath = opts.ttyPath === undefined ? '/dev/tty' : opts.ttyPath;
    let unavailable = 'no approval channel configured';
    if (ttyPath !== null) {
      const prev = queues.get(ttyPath) ?? Promise.resolve();
      const mine = prev.then(() => promptOnTty(req, deadline, { ttyPath, typeaheadGuardMs: opts.typeaheadGuardMs ?? 150 }));
      const tail = mine.catch(() => undefined);
      queues.set(ttyPath, tail);
      void tail.then(() => { if (queues.get(ttyPath) === tail) queues.delete(ttyPath); });
      const r = await mine;
      if (typeof r !== 'string') return { ...r, elapsedMs: Date.now() - t0 };
      unavailable = r;
    }
    await sleepUntil(deadline);
    return { decision: 'deny', reason: 'timeout', elapsedMs: Date.now() - t0, detail: `no approver reachable (${unavailable}); denied after the timeout` };
  } catch (e) {
    return { decision: 'deny', reason: 'error', elapsedMs: Date.now() - t0, detail: `approval failed: ${(e as Error)?.message ?? String(e)}` };
  }
}

/** 'allow' only when a human explicitly said yes in time; otherwise 'deny'. Never rejects. */
export async function requestApproval(req: ApprovalRequest, opts: ApprovalBrokerOptions = {}): Promise<ApprovalDecision> {
  return (await requestApprovalDetailed(req, opts)).decision;
}
