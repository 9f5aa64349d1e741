/* cordon-supervisor entry point: spec in, sandbox up, notification loop, exit status out.
 *
 * Process layout:
 *   supervisor (host namespaces; not dumpable; setns'd into the sandbox's mount namespace)
 *     └─ init: PID 1 of a new PID/mount/IPC/UTS[/net] namespace, PDEATHSIG=SIGKILL
 *          └─ command: caps dropped, no_new_privs, Landlock, seccomp filter, then exec
 * The supervisor dying kills init (PDEATHSIG), and PID 1 dying kills its whole namespace:
 * no enforcement-free survivors (invariant 4). The sandbox cannot see the supervisor (it is
 * outside the PID namespace), cannot ptrace (static filter), cannot signal it (Landlock scope
 * and PID namespace), and never holds the notify fd or the control socket (invariant 3).
 */
#include "sup.h"
#include "req.h"
#include "resolve.h"
#include "rules.h"
#include "sandbox.h"
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)
#endif
extern int g_trash_fd;

void rules_frame(uint8_t t, struct rd *r);

struct spec S;

void push(char ***v, size_t *n, const char *s) {
  *v = realloc(*v, (*n + 2) * sizeof **v);
  if (!*v) die("out of memory");
  (*v)[(*n)++] = (char *)s;
  (*v)[*n] = NULL;
}

static void read_spec(void) {
  for (;;) {
    size_t len;
    uint8_t *f = read_frame(CTL_FD, &len);
    if (!f) die("control socket closed before the spec was complete");
    struct rd r = { f, len, 0, 0 };
    uint8_t t = r_u8(&r);
    switch (t) {
      case 'O': {
        S.opts = r_u32(&r);
        uint32_t trash = r_u32(&r);
        (void)trash; /* reserved: the session trash fd now comes from init (spec 'X') */
        uint32_t n = r_u32(&r);
        for (uint32_t i = 0; i < n && i < 8; i++) S.cg_fds[S.ncg++] = (int)r_u32(&r);
        break;
      }
      case 'A': push(&S.argv, &S.argc, r_str(&r, NULL)); break;
      case 'E': push(&S.envp, &S.envc, r_str(&r, NULL)); break;
      case 'W': push(&S.wroots, &S.nw, r_str(&r, NULL)); break;
      case 'L': {
        uint32_t rights = r_u32(&r);
        const char *path = r_str(&r, NULL);
        if (rights & 1) push(&S.rgrants, &S.nr, path);
        if (rights & 2) push(&S.lgrants, &S.nl, path);
        break;
      }
      case 'P': { extern char **g_protected; extern size_t g_nprotected; push(&g_protected, &g_nprotected, r_str(&r, NULL)); break; }
      case 'R': case 'D': rules_frame(t, &r); break;
      case 'C': S.cwd = (char *)r_str(&r, NULL); break;
      case 'X': S.trash_dir = (char *)r_str(&r, NULL); break;
      case 'G': free(f); return;
      default: die("unknown spec message type %d", t);
    }
    if (r.bad) die("malformed spec message of type '%c'", t);
    free(f);
  }
}

