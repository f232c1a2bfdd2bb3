/*
 * test_outq.c — token buckets (account pacing, per-group limits) and the duplicate
 * event cache, driven with explicit times.
 * link: qb_core
 */
#include <stdio.h>

#include "outq.h"
#include "test.h"

TEST(bucket_paces_one_per_interval)
{
    struct qb_bucket b;
    qb_bucket_init(&b, 1, 1000, 0);
    CHECK(qb_bucket_take(&b, 0));
    CHECK(!qb_bucket_take(&b, 10));
    CHECK_INT(qb_bucket_wait(&b, 500), 501);
    CHECK(!qb_bucket_take(&b, 999));
    CHECK(qb_bucket_take(&b, 1000));
}

TEST(group_bucket_allows_small_burst_then_ten_a_minute)
{
    struct qb_bucket b;
    qb_bucket_init(&b, 3, 6000, 0);
    int sent = 0;
    /* try every 100 ms for one minute */
    for (int64_t t = 0; t < 60000; t += 100)
        sent += qb_bucket_take(&b, t);
    /* 3 at once, then one per 6 s: 3 + 9 in the first minute */
    CHECK_INT(sent, 12);
}

TEST(ratemap_keeps_groups_apart)
{
    struct qb_ratemap *m = qb_ratemap_new(1, 6000);
    CHECK(qb_bucket_take(qb_ratemap_get(m, "100", 0), 0));
    CHECK(!qb_bucket_take(qb_ratemap_get(m, "100", 0), 0));
    CHECK(qb_bucket_take(qb_ratemap_get(m, "200", 0), 0));
    qb_ratemap_free(m);
}

TEST(dedup_drops_repeats_within_ttl)
{
    struct qb_dedup *d = qb_dedup_new(100, 600000);
    CHECK(!qb_dedup_check(d, "10001|group_increase|invite|123|456", 0));
    CHECK(qb_dedup_check(d, "10001|group_increase|invite|123|456", 1000));
    CHECK(!qb_dedup_check(d, "10001|group_increase|invite|123|457", 1000));
    /* after the ttl the same key is new again */
    CHECK(!qb_dedup_check(d, "10001|group_increase|invite|123|456", 700000));
    qb_dedup_free(d);
}

TEST(dedup_is_bounded_and_evicts_oldest)
{
    struct qb_dedup *d = qb_dedup_new(50, 600000);
    char key[32];
    for (int i = 0; i < 200; i++) {
        snprintf(key, sizeof key, "k%d", i);
        CHECK(!qb_dedup_check(d, key, i));
    }
    CHECK_INT(qb_dedup_size(d), 50);
    CHECK(qb_dedup_check(d, "k199", 300)); /* recent: still known */
    CHECK(qb_dedup_check(d, "k150", 300));
    CHECK(!qb_dedup_check(d, "k10", 300)); /* evicted: treated as new */
    qb_dedup_free(d);
}

int main(void)
{
    RUN(bucket_paces_one_per_interval);
    RUN(group_bucket_allows_small_burst_then_ten_a_minute);
    RUN(ratemap_keeps_groups_apart);
    RUN(dedup_drops_repeats_within_ttl);
    RUN(dedup_is_bounded_and_evicts_oldest);
    return test_done();
}
