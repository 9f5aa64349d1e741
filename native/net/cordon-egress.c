/*
 * cordon-egress: Cordon's listener inside a sandbox network namespace.
 *
 * Why C: Node cannot enter another network namespace (no setns), and a socket belongs to the
 * namespace it was created in. This helper enters the sandbox's namespace, creates the
 * listening sockets there, and hands every connection to the Cordon process over a Unix
 * socket: an abstract one ("@NAME") in Cordon's own network namespace, which the sandbox can
 * neither list nor reach (see connect_unix). It decides nothing.
 *
 * What it listens on, inside the namespace (all set up before READY is printed):
 *   - TCP [::]:TPORT (dual stack): connections nftables redirected there (every TCP connect to a
 *     non-loopback address). The original destination comes from SO_ORIGINAL_DST and is sent
 *     as "T <ip> <port>\n"; Cordon answers "X\n" (deny: the client is closed, no upstream
 *     connection is made) or "A <ip> <port> <I|->\n" (allow: connect to exactly that address).
 *     The upstream socket is created by this thread after it re-enters the host namespace
 *     (setns is per thread), and bytes are moved with splice(2), never through Cordon's
 *     process: the fast path. With "I", the client's first flight is shown to Cordon first
 *     ("F <len>\n" + bytes; answers "P" pass, "M" more, "R" refuse) while upstream bytes
 *     already flow to the client (server-speaks-first protocols work). At the end "B <up>
 *     <down>\n" reports the byte counts for the audit trail.
 *   - TCP 127.0.0.1:PPORT and [::1]:PPORT: the proxy (HTTP_PROXY / ALL_PROXY). A CONNECT head is
 *     read here and sent as "C <len>\n" + head; Cordon answers "A ..." (200 is sent, then the
 *     tunnel takes the fast path below) or "W <len>\n" + a response to write before closing.
 *     Anything else (plain HTTP proxying, SOCKS5) is handed to Cordon as the socket itself over
 *     Node's IPC channel (see hand_over); without a channel, or for a first byte "C" that is
 *     not a CONNECT, it goes to Cordon's proxy as "P\n" + the bytes read.
 *   - TCP 127.0.0.1:53 and [::1]:53: DNS over TCP; header "D\n".
 *   - UDP [::]:53 (dual stack): DNS; every query is sent on one multiplexed Unix connection
 *     (header "U\n", frames: u32 id, u16 length, message; answers come back framed the same).
 *
 * Security scope: the kernel-held boundary is the namespace itself (only `lo`, every address
 * local): nothing this helper does can widen it. If the helper dies, connections fail (the
 * sandbox loses the network, never gains it). It dies with its parent (PR_SET_PDEATHSIG).
 *   - NFLOG group DROPLOG_GROUP: UDP other than DNS, ICMP and other non-TCP packets, which
 *     the nftables rules drop in the namespace, are reported to Cordon for the audit trail
 *     (header "L\n", one line per packet; see droplog.c). They are never relayed.
 *
 * Usage: cordon-egress NETNS_PATH UNIX_SOCKET TPORT PPORT
 *   UNIX_SOCKET "@NAME" is an abstract socket in the starting (host) namespace; else a path.
 *   NETNS_PATH "-" stays in the current namespace; TPORT 0 opens only the proxy listener
 *   (127.0.0.1:PPORT; PPORT 0 picks a free port); READY is followed by the proxy port.
 */
#define _GNU_SOURCE
#include "egress.h"
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
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#ifndef IP6T_SO_ORIGINAL_DST
#define IP6T_SO_ORIGINAL_DST 80
#endif

#define DNS_SLOTS 4096

static const char *unix_path;
static int host_ns = -1; /* the namespace Cordon runs in: upstream sockets are made there */

__attribute__((noreturn, format(printf, 1, 2))) static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("cordon-egress: ", stderr);
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, " (%s)\n", strerror(errno));
  va_end(ap);
  exit(1);
}

/*
 * Connects to Cordon. "@NAME" is an abstract socket: abstract names belong to the network
 * namespace a socket is created in, so the calling thread first re-enters the host namespace
 * (setns is per thread; nothing a thread does after this needs the sandbox namespace: its
 * client socket already exists). Cordon's socket therefore cannot be seen (/proc/net/unix) or
 * reached from inside the sandbox, whatever its mounts show. A filesystem path still works.
 */
