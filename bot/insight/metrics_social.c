/*
 * metrics_social.c — who brings whom and who links whom: the invite tree with a referral
 * leaderboard (邀请排行), communities of the conversation graph by label propagation and the
 * bridge members between them (桥梁成员), and moderation counts by guard detector.
 *
 * Reads insight_members, insight_edges, insight_recalls and, when present, guard_hits and
 * guard_cases (missing tables: empty results). qb_insight_communities is pure (arrays in,
 * arrays out). Never writes or logs; the caller frees what is returned.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics_internal.h"

#define LEADERBOARD_MAX 50
#define TREE_MAX        500
#define BRIDGES_MAX     30
#define LP_ROUNDS       50
#define STAY_MS         (7 * INS_DAY_MS)

/* ------------------------------------------------------------------ invites */

static int leaderboard(sqlite3 *db, const char *group_id, const struct qb_insight_range *r,
                       struct qb_insight_invites *o, char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    int rc = ins_prepare(
            db,
            "SELECT t.inviter, COALESCE((SELECT MAX(i.name) FROM insight_members i WHERE"
            " i.group_id = ?1 AND i.user_id = t.inviter), ''), t.invited, t.stayed, t.gone FROM"
            " (SELECT m.inviter AS inviter, COUNT(*) AS invited,"
            " SUM(CASE WHEN m.joined_ms + ?4 <= ?3 AND (m.left_ms = 0 OR m.left_ms >="
            " m.joined_ms + ?4) THEN 1 ELSE 0 END) AS stayed,"
            " SUM(CASE WHEN m.left_ms > 0 AND m.left_ms < ?3 THEN 1 ELSE 0 END) AS gone"
            " FROM insight_members m WHERE m.group_id = ?1 AND m.inviter IS NOT NULL AND"
            " m.inviter <> '' AND m.inviter <> m.user_id AND m.joined_ms > 0 AND"
            " m.joined_ms < ?3 AND ?2 = ?2 GROUP BY m.inviter) t"
            " ORDER BY t.stayed DESC, t.invited DESC, t.inviter LIMIT 50",
            &st, err, errlen);
    if (rc != QB_OK)
        return rc;
    sqlite3_bind_text(st, 1, group_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, r->since_ms);
    sqlite3_bind_int64(st, 3, r->until_ms);
    sqlite3_bind_int64(st, 4, STAY_MS);
    o->leaderboard = calloc(LEADERBOARD_MAX, sizeof *o->leaderboard);
    if (!o->leaderboard) {
        sqlite3_finalize(st);
        return QB_ENOMEM;
    }
    while (o->n_leaderboard < LEADERBOARD_MAX && sqlite3_step(st) == SQLITE_ROW) {
        struct qb_insight_inviter *v = &o->leaderboard[o->n_leaderboard++];
        qb_id_set(v->user_id, (const char *)sqlite3_column_text(st, 0));
        snprintf(v->name, sizeof v->name, "%s", (const char *)sqlite3_column_text(st, 1));
        v->invited = sqlite3_column_int64(st, 2);
        v->stayed = sqlite3_column_int64(st, 3);
        v->left = sqlite3_column_int64(st, 4);
    }
    sqlite3_finalize(st);
    return QB_OK;
}

