/*
 * nb.c — the statistical ad score: a multinomial naive Bayes model over character 1- and
 * 2-grams (code points) of normalised text, loaded from a text rule pack (ad-model.nb).
 *
 * Owns the parsed model (an open-addressing table of n-gram → log-likelihood ratio). The
 * score is the logistic of prior + Σ weights, so it is an explainable sum. Bounded work: at
 * most NB_MAX_NGRAMS n-grams of a message are counted, no allocation while scoring. Must
 * not print or log; tools/guard/guard_train.c writes the files and must extract n-grams the
 * same way (same cap, same order).
 *
 * File format (UTF-8, LF):
 *   qunbot-nb 1            version header, first line
 *   # ...                  comments and empty lines are ignored
 *   prior <number>         log prior odds of "ad"
 *   unknown <number>       weight of an n-gram the model does not list (optional, default 0)
 *   <ngram>\t<number>      one n-gram (1–2 code points) and its weight
 * In n-grams, \\ \t \n \r and \xHH escape bytes (a leading '#' is written \x23).
 * A run of ASCII digits counts as the one character "0" (next_gram).
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <qunbot/qunbot.h>

#include "rules.h"
#include "util/util.h"

#define NB_HEADER      "qunbot-nb 1"
#define NB_MAX_NGRAMS  4096       /* n-grams counted per message */
#define NB_MAX_FILE    (8u << 20) /* refuse model files larger than this */
#define NB_MAX_ENTRIES (1u << 20) /* lines (so n-grams) per model */
#define NB_WHY_TOP     5          /* n-grams named in the evidence */
#define NB_MAX_WEIGHT  1e6        /* weights beyond this are nonsense */

struct qb_nb {
    double prior;
    double unknown;
    size_t n, mask;  /* entries used, table size - 1 (power of two) */
    uint64_t *keys;  /* packed n-gram bytes, 0 = empty slot */
    double *weights; /* parallel to keys */
};

/* ------------------------------------------------------------------ keys */

/* An n-gram is at most 2 code points = 8 bytes; normalised text holds no NUL, so the bytes
 * packed into 64 bits (first byte lowest) identify it exactly and are never 0. */
static uint64_t pack_key(const char *s, size_t len)
{
    uint64_t k = 0;
    for (size_t i = 0; i < len && i < 8; i++)
        k |= (uint64_t)(unsigned char)s[i] << (8 * i);
    return k;
}

static size_t unpack_key(uint64_t k, char *out)
{
    size_t n = 0;
    while (n < 8 && ((k >> (8 * n)) & 0xff))
        n++;
    for (size_t i = 0; i < n; i++)
        out[i] = (char)((k >> (8 * i)) & 0xff);
    out[n] = '\0';
    return n;
}

static size_t slot_of(uint64_t k, size_t mask)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ULL;
    k ^= k >> 33;
    return (size_t)k & mask;
}

/* Slot holding k, or the empty slot where it would go. The table is never full. */
static size_t find_slot(const struct qb_nb *m, uint64_t k)
{
    size_t i = slot_of(k, m->mask);
    while (m->keys[i] && m->keys[i] != k)
        i = (i + 1) & m->mask;
    return i;
}

static int table_init(struct qb_nb *m, size_t expect)
{
    size_t cap = 16;
    while (cap < expect * 2)
        cap <<= 1;
    m->keys = calloc(cap, sizeof *m->keys);
    m->weights = calloc(cap, sizeof *m->weights);
    if (!m->keys || !m->weights)
        return QB_ENOMEM;
    m->mask = cap - 1;
    return QB_OK;
}

/* Length of the UTF-8 sequence starting with byte c (1 for stray or invalid bytes). */
static size_t cp_len(unsigned char c)
{
    if (c >= 0xf0 && c < 0xf8)
        return 4;
    if (c >= 0xe0)
        return c < 0xf0 ? 3 : 1;
    if (c >= 0xc0)
        return 2;
    return 1;
}

