// Fast canonical serialisation of the entry body P for event entries: the writer's hot path.
// Produces exactly canonicalJson(body) without its closing brace (a property test compares the
// two on random events), by writing the known keys in their sorted order instead of sorting.
// Only `fields` (free-form) goes through the generic canonical serialiser.
import { canonicalJson } from '../trust/index.js';
import type { AuditEventInput } from './types.js';

// JSON.stringify escapes only these (quote, backslash, controls; lone surrogates as \uXXXX):
// strings without any are written as they are, which is what JSON.stringify would produce.
const NEEDS_ESCAPE = /[\u0000-\u001f"\\\ud800-\udfff]/;
function q(v: string | number): string {
  if (typeof v === 'number') return JSON.stringify(v);
  return NEEDS_ESCAPE.test(v) ? JSON.stringify(v) : '"' + v + '"';
}

/** Canonical JSON of a validated event (see event.ts for validation). */
export function eventJson(e: AuditEventInput): string {
  // Sorted: decision, fields, kind, message, operation, policyDigest, process, redacted, rule, session, subject
  let s = '{';
  if (e.decision !== undefined) s += '"decision":' + q(e.decision) + ',';
  if (e.fields !== undefined) s += '"fields":' + canonicalJson(e.fields) + ',';
  s += '"kind":' + q(e.kind) + ',';
  if (e.message !== undefined) s += '"message":' + q(e.message) + ',';
  s += '"operation":' + q(e.operation) + ',';
  if (e.policyDigest !== undefined) s += '"policyDigest":' + q(e.policyDigest) + ',';
  const p = e.process;
  if (p !== undefined) {
    s += '"process":{';
    if (p.argv !== undefined) s += '"argv":' + argvJson(p.argv) + ',';
    if (p.exe !== undefined) s += '"exe":' + q(p.exe) + ',';
    s += '"pid":' + q(p.pid);
    if (p.ppid !== undefined) s += ',"ppid":' + q(p.ppid);
    s += '},';
  }
  if (e.redacted !== undefined) s += '"redacted":' + argvJson(e.redacted) + ',';
  if (e.rule !== undefined) s += '"rule":' + q(e.rule) + ',';
  s += '"session":' + q(e.session) + ',"subject":' + q(e.subject) + '}';
  return s;
}

function argvJson(a: string[]): string {
  let s = '[';
  for (let i = 0; i < a.length; i++) s += (i ? ',' : '') + q(a[i]!);
  return s + ']';
}

/** P of an entry whose payload JSON is already canonical. */
export function bodyPrefix(k: string, prev: string, seq: number, t: string, v: number, xJson: string): string {
  return '{"k":"' + k + '","prev":"' + prev + '","seq":' + seq + ',"t":"' + t + '","v":' + v + ',"x":' + xJson;
}
