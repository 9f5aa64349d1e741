/* Decoding trapped file syscalls into a req: arguments copied from target memory (then
 * ID_VALID), paths resolved to pinned O_PATH fds and canonical paths (resolve.c). */
#include "req.h"
#include "resolve.h"
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>
#include <linux/openat2.h>

extern uint64_t g_extra_resolve;

/* ---------------- decoding ---------------- */
int read_path_arg(struct req *r, uint64_t addr, char *out) {
  int n = read_target_str(r->pid, addr, out, PATH_MAX);
  if (!notif_valid(r->nid)) return -ESRCH;
  return n < 0 ? n : 0;
}

int open_ops(int flags, int isdir) {
  if (flags & O_PATH) return OP_STAT;
  int acc = flags & O_ACCMODE;
  if (isdir && acc == O_RDONLY) return OP_LIST;
  uint32_t ops = 0;
  if (acc == O_RDONLY || acc == O_RDWR) ops |= OP_READ;
  if (acc == O_WRONLY || acc == O_RDWR || (flags & O_TRUNC)) ops |= OP_WRITE;
  return (int)ops;
}

/* Decodes an open-family call into r (resolved). Returns 0, or -errno to fail the syscall. */
int decode_open(struct req *r) {
  char path[PATH_MAX];
  int dirfd = AT_FDCWD;
  uint64_t paddr;
  r->mode = 0;
  switch (r->nr) {
    case SYS_open: paddr = r->a[0]; r->flags = (int)r->a[1]; r->mode = (int)r->a[2]; break;
    case SYS_creat: paddr = r->a[0]; r->flags = O_CREAT | O_WRONLY | O_TRUNC; r->mode = (int)r->a[1]; break;
    case SYS_openat: dirfd = (int)r->a[0]; paddr = r->a[1]; r->flags = (int)r->a[2]; r->mode = (int)r->a[3]; break;
    default: { /* openat2 */
      struct open_how how = {0};
      if (r->a[3] < 24 || read_target_mem(r->pid, r->a[2], &how, sizeof how) < 0) return -EINVAL;
      /* RESOLVE_* restrictions only narrow resolution: apply them to ours (magic links are
       * already refused; an unknown bit is refused rather than ignored). */
      const uint64_t known = RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH | RESOLVE_IN_ROOT | RESOLVE_CACHED;
      if (how.resolve & ~known) return -EINVAL;
      if ((how.resolve & RESOLVE_CACHED) && (how.flags & (O_CREAT | O_TRUNC | O_TMPFILE))) return -EAGAIN;
      g_extra_resolve = how.resolve & ~(uint64_t)RESOLVE_CACHED;
      dirfd = (int)r->a[0]; paddr = r->a[1]; r->flags = (int)how.flags; r->mode = (int)how.mode;
    }
  }
  int rc = read_path_arg(r, paddr, path);
  if (rc < 0) return rc;
  int tmpfile = (r->flags & O_TMPFILE) == O_TMPFILE;
  int excl = (r->flags & O_CREAT) && (r->flags & O_EXCL);
  int fd = resolve_full(r->pid, dirfd, path, (r->flags & O_NOFOLLOW) || excl, 0);
  if (fd >= 0) {
    if (excl) { close(fd); return -EEXIST; }
    struct stat st;
    if (fstat(fd, &st) < 0) { close(fd); return -EIO; }
    r->fd1 = fd;
    r->exists = 1;
    r->isdir = S_ISDIR(st.st_mode);
    r->isfifo = S_ISFIFO(st.st_mode);
    if (S_ISLNK(st.st_mode) && !(r->flags & O_PATH)) return -ELOOP;
    if ((r->flags & O_DIRECTORY) && !r->isdir && !tmpfile) return -ENOTDIR;
    if (r->isdir && (r->flags & O_ACCMODE) != O_RDONLY && !tmpfile) return -EISDIR;
    r->ops1 = tmpfile ? OP_CREATE : (uint32_t)open_ops(r->flags, r->isdir);
    if (fd_path(fd, r->path1, sizeof r->path1) < 0) r->path1[0] = 0; /* pipe or socket re-open */
    return 0;
  }
  if (fd != -ENOENT || !(r->flags & O_CREAT)) return fd;
  int pfd = resolve_parent(r->pid, dirfd, path, r->base1, sizeof r->base1);
  if (pfd < 0) return pfd;
  r->fd1 = pfd;
  r->exists = 0;
  r->umask = target_umask(r->pid);
  r->ops1 = OP_CREATE | (uint32_t)(open_ops(r->flags, 0) & OP_WRITE);
  return parent_child_path(pfd, r->base1, r->path1, sizeof r->path1);
}

