/* Probes for the decision kinds carried out by the supervisor on the caller's behalf: exec
 * redirect (with a racing thread), signal redirect, unix datagram sendmsg, fchmod/fchown on fds.
 * Each prints one `result=... key=value` line; the tests read effects in the world as well. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- exec redirect under a racing thread ---- */
static const char *race_a, *race_b, *race_bad, *arg_a, *arg_b;
static char race_buf[4096];
static char arg_buf[4096];
static volatile int stop_threads;
static void *flipper(void *x) {
  (void)x;
  for (unsigned i = 0; !stop_threads; i++) {
    strcpy(race_buf, (i & 1) ? race_b : race_a);
    strcpy(arg_buf, (i & 1) ? arg_b : arg_a);
  }
  return NULL;
}
/* Predicts where the supervisor's injected mapping will land (the next free page the kernel
 * hands out) and keeps writing a forbidden path there. */
static sigjmp_buf jb;
static void on_segv(int s) { (void)s; siglongjmp(jb, 1); }
static void *mapper(void *x) {
  (void)x;
  void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return NULL;
  munmap(p, 4096);
  volatile char *a = p;
  while (!stop_threads) {
    if (sigsetjmp(jb, 1) == 0) {
      for (size_t i = 0; race_bad[i]; i++) a[i] = race_bad[i];
      a[strlen(race_bad)] = 0;
    }
  }
  return NULL;
}

static int redirrace(const char *orig, const char *bad, const char *marker, int n) {
  if (strlen(orig) != strlen(bad)) { fprintf(stderr, "paths must have equal length\n"); return 2; }
  int sub = 0, orig_runs = 0, denied = 0, killed = 0, refused = 0, other = 0;
  for (int i = 0; i < n; i++) {
    pid_t p = fork();
    if (p == 0) {
      race_a = orig; race_b = bad; race_bad = bad;
      strcpy(race_buf, orig);
      char m2[4096];
      snprintf(m2, sizeof m2, "%s2", marker);
      arg_a = marker; arg_b = m2;
      strcpy(arg_buf, marker);
      struct sigaction sa = { .sa_handler = on_segv };
      sigaction(SIGSEGV, &sa, NULL);
      pthread_t t, m;
      if (i % 2) pthread_create(&t, NULL, flipper, NULL);
      pthread_create(&m, NULL, mapper, NULL);
      for (int spin = 0; spin < 3000 * (i % 5); spin++) __asm__ volatile("" ::: "memory");
      char *argv[] = { race_buf, arg_buf, NULL };
      execve(race_buf, argv, (char *[]){ "A=1", NULL });
      _exit(errno == EACCES || errno == EPERM ? 3 : 4);
    }
    int st;
    waitpid(p, &st, 0);
    if (WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) killed++;
    else if (WIFEXITED(st) && WEXITSTATUS(st) == 7) sub++;
    else if (WIFEXITED(st) && WEXITSTATUS(st) == 3) denied++;
    else if (WIFEXITED(st) && WEXITSTATUS(st) == 42) orig_runs++;
    else if (WIFEXITED(st) && WEXITSTATUS(st) == 4) refused++; /* injected exec failed: ENOENT etc. */
    else { other++; fprintf(stderr, "other status %#x\n", st); }
  }
  printf("result=done sub_runs=%d orig_runs=%d denied=%d killed=%d refused=%d other=%d\n", sub, orig_runs, denied, killed, refused, other);
  return 0;
}

