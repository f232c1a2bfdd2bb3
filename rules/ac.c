/*
 * ac.c — the keyword automaton (Aho–Corasick over bytes) behind qb_ac_*.
 * While patterns are added the trie lives in an open-addressing hash of (node, byte) → child;
 * qb_ac_build renumbers the nodes breadth-first so that every node's children are
 * consecutive, keeps one label byte per node, computes failure and output links, and gives
 * the shallow nodes (depth <= 2, at most 1 MiB) full transition tables.
 * Memory is O(total pattern bytes); scanning is linear in the text. Owns all its arrays;
 * never looks at the text beyond len, never calls back after the callback asks to stop.
 */
#include "rules.h"

#include <stdlib.h>
#include <string.h>

#include <qunbot/qunbot.h>

#define NO_NODE       0u /* node 0 is the root, never a child: 0 means "none" */
#define LINEAR_LIMIT  8u /* children searched linearly up to this many, then binary */
#define MAX_NODES     (UINT32_MAX - 2u)
#define HASH_MIN_BITS 10
#define DENSE_MAX     1024u /* at most this many shallow nodes get a full table (1 KiB each) */

/* One value of a pattern that ends at a node. */
struct ac_value {
    uint32_t value;
    uint32_t len;
};

/* A (node, value) pair recorded by qb_ac_add, sorted into nodes by qb_ac_build. */
struct ac_term {
    uint32_t node;
    uint32_t value;
    uint32_t len;
};

/* A built node; the fields used together on every byte share a cache line. */
struct ac_node {
    uint32_t child_start; /* children of i are [node[i].child_start, node[i + 1].child_start) */
    uint32_t fail;        /* longest proper suffix that is a node */
    uint32_t out;         /* first node on the fail chain from i (i included) where a pattern
                           * ends, or 0; the next one is node[node[that].fail].out */
    uint32_t val_start;   /* values of i are vals[node[i].val_start .. node[i + 1].val_start) */
};

struct qb_ac {
    bool built;
    size_t n_patterns;
    uint32_t n_nodes; /* including the root */

    /* while adding: the trie as a hash (key = (parent << 8 | byte) + 1, 0 = empty) */
    uint64_t *hkeys;
    uint32_t *hvals;
    unsigned hbits;
    size_t hcount;
    struct ac_term *terms;
    size_t n_terms, cap_terms;

    /* after building: nodes in breadth-first order */
    struct ac_node *node; /* n_nodes + 1 (the last one only closes the ranges) */
    uint8_t *label;       /* byte on the edge into each node */
    struct ac_value *vals;
    uint32_t root_next[256];
    uint32_t *dense; /* full transitions of the shallow nodes [0, n_dense): 256 per node */
    uint32_t n_dense;
};

/* ------------------------------------------------------------------ the build-time hash */

static size_t hash_slot(uint64_t key, unsigned bits)
{
    return (size_t)((key * 0x9E3779B97F4A7C15ull) >> (64 - bits));
}

static int hash_grow(struct qb_ac *ac)
{
    unsigned bits = ac->hbits ? ac->hbits + 1 : HASH_MIN_BITS;
    size_t cap = (size_t)1 << bits;
    uint64_t *keys = calloc(cap, sizeof *keys);
    uint32_t *vals = malloc(cap * sizeof *vals);
    if (!keys || !vals) {
        free(keys);
        free(vals);
        return QB_ENOMEM;
    }
    size_t old_cap = ac->hbits ? (size_t)1 << ac->hbits : 0;
    for (size_t i = 0; i < old_cap; i++) {
        if (!ac->hkeys[i])
            continue;
        size_t s = hash_slot(ac->hkeys[i], bits);
        while (keys[s])
            s = (s + 1) & (cap - 1);
        keys[s] = ac->hkeys[i];
        vals[s] = ac->hvals[i];
    }
    free(ac->hkeys);
    free(ac->hvals);
    ac->hkeys = keys;
    ac->hvals = vals;
    ac->hbits = bits;
    return QB_OK;
}

