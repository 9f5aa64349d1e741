// The MCP gateway: policy on every tool an agent calls through MCP (stdio and Streamable HTTP),
// tool-definition pinning, poisoning and shadowing detection, cross-server flow control.
import type { WrapOptions } from './wrap.js';
import type { ServeOptions, RunningServe } from './serve.js';
export { Gateway } from './gateway.js';
export type { GatewayOptions } from './gateway.js';
export type { ApprovalQuestion } from './approval.js';
export { WrapError } from './errors.js';
export type { WrapOptions } from './wrap.js';
export type { ServeOptions, RunningServe } from './serve.js';
export { StdioAgentTransport } from './stdio-agent.js';
export { CallPolicy } from './call-policy.js';
export type { CallVerdict, DenyStage } from './call-policy.js';
export { checkArgs, canonicalizePath } from './args.js';
export { PinStore, PinStoreError, checkPin, definitionHash, diffDefinitions, defaultStateDir, checkServerName } from './pins.js';
export type { PinFile, PinnedTool, PendingTool, PinVerdict } from './pins.js';
export { scanDefinition, scanPayload, HIDDEN_INSTRUCTION_NOTICE } from './poison.js';
export type { ScanOutcome, ScanReportItem } from './poison.js';
export { checkShadowing } from './shadow.js';
export type { ShadowFinding, ShadowKind, KnownTool } from './shadow.js';
export { TaintStore, fingerprints } from './taint.js';
export { installConfig, uninstallConfig, InstallError, defaultCordonCommand } from './install.js';
export type { InstallChange, InstallOptions } from './install.js';
export { toolSettings } from './rules.js';
export type { McpRule, McpArgConstraint, ToolSettings, ScanSettings, ScanAction } from './rules.js';
export { RPC, classify } from './jsonrpc.js';
export { globMatch } from './glob.js';
export type { McpAuditEvent, McpAuditSink } from './audit.js';

// The transports pull in the SDK's stdio or HTTP stacks; load each only when it is run, so
// `cordon mcp serve` does not pay for stdio, `wrap` not for HTTP, and `pins`/`install` for neither.
/** Runs `cordon mcp wrap` (stdio) until the agent or the server goes away; resolves to the exit status. */
export async function runWrap(opts: WrapOptions): Promise<number> {
  return (await import('./wrap.js')).runWrap(opts);
}

/** Starts `cordon mcp serve` (Streamable HTTP). */
export async function startServe(opts: ServeOptions): Promise<RunningServe> {
  return (await import('./serve.js')).startServe(opts);
}
