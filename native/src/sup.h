/* cordon-supervisor: shared declarations.
 *
 * The supervisor is started by `cordon run` (Node) with a control socket on fd 3. It reads a
 * spec (argv, env, cwd, options) from that socket, builds the sandbox (namespaces, caps dropped,
 * no_new_privs, Landlock, one seccomp filter that both shuts side doors and traps the syscalls
 * the policy decides), then answers seccomp user notifications, asking Node for decisions it
 * has not cached. See docs/sandbox.md for the design and what is NOT covered.
 */
#ifndef CORDON_SUP_H
#define CORDON_SUP_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>
#include <linux/seccomp.h>

#define CTL_FD 3

/* Ops bits: the index of each op in FILE_OPS (src/policy/types.ts). Keep in sync. */
enum {
  OP_READ = 1 << 0, OP_OPEN = 1 << 1, OP_STAT = 1 << 2, OP_LIST = 1 << 3, OP_READLINK = 1 << 4,
  OP_ACCESS = 1 << 5, OP_WRITE = 1 << 6, OP_CREATE = 1 << 7, OP_MKDIR = 1 << 8, OP_CHMOD = 1 << 9,
  OP_CHOWN = 1 << 10, OP_RENAME = 1 << 11, OP_DELETE = 1 << 12, OP_RMDIR = 1 << 13, OP_LINK = 1 << 14,
  OP_SYMLINK = 1 << 15, OP_MKNOD = 1 << 16, OP_EXEC = 1 << 17,
};

/* Answer decisions (TS -> C). */
/* ANS_ABSORB: a deny with errno 0 ("report success without acting"). */
enum { ANS_ALLOW = 0, ANS_DENY = 1, ANS_REDIRECT = 2, ANS_TRASH = 3, ANS_ABSORB = 4 };

/* Option bits in the 'O' message. */
enum {
  OPT_NEWNET = 1 << 0,
  OPT_DEGRADE_LANDLOCK = 1 << 1,
  OPT_DEGRADE_SYNC_WAKEUP = 1 << 2,
  OPT_TRAP_UNIX = 1 << 3,
  OPT_TRAP_SIGNAL = 1 << 4,
  OPT_DEGRADE_PTRACE_EXEC = 1 << 5,
  /* Fault injection for the fail-closed tests: behave as if the kernel had no Landlock. */
  OPT_FAULT_NO_LANDLOCK = 1 << 6,
  /* Node starts egress in the new network namespace before the command runs ('N' / 'H'). */
  OPT_EGRESS = 1 << 7,
  /* Read-only opens are left to Landlock READ_FILE/READ_DIR grants ('L' messages). */
  OPT_READ_FASTPATH = 1 << 8,
};

/* ---- proto.c: length-prefixed frames on the control socket ---- */
struct buf { uint8_t *p; size_t len, cap; };
struct rd { const uint8_t *p; size_t len, off; int bad; };
void b_init(struct buf *b, char type);
void b_u32(struct buf *b, uint32_t v);
void b_str(struct buf *b, const char *s);
void b_strn(struct buf *b, const char *s, size_t n);
int b_send(struct buf *b); /* frames and writes to CTL_FD; frees; -1 on error */
uint32_t r_u32(struct rd *r);
const char *r_str(struct rd *r, size_t *n); /* returns malloc'd NUL-terminated copy */
uint8_t r_u8(struct rd *r);
/* Reads one frame (blocking). Returns malloc'd payload and its length, NULL on EOF/error. */
uint8_t *read_frame(int fd, size_t *len);
/* Non-blocking frame assembly for the event loop. */
int ctl_pump(void); /* reads what is available; returns -1 on EOF */
uint8_t *ctl_next(size_t *len);
void send_fatal(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
__attribute__((noreturn)) void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- filter.c ---- */
/* Builds the single filter (static denies + user-notify traps). */
int install_filter(int trap_unix, int trap_signal, int read_fastpath, int *listener_out, int *killable_out);
int syscall_is_trapped(int nr);

/* ---- landlock.c ---- */
int landlock_abi(void);
/* Applies the coarse boundary; write_roots NULL-terminated. Returns 0 or -errno. */
/* read_grants / list_grants: NULL when reads are not handled by Landlock (no fast path). */
int apply_landlock(int abi, const char *const *write_roots, const char *const *read_grants, const char *const *list_grants);

/* ---- notify.c ---- */
extern int g_notify_fd;
extern int g_host_proc;     /* O_PATH fd on the host's /proc (opened before setns) */
extern int g_self_fd;       /* O_PATH fd on the host procfs self/fd directory (our own fds) */
extern pid_t g_init_pid;    /* global pid of the sandbox's PID 1 */
extern pid_t g_cmd_pid;     /* global pid of the command process */
extern uint32_t g_opts;
void handle_notification(void);
void handle_answer(struct rd *r);
void handle_sigchld(void);
void notify_init(void);

#endif
