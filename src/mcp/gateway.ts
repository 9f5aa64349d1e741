// The MCP gateway core: sits between one agent-side transport and one upstream-server transport
// (both the SDK's Transport interface, so stdio and Streamable HTTP share all of this) and
// relays JSON-RPC messages, deciding `tools/call` before the server sees it and inspecting what
// the server says (tool lists, results, resources, prompts) before the agent sees it.
//
// Ids: every request the agent sends is given a fresh upstream id (and mapped back on the
// answer), so agent ids may be anything, arrive in any order, and never collide with requests
// the gateway itself sends upstream (tool-list verification). A request id already in flight is
// refused. Server-to-client requests (sampling, elicitation, roots) and their answers pass
// through untouched.
//
// Fail closed: a call is forwarded only after the policy allowed it and, when an audit sink is
// configured, the decision was recorded. If the upstream dies, every request in flight is
// answered with an UPSTREAM_UNAVAILABLE error and later ones are refused.

import { randomUUID } from 'node:crypto';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage, RequestId } from '@modelcontextprotocol/sdk/types.js';
import type { CompiledPolicy } from '../policy/index.js';
import { argsDigest } from './audit.js';
import type { McpAuditEvent, McpAuditSink } from './audit.js';
import { CallPolicy } from './call-policy.js';
import type { CallVerdict } from './call-policy.js';
import { classify, errorMessage, idKey, RPC } from './jsonrpc.js';
import { askApprover } from './approval.js';
import type { ApprovalQuestion } from './approval.js';
import { denial, ReplyInspector } from './inspect.js';
import type { ToolState } from './inspect.js';
import { PinStore } from './pins.js';
import type { ToolSettings } from './rules.js';
import { TaintStore } from './taint.js';

export interface GatewayOptions {
  /** The server's name in mcp_rules (`server:` globs); chosen by the user, never by the server. */
  server: string;
  policy: CompiledPolicy;
  /** Directory for pins and taint fingerprints. */
  stateDir: string;
  /** This server's pin file, if not `<stateDir>/pins/<server>.json` (e.g. one reviewed in a repository). */
  pinFile?: string | undefined;
  /** No trust on first use: tools missing from the pin file are withheld until trusted. */
  frozenPins?: boolean | undefined;
  /** Working directory relative path arguments resolve against (the server's). */
  cwd?: string;
  audit?: McpAuditSink | undefined;
  /** Session id for audit records (default: random). */
  session?: string;
  /** Requests in flight per agent connection before new ones are refused (default 128). */
  maxInFlight?: number;
  /** Answer a request the server has not answered within this many ms with an error (default: never). */
  requestTimeoutMs?: number;
  /**
   * Asks a human about calls an `approve` rule matches. Resolves true to approve. No answer
   * within the rule's timeout (or a rejection) is a deny. Absent: approve rules deny at once.
   */
  approver?: ((q: ApprovalQuestion) => Promise<boolean>) | undefined;
  /** Diagnostics (stderr in the CLI). */
  log?: (line: string) => void;
}

type Pending =
  | { kind: 'agent'; agentId: RequestId; method: string; tool?: string; settings?: ToolSettings; progressToken?: string | number; cursor?: unknown; timer?: NodeJS.Timeout }
  | { kind: 'internal'; resolve: (m: JSONRPCMessage) => void; reject: (e: Error) => void };


const OK_RESULT_METHODS = new Set(['resources/read', 'prompts/get']);

export class Gateway {
  readonly session: string;
  private readonly policy: CallPolicy;
  private readonly pins: PinStore;
  private readonly taint: TaintStore | undefined;
  private readonly inspector: ReplyInspector;
  private readonly pending = new Map<number, Pending>();
  /** Agent request id key → upstream id, or a negative ticket while the gateway is still deciding. */
  private readonly agentIds = new Map<string, number>();
  private readonly progress = new Map<string, RequestId>();
  private nextId = 1;
  private nextTicket = 1;
  private tools = new Map<string, ToolState>();
  private toolsFresh = false;
  private listing: Promise<void> | undefined;
  private upstreamAlive = true;
  private upstreamExit = '';
  private readonly maxInFlight: number;
  private closing = false;
  private resolveClosed!: () => void;
  /** Resolves when both sides are closed. */
  readonly closed: Promise<void>;

