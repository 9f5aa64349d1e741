/* resolve.c: target memory and path resolution (see the header comment there). */
#ifndef CORDON_RESOLVE_H
#define CORDON_RESOLVE_H
#include <stdint.h>
#include <sys/types.h>
int notif_valid(uint64_t id);
int read_target_str(pid_t pid, uint64_t addr, char *out, size_t cap);
int read_target_mem(pid_t pid, uint64_t addr, void *out, size_t n);
int proc_status_field(pid_t pid, const char *key, char *out, size_t cap);
long ns_id(pid_t pid, const char *key);
int fd_path(int fd, char *out, size_t cap);
/* O_PATH fd on the object (path, relative to the target's dirfd/cwd); -errno on failure. */
int resolve_full(pid_t tid, int dirfd, const char *path, int nofollow, int empty_ok);
/* O_PATH fd on the parent directory; the last component goes to base_out. */
int resolve_parent(pid_t tid, int dirfd, const char *path, char *base_out, size_t cap);
int parent_child_path(int pfd, const char *base, char *out, size_t cap);
int target_umask(pid_t pid);
#endif
