/*
 * guard_train.c — qunbot-guard-train: trains the statistical ad score (rules/nb.c) from
 * labelled JSONL rows ({"id", "text", "label": "ad"|"normal"}) and writes the model pack.
 *
 * Trains only on the training split; a row is held out when
 * (id * 2654435761 mod 2^32) % 5 == 0 (the rule qunbot-guard-eval uses too). Then it loads
 * the written model with qb_nb_load and prints precision, recall, F1 and the confusion
 * counts of the model alone on the held-out rows at thresholds 0.5, 0.7 and 0.9.
 * N-grams are extracted exactly as qb_nb_score does (same order, same cap): keep them in step.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <qunbot/qunbot.h>

#include "rules.h"
#include "util/util.h"

#define MAX_DATA   16
#define MAX_NGRAMS 4096 /* per message, as NB_MAX_NGRAMS in rules/nb.c */
#define MAX_LINE   (1u << 20)

struct row {
    long long id;
    char *text; /* as given, owned */
    char *norm; /* normalised text, owned */
    size_t norm_len;
    bool ad;
    bool held;
    int file; /* index into opts.data */
};

struct rows {
    struct row *v;
    size_t n, cap;
};

struct opts {
    const char *data[MAX_DATA];
    size_t n_data;
    const char *out;
    int min_count;
    double alpha;
    int doc_grams; /* length normalisation of training messages, 0 = off */
    bool show;     /* list the held-out rows the model gets wrong at 0.9 */
};

/* ------------------------------------------------------------------ n-gram counts */

struct gram {
    uint64_t key;  /* packed bytes as in rules/nb.c; 0 = empty */
    uint32_t seen; /* occurrences, for pruning */
    double c[2];   /* weighted counts: [0] normal, [1] ad */
};

struct counts {
    struct gram *v;
    size_t n, mask;
    double total[2]; /* weighted n-grams per class */
    size_t docs[2];
};

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

static size_t slot_of(uint64_t k, size_t mask)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    return (size_t)k & mask;
}

static int counts_grow(struct counts *c)
{
    size_t cap = c->v ? (c->mask + 1) * 2 : 4096;
    struct gram *nv = calloc(cap, sizeof *nv);
    if (!nv)
        return QB_ENOMEM;
    for (size_t i = 0; c->v && i <= c->mask; i++) {
        if (!c->v[i].key)
            continue;
        size_t j = slot_of(c->v[i].key, cap - 1);
        while (nv[j].key)
            j = (j + 1) & (cap - 1);
        nv[j] = c->v[i];
    }
    free(c->v);
    c->v = nv;
    c->mask = cap - 1;
    return QB_OK;
}

static int counts_add(struct counts *c, uint64_t k, int cls, double wt)
{
    if (!k)
        return QB_OK;
    if ((!c->v || (c->n + 1) * 2 > c->mask + 1) && counts_grow(c) != QB_OK)
        return QB_ENOMEM;
    size_t i = slot_of(k, c->mask);
    while (c->v[i].key && c->v[i].key != k)
        i = (i + 1) & c->mask;
    if (!c->v[i].key) {
        c->v[i].key = k;
        c->n++;
    }
    c->v[i].seen++;
    c->v[i].c[cls] += wt;
    c->total[cls] += wt;
    return QB_OK;
}

/* As next_gram in rules/nb.c: one character, or a run of ASCII digits as "0". */
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

/* Every 1-gram, then the 2-gram ending at it, as qb_nb_score walks the text; fn (if not
 * NULL) gets each key. Returns the number of n-grams. */
static size_t walk(const char *norm, size_t len, int (*fn)(uint64_t key, void *ud), void *ud)
{
    size_t grams = 0, plen = 0;
    uint64_t pkey = 0;
    for (size_t i = 0; i < len && grams < MAX_NGRAMS;) {
        uint64_t k;
        size_t klen;
        i = next_gram(norm, len, i, &k, &klen);
        if (fn && fn(k, ud) != QB_OK)
            return 0;
        grams++;
        if (plen && grams < MAX_NGRAMS) {
            if (fn && fn(pkey | k << (8 * plen), ud) != QB_OK)
                return 0;
            grams++;
        }
        pkey = k;
        plen = klen;
    }
    return grams;
}

struct add_ctx {
    struct counts *c;
    int cls;
    double wt;
    int rc;
};

static int add_one(uint64_t key, void *ud)
{
    struct add_ctx *a = ud;
    a->rc = counts_add(a->c, key, a->cls, a->wt);
    return a->rc;
}

