/* The seccomp filter: one table generates both the static side-door denies (DESIGN.md
 * invariant 2) and the user-notify traps the supervisor decides.
 *
 * Security scope: x86_64 only. Foreign-arch entry points (int 0x80 / i386) kill the process;
 * x32 numbers (bit 30) get EPERM; the side doors below get EPERM (ENOSYS for clone3 so libc
 * falls back to clone, whose flags we can inspect). NOT covered here: syscalls whose danger
 * lies in memory arguments (sendmsg addresses, ioctl structs other than TIOCSTI/TIOCLINUX) and
 * anything a capability already gates (caps are dropped before this filter is installed).
 */
#include "sup.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x80
#endif
#define CLONE_NS_MASK (CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | \
                       CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWTIME)

/* Side doors: always EPERM. */
static const int deny_eperm[] = {
  425, 426, 427,                   /* io_uring_setup, io_uring_enter, io_uring_register */
  SYS_setns, SYS_mount, SYS_umount2, SYS_pivot_root,
  428, 429, 430, 431, 432, 433, 442, /* open_tree, move_mount, fsopen, fsconfig, fsmount, fspick, mount_setattr */
  SYS_ptrace, SYS_process_vm_readv, SYS_process_vm_writev, 438 /* pidfd_getfd */,
  SYS_bpf, SYS_perf_event_open, SYS_kexec_load, SYS_kexec_file_load,
  SYS_init_module, SYS_finit_module, SYS_delete_module,
  SYS_open_by_handle_at, SYS_userfaultfd, SYS_add_key, SYS_request_key, SYS_keyctl,
  SYS_uselib, SYS_acct, SYS_swapon, SYS_swapoff, SYS_reboot, SYS_syslog, SYS_chroot,
  SYS_lookup_dcookie, SYS_quotactl, SYS_vhangup, SYS_iopl, SYS_ioperm,
  SYS_fanotify_init, SYS_name_to_handle_at,
};

/* Decided by the supervisor (user notification). */
static const int trap_file[] = {
  SYS_open, SYS_openat, 437 /* openat2 */, SYS_creat, SYS_execve, SYS_execveat,
  SYS_unlink, SYS_unlinkat, SYS_rename, SYS_renameat, SYS_renameat2, SYS_mkdir, SYS_mkdirat,
  SYS_rmdir, SYS_link, SYS_linkat, SYS_symlink, SYS_symlinkat, SYS_chmod, SYS_fchmodat,
  452 /* fchmodat2 */, SYS_chown, SYS_lchown, SYS_fchownat, SYS_truncate, SYS_mknod, SYS_mknodat,
  SYS_fchown, /* fchmod: trapped by its own block in build() (setuid bits refused first) */
};
/* sendmsg/sendmmsg: a message header may name a unix datagram destination the filter cannot
 * read, so every one is carried out by the supervisor (sendmsg.c) when unix sockets are decided. */
static const int trap_unix[] = { SYS_connect, SYS_bind, SYS_sendmsg, SYS_sendmmsg };
static const int trap_signal[] = { SYS_kill, SYS_tkill, SYS_tgkill, 424 /* pidfd_send_signal */,
                                   SYS_rt_sigqueueinfo, SYS_rt_tgsigqueueinfo };

static int g_trap_unix, g_trap_signal, g_read_fastpath;

static int in_list(const int *l, size_t n, int nr) {
  for (size_t i = 0; i < n; i++) if (l[i] == nr) return 1;
  return 0;
}
#define IN(l, nr) in_list(l, sizeof(l) / sizeof(l[0]), nr)

int syscall_is_trapped(int nr) {
  return IN(trap_file, nr) || nr == SYS_fchmod || (g_trap_unix && IN(trap_unix, nr)) || (g_trap_signal && IN(trap_signal, nr));
}

struct prog { struct sock_filter *f; size_t n, cap; };
static void emit(struct prog *p, struct sock_filter s) {
  if (p->n == p->cap) {
    p->cap = p->cap ? p->cap * 2 : 256;
    p->f = realloc(p->f, p->cap * sizeof *p->f);
    if (!p->f) die("out of memory building the seccomp filter");
  }
  p->f[p->n++] = s;
}
#define STMT(c, k) ((struct sock_filter)BPF_STMT(c, k))
#define JUMP(c, k, t, f) ((struct sock_filter)BPF_JUMP(c, k, t, f))
#define RET(v) emit(p, STMT(BPF_RET | BPF_K, (v)))
#define LD_NR() emit(p, STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)))
#define LD_ARG_LO(i) emit(p, STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[i])))

/* if (nr == k) return v; */
static void nr_ret(struct prog *p, int nr, uint32_t v) {
  emit(p, JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)nr, 0, 1));
  RET(v);
}

