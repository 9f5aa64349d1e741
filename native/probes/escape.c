/* Escape probes for test/escape/: each subcommand attempts one attack and prints one line
 * `result=...` (plus counters) so the test can compare a sandboxed run with its control.
 * Harmless by construction: they only touch paths the test passes in. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <netinet/in.h>
#include <termios.h>
#include <unistd.h>

static const char *ename(int e) {
  switch (e) {
    case 0: return "ok";
    case EPERM: return "EPERM"; case EACCES: return "EACCES"; case ENOSYS: return "ENOSYS";
    case ENOENT: return "ENOENT"; case EINVAL: return "EINVAL"; case EAFNOSUPPORT: return "EAFNOSUPPORT";
    case EAGAIN: return "EAGAIN"; case ENOTTY: return "ENOTTY"; case EIO: return "EIO"; case ESRCH: return "ESRCH";
    case ELOOP: return "ELOOP"; case EXDEV: return "EXDEV"; case EFAULT: return "EFAULT"; case EBADF: return "EBADF";
    default: return strerror(e);
  }
}
static int out(long rc) { printf("result=%s\n", rc < 0 ? ename(errno) : "ok"); fflush(stdout); return 0; }

/* ---- path-rewriting race on open ---- */
static char race_buf[4096];
static const char *race_a, *race_b;
static volatile int race_stop;
static void *flipper(void *x) {
  (void)x;
  size_t n = strlen(race_a) + 1;
  while (!race_stop) { memcpy(race_buf, race_b, n); memcpy(race_buf, race_a, n); }
  return NULL;
}
static int openrace(const char *good, const char *bad, int iters) {
  if (strlen(good) != strlen(bad)) { fprintf(stderr, "paths must have equal length\n"); return 2; }
  race_a = good; race_b = bad;
  strcpy(race_buf, good);
  pthread_t t;
  pthread_create(&t, NULL, flipper, NULL);
  int secret = 0, okc = 0, fail = 0;
  for (int i = 0; i < iters; i++) {
    int fd = open(race_buf, O_RDONLY);
    if (fd < 0) { fail++; continue; }
    char b[64] = {0};
    ssize_t k = read(fd, b, sizeof b - 1);
    close(fd);
    if (k > 0 && strstr(b, "SECRET")) secret++; else okc++;
  }
  race_stop = 1;
  pthread_join(t, NULL);
  printf("result=done secret_reads=%d ok_reads=%d failed=%d\n", secret, okc, fail);
  return 0;
}

/* ---- unix sockaddr family-flipping race: connect(unix socket, buf) while a thread flips buf
 * between AF_INET 127.0.0.1:1 and AF_UNIX <path>. A supervisor that reads the family once and
 * lets the kernel re-read it would let the AF_UNIX version through undecided. ---- */
static union { struct sockaddr_un un; struct sockaddr_in in; char raw[sizeof(struct sockaddr_un)]; } ur_buf, ur_a, ur_b;
static void *uflipper(void *x) {
  (void)x;
  /* Each version held for a while: the race is about which one the supervisor copies. */
  while (!race_stop) {
    memcpy(&ur_buf, &ur_b, sizeof ur_buf);
    __asm__ volatile("" ::: "memory"); /* keep both stores (no dead-store elimination) */
    for (volatile int i = 0; i < 2000; i++) {}
    memcpy(&ur_buf, &ur_a, sizeof ur_buf);
    __asm__ volatile("" ::: "memory"); /* keep both stores (no dead-store elimination) */
    for (volatile int i = 0; i < 2000; i++) {}
  }
  return NULL;
}
static int unixrace(const char *path, int iters) {
  memset(&ur_a, 0, sizeof ur_a);
  ur_a.in.sin_family = AF_INET; ur_a.in.sin_port = htons(1); ur_a.in.sin_addr.s_addr = htonl(0x7f000001);
  memset(&ur_b, 0, sizeof ur_b);
  ur_b.un.sun_family = AF_UNIX; strncpy(ur_b.un.sun_path, path, sizeof ur_b.un.sun_path - 1);
  memcpy(&ur_buf, &ur_a, sizeof ur_buf);
  pthread_t t;
  pthread_create(&t, NULL, uflipper, NULL);
  int conn = 0, fail = 0;
  for (int i = 0; i < iters; i++) {
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    if (connect(s, (struct sockaddr *)&ur_buf, sizeof(struct sockaddr_un)) == 0) { conn++; (void)!write(s, "x", 1); } else { if (errno != EINVAL) fprintf(stderr, "connect: %s\n", ename(errno)); fail++; }
    close(s);
  }
  race_stop = 1;
  pthread_join(t, NULL);
  printf("result=done connected=%d failed=%d\n", conn, fail);
  return 0;
}

