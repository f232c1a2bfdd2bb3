/*
 * guard_eval.c — qunbot-guard-eval: precision and recall of a guard configuration (rule
 * packs + policy) on labelled messages (JSONL: {"id", "text", "label": "ad"|"normal"}).
 *
 * Each row is an ordinary group text message from a fresh sender, with the flood, repeat
 * and repost rules off (the data has no senders or times). A row counts as flagged when an
 * enforced rule would recall it (strike or recall). The held-out split is the one the
 * model trainer never sees: (id * 2654435761 mod 2^32) % 5 == 0 (tests/data/guard-eval/).
 * Prints the four counts, precision, recall, the hits per rule, and the false positives
 * and false negatives with their ids, for people to read. Exit 1 when --min-precision or
 * --min-recall is not met (the test suite uses this), 2 on bad usage or data.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"
#include "util/util.h"

enum split { SPLIT_HELDOUT, SPLIT_TRAIN, SPLIT_ALL };

struct opts {
    const char *packs[8];
    size_t n_packs;
    const char *data[8];
    size_t n_data;
    enum split split;
    double threshold; /* < 0: the default */
    double min_precision, min_recall;
    bool quiet; /* no FP/FN lists */
};

struct rule_count {
    char id[QB_RULE_ID_MAX];
    int tp, fp;
};

struct tally {
    int tp, fp, fn, tn;
    struct rule_count rules[64];
    size_t n_rules;
    struct qb_buf fps, fns;
};

static bool held_out(long long id)
{
    return ((uint32_t)((uint64_t)id * 2654435761u) % 5) == 0;
}

static void count_rule(struct tally *t, const char *id, bool is_ad)
{
    size_t i = 0;
    while (i < t->n_rules && strcmp(t->rules[i].id, id))
        i++;
    if (i == t->n_rules) {
        if (t->n_rules == sizeof t->rules / sizeof t->rules[0])
            return;
        qb_strlcpy(t->rules[t->n_rules++].id, id, QB_RULE_ID_MAX);
    }
    if (is_ad)
        t->rules[i].tp++;
    else
        t->rules[i].fp++;
}

/* Evaluate one row; returns true if the configuration flags it. */
static bool flags(struct qb_ruleset *rs, const struct qb_rules_policy *pol, long long id,
                  const char *text, struct tally *t, bool is_ad, char *why, size_t whylen)
{
    struct qb_msg m;
    qb_msg_init(&m);
    qb_msg_text(&m, text);
    qb_msg_finish(&m);
    char user[32];
    snprintf(user, sizeof user, "eval-%lld", id);
    struct qb_rules_input in = {.msg = &m, .group_id = "eval", .user_id = user, .now_ms = 0};
    struct qb_rules_hit hits[16];
    size_t n = qb_ruleset_eval(rs, pol, &in, hits, 16);
    bool flagged = false;
    why[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (hits[i].mode != QB_MODE_ENFORCE ||
            (hits[i].action != QB_RACT_STRIKE && hits[i].action != QB_RACT_RECALL))
            continue;
        if (!flagged && snprintf(why, whylen, "%s: %s", hits[i].rule_id, hits[i].evidence) < 0)
            why[0] = '\0';
        flagged = true;
        count_rule(t, hits[i].rule_id, is_ad);
    }
    qb_msg_clear(&m);
    return flagged;
}

static void add_row(struct tally *t, bool is_ad, bool flagged, long long id, const char *text,
                    const char *why)
{
    if (is_ad && flagged)
        t->tp++;
    else if (!is_ad && flagged)
        t->fp++;
    else if (is_ad)
        t->fn++;
    else
        t->tn++;
    if (is_ad == flagged)
        return;
    struct qb_buf *b = flagged ? &t->fps : &t->fns;
    char one[240];
    qb_strlcpy(one, text, sizeof one);
    for (char *p = one; *p; p++)
        if (*p == '\n' || *p == '\t')
            *p = ' ';
    qb_buf_printf(b, "  %6lld  %s%s%s\n", id, one, why[0] ? "    ← " : "", why);
}

static int run_file(const char *path, struct qb_ruleset *rs, const struct qb_rules_policy *pol,
                    enum split split, struct tally *t)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "qunbot-guard-eval: cannot read %s\n", path);
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    int lineno = 0, rc = 0;
    while (getline(&line, &cap, f) > 0) {
        lineno++;
        cJSON *row = cJSON_Parse(line);
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(row, "id");
        const cJSON *text = cJSON_GetObjectItemCaseSensitive(row, "text");
        const cJSON *label = cJSON_GetObjectItemCaseSensitive(row, "label");
        if (!cJSON_IsNumber(id) || !cJSON_IsString(text) || !cJSON_IsString(label)) {
            fprintf(stderr, "qunbot-guard-eval: %s:%d: not a {\"id\", \"text\", \"label\"} row\n",
                    path, lineno);
            cJSON_Delete(row);
            rc = -1;
            break;
        }
        long long rid = (long long)id->valuedouble;
        bool ho = held_out(rid);
        if (split == SPLIT_ALL || (split == SPLIT_HELDOUT) == ho) {
            bool is_ad = !strcmp(label->valuestring, "ad");
            char why[256];
            bool fl = flags(rs, pol, rid, text->valuestring, t, is_ad, why, sizeof why);
            add_row(t, is_ad, fl, rid, text->valuestring, why);
        }
        cJSON_Delete(row);
    }
    free(line);
    fclose(f);
    return rc;
}

