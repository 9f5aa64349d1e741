/* Reading target memory and resolving the target's paths the way the kernel would for it.
 *
 * Invariant 1 (no check-then-continue on pointers): a path is copied out of the target once,
 * then ID_VALID is checked (the target is still blocked in the same syscall, so the pid was not
 * reused), then resolved by the supervisor into an O_PATH fd that pins the object (or its parent
 * directory). Decisions use the canonical path of that fd, and the operation is carried out on
 * the pinned fd, so a thread rewriting the string or a symlink swap after the copy changes
 * nothing. The supervisor lives in the sandbox's mount namespace (setns at start), so "/" and
 * mounts are the target's; "/proc/self", "/dev/fd", "/dev/std*" are mapped to the target's own
 * entries, and magic links are only followed for the calling process's own fds/cwd/root.
 */
#include "sup.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>
#include <linux/openat2.h>
#include "resolve.h"

int notif_valid(uint64_t id) {
  return ioctl(g_notify_fd, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0;
}

/* Copies a NUL-terminated string from the target; -errno on failure. */
int read_target_str(pid_t pid, uint64_t addr, char *out, size_t cap) {
  if (addr == 0) return -EFAULT;
  size_t got = 0;
  while (got < cap) {
    uint64_t a = addr + got;
    size_t chunk = 4096 - (a & 4095);
    if (chunk > cap - got) chunk = cap - got;
    struct iovec l = { out + got, chunk }, r = { (void *)(uintptr_t)a, chunk };
    ssize_t n = process_vm_readv(pid, &l, 1, &r, 1, 0);
    if (n <= 0) return got ? -ENAMETOOLONG : -EFAULT;
    void *z = memchr(out + got, 0, (size_t)n);
    if (z) return (int)((char *)z - out);
    got += (size_t)n;
  }
  return -ENAMETOOLONG;
}

int read_target_mem(pid_t pid, uint64_t addr, void *out, size_t n) {
  struct iovec l = { out, n }, r = { (void *)(uintptr_t)addr, n };
  ssize_t k = process_vm_readv(pid, &l, 1, &r, 1, 0);
  return k == (ssize_t)n ? 0 : -EFAULT;
}

/* Reads a "Key:\tvalue" line from /proc/<pid>/status (host procfs). */
int proc_status_field(pid_t pid, const char *key, char *out, size_t cap) {
  char p[64], buf[4096];
  snprintf(p, sizeof p, "%d/status", pid);
  int fd = openat(g_host_proc, p, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return -EIO;
  buf[n] = 0;
  size_t kl = strlen(key);
  for (char *l = buf; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
    if (strncmp(l, key, kl) == 0 && l[kl] == ':') {
      char *v = l + kl + 1;
      while (*v == '\t' || *v == ' ') v++;
      size_t e = strcspn(v, "\n");
      if (e >= cap) e = cap - 1;
      memcpy(out, v, e);
      out[e] = 0;
      return 0;
    }
  }
  return -ENOENT;
}

/* The target's pid as seen inside the sandbox (last NSpid/NStgid entry). */
long ns_id(pid_t pid, const char *key) {
  char v[256];
  if (proc_status_field(pid, key, v, sizeof v) < 0) return -1;
  char *last = strrchr(v, '\t');
  if (!last) last = strrchr(v, ' ');
  return strtol(last ? last + 1 : v, NULL, 10);
}

/* Canonical path of a supervisor fd: "" (and -ENOENT) for objects with no path. */
int fd_path(int fd, char *out, size_t cap) {
  char p[64];
  snprintf(p, sizeof p, "%d", fd);
  ssize_t n = readlinkat(g_self_fd, p, out, cap - 1);
  if (n < 0) return -errno;
  out[n] = 0;
  if (out[0] != '/') return -ENOENT;             /* pipe:[...], anon_inode:, socket: */
  return 0;
}

/* The caller's own openat2 RESOLVE_* restrictions, honoured on top of ours (notify.c sets it
 * for the duration of one openat2 decode). */
uint64_t g_extra_resolve;

static int openat2_path(int dfd, const char *path, int flags) {
  struct open_how how = { .flags = (uint64_t)(flags | O_PATH | O_CLOEXEC), .resolve = RESOLVE_NO_MAGICLINKS | g_extra_resolve };
  long fd = syscall(437, dfd, path, &how, sizeof how);
  return fd < 0 ? -errno : (int)fd;
}

/* A dirfd for the target's (dirfd, relative path) base. */
static int target_base(pid_t pid, int dirfd, const char *path) {
  char p[64];
  if (dirfd == AT_FDCWD) snprintf(p, sizeof p, "%d/cwd", pid);
  else if (dirfd >= 0) snprintf(p, sizeof p, "%d/fd/%d", pid, dirfd);
  else return -EBADF;
  int fd = openat(g_host_proc, p, O_PATH | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT ? -EBADF : -errno;
  return fd;
}

/* Maps /proc/self, /proc/thread-self, /dev/fd, /dev/std{in,out,err} to the target's pid.
 * Writes the result to out; returns 1 when mapped. */
static int map_self(pid_t tid, const char *path, char *out, size_t cap) {
  static const struct { const char *from, *to; } tab[] = {
    { "/dev/stdin", "/proc/self/fd/0" }, { "/dev/stdout", "/proc/self/fd/1" },
    { "/dev/stderr", "/proc/self/fd/2" }, { "/dev/fd", "/proc/self/fd" },
  };
  char tmp[PATH_MAX];
  const char *p = path;
  for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++) {
    size_t n = strlen(tab[i].from);
    if (strncmp(p, tab[i].from, n) == 0 && (p[n] == 0 || p[n] == '/')) {
      snprintf(tmp, sizeof tmp, "%s%s", tab[i].to, p + n);
      p = tmp;
      break;
    }
  }
  long tg = -1, nt = -1;
  if (strncmp(p, "/proc/self", 10) == 0 && (p[10] == 0 || p[10] == '/')) {
    tg = ns_id(tid, "NStgid");
    if (tg < 0) return 0;
    snprintf(out, cap, "/proc/%ld%s", tg, p + 10);
    return 1;
  }
  if (strncmp(p, "/proc/thread-self", 17) == 0 && (p[17] == 0 || p[17] == '/')) {
    tg = ns_id(tid, "NStgid");
    nt = ns_id(tid, "NSpid");
    if (tg < 0 || nt < 0) return 0;
    snprintf(out, cap, "/proc/%ld/task/%ld%s", tg, nt, p + 17);
    return 1;
  }
  if (p != path) { snprintf(out, cap, "%s", p); return 1; }
  return 0;
}

/* /proc/<ns-pid>/{fd/N,cwd,root,exe}[/rest] of the calling process itself: open the magic link
 * through the host procfs (the object the target would get) and resolve rest beneath it. Other
 * processes' magic links are refused (EACCES). */
static int open_own_magic(pid_t tid, const char *path, int flags) {
  long tg = ns_id(tid, "NStgid");
  char *end;
  if (strncmp(path, "/proc/", 6) != 0) return -ELOOP;
  long n = strtol(path + 6, &end, 10);
  if (end == path + 6) return -ELOOP;
  const char *rest = end;
  if (strncmp(rest, "/task/", 6) == 0) {
    strtol(rest + 6, &end, 10);
    rest = end;
  }
  if (n != tg) return -EACCES;
  char hp[PATH_MAX];
  const char *tail = NULL;
  if (strncmp(rest, "/fd/", 4) == 0) {
    long k = strtol(rest + 4, &end, 10);
    if (end == rest + 4) return -ELOOP;
    snprintf(hp, sizeof hp, "%d/fd/%ld", tid, k);
    tail = end;
  } else {
    static const char *links[] = { "/cwd", "/root", "/exe" };
    for (size_t i = 0; i < 3; i++) {
      size_t l = strlen(links[i]);
      if (strncmp(rest, links[i], l) == 0 && (rest[l] == 0 || rest[l] == '/')) {
        snprintf(hp, sizeof hp, "%d%s", tid, links[i]);
        tail = rest + l;
      }
    }
    if (!tail) return -ELOOP;
  }
  int fd = openat(g_host_proc, hp, O_PATH | O_CLOEXEC);
  if (fd < 0) return -errno;
  while (*tail == '/') tail++;
  if (!*tail) return fd;
  int fd2 = openat2_path(fd, tail, flags);
  close(fd);
  return fd2;
}

int resolve_full(pid_t tid, int dirfd, const char *path, int nofollow, int empty_ok) {
  if (!*path) {
    if (!empty_ok) return -ENOENT;
    return target_base(tid, dirfd, "x");
  }
  char mapped[PATH_MAX];
  int flags = nofollow ? O_NOFOLLOW : 0;
  if (path[0] == '/') {
    const char *p = map_self(tid, path, mapped, sizeof mapped) ? mapped : path;
    int fd = openat2_path(AT_FDCWD, p, flags);
    if (fd == -ELOOP && strncmp(p, "/proc/", 6) == 0) return open_own_magic(tid, p, flags);
    return fd;
  }
  int base = target_base(tid, dirfd, path);
  if (base < 0) return base;
  int fd = openat2_path(base, path, flags);
  close(base);
  return fd;
}

int resolve_parent(pid_t tid, int dirfd, const char *path, char *base_out, size_t cap) {
  size_t n = strlen(path);
  if (n == 0) return -ENOENT;
  char tmp[PATH_MAX];
  if (n >= sizeof tmp) return -ENAMETOOLONG;
  memcpy(tmp, path, n + 1);
  while (n > 1 && tmp[n - 1] == '/') tmp[--n] = 0; /* "dir/" names dir */
  char *slash = strrchr(tmp, '/');
  const char *b = slash ? slash + 1 : tmp;
  if (!*b || strcmp(b, ".") == 0 || strcmp(b, "..") == 0) return -EBUSY;
  if (strlen(b) >= cap) return -ENAMETOOLONG;
  snprintf(base_out, cap, "%s", b);
  if (!slash) return target_base(tid, dirfd, "x");
  if (slash == tmp) return resolve_full(tid, dirfd, "/", 0, 0);
  *slash = 0;
  int fd = resolve_full(tid, dirfd, tmp, 0, 0);
  if (fd < 0) return fd;
  struct stat st;
  if (fstat(fd, &st) == 0 && !S_ISDIR(st.st_mode)) { close(fd); return -ENOTDIR; }
  return fd;
}

int parent_child_path(int pfd, const char *base, char *out, size_t cap) {
  char d[PATH_MAX];
  int rc = fd_path(pfd, d, sizeof d);
  if (rc < 0) return rc;
  if (strcmp(d, "/") == 0) snprintf(out, cap, "/%s", base);
  else if ((size_t)snprintf(out, cap, "%s/%s", d, base) >= cap) return -ENAMETOOLONG;
  return 0;
}

int target_umask(pid_t pid) {
  char v[32];
  if (proc_status_field(pid, "Umask", v, sizeof v) < 0) return 022;
  return (int)strtol(v, NULL, 8);
}
