// Runs the `tests:` a policy carries about itself: each names an operation and the decision
// (and optionally the rule) it must get.
import type { CompiledPolicy } from './engine.js';
import { describeOperation, operationFromSpec, OperationSpecError } from './operation-spec.js';
import type { Decision } from './types.js';

export interface SelfTestResult {
  index: number;
  name: string;
  passed: boolean;
  expected: string;
  got?: Decision;
  error?: string;
}

export function runSelfTests(c: CompiledPolicy): SelfTestResult[] {
  return (c.policy.tests ?? []).map((t, index) => {
    const expected = t.rule ? `${t.expect} by rule "${t.rule}"` : t.expect;
    try {
      const op = operationFromSpec(t);
      const got = c.evaluate(op);
      const passed = got.decision === t.expect && (t.rule === undefined || got.rule === t.rule);
      return { index, name: t.name ?? describeOperation(op), passed, expected, got };
    } catch (e) {
      if (!(e instanceof OperationSpecError)) throw e;
      return { index, name: t.name ?? `tests[${index}]`, passed: false, expected, error: e.message };
    }
  });
}
