/* test_kernels_vec.c — every ISA's vector table against the generic (reference) one, over
 * lengths that exercise every tail; ISA selection and its errors. */
#include <stdlib.h>
#include <string.h>

#include "kernels/vec.h"
#include "test.h"

static void test_each_isa_matches_generic(void)
{
    const cn_vec_ops *ref = &cn_vec_generic;
    cn_rng r;
    cn_rng_init(&r, 3, CN_STREAM_USER);
    int tested = 0;
    for (int isa = 0; isa < CN_ISA_COUNT_; isa++) {
        const cn_vec_ops *ops = cn_vec_for((cn_isa)isa);
        if (!ops) {
            printf("     (isa %s not available on this machine/build: skipped)\n", cn_isa_name((cn_isa)isa));
            continue;
        }
        tested++;
        for (int64_t n = 0; n < 100; n++) {
            float a[100], b[100], y1[100], y2[100];
            cn_rng_fill_uniform(&r, a, 100, -1, 1);
            cn_rng_fill_uniform(&r, b, 100, -1, 1);
            double exact = 0, mag = 0;
            for (int64_t i = 0; i < n; i++) exact += (double)a[i] * b[i], mag += fabs((double)a[i] * b[i]);
            /* float summation in any order is within n * eps * sum|a_i b_i| of the exact sum */
            CHECK_NEAR(ops->dot(a, b, n), exact, 1e-7 * (double)(n + 1) * mag + 1e-30);
            memcpy(y1, b, sizeof y1);
            memcpy(y2, b, sizeof y2);
            ref->axpy(y1, 0.75f, a, n);
            ops->axpy(y2, 0.75f, a, n);
            /* fused multiply-add rounds once, the reference twice: within one ulp of |y| */
            CHECK(cn_test_allclose(y2, y1, 100, 1e-7, 2.4e-7, ops->isa, __FILE__, __LINE__));
            CHECK(!memcmp(y2 + n, b + n, (size_t)(100 - n) * 4)); /* nothing written past n */
            ref->relu(y1, a, n);
            ops->relu(y2, a, n);
            CHECK(!memcmp(y1, y2, (size_t)n * 4));
        }
        float v = ops->fma_loop(1000);
        CHECK(v > 0 && v == v);
    }
    CHECK(tested >= 1);
}

static void test_isa_selection(void)
{
    cn_isa orig = cn_isa_active();
    CHECK(cn_isa_available(orig));
    CHECK(cn_vec() == cn_vec_for(orig));
    CHECK_OK(cn_isa_select(CN_ISA_GENERIC));
    CHECK(cn_vec() == &cn_vec_generic);
    CHECK_ERR(cn_isa_select(CN_ISA_COUNT_), CN_STATUS_UNSUPPORTED, "not supported");
    CHECK_OK(cn_isa_select(orig));
    const cn_cpu_info *c = cn_cpu();
    CHECK(c->logical_cores >= 1);
#if defined(__x86_64__)
    CHECK(c->sse2); /* baseline of x86-64 */
#endif
}

int main(void)
{
    RUN(test_each_isa_matches_generic);
    RUN(test_isa_selection);
    return cn_test_finish();
}
