/* test_norm_fast.c — batch norm's fast kernels (cn_batchnorm_*) against their double-precision
 * reference twins (cn_batchnorm_ref_*), in both modes, forward and backward, over shapes whose
 * rows are shorter than, equal to and longer than the SIMD lane count (with tails), a (N, C)
 * input (S = 1), and one large enough to split channels over threads; at 1 and 2 threads.
 * Inputs sit on an offset of 3 so the mean matters, gamma / beta are random or absent, and the
 * backward kernels accumulate into nonzero gradients. Tolerance: both compute in double and
 * differ in the order of the sums (lanes vs one serial sum) and the grouping of the affine
 * map, which moves results by a rounding to float or two: 1e-6 * (1 + max |reference|); a
 * dropped or doubled element in the small shapes moves a channel's statistics by over 1e-2. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "convnet/norm.h"
#include "test.h"

static const int64_t shapes[][3] = {{2, 3, 1}, {4, 5, 17}, {1, 2, 33}, {3, 7, 16}, {64, 40, 1}, {8, 16, 784}};

static float max_abs(const float *a, int64_t n)
{
    float m = 0;
    for (int64_t i = 0; i < n; i++) m = fmaxf(m, fabsf(a[i]));
    return m;
}

static void close_to(const float *got, const float *want, int64_t n, const char *what, const int64_t *sh, int affine)
{
    char label[128];
    snprintf(label, sizeof label, "%s N=%lld C=%lld S=%lld affine=%d", what, (long long)sh[0], (long long)sh[1],
             (long long)sh[2], affine);
    CHECK(CHECK_ALLCLOSE(got, want, n, 1e-6 * (1 + max_abs(want, n)), 0, label));
}

static float *fill(cn_rng *r, int64_t n, float lo, float hi)
{
    float *p = malloc((size_t)n * sizeof *p);
    if (!p) abort();
    cn_rng_fill_uniform(r, p, n, lo, hi);
    return p;
}

static float *copy(const float *a, int64_t n)
{
    float *p = malloc((size_t)n * sizeof *p);
    if (!p) abort();
    memcpy(p, a, (size_t)n * sizeof *p);
    return p;
}

static void one_shape(cn_rng *r, const int64_t *sh, int affine)
{
    cn_norm_geom g = {.n = sh[0], .c = sh[1], .s = sh[2], .groups = 1, .eps = 1e-5f, .momentum = 0.1f};
    const int64_t N = g.n * g.c * g.s, C = g.c;
    float *x = fill(r, N, 2, 4), *dy = fill(r, N, -1, 1);
    float *gamma = affine ? fill(r, C, 0.5f, 2) : NULL, *beta = affine ? fill(r, C, -1, 1) : NULL;
    float *y1 = fill(r, N, 0, 1), *y2 = copy(y1, N), *c1 = fill(r, 2 * C, 0, 1), *c2 = copy(c1, 2 * C);
    float *rm1 = fill(r, C, -1, 1), *rm2 = copy(rm1, C), *rv1 = fill(r, C, 0.5f, 2), *rv2 = copy(rv1, C);

    cn_batchnorm_ref_forward_train(y1, c1, rm1, rv1, x, gamma, beta, &g);
    cn_batchnorm_forward_train(y2, c2, rm2, rv2, x, gamma, beta, &g);
    close_to(y2, y1, N, "forward train: y", sh, affine);
    close_to(c2, c1, 2 * C, "forward train: cache", sh, affine);
    close_to(rm2, rm1, C, "forward train: running mean", sh, affine);
    close_to(rv2, rv1, C, "forward train: running var", sh, affine);

    float *dx1 = fill(r, N, -1, 1), *dx2 = copy(dx1, N), *dg1 = fill(r, C, -1, 1), *dg2 = copy(dg1, C);
    float *db1 = fill(r, C, -1, 1), *db2 = copy(db1, C);
    cn_batchnorm_ref_backward_train(dx1, dg1, db1, dy, x, c1, gamma, &g);
    cn_batchnorm_backward_train(dx2, dg2, db2, dy, x, c1, gamma, &g);
    close_to(dx2, dx1, N, "backward train: dx", sh, affine);
    close_to(dg2, dg1, C, "backward train: dgamma", sh, affine);
    close_to(db2, db1, C, "backward train: dbeta", sh, affine);
    /* only the parameter gradients */
    cn_batchnorm_ref_backward_train(NULL, dg1, db1, dy, x, c1, gamma, &g);
    cn_batchnorm_backward_train(NULL, dg2, db2, dy, x, c1, gamma, &g);
    close_to(dg2, dg1, C, "backward train (no dx): dgamma", sh, affine);

    cn_batchnorm_ref_forward_eval(y1, x, gamma, beta, rm1, rv1, &g);
    cn_batchnorm_forward_eval(y2, x, gamma, beta, rm1, rv1, &g);
    close_to(y2, y1, N, "forward eval: y", sh, affine);
    cn_batchnorm_ref_backward_eval(dx1, dg1, db1, dy, x, gamma, rm1, rv1, &g);
    cn_batchnorm_backward_eval(dx2, dg2, db2, dy, x, gamma, rm1, rv1, &g);
    close_to(dx2, dx1, N, "backward eval: dx", sh, affine);
    close_to(dg2, dg1, C, "backward eval: dgamma", sh, affine);
    close_to(db2, db1, C, "backward eval: dbeta", sh, affine);

    float *bufs[] = {x, dy, gamma, beta, y1, y2, c1, c2, rm1, rm2, rv1, rv2, dx1, dx2, dg1, dg2, db1, db2};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) free(bufs[i]);
}

