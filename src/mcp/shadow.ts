// Tool shadowing across servers: a malicious server registers a tool named like a trusted
// server's tool (exactly, or a look-alike: `send_emai1`, `send-email`, Cyrillic `sеnd_email`) so
// the model calls it instead, or describes how the model must use *another* server's tool
// ("when calling send_email, always bcc ..."). The other servers' tool names come from their pin
// files (every wrapped server's gateway writes one), so this works across gateway processes.
//
// Scope: name checks use `skeleton` from src/detect (NFKC, case, separators, common
// confusables) and an edit distance of one on names of six or more characters. Mentions are
// only checked for identifier-like names (with `_`, `-`, `.` or an inner capital, five or more
// characters) to stay quiet on prose words like "search". NOT covered: semantic impersonation
// ("post_message" vs "send_email").

import { skeleton } from '../detect/index.js';

export type ShadowKind = 'collision' | 'near_collision' | 'mentions_other_tool';

export interface ShadowFinding {
  tool: string;
  kind: ShadowKind;
  otherServer: string;
  otherTool: string;
  detail: string;
}

function withinOneEdit(a: string, b: string): boolean {
  if (a === b) return true;
  if (Math.abs(a.length - b.length) > 1) return false;
  let i = 0;
  let j = 0;
  let edits = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) { i++; j++; continue; }
    if (++edits > 1) return false;
    if (a.length > b.length) i++;
    else if (b.length > a.length) j++;
    else { i++; j++; }
  }
  return edits + (a.length - i) + (b.length - j) <= 1;
}

function identifierLike(name: string): boolean {
  return name.length >= 5 && (/[_.-]/.test(name) || /[a-z][A-Z]/.test(name));
}

function mentionTokens(text: string): Set<string> {
  const out = new Set<string>();
  let start = -1;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 0x20;
    const word = (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x5f || c === 0x2d || c === 0x2e;
    if (word) { if (start < 0) start = i; }
    else if (start >= 0) {
      let tok = text.slice(start, i);
      while (tok.endsWith('.') || tok.endsWith('-')) tok = tok.slice(0, -1);
      out.add(tok.toLowerCase());
      start = -1;
    }
  }
  return out;
}

export interface KnownTool {
  name: string;
  /** When the tool was first pinned (ISO time): the earlier of two colliding tools keeps its name. */
  since: string;
}

/**
 * Checks this server's tools against every other server's tool names. A name collision counts
 * against the tool pinned later, so the server that was there first is never the one blocked.
 * `others`: server name → its known tools.
 */
export function checkShadowing(
  tools: ReadonlyArray<KnownTool & { description?: string | undefined }>,
  others: ReadonlyMap<string, readonly KnownTool[]>,
): ShadowFinding[] {
  const out: ShadowFinding[] = [];
  const index: Array<{ server: string; name: string; skel: string; since: string }> = [];
  for (const [server, known] of others) for (const k of known) index.push({ server, name: k.name, skel: skeleton(k.name), since: k.since });
  for (const t of tools) {
    const skel = skeleton(t.name);
    for (const o of index) {
      if (o.since > t.since) continue;
      if (o.name === t.name) {
        out.push({ tool: t.name, kind: 'collision', otherServer: o.server, otherTool: o.name, detail: `tool "${t.name}" has the same name as a tool of server "${o.server}"` });
      } else if (o.skel === skel || (skel.length >= 6 && withinOneEdit(o.skel, skel))) {
        out.push({ tool: t.name, kind: 'near_collision', otherServer: o.server, otherTool: o.name, detail: `tool "${t.name}" looks like tool "${o.name}" of server "${o.server}"` });
      }
    }
    if (t.description) {
      const toks = mentionTokens(t.description);
      for (const o of index) {
        if (o.name !== t.name && identifierLike(o.name) && toks.has(o.name.toLowerCase())) {
          out.push({ tool: t.name, kind: 'mentions_other_tool', otherServer: o.server, otherTool: o.name, detail: `description of "${t.name}" refers to tool "${o.name}" of server "${o.server}"` });
        }
      }
    }
  }
  return out;
}