/* The character at norm[i] as an n-gram key (*klen bytes); returns the position after it.
 * A run of ASCII digits is one character "0": which digits a number has says nothing (QQ
 * and phone numbers, @mentions), that there is a number does. */
static size_t next_gram(const char *norm, size_t len, size_t i, uint64_t *key, size_t *klen)
{
    if (norm[i] >= '0' && norm[i] <= '9') {
        while (i < len && norm[i] >= '0' && norm[i] <= '9')
            i++;
        *key = '0';
        *klen = 1;
        return i;
    }
    size_t cl = cp_len((unsigned char)norm[i]);
    if (cl > len - i)
        cl = len - i;
    *key = pack_key(norm + i, cl);
    *klen = cl;
    return i + cl;
}

/* ------------------------------------------------------------------ parsing */

static int fail(char *err, size_t errlen, size_t line, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, size_t line, const char *fmt, ...)
{
    if (err && errlen) {
        char msg[160];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        if (line)
            snprintf(err, errlen, "line %zu: %s", line, msg);
        else
            snprintf(err, errlen, "%s", msg);
    }
    return QB_EINVAL;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Unescape [s, s+len) into out (at most 8 bytes). Returns the length, or -1 when an escape
 * is malformed, -2 when the n-gram is longer than 8 bytes. */
static int unescape(const char *s, size_t len, char *out)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '\\') {
            if (++i >= len)
                return -1;
            switch (s[i]) {
            case '\\':
                c = '\\';
                break;
            case 't':
                c = '\t';
                break;
            case 'n':
                c = '\n';
                break;
            case 'r':
                c = '\r';
                break;
            case 'x': {
                int hi = i + 2 < len ? hexval(s[i + 1]) : -1;
                int lo = i + 2 < len ? hexval(s[i + 2]) : -1;
                if (hi < 0 || lo < 0 || (hi | lo) == 0)
                    return -1;
                c = (char)(hi * 16 + lo);
                i += 2;
                break;
            }
            default:
                return -1;
            }
        }
        if (n == 8)
            return -2;
        out[n++] = c;
    }
    return (int)n;
}

/* Number of code points in a valid UTF-8 string, or 0 when it is not valid. */
static size_t count_cps(const char *s, size_t len)
{
    if (!qb_utf8_valid(s, len))
        return 0;
    size_t n = 0;
    for (size_t i = 0; i < len; i += cp_len((unsigned char)s[i]))
        n++;
    return n;
}

/* Parse a whole-field number; false when it is not a finite number of sane size. */
static bool parse_num(const char *s, size_t len, double *out)
{
    char buf[64];
    if (!len || len >= sizeof buf)
        return false;
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *end;
    errno = 0;
    double v = strtod(buf, &end);
    if (end == buf || *end || errno || !isfinite(v) || fabs(v) > NB_MAX_WEIGHT)
        return false;
    *out = v;
    return true;
}

struct parse {
    struct qb_nb *m;
    bool have_prior, have_unknown;
    char *err;
    size_t errlen;
};

static int parse_keyword(struct parse *p, const char *s, size_t len, size_t line)
{
    bool prior = len > 6 && !memcmp(s, "prior ", 6);
    bool unknown = len > 8 && !memcmp(s, "unknown ", 8);
    if (!prior && !unknown)
        return fail(p->err, p->errlen, line,
                    "expected \"n-gram<TAB>weight\", \"prior <number>\" or "
                    "\"unknown <number>\" (missing tab?)");
    size_t skip = prior ? 6 : 8;
    bool *seen = prior ? &p->have_prior : &p->have_unknown;
    double *dst = prior ? &p->m->prior : &p->m->unknown;
    if (*seen)
        return fail(p->err, p->errlen, line, "\"%s\" is given twice", prior ? "prior" : "unknown");
    if (!parse_num(s + skip, len - skip, dst))
        return fail(p->err, p->errlen, line, "%s is not a number", prior ? "prior" : "unknown");
    *seen = true;
    return QB_OK;
}

