import { z } from 'zod';
import { errnoSchema, ruleBase, stringList } from './common.js';

export const commandRuleSchema = z.strictObject({
  ...ruleBase,
  commands: stringList.describe('Full path, path glob, basename, or basename glob of the executed image.'),
  args_patterns: z.array(z.string().min(1)).optional().describe('Regexes; one must match the arguments joined by spaces.'),
  context: z
    .strictObject({
      min_depth: z.number().int().min(0).optional(),
      max_depth: z.number().int().min(0).optional(),
    })
    .optional()
    .describe('Process depth: 0 is the command Cordon started, 1 its children, ...'),
  redirect_to: z
    .strictObject({
      command: z.string().min(1),
      args: z.array(z.string()).optional().describe('Prepended arguments.'),
      args_append: z.array(z.string()).optional(),
      environment: z.record(z.string(), z.string()).optional(),
    })
    .optional(),
  errno: errnoSchema.optional(),
});
export type CommandRule = z.infer<typeof commandRuleSchema>;
