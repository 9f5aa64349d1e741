/* Native file_rules: the hot decisions made in the supervisor without a round trip to Node.
 *
 * The TS side sends each file rule as (operations mask, kind, errno, brace-expanded patterns).
 * Only allow and deny (errno != 0) rules are decided here; a rule whose decision needs Node
 * (audit: recorded one by one; redirect, soft_delete, approve, absorb) is kind ASK, and so is
 * a pattern this matcher does not reproduce exactly (see tokenize), a path with non-ASCII bytes
 * (JS globs count UTF-16 units), or a match that exceeds the step budget. ASK sends the whole
 * question to Node, which evaluates the real engine. Semantics mirror src/policy/glob.ts:
 * `*` within a segment (a whole-segment `*` needs one character), `?`, `[...]`/`[!...]`,
 * `\x`, and `**` as a whole segment at the start, middle or end. test/sandbox/native-rules
 * cross-checks this matcher against the TS engine on generated patterns and paths.
 */
#include "sup.h"
#include "rules.h"
#include <stdlib.h>
#include <string.h>

/* Grants longer than this are not recorded (their opens are emulated instead). */
#define PATH_MAX_GRANT 4096

enum { T_LIT, T_STAR, T_QMARK, T_CLASS, T_GS_ALL, T_GS_LEAD, T_GS_MID, T_GS_TRAIL };
struct tok { uint8_t t, c, min, neg; uint8_t *set; };
struct pat { struct tok *tk; int n; };
struct rule { uint32_t mask; int kind, err, partial; struct pat *pats; int npats; };

static struct rule *g_rules;
static int g_nrules;
static int g_def_kind = RK_DENY, g_def_err = 13;
int g_native_rules; /* set when the spec carried a rule table */

/* Returns 0, or -1 when the pattern is outside what this matcher reproduces exactly. */
static int tokenize(const char *p, struct pat *out) {
  size_t len = strlen(p);
  struct tok *tk = calloc(len + 1, sizeof *tk);
  int n = 0;
  if (!tk) return -1;
  for (size_t i = 0; i < len; i++) {
    char c = p[i];
    if ((unsigned char)c >= 0x80) goto bad;
    if (c == '\\') {
      if (i + 1 >= len) goto bad;
      tk[n++] = (struct tok){ .t = T_LIT, .c = (uint8_t)p[++i] };
    } else if (c == '*') {
      if (p[i + 1] == '*') {
        int at_start = i == 0 || p[i - 1] == '/';
        size_t j = i + 2;
        int at_end = j == len || p[j] == '/';
        if (at_start && at_end) {
          if (i == 0 && j == len) { tk[n++] = (struct tok){ .t = T_GS_ALL }; i = j; continue; }
          if (i == 0) { tk[n++] = (struct tok){ .t = T_GS_LEAD }; i = j; continue; }
          /* "x/STARSTAR" and "x/STARSTAR/y" absorb the separator before them: it must be a plain slash. */
          if (n == 0 || tk[n - 1].t != T_LIT || tk[n - 1].c != '/') goto bad;
          n--;
          if (j == len) { tk[n++] = (struct tok){ .t = T_GS_TRAIL }; i = j; continue; }
          tk[n++] = (struct tok){ .t = T_GS_MID };
          i = j;
          continue;
        }
        while (p[i + 1] == '*') i++;
      }
      int whole = (i == 0 || p[i - 1] == '/') && (i + 1 == len || p[i + 1] == '/');
      tk[n++] = (struct tok){ .t = T_STAR, .min = (uint8_t)whole };
    } else if (c == '?') {
      tk[n++] = (struct tok){ .t = T_QMARK };
    } else if (c == '[') {
      const char *e = i + 2 <= len ? strchr(p + i + 2, ']') : NULL;
      if (!e) goto bad;
      const char *b = p + i + 1;
      size_t bl = (size_t)(e - b);
      int neg = 0;
      if (bl && (b[0] == '!' || b[0] == '^')) { neg = 1; b++; bl--; }
      uint8_t *set = calloc(256, 1);
      if (!set) goto bad;
      for (size_t k = 0; k < bl; k++) {
        unsigned char lo = (unsigned char)b[k];
        if (lo >= 0x80 || lo == '\\' || lo == '[') { free(set); goto bad; }
        if (k + 2 < bl && b[k + 1] == '-') {
          unsigned char hi = (unsigned char)b[k + 2];
          if (hi >= 0x80 || hi < lo || hi == '\\' || hi == '[') { free(set); goto bad; }
          for (unsigned v = lo; v <= hi; v++) set[v] = 1;
          k += 2;
        } else set[lo] = 1;
      }
      tk[n++] = (struct tok){ .t = T_CLASS, .neg = (uint8_t)neg, .set = set };
      i = (size_t)(e - p);
    } else {
      tk[n++] = (struct tok){ .t = T_LIT, .c = (uint8_t)c };
    }
  }
  out->tk = tk;
  out->n = n;
  return 0;
bad:
  for (int k = 0; k < n; k++) free(tk[k].set);
  free(tk);
  return -1;
}