/* ---------------- supervisor ---------------- */
static int recv_listener(int sp, int *killable) {
  char data[600];
  union { struct cmsghdr h; char b[CMSG_SPACE(sizeof(struct ucred))]; } c;
  struct iovec io = { data, sizeof data - 1 };
  struct msghdr m = { .msg_iov = &io, .msg_iovlen = 1, .msg_control = c.b, .msg_controllen = sizeof c.b };
  ssize_t n = recvmsg(sp, &m, MSG_CMSG_CLOEXEC);
  if (n <= 0) die("the sandboxed command exited during setup");
  data[n] = 0;
  if (data[0] == 'E') die("%s", data + 1);
  /* "K|O <listener fd> <trash fd>" written by the command (sandbox.c); its pid comes from the
   * kernel (SO_PASSCRED), and the fds are taken from it with pidfd_getfd. */
  struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
  if (!cm || cm->cmsg_type != SCM_CREDENTIALS) die("setup handshake carried no credentials");
  struct ucred u;
  memcpy(&u, CMSG_DATA(cm), sizeof u);
  int lfd = -1, tfd = -1, ll_reads = 0;
  if (sscanf(data + 1, "%d %d %d", &lfd, &tfd, &ll_reads) != 3 || lfd < 0) die("malformed setup handshake");
  if (ll_reads == 1) {
    extern int g_landlock_reads;
    for (size_t i = 0; i < S.nl; i++) grants_add(S.lgrants[i]);
    g_landlock_reads = 1;
  }
  int pidfd = (int)syscall(SYS_pidfd_open, u.pid, 0);
  if (pidfd < 0) die("pidfd_open of the sandboxed command failed: %m");
  int fd = (int)syscall(438 /* pidfd_getfd */, pidfd, lfd, 0);
  if (fd < 0) die("taking the seccomp listener from the command failed: %m");
  if (tfd >= 0) { g_trash_fd = (int)syscall(438, pidfd, tfd, 0); if (g_trash_fd < 0) die("taking the session trash fd failed: %m"); }
  else if (S.trash_dir) die("setup handshake carried no session trash");
  close(pidfd);
  fcntl(fd, F_SETFD, FD_CLOEXEC);
  if (g_trash_fd >= 0) fcntl(g_trash_fd, F_SETFD, FD_CLOEXEC);
  if (write(sp, "k", 1) != 1) die("the sandboxed command exited during setup");
  *killable = data[0] == 'K';
  return fd;
}

static void keep_caps_for_supervision(void) {
  /* Same credentials as the sandbox for everything we emulate, except reading target memory,
   * verifying execs (CAP_SYS_PTRACE) and killing tracees (CAP_KILL). */
  struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
  struct __user_cap_data_struct d[2];
  memset(d, 0, sizeof d);
  d[0].effective = d[0].permitted = (1u << CAP_SYS_PTRACE) | (1u << CAP_KILL);
  if (syscall(SYS_capset, &h, d) < 0) die("capset (dropping the supervisor's own capabilities) failed: %m");
}

int probe_main(void);

/* 'R': ops mask, kind, errno, n, patterns...   'D': kind, errno (defaults.file). */
void rules_frame(uint8_t t, struct rd *r) {
  if (t == 'D') { uint32_t k = r_u32(r); uint32_t e = r_u32(r); rules_default((int)k, (int)e); return; }
  uint32_t mask = r_u32(r), kind = r_u32(r), err = r_u32(r), n = r_u32(r);
  if (r->bad || n > 4096) { r->bad = 1; return; }
  const char **pats = calloc(n + 1, sizeof *pats);
  if (!pats) die("out of memory");
  for (uint32_t i = 0; i < n; i++) pats[i] = r_str(r, NULL);
  if (!r->bad) rules_add(mask, (int)kind, (int)err, pats, (int)n);
  for (uint32_t i = 0; i < n; i++) free((void *)pats[i]);
  free(pats);
}

/* `--match`: rule frames then 'M' (ops, path) queries on stdin; one answer line each on stdout.
 * Also 'G' (a READ_DIR grant) and 'g' (path: "cover" or "no"). Used by the tests that
 * cross-check this matcher and the grant lookup against the TS side. */