static int connect_unix(void) {
  int abstract = unix_path[0] == '@';
  if (abstract && (host_ns < 0 || setns(host_ns, CLONE_NEWNET) < 0)) return -1;
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  socklen_t len = sizeof sa;
  if (abstract) {
    size_t n = strlen(unix_path + 1);
    if (n > sizeof sa.sun_path - 1) n = sizeof sa.sun_path - 1;
    /* sun_path[0] stays NUL; the rest is NUL-padded and the whole of sun_path is the name,
     * as Node (libuv) binds it. */
    memcpy(sa.sun_path + 1, unix_path + 1, n);
  } else {
    strncpy(sa.sun_path, unix_path, sizeof sa.sun_path - 1);
  }
  if (connect(fd, (struct sockaddr *)&sa, len) < 0) {
    close(fd);
    return -1;
  }
  return fd;
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







/* The fast path once Cordon has answered "A <ip> <port> <I|->" for this connection. */
static void carry(int client, int u, const char *allow) {
  char line[160], ip[INET6_ADDRSTRLEN + 1], flag = '-';
  int port = 0;
  if (sscanf(allow, "A %46s %d %c", ip, &port, &flag) != 3) return;
  if (host_ns < 0 || setns(host_ns, CLONE_NEWNET) < 0) { write_all(u, "E setns\n", 8); return; }
  int up = connect_upstream(ip, port);
  if (up < 0) {
    char e[64];
    int n = snprintf(e, sizeof e, "E %d\n", errno);
    write_all(u, e, (size_t)n);
    return;
  }
  long long nup = 0, ndown = 0;
  int held = flag == 'I';
  char *buf = NULL;
  size_t have = 0;
  while (held) {
    int r = splice_relay(client, up, 1, &nup, &ndown);
    if (r < 0) goto done;
    if (!buf && !(buf = malloc(16 * 1024 + 5))) goto done;
    ssize_t n = read(client, buf + have, 16 * 1024 + 5 - have);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) { /* client closed before a verdict: nothing goes upstream */ goto done; }
    char hdr[32];
    int hl = snprintf(hdr, sizeof hdr, "F %zd\n", n);
    if (write_all(u, hdr, (size_t)hl) < 0 || write_all(u, buf + have, (size_t)n) < 0) goto done;
    have += (size_t)n;
    if (read_line(u, line, sizeof line) < 0) goto done;
    if (line[0] == 'P') {
      if (write_all(up, buf, have) < 0) goto done;
      nup += (long long)have;
      held = 0;
    } else if (line[0] != 'M' || have >= 16 * 1024 + 5) goto done; /* R, or no verdict in 16 KiB */
  }
  splice_relay(client, up, 0, &nup, &ndown);
done:
  free(buf);
  {
    char b[64];
    int n = snprintf(b, sizeof b, "B %lld %lld\n", nup, ndown);
    write_all(u, b, (size_t)n);
  }
  close(up);
}

/* A captured connection: Cordon decides on the original destination. */
static void transparent(int client, int u) {
  char line[160];
  if (read_line(u, line, sizeof line) < 0 || line[0] != 'A') return; /* X or garbage: deny */
  carry(client, u, line);
}

#define HEAD_MAX (16 * 1024)

/*
 * The proxy port. A CONNECT request head is read here (bounded: 16 KiB, 10 s) and handed to
 * Cordon to decide ("C <len>\n" + head); if allowed the tunnel takes the fast path like a
 * captured connection. Anything else (plain HTTP proxying, SOCKS5) is relayed to Cordon's
 * proxy as is ("P\n" + bytes).
 */
