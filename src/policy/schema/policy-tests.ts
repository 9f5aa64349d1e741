import { z } from 'zod';
import { DECISIONS } from '../types.js';

/** A check the policy carries about itself: an operation and the decision it must get. */
export const policyTestSchema = z.strictObject({
  name: z.string().min(1).optional(),
  op: z
    .string()
    .regex(/^(file:[a-z*]+|net:connect|exec|unix:(connect|bind|listen|sendto)|signal|mcp:call|tool:call|http:request)$/, 'op must be one of file:<operation>, net:connect, exec, unix:<operation>, signal, mcp:call, tool:call, http:request'),
  path: z.string().optional(),
  host: z.string().optional(),
  ip: z.string().optional(),
  port: z.number().int().min(0).max(65535).optional(),
  protocol: z.enum(['tcp', 'udp']).optional(),
  argv: z.array(z.string()).min(1).optional(),
  depth: z.number().int().min(0).optional(),
  signal: z.union([z.string(), z.number().int()]).optional(),
  target: z.string().optional(),
  server: z.string().optional(),
  tool: z.string().optional(),
  method: z.string().optional(),
  expect: z.enum(DECISIONS),
  rule: z.string().optional().describe('When given, the deciding rule must be this one.'),
});
export type PolicyTest = z.infer<typeof policyTestSchema>;
