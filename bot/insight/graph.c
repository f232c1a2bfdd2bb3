/*
 * graph.c — pure graph algorithms for the conversation graph (交往圈): weighted PageRank.
 *
 * No database, no I/O, no globals: arrays in, arrays out. The caller owns every buffer.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "insight.h"

/* rank'[j] = (1 - d) / n + d × (Σ_i rank[i] × w(i→j) / out(i) + dangling / n), where
 * out(i) is i's total outgoing weight and dangling the rank of nodes with no out-edges. */
void qb_insight_pagerank(size_t n, const struct qb_insight_edge *e, size_t ne, double d,
                         double *rank)
{
    if (!n)
        return;
    double *out = calloc(n, sizeof *out), *next = calloc(n, sizeof *next);
    for (size_t i = 0; i < n; i++)
        rank[i] = 1.0 / (double)n;
    if (!out || !next) { /* no memory: the uniform rank is the best honest answer */
        free(out);
        free(next);
        return;
    }
    for (size_t k = 0; k < ne; k++)
        if (e[k].src < n && e[k].dst < n && e[k].w > 0)
            out[e[k].src] += e[k].w;
    for (int round = 0; round < 100; round++) {
        double dangling = 0;
        for (size_t i = 0; i < n; i++)
            if (out[i] <= 0)
                dangling += rank[i];
        double base = (1.0 - d) / (double)n + d * dangling / (double)n;
        for (size_t i = 0; i < n; i++)
            next[i] = base;
        for (size_t k = 0; k < ne; k++)
            if (e[k].src < n && e[k].dst < n && e[k].w > 0)
                next[e[k].dst] += d * rank[e[k].src] * e[k].w / out[e[k].src];
        double change = 0, sum = 0;
        for (size_t i = 0; i < n; i++)
            sum += next[i];
        for (size_t i = 0; i < n; i++) {
            next[i] /= sum; /* keep the sum at exactly 1 against rounding drift */
            change += fabs(next[i] - rank[i]);
            rank[i] = next[i];
        }
        if (change < 1e-9)
            break;
    }
    free(out);
    free(next);
}
