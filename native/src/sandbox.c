/* The sandbox side of the supervisor's fork: init (PID 1 of the new namespaces) and the command
 * process (caps dropped, no_new_privs, Landlock, seccomp filter, exec). See main.c for the
 * process layout. */
#include "sup.h"
#include "sandbox.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SECBIT_NOROOT
#define SECBIT_NOROOT (1 << 0)
#define SECBIT_NOROOT_LOCKED (1 << 1)
#define SECBIT_NO_SETUID_FIXUP (1 << 2)
#define SECBIT_NO_SETUID_FIXUP_LOCKED (1 << 3)
#define SECBIT_KEEP_CAPS_LOCKED (1 << 5)
#endif

extern char **environ;

/* ---------------- the command process ---------------- */
static void cmd_fail(int sp, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));
static void cmd_fail(int sp, const char *fmt, ...) {
  char msg[600];
  msg[0] = 'E';
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg + 1, sizeof msg - 1, fmt, ap);
  va_end(ap);
  if (send(sp, msg, strlen(msg), 0) < 0) { /* supervisor gone: nothing to tell */ }
  _exit(126);
}

static int drop_caps(void) {
  if (prctl(PR_SET_SECUREBITS, SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |
                                   SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED) < 0 && errno != EPERM)
    return -1;
  for (int c = 0; c <= 63; c++) {
    if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL && errno != EPERM) return -1;
  }
  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
  struct __user_cap_data_struct d[2];
  memset(d, 0, sizeof d);
  if (syscall(SYS_capset, &h, d) < 0) return -1;
  return 0;
}

static void run_command(int sp) __attribute__((noreturn));
static void run_command(int sp) {
  /* Only stdin/stdout/stderr and the handshake socket survive into the sandbox. */
  if (dup2(sp, 3) < 0) cmd_fail(sp, "dup2 failed: %m");
  sp = 3;
  fcntl(sp, F_SETFD, FD_CLOEXEC);
  unsigned keep = 4;
  if (S.trash_fd >= 0) { /* kept (CLOEXEC) only until it is handed to the supervisor below */
    if (dup3(S.trash_fd, 4, O_CLOEXEC) < 0) cmd_fail(sp, "dup3 failed: %m");
    S.trash_fd = 4;
    keep = 5;
  }
  if (syscall(SYS_close_range, keep, ~0U, 0) < 0) cmd_fail(sp, "close_range failed: %m");
  if (S.cwd && chdir(S.cwd) < 0) cmd_fail(sp, "cannot change to the working directory %s: %m", S.cwd);
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) cmd_fail(sp, "prctl(PR_SET_NO_NEW_PRIVS) failed: %m");
  if (drop_caps() < 0) cmd_fail(sp, "dropping capabilities failed: %m");
  int abi = (S.opts & OPT_FAULT_NO_LANDLOCK) ? 0 : landlock_abi();
  /* The read fast path is only sound with Landlock holding the read boundary. */
  int fastpath = 0;
  if (abi > 0) {
    const char *none[] = { NULL };
    int want = (S.opts & OPT_READ_FASTPATH) != 0;
    const char *const *rg = want ? (S.rgrants ? (const char *const *)S.rgrants : none) : NULL;
    const char *const *lg = want ? (S.lgrants ? (const char *const *)S.lgrants : none) : NULL;
    int rc = apply_landlock(abi, S.wroots ? (const char *const *)S.wroots : none, rg, lg);
    if (rc < 0 && !(S.opts & OPT_DEGRADE_LANDLOCK)) cmd_fail(sp, "Landlock restrict_self failed: %s", strerror(-rc));
    fastpath = rc == 0 && want;
  } else if (!(S.opts & OPT_DEGRADE_LANDLOCK)) {
    cmd_fail(sp, "Landlock is not available on this kernel (needs 5.13+ with landlock in the LSM list)");
  }
  int lfd, killable;
  int rc = install_filter((S.opts & OPT_TRAP_UNIX) != 0, (S.opts & OPT_TRAP_SIGNAL) != 0, fastpath, &lfd, &killable);
  if (rc < 0) cmd_fail(sp, "installing the seccomp filter failed: %s", strerror(-rc));
  /* Hand the listener to the supervisor, then forget it: the sandbox never holds it. The
   * supervisor takes the fds itself (pidfd_getfd; it learns our pid from the credentials the
   * kernel attaches, SO_PASSCRED): a sendmsg from here would already be trapped by the filter
   * (sendmsg.c) whose listener the supervisor does not have yet. */
  char ok[48];
  /* Third field: 1 when the READ_DIR grants are all in force (the supervisor may then leave
   * directory opens inside them to Landlock, notify.c). */
  extern int g_landlock_skipped;
  int k = snprintf(ok, sizeof ok, "%c %d %d %d", killable ? 'K' : 'O', lfd, S.trash_fd, fastpath && g_landlock_skipped == 0);
  if (write(sp, ok, (size_t)k) != k) _exit(126);
  char ack;
  if (read(sp, &ack, 1) != 1) _exit(126);
  close(lfd);
  if (S.trash_fd >= 0) close(S.trash_fd);
  close(sp);
  environ = S.envp ? S.envp : (char *[]){ NULL };
  execvp(S.argv[0], S.argv);
  int e = errno;
  fprintf(stderr, "cordon: cannot run %s: %s\n", S.argv[0], strerror(e));
  _exit(e == ENOENT ? 127 : 126);
}

