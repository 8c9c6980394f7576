/* test_viz_filter.c — hand-made image filters: the named kernels hold the lectures' numbers,
 * cn_filter_apply gives exactly the conv layer's output (an independently built model) and
 * agrees with the reference conv kernel, orientation (cross-correlation vs --flip) and known
 * answers on ramps and impulses, max pooling after the filter, and kernel text parsing. */
#include <math.h>
#include <string.h>

#include "convnet/viz.h"
#include "test.h"

/* the matrices, written out independently of src/viz/filter.c */
static const struct {
    const char *name;
    float w[9];
    float scale;
} expected[] = {
    {"identity", {0, 0, 0, 0, 1, 0, 0, 0, 0}, 1},
    {"edge1", {1, 0, -1, 0, 0, 0, -1, 0, 1}, 1},
    {"laplacian", {0, 1, 0, 1, -4, 1, 0, 1, 0}, 1},
    {"edge2", {0, 1, 0, 1, -4, 1, 0, 1, 0}, 1},
    {"edge3", {-1, -1, -1, -1, 8, -1, -1, -1, -1}, 1},
    {"sharpen", {0, -1, 0, -1, 5, -1, 0, -1, 0}, 1},
    {"box_blur", {1, 1, 1, 1, 1, 1, 1, 1, 1}, 1.0f / 9.0f},
    {"gaussian_blur", {1, 2, 1, 2, 4, 2, 1, 2, 1}, 1.0f / 16.0f},
    {"sobel_x", {-1, 0, 1, -2, 0, 2, -1, 0, 1}, 1},
    {"sobel_y", {-1, -2, -1, 0, 0, 0, 1, 2, 1}, 1},
    {"angle", {2, -1, -1, -1, 2, -1, -1, -1, 2}, 1},
};

static void test_named_kernels(void)
{
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++) {
        cn_filter_kernel k;
        CHECK_OK(cn_filter_kernel_find(&k, expected[i].name));
        CHECK_MSG(k.kh == 3 && k.kw == 3, "%s is %dx%d", expected[i].name, k.kh, k.kw);
        for (int j = 0; j < 9; j++)
            CHECK_MSG(k.w[j] == expected[i].w[j] * expected[i].scale, "%s[%d] = %g, expected %g", expected[i].name, j,
                      k.w[j], expected[i].w[j] * expected[i].scale);
    }
    CHECK(cn_filter_kernel_count() >= 11);
    for (int i = 0; i < cn_filter_kernel_count(); i++) CHECK(cn_filter_kernel_at(i)->help != NULL);
    CHECK(cn_filter_kernel_at(-1) == NULL && cn_filter_kernel_at(cn_filter_kernel_count()) == NULL);
    cn_filter_kernel k;
    CHECK_ERR(cn_filter_kernel_find(&k, "sobelx"), CN_STATUS_NOT_FOUND, "did you mean 'sobel_x'");
    CHECK_ERR(cn_filter_kernel_find(&k, "zzzzzz"), CN_STATUS_NOT_FOUND, "known: identity, edge1");
}

static void fill_random(float *x, int64_t n, uint64_t seed)
{
    cn_rng r;
    cn_rng_init(&r, seed, CN_STREAM_USER);
    for (int64_t i = 0; i < n; i++) x[i] = cn_rng_uniform(&r);
}

/* the same filter as its own model, built here: input -> conv (depthwise, no bias) [-> max_pool] */
static cn_tensor *by_conv_layer(const float *x, int c, int h, int w, const cn_filter_kernel *k, int same, int flip,
                                int pool)
{
    cn_model *m;
    cn_tensor *y = NULL;
    char opt[200];
    CHECK_OK(cn_model_create(&m));
    snprintf(opt, sizeof opt, "shape=%dx%dx%d", c, h, w);
    CHECK_OK(cn_model_add(m, "input", "in", NULL, opt));
    snprintf(opt, sizeof opt, "filters=%d groups=%d kernel=%dx%d padding=%s bias=false flip=%d", c, c, k->kh, k->kw,
             same ? "same" : "valid", flip);
    CHECK_OK(cn_model_add(m, "conv", "k", NULL, opt));
    if (pool > 1) {
        snprintf(opt, sizeof opt, "kernel=%d stride=%d", pool, pool);
        CHECK_OK(cn_model_add(m, "max_pool", "mp", NULL, opt));
    }
    CHECK_OK(cn_model_plan(m, 1, CN_PLAN_INFER));
    cn_param p;
    CHECK_OK(cn_model_param(m, 0, &p));
    for (int ch = 0; ch < c; ch++)
        for (int t = 0; t < k->kh * k->kw; t++) p.value[ch * k->kh * k->kw + t] = k->w[t];
    CHECK_OK(cn_model_forward(m, x, 0));
    cn_shape s;
    const float *out = cn_model_output(m, &s);
    CHECK_OK(cn_tensor_create(&y, 3, (int64_t[]){s.dim[1], s.dim[2], s.dim[3]}));
    if (y) memcpy(y->data, out, sizeof(float) * (size_t)cn_tensor_numel(y));
    cn_model_destroy(m);
    return y;
}

