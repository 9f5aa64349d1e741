/* sendmsg / sendmmsg, carried out by the supervisor (invariant 1).
 *
 * A message header can name a destination (msg_name) that the seccomp filter cannot read, and a
 * unix datagram sent to a path reaches any datagram socket (/dev/log, NOTIFY_SOCKET, ...) past
 * unix_socket_rules. CONTINUE would let the kernel re-read the header, the address and the fd
 * number after the check, so every trapped sendmsg is emulated instead: the socket is the
 * supervisor's pidfd_getfd copy of the caller's open file, and the headers, address, payload
 * (all iovecs, flattened) and control data are copied out of the target once. SCM_RIGHTS fds are
 * taken from the caller with pidfd_getfd (the receiver gets the same open files);
 * SCM_CREDENTIALS are restated as the supervisor's (the kernel only lets a sender claim its own
 * pid, so the receiver sees a pid outside its namespace); other control messages are passed as
 * they are. A unix datagram with a path or abstract name is decided like sendto (operation
 * sendto of unix_socket_rules) and sent to the decided, pinned address. For sendmmsg the
 * messages are sent in order while they name the address that was decided; the count sent is
 * returned and each msg_len written back, as the kernel does.
 *
 * NOT covered / differences: at most 1024 messages, 1024 iovecs and 4 MiB of payload per call
 * (a larger stream send returns a short count); a unix datagram is sent with MSG_DONTWAIT (a
 * full receiver gives EAGAIN rather than blocking); blocking sends on other sockets run on a
 * supervisor thread.
 */
#include "req.h"
#include "resolve.h"
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_MSGS 1024
#define MAX_IOV 1024
#define MAX_PAYLOAD (4u << 20)
#define MAX_CTL 16384

struct one {
  struct sockaddr_storage name;
  socklen_t namelen;
  char *data;
  size_t len;
  char *ctl;
  size_t ctllen;
  int fixed;             /* SCM_RIGHTS entries are ours (or -1): only then closed by msg_free */
};
struct smsg {
  int n, flags, mmsg, dom, type;
  uint64_t arr;          /* target address of the mmsghdr array (msg_len written back) */
  struct one m[];
};

void msg_free(void *p) {
  struct smsg *s = p;
  if (!s) return;
  for (int i = 0; i < s->n; i++) {
    struct one *o = &s->m[i];
    if (o->ctl && o->fixed) {
      struct msghdr h = { .msg_control = o->ctl, .msg_controllen = o->ctllen };
      for (struct cmsghdr *c = CMSG_FIRSTHDR(&h); c; c = CMSG_NXTHDR(&h, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
          for (size_t k = 0; k < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); k++) {
            int fd;
            memcpy(&fd, CMSG_DATA(c) + k * sizeof(int), sizeof fd);
            if (fd >= 0) close(fd);
          }
    }
    free(o->data);
    free(o->ctl);
  }
  free(s);
}

/* Control data: fds taken from the caller, credentials restated as ours. */
static int fix_control(struct req *r, struct one *o) {
  struct msghdr h = { .msg_control = o->ctl, .msg_controllen = o->ctllen };
  int bad = 0, rc = 0;
  o->fixed = 1; /* every SCM_RIGHTS entry below becomes ours or -1 */
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&h); c; c = CMSG_NXTHDR(&h, c)) {
    if (c->cmsg_level != SOL_SOCKET) continue;
    if (c->cmsg_type == SCM_RIGHTS) {
      size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t k = 0; k < n; k++) {
        int fd;
        memcpy(&fd, CMSG_DATA(c) + k * sizeof(int), sizeof fd);
        int mine = bad ? -1 : take_target_fd(r->pid, fd);
        if (mine < 0) bad = 1;
        memcpy(CMSG_DATA(c) + k * sizeof(int), &mine, sizeof mine);
      }
      if (bad) rc = -EBADF;
    } else if (c->cmsg_type == SCM_CREDENTIALS && c->cmsg_len >= CMSG_LEN(sizeof(struct ucred))) {
      struct ucred u;
      memcpy(&u, CMSG_DATA(c), sizeof u);
      if ((long)u.pid != ns_id(r->pid, "NStgid")) { if (!rc) rc = -EPERM; continue; } /* the kernel's own rule */
      u.pid = getpid();
      memcpy(CMSG_DATA(c), &u, sizeof u);
    }
  }
  return rc;
}

