/* Exec decisions that hold against a thread rewriting the path or argv during the check.
 *
 * The kernel re-reads execve's path and argv from target memory after we answer, so the answer
 * (CONTINUE) cannot itself be bound to what we checked. Design:
 *   1. Decide on a copy: path resolved to an O_PATH fd (identity dev/ino, canonical path), argv
 *      copied, ID_VALID checked after the reads.
 *   2. Before answering, PTRACE_SEIZE the calling thread with PTRACE_O_TRACEEXEC (the sandbox
 *      cannot ptrace: static filter; so we are always able to be its tracer).
 *   3. The kernel stops the thread at PTRACE_EVENT_EXEC after loading the new image and before
 *      a single instruction of it runs. There we compare /proc/PID/exe (dev/ino) with the
 *      decided file (its interpreter for #! scripts) and /proc/PID/cmdline with the decided
 *      argv. Any difference: SIGKILL, reported to Node. Otherwise we detach.
 * A failed exec produces no stop; the thread stays traced (signal stops are passed through)
 * until it exits or its next exec. Anonymous images (memfd, deleted files) and direct runs of
 * the dynamic loader (`ld.so ./binary`, which maps any readable file as a program) are denied.
 * NOT covered: for #! scripts the script file's content is read by the interpreter under file
 * rules; a swap of the script file between check and exec is not detected (its path string is).
 */
#include "req.h"
#include "resolve.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_ARGV (2u << 20)

struct pend { pid_t tid; int used, script; dev_t dev; ino_t ino; char *argv; size_t argv_len; char path[PATH_MAX]; };
#define NPEND 1024
static struct pend g_pend[NPEND];
static pid_t g_traced[NPEND];

static int traced_idx(pid_t t) { for (int i = 0; i < NPEND; i++) if (g_traced[i] == t) return i; return -1; }
static void untrace(pid_t t) { int i = traced_idx(t); if (i >= 0) g_traced[i] = 0; }
static struct pend *pend_find(pid_t t) { for (int i = 0; i < NPEND; i++) if (g_pend[i].used && g_pend[i].tid == t) return &g_pend[i]; return NULL; }
static void pend_drop(struct pend *p) { free(p->argv); p->argv = NULL; p->used = 0; }

static int is_loader(const char *canon) {
  const char *b = strrchr(canon, '/');
  b = b ? b + 1 : canon;
  return strncmp(b, "ld-linux", 8) == 0 || strncmp(b, "ld-musl", 7) == 0 || strcmp(b, "ld.so") == 0 ||
         (strncmp(b, "ld-", 3) == 0 && strstr(b, ".so"));
}

static int read_argv(struct req *r, uint64_t arr) {
  size_t cap = 4096, len = 0;
  char *blob = malloc(cap);
  if (!blob) return -ENOMEM;
  int argc = 0;
  for (; arr; argc++) {
    uint64_t ptr;
    if (read_target_mem(r->pid, arr + 8u * (uint64_t)argc, &ptr, 8) < 0) { free(blob); return -EFAULT; }
    if (!ptr) break;
    if (argc > 65536) { free(blob); return -E2BIG; }
    for (;;) {
      if (cap - len < 8192) {
        if (cap >= MAX_ARGV) { free(blob); return -E2BIG; }
        cap *= 2;
        char *nb = realloc(blob, cap);
        if (!nb) { free(blob); return -ENOMEM; }
        blob = nb;
      }
      int n = read_target_str(r->pid, ptr, blob + len, cap - len);
      if (n == -ENAMETOOLONG) { cap *= 2; if (cap > MAX_ARGV) { free(blob); return -E2BIG; } char *nb = realloc(blob, cap); if (!nb) { free(blob); return -ENOMEM; } blob = nb; continue; }
      if (n < 0) { free(blob); return -EFAULT; }
      len += (size_t)n + 1;
      break;
    }
  }
  if (argc == 0) { blob[0] = 0; len = 1; } /* the kernel supplies argv[0] = "" */
  r->argv = blob;
  r->argv_len = len;
  r->argc = argc ? argc : 1;
  return 0;
}