static int tree(sqlite3 *db, const char *group_id, const struct qb_insight_range *r,
                struct qb_insight_invites *o, char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    int rc = ins_prepare(db,
                         "SELECT inviter, user_id, COALESCE(name, ''), joined_ms, left_ms FROM"
                         " insight_members WHERE group_id = ?1 AND inviter IS NOT NULL AND"
                         " inviter <> '' AND inviter <> user_id AND joined_ms >= ?2 AND"
                         " joined_ms < ?3 ORDER BY inviter, joined_ms, user_id LIMIT 500",
                         &st, err, errlen);
    if (rc != QB_OK)
        return rc;
    sqlite3_bind_text(st, 1, group_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, r->since_ms);
    sqlite3_bind_int64(st, 3, r->until_ms);
    size_t cap = 0;
    while (o->n_tree < TREE_MAX && sqlite3_step(st) == SQLITE_ROW) {
        if (o->n_tree == cap) {
            cap = cap ? cap * 2 : 32;
            struct qb_insight_invitee *nv = realloc(o->tree, cap * sizeof *nv);
            if (!nv) {
                rc = QB_ENOMEM;
                break;
            }
            o->tree = nv;
        }
        struct qb_insight_invitee *v = &o->tree[o->n_tree++];
        memset(v, 0, sizeof *v);
        qb_id_set(v->inviter, (const char *)sqlite3_column_text(st, 0));
        qb_id_set(v->user_id, (const char *)sqlite3_column_text(st, 1));
        snprintf(v->name, sizeof v->name, "%s", (const char *)sqlite3_column_text(st, 2));
        v->joined_ms = sqlite3_column_int64(st, 3);
        int64_t left = sqlite3_column_int64(st, 4);
        v->left_ms = left > 0 && left < r->until_ms ? left : 0;
        if (v->joined_ms + STAY_MS > r->until_ms)
            v->stayed = -1;
        else
            v->stayed = v->left_ms == 0 || v->left_ms >= v->joined_ms + STAY_MS;
    }
    sqlite3_finalize(st);
    return rc;
}

int qb_insight_invites(sqlite3 *db, const char *group_id, const struct qb_insight_range *r,
                       struct qb_insight_invites *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    int rc = ins_check_args(db, group_id, r, err, errlen);
    if (rc == QB_OK)
        rc = leaderboard(db, group_id, r, out, err, errlen);
    if (rc == QB_OK)
        rc = tree(db, group_id, r, out, err, errlen);
    if (rc != QB_OK)
        qb_insight_invites_free(out);
    return rc;
}

void qb_insight_invites_free(struct qb_insight_invites *inv)
{
    if (!inv)
        return;
    free(inv->leaderboard);
    free(inv->tree);
    memset(inv, 0, sizeof *inv);
}

/* ------------------------------------------------------------------ communities (pure) */

/* The undirected graph as adjacency lists (CSR): node i's neighbours are
 * nb[off[i] .. off[i + 1]) with weights w. */
struct adj {
    size_t *off, *nb;
    double *w;
};

static void adj_free(struct adj *a)
{
    free(a->off);
    free(a->nb);
    free(a->w);
    memset(a, 0, sizeof *a);
}

static int adj_build(size_t n, const struct qb_insight_edge *e, size_t ne, struct adj *a)
{
    a->off = calloc(n + 1, sizeof *a->off);
    size_t slots = ne ? 2 * ne : 1;
    a->nb = malloc(slots * sizeof *a->nb);
    a->w = malloc(slots * sizeof *a->w);
    size_t *fill = calloc(n + 1, sizeof *fill);
    if (!a->off || !a->nb || !a->w || !fill) {
        free(fill);
        adj_free(a);
        return QB_ENOMEM;
    }
    for (size_t k = 0; k < ne; k++)
        if (e[k].src < n && e[k].dst < n && e[k].src != e[k].dst && e[k].w > 0)
            a->off[e[k].src + 1]++, a->off[e[k].dst + 1]++;
    for (size_t i = 0; i < n; i++)
        a->off[i + 1] += a->off[i];
    for (size_t k = 0; k < ne; k++) {
        size_t s = e[k].src, d = e[k].dst;
        if (s >= n || d >= n || s == d || !(e[k].w > 0))
            continue;
        size_t ps = a->off[s] + fill[s]++, pd = a->off[d] + fill[d]++;
        a->nb[ps] = d, a->w[ps] = e[k].w;
        a->nb[pd] = s, a->w[pd] = e[k].w;
    }
    free(fill);
    return QB_OK;
}

