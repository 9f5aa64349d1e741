import { z } from 'zod';
import { SIGNAL_TARGETS } from '../types.js';
import { ruleBase } from './common.js';

export const signalRuleSchema = z.strictObject({
  ...ruleBase,
  decision: z.enum(['allow', 'deny', 'audit', 'approve', 'redirect', 'absorb']),
  signals: z.array(z.union([z.string().min(1), z.number().int()])).min(1).describe('Names (SIGTERM), numbers, or groups (@fatal, @job, @reload, @ignore, @all).'),
  target: z.strictObject({
    type: z.enum([...SIGNAL_TARGETS, 'process', 'pid_range']),
    pattern: z.string().min(1).optional().describe('For type process: a glob over the target process name.'),
    min: z.number().int().min(0).optional(),
    max: z.number().int().min(0).optional(),
  }),
  redirect_to: z.union([z.string().min(1), z.number().int()]).optional().describe('For redirect: the signal sent instead.'),
});
export type SignalRule = z.infer<typeof signalRuleSchema>;