/* The child of node under byte b, creating it when missing. 0 on ENOMEM. */
static uint32_t trie_child(struct qb_ac *ac, uint32_t node, uint8_t b)
{
    if (!ac->hbits || (ac->hcount + 1) * 2 > (size_t)1 << ac->hbits) {
        if (hash_grow(ac) != QB_OK)
            return NO_NODE;
    }
    uint64_t key = (((uint64_t)node << 8) | b) + 1;
    size_t mask = ((size_t)1 << ac->hbits) - 1;
    size_t s = hash_slot(key, ac->hbits);
    while (ac->hkeys[s]) {
        if (ac->hkeys[s] == key)
            return ac->hvals[s];
        s = (s + 1) & mask;
    }
    if (ac->n_nodes >= MAX_NODES)
        return NO_NODE;
    ac->hkeys[s] = key;
    ac->hvals[s] = ac->n_nodes++;
    ac->hcount++;
    return ac->hvals[s];
}

/* ------------------------------------------------------------------ adding */

struct qb_ac *qb_ac_new(void)
{
    struct qb_ac *ac = calloc(1, sizeof *ac);
    if (ac)
        ac->n_nodes = 1;
    return ac;
}

static int term_push(struct qb_ac *ac, uint32_t node, uint32_t value, size_t len)
{
    if (ac->n_terms == ac->cap_terms) {
        size_t cap = ac->cap_terms ? ac->cap_terms * 2 : 64;
        struct ac_term *t = realloc(ac->terms, cap * sizeof *t);
        if (!t)
            return QB_ENOMEM;
        ac->terms = t;
        ac->cap_terms = cap;
    }
    ac->terms[ac->n_terms++] = (struct ac_term){node, value, (uint32_t)len};
    return QB_OK;
}

int qb_ac_add(struct qb_ac *ac, const char *pattern, size_t len, uint32_t value)
{
    if (!ac || ac->built || !pattern || len == 0 || len > UINT32_MAX)
        return QB_EINVAL;
    uint32_t node = 0;
    for (size_t i = 0; i < len; i++) {
        node = trie_child(ac, node, (uint8_t)pattern[i]);
        if (node == NO_NODE)
            return QB_ENOMEM; /* nodes already made stay as harmless dead ends */
    }
    int rc = term_push(ac, node, value, len);
    if (rc == QB_OK)
        ac->n_patterns++;
    return rc;
}

/* ------------------------------------------------------------------ building */

/* The trie's edges, grouped by parent and sorted by byte within each parent. */
struct edges {
    uint32_t *start; /* n_nodes + 1, by old parent id */
    uint32_t *child; /* old child ids */
    uint8_t *byte;
};

static void edges_free(struct edges *e)
{
    free(e->start);
    free(e->child);
    free(e->byte);
}

/* Two counting sorts: by byte, then (stable) by parent. */
static int edges_collect(const struct qb_ac *ac, struct edges *e)
{
    size_t n = ac->n_nodes, m = ac->hcount;
    size_t cap = ac->hbits ? (size_t)1 << ac->hbits : 0;
    uint32_t by_byte[257] = {0};
    size_t *tmp = malloc((m ? m : 1) * sizeof *tmp); /* hash slots sorted by byte */
    e->start = calloc(n + 1, sizeof *e->start);
    e->child = malloc((m ? m : 1) * sizeof *e->child);
    e->byte = malloc(m ? m : 1);
    if (!tmp || !e->start || !e->child || !e->byte) {
        free(tmp);
        return QB_ENOMEM;
    }
    for (size_t s = 0; s < cap; s++)
        if (ac->hkeys[s])
            by_byte[((ac->hkeys[s] - 1) & 0xFF) + 1]++;
    for (int b = 0; b < 256; b++)
        by_byte[b + 1] += by_byte[b];
    for (size_t s = 0; s < cap; s++)
        if (ac->hkeys[s])
            tmp[by_byte[(ac->hkeys[s] - 1) & 0xFF]++] = s;
    for (size_t i = 0; i < m; i++)
        e->start[((ac->hkeys[tmp[i]] - 1) >> 8) + 1]++;
    for (size_t i = 0; i < n; i++)
        e->start[i + 1] += e->start[i];
    uint32_t *cur = malloc(n * sizeof *cur); /* next free place of each parent */
    if (!cur) {
        free(tmp);
        return QB_ENOMEM;
    }
    memcpy(cur, e->start, n * sizeof *cur);
    for (size_t i = 0; i < m; i++) {
        uint64_t key = ac->hkeys[tmp[i]] - 1;
        uint32_t at = cur[key >> 8]++;
        e->child[at] = ac->hvals[tmp[i]];
        e->byte[at] = (uint8_t)(key & 0xFF);
    }
    free(cur);
    free(tmp);
    return QB_OK;
}