/* The same, while a second thread swaps the fd number between a fresh unix socket and an inet
 * one (dup2): a supervisor that checks the socket's domain and then lets the kernel re-fetch the
 * fd would be fooled just the same. */
static void *fdswapper(void *x) {
  int inet = *(int *)x;
  while (!race_stop) {
    int u = socket(AF_UNIX, SOCK_STREAM, 0);
    dup2(u, 100);
    close(u);
    for (volatile int i = 0; i < 2000; i++) {}
    dup2(inet, 100);
    for (volatile int i = 0; i < 2000; i++) {}
  }
  return NULL;
}
static int unixfdswap(const char *path, int iters) {
  memset(&ur_a, 0, sizeof ur_a);
  ur_a.in.sin_family = AF_INET; ur_a.in.sin_port = htons(1); ur_a.in.sin_addr.s_addr = htonl(0x7f000001);
  memset(&ur_b, 0, sizeof ur_b);
  ur_b.un.sun_family = AF_UNIX; strncpy(ur_b.un.sun_path, path, sizeof ur_b.un.sun_path - 1);
  memcpy(&ur_buf, &ur_a, sizeof ur_buf);
  int inet = socket(AF_INET, SOCK_STREAM, 0);
  dup2(inet, 100);
  pthread_t t1, t2;
  pthread_create(&t1, NULL, uflipper, NULL);
  pthread_create(&t2, NULL, fdswapper, &inet);
  int conn = 0, fail = 0;
  for (int i = 0; i < iters; i++) {
    if (connect(100, (struct sockaddr *)&ur_buf, sizeof(struct sockaddr_un)) == 0) { conn++; (void)!send(100, "x", 1, MSG_NOSIGNAL); } else fail++;
  }
  race_stop = 1;
  pthread_join(t1, NULL);
  pthread_join(t2, NULL);
  printf("result=done connected=%d failed=%d\n", conn, fail);
  return 0;
}

/* ---- unix datagram to a path on an unconnected socket (sendto with an address) ---- */
static int udgram_send(const char *path, const char *msg) {
  int s = socket(AF_UNIX, SOCK_DGRAM, 0);
  struct sockaddr_un a = { .sun_family = AF_UNIX };
  strncpy(a.sun_path, path, sizeof a.sun_path - 1);
  return out(sendto(s, msg, strlen(msg), 0, (struct sockaddr *)&a, sizeof a));
}
/* The listener the test owns (run bare): binds path, prints what arrives within ms. */
static int udgram_recv(const char *path, int ms) {
  int s = socket(AF_UNIX, SOCK_DGRAM, 0);
  struct sockaddr_un a = { .sun_family = AF_UNIX };
  strncpy(a.sun_path, path, sizeof a.sun_path - 1);
  unlink(path);
  if (bind(s, (struct sockaddr *)&a, sizeof a) < 0) return out(-1);
  chmod(path, 0777);
  printf("ready\n"); fflush(stdout);
  struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char b[256];
  int n = 0;
  ssize_t k;
  while ((k = recv(s, b, sizeof b - 1, 0)) > 0) { b[k] = 0; printf("got=%s\n", b); n++; fflush(stdout); }
  printf("result=done received=%d\n", n);
  return 0;
}

