// The SQLite index: a derived, rebuildable copy of event entries for queries (`cordon audit
// query`, `report`). The JSONL chain stays the record of truth: the index is not tamper-evident
// and verify never reads it. Rows are keyed by (chain, seq), so indexing a file twice is harmless.
import { createRequire } from 'node:module';
import { AuditError } from './errors.js';
import { scanLines } from './scan.js';
import type { AuditEntry, AuditForwarder } from './types.js';

// Minimal typing of the better-sqlite3 surface used here (the package ships no types).
interface Statement { run(...a: unknown[]): unknown; all(...a: unknown[]): unknown[]; get(...a: unknown[]): unknown }
interface Db {
  prepare(sql: string): Statement;
  exec(sql: string): void;
  pragma(p: string): unknown;
  transaction<A extends unknown[]>(fn: (...a: A) => void): (...a: A) => void;
  close(): void;
}
type DbCtor = new (file: string, opts?: { readonly?: boolean; fileMustExist?: boolean }) => Db;

let ctor: DbCtor | null = null;
function sqlite(): DbCtor {
  if (!ctor) ctor = createRequire(import.meta.url)('better-sqlite3') as DbCtor;
  return ctor;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS events (
  chain TEXT NOT NULL, seq INTEGER NOT NULL, t TEXT NOT NULL, ts INTEGER NOT NULL,
  kind TEXT NOT NULL, operation TEXT NOT NULL, subject TEXT NOT NULL, host TEXT,
  decision TEXT, rule TEXT, message TEXT, session TEXT NOT NULL, policy_digest TEXT,
  pid INTEGER, exe TEXT, argv TEXT, fields TEXT, redacted TEXT, file TEXT,
  PRIMARY KEY (chain, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS events_ts ON events (ts);
CREATE INDEX IF NOT EXISTS events_session ON events (session, ts);
CREATE INDEX IF NOT EXISTS events_kind ON events (kind, decision);
CREATE INDEX IF NOT EXISTS events_subject ON events (subject);
CREATE INDEX IF NOT EXISTS events_host ON events (host);
`;

export interface IndexedEvent {
  chain: string; seq: number; t: string; kind: string; operation: string; subject: string; host: string | null;
  decision: string | null; rule: string | null; message: string | null; session: string; policyDigest: string | null;
  pid: number | null; exe: string | null; argv: string[] | null; fields: Record<string, unknown> | null; redacted: string[] | null;
  file: string | null;
}

export interface QueryFilter {
  since?: Date; until?: Date; session?: string; kind?: string[]; decision?: string[];
  /** Path prefix, or a glob with `*` (any run of characters, including `/`). */
  path?: string;
  /** Host name: matches the host and its subdomains. */
  domain?: string;
  limit?: number;
}

/** Host of a network-ish event: `host:port`, `[v6]:port`, a URL, or fields.host. */
export function hostOf(kind: string, subject: string, fields: Record<string, unknown> | undefined): string | null {
  if (typeof fields?.host === 'string') return fields.host.toLowerCase();
  if (kind !== 'net' && kind !== 'http' && kind !== 'llm') return null;
  let s = subject;
  const url = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]+)/i.exec(s);
  if (url) s = url[1]!.replace(/^.*@/, '');
  const v6 = /^\[([^\]]+)\](?::\d+)?$/.exec(s);
  if (v6) return v6[1]!.toLowerCase();
  const hp = /^([^:/]+)(?::\d+)?(?:\/.*)?$/.exec(s);
  return hp ? hp[1]!.toLowerCase() : null;
}

export class AuditIndex {
  private readonly ins: Statement;
  private readonly insertMany: (rows: unknown[][]) => void;

  private constructor(private readonly db: Db) {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.exec(SCHEMA);
    this.ins = db.prepare('INSERT OR IGNORE INTO events VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)');
    this.insertMany = db.transaction((rows: unknown[][]) => { for (const r of rows) this.ins.run(...r); });
  }

  static open(file: string): AuditIndex {
    try {
      return new AuditIndex(new (sqlite())(file));
    } catch (e) {
      if (e instanceof AuditError) throw e;
      throw new AuditError('write-failed', `cannot open the audit index ${file}: ${(e as Error).message}`, { cause: e });
    }
  }

  /** Indexes the event entries among `entries`. */
  add(entries: readonly AuditEntry[], chain: string, file: string | null): number {
    const rows: unknown[][] = [];
    for (const e of entries) {
      if (e.k !== 'event') continue;
      const x = e.x as Record<string, unknown> & { process?: { pid?: number; exe?: string; argv?: string[] }; fields?: Record<string, unknown> };
      const ts = Date.parse(e.t);
      rows.push([
        chain, e.seq, e.t, Number.isFinite(ts) ? ts : 0, String(x.kind), String(x.operation), String(x.subject),
        hostOf(String(x.kind), String(x.subject), x.fields), x.decision ?? null, x.rule ?? null, x.message ?? null, String(x.session),
        x.policyDigest ?? null, x.process?.pid ?? null, x.process?.exe ?? null, x.process?.argv ? JSON.stringify(x.process.argv) : null,
        x.fields ? JSON.stringify(x.fields) : null, x.redacted ? JSON.stringify(x.redacted) : null, file,
      ]);
    }
    if (rows.length) this.insertMany(rows);
    return rows.length;
  }

  /**
   * Indexes chain files (read as JSONL; lines that are not entries are skipped). Run
   * `cordon audit verify` first if the index must only hold verified entries.
   */
  addFiles(files: string[]): { events: number; skipped: number } {
    let events = 0;
    let skipped = 0;
    for (const f of files) {
      let chain = '';
      let batch: AuditEntry[] = [];
      const flush = (): void => { events += this.add(batch, chain, f); batch = []; };
      scanLines(f, {
        line: (buf, s, e) => {
          let entry: AuditEntry;
          try { entry = JSON.parse(buf.toString('utf8', s, e)) as AuditEntry; } catch { skipped++; return; }
          if (!entry || typeof entry !== 'object' || typeof entry.k !== 'string' || !entry.x) { skipped++; return; }
          if ((entry.k === 'genesis' || entry.k === 'segment') && typeof entry.x.chain === 'string') { flush(); chain = entry.x.chain; }
          batch.push(entry);
          if (batch.length >= 5000) flush();
        },
        overlong: () => { skipped++; },
      });
      flush();
    }
    return { events, skipped };
  }

  query(f: QueryFilter): IndexedEvent[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (f.since) { where.push('ts >= ?'); args.push(f.since.getTime()); }
    if (f.until) { where.push('ts <= ?'); args.push(f.until.getTime()); }
    if (f.session) { where.push('session = ?'); args.push(f.session); }
    if (f.kind?.length) { where.push(`kind IN (${f.kind.map(() => '?').join(',')})`); args.push(...f.kind); }
    if (f.decision?.length) { where.push(`decision IN (${f.decision.map(() => '?').join(',')})`); args.push(...f.decision); }
    if (f.path) {
      if (f.path.includes('*')) { where.push("subject LIKE ? ESCAPE '\\'"); args.push(f.path.replace(/[\\%_]/g, (c) => '\\' + c).replace(/\*+/g, '%')); }
      else { const p = f.path.replace(/\/+$/, '') || '/'; where.push("(subject = ? OR subject LIKE ? ESCAPE '\\')"); args.push(p, p.replace(/[\\%_]/g, (c) => '\\' + c) + (p === '/' ? '%' : '/%')); }
      where.push("kind IN ('file','exec','unix_socket')");
    }
    if (f.domain) {
      const d = f.domain.toLowerCase().replace(/\.$/, '');
      where.push("(host = ? OR host LIKE ? ESCAPE '\\')");
      args.push(d, '%.' + d.replace(/[\\%_]/g, (c) => '\\' + c));
    }
    const sql = `SELECT * FROM events ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY ts, chain, seq LIMIT ?`;
    args.push(f.limit ?? 1000);
    return (this.db.prepare(sql).all(...args) as Record<string, unknown>[]).map(rowToEvent);
  }

  sessions(): { session: string; first: string; last: string; events: number }[] {
    return this.db.prepare('SELECT session, MIN(t) AS first, MAX(t) AS last, COUNT(*) AS events FROM events GROUP BY session ORDER BY first').all() as { session: string; first: string; last: string; events: number }[];
  }

  close(): void { this.db.close(); }
}

function rowToEvent(r: Record<string, unknown>): IndexedEvent {
  const j = <T>(v: unknown): T | null => (typeof v === 'string' ? (JSON.parse(v) as T) : null);
  return {
    chain: r.chain as string, seq: r.seq as number, t: r.t as string, kind: r.kind as string, operation: r.operation as string,
    subject: r.subject as string, host: (r.host as string | null) ?? null, decision: (r.decision as string | null) ?? null,
    rule: (r.rule as string | null) ?? null, message: (r.message as string | null) ?? null, session: r.session as string,
    policyDigest: (r.policy_digest as string | null) ?? null, pid: (r.pid as number | null) ?? null, exe: (r.exe as string | null) ?? null,
    argv: j<string[]>(r.argv), fields: j<Record<string, unknown>>(r.fields), redacted: j<string[]>(r.redacted), file: (r.file as string | null) ?? null,
  };
}

/** A forwarder that indexes committed events as the writer commits them. */
export function sqliteForwarder(dbFile: string): AuditForwarder {
  const idx = AuditIndex.open(dbFile);
  return {
    write(entries, chain) { idx.add(entries, chain, null); },
    close() { idx.close(); return Promise.resolve(); },
  };
}

/** Parses --since/--until: ISO 8601, or a duration back from now (`90s`, `15m`, `2h`, `7d`). */
export function parseTime(v: string, now = Date.now()): Date {
  const rel = /^(\d+)(s|m|h|d)$/.exec(v.trim());
  if (rel) return new Date(now - Number(rel[1]) * { s: 1e3, m: 6e4, h: 36e5, d: 864e5 }[rel[2] as 's' | 'm' | 'h' | 'd']);
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw new AuditError('invalid-event', `"${v}" is not a time: use ISO 8601 (2026-11-22T10:00:00Z) or a duration back from now (15m, 2h, 7d)`);
  return new Date(t);
}