/* The child of built node s under byte b, or 0. */
static uint32_t node_child(const struct qb_ac *ac, uint32_t s, uint8_t b)
{
    uint32_t lo = ac->node[s].child_start, hi = ac->node[s + 1].child_start;
    if (hi - lo <= LINEAR_LIMIT) {
        for (; lo < hi; lo++)
            if (ac->label[lo] == b)
                return lo;
        return NO_NODE;
    }
    /* branch-free lower bound: the loop count depends only on the number of children */
    const uint8_t *base = ac->label + lo;
    uint32_t n = hi - lo;
    while (n > 1) {
        uint32_t half = n / 2;
        base = base[half - 1] < b ? base + half : base;
        n -= half;
    }
    return *base == b ? (uint32_t)(base - ac->label) : NO_NODE;
}

static uint32_t step(const struct qb_ac *ac, uint32_t s, uint8_t b)
{
    for (;;) {
        if (s < ac->n_dense)
            return ac->dense[(size_t)s * 256 + b];
        if (s == 0)
            return ac->root_next[b];
        uint32_t c = node_child(ac, s, b);
        if (c != NO_NODE)
            return c;
        s = ac->node[s].fail;
    }
}

static bool has_values(const struct qb_ac *ac, uint32_t s)
{
    return ac->node[s].val_start != ac->node[s + 1].val_start;
}

/* Renumber breadth-first (old ids in order[]), lay out children and compute the links. */
static void layout(struct qb_ac *ac, const struct edges *e, uint32_t *order, uint32_t *new_id)
{
    uint32_t next = 1;
    order[0] = 0;
    new_id[0] = 0;
    for (uint32_t x = 0; x < ac->n_nodes; x++) {
        uint32_t old = order[x];
        ac->node[x].child_start = next;
        for (uint32_t k = e->start[old]; k < e->start[old + 1]; k++) {
            uint32_t c = next++;
            order[c] = e->child[k];
            new_id[e->child[k]] = c;
            ac->label[c] = e->byte[k];
            if (x == 0) {
                ac->root_next[e->byte[k]] = c;
                ac->node[c].fail = 0;
            } else {
                /* the fail chain of x holds shallower nodes, already laid out */
                ac->node[c].fail = step(ac, ac->node[x].fail, e->byte[k]);
            }
        }
        ac->node[x + 1].child_start = next;
    }
}

static int place_values(struct qb_ac *ac, const uint32_t *new_id)
{
    ac->vals = malloc((ac->n_terms ? ac->n_terms : 1) * sizeof *ac->vals);
    if (!ac->vals)
        return QB_ENOMEM;
    for (size_t i = 0; i < ac->n_terms; i++)
        ac->node[new_id[ac->terms[i].node] + 1].val_start++;
    for (uint32_t i = 0; i < ac->n_nodes; i++)
        ac->node[i + 1].val_start += ac->node[i].val_start;
    /* out is not computed yet: borrow it as the fill cursors */
    for (uint32_t i = 0; i < ac->n_nodes; i++)
        ac->node[i].out = ac->node[i].val_start;
    for (size_t i = 0; i < ac->n_terms; i++) {
        uint32_t at = ac->node[new_id[ac->terms[i].node]].out++;
        ac->vals[at] = (struct ac_value){ac->terms[i].value, ac->terms[i].len};
    }
    ac->node[0].out = 0;
    for (uint32_t x = 1; x < ac->n_nodes; x++)
        ac->node[x].out = has_values(ac, x) ? x : ac->node[ac->node[x].fail].out;
    return QB_OK;
}

/* Full transition tables for the nodes of depth <= 2 (or <= 1 when there are too many),
 * where most failure walks end. Optional: without memory the automaton still works. */
