// A readable summary of what a policy permits: per rule list, each rule in order as one line,
// then what unmatched operations get.
import type { Policy } from './schema/policy.js';

const fmtList = (xs: readonly (string | number)[] | undefined, none = 'any'): string => (xs && xs.length ? xs.join(', ') : none);

export function explainPolicy(p: Policy): string {
  const out: string[] = [`Policy "${p.name}" (version ${p.version})${p.description ? `: ${p.description.trim()}` : ''}`, 'Rules are tried in order; the first that matches decides.'];
  const section = (title: string, lines: string[], def: string | undefined) => {
    out.push('', `${title}:`);
    if (lines.length === 0) out.push('  (no rules)');
    lines.forEach((l, i) => out.push(`  ${String(i + 1).padStart(2)}. ${l}`));
    out.push(`  otherwise: ${def ?? 'deny'}`);
  };
  const tail = (r: { message?: string | undefined }) => (r.message ? ` — "${r.message}"` : '');
  section('Files', (p.file_rules ?? []).map((r) => `${r.decision.toUpperCase()} ${fmtList(r.operations, 'all operations')} on ${r.paths.join(', ')}${r.redirect_to ? ` → ${r.redirect_to}` : ''} [${r.name}]${tail(r)}`), p.defaults?.file);
  section('Commands', (p.command_rules ?? []).map((r) => `${r.decision.toUpperCase()} ${r.commands.join(', ')}${r.args_patterns ? ` with args matching ${r.args_patterns.map((a) => `/${a}/`).join(' or ')}` : ''}${r.context ? ` at depth ${r.context.min_depth ?? 0}..${r.context.max_depth ?? '∞'}` : ''}${r.redirect_to ? ` → ${r.redirect_to.command}` : ''} [${r.name}]${tail(r)}`), p.defaults?.command);
  section('Network', (p.network_rules ?? []).map((r) => `${r.decision.toUpperCase()} ${[r.domains?.join(', '), r.cidrs?.join(', ')].filter(Boolean).join(' / ') || 'any destination'} port ${fmtList(r.ports)}${r.protocols ? ` (${r.protocols.join('/')})` : ''} [${r.name}]${tail(r)}`), p.defaults?.network);
  if (p.unix_socket_rules?.length || p.defaults?.unix_socket) section('Unix sockets', (p.unix_socket_rules ?? []).map((r) => `${r.decision.toUpperCase()} ${fmtList(r.operations, 'all operations')} on ${r.paths.join(', ')} [${r.name}]${tail(r)}`), p.defaults?.unix_socket);
  if (p.signal_rules?.length || p.defaults?.signal) section('Signals', (p.signal_rules ?? []).map((r) => `${r.decision.toUpperCase()} ${r.signals.join(', ')} to ${r.target.type}${r.target.pattern ? ` ${r.target.pattern}` : ''}${r.redirect_to !== undefined ? ` → ${r.redirect_to}` : ''} [${r.name}]${tail(r)}`), p.defaults?.signal);
  if (p.mcp_rules?.length || p.defaults?.mcp) section('MCP tools', (p.mcp_rules ?? []).map((r) => `${r.decision.toUpperCase()} ${r.server ?? '*'}/${r.tools.join(', ')} [${r.name}]${tail(r)}`), p.defaults?.mcp);
  if (p.tool_rules?.length || p.defaults?.tool) section('Tools', (p.tool_rules ?? []).map((r) => `${r.decision.toUpperCase()} ${r.tools.join(', ')} [${r.name}]${tail(r)}`), p.defaults?.tool);
  if (p.http_rules?.length || p.defaults?.http) section('HTTP', (p.http_rules ?? []).map((r) => `${r.decision.toUpperCase()} ${fmtList(r.methods)} ${r.hosts.join(', ')}${r.paths ? ` ${r.paths.join(', ')}` : ''} [${r.name}]${tail(r)}`), p.defaults?.http);
  if (p.env_policy) out.push('', `Environment: allow ${fmtList(p.env_policy.allow, 'all')}; deny ${fmtList(p.env_policy.deny, 'none')}; secrets ${p.env_policy.strip_secrets === false ? 'kept' : 'stripped'}`);
  else out.push('', 'Environment: secrets stripped (default)');
  const l = p.resource_limits;
  if (l) out.push(`Limits: ${Object.entries(l).map(([k, v]) => `${k}=${v}`).join(', ')}`);
  if (p.tests?.length) out.push(`Self-tests: ${p.tests.length} (run by \`cordon policy validate\`)`);
  return `${out.join('\n')}\n`;
}
