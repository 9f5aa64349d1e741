/* Seccomp user notifications: decode, resolve, decide (cache or Node), carry out.
 *
 * Every file syscall is emulated: the supervisor performs it on the pinned O_PATH fds from
 * resolve.c (open + SECCOMP_IOCTL_NOTIF_ADDFD with SECCOMP_ADDFD_FLAG_SEND; unlinkat, renameat2,
 * mkdirat, ... on the parent fd) and returns the result; it never answers CONTINUE for a syscall
 * whose decision depends on a pointer, except execve (see exec.c) and connect/bind on non-unix
 * families (the network namespace holds that boundary).
 *
 * The supervisor's own credentials match the sandbox's (same uid, capabilities dropped except
 * CAP_SYS_PTRACE/CAP_KILL needed to read target memory and verify execs), so an emulated
 * operation cannot succeed where the sandboxed process itself would have been refused by the
 * kernel's permission checks.
 */
#include "req.h"
#include "resolve.h"
#include "rules.h"
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>
#include <linux/openat2.h>

int g_notify_fd = -1;
int g_host_proc = -1;
int g_self_fd = -1;
pid_t g_init_pid, g_cmd_pid;
uint32_t g_opts;
int g_trash_fd = -1;
extern uint64_t g_extra_resolve;

static struct seccomp_notif *g_notif;
static struct seccomp_notif_sizes g_sizes;
static uint32_t g_next_id = 1;

#define MAXREQ 4096
static struct req *g_reqs[MAXREQ];

/* ---- decision cache: (ops, canonical path) -> allow/deny, filled by cacheable answers ---- */
struct centry { char *path; uint32_t ops; int32_t err; }; /* err 0 = allow */
#define CSLOTS (1u << 16)
static struct centry *g_cache;
static uint32_t g_cache_n;
static uint64_t g_cache_hits;

static uint32_t hash(const char *s, uint32_t ops) {
  uint32_t h = 2166136261u ^ ops;
  for (; *s; s++) h = (h ^ (uint8_t)*s) * 16777619u;
  return h;
}
static struct centry *cache_find(const char *p, uint32_t ops) {
  if (!g_cache) return NULL;
  for (uint32_t i = hash(p, ops) & (CSLOTS - 1);; i = (i + 1) & (CSLOTS - 1)) {
    struct centry *e = &g_cache[i];
    if (!e->path) return NULL;
    if (e->ops == ops && strcmp(e->path, p) == 0) return e;
  }
}
static void cache_put(const char *p, uint32_t ops, int err) {
  if (!g_cache) g_cache = calloc(CSLOTS, sizeof *g_cache);
  if (!g_cache) return;
  if (g_cache_n > CSLOTS / 2) {
    for (uint32_t i = 0; i < CSLOTS; i++) free(g_cache[i].path);
    memset(g_cache, 0, CSLOTS * sizeof *g_cache);
    g_cache_n = 0;
  }
  uint32_t i = hash(p, ops) & (CSLOTS - 1);
  while (g_cache[i].path) i = (i + 1) & (CSLOTS - 1);
  g_cache[i].path = strdup(p);
  g_cache[i].ops = ops;
  g_cache[i].err = err;
  g_cache_n++;
}

void notify_init(void) {
  if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &g_sizes) < 0) die("seccomp(SECCOMP_GET_NOTIF_SIZES) failed: %m");
  g_notif = calloc(1, g_sizes.seccomp_notif > sizeof *g_notif ? g_sizes.seccomp_notif : sizeof *g_notif);
  if (!g_notif || g_sizes.seccomp_notif_resp > 256) die("unexpected seccomp notification sizes");
}

struct req *req_new(void) {
  for (int i = 0; i < MAXREQ; i++) {
    if (!g_reqs[i]) {
      g_reqs[i] = calloc(1, sizeof(struct req));
      if (!g_reqs[i]) return NULL;
    }
    if (!g_reqs[i]->used) {
      struct req *r = g_reqs[i];
      memset(r, 0, sizeof *r);
      r->used = 1;
      r->fd1 = r->fd2 = -1;
      r->id = g_next_id++;
      return r;
    }
  }
  return NULL;
}