static void proxy_conn(int client, int u) {
  char *buf = malloc(HEAD_MAX + 1);
  if (!buf) return;
  size_t have = 0;
  char *end = NULL;
  struct timespec t0, now;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  while (have < HEAD_MAX) {
    clock_gettime(CLOCK_MONOTONIC, &now);
    long left = 10000 - ((now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000);
    if (left <= 0) goto out; /* no complete head in 10 s: slowloris */
    struct pollfd p = {.fd = client, .events = POLLIN};
    int r = poll(&p, 1, (int)left);
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) goto out;
    ssize_t n = read(client, buf + have, HEAD_MAX - have);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) goto out;
    have += (size_t)n;
    buf[have] = 0;
    if (buf[0] != 'C') break;
    if ((end = strstr(buf, "\r\n\r\n"))) break;
  }
  if (end && strncmp(buf, "CONNECT ", 8) == 0 && (size_t)(end + 4 - buf) == have) {
    char hdr[32], line[160];
    int hl = snprintf(hdr, sizeof hdr, "C %zu\n", have);
    if (write_all(u, hdr, (size_t)hl) < 0 || write_all(u, buf, have) < 0) goto out;
    if (read_line(u, line, sizeof line) < 0) goto out;
    if (line[0] == 'A') {
      static const char ok[] = "HTTP/1.1 200 Connection Established\r\n\r\n";
      if (write_all(client, ok, sizeof ok - 1) < 0) goto out;
      free(buf);
      buf = NULL;
      carry(client, u, line);
    } else if (line[0] == 'W') {
      size_t len = (size_t)strtoul(line + 2, NULL, 10);
      if (len > HEAD_MAX) goto out;
      if (read_all(u, buf, len) == 0) write_all(client, buf, len);
    }
    goto out;
  }
  if (write_all(u, "P\n", 2) < 0 || write_all(u, buf, have) < 0) goto out;
  free(buf);
  buf = NULL;
  relay(client, u);
out:
  free(buf);
}

struct conn {
  int fd;
  char kind; /* 'T', 'P', 'D' */
};

static void conn_serve(struct conn c) {
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
        return;
      }
      struct sockaddr_in6 *s = (struct sockaddr_in6 *)&od;
      inet_ntop(AF_INET6, &s->sin6_addr, ip, sizeof ip);
      port = ntohs(s->sin6_port);
    }
    /* Loopback is never redirected (see the nftables rules), so a loopback original
     * destination means a direct connection to this listener: nothing to relay to. */
    if (strncmp(ip, "127.", 4) == 0 || strcmp(ip, "::1") == 0) {
      close(c.fd);
      return;
    }
    if (port == 53) {
      /* DNS over TCP to any address: Cordon answers it itself. */
      c.kind = 'D';
      n = snprintf(hdr, sizeof hdr, "D\n");
    } else
      n = snprintf(hdr, sizeof hdr, "T %s %d\n", ip, port);
  } else if (c.kind == 'P') {
    if (hand_over(c.fd) == 0) {
      close(c.fd); /* Cordon holds its own copy now */
      return;
    }
    n = 0; /* proxy_conn writes "C" or "P" once it has seen the request */
  } else {
    n = snprintf(hdr, sizeof hdr, "%c\n", c.kind);
  }
  int u = connect_unix();
  if (u < 0 || (n > 0 && write_all(u, hdr, (size_t)n) < 0)) {
    close(c.fd);
    if (u >= 0) close(u);
    return;
  }
  if (c.kind == 'T') transparent(c.fd, u);
  else if (c.kind == 'P') proxy_conn(c.fd, u);
  else relay(c.fd, u);
  close(c.fd);
  close(u);
  return;
}

/* Connections this worker holds (see worker_loop); each costs FDS_PER_CONN descriptors. */
static long active;

