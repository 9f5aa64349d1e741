/* Seccomp user notifications: decode, resolve, decide (cache or Node), carry out.
 *
 * Every file syscall is emulated: the supervisor performs it on the pinned O_PATH fds from
 * resolve.c (open + SECCOMP_IOCTL_NOTIF_ADDFD with SECCOMP_ADDFD_FLAG_SEND; unlinkat, renameat2,
 * mkdirat, ... on the parent fd) and returns the result; it never answers CONTINUE for a syscall
 * whose decision depends on a pointer, except execve (see exec.c). connect/bind/sendto are
 * carried out on the supervisor's pidfd_getfd copy of the socket (emulate.c), for every family.
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

/* ---- signal decision cache: Node's cacheable answers, keyed by everything the engine's
 * signal decision reads (src/sandbox/decide.ts operationsOf: the signal, the target's classes,
 * its pid in the sandbox and its name), so a hit is the decision Node would give again. Go
 * programs signal their own threads for preemption (tgkill SIGURG) hundreds of times a second:
 * without this each one waits for a round trip to Node. Node marks an answer cacheable only for
 * plain allow or deny (never audit, approve, redirect) and when the policy has no schedule. ---- */
struct sentry { int used, sig, err; uint32_t cls, tpid; char comm[64]; };
#define SSLOTS 1024u
static struct sentry g_sigcache[SSLOTS];
static uint32_t g_sigcache_n;

