/*
 * test.h — the in-tree test harness: TEST() cases, CHECK assertions that report
 * file:line and keep going, and a closing "N passed, N failed" line for CTest logs.
 *
 * TEST_ONLY=part runs only the tests whose name contains part.
 * Usage: TEST(name) { CHECK(x == 1); CHECK_STR(a, "b"); }  int main(void) { RUN(name); return
 * test_done(); }
 */
#ifndef QB_TEST_H
#define QB_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int test_failed_checks;
static int test_passed, test_failed;
static const char *test_current;

#define TEST(name) static void name(void)

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: %s: check failed: %s\n", __FILE__, __LINE__, test_current,     \
                    #cond);                                                                        \
            test_failed_checks++;                                                                  \
        }                                                                                          \
    } while (0)

#define CHECK_STR(a, b)                                                                            \
    do {                                                                                           \
        const char *a_ = (a), *b_ = (b);                                                           \
        if (!a_ || !b_ || strcmp(a_, b_) != 0) {                                                   \
            fprintf(stderr, "%s:%d: %s: expected \"%s\", got \"%s\" (%s)\n", __FILE__, __LINE__,   \
                    test_current, b_ ? b_ : "(null)", a_ ? a_ : "(null)", #a);                     \
            test_failed_checks++;                                                                  \
        }                                                                                          \
    } while (0)

#define CHECK_INT(a, b)                                                                            \
    do {                                                                                           \
        long long a_ = (long long)(a), b_ = (long long)(b);                                        \
        if (a_ != b_) {                                                                            \
            fprintf(stderr, "%s:%d: %s: expected %lld, got %lld (%s)\n", __FILE__, __LINE__,       \
                    test_current, b_, a_, #a);                                                     \
            test_failed_checks++;                                                                  \
        }                                                                                          \
    } while (0)

#define RUN(name)                                                                                  \
    do {                                                                                           \
        const char *only_ = getenv("TEST_ONLY");                                                   \
        if (only_ && !strstr(#name, only_))                                                        \
            break;                                                                                 \
        int before_ = test_failed_checks;                                                          \
        test_current = #name;                                                                      \
        name();                                                                                    \
        if (test_failed_checks == before_) {                                                       \
            test_passed++;                                                                         \
        } else {                                                                                   \
            test_failed++;                                                                         \
            fprintf(stderr, "FAIL %s\n", #name);                                                   \
        }                                                                                          \
    } while (0)

static inline int test_done(void)
{
    printf("%d passed, %d failed\n", test_passed, test_failed);
    return test_failed ? 1 : 0;
}

#endif