/* ---- symlink swap race: exchange dir/d (real dir) and dir/e (symlink to the secret dir) ---- */
static const char *swap_dir;
static void *swapper(void *x) {
  (void)x;
  char a[4096], b[4096];
  snprintf(a, sizeof a, "%s/d", swap_dir);
  snprintf(b, sizeof b, "%s/e", swap_dir);
  while (!race_stop) syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, 2 /* RENAME_EXCHANGE */);
  return NULL;
}
/* soft_delete under the same swap: unlink dir/d/v<i> while d and e (-> secret) trade places. */
static int rmswap(const char *dir, int n) {
  swap_dir = dir;
  pthread_t t;
  pthread_create(&t, NULL, swapper, NULL);
  int okc = 0, fail = 0;
  for (int i = 0; i < n; i++) {
    char p[4096];
    snprintf(p, sizeof p, "%s/d/v%d", dir, i);
    if (unlink(p) == 0) okc++; else fail++;
  }
  race_stop = 1;
  pthread_join(t, NULL);
  printf("result=done removed=%d failed=%d\n", okc, fail);
  return 0;
}
static int swaprace(const char *dir, int iters) {
  swap_dir = dir;
  pthread_t t;
  pthread_create(&t, NULL, swapper, NULL);
  char p[4096];
  snprintf(p, sizeof p, "%s/d/f", dir);
  int secret = 0, okc = 0, fail = 0;
  for (int i = 0; i < iters; i++) {
    int fd = open(p, O_RDONLY);
    if (fd < 0) { fail++; continue; }
    char b[64] = {0};
    ssize_t k = read(fd, b, sizeof b - 1);
    close(fd);
    if (k > 0 && strstr(b, "SECRET")) secret++; else okc++;
  }
  race_stop = 1;
  pthread_join(t, NULL);
  printf("result=done secret_reads=%d ok_reads=%d failed=%d\n", secret, okc, fail);
  return 0;
}

/* ---- path-rewriting race on exec: children exec the good path while a thread flips it ---- */
static int execrace(const char *good, const char *bad, const char *marker, int n) {
  if (strlen(good) != strlen(bad)) { fprintf(stderr, "paths must have equal length\n"); return 2; }
  int bad_runs = 0, denied = 0, killed = 0, good_runs = 0;
  for (int i = 0; i < n; i++) {
    pid_t p = fork();
    if (p == 0) {
      race_a = good; race_b = bad;
      strcpy(race_buf, good);
      pthread_t t;
      pthread_create(&t, NULL, flipper, NULL);
      for (int spin = 0; spin < 2000 * (i % 7); spin++) __asm__ volatile("" ::: "memory");
      char *argv[] = { race_buf, (char *)marker, NULL };
      execve(race_buf, argv, (char *[]){ NULL });
      _exit(errno == EACCES || errno == EPERM ? 3 : 4);
    }
    int st;
    waitpid(p, &st, 0);
    if (WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) killed++;
    else if (WIFEXITED(st) && WEXITSTATUS(st) == 3) denied++;
    else if (WIFEXITED(st) && WEXITSTATUS(st) == 42) bad_runs++;
    else if (WIFEXITED(st) && WEXITSTATUS(st) == 0) good_runs++;
  }
  printf("result=done good_runs=%d bad_runs=%d denied=%d killed=%d\n", good_runs, bad_runs, denied, killed);
  return 0;
}

static int memfdexec(const char *file, const char *marker) {
  int src = open(file, O_RDONLY);
  if (src < 0) return out(-1);
  int m = (int)syscall(SYS_memfd_create, "x", 0);
  char b[65536];
  ssize_t k;
  while ((k = read(src, b, sizeof b)) > 0) if (write(m, b, (size_t)k) != k) return out(-1);
  char *argv[] = { "x", (char *)marker, NULL };
  syscall(SYS_execveat, m, "", argv, (char *[]){ NULL }, AT_EMPTY_PATH);
  return out(-1);
}

