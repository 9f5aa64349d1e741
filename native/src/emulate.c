/* Carrying out an allowed file or unix-socket operation on the pinned fds, with the sandbox's
 * credentials (see notify.c), and answering the notification with its result. */
#include "req.h"
#include "resolve.h"
#include "sandbox.h" /* S: the read grants */
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

/* ---------------- carrying out an allowed operation ---------------- */
int reopen(int opath_fd, int flags) {
  char p[64];
  snprintf(p, sizeof p, "%d", opath_fd);
  int fd = openat(g_self_fd, p, (flags & ~(O_CREAT | O_EXCL | O_NOFOLLOW)) | O_CLOEXEC);
  return fd < 0 ? -errno : fd;
}

struct fifo_job { struct req r; };
static void *fifo_thread(void *arg) {
  struct fifo_job *j = arg;
  int fd = reopen(j->r.fd1, j->r.flags);
  if (fd < 0) respond(&j->r, 0, -fd);
  else respond_fd(&j->r, fd);
  free(j);
  return NULL;
}

void do_open(struct req *r, const char *redirect) {
  if (redirect && *redirect) {
    /* Open the redirect target instead, with the same flags (resolved in the sandbox's view). */
    close(r->fd1);
    r->fd1 = -1;
    int fd = resolve_full(r->pid, AT_FDCWD, redirect, 0, 0);
    if (fd < 0 && fd == -ENOENT && (r->flags & O_CREAT)) {
      fd = resolve_parent(r->pid, AT_FDCWD, redirect, r->base1, sizeof r->base1);
      if (fd < 0) { respond(r, 0, -fd); return; }
      r->fd1 = fd;
      r->exists = 0;
    } else if (fd < 0) { respond(r, 0, -fd); return; }
    else { r->fd1 = fd; r->exists = 1; }
  }
  if (r->exists) {
    if (r->flags & O_PATH) {
      /* ADDFD cannot inject O_PATH files. An O_PATH fd grants metadata only (every use that
       * reaches content — openat through it, /proc/self/fd re-open, fexecve — comes back here
       * and is decided on the resolved object), so letting the kernel redo this open cannot
       * leak more than stat(2), which is not enforced anyway (docs/sandbox.md). */
      if (redirect && *redirect) respond(r, 0, EACCES); else respond_continue(r);
      return;
    }
    if (r->isfifo && !(r->flags & O_NONBLOCK)) {
      /* Opening a FIFO blocks until the other end opens: do it off the event loop. */
      struct fifo_job *j = malloc(sizeof *j);
      pthread_t t;
      if (!j) { respond(r, 0, ENOMEM); return; }
      j->r = *r;
      r->fd1 = -1;
      r->argv = NULL; r->symlink_target = NULL;
      r->used = 0;
      j->r.used = 1;
      if (pthread_create(&t, NULL, fifo_thread, j) != 0) { respond(&j->r, 0, EAGAIN); free(j); return; }
      pthread_detach(t);
      return;
    }
    int fd = reopen(r->fd1, r->flags);
    if (fd < 0) respond(r, 0, -fd); else respond_fd(r, fd);
    return;
  }
  mode_t old = umask((mode_t)r->umask);
  int fd = openat(r->fd1, r->base1, r->flags | O_NOFOLLOW | O_CLOEXEC, r->mode & ~(S_ISUID | S_ISGID));
  int e = errno;
  umask(old);
  if (fd < 0) respond(r, 0, e); else respond_fd(r, fd);
}

/* ---------------- soft_delete: the pinned entry moves into the session trash ----------------
 * The object is the one the decision was made on: the entry `base1` in the pinned parent
 * directory fd1 (never a path string re-resolved later, so a symlink swapped into an ancestor
 * changes nothing). g_trash_fd is the session trash directory, opened by init in the sandbox's
 * mount namespace; Node created `<id>/` in it and names `<id>/data` as the destination.
 * Same mount: one renameat2(RENAME_NOREPLACE). Another mount (EXDEV): a copy made on the pinned
 * objects (regular files, symlinks, empty directories), synced, then the original unlinked on
 * the pinned parent; any failure removes the copy and leaves the original in place. */
