/* test_pad.c — constant / reflect / replicate padding, 1D-3D, asymmetric: hand examples,
 * PyTorch fixtures (F.pad forward and backward), every element against an independent
 * (periodic-formula) reference over a grid, gradient checks of the scatter-add backward, and
 * the errors (reflect pad >= size, negative pads). */
#include <stdlib.h>
#include <string.h>

#include "convnet/ops.h"
#include "fixture.h"
#include "gradcheck.h"
#include "test.h"

/* "ndim=2 n=1 c=2 in=4x5 before=1x3 after=2x0 mode=reflect value=0" -> geometry */
static cn_pad_geom parse_geom(const char *line)
{
    cn_pad_geom g;
    memset(&g, 0, sizeof g);
    g.n = g.c = 1;
    char buf[256], *save = NULL;
    snprintf(buf, sizeof buf, "%s", line);
    for (char *tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq) continue;
        *eq = 0;
        const char *v = eq + 1;
        int64_t *arr = !strcmp(tok, "in") ? g.in : !strcmp(tok, "before") ? g.before : !strcmp(tok, "after") ? g.after : NULL;
        if (arr) {
            cn_shape s;
            CHECK_OK(cn_shape_parse(&s, v));
            for (int d = 0; d < s.ndim && d < 3; d++) arr[d] = s.dim[d];
        } else if (!strcmp(tok, "ndim")) g.ndim = atoi(v);
        else if (!strcmp(tok, "n")) g.n = atoll(v);
        else if (!strcmp(tok, "c")) g.c = atoll(v);
        else if (!strcmp(tok, "value")) g.value = (float)atof(v);
        else if (!strcmp(tok, "mode"))
            g.mode = !strcmp(v, "reflect") ? CN_PAD_REFLECT : !strcmp(v, "replicate") ? CN_PAD_REPLICATE : CN_PAD_ZERO;
    }
    return g;
}

static void test_by_hand(void)
{
    float x[4] = {1, 2, 3, 4}, y[7];
    cn_pad_geom g = {.ndim = 1, .n = 1, .c = 1, .in = {4}, .before = {2}, .after = {1}, .mode = CN_PAD_REFLECT};
    CHECK_OK(cn_pad_geom_resolve(&g, "p"));
    CHECK_EQ_INT(g.out[0], 7);
    cn_pad_forward(y, x, &g);
    float e1[7] = {3, 2, 1, 2, 3, 4, 3};
    CHECK(!memcmp(y, e1, sizeof y));
    g.mode = CN_PAD_REPLICATE;
    cn_pad_forward(y, x, &g);
    float e2[7] = {1, 1, 1, 2, 3, 4, 4};
    CHECK(!memcmp(y, e2, sizeof y));
    g.mode = CN_PAD_ZERO, g.value = 9;
    cn_pad_forward(y, x, &g);
    float e3[7] = {9, 9, 1, 2, 3, 4, 9};
    CHECK(!memcmp(y, e3, sizeof y));
    /* backward with dy = 1: how many outputs read each input */
    float ones[7] = {1, 1, 1, 1, 1, 1, 1}, dx[4] = {0};
    g.mode = CN_PAD_REFLECT;
    cn_pad_backward(dx, ones, &g);
    float c1[4] = {1, 2, 3, 1}; /* y = [3 2 1 2 3 4 3]: x0 once, x1 twice, x2 three times, x3 once */
    CHECK(!memcmp(dx, c1, sizeof dx));
    memset(dx, 0, sizeof dx);
    g.mode = CN_PAD_REPLICATE;
    cn_pad_backward(dx, ones, &g);
    float c2[4] = {3, 1, 1, 2};
    CHECK(!memcmp(dx, c2, sizeof dx));
    memset(dx, 0, sizeof dx);
    g.mode = CN_PAD_ZERO;
    cn_pad_backward(dx, ones, &g);
    float c3[4] = {1, 1, 1, 1};
    CHECK(!memcmp(dx, c3, sizeof dx));
}

