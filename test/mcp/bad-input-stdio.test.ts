// Hostile or broken peers on stdio (`cordon mcp wrap`): malformed JSON-RPC, oversized messages,
// out-of-order and duplicate ids, a server that dies mid-call or floods us with one huge message,
// a client that floods or cancels. Each gets a clear JSON-RPC error; the gateway neither hangs nor
// crashes (it keeps answering afterwards).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { calls, fixture, testEnv, tmp, wrapArgv, writePolicy } from './helpers/harness.js';

type Msg = { id?: unknown; result?: Record<string, unknown>; error?: { code: number; message: string }; method?: string };

/** A raw JSON-RPC peer on a child's stdio (no SDK: we want to send what an SDK never would). */
class RawPeer {
  readonly messages: Msg[] = [];
  private buf = '';
  private waiters: Array<() => void> = [];
  readonly exited: Promise<number | null>;
  stderr = '';

  constructor(readonly child: ChildProcess) {
    child.stdout!.on('data', (d: Buffer) => {
      this.buf += d.toString();
      let nl;
      while ((nl = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, nl);
        this.buf = this.buf.slice(nl + 1);
        if (line.trim()) this.messages.push(JSON.parse(line) as Msg);
      }
      for (const w of this.waiters.splice(0)) w();
    });
    child.stderr!.on('data', (d: Buffer) => { this.stderr += d.toString(); });
    this.exited = new Promise((r) => child.once('exit', (code) => { r(code); for (const w of this.waiters.splice(0)) w(); }));
  }

  raw(line: string): void {
    this.child.stdin!.write(line.endsWith('\n') ? line : `${line}\n`);
  }

  send(m: Record<string, unknown>): void {
    this.raw(JSON.stringify({ jsonrpc: '2.0', ...m }));
  }

  async waitFor(pred: (m: Msg) => boolean, what: string, timeoutMs = 10_000): Promise<Msg> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.messages.find(pred);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(this.messages).slice(0, 2000)}; stderr: ${this.stderr}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, 100);
        this.waiters.push(() => { clearTimeout(t); r(); });
      });
    }
  }

  byId(id: unknown): Promise<Msg> {
    return this.waitFor((m) => m.id === id && m.method === undefined, `response to id ${JSON.stringify(id)}`);
  }

  async initialize(): Promise<void> {
    this.send({ id: 'init', method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });
    await this.byId('init');
    this.send({ method: 'notifications/initialized' });
  }

  async stop(): Promise<void> {
    this.child.stdin!.end();
    await this.exited;
  }
}

function setup(tools: Array<{ name: string; description: string; delayMs?: number; die?: boolean; result?: string }>, extra: string[] = []) {
  const dir = tmp();
  const state = join(dir, 'state');
  const policy = writePolicy(dir, `
version: 1
name: bad-input
defaults: { mcp: deny }
mcp_rules:
  - { name: all, server: fx, tools: ["*"], decision: allow }
`);
  const f = fixture(dir, { name: 'fx', tools });
  const child = spawn(process.execPath, wrapArgv({ name: 'fx', policy, state, server: f.command, extra }), { env: testEnv(state), stdio: ['pipe', 'pipe', 'pipe'] });
  return { peer: new RawPeer(child), log: f.log, dir };
}

