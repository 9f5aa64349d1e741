// `mcp_rules`: what an agent may call through an MCP server. The policy engine matches
// `server` and `tools` (first match wins) and returns the decision; everything else on a rule
// is carried out by the MCP gateway (src/mcp/) for the calls, tool definitions and results the
// rule covers: argument constraints (path and URL arguments re-checked against file_rules and
// network_rules), rate limits, definition pinning, poisoning scans, shadowing and cross-server
// data flow. For a tool definition, "the rule that covers it" is the rule a call to that tool
// would match.
import { z } from 'zod';
import { durationSchema, ruleBase } from './common.js';

const fileOpSchema = z.enum(['read', 'write', 'create', 'delete', 'list', 'stat', 'exec', 'mkdir', 'rename']);

export const mcpArgConstraintSchema = z
  .strictObject({
    type: z.enum(['string', 'number', 'integer', 'boolean', 'array', 'object', 'null']).optional()
      .describe('JSON type the argument must have (arrays: the type of the array itself).'),
    required: z.boolean().optional().describe('The argument must be present (default false).'),
    enum: z.array(z.union([z.string(), z.number(), z.boolean()])).min(1).optional()
      .describe('Allowed values (each array element for arrays).'),
    min_length: z.number().int().min(0).optional().describe('Minimum string length (each element for arrays).'),
    max_length: z.number().int().min(0).optional().describe('Maximum string length (each element for arrays).'),
    minimum: z.number().optional(),
    maximum: z.number().optional(),
    max_items: z.number().int().min(0).optional().describe('Maximum array length.'),
    glob: z.array(z.string().min(1)).min(1).optional()
      .describe('String value (each element for arrays) must match one of these globs (`*` matches anything).'),
    not_glob: z.array(z.string().min(1)).min(1).optional()
      .describe('String value (each element for arrays) must match none of these globs.'),
    path: fileOpSchema.optional()
      .describe('The value is a file path the tool will act on with this operation: it is canonicalised (relative to the gateway working directory, `~` expanded, symlinks resolved) and checked against file_rules.'),
    url: z.boolean().optional()
      .describe('The value is a URL the tool will fetch: its host and port are checked against network_rules.'),
  })
  .describe('JSON-schema style limits on one argument.');
export type McpArgConstraint = z.infer<typeof mcpArgConstraintSchema>;

export const scanActionSchema = z.enum(['block', 'strip', 'audit', 'off'])
  .describe('block: the definition is withheld / the result replaced by an error; strip: the offending part removed (secrets redacted); audit: passed on and recorded; off: not scanned.');

export const mcpScanSchema = z
  .strictObject({
    hidden_instructions: scanActionSchema.optional().describe('Default block. strip replaces the whole text with a notice.'),
    ansi: scanActionSchema.optional().describe('Default: block in definitions, strip in results.'),
    unicode: scanActionSchema.optional().describe('Invisible, bidi and tag characters. Default: block in definitions, strip in results.'),
    secrets: scanActionSchema.optional().describe('Default: block in definitions, strip (redact) in results.'),
  })
  .describe('What to do with poisoning findings in tool definitions, tool results and resource contents.');

export const mcpRuleSchema = z
  .strictObject({
    ...ruleBase,
    server: z.string().min(1).optional().describe('Server name glob; absent means any server.'),
    tools: z.array(z.string().min(1)).min(1).describe('Tool name globs.'),
    args: z.record(z.string().min(1), mcpArgConstraintSchema).optional()
      .describe('Constraints per top-level argument name; a call violating one is denied.'),
    rate_limit: z.strictObject({
      calls: z.number().int().min(1).describe('Calls allowed per window, per server and tool.'),
      per: durationSchema.describe('Sliding window length.'),
    }).optional().describe('Calls beyond the limit are denied until the window frees up.'),
    pin: z.boolean().optional()
      .describe('Pin tool definitions by hash on first sight and withhold changed ones until `cordon mcp pins trust` (default true).'),
    scan: mcpScanSchema.optional(),
    shadowing: z.enum(['block', 'audit', 'off']).optional()
      .describe('Tool names colliding (or nearly) with another server\'s tools, and descriptions naming another server\'s tools (default block).'),
    flow: z.strictObject({
      deny_from: z.array(z.string().min(1)).min(1)
        .describe('Server name globs: a call whose arguments carry content returned by one of these servers is denied.'),
    }).optional().describe('Cross-server data flow, by content fingerprint.'),
  })
  .superRefine((r, ctx) => {
    // Fields that only act on calls that go ahead are inert on a deny rule: reject, don't ignore.
    if (r.decision === 'deny') {
      for (const k of ['args', 'rate_limit', 'flow'] as const) {
        if (r[k] !== undefined) ctx.addIssue({ code: 'custom', path: [k], message: `${k} has no effect on a rule whose decision is deny (the call is refused anyway); remove it or change the decision` });
      }
    }
    for (const [name, c] of Object.entries(r.args ?? {})) {
      if (c.min_length !== undefined && c.max_length !== undefined && c.min_length > c.max_length) {
        ctx.addIssue({ code: 'custom', path: ['args', name, 'min_length'], message: `min_length ${c.min_length} is greater than max_length ${c.max_length}: no value could pass` });
      }
      if (c.minimum !== undefined && c.maximum !== undefined && c.minimum > c.maximum) {
        ctx.addIssue({ code: 'custom', path: ['args', name, 'minimum'], message: `minimum ${c.minimum} is greater than maximum ${c.maximum}: no value could pass` });
      }
      if ((c.path !== undefined || c.url) && c.type !== undefined && c.type !== 'string' && c.type !== 'array') {
        ctx.addIssue({ code: 'custom', path: ['args', name, 'type'], message: `a ${c.path !== undefined ? 'path' : 'url'} argument holds a string or an array of strings (got type: ${c.type})` });
      }
      if (c.path !== undefined && c.url) {
        ctx.addIssue({ code: 'custom', path: ['args', name, 'url'], message: 'an argument is either a path or a URL, not both' });
      }
    }
  });
export type McpRule = z.infer<typeof mcpRuleSchema>;
