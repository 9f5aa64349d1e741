/* The "forbidden program" of the exec tests: if it ever runs, it leaves a marker file (argv[1])
 * and exits 42, so a test sees in the world whether a denied image executed. */
#include <fcntl.h>
#include <unistd.h>
int main(int argc, char **argv) {
  if (argc > 1) { int fd = open(argv[1], O_WRONLY | O_CREAT | O_APPEND, 0644); if (fd >= 0) { if (write(fd, "RAN\n", 4) < 0) return 1; close(fd); } }
  return 42;
}
