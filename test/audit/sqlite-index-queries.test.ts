// The SQLite index: fed live by the writer (forwarder) or from files (idempotent), and queried
// by time, session, kind, decision, path and domain.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { AuditIndex, hostOf, openAuditLog, sqliteForwarder } from '../../src/audit/index.js';
import { writeHmacKey } from './helpers/chain.js';
import { tempDir } from './helpers/tmp.js';

test('the writer indexes committed events; re-indexing the file adds nothing twice; filters select exactly', async (t) => {
  const dir = tempDir(t);
  const db = join(dir, 'idx.sqlite');
  const file = join(dir, 'a.jsonl');
  const w = await openAuditLog({ file, key: { file: writeHmacKey(join(dir, 'k')) }, forwarders: [sqliteForwarder(db)] });
  await w.append({ kind: 'file', operation: 'read', subject: '/srv/app/config.yml', decision: 'allow', session: 'a' });
  await w.append({ kind: 'file', operation: 'write', subject: '/srv/app_other/x', decision: 'deny', session: 'a' });
  await w.append({ kind: 'net', operation: 'connect', subject: '[2001:db8::1]:443', decision: 'allow', session: 'b' });
  await w.append({ kind: 'http', operation: 'GET', subject: 'https://api.example.invalid/v1/x', decision: 'deny', session: 'b' });
  await w.append({ kind: 'net', operation: 'connect', subject: 'notexample.invalid:80', decision: 'allow', session: 'b' });
  await w.close();
  const idx = AuditIndex.open(db);
  t.after(() => idx.close());
  const subjects = (f: Parameters<AuditIndex['query']>[0]) => idx.query(f).map((e) => e.subject);
  assert.equal(idx.query({}).length, 5);
  assert.deepEqual(idx.addFiles([file]), { events: 5, skipped: 0 });
  assert.equal(idx.query({}).length, 5, 'indexing the same entries again adds no rows');
  assert.deepEqual(subjects({ path: '/srv/app' }), ['/srv/app/config.yml'], 'a path prefix is a directory, not a string prefix');
  assert.deepEqual(subjects({ path: '/srv/app_*' }), ['/srv/app_other/x'], '_ is literal, * is the wildcard');
  assert.deepEqual(subjects({ domain: 'example.invalid' }), ['https://api.example.invalid/v1/x'], 'subdomains match, lookalikes do not');
  assert.deepEqual(subjects({ domain: '2001:db8::1' }), ['[2001:db8::1]:443']);
  assert.deepEqual(subjects({ session: 'b', decision: ['deny'] }), ['https://api.example.invalid/v1/x']);
  assert.deepEqual(subjects({ kind: ['file'], decision: ['allow', 'deny'] }).length, 2);
  assert.deepEqual(subjects({ since: new Date(Date.now() + 60_000) }), []);
  assert.deepEqual(idx.sessions().map((s) => [s.session, s.events]), [['a', 2], ['b', 3]]);
});

test('host extraction for network-ish subjects', () => {
  assert.equal(hostOf('net', 'Example.COM:443', undefined), 'example.com');
  assert.equal(hostOf('net', '[::1]:53', undefined), '::1');
  assert.equal(hostOf('http', 'https://user@h.example/p?q', undefined), 'h.example');
  assert.equal(hostOf('llm', 'x', { host: 'api.openai.example' }), 'api.openai.example');
  assert.equal(hostOf('file', '/etc/hosts', undefined), null);
});
