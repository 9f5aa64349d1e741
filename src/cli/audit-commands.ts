// `cordon audit ...`, `cordon keys ...`, and `cordon policy sign | verify`: the audit and trust
// parts' commands. The parts load lazily inside the actions (SQLite and OpenTelemetry are heavy).
// Results on stdout, diagnostics on stderr, `--json` for machines; exit 0 only when a check
// passed, 1 when it failed (chain or signature did not verify), 2 for bad input.
import type { Command } from 'commander';
import { EXIT } from './exit-codes.js';

const collect = (v: string, prev: string[]) => [...prev, v];

function usage(msg: string): Error {
  return Object.assign(new Error(msg), { exitCode: EXIT.USAGE });
}

function out(s: string): void {
  process.stdout.write(s.endsWith('\n') ? s : s + '\n');
}

interface VerifyCliOpts { key: string[]; keyEnv?: string; publicKey: string[]; allowOpen?: boolean; json?: boolean; exact?: boolean; head: string[] }
interface QueryCliOpts {
  db?: string; since?: string; until?: string; session?: string; kind: string[]; decision: string[];
  path?: string; domain?: string; limit: string; json?: boolean;
}

async function sessionFiles(): Promise<string[]> {
  const { stateDir } = await import('../audit/index.js');
  const { readdirSync } = await import('node:fs');
  const { join } = await import('node:path');
  const dir = join(stateDir(), 'sessions');
  try {
    return readdirSync(dir).filter((n) => n.endsWith('.jsonl')).sort().map((n) => join(dir, n));
  } catch {
    return [];
  }
}

/** Opens an index: the --db file (indexing FILES into it first), or an in-memory one over FILES. */
async function openIndex(files: string[], db: string | undefined) {
  const { AuditIndex, expandRotated } = await import('../audit/index.js');
  const { existsSync } = await import('node:fs');
  let inputs = files;
  if (inputs.length === 0 && !db) inputs = await sessionFiles();
  if (inputs.length === 0 && !db) throw usage('no audit files: name chain files, or --db INDEX (default place for session logs: the state dir\'s sessions/ folder, which is empty)');
  for (const f of inputs) if (!existsSync(f)) throw usage(`audit file ${f} does not exist`);
  const idx = AuditIndex.open(db ?? ':memory:');
  if (inputs.length) idx.addFiles([...new Set(inputs.flatMap((f) => expandRotated(f)))]);
  return idx;
}