  constructor(private readonly agent: Transport, private readonly upstream: Transport, private readonly opts: GatewayOptions) {
    this.session = opts.session ?? randomUUID();
    this.pins = new PinStore(opts.stateDir, opts.pinFile ? { files: { [opts.server]: opts.pinFile } } : {});
    this.maxInFlight = opts.maxInFlight ?? 128;
    const probe = new CallPolicy(opts.policy, { server: opts.server, cwd: opts.cwd ?? process.cwd() });
    this.taint = probe.usesFlow ? new TaintStore(opts.stateDir, opts.server) : undefined;
    this.policy = new CallPolicy(opts.policy, { server: opts.server, cwd: opts.cwd ?? process.cwd(), taint: this.taint });
    this.inspector = new ReplyInspector(opts.server, this.policy, this.pins, this.taint, (e) => this.record(e), (l) => this.log(l), opts.frozenPins ?? false);
    this.closed = new Promise((r) => { this.resolveClosed = r; });
  }

  /** Wires both transports and starts them (upstream first, so a failed spawn is reported before the agent waits). */
  async start(): Promise<void> {
    this.upstream.onmessage = (m) => this.fromUpstream(m);
    this.upstream.onclose = () => this.upstreamClosed();
    this.upstream.onerror = (e) => { if (!this.closing) this.log(`upstream error: ${e.message}`); };
    this.agent.onmessage = (m) => this.fromAgent(m);
    this.agent.onclose = () => void this.agentClosed();
    this.agent.onerror = (e) => this.log(`agent connection error: ${e.message}`);
    await this.upstream.start();
    await this.agent.start();
  }

  /** Requests awaiting an answer (or a decision). */
  get inFlight(): number {
    return this.agentIds.size;
  }

  /** Called when the upstream exited, with how (for the error the agent reads). */
  setUpstreamExit(how: string): void {
    this.upstreamExit = how;
  }

  private log(line: string): void {
    this.opts.log?.(`cordon mcp [${this.opts.server}]: ${line}`);
  }

  private async record(e: Omit<McpAuditEvent, 'session' | 'policyDigest'>): Promise<void> {
    if (!this.opts.audit) return;
    await this.opts.audit.append({ ...e, session: this.session, policyDigest: this.opts.policy.digest });
  }

  /** Records a malformed message the agent transport rejected. */
  noteMalformed(code: number, message: string): void {
    this.record({ kind: 'mcp', operation: 'malformed', subject: this.opts.server, decision: 'deny', fields: { code, message } })
      .catch((e) => this.log(`audit write failed: ${(e as Error).message}`));
  }

  // ---- agent → upstream --------------------------------------------------------------------

