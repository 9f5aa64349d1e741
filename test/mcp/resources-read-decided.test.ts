// resources/read is a file read (or a fetch) the server does for the agent: a `file:` URI is
// decided by file_rules before the server sees it; the control read of an allowed file, and a
// server-internal scheme, reach the server (observed in the fixture server's own log).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { connectWrap, fixture, tmp, writePolicy } from './helpers/harness.js';

test('resources/read of a file outside file_rules never reaches the server; allowed reads do', async () => {
  const dir = tmp();
  mkdirSync(join(dir, 'public'));
  writeFileSync(join(dir, 'public', 'a.txt'), 'A');
  writeFileSync(join(dir, 'secret.txt'), 'S');
  const fx = fixture(dir, { name: 'res', tools: [{ name: 'echo', description: 'Echo text.' }], resource: 'contents' });
  const policy = writePolicy(dir, `
version: 1
name: res-test
defaults: { mcp: deny, file: deny }
file_rules:
  - { name: public, paths: ["${dir}/public/**"], operations: [read], decision: allow }
mcp_rules:
  - { name: all, server: res, tools: ["*"], decision: allow }
`);
  const run = await connectWrap({ name: 'res', policy, state: join(dir, 'state'), server: fx.command });
  try {
    await assert.rejects(run.client.readResource({ uri: `file://${dir}/secret.txt` }), /resources\/read of file:.*secret\.txt denied/);
    await assert.rejects(run.client.readResource({ uri: `file://${dir}/public/../secret.txt` }), /denied/);
    const readsLog = `${fx.log}.resources`;
    const reads = () => (existsSync(readsLog) ? readFileSync(readsLog, 'utf8').split('\n').filter(Boolean) : []);
    assert.deepEqual(reads(), [], 'the server saw no read of the denied file');
    // Controls: an allowed file, and a resource internal to the server.
    const ok = await run.client.readResource({ uri: `file://${dir}/public/a.txt` });
    assert.equal((ok.contents[0] as { text?: string }).text, 'contents');
    await run.client.readResource({ uri: 'fixture://doc' });
    assert.deepEqual(reads(), [`file://${dir}/public/a.txt`, 'fixture://doc']);
  } finally {
    await run.close();
  }
});
