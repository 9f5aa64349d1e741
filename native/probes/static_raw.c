/* A static binary with no libc that reads a file with raw syscall instructions and writes what
 * it got to stdout: `static_raw PATH`. Proves enforcement does not depend on libc or the
 * dynamic loader. Prints "result=<n>" where n is the raw return of open (negative errno). */
static long sys(long n, long a, long b, long c) {
  long r;
  __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
  return r;
}
static void put(const char *s, long n) { sys(1, 1, (long)s, n); }
static void putnum(long v) {
  char b[24]; int i = 23; int neg = v < 0; unsigned long u = neg ? (unsigned long)-v : (unsigned long)v;
  b[i] = 0;
  do { b[--i] = (char)('0' + u % 10); u /= 10; } while (u);
  if (neg) b[--i] = '-';
  put(b + i, 23 - i);
}
void _start_c(long *sp) {
  char **argv = (char **)(sp + 1);
  long fd = sys(2 /* open */, (long)argv[1], 0, 0);
  put("result=", 7); putnum(fd); put(" data=", 6);
  if (fd >= 0) { char b[64]; long k = sys(0, fd, (long)b, 63); if (k > 0) put(b, k); }
  put("\n", 1);
  sys(60, 0, 0, 0);
}
__asm__(".global _start\n_start:\n mov %rsp, %rdi\n and $-16, %rsp\n call _start_c\n");
