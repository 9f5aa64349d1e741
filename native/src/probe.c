/* `cordon-supervisor --probe`: what this host can enforce, by trying each mechanism for real in
 * throwaway child processes (never by reading headers or version numbers). One `name=value`
 * line per feature on stdout; `cordon detect` formats them. */
#include "sup.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif

static int child_status(pid_t p) {
  int st;
  if (p < 0) return -1;
  while (waitpid(p, &st, __WALL) < 0) if (errno != EINTR) return -1;
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int probe_namespaces(unsigned long flags) {
  pid_t p = (pid_t)syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, NULL);
  if (p == 0) _exit(0);
  return child_status(p) == 0;
}

static int probe_landlock_restrict(void) {
  pid_t p = fork();
  if (p == 0) {
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    const char *none[] = { NULL };
    _exit(apply_landlock(landlock_abi(), none, none, none) == 0 ? 0 : 1);
  }
  return child_status(p) == 0;
}

/* Installs a listener trapping tee(2), answers it with ADDFD|SEND; reports what worked. */
static void probe_notify(int *notify, int *addfd, int *killable, int *sync_wake) {
  int sp[2];
  *notify = *addfd = *killable = *sync_wake = 0;
  if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp) < 0) return;
  pid_t p = fork();
  if (p == 0) {
    close(sp[0]);
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    struct sock_filter f[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_tee, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog fp = { 4, f };
    char k = 'K';
    long fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER | (1UL << 5), &fp);
    if (fd < 0) { k = 'O'; fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &fp); }
    if (fd < 0) _exit(2);
    union { struct cmsghdr h; char b[CMSG_SPACE(sizeof(int))]; } c;
    struct iovec io = { &k, 1 };
    struct msghdr m = { .msg_iov = &io, .msg_iovlen = 1, .msg_control = c.b, .msg_controllen = sizeof c.b };
    struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
    cm->cmsg_level = SOL_SOCKET; cm->cmsg_type = SCM_RIGHTS; cm->cmsg_len = CMSG_LEN(sizeof(int));
    int ifd = (int)fd;
    memcpy(CMSG_DATA(cm), &ifd, sizeof ifd);
    if (sendmsg(sp[1], &m, 0) < 0) _exit(3);
    close(ifd);
    long r = syscall(SYS_tee, 0, 0, 0, 0);
    _exit(r >= 0 && fcntl((int)r, F_GETFD) >= 0 ? 0 : 4);
  }
  close(sp[1]);
  char k;
  union { struct cmsghdr h; char b[CMSG_SPACE(sizeof(int))]; } c;
  struct iovec io = { &k, 1 };
  struct msghdr m = { .msg_iov = &io, .msg_iovlen = 1, .msg_control = c.b, .msg_controllen = sizeof c.b };
  if (recvmsg(sp[0], &m, 0) == 1 && CMSG_FIRSTHDR(&m)) {
    int lfd;
    memcpy(&lfd, CMSG_DATA(CMSG_FIRSTHDR(&m)), sizeof lfd);
    *notify = 1;
    *killable = k == 'K';
    uint64_t one = 1;
    *sync_wake = ioctl(lfd, SECCOMP_IOCTL_NOTIF_SET_FLAGS, one) == 0;
    struct seccomp_notif_sizes sz;
    syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sz);
    char nb[512];
    memset(nb, 0, sizeof nb);
    if (ioctl(lfd, SECCOMP_IOCTL_NOTIF_RECV, nb) == 0) {
      struct seccomp_notif *n = (struct seccomp_notif *)nb;
      int dn = open("/dev/null", O_RDONLY | O_CLOEXEC);
      struct seccomp_notif_addfd a = { .id = n->id, .flags = SECCOMP_ADDFD_FLAG_SEND, .srcfd = (uint32_t)dn };
      if (ioctl(lfd, SECCOMP_IOCTL_NOTIF_ADDFD, &a) >= 0) *addfd = 1;
      else {
        struct seccomp_notif_resp rsp = { .id = n->id, .error = -ENOSYS };
        ioctl(lfd, SECCOMP_IOCTL_NOTIF_SEND, &rsp);
      }
      close(dn);
    }
    close(lfd);
  }
  close(sp[0]);
  if (child_status(p) != 0) *addfd = 0;
}

static int probe_ptrace_seize(void) {
  pid_t p = fork();
  if (p == 0) { pause(); _exit(0); }
  int ok = ptrace(PTRACE_SEIZE, p, 0, (void *)(long)PTRACE_O_TRACEEXEC) == 0;
  kill(p, SIGKILL);
  child_status(p);
  return ok;
}

int probe_main(void) {
  int notify, addfd, killable, sync_wake;
  probe_notify(&notify, &addfd, &killable, &sync_wake);
  printf("root=%d\n", geteuid() == 0);
  printf("landlock_abi=%d\n", landlock_abi());
  printf("landlock_restrict=%d\n", probe_landlock_restrict());
  printf("seccomp_notify=%d\n", notify);
  printf("seccomp_addfd_send=%d\n", addfd);
  printf("seccomp_wait_killable=%d\n", killable);
  printf("seccomp_sync_wakeup=%d\n", sync_wake);
  printf("ns_pid_mnt_ipc_uts=%d\n", probe_namespaces(CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS));
  printf("ns_net=%d\n", probe_namespaces(CLONE_NEWNET));
  printf("ptrace_seize=%d\n", probe_ptrace_seize());
  return 0;
}
