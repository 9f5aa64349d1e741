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
 *
 * Redirect (the caller becomes a substitute command): the original exec is answered with an
 * error (it never runs), after PTRACE_INTERRUPT so that the thread stops on its way back to user
 * space, before a single instruction. At that stop the supervisor injects two syscalls at the
 * `syscall` instruction the caller used (rip - 2): an anonymous mmap (fresh memory: nothing of
 * the caller's stack or heap is overwritten, which matters for vfork children sharing their
 * parent's memory), then, after writing the decided path, argv and environment there, an
 * execve pointing at them. Signals are blocked while this runs (the original mask is restored
 * at the exec stop or on failure). The injected execve is trapped like any other: it is
 * recognized (same thread, the addresses we wrote), its path and argv are copied and compared
 * with what was decided, and it is verified at the exec stop like an allowed exec (image
 * dev/ino and argv), so a sibling thread rewriting the mapping only gets itself killed or
 * refused. If anything fails, the caller's registers are restored and its execve returns the
 * error: the original program never runs either way.
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
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/user.h>
#include "sandbox.h"
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_ARGV (2u << 20)
/* TRACESYSGOOD: syscall stops (only ever requested while a redirect is injected) are told apart
 * from signal stops. */
#define SEIZE_OPTS (PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL | PTRACE_O_TRACESYSGOOD)

struct pend { pid_t tid; int used, script; dev_t dev; ino_t ino; char *argv; size_t argv_len; char path[PATH_MAX]; };
#define NPEND 1024
static struct pend g_pend[NPEND];
static pid_t g_traced[NPEND];

static int traced_idx(pid_t t) { for (int i = 0; i < NPEND; i++) if (g_traced[i] == t) return i; return -1; }
static void untrace(pid_t t) { int i = traced_idx(t); if (i >= 0) g_traced[i] = 0; }
static struct pend *pend_find(pid_t t) { for (int i = 0; i < NPEND; i++) if (g_pend[i].used && g_pend[i].tid == t) return &g_pend[i]; return NULL; }
static void pend_drop(struct pend *p) { free(p->argv); p->argv = NULL; p->used = 0; }

/* A redirect being carried out on one thread (see the header comment). */
enum { RD_TRAP = 1, RD_MMAP, RD_EXEC };
struct redir {
  pid_t tid;
  int phase, nr, have_mask;
  struct user_regs_struct saved; /* the caller's registers at the trap (rax = our error) */
  uint64_t mask;                 /* the caller's signal mask, restored at the exec stop or on failure */
  char path[PATH_MAX];           /* canonical path of the substitute */
  char cmd[256];                 /* as the rule names it (messages) */
  dev_t dev;
  ino_t ino;
  char *argv;                    /* decided substitute argv, NUL-separated */
  size_t argv_len;
  int argc;
  char *env;                     /* the rule's environment (K=V, NUL-separated) */
  size_t env_len;
  int envc;
  char *fenv;                    /* final environment, built at the trap when env is set */
  size_t fenv_len;
  int fenvc;
  uint64_t envp;                 /* the caller's envp: passed through when the rule sets none */
  uint64_t map, maplen, path_addr, argv_addr;
};
#define NREDIR 64
static struct redir *g_redir[NREDIR];
static struct redir *redir_find(pid_t t) {
  for (int i = 0; i < NREDIR; i++) if (g_redir[i] && g_redir[i]->tid == t) return g_redir[i];
  return NULL;
}
static void redir_drop(struct redir *d) {
  for (int i = 0; i < NREDIR; i++) if (g_redir[i] == d) g_redir[i] = NULL;
  free(d->argv);
  free(d->env);
  free(d->fenv);
  free(d);
}
static void say(pid_t pid, const char *msg);
static int redir_check(struct req *r);
static int redir_stop(struct redir *d, pid_t pid, int status);
static void redir_exec_stop(pid_t pid, pid_t former);

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
  if (redir_check(r)) return 1; /* the execve injected for a redirect: decided already */
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

/* Writes "cordon: MSG" to the caller's own stderr file description (shared offset), not a re-open
 * of its path; never blocks on a full pipe. */
static void say(pid_t pid, const char *msg) {
  if (!msg || !*msg) return;
  char t[32];
  int fd = -1;
  if (proc_status_field(pid, "Tgid", t, sizeof t) == 0) {
    int pidfd = (int)syscall(SYS_pidfd_open, (pid_t)atoi(t), 0);
    if (pidfd >= 0) { fd = (int)syscall(438 /* pidfd_getfd */, pidfd, 2, 0); close(pidfd); }
  }
  struct pollfd pf = { fd, POLLOUT, 0 };
  if (fd >= 0 && poll(&pf, 1, 0) != 1) { close(fd); fd = -1; }
  if (fd >= 0) {
    char line[512];
    int n = snprintf(line, sizeof line, "cordon: %s\n", msg);
    if (n > 0 && write(fd, line, (size_t)(n < (int)sizeof line ? n : (int)sizeof line - 1)) < 0) { /* best effort */ }
    close(fd);
  }
}

void exec_deny(struct req *r, int err, const char *msg) {
  say(r->pid, msg);
  respond(r, 0, err ? err : EACCES);
}

void exec_allow(struct req *r) {
  if (!(g_opts & OPT_DEGRADE_PTRACE_EXEC)) {
    if (traced_idx(r->pid) < 0) {
      if (ptrace(PTRACE_SEIZE, r->pid, 0, (void *)(long)SEIZE_OPTS) < 0) {
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
  struct redir *d = redir_find(pid);
  if (d && redir_stop(d, pid, status)) return;
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
      redir_exec_stop(pid, (pid_t)former);
      ptrace(PTRACE_DETACH, pid, 0, 0);
    }
    if (bad) { struct redir *x = redir_find((pid_t)former); if (!x) x = redir_find(pid); if (x) redir_drop(x); }
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

/* ---------------- redirect: the caller becomes the substitute command ---------------- */

/* The substitute, resolved in the sandbox's view: a path with a '/' from the caller's cwd, a bare
 * name through the session's PATH (the command's environment at start). */
static int resolve_cmd(pid_t pid, const char *cmd) {
  if (strchr(cmd, '/')) return resolve_full(pid, AT_FDCWD, cmd, 0, 0);
  const char *path = "/usr/local/bin:/usr/bin:/bin";
  for (size_t i = 0; i < S.envc; i++) if (strncmp(S.envp[i], "PATH=", 5) == 0) path = S.envp[i] + 5;
  char buf[PATH_MAX];
  for (const char *p = path;;) {
    const char *e = strchr(p, ':');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    if (n && p[0] == '/' && n + strlen(cmd) + 2 < sizeof buf) {
      snprintf(buf, sizeof buf, "%.*s/%s", (int)n, p, cmd);
      int fd = resolve_full(pid, AT_FDCWD, buf, 0, 0);
      if (fd >= 0) {
        struct stat st;
        if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) return fd;
        close(fd);
      }
    }
    if (!e) break;
    p = e + 1;
  }
  return -ENOENT;
}

/* text (from Node): command \0 argc \0 argv[0] \0 ... argv[argc-1] \0 K=V \0 ... (environment). */
void exec_redirect(struct req *r, const char *text, size_t n) {
  char msg[PATH_MAX + 128];
  if (g_opts & OPT_DEGRADE_PTRACE_EXEC) { exec_deny(r, EACCES, "exec redirect needs exec verification (ptrace), which this session runs without; denied"); return; }
  const char *end = text + n, *p = text;
  const char *cmd = p;
  p += strlen(p) + 1;
  if (p >= end) { exec_deny(r, EACCES, "malformed exec redirect; denied"); return; }
  int argc = atoi(p);
  p += strlen(p) + 1;
  const char *av = p;
  for (int i = 0; i < argc; i++) { if (p >= end) { exec_deny(r, EACCES, "malformed exec redirect; denied"); return; } p += strlen(p) + 1; }
  size_t av_len = (size_t)(p - av);
  const char *ev = p < end ? p : end;
  int envc = 0;
  while (p < end) { p += strlen(p) + 1; envc++; }
  if (p > end) p = end + 1; /* the last field's NUL is r_str's terminator */
  if (argc < 1 || av_len > MAX_ARGV || (size_t)(end - ev) > MAX_ARGV) { exec_deny(r, E2BIG, "exec redirect: substitute argv too large; denied"); return; }
  int fd = resolve_cmd(r->pid, cmd);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
    if (fd >= 0) close(fd);
    snprintf(msg, sizeof msg, "exec redirect: the substitute %s was not found in the sandbox; denied", cmd);
    exec_deny(r, ENOENT, msg);
    return;
  }
  struct redir *d = calloc(1, sizeof *d);
  int slot = -1;
  for (int i = 0; i < NREDIR && slot < 0; i++) if (!g_redir[i]) slot = i;
  if (!d || slot < 0 || fd_path(fd, d->path, sizeof d->path) < 0 || redir_find(r->pid)) {
    close(fd);
    free(d);
    exec_deny(r, EAGAIN, "exec redirect: too many redirects in progress; denied");
    return;
  }
  close(fd);
  d->dev = st.st_dev;
  d->ino = st.st_ino;
  snprintf(d->cmd, sizeof d->cmd, "%s", cmd);
  d->argv = malloc(av_len);
  size_t ev_len = envc ? (size_t)(p - ev) : 0;
  d->env = malloc(ev_len + 1);
  if (!d->argv || !d->env) { redir_drop(d); exec_deny(r, ENOMEM, "exec redirect: out of memory"); return; }
  memcpy(d->argv, av, av_len);
  d->argv_len = av_len;
  d->argc = argc;
  memcpy(d->env, ev, ev_len);
  d->env_len = ev_len;
  d->envc = envc;
  d->envp = r->nr == SYS_execveat ? r->a[3] : r->a[2];
  d->tid = r->pid;
  d->nr = r->nr;
  d->phase = RD_TRAP;
  if (traced_idx(r->pid) < 0) {
    int i = traced_idx(0);
    if (i < 0 || ptrace(PTRACE_SEIZE, r->pid, 0, (void *)(long)SEIZE_OPTS) < 0) {
      redir_drop(d);
      exec_deny(r, EACCES, "exec redirect: cannot take hold of the caller (ptrace seize failed); denied");
      return;
    }
    g_traced[i] = r->pid;
  }
  /* The stop must be requested before the answer: the thread then traps on its way back to user
   * space, before running anything. */
  if (ptrace(PTRACE_INTERRUPT, r->pid, 0, 0) < 0) {
    redir_drop(d);
    exec_deny(r, EACCES, "exec redirect: cannot stop the caller (ptrace interrupt failed); denied");
    return;
  }
  g_redir[slot] = d;
  respond(r, 0, EACCES); /* the original never runs; the caller sees this only if the redirect fails */
}

/* Gives the caller back its own registers with execve failing with err; signals as they were. */
static void redir_fail(struct redir *d, pid_t pid, int err, const char *why) {
  struct user_regs_struct g = d->saved;
  g.rax = (uint64_t)-(int64_t)err;
  ptrace(PTRACE_SETREGS, pid, 0, &g);
  if (d->have_mask) ptrace(PTRACE_SETSIGMASK, pid, sizeof d->mask, &d->mask);
  char msg[PATH_MAX + 160];
  snprintf(msg, sizeof msg, "exec redirect to %s could not be carried out (%s: %s); the command did not run", d->cmd, why, strerror(err));
  say(pid, msg);
  ptrace(PTRACE_CONT, pid, 0, 0);
  redir_drop(d);
}

static int write_target(pid_t pid, uint64_t addr, const void *buf, size_t n) {
  struct iovec l = { (void *)buf, n }, r = { (void *)(uintptr_t)addr, n };
  return process_vm_writev(pid, &l, 1, &r, 1, 0) == (ssize_t)n ? 0 : -EFAULT;
}

/* The final environment when the rule sets variables: the rule's first, then the caller's
 * (copied once, here), without the names the rule sets. Environment is not a decision input;
 * the copy only makes the substitute's view consistent. */
static int build_env(struct redir *d, pid_t pid) {
  size_t cap = d->env_len + 4096, len = 0;
  char *b = malloc(cap);
  if (!b) return -ENOMEM;
  memcpy(b, d->env, d->env_len);
  len = d->env_len;
  int cnt = d->envc;
  char *s = malloc(131072);
  if (!s) { free(b); return -ENOMEM; }
  for (int i = 0; d->envp && i < 65536; i++) {
    uint64_t ptr;
    if (read_target_mem(pid, d->envp + 8u * (uint64_t)i, &ptr, 8) < 0 || !ptr) break;
    int k = read_target_str(pid, ptr, s, 131072);
    if (k < 0) continue;
    const char *eq = strchr(s, '=');
    size_t nl = eq ? (size_t)(eq - s) : (size_t)k;
    int overridden = 0;
    for (const char *q = d->env; q < d->env + d->env_len; q += strlen(q) + 1)
      if (strncmp(q, s, nl) == 0 && q[nl] == '=') overridden = 1;
    if (overridden) continue;
    if (len + (size_t)k + 1 > MAX_ARGV) break;
    if (len + (size_t)k + 1 > cap) {
      cap = (len + (size_t)k + 1) * 2;
      char *nb = realloc(b, cap);
      if (!nb) { free(b); free(s); return -ENOMEM; }
      b = nb;
    }
    memcpy(b + len, s, (size_t)k + 1);
    len += (size_t)k + 1;
    cnt++;
  }
  free(s);
  d->fenv = b;
  d->fenv_len = len;
  d->fenvc = cnt;
  return 0;
}

/* Lays out path, argv strings, env strings, then the two pointer arrays, in the fresh mapping. */
static int write_blob(struct redir *d, pid_t pid) {
  size_t plen = strlen(d->path) + 1;
  size_t strs = plen + d->argv_len + d->fenv_len;
  size_t off_ptr = (strs + 7) & ~(size_t)7;
  size_t total = off_ptr + 8u * (size_t)(d->argc + 1) + 8u * (size_t)(d->fenvc + 1);
  if (total > d->maplen) return -E2BIG;
  char *b = calloc(1, total);
  if (!b) return -ENOMEM;
  memcpy(b, d->path, plen);
  memcpy(b + plen, d->argv, d->argv_len);
  if (d->fenv_len) memcpy(b + plen + d->argv_len, d->fenv, d->fenv_len);
  uint64_t *ptrs = (uint64_t *)(b + off_ptr);
  size_t o = plen;
  for (int i = 0; i < d->argc; i++) { ptrs[i] = d->map + o; o += strlen(b + o) + 1; }
  ptrs[d->argc] = 0;
  uint64_t *eptrs = ptrs + d->argc + 1;
  for (int i = 0; i < d->fenvc; i++) { eptrs[i] = d->map + o; o += strlen(b + o) + 1; }
  eptrs[d->fenvc] = 0;
  int rc = write_target(pid, d->map, b, total);
  free(b);
  d->path_addr = d->map;
  d->argv_addr = d->map + off_ptr;
  if (d->fenv) d->envp = d->map + off_ptr + 8u * (uint64_t)(d->argc + 1);
  return rc;
}

/* One ptrace stop of a thread with a redirect in progress. Returns 1 when the stop was handled
 * (the thread resumed), 0 to let the generic handling (exec verification) see it. */
static int redir_stop(struct redir *d, pid_t pid, int status) {
  if (WIFEXITED(status) || WIFSIGNALED(status)) { redir_drop(d); return 0; }
  if (!WIFSTOPPED(status)) return 0;
  int event = status >> 16, sig = WSTOPSIG(status);
  if (event == PTRACE_EVENT_EXEC) return 0;
  struct user_regs_struct g;
  if (d->phase == RD_TRAP) {
    /* Expected: the interrupt trap, right after the original execve returned our error. */
    if (event != PTRACE_EVENT_STOP || sig != SIGTRAP || ptrace(PTRACE_GETREGS, pid, 0, &g) < 0 || (long)g.orig_rax != d->nr) {
      say(pid, "exec redirect could not be carried out (the caller did not stop where expected); the command did not run");
      redir_drop(d);
      return 0;
    }
    unsigned char ins[2] = { 0, 0 };
    if (read_target_mem(pid, g.rip - 2, ins, 2) < 0 || ins[0] != 0x0f || ins[1] != 0x05) {
      d->saved = g;
      redir_fail(d, pid, EACCES, "the caller's syscall instruction was not found");
      return 1;
    }
    d->saved = g;
    if (ptrace(PTRACE_GETSIGMASK, pid, sizeof d->mask, &d->mask) == 0) {
      d->have_mask = 1;
      uint64_t all = ~(uint64_t)0;
      ptrace(PTRACE_SETSIGMASK, pid, sizeof all, &all);
    }
    if (d->envc && build_env(d, pid) < 0) { redir_fail(d, pid, ENOMEM, "environment"); return 1; }
    size_t need = strlen(d->path) + 1 + d->argv_len + d->fenv_len + 16 + 8u * (size_t)(d->argc + d->fenvc + 2);
    d->maplen = (need + 4095) & ~(uint64_t)4095;
    g.rip -= 2;
    g.orig_rax = (uint64_t)-1;
    g.rax = SYS_mmap;
    g.rdi = 0;
    g.rsi = d->maplen;
    g.rdx = PROT_READ | PROT_WRITE;
    g.r10 = MAP_PRIVATE | MAP_ANONYMOUS;
    g.r8 = (uint64_t)-1;
    g.r9 = 0;
    if (ptrace(PTRACE_SETREGS, pid, 0, &g) < 0) { redir_fail(d, pid, EACCES, "cannot set registers"); return 1; }
    d->phase = RD_MMAP;
    ptrace(PTRACE_SYSCALL, pid, 0, 0);
    return 1;
  }
  /* RD_MMAP / RD_EXEC: syscall stops of the injected calls; anything else passes through with
   * syscall tracing kept on. */
  if (event == PTRACE_EVENT_STOP) {
    if (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU) ptrace(PTRACE_LISTEN, pid, 0, 0);
    else ptrace(PTRACE_SYSCALL, pid, 0, 0);
    return 1;
  }
  if (sig != (SIGTRAP | 0x80)) { ptrace(PTRACE_SYSCALL, pid, 0, (void *)(long)sig); return 1; }
  struct { uint8_t op; uint8_t pad[7]; uint32_t arch; uint64_t ip, sp; uint64_t rest[8]; } si; /* struct ptrace_syscall_info */
  memset(&si, 0, sizeof si);
  if (ptrace(PTRACE_GET_SYSCALL_INFO, pid, sizeof si, &si) <= 0 || si.op != 2 /* PTRACE_SYSCALL_INFO_EXIT */ ||
      ptrace(PTRACE_GETREGS, pid, 0, &g) < 0) {
    ptrace(PTRACE_SYSCALL, pid, 0, 0);
    return 1;
  }
  if (d->phase == RD_MMAP) {
    if (g.orig_rax != SYS_mmap) { ptrace(PTRACE_SYSCALL, pid, 0, 0); return 1; }
    if ((int64_t)g.rax < 0 && (int64_t)g.rax > -4096) { redir_fail(d, pid, (int)-(int64_t)g.rax, "no memory for the substitute's arguments"); return 1; }
    d->map = g.rax;
    int rc = write_blob(d, pid);
    if (rc < 0) { redir_fail(d, pid, -rc, "cannot write the substitute's arguments"); return 1; }
    g = d->saved;
    g.rip -= 2;
    g.orig_rax = (uint64_t)-1;
    g.rax = SYS_execve;
    g.rdi = d->path_addr;
    g.rsi = d->argv_addr;
    g.rdx = d->envp;
    if (ptrace(PTRACE_SETREGS, pid, 0, &g) < 0) { redir_fail(d, pid, EACCES, "cannot set registers"); return 1; }
    d->phase = RD_EXEC;
    ptrace(PTRACE_SYSCALL, pid, 0, 0);
    return 1;
  }
  /* RD_EXEC: the injected execve returned, so it failed (refused at its notification, or by the
   * kernel); a success ends at the exec stop instead. */
  if (g.orig_rax != SYS_execve) { ptrace(PTRACE_SYSCALL, pid, 0, 0); return 1; }
  int err = (int64_t)g.rax < 0 && (int64_t)g.rax > -4096 ? (int)-(int64_t)g.rax : EACCES;
  redir_fail(d, pid, err, "the substitute could not be executed");
  return 1;
}

/* At the injected execve's notification: it must be ours, unchanged. 1 = answered. */
static int redir_check(struct req *r) {
  struct redir *d = redir_find(r->pid);
  if (!d) return 0;
  if (d->phase != RD_EXEC || r->nr != SYS_execve || r->a[0] != d->path_addr || r->a[1] != d->argv_addr) {
    respond(r, 0, EACCES);
    return 1;
  }
  if (r->dev != d->dev || r->ino != d->ino || r->argv_len != d->argv_len || memcmp(r->argv, d->argv, d->argv_len) != 0) {
    respond(r, 0, EACCES); /* rewritten meanwhile: refused (the caller gets its registers back) */
    return 1;
  }
  exec_allow(r); /* verified at the exec stop against the substitute's image and argv */
  return 1;
}

/* At the exec stop of a redirected thread: the caller's signal mask comes back before the
 * substitute's first instruction. */
static void redir_exec_stop(pid_t pid, pid_t former) {
  struct redir *d = redir_find(former);
  if (!d) d = redir_find(pid);
  if (!d) return;
  if (d->have_mask) ptrace(PTRACE_SETSIGMASK, pid, sizeof d->mask, &d->mask);
  redir_drop(d);
}