/* The label node i should take: highest total neighbour weight, ties the smallest label.
 * acc is a zeroed scratch array of n weights (left zeroed). */
static size_t best_label(const struct adj *a, size_t i, const size_t *label, double *acc)
{
    size_t best = label[i];
    double bw = 0;
    for (size_t k = a->off[i]; k < a->off[i + 1]; k++)
        acc[label[a->nb[k]]] += a->w[k];
    for (size_t k = a->off[i]; k < a->off[i + 1]; k++) {
        size_t l = label[a->nb[k]];
        if (acc[l] > bw || (acc[l] == bw && bw > 0 && l < best))
            best = l, bw = acc[l];
    }
    for (size_t k = a->off[i]; k < a->off[i + 1]; k++)
        acc[label[a->nb[k]]] = 0;
    return best;
}

/* Renumber labels 0.. by community size (largest first; ties: smallest first node). */
static size_t renumber(size_t n, size_t *label, size_t *size, size_t *first, size_t *order)
{
    for (size_t i = 0; i < n; i++)
        size[i] = 0, first[i] = SIZE_MAX;
    for (size_t i = 0; i < n; i++) {
        size[label[i]]++;
        if (first[label[i]] == SIZE_MAX)
            first[label[i]] = i;
    }
    size_t k = 0;
    for (size_t l = 0; l < n; l++)
        if (size[l])
            order[k++] = l;
    for (size_t i = 1; i < k; i++) /* insertion sort: stable and small enough */
        for (size_t j = i; j > 0; j--) {
            size_t x = order[j - 1], y = order[j];
            if (size[x] > size[y] || (size[x] == size[y] && first[x] < first[y]))
                break;
            order[j - 1] = y, order[j] = x;
        }
    for (size_t c = 0; c < k; c++)
        first[order[c]] = c; /* reuse: old label → new label */
    for (size_t i = 0; i < n; i++)
        label[i] = first[label[i]];
    return k;
}

size_t qb_insight_communities(size_t n, const struct qb_insight_edge *e, size_t ne, size_t *label)
{
    for (size_t i = 0; i < n; i++)
        label[i] = i;
    if (!n)
        return 0;
    struct adj a = {0};
    double *acc = calloc(n, sizeof *acc);
    size_t *s1 = malloc(n * sizeof *s1), *s2 = malloc(n * sizeof *s2), *s3 = malloc(n * sizeof *s3);
    if (!acc || !s1 || !s2 || !s3 || adj_build(n, e, ne, &a) != QB_OK) {
        free(acc), free(s1), free(s2), free(s3);
        return 0;
    }
    for (int round = 0; round < LP_ROUNDS; round++) {
        bool changed = false;
        for (size_t i = 0; i < n; i++) {
            size_t l = best_label(&a, i, label, acc);
            if (l != label[i])
                label[i] = l, changed = true;
        }
        if (!changed)
            break;
    }
    size_t k = renumber(n, label, s1, s2, s3);
    adj_free(&a);
    free(acc), free(s1), free(s2), free(s3);
    return k;
}

/* ------------------------------------------------------------------ bridges */

struct node {
    char user_id[QB_ID_MAX];
};

/* The conversation graph since the range start: nodes sorted by user id, edges by index. */
struct graph {
    struct node *nodes;
    size_t n;
    struct qb_insight_edge *e;
    size_t ne;
};

static void graph_free(struct graph *g)
{
    free(g->nodes);
    free(g->e);
}

struct id_order {
    const char *id;
    size_t first; /* index in order of first sight */
};

static int cmp_id_order(const void *a, const void *b)
{
    return strcmp(((const struct id_order *)a)->id, ((const struct id_order *)b)->id);
}