static void *conn_thread(void *arg) {
  struct conn c = *(struct conn *)arg;
  free(arg);
  conn_serve(c);
  __atomic_sub_fetch(&active, 1, __ATOMIC_RELAXED);
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

/* Non-TCP packets the namespace dropped, for the audit trail (droplog.c). */
static int droplog_fd = -1, droplog_unix = -1;

static void *droplog_thread(void *arg) {
  (void)arg;
  droplog_loop(droplog_fd, droplog_unix);
  _exit(1); /* Cordon went away (or the log failed): die, as the DNS reader does */
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

/*
 * Workers. Every tunnel costs FDS_PER_CONN descriptors in the process carrying it (client,
 * Cordon's control socket, upstream, one splice pipe), and RLIMIT_NOFILE is per process: on
 * hosts whose hard limit is 20 000 and that deny CAP_SYS_RESOURCE, one process could carry
 * about 4 000 tunnels. So WORKERS processes share the listening sockets, each accepting only
 * while it has room for another connection (conn_limit); a full worker leaves the connection
 * in the backlog for the others (never accepts what it cannot carry). The main process keeps
 * the UDP listeners. A worker that dies takes the main process with it (SIGCHLD), and workers
 * die with the main process (PR_SET_PDEATHSIG): the sandbox loses the network, never gains it.
 */
#define WORKERS 4
#define FDS_PER_CONN 5
#define FD_RESERVE 64
static long conn_limit;

static void set_conn_limit(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) < 0) die("getrlimit(RLIMIT_NOFILE)");
  if (rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max; /* the soft limit may rise to the hard one without privilege */
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0) die("setrlimit(RLIMIT_NOFILE)");
  }
  long n = rl.rlim_cur == RLIM_INFINITY ? 1L << 20 : (long)rl.rlim_cur;
  conn_limit = (n - FD_RESERVE) / FDS_PER_CONN;
  if (conn_limit < 16) { errno = EMFILE; die("RLIMIT_NOFILE %ld leaves no room for connections", n); }
}

struct listener {
  int fd;
  char kind;
};

static void worker_loop(const struct listener *ls, int nl, pthread_attr_t *attr) {
  struct pollfd p[8];
  for (int i = 0; i < nl; i++) p[i] = (struct pollfd){.fd = ls[i].fd, .events = POLLIN};
  pthread_t th;
  for (;;) {
    if (poll(p, (nfds_t)nl, -1) < 0) {
      if (errno == EINTR) continue;
      die("poll");
    }
    for (int i = 0; i < nl; i++) {
      if (!(p[i].revents & POLLIN)) continue;
      if (__atomic_load_n(&active, __ATOMIC_RELAXED) >= conn_limit) {
        usleep(2000); /* full: another worker (or this one, later) takes it */
        continue;
      }
      int fd = accept4(ls[i].fd, NULL, NULL, SOCK_CLOEXEC);
      if (fd < 0) {
        /* EAGAIN: another worker took it. EMFILE and friends: back off instead of spinning on
         * a listener that stays readable; waiting clients are served once descriptors free up. */
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) usleep(10000);
        continue;
      }
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      struct conn *c = malloc(sizeof *c);
      if (!c) { close(fd); continue; }
      c->fd = fd;
      c->kind = ls[i].kind;
      __atomic_add_fetch(&active, 1, __ATOMIC_RELAXED);
      if (pthread_create(&th, attr, conn_thread, c) != 0) {
        __atomic_sub_fetch(&active, 1, __ATOMIC_RELAXED);
        close(fd);
        free(c);
      }
    }
  }
}

