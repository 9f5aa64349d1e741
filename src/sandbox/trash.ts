// The soft_delete store: a file the policy says to soft-delete is moved into a per-session
// trash instead of being removed, and `cordon trash restore` puts it back.
//
// Layout: <state>/cordon/trash/<session>/<id>/{meta.json,data}, where <state> is
// $XDG_STATE_HOME or ~/.local/state; directories are 0700 (deleted files may be secrets).
//
// Never lose data: meta.json (original path, mode, owner, times) is written and fsynced BEFORE
// the object moves. Same filesystem: one rename. Across filesystems: copy to `data.partial`,
// fsync, rename to `data`, check the original did not change meanwhile, and only then unlink
// the original; any failure removes the copy and leaves the original where it was. An entry
// without `data` (a crash mid-move) is never listed; its original is still in place.
// Restore never clobbers unless forced: files come back with link(2) (fails on an existing
// name, atomically) or an exclusive create; directories with rename onto a missing name.
//
// Scope, NOT covered: moveToTrash (the `cordon trash`-side API) must be given the canonical path
// of the object and uses path syscalls, so a parent symlink swapped in between would be
// followed; that is why `cordon run` never uses it: there the supervisor moves the pinned object
// and this module only keeps the index (prepareTrashEntry / completeTrashEntry below); a write racing the final unlink of a cross-filesystem move can be lost; cross-
// filesystem moves handle regular files, symlinks and empty directories (others are refused);
// no quota. The sandbox must deny the agent access to the trash directory itself.
import {
  closeSync, constants, copyFileSync, existsSync, fsyncSync, lchownSync, linkSync, lstatSync, lutimesSync,
  mkdirSync, openSync, readFileSync, readdirSync, readlinkSync, realpathSync, renameSync, rmSync, rmdirSync, symlinkSync,
  unlinkSync, utimesSync, writeFileSync, chmodSync,
} from 'node:fs';
import type { Stats } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';

export type TrashKind = 'file' | 'directory' | 'symlink' | 'other';

export interface TrashEntry {
  id: string;
  session: string;
  originalPath: string;
  /** ISO time of the soft delete. */
  trashedAt: string;
  kind: TrashKind;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtimeMs: number;
  atimeMs: number;
  method: 'rename' | 'copy';
  /** Where the object is kept now. */
  storedPath: string;
}

export interface TrashOptions {
  /** Overrides the state directory ($XDG_STATE_HOME or ~/.local/state). */
  stateDir?: string;
}

export interface RestoreOptions extends TrashOptions {
  /** Overwrite an existing object at the destination. */
  force?: boolean;
  /** Restore to this path instead of the original one. */
  to?: string;
}

export interface RestoreResult {
  id: string;
  path: string;
  method: 'rename' | 'link' | 'copy';
  /** Parent directories that were missing and were created. */
  createdParents: string[];
}

/** exitCode 2: unknown id or bad input; 1: refused (would overwrite) or the move failed. */
export class TrashError extends Error {
  constructor(message: string, readonly exitCode: number) {
    super(message);
    this.name = 'TrashError';
  }
}

const NAME_RE = /^[A-Za-z0-9._-]{1,64}$/;
const validName = (s: string) => NAME_RE.test(s) && s !== '.' && s !== '..';

export function trashRoot(opts: TrashOptions = {}): string {
  const xdg = process.env.XDG_STATE_HOME;
  const state = opts.stateDir ?? (xdg && isAbsolute(xdg) ? xdg : join(homedir(), '.local', 'state'));
  return join(state, 'cordon', 'trash');
}

function errText(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  return err?.code ? `${err.code}: ${err.message}` : String((e as Error)?.message ?? e);
}

function kindOf(st: Stats): TrashKind {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'directory';
  if (st.isSymbolicLink()) return 'symlink';
  return 'other';
}

