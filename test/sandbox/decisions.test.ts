// Every decision kind carried out for real by `cordon run`: redirect, soft_delete (trash),
// approve (a human: here an approver function), audit (allowed and recorded), absorb (errno 0),
// unix socket and signal rules. Each has a control differing by one rule.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { listTrash } from '../../src/sandbox/index.js';
import { layout, policyYaml, requireSandbox, sandboxRun } from '../escape/helpers/sandbox.js';

before(requireSandbox);

test('redirect: a read of one file opens the redirect target instead', async () => {
  const l = layout();
  writeFileSync(join(l.work, 'real.txt'), 'REAL\n');
  mkdirSync(join(l.work, 'decoys'));
  writeFileSync(join(l.work, 'decoys', 'real.txt'), 'DECOY\n');
  // redirect_to names a directory: the engine keeps the file name (src/policy semantics)
  const rule = `  - name: redirect-real\n    paths: ["${l.work}/real.txt"]\n    operations: [read]\n    decision: redirect\n    redirect_to: "${l.work}/decoys"\n`;
  const r = await sandboxRun(policyYaml(l, { extraFileRules: rule }), ['/bin/cat', join(l.work, 'real.txt')], l.work);
  assert.equal(r.stdout, 'DECOY\n');
  const c = await sandboxRun(policyYaml(l), ['/bin/cat', join(l.work, 'real.txt')], l.work);
  assert.equal(c.stdout, 'REAL\n');
});

test('soft_delete: rm moves the file into the session trash instead of deleting it', async () => {
  const l = layout();
  mkdirSync(join(l.work, 'keep'));
  writeFileSync(join(l.work, 'keep', 'a.txt'), 'precious\n');
  const rule = `  - name: recoverable\n    paths: ["${l.work}/keep/**"]\n    operations: [delete, rmdir]\n    decision: soft_delete\n`;
  const r = await sandboxRun(policyYaml(l, { extraFileRules: rule }), ['/bin/rm', join(l.work, 'keep', 'a.txt')], l.work);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(existsSync(join(l.work, 'keep', 'a.txt')), false, 'rm saw success and the name is gone');
  const entries = listTrash({ session: r.session });
  assert.equal(entries.length, 1);
  assert.equal(entries[0]!.originalPath, join(l.work, 'keep', 'a.txt'));
  assert.equal(readFileSync(entries[0]!.storedPath, 'utf8'), 'precious\n');
  // control: without the rule the file is simply deleted, nothing in the trash
  writeFileSync(join(l.work, 'keep', 'b.txt'), 'x\n');
  const c = await sandboxRun(policyYaml(l), ['/bin/rm', join(l.work, 'keep', 'b.txt')], l.work);
  assert.equal(existsSync(join(l.work, 'keep', 'b.txt')), false);
  assert.equal(listTrash({ session: c.session }).length, 0);
});

test('approve: held until the approver answers; yes writes, no and no-approver deny', async () => {
  const l = layout();
  const target = join(l.work, 'needs-approval.txt');
  const rule = `  - name: ask\n    paths: ["${target}"]\n    operations: [write, create]\n    decision: approve\n    timeout: 2s\n`;
  const y = policyYaml(l, { extraFileRules: rule });
  const asked: string[] = [];
  const no = await sandboxRun(y, ['/bin/sh', '-c', `echo data > ${target}`], l.work, { approver: async (q) => { asked.push(q.summary); return 'deny'; } });
  assert.notEqual(no.code, 0);
  assert.equal(existsSync(target), false);
  const none = await sandboxRun(y, ['/bin/sh', '-c', `echo data > ${target}`], l.work);
  assert.equal(existsSync(target), false, 'no approver reachable: deny');
  assert.notEqual(none.code, 0);
  const yes = await sandboxRun(y, ['/bin/sh', '-c', `echo data > ${target}`], l.work, { approver: async () => 'allow' });
  assert.equal(yes.code, 0, yes.stderr);
  assert.equal(readFileSync(target, 'utf8'), 'data\n');
  assert.match(asked[0]!, /needs-approval\.txt/);
});

test('audit: the operation goes through and lands in the audit chain with decision audit', async () => {
  const l = layout();
  writeFileSync(join(l.work, 'watched.txt'), 'W\n');
  const rule = `  - name: watched\n    paths: ["${l.work}/watched.txt"]\n    decision: audit\n`;
  const r = await sandboxRun(policyYaml(l, { extraFileRules: rule }), ['/bin/cat', join(l.work, 'watched.txt')], l.work);
  assert.equal(r.stdout, 'W\n');
  const log = readFileSync(r.auditFile, 'utf8');
  assert.match(log, /"decision":"audit"/);
  assert.match(log, /watched\.txt/);
});

test('deny with errno 0 (absorb): rm reports success but the file stays', async () => {
  const l = layout();
  writeFileSync(join(l.work, 'sticky.txt'), 'S\n');
  const rule = `  - name: sticky\n    paths: ["${l.work}/sticky.txt"]\n    operations: [delete]\n    decision: deny\n    errno: 0\n`;
  const r = await sandboxRun(policyYaml(l, { extraFileRules: rule }), ['/bin/rm', join(l.work, 'sticky.txt')], l.work);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(readFileSync(join(l.work, 'sticky.txt'), 'utf8'), 'S\n');
});

test('unix socket connect is decided by unix_socket_rules: no bytes reach a denied listener', async () => {
  const l = layout();
  const sock = join(l.work, 'svc.sock');
  let bytes = 0;
  const srv = createServer((s) => s.on('data', (b) => { bytes += b.length; }));
  await new Promise<void>((res) => srv.listen(sock, res));
  try {
    const client = ['/usr/bin/python3', '-c', `import socket;s=socket.socket(socket.AF_UNIX);s.connect(${JSON.stringify(sock)});s.sendall(b"hello");s.close()`];
    const denied = await sandboxRun(policyYaml(l), client, l.work);
    assert.notEqual(denied.code, 0);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(bytes, 0);
    const allowRule = policyYaml(l).replace('signal_rules:', `unix_socket_rules:\n  - name: svc\n    paths: ["${sock}"]\n    decision: allow\nsignal_rules:`);
    const ok = await sandboxRun(allowRule, client, l.work);
    assert.equal(ok.code, 0, ok.stderr);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(bytes, 5);
  } finally {
    srv.close();
  }
});

test('signal rules: a denied SIGTERM to a child leaves it running; the control kills it', async () => {
  const l = layout();
  const script = 'sleep 3 & p=$!; kill -TERM $p; r=$?; sleep 0.2; if kill -0 $p 2>/dev/null; then echo alive; else echo dead; fi; exit $r';
  const denyTerm = policyYaml(l).replace('signal_rules:', 'signal_rules:\n  - name: no-term\n    signals: [SIGTERM]\n    target: { type: children }\n    decision: deny');
  const d = await sandboxRun(denyTerm, ['/bin/bash', '-c', script], l.work);
  assert.match(d.stdout, /alive/);
  assert.notEqual(d.code, 0);
  const c = await sandboxRun(policyYaml(l), ['/bin/bash', '-c', script], l.work);
  assert.match(c.stdout, /dead/);
});
