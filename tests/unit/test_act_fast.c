/* test_act_fast.c — the SIMD activations (cn_act_forward / cn_act_backward on AVX2 and
 * AVX-512) against the reference twins (cn_act_ref_*) for the kinds they cover, on a dense
 * sweep of [-120, 120] plus the special values (+-0, +-inf, NaN, tiny, huge), with lengths
 * that leave every vector tail, in place and out of place.
 *
 * Tolerance: the reference rounds an exact-to-double result once (0.5 ulp). The SIMD exp has
 * a relative error below ~2e-7 (degree-7 Taylor after range reduction: truncation 6e-9, plus
 * a few float roundings), and tanh / sigmoid add a division and a subtraction: within
 * 8 ulp-ish, so |fast - ref| <= 1e-6 * |ref| + 1.2e-38 (results below the normal float range
 * may flush to 0). RELU, LEAKY_RELU and IDENTITY, forward and backward, must be bit-exact
 * (the reference's double arithmetic rounds to the same float there), and so must every NaN
 * and signed zero of RELU. A wrong branch or formula is off by O(1). */
#include <stdlib.h>
#include <string.h>

#include "test.h"

#define NV 4096

static int same_bits(float a, float b) { return !memcmp(&a, &b, sizeof a) || (isnan(a) && isnan(b)); }

static void sweep(float *x, int n)
{
    const float special[] = {0.0f, -0.0f, INFINITY, -INFINITY, NAN, 1e-30f, -1e-30f, 1e30f, -1e30f, 0.3f, -0.3f,
                             0.29999998f, -0.30000001f, 88.0f, -88.0f, 104.0f, -104.0f, 1e-45f, 20.0f, -20.0f};
    const int ns = (int)(sizeof special / sizeof special[0]);
    for (int i = 0; i < n; i++) x[i] = i < ns ? special[i] : -120.0f + 240.0f * (float)(i - ns) / (float)(n - ns);
}

static void test_fast_vs_reference(void)
{
    static float x[NV], y1[NV], y2[NV], dy[NV], dx1[NV], dx2[NV];
    sweep(x, NV);
    cn_rng r;
    cn_rng_init(&r, 31, CN_STREAM_USER);
    cn_rng_fill_uniform(&r, dy, NV, -1, 1);
    const cn_isa orig = cn_isa_active();
    struct { cn_act_kind kind; float slope; int exact; } kinds[] = {
        {CN_ACT_IDENTITY, 0, 1}, {CN_ACT_RELU, 0, 1}, {CN_ACT_LEAKY_RELU, 0.1f, 1}, {CN_ACT_LEAKY_RELU, -0.2f, 1},
        {CN_ACT_SIGMOID, 0, 0}, {CN_ACT_TANH, 0, 0},
    };
    int tested = 0;
    for (int isa = 0; isa < CN_ISA_COUNT_; isa++) {
        if (cn_isa_select((cn_isa)isa) != CN_OK) continue;
        tested++;
        for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
            cn_act a = cn_act_make(kinds[k].kind);
            if (kinds[k].kind == CN_ACT_LEAKY_RELU) a.slope = kinds[k].slope;
            for (int n = NV - 15; n <= NV; n += 5) { /* lengths leaving each tail */
                cn_act_ref_forward(y1, x, n, &a);
                cn_act_forward(y2, x, n, &a);
                int bad = -1;
                for (int i = 0; i < n && bad < 0; i++) {
                    if (kinds[k].exact || isnan(y1[i]) || isinf(y1[i]) || y1[i] == 0.0f) {
                        if (kinds[k].exact ? !same_bits(y1[i], y2[i]) : !(same_bits(y1[i], y2[i]) || fabsf(y2[i]) <= 1.2e-38f))
                            bad = i;
                    } else if (!(fabs((double)y2[i] - y1[i]) <= 1e-6 * fabs(y1[i]) + 1.2e-38)) {
                        bad = i;
                    }
                }
                CHECK_MSG(bad < 0, "%s slope %g (%s) n%d: f(%.9g) = %.9g, reference %.9g", cn_act_name(a.kind), a.slope,
                          cn_isa_name((cn_isa)isa), n, bad >= 0 ? x[bad] : 0, bad >= 0 ? y2[bad] : 0, bad >= 0 ? y1[bad] : 0);
                /* in place gives the same bits */
                memcpy(dx2, x, sizeof x);
                cn_act_forward(dx2, dx2, n, &a);
                CHECK_MSG(!memcmp(dx2, y2, (size_t)n * 4) || n == 0, "%s (%s): in place differs", cn_act_name(a.kind),
                          cn_isa_name((cn_isa)isa));
                /* backward from the reference's y (and x), accumulating onto dy */
                memcpy(dx1, dy, sizeof dx1), memcpy(dx2, dy, sizeof dx2);
                cn_act_ref_backward(dx1, dy, x, y1, n, &a);
                cn_act_backward(dx2, dy, x, y1, n, &a);
                bad = -1;
                for (int i = 0; i < n && bad < 0; i++) {
                    if (kinds[k].exact ? !same_bits(dx1[i], dx2[i])
                                       : !(same_bits(dx1[i], dx2[i]) || fabs((double)dx2[i] - dx1[i]) <= 1e-6 * (fabs(dx1[i]) + fabs(dy[i]))))
                        bad = i;
                }
                CHECK_MSG(bad < 0, "%s backward (%s) n%d at x = %.9g: %.9g vs reference %.9g", cn_act_name(a.kind),
                          cn_isa_name((cn_isa)isa), n, bad >= 0 ? x[bad] : 0, bad >= 0 ? dx2[bad] : 0, bad >= 0 ? dx1[bad] : 0);
                CHECK(!memcmp(dx2 + n, dy + n, (size_t)(NV - n) * 4)); /* nothing past n */
            }
        }
    }
    CHECK(tested >= 1);
    CHECK_OK(cn_isa_select(orig));
}

