// A path argument is decided on the object the server will open: `..` after a symlink goes to
// the symlink target's parent (as the kernel resolves it), not to the lexical parent.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { canonicalizePath } from '../../src/mcp/index.js';

test('symlink then `..` resolves physically, not lexically (decided where the server will open)', () => {
  const root = realpathSync(mkdtempSync(join(tmpdir(), 'cordon-mcp-path-')));
  mkdirSync(join(root, 'proj'));
  mkdirSync(join(root, 'outside', 'certs'), { recursive: true });
  writeFileSync(join(root, 'outside', 'secret'), 'S');
  symlinkSync(join(root, 'outside', 'certs'), join(root, 'proj', 'lnk'));
  // Attack: lexically /proj/secret (inside the project), physically /outside/secret.
  assert.equal(canonicalizePath('lnk/../secret', join(root, 'proj')), join(root, 'outside', 'secret'));
  assert.equal(canonicalizePath(`${root}/proj/lnk/../secret`, '/'), join(root, 'outside', 'secret'));
  // Control: without the symlink, `..` is the plain parent.
  mkdirSync(join(root, 'proj', 'dir'));
  assert.equal(canonicalizePath('dir/../file', join(root, 'proj')), join(root, 'proj', 'file'));
  // Paths below what exists are kept as written; relative and ~ forms are made absolute.
  assert.equal(canonicalizePath('new/deeper/x.txt', join(root, 'proj')), join(root, 'proj', 'new', 'deeper', 'x.txt'));
  assert.equal(canonicalizePath('lnk/new.txt', join(root, 'proj')), join(root, 'outside', 'certs', 'new.txt'));
});