/* ---- signal redirect: the child records the signal it received ---- */
static const char *sig_file;
static void on_sig(int s) {
  int fd = open(sig_file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  char b[32];
  int k = snprintf(b, sizeof b, "got=%d\n", s);
  if (fd >= 0) { if (write(fd, b, (size_t)k) < 0) _exit(5); close(fd); }
  _exit(0);
}
static int sigredir(const char *how, int sig, const char *file) {
  sig_file = file;
  int pfd[2];
  if (pipe(pfd) < 0) return 2;
  pid_t c = fork();
  if (c == 0) {
    struct sigaction sa = { .sa_handler = on_sig };
    for (int s = 1; s < 32; s++) if (s != SIGKILL && s != SIGSTOP && s != SIGCHLD) sigaction(s, &sa, NULL);
    close(pfd[0]);
    if (write(pfd[1], "r", 1) != 1) _exit(6);
    for (int i = 0; i < 100; i++) sleep(1);
    _exit(9);
  }
  close(pfd[1]);
  char x;
  if (read(pfd[0], &x, 1) != 1) return 2;
  long rc;
  if (!strcmp(how, "pidfd")) {
    int fd = (int)syscall(SYS_pidfd_open, c, 0);
    rc = syscall(424, fd, sig, NULL, 0);
  } else if (!strcmp(how, "tgkill")) {
    rc = syscall(SYS_tgkill, c, c, sig);
  } else rc = kill(c, sig);
  int e = errno;
  if (rc < 0) kill(c, SIGKILL);
  int st;
  waitpid(c, &st, 0);
  printf("result=%s errno=%d\n", rc < 0 ? "failed" : "sent", rc < 0 ? e : 0);
  return 0;
}

/* ---- sendmsg with a destination on a unix datagram socket ---- */
static int dgram_sendmsg(const char *path, const char *payload, int mmsg) {
  int s = socket(AF_UNIX, SOCK_DGRAM, 0);
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
  struct iovec io[2] = { { (void *)payload, strlen(payload) / 2 }, { (void *)(payload + strlen(payload) / 2), strlen(payload) - strlen(payload) / 2 } };
  struct msghdr m = { .msg_name = &sa, .msg_namelen = sizeof sa, .msg_iov = io, .msg_iovlen = 2 };
  long rc;
  if (mmsg) {
    struct mmsghdr mm[2] = { { .msg_hdr = m }, { .msg_hdr = m } };
    rc = sendmmsg(s, mm, 2, 0);
    if (rc >= 0) { printf("result=ok sent=%ld len0=%u\n", rc, mm[0].msg_len); return 0; }
  } else {
    rc = sendmsg(s, &m, 0);
    if (rc >= 0) { printf("result=ok sent=%ld\n", rc); return 0; }
  }
  printf("result=failed errno=%d\n", errno);
  return 0;
}

/* sendmmsg on a socket connected to `okpath`: the first message unnamed (to the peer), the
 * second named `path`. Sends the rest until done or refused, as a program would. */
static int mixed_sendmmsg(const char *okpath, const char *path) {
  int s = socket(AF_UNIX, SOCK_DGRAM, 0);
  struct sockaddr_un ok = { .sun_family = AF_UNIX }, sa = { .sun_family = AF_UNIX };
  snprintf(ok.sun_path, sizeof ok.sun_path, "%s", okpath);
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
  if (connect(s, (struct sockaddr *)&ok, sizeof ok) < 0) { printf("result=noconnect errno=%d\n", errno); return 0; }
  struct iovec i0 = { "to-peer", 7 }, i1 = { "to-named", 8 };
  struct mmsghdr mm[2] = { { .msg_hdr = { .msg_iov = &i0, .msg_iovlen = 1 } },
                           { .msg_hdr = { .msg_name = &sa, .msg_namelen = sizeof sa, .msg_iov = &i1, .msg_iovlen = 1 } } };
  int done = 0, calls = 0;
  while (done < 2 && calls < 4) {
    int rc = sendmmsg(s, mm + done, (unsigned)(2 - done), 0);
    calls++;
    if (rc < 0) { printf("result=failed sent=%d errno=%d\n", done, errno); return 0; }
    done += rc;
  }
  printf("result=ok sent=%d calls=%d\n", done, calls);
  return 0;
}

/* ---- fchmod / fchown on an fd ---- */
static int fdmeta(const char *op, const char *file) {
  int fd = open(file, O_RDONLY);
  if (fd < 0) { printf("result=failed errno=%d\n", errno); return 0; }
  long rc = !strcmp(op, "fchmod") ? fchmod(fd, 0600) : fchown(fd, (uid_t)-1, getgid());
  if (rc < 0) printf("result=failed errno=%d\n", errno);
  else printf("result=ok\n");
  return 0;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  if (argc < 2) return 2;
  const char *c = argv[1];
  if (!strcmp(c, "redirrace") && argc == 6) return redirrace(argv[2], argv[3], argv[4], atoi(argv[5]));
  if (!strcmp(c, "sigredir") && argc == 5) return sigredir(argv[2], atoi(argv[3]), argv[4]);
  if (!strcmp(c, "sendmsg") && argc == 4) return dgram_sendmsg(argv[2], argv[3], 0);
  if (!strcmp(c, "sendmmsg") && argc == 4) return dgram_sendmsg(argv[2], argv[3], 1);
  if (!strcmp(c, "sendmmsg_mixed") && argc == 4) return mixed_sendmmsg(argv[2], argv[3]);
  if ((!strcmp(c, "fchmod") || !strcmp(c, "fchown")) && argc == 3) return fdmeta(c, argv[2]);
  fprintf(stderr, "unknown probe %s\n", c);
  return 2;
}