test('malformed JSON, invalid requests and bad params get JSON-RPC errors; the session keeps working', async () => {
  const { peer } = setup([{ name: 'echo', description: 'Echoes its arguments.' }], ['--max-message-bytes', '20000']);
  try {
    peer.raw('{"jsonrpc": "2.0", "id": 1, "method": ');
    assert.equal((await peer.waitFor((m) => m.error?.code === -32700, 'parse error')).id, null);
    peer.raw('[{"jsonrpc":"2.0","id":2,"method":"ping"}]');
    assert.match((await peer.waitFor((m) => m.error?.message.includes('batches') === true, 'batch error')).error!.message, /batches are not supported/);
    peer.raw('{"jsonrpc":"1.0","id":3,"method":"ping"}');
    assert.deepEqual(await peer.byId(3), { jsonrpc: '2.0', id: 3, error: { code: -32600, message: 'invalid request: missing or wrong "jsonrpc" member (must be "2.0")' } } as unknown as Msg);
    peer.raw('{"jsonrpc":"2.0","id":4,"method":"ping","params":[1,2]}');
    assert.equal((await peer.byId(4)).error?.code, -32600);
    peer.raw('"just a string"');
    await peer.waitFor((m) => m.error?.message.includes('must be a JSON object') === true, 'non-object error');

    // Oversized: discarded while streaming, answered once, and the next message still works.
    peer.raw(JSON.stringify({ jsonrpc: '2.0', id: 5, method: 'ping', params: { pad: 'x'.repeat(100_000) } }));
    const big = await peer.waitFor((m) => m.error?.code === -32003, 'too-large error');
    assert.match(big.error!.message, /larger than the gateway limit of 20000 bytes/);

    await peer.initialize();
    peer.send({ id: 6, method: 'tools/call', params: { arguments: {} } });
    assert.equal((await peer.byId(6)).error?.code, -32602);
    peer.send({ id: 7, method: 'tools/call', params: { name: 'echo', arguments: 'not an object' } });
    assert.equal((await peer.byId(7)).error?.code, -32602);
    peer.send({ id: 8, method: 'tools/call', params: { name: 'echo', arguments: { text: 'still alive' } } });
    assert.deepEqual((await peer.byId(8)).result?.content, [{ type: 'text', text: '{"text":"still alive"}' }]);
  } finally {
    await peer.stop();
  }
});

test('out-of-order and duplicate request ids: answers map back to the right ids, a duplicate in flight is refused', async () => {
  const { peer, log } = setup([{ name: 'slow', description: 'Answers slowly.', delayMs: 300 }, { name: 'fast', description: 'Answers at once.' }]);
  try {
    await peer.initialize();
    peer.send({ id: 'b', method: 'tools/call', params: { name: 'slow', arguments: { text: 'for b' } } });
    peer.send({ id: 5, method: 'tools/call', params: { name: 'slow', arguments: { text: 'for 5' } } });
    peer.send({ id: 5, method: 'tools/call', params: { name: 'fast', arguments: { text: 'duplicate 5' } } });
    peer.send({ id: '5', method: 'tools/call', params: { name: 'fast', arguments: { text: 'for "5"' } } });
    peer.send({ id: -1, method: 'tools/call', params: { name: 'fast', arguments: { text: 'for -1' } } });
    const dup = await peer.waitFor((m) => m.id === 5 && m.error !== undefined, 'duplicate id error');
    assert.match(dup.error!.message, /request id 5 is already in use/);
    const text = async (id: unknown) => ((await peer.waitFor((m) => m.id === id && m.result !== undefined, `result for ${JSON.stringify(id)}`)).result!.content as Array<{ text: string }>)[0]!.text;
    assert.equal(await text('5'), '{"text":"for \\"5\\""}', 'string "5" and number 5 are different ids');
    assert.equal(await text(-1), '{"text":"for -1"}');
    assert.equal(await text('b'), '{"text":"for b"}');
    assert.equal(await text(5), '{"text":"for 5"}');
    // An unsolicited response from the agent (to a request the server never sent) is harmless.
    peer.send({ id: 999, result: {} });
    peer.send({ id: 9, method: 'ping' });
    assert.deepEqual((await peer.byId(9)).result, {});
  } finally {
    await peer.stop();
  }
  assert.equal(calls(log).filter((c) => c.arguments.text === 'duplicate 5').length, 0, 'the duplicate never reached the server');
});

test('a server that dies mid-call: the call gets an error naming the exit and the gateway exits instead of hanging', async () => {
  const { peer } = setup([{ name: 'crash', description: 'Crashes the server.', die: true }]);
  await peer.initialize();
  peer.send({ id: 1, method: 'tools/call', params: { name: 'crash', arguments: {} } });
  const r = await peer.byId(1);
  assert.equal(r.error?.code, -32001);
  assert.match(r.error!.message, /MCP server "fx" exited \(exit status 3\) before answering/);
  const code = await Promise.race([peer.exited, new Promise((r) => setTimeout(() => r('hang'), 5000))]);
  assert.equal(code, 1, 'wrap exits with status 1 when its server died');
});

