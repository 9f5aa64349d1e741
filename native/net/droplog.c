/*
 * cordon-egress drop log: the audit trail's view of what never leaves the sandbox.
 *
 * UDP other than DNS, ICMP and every other non-TCP protocol are not relayed: the namespace has
 * no route out, and Cordon's nftables filter chain drops such packets at the output hook (the
 * sender's sendto/connect+send gets EPERM). Before dropping, the same rule logs the packet to
 * NFLOG group DROPLOG_GROUP (see nftRules in src/net/egress.ts). This file reads that group in
 * the sandbox's network namespace (NFLOG instances are per namespace) over a raw netfilter
 * netlink socket and forwards one line per packet to Cordon, which writes the audit event:
 *
 *     <proto> <src> <sport> <dst> <dport|icmp type> <payload bytes>\n
 *     lost - 0 - 0 0\n                 (the kernel dropped log messages: the socket overflowed)
 *
 * Security scope: the drop is the kernel's, by the nftables rule, whether or not this reader
 * runs; this is the record only. If the log cannot be bound, the helper refuses to start (no
 * silent loss of the audit). NOT covered: more packets per second than the netlink buffer
 * holds are dropped all the same but reported only as "lost".
 */
#define _GNU_SOURCE
#include "egress.h"
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>
#include <linux/netlink.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static uint32_t seq;

/* One NFULNL_MSG_CONFIG request with one attribute; 0 when the kernel acknowledged it. */
static int nflog_config(int fd, uint16_t attr, const void *data, uint16_t len) {
  struct {
    struct nlmsghdr nh;
    struct nfgenmsg g;
    char attrs[64];
  } m;
  memset(&m, 0, sizeof m);
  struct nlattr *a = (struct nlattr *)m.attrs;
  a->nla_len = (uint16_t)(NLA_HDRLEN + len);
  a->nla_type = attr;
  memcpy((char *)a + NLA_HDRLEN, data, len);
  m.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct nfgenmsg)) + NLA_ALIGN(a->nla_len);
  m.nh.nlmsg_type = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_CONFIG;
  m.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  m.nh.nlmsg_seq = ++seq;
  m.g.nfgen_family = AF_UNSPEC;
  m.g.version = NFNETLINK_V0;
  m.g.res_id = htons(DROPLOG_GROUP);
  if (send(fd, &m, m.nh.nlmsg_len, 0) < 0) return -1;
  char buf[512];
  ssize_t n = recv(fd, buf, sizeof buf, 0);
  if (n < (ssize_t)NLMSG_LENGTH(sizeof(struct nlmsgerr))) { errno = EPROTO; return -1; }
  struct nlmsghdr *h = (struct nlmsghdr *)buf;
  if (h->nlmsg_type != NLMSG_ERROR) { errno = EPROTO; return -1; }
  int err = ((struct nlmsgerr *)NLMSG_DATA(h))->error;
  if (err != 0) { errno = -err; return -1; }
  return 0;
}

int droplog_open(void) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
  if (fd < 0) return -1;
  struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) goto fail;
  int rcv = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
  struct nfulnl_msg_config_cmd cmd = {.command = NFULNL_CFG_CMD_BIND};
  if (nflog_config(fd, NFULA_CFG_CMD, &cmd, sizeof cmd) < 0) goto fail;
  /* Headers are enough: addresses, ports, ICMP type. The length comes from the IP header. */
  struct nfulnl_msg_config_mode mode = {.copy_range = htonl(64), .copy_mode = NFULNL_COPY_PACKET};
  if (nflog_config(fd, NFULA_CFG_MODE, &mode, sizeof mode) < 0) goto fail;
  uint32_t one = htonl(1); /* deliver each packet at once, not batched (default 100 or 1 s) */
  if (nflog_config(fd, NFULA_CFG_QTHRESH, &one, sizeof one) < 0) goto fail;
  return fd;
fail:;
  int e = errno;
  close(fd);
  errno = e;
  return -1;
}

/* Formats one logged packet (IPv4 or IPv6 headers) as a line; its length, or 0 to skip. */
static int describe(const unsigned char *p, size_t n, char *out, size_t cap) {
  char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN], proto[16];
  unsigned sport = 0, dport = 0;
  long bytes = 0;
  const unsigned char *l4;
  size_t l4n;
  int nh;
  if (n >= 20 && (p[0] >> 4) == 4) {
    size_t ihl = (size_t)(p[0] & 15) * 4;
    if (ihl < 20 || n < ihl) return 0;
    inet_ntop(AF_INET, p + 12, src, sizeof src);
    inet_ntop(AF_INET, p + 16, dst, sizeof dst);
    nh = p[9];
    bytes = (long)((p[2] << 8 | p[3]) - ihl);
    l4 = p + ihl;
    l4n = n - ihl;
  } else if (n >= 40 && (p[0] >> 4) == 6) {
    inet_ntop(AF_INET6, p + 8, src, sizeof src);
    inet_ntop(AF_INET6, p + 24, dst, sizeof dst);
    nh = p[6];
    bytes = p[4] << 8 | p[5];
    l4 = p + 40;
    l4n = n - 40;
  } else
    return 0;
  if (nh == 17 && l4n >= 8) {
    snprintf(proto, sizeof proto, "udp");
    sport = (unsigned)(l4[0] << 8 | l4[1]);
    dport = (unsigned)(l4[2] << 8 | l4[3]);
    bytes -= 8;
  } else if ((nh == 1 || nh == 58) && l4n >= 1) {
    snprintf(proto, sizeof proto, nh == 1 ? "icmp" : "icmpv6");
    dport = l4[0]; /* the ICMP type (8 / 128: echo request) */
  } else
    snprintf(proto, sizeof proto, "ip%d", nh);
  if (bytes < 0) bytes = 0;
  return snprintf(out, cap, "%s %s %u %s %u %ld\n", proto, src, sport, dst, dport, bytes);
}

/* Reads the log until Cordon goes away; each packet becomes one line on `to`. */
void droplog_loop(int fd, int to) {
  static char buf[1 << 16];
  char line[200];
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == ENOBUFS) {
        if (write_all(to, "lost - 0 - 0 0\n", 15) < 0) return;
        continue;
      }
      return;
    }
    for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (unsigned)n); h = NLMSG_NEXT(h, n)) {
      if (h->nlmsg_type != ((NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET)) continue;
      size_t off = NLMSG_LENGTH(sizeof(struct nfgenmsg));
      while (off + NLA_HDRLEN <= h->nlmsg_len) {
        struct nlattr *a = (struct nlattr *)((char *)h + off);
        if (a->nla_len < NLA_HDRLEN || off + a->nla_len > h->nlmsg_len) break;
        if ((a->nla_type & NLA_TYPE_MASK) == NFULA_PAYLOAD) {
          int l = describe((unsigned char *)a + NLA_HDRLEN, a->nla_len - NLA_HDRLEN, line, sizeof line);
          if (l > 0 && write_all(to, line, (size_t)l) < 0) return;
        }
        off += NLA_ALIGN(a->nla_len);
      }
    }
  }
}
