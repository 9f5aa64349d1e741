// `cordon audit report SESSION`: what ran, what was denied, where it connected, what a human
// approved. Built from indexed events (sqlite-index.ts); plain text for people, JSON for tools.
import type { IndexedEvent } from './sqlite-index.js';

export interface SessionReport {
  session: string;
  start: string | null;
  end: string | null;
  command: string[] | null;
  exitCode: number | null;
  policy: string | null;
  policyDigest: string | null;
  total: number;
  byDecision: Record<string, number>;
  byKind: Record<string, number>;
  commands: { command: string; count: number }[];
  denied: { t: string; kind: string; operation: string; subject: string; rule: string | null; message: string | null }[];
  destinations: { host: string; count: number; denied: number }[];
  approvals: { t: string; operation: string; subject: string; decision: string | null }[];
}

function bump(m: Map<string, number>, k: string, n = 1): void { m.set(k, (m.get(k) ?? 0) + n); }

export function buildSessionReport(session: string, events: IndexedEvent[]): SessionReport {
  const byDecision = new Map<string, number>();
  const byKind = new Map<string, number>();
  const commands = new Map<string, number>();
  const dest = new Map<string, { count: number; denied: number }>();
  const r: SessionReport = {
    session, start: null, end: null, command: null, exitCode: null, policy: null, policyDigest: null, total: events.length,
    byDecision: {}, byKind: {}, commands: [], denied: [], destinations: [], approvals: [],
  };
  for (const e of events) {
    bump(byKind, e.kind);
    if (e.decision) bump(byDecision, e.decision);
    if (e.policyDigest && !r.policyDigest) r.policyDigest = e.policyDigest;
    if (e.kind === 'session' && e.operation === 'start') {
      r.start = e.t;
      if (Array.isArray(e.fields?.argv)) r.command = e.fields.argv as string[];
      if (typeof e.fields?.policy === 'string') r.policy = e.fields.policy;
    }
    if (e.kind === 'session' && e.operation === 'end') {
      r.end = e.t;
      if (typeof e.fields?.exitCode === 'number') r.exitCode = e.fields.exitCode;
    }
    if (e.kind === 'exec') bump(commands, e.argv?.length ? e.argv.join(' ') : e.subject);
    if (e.decision === 'deny') r.denied.push({ t: e.t, kind: e.kind, operation: e.operation, subject: e.subject, rule: e.rule, message: e.message });
    if (e.host) {
      const d = dest.get(e.host) ?? { count: 0, denied: 0 };
      d.count++;
      if (e.decision === 'deny') d.denied++;
      dest.set(e.host, d);
    }
    if (e.kind === 'approval' || e.decision === 'approve') r.approvals.push({ t: e.t, operation: e.operation, subject: e.subject, decision: e.decision });
  }
  if (!r.start && events[0]) r.start = events[0].t;
  if (!r.end && events.length) r.end = events[events.length - 1]!.t;
  r.byDecision = Object.fromEntries([...byDecision].sort());
  r.byKind = Object.fromEntries([...byKind].sort());
  r.commands = [...commands].map(([command, count]) => ({ command, count })).sort((a, b) => b.count - a.count);
  r.destinations = [...dest].map(([host, v]) => ({ host, ...v })).sort((a, b) => b.count - a.count);
  return r;
}

export function formatSessionReport(r: SessionReport, maxRows = 50): string {
  const out: string[] = [];
  out.push(`Session ${r.session}`);
  if (r.command) out.push(`  command:  ${r.command.join(' ')}`);
  if (r.policy || r.policyDigest) out.push(`  policy:   ${r.policy ?? '?'}${r.policyDigest ? ` (digest ${r.policyDigest.slice(0, 16)}…)` : ''}`);
  out.push(`  time:     ${r.start ?? '?'} → ${r.end ?? '(no end recorded)'}`);
  if (r.exitCode !== null) out.push(`  exit:     ${r.exitCode}`);
  out.push(`  events:   ${r.total} (${Object.entries(r.byDecision).map(([k, v]) => `${v} ${k}`).join(', ') || 'no decisions'})`);
  out.push(`  by kind:  ${Object.entries(r.byKind).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  const section = (title: string, rows: string[]): void => {
    out.push('', `${title}${rows.length > maxRows ? ` (first ${maxRows} of ${rows.length})` : ''}:`);
    if (!rows.length) out.push('  (none)');
    for (const l of rows.slice(0, maxRows)) out.push('  ' + l);
  };
  section('Denied', r.denied.map((d) => `${d.t}  ${d.kind} ${d.operation} ${d.subject}${d.rule ? `  [rule ${d.rule}]` : ''}${d.message ? `  "${d.message}"` : ''}`));
  section('Commands run', r.commands.map((c) => `${String(c.count).padStart(5)}×  ${c.command}`));
  section('Network destinations', r.destinations.map((d) => `${d.host}  ${d.count} connection${d.count === 1 ? '' : 's'}${d.denied ? `, ${d.denied} denied` : ''}`));
  section('Approvals', r.approvals.map((a) => `${a.t}  ${a.operation} ${a.subject} → ${a.decision ?? '?'}`));
  return out.join('\n') + '\n';
}
