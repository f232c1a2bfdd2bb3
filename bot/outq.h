/*
 * outq.h — the pure parts of outbound pacing and inbound de-duplication:
 * token buckets, a map of buckets per group, and a bounded recent-key cache.
 *
 * No I/O and no clock reads: every function takes now_ms, so tests drive time.
 */
#ifndef QB_OUTQ_H
#define QB_OUTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A token bucket: up to burst tokens, one more every interval_ms. */
struct qb_bucket {
    double tokens;
    double burst;
    double interval_ms;
    int64_t last_ms;
};

void qb_bucket_init(struct qb_bucket *b, double burst, double interval_ms, int64_t now_ms);
/* Take one token if there is one. */
bool qb_bucket_take(struct qb_bucket *b, int64_t now_ms);
/* Milliseconds until a token is available (0 = now). */
int64_t qb_bucket_wait(struct qb_bucket *b, int64_t now_ms);

/* Buckets by key (group id), created on first use with the map's parameters. */
struct qb_ratemap;
struct qb_ratemap *qb_ratemap_new(double burst, double interval_ms);
void qb_ratemap_free(struct qb_ratemap *m);
struct qb_bucket *qb_ratemap_get(struct qb_ratemap *m, const char *key, int64_t now_ms);

/* Recent keys within ttl_ms, at most capacity (oldest evicted first). */
struct qb_dedup;
struct qb_dedup *qb_dedup_new(size_t capacity, int64_t ttl_ms);
void qb_dedup_free(struct qb_dedup *d);
/* true if key was seen within the ttl (a duplicate); otherwise records it and returns false. */
bool qb_dedup_check(struct qb_dedup *d, const char *key, int64_t now_ms);
size_t qb_dedup_size(const struct qb_dedup *d);

#endif