/* configurations, one per line: kernel, channels, height, width, same, flip, pool */
static const char *const grid[] = {
    "identity 3 13 11 1 0 0", "edge1 3 13 11 1 0 0",    "laplacian 1 9 17 1 0 0",      "edge3 3 8 8 0 0 0",
    "sharpen 3 12 10 1 1 0",  "box_blur 1 13 11 1 0 2", "gaussian_blur 3 16 16 1 0 4", "sobel_x 3 7 9 0 1 0",
    "sobel_y 1 10 10 1 0 3",  "angle 3 13 11 1 0 2",    "angle2 1 5 5 0 0 0",
};

static void test_bit_identical_to_conv_layer(void)
{
    for (size_t g = 0; g < sizeof grid / sizeof grid[0]; g++) {
        char name[32];
        int c, h, w, same, flip, pool;
        sscanf(grid[g], "%31s %d %d %d %d %d %d", name, &c, &h, &w, &same, &flip, &pool);
        cn_filter_kernel k;
        CHECK_OK(cn_filter_kernel_find(&k, name));
        float x[3 * 16 * 17];
        fill_random(x, (int64_t)c * h * w, g + 1);
        cn_filter_config fc = {same, flip, pool};
        cn_tensor *y = NULL, *ref = by_conv_layer(x, c, h, w, &k, same, flip, pool);
        CHECK_OK(cn_filter_apply(&y, x, c, h, w, &k, &fc));
        if (!y || !ref) continue;
        CHECK_MSG(cn_shape_equal(&y->shape, &ref->shape), "[%s] shapes differ", grid[g]);
        int oh = same ? h : h - 2, ow = same ? w : w - 2;
        if (pool > 1) oh /= pool, ow /= pool;
        CHECK_MSG(y->shape.ndim == 3 && y->shape.dim[0] == c && y->shape.dim[1] == oh && y->shape.dim[2] == ow,
                  "[%s] output %lldx%lldx%lld, expected %dx%dx%d", grid[g], (long long)y->shape.dim[0],
                  (long long)y->shape.dim[1], (long long)y->shape.dim[2], c, oh, ow);
        /* the conv layer's numbers to the last bit */
        CHECK_MSG(cn_shape_equal(&y->shape, &ref->shape) &&
                      !memcmp(y->data, ref->data, sizeof(float) * (size_t)cn_tensor_numel(y)),
                  "[%s] not bit-identical to the conv layer", grid[g]);
        /* and the reference kernel, computed directly (pooling off): equal up to the order of
         * the sums — the reference accumulates in double and rounds once, so a fast kernel
         * behind the layer may differ by a few float ulps of values of size <= 8 */
        if (pool <= 1) {
            cn_conv_geom geo;
            cn_conv_geom_init(&geo, 2);
            geo.ic = geo.oc = geo.groups = c;
            geo.in[0] = h, geo.in[1] = w, geo.k[0] = geo.k[1] = 3;
            geo.auto_pad = same ? CN_AUTO_PAD_SAME_UPPER : CN_AUTO_PAD_VALID;
            geo.flip = flip;
            CHECK_OK(cn_conv_geom_resolve(&geo, "ref"));
            float wk[27], yr[3 * 16 * 17];
            for (int ch = 0; ch < c; ch++) memcpy(wk + 9 * ch, k.w, sizeof(float) * 9);
            cn_conv_forward(yr, x, wk, NULL, &geo, NULL);
            CHECK_ALLCLOSE(y->data, yr, cn_tensor_numel(y), 4e-6, 0, grid[g]);
        }
        cn_tensor_destroy(y);
        cn_tensor_destroy(ref);
    }
}

static float at(const cn_tensor *t, int c, int y, int x)
{
    return t->data[(c * t->shape.dim[1] + y) * t->shape.dim[2] + x];
}