static uint32_t sig_hash(const struct req *r) {
  uint32_t h = hash(r->path1, (uint32_t)r->sig);
  return (h ^ (r->ops1 * 2654435761u) ^ (r->ops2 * 40503u)) & (SSLOTS - 1);
}
static int sig_same(const struct sentry *e, const struct req *r) {
  return e->sig == r->sig && e->cls == r->ops2 && e->tpid == r->ops1 && strcmp(e->comm, r->path1) == 0;
}
static struct sentry *sig_find(const struct req *r) {
  for (uint32_t i = sig_hash(r);; i = (i + 1) & (SSLOTS - 1)) {
    if (!g_sigcache[i].used) return NULL;
    if (sig_same(&g_sigcache[i], r)) return &g_sigcache[i];
  }
}
static void sig_put(const struct req *r, int err) {
  if (strlen(r->path1) >= sizeof g_sigcache[0].comm || sig_find(r)) return;
  if (g_sigcache_n >= SSLOTS / 2) { memset(g_sigcache, 0, sizeof g_sigcache); g_sigcache_n = 0; }
  uint32_t i = sig_hash(r);
  while (g_sigcache[i].used) i = (i + 1) & (SSLOTS - 1);
  struct sentry *e = &g_sigcache[i];
  e->used = 1; e->sig = r->sig; e->err = err; e->cls = r->ops2; e->tpid = r->ops1;
  snprintf(e->comm, sizeof e->comm, "%s", r->path1);
  g_sigcache_n++;
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
  if (r->msg) msg_free(r->msg);
  r->msg = NULL;
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
void respond_fd(struct req *r, int fd) {
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

/* Set when the sandbox reported Landlock READ_FILE/READ_DIR grants in force (the read fast
 * path; main.c). Only then may a directory open be left to the kernel. */
int g_landlock_reads;
uint64_t g_landlock_continues;

/* A plain read-only directory open (what the read fast path's filter still traps: O_DIRECTORY,
 * no create/truncate/O_PATH/O_TMPFILE) of an object inside a READ_DIR grant: Landlock already
 * allows exactly that, and every directory it allows is one the policy allows to be listed
 * (grants are computed that way), so the kernel may carry out the open itself (CONTINUE), as it
 * does for the untrapped plain opens. This is invariant 1's "the boundary is held by a kernel
 * mechanism": a thread rewriting the path after our check makes the kernel open something
 * else, which Landlock decides; at worst that racing open is refused. It saves the emulated
 * open and the fd injection (ADDFD waits for the target to run). */
static int landlock_holds(const struct req *r) {
  if (!g_landlock_reads || r->kind != K_OPEN || !r->isdir || r->ops1 != OP_LIST) return 0;
  if (r->nr != SYS_open && r->nr != SYS_openat) return 0;
  const unsigned f = (unsigned)r->flags;
  const unsigned not_plain = O_ACCMODE | O_CREAT | O_TRUNC | O_PATH | (O_TMPFILE & ~O_DIRECTORY);
  if ((f & not_plain) != 0 || (f & O_DIRECTORY) == 0) return 0;
  return grants_cover(r->path1);
}

/* The same case decided before the full decode (most directory opens: opendir, ls, git, grep,
 * find). Which way the open goes rests on a prediction only (see landlock_holds): the path is
 * copied (then ID_VALID), resolved in one step through the target's cwd or dirfd magic link,
 * and its canonical path looked up among the grants. Inside a grant, or when the prediction
 * cannot resolve the path at all (the kernel will then return its own error, or open what a
 * racing thread put there, under Landlock): CONTINUE. Outside every grant, under /proc or /dev,
 * or on Cordon's own state: returns 0 and the full decode and decision follow (emulated open). */
static int dir_open_fast(struct req *r) {
  if (!g_landlock_reads || (r->nr != SYS_open && r->nr != SYS_openat)) return 0;
  const int dirfd = r->nr == SYS_open ? AT_FDCWD : (int)r->a[0];
  const uint64_t paddr = r->nr == SYS_open ? r->a[0] : r->a[1];
  const unsigned f = (unsigned)(r->nr == SYS_open ? r->a[1] : r->a[2]);
  const unsigned not_plain = O_ACCMODE | O_CREAT | O_TRUNC | O_PATH | (O_TMPFILE & ~O_DIRECTORY);
  if ((f & not_plain) != 0 || (f & O_DIRECTORY) == 0) return 0;
  char path[PATH_MAX], canon[PATH_MAX];
  int n = read_target_str(r->pid, paddr, path, sizeof path);
  if (!notif_valid(r->nid)) { respond(r, 0, ESRCH); return 1; }
  if (n < 0) return 0; /* EFAULT, ENAMETOOLONG: the full decode answers */
  int fd;
  if (path[0] == '/') {
    if (strncmp(path, "/proc", 5) == 0 || strncmp(path, "/dev", 4) == 0) return 0; /* mapped in resolve.c */
    struct open_how how = { .flags = O_PATH | O_CLOEXEC | (f & O_NOFOLLOW), .resolve = RESOLVE_NO_MAGICLINKS };
    fd = (int)syscall(437, AT_FDCWD, path, &how, sizeof how);
  } else {
    char via[PATH_MAX + 64];
    int k = dirfd == AT_FDCWD ? snprintf(via, sizeof via, "%d/cwd/%s", r->pid, path)
                              : dirfd >= 0 ? snprintf(via, sizeof via, "%d/fd/%d/%s", r->pid, dirfd, path) : -1;
    if (k < 0 || (size_t)k >= sizeof via) return 0;
    fd = openat(g_host_proc, via, O_PATH | O_CLOEXEC | (f & O_NOFOLLOW));
  }
  if (fd < 0) { g_landlock_continues++; respond_continue(r); return 1; }
  char self[16];
  snprintf(self, sizeof self, "%d", fd);
  ssize_t len = readlinkat(g_self_fd, self, canon, sizeof canon - 1);
  close(fd);
  if (len <= 0 || canon[0] != '/') return 0;
  canon[len] = 0;
  if (strncmp(canon, "/proc", 5) == 0 || hard_deny(canon, OP_LIST) || !grants_cover(canon)) return 0;
  g_landlock_continues++;
  g_native_allows++;
  respond_continue(r);
  return 1;
}

static void decide(struct req *r) {
  if (r->kind == K_SIG) {
    struct sentry *e = sig_find(r);
    if (e) {
      g_cache_hits++;
      if (e->err) respond(r, 0, e->err); else respond_continue(r);
      return;
    }
  }
  if (r->kind == K_OPEN || r->kind == K_MUT) {
    if (other_proc_gated(r, r->path1)) { respond(r, 0, EACCES); return; }
    if (r->kind == K_OPEN && r->path1[0] == 0) { do_open(r, NULL); return; } /* own pipe/socket re-open */
    if (hard_deny(r->path1, r->ops1) || (r->ops2 && hard_deny(r->path2, r->ops2))) { respond(r, 0, EACCES); return; }
    if (landlock_holds(r)) { g_landlock_continues++; g_native_allows++; respond_continue(r); return; }
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
    if (dir_open_fast(r)) return;
    rc = decode_open(r);
    g_extra_resolve = 0;
  } else if (r->nr == SYS_execve || r->nr == SYS_execveat) {
    r->kind = K_EXEC;
    rc = exec_prepare(r);
    if (rc == 1) return; /* already answered (hard deny) */
  } else if (r->nr == SYS_connect || r->nr == SYS_bind || r->nr == SYS_sendto || r->nr == SYS_sendmsg || r->nr == SYS_sendmmsg) {
    rc = decode_unix(r);
    if (rc == 1) return; /* carried out on the supervisor's copy of the socket and answered */
  } else if (r->nr == SYS_kill || r->nr == SYS_tkill || r->nr == SYS_tgkill || r->nr == 424 ||
             r->nr == SYS_rt_sigqueueinfo || r->nr == SYS_rt_tgsigqueueinfo) {
    rc = decode_signal(r);
    if (rc == 1) { respond_continue(r); return; }
  } else {
    r->kind = K_MUT;
    rc = decode_mut(r);
    if (rc == 1) return; /* fchmod/fchown of an object with no path: carried out on the copy */
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
  size_t tn = 0;
  const char *text = r_str(rd, &tn);
  struct req *r = find_req(id);
  if (rd->bad || !r) { free((void *)text); return; }
  if (!err) err = EACCES;
  if (cacheable && (r->kind == K_OPEN || r->kind == K_MUT) && !r->ops2 && (dec == ANS_ALLOW || dec == ANS_DENY))
    cache_put(r->path1, r->ops1, dec == ANS_ALLOW ? 0 : (int)err);
  if (cacheable && r->kind == K_SIG && (dec == ANS_ALLOW || dec == ANS_DENY)) sig_put(r, dec == ANS_ALLOW ? 0 : (int)err);
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
        /* The supervisor moves the pinned object into the session trash (emulate.c) and tells
         * Node what it moved, so Node only writes the index (src/sandbox/trash.ts). */
        extern struct stat g_trash_st;
        extern int g_trash_method;
        uint32_t qid = r->id;
        int rc = do_mut(r, text);
        respond(r, 0, rc < 0 ? -rc : 0);
        struct buf b;
        char num[3][32];
        b_init(&b, 'Z');
        b_u32(&b, qid);
        b_u32(&b, (uint32_t)(rc < 0 ? -rc : 0));
        b_u32(&b, (uint32_t)g_trash_method);
        b_u32(&b, (uint32_t)g_trash_st.st_mode);
        b_u32(&b, (uint32_t)g_trash_st.st_uid);
        b_u32(&b, (uint32_t)g_trash_st.st_gid);
        snprintf(num[0], sizeof num[0], "%lld", (long long)g_trash_st.st_size);
        snprintf(num[1], sizeof num[1], "%.3f", g_trash_st.st_mtim.tv_sec * 1e3 + g_trash_st.st_mtim.tv_nsec / 1e6);
        snprintf(num[2], sizeof num[2], "%.3f", g_trash_st.st_atim.tv_sec * 1e3 + g_trash_st.st_atim.tv_nsec / 1e6);
        for (int i = 0; i < 3; i++) b_str(&b, num[i]);
        b_send(&b);
      } else respond(r, 0, (int)err);
      break;
    case K_EXEC:
      if (dec == ANS_ALLOW) exec_allow(r);
      else if (dec == ANS_REDIRECT) exec_redirect(r, text, tn); /* the caller becomes the substitute (exec.c) */
      else exec_deny(r, (int)err, text);
      break;
    case K_UNIX:
      if (dec == ANS_ALLOW) { int rc = do_unix(r); respond(r, rc < 0 ? 0 : rc, rc < 0 ? -rc : 0); }
      else respond(r, 0, (int)err);
      break;
    case K_SIG:
      if (dec == ANS_ALLOW) respond_continue(r);
      else if (dec == ANS_REDIRECT) sig_redirect(r, atoi(text)); /* another signal, same target (decode.c) */
      else respond(r, 0, (int)err);
      break;
  }
  free((void *)text);
}

uint64_t cache_hits(void) { return g_cache_hits; }

