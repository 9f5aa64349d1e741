// Sections whose enforcement arrives with their own parts (LLM proxy, schedules, data
// protection). Their shape is validated now so policies can be written against it, but the
// loader refuses a policy that uses them until an enforcement point exists: accepting a field
// nobody enforces would be a silent downgrade.
import { z } from 'zod';
import { defaultDecisionSchema, durationSchema } from './common.js';

export const llmSchema = z.strictObject({
  providers: z
    .array(z.strictObject({ name: z.string().min(1), base_url: z.string().url(), models: z.array(z.string()).optional() }))
    .optional(),
  budgets: z
    .array(z.strictObject({ name: z.string().min(1), period: z.enum(['session', 'hour', 'day', 'month']), max_usd: z.number().positive() }))
    .optional(),
  rate_limits: z.array(z.strictObject({ name: z.string().min(1), requests: z.number().int().positive(), per: durationSchema })).optional(),
});

export const scheduleSchema = z.strictObject({
  timezone: z.string().min(1).optional(),
  windows: z
    .array(
      z.strictObject({
        days: z.array(z.enum(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'])).min(1),
        start: z.string().regex(/^\d{2}:\d{2}$/),
        end: z.string().regex(/^\d{2}:\d{2}$/),
      }),
    )
    .min(1),
  outside: defaultDecisionSchema.describe('What every operation gets outside the windows.'),
});

export const dataSchema = z.strictObject({
  redact: z
    .array(z.strictObject({ detector: z.string().min(1), action: z.enum(['redact', 'block', 'audit']) }))
    .optional(),
});

/** Sections recognised but not yet enforced by any part; a policy using them is refused. */
export const UNENFORCED_SECTIONS = ['llm', 'schedule', 'data'] as const;