static void ratio(const char *name, int num, int den)
{
    if (den == 0)
        printf("%-10s n/a\n", name);
    else
        printf("%-10s %.3f  (%d/%d)\n", name, (double)num / den, num, den);
}

static void report(const struct opts *o, const struct qb_rules_policy *pol, struct tally *t)
{
    static const char *const split_names[] = {"held-out (20 %)", "training (80 %)", "all rows"};
    printf("qunbot-guard-eval — qunbot %s\n", QB_VERSION);
    for (size_t i = 0; i < o->n_packs; i++)
        printf("pack       %s\n", o->packs[i]);
    printf("policy     defaults, model threshold %.2f; flood/repeat/repost rules off\n",
           pol->model_threshold);
    printf("split      %s\n", split_names[o->split]);
    printf("counts     TP %d  FP %d  FN %d  TN %d\n", t->tp, t->fp, t->fn, t->tn);
    ratio("precision", t->tp, t->tp + t->fp);
    ratio("recall", t->tp, t->tp + t->fn);
    printf("\nhits per rule (on ads / on normal messages):\n");
    for (size_t i = 0; i < t->n_rules; i++)
        printf("  %-16s %4d / %d\n", t->rules[i].id, t->rules[i].tp, t->rules[i].fp);
    if (o->quiet)
        return;
    printf("\nfalse positives (normal messages the guard would act on):\n%s",
           t->fps.p ? t->fps.p : "  none\n");
    printf("\nfalse negatives (ads the guard lets through):\n%s", t->fns.p ? t->fns.p : "  none\n");
}

static int parse(int argc, char **argv, struct opts *o)
{
    memset(o, 0, sizeof *o);
    o->threshold = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--quiet")) {
            o->quiet = true;
            continue;
        }
        if (!v) {
            fprintf(stderr, "qunbot-guard-eval: %s needs a value\n", a);
            return -1;
        }
        i++;
        if (!strcmp(a, "--pack") && o->n_packs < 8)
            o->packs[o->n_packs++] = v;
        else if (!strcmp(a, "--data") && o->n_data < 8)
            o->data[o->n_data++] = v;
        else if (!strcmp(a, "--split"))
            o->split = !strcmp(v, "train") ? SPLIT_TRAIN
                       : !strcmp(v, "all") ? SPLIT_ALL
                                           : SPLIT_HELDOUT;
        else if (!strcmp(a, "--threshold"))
            o->threshold = atof(v);
        else if (!strcmp(a, "--min-precision"))
            o->min_precision = atof(v);
        else if (!strcmp(a, "--min-recall"))
            o->min_recall = atof(v);
        else {
            fprintf(stderr,
                    "qunbot-guard-eval: unknown option %s\n"
                    "usage: qunbot-guard-eval [--pack FILE]... [--data FILE.jsonl]...\n"
                    "       [--split heldout|train|all] [--threshold P] [--quiet]\n"
                    "       [--min-precision P] [--min-recall R]\n",
                    a);
            return -1;
        }
    }
    if (!o->n_packs)
        o->packs[o->n_packs++] = "rules/packs/default.json";
    if (!o->n_data) {
        o->data[o->n_data++] = "tests/data/guard-eval/qq-group-mc.jsonl";
        o->data[o->n_data++] = "tests/data/guard-eval/evasion.jsonl";
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct opts o;
    if (parse(argc, argv, &o))
        return 2;
    struct qb_ruleset *rs = NULL;
    char err[512];
    if (qb_ruleset_load(o.packs, o.n_packs, &rs, err, sizeof err) != QB_OK) {
        fprintf(stderr, "qunbot-guard-eval: %s\n", err);
        return 2;
    }
    struct qb_rules_policy pol;
    qb_rules_policy_defaults(&pol);
    pol.flood_count = 0;
    pol.sticker_flood = 0;
    pol.dup_window_ms = 0;
    pol.repost_min_chars = 0;
    if (o.threshold >= 0)
        pol.model_threshold = o.threshold;
    struct tally t = {0};
    int rc = 0;
    for (size_t i = 0; i < o.n_data && rc == 0; i++)
        rc = run_file(o.data[i], rs, &pol, o.split, &t);
    if (rc == 0) {
        report(&o, &pol, &t);
        double p = t.tp + t.fp ? (double)t.tp / (t.tp + t.fp) : 0;
        double r = t.tp + t.fn ? (double)t.tp / (t.tp + t.fn) : 0;
        if (p < o.min_precision || r < o.min_recall) {
            printf("\nBELOW THE REQUIRED FIGURES: precision %.3f (min %.3f), recall %.3f (min "
                   "%.3f)\n",
                   p, o.min_precision, r, o.min_recall);
            rc = 1;
        }
    } else {
        rc = 2;
    }
    qb_buf_free(&t.fps);
    qb_buf_free(&t.fns);
    qb_ruleset_free(rs);
    return rc;
}
