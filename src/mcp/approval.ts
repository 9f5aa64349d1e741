// Approve rules: a human decides. The gateway asks an approver (supplied by whoever runs it; the
// CLI has none yet, so approve rules deny there) and waits at most the rule's timeout. approve
// never becomes allow by default: a no, a failure or silence is a deny.

import type { Decision } from '../policy/index.js';

export interface ApprovalQuestion {
  server: string;
  tool: string;
  /** The call's arguments as the agent sent them (show them to the human; do not log them). */
  args: Record<string, unknown>;
  rule: string;
  message?: string;
  timeoutMs: number;
  session: string;
}

/** Puts an approve-rule call to the approver; a no, a failure or no answer in time is a deny. */
export async function askApprover(
  approver: (q: ApprovalQuestion) => Promise<boolean>,
  server: string,
  session: string,
  tool: string,
  args: Record<string, unknown>,
  decision: Decision,
): Promise<{ approved: boolean; message: string }> {
  const timeoutMs = decision.timeoutMs ?? 300_000;
  const subject = `${server}/${tool}`;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((r) => { timer = setTimeout(() => r('timeout'), timeoutMs); });
  try {
    const q: ApprovalQuestion = { server, tool, args, rule: decision.rule, timeoutMs, session };
    if (decision.message !== undefined) q.message = decision.message;
    const answer = await Promise.race([approver(q), timeout]);
    if (answer === 'timeout') return { approved: false, message: `${subject} denied: no human answered the approval request (rule "${decision.rule}") within ${timeoutMs >= 1000 ? `${Math.round(timeoutMs / 1000)} s` : `${timeoutMs} ms`}` };
    return answer ? { approved: true, message: '' } : { approved: false, message: `${subject} denied by the human approver (rule "${decision.rule}")${decision.message ? `: ${decision.message}` : ''}` };
  } catch (e) {
    return { approved: false, message: `${subject} denied: the approval request failed (${(e as Error).message})` };
  } finally {
    clearTimeout(timer);
  }
}
