// What a caller asks a human, and what came back. `approve` never becomes allow by default:
// every outcome other than an explicit "yes" from a human is a deny.

export interface ApprovalRequest {
  /** One line saying what the agent is trying to do (`exec /usr/bin/rm -rf build`). */
  summary: string;
  /** The policy rule that asked for approval. */
  rule: string;
  /** The rule's message, if any. */
  message?: string | undefined;
  /** How long to wait for an answer before denying, in milliseconds. */
  timeoutMs: number;
}

export type ApprovalDecision = 'allow' | 'deny';

export type ApprovalReason =
  | 'approved'        // a human said yes
  | 'denied_by_user'  // a human said no (or anything but yes)
  | 'timeout'         // nobody answered in time (including: no approver reachable)
  | 'eof'             // the terminal closed or sent end-of-file
  | 'error';          // anything failed: the request was invalid or the channel broke

export interface ApprovalOutcome {
  decision: ApprovalDecision;
  reason: ApprovalReason;
  /** Which channel answered (`tty`), when one did. */
  channel?: 'tty';
  elapsedMs: number;
  /** A human-readable detail for the audit trail (never contains the answer's raw bytes). */
  detail: string;
}

export interface ApprovalBrokerOptions {
  /** Terminal to prompt on. Default `/dev/tty` (the controlling terminal, not stdin, which the
   * sandboxed command owns); `null` disables the TTY channel. */
  ttyPath?: string | null;
  /** Lines completed sooner than this after the prompt appeared are ignored as typeahead. Default 150 ms. */
  typeaheadGuardMs?: number;
}
