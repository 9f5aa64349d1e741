// `cordon mcp install` rewrites an agent's MCP config so each stdio server runs behind the
// gateway: the rewritten entry, launched exactly as an MCP client would launch it, enforces the
// policy (a denied call never reaches the server). Installing twice changes nothing; uninstall
// restores the original file's content exactly; remote servers are reported, not touched.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { installConfig, uninstallConfig } from '../../src/mcp/index.js';
import { calls, CORDON, fixture, testEnv, text, tmp, writePolicy } from './helpers/harness.js';

test('install wraps stdio servers (Claude/Cursor and VS Code shapes), the wrapped entry enforces policy, uninstall restores the file', async () => {
  const dir = tmp();
  const state = join(dir, 'state');
  const policy = writePolicy(dir, `
version: 1
name: installed
defaults: { mcp: deny }
mcp_rules:
  - { name: no-drop, server: db, tools: [drop_table], decision: deny, message: "Dropping tables is not allowed." }
  - { name: db, server: db, tools: ["*"], decision: allow }
`);
  const db = fixture(dir, { name: 'db', tools: [{ name: 'drop_table', description: 'Drops a table.' }, { name: 'query', description: 'Runs a read-only query.', result: '3 rows' }] });
  const claude = join(dir, 'claude.json');
  const original = {
    mcpServers: {
      db: { command: db.command[0], args: db.command.slice(1), env: { DB_URL: 'sqlite://x' } },
      remote: { url: 'https://mcp.invalid/mcp' },
    },
    otherSetting: { keep: true },
  };
  writeFileSync(claude, JSON.stringify(original, null, 2));
  const vscode = join(dir, 'vscode.json');
  const vsOriginal = { servers: { db: { type: 'stdio', command: db.command[0], args: db.command.slice(1) } }, inputs: [] };
  writeFileSync(vscode, JSON.stringify(vsOriginal));

  const env = testEnv(state);
  const install = (file: string) => spawnSync(process.execPath, [CORDON, 'mcp', 'install', file, '--policy', policy, '--state', state, '--json'], { encoding: 'utf8', env });
  const r1 = install(claude);
  assert.equal(r1.status, 0, r1.stderr);
  assert.deepEqual(JSON.parse(r1.stdout).changes.map((c: { server: string; action: string }) => [c.server, c.action]), [['db', 'wrapped'], ['remote', 'skipped_remote']]);
  // The same operations in-process (the CLI is a thin shell over these; spawning is slow here).
  assert.deepEqual(installConfig(claude, { policy, stateDir: state }).map((c) => c.action), ['already_wrapped', 'skipped_remote']);
  assert.deepEqual(installConfig(vscode, { policy, stateDir: state }).map((c) => c.action), ['wrapped']);

  const wrapped = JSON.parse(readFileSync(claude, 'utf8'));
  assert.deepEqual(wrapped.otherSetting, { keep: true });
  assert.deepEqual(wrapped.mcpServers.remote, original.mcpServers.remote);
  assert.deepEqual(wrapped.mcpServers.db.env, { DB_URL: 'sqlite://x' });
  const entry = wrapped.mcpServers.db as { command: string; args: string[] };
  assert.equal(entry.command, process.execPath);
  assert.deepEqual(entry.args.slice(0, 4), [CORDON, 'mcp', 'wrap', '--name']);
  assert.deepEqual(entry.args.slice(entry.args.indexOf('--') + 1), db.command);

  // Launch the rewritten entry the way an MCP client does.
  const client = new Client({ name: 'agent', version: '1' });
  await client.connect(new StdioClientTransport({ command: entry.command, args: entry.args, env: { ...env, DB_URL: 'sqlite://x' }, stderr: 'ignore' }));
  try {
    const denied = await client.callTool({ name: 'drop_table', arguments: { text: 'users' } });
    assert.equal(text(denied), 'Dropping tables is not allowed.');
    assert.equal(text(await client.callTool({ name: 'query', arguments: { text: 'select' } })), '3 rows');
  } finally {
    await client.close();
  }
  assert.deepEqual(calls(db.log).map((c) => c.tool), ['query'], 'the denied call never reached the installed server');

  const u = spawnSync(process.execPath, [CORDON, 'mcp', 'uninstall', claude, '--json'], { encoding: 'utf8', env });
  assert.equal(u.status, 0, u.stderr);
  assert.deepEqual(JSON.parse(readFileSync(claude, 'utf8')), original);
  assert.deepEqual(uninstallConfig(vscode).map((c) => c.action), ['unwrapped']);
  assert.deepEqual(JSON.parse(readFileSync(vscode, 'utf8')), vsOriginal);

  const bad = join(dir, 'bad.json');
  writeFileSync(bad, '{ "mcpServers": ');
  assert.throws(() => installConfig(bad, { policy }), (e: Error & { exitCode?: number }) => e.exitCode === 2 && /bad\.json is not valid JSON/.test(e.message));
  assert.equal(readFileSync(bad, 'utf8'), '{ "mcpServers": ', 'a file it cannot parse is left alone');
});
