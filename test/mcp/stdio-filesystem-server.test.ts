// The real @modelcontextprotocol/server-filesystem behind `cordon mcp wrap`, driven by the SDK's
// real Client: allowed calls answer exactly as the server does directly; a denied write_file
// never creates its file (the control run, one rule different, does); path arguments outside
// file_rules are refused before the server sees them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync, mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { connectDirect, connectWrap, FS_SERVER, text, tmp, writePolicy } from './helpers/harness.js';

function policy(dir: string, data: string, denyWrite: boolean): string {
  return writePolicy(dir, `
version: 1
name: fs-test
defaults: { mcp: deny, file: deny }
file_rules:
  - { name: data-dir, paths: ["${data}/**"], operations: ["*"], decision: allow }
mcp_rules:
${denyWrite ? `  - name: no-writes
    server: files
    tools: [write_file, edit_file, move_file, create_directory]
    decision: deny
    message: "Writing files through MCP is not allowed in this project."
` : ''}  - name: files-in-data-dir
    server: files
    tools: ["*"]
    decision: allow
    args:
      path: { path: read }
      paths: { path: read, max_items: 10 }
`, denyWrite ? 'deny.yaml' : 'allow.yaml');
}

test('denied write_file never reaches the filesystem server; the control run with the rule removed writes the file', async () => {
  const dir = tmp();
  const data = join(dir, 'data');
  mkdirSync(data);
  const target = join(data, 'written.txt');
  const state = join(dir, 'state');

  const gw = await connectWrap({ name: 'files', policy: policy(dir, data, true), state, server: [process.execPath, FS_SERVER, data] });
  try {
    const r = await gw.client.callTool({ name: 'write_file', arguments: { path: target, content: 'pwned' } });
    assert.equal(r.isError, true);
    assert.equal(text(r), 'Writing files through MCP is not allowed in this project.');
    assert.deepEqual((r._meta as Record<string, unknown>)['cordon/decision'], { decision: 'deny', rule: 'no-writes', stage: 'policy', server: 'files' });
  } finally {
    await gw.close();
  }
  assert.equal(existsSync(target), false, 'the denied write must not have reached the server');

  const control = await connectWrap({ name: 'files', policy: policy(dir, data, false), state, server: [process.execPath, FS_SERVER, data] });
  try {
    const r = await control.client.callTool({ name: 'write_file', arguments: { path: target, content: 'hello' } });
    assert.notEqual(r.isError, true, text(r));
  } finally {
    await control.close();
  }
  assert.equal(readFileSync(target, 'utf8'), 'hello', 'control: with the deny rule removed the write happens');
});

test('allowed calls return the same result through the gateway as directly; path arguments are checked against file_rules', async () => {
  const dir = tmp();
  const data = join(dir, 'data');
  mkdirSync(data);
  writeFileSync(join(data, 'a.txt'), 'alpha\n');
  writeFileSync(join(dir, 'outside.txt'), 'secret\n');
  // A symlink inside the allowed dir pointing outside: decided on its target, not its name.
  symlinkSync(join(dir, 'outside.txt'), join(data, 'link.txt'));
  const state = join(dir, 'state');
  const server = [process.execPath, FS_SERVER, data];

  const direct = await connectDirect(server);
  const viaDirect = await direct.client.callTool({ name: 'read_text_file', arguments: { path: join(data, 'a.txt') } });
  const listDirect = await direct.client.listTools();
  await direct.close();

  const gw = await connectWrap({ name: 'files', policy: policy(dir, data, true), state, server });
  try {
    const viaGateway = await gw.client.callTool({ name: 'read_text_file', arguments: { path: join(data, 'a.txt') } });
    assert.deepEqual(viaGateway, viaDirect);
    const listGateway = await gw.client.listTools();
    assert.deepEqual(listGateway, listDirect, 'a clean server\'s tool list passes unchanged');

    const outside = await gw.client.callTool({ name: 'read_text_file', arguments: { path: join(dir, 'outside.txt') } });
    assert.equal(outside.isError, true);
    assert.match(text(outside), /argument "path": read of .*outside\.txt is denied by file_rules rule "defaults\.file"/);

    const viaLink = await gw.client.callTool({ name: 'read_text_file', arguments: { path: join(data, 'link.txt') } });
    assert.equal(viaLink.isError, true);
    assert.match(text(viaLink), /read of .*\/outside\.txt is denied/, 'the symlink is decided on its target');

    const many = await gw.client.callTool({ name: 'read_multiple_files', arguments: { paths: [join(data, 'a.txt'), '/etc/passwd'] } });
    assert.equal(many.isError, true);
    assert.match(text(many), /argument "paths\[1\]": read of \/etc\/passwd is denied/);
  } finally {
    await gw.close();
  }
  assert.equal(gw.stderr().includes('poisoned'), false, gw.stderr());
});
