// Parsing policy YAML safely: size cap, alias-bomb cap, nesting cap, and a way back from a key
// path to the line and column it came from.
import { isMap, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import { PolicyError, policyError } from './errors.js';

export const MAX_POLICY_BYTES = 1024 * 1024;
const MAX_ALIASES = 100;
const MAX_DEPTH = 64;

export interface ParsedSource {
  file: string;
  doc: Document;
  lines: LineCounter;
  data: unknown;
}

export function parsePolicyText(text: string, file: string): ParsedSource {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_POLICY_BYTES) {
    throw policyError(file, `the file is ${bytes} bytes; a policy may be at most ${MAX_POLICY_BYTES} bytes (1 MiB). Split it with \`extends:\``);
  }
  if (text.indexOf('\u0000') >= 0) throw policyError(file, 'the file contains NUL bytes; a policy is UTF-8 YAML text');
  const lines = new LineCounter();
  let doc: Document;
  try {
    doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false, strict: true });
  } catch (e) {
    throw policyError(file, `the YAML parser failed (${(e as Error).message})`);
  }
  if (doc.errors.some((e) => /call stack/i.test(e.message))) {
    throw policyError(file, `the document is nested too deeply to be a policy (at most ${MAX_DEPTH} levels)`);
  }
  if (doc.errors.length > 0) {
    throw new PolicyError(
      doc.errors.slice(0, 5).map((err) => {
        const pos = lines.linePos(err.pos[0]);
        return { file, path: [], line: pos.line, col: pos.col, message: `malformed YAML: ${firstLine(err.message)}` };
      }),
    );
  }
  if (doc.contents === null) {
    throw policyError(file, 'the file is empty; a policy needs at least `version: 1` and `name:`');
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIASES });
  } catch (e) {
    const why = e instanceof RangeError ? 'it is nested too deeply' : firstLine((e as Error).message);
    throw policyError(file, `the YAML cannot be used as a policy: ${why} (anchors and aliases may expand at most ${MAX_ALIASES} times)`);
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw policyError(file, 'the top level must be a mapping of keys (version, name, file_rules, ...)', [], 1, 1);
  }
  const depth = nestingDepth(data, 0);
  if (depth > MAX_DEPTH) throw policyError(file, `the document is nested ${depth} levels deep; at most ${MAX_DEPTH} are allowed`);
  return { file, doc, lines, data };
}

function firstLine(s: string): string {
  const i = s.indexOf('\n');
  return (i >= 0 ? s.slice(0, i) : s).trim();
}

function nestingDepth(v: unknown, d: number): number {
  if (d > MAX_DEPTH) return d;
  if (v === null || typeof v !== 'object') return d;
  let m = d + 1;
  for (const c of Array.isArray(v) ? v : Object.values(v)) m = Math.max(m, nestingDepth(c, d + 1));
  return m;
}

/** Line and column of the node at `path` (of the key itself when `key` is given). */
export function locate(src: ParsedSource, path: (string | number)[], key?: string): { line: number; col: number } | undefined {
  let node: unknown = src.doc.contents;
  let offset: number | undefined = (node as { range?: number[] } | null)?.range?.[0];
  const steps = key === undefined ? path : [...path, key];
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i]!;
    if (isMap(node)) {
      const pair = node.items.find((p) => (p.key as { value?: unknown } | null)?.value === step);
      if (!pair) break;
      const isLast = i === steps.length - 1;
      const keyNode = pair.key as { range?: number[] };
      offset = keyNode.range?.[0] ?? offset;
      if (isLast && key !== undefined) break;
      node = pair.value;
      const r = (node as { range?: number[] } | null)?.range?.[0];
      if (r !== undefined && !(isLast && key !== undefined)) offset = isMap(node) || isSeq(node) ? offset : r;
    } else if (isSeq(node) && typeof step === 'number') {
      node = node.items[step];
      offset = (node as { range?: number[] } | null)?.range?.[0] ?? offset;
    } else break;
  }
  return offset === undefined ? undefined : src.lines.linePos(offset);
}
