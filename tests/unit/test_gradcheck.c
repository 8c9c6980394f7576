/* test_gradcheck.c — the gradient-check helper itself: it passes a correct gradient and
 * catches a wrong one at the right index. */
#include "gradcheck.h"
#include "test.h"

/* L(x) = sum_i c_i * x_i^3, dL/dx_i = 3 c_i x_i^2 */
static float xs[6] = {0.5f, -1.0f, 2.0f, 0.25f, -0.75f, 1.5f};
static const double cs[6] = {1, -2, 0.5, 3, 1, -1};
static double cubic(void *ctx)
{
    (void)ctx;
    double l = 0;
    for (int i = 0; i < 6; i++) l += cs[i] * (double)xs[i] * xs[i] * xs[i];
    return l;
}

static void test_correct_gradient_passes(void)
{
    float g[6];
    for (int i = 0; i < 6; i++) g[i] = (float)(3 * cs[i] * xs[i] * xs[i]);
    cn_gc_report r = cn_gradcheck(cubic, NULL, xs, g, 6, 1e-3, 1e-6);
    CHECK_EQ_INT(r.count, 6);
    CHECK(r.max_rel < 1e-4);
    CHECK_GRAD(r, 1e-4, "cubic");
    /* inputs are restored */
    CHECK(xs[2] == 2.0f);
}

static void test_wrong_gradient_is_caught(void)
{
    float g[6];
    for (int i = 0; i < 6; i++) g[i] = (float)(3 * cs[i] * xs[i] * xs[i]);
    g[4] *= 1.01f; /* a 1% error at index 4 */
    cn_gc_report r = cn_gradcheck(cubic, NULL, xs, g, 6, 1e-3, 1e-6);
    CHECK_EQ_INT(r.worst, 4);
    CHECK(r.max_rel > 5e-3);
    /* strided: checks 0, 3 and the last index */
    r = cn_gradcheck_strided(cubic, NULL, xs, g, 6, 3, 1e-3, 1e-6);
    CHECK_EQ_INT(r.count, 3);
    CHECK(r.max_rel < 1e-4); /* index 4 is skipped */
}

int main(void)
{
    RUN(test_correct_gradient_passes);
    RUN(test_wrong_gradient_is_caught);
    return cn_test_finish();
}