/* Number the nodes in user-id order (first sight order → sorted) and renumber the edges. */
static int graph_sort_nodes(struct graph *g, const struct ins_ids *ids)
{
    g->n = ids->n;
    struct id_order *o = malloc((g->n ? g->n : 1) * sizeof *o);
    size_t *to = malloc((g->n ? g->n : 1) * sizeof *to);
    g->nodes = calloc(g->n ? g->n : 1, sizeof *g->nodes);
    if (!o || !to || !g->nodes) {
        free(o), free(to);
        return QB_ENOMEM;
    }
    for (size_t i = 0; i < g->n; i++)
        o[i] = (struct id_order){ids->keys[i], i};
    if (g->n > 1) /* binary order, whatever the collation */
        qsort(o, g->n, sizeof *o, cmp_id_order);
    for (size_t i = 0; i < g->n; i++) {
        to[o[i].first] = i;
        qb_id_set(g->nodes[i].user_id, o[i].id);
    }
    for (size_t k = 0; k < g->ne; k++) {
        g->e[k].src = to[g->e[k].src];
        g->e[k].dst = to[g->e[k].dst];
    }
    free(o), free(to);
    return QB_OK;
}

/* The conversation graph since the range start in one ordered pass over the edges (the
 * covering index (group_id, src, dst, kind, n, last_ms) gives that order without a sort). */
static int graph_load(sqlite3 *db, const char *group_id, const struct qb_insight_range *r,
                      struct graph *g, char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    int rc = ins_prepare(db,
                         "SELECT src, dst, n FROM insight_edges WHERE group_id = ?1 AND"
                         " src <> dst AND last_ms >= ?2 ORDER BY src, dst",
                         &st, err, errlen);
    if (rc != QB_OK)
        return rc;
    sqlite3_bind_text(st, 1, group_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, r->since_ms);
    struct ins_ids ids = {0};
    size_t cap = 0;
    while (rc == QB_OK && sqlite3_step(st) == SQLITE_ROW) {
        double w = (double)sqlite3_column_int64(st, 2);
        if (w <= 0)
            continue;
        int64_t s = ins_ids_get(&ids, (const char *)sqlite3_column_text(st, 0));
        int64_t d = ins_ids_get(&ids, (const char *)sqlite3_column_text(st, 1));
        rc = s < 0 || d < 0 ? QB_ENOMEM
                            : ins_edge_add(&g->e, &g->ne, &cap, (size_t)s, (size_t)d, w);
    }
    sqlite3_finalize(st);
    if (rc == QB_OK)
        rc = graph_sort_nodes(g, &ids);
    ins_ids_free(&ids);
    return rc;
}

static int cmp_bridge(const void *a, const void *b)
{
    const struct qb_insight_bridge *x = a, *y = b;
    if (x->reached != y->reached)
        return x->reached < y->reached ? 1 : -1;
    double ox = x->outside_share * x->weight, oy = y->outside_share * y->weight;
    if (ox != oy)
        return ox < oy ? 1 : -1;
    return strcmp(x->user_id, y->user_id);
}

/* Node i's reach: other communities its edges go into and the weight there. mark is a
 * zeroed scratch array of one byte per community (left zeroed). */
static void reach_of(const struct adj *a, const size_t *label, size_t i, unsigned char *mark,
                     struct qb_insight_bridge *b)
{
    double total = 0, outside = 0;
    int64_t reached = 0;
    for (size_t k = a->off[i]; k < a->off[i + 1]; k++) {
        size_t l = label[a->nb[k]];
        total += a->w[k];
        if (l == label[i])
            continue;
        outside += a->w[k];
        if (!mark[l])
            mark[l] = 1, reached++;
    }
    for (size_t k = a->off[i]; k < a->off[i + 1]; k++)
        mark[label[a->nb[k]]] = 0;
    b->community = label[i];
    b->reached = reached;
    b->weight = total;
    b->outside_share = total > 0 ? outside / total : 0;
}