/* ---------------- init: PID 1 of the sandbox ---------------- */
static void lo_up(void) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return;
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
  if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    ioctl(s, SIOCSIFFLAGS, &ifr);
  }
  close(s);
}

void init_main(int go_r, int ready_w, int status_w, int sp) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  char b;
  if (read(go_r, &b, 1) != 1) _exit(1); /* supervisor died before we armed PDEATHSIG */
  const char *err = NULL;
  if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0) err = "making / a slave mount failed";
  else if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) err = "mounting the sandbox's /proc failed";
  else {
    struct stat st;
    if (stat("/dev/shm", &st) == 0) mount("shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
    /* Cordon's own state (audit log, trash, state directory) disappears from the sandbox's
     * view: an empty read-only tmpfs over directories, /dev/null over files. The supervisor's
     * hard deny stays as a second layer; and reads of these paths need no special case. */
    extern char **g_protected;
    extern size_t g_nprotected;
    /* soft_delete: the session trash is opened here, in the sandbox's mount namespace (so a
     * rename from the sandbox's files onto it stays on one mount), before it is hidden below;
     * the command hands it to the supervisor with the listener and closes it before exec. */
    S.trash_fd = -1;
    if (S.trash_dir) {
      int t = open(S.trash_dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (t < 0) err = "opening the session trash failed";
      else { S.trash_fd = fcntl(t, F_DUPFD_CLOEXEC, 64); close(t); if (S.trash_fd < 0) err = "opening the session trash failed"; }
    }
    for (size_t i = 0; i < g_nprotected && !err; i++) {
      struct stat pst;
      if (lstat(g_protected[i], &pst) < 0) continue;
      if (S_ISDIR(pst.st_mode)) {
        if (mount("cordon-hidden", g_protected[i], "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k,mode=0500") < 0)
          err = "hiding Cordon's state directory from the sandbox failed";
      } else if (S_ISREG(pst.st_mode)) {
        if (mount("/dev/null", g_protected[i], NULL, MS_BIND, NULL) < 0 ||
            mount(NULL, g_protected[i], NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NOEXEC, NULL) < 0)
          err = "hiding Cordon's audit file from the sandbox failed";
      }
    }
    sethostname("cordon", 6);
    if (S.opts & OPT_NEWNET) lo_up();
    for (int i = 0; i < S.ncg; i++) {
      if (write(S.cg_fds[i], "0", 1) != 1) { err = "joining the session's cgroup failed"; break; }
      close(S.cg_fds[i]);
    }
  }
  if (err) {
    char msg[300];
    snprintf(msg, sizeof msg, "E%s: %s", err, strerror(errno));
    if (write(ready_w, msg, strlen(msg)) < 0) _exit(1);
    _exit(1);
  }
  if (write(ready_w, "R", 1) != 1) _exit(1);
  close(ready_w);
  if (S.opts & OPT_EGRESS) {
    /* Egress is set up in our network namespace by Node meanwhile; then we get its proxy
     * environment and the resolv.conf to bind over /etc/resolv.conf. */
    uint32_t n;
    if (read(go_r, &n, 4) != 4 || n > (1u << 20)) _exit(1);
    uint8_t *buf = malloc(n ? n : 1);
    size_t got = 0;
    while (buf && got < n) { ssize_t k = read(go_r, buf + got, n - got); if (k <= 0) _exit(1); got += (size_t)k; }
    if (!buf) _exit(1);
    struct rd r = { buf, n, 0, 0 };
    uint32_t ne = r_u32(&r);
    for (uint32_t i = 0; i < ne && !r.bad; i++) {
      const char *kv = r_str(&r, NULL);
      const char *eq = kv ? strchr(kv, '=') : NULL;
      if (!eq) continue;
      size_t kl = (size_t)(eq - kv) + 1;
      size_t j = 0;
      for (; j < S.envc; j++) if (strncmp(S.envp[j], kv, kl) == 0) { S.envp[j] = (char *)kv; break; }
      if (j == S.envc) push(&S.envp, &S.envc, kv);
    }
    const char *resolv = r_str(&r, NULL);
    if (r.bad) _exit(1);
    if (resolv && *resolv && mount(resolv, "/etc/resolv.conf", NULL, MS_BIND, NULL) < 0) _exit(1);
  }
  pid_t cmd = fork();
  if (cmd < 0) _exit(1);
  if (cmd == 0) {
    close(status_w);
    close(go_r);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    run_command(sp);
  }
  close(sp);
  if (S.trash_fd >= 0) close(S.trash_fd); /* the command hands it over; init keeps none */
  /* init needs no privilege from here on: it only reaps. */
  prctl(PR_SET_NAME, "cordon-init");
  prctl(PR_SET_DUMPABLE, 0);
  prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  drop_caps();
  /* Reap everything; when the command exits, report its status and end the sandbox. */
  for (;;) {
    int st;
    pid_t p = waitpid(-1, &st, 0);
    if (p < 0 && errno == EINTR) continue;
    if (p < 0) _exit(1);
    if (p == cmd) {
      uint32_t v = (uint32_t)st;
      if (write(status_w, &v, 4) != 4) { /* supervisor gone: we die with it */ }
      _exit(0);
    }
  }
}

