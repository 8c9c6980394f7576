/* test_threads.c — the pool covers every index exactly once, at any thread count, nested and
 * from several user threads at once; thread-count settings and their validation. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"

typedef struct {
    atomic_int *hits;
    atomic_int calls;
} cover_ctx;

static void cover(void *p, int64_t b, int64_t e)
{
    cover_ctx *c = p;
    atomic_fetch_add(&c->calls, 1);
    for (int64_t i = b; i < e; i++) atomic_fetch_add(&c->hits[i], 1);
}

static int covered_once(int64_t n, int64_t grain, int *calls)
{
    cover_ctx c = {calloc((size_t)n + 1, sizeof(atomic_int)), 0};
    cn_parallel_for(n, grain, cover, &c);
    int ok = 1;
    for (int64_t i = 0; i < n; i++) ok &= c.hits[i] == 1;
    *calls = c.calls;
    free(c.hits);
    return ok;
}

static void test_cover_every_index(void)
{
    int calls;
    for (int t = 1; t <= 5; t++) {
        CHECK_OK(cn_set_num_threads(t));
        CHECK_EQ_INT(cn_num_threads(), t);
        for (int64_t n = 1; n < 100; n += 13) {
            CHECK(covered_once(n, 1, &calls));
            CHECK_MSG(calls <= t && calls <= n, "t=%d n=%lld calls=%d", t, (long long)n, calls);
        }
        CHECK(covered_once(100000, 1000, &calls));
        CHECK(calls == t);
        CHECK(covered_once(10, 1000, &calls)); /* below the grain: one chunk */
        CHECK_EQ_INT(calls, 1);
    }
    cn_parallel_for(0, 1, cover, NULL); /* empty range: fn not called */
    CHECK_OK(cn_set_num_threads(0));
}

static void nested_outer(void *p, int64_t b, int64_t e)
{
    atomic_int *total = p;
    for (int64_t i = b; i < e; i++) {
        int calls;
        if (covered_once(50, 1, &calls)) atomic_fetch_add(total, 1);
    }
}

static void test_nested(void)
{
    CHECK_OK(cn_set_num_threads(3));
    atomic_int total = 0;
    cn_parallel_for(12, 1, nested_outer, &total);
    CHECK_EQ_INT(total, 12);
    CHECK_OK(cn_set_num_threads(0));
}

static void *user_thread(void *arg)
{
    atomic_int *ok = arg;
    for (int k = 0; k < 50; k++) {
        int calls;
        if (covered_once(3000, 10, &calls)) atomic_fetch_add(ok, 1);
    }
    return NULL;
}

static void test_concurrent_callers(void)
{
    CHECK_OK(cn_set_num_threads(2));
    pthread_t th[6];
    atomic_int ok = 0;
    for (int i = 0; i < 6; i++) pthread_create(&th[i], NULL, user_thread, &ok);
    for (int i = 0; i < 6; i++) pthread_join(th[i], NULL);
    CHECK_EQ_INT(ok, 300);
    CHECK_OK(cn_set_num_threads(0));
}

static void test_thread_settings(void)
{
    CHECK_ERR(cn_set_num_threads(-1), CN_STATUS_INVALID_ARG, "-1");
    CHECK_ERR(cn_set_num_threads(100000), CN_STATUS_INVALID_ARG, "100000");
    CHECK_OK(cn_set_num_threads(0));
    CHECK(cn_num_threads() >= 1);
}

int main(void)
{
    RUN(test_cover_every_index);
    RUN(test_nested);
    RUN(test_concurrent_callers);
    RUN(test_thread_settings);
    return cn_test_finish();
}
