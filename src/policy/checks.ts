// Checks the schema alone cannot express: contradictions, inert fields, patterns that would not
// compile, names that would be ambiguous in the audit trail. Each issue says what to change.
import { parseCidr } from './ip.js';
import { expandBraces, globToRegexSource, GlobError } from './glob.js';
import { resolveSignalSpec } from './signals.js';
import { UNENFORCED_SECTIONS } from './schema/extensions.js';
import type { Policy } from './schema/policy.js';
import { checkRegexSafety } from './regex-safety.js';

export interface Problem {
  path: (string | number)[];
  message: string;
}

type Rule = { name: string; decision: string; timeout?: number | undefined; redirect_to?: unknown };

const NO_REDIRECT_LISTS = ['network_rules', 'unix_socket_rules', 'mcp_rules', 'tool_rules', 'http_rules'] as const;

export function checkPolicy(p: Policy): Problem[] {
  const out: Problem[] = [];
  const lists: [string, Rule[] | undefined][] = [
    ['file_rules', p.file_rules], ['network_rules', p.network_rules], ['command_rules', p.command_rules],
    ['unix_socket_rules', p.unix_socket_rules], ['signal_rules', p.signal_rules], ['mcp_rules', p.mcp_rules],
    ['tool_rules', p.tool_rules], ['http_rules', p.http_rules],
  ];
  for (const [list, rules] of lists) {
    const seen = new Map<string, number>();
    rules?.forEach((r, i) => {
      const prev = seen.get(r.name);
      if (prev !== undefined) out.push({ path: [list, i, 'name'], message: `rule name "${r.name}" is already used by ${list}[${prev}]; names must be unique within a list so decisions and audit records are unambiguous` });
      seen.set(r.name, i);
      if (r.name.endsWith(':ancestors')) out.push({ path: [list, i, 'name'], message: `rule names ending in ":ancestors" are reserved for the guards Cordon generates; rename "${r.name}"` });
      if (r.timeout !== undefined && r.decision !== 'approve') out.push({ path: [list, i, 'timeout'], message: `timeout applies only to decision: approve (this rule's decision is ${r.decision}); remove it` });
      if (r.decision === 'soft_delete' && list !== 'file_rules') out.push({ path: [list, i, 'decision'], message: `soft_delete applies only to file_rules` });
      if ((NO_REDIRECT_LISTS as readonly string[]).includes(list) && r.decision === 'redirect') {
        out.push({ path: [list, i, 'decision'], message: list === 'network_rules' ? 'network redirects are written as connect_redirects / dns_redirects entries, not as a rule decision' : `redirect is not a decision ${list} can carry out` });
      }
    });
  }
  p.file_rules?.forEach((r, i) => {
    r.paths.forEach((g, j) => checkPathGlob(g, ['file_rules', i, 'paths', j], out));
    if (r.decision === 'redirect' && !r.redirect_to) out.push({ path: ['file_rules', i], message: 'decision redirect needs redirect_to (the path opened instead)' });
    if (r.decision !== 'redirect' && (r.redirect_to !== undefined || r.preserve_tree !== undefined)) out.push({ path: ['file_rules', i, r.redirect_to !== undefined ? 'redirect_to' : 'preserve_tree'], message: `redirect_to/preserve_tree apply only to decision: redirect (this rule's decision is ${r.decision})` });
    if (r.redirect_to !== undefined && !r.redirect_to.startsWith('/')) out.push({ path: ['file_rules', i, 'redirect_to'], message: `redirect_to must be an absolute path (got "${r.redirect_to}")` });
    if (r.decision === 'soft_delete' && r.operations && !r.operations.some((o) => o === 'delete' || o === 'rmdir' || o === '*')) out.push({ path: ['file_rules', i, 'operations'], message: 'soft_delete applies to delete/rmdir; add one of them to operations' });
  });
  p.command_rules?.forEach((r, i) => {
    r.commands.forEach((c, j) => {
      if (c.includes('/') && !c.startsWith('/') && !c.startsWith('**')) out.push({ path: ['command_rules', i, 'commands', j], message: `a command with a slash must be an absolute path or glob (got "${c}")` });
      checkGlob(c, c.includes('/') ? '/' : '', ['command_rules', i, 'commands', j], out);
    });
    r.args_patterns?.forEach((a, j) => {
      const why = checkRegexSafety(a);
      if (why) out.push({ path: ['command_rules', i, 'args_patterns', j], message: why });
    });
    if (r.decision === 'redirect' && !r.redirect_to) out.push({ path: ['command_rules', i], message: 'decision redirect needs redirect_to: { command, args }' });
    if (r.decision !== 'redirect' && r.redirect_to) out.push({ path: ['command_rules', i, 'redirect_to'], message: `redirect_to applies only to decision: redirect (this rule's decision is ${r.decision})` });
    if (r.context?.min_depth !== undefined && r.context.max_depth !== undefined && r.context.min_depth > r.context.max_depth) out.push({ path: ['command_rules', i, 'context'], message: 'min_depth is greater than max_depth, so the rule can never match' });
  });
  p.network_rules?.forEach((r, i) => {
    r.cidrs?.forEach((c, j) => { if (!parseCidr(c)) out.push({ path: ['network_rules', i, 'cidrs', j], message: `"${c}" is not an IPv4/IPv6 address or CIDR (write 10.0.0.0/8 or fd00::/8)` }); });
    r.ports?.forEach((pt, j) => {
      if (typeof pt === 'string') {
        const [lo, hi] = pt.split('-').map(Number);
        if (hi !== undefined && (hi > 65535 || lo! > hi)) out.push({ path: ['network_rules', i, 'ports', j], message: `port range "${pt}" must run from low to high within 0-65535` });
        if (lo! > 65535) out.push({ path: ['network_rules', i, 'ports', j], message: `port ${lo} is above 65535` });
      }
    });
    r.domains?.forEach((d, j) => checkGlob(d.toLowerCase(), '.', ['network_rules', i, 'domains', j], out));
  });
  p.unix_socket_rules?.forEach((r, i) => r.paths.forEach((g, j) => {
    if (!g.startsWith('/') && !g.startsWith('@') && !g.startsWith('**')) out.push({ path: ['unix_socket_rules', i, 'paths', j], message: `a socket path must be absolute, or @name for the abstract namespace (got "${g}")` });
    checkGlob(g, '/', ['unix_socket_rules', i, 'paths', j], out);
  }));
  p.signal_rules?.forEach((r, i) => {
    r.signals.forEach((s, j) => { if (!resolveSignalSpec(s)) out.push({ path: ['signal_rules', i, 'signals', j], message: `unknown signal "${s}" (use a name like SIGTERM, a number 1-64, or a group: @fatal, @job, @reload, @ignore, @all, @realtime)` }); });
    if (r.decision === 'redirect' && (r.redirect_to === undefined || !resolveSignalSpec(r.redirect_to) || resolveSignalSpec(r.redirect_to)!.length !== 1)) out.push({ path: ['signal_rules', i, 'redirect_to'], message: 'decision redirect needs redirect_to naming one signal' });
    if (r.decision !== 'redirect' && r.redirect_to !== undefined) out.push({ path: ['signal_rules', i, 'redirect_to'], message: `redirect_to applies only to decision: redirect` });
    const t = r.target;
    if (t.type === 'process' && !t.pattern) out.push({ path: ['signal_rules', i, 'target'], message: 'target type process needs pattern (a glob over the process name)' });
    if (t.type !== 'process' && t.pattern !== undefined) out.push({ path: ['signal_rules', i, 'target', 'pattern'], message: 'pattern applies only to target type process' });
    if (t.type === 'pid_range' && (t.min === undefined || t.max === undefined || t.min > t.max)) out.push({ path: ['signal_rules', i, 'target'], message: 'target type pid_range needs min <= max' });
    if (t.type !== 'pid_range' && (t.min !== undefined || t.max !== undefined)) out.push({ path: ['signal_rules', i, 'target'], message: 'min/max apply only to target type pid_range' });
  });
  p.mcp_rules?.forEach((r, i) => r.tools.forEach((g, j) => checkGlob(g, '', ['mcp_rules', i, 'tools', j], out)));
  p.tool_rules?.forEach((r, i) => r.tools.forEach((g, j) => checkGlob(g, '', ['tool_rules', i, 'tools', j], out)));
  p.http_rules?.forEach((r, i) => {
    r.hosts.forEach((g, j) => checkGlob(g.toLowerCase(), '.', ['http_rules', i, 'hosts', j], out));
    r.paths?.forEach((g, j) => checkGlob(g, '/', ['http_rules', i, 'paths', j], out));
  });
  // tls_inspection: enabled with nothing to inspect would be an inert switch; upstream_ca files
  // are read by the egress at start, so a relative path would depend on the caller's directory.
  if (p.tls_inspection?.enabled && !(p.http_rules?.length) && p.extends === undefined) out.push({ path: ['tls_inspection', 'enabled'], message: 'tls_inspection inspects only hosts that http_rules name, and this policy has no http_rules; add http_rules for the hosts whose HTTPS requests should be decided, or remove tls_inspection' });
  p.tls_inspection?.upstream_ca?.forEach((f, i) => { if (!f.startsWith('/')) out.push({ path: ['tls_inspection', 'upstream_ca', i], message: `an upstream_ca file must be an absolute path (got "${f}"); use \${PROJECT_ROOT}/... for a project file` }); });
  for (const s of UNENFORCED_SECTIONS) {
    if (p[s] !== undefined) out.push({ path: [s], message: `the ${s} section is recognised but no part of this Cordon version enforces it yet; remove it rather than run with rules nobody applies` });
  }
  // In-process tool guards (src/sdk) do not exist yet: tool_rules would be decided by nobody.
  if (p.tool_rules !== undefined && p.tool_rules.length > 0) out.push({ path: ['tool_rules'], message: 'tool_rules are recognised but no part of this Cordon version enforces them yet (they are for the in-process SDK guards); remove them rather than run with rules nobody applies' });
  return out;
}

function checkPathGlob(g: string, path: (string | number)[], out: Problem[]): void {
  if (!g.startsWith('/') && !g.startsWith('**')) {
    out.push({ path, message: `a file path must be absolute or start with **/ (got "${g}"); use \${PROJECT_ROOT}/... for project-relative paths` });
    return;
  }
  checkGlob(g, '/', path, out);
}

function checkGlob(g: string, sep: '/' | '.' | '', path: (string | number)[], out: Problem[]): void {
  try {
    for (const e of expandBraces(g)) new RegExp(globToRegexSource(e, sep));
  } catch (e) {
    out.push({ path, message: e instanceof GlobError ? e.message : `pattern "${g}" is not a valid glob (${(e as Error).message})` });
  }
}
