import { z } from 'zod';
import { ruleBase } from './common.js';

export const httpRuleSchema = z.strictObject({
  ...ruleBase,
  hosts: z.array(z.string().min(1)).min(1).describe('Host globs this rule applies to.'),
  methods: z.array(z.string().min(1)).optional().describe('HTTP methods (upper case); absent means any.'),
  paths: z.array(z.string().min(1)).optional().describe('URL path globs, `/` separated; absent means any.'),
});
export type HttpRule = z.infer<typeof httpRuleSchema>;