static long g_steps;

/* 1 match, 0 no match, -1 budget exceeded. */
static int m(const struct tok *t, int n, const char *s) {
  if (++g_steps > 100000) return -1;
  while (n > 0) {
    switch (t->t) {
      case T_LIT:
        if (*s != (char)t->c) return 0;
        s++; t++; n--;
        break;
      case T_QMARK:
        if (!*s || *s == '/') return 0;
        s++; t++; n--;
        break;
      case T_CLASS: {
        unsigned char c = (unsigned char)*s;
        if (!c || c == '/') return 0;
        if (t->set[c] == t->neg) return 0;
        s++; t++; n--;
        break;
      }
      case T_STAR: {
        size_t k = 0;
        while (s[k] && s[k] != '/') k++;
        for (size_t take = k + 1; take-- > t->min;) {
          int r = m(t + 1, n - 1, s + take);
          if (r) return r;
          if (take == 0) break;
        }
        return 0;
      }
      case T_GS_ALL:
        return 1;
      case T_GS_LEAD: { /* (?:.*\/)? rest */
        int r = m(t + 1, n - 1, s);
        if (r) return r;
        for (const char *q = s; *q; q++)
          if (*q == '/' && (r = m(t + 1, n - 1, q + 1))) return r;
        return 0;
      }
      case T_GS_MID: { /* (?:\/.*)?\/ rest */
        if (*s != '/') return 0;
        for (const char *q = s; *q; q++) {
          if (*q != '/') continue;
          int r = m(t + 1, n - 1, q + 1);
          if (r) return r;
        }
        return 0;
      }
      case T_GS_TRAIL: /* (?:\/.*)? at the end */
        return *s == 0 || *s == '/';
    }
  }
  return *s == 0;
}

void rules_add(uint32_t mask, int kind, int err, const char *const *pats, int npats) {
  g_rules = realloc(g_rules, (size_t)(g_nrules + 1) * sizeof *g_rules);
  if (!g_rules) die("out of memory");
  struct rule *r = &g_rules[g_nrules++];
  r->mask = mask;
  r->kind = kind;
  r->err = err;
  r->pats = calloc((size_t)npats, sizeof *r->pats);
  r->npats = 0;
  r->partial = 0;
  for (int i = 0; i < npats; i++) {
    if (tokenize(pats[i], &r->pats[r->npats]) < 0) { r->partial = 1; continue; }
    r->npats++;
  }
  g_native_rules = 1;
}

void rules_default(int kind, int err) {
  g_def_kind = kind;
  g_def_err = err;
  g_native_rules = 1;
}

/* One op bit: the first rule (file order) covering it whose pattern matches. */
static int decide_bit(uint32_t bit, const char *path, int *err) {
  for (int i = 0; i < g_nrules; i++) {
    struct rule *r = &g_rules[i];
    if (!(r->mask & bit)) continue;
    int hit = 0;
    for (int k = 0; k < r->npats && !hit; k++) {
      g_steps = 0;
      int x = m(r->pats[k].tk, r->pats[k].n, path);
      if (x < 0) return RK_ASK;
      hit = x;
    }
    /* A rule with an untokenizable pattern may match through it: only Node can tell. */
    if (!hit && r->partial) return RK_ASK;
    if (hit) { *err = r->err; return r->kind; }
  }
  *err = g_def_err;
  return g_def_kind;
}