static void test_known_answers(void)
{
    enum { H = 9, W = 10 };
    float ramp[H * W], imp[H * W];
    /* small integers: every product and sum below is exact in float */
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) ramp[y * W + x] = (float)(3 * x + 2 * y), imp[y * W + x] = 0;
    imp[4 * W + 5] = 1;
    cn_filter_config fc = cn_filter_defaults();
    cn_filter_kernel k;
    cn_tensor *y = NULL;

    /* identity: the image itself */
    cn_filter_kernel_find(&k, "identity");
    CHECK_OK(cn_filter_apply(&y, ramp, 1, H, W, &k, &fc));
    if (y) CHECK(!memcmp(y->data, ramp, sizeof ramp));
    cn_tensor_destroy(y);

    /* Laplacian of a linear ramp: 0 inside (every interior output) */
    cn_filter_kernel_find(&k, "laplacian");
    CHECK_OK(cn_filter_apply(&y, ramp, 1, H, W, &k, &fc));
    for (int r = 1; y && r < H - 1; r++)
        for (int c = 1; c < W - 1; c++)
            CHECK_MSG(at(y, 0, r, c) == 0, "laplacian(ramp)[%d][%d] = %g", r, c, at(y, 0, r, c));
    cn_tensor_destroy(y);

    /* Sobel x of 3x + 2y: cross-correlation gives +8 * 3 = 24 inside; flipped, -24. Sobel y: 8 * 2 */
    cn_filter_kernel_find(&k, "sobel_x");
    CHECK_OK(cn_filter_apply(&y, ramp, 1, H, W, &k, &fc));
    if (y) CHECK_MSG(at(y, 0, 4, 4) == 24, "sobel_x(ramp) = %g", at(y, 0, 4, 4));
    cn_tensor_destroy(y);
    fc.flip = 1;
    CHECK_OK(cn_filter_apply(&y, ramp, 1, H, W, &k, &fc));
    if (y) CHECK_MSG(at(y, 0, 4, 4) == -24, "flipped sobel_x(ramp) = %g", at(y, 0, 4, 4));
    cn_tensor_destroy(y);
    fc.flip = 0;
    cn_filter_kernel_find(&k, "sobel_y");
    CHECK_OK(cn_filter_apply(&y, ramp, 1, H, W, &k, &fc));
    if (y) CHECK_MSG(at(y, 0, 4, 4) == 16, "sobel_y(ramp) = %g", at(y, 0, 4, 4));
    cn_tensor_destroy(y);

    /* an impulse at (4, 5): cross-correlation paints the kernel rotated by 180 degrees around it,
     * true convolution (flip) the kernel itself — an asymmetric kernel tells them apart */
    const char *text = "1 2 3\n4 5 6\n7 8 9\n";
    CHECK_OK(cn_filter_kernel_parse(&k, text, "k"));
    for (int flip = 0; flip <= 1; flip++) {
        fc.flip = flip;
        CHECK_OK(cn_filter_apply(&y, imp, 1, H, W, &k, &fc));
        for (int i = 0; y && i < 3; i++)
            for (int j = 0; j < 3; j++) {
                float want = flip ? k.w[i * 3 + j] : k.w[(2 - i) * 3 + (2 - j)];
                CHECK_MSG(at(y, 0, 3 + i, 4 + j) == want, "flip %d: response[%d][%d] = %g, expected %g", flip, i, j,
                          at(y, 0, 3 + i, 4 + j), want);
            }
        cn_tensor_destroy(y);
    }
    fc.flip = 0;

    /* max pool 2 after box blur: each output the max of its 2x2 block of the blurred image */
    cn_tensor *b = NULL, *p = NULL;
    cn_filter_kernel_find(&k, "box_blur");
    CHECK_OK(cn_filter_apply(&b, ramp, 1, H, W, &k, &fc));
    fc.max_pool = 2;
    CHECK_OK(cn_filter_apply(&p, ramp, 1, H, W, &k, &fc));
    if (b && p) {
        CHECK_EQ_INT(p->shape.dim[1], H / 2);
        CHECK_EQ_INT(p->shape.dim[2], W / 2);
        for (int r = 0; r < H / 2; r++)
            for (int c = 0; c < W / 2; c++) {
                float m = fmaxf(fmaxf(at(b, 0, 2 * r, 2 * c), at(b, 0, 2 * r, 2 * c + 1)),
                                fmaxf(at(b, 0, 2 * r + 1, 2 * c), at(b, 0, 2 * r + 1, 2 * c + 1)));
                CHECK_MSG(at(p, 0, r, c) == m, "pool[%d][%d] = %g, max of block %g", r, c, at(p, 0, r, c), m);
            }
    }
    cn_tensor_destroy(b);
    cn_tensor_destroy(p);

    /* colour: every channel filtered alone (no mixing): channel 1 of (0, ramp, 0) is the ramp */
    float rgb[3 * H * W];
    memset(rgb, 0, sizeof rgb);
    memcpy(rgb + H * W, ramp, sizeof ramp);
    fc = cn_filter_defaults();
    cn_filter_kernel_find(&k, "identity");
    CHECK_OK(cn_filter_apply(&y, rgb, 3, H, W, &k, &fc));
    if (y) CHECK(!memcmp(y->data, rgb, sizeof rgb));
    cn_tensor_destroy(y);
}