struct stat g_trash_st;
int g_trash_method; /* 0 rename, 1 copy */

static int copy_into_trash(struct req *r, const struct stat *st, const char *name) {
  if (S_ISREG(st->st_mode)) {
    int src = openat(r->fd1, r->base1, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (src < 0) return -errno;
    struct stat s2;
    if (fstat(src, &s2) < 0 || s2.st_ino != st->st_ino || s2.st_dev != st->st_dev) { close(src); return -EAGAIN; }
    int dst = openat(g_trash_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (dst < 0) { int e = errno; close(src); return -e; }
    char buf[65536];
    ssize_t k;
    int rc = 0;
    while ((k = read(src, buf, sizeof buf)) > 0)
      for (ssize_t off = 0; off < k;) { ssize_t w = write(dst, buf + off, (size_t)(k - off)); if (w < 0) { rc = -errno; break; } off += w; }
    if (k < 0) rc = -errno;
    struct timespec ts[2] = { st->st_atim, st->st_mtim };
    if (!rc && fchmod(dst, st->st_mode & 0777) < 0) rc = -errno;
    if (!rc && futimens(dst, ts) < 0) rc = -errno;
    if (!rc && fsync(dst) < 0) rc = -errno;
    close(src);
    close(dst);
    if (!rc && unlinkat(r->fd1, r->base1, 0) < 0) rc = -errno;
    if (rc) unlinkat(g_trash_fd, name, 0);
    return rc;
  }
  if (S_ISLNK(st->st_mode)) {
    char t[PATH_MAX];
    ssize_t n = readlinkat(r->fd1, r->base1, t, sizeof t - 1);
    if (n < 0) return -errno;
    t[n] = 0;
    if (symlinkat(t, g_trash_fd, name) < 0) return -errno;
    if (unlinkat(r->fd1, r->base1, 0) < 0) { int e = errno; unlinkat(g_trash_fd, name, 0); return -e; }
    return 0;
  }
  if (S_ISDIR(st->st_mode)) {
    if (mkdirat(g_trash_fd, name, st->st_mode & 0777) < 0) return -errno;
    if (unlinkat(r->fd1, r->base1, AT_REMOVEDIR) < 0) { int e = errno; unlinkat(g_trash_fd, name, AT_REMOVEDIR); return -e; }
    return 0;
  }
  return -EACCES; /* devices, FIFOs, sockets across filesystems: refused, left in place */
}

static int trash_move(struct req *r, int flags, const char *name) {
  if (g_trash_fd < 0 || !name || !*name) return -EACCES;
  struct stat st;
  if (fstatat(r->fd1, r->base1, &st, AT_SYMLINK_NOFOLLOW) < 0) return -errno;
  if (S_ISDIR(st.st_mode) != !!(flags & AT_REMOVEDIR)) return S_ISDIR(st.st_mode) ? -EISDIR : -ENOTDIR;
  g_trash_st = st;
  g_trash_method = 0;
  if (renameat2(r->fd1, r->base1, g_trash_fd, name, RENAME_NOREPLACE) == 0) return 0;
  if (errno != EXDEV) return -errno;
  g_trash_method = 1;
  return copy_into_trash(r, &st, name);
}

/* ---- renames that would carry a Landlock read grant ----
 * Read grants (the read fast path) are attached to inodes: a directory that is a grant, or holds
 * one, keeps it wherever it is moved, while the policy decides reads by path. Moving it where
 * the policy does not grant the same reads uniformly would make readable what the policy denies
 * (a read-denied but writable place: move the project there, move a key into it, read). Such a
 * rename gets EXDEV, which mv and most libraries answer with a copy (new inodes, no grant).
 * Files are left alone: a granted file carries only its own content, already readable. */
static int at_or_beneath(const char *p, const char *root) {
  size_t n = strlen(root);
  if (n == 1 && root[0] == '/') return 1;
  return strncmp(p, root, n) == 0 && (p[n] == 0 || p[n] == '/');
}

static int any_at_or_beneath(char **grants, const char *dir) {
  for (size_t i = 0; grants && grants[i]; i++) if (at_or_beneath(grants[i], dir)) return 1;
  return 0;
}

static int covered_by(char **grants, const char *p) {
  for (size_t i = 0; grants && grants[i]; i++) if (at_or_beneath(p, grants[i])) return 1;
  return 0;
}

static int moves_grant(int dfd, const char *base, const char *from, const char *to) {
  struct stat st;
  if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode)) return 0;
  return (any_at_or_beneath(S.rgrants, from) && !covered_by(S.rgrants, to)) ||
         (any_at_or_beneath(S.lgrants, from) && !covered_by(S.lgrants, to));
}

