import { z } from 'zod';
import { FILE_OPS } from '../types.js';
import { errnoSchema, ruleBase, stringList } from './common.js';

export const fileOpSchema = z.enum([...FILE_OPS, '*']);

export const fileRuleSchema = z.strictObject({
  ...ruleBase,
  paths: stringList.describe('Absolute path globs: `*` one segment, `**` any depth, `?`, `[a-z]`, `{a,b}`; or starting with `**/`.'),
  operations: z.array(fileOpSchema).min(1).optional().describe('Operations this rule covers; absent means all (`*`).'),
  redirect_to: z.string().min(1).optional().describe('For redirect: the directory (or file) opened instead.'),
  preserve_tree: z.boolean().optional().describe('For redirect to a directory: keep the path below the matched prefix.'),
  errno: errnoSchema.optional(),
});
export type FileRule = z.infer<typeof fileRuleSchema>;
