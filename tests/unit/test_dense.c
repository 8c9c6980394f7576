/* test_dense.c — the fully connected layer: a hand-computed example, gradient checks of dx, dW
 * and db over a grid of sizes (with and without bias), accumulation, flattening of 4-D inputs,
 * and shape errors that name both shapes. */
#include <stdlib.h>
#include <string.h>

#include "convnet/ops.h"
#include "gradcheck.h"
#include "test.h"

static void test_by_hand(void)
{
    /* x (2, 3), W (2, 3) (OUT, IN), b (2) */
    float x[6] = {1, 2, 3, -1, 0.5f, 2}, w[6] = {0.5f, -1, 2, 1, 1, 1}, b[2] = {0.25f, -3}, y[4];
    cn_shape xs, ws;
    CHECK_OK(cn_shape_make(&xs, 2, (int64_t[]){2, 3}));
    CHECK_OK(cn_shape_make(&ws, 2, (int64_t[]){2, 3}));
    cn_dense_geom g;
    CHECK_OK(cn_dense_check(&g, &xs, &ws, "fc"));
    CHECK(g.n == 2 && g.in == 3 && g.out == 2);
    cn_dense_forward(y, x, w, b, &g);
    CHECK(y[0] == 0.5f - 2 + 6 + 0.25f && y[1] == 6 - 3.0f && y[2] == -0.5f - 0.5f + 4 + 0.25f && y[3] == 1.5f - 3);
    cn_dense_forward(y, x, w, NULL, &g);
    CHECK(y[0] == 4.5f && y[1] == 6.0f);
    /* backward by hand with dy = [[1, 0], [0, 2]] */
    float dy[4] = {1, 0, 0, 2}, dx[6] = {0}, dw[6] = {0}, db[2] = {0};
    cn_dense_backward_data(dx, dy, w, &g);
    cn_dense_backward_weights(dw, db, dy, x, &g);
    float edx[6] = {0.5f, -1, 2, 2, 2, 2}, edw[6] = {1, 2, 3, -2, 1, 4}, edb[2] = {1, 2};
    CHECK(!memcmp(dx, edx, sizeof dx) && !memcmp(dw, edw, sizeof dw) && !memcmp(db, edb, sizeof db));
    /* accumulation: a second call doubles */
    cn_dense_backward_data(dx, dy, w, &g);
    cn_dense_backward_weights(dw, NULL, dy, x, &g);
    CHECK(dx[3] == 4 && dw[5] == 8 && db[1] == 2);
}

typedef struct {
    cn_dense_geom g;
    float *x, *w, *b, *y;
    const double *r;
} dense_ctx;

static double dense_loss(void *p)
{
    dense_ctx *c = p;
    cn_dense_forward(c->y, c->x, c->w, c->b, &c->g);
    double l = 0;
    for (int64_t i = 0; i < c->g.n * c->g.out; i++) l += c->y[i] * c->r[i];
    return l;
}

/* y is linear in each of x, W and b: central differences are exact up to the float rounding
 * of y (|y| < 8 here: 4.8e-7 per output, at most max(N, OUT) = 6 outputs move per
 * perturbation, over 2*eps = 0.02: <= 1.5e-4 absolute). Gradients are O(1); with a floor of
 * 1e-1 that is <= 1.5e-3 relative: tol 2e-3. A transposed index or a missing term is O(1). */
static void test_gradcheck(void)
{
    static const char *const cases[] = {
        "n=1 in=1 out=1 bias=1",
        "n=3 in=5 out=4 bias=1",
        "n=2 in=7 out=1 bias=1",
        "n=4 in=2 out=6 bias=0",
        "n=6 in=3 out=3 bias=1",
    };
    cn_rng rng;
    cn_rng_init(&rng, 31, CN_STREAM_USER);
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        long long n, in, out;
        int bias;
        sscanf(cases[k], "n=%lld in=%lld out=%lld bias=%d", &n, &in, &out, &bias);
        dense_ctx c = {.g = {n, in, out}};
        c.x = malloc(sizeof(float) * n * in);
        c.w = malloc(sizeof(float) * out * in);
        c.b = bias ? malloc(sizeof(float) * out) : NULL;
        c.y = malloc(sizeof(float) * n * out);
        double *r = malloc(sizeof(double) * n * out);
        float *dy = malloc(sizeof(float) * n * out), *dx = calloc(n * in, sizeof(float));
        float *dw = calloc(out * in, sizeof(float)), *db = calloc(out, sizeof(float));
        cn_rng_fill_normal(&rng, c.x, (size_t)(n * in), 0, 1);
        cn_rng_fill_normal(&rng, c.w, (size_t)(out * in), 0, 1);
        if (bias) cn_rng_fill_normal(&rng, c.b, (size_t)out, 0, 1);
        for (int64_t i = 0; i < n * out; i++) r[i] = dy[i] = 2 * cn_rng_uniform(&rng) - 1;
        c.r = r;
        cn_dense_backward_data(dx, dy, c.w, &c.g);
        cn_dense_backward_weights(dw, bias ? db : NULL, dy, c.x, &c.g);
        char label[96];
        snprintf(label, sizeof label, "dx %s", cases[k]);
        CHECK_GRAD(cn_gradcheck(dense_loss, &c, c.x, dx, n * in, 1e-2, 1e-1), 2e-3, label);
        snprintf(label, sizeof label, "dW %s", cases[k]);
        CHECK_GRAD(cn_gradcheck(dense_loss, &c, c.w, dw, out * in, 1e-2, 1e-1), 2e-3, label);
        if (bias) {
            snprintf(label, sizeof label, "db %s", cases[k]);
            CHECK_GRAD(cn_gradcheck(dense_loss, &c, c.b, db, out, 1e-2, 1e-1), 2e-3, label);
        }
        free(c.x), free(c.w), free(c.b), free(c.y), free(r), free(dy), free(dx), free(dw), free(db);
    }
}

static void test_shapes(void)
{
    cn_shape x, w;
    cn_dense_geom g;
    /* a feature map is flattened: (2, 3, 2, 2) -> IN = 12 */
    CHECK_OK(cn_shape_make(&x, 4, (int64_t[]){2, 3, 2, 2}));
    CHECK_OK(cn_shape_make(&w, 2, (int64_t[]){5, 12}));
    CHECK_OK(cn_dense_check(&g, &x, &w, "fc"));
    CHECK(g.n == 2 && g.in == 12 && g.out == 5);
    CHECK_OK(cn_shape_make(&x, 4, (int64_t[]){8, 16, 5, 5}));
    CHECK_OK(cn_shape_make(&w, 2, (int64_t[]){120, 256}));
    CHECK_ERR(cn_dense_check(&g, &x, &w, "fc1"), CN_STATUS_SHAPE,
              "dense 'fc1': input 8x16x5x5 has 400 features per sample, weight 120x256 expects 256");
    CHECK_OK(cn_shape_make(&w, 3, (int64_t[]){120, 400, 1}));
    CHECK_ERR(cn_dense_check(&g, &x, &w, "fc1"), CN_STATUS_SHAPE, "weight 120x400x1 must be 2-D (OUT, IN) (input 8x16x5x5)");
    CHECK_OK(cn_shape_make(&x, 1, (int64_t[]){400}));
    CHECK_OK(cn_shape_make(&w, 2, (int64_t[]){120, 400}));
    CHECK_ERR(cn_dense_check(&g, &x, &w, "fc1"), CN_STATUS_SHAPE, "input 400 needs a batch axis");
}

int main(void)
{
    RUN(test_by_hand);
    RUN(test_gradcheck);
    RUN(test_shapes);
    return cn_test_finish();
}
