// The policy part: load, validate, compile, evaluate, explain. Pure evaluation; loading reads
// files. Named exports only (pinned by test/public-exports.test.ts).
// Importing this index is cheap on purpose: the loader (yaml, zod) loads on the first
// loadPolicy call, so compiling an already-validated policy never pays for it.
export { loadPolicy, loadPolicyRecorded } from './lazy-load.js';
export type { LoadOptions } from './load.js';
export { mergePolicies } from './merge.js';
export { lookupsStillHold, type RecordedLookups } from './lookup.js';
export { compilePolicy, type CompiledPolicy } from './engine.js';
export { PolicyError, type PolicyIssue } from './errors.js';
export type { Policy } from './schema/policy.js';
export { explainPolicy } from './explain.js';
export { runSelfTests, type SelfTestResult } from './self-tests.js';
export { operationFromSpec, describeOperation, OperationSpecError, OPERATION_KINDS_HELP, type OperationSpec } from './operation-spec.js';
export { BUILTIN_POLICIES, builtinPath } from './builtin.js';
export { canonicalPath } from './canonical-path.js';
export { compileGlob, compileGlobAny, expandBraces, globToRegexSource } from './glob.js';
export { parseIp, parseCidr, cidrContains, type Ip, type Cidr } from './ip.js';
export { resolveSignalSpec, signalName, SIGNAL_NUMBERS } from './signals.js';
export { canonicalJson } from './canonical-json.js';
export { detectRoots } from './project-root.js';
export {
  DECISIONS, FILE_OPS, UNIX_SOCKET_OPS, SIGNAL_TARGETS, RULE_LIST_OF, severity,
  type Decision, type DecisionKind, type Operation, type OperationKind, type FileOp, type FileOperation,
  type NetOperation, type ExecOperation, type UnixSocketOperation, type SignalOperation, type McpOperation,
  type ToolOperation, type HttpOperation, type Redirect, type SignalTargetClass, type UnixSocketOp,
} from './types.js';
export type { FileRule } from './schema/file-rules.js';
export type { CommandRule } from './schema/command-rules.js';
export type { NetworkRule } from './schema/network-rules.js';
export type { SignalRule } from './schema/signal-rules.js';
export type { McpRule } from './schema/mcp-rules.js';
export type { EnvPolicy } from './schema/env-policy.js';
export type { ResourceLimits } from './schema/resource-limits.js';
