/*
 * cordon-egress: Cordon's listener inside a sandbox network namespace.
 *
 * Why C: Node cannot enter another network namespace (no setns), and a socket belongs to the
 * namespace it was created in. This helper enters the sandbox's namespace, creates the
 * listening sockets there, and hands every connection to the Cordon process over a Unix
 * socket (a filesystem path, reachable from any network namespace). It decides nothing.
 *
 * What it listens on, inside the namespace (all set up before READY is printed):
 *   - TCP [::]:TPORT (dual stack): connections nftables redirected there (every TCP connect to a
 *     non-loopback address). The original destination comes from SO_ORIGINAL_DST and is sent
 *     as "T <ip> <port>\n" before the relayed bytes.
 *   - TCP 127.0.0.1:PPORT and [::1]:PPORT: the proxy (HTTP_PROXY / ALL_PROXY); header "P\n".
 *   - TCP 127.0.0.1:53 and [::1]:53: DNS over TCP; header "D\n".
 *   - UDP [::]:53 (dual stack): DNS; every query is sent on one multiplexed Unix connection
 *     (header "U\n", frames: u32 id, u16 length, message; answers come back framed the same).
 *
 * Security scope: the kernel-held boundary is the namespace itself (only `lo`, every address
 * local): nothing this helper does can widen it. If the helper dies, connections fail (the
 * sandbox loses the network, never gains it). It dies with its parent (PR_SET_PDEATHSIG).
 * NOT covered here: UDP other than DNS (no listener: it never leaves the namespace).
 *
 * Usage: cordon-egress NETNS_PATH UNIX_SOCKET_PATH TPORT PPORT
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netfilter_ipv4.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#ifndef IP6T_SO_ORIGINAL_DST
#define IP6T_SO_ORIGINAL_DST 80
#endif

#define BUF_SIZE (128 * 1024)
#define DNS_SLOTS 4096

static const char *unix_path;

__attribute__((noreturn, format(printf, 1, 2))) static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("cordon-egress: ", stderr);
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, " (%s)\n", strerror(errno));
  va_end(ap);
  exit(1);
}

static int connect_unix(void) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  strncpy(sa.sun_path, unix_path, sizeof sa.sun_path - 1);
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    close(fd);
    return -1;
  }
  return fd;
}

static int write_all(int fd, const void *p, size_t n) {
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

static int listen_tcp(int family, const char *addr, int port, int dual) {
  int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket(tcp %s:%d)", addr, port);
  int one = 1, zero = 0;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, dual ? &zero : &one, sizeof one);
  struct sockaddr_storage ss = {0};
  socklen_t len;
  if (family == AF_INET) {
    struct sockaddr_in *s = (struct sockaddr_in *)&ss;
    s->sin_family = AF_INET;
    s->sin_port = htons((uint16_t)port);
    inet_pton(AF_INET, addr, &s->sin_addr);
    len = sizeof *s;
  } else {
    struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;
    s->sin6_family = AF_INET6;
    s->sin6_port = htons((uint16_t)port);
    inet_pton(AF_INET6, addr, &s->sin6_addr);
    len = sizeof *s;
  }
  if (bind(fd, (struct sockaddr *)&ss, len) < 0) die("bind(tcp %s:%d)", addr, port);
  if (listen(fd, 4096) < 0) die("listen(tcp %s:%d)", addr, port);
  return fd;
}

/* Copies bytes both ways until both directions are closed; half-close is passed on. */
static void relay(int a, int b) {
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

struct conn {
  int fd;
  char kind; /* 'T', 'P', 'D' */
};

static void *conn_thread(void *arg) {
  struct conn c = *(struct conn *)arg;
  free(arg);
  char hdr[128];
  int n;
  if (c.kind == 'T') {
    struct sockaddr_storage od;
    socklen_t ol = sizeof od;
    char ip[INET6_ADDRSTRLEN];
    int port;
    if (getsockopt(c.fd, SOL_IP, SO_ORIGINAL_DST, &od, &ol) == 0 && od.ss_family == AF_INET) {
      struct sockaddr_in *s = (struct sockaddr_in *)&od;
      inet_ntop(AF_INET, &s->sin_addr, ip, sizeof ip);
      port = ntohs(s->sin_port);
    } else {
      ol = sizeof od;
      if (getsockopt(c.fd, SOL_IPV6, IP6T_SO_ORIGINAL_DST, &od, &ol) != 0 || od.ss_family != AF_INET6) {
        /* No NAT record: connected to the listener directly. Nothing to relay to. */
        close(c.fd);
        return NULL;
      }
      struct sockaddr_in6 *s = (struct sockaddr_in6 *)&od;
      inet_ntop(AF_INET6, &s->sin6_addr, ip, sizeof ip);
      port = ntohs(s->sin6_port);
    }
    /* Loopback is never redirected (see the nftables rules), so a loopback original
     * destination means a direct connection to this listener: nothing to relay to. */
    if (strncmp(ip, "127.", 4) == 0 || strcmp(ip, "::1") == 0) {
      close(c.fd);
      return NULL;
    }
    n = snprintf(hdr, sizeof hdr, "T %s %d\n", ip, port);
  } else {
    n = snprintf(hdr, sizeof hdr, "%c\n", c.kind);
  }
  int u = connect_unix();
  if (u < 0 || write_all(u, hdr, (size_t)n) < 0) {
    close(c.fd);
    if (u >= 0) close(u);
    return NULL;
  }
  relay(c.fd, u);
  close(c.fd);
  close(u);
  return NULL;
}

/* UDP DNS: queries out on one Unix stream, answers back to the sender recorded in a slot. */
static int udp_fd, dns_unix;
static struct {
  struct sockaddr_storage from;
  socklen_t len;
  uint32_t id;
} slots[DNS_SLOTS];
static pthread_mutex_t slot_lock = PTHREAD_MUTEX_INITIALIZER;

static int read_all(int fd, void *p, size_t n) {
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

static void *dns_reader(void *arg) {
  (void)arg;
  unsigned char h[6], msg[65536];
  for (;;) {
    if (read_all(dns_unix, h, 6) < 0) break;
    uint32_t id = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
    uint16_t len = (uint16_t)(h[4] << 8 | h[5]);
    if (read_all(dns_unix, msg, len) < 0) break;
    pthread_mutex_lock(&slot_lock);
    int i = (int)(id % DNS_SLOTS);
    if (slots[i].id == id && slots[i].len > 0) {
      sendto(udp_fd, msg, len, 0, (struct sockaddr *)&slots[i].from, slots[i].len);
      slots[i].len = 0;
    }
    pthread_mutex_unlock(&slot_lock);
  }
  /* Cordon went away: no more answers. Die so the sandbox sees failures, not silence. */
  _exit(1);
  return NULL;
}

static void handle_udp(uint32_t *next_id) {
  unsigned char buf[6 + 65536];
  struct sockaddr_storage from;
  socklen_t fl = sizeof from;
  ssize_t n = recvfrom(udp_fd, buf + 6, 65536, 0, (struct sockaddr *)&from, &fl);
  if (n <= 0) return;
  uint32_t id = (*next_id)++;
  pthread_mutex_lock(&slot_lock);
  int i = (int)(id % DNS_SLOTS);
  slots[i].id = id;
  slots[i].from = from;
  slots[i].len = fl;
  pthread_mutex_unlock(&slot_lock);
  buf[0] = (unsigned char)(id >> 24);
  buf[1] = (unsigned char)(id >> 16);
  buf[2] = (unsigned char)(id >> 8);
  buf[3] = (unsigned char)id;
  buf[4] = (unsigned char)(n >> 8);
  buf[5] = (unsigned char)n;
  if (write_all(dns_unix, buf, (size_t)n + 6) < 0) _exit(1);
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: cordon-egress NETNS_PATH UNIX_SOCKET_PATH TPORT PPORT\n");
    return 2;
  }
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0) die("prctl(PR_SET_PDEATHSIG)");
  if (getppid() == 1) die("parent already gone");
  signal(SIGPIPE, SIG_IGN);
  unix_path = argv[2];
  int tport = atoi(argv[3]), pport = atoi(argv[4]);
  int ns = open(argv[1], O_RDONLY | O_CLOEXEC);
  if (ns < 0) die("open(%s)", argv[1]);
  if (setns(ns, CLONE_NEWNET) < 0) die("setns(%s, CLONE_NEWNET)", argv[1]);
  close(ns);

  int lt = listen_tcp(AF_INET6, "::", tport, 1);
  int lp4 = listen_tcp(AF_INET, "127.0.0.1", pport, 0);
  int lp6 = listen_tcp(AF_INET6, "::1", pport, 0);
  int ld4 = listen_tcp(AF_INET, "127.0.0.1", 53, 0);
  int ld6 = listen_tcp(AF_INET6, "::1", 53, 0);
  udp_fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (udp_fd < 0) die("socket(udp)");
  int zero = 0;
  setsockopt(udp_fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
  struct sockaddr_in6 us = {.sin6_family = AF_INET6, .sin6_port = htons(53), .sin6_addr = in6addr_any};
  if (bind(udp_fd, (struct sockaddr *)&us, sizeof us) < 0) die("bind(udp [::]:53)");

  dns_unix = connect_unix();
  if (dns_unix < 0) die("connect(%s)", unix_path);
  if (write_all(dns_unix, "U\n", 2) < 0) die("write(%s)", unix_path);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 256 * 1024);
  pthread_t th;
  if (pthread_create(&th, &attr, dns_reader, NULL) != 0) die("pthread_create");

  printf("READY\n");
  fflush(stdout);

  struct {
    int fd;
    char kind;
  } ls[] = {{lt, 'T'}, {lp4, 'P'}, {lp6, 'P'}, {ld4, 'D'}, {ld6, 'D'}};
  enum { NL = sizeof ls / sizeof ls[0] };
  struct pollfd p[NL + 1];
  for (int i = 0; i < NL; i++) p[i] = (struct pollfd){.fd = ls[i].fd, .events = POLLIN};
  p[NL] = (struct pollfd){.fd = udp_fd, .events = POLLIN};
  uint32_t next_id = 1;
  for (;;) {
    if (poll(p, NL + 1, -1) < 0) {
      if (errno == EINTR) continue;
      die("poll");
    }
    if (p[NL].revents & POLLIN) handle_udp(&next_id);
    for (int i = 0; i < NL; i++) {
      if (!(p[i].revents & POLLIN)) continue;
      int fd = accept4(ls[i].fd, NULL, NULL, SOCK_CLOEXEC);
      if (fd < 0) continue; /* EMFILE and friends: the client sees a reset, we keep serving */
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      struct conn *c = malloc(sizeof *c);
      if (!c) { close(fd); continue; }
      c->fd = fd;
      c->kind = ls[i].kind;
      if (pthread_create(&th, &attr, conn_thread, c) != 0) {
        close(fd);
        free(c);
      }
    }
  }
}