export function registerAuditCommands(program: Command): void {
  const audit = program.command('audit').description('verify, show, query and summarise tamper-evident audit trails');

  audit
    .command('verify')
    .description('check an audit chain: exit 0 only if intact (every entry MAC-valid, in order, none missing, closed)')
    .argument('<files...>', 'chain files in order (rotated predecessors FILE.000000... are added automatically)')
    .option('--key <FILE>', 'HMAC key file (repeatable; default: the per-user key and its rotation archive)', collect, [])
    .option('--key-env <NAME>', 'environment variable holding the HMAC key')
    .option('--public-key <FILE>', 'check signed checkpoints with this Ed25519 public key (.pub or PEM); alone: no HMAC key needed', collect, [])
    .option('--allow-open', 'accept a chain without a close entry (a log that is still being written)')
    .option('--head <SEQ:MAC>', 'a chain head recorded elsewhere (OTLP export, earlier checkpoint) that must be present (repeatable)', collect, [])
    .option('--exact', 'check only the files named (no rotated predecessors)')
    .option('--json', 'machine-readable report')
    .action(async (files: string[], o: VerifyCliOpts) => {
      const a = await import('../audit/index.js');
      const keys: import('../audit/index.js').LoadedKey[] = [];
      let explicit = false;
      for (const f of o.key) { keys.push(a.readKeyFile(f)); explicit = true; }
      if (o.keyEnv) { keys.push(a.readKeyEnv(o.keyEnv)); explicit = true; }
      const publicKeys = new Map<string, import('node:crypto').KeyObject>();
      if (o.publicKey.length) {
        const { loadPublicKey } = await import('../trust/index.js');
        for (const f of o.publicKey) { const pk = loadPublicKey(f); publicKeys.set(pk.keyId, pk.key); }
      }
      if (!explicit && publicKeys.size === 0) {
        const d = a.defaultVerifierKeys();
        keys.push(...d.keys);
        for (const p of d.problems) process.stderr.write(`cordon: warning: ${p}\n`);
        if (keys.length === 0) throw usage(`no HMAC key found at ${a.defaultKeyFile()}; pass --key FILE (the key the writer used) or --public-key FILE (to check signed checkpoints)`);
      }
      const expectHeads = new Map<number, string>();
      for (const h of o.head) {
        const m = /^(\d+):([0-9a-f]{64}|[0-9a-f]{128})$/.exec(h);
        if (!m) throw usage(`--head takes SEQ:MAC (a sequence number and the hex MAC of that entry), got "${h}"`);
        expectHeads.set(Number(m[1]), m[2]!);
      }
      const r = await a.verifyChainFilesParallel(files, { keys, publicKeys, explicitKeys: explicit, allowOpen: !!o.allowOpen, exactFiles: !!o.exact, ...(expectHeads.size ? { expectHeads } : {}) });
      if (o.json) out(JSON.stringify(r, null, 2));
      else {
        out(r.summary);
        for (const n of r.notes) process.stderr.write(`cordon: note: ${n}\n`);
        if (r.checkpoints.total) process.stderr.write(`cordon: ${r.checkpoints.total} checkpoint(s), ${r.checkpoints.verified} signature(s) verified\n`);
      }
      process.exitCode = r.ok ? EXIT.OK : EXIT.CHECK_FAILED;
    });

  audit
    .command('show')
    .description('print the entries of chain files, one readable line each (does not verify: use `audit verify`)')
    .argument('<files...>', 'chain files')
    .option('--json', 'print each entry as a JSON line')
    .option('--all', 'include chain bookkeeping entries (genesis, checkpoint, resume, close)')
    .action(async (files: string[], o: { json?: boolean; all?: boolean }) => {
      const { scanLines } = await import('../audit/index.js');
      for (const f of files) {
        scanLines(f, {
          line: (buf, s, e, _off, lineNo) => {
            let entry: { k?: string; seq?: number; t?: string; x?: Record<string, unknown> };
            try { entry = JSON.parse(buf.toString('utf8', s, e)) as typeof entry; } catch { process.stderr.write(`cordon: ${f}:${lineNo}: not a JSON entry\n`); return; }
            if (!o.all && entry.k !== 'event') return;
            if (o.json) { out(JSON.stringify(entry)); return; }
            const x = entry.x ?? {};
            const what = entry.k === 'event'
              ? `${String(x.decision ?? '-').padEnd(11)} ${x.kind} ${x.operation} ${x.subject}${x.rule ? `  [${x.rule}]` : ''}${x.message ? `  "${x.message}"` : ''}  (session ${x.session}${(x.process as { pid?: number } | undefined)?.pid !== undefined ? `, pid ${(x.process as { pid: number }).pid}` : ''})`
              : `--- ${entry.k}`;
            out(`${entry.t} #${entry.seq} ${what}`);
          },
          overlong: (_off, lineNo, len) => { process.stderr.write(`cordon: ${f}:${lineNo}: line of ${len} bytes skipped\n`); },
        });
      }
    });

  audit
    .command('query')
    .description('search events by time, session, kind, decision, path or domain (through a SQLite index)')
    .argument('[files...]', 'chain files to search (default: the session logs in the state dir)')
    .option('--db <FILE>', 'SQLite index to use; FILES given are added to it first')
    .option('--since <TIME>', 'ISO 8601 time, or a duration back from now (15m, 2h, 7d)')
    .option('--until <TIME>', 'ISO 8601 time, or a duration back from now')
    .option('--session <ID>', 'only this session')
    .option('--kind <KIND>', 'file, exec, net, mcp, ... (repeatable)', collect, [])
    .option('--decision <D>', 'allow, deny, approve, ... (repeatable)', collect, [])
    .option('--path <PATH>', 'file/exec/socket subjects under PATH, or matching a glob with *')
    .option('--domain <HOST>', 'network events to HOST or its subdomains')
    .option('--limit <N>', 'at most N events', '1000')
    .option('--json', 'JSON array output')
    .action(async (files: string[], o: QueryCliOpts) => {
      const { parseTime } = await import('../audit/index.js');
      const limit = Number(o.limit);
      if (!Number.isInteger(limit) || limit < 1) throw usage(`--limit takes a positive whole number (got "${o.limit}")`);
      const filter = {
        ...(o.since ? { since: parseTime(o.since) } : {}), ...(o.until ? { until: parseTime(o.until) } : {}),
        ...(o.session ? { session: o.session } : {}), kind: o.kind, decision: o.decision,
        ...(o.path ? { path: o.path } : {}), ...(o.domain ? { domain: o.domain } : {}), limit,
      };
      const idx = await openIndex(files, o.db);
      try {
        const rows = idx.query(filter);
        if (o.json) out(JSON.stringify(rows, null, 2));
        else for (const r of rows) out(`${r.t} ${String(r.decision ?? '-').padEnd(11)} ${r.kind} ${r.operation} ${r.subject}${r.rule ? `  [${r.rule}]` : ''}  (session ${r.session})`);
        if (!o.json) process.stderr.write(`cordon: ${rows.length} event(s)${rows.length === limit ? ' (limit reached; use --limit)' : ''}\n`);
      } finally {
        idx.close();
      }
    });

  audit
    .command('report')
    .description('a readable summary of one session: what ran, what was denied, where it connected')
    .argument('<session>', 'session id')
    .argument('[files...]', 'chain files (default: the session\'s log in the state dir)')
    .option('--db <FILE>', 'SQLite index to use')
    .option('--json', 'JSON output')
    .action(async (session: string, files: string[], o: { db?: string; json?: boolean }) => {
      const { buildSessionReport, formatSessionReport, stateDir } = await import('../audit/index.js');
      let inputs = files;
      if (!inputs.length && !o.db) {
        const { existsSync } = await import('node:fs');
        const { join } = await import('node:path');
        const own = join(stateDir(), 'sessions', `${session}.jsonl`);
        inputs = existsSync(own) ? [own] : await sessionFiles();
      }
      const idx = await openIndex(inputs, o.db);
      try {
        const events = idx.query({ session, limit: 10_000_000 });
        if (events.length === 0) throw Object.assign(new Error(`no events for session ${session} in ${inputs.length ? inputs.join(', ') : o.db}`), { exitCode: EXIT.CHECK_FAILED });
        const r = buildSessionReport(session, events);
        out(o.json ? JSON.stringify(r, null, 2) : formatSessionReport(r));
      } finally {
        idx.close();
      }
    });

  audit
    .command('index')
    .description('add chain files to a SQLite index for fast queries (idempotent)')
    .argument('<files...>', 'chain files')
    .requiredOption('--db <FILE>', 'SQLite index file (created if missing)')
    .action(async (files: string[], o: { db: string }) => {
      const idx = await openIndex(files, o.db);
      idx.close();
      process.stderr.write(`cordon: indexed ${files.length} file(s) into ${o.db}\n`);
    });

  audit
    .command('rotate-key')
    .description('switch a chain to a new HMAC key: a rotation entry under the old key, then a new chain under the new one')
    .argument('<file>', 'the active chain file')
    .requiredOption('--new-key <FILE>', 'the new key file (mode 0600; create one with: head -c 32 /dev/urandom | xxd -p -c 64 > F)')
    .option('--key <FILE>', 'the current key (default: the per-user key)')
    .action(async (file: string, o: { newKey: string; key?: string }) => {
      const { openAuditLog } = await import('../audit/index.js');
      const w = await openAuditLog({ file, ...(o.key ? { key: { file: o.key } } : {}) });
      try {
        const old = w.keyFingerprint;
        await w.rotateKey({ file: o.newKey });
        out(`rotated ${file}: key ${old} → ${w.keyFingerprint}, new chain ${w.chain}; keep the old key to verify earlier entries`);
      } finally {
        await w.close();
      }
    });

  const keys = program.command('keys').description('Ed25519 signing keys for policies and audit checkpoints');
  keys
    .command('generate')
    .description('create a key pair: NAME.key (private, mode 0600) and NAME.pub (public, for trust stores)')
    .option('--out <NAME>', 'path without extension (default: the state dir\'s keys/signing)')
    .option('--label <TEXT>', 'who owns the key, shown in signatures and reports')
    .option('--expires <DATE>', 'ISO 8601 date after which verifiers refuse signatures by this key')
    .option('--json', 'JSON output')
    .action(async (o: { out?: string; label?: string; expires?: string; json?: boolean }) => {
      const { generateKeyPairFiles } = await import('../trust/index.js');
      let base = o.out;
      if (!base) {
        const { stateDir } = await import('../audit/index.js');
        const { join } = await import('node:path');
        base = join(stateDir(), 'keys', 'signing');
      }
      const k = generateKeyPairFiles(base, { ...(o.label ? { label: o.label } : {}), ...(o.expires ? { expires: o.expires } : {}) });
      if (o.json) out(JSON.stringify(k));
      else out(`key id ${k.keyId}\nprivate ${k.privateFile} (keep secret)\npublic  ${k.publicFile} (copy into trust stores)`);
    });
  keys
    .command('id')
    .description('print the key id (hex SHA-256 of the raw public key) of a key file')
    .argument('<file>', '.key, .pub or PEM file')
    .action(async (file: string) => {
      const t = await import('../trust/index.js');
      const { readFileSync } = await import('node:fs');
      const text = readFileSync(file, 'utf8');
      out(/PRIVATE KEY/.test(text) ? t.loadPrivateKey(file).keyId : t.parsePublicKey(text, file).keyId);
    });
}