static int match_main(void) {
  size_t len;
  uint8_t *f;
  while ((f = read_frame(0, &len))) {
    struct rd r = { f, len, 0, 0 };
    uint8_t t = r_u8(&r);
    if (t == 'R' || t == 'D') rules_frame(t, &r);
    else if (t == 'G') { const char *g = r_str(&r, NULL); if (g) grants_add(g); } /* kept: the table points at it */
    else if (t == 'g') {
      const char *path = r_str(&r, NULL);
      printf("%s\n", path && grants_cover(path) ? "cover" : "no");
      fflush(stdout);
      free((void *)path);
    } else if (t == 'M') {
      uint32_t ops = r_u32(&r);
      const char *path = r_str(&r, NULL);
      int err = 0, k = rules_decide(ops, path ? path : "", &err);
      if (k == RK_ALLOW) printf("allow\n"); else if (k == RK_DENY) printf("deny %d\n", err); else printf("ask\n");
      fflush(stdout);
      free((void *)path);
    }
    free(f);
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "--probe") == 0) return probe_main();
  if (argc > 1 && strcmp(argv[1], "--match") == 0) return match_main();
  if (fcntl(CTL_FD, F_GETFD) < 0) {
    fprintf(stderr, "cordon-supervisor: no control socket on fd 3; this program is started by `cordon run`.\n");
    return 126;
  }
  fcntl(CTL_FD, F_SETFD, FD_CLOEXEC);
  prctl(PR_SET_DUMPABLE, 0);
  /* Cordon's Node process records every decision: if it dies, nothing may go on unrecorded. The
   * main loop also ends at the control socket's EOF; this covers every step before it (a
   * parent dead before this call shows as EOF in read_spec). init and the tree follow via
   * init's own PDEATHSIG and the PID namespace. */
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  read_spec();
  if (!S.argc) die("no command given");
  if (geteuid() != 0) die("cordon run needs root for its namespaces and cgroups (running as uid %d)", (int)geteuid());
  int abi = (S.opts & OPT_FAULT_NO_LANDLOCK) ? 0 : landlock_abi();
  if (abi < 1 && !(S.opts & OPT_DEGRADE_LANDLOCK))
    die("Landlock is not available on this kernel (needs 5.13+ with landlock enabled); rerun with --allow-degraded=landlock to run without it");
  g_host_proc = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (g_host_proc < 0) die("cannot open /proc: %m");
  g_self_fd = openat(g_host_proc, "self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (g_self_fd < 0) die("cannot open /proc/self/fd: %m");
  int go[2], ready[2], status[2], sp[2];
  if (pipe2(go, O_CLOEXEC) < 0 || pipe2(ready, O_CLOEXEC) < 0 || pipe2(status, O_CLOEXEC) < 0 ||
      socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
    die("pipe/socketpair failed: %m");
  int one_ = 1;
  if (setsockopt(sp[0], SOL_SOCKET, SO_PASSCRED, &one_, sizeof one_) < 0) die("SO_PASSCRED failed: %m");
  unsigned long flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS | SIGCHLD;
  if (S.opts & OPT_NEWNET) flags |= CLONE_NEWNET;
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  sigaddset(&mask, SIGPIPE);
  sigprocmask(SIG_BLOCK, &mask, NULL);
  pid_t pid = (pid_t)syscall(SYS_clone, flags, NULL, NULL, NULL, NULL);
  if (pid < 0) die("clone into new namespaces failed: %m");
  if (pid == 0) {
    sigprocmask(SIG_UNBLOCK, &mask, NULL);
    close(go[1]); close(ready[0]); close(status[0]); close(sp[0]); close(CTL_FD);
    if (g_trash_fd >= 0) close(g_trash_fd);
    init_main(go[0], ready[1], status[1], sp[1]);
  }
  g_init_pid = pid;
  /* Ctrl-C / Ctrl-\ on the terminal reach the sandboxed command directly (same process group);
   * they must not end the supervisor, whose death would kill the whole tree. */
  signal(SIGINT, SIG_IGN);
  signal(SIGQUIT, SIG_IGN);
  close(go[0]); close(ready[1]); close(status[1]); close(sp[1]);
  for (int i = 0; i < S.ncg; i++) close(S.cg_fds[i]);
  if (write(go[1], "g", 1) != 1) die("init exited at start");
  /* The network namespace exists from the clone on: Node sets up egress in it while init sets
   * up the rest (mounts, the cgroup join). Init still runs nothing until the 'H' frame below,
   * which Node sends only once egress is in place. */
  if (S.opts & OPT_EGRESS) {
    struct buf b;
    b_init(&b, 'N');
    b_u32(&b, (uint32_t)pid);
    if (b_send(&b) < 0) { kill(pid, SIGKILL); return 1; }
  }
  char msg[300];
  ssize_t n = read(ready[0], msg, sizeof msg - 1);
  if (n <= 0) die("sandbox init exited during setup");
  msg[n] = 0;
  if (msg[0] == 'E') die("%s", msg + 1);
  if (S.opts & OPT_EGRESS) {
    size_t len;
    uint8_t *f = read_frame(CTL_FD, &len);
    if (!f || len < 1 || f[0] != 'H') { kill(pid, SIGKILL); die("egress setup was not completed"); }
    uint32_t n = (uint32_t)(len - 1);
    if (write(go[1], &n, 4) != 4 || write(go[1], f + 1, n) != (ssize_t)n) die("sandbox init exited during egress setup");
    free(f);
  }
  char p[64];
  snprintf(p, sizeof p, "%d/ns/mnt", pid);
  int nsfd = openat(g_host_proc, p, O_RDONLY | O_CLOEXEC);
  if (nsfd < 0 || setns(nsfd, CLONE_NEWNS) < 0) die("joining the sandbox's mount namespace failed: %m");
  close(nsfd);
  if (chdir("/") < 0) die("chdir / failed: %m");
  int killable = 0;
  g_notify_fd = recv_listener(sp[0], &killable);
  close(sp[0]);
  uint64_t one = SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP;
  int sync_wake = ioctl(g_notify_fd, SECCOMP_IOCTL_NOTIF_SET_FLAGS, one) == 0;
  notify_init();
  keep_caps_for_supervision();
  int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0) die("signalfd failed: %m");
  fcntl(CTL_FD, F_SETFL, fcntl(CTL_FD, F_GETFL) | O_NONBLOCK);
  {
    struct buf b;
    b_init(&b, 'S');
    b_u32(&b, (uint32_t)pid);
    b_u32(&b, (uint32_t)abi);
    b_u32(&b, (uint32_t)(sync_wake | killable << 1));
    if (b_send(&b) < 0) { kill(pid, SIGKILL); return 1; }
  }
  int have_status = 0;
  uint32_t cmd_status = 0;
  struct pollfd pf[4] = {
    { g_notify_fd, POLLIN, 0 }, { CTL_FD, POLLIN, 0 }, { status[0], POLLIN, 0 }, { sfd, POLLIN, 0 },
  };
  for (;;) {
    int k = poll(pf, 4, -1);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) die("poll failed: %m");
    if (pf[0].revents & POLLIN) handle_notification();
    if (pf[0].revents & (POLLHUP | POLLERR | POLLNVAL)) pf[0].fd = -1; /* no filtered process left */
    if (pf[1].revents) {
      if (ctl_pump() < 0) {
        /* Node is gone: nobody can decide or audit, so the sandbox ends now. */
        kill(pid, SIGKILL);
        return 1;
      }
      size_t len;
      uint8_t *f;
      while ((f = ctl_next(&len))) {
        struct rd r = { f, len, 0, 0 };
        uint8_t t = r_u8(&r);
        if (t == 'a') handle_answer(&r);
        else if (t == 'T') kill(pid, SIGKILL); /* terminate (timeout, Ctrl-C) */
        free(f);
      }
    }
    if (pf[2].revents) {
      if (read(status[0], &cmd_status, 4) == 4) have_status = 1;
      pf[2].fd = -1;
    }
    if (pf[3].revents) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) == sizeof si) {}
      for (;;) {
        int st;
        pid_t w = waitpid(-1, &st, __WALL | WNOHANG);
        if (w <= 0) break;
        if (w == pid) {
          if (!have_status && read(status[0], &cmd_status, 4) == 4) have_status = 1;
          extern uint64_t g_native_allows;
          uint64_t cache_hits(void);
          struct buf b;
          b_init(&b, 'C');
          b_u32(&b, (uint32_t)g_native_allows);
          b_u32(&b, (uint32_t)cache_hits());
          b_send(&b);
          b_init(&b, 'Y');
          b_u32(&b, have_status ? cmd_status : (uint32_t)(SIGKILL));
          b_u32(&b, have_status);
          b_send(&b);
          return 0;
        }
        exec_on_stop(w, st);
      }
    }
  }
}
