// signal_rules: signal sets as 64-bit masks (two words); targets by class, process-name glob,
// or pid range.
import { compileGlobAny } from '../glob.js';
import type { SignalRule } from '../schema/signal-rules.js';
import { resolveSignalSpec } from '../signals.js';
import type { SignalOperation } from '../types.js';

export function compileSignalRules(rules: readonly SignalRule[]): (op: SignalOperation) => number {
  const compiled = rules.map((r) => {
    let lo = 0;
    let hi = 0;
    for (const s of r.signals) for (const n of resolveSignalSpec(s)!) {
      if (n <= 32) lo |= 1 << (n - 1);
      else hi |= 1 << (n - 33);
    }
    const t = r.target;
    const name = t.type === 'process' ? compileGlobAny(t.pattern!, '') : undefined;
    const target = (op: SignalOperation): boolean => {
      if (t.type === 'process') return op.targetName !== undefined && name!(op.targetName);
      if (t.type === 'pid_range') return op.targetPid !== undefined && op.targetPid >= t.min! && op.targetPid <= t.max!;
      return op.targets.includes(t.type);
    };
    return { lo, hi, target };
  });
  return (op) => {
    const n = op.signal;
    for (let i = 0; i < compiled.length; i++) {
      const c = compiled[i]!;
      const hit = n >= 1 && n <= 32 ? (c.lo & (1 << (n - 1))) !== 0 : n <= 64 && n >= 33 ? (c.hi & (1 << (n - 33))) !== 0 : false;
      if (hit && c.target(op)) return i;
    }
    return Infinity;
  };
}