static int do_fexecve(const char *file, const char *marker) {
  int fd = open(file, O_RDONLY);
  if (fd < 0) return out(-1);
  char *argv[] = { (char *)file, (char *)marker, NULL };
  fexecve(fd, argv, (char *[]){ NULL });
  return out(-1);
}

static int do_execveat(const char *dir, const char *name, const char *marker) {
  int d = open(dir, O_PATH | O_DIRECTORY);
  if (d < 0) return out(-1);
  char *argv[] = { (char *)name, (char *)marker, NULL };
  syscall(SYS_execveat, d, name, argv, (char *[]){ NULL }, 0);
  return out(-1);
}

static int procfd_write(const char *file) {
  int fd = open(file, O_RDONLY);
  if (fd < 0) return out(-1);
  char p[64];
  snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
  int w = open(p, O_WRONLY | O_TRUNC);
  if (w < 0) return out(-1);
  long rc = write(w, "PWNED\n", 6);
  return out(rc);
}

static int forkbomb(int max) {
  int made = 0, err = 0;
  pid_t kids[4096];
  for (; made < max && made < 4096; made++) {
    pid_t p = fork();
    if (p < 0) { err = errno; break; }
    if (p == 0) { pause(); _exit(0); }
    kids[made] = p;
  }
  for (int i = 0; i < made; i++) kill(kids[i], SIGKILL);
  for (int i = 0; i < made; i++) waitpid(kids[i], NULL, 0);
  printf("result=%s forked=%d\n", err ? ename(err) : "ok", made);
  return 0;
}

static int findsup(void) {
  DIR *d = opendir("/proc");
  int seen = 0, found = 0;
  struct dirent *e;
  while (d && (e = readdir(d))) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    seen++;
    char p[300], comm[64] = {0};
    snprintf(p, sizeof p, "/proc/%s/comm", e->d_name);
    int fd = open(p, O_RDONLY);
    if (fd < 0) continue;
    if (read(fd, comm, sizeof comm - 1) > 0 && (strncmp(comm, "cordon-supervis", 15) == 0 || strncmp(comm, "node", 4) == 0)) found++;
    close(fd);
  }
  printf("result=done processes=%d supervisor_or_node=%d pid=%d\n", seen, found, (int)getpid());
  return 0;
}

static int fdlist(void) {
  DIR *d = opendir("/proc/self/fd");
  int self = dirfd(d);
  printf("result=done fds=");
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.' || atoi(e->d_name) == self) continue;
    printf("%s,", e->d_name);
  }
  printf("\n");
  return 0;
}

/* A sibling holding a secret in its environment, dumpable or not; we try to read it. */
static int environ_peek(const char *self, int dumpable) {
  int pfd[2];
  if (pipe(pfd) < 0) return out(-1);
  pid_t p = fork();
  if (p == 0) {
    close(pfd[0]);
    char fdarg[16], d[4];
    snprintf(fdarg, sizeof fdarg, "%d", pfd[1]);
    snprintf(d, sizeof d, "%d", dumpable);
    char *argv[] = { (char *)self, "hold", d, fdarg, NULL };
    char *envp[] = { "CORDON_TEST_SECRET=hunter2", NULL };
    execve(self, argv, envp);
    _exit(1);
  }
  close(pfd[1]);
  char b;
  if (read(pfd[0], &b, 1) != 1) return out(-1);
  char path[64], buf[4096] = {0};
  snprintf(path, sizeof path, "/proc/%d/environ", (int)p);
  int fd = open(path, O_RDONLY);
  long rc = fd;
  if (fd >= 0) { ssize_t k = read(fd, buf, sizeof buf - 1); rc = k; close(fd); }
  int e = errno;
  kill(p, SIGKILL);
  waitpid(p, NULL, 0);
  errno = e;
  if (rc >= 0) { for (int i = 0; i < (int)sizeof buf - 1; i++) if (!buf[i]) buf[i] = ' '; printf("result=ok leaked=%s\n", strstr(buf, "hunter2") ? "yes" : "no"); return 0; }
  return out(-1);
}

