/* Per-syscall cost probe for bench/sandbox-overhead. Modes (N calls each; prints ns per call):
 *   same FILE N       open(FILE, O_RDONLY)+close N times
 *   distinct DIR N    open(DIR/fI, O_RDONLY)+close for I in 0..N-1 (a new path each time)
 *   dir DIR N         open(DIR, O_RDONLY|O_DIRECTORY)+close N times (opendir: trapped even
 *                     when plain read-only opens are left to Landlock)
 *   dirs DIR N        open(DIR/fI, O_DIRECTORY)+close, a new directory each time (DIR/f0..)
 *   exec PROG N       fork + execve(PROG) + wait, N times (exec decided, then verified at the
 *                     exec stop)
 *   getpid - N        an untrapped syscall (the static filter alone) */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e9 + t.tv_nsec; }
int main(int argc, char **argv) {
  if (argc != 4) return 2;
  int n = atoi(argv[3]);
  const char *m = argv[1];
  char p[4096];
  double t0 = now();
  for (int i = 0; i < n; i++) {
    int fd = 0;
    if (!strcmp(m, "same")) fd = open(argv[2], O_RDONLY);
    else if (!strcmp(m, "distinct")) { snprintf(p, sizeof p, "%s/f%d", argv[2], i); fd = open(p, O_RDONLY); }
    else if (!strcmp(m, "dir")) fd = open(argv[2], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    else if (!strcmp(m, "dirs")) { snprintf(p, sizeof p, "%s/f%d", argv[2], i); fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC); }
    else if (!strcmp(m, "exec")) {
      pid_t c = fork();
      if (c == 0) { execl(argv[2], argv[2], (char *)NULL); _exit(127); }
      int st;
      if (c < 0 || waitpid(c, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) { fprintf(stderr, "exec %s failed\n", argv[2]); return 1; }
      continue;
    }
    else { syscall(SYS_getpid); continue; }
    if (fd < 0) { perror(m); return 1; }
    close(fd);
  }
  printf("ns_per_call=%.0f\n", (now() - t0) / n);
  return 0;
}