static int copy_one(struct req *r, uint64_t addr, struct one *o, size_t *budget) {
  struct msghdr h;
  if (read_target_mem(r->pid, addr, &h, sizeof h) < 0) return -EFAULT;
  if (h.msg_name && h.msg_namelen) {
    o->namelen = h.msg_namelen > sizeof o->name ? (socklen_t)sizeof o->name : h.msg_namelen;
    if (read_target_mem(r->pid, (uint64_t)(uintptr_t)h.msg_name, &o->name, o->namelen) < 0) return -EFAULT;
  }
  if (h.msg_iovlen > MAX_IOV) return -EMSGSIZE;
  struct iovec *iov = NULL;
  if (h.msg_iovlen) {
    iov = malloc(h.msg_iovlen * sizeof *iov);
    if (!iov) return -ENOMEM;
    if (read_target_mem(r->pid, (uint64_t)(uintptr_t)h.msg_iov, iov, h.msg_iovlen * sizeof *iov) < 0) { free(iov); return -EFAULT; }
  }
  size_t total = 0;
  for (size_t i = 0; i < h.msg_iovlen; i++) {
    size_t l = iov[i].iov_len;
    if (l > *budget - total) l = *budget - total;
    total += l;
  }
  o->data = malloc(total ? total : 1);
  if (!o->data) { free(iov); return -ENOMEM; }
  size_t off = 0;
  for (size_t i = 0; i < h.msg_iovlen && off < total; i++) {
    size_t l = iov[i].iov_len < total - off ? iov[i].iov_len : total - off;
    if (l && read_target_mem(r->pid, (uint64_t)(uintptr_t)iov[i].iov_base, o->data + off, l) < 0) { free(iov); return -EFAULT; }
    off += l;
  }
  free(iov);
  o->len = total;
  *budget -= total;
  if (h.msg_control && h.msg_controllen) {
    if (h.msg_controllen > MAX_CTL) return -ENOBUFS;
    o->ctllen = h.msg_controllen;
    o->ctl = malloc(o->ctllen);
    if (!o->ctl) return -ENOMEM;
    if (read_target_mem(r->pid, (uint64_t)(uintptr_t)h.msg_control, o->ctl, o->ctllen) < 0) return -EFAULT;
    /* fds are taken only once the whole call has been copied: see decode_sendmsg */
  }
  return 0;
}

/* Sends messages [0, n) on s; name (when set) replaces every message's own. Returns the sent count
 * (sendmmsg) or bytes (sendmsg), writing msg_len back for sendmmsg. */
static long send_all(struct req *r, struct smsg *m, int s, const struct sockaddr *name, socklen_t namelen, int n, int extra) {
  int sent = 0;
  long bytes = 0, err = 0;
  for (int i = 0; i < n; i++) {
    struct one *o = &m->m[i];
    struct iovec io = { o->data, o->len };
    struct msghdr h = { .msg_iov = &io, .msg_iovlen = 1, .msg_control = o->ctl, .msg_controllen = o->ctllen };
    if (name) { h.msg_name = (void *)name; h.msg_namelen = namelen; }
    else if (o->namelen && !(m->dom == AF_UNIX && m->type != SOCK_DGRAM)) { h.msg_name = &o->name; h.msg_namelen = o->namelen; }
    ssize_t w = sendmsg(s, &h, (m->flags | extra | MSG_NOSIGNAL));
    if (w < 0) { err = -errno; break; }
    bytes = w;
    if (m->mmsg) {
      uint32_t l = (uint32_t)w;
      struct iovec li = { &l, 4 }, ri = { (void *)(uintptr_t)(m->arr + 64u * (uint64_t)i + 56), 4 };
      process_vm_writev(r->pid, &li, 1, &ri, 1, 0);
    }
    sent++;
    if (m->type == SOCK_STREAM && (size_t)w < o->len) break; /* short write: stop, as the kernel does */
  }
  if (!m->mmsg) return err ? err : bytes;
  return sent ? sent : err;
}

struct msg_job { struct req r; struct smsg *m; };
static void *msg_thread(void *arg) {
  struct msg_job *j = arg;
  long rc = send_all(&j->r, j->m, j->r.fd2, NULL, 0, j->m->n, 0);
  msg_free(j->m);
  j->r.msg = NULL;
  respond(&j->r, rc < 0 ? 0 : rc, rc < 0 ? (int)-rc : 0);
  free(j);
  return NULL;
}