int decode_one(struct req *r, int dirfd, uint64_t paddr, int parent, int nofollow, uint32_t ops, int slot) {
  char path[PATH_MAX];
  int rc = read_path_arg(r, paddr, path);
  if (rc < 0) return rc;
  int fd;
  char *out = slot ? r->path2 : r->path1;
  if (parent) {
    fd = resolve_parent(r->pid, dirfd, path, slot ? r->base2 : r->base1, NAME_MAX + 1);
    if (fd < 0) return fd;
    rc = parent_child_path(fd, slot ? r->base2 : r->base1, out, PATH_MAX);
  } else {
    fd = resolve_full(r->pid, dirfd, path, nofollow, 0);
    if (fd < 0) return fd;
    rc = fd_path(fd, out, PATH_MAX);
  }
  if (slot) { r->fd2 = fd; r->ops2 = ops; } else { r->fd1 = fd; r->ops1 = ops; }
  return rc < 0 ? -EACCES : 0;
}

int decode_mut(struct req *r) {
  uint64_t *a = r->a;
  int rc;
  switch (r->nr) {
    case SYS_unlink: return decode_one(r, AT_FDCWD, a[0], 1, 0, OP_DELETE, 0);
    case SYS_rmdir: return decode_one(r, AT_FDCWD, a[0], 1, 0, OP_RMDIR, 0);
    case SYS_unlinkat: return decode_one(r, (int)a[0], a[1], 1, 0, (a[2] & AT_REMOVEDIR) ? OP_RMDIR : OP_DELETE, 0);
    case SYS_mkdir: r->mode = (int)a[1]; r->umask = target_umask(r->pid); return decode_one(r, AT_FDCWD, a[0], 1, 0, OP_MKDIR, 0);
    case SYS_mkdirat: r->mode = (int)a[2]; r->umask = target_umask(r->pid); return decode_one(r, (int)a[0], a[1], 1, 0, OP_MKDIR, 0);
    case SYS_mknod: r->mode = (int)a[1]; r->umask = target_umask(r->pid); return decode_one(r, AT_FDCWD, a[0], 1, 0, OP_MKNOD, 0);
    case SYS_mknodat: r->mode = (int)a[2]; r->umask = target_umask(r->pid); return decode_one(r, (int)a[0], a[1], 1, 0, OP_MKNOD, 0);
    case SYS_rename:
      if ((rc = decode_one(r, AT_FDCWD, a[0], 1, 0, OP_RENAME, 0)) < 0) return rc;
      return decode_one(r, AT_FDCWD, a[1], 1, 0, OP_RENAME, 1);
    case SYS_renameat: case SYS_renameat2:
      if ((rc = decode_one(r, (int)a[0], a[1], 1, 0, OP_RENAME, 0)) < 0) return rc;
      return decode_one(r, (int)a[2], a[3], 1, 0, OP_RENAME, 1);
    case SYS_link:
      if ((rc = decode_one(r, AT_FDCWD, a[0], 1, 0, OP_LINK, 0)) < 0) return rc;
      return decode_one(r, AT_FDCWD, a[1], 1, 0, OP_LINK, 1);
    case SYS_linkat:
      if (a[4] & AT_EMPTY_PATH) return -EPERM;
      r->flags = (int)a[4];
      if ((rc = decode_one(r, (int)a[0], a[1], !(a[4] & AT_SYMLINK_FOLLOW), 0, OP_LINK, 0)) < 0) return rc;
      return decode_one(r, (int)a[2], a[3], 1, 0, OP_LINK, 1);
    case SYS_symlink: case SYS_symlinkat: {
      char t[PATH_MAX];
      if ((rc = read_path_arg(r, a[0], t)) < 0) return rc;
      r->symlink_target = strdup(t);
      return r->nr == SYS_symlink ? decode_one(r, AT_FDCWD, a[1], 1, 0, OP_SYMLINK, 0)
                                  : decode_one(r, (int)a[1], a[2], 1, 0, OP_SYMLINK, 0);
    }
    case SYS_chmod: r->mode = (int)a[1]; return decode_one(r, AT_FDCWD, a[0], 0, 0, OP_CHMOD, 0);
    case SYS_fchmodat: case 452:
      r->mode = (int)a[2];
      return decode_one(r, (int)a[0], a[1], 0, r->nr == 452 && (a[3] & AT_SYMLINK_NOFOLLOW), OP_CHMOD, 0);
    case SYS_chown: case SYS_lchown:
      return decode_one(r, AT_FDCWD, a[0], 0, r->nr == SYS_lchown, OP_CHOWN, 0);
    case SYS_fchownat:
      if ((a[4] & AT_EMPTY_PATH)) {
        char p[PATH_MAX];
        if ((rc = read_path_arg(r, a[1], p)) < 0) return rc;
        if (!*p) {
          r->fd1 = resolve_full(r->pid, (int)a[0], "", 0, 1);
          if (r->fd1 < 0) return r->fd1;
          r->ops1 = OP_CHOWN;
          return fd_path(r->fd1, r->path1, sizeof r->path1) < 0 ? -EACCES : 0;
        }
      }
      return decode_one(r, (int)a[0], a[1], 0, (a[4] & AT_SYMLINK_NOFOLLOW) != 0, OP_CHOWN, 0);
    case SYS_truncate: return decode_one(r, AT_FDCWD, a[0], 0, 0, OP_WRITE, 0);
  }
  return -ENOSYS;
}

