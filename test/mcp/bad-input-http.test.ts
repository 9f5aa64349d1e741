// Hostile or broken peers over Streamable HTTP (`cordon mcp serve`): unparsable, oversized,
// sessionless and foreign-Host requests, an upstream dying mid-call or sending oversized answers,
// a flood of sessions. Each gets a clear error; the gateway neither hangs nor crashes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { connectHttp, startFixtureHttp, startServe, tmp, writePolicy } from './helpers/harness.js';

type Msg = { id?: unknown; result?: Record<string, unknown>; error?: { code: number; message: string } };

test('Streamable HTTP bad input: unparsable, oversized, sessionless, unknown-session and foreign-Host requests get errors; an upstream dying mid-call too', async () => {
  const dir = tmp();
  const state = join(dir, 'state');
  const upstream = await startFixtureHttp(dir, { name: 'fx', tools: [{ name: 'echo', description: 'Echoes.' }, { name: 'crash', description: 'Crashes the server.', die: true }] });
  const serve = await startServe({ name: 'fx', state, upstream: upstream.url, extra: ['--max-message-bytes', '10000'], policy: writePolicy(dir, 'version: 1\nname: h\ndefaults: { mcp: allow }\n') });
  const post = (body: string, headers: Record<string, string> = {}) => fetch(serve.url, { method: 'POST', body, headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers } });
  try {
    let r = await post('{"jsonrpc":');
    assert.equal(r.status, 400);
    assert.equal(((await r.json()) as Msg).error?.code, -32700);
    r = await post(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping', params: { pad: 'y'.repeat(50_000) } }));
    assert.equal(r.status, 413);
    assert.equal(((await r.json()) as Msg).error?.code, -32003);
    r = await post(JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }));
    assert.equal(r.status, 400);
    assert.match(((await r.json()) as Msg).error!.message, /first request must be initialize/);
    r = await post(JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tools/list' }), { 'mcp-session-id': 'no-such-session' });
    assert.equal(r.status, 404);
    const init = JSON.stringify({ jsonrpc: '2.0', id: 4, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });
    // fetch() drops a Host header, so this one goes out with node:http.
    const status = await new Promise<number>((resolve, reject) => {
      const u = new URL(serve.url);
      const req = httpRequest({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers: { host: 'evil.example:80', 'content-type': 'application/json', accept: 'application/json, text/event-stream' } }, (res) => { res.resume(); resolve(res.statusCode ?? 0); });
      req.on('error', reject);
      req.end(init);
    });
    assert.equal(status, 403, 'DNS-rebinding protection refuses a foreign Host header');
    r = await post(init);
    assert.equal(r.status, 200, 'control: the same initialize with our own Host header is served');
    await r.text();

    // The upstream dies mid-call: the call fails with UPSTREAM_UNAVAILABLE, promptly.
    const client = await connectHttp(serve.url);
    const t0 = Date.now();
    await assert.rejects(client.callTool({ name: 'crash', arguments: {} }, undefined, { timeout: 10_000 }), /MCP error -32001: .*MCP server "fx"/);
    assert.ok(Date.now() - t0 < 5000, 'no hang');
    await assert.rejects(client.callTool({ name: 'echo', arguments: {} }, undefined, { timeout: 10_000 }), /-32001/);
    await client.close();
  } finally {
    await serve.stop();
    await upstream.stop();
  }
});

test('Streamable HTTP: an upstream answer over --max-server-message-bytes ends the session with an error saying so', async () => {
  const dir = tmp();
  const state = join(dir, 'state');
  const upstream = await startFixtureHttp(dir, { name: 'fx', tools: [{ name: 'huge', description: 'Returns a lot.', result: 'y'.repeat(1_000_000) }, { name: 'small', description: 'Returns a little.' }] });
  const serve = await startServe({ name: 'fx', state, upstream: upstream.url, extra: ['--max-server-message-bytes', '100000'], policy: writePolicy(dir, 'version: 1\nname: h\ndefaults: { mcp: allow }\n') });
  try {
    const client = await connectHttp(serve.url);
    assert.ok((await client.callTool({ name: 'small', arguments: {} })).content, 'control: a normal answer passes');
    const t0 = Date.now();
    await assert.rejects(client.callTool({ name: 'huge', arguments: {} }, undefined, { timeout: 10_000 }), /-32001: .*the server sent a message larger than 100000 bytes/);
    assert.ok(Date.now() - t0 < 5000, 'no hang');
    await client.close().catch(() => {});
  } finally {
    await serve.stop();
    await upstream.stop();
  }
});

test('Streamable HTTP session flood: idle sessions are evicted least recently used first; when all are busy a newcomer gets 503', async () => {
  const dir = tmp();
  const state = join(dir, 'state');
  const upstream = await startFixtureHttp(dir, { name: 'fx', tools: [{ name: 'echo', description: 'Echoes.' }, { name: 'slow', description: 'Takes a while.', delayMs: 2000 }] });
  const serve = await startServe({ name: 'fx', state, upstream: upstream.url, extra: ['--max-sessions', '2'], policy: writePolicy(dir, 'version: 1\nname: h\ndefaults: { mcp: allow }\n') });
  const clients: Array<Awaited<ReturnType<typeof connectHttp>>> = [];
  try {
    const c1 = await connectHttp(serve.url);
    const c2 = await connectHttp(serve.url);
    clients.push(c1, c2);
    await c2.callTool({ name: 'echo', arguments: {} });
    const c3 = await connectHttp(serve.url); // c1 is the least recently used idle session
    clients.push(c3);
    assert.ok((await c3.callTool({ name: 'echo', arguments: { text: 'c3' } })).content);
    await assert.rejects(c1.callTool({ name: 'echo', arguments: {} }, undefined, { timeout: 5000 }), 'the evicted session is gone');
    const busy = [c2.callTool({ name: 'slow', arguments: {} }), c3.callTool({ name: 'slow', arguments: {} })];
    await new Promise((r) => setTimeout(r, 300));
    await assert.rejects(connectHttp(serve.url), /503|too many MCP sessions busy/);
    await Promise.all(busy);
  } finally {
    for (const c of clients) await c.close().catch(() => {});
    await serve.stop();
    await upstream.stop();
  }
});
