// Cross-server data flow by content fingerprint: what a server returns is fingerprinted, and a
// call to another server whose arguments carry one of those fingerprints came from it. A rule's
// `flow.deny_from` names the servers whose data may not flow into the calls it covers (e.g. data
// read from a private repository must not reach a public issue tracker or an e-mail tool).
//
// Fingerprints: every long token (>= 16 characters: keys, ids, hashes, secrets) and a sample of
// 6-word shingles (one in four, by hash, so the sample is the same on both sides). A copied
// secret or a copied sentence of some length is caught; paraphrase, re-encoding (base64,
// translation) and very short snippets are NOT. Text is normalised first (src/detect), so
// invisible characters and case do not break the match.
//
// Storage: each gateway appends its server's fingerprints to `<state>/taint/<server>.fp`
// (hex, one per line) and reads other servers' files incrementally (only new bytes, on size
// change), since each wrapped server runs in its own gateway process.

import { appendFileSync, closeSync, mkdirSync, openSync, readSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { normalizeText } from '../detect/index.js';
import { globMatch } from './glob.js';

const SHINGLE = 6;
const LONG_TOKEN = 16;
const MAX_PER_TEXT = 20_000;

// FNV-1a, 32-bit, twice with different offsets for a 64-bit-ish key as hex. Fast and stable.
function fnv(s: string, seed: number): number {
  let h = seed >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}
function key(s: string): string {
  return fnv(s, 0x811c9dc5).toString(16).padStart(8, '0') + fnv(s, 0x2f6b1a3d).toString(16).padStart(8, '0');
}

function tokens(text: string): string[] {
  const t = normalizeText(text).toLowerCase();
  const out: string[] = [];
  let start = -1;
  for (let i = 0; i <= t.length; i++) {
    const c = i < t.length ? t.charCodeAt(i) : 0x20;
    const word = (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x5f || c === 0x2d || c === 0x2b || c === 0x2f || c === 0x3d || c >= 0x80;
    if (word) { if (start < 0) start = i; }
    else if (start >= 0) { out.push(t.slice(start, i)); start = -1; }
  }
  return out;
}

/** Fingerprints of a text (deduplicated). */
export function fingerprints(text: string): string[] {
  const toks = tokens(text);
  const out = new Set<string>();
  for (const tok of toks) {
    if (tok.length >= LONG_TOKEN) out.add(key(`t:${tok}`));
    if (out.size >= MAX_PER_TEXT) return [...out];
  }
  for (let i = 0; i + SHINGLE <= toks.length; i++) {
    const sh = toks.slice(i, i + SHINGLE).join(' ');
    const k = key(`s:${sh}`);
    if (parseInt(k.slice(-1), 16) % 4 === 0) out.add(k);
    if (out.size >= MAX_PER_TEXT) break;
  }
  return [...out];
}

/** Collects every string in a JSON value (arguments), joined so shingles span fields. */
export function textOf(v: unknown, out: string[] = [], depth = 0): string[] {
  if (depth > 64) return out;
  if (typeof v === 'string') out.push(v);
  else if (Array.isArray(v)) for (const x of v) textOf(x, out, depth + 1);
  else if (v !== null && typeof v === 'object') for (const x of Object.values(v)) textOf(x, out, depth + 1);
  return out;
}

interface Loaded { offset: number; set: Set<string> }

export class TaintStore {
  private readonly dir: string;
  private readonly loaded = new Map<string, Loaded>();
  private readonly own = new Set<string>();

  constructor(stateDir: string, private readonly server: string) {
    this.dir = join(stateDir, 'taint');
  }

  /** Records what this server returned. */
  record(text: string): void {
    const fps = fingerprints(text).filter((f) => !this.own.has(f));
    if (fps.length === 0) return;
    for (const f of fps) this.own.add(f);
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    appendFileSync(join(this.dir, `${this.server}.fp`), fps.join('\n') + '\n', { mode: 0o600 });
  }

  private refresh(server: string): Set<string> {
    const file = join(this.dir, `${server}.fp`);
    let l = this.loaded.get(server);
    if (!l) { l = { offset: 0, set: new Set() }; this.loaded.set(server, l); }
    let size: number;
    try { size = statSync(file).size; } catch { return l.set; }
    if (size <= l.offset) return l.set;
    const fd = openSync(file, 'r');
    try {
      const buf = Buffer.alloc(size - l.offset);
      readSync(fd, buf, 0, buf.length, l.offset);
      const text = buf.toString('latin1');
      const lastNl = text.lastIndexOf('\n');
      for (const line of text.slice(0, lastNl + 1).split('\n')) if (line.length > 0) l.set.add(line);
      l.offset += lastNl + 1; // a half-written last line is read next time
    } finally {
      closeSync(fd);
    }
    return l.set;
  }

  /**
   * Returns the first server (matching one of `fromGlobs`, other than this one) whose returned
   * content appears in `args`, or undefined.
   */
  flowFrom(args: unknown, fromGlobs: readonly string[]): string | undefined {
    if (fromGlobs.length === 0) return undefined;
    let servers: string[];
    try {
      servers = readdirSync(this.dir).filter((n) => n.endsWith('.fp')).map((n) => n.slice(0, -3));
    } catch {
      return undefined; // nothing recorded yet by anyone
    }
    const candidates = servers.filter((s) => s !== this.server && fromGlobs.some((g) => globMatch(g, s)));
    if (candidates.length === 0) return undefined;
    const fps = fingerprints(textOf(args).join('\n'));
    if (fps.length === 0) return undefined;
    for (const s of candidates) {
      const set = this.refresh(s);
      if (fps.some((f) => set.has(f))) return s;
    }
    return undefined;
  }
}
