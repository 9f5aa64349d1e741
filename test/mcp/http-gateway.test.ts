// `cordon mcp serve` (Streamable HTTP) in front of real servers: the test's own SDK server,
// which records each call it receives, and @modelcontextprotocol/server-everything in its
// streamable HTTP mode. Denied calls are absent from the server's own record; the control
// (same call, allowed by one different rule) is present. Allowed calls answer as directly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { auditEvents, calls, connectHttp, CORDON, EVERYTHING_SERVER, startFixtureHttp, startServe, text, tmp, writePolicy } from './helpers/harness.js';

const POLICY = (denyDelete: boolean) => `
version: 1
name: http-test
defaults: { mcp: deny }
mcp_rules:
${denyDelete ? `  - name: no-delete
    server: records
    tools: [delete_record]
    decision: deny
    message: "Deleting records is not allowed."
` : ''}  - name: records-ok
    server: records
    tools: ["*"]
    decision: allow
  - name: everything-echo
    server: everything
    tools: [echo, get-sum]
    decision: allow
`;

test('Streamable HTTP: a denied call never reaches the server; the control run with one rule fewer does', async () => {
  const dir = tmp();
  const state = join(dir, 'state');
  const upstream = await startFixtureHttp(dir, {
    name: 'records',
    tools: [
      { name: 'delete_record', description: 'Deletes a record by id.' },
      { name: 'get_record', description: 'Returns a record by id.', result: 'record 7: hello' },
    ],
  });
  try {
    for (const deny of [true, false]) {
      const serve = await startServe({ name: 'records', policy: writePolicy(dir, POLICY(deny), `p-${deny}.yaml`), state, upstream: upstream.url });
      const client = await connectHttp(serve.url);
      try {
        const before = calls(upstream.log).length;
        const r = await client.callTool({ name: 'delete_record', arguments: { text: `id-${deny}` } });
        if (deny) {
          assert.equal(r.isError, true);
          assert.equal(text(r), 'Deleting records is not allowed.');
          assert.equal(calls(upstream.log).length, before, 'the denied call must not reach the server');
        } else {
          assert.notEqual(r.isError, true);
          assert.deepEqual(calls(upstream.log).slice(before), [{ tool: 'delete_record', arguments: { text: 'id-false' } }]);
        }
        const ok = await client.callTool({ name: 'get_record', arguments: { text: '7' } });
        assert.equal(text(ok), 'record 7: hello');
      } finally {
        await client.close();
        await serve.stop();
      }
    }
  } finally {
    await upstream.stop();
  }
});

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

test('Streamable HTTP: server-everything answers through the gateway exactly as directly; unlisted tools are denied', async () => {
  const dir = tmp();
  const state = join(dir, 'state');
  const port = await freePort();
  const everything = spawn(process.execPath, [EVERYTHING_SERVER, 'streamableHttp'], { env: { ...process.env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    await new Promise<void>((resolve, reject) => {
      let err = '';
      const t = setTimeout(() => reject(new Error(`server-everything did not start: ${err}`)), 10_000);
      everything.stderr!.on('data', (d: Buffer) => {
        err += d.toString();
        if (err.includes('listening on port')) { clearTimeout(t); resolve(); }
      });
    });
    const upstreamUrl = `http://127.0.0.1:${port}/mcp`;
    const direct = await connectHttp(upstreamUrl);
    const directEcho = await direct.callTool({ name: 'echo', arguments: { message: 'hi there' } });
    const directSum = await direct.callTool({ name: 'get-sum', arguments: { a: 2, b: 40 } });
    await direct.close();

    const audit = join(dir, 'audit.jsonl');
    const serve = await startServe({ name: 'everything', policy: writePolicy(dir, POLICY(true)), state, upstream: upstreamUrl, audit });
    const client = await connectHttp(serve.url);
    try {
      assert.deepEqual(await client.callTool({ name: 'echo', arguments: { message: 'hi there' } }), directEcho);
      assert.deepEqual(await client.callTool({ name: 'get-sum', arguments: { a: 2, b: 40 } }), directSum);
      const env = await client.callTool({ name: 'get-env', arguments: {} });
      assert.equal(env.isError, true);
      assert.match(text(env), /no rule in mcp_rules allows this/);
      const tools = await client.listTools();
      assert.ok(tools.tools.some((t) => t.name === 'echo'), 'a clean server keeps its tools');
    } finally {
      await client.close();
      await serve.stop();
    }
    const events = auditEvents(audit).filter((e) => e.k === 'event').map((e) => e.x as { kind: string; operation: string; decision: string });
    assert.deepEqual(events.filter((e) => e.kind === 'detection'), [], 'a clean real server produces no findings');
    assert.deepEqual(events.filter((e) => e.operation === 'tools/call').map((e) => e.decision), ['allow', 'allow', 'deny']);
  } finally {
    everything.kill('SIGTERM');
  }
});

test('cordon mcp serve refuses a bad --upstream with a usage error', async () => {
  const dir = tmp();
  const r = spawnSync(process.execPath, [CORDON, 'mcp', 'serve', '--name', 'x', '--policy', writePolicy(dir, POLICY(true)), '--upstream', 'ftp://x'], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--upstream must be an http:\/\/ or https:\/\/ URL/);
});
