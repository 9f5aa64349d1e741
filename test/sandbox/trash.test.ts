// soft_delete store: a trashed file comes back byte-identical with its mode, owner and times,
// on one filesystem and across filesystems (a tmpfs this test mounts); restore never clobbers
// unless forced; a move that cannot complete leaves the original in place.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync, chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync,
  statSync, symlinkSync, utimesSync, writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { listTrash, moveToTrash, restoreFromTrash, TrashError } from '../../src/sandbox/support.js';

if (process.getuid?.() !== 0) throw new Error('trash tests need root (they mount a tmpfs and chown files)');

const base = mkdtempSync(join(tmpdir(), 'cordon-trash-'));
const disk = join(base, 'disk');
const tmpfs = join(base, 'tmpfs');
mkdirSync(disk);
mkdirSync(tmpfs);
execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'cordon-trash-test', tmpfs]);
after(() => {
  spawnSync('umount', ['-l', tmpfs]);
  rmSync(base, { recursive: true, force: true });
});

const diskState = join(base, 'state-disk');
const tmpfsState = join(tmpfs, 'state');

function makeFile(path: string, mode: number): Buffer {
  const bytes = randomBytes(100_000);
  writeFileSync(path, bytes);
  chmodSync(path, mode);
  chownSync(path, 1234, 5678);
  utimesSync(path, new Date('2020-01-02T03:04:05Z'), new Date('2021-06-07T08:09:10Z'));
  return bytes;
}

function assertSameFile(path: string, bytes: Buffer, mode: number): void {
  assert.ok(readFileSync(path).equals(bytes), `${path} content differs`);
  const st = statSync(path);
  assert.equal(st.mode & 0o7777, mode);
  assert.equal(st.uid, 1234);
  assert.equal(st.gid, 5678);
  assert.equal(st.mtime.toISOString(), '2021-06-07T08:09:10.000Z');
}

test('same filesystem: moved by rename, listed with its metadata, restored byte-identical with mode and owner', () => {
  const f = join(disk, 'report.txt');
  const bytes = makeFile(f, 0o640);
  const e = moveToTrash(f, 'sess-a', { stateDir: diskState });
  assert.equal(existsSync(f), false, 'original still present after soft delete');
  assert.equal(e.method, 'rename');
  const listed = listTrash({ stateDir: diskState });
  assert.equal(listed.length, 1);
  assert.deepEqual(
    { id: listed[0]!.id, originalPath: listed[0]!.originalPath, mode: listed[0]!.mode, uid: listed[0]!.uid, gid: listed[0]!.gid, kind: listed[0]!.kind, size: listed[0]!.size },
    { id: e.id, originalPath: f, mode: 0o640, uid: 1234, gid: 5678, kind: 'file', size: 100_000 },
  );
  assert.equal(statSync(e.storedPath).mode & 0o777, 0o640);
  assert.equal(lstatSync(join(diskState, 'cordon', 'trash')).mode & 0o777, 0o700, 'trash root must be private');
  const r = restoreFromTrash(e.id, { stateDir: diskState });
  assert.equal(r.path, f);
  assertSameFile(f, bytes, 0o640);
  assert.deepEqual(listTrash({ stateDir: diskState }), []);
});

test('across filesystems both ways (tmpfs → disk trash → tmpfs, disk → tmpfs trash → disk): copy, then original removed', () => {
  const onTmpfs = join(tmpfs, 'a.bin');
  const b1 = makeFile(onTmpfs, 0o2755); // setgid survives only if chmod follows chown
  const mode1 = statSync(onTmpfs).mode & 0o7777;
  const e1 = moveToTrash(onTmpfs, 'sess-x', { stateDir: diskState });
  assert.equal(e1.method, 'copy');
  assert.equal(existsSync(onTmpfs), false);
  assert.equal(restoreFromTrash(e1.id, { stateDir: diskState }).method, 'copy');
  assertSameFile(onTmpfs, b1, mode1);

  const onDisk = join(disk, 'b.bin');
  const b2 = makeFile(onDisk, 0o600);
  const e2 = moveToTrash(onDisk, 'sess-x', { stateDir: tmpfsState });
  assert.equal(e2.method, 'copy');
  assert.equal(existsSync(onDisk), false);
  restoreFromTrash(e2.id, { stateDir: tmpfsState });
  assertSameFile(onDisk, b2, 0o600);

  // A symlink is trashed as a link (not followed) and comes back as the same link.
  const link = join(tmpfs, 'link');
  symlinkSync('/etc/hostname', link);
  const e3 = moveToTrash(link, 'sess-x', { stateDir: diskState });
  assert.equal(e3.kind, 'symlink');
  assert.ok(existsSync('/etc/hostname'), 'the link target was touched');
  restoreFromTrash(e3.id, { stateDir: diskState });
  assert.equal(readlinkSync(link), '/etc/hostname');
});

