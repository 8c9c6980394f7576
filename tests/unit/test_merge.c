/* test_merge.c — elementwise add of k inputs and concatenation along an axis: values against an
 * independent multi-index computation, backward (copy / split) by gradient check and by value,
 * NULL gradients skipped, and shape errors that name both shapes. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "convnet/ops.h"
#include "gradcheck.h"
#include "test.h"

static void test_add(void)
{
    cn_shape s[3];
    for (int i = 0; i < 3; i++) CHECK_OK(cn_shape_make(&s[i], 4, (int64_t[]){2, 3, 2, 2}));
    cn_shape out;
    CHECK_OK(cn_add_check(&out, s, 3, "res"));
    CHECK(cn_shape_equal(&out, &s[0]));
    float a[24], b[24], c[24], y[24];
    for (int i = 0; i < 24; i++) a[i] = (float)i, b[i] = 0.5f * (float)i, c[i] = -1.0f;
    const float *xs[3] = {a, b, c};
    cn_add_forward(y, xs, 3, 24);
    for (int i = 0; i < 24; i++) CHECK(y[i] == 1.5f * (float)i - 1.0f);
    /* in place into the first input */
    cn_add_forward(a, xs, 2, 24);
    CHECK(a[4] == 6.0f);
    /* backward: every input receives dy; NULL is skipped */
    float dy[24], da[24] = {0}, dc[24];
    for (int i = 0; i < 24; i++) dy[i] = (float)(i % 5) - 2, dc[i] = 1;
    float *dxs[3] = {da, NULL, dc};
    cn_add_backward(dxs, dy, 3, 24);
    for (int i = 0; i < 24; i++) CHECK(da[i] == dy[i] && dc[i] == 1 + dy[i]);
}

/* Large sums run in blocks over threads: at 2 threads every element (block edges and the
 * partial last block included) is its exact sum, forward and backward. */
static void test_add_threaded(void)
{
    enum { N = 3 * 32768 + 91 };
    static float a[N], b[N], y[N], dy[N], da[N], db[N];
    for (int i = 0; i < N; i++) a[i] = (float)(i % 1000), b[i] = 0.25f * (float)(i % 7), dy[i] = (float)(i % 3) - 1;
    CHECK_OK(cn_set_num_threads(2));
    const float *xs[2] = {a, b};
    cn_add_forward(y, xs, 2, N);
    int bad = -1;
    for (int i = 0; i < N && bad < 0; i++)
        if (y[i] != (float)(i % 1000) + 0.25f * (float)(i % 7)) bad = i;
    CHECK_MSG(bad < 0, "add forward at %d", bad);
    for (int i = 0; i < N; i++) da[i] = 1, db[i] = 0;
    float *dxs[3] = {da, NULL, db};
    cn_add_backward(dxs, dy, 3, N);
    bad = -1;
    for (int i = 0; i < N && bad < 0; i++)
        if (da[i] != 1 + dy[i] || db[i] != dy[i]) bad = i;
    CHECK_MSG(bad < 0, "add backward at %d", bad);
    CHECK_OK(cn_set_num_threads(0));
}

/* Two inputs take a float add: it must equal the double sum rounded to float, bit for bit, over
 * magnitudes from 2^-30 to 2^30, cancellations and signed zeros (a rounding-mode or an
 * operand mistake shows on the first inexact sum). */
static void test_add_two_exact(void)
{
    enum { N = 4099 };
    static float a[N], b[N], y[N];
    cn_rng r;
    cn_rng_init(&r, 44, CN_STREAM_USER);
    for (int i = 0; i < N; i++) {
        a[i] = ldexpf(cn_rng_uniform(&r) * 2 - 1, (int)cn_rng_below(&r, 61) - 30);
        b[i] = i % 5 == 0 ? -a[i] * (1 + ldexpf(1, -20)) : ldexpf(cn_rng_uniform(&r) * 2 - 1, (int)cn_rng_below(&r, 61) - 30);
    }
    a[0] = -0.0f, b[0] = -0.0f;
    const float *xs[2] = {a, b};
    cn_add_forward(y, xs, 2, N);
    int bad = -1;
    for (int i = 0; i < N && bad < 0; i++) {
        const float want = (float)((double)a[i] + (double)b[i]);
        if (memcmp(&want, &y[i], sizeof want)) bad = i;
    }
    CHECK_MSG(bad < 0, "add of two at %d: %.9g + %.9g = %.9g", bad, bad >= 0 ? a[bad] : 0, bad >= 0 ? b[bad] : 0,
              bad >= 0 ? y[bad] : 0);
}

typedef struct {
    float **xs;
    int k;
    float *y;
    const double *r;
    int64_t n;
} add_ctx;

