/* rules.c: native file_rules evaluation (see the header comment there). */
#ifndef CORDON_RULES_H
#define CORDON_RULES_H
#include <stdint.h>
enum { RK_ALLOW = 0, RK_DENY = 1, RK_ASK = 2 };
void rules_add(uint32_t mask, int kind, int err, const char *const *pats, int npats);
void rules_default(int kind, int err);
/* RK_ALLOW, RK_DENY (errno in *err) or RK_ASK (Node decides). */
int rules_decide(uint32_t ops, const char *path, int *err);
extern int g_native_rules;
/* Landlock READ_DIR grants in force in the sandbox (see rules.c). */
void grants_add(const char *path);
int grants_cover(const char *path);
#endif