/* Count one message. A message with more than doc_grams n-grams counts as doc_grams in all
 * (each n-gram weighs doc_grams / n): a few 500-character cheat adverts must not decide
 * what every digit and date means, and the guard mostly sees short messages. */
static int count_text(struct counts *c, const char *norm, size_t len, int cls, int doc_grams)
{
    size_t n = walk(norm, len, NULL, NULL);
    struct add_ctx a = {c, cls, 1.0, QB_OK};
    if (doc_grams > 0 && n > (size_t)doc_grams)
        a.wt = (double)doc_grams / (double)n;
    walk(norm, len, add_one, &a);
    if (a.rc != QB_OK)
        return a.rc;
    c->docs[cls]++;
    return QB_OK;
}

/* ------------------------------------------------------------------ data */

static bool held_out(long long id)
{
    return ((uint32_t)((uint64_t)id * 2654435761u) % 5) == 0;
}

static int rows_push(struct rows *rs, const struct row *r)
{
    if (rs->n == rs->cap) {
        size_t cap = rs->cap ? rs->cap * 2 : 1024;
        struct row *nv = realloc(rs->v, cap * sizeof *nv);
        if (!nv)
            return QB_ENOMEM;
        rs->v = nv;
        rs->cap = cap;
    }
    rs->v[rs->n++] = *r;
    return QB_OK;
}

static void rows_free(struct rows *rs)
{
    for (size_t i = 0; i < rs->n; i++) {
        free(rs->v[i].text);
        free(rs->v[i].norm);
    }
    free(rs->v);
}

/* One JSONL row into r; false with a reason when it is not {"id", "text", "label"}. */
static bool parse_row(const char *line, struct row *r, const char **why)
{
    cJSON *j = cJSON_Parse(line);
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "id");
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(j, "text");
    const cJSON *label = cJSON_GetObjectItemCaseSensitive(j, "label");
    bool ok = false;
    *why = "not a JSON object with \"id\", \"text\" and \"label\"";
    if (cJSON_IsNumber(id) && cJSON_IsString(text) && cJSON_IsString(label)) {
        bool ad = !strcmp(label->valuestring, "ad");
        if (!ad && strcmp(label->valuestring, "normal") != 0) {
            *why = "label must be \"ad\" or \"normal\"";
        } else {
            r->id = (long long)id->valuedouble;
            r->ad = ad;
            r->held = held_out(r->id);
            r->text = qb_strdup(text->valuestring);
            r->norm =
                    qb_rules_normalize(text->valuestring, strlen(text->valuestring), &r->norm_len);
            ok = r->norm != NULL && r->text != NULL;
            if (!ok) {
                free(r->text);
                free(r->norm);
            }
            *why = ok ? NULL : "out of memory";
        }
    }
    cJSON_Delete(j);
    return ok;
}

static int read_data(const char *path, int file, struct rows *rs)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "qunbot-guard-train: cannot open %s: %s\n", path, strerror(errno));
        return QB_EIO;
    }
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t got;
    int rc = QB_OK;
    while (rc == QB_OK && (got = getline(&line, &cap, f)) >= 0) {
        lineno++;
        if (got == 0 || line[0] == '\n')
            continue;
        struct row r = {.file = file};
        const char *why = NULL;
        if ((size_t)got > MAX_LINE) {
            why = "line too long";
            rc = QB_EPARSE;
        } else if (!parse_row(line, &r, &why)) {
            rc = QB_EPARSE;
        } else if (rows_push(rs, &r) != QB_OK) {
            free(r.text);
            free(r.norm);
            why = "out of memory";
            rc = QB_ENOMEM;
        }
        if (rc != QB_OK)
            fprintf(stderr, "qunbot-guard-train: %s:%zu: %s\n", path, lineno, why);
    }
    free(line);
    fclose(f);
    return rc;
}

/* ------------------------------------------------------------------ the model file */

static void put_escaped(FILE *f, const char *g, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)g[i];
        if (c == '\\')
            fputs("\\\\", f);
        else if (c == '\t')
            fputs("\\t", f);
        else if (c == '\n')
            fputs("\\n", f);
        else if (c == '\r')
            fputs("\\r", f);
        else if (c < 0x20 || c == 0x7f || (i == 0 && c == '#'))
            fprintf(f, "\\x%02x", c);
        else
            fputc(c, f);
    }
}

static int cmp_gram(const void *a, const void *b)
{
    char ga[9], gb[9];
    unpack_key(((const struct gram *)a)->key, ga);
    unpack_key(((const struct gram *)b)->key, gb);
    return strcmp(ga, gb);
}

