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
#include <dirent.h>
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
    case SYS_fchmod: case SYS_fchown: {
      /* Decided by the fd's object, acted on the supervisor's copy of the same open file
       * (pidfd_getfd), never on the fd number again (a dup2 meanwhile changes nothing). */
      int c = take_target_fd(r->pid, (int)a[0]);
      if (c < 0) return c;
      r->fd1 = c;
      r->mode = (int)a[1];
      r->ops1 = r->nr == SYS_fchmod ? OP_CHMOD : OP_CHOWN;
      struct stat st;
      if (fstat(c, &st) < 0) return -EBADF;
      if (fd_path(c, r->path1, sizeof r->path1) < 0 || r->path1[0] != '/' || st.st_nlink == 0) {
        /* No name (pipe, socket, memfd, unlinked file): nothing a path rule covers. */
        int e = do_mut(r, NULL);
        respond(r, 0, e < 0 ? -e : 0);
        return 1;
      }
      return 0;
    }
  }
  return -ENOSYS;
}

/* The target's open file description behind fdnum (pidfd_getfd); -errno. */
int take_target_fd(pid_t tid, int fdnum) {
  char t[32];
  if (proc_status_field(tid, "Tgid", t, sizeof t) < 0) return -ESRCH;
  int pidfd = (int)syscall(SYS_pidfd_open, (pid_t)atoi(t), 0);
  if (pidfd < 0) return -ESRCH;
  int s = (int)syscall(438 /* pidfd_getfd */, pidfd, fdnum, 0);
  int e = errno;
  close(pidfd);
  if (s < 0) return e == EBADF ? -EBADF : -ESRCH;
  return s;
}

/* ---------------- signals ---------------- */
/* stat of a sandbox process: by number, or (dirfd >= 0) through a pinned /proc/<pid> directory. */
static int sandbox_stat_at(int dirfd, long nspid, long *ppid, long *pgrp_out, long *sid, char *comm, size_t cap) {
  char p[64], buf[1024];
  int fd;
  if (dirfd >= 0) fd = openat(dirfd, "stat", O_RDONLY | O_CLOEXEC);
  else {
    snprintf(p, sizeof p, "/proc/%ld/stat", nspid); /* the sandbox's procfs (we are in its mount ns) */
    fd = open(p, O_RDONLY | O_CLOEXEC);
  }
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
  if (pgrp_out) *pgrp_out = pgrp;
  return 0;
}

int sandbox_stat(long nspid, long *ppid, long *sid, char *comm, size_t cap) {
  return sandbox_stat_at(-1, nspid, ppid, NULL, sid, comm, cap);
}

/* The target pinned as a /proc/<pid> directory of the sandbox's procfs: usable as a pidfd
 * (pidfd_send_signal), and it keeps naming the same process even if the number is reused. */
