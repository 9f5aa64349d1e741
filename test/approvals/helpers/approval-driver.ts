// Child process for the approval tests: asks for approval(s) described by argv[2] (JSON) and
// writes the outcome(s) to the file argv[3]. Run under a real pty, or with no terminal at all.
import { writeFileSync } from 'node:fs';
import { requestApprovalDetailed } from '../../../src/approvals/index.js';
import type { ApprovalRequest } from '../../../src/approvals/index.js';

const reqs = JSON.parse(process.argv[2]!) as ApprovalRequest[];
const out = process.argv[3]!;
const outcomes = await Promise.all(reqs.map((r) => requestApprovalDetailed(r)));
writeFileSync(out, JSON.stringify(outcomes));
