// Every call and detection goes to the audit trail, and a call that cannot be recorded is not
// made. The gateway runs in-process here (agent side: the SDK's in-memory transport and real
// Client; upstream: the test's real SDK server over stdio) with the real audit writer from
// src/audit; the fault is injected by closing that writer mid-session, and the test asserts the
// injection hit (the writer rejected) and that the server never saw the call. Also: rate limits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { openAuditLog } from '../../src/audit/index.js';
import { compilePolicy, loadPolicy } from '../../src/policy/index.js';
import { Gateway } from '../../src/mcp/index.js';
import type { ApprovalQuestion, GatewayOptions, McpAuditEvent, McpAuditSink } from '../../src/mcp/index.js';
import { auditEvents, calls, CORDON, fixture, testEnv, text, tmp, writePolicy } from './helpers/harness.js';

async function inProcess(dir: string, yaml: string, audit: McpAuditSink, approver?: GatewayOptions['approver']) {
  const f = fixture(dir, { name: 'fx', tools: [{ name: 'echo', description: 'Echoes its arguments.' }] });
  const policy = compilePolicy(loadPolicy({ text: yaml, source: 'inline', vars: {} }));
  const [agentSide, clientSide] = InMemoryTransport.createLinkedPair();
  const upstream = new StdioClientTransport({ command: f.command[0]!, args: f.command.slice(1), stderr: 'ignore' });
  const gateway = new Gateway(agentSide, upstream, { server: 'fx', policy, stateDir: join(dir, 'state'), audit, ...(approver ? { approver } : {}) });
  await gateway.start();
  const client = new Client({ name: 'test', version: '1' });
  await client.connect(clientSide);
  return { client, gateway, log: f.log };
}

const ALLOW = `
version: 1
name: audit-test
defaults: { mcp: deny }
mcp_rules:
  - name: echo-limited
    server: fx
    tools: [echo]
    decision: allow
    rate_limit: { calls: 3, per: 1h }
`;

test('a call is denied when the audit trail cannot record it (writer closed mid-session); recorded calls go through', async () => {
  const dir = tmp();
  const file = join(dir, 'audit.jsonl');
  const sink = await openAuditLog({ file, key: { file: writeKey(dir) } });
  let rejected = 0;
  const counting: McpAuditSink = { append: (e: McpAuditEvent) => sink.append(e).catch((err: unknown) => { rejected++; throw err; }) };
  const { client, gateway, log } = await inProcess(dir, ALLOW, counting);
  try {
    const ok = await client.callTool({ name: 'echo', arguments: { text: 'recorded' } });
    assert.equal(text(ok), '{"text":"recorded"}');
    await sink.close(); // the fault: the trail is gone
    const denied = await client.callTool({ name: 'echo', arguments: { text: 'unrecorded' } });
    assert.equal(denied.isError, true);
    assert.match(text(denied), /the audit trail could not record the call/);
    assert.ok(rejected > 0, 'the injected fault was hit');
  } finally {
    await client.close();
    await gateway.close();
  }
  assert.deepEqual(calls(log).map((c) => c.arguments.text), ['recorded'], 'the unrecorded call never reached the server');
  const events = auditEvents(file).filter((e) => e.k === 'event').map((e) => e.x as Record<string, unknown>);
  const call = events.find((e) => e.operation === 'tools/call')!;
  assert.equal(call.subject, 'fx/echo');
  assert.equal(call.decision, 'allow');
  assert.equal(call.rule, 'echo-limited');
  assert.equal(typeof call.policyDigest, 'string');
  assert.equal(JSON.stringify(events).includes('recorded"'), false, 'raw arguments are not written to the audit trail');
});

function writeKey(dir: string): string {
  const k = join(dir, 'audit.key');
  writeFileSync(k, 'a'.repeat(64), { mode: 0o600 });
  return k;
}

test('rate_limit: calls beyond the window are denied before reaching the server', async () => {
  const dir = tmp();
  const events: McpAuditEvent[] = [];
  const { client, gateway, log } = await inProcess(dir, ALLOW, { append: async (e) => { events.push(e); } });
  try {
    for (let i = 0; i < 3; i++) assert.notEqual((await client.callTool({ name: 'echo', arguments: { text: `n${i}` } })).isError, true);
    const fourth = await client.callTool({ name: 'echo', arguments: { text: 'n3' } });
    assert.equal(fourth.isError, true);
    assert.match(text(fourth), /rate limit of 3 calls per 3600s \(rule "echo-limited"\) reached; retry in \d+s/);
  } finally {
    await client.close();
    await gateway.close();
  }
  assert.deepEqual(calls(log).map((c) => c.arguments.text), ['n0', 'n1', 'n2']);
  assert.deepEqual(events.filter((e) => e.operation === 'tools/call').map((e) => [e.decision, (e.fields as { stage?: string }).stage]),
    [['allow', undefined], ['allow', undefined], ['allow', undefined], ['deny', 'rate_limit']]);
});

test('cordon mcp wrap refuses to start when --audit cannot be opened (nothing would be recorded)', () => {
  const dir = tmp();
  writeFileSync(join(dir, 'not-a-dir'), '');
  const policy = writePolicy(dir, ALLOW);
  const state = join(dir, 'state');
  const f = fixture(dir, { name: 'fx', tools: [{ name: 'echo', description: 'Echoes.' }] });
  const r = spawnSync(process.execPath, [CORDON, 'mcp', 'wrap', '--name', 'fx', '--policy', policy, '--state', state, '--audit', join(dir, 'not-a-dir', 'audit.jsonl'), '--', ...f.command], { encoding: 'utf8', env: testEnv(state), input: '' });
  assert.equal(r.status, 126, r.stderr);
  assert.match(r.stderr, /cannot open the audit trail .*the gateway does not start/);
});

test('approve rules: the approver decides; a no or no answer within the rule timeout is a deny that never reaches the server', async () => {
  const dir = tmp();
  const asked: ApprovalQuestion[] = [];
  const approver = (q: ApprovalQuestion) => {
    asked.push(q);
    const t = (q.args as { text?: string }).text;
    return t === 'silent' ? new Promise<boolean>(() => {}) : Promise.resolve(t === 'yes');
  };
  const yaml = `
version: 1
name: approvals
mcp_rules:
  - { name: ask-human, server: fx, tools: [echo], decision: approve, timeout: 300ms, message: "Echo needs a human." }
`;
  const { client, gateway, log } = await inProcess(dir, yaml, { append: async () => {} }, approver);
  try {
    assert.equal(text(await client.callTool({ name: 'echo', arguments: { text: 'yes' } })), '{"text":"yes"}');
    const no = await client.callTool({ name: 'echo', arguments: { text: 'no' } });
    assert.equal(no.isError, true);
    assert.match(text(no), /denied by the human approver \(rule "ask-human"\): Echo needs a human\./);
    const silent = await client.callTool({ name: 'echo', arguments: { text: 'silent' } });
    assert.match(text(silent), /no human answered the approval request \(rule "ask-human"\) within 300 ms/);
  } finally {
    await client.close();
    await gateway.close();
  }
  assert.deepEqual(calls(log).map((c) => c.arguments.text), ['yes']);
  assert.deepEqual(asked.map((q) => [q.tool, q.rule, q.timeoutMs, q.message]), [['echo', 'ask-human', 300, 'Echo needs a human.'], ['echo', 'ask-human', 300, 'Echo needs a human.'], ['echo', 'ask-human', 300, 'Echo needs a human.']]);
});