int main(int argc, char **argv) {
  if (argc < 2) { fprintf(stderr, "usage: escape PROBE ARGS...\n"); return 2; }
  const char *c = argv[1];
  if (!strcmp(c, "hold") && argc == 4) {
    prctl(PR_SET_DUMPABLE, atoi(argv[2]));
    if (write(atoi(argv[3]), "r", 1) != 1) return 1;
    pause();
    return 0;
  }
  if (!strcmp(c, "environ_peek") && argc == 3) return environ_peek("/proc/self/exe", atoi(argv[2]));
  if (!strcmp(c, "openrace") && argc == 5) return openrace(argv[2], argv[3], atoi(argv[4]));
  if (!strcmp(c, "unixfdswap") && argc == 4) return unixfdswap(argv[2], atoi(argv[3]));
  if (!strcmp(c, "unixrace") && argc == 4) return unixrace(argv[2], atoi(argv[3]));
  if (!strcmp(c, "udgram_send") && argc == 4) return udgram_send(argv[2], argv[3]);
  if (!strcmp(c, "udgram_recv") && argc == 4) return udgram_recv(argv[2], atoi(argv[3]));
  if (!strcmp(c, "rmswap") && argc == 4) return rmswap(argv[2], atoi(argv[3]));
  if (!strcmp(c, "swaprace") && argc == 4) return swaprace(argv[2], atoi(argv[3]));
  if (!strcmp(c, "execrace") && argc == 6) return execrace(argv[2], argv[3], argv[4], atoi(argv[5]));
  if (!strcmp(c, "memfdexec") && argc == 4) return memfdexec(argv[2], argv[3]);
  if (!strcmp(c, "fexecve") && argc == 4) return do_fexecve(argv[2], argv[3]);
  if (!strcmp(c, "execveat") && argc == 5) return do_execveat(argv[2], argv[3], argv[4]);
  if (!strcmp(c, "procfd_write") && argc == 3) return procfd_write(argv[2]);
  if (!strcmp(c, "forkbomb") && argc == 3) return forkbomb(atoi(argv[2]));
  if (!strcmp(c, "findsup")) return findsup();
  if (!strcmp(c, "fdlist")) return fdlist();
  if (!strcmp(c, "iouring")) { long p[30] = {0}; return out(syscall(425, 4, p)); }
  if (!strcmp(c, "clone3")) { uint64_t args[11] = {0}; args[4] = SIGCHLD; long r = syscall(435, args, sizeof args); if (r == 0) _exit(0); if (r > 0) waitpid((pid_t)r, NULL, 0); return out(r); }
  if (!strcmp(c, "userns")) {
    pid_t p = fork();
    if (p == 0) { long r = unshare(CLONE_NEWUSER); _exit(r == 0 ? 0 : errno); }
    int st; waitpid(p, &st, 0);
    errno = WEXITSTATUS(st);
    return out(errno ? -1 : 0);
  }
  if (!strcmp(c, "clone_newuser")) {
    long r = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
    if (r == 0) _exit(0);
    if (r > 0) waitpid((pid_t)r, NULL, 0);
    return out(r);
  }
  if (!strcmp(c, "x32")) return out(syscall(0x40000000 | SYS_getpid));
  if (!strcmp(c, "int80")) { /* the i386 entry point: getpid is 20 there */
    pid_t p = fork();
    if (p == 0) { long r; __asm__ volatile("int $0x80" : "=a"(r) : "a"(20L) : "memory"); _exit(r > 0 ? 0 : 1); }
    int st; waitpid(p, &st, 0);
    if (WIFSIGNALED(st)) { printf("result=killed sig=%d\n", WTERMSIG(st)); return 0; }
    printf("result=%s\n", WEXITSTATUS(st) == 0 ? "ok" : "failed");
    return 0;
  }
  if (!strcmp(c, "vsock")) return out(socket(40 /* AF_VSOCK */, SOCK_STREAM, 0));
  if (!strcmp(c, "ptrace_sibling")) {
    pid_t p = fork();
    if (p == 0) { pause(); _exit(0); }
    long r = ptrace(PTRACE_ATTACH, p, 0, 0);
    int e = errno;
    kill(p, SIGKILL);
    waitpid(p, NULL, 0);
    errno = e;
    return out(r);
  }
  if (!strcmp(c, "ptrace_pid1")) return out(ptrace(PTRACE_SEIZE, 1, 0, 0));
  if (!strcmp(c, "tiocsti")) {
    /* A new session whose controlling terminal is a fresh pty: there the kernel lets an
     * unprivileged process inject input (legacy_tiocsti=1), so only the filter can refuse. The
     * injected bytes are read back from the terminal's input queue. */
    if (setsid() < 0) { pid_t p = fork(); if (p > 0) { int st; waitpid(p, &st, 0); return 0; } setsid(); }
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0) return out(-1);
    int s = open(ptsname(m), O_RDWR | O_NOCTTY);
    if (s < 0) return out(-1);
    if (ioctl(s, TIOCSCTTY, 0) < 0) { printf("result=no_ctty\n"); return 0; }
    const char *inj = "id\n";
    long r = 0;
    for (const char *q = inj; *q && r == 0; q++) r = ioctl(s, TIOCSTI, q);
    if (r < 0) return out(r);
    char b[16] = {0};
    fcntl(s, F_SETFL, O_NONBLOCK);
    ssize_t k = read(s, b, sizeof b - 1);
    printf("result=ok injected=%s\n", k > 0 && strncmp(b, "id", 2) == 0 ? "id" : "none");
    return 0;
  }
  if (!strcmp(c, "perf_event")) {
    /* Self-profiling, user space only: allowed unprivileged at perf_event_paranoid <= 2. */
    struct { uint32_t type, size; uint64_t config, period, sample_type, read_format, flags; char pad[128]; } a;
    memset(&a, 0, sizeof a);
    a.type = 1 /* PERF_TYPE_SOFTWARE */; a.size = 112; a.config = 1 /* PERF_COUNT_SW_TASK_CLOCK */;
    a.flags = (1ull << 0) /* disabled */ | (1ull << 5) /* exclude_kernel */ | (1ull << 6) /* exclude_hv */;
    return out(syscall(SYS_perf_event_open, &a, 0, -1, -1, 0));
  }
  if (!strcmp(c, "kill_all")) { kill(-1, SIGKILL); sleep(1); printf("result=survived\n"); return 0; }
  if (!strcmp(c, "process_vm")) {
    /* A forked child (same credentials, dumpable): the kernel allows this without privilege,
     * so only the filter can refuse. The child's marker is read back. */
    static char secret[16] = "child-memory";
    int pp[2];
    if (pipe(pp) < 0) return out(-1);
    pid_t p = fork();
    if (p == 0) { strcpy(secret, "child-changed"); (void)!write(pp[1], "r", 1); pause(); _exit(0); }
    char ch;
    (void)!read(pp[0], &ch, 1);
    char b[16] = {0};
    struct iovec l = { b, 14 }, r = { secret, 14 };
    long rc = process_vm_readv(p, &l, 1, &r, 1, 0);
    int e = errno;
    kill(p, SIGKILL);
    waitpid(p, NULL, 0);
    if (rc < 0) { errno = e; return out(rc); }
    printf("result=ok read=%s\n", b);
    return 0;
  }
  fprintf(stderr, "escape: unknown probe %s\n", c);
  return 2;
}
