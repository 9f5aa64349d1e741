// What the gateway does with a server's answers before the agent reads them: a tools/list page
// goes through pins, poisoning and shadowing (definitions.ts); results, resources and prompts
// through the poisoning scan, and tool results feed the cross-server taint store. Every finding
// is recorded; the caller fails the answer if recording fails.

import type { JSONRPCMessage, RequestId } from '@modelcontextprotocol/sdk/types.js';
import type { McpAuditEvent } from './audit.js';
import type { CallPolicy } from './call-policy.js';
import { processTools } from './definitions.js';
import { errorMessage, RPC } from './jsonrpc.js';
import type { PinStore } from './pins.js';
import { scanPayload } from './poison.js';
import type { ToolSettings } from './rules.js';
import { textOf } from './taint.js';
import type { TaintStore } from './taint.js';

/** What the gateway remembers about a listed tool: withheld (and why) or not. */
export interface ToolState { blocked?: string }

/** A refused call, as the agent reads it: a tool result with isError and the rule's message. */
export function denial(server: string, id: RequestId, rule: string, stage: string, message: string): JSONRPCMessage {
  return {
    jsonrpc: '2.0',
    id,
    result: {
      content: [{ type: 'text', text: message }],
      isError: true,
      _meta: { 'cordon/decision': { decision: 'deny', rule, stage, server } },
    },
  } as JSONRPCMessage;
}

export class ReplyInspector {
  constructor(
    private readonly server: string,
    private readonly policy: CallPolicy,
    private readonly pins: PinStore,
    private readonly taint: TaintStore | undefined,
    private readonly record: (e: Omit<McpAuditEvent, 'session' | 'policyDigest'>) => Promise<void>,
    private readonly log: (line: string) => void,
    private readonly frozenPins: boolean,
  ) {}

  /** Runs pins, poisoning and shadowing over a page of tools; records findings. */
  async tools(tools: unknown[]): Promise<{ states: Array<[string, ToolState]>; cleaned: Array<Record<string, unknown>> }> {
    const outcome = processTools(this.server, tools, this.policy, this.pins, this.frozenPins);
    const states: Array<[string, ToolState]> = [];
    const writes: Promise<void>[] = [];
    for (const rep of outcome.reports) {
      const subject = `${this.server}/${rep.tool}`;
      if (rep.pin === 'new' || rep.pin === 'changed' || rep.pin === 'unpinned') {
        writes.push(this.record({ kind: 'mcp', operation: 'pin', subject, decision: rep.pin === 'new' ? 'allow' : 'deny', fields: { status: rep.pin, sha256: rep.sha256 } }));
      }
      for (const f of rep.findings) {
        writes.push(this.record({ kind: 'detection', operation: 'tool_definition', subject, decision: f.action === 'block' ? 'deny' : 'audit', rule: f.rule ?? f.kind, fields: { finding: f.kind, detail: f.detail, where: f.where, action: f.action } }));
      }
      for (const s of rep.shadowing) {
        writes.push(this.record({ kind: 'detection', operation: 'tool_definition', subject, decision: s.action === 'block' ? 'deny' : 'audit', rule: s.kind, fields: { finding: s.kind, detail: s.detail, otherServer: s.otherServer, otherTool: s.otherTool, action: s.action } }));
      }
      if (rep.blocked) this.log(rep.blocked);
      states.push([rep.tool, rep.blocked ? { blocked: rep.blocked } : {}]);
    }
    await Promise.all(writes);
    return { states, cleaned: outcome.tools };
  }

  /** Scans a result, resource or prompt; blocks, strips or passes it; records findings and taint. */
  async payload(reply: JSONRPCMessage, result: Record<string, unknown>, subject: string, operation: string, settings: ToolSettings, isTool: boolean): Promise<JSONRPCMessage> {
    const scanned = scanPayload(result, settings.results);
    const writes = scanned.findings.map((f) => this.record({ kind: 'detection', operation, subject, decision: f.action === 'block' ? 'deny' : 'audit', rule: f.rule ?? f.kind, fields: { finding: f.kind, detail: f.detail, where: f.where, action: f.action } }));
    await Promise.all(writes);
    if (scanned.action === 'block') {
      const what = [...new Set(scanned.findings.filter((f) => f.action === 'block').map((f) => f.detail))].slice(0, 3).join('; ');
      const message = `cordon withheld the ${isTool ? 'result' : 'content'} of ${subject}: it contains ${what}`;
      this.log(message);
      if (isTool) return denial(this.server, (reply as { id: RequestId }).id, 'scan', 'result', message);
      return errorMessage((reply as { id: RequestId }).id, RPC.INTERNAL_ERROR, message);
    }
    const value = scanned.value;
    if (this.taint && isTool) {
      const text = textOf(value).join('\n');
      if (text.length > 0) this.taint.record(text);
    }
    return value === result ? reply : ({ ...reply, result: value } as JSONRPCMessage);
  }
}
