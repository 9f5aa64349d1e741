/* Directory-open probe for the tests of the supervisor's directory fast path (notify.c: a
 * directory open inside a Landlock READ_DIR grant is left to the kernel).
 *   lsat DIR NAME...            the same, each NAME opened with openat() relative to DIR
 *   ls PATH...                  each PATH opened O_RDONLY|O_DIRECTORY|O_NOFOLLOW and listed:
 *                               "ls path=P err=ERRNO kernel=K names=a,b" (K=1: the kernel opened it
 *                               for this process, K=0: the supervisor opened it and injected the fd;
 *                               told apart by O_NOFOLLOW, which the emulated open drops)
 *   dirrace GOOD BAD N MARK      N directory opens of a buffer a thread keeps flipping between GOOD
 *                               and BAD (equal length); counts listings that contain MARK
 *   dirswap DIR N MARK           N directory opens of DIR/d/. while a thread swaps DIR/d (a real
 *                               directory) and DIR/e (a symlink) with renameat2(RENAME_EXCHANGE)
 * Race modes print "result=done secret_lists=S ok_lists=O failed=F kernel=K". */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

static int kernel_opened(int fd) {
  char p[64], b[512];
  snprintf(p, sizeof p, "/proc/self/fdinfo/%d", fd);
  int f = open(p, O_RDONLY | O_CLOEXEC);
  if (f < 0) return -1;
  ssize_t n = read(f, b, sizeof b - 1);
  close(f);
  if (n <= 0) return -1;
  b[n] = 0;
  char *q = strstr(b, "flags:");
  if (!q) return -1;
  return (strtol(q + 6, NULL, 8) & O_NOFOLLOW) != 0;
}

/* Lists an open directory fd into out (comma-separated, readdir order); consumes fd. */
static void list_fd(int fd, char *out, size_t cap) {
  out[0] = 0;
  DIR *d = fdopendir(fd);
  if (!d) { close(fd); return; }
  size_t len = 0;
  for (struct dirent *e; (e = readdir(d));) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    int k = snprintf(out + len, cap - len, "%s%s", len ? "," : "", e->d_name);
    if (k < 0 || (size_t)k >= cap - len) break;
    len += (size_t)k;
  }
  closedir(d);
}

static int ls(int dirfd, int argc, char **argv) {
  char names[8192];
  for (int i = 0; i < argc; i++) {
    int fd = openat(dirfd, argv[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) { printf("ls path=%s err=%d kernel=- names=\n", argv[i], errno); continue; }
    int k = kernel_opened(fd);
    list_fd(fd, names, sizeof names);
    printf("ls path=%s err=0 kernel=%d names=%s\n", argv[i], k, names);
  }
  return 0;
}

static char race_buf[4096];
static const char *race_a, *race_b;
static volatile int race_stop;
static void *flipper(void *x) {
  (void)x;
  size_t n = strlen(race_a) + 1;
  while (!race_stop) { memcpy(race_buf, race_b, n); memcpy(race_buf, race_a, n); }
  return NULL;
}

static const char *swap_dir;
static void *swapper(void *x) {
  (void)x;
  int d = open(swap_dir, O_PATH | O_DIRECTORY);
  while (!race_stop) syscall(SYS_renameat2, d, "d", d, "e", RENAME_EXCHANGE);
  close(d);
  return NULL;
}

static int race(const char *target, int iters, const char *mark, void *(*thread)(void *)) {
  pthread_t t;
  pthread_create(&t, NULL, thread, NULL);
  int secret = 0, okc = 0, fail = 0, kern = 0;
  char names[8192];
  for (int i = 0; i < iters; i++) {
    int fd = open(target, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) { fail++; continue; }
    if (kernel_opened(fd) == 1) kern++;
    list_fd(fd, names, sizeof names);
    if (strstr(names, mark)) secret++; else okc++;
  }
  race_stop = 1;
  pthread_join(t, NULL);
  printf("result=done secret_lists=%d ok_lists=%d failed=%d kernel=%d\n", secret, okc, fail, kern);
  return 0;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc >= 2 && !strcmp(argv[1], "ls")) return ls(AT_FDCWD, argc - 2, argv + 2);
  if (argc >= 3 && !strcmp(argv[1], "lsat")) {
    int d = open(argv[2], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (d < 0) { perror(argv[2]); return 1; }
    return ls(d, argc - 3, argv + 3);
  }
  if (argc == 6 && !strcmp(argv[1], "dirrace")) {
    if (strlen(argv[2]) != strlen(argv[3])) { fprintf(stderr, "paths must have equal length\n"); return 2; }
    race_a = argv[2]; race_b = argv[3];
    strcpy(race_buf, race_a);
    return race(race_buf, atoi(argv[4]), argv[5], flipper);
  }
  if (argc == 5 && !strcmp(argv[1], "dirswap")) {
    static char target[4096];
    swap_dir = argv[2];
    snprintf(target, sizeof target, "%s/d/.", argv[2]); /* d as a middle component: a swapped-in symlink is followed */
    return race(target, atoi(argv[3]), argv[4], swapper);
  }
  fprintf(stderr, "usage: dirprobe ls PATH... | lsat DIR NAME... | dirrace GOOD BAD N MARK | dirswap DIR N MARK\n");
  return 2;
}
