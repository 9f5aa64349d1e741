// The approvals part's public surface, pinned: a change here is a deliberate API change.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as approvals from '../../src/approvals/index.js';

test('src/approvals/index.ts exports exactly the broker API', () => {
  assert.deepEqual(Object.keys(approvals).sort(), ['requestApproval', 'requestApprovalDetailed', 'terminalSafe']);
});
