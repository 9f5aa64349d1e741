/* Shared between main.c (spec, supervisor) and sandbox.c (init and command). */
#ifndef CORDON_SANDBOX_H
#define CORDON_SANDBOX_H
#include <stddef.h>
#include <stdint.h>
struct spec {
  uint32_t opts;
  char **argv, **envp, **wroots, **rgrants, **lgrants;
  size_t argc, envc, nw, nr, nl;
  char *cwd;
  int cg_fds[8];
  char *trash_dir;  /* the session trash (spec 'X'); opened by init before it is hidden */
  int trash_fd;
  int ncg;
};
extern struct spec S;
void push(char ***v, size_t *n, const char *s);
void init_main(int go_r, int ready_w, int status_w, int sp) __attribute__((noreturn));
#endif
