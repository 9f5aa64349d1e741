/* Signal probe for the test of the supervisor's signal decision cache (notify.c).
 *   seq N     forks children "okchild" and "nochild" (SIGUSR1 handlers count into shared
 *             memory), then: N x kill(ok), kill(no), N x kill(ok), kill(no), then asks okchild to
 *             rename itself "nochild" and kills it again. Prints
 *             "result=done ok_sent=S ok_got=G no_rc=R1,R2 renamed_rc=R3 no_got=B renamed_got=C"
 *             (R: 0 or the errno of kill; counts of signals each child received).
 *   self N    tgkill(SIGUSR2) to its own thread N times, as the Go runtime preempts its
 *             goroutines; prints "result=done sent=S got=G". */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile int *got;
static int slot;
static void on_usr(int s) { (void)s; __atomic_add_fetch(&got[slot], 1, __ATOMIC_SEQ_CST); }

static void settle(void) { struct timespec t = { 0, 2000000 }; nanosleep(&t, NULL); }

static pid_t child(int i, const char *name, int cmd_r, int ack_w) {
  pid_t p = fork();
  if (p) return p;
  slot = i;
  prctl(PR_SET_NAME, name);
  char c;
  while (read(cmd_r, &c, 1) == 1) {
    if (c == 'r') prctl(PR_SET_NAME, "nochild");
    if (write(ack_w, &c, 1) != 1) break;
  }
  _exit(0);
}

static int send_to(pid_t p) { int rc = kill(p, SIGUSR1) == 0 ? 0 : errno; settle(); return rc; }

static int seq(int n) {
  got = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGUSR1, &sa, NULL);
  int cmd[2][2], ack[2][2];
  for (int i = 0; i < 2; i++) if (pipe(cmd[i]) || pipe(ack[i])) return 1;
  pid_t ok = child(0, "okchild", cmd[0][0], ack[0][1]);
  pid_t no = child(1, "nochild", cmd[1][0], ack[1][1]);
  char c = 'p';
  for (int i = 0; i < 2; i++) { if (write(cmd[i][1], &c, 1) != 1 || read(ack[i][0], &c, 1) != 1) return 1; } /* both named */
  int sent = 0, no_rc[2];
  for (int i = 0; i < n; i++) sent += send_to(ok) == 0;
  no_rc[0] = send_to(no);
  for (int i = 0; i < n; i++) sent += send_to(ok) == 0;
  no_rc[1] = send_to(no);
  int before = got[0];
  c = 'r';
  if (write(cmd[0][1], &c, 1) != 1 || read(ack[0][0], &c, 1) != 1) return 1;
  int renamed_rc = send_to(ok);
  settle();
  printf("result=done ok_sent=%d ok_got=%d no_rc=%d,%d renamed_rc=%d no_got=%d renamed_got=%d\n",
         sent, before, no_rc[0], no_rc[1], renamed_rc, got[1], got[0] - before);
  kill(ok, SIGKILL);
  kill(no, SIGKILL);
  while (wait(NULL) > 0) {}
  return 0;
}

static volatile int self_got;
static void on_usr2(int s) { (void)s; self_got++; }

static int self(int n) {
  signal(SIGUSR2, on_usr2);
  pid_t tid = (pid_t)syscall(SYS_gettid);
  int sent = 0;
  for (int i = 0; i < n; i++) if (syscall(SYS_tgkill, getpid(), tid, SIGUSR2) == 0) sent++; /* delivered on return */
  printf("result=done sent=%d got=%d\n", sent, self_got);
  return 0;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc == 3 && !strcmp(argv[1], "seq")) return seq(atoi(argv[2]));
  if (argc == 3 && !strcmp(argv[1], "self")) return self(atoi(argv[2]));
  fprintf(stderr, "usage: sigprobe seq N | self N\n");
  return 2;
}
