// Tool poisoning and indirect prompt injection: scans tool definitions (every string in the
// definition, property names included) and tool results / resource contents / prompts (every
// string except binary payloads) with the detectors from src/detect, then applies the action the
// covering rule sets per finding kind: block, strip or audit (see rules.ts for defaults).
//
// Strip semantics: ANSI and invisible/bidi/tag characters are deleted, secrets redacted, and a
// string carrying hidden instructions is replaced as a whole by a notice (what remains of an
// attacker's text after cutting a phrase out is still the attacker's text).

import { sanitizeText, scanText } from '../detect/index.js';
import type { Finding, FindingKind } from '../detect/index.js';
import type { ScanAction, ScanSettings } from './rules.js';

export type SettingKey = keyof ScanSettings;

export function settingFor(kind: FindingKind): SettingKey {
  switch (kind) {
    case 'ansi': return 'ansi';
    case 'secret': return 'secrets';
    case 'hidden_instruction': return 'hidden_instructions';
    default: return 'unicode';
  }
}

export interface ScanReportItem {
  kind: FindingKind;
  rule?: string;
  detail: string;
  /** JSON path of the string, e.g. `description` or `content[0].text`. */
  where: string;
  action: ScanAction;
}

export interface ScanOutcome<T> {
  /** block if any finding's action is block, strip if any is strip, else pass. */
  action: 'pass' | 'strip' | 'block';
  /** The value with strip actions applied (the input itself when nothing was stripped). */
  value: T;
  findings: ScanReportItem[];
}

const SEVERITY: Record<ScanAction, number> = { off: 0, audit: 1, strip: 2, block: 3 };
export const HIDDEN_INSTRUCTION_NOTICE = '[removed by cordon: this text contained instructions aimed at the model]';

function activeKinds(s: ScanSettings): FindingKind[] {
  const kinds: FindingKind[] = [];
  if (s.unicode !== 'off') kinds.push('invisible', 'bidi', 'tag_chars');
  if (s.ansi !== 'off') kinds.push('ansi');
  if (s.secrets !== 'off') kinds.push('secret');
  if (s.hidden_instructions !== 'off') kinds.push('hidden_instruction');
  return kinds;
}

/** Keys whose string values are binary payloads or protocol fields, not text a model reads. */
const SKIP_VALUE_KEYS = new Set(['blob', 'mimeType', 'type', '_meta']);
/** Content item types whose `data` is base64 media (elsewhere `data` may be text and is scanned). */
const MEDIA_TYPES = new Set(['image', 'audio']);

/** Scans one string; returns the replacement (or the same string) and the findings. */
function scanString(s: string, where: string, settings: ScanSettings, kinds: FindingKind[], out: ScanReportItem[]): string {
  const found: Finding[] = scanText(s, { kinds });
  if (found.length === 0) return s;
  const stripKinds: FindingKind[] = [];
  let replaceWhole = false;
  for (const f of found) {
    const action = settings[settingFor(f.kind)];
    const item: ScanReportItem = { kind: f.kind, detail: f.detail, where, action };
    if (f.rule !== undefined) item.rule = f.rule;
    out.push(item);
    if (action === 'strip') {
      if (f.kind === 'hidden_instruction') replaceWhole = true;
      else if (!stripKinds.includes(f.kind)) stripKinds.push(f.kind);
    }
  }
  if (replaceWhole) return HIDDEN_INSTRUCTION_NOTICE;
  if (stripKinds.length === 0) return s;
  // Unicode kinds strip together (see sanitizeText).
  if (stripKinds.some((k) => k === 'invisible' || k === 'bidi' || k === 'tag_chars')) stripKinds.push('invisible', 'bidi', 'tag_chars');
  return sanitizeText(s, stripKinds).text;
}

function walk(v: unknown, where: string, settings: ScanSettings, kinds: FindingKind[], out: ScanReportItem[], scanKeys: boolean, depth: number): unknown {
  if (depth > 64) return v; // deeper than any real payload; JSON.parse already bounded the size
  if (typeof v === 'string') return scanString(v, where, settings, kinds, out);
  if (Array.isArray(v)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < v.length; i++) {
      const r = walk(v[i], `${where}[${i}]`, settings, kinds, out, scanKeys, depth + 1);
      if (r !== v[i]) { copy ??= [...v]; copy[i] = r; }
    }
    return copy ?? v;
  }
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    let copy: Record<string, unknown> | undefined;
    for (const k of Object.keys(o)) {
      const path = where ? `${where}.${k}` : k;
      let key = k;
      if (scanKeys) {
        key = scanString(k, `${path} (property name)`, settings, kinds, out);
        if (key !== k) { copy ??= { ...o }; delete copy[k]; copy[key] = o[k]; }
      }
      if (!scanKeys && (SKIP_VALUE_KEYS.has(k) || (k === 'data' && MEDIA_TYPES.has(o.type as string)))) continue;
      const r = walk(o[k], path, settings, kinds, out, scanKeys, depth + 1);
      if (r !== o[k]) { copy ??= { ...o }; copy[key] = r; }
    }
    return copy ?? v;
  }
  return v;
}

function outcome<T>(value: T, findings: ScanReportItem[]): ScanOutcome<T> {
  let worst = 0;
  for (const f of findings) worst = Math.max(worst, SEVERITY[f.action]);
  return { action: worst === 3 ? 'block' : worst === 2 ? 'strip' : 'pass', value, findings };
}

/** Scans a tool definition (from tools/list): every string, property names included. */
export function scanDefinition(tool: Record<string, unknown>, settings: ScanSettings): ScanOutcome<Record<string, unknown>> {
  const kinds = activeKinds(settings);
  const findings: ScanReportItem[] = [];
  if (kinds.length === 0) return outcome(tool, findings);
  const { _meta, ...rest } = tool;
  const scanned = walk(rest, '', settings, kinds, findings, true, 0) as Record<string, unknown>;
  const value = scanned === rest ? tool : (_meta === undefined ? scanned : { ...scanned, _meta });
  return outcome(value, findings);
}

/** Scans a result (tools/call, resources/read, prompts/get): every text string, not media or blobs. */
export function scanPayload<T>(payload: T, settings: ScanSettings): ScanOutcome<T> {
  const kinds = activeKinds(settings);
  const findings: ScanReportItem[] = [];
  if (kinds.length === 0) return outcome(payload, findings);
  const value = walk(payload, '', settings, kinds, findings, false, 0) as T;
  return outcome(value, findings);
}
