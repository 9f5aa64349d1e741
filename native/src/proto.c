/* Control-socket framing: u32 little-endian payload length, then the payload (type byte, then
 * fields: u32 LE integers and u32-length-prefixed strings). Data only travels over this fd:
 * never paths or environment variables chosen by the sandboxed side. */
#include "sup.h"
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *xrealloc(void *p, size_t n) {
  void *q = realloc(p, n);
  if (!q) die("out of memory (%zu bytes)", n);
  return q;
}

static void b_reserve(struct buf *b, size_t more) {
  if (b->len + more <= b->cap) return;
  size_t c = b->cap ? b->cap : 256;
  while (c < b->len + more) c *= 2;
  b->p = xrealloc(b->p, c);
  b->cap = c;
}

void b_init(struct buf *b, char type) {
  b->p = NULL; b->len = 0; b->cap = 0;
  b_reserve(b, 256);
  b->len = 4;
  b->p[b->len++] = (uint8_t)type;
}

void b_u32(struct buf *b, uint32_t v) {
  b_reserve(b, 4);
  for (int i = 0; i < 4; i++) b->p[b->len++] = (uint8_t)(v >> (8 * i));
}

void b_strn(struct buf *b, const char *s, size_t n) {
  b_u32(b, (uint32_t)n);
  b_reserve(b, n);
  memcpy(b->p + b->len, s, n);
  b->len += n;
}

void b_str(struct buf *b, const char *s) { b_strn(b, s ? s : "", s ? strlen(s) : 0); }

int b_send(struct buf *b) {
  uint32_t n = (uint32_t)(b->len - 4);
  for (int i = 0; i < 4; i++) b->p[i] = (uint8_t)(n >> (8 * i));
  size_t off = 0;
  int rc = 0;
  while (off < b->len) {
    ssize_t w = write(CTL_FD, b->p + off, b->len - off);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && errno == EAGAIN) { usleep(100); continue; }
    if (w <= 0) { rc = -1; break; }
    off += (size_t)w;
  }
  free(b->p);
  b->p = NULL;
  return rc;
}

uint32_t r_u32(struct rd *r) {
  if (r->off + 4 > r->len) { r->bad = 1; return 0; }
  uint32_t v = 0;
  for (int i = 0; i < 4; i++) v |= (uint32_t)r->p[r->off + i] << (8 * i);
  r->off += 4;
  return v;
}

uint8_t r_u8(struct rd *r) {
  if (r->off + 1 > r->len) { r->bad = 1; return 0; }
  return r->p[r->off++];
}

const char *r_str(struct rd *r, size_t *np) {
  uint32_t n = r_u32(r);
  if (r->bad || r->off + n > r->len) { r->bad = 1; return NULL; }
  char *s = malloc((size_t)n + 1);
  if (!s) die("out of memory");
  memcpy(s, r->p + r->off, n);
  s[n] = 0;
  r->off += n;
  if (np) *np = n;
  return s;
}

static int read_full(int fd, void *p, size_t n) {
  size_t off = 0;
  while (off < n) {
    ssize_t k = read(fd, (char *)p + off, n - off);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return -1;
    off += (size_t)k;
  }
  return 0;
}

uint8_t *read_frame(int fd, size_t *len) {
  uint8_t h[4];
  if (read_full(fd, h, 4) < 0) return NULL;
  uint32_t n = (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 | (uint32_t)h[3] << 24;
  if (n == 0 || n > (64u << 20)) return NULL;
  uint8_t *p = malloc(n);
  if (!p) return NULL;
  if (read_full(fd, p, n) < 0) { free(p); return NULL; }
  *len = n;
  return p;
}

/* Incoming bytes for the event loop (the socket is non-blocking there). */
static uint8_t *in_p;
static size_t in_len, in_cap;

int ctl_pump(void) {
  for (;;) {
    if (in_cap - in_len < 65536) {
      in_cap = in_cap ? in_cap * 2 : 131072;
      in_p = xrealloc(in_p, in_cap);
    }
    ssize_t k = read(CTL_FD, in_p + in_len, in_cap - in_len);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0 && errno == EAGAIN) return 0;
    if (k <= 0) return -1;
    in_len += (size_t)k;
  }
}

uint8_t *ctl_next(size_t *len) {
  if (in_len < 4) return NULL;
  uint32_t n = (uint32_t)in_p[0] | (uint32_t)in_p[1] << 8 | (uint32_t)in_p[2] << 16 | (uint32_t)in_p[3] << 24;
  if (in_len < 4 + (size_t)n) return NULL;
  uint8_t *p = malloc(n ? n : 1);
  if (!p) die("out of memory");
  memcpy(p, in_p + 4, n);
  memmove(in_p, in_p + 4 + n, in_len - 4 - n);
  in_len -= 4 + n;
  *len = n;
  return p;
}

void send_fatal(int code, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  struct buf b;
  b_init(&b, 'F');
  b_u32(&b, (uint32_t)code);
  b_str(&b, msg);
  if (b_send(&b) < 0) fprintf(stderr, "cordon-supervisor: %s\n", msg);
}

void die(const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  send_fatal(126, "%s", msg);
  _exit(126);
}