/* ---------------- signals ---------------- */
int sandbox_stat(long nspid, long *ppid, long *sid, char *comm, size_t cap) {
  char p[64], buf[1024];
  snprintf(p, sizeof p, "/proc/%ld/stat", nspid); /* the sandbox's procfs (we are in its mount ns) */
  int fd = open(p, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return -1;
  buf[n] = 0;
  char *l = strchr(buf, '('), *rp = strrchr(buf, ')');
  if (!l || !rp) return -1;
  if (comm) { size_t k = (size_t)(rp - l - 1); if (k >= cap) k = cap - 1; memcpy(comm, l + 1, k); comm[k] = 0; }
  char st;
  long pgrp;
  if (sscanf(rp + 2, "%c %ld %ld %ld", &st, ppid, &pgrp, sid) != 4) return -1;
  return 0;
}

enum { C_SELF = 1, C_CHILDREN = 2, C_DESC = 4, C_SIBLINGS = 8, C_SESSION = 16, C_PARENT = 32, C_EXTERNAL = 64, C_SYSTEM = 128 };

int decode_signal(struct req *r) {
  long target;
  switch (r->nr) {
    case SYS_kill: target = (long)(int)r->a[0]; r->sig = (int)r->a[1]; break;
    case SYS_rt_sigqueueinfo: target = (long)(int)r->a[0]; r->sig = (int)r->a[1]; break;
    case SYS_tkill: target = -2; r->sig = (int)r->a[1]; { long pp, sid; if (sandbox_stat((long)(int)r->a[0], &pp, &sid, NULL, 0) == 0) target = (long)(int)r->a[0]; } break;
    case SYS_tgkill: case SYS_rt_tgsigqueueinfo: target = (long)(int)r->a[0]; r->sig = (int)r->a[2]; break;
    default: { /* pidfd_send_signal: the pidfd's target, via fdinfo */
      r->sig = (int)r->a[1];
      char p[64], buf[2048];
      snprintf(p, sizeof p, "%d/fdinfo/%d", r->pid, (int)r->a[0]);
      int fd = openat(g_host_proc, p, O_RDONLY | O_CLOEXEC);
      if (fd < 0) return -EBADF;
      ssize_t n = read(fd, buf, sizeof buf - 1);
      close(fd);
      if (n <= 0) return -EBADF;
      buf[n] = 0;
      char *q = strstr(buf, "NSpid:");
      if (!q) q = strstr(buf, "Pid:");
      if (!q) return -EBADF;
      q = strchr(q, ':') + 1;
      long last = -1;
      for (char *e; ; q = e) { long v = strtol(q, &e, 10); if (e == q) break; last = v; if (*e == '\n') break; }
      target = last;
    }
  }
  if (r->sig == 0) return 1; /* existence probe: no signal is sent */
  long me = ns_id(r->pid, "NStgid"), my_pp = 0, my_sid = 0, pp = 0, sid = 0;
  uint32_t cls = 0;
  char comm[64] = "";
  sandbox_stat(me, &my_pp, &my_sid, NULL, 0);
  if (target <= 0) {
    cls = C_SESSION | (target == -1 ? C_SYSTEM : 0);
  } else if (sandbox_stat(target, &pp, &sid, comm, sizeof comm) < 0) {
    cls = C_EXTERNAL;
  } else {
    if (target == me) cls |= C_SELF;
    if (pp == me) cls |= C_CHILDREN;
    for (long p = pp, guard = 0; p > 1 && guard < 1024; guard++) {
      if (p == me) { cls |= C_DESC; break; }
      long q, s2;
      if (sandbox_stat(p, &q, &s2, NULL, 0) < 0) break;
      p = q;
    }
    if (target == my_pp) cls |= C_PARENT;
    if (pp == my_pp && target != me) cls |= C_SIBLINGS;
    if (sid == my_sid) cls |= C_SESSION;
    if (target == 1) cls |= C_SYSTEM;
  }
  r->kind = K_SIG;
  r->ops1 = (uint32_t)target;
  r->ops2 = cls;
  snprintf(r->path1, sizeof r->path1, "%s", comm);
  return 0;
}