/* Tensors of more than two blocks run in blocks over threads: every value, including those
 * at the block edges and in the last partial block, is the one-thread value, forward and
 * backward (each value is computed alone, so the bits agree). */
static void test_threaded_blocks(void)
{
    enum { N = 3 * 32768 + 77 };
    static float x[N], dy[N], y1[N], y2[N], dx1[N], dx2[N];
    cn_rng r;
    cn_rng_init(&r, 32, CN_STREAM_USER);
    cn_rng_fill_uniform(&r, x, N, -4, 4);
    cn_rng_fill_uniform(&r, dy, N, -1, 1);
    const cn_act_kind kinds[] = {CN_ACT_RELU, CN_ACT_TANH, CN_ACT_ELU};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        cn_act a = cn_act_make(kinds[k]);
        CHECK_OK(cn_set_num_threads(1));
        cn_act_forward(y1, x, N, &a);
        memcpy(dx1, dy, sizeof dx1);
        cn_act_backward(dx1, dy, x, y1, N, &a);
        CHECK_OK(cn_set_num_threads(2));
        cn_act_forward(y2, x, N, &a);
        memcpy(dx2, dy, sizeof dx2);
        cn_act_backward(dx2, dy, x, y1, N, &a);
        CHECK_MSG(!memcmp(y1, y2, sizeof y1) && !memcmp(dx1, dx2, sizeof dx1), "%s: 2 threads differ from 1",
                  cn_act_name(a.kind));
        /* and the values are the activation's: the last element, past the last full block */
        cn_act_ref_forward(y1, x + N - 1, 1, &a);
        CHECK_MSG(fabsf(y1[0] - y2[N - 1]) <= 1e-6f * (1 + fabsf(y1[0])), "%s: last element %.9g vs %.9g",
                  cn_act_name(a.kind), y2[N - 1], y1[0]);
    }
    CHECK_OK(cn_set_num_threads(0));
}

int main(void)
{
    RUN(test_fast_vs_reference);
    RUN(test_threaded_blocks);
    return cn_test_finish();
}