static void test_errors(void)
{
    cn_filter_kernel k;
    cn_filter_config fc = cn_filter_defaults();
    cn_tensor *y = NULL;
    float x[4] = {0};
    CHECK_OK(cn_filter_kernel_parse(&k, "1 1 1 1 1\n", "wide"));
    fc.same = 0; /* a 1x5 kernel does not fit a 2x2 image without padding */
    CHECK_ERR(cn_filter_apply(&y, x, 1, 2, 2, &k, &fc), CN_STATUS_SHAPE, "filter");
    CHECK(y == NULL);
    CHECK_ERR(cn_filter_apply(&y, x, 0, 2, 2, &k, &fc), CN_STATUS_SHAPE, "0 x 2 x 2");
    fc = cn_filter_defaults();
    fc.max_pool = -1;
    CHECK_ERR(cn_filter_apply(&y, x, 1, 2, 2, &k, &fc), CN_STATUS_INVALID_ARG, "max pool");
}

static void test_kernel_text(void)
{
    cn_filter_kernel k;
    CHECK_OK(cn_filter_kernel_parse(&k, "# a Gaussian\nscale 1/16\n1, 2, 1\n2 4 2   # centre\n[1 2 1]\n", "g.txt"));
    CHECK(k.kh == 3 && k.kw == 3);
    CHECK(k.w[4] == 0.25f && k.w[0] == 0.0625f && k.w[8] == 0.0625f);
    CHECK_OK(cn_filter_kernel_parse(&k, "[[0, -1/2, 0], [1/4, 1, 2.5e-1]]", "inline"));
    CHECK(k.kh == 1 && k.kw == 6); /* brackets are separators: one line is one row */
    CHECK(k.w[1] == -0.5f && k.w[3] == 0.25f && k.w[5] == 0.25f);
    CHECK_OK(cn_filter_kernel_parse(&k, "1 0\n0 -1\n", "roberts"));
    CHECK(k.kh == 2 && k.kw == 2 && k.w[3] == -1);
    CHECK_ERR(cn_filter_kernel_parse(&k, "1 2 3\n4 5\n", "k.txt"), CN_STATUS_FORMAT,
              "k.txt:2: row has 2 entries, the first row has 3");
    CHECK_ERR(cn_filter_kernel_parse(&k, "1 x 3\n", "k.txt"), CN_STATUS_FORMAT, "k.txt:1: 'x' is not a number");
    CHECK_ERR(cn_filter_kernel_parse(&k, "1/0\n", "k.txt"), CN_STATUS_FORMAT, "'1/0' is not a number");
    CHECK_ERR(cn_filter_kernel_parse(&k, "# nothing\n\n", "k.txt"), CN_STATUS_FORMAT, "k.txt: no kernel rows");
    CHECK_ERR(cn_filter_kernel_parse(&k, "1\nscale 2\n", "k.txt"), CN_STATUS_FORMAT, "k.txt:2: 'scale' must come once");
    CHECK_ERR(cn_filter_kernel_parse(&k, "1e999\n", "k.txt"), CN_STATUS_FORMAT, "not a number");
    char big[200] = "";
    for (int i = 0; i < 32; i++) strcat(big, "1 ");
    CHECK_ERR(cn_filter_kernel_parse(&k, big, "k.txt"), CN_STATUS_LIMIT, "more than 31 entries");
    CHECK_ERR(cn_filter_kernel_load(&k, "/nonexistent/k.txt"), CN_STATUS_IO, "/nonexistent/k.txt");
}

int main(void)
{
    RUN(test_named_kernels);
    RUN(test_bit_identical_to_conv_layer);
    RUN(test_known_answers);
    RUN(test_errors);
    RUN(test_kernel_text);
    return cn_test_finish();
}
