import { z } from 'zod';

export const envPolicySchema = z.strictObject({
  allow: z.array(z.string().min(1)).optional().describe('Variable-name globs passed to the command; absent means all not denied.'),
  deny: z.array(z.string().min(1)).optional().describe('Variable-name globs removed (wins over allow).'),
  max_bytes: z.number().int().positive().optional(),
  max_keys: z.number().int().positive().optional(),
  strip_secrets: z.boolean().optional().describe('Remove variables that look like credentials (default true).'),
});
export type EnvPolicy = z.infer<typeof envPolicySchema>;