test('a server sending an oversized message is stopped: the call gets an error saying so, memory stays bounded', async () => {
  const { peer } = setup([{ name: 'huge', description: 'Returns a lot.', result: 'x'.repeat(3_000_000) }, { name: 'small', description: 'Returns a little.' }], ['--max-server-message-bytes', '200000']);
  await peer.initialize();
  peer.send({ id: 1, method: 'tools/call', params: { name: 'small', arguments: {} } });
  assert.ok((await peer.byId(1)).result, 'control: a normal answer passes');
  peer.send({ id: 2, method: 'tools/call', params: { name: 'huge', arguments: {} } });
  const r = await peer.byId(2);
  assert.equal(r.error?.code, -32001);
  assert.match(r.error!.message, /stopped by cordon: it sent a message larger than 200000 bytes/);
  assert.equal(await peer.exited, 1);
});

test('a flooding client: requests beyond the in-flight limit are refused at once, every request is answered, the gateway survives', async () => {
  const { peer } = setup([{ name: 'slow', description: 'Answers slowly.', delayMs: 50 }], ['--max-in-flight', '16']);
  try {
    await peer.initialize();
    const N = 400;
    let batch = '';
    for (let i = 0; i < N; i++) batch += JSON.stringify({ jsonrpc: '2.0', id: 1000 + i, method: 'tools/call', params: { name: 'slow', arguments: { text: String(i) } } }) + '\n';
    peer.raw(batch);
    await peer.waitFor(() => peer.messages.filter((m) => typeof m.id === 'number' && (m.id as number) >= 1000).length === N, `${N} answers`, 30_000);
    const answers = peer.messages.filter((m) => typeof m.id === 'number' && (m.id as number) >= 1000);
    const overloaded = answers.filter((m) => m.error?.code === -32002);
    const ok = answers.filter((m) => m.result !== undefined);
    assert.equal(overloaded.length + ok.length, N);
    assert.ok(overloaded.length > 0, 'some requests were refused');
    assert.ok(ok.length >= 16, 'requests within the limit went through');
    assert.match(overloaded[0]!.error!.message, /too many requests in flight \(limit 16\)/);
    peer.send({ id: 'after', method: 'ping' });
    assert.deepEqual((await peer.byId('after')).result, {});
  } finally {
    await peer.stop();
  }
});

test('cancelled requests free their in-flight slot; a request the server never answers times out with --request-timeout', async () => {
  const { peer, log } = setup([{ name: 'hang', description: 'Never answers in time.', delayMs: 60_000 }, { name: 'fast', description: 'Answers at once.' }], ['--max-in-flight', '2', '--request-timeout', '800']);
  try {
    await peer.initialize();
    peer.send({ id: 1, method: 'tools/call', params: { name: 'hang', arguments: {} } });
    peer.send({ id: 2, method: 'tools/call', params: { name: 'hang', arguments: {} } });
    await new Promise((r) => setTimeout(r, 200));
    peer.send({ id: 3, method: 'tools/call', params: { name: 'fast', arguments: {} } });
    assert.equal((await peer.byId(3)).error?.code, -32002, 'two requests in flight fill the limit');
    peer.send({ method: 'notifications/cancelled', params: { requestId: 1, reason: 'user pressed stop' } });
    peer.send({ id: 4, method: 'tools/call', params: { name: 'fast', arguments: { text: 'after cancel' } } });
    assert.deepEqual((await peer.byId(4)).result?.content, [{ type: 'text', text: '{"text":"after cancel"}' }], 'the cancelled request freed its slot');
    const timedOut = await peer.byId(2);
    assert.equal(timedOut.error?.code, -32004);
    assert.match(timedOut.error!.message, /did not answer tools\/call within 800 ms/);
    assert.equal(peer.messages.filter((m) => m.id === 1).length, 0, 'a cancelled request is not answered');
    // Cancelled while still being decided (same write): never forwarded, never answered.
    peer.raw(JSON.stringify({ jsonrpc: '2.0', id: 5, method: 'tools/call', params: { name: 'fast', arguments: { text: 'cancelled early' } } }) + '\n' +
      JSON.stringify({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 5 } }));
    peer.send({ id: 6, method: 'ping' });
    await peer.byId(6);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(peer.messages.filter((m) => m.id === 5).length, 0);
  } finally {
    await peer.stop();
  }
  assert.equal(calls(log).filter((c) => c.arguments.text === 'cancelled early').length, 0, 'the call cancelled while being decided never reached the server');
});