static int pin_proc(long nspid) {
  char p[64];
  snprintf(p, sizeof p, "/proc/%ld", nspid);
  return open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
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
  if (target > 0) {
    /* Pinned now, so the classification below and a redirected delivery (sig_redirect) are
     * about one process, whatever happens to its number meanwhile. */
    if (r->nr == 424) {
      char t[32];
      if (proc_status_field(r->pid, "Tgid", t, sizeof t) == 0) {
        int pidfd = (int)syscall(SYS_pidfd_open, (pid_t)atoi(t), 0);
        if (pidfd >= 0) { r->fd2 = (int)syscall(438 /* pidfd_getfd */, pidfd, (int)r->a[0], 0); close(pidfd); }
      }
    }
    r->fd1 = pin_proc(target);
    if ((r->nr == SYS_tgkill || r->nr == SYS_rt_tgsigqueueinfo) && r->fd1 >= 0) {
      /* The thread itself, for a redirected delivery; it must belong to the decided tgid. */
      r->fd2 = pin_proc((long)(int)r->a[1]);
      char buf[1024];
      int sfd = r->fd2 >= 0 ? openat(r->fd2, "status", O_RDONLY | O_CLOEXEC) : -1;
      ssize_t k = sfd >= 0 ? read(sfd, buf, sizeof buf - 1) : -1;
      if (sfd >= 0) close(sfd);
      char *t = k > 0 ? (buf[k] = 0, strstr(buf, "\nTgid:")) : NULL;
      if (!t || strtol(t + 6, NULL, 10) != target) { if (r->fd2 >= 0) close(r->fd2); r->fd2 = -1; }
    }
  }
  if (target <= 0) {
    cls = C_SESSION | (target == -1 ? C_SYSTEM : 0);
  } else if (sandbox_stat_at(r->fd1, target, &pp, NULL, &sid, comm, sizeof comm) < 0) {
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


/* ---------------- signal redirect: another signal, the same target ----------------
 * The supervisor sends newsig on the caller's behalf (the receiver sees a sender outside its PID
 * namespace: si_pid 0). A single target was pinned when the call was decoded (decode_signal: a
 * /proc/<pid> directory of the sandbox's procfs, or the caller's own pidfd taken with
 * pidfd_getfd), so a reused pid number cannot redirect the signal to another process. Process
 * groups (kill(0), kill(-pgrp)) and kill(-1) are expanded over the sandbox's procfs at delivery
 * (not pinned). The sandbox's PID 1 is never signalled this way: the supervisor, outside its
 * namespace, could kill it where the caller could not. */
#ifndef PIDFD_SIGNAL_THREAD
#define PIDFD_SIGNAL_THREAD (1UL << 0)
#endif
static int send_pinned(int pfd, int sig, unsigned flags) {
  return syscall(424, pfd, sig, NULL, flags) < 0 ? -errno : 0;
}

static int is_init(int pfd) {
  struct stat a, b;
  return fstat(pfd, &a) == 0 && stat("/proc/1", &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev;
}

/* kill(0) / kill(-pgrp) / kill(-1): every sandbox process in the group (or all but the caller). */
static int send_group(struct req *r, long pgrp, int all, int sig) {
  long me = ns_id(r->pid, "NStgid");
  DIR *dir = opendir("/proc");
  if (!dir) return -ESRCH;
  int sent = 0, err = -ESRCH;
  for (struct dirent *e; (e = readdir(dir));) {
    char *end;
    long n = strtol(e->d_name, &end, 10);
    if (*end || n <= 1) continue;
    if (all && n == me) continue;
    int pfd = pin_proc(n);
    if (pfd < 0) continue;
    long pp, pg, sid;
    if (sandbox_stat_at(pfd, n, &pp, &pg, &sid, NULL, 0) == 0 && (all || pg == pgrp)) {
      int rc = send_pinned(pfd, sig, 0);
      if (rc == 0) sent++; else err = rc;
    }
    close(pfd);
  }
  closedir(dir);
  return sent ? 0 : err;
}

void sig_redirect(struct req *r, int newsig) {
  int rc;
  if (newsig <= 0 || newsig > 64) { respond(r, 0, EINVAL); return; }
  long target = (long)(int)r->a[0];
  if (r->fd1 >= 0 && is_init(r->fd1)) {
    rc = -EPERM;
  } else if (r->nr == 424) {
    rc = r->fd2 >= 0 ? send_pinned(r->fd2, newsig, (unsigned)r->a[3]) : -EBADF;
  } else if ((r->nr == SYS_kill || r->nr == SYS_rt_sigqueueinfo) && target <= 0) {
    long pp, pg = 0, sid;
    if (target == 0) { if (sandbox_stat_at(-1, ns_id(r->pid, "NStgid"), &pp, &pg, &sid, NULL, 0) < 0) pg = -1; }
    else pg = -target;
    rc = pg < 0 ? -ESRCH : send_group(r, pg, target == -1, newsig);
  } else {
    int tg = r->nr == SYS_tgkill || r->nr == SYS_rt_tgsigqueueinfo;
    int thread = tg || r->nr == SYS_tkill;
    int fd = tg ? r->fd2 : r->fd1;
    if (fd < 0 || r->fd1 < 0) rc = -ESRCH;
    else rc = send_pinned(fd, newsig, thread ? PIDFD_SIGNAL_THREAD : 0);
  }
  respond(r, 0, rc < 0 ? -rc : 0);
}