static int rename_carries_grant(struct req *r, unsigned flags) {
  if (!(S.opts & OPT_READ_FASTPATH)) return 0;
  if (moves_grant(r->fd1, r->base1, r->path1, r->path2)) return 1;
  return (flags & RENAME_EXCHANGE) && moves_grant(r->fd2, r->base2, r->path2, r->path1);
}

int do_mut(struct req *r, const char *trash_name) {
  uint64_t *a = r->a;
  char p[64];
  mode_t old;
  int rc;
  switch (r->nr) {
    case SYS_unlink: case SYS_rmdir: case SYS_unlinkat: {
      int flags = r->nr == SYS_rmdir ? AT_REMOVEDIR : r->nr == SYS_unlinkat ? (int)a[2] : 0;
      if (trash_name) return trash_move(r, flags, trash_name);
      return unlinkat(r->fd1, r->base1, flags) < 0 ? -errno : 0;
    }
    case SYS_mkdir: case SYS_mkdirat:
      old = umask((mode_t)r->umask);
      rc = mkdirat(r->fd1, r->base1, (mode_t)r->mode);
      rc = rc < 0 ? -errno : 0;
      umask(old);
      return rc;
    case SYS_mknod: case SYS_mknodat:
      old = umask((mode_t)r->umask);
      rc = mknodat(r->fd1, r->base1, (mode_t)r->mode & ~(mode_t)(S_ISUID | S_ISGID), (dev_t)(r->nr == SYS_mknod ? a[2] : a[3]));
      rc = rc < 0 ? -errno : 0;
      umask(old);
      return rc;
    case SYS_rename: case SYS_renameat: case SYS_renameat2: {
      unsigned flags = r->nr == SYS_renameat2 ? (unsigned)a[4] : 0;
      if (rename_carries_grant(r, flags)) return -EXDEV;
      return renameat2(r->fd1, r->base1, r->fd2, r->base2, flags) < 0 ? -errno : 0;
    }
    case SYS_link: case SYS_linkat:
      if (r->flags & AT_SYMLINK_FOLLOW) {
        snprintf(p, sizeof p, "%d", r->fd1);
        return linkat(g_self_fd, p, r->fd2, r->base2, AT_SYMLINK_FOLLOW) < 0 ? -errno : 0;
      }
      return linkat(r->fd1, r->base1, r->fd2, r->base2, 0) < 0 ? -errno : 0;
    case SYS_symlink: case SYS_symlinkat:
      return symlinkat(r->symlink_target, r->fd1, r->base1) < 0 ? -errno : 0;
    case SYS_chmod: case SYS_fchmodat: case 452: {
      struct stat st;
      if (fstat(r->fd1, &st) == 0 && S_ISLNK(st.st_mode)) return -EOPNOTSUPP;
      /* Built-in: no setuid/setgid files (setgid directories are harmless and common). */
      if ((r->mode & S_ISUID) || ((r->mode & S_ISGID) && !S_ISDIR(st.st_mode))) return -EPERM;
      snprintf(p, sizeof p, "%d", r->fd1);
      return fchmodat(g_self_fd, p, (mode_t)r->mode, 0) < 0 ? -errno : 0;
    }
    case SYS_chown: case SYS_lchown:
      return fchownat(r->fd1, "", (uid_t)a[1], (gid_t)a[2], AT_EMPTY_PATH) < 0 ? -errno : 0;
    case SYS_fchownat:
      return fchownat(r->fd1, "", (uid_t)a[2], (gid_t)a[3], AT_EMPTY_PATH) < 0 ? -errno : 0;
    case SYS_fchmod: /* on the pidfd_getfd copy (decode.c); setuid/setgid refused by the filter */
      if (r->mode & (S_ISUID | S_ISGID)) return -EPERM;
      return fchmod(r->fd1, (mode_t)r->mode) < 0 ? -errno : 0;
    case SYS_fchown:
      return fchown(r->fd1, (uid_t)a[1], (gid_t)a[2]) < 0 ? -errno : 0;
    case SYS_truncate: {
      struct stat st;
      if (fstat(r->fd1, &st) < 0) return -errno;
      if (S_ISDIR(st.st_mode)) return -EISDIR;
      if (!S_ISREG(st.st_mode)) return -EINVAL;
      int fd = reopen(r->fd1, O_WRONLY);
      if (fd < 0) return fd;
      rc = ftruncate(fd, (off_t)a[1]) < 0 ? -errno : 0;
      close(fd);
      return rc;
    }
  }
  return -ENOSYS;
}