void req_free(struct req *r) {
  if (r->fd1 >= 0) close(r->fd1);
  if (r->fd2 >= 0) close(r->fd2);
  free(r->argv);
  free(r->symlink_target);
  r->argv = NULL;
  r->symlink_target = NULL;
  r->used = 0;
}

/* Responses use a stack buffer: FIFO opens answer from their own thread. */
void respond(struct req *r, int64_t val, int err) {
  union { struct seccomp_notif_resp r; char pad[256]; } u;
  memset(&u, 0, sizeof u);
  u.r.id = r->nid;
  u.r.val = err ? 0 : val;
  u.r.error = err ? -err : 0;
  ioctl(g_notify_fd, SECCOMP_IOCTL_NOTIF_SEND, &u.r); /* ENOENT: the target died meanwhile */
  req_free(r);
}

void respond_continue(struct req *r) {
  union { struct seccomp_notif_resp r; char pad[256]; } u;
  memset(&u, 0, sizeof u);
  u.r.id = r->nid;
  u.r.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
  ioctl(g_notify_fd, SECCOMP_IOCTL_NOTIF_SEND, &u.r);
  req_free(r);
}

/* Injects fd into the target as the syscall's return value, atomically. Consumes fd. */
static void respond_fd(struct req *r, int fd) {
  struct seccomp_notif_addfd a = {
    .id = r->nid, .flags = SECCOMP_ADDFD_FLAG_SEND, .srcfd = (uint32_t)fd,
    .newfd = 0, .newfd_flags = (uint32_t)(r->flags & O_CLOEXEC),
  };
  int rc = ioctl(g_notify_fd, SECCOMP_IOCTL_NOTIF_ADDFD, &a);
  int e = errno;
  close(fd);
  if (rc < 0 && e != ENOENT) respond(r, 0, e == EMFILE ? EMFILE : EIO);
  else req_free(r);
}

void ask_node(struct req *r) {
  struct buf b;
  b_init(&b, 'Q');
  b_u32(&b, r->id);
  switch (r->kind) {
    case K_OPEN: case K_MUT:
      b_u32(&b, 'f'); b_u32(&b, (uint32_t)r->pid); b_u32(&b, (uint32_t)r->nr);
      b_u32(&b, r->ops1); b_str(&b, r->path1); b_u32(&b, r->ops2); b_str(&b, r->ops2 ? r->path2 : "");
      break;
    case K_EXEC:
      b_u32(&b, 'x'); b_u32(&b, (uint32_t)r->pid); b_u32(&b, (uint32_t)r->nr);
      b_u32(&b, (uint32_t)exec_depth(r->pid)); b_str(&b, r->path1); b_str(&b, r->script ? r->interp : "");
      b_u32(&b, (uint32_t)r->argc);
      for (size_t off = 0; off < r->argv_len;) { size_t l = strlen(r->argv + off); b_strn(&b, r->argv + off, l); off += l + 1; }
      break;
    case K_UNIX:
      b_u32(&b, 'u'); b_u32(&b, (uint32_t)r->pid); b_u32(&b, (uint32_t)r->nr);
      b_u32(&b, (uint32_t)r->sockop); b_str(&b, r->path1);
      break;
    case K_SIG:
      b_u32(&b, 's'); b_u32(&b, (uint32_t)r->pid); b_u32(&b, (uint32_t)r->nr);
      b_u32(&b, (uint32_t)r->sig); b_u32(&b, r->ops1 /* target ns pid */); b_u32(&b, r->ops2 /* classes */);
      b_str(&b, r->path1 /* comm */);
      break;
  }
  if (b_send(&b) < 0) respond(r, 0, EACCES); /* Node gone: fail closed (and we exit soon) */
}

