// Deciding one `tools/call`: the policy engine's mcp_rules decision first, then what the
// matching rule adds (argument constraints, cross-server flow, rate limit). Pure apart from the
// clock, the filesystem reads of path canonicalisation and the taint store.
//
// Order matters: a deny from the engine wins before anything else is looked at; the rate limit
// is checked last so calls refused for another reason do not use up the budget.

import type { CompiledPolicy, Decision } from '../policy/index.js';
import { checkArgs, checkResourceUri, type ArgVerdict } from './args.js';
import { toolSettings } from './rules.js';
import type { McpRule, ToolSettings } from './rules.js';
import type { TaintStore } from './taint.js';

export type DenyStage = 'policy' | 'approval' | 'args' | 'flow' | 'rate_limit' | 'definition' | 'audit' | 'unknown_tool';

export type CallVerdict =
  | { allow: true; decision: Decision; rule: McpRule | undefined; settings: ToolSettings }
  | { allow: false; decision: Decision; rule: McpRule | undefined; settings: ToolSettings; stage: DenyStage; message: string };

export interface CallPolicyOptions {
  server: string;
  cwd: string;
  taint?: TaintStore | undefined;
  now?: () => number;
}

export class CallPolicy {
  private readonly ruleCache = new Map<string, { decision: Decision; rule: McpRule | undefined; settings: ToolSettings }>();
  private readonly windows = new Map<string, number[]>();
  private readonly now: () => number;
  /** True when some rule uses `flow:` (only then are results fingerprinted). */
  readonly usesFlow: boolean;

  constructor(private readonly compiled: CompiledPolicy, private readonly opts: CallPolicyOptions) {
    this.now = opts.now ?? Date.now;
    this.usesFlow = (compiled.policy.mcp_rules ?? []).some((r) => r.flow !== undefined);
  }

  /**
   * The rule covering a tool on this server and its settings. The engine matches on server and
   * tool name only, so this is cached per tool name.
   */
  ruleFor(tool: string): { decision: Decision; rule: McpRule | undefined; settings: ToolSettings } {
    let r = this.ruleCache.get(tool);
    if (!r) {
      const decision = this.compiled.evaluate({ kind: 'mcp', server: this.opts.server, tool });
      const rule = decision.ruleIndex >= 0 ? this.compiled.policy.mcp_rules?.[decision.ruleIndex] : undefined;
      r = { decision, rule, settings: toolSettings(rule) };
      if (this.ruleCache.size < 10_000) this.ruleCache.set(tool, r);
    }
    return r;
  }

  /** A `resources/read`: the URI's file or host decided by file_rules / network_rules. */
  decideResource(uri: string): ArgVerdict {
    return checkResourceUri(uri, { evaluate: (op) => this.compiled.evaluate(op), cwd: this.opts.cwd });
  }

  /**
   * `approved`: a human approved this very call (the gateway asked its approver after a first
   * decide() returned stage 'approval'); the rule's other checks still apply.
   */
  decide(tool: string, args: Record<string, unknown>, approved = false): CallVerdict {
    const { decision, rule, settings } = this.ruleFor(tool);
    const subject = `${this.opts.server}/${tool}`;
    const deny = (stage: DenyStage, message: string): CallVerdict => ({ allow: false, decision, rule, settings, stage, message });
    if (decision.decision === 'approve' && !approved) {
      // Without an approver attached to the gateway, approve never becomes allow: the call is
      // refused now rather than after a timeout nobody can beat.
      return deny('approval', `${subject} needs human approval (rule "${decision.rule}") and no approver is connected to this gateway, so it is denied${decision.message ? `: ${decision.message}` : ''}`);
    }
    if (decision.decision !== 'allow' && decision.decision !== 'audit' && !(decision.decision === 'approve' && approved)) {
      return deny('policy', decision.message ?? `${subject} is denied by ${decision.list} rule "${decision.rule}"`);
    }
    if (rule?.args) {
      const v = checkArgs(rule.args, args, { evaluate: (op) => this.compiled.evaluate(op), cwd: this.opts.cwd });
      if (!v.ok) return deny('args', `${subject} denied: ${v.reason}`);
    }
    if (settings.denyFlowFrom.length > 0 && this.opts.taint) {
      const from = this.opts.taint.flowFrom(args, settings.denyFlowFrom);
      if (from !== undefined) return deny('flow', `${subject} denied: its arguments carry content returned by server "${from}", and rule "${decision.rule}" forbids data flowing from it`);
    }
    if (rule?.rate_limit) {
      const key = `${decision.rule}\u0000${tool}`;
      const now = this.now();
      const w = this.windows.get(key) ?? [];
      while (w.length > 0 && w[0]! <= now - rule.rate_limit.per) w.shift();
      if (w.length >= rule.rate_limit.calls) {
        const retry = Math.max(1, Math.ceil((w[0]! + rule.rate_limit.per - now) / 1000));
        return deny('rate_limit', `${subject} denied: rate limit of ${rule.rate_limit.calls} calls per ${rule.rate_limit.per / 1000}s (rule "${decision.rule}") reached; retry in ${retry}s`);
      }
      w.push(now);
      this.windows.set(key, w);
    }
    return { allow: true, decision, rule, settings };
  }
}