/* Names of the bridges from insight_members. */
static void name_bridges(sqlite3 *db, const char *group_id, struct qb_insight_bridges *o)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT COALESCE(MAX(name), '') FROM insight_members WHERE group_id ="
                           " ?1 AND user_id = ?2",
                           -1, &st, NULL) != SQLITE_OK)
        return;
    for (size_t i = 0; i < o->n; i++) {
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, group_id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, o->v[i].user_id, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(st) == SQLITE_ROW)
            snprintf(o->v[i].name, sizeof o->v[i].name, "%s",
                     (const char *)sqlite3_column_text(st, 0));
    }
    sqlite3_finalize(st);
}

/* Communities and bridges of a loaded graph. */
static int find_bridges(const struct graph *g, struct qb_insight_bridges *o)
{
    size_t *label = malloc((g->n ? g->n : 1) * sizeof *label);
    unsigned char *mark = calloc(g->n ? g->n : 1, 1);
    o->sizes = calloc(g->n ? g->n : 1, sizeof *o->sizes);
    struct qb_insight_bridge *all = calloc(g->n ? g->n : 1, sizeof *all);
    size_t k = label ? qb_insight_communities(g->n, g->e, g->ne, label) : 0;
    struct adj a = {0};
    if (!label || !mark || !o->sizes || !all || (g->n && !k) ||
        adj_build(g->n, g->e, g->ne, &a) != QB_OK) {
        free(label), free(mark), free(all);
        return QB_ENOMEM;
    }
    for (size_t i = 0; i < g->n; i++)
        o->sizes[label[i]]++;
    while (o->n_sizes < k && o->sizes[o->n_sizes] >= 2) /* sizes are in label order */
        o->n_sizes++;
    o->count = (int64_t)o->n_sizes;
    size_t nb = 0;
    for (size_t i = 0; i < g->n; i++) {
        struct qb_insight_bridge b = {0};
        reach_of(&a, label, i, mark, &b);
        if (b.reached < 2)
            continue;
        qb_id_set(b.user_id, g->nodes[i].user_id);
        all[nb++] = b;
    }
    if (nb > 1)
        qsort(all, nb, sizeof *all, cmp_bridge);
    o->v = all;
    o->n = nb < BRIDGES_MAX ? nb : BRIDGES_MAX;
    adj_free(&a);
    free(label);
    free(mark);
    return QB_OK;
}

int qb_insight_bridges(sqlite3 *db, const char *group_id, const struct qb_insight_range *r,
                       struct qb_insight_bridges *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    int rc = ins_check_args(db, group_id, r, err, errlen);
    if (rc != QB_OK)
        return rc;
    struct graph g = {0};
    rc = graph_load(db, group_id, r, &g, err, errlen);
    if (rc == QB_OK)
        rc = find_bridges(&g, out);
    graph_free(&g);
    if (rc != QB_OK) {
        qb_insight_bridges_free(out);
        return rc;
    }
    name_bridges(db, group_id, out);
    return QB_OK;
}

void qb_insight_bridges_free(struct qb_insight_bridges *b)
{
    if (!b)
        return;
    free(b->sizes);
    free(b->v);
    memset(b, 0, sizeof *b);
}

/* ------------------------------------------------------------------ moderation by detector */

/* guard_hits of the range grouped by detector (else the rule id's prefix before the first
 * '.', else the rule id); pardons from guard_cases when that table exists. */
#define DETECTOR_KEY                                                                               \
    "COALESCE(NULLIF(h.detector, ''), CASE WHEN instr(h.rule_id, '.') > 1 THEN"                    \
    " substr(h.rule_id, 1, instr(h.rule_id, '.') - 1) ELSE h.rule_id END)"