static void test_fixtures(void)
{
    /* fixture; pads as before/after per axis in tensor order (F.pad lists the last axis first) */
    static const char *const cases[] = {
        "pad1d_reflect     ndim=1 mode=reflect   before=3     after=2",
        "pad2d_replicate   ndim=2 mode=replicate before=1x2   after=3x0",
        "pad2d_constant    ndim=2 mode=constant  before=0x1   after=1x2   value=1.5",
        "pad2d_reflect     ndim=2 mode=reflect   before=0x4   after=3x1",
        "pad3d_reflect     ndim=3 mode=reflect   before=1x2x1 after=1x0x2",
        "pad3d_replicate   ndim=3 mode=replicate before=1x2x0 after=0x1x3",
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        char fx[32], name[64];
        sscanf(cases[k], "%31s", fx);
        /* pads may be 0, which cn_shape_parse refuses: read them by hand */
        cn_pad_geom g;
        memset(&g, 0, sizeof g);
        const char *p = strstr(cases[k], "ndim=");
        g.ndim = atoi(p + 5);
        g.mode = strstr(cases[k], "reflect") ? CN_PAD_REFLECT : strstr(cases[k], "replicate") ? CN_PAD_REPLICATE : CN_PAD_ZERO;
        const char *b = strstr(cases[k], "before=") + 7, *a = strstr(cases[k], "after=") + 6;
        for (int d = 0; d < g.ndim; d++) {
            g.before[d] = strtoll(b, (char **)&b, 10), b++;
            g.after[d] = strtoll(a, (char **)&a, 10), a++;
        }
        const char *v = strstr(cases[k], "value=");
        g.value = v ? (float)atof(v + 6) : 0;
        snprintf(name, sizeof name, "ops/%s_x", fx);
        cn_npy x = cn_fixture_load(name);
        snprintf(name, sizeof name, "ops/%s_y", fx);
        cn_npy ry = cn_fixture_load(name);
        snprintf(name, sizeof name, "ops/%s_dy", fx);
        cn_npy dy = cn_fixture_load(name);
        snprintf(name, sizeof name, "ops/%s_dx", fx);
        cn_npy rdx = cn_fixture_load(name);
        g.n = x.shape[0], g.c = x.shape[1];
        for (int d = 0; d < g.ndim; d++) g.in[d] = x.shape[2 + d];
        CHECK_OK(cn_pad_geom_resolve(&g, fx));
        CHECK_EQ_INT(ry.numel, g.n * g.c * g.out[0] * (g.ndim > 1 ? g.out[1] : 1) * (g.ndim > 2 ? g.out[2] : 1));
        float *y = malloc(sizeof(float) * ry.numel), *dx = calloc(x.numel, sizeof(float));
        cn_pad_forward(y, x.f32, &g);
        CHECK_ALLCLOSE(y, ry.f32, ry.numel, 0, 0, cases[k]); /* copies: bit-exact */
        cn_pad_backward(dx, dy.f32, &g);
        /* sums of up to 4 floats in a different order than PyTorch: a few ulps */
        CHECK_ALLCLOSE(dx, rdx.f32, x.numel, 1e-6, 1e-6, cases[k]);
        free(y), free(dx);
        cn_npy_free(&x), cn_npy_free(&ry), cn_npy_free(&dy), cn_npy_free(&rdx);
    }
}

/* independent reference: reflect by the period 2(in-1) (any pad when in > 1), replicate by clamping */
static int64_t ref_src(int64_t o, int64_t in, int64_t before, cn_pad_mode mode)
{
    int64_t i = o - before;
    if (mode == CN_PAD_REPLICATE) return i < 0 ? 0 : i >= in ? in - 1 : i;
    if (mode == CN_PAD_ZERO) return i < 0 || i >= in ? -1 : i;
    if (in == 1) return 0;
    int64_t m = 2 * (in - 1), j = ((i % m) + m) % m;
    return j < in ? j : m - j;
}

typedef struct {
    cn_pad_geom g;
    float *x, *y;
    const double *r;
    int64_t n_out;
} pad_ctx;

static double pad_loss(void *p)
{
    pad_ctx *c = p;
    cn_pad_forward(c->y, c->x, &c->g);
    double l = 0;
    for (int64_t i = 0; i < c->n_out; i++) l += c->y[i] * c->r[i];
    return l;
}

/* sizes (in=) are >= 1; pads are written +1 (p1 = pad 0) so cn_shape_parse can read them */
static const char *const grid[] = {
    "ndim=1 n=2 c=3 in=5 before=3 after=5 mode=reflect",
    "ndim=1 n=1 c=1 in=1 before=1 after=1 mode=reflect",
    "ndim=1 n=1 c=2 in=3 before=4 after=1 mode=replicate",
    "ndim=1 n=2 c=1 in=4 before=2 after=3 mode=constant value=-2",
    "ndim=2 n=1 c=2 in=4x5 before=2x4 after=3x1 mode=reflect",
    "ndim=2 n=2 c=1 in=3x2 before=3x1 after=1x4 mode=replicate",
    "ndim=2 n=1 c=1 in=2x2 before=1x1 after=1x1 mode=constant value=0",
    "ndim=2 n=1 c=3 in=1x4 before=1x2 after=1x3 mode=reflect",
    "ndim=3 n=1 c=2 in=3x4x3 before=2x3x1 after=3x1x3 mode=reflect",
    "ndim=3 n=2 c=1 in=2x3x2 before=2x1x4 after=1x3x2 mode=replicate",
    "ndim=3 n=1 c=1 in=2x2x3 before=2x2x1 after=1x2x2 mode=constant value=0.5",
};