/* ---------------- sockets: connect, bind, sendto/sendmsg with an address ----------------
 *
 * Never CONTINUE (invariant 1): the kernel would re-read both the sockaddr and the fd table
 * after the answer, so a thread flipping the address from AF_INET to AF_UNIX+path, or dup2-ing a
 * unix socket over the fd number, would reach a denied socket. Instead the supervisor takes the
 * target's socket itself (pidfd_getfd: the open file description, not the number), reads its
 * domain (SO_DOMAIN) and type, and carries the call out on that copy with the address it copied:
 *   - non-unix sockets: connect/bind/sendto on the copy with the copied bytes (the socket's own
 *     network namespace routes it; the namespace holds that boundary, nothing is decided here);
 *   - unix sockets: the copied family must be AF_UNIX (AF_UNSPEC dissolves a datagram
 *     association), the path is resolved and decided (unix_socket_rules), then acted on.
 */
static int target_sock(struct req *r, int fdnum) {
  char t[32];
  if (proc_status_field(r->pid, "Tgid", t, sizeof t) < 0) return -ESRCH;
  int pidfd = (int)syscall(SYS_pidfd_open, (pid_t)atoi(t), 0);
  if (pidfd < 0) return -ESRCH;
  int s = (int)syscall(438, pidfd, fdnum, 0);
  int e = errno;
  close(pidfd);
  if (s < 0) return e == EBADF ? -EBADF : -ESRCH;
  return s;
}

/* A blocking connect can take long (TCP SYN retries), a blocking send too: off the event loop,
 * like FIFO opens. */
struct net_job { struct req r; struct sockaddr_storage sa; socklen_t len; char *buf; size_t n; };
static void *net_thread(void *arg) {
  struct net_job *j = arg;
  if (j->r.nr == SYS_sendto) {
    ssize_t w = sendto(j->r.fd2, j->buf, j->n, (int)j->r.a[3] | MSG_NOSIGNAL, (struct sockaddr *)&j->sa, j->len);
    respond(&j->r, w < 0 ? 0 : w, w < 0 ? errno : 0);
  } else {
    int rc = connect(j->r.fd2, (struct sockaddr *)&j->sa, j->len);
    respond(&j->r, 0, rc < 0 ? errno : 0);
  }
  free(j->buf);
  free(j);
  return NULL;
}