static int by_detector(sqlite3 *db, const char *group_id, const struct qb_insight_range *r,
                       bool cases, struct qb_insight_moderation **v, size_t *n, size_t *cap,
                       char *err, size_t errlen)
{
    const char *sql =
            cases ? "SELECT " DETECTOR_KEY " AS k, COUNT(*), SUM(CASE WHEN h.acted <> 0 THEN 1"
                    " ELSE 0 END), COUNT(DISTINCT h.case_no), COUNT(DISTINCT CASE WHEN"
                    " c.pardoned <> 0 THEN h.case_no END) FROM guard_hits h LEFT JOIN guard_cases"
                    " c ON c.case_no = h.case_no WHERE h.group_id = ?1 AND h.ts >= ?2 AND"
                    " h.ts < ?3 GROUP BY k"
                  : "SELECT " DETECTOR_KEY " AS k, COUNT(*), SUM(CASE WHEN h.acted <> 0 THEN 1"
                    " ELSE 0 END), COUNT(DISTINCT h.case_no), 0 FROM guard_hits h WHERE"
                    " h.group_id = ?1 AND h.ts >= ?2 AND h.ts < ?3 GROUP BY k";
    sqlite3_stmt *st = NULL;
    int rc = ins_prepare(db, sql, &st, err, errlen);
    if (rc != QB_OK)
        return rc;
    sqlite3_bind_text(st, 1, group_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, r->since_ms);
    sqlite3_bind_int64(st, 3, r->until_ms);
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (*n == *cap) {
            size_t nc = *cap ? *cap * 2 : 8;
            struct qb_insight_moderation *nv = realloc(*v, nc * sizeof *nv);
            if (!nv) {
                rc = QB_ENOMEM;
                break;
            }
            *v = nv;
            *cap = nc;
        }
        struct qb_insight_moderation *m = &(*v)[(*n)++];
        memset(m, 0, sizeof *m);
        const char *k = (const char *)sqlite3_column_text(st, 0);
        snprintf(m->detector, sizeof m->detector, "%s", k ? k : "");
        m->hits = sqlite3_column_int64(st, 1);
        m->acted = sqlite3_column_int64(st, 2);
        m->cases = sqlite3_column_int64(st, 3);
        m->pardoned = sqlite3_column_int64(st, 4);
    }
    sqlite3_finalize(st);
    return rc;
}

static int cmp_moderation(const void *a, const void *b)
{
    const struct qb_insight_moderation *x = a, *y = b;
    if (x->hits != y->hits)
        return x->hits < y->hits ? 1 : -1;
    return strcmp(x->detector, y->detector);
}

int qb_insight_moderation_by(sqlite3 *db, const char *group_id, const struct qb_insight_range *r,
                             struct qb_insight_moderation **out, size_t *n, char *err,
                             size_t errlen)
{
    *out = NULL;
    *n = 0;
    int rc = ins_check_args(db, group_id, r, err, errlen);
    if (rc != QB_OK)
        return rc;
    struct qb_insight_moderation *v = NULL;
    size_t nv = 0, cap = 0;
    if (ins_table_exists(db, "guard_hits"))
        rc = by_detector(db, group_id, r, ins_table_exists(db, "guard_cases"), &v, &nv, &cap, err,
                         errlen);
    int64_t recalls = 0;
    if (rc == QB_OK && ins_table_exists(db, "insight_recalls"))
        rc = ins_count(db,
                       "SELECT COUNT(*) FROM insight_recalls WHERE group_id = ?1 AND ts >= ?2"
                       " AND ts < ?3",
                       group_id, r->since_ms, r->until_ms, &recalls, err, errlen);
    if (rc == QB_OK && recalls > 0) {
        struct qb_insight_moderation *nv2 = nv == cap ? realloc(v, (cap + 1) * sizeof *v) : v;
        if (!nv2)
            rc = QB_ENOMEM;
        else {
            v = nv2;
            v[nv++] = (struct qb_insight_moderation){"manual", recalls, recalls, 0, 0};
        }
    }
    if (rc != QB_OK) {
        free(v);
        return rc;
    }
    if (nv > 1)
        qsort(v, nv, sizeof *v, cmp_moderation);
    *out = v;
    *n = nv;
    return QB_OK;
}
