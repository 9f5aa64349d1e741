import { z } from 'zod';
import { durationSchema } from './common.js';

export const resourceLimitsSchema = z.strictObject({
  max_memory_mb: z.number().int().positive().optional(),
  memory_swap_max_mb: z.number().int().min(0).optional(),
  cpu_quota_percent: z.number().int().positive().max(100 * 1024).optional(),
  pids_max: z.number().int().positive().optional(),
  command_timeout: durationSchema.optional(),
  session_timeout: durationSchema.optional(),
  idle_timeout: durationSchema.optional(),
});
export type ResourceLimits = z.infer<typeof resourceLimitsSchema>;