static double add_loss(void *p)
{
    add_ctx *c = p;
    cn_add_forward(c->y, (const float *const *)c->xs, c->k, c->n);
    double l = 0;
    for (int64_t i = 0; i < c->n; i++) l += c->y[i] * c->r[i];
    return l;
}

/* y is linear in every input with slope 1: exact differences up to the rounding of y (|y| < 8,
 * 4.8e-7 over 0.02 = 2.4e-5 against |dx| = |r| >= 0.1 by construction): tol 1e-3 */
static void test_add_gradcheck(void)
{
    static const char *const cases[] = {"k=1 n=5", "k=2 n=12", "k=4 n=7"};
    cn_rng rng;
    cn_rng_init(&rng, 40, CN_STREAM_USER);
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        int k;
        long long n;
        sscanf(cases[c], "k=%d n=%lld", &k, &n);
        float *xs[4], *dxs[4], y[16], dy[16];
        double r[16];
        for (int i = 0; i < k; i++) {
            xs[i] = malloc(sizeof(float) * n);
            dxs[i] = calloc(n, sizeof(float));
            cn_rng_fill_normal(&rng, xs[i], (size_t)n, 0, 1);
        }
        for (int64_t i = 0; i < n; i++) r[i] = dy[i] = (0.1f + cn_rng_uniform(&rng)) * (i % 2 ? -1 : 1);
        cn_add_backward(dxs, dy, k, n);
        add_ctx ctx = {xs, k, y, r, n};
        for (int i = 0; i < k; i++) {
            char label[64];
            snprintf(label, sizeof label, "add %s input %d", cases[c], i);
            CHECK_GRAD(cn_gradcheck(add_loss, &ctx, xs[i], dxs[i], n, 1e-2, 1e-1), 1e-3, label);
        }
        for (int i = 0; i < k; i++) free(xs[i]), free(dxs[i]);
    }
}

/* the element of the concat output at multi-index idx, computed from the inputs directly */
static float concat_ref(const float *const *xs, const cn_shape *in, int k, int axis, const int64_t *idx, int nd)
{
    int64_t pos = idx[axis];
    int i = 0;
    while (pos >= in[i].dim[axis]) pos -= in[i].dim[axis], i++;
    int64_t off = 0;
    for (int d = 0; d < nd; d++) off = off * in[i].dim[d] + (d == axis ? pos : idx[d]);
    (void)k;
    return xs[i][off];
}

typedef struct {
    const cn_shape *in;
    int k, axis;
    float **xs;
    float *y;
    const double *r;
    int64_t n_out;
} cat_ctx;

static double cat_loss(void *p)
{
    cat_ctx *c = p;
    cn_concat_forward(c->y, (const float *const *)c->xs, c->in, c->k, c->axis);
    double l = 0;
    for (int64_t i = 0; i < c->n_out; i++) l += c->y[i] * c->r[i];
    return l;
}

/* one configuration per line: the input shapes (';'-separated) and the axis */
static const char *const cat_cases[] = {
    "8x4x3x3;8x2x3x3 axis=1",        /* U-Net style channel concat (smaller) */
    "2x3x4;2x3x4;2x3x1 axis=2",
    "2x3x4;2x3x4;2x3x1 axis=-1",
    "1x5;3x5 axis=0",
    "2x1x2x2x3;2x3x2x2x3 axis=1",
    "4x6 axis=1",                    /* a single input is a copy */
};