/** `cordon policy sign` and `cordon policy verify`, added to the policy group by its owner. */
export function registerPolicyTrustCommands(policyCmd: Command): void {
  policyCmd
    .command('sign')
    .description('sign a policy file: writes FILE.sig (Ed25519, detached, JSON)')
    .argument('<file>', 'policy file')
    .requiredOption('--key <FILE>', 'private key (from `cordon keys generate`; mode 0600)')
    .option('--signer <LABEL>', 'who signs (default: the key\'s label from NAME.pub, else its id)')
    .option('--out <FILE>', 'signature file (default: FILE.sig)')
    .option('--json', 'JSON output')
    .action(async (file: string, o: { key: string; signer?: string; out?: string; json?: boolean }) => {
      const t = await import('../trust/index.js');
      const key = t.loadPrivateKey(o.key, { strict: true });
      let signer = o.signer;
      if (!signer) {
        try { signer = t.loadPublicKey(o.key.replace(/\.key$/, '') + '.pub').label ?? undefined; } catch { /* no .pub beside it */ }
      }
      const { sigFile, sig } = t.signPolicyFile(file, key, signer ?? key.keyId.slice(0, 16), o.out);
      out(o.json ? JSON.stringify({ sigFile, ...sig }) : `signed ${file} → ${sigFile} (key ${sig.keyId.slice(0, 16)}…, signer ${sig.signer})`);
    });

  policyCmd
    .command('verify')
    .description('check a policy signature against a trust store: exit 0 if signed by a trusted, unexpired key')
    .argument('<file>', 'policy file')
    .option('--trust-store <DIR>', 'directory of trusted public keys (default: $CORDON_TRUST_STORE)')
    .option('--trust-mode <MODE>', 'enforce (default with a store), warn or off (default: $CORDON_TRUST_MODE)')
    .option('--sig <FILE>', 'signature file (default: FILE.sig)')
    .option('--json', 'JSON output')
    .action(async (file: string, o: { trustStore?: string; trustMode?: string; sig?: string; json?: boolean }) => {
      const t = await import('../trust/index.js');
      const settings = t.resolveTrustSettings({ ...(o.trustStore ? { trustStore: o.trustStore } : {}), ...(o.trustMode ? { mode: o.trustMode } : {}) });
      if (!settings.trustStore) throw usage(`policy verify needs a trust store: pass --trust-store DIR or set ${t.TRUST_STORE_ENV}`);
      try {
        const r = t.verifyPolicyFile(file, { trustStore: settings.trustStore, mode: settings.mode, ...(o.sig ? { sigFile: o.sig } : {}) });
        for (const w of r.warnings) process.stderr.write(`cordon: warning: ${w}\n`);
        const { bytes: _b, ...rest } = r;
        if (o.json) out(JSON.stringify({ file, ...rest }));
        else out(r.verified ? `OK: ${file} is signed by ${r.signer} (key ${r.keyId!.slice(0, 16)}…), trusted by ${settings.trustStore}` : `NOT VERIFIED (${settings.mode} mode): ${file}`);
        process.exitCode = r.verified ? EXIT.OK : EXIT.CHECK_FAILED;
      } catch (e) {
        if (e instanceof t.TrustError && e.code !== 'usage' && e.code !== 'io' && e.code !== 'trust-store') {
          if (o.json) out(JSON.stringify({ file, verified: false, code: e.code, error: e.message }));
          else out(`FAILED (${e.code}): ${e.message}`);
          process.exitCode = EXIT.CHECK_FAILED;
          return;
        }
        throw e;
      }
    });
}
