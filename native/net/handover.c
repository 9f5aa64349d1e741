/*
 * cordon-egress hand-over: plain-HTTP and SOCKS5 client sockets go to Cordon as descriptors
 * over Node's IPC channel instead of being relayed byte by byte (see hand_over below).
 */
#define _GNU_SOURCE
#include "egress.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/*
 * Plain-HTTP proxying and SOCKS5 are Cordon's (Node's) job, byte by byte. Rather than copy
 * every byte through this process (two more hops per request, each a thread wake-up), the
 * client socket itself is handed to Cordon over the IPC channel Node gave us
 * (NODE_CHANNEL_FD): a Node "NODE_HANDLE" message with the descriptor attached (SCM_RIGHTS),
 * which Node turns into a net.Socket. Only when nothing has been read from the client: the
 * first byte is peeked (bounded by the head timeout); "C" may be a CONNECT, which this helper
 * reads and splices itself. Returns 0 when handed over, -1 to serve the connection here.
 * The channel is a socketpair between Cordon and this helper: nothing in the sandbox can reach it.
 */
static int ipc_fd = -1;

int handover_ready(void) { return ipc_fd >= 0; }

int handover_init(void) {
  const char *chan = getenv("NODE_CHANNEL_FD");
  if (!chan || !*chan) return 0;
  ipc_fd = atoi(chan);
  if (fcntl(ipc_fd, F_GETFD) < 0) return -1;
  /* Blocking: a handed-over socket must not be lost to EAGAIN (the channel is local). */
  return fcntl(ipc_fd, F_SETFL, fcntl(ipc_fd, F_GETFL) & ~O_NONBLOCK) < 0 ? -1 : 0;
}


int hand_over(int client) {
  if (ipc_fd < 0) return -1;
  struct pollfd p = {.fd = client, .events = POLLIN};
  int r;
  do r = poll(&p, 1, 10000); while (r < 0 && errno == EINTR);
  if (r <= 0) return -1; /* proxy_conn applies the head timeout and closes */
  unsigned char first;
  if (recv(client, &first, 1, MSG_PEEK) != 1 || first == 'C') return -1;
  static const char msg[] = "{\"cmd\":\"NODE_HANDLE\",\"type\":\"net.Socket\",\"msg\":{\"cordon\":\"proxy\"},\"key\":null}\n";
  char cbuf[CMSG_SPACE(sizeof(int))];
  memset(cbuf, 0, sizeof cbuf);
  struct iovec iov = {.iov_base = (void *)msg, .iov_len = sizeof msg - 1};
  struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
  struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
  cm->cmsg_level = SOL_SOCKET;
  cm->cmsg_type = SCM_RIGHTS;
  cm->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(cm), &client, sizeof(int));
  /* One small sendmsg is one skb on a Unix stream socket: messages from several workers do
   * not interleave, and the descriptor travels with its own message. */
  ssize_t w;
  do w = sendmsg(ipc_fd, &mh, MSG_NOSIGNAL); while (w < 0 && errno == EINTR);
  return w == (ssize_t)(sizeof msg - 1) ? 0 : -1;
}

/* Node acknowledges every handle (NODE_HANDLE_ACK): read and drop; EOF means Cordon is gone. */
void *ipc_reader(void *arg) {
  (void)arg;
  char buf[4096];
  for (;;) {
    ssize_t n = read(ipc_fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) _exit(1);
  }
  return NULL;
}

