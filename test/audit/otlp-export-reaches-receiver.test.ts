// OTLP export: a real OTLP/HTTP receiver (node http server on 127.0.0.1, JSON encoding) gets a
// log record and a span for each event, with the decision and chain position as attributes,
// and the signed checkpoint heads as log records. Control: with spans turned off, no span arrives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { openAuditLog, otlpForwarder } from '../../src/audit/index.js';
import { generateKeyPairFiles } from '../../src/trust/index.js';
import { writeHmacKey } from './helpers/chain.js';
import { tempDir } from './helpers/tmp.js';

interface Received { logs: Record<string, unknown>[]; spans: Record<string, unknown>[]; paths: string[] }

async function receiver(t: { after(fn: () => void): void }): Promise<{ url: string; got: Received }> {
  const got: Received = { logs: [], spans: [], paths: [] };
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      got.paths.push(`${req.method} ${req.url} ${req.headers['content-type']}`);
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown[]>;
      if (req.url === '/v1/logs') for (const rl of body.resourceLogs as { scopeLogs: { logRecords: Record<string, unknown>[] }[] }[]) for (const sl of rl.scopeLogs) got.logs.push(...sl.logRecords);
      if (req.url === '/v1/traces') for (const rs of body.resourceSpans as { scopeSpans: { spans: Record<string, unknown>[] }[] }[]) for (const ss of rs.scopeSpans) got.spans.push(...ss.spans);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, got };
}

function attrs(rec: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const a of (rec.attributes ?? []) as { key: string; value: Record<string, unknown> }[]) out[a.key] = Object.values(a.value)[0];
  return out;
}

test('each committed event reaches a real OTLP/HTTP receiver as a log record and a span', async (t) => {
  const dir = tempDir(t);
  const { url, got } = await receiver(t);
  const k = generateKeyPairFiles(join(dir, 'cp'));
  const otlp = await otlpForwarder({ endpoint: url, serviceName: 'cordon-test' });
  const w = await openAuditLog({ file: join(dir, 'a.jsonl'), key: { file: writeHmacKey(join(dir, 'k')) }, forwarders: [otlp], checkpoint: { signingKeyFile: k.privateFile, everyN: 2, everyMs: 0 } });
  await w.append({ kind: 'file', operation: 'read', subject: '/etc/passwd', decision: 'deny', rule: 'no-etc', session: 'sess-1', process: { pid: 42 } });
  await w.append({ kind: 'net', operation: 'connect', subject: 'api.example.invalid:443', decision: 'allow', session: 'sess-1' });
  await w.append({ kind: 'exec', operation: 'exec', subject: '/usr/bin/git', decision: 'allow', session: 'sess-1' });
  await w.close(); // flushes and shuts the OTel providers down
  assert.ok(got.paths.some((p) => p.startsWith('POST /v1/logs application/json')), got.paths.join('\n'));
  const logs = got.logs.map(attrs);
  const deny = logs.find((a) => a['cordon.subject'] === '/etc/passwd');
  assert.ok(deny, `no log record for the denied read; got ${JSON.stringify(logs)}`);
  assert.equal(deny['cordon.decision'], 'deny');
  assert.equal(deny['cordon.rule'], 'no-etc');
  assert.equal(deny['cordon.session'], 'sess-1');
  assert.equal(deny['cordon.seq'], 1);
  assert.match(String(deny['cordon.mac']), /^[0-9a-f]{64}$/);
  assert.equal(got.logs.find((r) => attrs(r)['cordon.subject'] === '/etc/passwd')!.severityText, 'WARN');
  assert.ok(logs.some((a) => a['cordon.entry'] === 'checkpoint' && /^[0-9a-f]{64}$/.test(String(a['cordon.checkpoint.d']))), 'checkpoint heads are exported');
  const spans: Record<string, unknown>[] = got.spans.map((s) => ({ name: s.name, ...attrs(s) }));
  assert.deepEqual(spans.map((s) => s['cordon.subject']).sort(), ['/etc/passwd', '/usr/bin/git', 'api.example.invalid:443']);
  assert.ok(spans.some((s) => s.name === 'cordon.file read'));
});

test('control: with spans off, logs arrive and no span does', async (t) => {
  const dir = tempDir(t);
  const { url, got } = await receiver(t);
  const otlp = await otlpForwarder({ endpoint: url, spans: false });
  const w = await openAuditLog({ file: join(dir, 'a.jsonl'), key: { file: writeHmacKey(join(dir, 'k')) }, forwarders: [otlp] });
  await w.append({ kind: 'file', operation: 'read', subject: '/x', decision: 'allow', session: 's' });
  await w.close();
  assert.deepEqual(got.logs.map((r) => attrs(r)['cordon.entry']), ['event', 'close']);
  assert.equal(got.spans.length, 0);
  assert.ok(!got.paths.some((p) => p.includes('/v1/traces')));
});
