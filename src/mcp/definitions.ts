// What the gateway does with a `tools/list` answer before the agent sees it: pin check (rug
// pulls), poisoning scan, shadowing check. A tool that fails one of them (with action block) is
// removed from the list and its calls are refused; a stripped tool is passed on cleaned.

import type { CallPolicy } from './call-policy.js';
import { checkPin, PinStore } from './pins.js';
import type { PinFile } from './pins.js';
import { scanDefinition } from './poison.js';
import type { ScanReportItem } from './poison.js';
import { checkShadowing } from './shadow.js';
import type { KnownTool, ShadowFinding } from './shadow.js';

export interface ToolReport {
  tool: string;
  /** Set when the tool is withheld: why, in a sentence the agent and the user can act on. */
  blocked?: string;
  /** `unpinned`: frozen pins and the tool is not in the pin file; `off`: the rule disables pinning. */
  pin: 'new' | 'match' | 'changed' | 'unpinned' | 'off';
  sha256?: string;
  findings: ScanReportItem[];
  shadowing: Array<ShadowFinding & { action: 'block' | 'audit' }>;
}

export interface ListOutcome {
  tools: Array<Record<string, unknown>>;
  reports: ToolReport[];
}

/** Tools of every other server with a pin file. */
export function otherServers(pins: PinStore, self: string): Map<string, KnownTool[]> {
  const out = new Map<string, KnownTool[]>();
  for (const s of pins.servers()) {
    if (s === self) continue;
    try {
      out.set(s, Object.entries(pins.load(s).tools).map(([name, p]) => ({ name, since: p.pinnedAt })));
    } catch {
      // Another server's corrupt pin file is that server's problem (its gateway fails closed).
    }
  }
  return out;
}

/**
 * Processes one page of tools. Throws PinStoreError when this server's pin file is unusable
 * (the caller then fails the listing and refuses calls).
 */
export function processTools(server: string, tools: unknown[], policy: CallPolicy, pins: PinStore, frozenPins = false): ListOutcome {
  let pinFile: PinFile | undefined;
  let dirty = false;
  const now = new Date();
  const valid = tools.filter((t): t is Record<string, unknown> => t !== null && typeof t === 'object' && typeof (t as { name?: unknown }).name === 'string');
  const others = otherServers(pins, server);
  // Our own pin times decide precedence; a tool we do not pin (or see for the first time) is
  // the newcomer.
  let own: PinFile | undefined;
  try { own = pins.load(server); } catch { own = undefined; }
  const nowIso = now.toISOString();
  const shadow = checkShadowing(valid.map((t) => ({
    name: t.name as string,
    since: own?.tools[t.name as string]?.pinnedAt ?? nowIso,
    description: typeof t.description === 'string' ? t.description : undefined,
  })), others);
  const out: ListOutcome = { tools: [], reports: [] };
  for (const tool of valid) {
    const name = tool.name as string;
    const { settings } = policy.ruleFor(name);
    const report: ToolReport = { tool: name, pin: 'off', findings: [], shadowing: [] };
    const reasons: string[] = [];
    if (settings.pin) {
      pinFile ??= pins.load(server);
      const r = checkPin(pinFile, tool, now, frozenPins);
      dirty ||= r.dirty;
      report.pin = r.verdict.status;
      report.sha256 = r.verdict.status === 'changed' || r.verdict.status === 'unpinned' ? r.verdict.seen : pinFile.tools[name]?.sha256;
      if (r.verdict.status === 'changed') {
        reasons.push(`its definition changed since it was pinned (sha256 ${r.verdict.pinned.slice(0, 12)}… → ${r.verdict.seen.slice(0, 12)}…); review with \`cordon mcp pins diff ${server}\` and accept with \`cordon mcp pins trust ${server} ${name}\``);
      } else if (r.verdict.status === 'unpinned') {
        reasons.push(`it is not in the pin file and pins are frozen (no trust on first use); review with \`cordon mcp pins diff ${server}\` and accept with \`cordon mcp pins trust ${server} ${name}\``);
      }
    }
    const scanned = scanDefinition(tool, settings.definitions);
    report.findings = scanned.findings;
    if (scanned.action === 'block') {
      const kinds = [...new Set(scanned.findings.filter((f) => f.action === 'block').map((f) => f.detail))];
      reasons.push(`its definition looks poisoned (${kinds.slice(0, 3).join('; ')})`);
    }
    if (settings.shadowing !== 'off') {
      for (const f of shadow.filter((s) => s.tool === name)) {
        report.shadowing.push({ ...f, action: settings.shadowing });
        if (settings.shadowing === 'block') reasons.push(f.detail);
      }
    }
    if (reasons.length > 0) report.blocked = `tool "${name}" of server "${server}" is withheld by cordon: ${reasons.join('; ')}`;
    else out.tools.push(scanned.value);
    out.reports.push(report);
  }
  if (dirty && pinFile) pins.save(pinFile);
  return out;
}
