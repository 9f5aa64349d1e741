/* One trapped syscall between its notification and its answer. */
#ifndef CORDON_REQ_H
#define CORDON_REQ_H
#include <limits.h>
#include <stdint.h>
#include <sys/types.h>
#include "sup.h"
struct sockaddr;

enum { K_OPEN, K_MUT, K_EXEC, K_UNIX, K_SIG };

struct req {
  int used;
  uint32_t id;
  uint64_t nid;            /* seccomp notification id */
  pid_t pid;               /* thread id (host pid namespace) */
  int nr, kind;
  uint64_t a[6];           /* syscall arguments */
  int fd1, fd2;            /* pinned O_PATH fds: object, or parent directory when base is set */
  char base1[NAME_MAX + 1], base2[NAME_MAX + 1];
  char path1[PATH_MAX], path2[PATH_MAX]; /* canonical paths the decision is about */
  uint32_t ops1, ops2;
  int exists, flags, mode, umask, isdir, isfifo;
  char *symlink_target;    /* symlink(2)'s first argument */
  /* exec */
  dev_t dev, idev;
  ino_t ino, iino;
  int script;
  char *argv;              /* NUL-separated */
  size_t argv_len;
  int argc;
  char interp[PATH_MAX];
  char argv0path[PATH_MAX]; /* the path string the caller passed */
  /* unix */
  int sockop;              /* 0 connect, 1 bind */
  /* signal */
  int sig;
  /* sendmsg/sendmmsg: the copied messages (sendmsg.c), freed with the request */
  void *msg;
};

struct req *req_new(void);
void req_free(struct req *r);
void respond(struct req *r, int64_t val, int err);
void respond_continue(struct req *r);
void ask_node(struct req *r);
void respond_fd(struct req *r, int fd);
/* decode.c */
int decode_open(struct req *r);
int decode_mut(struct req *r);
int decode_signal(struct req *r);
int read_path_arg(struct req *r, uint64_t addr, char *out);
int take_target_fd(pid_t tid, int fdnum);
/* emulate.c */
void do_open(struct req *r, const char *redirect);
int do_mut(struct req *r, const char *trash_name);
int decode_unix(struct req *r);
int sock_kind(int s, int *dom, int *type);
int unix_name_to_req(struct req *r, const char *sun_path, size_t plen);
int do_unix(struct req *r);
extern int g_trash_fd;
/* sendmsg.c */
int decode_sendmsg(struct req *r);
long send_decided(struct req *r, const struct sockaddr *sa, unsigned sa_len);
void msg_free(void *m);
/* exec.c */
int exec_prepare(struct req *r);
void exec_allow(struct req *r);
void exec_deny(struct req *r, int err, const char *msg);
void exec_on_stop(pid_t pid, int status);
int exec_depth(pid_t tid);
/* text: command, argc, argv..., K=V... (NUL-separated, n bytes) */
void exec_redirect(struct req *r, const char *text, size_t n);
/* decode.c: delivers newsig to the pinned target instead of the caller's signal */
void sig_redirect(struct req *r, int newsig);
#endif