static void build(struct prog *p) {
  const uint32_t EPERM_ = SECCOMP_RET_ERRNO | EPERM;
  emit(p, STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)));
  emit(p, JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0));
  RET(SECCOMP_RET_KILL_PROCESS);
  LD_NR();
  emit(p, JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000u, 0, 1)); /* x32 ABI */
  RET(EPERM_);
  for (size_t i = 0; i < sizeof deny_eperm / sizeof deny_eperm[0]; i++) nr_ret(p, deny_eperm[i], EPERM_);
  nr_ret(p, 435 /* clone3 */, SECCOMP_RET_ERRNO | ENOSYS);

  /* clone / unshare: no namespace flags (user namespaces above all). */
  int ns_calls[] = { SYS_clone, SYS_unshare };
  for (int k = 0; k < 2; k++) {
    emit(p, JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)ns_calls[k], 0, 5));
    LD_ARG_LO(0);
    emit(p, JUMP(BPF_JMP | BPF_JSET | BPF_K, CLONE_NS_MASK, 0, 1));
    RET(EPERM_);
    RET(SECCOMP_RET_ALLOW);
    LD_NR(); /* not reached; keeps the block size fixed */
  }
  /* socket / socketpair: common families only (no AF_VSOCK, AF_PACKET, AF_ALG, ...). */
  int sock_calls[] = { SYS_socket, SYS_socketpair };
  for (int k = 0; k < 2; k++) {
    emit(p, JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)sock_calls[k], 0, 7));
    LD_ARG_LO(0);
    emit(p, JUMP(BPF_JMP | BPF_JEQ | BPF_K, AF_UNIX, 3, 0));
    emit(p, JUMP(BPF_JMP | BPF_JEQ | BPF_K, AF_INET, 2, 0));
    emit(p, JUMP(BPF_JMP | BPF_JEQ | BPF_K, AF_INET6, 1, 0));
    emit(p, JUMP(BPF_JMP | BPF_JEQ | BPF_K, AF_NETLINK, 0, 1));
    RET(SECCOMP_RET_ALLOW);
    RET(SECCOMP_RET_ERRNO | EAFNOSUPPORT);
  }
  /* fchmod: no setuid/setgid bits (a root-owned setuid file outlives the session). The path
   * forms (chmod, fchmodat, fchmodat2) are emulated and checked in emulate.c. Other modes are
   * decided like chmod, on the fd's object (decode.c: a pidfd_getfd copy, acted on). */
  emit(p, JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_fchmod, 0, 4));
  LD_ARG_LO(1);
  emit(p, JUMP(BPF_JMP | BPF_JSET | BPF_K, 06000, 0, 1));
  RET(EPERM_);
  RET(SECCOMP_RET_USER_NOTIF);
  /* ioctl: no terminal input injection (TIOCSTI) nor console tricks (TIOCLINUX). */
  emit(p, JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_ioctl, 0, 5));
  LD_ARG_LO(1);
  emit(p, JUMP(BPF_JMP | BPF_JEQ | BPF_K, TIOCSTI, 1, 0));
  emit(p, JUMP(BPF_JMP | BPF_JEQ | BPF_K, TIOCLINUX, 0, 1));
  RET(EPERM_);
  RET(SECCOMP_RET_ALLOW);

  if (g_read_fastpath) {
    /* Plain read-only opens go straight to the kernel, where Landlock's READ_FILE/READ_DIR
     * grants (computed from the policy, src/sandbox/read-fastpath.ts) decide them. */
    const uint32_t not_plain = O_ACCMODE | O_CREAT | O_TRUNC | O_PATH | __O_TMPFILE | O_DIRECTORY;
    emit(p, JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_open, 0, 4));
    LD_ARG_LO(1);
    emit(p, JUMP(BPF_JMP | BPF_JSET | BPF_K, not_plain, 1, 0));
    RET(SECCOMP_RET_ALLOW);
    RET(SECCOMP_RET_USER_NOTIF);
    emit(p, JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat, 0, 4));
    LD_ARG_LO(2);
    emit(p, JUMP(BPF_JMP | BPF_JSET | BPF_K, not_plain, 1, 0));
    RET(SECCOMP_RET_ALLOW);
    RET(SECCOMP_RET_USER_NOTIF);
  }
  for (size_t i = 0; i < sizeof trap_file / sizeof trap_file[0]; i++) nr_ret(p, trap_file[i], SECCOMP_RET_USER_NOTIF);
  if (g_trap_unix) {
    /* sendto with a destination address (argument 4 non-NULL): a unix datagram can name any
     * socket path, so it is decided like connect. send() (NULL address) stays untrapped. */
    emit(p, JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_sendto, 0, 6));
    LD_ARG_LO(4);
    emit(p, JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 3));
    emit(p, STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[4]) + 4));
    emit(p, JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1));
    RET(SECCOMP_RET_ALLOW);
    RET(SECCOMP_RET_USER_NOTIF);
  }
  if (g_trap_unix)
    for (size_t i = 0; i < sizeof trap_unix / sizeof trap_unix[0]; i++) nr_ret(p, trap_unix[i], SECCOMP_RET_USER_NOTIF);
  if (g_trap_signal)
    for (size_t i = 0; i < sizeof trap_signal / sizeof trap_signal[0]; i++) nr_ret(p, trap_signal[i], SECCOMP_RET_USER_NOTIF);
  RET(SECCOMP_RET_ALLOW);
}

/* Installs the filter with a notification listener. Requires no_new_privs. */
int install_filter(int tu, int ts, int rf, int *listener_out, int *killable_out) {
  g_trap_unix = tu;
  g_trap_signal = ts;
  g_read_fastpath = rf;
  struct prog p = {0};
  build(&p);
  struct sock_fprog fp = { .len = (unsigned short)p.n, .filter = p.f };
  unsigned long flags = SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
  long fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &fp);
  *killable_out = 1;
  if (fd < 0 && errno == EINVAL) {
    /* Kernel before 5.19: no WAIT_KILLABLE_RECV. Still sound; only signal restarts differ. */
    flags &= ~SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
    fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &fp);
    *killable_out = 0;
  }
  free(p.f);
  if (fd < 0) return -errno;
  *listener_out = (int)fd;
  return 0;
}