static void test_grid(void)
{
    cn_rng rng;
    cn_rng_init(&rng, 51, CN_STREAM_USER);
    for (size_t k = 0; k < sizeof grid / sizeof *grid; k++) {
        pad_ctx c;
        c.g = parse_geom(grid[k]);
        for (int d = 0; d < c.g.ndim; d++) c.g.before[d]--, c.g.after[d]--; /* written +1 */
        CHECK_OK(cn_pad_geom_resolve(&c.g, grid[k]));
        int64_t in[3] = {1, 1, 1}, out[3] = {1, 1, 1}, bf[3] = {0, 0, 0};
        int lead = 3 - c.g.ndim;
        for (int d = 0; d < c.g.ndim; d++) in[lead + d] = c.g.in[d], out[lead + d] = c.g.out[d], bf[lead + d] = c.g.before[d];
        int64_t planes = c.g.n * c.g.c, n_in = planes * in[0] * in[1] * in[2];
        c.n_out = planes * out[0] * out[1] * out[2];
        c.x = malloc(sizeof(float) * n_in);
        c.y = malloc(sizeof(float) * c.n_out);
        float *dy = malloc(sizeof(float) * c.n_out), *dx = calloc(n_in, sizeof(float));
        double *r = malloc(sizeof(double) * c.n_out);
        cn_rng_fill_normal(&rng, c.x, (size_t)n_in, 0, 1);
        for (int64_t i = 0; i < c.n_out; i++) r[i] = dy[i] = 2 * cn_rng_uniform(&rng) - 1;
        c.r = r;
        cn_pad_forward(c.y, c.x, &c.g);
        int64_t bad = 0;
        for (int64_t p = 0; p < planes; p++)
            for (int64_t od = 0; od < out[0]; od++)
                for (int64_t oh = 0; oh < out[1]; oh++)
                    for (int64_t ow = 0; ow < out[2]; ow++) {
                        int64_t id = ref_src(od, in[0], bf[0], c.g.mode), ih = ref_src(oh, in[1], bf[1], c.g.mode),
                                iw = ref_src(ow, in[2], bf[2], c.g.mode);
                        float e = id < 0 || ih < 0 || iw < 0 ? c.g.value : c.x[((p * in[0] + id) * in[1] + ih) * in[2] + iw];
                        bad += c.y[((p * out[0] + od) * out[1] + oh) * out[2] + ow] != e;
                    }
        CHECK_MSG(bad == 0, "%s: %lld outputs differ from the reference", grid[k], (long long)bad);
        cn_pad_backward(dx, dy, &c.g);
        /* y is a selection of x: linear, exact differences up to rounding of y (|y| < 5,
         * 4.8e-7 per output, at most 8 outputs read one input, over 0.02: 2e-4 absolute
         * against |dx| ~ 1): floor 1e-1, tol 2e-3 */
        CHECK_GRAD(cn_gradcheck(pad_loss, &c, c.x, dx, n_in, 1e-2, 1e-1), 2e-3, grid[k]);
        free(c.x), free(c.y), free(dy), free(dx), free(r);
    }
}

static void test_errors(void)
{
    cn_pad_geom g = {.ndim = 2, .n = 1, .c = 1, .in = {4, 6}, .before = {4, 1}, .after = {0, 1}, .mode = CN_PAD_REFLECT};
    CHECK_ERR(cn_pad_geom_resolve(&g, "p1"), CN_STATUS_SHAPE, "pad 'p1': reflect pad 4 before axis H needs input size > 4, got 4");
    g.before[0] = 1, g.after[1] = 6;
    CHECK_ERR(cn_pad_geom_resolve(&g, "p1"), CN_STATUS_SHAPE, "reflect pad 6 after axis W needs input size > 6, got 6");
    g.mode = CN_PAD_REPLICATE; /* the same pads are fine when replicating */
    CHECK_OK(cn_pad_geom_resolve(&g, "p1"));
    CHECK(g.out[0] == 5 && g.out[1] == 13);
    g.before[1] = -1;
    CHECK_ERR(cn_pad_geom_resolve(&g, "p1"), CN_STATUS_INVALID_ARG, "pads -1 before, 6 after axis W must be >= 0");
    g.before[1] = 0, g.ndim = 4;
    CHECK_ERR(cn_pad_geom_resolve(&g, "p1"), CN_STATUS_INVALID_ARG, "ndim=4");
    g.ndim = 3, g.in[2] = 0;
    CHECK_ERR(cn_pad_geom_resolve(&g, "p1"), CN_STATUS_SHAPE, "input size 0 on axis W");
    g.in[2] = 2, g.mode = CN_PAD_ZERO, g.value = INFINITY;
    CHECK_ERR(cn_pad_geom_resolve(&g, "p1"), CN_STATUS_INVALID_ARG, "not finite");
}

int main(void)
{
    RUN(test_by_hand);
    RUN(test_fixtures);
    RUN(test_grid);
    RUN(test_errors);
    return cn_test_finish();
}