function fsyncPath(p: string): void {
  const fd = openSync(p, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Writes a file durably: temp name, fsync, rename, fsync the directory. */
function writeDurable(file: string, text: string): void {
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, text, { mode: 0o600 });
  fsyncPath(tmp);
  renameSync(tmp, file);
  fsyncPath(dirname(file));
}

/** Copies one object with its mode, owner and times; refuses what cannot be copied faithfully. */
function copyObject(src: string, dst: string, st: Stats): void {
  const kind = kindOf(st);
  if (kind === 'file') {
    copyFileSync(src, dst, constants.COPYFILE_EXCL);
  } else if (kind === 'symlink') {
    symlinkSync(readlinkSync(src), dst);
  } else if (kind === 'directory') {
    if (readdirSync(src).length > 0) throw new TrashError('a non-empty directory cannot be moved across filesystems', 1);
    mkdirSync(dst, { mode: 0o700 });
  } else {
    throw new TrashError(`a special file (not a regular file, symlink or directory) cannot be moved across filesystems: ${src}`, 1);
  }
  try {
    lchownSync(dst, st.uid, st.gid);
  } catch (e) {
    // An unprivileged user cannot give files away; the index still records the owner.
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') throw e;
  }
  if (kind === 'symlink') {
    lutimesSync(dst, st.atime, st.mtime);
  } else {
    chmodSync(dst, st.mode & 0o7777); // after chown, which clears set-id bits
    utimesSync(dst, st.atime, st.mtime);
    if (kind === 'file') fsyncPath(dst);
  }
}

function sameObject(a: Stats, b: Stats): boolean {
  return a.ino === b.ino && a.dev === b.dev && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs;
}

/**
 * Soft-deletes `path` (absolute, canonical; a final symlink is trashed itself, not followed)
 * into the trash of `session`. On any failure the original stays where it was.
 */
export function moveToTrash(path: string, session: string, opts: TrashOptions = {}): TrashEntry {
  if (!isAbsolute(path)) throw new TrashError(`soft delete needs an absolute path (got "${path}")`, 2);
  if (!validName(session)) throw new TrashError(`invalid session id "${session}"`, 2);
  let st: Stats;
  try {
    st = lstatSync(path);
  } catch (e) {
    throw new TrashError(`cannot soft-delete ${path}: ${errText(e)}`, 1);
  }
  const sessionDir = join(trashRoot(opts), session);
  mkdirSync(sessionDir, { recursive: true, mode: 0o700 });
  let id = '';
  let entryDir = '';
  for (;;) {
    id = randomBytes(6).toString('hex');
    entryDir = join(sessionDir, id);
    try {
      mkdirSync(entryDir, { mode: 0o700 });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new TrashError(`cannot create trash entry in ${sessionDir}: ${errText(e)}`, 1);
    }
  }
  const data = join(entryDir, 'data');
  const entry: TrashEntry = {
    id, session, originalPath: path, trashedAt: new Date().toISOString(), kind: kindOf(st),
    mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, size: st.size, mtimeMs: st.mtimeMs, atimeMs: st.atimeMs,
    method: 'rename', storedPath: data,
  };
  const abandon = (why: string, code = 1): never => {
    rmSync(entryDir, { recursive: true, force: true });
    throw new TrashError(`cannot soft-delete ${path}: ${why}; the original was left in place`, code);
  };
  try {
    writeDurable(join(entryDir, 'meta.json'), JSON.stringify(entry, null, 2));
  } catch (e) {
    abandon(`writing the trash index failed (${errText(e)})`);
  }
  try {
    renameSync(path, data);
    fsyncPath(entryDir);
    fsyncPath(dirname(path));
    return entry;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EXDEV') abandon(errText(e));
  }
  // Across filesystems: copy, make it durable, then remove the original.
  const partial = `${data}.partial`;
  try {
    copyObject(path, partial, st);
    renameSync(partial, data);
    fsyncPath(entryDir);
    if (!sameObject(st, lstatSync(path))) abandon('it changed while being copied');
  } catch (e) {
    if (e instanceof TrashError && !existsSync(entryDir)) throw e;
    abandon(e instanceof TrashError ? e.message : `copying to the trash failed (${errText(e)})`);
  }
  entry.method = 'copy';
  try {
    writeDurable(join(entryDir, 'meta.json'), JSON.stringify(entry, null, 2));
    if (entry.kind === 'directory') rmdirSync(path);
    else unlinkSync(path);
    fsyncPath(dirname(path));
  } catch (e) {
    abandon(`removing the original failed (${errText(e)})`);
  }
  return entry;
}

// ---- soft_delete inside `cordon run`: the supervisor moves, Node only keeps the index ----
// The object is moved by the supervisor on the fd it pinned when deciding (renameat2 into the
// session trash it received as an fd; native/src/emulate.c), never by this process on a path
// string: a path resolved here, as root in the host's mount namespace, could be redirected by
// a symlink the agent swapped into an ancestor (or name a different file outside the sandbox's
// view, e.g. /dev/shm). This module only creates `<session>/<id>/`, writes meta.json before the
// move, and completes it with what the supervisor reports after.

/** Creates (0700) and returns the canonical session trash directory the supervisor writes into. */
export function sessionTrashDir(session: string, opts: TrashOptions = {}): string {
  if (!validName(session)) throw new TrashError(`invalid session id "${session}"`, 2);
  const dir = join(trashRoot(opts), session);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return realpathSync(dir);
}

export interface PendingTrash {
  entry: TrashEntry;
  entryDir: string;
  /** The destination relative to the session trash directory (`<id>/data`). */
  name: string;
}

/** Before the move: a new entry whose meta.json (durable) names the original path. */
export function prepareTrashEntry(originalPath: string, session: string, sessionDir: string): PendingTrash {
  if (!isAbsolute(originalPath)) throw new TrashError(`soft delete needs an absolute path (got "${originalPath}")`, 2);
  for (;;) {
    const id = randomBytes(6).toString('hex');
    const entryDir = join(sessionDir, id);
    try {
      mkdirSync(entryDir, { mode: 0o700 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw new TrashError(`cannot create trash entry in ${sessionDir}: ${errText(e)}`, 1);
    }
    const entry: TrashEntry = {
      id, session, originalPath, trashedAt: new Date().toISOString(), kind: 'other', mode: 0, uid: 0, gid: 0, size: 0,
      mtimeMs: 0, atimeMs: 0, method: 'rename', storedPath: join(entryDir, 'data'),
    };
    try {
      writeDurable(join(entryDir, 'meta.json'), JSON.stringify(entry, null, 2));
    } catch (e) {
      rmSync(entryDir, { recursive: true, force: true });
      throw new TrashError(`cannot soft-delete ${originalPath}: writing the trash index failed (${errText(e)}); the original was left in place`, 1);
    }
    return { entry, entryDir, name: `${id}/data` };
  }
}

/** What the supervisor reports about the object it moved (its lstat before the move). */
export interface MovedObject { mode: number; uid: number; gid: number; size: number; mtimeMs: number; atimeMs: number; method: 'rename' | 'copy' }

/** After a successful move: the index gets the object's kind, mode, owner and times. */
export function completeTrashEntry(p: PendingTrash, m: MovedObject): TrashEntry {
  const S_IFMT = 0o170000;
  const fmt = m.mode & S_IFMT;
  const kind: TrashKind = fmt === 0o100000 ? 'file' : fmt === 0o040000 ? 'directory' : fmt === 0o120000 ? 'symlink' : 'other';
  const entry: TrashEntry = { ...p.entry, kind, mode: m.mode & 0o7777, uid: m.uid, gid: m.gid, size: m.size, mtimeMs: m.mtimeMs, atimeMs: m.atimeMs, method: m.method };
  writeDurable(join(p.entryDir, 'meta.json'), JSON.stringify(entry, null, 2));
  fsyncPath(p.entryDir);
  return entry;
}

/** The move failed (the original is in place): the entry goes. */
export function abandonTrashEntry(p: PendingTrash): void {
  rmSync(p.entryDir, { recursive: true, force: true });
}

function readEntry(entryDir: string): TrashEntry | undefined {
  try {
    const meta = JSON.parse(readFileSync(join(entryDir, 'meta.json'), 'utf8')) as TrashEntry;
    const st = lstatSync(join(entryDir, 'data')); // no data: an interrupted move, the original is in place
    // Moved by the supervisor but not completed (a crash in between): the kind comes from the object.
    if (meta.kind === 'other' && meta.mode === 0) Object.assign(meta, { kind: kindOf(st), mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, size: st.size, mtimeMs: st.mtimeMs, atimeMs: st.atimeMs });
    return { ...meta, storedPath: join(entryDir, 'data') };
  } catch {
    return undefined;
  }
}

/** Every restorable entry, oldest first. */
export function listTrash(opts: TrashOptions & { session?: string } = {}): TrashEntry[] {
  const root = trashRoot(opts);
  const out: TrashEntry[] = [];
  let sessions: string[];
  try {
    sessions = opts.session !== undefined ? [opts.session] : readdirSync(root);
  } catch {
    return [];
  }
  for (const s of sessions) {
    if (!validName(s)) continue;
    let ids: string[];
    try {
      ids = readdirSync(join(root, s));
    } catch {
      continue;
    }
    for (const id of ids) {
      const e = readEntry(join(root, s, id));
      if (e) out.push(e);
    }
  }
  return out.sort((a, b) => (a.trashedAt < b.trashedAt ? -1 : a.trashedAt > b.trashedAt ? 1 : a.id < b.id ? -1 : 1));
}

function findEntry(id: string, opts: TrashOptions): TrashEntry {
  if (!/^[0-9a-f]{12}$/.test(id)) throw new TrashError(`"${id}" is not a trash id (12 hex digits, see \`cordon trash list\`)`, 2);
  const e = listTrash(opts).find((x) => x.id === id);
  if (!e) throw new TrashError(`no trash entry ${id} (see \`cordon trash list\`)`, 2);
  return e;
}

function exists(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

/** Puts entry `id` back at its original path (or `to`). Refuses to overwrite unless `force`. */
export function restore(id: string, opts: RestoreOptions = {}): RestoreResult {
  const e = findEntry(id, opts);
  const target = resolve(opts.to ?? e.originalPath);
  const data = e.storedPath;
  const refuse = () => {
    throw new TrashError(`${target} exists; restore refuses to overwrite it (use --force to replace it, or --to PATH)`, 1);
  };
  if (!opts.force && exists(target)) refuse();
  const createdParents: string[] = [];
  for (let d = dirname(target); !exists(d); d = dirname(d)) createdParents.unshift(d);
  if (createdParents.length) mkdirSync(createdParents[0]!, { recursive: true });
  let method: RestoreResult['method'];
  try {
    method = moveBack(data, target, e, !!opts.force);
  } catch (err) {
    if (err instanceof TrashError) throw err;
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') refuse();
    throw new TrashError(`cannot restore ${id} to ${target}: ${errText(err)}; it is still in the trash`, 1);
  }
  fsyncPath(dirname(target));
  rmSync(dirname(data), { recursive: true, force: true });
  return { id, path: target, method, createdParents };
}

function moveBack(data: string, target: string, e: TrashEntry, force: boolean): RestoreResult['method'] {
  const st = lstatSync(data);
  if (e.kind === 'directory') {
    try {
      renameSync(data, target); // onto a missing name, or (forced) an empty directory
      return 'rename';
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
    }
    copyObject(data, target, st);
    rmdirSync(data);
    return 'copy';
  }
  if (force) {
    try {
      renameSync(data, target);
      return 'rename';
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
    }
    const tmp = `${target}.cordon-restore-${randomBytes(4).toString('hex')}`;
    copyObject(data, tmp, st);
    renameSync(tmp, target);
    unlinkSync(data);
    return 'copy';
  }
  // No overwrite: link(2) and exclusive creates fail with EEXIST instead of replacing.
  try {
    linkSync(data, target);
    unlinkSync(data);
    return 'link';
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EXDEV' && code !== 'EPERM') throw err;
  }
  copyObject(data, target, st);
  unlinkSync(data);
  return 'copy';
}