int rules_decide(uint32_t ops, const char *path, int *err) {
  /* "/" itself: the engine's fast paths and its regexes disagree on it (globstar and whole-segment star forms);
   * Node's answer is the reference. */
  if (!g_native_rules || !ops || path[0] != '/' || path[1] == 0) return RK_ASK;
  for (const char *q = path; *q; q++) if ((unsigned char)*q >= 0x80) return RK_ASK;
  int deny_err = 0, denied = 0;
  for (int b = 0; b < 32; b++) {
    uint32_t bit = 1u << b;
    if (!(ops & bit)) continue;
    int e = 0, k = decide_bit(bit, path, &e);
    if (k == RK_ASK) return RK_ASK;
    if (k == RK_DENY && !denied) { denied = 1; deny_err = e; }
  }
  *err = deny_err;
  return denied ? RK_DENY : RK_ALLOW;
}

/* ---------------- Landlock READ_DIR grants, as the supervisor knows them ----------------
 * The read fast path (src/sandbox/read-fastpath.ts) grants Landlock READ_DIR only on trees
 * where the policy allows `list` for the tree and everything beneath it. An O_DIRECTORY open is
 * still trapped (a directory outside every grant may be allowed by a rule Landlock cannot
 * express); when the supervisor finds the object inside a grant, Landlock holds the boundary and
 * the open continues in the kernel (notify.c). grants_cover() is only a prediction of what
 * Landlock will allow: if the object changes before the kernel re-walks the path, Landlock still
 * decides on the object it finds, so a wrong prediction costs completeness (an EACCES the
 * policy would not have given), never soundness. Canonical paths, as sent in the spec. */
struct gent { uint32_t h, len; const char *p; };
static struct gent *g_grants; /* open addressing, at most half full */
static uint32_t g_gcap, g_ngrants;
static int g_grant_root;

static uint32_t fnv_step(uint32_t h, uint8_t c) { return (h ^ c) * 16777619u; }

static void grant_put(struct gent e) {
  uint32_t i = e.h & (g_gcap - 1);
  while (g_grants[i].p) i = (i + 1) & (g_gcap - 1);
  g_grants[i] = e;
}

void grants_add(const char *path) {
  size_t len = strlen(path);
  if (path[0] != '/' || len >= PATH_MAX_GRANT) return;
  if (len == 1) { g_grant_root = 1; return; }
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < len; i++) h = fnv_step(h, (uint8_t)path[i]);
  for (uint32_t i = g_gcap ? h & (g_gcap - 1) : 0; g_gcap && g_grants[i].p; i = (i + 1) & (g_gcap - 1))
    if (g_grants[i].h == h && g_grants[i].len == len && memcmp(g_grants[i].p, path, len) == 0) return;
  if (2 * (g_ngrants + 1) > g_gcap) {
    struct gent *old = g_grants;
    uint32_t oc = g_gcap;
    g_gcap = oc ? 2 * oc : 1024;
    g_grants = calloc(g_gcap, sizeof *g_grants);
    if (!g_grants) die("out of memory");
    for (uint32_t i = 0; i < oc; i++) if (old[i].p) grant_put(old[i]);
    free(old);
  }
  grant_put((struct gent){ h, (uint32_t)len, path });
  g_ngrants++;
}

static int grant_has(uint32_t h, const char *p, size_t len) {
  for (uint32_t i = h & (g_gcap - 1); g_grants[i].p; i = (i + 1) & (g_gcap - 1))
    if (g_grants[i].h == h && g_grants[i].len == len && memcmp(g_grants[i].p, p, len) == 0) return 1;
  return 0;
}

/* 1 when path (canonical) is a grant or lies beneath one. One pass: the hash of each prefix
 * that ends at a component boundary is looked up as it is computed. */
int grants_cover(const char *path) {
  if (g_grant_root) return 1;
  if (path[0] != '/' || !g_ngrants) return 0;
  uint32_t h = fnv_step(2166136261u, '/');
  size_t i = 1;
  for (; path[i]; i++) {
    if (path[i] == '/' && grant_has(h, path, i)) return 1;
    h = fnv_step(h, (uint8_t)path[i]);
  }
  return i > 1 && grant_has(h, path, i);
}
