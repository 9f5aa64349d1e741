/* Landlock: the coarse, kernel-held file boundary under the fine-grained notify decisions.
 *
 * What it holds: writes (write/truncate/make/remove/refer) only beneath the policy's write roots
 * (computed by the TS side from allow/audit file rules), and — ABI 6+ — signal and abstract
 * unix socket scoping, so nothing in the sandbox can signal the supervisor or Node even if it
 * learned their pids. Reads and exec stay unrestricted here: every open and exec is decided by
 * the supervisor, which does the open itself (so Landlock on the sandbox does not see it).
 * NOT covered by this layer: reads (the notify path decides them), metadata (stat).
 */
#include "sup.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Our own copies: the build host's headers may predate ABI 4-7. */
struct ll_ruleset_attr { uint64_t handled_access_fs, handled_access_net, scoped; };
struct ll_path_beneath { uint64_t allowed_access; int32_t parent_fd; } __attribute__((packed));
#define LL_CREATE_RULESET_VERSION (1U << 0)
#define LL_RULE_PATH_BENEATH 1
#define A_EXECUTE (1ULL << 0)
#define A_WRITE_FILE (1ULL << 1)
#define A_READ_FILE (1ULL << 2)
#define A_READ_DIR (1ULL << 3)
#define A_REMOVE_DIR (1ULL << 4)
#define A_REMOVE_FILE (1ULL << 5)
#define A_MAKE_CHAR (1ULL << 6)
#define A_MAKE_DIR (1ULL << 7)
#define A_MAKE_REG (1ULL << 8)
#define A_MAKE_SOCK (1ULL << 9)
#define A_MAKE_FIFO (1ULL << 10)
#define A_MAKE_BLOCK (1ULL << 11)
#define A_MAKE_SYM (1ULL << 12)
#define A_REFER (1ULL << 13)
#define A_TRUNCATE (1ULL << 14)
#define SCOPE_ABSTRACT_UNIX (1ULL << 0)
#define SCOPE_SIGNAL (1ULL << 1)

int landlock_abi(void) {
  long v = syscall(444 /* landlock_create_ruleset */, NULL, 0, LL_CREATE_RULESET_VERSION);
  return v < 0 ? 0 : (int)v;
}

/* Grants that could not be added as given (gone, moved, or now a symlink). The supervisor
 * leaves directory opens to Landlock only when every READ_DIR grant it knows of is in force. */
int g_landlock_skipped;

static int add_rule(int rs, const char *path, uint64_t access, int abi) {
  int fd = open(path, O_PATH | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) { g_landlock_skipped++; return 0; } /* a path that does not exist (yet) grants nothing */
  /* Grants are computed on canonical paths: if a component became a symlink since, the fd
   * is somewhere else, so grant nothing rather than the symlink's target. */
  char real[4096], self[64];
  snprintf(self, sizeof self, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(self, real, sizeof real - 1);
  if (n < 0 || (real[n] = 0, strcmp(real, path) != 0)) { close(fd); g_landlock_skipped++; return 0; }
  struct ll_path_beneath pb = { .allowed_access = access, .parent_fd = fd };
  struct stat st;
  if (fstat(fd, &st) < 0 || S_ISLNK(st.st_mode)) { close(fd); g_landlock_skipped++; return 0; } /* never through a symlink */
  if (!S_ISDIR(st.st_mode)) {
    /* Files can only carry file rights. */
    pb.allowed_access &= A_EXECUTE | A_WRITE_FILE | A_READ_FILE | (abi >= 3 ? A_TRUNCATE : 0);
  }
  int rc = pb.allowed_access ? (int)syscall(445 /* landlock_add_rule */, rs, LL_RULE_PATH_BENEATH, &pb, 0) : 0;
  int e = errno;
  close(fd);
  return rc < 0 ? -e : 0;
}

int apply_landlock(int abi, const char *const *write_roots, const char *const *read_grants, const char *const *list_grants) {
  uint64_t write_set = A_WRITE_FILE | A_REMOVE_DIR | A_REMOVE_FILE | A_MAKE_CHAR | A_MAKE_DIR | A_MAKE_REG |
                       A_MAKE_SOCK | A_MAKE_FIFO | A_MAKE_BLOCK | A_MAKE_SYM;
  if (abi >= 2) write_set |= A_REFER;
  if (abi >= 3) write_set |= A_TRUNCATE;
  struct ll_ruleset_attr attr = { .handled_access_fs = write_set | (read_grants ? A_READ_FILE | A_READ_DIR : 0) };
  size_t attr_size = sizeof attr;
  if (abi >= 6) attr.scoped = SCOPE_ABSTRACT_UNIX | SCOPE_SIGNAL;
  else attr_size = offsetof(struct ll_ruleset_attr, scoped);
  if (abi < 4) attr_size = offsetof(struct ll_ruleset_attr, handled_access_net);
  int rs = (int)syscall(444, &attr, attr_size, 0);
  if (rs < 0) return -errno;
  int rc = 0;
  for (const char *const *r = write_roots; *r && !rc; r++) rc = add_rule(rs, *r, write_set, abi);
  for (const char *const *r = read_grants; r && *r && !rc; r++) rc = add_rule(rs, *r, A_READ_FILE, abi);
  g_landlock_skipped = 0; /* counted for the READ_DIR grants only */
  for (const char *const *r = list_grants; r && *r && !rc; r++) rc = add_rule(rs, *r, A_READ_DIR, abi);
  if (rc) { close(rs); return rc; }
  if (syscall(446 /* landlock_restrict_self */, rs, 0) < 0) { int e = errno; close(rs); return -e; }
  close(rs);
  return 0;
}