/* ---------------- built-in hard rules (not policy): the sandbox's own integrity ---------------- */
char **g_protected; /* spec 'P': Cordon's own state (audit log, trash): no operation at all */
size_t g_nprotected;

static int hard_deny(const char *p, uint32_t ops) {
  for (size_t i = 0; i < g_nprotected; i++) {
    size_t n = strlen(g_protected[i]);
    if (strncmp(p, g_protected[i], n) == 0 && (p[n] == 0 || p[n] == '/')) return 1;
  }
  const uint32_t writes = OP_WRITE | OP_CREATE | OP_MKDIR | OP_CHMOD | OP_CHOWN | OP_RENAME | OP_DELETE |
                          OP_RMDIR | OP_LINK | OP_SYMLINK | OP_MKNOD;
  /* Another process's memory: the exec-argument race and memory tampering go through here. */
  if (strncmp(p, "/proc/", 6) == 0) {
    const char *q = p + 6;
    while (*q >= '0' && *q <= '9') q++;
    if (q != p + 6) {
      if (strncmp(q, "/task/", 6) == 0) { q += 6; while (*q >= '0' && *q <= '9') q++; }
      if (strcmp(q, "/mem") == 0 || strncmp(q, "/map_files", 10) == 0) return 1;
    }
    if ((ops & writes) && (strncmp(p, "/proc/sys", 9) == 0 || strcmp(p, "/proc/sysrq-trigger") == 0)) return 1;
  }
  /* Kernel and cgroup knobs (pids.max, cgroup.procs) are never the agent's to write. */
  if ((ops & writes) && (strncmp(p, "/sys/", 5) == 0 || strcmp(p, "/sys") == 0)) return 1;
  return 0;
}

/* ---------------- decoding ---------------- */
static int read_path_arg(struct req *r, uint64_t addr, char *out) {
  int n = read_target_str(r->pid, addr, out, PATH_MAX);
  if (!notif_valid(r->nid)) return -ESRCH;
  return n < 0 ? n : 0;
}

static int open_ops(int flags, int isdir) {
  if (flags & O_PATH) return OP_STAT;
  int acc = flags & O_ACCMODE;
  if (isdir && acc == O_RDONLY) return OP_LIST;
  uint32_t ops = 0;
  if (acc == O_RDONLY || acc == O_RDWR) ops |= OP_READ;
  if (acc == O_WRONLY || acc == O_RDWR || (flags & O_TRUNC)) ops |= OP_WRITE;
  return (int)ops;
}

