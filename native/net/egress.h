/* Shared declarations of cordon-egress (see cordon-egress.c for what it is and why). */
#ifndef CORDON_EGRESS_H
#define CORDON_EGRESS_H
#include <stddef.h>

#define BUF_SIZE (128 * 1024)

/* 0, or -1 on error/EOF before n bytes. */
int write_all(int fd, const void *p, size_t n);
int read_all(int fd, void *p, size_t n);
/* Reads one '\n'-terminated line (terminator replaced by NUL); its length, or -1. */
int read_line(int fd, char *buf, size_t cap);
/* Copies bytes both ways until both directions are closed; half-close is passed on. */
void relay(int a, int b);
/* Connects to ip:port in the calling thread's network namespace; fd or -1 (errno set). */
int connect_upstream(const char *ip, int port);
/* Spliced relay; with hold, returns 1 as soon as the client has data (see io.c). */
int splice_relay(int client, int up, int hold, long long *nup, long long *ndown);

/* NFLOG group the nftables drop rule logs to (must match nftRules in src/net/egress.ts). */
#define DROPLOG_GROUP 4242
/* SO_MARK of the DNS socket, whose answers the drop rule lets pass (nftRules too). */
#define DNS_MARK 0x636f7264
/* Binds the drop log in the current network namespace; fd or -1 (errno set). See droplog.c. */
int droplog_open(void);
/* Forwards each logged packet to `to` as a line until either side fails. */
void droplog_loop(int fd, int to);

/* Hand-over of proxy clients to Cordon over NODE_CHANNEL_FD (handover.c). init: 0 (also when
 * there is no channel) or -1; hand_over: 0 when Cordon has the socket, -1 to serve it here;
 * ipc_reader: thread that drops Node's acknowledgements and exits the process on EOF. */
int handover_init(void);
int handover_ready(void);
int hand_over(int client);
void *ipc_reader(void *arg);

#endif
