import { z } from 'zod';
import { ruleBase } from './common.js';

export const toolRuleSchema = z.strictObject({
  ...ruleBase,
  tools: z.array(z.string().min(1)).min(1).describe('In-process tool name globs.'),
});
export type ToolRule = z.infer<typeof toolRuleSchema>;
