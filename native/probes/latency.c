/* Per-syscall cost probe for bench/sandbox-overhead: `latency same FILE N` opens+closes one
 * file N times (decision cached in the supervisor after the first); `latency distinct DIR N`
 * opens N different files DIR/f0..f(N-1) once each (decided from the native rule table, no cache);
 * `latency getpid N` is an untrapped syscall (the static filter alone). Prints ns per call. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e9 + t.tv_nsec; }
int main(int argc, char **argv) {
  if (argc != 4) return 2;
  int n = atoi(argv[3]);
  char p[4096];
  double t0 = now();
  for (int i = 0; i < n; i++) {
    if (!strcmp(argv[1], "same")) { int fd = open(argv[2], O_RDONLY); if (fd < 0) return 1; close(fd); }
    else if (!strcmp(argv[1], "distinct")) { snprintf(p, sizeof p, "%s/f%d", argv[2], i); int fd = open(p, O_RDONLY); if (fd < 0) return 1; close(fd); }
    else syscall(SYS_getpid);
  }
  printf("ns_per_call=%.0f\n", (now() - t0) / n);
  return 0;
}