/* Laplace-smoothed log-likelihood ratio log P(g|ad) - log P(g|normal). */
static double llr(const struct counts *c, double ca, double cn, double alpha)
{
    double v = (double)c->n;
    double pa = (ca + alpha) / (c->total[1] + alpha * v);
    double pn = (cn + alpha) / (c->total[0] + alpha * v);
    return log(pa) - log(pn);
}

static int write_model(const struct opts *o, struct counts *c, size_t *kept)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", o->out);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        fprintf(stderr, "qunbot-guard-train: cannot write %s: %s\n", tmp, strerror(errno));
        return QB_EIO;
    }
    /* Compact the table into a sorted array so the file is stable between runs. */
    struct gram *v = c->v;
    size_t n = 0;
    for (size_t i = 0; i <= c->mask; i++)
        if (v[i].key)
            v[n++] = v[i];
    qsort(v, n, sizeof *v, cmp_gram);
    double prior = log((double)c->docs[1] / (double)c->docs[0]);
    fprintf(f,
            "qunbot-nb 1\n"
            "# qunbot ad model: multinomial naive Bayes over character 1- and 2-grams of\n"
            "# normalised text. Written by qunbot-guard-train; do not edit by hand.\n"
            "# Trained on %zu ad and %zu normal rows of tests/data/guard-eval/ (rows with\n"
            "# (id * 2654435761 mod 2^32) %% 5 == 0 held out), Laplace alpha %g, messages\n"
            "# longer than %d n-grams weighted down to that length, n-grams seen fewer\n"
            "# than %d times pruned. A run of digits is the one character 0.\n",
            c->docs[1], c->docs[0], o->alpha, o->doc_grams, o->min_count);
    /* An n-gram the model does not list (never seen, or pruned) counts as no evidence
     * either way: Laplace's zero-count ratio would push every long unusual message towards
     * "ad" and cost precision on the held-out rows. */
    fprintf(f, "prior %.4f\nunknown 0\n", prior);
    *kept = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i].seen < (uint32_t)o->min_count)
            continue;
        char g[9];
        size_t glen = unpack_key(v[i].key, g);
        put_escaped(f, g, glen);
        fprintf(f, "\t%.3f\n", llr(c, v[i].c[1], v[i].c[0], o->alpha));
        (*kept)++;
    }
    int bad = ferror(f);
    if (fclose(f) != 0 || bad || rename(tmp, o->out) != 0) {
        fprintf(stderr, "qunbot-guard-train: cannot write %s: %s\n", o->out, strerror(errno));
        remove(tmp);
        return QB_EIO;
    }
    return QB_OK;
}

/* ------------------------------------------------------------------ evaluation */

struct confusion {
    size_t tp, fp, fn, tn;
};

static void print_ratio(const char *name, size_t num, size_t den)
{
    if (den)
        printf("  %s %.3f", name, (double)num / (double)den);
    else
        printf("  %s n/a  ", name);
}

static void print_row(double th, const struct confusion *k)
{
    printf("  %.1f", th);
    print_ratio("precision", k->tp, k->tp + k->fp);
    print_ratio("recall", k->tp, k->tp + k->fn);
    if (2 * k->tp + k->fp + k->fn)
        printf("  F1 %.3f", 2.0 * (double)k->tp / (double)(2 * k->tp + k->fp + k->fn));
    else
        printf("  F1 n/a");
    printf("   TP %zu FP %zu FN %zu TN %zu\n", k->tp, k->fp, k->fn, k->tn);
}

/* Held-out rows of one file (file >= 0) or of all files (file < 0). */
static void evaluate(const struct qb_nb *m, const struct rows *rs, int file)
{
    static const double th[] = {0.5, 0.7, 0.9};
    struct confusion k[3] = {{0, 0, 0, 0}};
    for (size_t i = 0; i < rs->n; i++) {
        const struct row *r = &rs->v[i];
        if (!r->held || (file >= 0 && r->file != file))
            continue;
        double p = qb_nb_score(m, r->norm, r->norm_len, NULL, 0);
        for (size_t t = 0; t < 3; t++) {
            bool flag = p >= th[t];
            if (flag)
                *(r->ad ? &k[t].tp : &k[t].fp) += 1;
            else
                *(r->ad ? &k[t].fn : &k[t].tn) += 1;
        }
    }
    for (size_t t = 0; t < 3; t++)
        print_row(th[t], &k[t]);
}