  private fromAgent(msg: JSONRPCMessage): void {
    const c = classify(msg);
    if (c.type === 'invalid') {
      void this.agent.send(errorMessage(c.id, c.code, `invalid request: ${c.message}`));
      this.noteMalformed(c.code, c.message);
      return;
    }
    if (c.type === 'response') {
      // An answer to a server-initiated request: ids are the server's own, pass through.
      this.sendUpstream(msg);
      return;
    }
    if (c.type === 'notification') {
      if (c.method === 'notifications/cancelled' && c.params) {
        const rid = c.params.requestId;
        const up = (typeof rid === 'string' || typeof rid === 'number') ? this.agentIds.get(idKey(rid)) : undefined;
        if (up === undefined) return;
        if (up < 0) { this.agentIds.delete(idKey(rid as RequestId)); return; } // still being decided: it will not be forwarded
        // The agent expects no answer now, and the server may send none: free the slot (a late
        // answer is dropped as unknown) so cancelled requests never count against the limit.
        this.forget(up);
        this.sendUpstream({ ...msg, params: { ...c.params, requestId: up } } as JSONRPCMessage);
        return;
      }
      this.sendUpstream(msg);
      return;
    }
    const key = idKey(c.id);
    if (this.agentIds.has(key)) {
      void this.agent.send(errorMessage(c.id, RPC.INVALID_REQUEST, `request id ${JSON.stringify(c.id)} is already in use by a request in flight; ids must be unique among requests awaiting an answer`));
      return;
    }
    if (!this.upstreamAlive) {
      void this.agent.send(errorMessage(c.id, RPC.UPSTREAM_UNAVAILABLE, this.upstreamGoneMessage()));
      return;
    }
    if (this.agentIds.size >= this.maxInFlight) {
      void this.agent.send(errorMessage(c.id, RPC.OVERLOADED, `too many requests in flight (limit ${this.maxInFlight}); wait for answers before sending more`));
      return;
    }
    if (c.method === 'tools/call') {
      // While a call is being decided its id maps to a unique negative ticket, so a cancel (or
      // the id's reuse after a cancel) is told apart from the request being decided.
      const ticket = -(this.nextTicket++);
      this.agentIds.set(key, ticket);
      this.handleCall(c.id, key, ticket, msg, c.params).catch((e) => {
        if (!this.release(key, ticket)) return;
        this.log(`internal error deciding a call: ${(e as Error).stack ?? e}`);
        void this.agent.send(errorMessage(c.id, RPC.INTERNAL_ERROR, `cordon could not decide this call (${(e as Error).message}); it was not forwarded`));
      });
      return;
    }
    if (c.method === 'resources/read') {
      // A resource read is a file read or a fetch done by the server for the agent: decided by
      // the same file_rules / network_rules before the server sees it.
      const uri = (c.params as { uri?: unknown } | undefined)?.uri;
      const verdict = typeof uri === 'string' ? this.policy.decideResource(uri) : { ok: false as const, reason: 'resources/read needs params.uri (a string)' };
      if (!verdict.ok) {
        const message = `cordon: resources/read of ${typeof uri === 'string' ? uri : 'a missing URI'} denied: ${verdict.reason}`;
        this.record({ kind: 'mcp', operation: 'resources/read', subject: `${this.opts.server}/${typeof uri === 'string' ? uri : ''}`, decision: 'deny', ...(verdict.decision ? { rule: verdict.decision.rule } : {}), message })
          .catch((e) => this.log(`audit write failed: ${(e as Error).message}`));
        void this.agent.send(errorMessage(c.id, RPC.POLICY_DENIED, message));
        return;
      }
    }
    const p: Extract<Pending, { kind: 'agent' }> = { kind: 'agent', agentId: c.id, method: c.method, cursor: c.params?.cursor };
    const token = (c.params?._meta as { progressToken?: unknown } | undefined)?.progressToken;
    if (typeof token === 'string' || typeof token === 'number') p.progressToken = token;
    this.forward(key, msg, p);
  }

