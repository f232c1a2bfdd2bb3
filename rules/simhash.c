/*
 * simhash.c — near-duplicate fingerprints: qb_simhash over code-point 3-grams, Hamming
 * distance, the FNV-1a key of ids, and qb_simidx, a fixed-capacity ring of recent
 * fingerprints with four 16-bit band tables for lookups within 3 bits.
 * The band tables are singly linked chains of insertion sequence numbers, newest first;
 * an overwritten ring slot ends every chain that reaches it (everything behind it is older
 * and gone too), so eviction costs nothing. Owns its arrays; no clock, no I/O.
 */
#include "rules.h"

#include <stdlib.h>
#include <string.h>

#include <qunbot/qunbot.h>

#define BANDS       4
#define GRAM        3
#define MAX_BUCKETS 65536u
#define MIN_BUCKETS 64u

/* ------------------------------------------------------------------ hashing */

#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME  0x100000001b3ull

static uint64_t fnv1a(const unsigned char *s, size_t n)
{
    uint64_t h = FNV_OFFSET;
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= FNV_PRIME;
    }
    return h;
}

/* MurmurHash3's finaliser: spreads FNV's weak high bits over the whole word. */
static uint64_t mix64(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

uint64_t qb_rules_key(const char *s)
{
    return s ? fnv1a((const unsigned char *)s, strlen(s)) : 0;
}

int qb_hamming64(uint64_t a, uint64_t b)
{
    return __builtin_popcountll(a ^ b);
}

/* ------------------------------------------------------------------ SimHash */

static bool cp_start(unsigned char c)
{
    return (c & 0xC0) != 0x80;
}

/* Per-bit counts of the features' set bits. Eight 64-bit words hold 64 byte-wide counters
 * (bit 8k + j of a feature is counted in byte k of acc[j]); they are flushed into the wide
 * counters before a byte can overflow, so adding a feature costs eight additions. */
struct bitcount {
    uint64_t acc[8];
    unsigned pending; /* features in acc */
    uint32_t ones[64];
    uint32_t total;
};

static void bc_flush(struct bitcount *c)
{
    for (int j = 0; j < 8; j++) {
        for (int k = 0; k < 8; k++)
            c->ones[8 * k + j] += (uint32_t)((c->acc[j] >> (8 * k)) & 0xFF);
        c->acc[j] = 0;
    }
    c->pending = 0;
}

static void bc_add(struct bitcount *c, uint64_t h)
{
    for (int j = 0; j < 8; j++)
        c->acc[j] += (h >> j) & 0x0101010101010101ull;
    c->total++;
    if (++c->pending == 255)
        bc_flush(c);
}

uint64_t qb_simhash(const char *norm, size_t len)
{
    const unsigned char *s = (const unsigned char *)norm;
    if (!s || len == 0)
        return 0;
    size_t n_cp = 0;
    for (size_t i = 0; i < len && n_cp < GRAM; i++)
        n_cp += cp_start(s[i]);
    if (n_cp <= 1)
        return mix64(fnv1a(s, len)); /* one character: the whole text */
    size_t gram = n_cp < GRAM ? n_cp : GRAM;

    struct bitcount c = {{0}, 0, {0}, 0};
    size_t starts[GRAM + 1]; /* offsets of the last gram + 1 character starts, a ring */
    size_t seen = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && !cp_start(s[i]))
            continue;
        /* i is the start of a character (or the end): the gram before it is complete */
        if (seen >= gram) {
            size_t from = starts[(seen - gram) % (GRAM + 1)];
            bc_add(&c, mix64(fnv1a(s + from, i - from)));
        }
        starts[seen % (GRAM + 1)] = i;
        seen++;
    }
    bc_flush(&c);
    uint64_t h = 0;
    for (int i = 0; i < 64; i++)
        if (2 * (uint64_t)c.ones[i] > c.total) /* more features set the bit than not */
            h |= 1ull << i;
    return h;
}

/* ------------------------------------------------------------------ the index */

struct qb_simidx {
    size_t cap;
    uint64_t next_seq;       /* sequence number of the next entry; the first is 1 */
    struct qb_simentry *ent; /* entry with sequence q lives in slot (q - 1) % cap */
    uint64_t *link;          /* [slot * BANDS + band]: next older sequence in the bucket */
    uint64_t *head;          /* [band * buckets + bucket]: newest sequence, 0 = empty */
    uint32_t bucket_mask;    /* buckets - 1 */
};

static uint32_t band_of(uint64_t hash, int band)
{
    return (uint32_t)(hash >> (16 * band)) & 0xFFFFu;
}

static size_t slot_of(const struct qb_simidx *ix, uint64_t seq)
{
    return (size_t)((seq - 1) % ix->cap);
}