/* Emulates a non-unix socket call on the copy; always answers. */
static void net_passthrough(struct req *r, struct sockaddr_storage *sa, socklen_t len, int have_addr) {
  struct sockaddr *p = have_addr ? (struct sockaddr *)sa : NULL;
  if (r->nr == SYS_bind) { int rc = bind(r->fd2, p, len); respond(r, 0, rc < 0 ? errno : 0); return; }
  if (!have_addr) { respond(r, 0, EFAULT); return; }
  struct net_job *j = calloc(1, sizeof *j);
  if (!j) { respond(r, 0, ENOMEM); return; }
  j->r = *r;
  j->sa = *sa;
  j->len = len;
  if (r->nr == SYS_sendto) {
    /* The payload is copied once (at most 4 MiB: a stream socket may return a short count; a
     * datagram that large fails with EMSGSIZE anyway) and sent from the copy. */
    j->n = (size_t)r->a[2] > (4u << 20) ? (4u << 20) : (size_t)r->a[2];
    j->buf = malloc(j->n ? j->n : 1);
    if (!j->buf) { free(j); respond(r, 0, ENOMEM); return; }
    if (j->n && read_target_mem(r->pid, r->a[1], j->buf, j->n) < 0) { free(j->buf); free(j); respond(r, 0, EFAULT); return; }
  }
  r->fd1 = r->fd2 = -1;
  r->argv = NULL; r->symlink_target = NULL;
  r->used = 0;
  j->r.used = 1;
  pthread_t t;
  if (pthread_create(&t, NULL, net_thread, j) != 0) { respond(&j->r, 0, EAGAIN); free(j->buf); free(j); return; }
  pthread_detach(t);
}

/* sendto on a unix datagram socket: the payload is copied out of the target (bounded by the
 * socket's send buffer) and sent from the copy, to the decided address. */
static int unix_send(struct req *r, int s, struct sockaddr *sa, socklen_t len) {
  size_t n = (size_t)r->a[2];
  int sndbuf = 0;
  socklen_t ol = sizeof sndbuf;
  if (getsockopt(s, SOL_SOCKET, SO_SNDBUF, &sndbuf, &ol) == 0 && n > (size_t)sndbuf) return -EMSGSIZE;
  if (n > (8u << 20)) return -EMSGSIZE;
  char *buf = malloc(n ? n : 1);
  if (!buf) return -ENOMEM;
  if (n && read_target_mem(r->pid, r->a[1], buf, n) < 0) { free(buf); return -EFAULT; }
  /* MSG_DONTWAIT keeps the event loop from blocking on a full receiver queue. */
  ssize_t w = sendto(s, buf, n, (int)(r->a[3] & ~(uint64_t)MSG_DONTWAIT) | MSG_DONTWAIT | MSG_NOSIGNAL, sa, len);
  int e = errno;
  free(buf);
  return w < 0 ? -e : (int)w;
}

/* The family and type of a socket (of our copy of the target's fd); -1 if it is no socket. */
int sock_kind(int s, int *dom, int *type) {
  socklen_t ol = sizeof *dom;
  if (getsockopt(s, SOL_SOCKET, SO_DOMAIN, dom, &ol) < 0) return -1;
  ol = sizeof *type;
  return getsockopt(s, SOL_SOCKET, SO_TYPE, type, &ol) < 0 ? -1 : 0;
}

int decode_unix(struct req *r) {
  if (r->nr == SYS_sendmsg || r->nr == SYS_sendmmsg) return decode_sendmsg(r);
  int s = target_sock(r, (int)r->a[0]);
  if (s < 0) return s;
  r->fd2 = s;
  int dom = 0, type = 0;
  if (sock_kind(s, &dom, &type) < 0) return -ENOTSOCK;
  /* sendto(fd, buf, len, flags, addr, alen): addr is argument 4; connect/bind: argument 1. */
  int is_send = r->nr == SYS_sendto;
  uint64_t addr = is_send ? r->a[4] : r->a[1];
  socklen_t len = (socklen_t)(is_send ? r->a[5] : r->a[2]);
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  if (len > sizeof ss) len = sizeof ss;
  int have = addr != 0;
  if (have && read_target_mem(r->pid, addr, &ss, len) < 0) return -EFAULT;
  if (!notif_valid(r->nid)) return -ESRCH;
  if (dom != AF_UNIX) {
    net_passthrough(r, &ss, len, have);
    return 1;
  }
  if (!have || len < sizeof(sa_family_t)) return -EINVAL;
  struct sockaddr_un sa;
  memcpy(&sa, &ss, sizeof sa);
  r->kind = K_UNIX;
  r->sockop = r->nr == SYS_bind ? 1 : is_send ? 2 : 0;
  if (is_send && type != SOCK_DGRAM) {
    /* Stream sockets refuse an address; seqpacket ignores it: send on the copy without it,
     * which is what the kernel would do. */
    if (type == SOCK_STREAM) return -EOPNOTSUPP;
    int w = unix_send(r, s, NULL, 0);
    respond(r, w < 0 ? 0 : w, w < 0 ? -w : 0);
    return 1;
  }
  if (sa.sun_family != AF_UNIX) {
    if (sa.sun_family == AF_UNSPEC && r->sockop == 0) {
      /* Dissolves a datagram association (no address reached). */
      int rc = connect(s, (struct sockaddr *)&sa, len);
      respond(r, 0, rc < 0 ? errno : 0);
      return 1;
    }
    return -EINVAL; /* a unix socket with another family: the kernel refuses too */
  }
  size_t plen = len - offsetof(struct sockaddr_un, sun_path);
  if (plen == 0) {
    /* autobind (bind) or an empty address: nothing to decide; act on the copy. */
    int rc = r->sockop == 1 ? bind(s, (struct sockaddr *)&sa, len) : -1;
    respond(r, 0, r->sockop == 1 ? (rc < 0 ? errno : 0) : EINVAL);
    return 1;
  }
  return unix_name_to_req(r, sa.sun_path, plen);
}