/* Decodes an open-family call into r (resolved). Returns 0, or -errno to fail the syscall. */
static int decode_open(struct req *r) {
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

static int decode_one(struct req *r, int dirfd, uint64_t paddr, int parent, int nofollow, uint32_t ops, int slot) {
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

static int decode_mut(struct req *r) {
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

/* ---------------- carrying out an allowed operation ---------------- */
static int reopen(int opath_fd, int flags) {
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

static void do_open(struct req *r, const char *redirect) {
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

static int do_mut(struct req *r, const char *trash_name) {
  uint64_t *a = r->a;
  char p[64];
  mode_t old;
  int rc;
  switch (r->nr) {
    case SYS_unlink: case SYS_rmdir: case SYS_unlinkat: {
      int flags = r->nr == SYS_rmdir ? AT_REMOVEDIR : r->nr == SYS_unlinkat ? (int)a[2] : 0;
      if (trash_name) {
        /* soft_delete: move the pinned entry into the session trash (same filesystem). */
        if (g_trash_fd < 0) return -EACCES;
        struct stat st;
        if (fstatat(r->fd1, r->base1, &st, AT_SYMLINK_NOFOLLOW) < 0) return -errno;
        if (S_ISDIR(st.st_mode) != !!(flags & AT_REMOVEDIR)) return S_ISDIR(st.st_mode) ? -EISDIR : -ENOTDIR;
        rc = renameat2(r->fd1, r->base1, g_trash_fd, trash_name, RENAME_NOREPLACE);
        return rc < 0 ? -errno : 0;
      }
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
    case SYS_rename: case SYS_renameat: case SYS_renameat2:
      return renameat2(r->fd1, r->base1, r->fd2, r->base2, r->nr == SYS_renameat2 ? (unsigned)a[4] : 0) < 0 ? -errno : 0;
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

/* ---------------- unix sockets ---------------- */
static int decode_unix(struct req *r) {
  struct sockaddr_un sa;
  socklen_t len = (socklen_t)r->a[2];
  if (len < sizeof(sa_family_t) || r->a[1] == 0) return 1; /* let the kernel reject it */
  if (len > sizeof sa) len = sizeof sa;
  memset(&sa, 0, sizeof sa);
  if (read_target_mem(r->pid, r->a[1], &sa, len) < 0) return -EFAULT;
  if (!notif_valid(r->nid)) return -ESRCH;
  if (sa.sun_family != AF_UNIX) return 1; /* inet: the network namespace holds that boundary */
  r->kind = K_UNIX;
  r->sockop = r->nr == SYS_bind;
  size_t plen = len - offsetof(struct sockaddr_un, sun_path);
  if (plen == 0) return 1; /* autobind */
  if (sa.sun_path[0] == 0) {
    /* Abstract: per network namespace, so only the sandbox's own. */
    r->path1[0] = '@';
    memcpy(r->path1 + 1, sa.sun_path + 1, plen - 1);
    r->path1[plen] = 0;
    r->base1[0] = 0;
    return 0;
  }
  char path[sizeof sa.sun_path + 1];
  memcpy(path, sa.sun_path, plen);
  path[plen] = 0;
  int fd = resolve_parent(r->pid, AT_FDCWD, path, r->base1, sizeof r->base1);
  if (fd < 0) return fd;
  r->fd1 = fd;
  r->ops1 = 0;
  return parent_child_path(fd, r->base1, r->path1, sizeof r->path1) < 0 ? -EACCES : 0;
}

static int do_unix(struct req *r) {
  /* Act on the target's own socket (pidfd_getfd), addressing the pinned parent directory. */
  char t[32];
  if (proc_status_field(r->pid, "Tgid", t, sizeof t) < 0) return -ESRCH;
  int pidfd = (int)syscall(SYS_pidfd_open, (pid_t)atoi(t), 0);
  if (pidfd < 0) return -ESRCH;
  int s = (int)syscall(438, pidfd, (int)r->a[0], 0);
  close(pidfd);
  if (s < 0) return errno == EBADF ? -EBADF : -ENOTSOCK;
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  socklen_t len;
  int rc;
  if (r->path1[0] == '@') {
    size_t n = strlen(r->path1);
    memcpy(sa.sun_path + 1, r->path1 + 1, n - 1);
    len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
    rc = r->sockop ? bind(s, (struct sockaddr *)&sa, len) : connect(s, (struct sockaddr *)&sa, len);
  } else {
    if (strlen(r->base1) >= sizeof sa.sun_path) { close(s); return -ENAMETOOLONG; }
    memcpy(sa.sun_path, r->base1, strlen(r->base1) + 1);
    len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(r->base1) + 1);
    if (fchdir(r->fd1) < 0) { close(s); return -errno; }
    if (r->sockop) {
      mode_t old = umask((mode_t)target_umask(r->pid));
      rc = bind(s, (struct sockaddr *)&sa, len);
      umask(old);
    } else rc = connect(s, (struct sockaddr *)&sa, len);
    int e = errno;
    if (chdir("/") < 0) { /* cannot happen: "/" always exists */ }
    errno = e;
  }
  rc = rc < 0 ? -errno : 0;
  close(s);
  return rc;
}

/* ---------------- signals ---------------- */
static int sandbox_stat(long nspid, long *ppid, long *sid, char *comm, size_t cap) {
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

static int decode_signal(struct req *r) {
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

/* ---------------- dispatch ---------------- */
static int is_open(int nr) { return nr == SYS_open || nr == SYS_openat || nr == 437 || nr == SYS_creat; }

uint64_t g_native_allows;

/* A native deny is rare and always recorded: Node re-derives the rule and appends the event. */
static void report_native_deny(struct req *r, int err) {
  struct buf b;
  b_init(&b, 'V');
  b_u32(&b, (uint32_t)r->pid);
  b_u32(&b, (uint32_t)r->nr);
  b_u32(&b, r->ops1);
  b_str(&b, r->path1);
  b_u32(&b, r->ops2);
  b_str(&b, r->ops2 ? r->path2 : "");
  b_u32(&b, (uint32_t)err);
  b_send(&b);
}

/* The supervisor keeps CAP_SYS_PTRACE (to read target memory and verify execs), so it could
 * open ptrace-gated /proc files of a non-dumpable sandbox process that the caller itself could
 * not (a confused deputy). Those files of other processes are refused outright. */
static int other_proc_gated(struct req *r, const char *p) {
  static const char *gated[] = { "environ", "auxv", "mem", "maps", "smaps", "smaps_rollup", "pagemap", "syscall",
                                 "stack", "personality", "map_files", "fd", "fdinfo", "cwd", "root", "exe", "io", "numa_maps" };
  if (strncmp(p, "/proc/", 6) != 0) return 0;
  char *end;
  long n = strtol(p + 6, &end, 10);
  if (end == p + 6 || *end != '/') return 0;
  const char *f = end + 1;
  if (strncmp(f, "task/", 5) == 0) { /* /proc/N/task/T/<file>: the same files per thread */
    const char *t = f + 5;
    while (*t >= '0' && *t <= '9') t++;
    if (*t != '/') return 0;
    f = t + 1;
  }
  size_t fl = strcspn(f, "/");
  int hit = 0;
  for (size_t i = 0; i < sizeof gated / sizeof gated[0]; i++)
    if (strlen(gated[i]) == fl && strncmp(f, gated[i], fl) == 0) hit = 1;
  if (!hit) return 0;
  return n != ns_id(r->pid, "NStgid");
}

static void decide(struct req *r) {
  if (r->kind == K_OPEN || r->kind == K_MUT) {
    if (other_proc_gated(r, r->path1)) { respond(r, 0, EACCES); return; }
    if (r->kind == K_OPEN && r->path1[0] == 0) { do_open(r, NULL); return; } /* own pipe/socket re-open */
    if (hard_deny(r->path1, r->ops1) || (r->ops2 && hard_deny(r->path2, r->ops2))) { respond(r, 0, EACCES); return; }
    /* Hot path: file_rules decided here when the table can (allow/deny only). */
    int e1 = 0, e2 = 0;
    int k1 = rules_decide(r->ops1, r->path1, &e1);
    int k2 = r->ops2 ? rules_decide(r->ops2, r->path2, &e2) : RK_ALLOW;
    if (k1 != RK_ASK && k2 != RK_ASK) {
      if (k1 == RK_DENY || k2 == RK_DENY) {
        int e = k1 == RK_DENY ? e1 : e2;
        report_native_deny(r, e);
        respond(r, 0, e);
        return;
      }
      g_native_allows++;
      if (r->kind == K_OPEN) do_open(r, NULL);
      else { int rc = do_mut(r, NULL); respond(r, 0, rc < 0 ? -rc : 0); }
      return;
    }
    if (!r->ops2) {
      struct centry *e = cache_find(r->path1, r->ops1);
      if (e) {
        g_cache_hits++;
        if (e->err) { respond(r, 0, e->err); return; }
        if (r->kind == K_OPEN) do_open(r, NULL);
        else { int rc = do_mut(r, NULL); respond(r, 0, rc < 0 ? -rc : 0); }
        return;
      }
    }
  }
  ask_node(r);
}

void handle_notification(void) {
  memset(g_notif, 0, g_sizes.seccomp_notif);
  if (ioctl(g_notify_fd, SECCOMP_IOCTL_NOTIF_RECV, g_notif) < 0) return; /* EINTR/ENOENT: target gone */
  struct req *r = req_new();
  if (!r) {
    struct req tmp = { .nid = g_notif->id, .fd1 = -1, .fd2 = -1 };
    respond(&tmp, 0, EAGAIN);
    return;
  }
  r->nid = g_notif->id;
  r->pid = (pid_t)g_notif->pid;
  r->nr = g_notif->data.nr;
  memcpy(r->a, g_notif->data.args, sizeof r->a);
  int rc;
  if (is_open(r->nr)) {
    r->kind = K_OPEN;
    rc = decode_open(r);
    g_extra_resolve = 0;
  } else if (r->nr == SYS_execve || r->nr == SYS_execveat) {
    r->kind = K_EXEC;
    rc = exec_prepare(r);
    if (rc == 1) return; /* already answered (hard deny) */
  } else if (r->nr == SYS_connect || r->nr == SYS_bind) {
    rc = decode_unix(r);
    if (rc == 1) { respond_continue(r); return; }
  } else if (r->nr == SYS_kill || r->nr == SYS_tkill || r->nr == SYS_tgkill || r->nr == 424 ||
             r->nr == SYS_rt_sigqueueinfo || r->nr == SYS_rt_tgsigqueueinfo) {
    rc = decode_signal(r);
    if (rc == 1) { respond_continue(r); return; }
  } else {
    r->kind = K_MUT;
    rc = decode_mut(r);
  }
  if (rc < 0) { respond(r, 0, -rc); return; }
  decide(r);
}

static struct req *find_req(uint32_t id) {
  for (int i = 0; i < MAXREQ && g_reqs[i]; i++)
    if (g_reqs[i]->used && g_reqs[i]->id == id) return g_reqs[i];
  return NULL;
}

/* 'a' frame: id, decision, errno, cacheable, text (redirect path | trash name | message). */
void handle_answer(struct rd *rd) {
  uint32_t id = r_u32(rd);
  uint8_t dec = r_u8(rd);
  uint32_t err = r_u32(rd);
  uint8_t cacheable = r_u8(rd);
  const char *text = r_str(rd, NULL);
  struct req *r = find_req(id);
  if (rd->bad || !r) { free((void *)text); return; }
  if (!err) err = EACCES;
  if (cacheable && (r->kind == K_OPEN || r->kind == K_MUT) && !r->ops2 && (dec == ANS_ALLOW || dec == ANS_DENY))
    cache_put(r->path1, r->ops1, dec == ANS_ALLOW ? 0 : (int)err);
  if (dec == ANS_ABSORB) {
    if (r->kind == K_OPEN) do_open(r, "/dev/null"); /* an fd is expected: hand out /dev/null */
    else if (r->kind == K_EXEC) exec_deny(r, EACCES, text);
    else respond(r, 0, 0);
    free((void *)text);
    return;
  }
  switch (r->kind) {
    case K_OPEN:
      if (dec == ANS_ALLOW) do_open(r, NULL);
      else if (dec == ANS_REDIRECT) do_open(r, text);
      else respond(r, 0, (int)err);
      break;
    case K_MUT:
      if (dec == ANS_ALLOW) {
        int rc = do_mut(r, NULL);
        respond(r, 0, rc < 0 ? -rc : 0);
      } else if (dec == ANS_TRASH) {
        respond(r, 0, 0); /* Node moved the object into the session trash (src/sandbox/trash.ts) */
      } else respond(r, 0, (int)err);
      break;
    case K_EXEC:
      if (dec == ANS_ALLOW) exec_allow(r);
      else exec_deny(r, (int)err, text);
      break;
    case K_UNIX:
      if (dec == ANS_ALLOW) { int rc = do_unix(r); respond(r, 0, rc < 0 ? -rc : 0); }
      else respond(r, 0, (int)err);
      break;
    case K_SIG:
      if (dec == ANS_ALLOW) respond_continue(r);
      else respond(r, 0, (int)err);
      break;
  }
  free((void *)text);
}

uint64_t cache_hits(void) { return g_cache_hits; }
