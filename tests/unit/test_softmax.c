/* test_softmax.c — softmax and log-softmax over any axis: PyTorch fixtures for each axis of a
 * 4-D tensor (forward and backward), gradient checks over a grid of shapes and axes, stability
 * at +-1e4, in-place forward, accumulation, and the axis validation message. */
#include <stdlib.h>
#include <string.h>

#include "convnet/act.h"
#include "fixture.h"
#include "gradcheck.h"
#include "test.h"

static void test_fixtures(void)
{
    cn_npy x = cn_fixture_load("ops/softmax_x"), dy = cn_fixture_load("ops/softmax_dy");
    cn_shape s;
    CHECK_OK(cn_shape_make(&s, 4, x.shape));
    int64_t n = x.numel;
    float *y = malloc(sizeof(float) * n), *dx = malloc(sizeof(float) * n);
    for (int axis = 0; axis < 4; axis++)
        for (int lg = 0; lg < 2; lg++) {
            char name[64], label[64];
            const char *kind = lg ? "log_softmax" : "softmax";
            snprintf(label, sizeof label, "%s axis=%d shape=2x3x4x5", kind, axis);
            cn_softmax_geom g;
            /* the same axis written from the end must give the same split */
            CHECK_OK(cn_softmax_geom_make(&g, &s, axis - 4, label));
            snprintf(name, sizeof name, "ops/%s_ax%d_y", kind, axis);
            cn_npy ry = cn_fixture_load(name);
            snprintf(name, sizeof name, "ops/%s_ax%d_dx", kind, axis);
            cn_npy rdx = cn_fixture_load(name);
            (lg ? cn_log_softmax_forward : cn_softmax_forward)(y, x.f32, &g);
            /* float32 PyTorch vs double-then-round: ulps apart; log-softmax values reach ~-15 */
            CHECK_ALLCLOSE(y, ry.f32, n, 2e-6, 1e-6, label);
            memset(dx, 0, sizeof(float) * n);
            (lg ? cn_log_softmax_backward : cn_softmax_backward)(dx, dy.f32, ry.f32, &g);
            CHECK_ALLCLOSE(dx, rdx.f32, n, 2e-6, 1e-5, label);
            cn_npy_free(&ry);
            cn_npy_free(&rdx);
        }
    free(y);
    free(dx);
    cn_npy_free(&x);
    cn_npy_free(&dy);
}

typedef struct {
    const cn_softmax_geom *g;
    int lg;
    float *x, *y;
    const double *r;
    int64_t n;
} sm_ctx;

static double sm_loss(void *p)
{
    sm_ctx *c = p;
    (c->lg ? cn_log_softmax_forward : cn_softmax_forward)(c->y, c->x, c->g);
    double l = 0;
    for (int64_t i = 0; i < c->n; i++) l += c->y[i] * c->r[i];
    return l;
}

/* one configuration per line: shape and axis (negative counts from the end) */
static const char *const grad_cases[] = {
    "shape=5 axis=0",
    "shape=3x7 axis=1",
    "shape=3x7 axis=0",
    "shape=2x3x4 axis=1",
    "shape=2x3x4 axis=-1",
    "shape=2x1x3 axis=1",
    "shape=2x4x2x3 axis=1",
    "shape=2x3x2x2x2 axis=2",
    "shape=1x2x2x2x3 axis=-4",
};

static void test_gradcheck(void)
{
    cn_rng rng;
    cn_rng_init(&rng, 11, CN_STREAM_USER);
    for (size_t c = 0; c < sizeof grad_cases / sizeof *grad_cases; c++) {
        char shape_txt[64];
        int axis;
        sscanf(grad_cases[c], "shape=%63s axis=%d", shape_txt, &axis);
        cn_shape s;
        CHECK_OK(cn_shape_parse(&s, shape_txt));
        cn_softmax_geom g;
        CHECK_OK(cn_softmax_geom_make(&g, &s, axis, grad_cases[c]));
        int64_t n = cn_shape_numel(&s);
        float *x = malloc(sizeof(float) * n), *y = malloc(sizeof(float) * n), *dx = malloc(sizeof(float) * n);
        float *dy = malloc(sizeof(float) * n);
        double *r = malloc(sizeof(double) * n);
        cn_rng_fill_normal(&rng, x, (size_t)n, 0, 1);
        for (int64_t i = 0; i < n; i++) {
            r[i] = 2 * cn_rng_uniform(&rng) - 1;
            dy[i] = (float)r[i];
        }
        for (int lg = 0; lg < 2; lg++) {
            sm_ctx ctx = {&g, lg, x, y, r, n};
            sm_loss(&ctx);
            memset(dx, 0, sizeof(float) * n);
            (lg ? cn_log_softmax_backward : cn_softmax_backward)(dx, dy, y, &g);
            char label[128];
            snprintf(label, sizeof label, "%s %s", lg ? "log_softmax" : "softmax", grad_cases[c]);
            /* Smooth in x (x ~ N(0, 1)); eps = 1e-2. Truncation eps^2/6 |f'''| <= 2e-5. Float
             * rounding of y: <= 2.4e-7 per output (|y| < 4) times |r| <= 1 over at most 7 outputs
             * on the axis, divided by 2*eps: <= 8e-5 absolute; with a floor of 1e-2 on the
             * denominator, <= 1e-2 relative in the worst case, a few 1e-4 typically: tol 1e-2.
             * A wrong formula (missing y factor, wrong sum) is off by O(1). */
            CHECK_GRAD(cn_gradcheck(sm_loss, &ctx, x, dx, n, 1e-2, 1e-2), 1e-2, label);
        }
        free(x), free(y), free(dx), free(dy), free(r);
    }
}