static void test_concat(void)
{
    cn_rng rng;
    cn_rng_init(&rng, 41, CN_STREAM_USER);
    for (size_t c = 0; c < sizeof cat_cases / sizeof *cat_cases; c++) {
        char buf[128], *save = NULL;
        snprintf(buf, sizeof buf, "%s", cat_cases[c]);
        char *shapes = strtok_r(buf, " ", &save), *ax = strtok_r(NULL, " ", &save);
        int axis = atoi(ax + 5);
        cn_shape in[4];
        int k = 0;
        for (char *s2, *tok = strtok_r(shapes, ";", &s2); tok; tok = strtok_r(NULL, ";", &s2)) CHECK_OK(cn_shape_parse(&in[k++], tok));
        cn_shape out;
        CHECK_OK(cn_concat_check(&out, in, k, axis, cat_cases[c]));
        int nd = out.ndim, a = axis < 0 ? axis + nd : axis;
        int64_t n_out = cn_shape_numel(&out);
        float *xs[4], *dxs[4];
        for (int i = 0; i < k; i++) {
            int64_t n = cn_shape_numel(&in[i]);
            xs[i] = malloc(sizeof(float) * n);
            dxs[i] = calloc(n, sizeof(float));
            cn_rng_fill_normal(&rng, xs[i], (size_t)n, 0, 1);
        }
        float *y = malloc(sizeof(float) * n_out), *dy = malloc(sizeof(float) * n_out);
        double *r = malloc(sizeof(double) * n_out);
        for (int64_t i = 0; i < n_out; i++) r[i] = dy[i] = 2 * cn_rng_uniform(&rng) - 1;
        cn_concat_forward(y, (const float *const *)xs, in, k, axis);
        /* every output element against the multi-index reference */
        int64_t bad = 0, idx[5] = {0};
        for (int64_t i = 0; i < n_out; i++) {
            int64_t rem = i;
            for (int d = nd - 1; d >= 0; d--) idx[d] = rem % out.dim[d], rem /= out.dim[d];
            bad += y[i] != concat_ref((const float *const *)xs, in, k, a, idx, nd);
        }
        CHECK_MSG(bad == 0, "%s: %lld elements misplaced", cat_cases[c], (long long)bad);
        /* backward splits dy: the split of the concat is the identity */
        cn_concat_backward(dxs, dy, in, k, axis);
        float *dx_cat = malloc(sizeof(float) * n_out);
        cn_concat_forward(dx_cat, (const float *const *)dxs, in, k, axis);
        CHECK_MSG(!memcmp(dx_cat, dy, sizeof(float) * n_out), "%s: concat(split(dy)) != dy", cat_cases[c]);
        /* and the gradient check per input (linear: exact up to rounding; tol 1e-5) */
        cat_ctx ctx = {in, k, axis, xs, y, r, n_out};
        for (int i = 0; i < k; i++) {
            char label[160];
            snprintf(label, sizeof label, "%s input %d", cat_cases[c], i);
            CHECK_GRAD(cn_gradcheck(cat_loss, &ctx, xs[i], dxs[i], cn_shape_numel(&in[i]), 1e-2, 1e-1), 1e-5, label);
        }
        /* NULL gradients are skipped, the others still accumulate */
        float *first = calloc(cn_shape_numel(&in[0]), sizeof(float));
        float *only[4] = {first, NULL, NULL, NULL};
        cn_concat_backward(only, dy, in, k, axis);
        CHECK(!memcmp(first, dxs[0], sizeof(float) * cn_shape_numel(&in[0])));
        free(first);
        for (int i = 0; i < k; i++) free(xs[i]), free(dxs[i]);
        free(y), free(dy), free(r), free(dx_cat);
    }
}

static void test_errors(void)
{
    cn_shape s[3], out;
    CHECK_OK(cn_shape_make(&s[0], 4, (int64_t[]){8, 64, 28, 28}));
    CHECK_OK(cn_shape_make(&s[1], 4, (int64_t[]){8, 32, 28, 28}));
    CHECK_ERR(cn_add_check(&out, s, 2, "res1"), CN_STATUS_SHAPE, "add 'res1': input 0 is 8x64x28x28, input 1 is 8x32x28x28");
    CHECK_ERR(cn_add_check(&out, s, 0, "res1"), CN_STATUS_INVALID_ARG, "at least 1 input");
    /* channel concat of those two is fine */
    CHECK_OK(cn_concat_check(&out, s, 2, 1, "up3"));
    CHECK(out.dim[1] == 96 && out.dim[2] == 28);
    CHECK_OK(cn_shape_make(&s[1], 4, (int64_t[]){8, 32, 56, 56}));
    CHECK_ERR(cn_concat_check(&out, s, 2, 1, "up3"), CN_STATUS_SHAPE,
              "concat 'up3': input 0 is 8x64x28x28, input 1 is 8x32x56x56: they differ on axis 2, not only on the concat axis 1");
    CHECK_OK(cn_shape_make(&s[1], 3, (int64_t[]){8, 64, 28}));
    CHECK_ERR(cn_concat_check(&out, s, 2, 1, "up3"), CN_STATUS_SHAPE, "input 0 is 8x64x28x28, input 1 is 8x64x28: ranks differ");
    CHECK_ERR(cn_concat_check(&out, s, 1, 4, "up3"), CN_STATUS_INVALID_ARG, "axis 4 is out of range for 4-D input 0 (8x64x28x28)");
    CHECK_ERR(cn_concat_check(&out, s, 1, -5, "up3"), CN_STATUS_INVALID_ARG, "axis -5");
}

int main(void)
{
    RUN(test_add);
    RUN(test_add_threaded);
    RUN(test_add_two_exact);
    RUN(test_add_gradcheck);
    RUN(test_concat);
    RUN(test_errors);
    return cn_test_finish();
}