int exec_prepare(struct req *r) {
  int dirfd = AT_FDCWD, flags = 0;
  uint64_t paddr = r->a[0], argv = r->a[1];
  if (r->nr == SYS_execveat) { dirfd = (int)r->a[0]; paddr = r->a[1]; argv = r->a[2]; flags = (int)r->a[4]; }
  int n = read_target_str(r->pid, paddr, r->argv0path, sizeof r->argv0path);
  if (n < 0) return n;
  int rc = read_argv(r, argv);
  if (rc < 0) return rc;
  if (!notif_valid(r->nid)) return -ESRCH;
  int fd = resolve_full(r->pid, dirfd, r->argv0path, (flags & AT_SYMLINK_NOFOLLOW) != 0, (flags & AT_EMPTY_PATH) != 0);
  if (fd < 0) return fd;
  r->fd1 = fd;
  struct stat st, st2;
  if (fstat(fd, &st) < 0) return -EIO;
  if (S_ISDIR(st.st_mode)) return -EACCES;
  if (S_ISLNK(st.st_mode)) return -ELOOP;
  if (!S_ISREG(st.st_mode)) return -EACCES;
  r->dev = st.st_dev;
  r->ino = st.st_ino;
  r->ops1 = OP_EXEC;
  if (fd_path(fd, r->path1, sizeof r->path1) < 0 || st.st_nlink == 0 || stat(r->path1, &st2) < 0 ||
      st2.st_dev != st.st_dev || st2.st_ino != st.st_ino) {
    exec_deny(r, EACCES, "exec of an anonymous or deleted file (memfd, unlinked, or no longer at its path) is denied");
    return 1;
  }
  if (is_loader(r->path1)) {
    exec_deny(r, EACCES, "running the dynamic loader directly (ld.so PROGRAM) is denied: it runs any readable file as a program");
    return 1;
  }
  /* #! script: the image the kernel will run is the interpreter. */
  char p[64], head[PATH_MAX + 3];
  snprintf(p, sizeof p, "%d", fd);
  int rfd = openat(g_self_fd, p, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (rfd >= 0) {
    ssize_t k = pread(rfd, head, sizeof head - 1, 0);
    close(rfd);
    if (k > 2 && head[0] == '#' && head[1] == '!') {
      head[k] = 0;
      char *s = head + 2;
      while (*s == ' ' || *s == '\t') s++;
      size_t e = strcspn(s, " \t\n");
      if (e >= sizeof r->interp) e = sizeof r->interp - 1;
      s[e] = 0;
      memcpy(r->interp, s, e + 1);
      r->script = 1;
      int ifd = resolve_full(r->pid, AT_FDCWD, r->interp, 0, 0);
      if (ifd >= 0) {
        struct stat ist;
        if (fstat(ifd, &ist) == 0) { r->idev = ist.st_dev; r->iino = ist.st_ino; }
        char canon[PATH_MAX];
        if (fd_path(ifd, canon, sizeof canon) == 0) snprintf(r->interp, sizeof r->interp, "%s", canon);
        close(ifd);
      }
    }
  }
  return 0;
}

int exec_depth(pid_t tid) {
  char v[32];
  if (proc_status_field(tid, "Tgid", v, sizeof v) < 0) return 0;
  pid_t p = (pid_t)atoi(v);
  if (!g_cmd_pid) g_cmd_pid = p; /* the first exec is the command's own */
  for (int d = 0; d < 256; d++) {
    if (p == g_cmd_pid) return d;
    if (p <= 1 || p == g_init_pid) return d;
    if (proc_status_field(p, "PPid", v, sizeof v) < 0) return d;
    p = (pid_t)atoi(v);
  }
  return 256;
}

void exec_deny(struct req *r, int err, const char *msg) {
  if (msg && *msg) {
    /* The caller's own stderr file description (shared offset), not a re-open of its path. */
    char t[32];
    int fd = -1;
    if (proc_status_field(r->pid, "Tgid", t, sizeof t) == 0) {
      int pidfd = (int)syscall(SYS_pidfd_open, (pid_t)atoi(t), 0);
      if (pidfd >= 0) { fd = (int)syscall(438 /* pidfd_getfd */, pidfd, 2, 0); close(pidfd); }
    }
    struct pollfd pf = { fd, POLLOUT, 0 };
    if (fd >= 0 && poll(&pf, 1, 0) != 1) { close(fd); fd = -1; } /* never block on a full pipe */
    if (fd >= 0) {
      char line[512];
      int n = snprintf(line, sizeof line, "cordon: %s\n", msg);
      if (n > 0 && write(fd, line, (size_t)(n < (int)sizeof line ? n : (int)sizeof line - 1)) < 0) { /* best effort */ }
      close(fd);
    }
  }
  respond(r, 0, err ? err : EACCES);
}

void exec_allow(struct req *r) {
  if (!(g_opts & OPT_DEGRADE_PTRACE_EXEC)) {
    if (traced_idx(r->pid) < 0) {
      if (ptrace(PTRACE_SEIZE, r->pid, 0, (void *)(long)(PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL)) < 0) {
        if (errno == ESRCH) { respond(r, 0, ESRCH); return; }
        exec_deny(r, EACCES, "cannot verify the executed image (ptrace seize failed); exec denied");
        return;
      }
      int i = traced_idx(0);
      if (i < 0) { exec_deny(r, EAGAIN, "too many concurrent execs under verification"); return; }
      g_traced[i] = r->pid;
    }
    struct pend *p = pend_find(r->pid);
    if (!p) for (int i = 0; i < NPEND && !p; i++) if (!g_pend[i].used) p = &g_pend[i];
    if (!p) { exec_deny(r, EAGAIN, "too many concurrent execs under verification"); return; }
    free(p->argv);
    p->used = 1;
    p->tid = r->pid;
    p->script = r->script;
    p->dev = r->script ? r->idev : r->dev;
    p->ino = r->script ? r->iino : r->ino;
    p->argv = r->argv;
    p->argv_len = r->argv_len;
    snprintf(p->path, sizeof p->path, "%s", r->path1);
    r->argv = NULL;
  }
  respond_continue(r);
}

static void report_kill(pid_t pid, const char *expected, const char *why) {
  struct buf b;
  b_init(&b, 'K');
  b_u32(&b, (uint32_t)pid);
  b_str(&b, expected);
  b_str(&b, why);
  b_send(&b);
}

static const char *verify(pid_t pid, struct pend *p) {
  char path[64];
  struct stat st;
  snprintf(path, sizeof path, "%d/exe", pid);
  if (fstatat(g_host_proc, path, &st, 0) < 0) return "cannot read the new image";
  if (st.st_dev != p->dev || st.st_ino != p->ino) return "the executed image is not the file that was decided";
  snprintf(path, sizeof path, "%d/cmdline", pid);
  int fd = openat(g_host_proc, path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "cannot read the new argv";
  size_t cap = p->argv_len + 2 * PATH_MAX + 64, len = 0;
  char *buf = malloc(cap);
  if (!buf) { close(fd); return "out of memory"; }
  for (ssize_t k; len < cap && (k = read(fd, buf + len, cap - len)) > 0;) len += (size_t)k;
  close(fd);
  const char *bad = NULL;
  if (!p->script) {
    if (len != p->argv_len || memcmp(buf, p->argv, len) != 0) bad = "the argv the kernel copied differs from the argv that was decided";
  } else {
    /* cmdline = interp [optarg] path argv[1..]: compare the decided tail. */
    size_t a0 = strlen(p->argv) + 1, tail = p->argv_len - a0;
    if (len < tail || memcmp(buf + len - tail, p->argv + a0, tail) != 0) bad = "the script arguments the kernel copied differ from those decided";
  }
  free(buf);
  return bad;
}

void exec_on_stop(pid_t pid, int status) {
  if (WIFEXITED(status) || WIFSIGNALED(status)) {
    untrace(pid);
    struct pend *p = pend_find(pid);
    if (p) pend_drop(p);
    return;
  }
  if (!WIFSTOPPED(status)) return;
  int event = status >> 16;
  if (event == PTRACE_EVENT_EXEC) {
    unsigned long former = 0;
    ptrace(PTRACE_GETEVENTMSG, pid, 0, &former);
    struct pend *p = pend_find((pid_t)former);
    if (!p) p = pend_find(pid);
    const char *bad = p ? verify(pid, p) : "exec that was never decided";
    if (bad) {
      kill(pid, SIGKILL);
      report_kill(pid, p ? p->path : "", bad);
    } else {
      ptrace(PTRACE_DETACH, pid, 0, 0);
    }
    untrace(pid);
    untrace((pid_t)former);
    if (p) pend_drop(p);
    return;
  }
  if (event == PTRACE_EVENT_STOP) {
    int sig = WSTOPSIG(status);
    if (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU) ptrace(PTRACE_LISTEN, pid, 0, 0);
    else ptrace(PTRACE_CONT, pid, 0, 0);
    return;
  }
  ptrace(PTRACE_CONT, pid, 0, (void *)(long)WSTOPSIG(status));
}