static int parse_entry(struct parse *p, const char *s, size_t len, const char *tab, size_t line)
{
    char gram[9];
    int glen = unescape(s, (size_t)(tab - s), gram);
    if (glen == -1)
        return fail(p->err, p->errlen, line,
                    "bad escape in the n-gram (use \\\\ \\t \\n \\r \\xHH)");
    if (glen == -2 || (glen > 0 && count_cps(gram, (size_t)glen) > 2))
        return fail(p->err, p->errlen, line, "n-gram longer than two characters");
    if (glen == 0)
        return fail(p->err, p->errlen, line, "empty n-gram");
    if (memchr(gram, '\0', (size_t)glen))
        return fail(p->err, p->errlen, line, "n-gram contains a NUL byte");
    if (!count_cps(gram, (size_t)glen))
        return fail(p->err, p->errlen, line, "n-gram is not valid UTF-8");
    double w;
    const char *num = tab + 1;
    if (!parse_num(num, (size_t)(s + len - num), &w))
        return fail(p->err, p->errlen, line, "weight is not a number");
    if (p->m->n >= NB_MAX_ENTRIES || p->m->n + 1 > (p->m->mask + 1) / 2)
        return fail(p->err, p->errlen, line, "too many n-grams");
    uint64_t k = pack_key(gram, (size_t)glen);
    size_t i = find_slot(p->m, k);
    if (p->m->keys[i])
        return fail(p->err, p->errlen, line, "n-gram listed twice");
    p->m->keys[i] = k;
    p->m->weights[i] = w;
    p->m->n++;
    return QB_OK;
}

static int parse_line(struct parse *p, const char *s, size_t len, size_t line)
{
    if (len && s[len - 1] == '\r')
        len--;
    if (line == 1) {
        if (len != strlen(NB_HEADER) || memcmp(s, NB_HEADER, len) != 0)
            return fail(p->err, p->errlen, line,
                        "not a qunbot ad model (the first line must be \"" NB_HEADER "\")");
        return QB_OK;
    }
    if (!len || s[0] == '#')
        return QB_OK;
    const char *tab = memchr(s, '\t', len);
    if (!tab)
        return parse_keyword(p, s, len, line);
    return parse_entry(p, s, len, tab, line);
}

/* Upper bound on the entries: the number of lines. */
static size_t count_lines(const char *text, size_t len)
{
    size_t n = 1;
    for (const char *q = text; (q = memchr(q, '\n', len - (size_t)(q - text))) != NULL; q++)
        n++;
    return n;
}

int qb_nb_parse(const char *text, size_t len, struct qb_nb **out, char *err, size_t errlen)
{
    if (!out)
        return QB_EINVAL;
    *out = NULL;
    if (err && errlen)
        err[0] = '\0';
    if (!text || !len)
        return fail(err, errlen, 0, "the model file is empty");
    size_t lines = count_lines(text, len);
    if (lines > NB_MAX_ENTRIES)
        return fail(err, errlen, 0, "the model has too many lines");
    struct qb_nb *m = calloc(1, sizeof *m);
    if (!m || table_init(m, lines) != QB_OK) {
        qb_nb_free(m);
        return QB_ENOMEM;
    }
    struct parse p = {.m = m, .err = err, .errlen = errlen};
    size_t line = 0, pos = 0;
    int rc = QB_OK;
    while (pos < len && rc == QB_OK) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len;
        rc = parse_line(&p, text + pos, end - pos, ++line);
        pos = end + 1;
    }
    if (rc == QB_OK && !p.have_prior)
        rc = fail(err, errlen, 0,
                  "the model has no \"prior\" line; retrain it with "
                  "qunbot-guard-train");
    if (rc != QB_OK) {
        qb_nb_free(m);
        return rc;
    }
    *out = m;
    return QB_OK;
}