static void on_worker_exit(int sig) {
  (void)sig;
  _exit(1);
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: cordon-egress NETNS_PATH UNIX_SOCKET TPORT PPORT\n");
    return 2;
  }
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0) die("prctl(PR_SET_PDEATHSIG)");
  if (getppid() == 1) die("parent already gone");
  signal(SIGPIPE, SIG_IGN);
  unix_path = argv[2];
  int tport = atoi(argv[3]), pport = atoi(argv[4]);
  /* "-" as the namespace: stay where we are (Cordon's own proxy outside a sandbox, for its
   * fast CONNECT path); TPORT 0: no transparent or DNS listeners (proxy only). */
  int proxy_only = tport == 0;
  host_ns = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (host_ns < 0) die("open(/proc/thread-self/ns/net)");
  if (strcmp(argv[1], "-") != 0) {
    int ns = open(argv[1], O_RDONLY | O_CLOEXEC);
    if (ns < 0) die("open(%s)", argv[1]);
    if (setns(ns, CLONE_NEWNET) < 0) die("setns(%s, CLONE_NEWNET)", argv[1]);
    close(ns);
  }

  int lt = -1, ld4 = -1, ld6 = -1;
  int lp4 = listen_tcp(AF_INET, "127.0.0.1", pport, 0);
  if (pport == 0) {
    struct sockaddr_in a;
    socklen_t al = sizeof a;
    if (getsockname(lp4, (struct sockaddr *)&a, &al) < 0) die("getsockname");
    pport = ntohs(a.sin_port);
  }
  int lp6 = proxy_only ? -1 : listen_tcp(AF_INET6, "::1", pport, 0);
  udp_fd = -1;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 256 * 1024);
  pthread_t th;
  uint32_t next_id = 1;
  if (!proxy_only) {
    lt = listen_tcp(AF_INET6, "::", tport, 1);
    ld4 = listen_tcp(AF_INET, "127.0.0.1", 53, 0);
    ld6 = listen_tcp(AF_INET6, "::1", 53, 0);
  }
  struct listener ls[5];
  int nl = 0;
  int all[] = {lt, lp4, lp6, ld4, ld6};
  char kinds[] = {'T', 'P', 'P', 'D', 'D'};
  for (int i = 0; i < 5; i++) {
    if (all[i] < 0) continue;
    /* Shared by the workers: whoever loses the race gets EAGAIN, not a blocked accept. */
    if (fcntl(all[i], F_SETFL, fcntl(all[i], F_GETFL) | O_NONBLOCK) < 0) die("fcntl(O_NONBLOCK)");
    ls[nl++] = (struct listener){.fd = all[i], .kind = kinds[i]};
  }
  if (handover_init() < 0) die("NODE_CHANNEL_FD %s", getenv("NODE_CHANNEL_FD"));
  set_conn_limit();
  signal(SIGCHLD, on_worker_exit);
  pid_t main_pid = getpid();
  for (int w = 0; w < WORKERS; w++) {
    pid_t pid = fork();
    if (pid < 0) die("fork");
    if (pid == 0) {
      signal(SIGCHLD, SIG_DFL);
      if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != main_pid) _exit(1);
      worker_loop(ls, nl, &attr);
    }
  }
  for (int i = 0; i < nl; i++) close(ls[i].fd); /* the workers accept; this process does not */

  if (!proxy_only) {
    udp_fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (udp_fd < 0) die("socket(udp)");
    int zero = 0;
    setsockopt(udp_fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    struct sockaddr_in6 us = {.sin6_family = AF_INET6, .sin6_port = htons(53), .sin6_addr = in6addr_any};
    if (bind(udp_fd, (struct sockaddr *)&us, sizeof us) < 0) die("bind(udp [::]:53)");
    /* Answers to a query sent to some other address (9.9.9.9:53, redirected here) leave from
     * that address, as a new flow nftables would drop as non-DNS UDP: the mark lets exactly
     * this socket's packets pass (SO_MARK needs CAP_NET_ADMIN, which the sandbox lacks). */
    uint32_t mark = DNS_MARK;
    if (setsockopt(udp_fd, SOL_SOCKET, SO_MARK, &mark, sizeof mark) < 0) die("setsockopt(SO_MARK)");
    /* Before connect_unix: that moves this thread to the host namespace, and the drop log
     * must be bound in the sandbox's. */
    droplog_fd = droplog_open();
    if (droplog_fd < 0) die("cannot bind NFLOG group %d for the audit of dropped non-TCP packets", DROPLOG_GROUP);
    dns_unix = connect_unix();
    if (dns_unix < 0) die("connect(%s)", unix_path);
    if (write_all(dns_unix, "U\n", 2) < 0) die("write(%s)", unix_path);
    if (pthread_create(&th, &attr, dns_reader, NULL) != 0) die("pthread_create");
    droplog_unix = connect_unix();
    if (droplog_unix < 0) die("connect(%s)", unix_path);
    if (write_all(droplog_unix, "L\n", 2) < 0) die("write(%s)", unix_path);
    if (pthread_create(&th, &attr, droplog_thread, NULL) != 0) die("pthread_create");
  }

  if (handover_ready() && pthread_create(&th, &attr, ipc_reader, NULL) != 0) die("pthread_create");
  printf("READY %d\n", pport);
  fflush(stdout);

  /* The main process: UDP DNS (the reader thread sends answers back). */
  for (;;) {
    if (udp_fd < 0) {
      pause();
      continue;
    }
    struct pollfd p = {.fd = udp_fd, .events = POLLIN};
    if (poll(&p, 1, -1) < 0) {
      if (errno == EINTR) continue;
      die("poll");
    }
    if (p.revents & POLLIN) handle_udp(&next_id);
  }
}
