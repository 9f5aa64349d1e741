// Canonical JSON: one byte string per value, so a signature or MAC computed by one program can be
// recomputed by another. Rules: object keys sorted by UTF-16 code unit order (JavaScript's
// default sort, as in RFC 8785), no whitespace, strings and numbers as JSON.stringify writes them.
// Anything JSON cannot round-trip is rejected rather than silently changed: non-finite numbers,
// bigint, functions, symbols, undefined array items, class instances (Date, Map, Buffer, ...),
// and cycles. Object properties whose value is undefined are omitted (as JSON.stringify does),
// because optional fields are routinely absent-or-undefined in TypeScript.

export class CanonicalJsonError extends Error {
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = 'CanonicalJsonError';
  }
}

/** Serialises `value` canonically; throws CanonicalJsonError on values JSON cannot represent. */
export function canonicalJson(value: unknown): string {
  return write(value, '$', new Set());
}

function write(v: unknown, at: string, seen: Set<object>): string {
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v);
    case 'number':
      if (!Number.isFinite(v)) throw new CanonicalJsonError(`${at}: number ${v} is not finite; JSON cannot represent it`);
      return JSON.stringify(v);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'object': {
      if (v === null) return 'null';
      if (seen.has(v)) throw new CanonicalJsonError(`${at}: cyclic reference`);
      if (Array.isArray(v)) {
        seen.add(v);
        let s = '[';
        for (let i = 0; i < v.length; i++) {
          const item: unknown = v[i];
          if (item === undefined) throw new CanonicalJsonError(`${at}[${i}]: undefined is not a JSON value`);
          s += (i === 0 ? '' : ',') + write(item, `${at}[${i}]`, seen);
        }
        seen.delete(v);
        return s + ']';
      }
      const proto = Object.getPrototypeOf(v);
      if (proto !== Object.prototype && proto !== null) {
        const name = (v as { constructor?: { name?: string } }).constructor?.name ?? 'object';
        throw new CanonicalJsonError(`${at}: ${name} is not a plain object; convert it to JSON data first`);
      }
      seen.add(v);
      const obj = v as Record<string, unknown>;
      const keys = Object.keys(obj).sort();
      let s = '{';
      let first = true;
      for (const k of keys) {
        const item = obj[k];
        if (item === undefined) continue;
        s += (first ? '' : ',') + JSON.stringify(k) + ':' + write(item, `${at}.${k}`, seen);
        first = false;
      }
      seen.delete(v);
      return s + '}';
    }
    default:
      throw new CanonicalJsonError(`${at}: ${typeof v} is not a JSON value`);
  }
}
