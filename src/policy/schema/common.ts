// Fields shared by every rule list. Each list's own schema lives in its own file.
import { z } from 'zod';

export const decisionSchema = z
  .enum(['allow', 'deny', 'redirect', 'approve', 'audit', 'soft_delete'])
  .describe('What a matching operation gets.');

/** Decisions a `defaults:` entry may name: the ones that need no rule-specific target. */
export const defaultDecisionSchema = z.enum(['allow', 'deny', 'approve', 'audit']);

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A duration as agentsh writes it (`30s`, `5m`, `1h`, `250ms`), or a whole number of seconds. */
export const durationSchema = z
  .union([z.string(), z.number()])
  .transform((v, ctx) => {
    if (typeof v === 'number') {
      if (!Number.isFinite(v) || v < 0) {
        ctx.addIssue({ code: 'custom', message: `duration must be a non-negative number of seconds (got ${v})` });
        return z.NEVER;
      }
      return Math.round(v * 1000);
    }
    const m = DURATION.exec(v.trim());
    if (!m) {
      ctx.addIssue({ code: 'custom', message: `duration must look like 250ms, 30s, 5m or 1h (got "${v}")` });
      return z.NEVER;
    }
    return Math.round(Number(m[1]) * UNIT_MS[m[2] as string]!);
  })
  .describe('Milliseconds after parsing; written as 250ms, 30s, 5m, 1h or seconds.');

/** errno to return for a deny; 0 means "pretend success" (absorb). */
export const errnoSchema = z
  .union([z.enum(['EACCES', 'EPERM', 'ENOENT', 'EROFS', 'ECONNREFUSED', 'ENETUNREACH']), z.number().int().min(0).max(4095)])
  .describe('errno a denied syscall returns; default EACCES for files, EPERM for exec and signals.');

export const ruleBase = {
  name: z.string().min(1).max(200).describe('Unique within its list; shown in decisions and audit.'),
  description: z.string().optional(),
  decision: decisionSchema,
  message: z.string().max(2000).optional().describe('Shown to the agent when this rule decides.'),
  timeout: durationSchema.optional().describe('For approve: how long to wait for a human (default 5m), then deny.'),
};

export const stringList = z.array(z.string().min(1)).min(1);
