import { z } from 'zod';
import { UNIX_SOCKET_OPS } from '../types.js';
import { ruleBase, stringList } from './common.js';

export const unixSocketRuleSchema = z.strictObject({
  ...ruleBase,
  paths: stringList.describe('Socket path globs, or `@name` globs for the abstract namespace.'),
  operations: z.array(z.enum(UNIX_SOCKET_OPS)).min(1).optional().describe('Absent means all.'),
});
export type UnixSocketRule = z.infer<typeof unixSocketRuleSchema>;
