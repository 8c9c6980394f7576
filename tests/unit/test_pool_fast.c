/* test_pool_fast.c — max and average pooling (cn_maxpool_*, cn_avgpool_*) against their
 * reference twins (cn_*pool_ref_*): the fast path computes the same arithmetic in the same
 * order, so every output, argmax and gradient must be bit-identical, except average pooling
 * with non-overlapping windows (k = stride, no padding), which sums k*k <= 25 floats in float
 * and multiplies by 1/cnt: at most ~k*k float roundings of values <= 1 in magnitude, so
 * within 2e-6 absolute (a missing or doubled tap is off by ~0.1). Geometries (one per
 * line: "ndim n c in... k... s... pb... pe... ceil include_pad dilation") cover 1D/2D/3D,
 * padding, ceil mode, count_include_pad, windows hanging past the input, and a dilated one
 * (the reference path); inputs include ties and NaN. Also at 1 and 2 threads, and max pooling
 * without an argmax (inference: a separate values-only scan, which must give the same bits). */
#include <stdlib.h>
#include <string.h>

#include "test.h"

static const char *const lines[] = {
    "2 2 3 8 8 2 2 2 2 0 0 0 0 0 0 1",     "2 1 2 9 7 3 3 2 2 1 1 1 1 0 0 1",  "2 2 2 7 9 3 2 2 3 1 0 1 1 1 0 1",
    "2 1 3 7 7 3 3 2 2 1 1 1 1 1 1 1",     "1 2 3 20 4 3 1 2 1 0 1",        "3 1 2 5 6 7 2 3 2 2 1 2 1 0 1 0 1 0 0 0 1",
    "2 8 16 28 28 2 2 2 2 0 0 0 0 0 0 1", "2 2 3 9 9 3 3 2 2 1 1 1 1 0 0 2",  "2 1 1 5 5 5 5 1 1 0 0 0 0 0 1 1",
    "2 2 4 16 16 3 3 2 2 1 1 1 1 0 0 1", /* ResNet's stem pool (3x3, stride 2, pad 1) */
    "2 1 3 13 13 2 2 1 1 0 0 1 1 0 0 1", /* yolov3-tiny's last pool (2x2, stride 1, padded at the end) */
};

static int parse(cn_pool_geom *g, const char *line)
{
    long long v[32];
    int n = 0;
    const char *p = line;
    char *end;
    while (n < 32) {
        v[n] = strtoll(p, &end, 10);
        if (end == p) break;
        n++, p = end;
    }
    const int nd = (int)v[0];
    if (n != 3 + 5 * nd + 3) return 0;
    cn_pool_geom_init(g, nd);
    g->n = v[1], g->c = v[2];
    for (int a = 0; a < nd; a++) {
        g->in[a] = v[3 + a], g->k[a] = v[3 + nd + a], g->stride[a] = v[3 + 2 * nd + a];
        g->pad_begin[a] = v[3 + 3 * nd + a], g->pad_end[a] = v[3 + 4 * nd + a];
        g->dilation[a] = v[3 + 5 * nd + 2];
    }
    g->ceil_mode = (int)v[3 + 5 * nd], g->count_include_pad = (int)v[3 + 5 * nd + 1];
    return 1;
}

static void test_fast_equals_reference(void)
{
    cn_rng r;
    cn_rng_init(&r, 41, CN_STREAM_USER);
    for (int threads = 1; threads <= 2; threads++) {
        CHECK_OK(cn_set_num_threads(threads));
        for (size_t l = 0; l < sizeof lines / sizeof lines[0]; l++) {
            cn_pool_geom g;
            CHECK_MSG(parse(&g, lines[l]), "bad line \"%s\"", lines[l]);
            CHECK_OK(cn_pool_geom_resolve(&g, "p"));
            int64_t xn = g.n * g.c, yn = g.n * g.c;
            for (int a = 0; a < g.ndim; a++) xn *= g.in[a], yn *= g.out[a];
            float *x = malloc((size_t)xn * 4), *y1 = malloc((size_t)yn * 4), *y2 = malloc((size_t)yn * 4);
            float *dy = malloc((size_t)yn * 4), *dx1 = malloc((size_t)xn * 4), *dx2 = malloc((size_t)xn * 4);
            int64_t *a1 = malloc((size_t)yn * 8), *a2 = malloc((size_t)yn * 8);
            if (!x || !y1 || !y2 || !dy || !dx1 || !dx2 || !a1 || !a2) abort();
            cn_rng_fill_uniform(&r, x, xn, -1, 1);
            for (int64_t i = 0; i < xn; i += 7) x[i] = 0.5f; /* ties */
            if (xn > 11) x[11] = NAN;
            cn_rng_fill_uniform(&r, dy, yn, -1, 1);
            cn_maxpool_ref_forward(y1, a1, x, &g);
            cn_maxpool_forward(y2, a2, x, &g);
            CHECK_MSG(!memcmp(y1, y2, (size_t)yn * 4) && !memcmp(a1, a2, (size_t)yn * 8), "max forward \"%s\"", lines[l]);
            /* values only (inference): the same bits */
            memset(y2, 0, (size_t)yn * 4);
            cn_maxpool_forward(y2, NULL, x, &g);
            CHECK_MSG(!memcmp(y1, y2, (size_t)yn * 4), "max forward without argmax \"%s\"", lines[l]);
            cn_rng_fill_uniform(&r, dx1, xn, -1, 1);
            memcpy(dx2, dx1, (size_t)xn * 4);
            cn_maxpool_ref_backward(dx1, dy, a1, &g);
            cn_maxpool_backward(dx2, dy, a1, &g);
            CHECK_MSG(!memcmp(dx1, dx2, (size_t)xn * 4), "max backward \"%s\"", lines[l]);
            x[xn > 11 ? 11 : 0] = 0.25f;
            cn_avgpool_ref_forward(y1, x, &g);
            cn_avgpool_forward(y2, x, &g);
            CHECK(CHECK_ALLCLOSE(y2, y1, yn, 2e-6, 0, lines[l]));
            cn_rng_fill_uniform(&r, dx1, xn, -1, 1);
            memcpy(dx2, dx1, (size_t)xn * 4);
            cn_avgpool_ref_backward(dx1, dy, &g);
            cn_avgpool_backward(dx2, dy, &g);
            CHECK(CHECK_ALLCLOSE(dx2, dx1, xn, 2e-6, 0, lines[l]));
            free(x), free(y1), free(y2), free(dy), free(dx1), free(dx2), free(a1), free(a2);
        }
    }
    CHECK_OK(cn_set_num_threads(0));
}

int main(void)
{
    RUN(test_fast_equals_reference);
    return cn_test_finish();
}
