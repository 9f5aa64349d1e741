/*
 * cordon-egress I/O: whole reads and writes, line reads, the copying relay (to Cordon over the
 * Unix socket) and the splice(2) relay (client <-> upstream, the fast path). No policy here.
 */
#define _GNU_SOURCE
#include "egress.h"
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

int write_all(int fd, const void *p, size_t n) {
  const char *c = p;
  while (n > 0) {
    ssize_t w = write(fd, c, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    c += w;
    n -= (size_t)w;
  }
  return 0;
}

/* Copies bytes both ways until both directions are closed; half-close is passed on. */
void relay(int a, int b) {
  char *buf = malloc(BUF_SIZE);
  if (!buf) return;
  int open_ab = 1, open_ba = 1;
  while (open_ab || open_ba) {
    struct pollfd p[2] = {{.fd = open_ab ? a : -1, .events = POLLIN}, {.fd = open_ba ? b : -1, .events = POLLIN}};
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; i++) {
      if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      int from = i == 0 ? a : b, to = i == 0 ? b : a;
      ssize_t n = read(from, buf, BUF_SIZE);
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (n <= 0) {
        if (n < 0) goto out; /* reset: tear both down */
        shutdown(to, SHUT_WR);
        if (i == 0) open_ab = 0; else open_ba = 0;
        continue;
      }
      if (write_all(to, buf, (size_t)n) < 0) goto out;
    }
  }
out:
  free(buf);
}

int read_all(int fd, void *p, size_t n) {
  char *c = p;
  while (n > 0) {
    ssize_t r = read(fd, c, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return -1;
    c += r;
    n -= (size_t)r;
  }
  return 0;
}

int read_line(int fd, char *buf, size_t cap) {
  size_t n = 0;
  while (n + 1 < cap) {
    ssize_t r = read(fd, buf + n, 1);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return -1;
    if (buf[n] == '\n') {
      buf[n] = 0;
      return (int)n;
    }
    n++;
  }
  return -1;
}

/* Connects to ip:port from the host namespace (this thread must have entered it). */
int connect_upstream(const char *ip, int port) {
  struct sockaddr_storage ss = {0};
  socklen_t len;
  int family;
  if (strchr(ip, ':')) {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons((uint16_t)port);
    if (inet_pton(AF_INET6, ip, &a->sin6_addr) != 1) return -1;
    len = sizeof *a;
    family = AF_INET6;
  } else {
    struct sockaddr_in *a = (struct sockaddr_in *)&ss;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, ip, &a->sin_addr) != 1) return -1;
    len = sizeof *a;
    family = AF_INET;
  }
  int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  struct timeval tv = {.tv_sec = 10};
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv); /* bounds connect() */
  if (connect(fd, (struct sockaddr *)&ss, len) < 0) {
    close(fd);
    return -1;
  }
  tv.tv_sec = 0;
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  return fd;
}

/* Moves everything in pipe p[0] to fd. */
static int drain_pipe(int pr, int to, ssize_t n) {
  while (n > 0) {
    ssize_t w = splice(pr, NULL, to, NULL, (size_t)n, SPLICE_F_MOVE); /* no SPLICE_F_MORE: it corks small writes (200 ms) */
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    n -= w;
  }
  return 0;
}

/*
 * Zero-copy relay between client and upstream until both directions are closed. `hold` > 0
 * means client→upstream is not yet allowed (first-flight inspection pending): only upstream→
 * client flows, and the function returns 1 when the client has data, so the caller can read it.
 *
 * One pipe serves both directions: every splice into it is drained to the other socket before
 * the next one, so it is empty between steps. Two descriptors per tunnel instead of four is
 * what lets one worker carry thousands of tunnels under RLIMIT_NOFILE (see cordon-egress.c).
 */
int splice_relay(int client, int up, int hold, long long *nup, long long *ndown) {
  int pp[2];
  if (pipe2(pp, O_CLOEXEC) < 0) return -1;
  fcntl(pp[1], F_SETPIPE_SZ, 1 << 20);
  int open_up = 1, open_down = 1, rc = 0;
  while (open_up || open_down) {
    struct pollfd p[2] = {{.fd = open_up ? client : -1, .events = POLLIN}, {.fd = open_down ? up : -1, .events = POLLIN}};
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      rc = -1;
      break;
    }
    if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      if (hold) { rc = 1; break; }
      ssize_t n = splice(client, NULL, pp[1], NULL, 1 << 20, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
        /* fall through to the other direction */
      } else if (n <= 0) {
        if (n < 0) { rc = -1; break; }
        shutdown(up, SHUT_WR);
        open_up = 0;
      } else {
        if (drain_pipe(pp[0], up, n) < 0) { rc = -1; break; }
        *nup += n;
      }
    }
    if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = splice(up, NULL, pp[1], NULL, 1 << 20, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (n <= 0) {
        if (n < 0) { rc = -1; break; }
        shutdown(client, SHUT_WR);
        open_down = 0;
        if (hold) { rc = 1; break; } /* let the caller finish inspection with the client */
        continue;
      }
      if (drain_pipe(pp[0], client, n) < 0) { rc = -1; break; }
      *ndown += n;
    }
  }
  close(pp[0]); close(pp[1]);
  return rc;
}
