/*
 * outq.c — token buckets, per-group bucket maps and the recent-event cache.
 *
 * The de-duplication cache is a ring of entries in arrival order (so the oldest is
 * evicted first, whether by age or by capacity) indexed by a chained hash table.
 * Pure code: callers pass the time.
 */
#include "outq.h"

#include <stdlib.h>
#include <string.h>

void qb_bucket_init(struct qb_bucket *b, double burst, double interval_ms, int64_t now_ms)
{
    b->burst = burst < 1 ? 1 : burst;
    b->tokens = b->burst;
    b->interval_ms = interval_ms < 0 ? 0 : interval_ms;
    b->last_ms = now_ms;
}

static void bucket_refill(struct qb_bucket *b, int64_t now_ms)
{
    if (now_ms <= b->last_ms)
        return;
    if (b->interval_ms <= 0) {
        b->tokens = b->burst;
    } else {
        b->tokens += (double)(now_ms - b->last_ms) / b->interval_ms;
        if (b->tokens > b->burst)
            b->tokens = b->burst;
    }
    b->last_ms = now_ms;
}

bool qb_bucket_take(struct qb_bucket *b, int64_t now_ms)
{
    bucket_refill(b, now_ms);
    if (b->tokens < 1.0)
        return false;
    b->tokens -= 1.0;
    return true;
}

int64_t qb_bucket_wait(struct qb_bucket *b, int64_t now_ms)
{
    bucket_refill(b, now_ms);
    if (b->tokens >= 1.0)
        return 0;
    double ms = (1.0 - b->tokens) * b->interval_ms;
    return (int64_t)ms + 1;
}

/* ---- string hashing ---- */

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

/* ---- bucket map ---- */

struct rate_node {
    char *key;
    struct qb_bucket b;
    struct rate_node *next;
};

struct qb_ratemap {
    double burst, interval_ms;
    struct rate_node *slots[64];
};

struct qb_ratemap *qb_ratemap_new(double burst, double interval_ms)
{
    struct qb_ratemap *m = calloc(1, sizeof *m);
    if (m) {
        m->burst = burst;
        m->interval_ms = interval_ms;
    }
    return m;
}

void qb_ratemap_free(struct qb_ratemap *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < 64; i++) {
        struct rate_node *n = m->slots[i], *next;
        for (; n; n = next) {
            next = n->next;
            free(n->key);
            free(n);
        }
    }
    free(m);
}

struct qb_bucket *qb_ratemap_get(struct qb_ratemap *m, const char *key, int64_t now_ms)
{
    size_t i = hash_str(key) % 64;
    for (struct rate_node *n = m->slots[i]; n; n = n->next)
        if (!strcmp(n->key, key))
            return &n->b;
    struct rate_node *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    n->key = strdup(key);
    if (!n->key) {
        free(n);
        return NULL;
    }
    qb_bucket_init(&n->b, m->burst, m->interval_ms, now_ms);
    n->next = m->slots[i];
    m->slots[i] = n;
    return &n->b;
}

/* ---- de-duplication cache ---- */

struct dedup_entry {
    char *key;
    uint64_t hash;
    int64_t t;
    long chain; /* next entry index in the same hash slot, -1 = end */
};

struct qb_dedup {
    struct dedup_entry *ring;
    size_t cap, head, count; /* head = oldest */
    long *slots;
    size_t nslots;
    int64_t ttl_ms;
};

struct qb_dedup *qb_dedup_new(size_t capacity, int64_t ttl_ms)
{
    struct qb_dedup *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->cap = capacity ? capacity : 1;
    d->nslots = d->cap * 2;
    d->ring = calloc(d->cap, sizeof *d->ring);
    d->slots = malloc(d->nslots * sizeof *d->slots);
    if (!d->ring || !d->slots) {
        qb_dedup_free(d);
        return NULL;
    }
    for (size_t i = 0; i < d->nslots; i++)
        d->slots[i] = -1;
    d->ttl_ms = ttl_ms;
    return d;
}

void qb_dedup_free(struct qb_dedup *d)
{
    if (!d)
        return;
    if (d->ring)
        for (size_t i = 0; i < d->cap; i++)
            free(d->ring[i].key);
    free(d->ring);
    free(d->slots);
    free(d);
}

size_t qb_dedup_size(const struct qb_dedup *d)
{
    return d->count;
}

static void dedup_evict_oldest(struct qb_dedup *d)
{
    size_t idx = d->head;
    struct dedup_entry *e = &d->ring[idx];
    long *link = &d->slots[e->hash % d->nslots];
    while (*link != -1 && (size_t)*link != idx)
        link = &d->ring[*link].chain;
    if (*link != -1)
        *link = e->chain;
    free(e->key);
    e->key = NULL;
    d->head = (d->head + 1) % d->cap;
    d->count--;
}

bool qb_dedup_check(struct qb_dedup *d, const char *key, int64_t now_ms)
{
    while (d->count && now_ms - d->ring[d->head].t > d->ttl_ms)
        dedup_evict_oldest(d);
    uint64_t h = hash_str(key);
    for (long i = d->slots[h % d->nslots]; i != -1; i = d->ring[i].chain)
        if (d->ring[i].hash == h && !strcmp(d->ring[i].key, key))
            return true;
    if (d->count == d->cap)
        dedup_evict_oldest(d);
    char *copy = strdup(key);
    if (!copy)
        return false; /* out of memory: treat as new rather than drop an event */
    size_t idx = (d->head + d->count) % d->cap;
    struct dedup_entry *e = &d->ring[idx];
    e->key = copy;
    e->hash = h;
    e->t = now_ms;
    e->chain = d->slots[h % d->nslots];
    d->slots[h % d->nslots] = (long)idx;
    d->count++;
    return false;
}