  private forward(key: string, msg: JSONRPCMessage, p: Extract<Pending, { kind: 'agent' }>): void {
    const id = this.nextId++;
    this.pending.set(id, p);
    this.agentIds.set(key, id);
    if (p.progressToken !== undefined) this.progress.set(String(p.progressToken), p.agentId);
    if (this.opts.requestTimeoutMs) {
      const ms = this.opts.requestTimeoutMs;
      p.timer = setTimeout(() => {
        if (!this.pending.has(id)) return;
        this.failPending(id, `MCP server "${this.opts.server}" did not answer ${p.method} within ${ms} ms (gateway --request-timeout); the request was cancelled`, RPC.UPSTREAM_TIMEOUT);
        this.sendUpstream({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: id, reason: 'gateway request timeout' } } as JSONRPCMessage);
      }, ms);
      p.timer.unref?.();
    }
    this.sendUpstream({ ...msg, id } as JSONRPCMessage);
  }

  /** Drops an agent request's bookkeeping without answering it. */
  private forget(upstreamId: number): void {
    const p = this.pending.get(upstreamId);
    if (!p || p.kind !== 'agent') return;
    this.pending.delete(upstreamId);
    this.agentIds.delete(idKey(p.agentId));
    if (p.progressToken !== undefined) this.progress.delete(String(p.progressToken));
    if (p.timer) clearTimeout(p.timer);
  }

  private sendUpstream(msg: JSONRPCMessage): void {
    this.upstream.send(msg).catch((e) => {
      this.log(`sending to the server failed: ${(e as Error).message}`);
      const id = (msg as { id?: unknown }).id;
      if (typeof id === 'number' && this.pending.has(id)) this.failPending(id, `could not send the request to MCP server "${this.opts.server}": ${(e as Error).message}`);
    });
  }

  private async handleCall(agentId: RequestId, key: string, ticket: number, msg: JSONRPCMessage, params: Record<string, unknown> | undefined): Promise<void> {
    const name = params?.name;
    const args = params?.arguments ?? {};
    if (typeof name !== 'string' || name.length === 0 || args === null || typeof args !== 'object' || Array.isArray(args)) {
      if (this.release(key, ticket)) void this.agent.send(errorMessage(agentId, RPC.INVALID_PARAMS, 'tools/call needs params.name (a non-empty string) and, if present, params.arguments (an object)'));
      return;
    }
    const started = performance.now();
    let verdict: CallVerdict = this.policy.decide(name, args as Record<string, unknown>);
    if (!verdict.allow && verdict.stage === 'approval' && this.opts.approver) {
      const answer = await askApprover(this.opts.approver, this.opts.server, this.session, name, args as Record<string, unknown>, verdict.decision);
      verdict = answer.approved ? this.policy.decide(name, args as Record<string, unknown>, true) : { ...verdict, message: answer.message };
    }
    if (verdict.allow) {
      const blocked = await this.definitionProblem(name, verdict.settings);
      if (blocked) verdict = { allow: false, decision: verdict.decision, rule: verdict.rule, settings: verdict.settings, stage: blocked.stage, message: blocked.message };
    }
    const subject = `${this.opts.server}/${name}`;
    // Audit fields are only built when there is an audit trail to write them to.
    const fields: Record<string, unknown> = this.opts.audit ? { argNames: Object.keys(args), argsSha256: argsDigest(args), decideMs: +(performance.now() - started).toFixed(3) } : {};
    if (!verdict.allow) {
      fields.stage = verdict.stage;
      await this.record({ kind: 'mcp', operation: 'tools/call', subject, decision: 'deny', rule: verdict.decision.rule, message: verdict.message, fields })
        .catch((e) => this.log(`audit write failed for a denied call: ${(e as Error).message}`));
      if (this.release(key, ticket)) void this.agent.send(denial(this.opts.server, agentId, verdict.decision.rule, verdict.stage, verdict.message));
      return;
    }
    if (this.opts.audit && verdict.decision.decision === 'approve') fields.approvedByHuman = true;
    try {
      await this.record({ kind: 'mcp', operation: 'tools/call', subject, decision: verdict.decision.decision, rule: verdict.decision.rule, fields });
    } catch (e) {
      const message = `${subject} denied: the audit trail could not record the call (${(e as Error).message}), and cordon does not run what it cannot record`;
      this.log(message);
      if (this.release(key, ticket)) void this.agent.send(denial(this.opts.server, agentId, verdict.decision.rule, 'audit', message));
      return;
    }
    if (this.agentIds.get(key) !== ticket) return; // cancelled while being decided
    if (!this.upstreamAlive) {
      if (this.release(key, ticket)) void this.agent.send(errorMessage(agentId, RPC.UPSTREAM_UNAVAILABLE, this.upstreamGoneMessage()));
      return;
    }
    const p: Extract<Pending, { kind: 'agent' }> = { kind: 'agent', agentId, method: 'tools/call', tool: name, settings: verdict.settings };
    const token = (params?._meta as { progressToken?: unknown } | undefined)?.progressToken;
    if (typeof token === 'string' || typeof token === 'number') p.progressToken = token;
    this.forward(key, msg, p);
  }

  /**
   * Ends the decision phase of a call: true if the request is still ours to answer, false if the
   * agent cancelled it meanwhile (then nothing is sent: a cancelled request gets no answer).
   */
  private release(key: string, ticket: number): boolean {
    if (this.agentIds.get(key) !== ticket) return false;
    this.agentIds.delete(key);
    return true;
  }

  /** Checks the tool's current definition (fetching the list if needed) before a call. */
  private async definitionProblem(tool: string, settings: ToolSettings): Promise<{ stage: 'definition' | 'unknown_tool'; message: string } | undefined> {
    const needsDefinition = settings.pin || settings.shadowing === 'block' ||
      Object.values(settings.definitions).some((a) => a === 'block');
    if (!needsDefinition) return undefined;
    if (!this.toolsFresh) {
      try {
        await this.refreshTools();
      } catch (e) {
        return { stage: 'definition', message: `${this.opts.server}/${tool} denied: cordon could not verify the server's tool definitions (${(e as Error).message})` };
      }
    }
    const st = this.tools.get(tool);
    if (!st) return { stage: 'unknown_tool', message: `${this.opts.server}/${tool} denied: the server does not list a tool named "${tool}", so its definition cannot be checked` };
    if (st.blocked) return { stage: 'definition', message: st.blocked };
    return undefined;
  }

  private refreshTools(): Promise<void> {
    this.listing ??= (async () => {
      try {
        let cursor: string | undefined;
        const seen = new Map<string, ToolState>();
        for (let page = 0; page < 100; page++) {
          const reply = await this.internalRequest('tools/list', cursor === undefined ? {} : { cursor });
          const r = reply as { result?: { tools?: unknown[]; nextCursor?: unknown }; error?: { message?: string } };
          if (!r.result) throw new Error(`the server answered tools/list with an error: ${r.error?.message ?? 'unknown'}`);
          const { states } = await this.inspector.tools(r.result.tools ?? []);
          for (const [n, st] of states) seen.set(n, st);
          if (typeof r.result.nextCursor !== 'string') break;
          cursor = r.result.nextCursor;
        }
        this.tools = seen;
        this.toolsFresh = true;
      } finally {
        this.listing = undefined;
      }
    })();
    return this.listing;
  }

  private internalRequest(method: string, params: Record<string, unknown>): Promise<JSONRPCMessage> {
    if (!this.upstreamAlive) return Promise.reject(new Error(this.upstreamGoneMessage()));
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      this.pending.set(id, { kind: 'internal', resolve, reject });
      this.sendUpstream({ jsonrpc: '2.0', id, method, params } as JSONRPCMessage);
    });
  }

  // ---- upstream → agent --------------------------------------------------------------------

  private fromUpstream(msg: JSONRPCMessage): void {
    const m = msg as { id?: unknown; method?: unknown; params?: Record<string, unknown> };
    if (typeof m.method === 'string') {
      if (m.id === undefined) this.upstreamNotification(msg, m.method, m.params);
      else void this.agent.send(msg, this.relatedToOnly());
      return;
    }
    if (typeof m.id !== 'number' || !this.pending.has(m.id)) {
      this.log(`dropped a response for an unknown request id ${JSON.stringify(m.id)} from the server`);
      return;
    }
    const p = this.pending.get(m.id)!;
    if (p.kind === 'internal') { this.pending.delete(m.id); p.resolve(msg); return; }
    this.forget(m.id);
    const reply = { ...msg, id: p.agentId } as JSONRPCMessage;
    this.inspectReply(p, reply).then(
      (out) => this.agent.send(out, { relatedRequestId: p.agentId }),
      (e) => {
        this.log(`inspecting the answer to ${p.method} failed: ${(e as Error).message}`);
        return this.agent.send(errorMessage(p.agentId, RPC.INTERNAL_ERROR, `cordon could not inspect the server's answer to ${p.method} (${(e as Error).message}); it was withheld`));
      },
    ).catch((e) => this.log(`sending to the agent failed: ${(e as Error).message}`));
  }

  private upstreamNotification(msg: JSONRPCMessage, method: string, params: Record<string, unknown> | undefined): void {
    if (method === 'notifications/tools/list_changed') this.toolsFresh = false;
    if (method === 'notifications/progress' && params && (typeof params.progressToken === 'string' || typeof params.progressToken === 'number')) {
      const rel = this.progress.get(String(params.progressToken));
      if (rel !== undefined) { void this.agent.send(msg, { relatedRequestId: rel }); return; }
    }
    void this.agent.send(msg, this.relatedToOnly());
  }

  /** Server-initiated messages go with the single request in flight, if there is exactly one. */
  private relatedToOnly(): { relatedRequestId?: RequestId } {
    if (this.pending.size !== 1) return {};
    const only = [...this.pending.values()][0]!;
    return only.kind === 'agent' ? { relatedRequestId: only.agentId } : {};
  }

  private async inspectReply(p: Extract<Pending, { kind: 'agent' }>, reply: JSONRPCMessage): Promise<JSONRPCMessage> {
    const r = reply as { result?: Record<string, unknown> };
    if (!r.result || typeof r.result !== 'object') return reply;
    if (p.method === 'initialize') {
      const v = r.result.protocolVersion;
      const up = this.upstream as Transport & { setProtocolVersion?: (v: string) => void };
      if (typeof v === 'string' && typeof up.setProtocolVersion === 'function') up.setProtocolVersion(v);
      return reply;
    }
    if (p.method === 'tools/list') {
      const tools = Array.isArray(r.result.tools) ? r.result.tools : [];
      const { states, cleaned } = await this.inspector.tools(tools);
      for (const [n, s] of states) this.tools.set(n, s);
      // A single-page listing is complete: calls need not re-fetch it.
      if (r.result.nextCursor === undefined && p.cursor === undefined) this.toolsFresh = true;
      return { ...reply, result: { ...r.result, tools: cleaned } } as JSONRPCMessage;
    }
    if (p.method === 'tools/call' && p.tool !== undefined && p.settings) {
      return this.inspector.payload(reply, r.result, `${this.opts.server}/${p.tool}`, 'tool_result', p.settings, true);
    }
    if (OK_RESULT_METHODS.has(p.method)) {
      const { settings } = this.policy.ruleFor(p.method);
      return this.inspector.payload(reply, r.result, `${this.opts.server}/${p.method}`, p.method === 'prompts/get' ? 'prompt' : 'resource', settings, false);
    }
    return reply;
  }

  // ---- lifecycle ---------------------------------------------------------------------------

  private upstreamGoneMessage(): string {
    return `MCP server "${this.opts.server}" is not running${this.upstreamExit ? ` (${this.upstreamExit})` : ''}; the request was not delivered. Check the server's stderr and restart the MCP client`;
  }

  private failPending(id: number, message: string, code: number = RPC.UPSTREAM_UNAVAILABLE): void {
    const p = this.pending.get(id);
    if (!p) return;
    if (p.kind === 'internal') { this.pending.delete(id); p.reject(new Error(message)); return; }
    this.forget(id);
    void this.agent.send(errorMessage(p.agentId, code, message), { relatedRequestId: p.agentId });
  }

  /** The upstream broke a protocol limit: treat it as gone (requests in flight get `reason`). */
  upstreamFailed(reason: string): void {
    if (!this.upstreamExit) this.upstreamExit = reason;
    this.upstreamClosed();
  }

  private upstreamClosed(): void {
    if (!this.upstreamAlive) return;
    this.upstreamAlive = false;
    const message = `MCP server "${this.opts.server}" exited${this.upstreamExit ? ` (${this.upstreamExit})` : ''} before answering this request`;
    if (!this.closing) this.log(`server closed${this.upstreamExit ? ` (${this.upstreamExit})` : ''}`);
    for (const id of [...this.pending.keys()]) this.failPending(id, message);
    this.onUpstreamClosed?.();
  }

  /** Set by the runner: what to do when the server is gone (stdio: exit). */
  onUpstreamClosed?: () => void;

  private async agentClosed(): Promise<void> {
    // Give answers still in flight a moment to arrive, then stop the server.
    const deadline = Date.now() + 2000;
    while (this.agentIds.size > 0 && this.upstreamAlive && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    await this.close();
  }

  async close(): Promise<void> {
    if (this.closing) return this.closed;
    this.closing = true;
    try { await this.upstream.close(); } catch { /* already gone */ }
    try { await this.agent.close(); } catch { /* already gone */ }
    this.resolveClosed();
    return this.closed;
  }
}