static void test_fast_matches_reference(void)
{
    const cn_isa orig = cn_isa_active();
    int tested = 0;
    for (int isa = 0; isa < CN_ISA_COUNT_; isa++) {
        if (cn_isa_select((cn_isa)isa) != CN_OK) continue;
        tested++;
        cn_rng r;
        cn_rng_init(&r, 17, CN_STREAM_USER);
        for (int threads = 1; threads <= 2; threads++) {
            CHECK_OK(cn_set_num_threads(threads));
            for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
                for (int affine = 0; affine <= 1; affine++) one_shape(&r, shapes[i], affine);
        }
    }
    CHECK(tested >= 1);
    CHECK_OK(cn_isa_select(orig));
    CHECK_OK(cn_set_num_threads(0));
}

/* every ISA's row loops compute the same operations in the same order: the same bits, forward
 * and backward, in both modes */
static void test_same_bits_on_every_isa(void)
{
    cn_rng r;
    cn_rng_init(&r, 9, CN_STREAM_USER);
    cn_norm_geom g = {.n = 3, .c = 5, .s = 83, .groups = 1, .eps = 1e-5f, .momentum = 0.1f};
    const int64_t N = g.n * g.c * g.s, C = g.c;
    float *x = fill(&r, N, -3, 5), *dy = fill(&r, N, -1, 1), *gamma = fill(&r, C, 0.5f, 2), *beta = fill(&r, C, -1, 1);
    float *rm = fill(&r, C, -1, 1), *rv = fill(&r, C, 0.5f, 2), *base = NULL;
    const cn_isa orig = cn_isa_active();
    const int64_t per = 2 * N + 2 * C; /* out: y (N), dx (N), the cache (2C), then the eval y (N) */
    for (int isa = 0; isa < CN_ISA_COUNT_; isa++) {
        if (cn_isa_select((cn_isa)isa) != CN_OK) continue;
        float *out = calloc((size_t)(per + N), sizeof(float));
        if (!out) abort();
        cn_batchnorm_forward_train(out, out + 2 * N, NULL, NULL, x, gamma, beta, &g);
        cn_batchnorm_backward_train(out + N, NULL, NULL, dy, x, out + 2 * N, gamma, &g);
        cn_batchnorm_forward_eval(out + per, x, gamma, beta, rm, rv, &g);
        if (!base) {
            base = out;
            continue;
        }
        CHECK_MSG(!memcmp(base, out, (size_t)(per + N) * sizeof(float)), "%s differs from the first ISA",
                  cn_isa_name((cn_isa)isa));
        free(out);
    }
    CHECK_OK(cn_isa_select(orig));
    free(base), free(x), free(dy), free(gamma), free(beta), free(rm), free(rv);
}

/* the same call twice gives the same bits, at any thread count (channels do not share sums) */
static void test_deterministic_across_threads(void)
{
    cn_rng r;
    cn_rng_init(&r, 5, CN_STREAM_USER);
    cn_norm_geom g = {.n = 8, .c = 16, .s = 784, .groups = 1, .eps = 1e-5f, .momentum = 0.1f};
    const int64_t N = g.n * g.c * g.s;
    float *x = fill(&r, N, -2, 2), *dy = fill(&r, N, -1, 1), *y[2], *dx[2], cache[2][32], dg[2][16], db[2][16];
    for (int t = 0; t < 2; t++) {
        CHECK_OK(cn_set_num_threads(t + 1));
        y[t] = malloc((size_t)N * sizeof(float));
        dx[t] = calloc((size_t)N, sizeof(float));
        memset(dg[t], 0, sizeof dg[t]);
        memset(db[t], 0, sizeof db[t]);
        if (!y[t] || !dx[t]) abort();
        cn_batchnorm_forward_train(y[t], cache[t], NULL, NULL, x, NULL, NULL, &g);
        cn_batchnorm_backward_train(dx[t], dg[t], db[t], dy, x, cache[t], NULL, &g);
    }
    CHECK(!memcmp(y[0], y[1], (size_t)N * sizeof(float)));
    CHECK(!memcmp(dx[0], dx[1], (size_t)N * sizeof(float)));
    CHECK(!memcmp(dg[0], dg[1], sizeof dg[0]) && !memcmp(db[0], db[1], sizeof db[0]));
    CHECK_OK(cn_set_num_threads(0));
    free(x), free(dy), free(y[0]), free(y[1]), free(dx[0]), free(dx[1]);
}

int main(void)
{
    RUN(test_fast_matches_reference);
    RUN(test_same_bits_on_every_isa);
    RUN(test_deterministic_across_threads);
    return cn_test_finish();
}
