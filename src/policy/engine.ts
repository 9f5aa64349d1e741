// compilePolicy turns a validated policy into an evaluator: globs to matchers, domains to hash
// lookups, CIDRs to ranges, each rule's decision object prebuilt. `evaluate` is pure and
// deterministic: no I/O, no clock, no randomness; the same operation always gets the same answer.
import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical-json.js';
import { canonicalPath } from './canonical-path.js';
import { compileCommandRules } from './compile/command.js';
import { DEFAULT_APPROVAL_TIMEOUT_MS, errnoValue, makeDecision } from './compile/decisions.js';
import { compileFileRules } from './compile/file.js';
import { compileHttpRules, compileMcpRules, compileToolRules, compileUnixSocketRules } from './compile/named.js';
import { compileNetworkRules } from './compile/network.js';
import { compileSignalRules } from './compile/signal.js';
import { compileGlob, expandBraces } from './glob.js';
import type { Policy } from './schema/policy.js';
import { resolveSignalSpec } from './signals.js';
import type { Decision, DecisionKind, Operation, OperationKind } from './types.js';

export interface CompiledPolicy {
  readonly policy: Policy;
  /** Hex SHA-256 of the canonical JSON of the resolved policy. */
  readonly digest: string;
  evaluate(op: Operation): Decision;
}

type RuleLike = { name: string; decision: string; message?: string | undefined; timeout?: number | undefined; errno?: string | number | undefined };

const DEFAULT_KEY: Record<OperationKind, keyof NonNullable<Policy['defaults']>> = {
  file: 'file', net: 'network', exec: 'command', unix_socket: 'unix_socket', signal: 'signal', mcp: 'mcp', tool: 'tool', http: 'http',
};
const LIST: Record<OperationKind, keyof Policy> = {
  file: 'file_rules', net: 'network_rules', exec: 'command_rules', unix_socket: 'unix_socket_rules', signal: 'signal_rules', mcp: 'mcp_rules', tool: 'tool_rules', http: 'http_rules',
};
const DEFAULT_ERRNO: Partial<Record<OperationKind, number>> = { file: 13, exec: 1, signal: 1, unix_socket: 13, net: 111 };