/* Returns 1 (answered), 0 (a unix datagram name to decide: r is K_UNIX, sockop 2), or -errno. */
int decode_sendmsg(struct req *r) {
  int s = take_target_fd(r->pid, (int)r->a[0]);
  if (s < 0) return s;
  r->fd2 = s;
  int dom = 0, type = 0;
  if (sock_kind(s, &dom, &type) < 0) return -ENOTSOCK;
  int mmsg = r->nr == SYS_sendmmsg;
  int n = mmsg ? (int)((uint32_t)r->a[2] > MAX_MSGS ? MAX_MSGS : (uint32_t)r->a[2]) : 1;
  if (mmsg && n == 0) { respond(r, 0, 0); return 1; }
  struct smsg *m = calloc(1, sizeof *m + (size_t)n * sizeof(struct one));
  if (!m) return -ENOMEM;
  r->msg = m;
  m->mmsg = mmsg;
  m->flags = (int)(mmsg ? r->a[3] : r->a[2]);
  m->arr = r->a[1];
  m->dom = dom;
  m->type = type;
  size_t budget = MAX_PAYLOAD;
  for (int i = 0; i < n; i++) {
    int rc = copy_one(r, r->a[1] + (mmsg ? 64u * (uint64_t)i : 0), &m->m[i], &budget);
    m->n = i + 1;
    if (rc < 0) return rc;
  }
  if (!notif_valid(r->nid)) return -ESRCH;
  for (int i = 0; i < m->n; i++) if (m->m[i].ctl) { int rc = fix_control(r, &m->m[i]); if (rc < 0) return rc; }
  struct one *first = &m->m[0];
  int named = dom == AF_UNIX && type == SOCK_DGRAM && first->namelen > offsetof(struct sockaddr_un, sun_path);
  if (dom == AF_UNIX && type == SOCK_DGRAM)
    for (int i = 1; i < m->n; i++) /* one address per call: the batch stops where it changes */
      if (m->m[i].namelen != first->namelen || memcmp(&m->m[i].name, &first->name, first->namelen) != 0) { m->n = i; break; }
  if (!named) {
    if (dom == AF_UNIX && type == SOCK_STREAM && first->namelen) return -EOPNOTSUPP;
    if (dom == AF_UNIX && type == SOCK_DGRAM && first->namelen && first->name.ss_family != AF_UNIX) return -EINVAL;
    /* Nothing to decide (a connected or inet socket: its peer was decided at connect, or the
     * network namespace holds the boundary): send on the copy. Blocking sends off the loop. */
    int nonblock = (fcntl(s, F_GETFL) & O_NONBLOCK) || (m->flags & MSG_DONTWAIT) || (dom == AF_UNIX && type == SOCK_DGRAM);
    if (nonblock) {
      long rc = send_all(r, m, s, NULL, 0, m->n, dom == AF_UNIX ? MSG_DONTWAIT : 0);
      respond(r, rc < 0 ? 0 : rc, rc < 0 ? (int)-rc : 0);
      return 1;
    }
    struct msg_job *j = calloc(1, sizeof *j);
    if (!j) return -ENOMEM;
    j->r = *r;
    j->m = m;
    r->msg = NULL;
    r->fd1 = r->fd2 = -1;
    r->argv = NULL; r->symlink_target = NULL;
    r->used = 0;
    j->r.used = 1;
    pthread_t t;
    if (pthread_create(&t, NULL, msg_thread, j) != 0) { j->r.msg = m; respond(&j->r, 0, EAGAIN); free(j); return 1; }
    pthread_detach(t);
    return 1;
  }
  /* A unix datagram to a name: decided like sendto, on the first message's address (the batch
   * was cut above where the address changes). */
  if (first->name.ss_family != AF_UNIX) return -EINVAL;
  struct sockaddr_un sa;
  memset(&sa, 0, sizeof sa);
  memcpy(&sa, &first->name, first->namelen > sizeof sa ? sizeof sa : first->namelen);
  size_t plen = first->namelen - offsetof(struct sockaddr_un, sun_path);
  if (plen >= sizeof sa.sun_path) plen = sizeof sa.sun_path - 1;
  r->kind = K_UNIX;
  r->sockop = 2;
  return unix_name_to_req(r, sa.sun_path, plen);
}

/* After an allow: the decided address (do_unix built it, relative to the pinned parent we have
 * fchdir'd into, or abstract). */
long send_decided(struct req *r, const struct sockaddr *sa, unsigned len) {
  struct smsg *m = r->msg;
  return send_all(r, m, r->fd2, sa, len, m->n, MSG_DONTWAIT);
}