static void test_extremes(void)
{
    float x[6] = {1e4f, -1e4f, 0, -1e4f, -1e4f, -1e4f}, y[6], dx[6] = {0};
    float dy[6] = {1, 2, 3, 0.5f, -1, 2};
    cn_shape s;
    CHECK_OK(cn_shape_make(&s, 2, (int64_t[]){2, 3}));
    cn_softmax_geom g;
    CHECK_OK(cn_softmax_geom_make(&g, &s, 1, "sm"));
    cn_softmax_forward(y, x, &g);
    CHECK(y[0] == 1.0f && y[1] == 0.0f && y[2] == 0.0f);
    /* three equal -1e4: exactly uniform */
    CHECK_NEAR(y[3], 1.0 / 3, 1e-7);
    CHECK_NEAR(y[5], 1.0 / 3, 1e-7);
    cn_softmax_backward(dx, dy, y, &g);
    for (int i = 0; i < 6; i++) CHECK_MSG(isfinite(dx[i]), "softmax dx[%d] = %g", i, dx[i]);
    CHECK(dx[0] == 0.0f); /* y = [1, 0, 0]: dx = y (dy - y.dy) = 0 */
    cn_log_softmax_forward(y, x, &g);
    CHECK(y[0] == 0.0f && y[1] == -2e4f && y[2] == -1e4f);
    CHECK_NEAR(y[4], -log(3.0), 1e-6);
    memset(dx, 0, sizeof dx);
    cn_log_softmax_backward(dx, dy, y, &g);
    for (int i = 0; i < 6; i++) CHECK_MSG(isfinite(dx[i]), "log_softmax dx[%d] = %g", i, dx[i]);
    /* dx = dy - softmax * sum dy = [1 - 6, 2, 3] */
    CHECK(dx[0] == -5.0f && dx[1] == 2.0f && dx[2] == 3.0f);
    /* axis 0 on the same data: columns {1e4, -1e4}, {-1e4, -1e4}, {0, -1e4} */
    CHECK_OK(cn_softmax_geom_make(&g, &s, 0, "sm"));
    cn_softmax_forward(y, x, &g);
    CHECK(y[0] == 1.0f && y[3] == 0.0f && y[1] == 0.5f && y[4] == 0.5f && y[2] == 1.0f && y[5] == 0.0f);
}

static void test_in_place_and_accumulate(void)
{
    float x[12], y[12], z[12], dy[12], dx[12] = {0}, dx2[12];
    cn_rng rng;
    cn_rng_init(&rng, 5, CN_STREAM_USER);
    cn_rng_fill_normal(&rng, x, 12, 0, 2);
    cn_rng_fill_normal(&rng, dy, 12, 0, 1);
    cn_shape s;
    CHECK_OK(cn_shape_make(&s, 3, (int64_t[]){2, 3, 2}));
    cn_softmax_geom g;
    CHECK_OK(cn_softmax_geom_make(&g, &s, 1, "sm"));
    CHECK(g.outer == 2 && g.len == 3 && g.inner == 2);
    for (int lg = 0; lg < 2; lg++) {
        (lg ? cn_log_softmax_forward : cn_softmax_forward)(y, x, &g);
        memcpy(z, x, sizeof z);
        (lg ? cn_log_softmax_forward : cn_softmax_forward)(z, z, &g);
        CHECK(!memcmp(y, z, sizeof y));
        memset(dx, 0, sizeof dx);
        (lg ? cn_log_softmax_backward : cn_softmax_backward)(dx, dy, y, &g);
        memcpy(dx2, dx, sizeof dx);
        (lg ? cn_log_softmax_backward : cn_softmax_backward)(dx2, dy, y, &g);
        int ok = 1;
        for (int i = 0; i < 12; i++) ok &= dx2[i] == 2 * dx[i];
        CHECK_MSG(ok, "%s backward does not accumulate", lg ? "log_softmax" : "softmax");
    }
    /* softmax sums to 1 along the axis */
    cn_softmax_forward(y, x, &g);
    for (int o = 0; o < 2; o++)
        for (int i = 0; i < 2; i++) CHECK_NEAR(y[o * 6 + i] + y[o * 6 + 2 + i] + y[o * 6 + 4 + i], 1.0, 1e-6);
}

static void test_validation(void)
{
    cn_shape s;
    CHECK_OK(cn_shape_make(&s, 4, (int64_t[]){2, 3, 4, 5}));
    cn_softmax_geom g;
    CHECK_ERR(cn_softmax_geom_make(&g, &s, 4, "s"), CN_STATUS_INVALID_ARG, "axis 4 is out of range for a 4-D input 2x3x4x5");
    CHECK_ERR(cn_softmax_geom_make(&g, &s, -5, "s"), CN_STATUS_INVALID_ARG, "axis -5");
    CHECK_OK(cn_softmax_geom_make(&g, &s, -1, "s"));
    CHECK(g.outer == 24 && g.len == 5 && g.inner == 1);
}

int main(void)
{
    RUN(test_fixtures);
    RUN(test_gradcheck);
    RUN(test_extremes);
    RUN(test_in_place_and_accumulate);
    RUN(test_validation);
    return cn_test_finish();
}