export function compilePolicy(policy: Policy): CompiledPolicy {
  const approvalDefault = policy.defaults?.approval_timeout ?? DEFAULT_APPROVAL_TIMEOUT_MS;
  const defaultsErrno = errnoValue(policy.defaults?.errno);

  const ruleDecisions = (kind: OperationKind): Decision[] => {
    const list = LIST[kind] as string;
    const rules = (policy[LIST[kind]] as RuleLike[] | undefined) ?? [];
    return rules.map((r, i) => {
      const absorb = r.decision === 'absorb';
      return makeDecision({
        decision: absorb ? 'deny' : (r.decision as DecisionKind),
        rule: r.name,
        ruleIndex: i,
        list,
        message: r.message,
        reason: `rule "${r.name}" (${list}[${i}]) matched: ${r.decision}`,
        timeoutMs: r.timeout ?? approvalDefault,
        errno: absorb ? 0 : errnoValue(r.errno) ?? defaultsErrno ?? DEFAULT_ERRNO[kind],
        redirect: staticRedirect(kind, r),
      });
    });
  };
  const defaultDecision = (kind: OperationKind): Decision => {
    const d = policy.defaults?.[DEFAULT_KEY[kind]] as DecisionKind | undefined;
    const decision = d ?? 'deny';
    const list = LIST[kind] as string;
    return makeDecision({
      decision,
      rule: `defaults.${DEFAULT_KEY[kind]}`,
      ruleIndex: -1,
      list,
      reason: `no rule in ${list} matched; ${d ? `defaults.${DEFAULT_KEY[kind]} is ${d}` : 'unmatched operations are denied'}`,
      message: decision === 'deny' ? `denied by policy "${policy.name}": no rule in ${list} allows this` : undefined,
      timeoutMs: approvalDefault,
      errno: defaultsErrno ?? DEFAULT_ERRNO[kind],
    });
  };

  const kinds: OperationKind[] = ['file', 'net', 'exec', 'unix_socket', 'signal', 'mcp', 'tool', 'http'];
  const decided = Object.fromEntries(kinds.map((k) => [k, ruleDecisions(k)])) as Record<OperationKind, Decision[]>;
  const defaults = Object.fromEntries(kinds.map((k) => [k, defaultDecision(k)])) as Record<OperationKind, Decision>;

  const fileMatch = compileFileRules(policy.file_rules ?? []);
  const netMatch = compileNetworkRules(policy.network_rules ?? []);
  const execMatch = compileCommandRules(policy.command_rules ?? []);
  const unixMatch = compileUnixSocketRules(policy.unix_socket_rules ?? []);
  const signalMatch = compileSignalRules(policy.signal_rules ?? []);
  const mcpMatch = compileMcpRules(policy.mcp_rules ?? []);
  const toolMatch = compileToolRules(policy.tool_rules ?? []);
  const httpMatch = compileHttpRules(policy.http_rules ?? []);
  const fileRedirects = (policy.file_rules ?? []).map((r) => (r.decision === 'redirect' ? fileRedirector(r.paths, r.redirect_to!, r.preserve_tree === true) : undefined));

  const notAbsolute = makeDecision({ decision: 'deny', rule: 'invalid-operation', ruleIndex: -1, list: 'file_rules', reason: 'the path is not absolute, so no rule can be applied to it', errno: 13 });

  const pick = (kind: OperationKind, idx: number): Decision => (idx === Infinity ? defaults[kind] : decided[kind][idx]!);

  const evaluate = (op: Operation): Decision => {
    switch (op.kind) {
      case 'file': {
        const path = canonicalPath(op.path);
        if (path === undefined) return notAbsolute;
        const idx = fileMatch(op, path);
        const d = pick('file', idx);
        if (d.decision === 'redirect') return { ...d, redirect: { kind: 'file', path: fileRedirects[idx]!(path) } };
        return d;
      }
      case 'net': return pick('net', netMatch(op));
      case 'exec': {
        const path = canonicalPath(op.path);
        if (path === undefined) return { ...notAbsolute, list: 'command_rules' };
        return pick('exec', execMatch(path === op.path ? op : { ...op, path }));
      }
      case 'unix_socket': return pick('unix_socket', unixMatch(op));
      case 'signal': return pick('signal', signalMatch(op));
      case 'mcp': return pick('mcp', mcpMatch(op));
      case 'tool': return pick('tool', toolMatch(op));
      case 'http': return pick('http', httpMatch(op));
    }
  };

  return Object.freeze({ policy, digest: createHash('sha256').update(canonicalJson(policy)).digest('hex'), evaluate });
}

function staticRedirect(kind: OperationKind, r: RuleLike): Decision['redirect'] {
  const rr = r as RuleLike & { redirect_to?: unknown };
  if (r.decision !== 'redirect' || rr.redirect_to === undefined) return undefined;
  if (kind === 'exec') {
    const t = rr.redirect_to as { command: string; args?: string[]; args_append?: string[]; environment?: Record<string, string> };
    return { kind: 'exec', command: t.command, args: t.args ?? [], argsAppend: t.args_append ?? [], env: t.environment ?? {} };
  }
  if (kind === 'signal') return { kind: 'signal', signal: resolveSignalSpec(rr.redirect_to as string | number)![0]! };
  return undefined;
}

/**
 * File redirects go into the `redirect_to` directory (agentsh's meaning): the file's basename,
 * or with preserve_tree its path below the matched pattern's literal prefix. The result is
 * canonicalised and can never leave that directory.
 */
function fileRedirector(patterns: string[], dir: string, preserveTree: boolean): (path: string) => string {
  const base = canonicalPath(dir) ?? dir;
  const globs = patterns.flatMap((p) => expandBraces(p)).map((p) => compileGlob(p, '/'));
  return (path) => {
    let rel = path.slice(path.lastIndexOf('/') + 1);
    if (preserveTree) {
      const g = globs.find((x) => x.test(path));
      const prefix = g && g.prefix !== '' && g.prefix !== '/' ? g.prefix : '';
      rel = path.startsWith(`${prefix}/`) ? path.slice(prefix.length + 1) : rel;
    }
    const out = canonicalPath(`${base}/${rel}`) ?? base;
    return out === base || out.startsWith(base === '/' ? '/' : `${base}/`) ? out : base;
  };
}
