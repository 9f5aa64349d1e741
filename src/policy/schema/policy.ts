// The whole policy file. Strict at every level: an unknown key is an error naming the nearest
// valid key, never silently dropped.
import { z } from 'zod';
import { defaultDecisionSchema, durationSchema, errnoSchema } from './common.js';
import { commandRuleSchema } from './command-rules.js';
import { envPolicySchema } from './env-policy.js';
import { dataSchema, llmSchema, scheduleSchema } from './extensions.js';
import { fileRuleSchema } from './file-rules.js';
import { httpRuleSchema } from './http-rules.js';
import { mcpRuleSchema } from './mcp-rules.js';
import { connectRedirectSchema, dnsRedirectSchema, networkRuleSchema } from './network-rules.js';
import { policyTestSchema } from './policy-tests.js';
import { resourceLimitsSchema } from './resource-limits.js';
import { signalRuleSchema } from './signal-rules.js';
import { tlsInspectionSchema } from './tls-inspection.js';
import { toolRuleSchema } from './tool-rules.js';
import { unixSocketRuleSchema } from './unix-socket-rules.js';

export const defaultsSchema = z
  .strictObject({
    file: defaultDecisionSchema.optional(),
    network: defaultDecisionSchema.optional(),
    command: defaultDecisionSchema.optional(),
    unix_socket: defaultDecisionSchema.optional(),
    signal: defaultDecisionSchema.optional(),
    mcp: defaultDecisionSchema.optional(),
    tool: defaultDecisionSchema.optional(),
    http: defaultDecisionSchema.optional(),
    errno: errnoSchema.optional().describe('errno for denied syscalls when the rule names none.'),
    approval_timeout: durationSchema.optional().describe('How long approve rules wait for a human when the rule names no timeout (default 5m).'),
  })
  .describe('What an operation no rule matches gets; every absent entry is deny.');

export const policySchema = z.strictObject({
  version: z.number().int().min(1).max(1).describe('Policy format version; only 1 exists.'),
  name: z.string().min(1).max(200),
  description: z.string().optional(),
  extends: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
  defaults: defaultsSchema.optional(),
  file_rules: z.array(fileRuleSchema).optional(),
  network_rules: z.array(networkRuleSchema).optional(),
  command_rules: z.array(commandRuleSchema).optional(),
  unix_socket_rules: z.array(unixSocketRuleSchema).optional(),
  signal_rules: z.array(signalRuleSchema).optional(),
  mcp_rules: z.array(mcpRuleSchema).optional(),
  tool_rules: z.array(toolRuleSchema).optional(),
  http_rules: z.array(httpRuleSchema).optional(),
  tls_inspection: tlsInspectionSchema.optional(),
  connect_redirects: z.array(connectRedirectSchema).optional(),
  dns_redirects: z.array(dnsRedirectSchema).optional(),
  env_policy: envPolicySchema.optional(),
  resource_limits: resourceLimitsSchema.optional(),
  llm: llmSchema.optional(),
  schedule: scheduleSchema.optional(),
  data: dataSchema.optional(),
  tests: z.array(policyTestSchema).optional(),
});

export type Policy = z.infer<typeof policySchema>;