/* The name a unix socket address carries (plen bytes of sun_path, plen >= 1, from a copy),
 * made into what is decided: "@name" for an abstract socket (per network namespace, so only
 * the sandbox's own), else the pinned parent directory and canonical path. Shared by
 * connect/bind/sendto (decode_unix) and sendmsg (sendmsg.c). */
int unix_name_to_req(struct req *r, const char *sun_path, size_t plen) {
  if (sun_path[0] == 0) {
    r->path1[0] = '@';
    memcpy(r->path1 + 1, sun_path + 1, plen - 1);
    r->path1[plen] = 0;
    r->base1[0] = 0;
    return 0;
  }
  char path[PATH_MAX];
  memcpy(path, sun_path, plen);
  path[plen] = 0;
  int fd = resolve_parent(r->pid, AT_FDCWD, path, r->base1, sizeof r->base1);
  if (fd < 0) return fd;
  r->fd1 = fd;
  r->ops1 = 0;
  return parent_child_path(fd, r->base1, r->path1, sizeof r->path1) < 0 ? -EACCES : 0;
}

int do_unix(struct req *r) {
  /* Act on the target's own socket (taken in decode_unix), addressing the pinned parent. */
  int s = r->fd2;
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  socklen_t len;
  int rc;
  if (r->path1[0] == '@') {
    size_t n = strlen(r->path1);
    memcpy(sa.sun_path + 1, r->path1 + 1, n - 1);
    len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
    if (r->sockop == 2) return r->msg ? (int)send_decided(r, (struct sockaddr *)&sa, len) : unix_send(r, s, (struct sockaddr *)&sa, len);
    rc = r->sockop ? bind(s, (struct sockaddr *)&sa, len) : connect(s, (struct sockaddr *)&sa, len);
  } else {
    if (strlen(r->base1) >= sizeof sa.sun_path) return -ENAMETOOLONG;
    memcpy(sa.sun_path, r->base1, strlen(r->base1) + 1);
    len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(r->base1) + 1);
    if (fchdir(r->fd1) < 0) return -errno;
    if (r->sockop == 2) {
      rc = r->msg ? (int)send_decided(r, (struct sockaddr *)&sa, len) : unix_send(r, s, (struct sockaddr *)&sa, len);
      if (chdir("/") < 0) { /* cannot happen */ }
      return rc;
    }
    if (r->sockop) {
      mode_t old = umask((mode_t)target_umask(r->pid));
      rc = bind(s, (struct sockaddr *)&sa, len);
      umask(old);
    } else rc = connect(s, (struct sockaddr *)&sa, len);
    int e = errno;
    if (chdir("/") < 0) { /* cannot happen: "/" always exists */ }
    errno = e;
  }
  return rc < 0 ? -errno : 0;
}