int qb_nb_load(const char *path, struct qb_nb **out, char *err, size_t errlen)
{
    if (!path || !out)
        return QB_EINVAL;
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (err && errlen)
            snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return QB_EIO;
    }
    struct qb_buf b;
    qb_buf_init(&b);
    char chunk[8192];
    size_t got;
    int rc = QB_OK;
    while (rc == QB_OK && (got = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (b.len + got > NB_MAX_FILE)
            rc = QB_ETOOBIG;
        else
            rc = qb_buf_append(&b, chunk, got);
    }
    if (rc == QB_OK && ferror(f))
        rc = QB_EIO;
    fclose(f);
    if (rc == QB_ETOOBIG && err && errlen)
        snprintf(err, errlen, "%s is larger than %u MB; is it really a model?", path,
                 NB_MAX_FILE >> 20);
    else if (rc == QB_EIO && err && errlen)
        snprintf(err, errlen, "cannot read %s", path);
    if (rc == QB_OK)
        rc = qb_nb_parse(b.p, b.len, out, err, errlen);
    qb_buf_free(&b);
    return rc;
}

void qb_nb_free(struct qb_nb *m)
{
    if (!m)
        return;
    free(m->keys);
    free(m->weights);
    free(m);
}

/* ------------------------------------------------------------------ scoring */

struct why_top {
    uint64_t key[NB_WHY_TOP];
    double w[NB_WHY_TOP];
    size_t n;
};

/* Keep the NB_WHY_TOP distinct n-grams with the largest positive weights. */
static void why_note(struct why_top *t, uint64_t k, double w)
{
    if (w <= 0 || !k)
        return;
    for (size_t i = 0; i < t->n; i++)
        if (t->key[i] == k)
            return;
    size_t i = t->n < NB_WHY_TOP ? t->n++ : NB_WHY_TOP;
    if (i == NB_WHY_TOP) {
        if (w <= t->w[NB_WHY_TOP - 1])
            return;
        i = NB_WHY_TOP - 1;
    }
    while (i > 0 && t->w[i - 1] < w) {
        t->key[i] = t->key[i - 1];
        t->w[i] = t->w[i - 1];
        i--;
    }
    t->key[i] = k;
    t->w[i] = w;
}

static void why_write(const struct why_top *t, char *why, size_t whylen)
{
    size_t used = 0;
    why[0] = '\0';
    for (size_t i = 0; i < t->n; i++) {
        char g[9];
        size_t glen = unpack_key(t->key[i], g);
        size_t need = glen + (used ? 1 : 0);
        if (used + need + 1 > whylen)
            break;
        if (used)
            why[used++] = ' ';
        memcpy(why + used, g, glen + 1);
        used += glen;
    }
}

static double weight_of(const struct qb_nb *m, uint64_t k)
{
    size_t i = find_slot(m, k);
    return m->keys[i] ? m->weights[i] : m->unknown;
}

double qb_nb_score(const struct qb_nb *m, const char *norm, size_t len, char *why, size_t whylen)
{
    if (why && whylen)
        why[0] = '\0';
    if (!m)
        return 0.0;
    double sum = m->prior;
    struct why_top top = {.n = 0};
    size_t grams = 0, plen = 0;
    uint64_t pkey = 0;
    for (size_t i = 0; norm && i < len && grams < NB_MAX_NGRAMS;) {
        uint64_t k;
        size_t klen;
        i = next_gram(norm, len, i, &k, &klen);
        double w = weight_of(m, k);
        sum += w;
        why_note(&top, k, w);
        grams++;
        if (plen && grams < NB_MAX_NGRAMS) {
            uint64_t k2 = pkey | k << (8 * plen);
            w = weight_of(m, k2);
            sum += w;
            why_note(&top, k2, w);
            grams++;
        }
        pkey = k;
        plen = klen;
    }
    if (why && whylen)
        why_write(&top, why, whylen);
    return 1.0 / (1.0 + exp(-sum));
}
