// Approval broker: a human decides `approve` operations; anything but an explicit yes denies.
export { requestApproval, requestApprovalDetailed } from './broker.js';
export { terminalSafe } from './sanitize.js';
export type {
  ApprovalRequest, ApprovalDecision, ApprovalReason, ApprovalOutcome, ApprovalBrokerOptions,
} from './types.js';
