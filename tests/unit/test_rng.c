/* test_rng.c — Philox known answers, stream independence, thread-count invariance, statistics. */
#include <stdlib.h>
#include <string.h>

#include "test.h"

static void test_philox_known_answers(void)
{
    /* Random123's kat_vectors for philox4x32 with 10 rounds: counter, key -> output */
    static const uint32_t kat[3][10] = {
        {0, 0, 0, 0, 0, 0, 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8},
        {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0x408f276d, 0x41c83b0e, 0xa20bc7c6,
         0x6d5451fd},
        {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0, 0xd16cfe09, 0x94fdcceb, 0x5001e420,
         0x24126ea1},
    };
    for (int i = 0; i < 3; i++) {
        uint32_t out[4];
        cn_philox4x32_10(kat[i], kat[i] + 4, out);
        for (int k = 0; k < 4; k++) CHECK_MSG(out[k] == kat[i][6 + k], "kat %d word %d: %08x != %08x", i, k, out[k], kat[i][6 + k]);
    }
}

static void test_seek_and_streams(void)
{
    cn_rng a, b;
    cn_rng_init(&a, 42, CN_STREAM_INIT);
    uint32_t first[10];
    for (int i = 0; i < 10; i++) first[i] = cn_rng_u32(&a);
    cn_rng_init(&b, 42, CN_STREAM_INIT);
    cn_rng_seek(&b, 7);
    CHECK(cn_rng_u32(&b) == first[7]);
    /* another stream or seed gives different numbers */
    cn_rng_init(&b, 42, CN_STREAM_DROPOUT);
    int same = 0;
    for (int i = 0; i < 10; i++) same += cn_rng_u32(&b) == first[i];
    CHECK(same < 2);
    cn_rng_init(&b, 43, CN_STREAM_INIT);
    same = 0;
    for (int i = 0; i < 10; i++) same += cn_rng_u32(&b) == first[i];
    CHECK(same < 2);
}

static void fill_all(int threads, float *u, float *nrm, float *bern, size_t n)
{
    cn_set_num_threads(threads);
    cn_rng r;
    cn_rng_init(&r, 7, CN_STREAM_USER);
    cn_rng_fill_uniform(&r, u, n, -1, 1);
    cn_rng_fill_normal(&r, nrm, n, 0, 1);
    cn_rng_fill_bernoulli(&r, bern, n, 0.3f);
    cn_set_num_threads(0);
}

static void test_same_seed_any_thread_count(void)
{
    size_t n = 200003;
    float *u1 = malloc(n * 4), *n1 = malloc(n * 4), *b1 = malloc(n * 4);
    float *u2 = malloc(n * 4), *n2 = malloc(n * 4), *b2 = malloc(n * 4);
    fill_all(1, u1, n1, b1, n);
    fill_all(3, u2, n2, b2, n);
    CHECK(!memcmp(u1, u2, n * 4));
    CHECK(!memcmp(n1, n2, n * 4));
    CHECK(!memcmp(b1, b2, n * 4));
    /* the fill equals drawing one by one */
    cn_rng r;
    cn_rng_init(&r, 7, CN_STREAM_USER);
    int mismatch = 0;
    for (size_t i = 0; i < 1000; i++) mismatch += (-1 + 2 * cn_rng_uniform(&r)) != u1[i];
    CHECK_EQ_INT(mismatch, 0);
    /* statistics: uniform(-1,1) mean 0 var 1/3; normal mean 0 var 1; bernoulli mean 0.3 */
    double su = 0, suu = 0, sn = 0, snn = 0, sb = 0;
    float umin = 1, umax = -1;
    for (size_t i = 0; i < n; i++) {
        su += u1[i], suu += (double)u1[i] * u1[i];
        sn += n1[i], snn += (double)n1[i] * n1[i];
        sb += b1[i];
        umin = u1[i] < umin ? u1[i] : umin;
        umax = u1[i] > umax ? u1[i] : umax;
    }
    /* tolerances: ~5 standard errors of the mean for n = 2e5 */
    CHECK_NEAR(su / n, 0, 5 * 0.577 / 447);
    CHECK_NEAR(suu / n, 1.0 / 3, 0.01);
    CHECK_NEAR(sn / n, 0, 5.0 / 447);
    CHECK_NEAR(snn / n, 1, 0.02);
    CHECK_NEAR(sb / n, 0.3, 5 * 0.458 / 447);
    CHECK(umin >= -1 && umax < 1);
    free(u1), free(n1), free(b1), free(u2), free(n2), free(b2);
}

static void test_below_is_unbiased_and_in_range(void)
{
    cn_rng r;
    cn_rng_init(&r, 1, CN_STREAM_SHUFFLE);
    int counts[7] = {0};
    for (int i = 0; i < 70000; i++) {
        uint32_t v = cn_rng_below(&r, 7);
        CHECK(v < 7);
        counts[v]++;
    }
    for (int k = 0; k < 7; k++) CHECK_NEAR(counts[k], 10000, 500);
    CHECK(cn_rng_below(&r, 1) == 0);
    double d = cn_rng_uniform_f64(&r);
    CHECK(d >= 0 && d < 1);
}

int main(void)
{
    RUN(test_philox_known_answers);
    RUN(test_seek_and_streams);
    RUN(test_same_seed_any_thread_count);
    RUN(test_below_is_unbiased_and_in_range);
    return cn_test_finish();
}
