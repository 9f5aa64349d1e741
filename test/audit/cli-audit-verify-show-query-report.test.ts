// The built CLI with real flags: audit verify (exit 0 only for an intact chain, 1 otherwise, the
// default key found without flags), show, query filters, report.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openAuditLog } from '../../src/audit/index.js';
import { buildChain } from './helpers/chain.js';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/tmp.js';

async function sessionLog(dir: string): Promise<{ file: string; env: NodeJS.ProcessEnv }> {
  const env = { XDG_STATE_HOME: join(dir, 'state') };
  process.env.XDG_STATE_HOME = env.XDG_STATE_HOME;
  const file = join(dir, 'state', 'cordon', 'sessions', 'sess-7.jsonl');
  const w = await openAuditLog({ file }); // default key, created in the state dir
  const s = 'sess-7';
  await w.append({ kind: 'session', operation: 'start', subject: s, session: s, fields: { argv: ['npm', 'test'], policy: 'agent-default' } });
  await w.append({ kind: 'exec', operation: 'exec', subject: '/usr/bin/npm', decision: 'allow', rule: 'dev-tools', session: s, process: { pid: 10, argv: ['npm', 'test'] } });
  await w.append({ kind: 'file', operation: 'read', subject: '/home/u/.ssh/id_ed25519', decision: 'deny', rule: 'no-ssh-keys', message: 'SSH keys are off limits', session: s });
  await w.append({ kind: 'file', operation: 'write', subject: '/work/proj/out.txt', decision: 'allow', session: s });
  await w.append({ kind: 'net', operation: 'connect', subject: 'registry.example.test:443', decision: 'allow', session: s });
  await w.append({ kind: 'net', operation: 'connect', subject: 'evil.example.invalid:443', decision: 'deny', rule: 'egress', session: s });
  await w.append({ kind: 'file', operation: 'read', subject: '/etc/hosts', decision: 'allow', session: 'other' });
  await w.append({ kind: 'session', operation: 'end', subject: s, session: s, fields: { exitCode: 3 } });
  await w.close();
  return { file, env };
}

test('audit verify finds the default key, exits 0 for an intact chain and 1 with the first bad entry otherwise', async (t) => {
  const dir = tempDir(t);
  const { file, env } = await sessionLog(dir);
  const ok = runCli(['audit', 'verify', file], env);
  assert.equal(ok.status, 0, ok.stderr + ok.stdout);
  assert.match(ok.stdout, /^OK: 10 entries \(8 events\)/);
  const j = runCli(['audit', 'verify', file, '--json'], env);
  assert.equal((JSON.parse(j.stdout) as { status: string }).status, 'intact');
  writeFileSync(file, readFileSync(file, 'utf8').replace('"decision":"deny","kind":"file"', '"decision":"allow","kind":"file"'));
  const bad = runCli(['audit', 'verify', file], env);
  assert.equal(bad.status, 1);
  assert.match(bad.stdout, /FAILED \(edited\): entry 3 was edited/);
  const missing = runCli(['audit', 'verify', file], { XDG_STATE_HOME: join(dir, 'elsewhere') });
  assert.equal(missing.status, 2, 'no key anywhere is a usage error, not a pass');
  assert.match(missing.stderr, /no HMAC key found/);
});

test('audit verify --public-key checks signed checkpoints without the HMAC secret', async (t) => {
  const dir = tempDir(t);
  const c = await buildChain(dir, 10, 3);
  const r = runCli(['audit', 'verify', c.file, '--public-key', c.pubFile], { XDG_STATE_HOME: join(dir, 'nokeys') });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /signed checkpoints \(public key only\)/);
  const wrong = runCli(['audit', 'verify', c.file, '--key', join(dir, 'signer.key')], {});
  assert.equal(wrong.status, 2, 'an Ed25519 PEM given as HMAC key is refused as bad input');
});

test('audit show, query filters and report read the session log', async (t) => {
  const dir = tempDir(t);
  const { file, env } = await sessionLog(dir);
  const show = runCli(['audit', 'show', file], env);
  assert.equal(show.status, 0);
  assert.equal(show.stdout.trim().split('\n').length, 8);
  const q = (args: string[]) => {
    const r = runCli(['audit', 'query', file, '--json', ...args], env);
    assert.equal(r.status, 0, r.stderr);
    return (JSON.parse(r.stdout) as { subject: string }[]).map((e) => e.subject);
  };
  assert.deepEqual(q(['--decision', 'deny']), ['/home/u/.ssh/id_ed25519', 'evil.example.invalid:443']);
  assert.deepEqual(q(['--kind', 'net', '--domain', 'example.test']), ['registry.example.test:443']);
  assert.deepEqual(q(['--path', '/work/proj']), ['/work/proj/out.txt']);
  assert.deepEqual(q(['--path', '/home/*/.ssh/*']), ['/home/u/.ssh/id_ed25519']);
  assert.deepEqual(q(['--session', 'other']), ['/etc/hosts']);
  assert.deepEqual(q(['--until', '2000-01-01']), []);
  assert.equal(q(['--since', '1h']).length, 8);
  // Default input: the session logs in the state dir.
  assert.equal((JSON.parse(runCli(['audit', 'query', '--json', '--kind', 'exec'], env).stdout) as unknown[]).length, 1);
  const badTime = runCli(['audit', 'query', file, '--since', 'yesterday-ish'], env);
  assert.equal(badTime.status, 2);
  const db = join(dir, 'idx.sqlite');
  assert.equal(runCli(['audit', 'index', file, '--db', db], env).status, 0);
  assert.equal((JSON.parse(runCli(['audit', 'query', '--db', db, '--json', '--decision', 'deny'], env).stdout) as unknown[]).length, 2);

  const rep = runCli(['audit', 'report', 'sess-7'], env);
  assert.equal(rep.status, 0, rep.stderr);
  assert.match(rep.stdout, /command: {2}npm test/);
  assert.match(rep.stdout, /exit: {5}3/);
  assert.match(rep.stdout, /Denied:\n.*file read \/home\/u\/\.ssh\/id_ed25519 {2}\[rule no-ssh-keys\] {2}"SSH keys are off limits"\n.*net connect evil\.example\.invalid:443/);
  assert.match(rep.stdout, /evil\.example\.invalid {2}1 connection, 1 denied/);
  assert.equal(runCli(['audit', 'report', 'no-such-session', file], env).status, 1);
});

test('audit rotate-key switches the chain to a new key; verify needs both keys', async (t) => {
  const { buildChain, writeHmacKey } = await import('./helpers/chain.js');
  const { join: j } = await import('node:path');
  const dir = tempDir(t);
  const c = await buildChain(dir, 3);
  const k2 = writeHmacKey(j(dir, 'k2'));
  const rot = runCli(['audit', 'rotate-key', c.file, '--key', c.keyFile, '--new-key', k2]);
  assert.equal(rot.status, 0, rot.stderr);
  assert.match(rot.stdout, /^rotated .*: key [0-9a-f]{32} → [0-9a-f]{32}, new chain [0-9a-f]{32}/);
  assert.equal(runCli(['audit', 'verify', c.file, '--key', c.keyFile, '--key', k2]).status, 0);
  const one = runCli(['audit', 'verify', c.file, '--key', c.keyFile]);
  assert.equal(one.status, 1);
  assert.match(one.stdout, /wrong key/);
});