/* Is the entry with this sequence number still in the ring? */
static bool live(const struct qb_simidx *ix, uint64_t seq)
{
    uint64_t added = ix->next_seq - 1;
    return seq != 0 && seq <= added && added - seq < ix->cap;
}

struct qb_simidx *qb_simidx_new(size_t capacity)
{
    if (capacity == 0)
        capacity = 1;
    if (capacity > SIZE_MAX / (BANDS * sizeof(uint64_t) + sizeof(struct qb_simentry)))
        return NULL;
    uint32_t buckets = MIN_BUCKETS;
    while (buckets < capacity && buckets < MAX_BUCKETS)
        buckets *= 2;
    struct qb_simidx *ix = calloc(1, sizeof *ix);
    if (!ix)
        return NULL;
    ix->cap = capacity;
    ix->next_seq = 1;
    ix->bucket_mask = buckets - 1;
    ix->ent = malloc(capacity * sizeof *ix->ent);
    ix->link = malloc(capacity * BANDS * sizeof *ix->link);
    ix->head = calloc((size_t)buckets * BANDS, sizeof *ix->head);
    if (!ix->ent || !ix->link || !ix->head) {
        qb_simidx_free(ix);
        return NULL;
    }
    return ix;
}

int qb_simidx_add(struct qb_simidx *ix, const struct qb_simentry *e)
{
    if (!ix || !e)
        return QB_EINVAL;
    uint64_t seq = ix->next_seq++;
    size_t slot = slot_of(ix, seq);
    ix->ent[slot] = *e;
    for (int b = 0; b < BANDS; b++) {
        uint64_t *head = &ix->head[(size_t)b * (ix->bucket_mask + 1) +
                                   (band_of(e->hash, b) & ix->bucket_mask)];
        ix->link[slot * BANDS + (size_t)b] = *head;
        *head = seq;
    }
    return QB_OK;
}

typedef int (*simidx_fn)(const struct qb_simentry *e, int dist, void *ud);

/* Report one candidate if it passes the filters. Returns 1 to stop. */
static int consider(const struct qb_simentry *e, uint64_t hash, int max_dist, int64_t since_ms,
                    simidx_fn fn, void *ud, size_t *n)
{
    int dist = qb_hamming64(e->hash, hash);
    if (dist > max_dist || e->ts_ms < since_ms)
        return 0;
    (*n)++;
    return fn && fn(e, dist, ud) ? 1 : 0;
}

/* Distances beyond the pigeonhole guarantee: look at every entry, newest first. */
static size_t find_linear(const struct qb_simidx *ix, uint64_t hash, int max_dist, int64_t since_ms,
                          simidx_fn fn, void *ud)
{
    size_t n = 0;
    for (uint64_t seq = ix->next_seq - 1; live(ix, seq); seq--)
        if (consider(&ix->ent[slot_of(ix, seq)], hash, max_dist, since_ms, fn, ud, &n))
            break;
    return n;
}

size_t qb_simidx_find(const struct qb_simidx *ix, uint64_t hash, int max_dist, int64_t since_ms,
                      int (*fn)(const struct qb_simentry *e, int dist, void *ud), void *ud)
{
    if (!ix || max_dist < 0)
        return 0;
    if (max_dist > 3)
        return find_linear(ix, hash, max_dist, since_ms, fn, ud);
    /* Within 3 bits, one of the four 16-bit bands is equal: merge the four bucket chains
     * (each newest first) by sequence number, visiting every candidate once. */
    uint64_t cur[BANDS];
    for (int b = 0; b < BANDS; b++) {
        uint64_t q =
                ix->head[(size_t)b * (ix->bucket_mask + 1) + (band_of(hash, b) & ix->bucket_mask)];
        cur[b] = live(ix, q) ? q : 0;
    }
    size_t n = 0;
    for (;;) {
        uint64_t top = 0;
        for (int b = 0; b < BANDS; b++)
            if (cur[b] > top)
                top = cur[b];
        if (!top)
            break;
        size_t slot = slot_of(ix, top);
        for (int b = 0; b < BANDS; b++) {
            if (cur[b] != top)
                continue;
            uint64_t q = ix->link[slot * BANDS + (size_t)b];
            cur[b] = live(ix, q) ? q : 0;
        }
        if (consider(&ix->ent[slot], hash, max_dist, since_ms, fn, ud, &n))
            break;
    }
    return n;
}

size_t qb_simidx_count(const struct qb_simidx *ix)
{
    if (!ix)
        return 0;
    uint64_t added = ix->next_seq - 1;
    return added < ix->cap ? (size_t)added : ix->cap;
}

void qb_simidx_free(struct qb_simidx *ix)
{
    if (!ix)
        return;
    free(ix->ent);
    free(ix->link);
    free(ix->head);
    free(ix);
}