/* The held-out rows the model gets wrong at the 0.9 threshold, with their evidence. */
static void show_errors(const struct qb_nb *m, const struct rows *rs)
{
    printf("held-out rows wrong at 0.9 (FP = chat flagged, FN = ad missed):\n");
    for (size_t i = 0; i < rs->n; i++) {
        const struct row *r = &rs->v[i];
        if (!r->held)
            continue;
        char why[96];
        double p = qb_nb_score(m, r->norm, r->norm_len, why, sizeof why);
        char text[121];
        qb_strlcpy(text, r->text, sizeof text); /* cut at a character boundary */
        if ((p >= 0.9) != r->ad)
            printf("  %s %lld %.3f [%s] %s\n", r->ad ? "FN" : "FP", r->id, p, why, text);
    }
}

/* ------------------------------------------------------------------ main */

static int usage(void)
{
    fprintf(stderr, "usage: qunbot-guard-train --data FILE.jsonl [--data FILE.jsonl]... --out "
                    "MODEL.nb [--min-count N] [--alpha A] [--doc-grams N] [--show]\n"
                    "Trains the ad model on the training split and prints its figures on the "
                    "held-out rows.\n");
    return 2;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
    o->min_count = 2;
    o->alpha = 1.0;
    o->doc_grams = 80;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--show")) {
            o->show = true;
            continue;
        }
        if (i + 1 >= argc)
            return usage();
        const char *v = argv[++i];
        if (!strcmp(a, "--data") && o->n_data < MAX_DATA) {
            o->data[o->n_data++] = v;
        } else if (!strcmp(a, "--out")) {
            o->out = v;
        } else if (!strcmp(a, "--min-count")) {
            o->min_count = atoi(v);
        } else if (!strcmp(a, "--doc-grams")) {
            o->doc_grams = atoi(v);
        } else if (!strcmp(a, "--alpha")) {
            o->alpha = strtod(v, NULL);
        } else {
            fprintf(stderr, "qunbot-guard-train: unknown or repeated option %s\n", a);
            return usage();
        }
    }
    if (!o->n_data || !o->out || o->min_count < 1 || !(o->alpha > 0))
        return usage();
    return 0;
}

static int train(const struct opts *o, const struct rows *rs, struct counts *c)
{
    size_t held = 0;
    for (size_t i = 0; i < rs->n; i++) {
        const struct row *r = &rs->v[i];
        if (r->held) {
            held++;
            continue;
        }
        if (count_text(c, r->norm, r->norm_len, r->ad, o->doc_grams) != QB_OK) {
            fprintf(stderr, "qunbot-guard-train: out of memory\n");
            return 1;
        }
    }
    if (!c->docs[0] || !c->docs[1]) {
        fprintf(stderr, "qunbot-guard-train: the training rows need both \"ad\" and "
                        "\"normal\" labels\n");
        return 1;
    }
    size_t kept = 0;
    if (write_model(o, c, &kept) != QB_OK)
        return 1;
    printf("trained on %zu rows (%zu ad, %zu normal), %zu held out; %zu n-grams kept -> %s\n",
           c->docs[0] + c->docs[1], c->docs[1], c->docs[0], held, kept, o->out);
    return 0;
}

int main(int argc, char **argv)
{
    struct opts o = {.n_data = 0};
    int rc = parse_args(argc, argv, &o);
    if (rc)
        return rc;
    struct rows rs = {NULL, 0, 0};
    for (size_t i = 0; i < o.n_data && rc == 0; i++)
        rc = read_data(o.data[i], (int)i, &rs) == QB_OK ? 0 : 1;
    struct counts c = {NULL, 0, 0, {0, 0}, {0, 0}};
    if (rc == 0)
        rc = train(&o, &rs, &c);
    free(c.v);
    struct qb_nb *m = NULL;
    char err[256];
    if (rc == 0 && qb_nb_load(o.out, &m, err, sizeof err) != QB_OK) {
        fprintf(stderr, "qunbot-guard-train: the written model does not load: %s\n", err);
        rc = 1;
    }
    if (rc == 0) {
        printf("held-out split, model alone (threshold, precision, recall, F1, counts):\n");
        evaluate(m, &rs, -1);
        for (size_t i = 0; i < o.n_data && o.n_data > 1; i++) {
            printf("held-out rows of %s:\n", o.data[i]);
            evaluate(m, &rs, (int)i);
        }
        if (o.show)
            show_errors(m, &rs);
    }
    qb_nb_free(m);
    rows_free(&rs);
    return rc;
}
