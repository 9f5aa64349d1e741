// Types of the mcp_rules entries as the policy loader produces them (schema in
// src/policy/schema/mcp-rules.ts), and the per-rule settings with their defaults applied.
import type { Policy } from '../policy/index.js';

export type McpRule = NonNullable<Policy['mcp_rules']>[number];
export type McpArgConstraint = NonNullable<McpRule['args']>[string];
export type ScanAction = 'block' | 'strip' | 'audit' | 'off';

export interface ScanSettings {
  hidden_instructions: ScanAction;
  ansi: ScanAction;
  unicode: ScanAction;
  secrets: ScanAction;
}

export interface ToolSettings {
  pin: boolean;
  shadowing: 'block' | 'audit' | 'off';
  /** Applied to tool definitions (name, description, schemas). */
  definitions: ScanSettings;
  /** Applied to tool results, resource contents and prompts. */
  results: ScanSettings;
  denyFlowFrom: readonly string[];
}

// Definitions default to block on every finding: a legitimate tool description has no reason
// to carry escapes, invisible text or credentials. Results default to stripping what can be
// stripped (the data may be legitimate, its hiding tricks are not) and blocking instructions.
const DEFINITION_DEFAULTS: ScanSettings = { hidden_instructions: 'block', ansi: 'block', unicode: 'block', secrets: 'block' };
const RESULT_DEFAULTS: ScanSettings = { hidden_instructions: 'block', ansi: 'strip', unicode: 'strip', secrets: 'strip' };

export function toolSettings(rule: McpRule | undefined): ToolSettings {
  const scan = rule?.scan ?? {};
  const merge = (d: ScanSettings): ScanSettings => ({
    hidden_instructions: scan.hidden_instructions ?? d.hidden_instructions,
    ansi: scan.ansi ?? d.ansi,
    unicode: scan.unicode ?? d.unicode,
    secrets: scan.secrets ?? d.secrets,
  });
  return {
    pin: rule?.pin ?? true,
    shadowing: rule?.shadowing ?? 'block',
    definitions: merge(DEFINITION_DEFAULTS),
    results: merge(RESULT_DEFAULTS),
    denyFlowFrom: rule?.flow?.deny_from ?? [],
  };
}