static void make_dense(struct qb_ac *ac)
{
    uint32_t d1_end = ac->node[1].child_start;
    uint32_t d2_end = d1_end < ac->n_nodes ? ac->node[d1_end].child_start : ac->n_nodes;
    uint32_t n = d2_end <= DENSE_MAX ? d2_end : d1_end <= DENSE_MAX ? d1_end : 1;
    ac->dense = malloc((size_t)n * 256 * sizeof *ac->dense);
    if (!ac->dense)
        return;
    for (uint32_t s = 0; s < n; s++) {
        for (unsigned b = 0; b < 256; b++) {
            uint32_t c = s ? node_child(ac, s, (uint8_t)b) : ac->root_next[b];
            if (c == NO_NODE && s)
                c = ac->dense[(size_t)ac->node[s].fail * 256 + b]; /* fail[s] < s */
            ac->dense[(size_t)s * 256 + b] = c;
        }
    }
    ac->n_dense = n;
}

int qb_ac_build(struct qb_ac *ac)
{
    if (!ac || ac->built)
        return ac ? QB_OK : QB_EINVAL;
    size_t n = ac->n_nodes;
    struct edges e = {0};
    uint32_t *order = malloc(n * sizeof *order);
    uint32_t *new_id = malloc(n * sizeof *new_id);
    ac->node = calloc(n + 1, sizeof *ac->node);
    ac->label = calloc(n, 1);
    int rc = QB_ENOMEM;
    if (order && new_id && ac->node && ac->label && edges_collect(ac, &e) == QB_OK) {
        layout(ac, &e, order, new_id);
        rc = place_values(ac, new_id);
        if (rc == QB_OK)
            make_dense(ac);
    }
    edges_free(&e);
    free(order);
    free(new_id);
    if (rc != QB_OK) {
        free(ac->node);
        free(ac->label);
        free(ac->vals);
        ac->node = NULL;
        ac->label = NULL;
        ac->vals = NULL;
        return rc;
    }
    free(ac->hkeys);
    free(ac->hvals);
    free(ac->terms);
    ac->hkeys = NULL;
    ac->hvals = NULL;
    ac->terms = NULL;
    ac->hbits = 0;
    ac->cap_terms = 0;
    ac->built = true;
    return QB_OK;
}

/* ------------------------------------------------------------------ scanning */

size_t qb_ac_scan(const struct qb_ac *ac, const char *text, size_t len, qb_ac_hit_fn fn, void *ud)
{
    if (!ac || !ac->built || !text)
        return 0;
    size_t hits = 0;
    uint32_t s = 0;
    for (size_t i = 0; i < len; i++) {
        s = step(ac, s, (uint8_t)text[i]);
        for (uint32_t x = ac->node[s].out; x; x = ac->node[ac->node[x].fail].out) {
            for (uint32_t k = ac->node[x].val_start; k < ac->node[x + 1].val_start; k++) {
                hits++;
                if (fn && fn(ac->vals[k].value, i + 1, ac->vals[k].len, ud))
                    return hits;
            }
        }
    }
    return hits;
}

size_t qb_ac_patterns(const struct qb_ac *ac)
{
    return ac ? ac->n_patterns : 0;
}

size_t qb_ac_memory(const struct qb_ac *ac)
{
    if (!ac)
        return 0;
    size_t bytes = sizeof *ac;
    if (ac->built) {
        size_t n = ac->n_nodes;
        bytes += (n + 1) * sizeof *ac->node + n * sizeof *ac->label +
                 (size_t)ac->n_dense * 256 * sizeof *ac->dense + ac->n_terms * sizeof *ac->vals;
    } else {
        size_t cap = ac->hbits ? (size_t)1 << ac->hbits : 0;
        bytes += cap * (sizeof *ac->hkeys + sizeof *ac->hvals) + ac->cap_terms * sizeof *ac->terms;
    }
    return bytes;
}

void qb_ac_free(struct qb_ac *ac)
{
    if (!ac)
        return;
    free(ac->hkeys);
    free(ac->hvals);
    free(ac->terms);
    free(ac->node);
    free(ac->label);
    free(ac->vals);
    free(ac->dense);
    free(ac);
}