test('restore refuses to clobber a file created meanwhile; --to and force work', () => {
  const f = join(disk, 'notes.md');
  const bytes = makeFile(f, 0o644);
  const e = moveToTrash(f, 'sess-b', { stateDir: diskState });
  writeFileSync(f, 'new work the user wrote after the delete');
  assert.throws(
    () => restoreFromTrash(e.id, { stateDir: diskState }),
    (err: unknown) => err instanceof TrashError && err.exitCode === 1 && /refuses to overwrite/.test(err.message),
  );
  assert.equal(readFileSync(f, 'utf8'), 'new work the user wrote after the delete');
  assert.equal(listTrash({ stateDir: diskState }).length, 1, 'the entry must stay in the trash');

  const alt = join(disk, 'restored', 'notes.md');
  const r = restoreFromTrash(e.id, { stateDir: diskState, to: alt });
  assert.deepEqual(r.createdParents, [join(disk, 'restored')]);
  assertSameFile(alt, bytes, 0o644);

  // Forced restore replaces.
  const e2 = moveToTrash(alt, 'sess-b', { stateDir: diskState });
  restoreFromTrash(e2.id, { stateDir: diskState, to: f, force: true });
  assertSameFile(f, bytes, 0o644);
});

test('never lose data: a cross-filesystem move whose unlink fails (read-only mount) leaves the original and no entry', () => {
  const ro = join(base, 'ro');
  mkdirSync(ro);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'cordon-trash-ro', ro]);
  try {
    const f = join(ro, 'keep.txt');
    writeFileSync(f, 'precious');
    execFileSync('mount', ['-o', 'remount,ro', ro]);
    const before = listTrash({ stateDir: diskState }).length;
    assert.throws(
      () => moveToTrash(f, 'sess-c', { stateDir: diskState }),
      (err: unknown) => err instanceof TrashError && /removing the original failed \(EROFS/.test(err.message) && /left in place/.test(err.message),
    );
    assert.equal(readFileSync(f, 'utf8'), 'precious');
    assert.equal(listTrash({ stateDir: diskState }).length, before, 'a half-done move was listed');
    // Control: the same move from a writable tmpfs succeeds.
    const w = join(tmpfs, 'keep.txt');
    writeFileSync(w, 'precious');
    const e = moveToTrash(w, 'sess-c', { stateDir: diskState });
    assert.equal(existsSync(w), false);
    restoreFromTrash(e.id, { stateDir: diskState });
  } finally {
    spawnSync('umount', ['-l', ro]);
  }
  // A non-empty directory cannot cross filesystems: refused, left in place.
  const d = join(tmpfs, 'dir');
  mkdirSync(d);
  writeFileSync(join(d, 'x'), 'x');
  assert.throws(() => moveToTrash(d, 'sess-c', { stateDir: diskState }), /non-empty directory/);
  assert.equal(readFileSync(join(d, 'x'), 'utf8'), 'x');
});

test('cordon trash list --json and cordon trash restore (built CLI, real flags)', () => {
  const root = fileURLToPath(new URL('../../../', import.meta.url));
  const state = join(base, 'cli-state');
  const f = join(disk, 'cli.txt');
  const bytes = makeFile(f, 0o600);
  const e = moveToTrash(f, 'cli-sess', { stateDir: state });
  const env = { ...process.env, XDG_STATE_HOME: state };
  const cli = (...args: string[]) => spawnSync(process.execPath, [join(root, 'bin', 'cordon.js'), ...args], { env, encoding: 'utf8' });
  const list = cli('trash', 'list', '--json');
  assert.equal(list.status, 0, list.stderr);
  const entries = JSON.parse(list.stdout) as Array<{ id: string; originalPath: string; session: string }>;
  assert.deepEqual(entries.map((x) => [x.id, x.originalPath, x.session]), [[e.id, f, 'cli-sess']]);
  const human = cli('trash', 'list');
  assert.match(human.stdout, new RegExp(`^${e.id} .* cli-sess  file 0600 .*${f.replace(/[.]/g, '\\.')}\\n$`));
  writeFileSync(f, 'in the way');
  const refused = cli('trash', 'restore', e.id);
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /refuses to overwrite/);
  const bad = cli('trash', 'restore', 'nope');
  assert.equal(bad.status, 2);
  const ok = cli('trash', 'restore', e.id, '--to', join(disk, 'cli-restored.txt'));
  assert.equal(ok.status, 0, ok.stderr);
  assert.equal(ok.stdout, `restored ${join(disk, 'cli-restored.txt')}\n`);
  assertSameFile(join(disk, 'cli-restored.txt'), bytes, 0o600);
});
