/* test_conv_grad.c — central-difference gradient checks of dx, dw and db for every
 * reference kernel (conv, transposed conv, locally connected, tiled) over a grid of
 * configurations, one per line (format: conv_case.h). A failing check prints its line.
 *
 * Loss: L = sum_i y_i * r_i with fixed random r (float values, summed in double), so
 * dL/dy = r exactly and the analytic gradients are backward(dy = r).
 *
 * Tolerance. Every kernel is linear in x, in w and in b, so L is exactly linear in the
 * perturbed element and the central difference has no truncation error at any eps: the only
 * error is rounding. We take eps = 0.5 (large, to shrink that error). Each y_i is rounded to
 * float once (|err| <= 2^-24 |y_i|), so |L(+) - L(-)| is off by at most
 * 2^-24 * sum_i |y_i r_i| (<= ~1e-5 for our sizes, |y| <= ~10, |r| <= 1), and the
 * numeric derivative by that over 2*eps = 1. The analytic side rounds each gradient to
 * float (2^-24 relative) or, for the scatter in backward_data, adds <= ~100 float terms
 * (<= ~1e-5 relative). So |analytic - numeric| <= ~2e-5 absolute; relative to
 * max(|grad|, floor = 0.05) that is <= 4e-4. We demand 2e-3 — still far below the error of
 * any real mistake (a missing or misplaced term is off by ~|w x| ~ 0.1-1, i.e. rel ~ 1). */
#include <stdlib.h>
#include <string.h>

#include "conv_case.h"
#include "gradcheck.h"

#define GC_EPS 0.5
#define GC_FLOOR 0.05
#define GC_TOL 2e-3
#define GC_MAX_CHECKED 400/* elements checked per tensor: larger tensors are strided */

static const char *const grid[] = {
    /* 1D */
    "d1 n2 ic3 oc4 in9 k3 s1 p1 bias1 pad=zero",
    "d1 n1 ic4 oc6 in10 k4 s2 p2,1 g2 bias0 pad=zero",
    "d1 n2 ic2 oc2 in8 k3 s3 p0,2 dil2 bias1 pad=reflect",
    "d1 n1 ic3 oc6 in7 k2 s1 p1,0 dil3 g3 bias1 pad=replicate flip",
    "d1 n1 ic2 oc3 in6 k5 s1 auto=same_upper bias1 pad=reflect",
    "d1 n1 ic2 oc3 in7 k4 s2 auto=same_lower bias1",
    "d1 n3 ic1 oc1 in5 k5 s1 p0 bias1",
    /* 2D */
    "d2 n2 ic4 oc6 in7x5 k3x3 s2x1 p1,0,0,1 dil1x2 g2 bias1 pad=zero",
    "d2 n1 ic3 oc2 in6x6 k3x3 s1 p1 bias1 pad=reflect",
    "d2 n1 ic3 oc2 in5x8 k2x3 s1x2 p2,0,1,1 dil2x1 bias0 pad=reflect flip",
    "d2 n2 ic2 oc4 in6x7 k3x2 s3x2 p1,2,2,1 bias1 pad=replicate",
    "d2 n1 ic4 oc8 in6x6 k3x3 s1 p1 g4 bias1",
    "d2 n1 ic4 oc4 in5x5 k3x3 s2 p1 g4 flip bias1 pad=reflect",
    "d2 n1 ic3 oc2 in4x4 k4x4 s1 p0 bias1",
    "d2 n2 ic2 oc3 in1x6 k1x3 s1 p0,1,0,1 bias1 pad=replicate",
    "d2 n1 ic2 oc2 in8x7 k3x3 s2 dil3x2 p2 bias0 flip",
    "d2 n1 ic2 oc2 in7x6 k3x4 s2x3 auto=same_upper bias1",
    "d2 n1 ic2 oc2 in6x7 k4x3 s3x2 auto=same_lower dil2x1 bias1 pad=replicate",
    "d2 n1 ic2 oc3 in6x5 k3x2 s2 auto=valid bias1",
    /* 3D */
    "d3 n1 ic2 oc3 in5x4x6 k3x2x3 s1x2x1 p1,0,1,0,1,1 bias1 pad=zero",
    "d3 n2 ic2 oc2 in4x5x4 k2x3x2 s2x1x2 p0 dil1x2x1 bias0 pad=reflect",
    "d3 n1 ic4 oc4 in4x4x4 k3 s1 p1 g4 pad=replicate flip bias1",
    "d3 n1 ic2 oc4 in5x5x5 k3 s3 p1,0,2,2,1,0 g2 bias1 pad=reflect",
    "d3 n1 ic3 oc6 in3x4x5 k2x2x3 s1x2x2 dil2x1x1 p1,1,0,0,1,2 g3 bias1",
    /* transposed */
    "d1 n2 ic3 oc4 in5 k3 s2 p1 op1 tr bias1",
    "d1 n1 ic4 oc2 in4 k4 s3 p2,0 op2 g2 tr bias0",
    "d1 n1 ic2 oc2 in5 k3 s1 dil2 op1 tr bias1",
    "d1 n1 ic2 oc3 in4 k3 s2 os8 tr bias1 flip",
    "d2 n2 ic4 oc6 in4x3 k3x3 s2x1 p1,0,0,1 op1x0 dil1x2 g2 tr bias1",
    "d2 n1 ic3 oc3 in3x4 k3x2 s2x3 p0 op1x2 g3 tr flip bias1",
    "d2 n1 ic3 oc6 in3x3 k2x3 s3x1 p0,1,1,0 g3 tr bias1",
    "d2 n1 ic2 oc3 in3x3 k3 s2 os6x5 tr bias1",
    "d2 n1 ic2 oc2 in3x4 k3 s2 auto=same_upper tr bias0",
    "d2 n1 ic2 oc2 in3x4 k2x3 s3x2 auto=same_lower tr bias1",
    "d3 n1 ic2 oc2 in3x2x3 k2x3x2 s2x1x2 p1,0,0,0,1,1 op1x0x0 tr bias1",
    "d3 n1 ic4 oc2 in2x3x2 k3 s1x2x2 dil2x1x1 g2 op1x1x0 tr bias1 flip",
    /* locally connected */
    "d1 n2 ic3 oc2 in8 k3 s2 p1 local bias1",
    "d1 n1 ic2 oc4 in7 k2 s1 dil2 g2 local bias1 pad=replicate flip",
    "d2 n1 ic2 oc3 in5x6 k3x2 s1x2 p1,0,0,1 local bias1 pad=reflect",
    "d2 n2 ic4 oc4 in6x5 k3 s2 dil1x2 p1 g2 local bias0 flip",
    "d3 n1 ic2 oc2 in4x4x3 k2 s1x2x1 local bias1 pad=replicate",
    /* tiled */
    "d1 n2 ic2 oc3 in9 k3 s1 p1 tile2 bias1",
    "d1 n1 ic2 oc2 in10 k3 s2 p0,1 tile3 bias1 pad=reflect flip",
    "d2 n1 ic3 oc2 in7x6 k3x2 s1 p1,0,1,1 tile2x3 bias1 pad=reflect",
    "d2 n2 ic4 oc4 in6x6 k3 s2 dil1x2 p1 g2 tile3x2 bias0 flip",
    "d2 n1 ic2 oc2 in5x5 k2 s1 tile1x2 bias1 pad=replicate",
    "d3 n1 ic2 oc2 in5x4x4 k2 s1 p0,1,0,1,0,1 tile2x1x2 bias1 pad=replicate",
};

typedef struct gc_ctx {
    const conv_case *c;
    float *x, *w, *b, *y, *r;
    int64_t yn;
} gc_ctx;

static double loss(void *ctx)
{
    gc_ctx *t = ctx;
    case_forward(t->c, t->y, t->x, t->w, t->c->bias ? t->b : NULL);
    double l = 0;
    for (int64_t i = 0; i < t->yn; i++) l += (double)t->y[i] * (double)t->r[i];
    return l;
}

static double worst_seen[3];

static void check_tensor(gc_ctx *t, float *p, const float *grad, int64_t n, const char *what, int slot)
{
    char label[320];
    snprintf(label, sizeof label, "%s of \"%s\"", what, t->c->line);
    int64_t stride = n > GC_MAX_CHECKED ? (n + GC_MAX_CHECKED - 1) / GC_MAX_CHECKED : 1;
    /* an odd stride visits every residue of small periods (channels, taps) over the tensor */
    if (stride > 1 && stride % 2 == 0) stride++;
    cn_gc_report r = cn_gradcheck_strided(loss, t, p, grad, n, stride, GC_EPS, GC_FLOOR);
    CHECK_GRAD(r, GC_TOL, label);
    if (r.max_rel > worst_seen[slot]) worst_seen[slot] = r.max_rel;
}

static void run_case(const char *line, uint64_t seed)
{
    conv_case c;
    if (!conv_case_parse(&c, line)) return;
    cn_status st = conv_case_resolve(&c);
    CHECK_MSG(st == CN_OK, "case \"%s\": resolve failed: %s", line, cn_last_error());
    if (st != CN_OK) return;
    const int64_t xn = case_xn(&c), yn = case_yn(&c), wn = case_wn(&c), bn = case_bn(&c);
    gc_ctx t = {&c, case_alloc(xn), case_alloc(wn), case_alloc(bn), case_alloc(yn), case_alloc(yn), yn};
    float *dx = case_alloc(xn), *dw = case_alloc(wn), *db = case_alloc(bn);
    cn_rng rng;
    cn_rng_init(&rng, seed, CN_STREAM_USER);
    cn_rng_fill_uniform(&rng, t.x, (size_t)xn, -1, 1);
    cn_rng_fill_uniform(&rng, t.w, (size_t)wn, -1, 1);
    cn_rng_fill_uniform(&rng, t.b, (size_t)bn, -1, 1);
    cn_rng_fill_uniform(&rng, t.r, (size_t)yn, -1, 1);

    /* backward accumulates: start from a known non-zero value and subtract it afterwards */
    for (int64_t i = 0; i < xn; i++) dx[i] = 0.25f;
    for (int64_t i = 0; i < wn; i++) dw[i] = 0.25f;
    for (int64_t i = 0; i < bn; i++) db[i] = 0.25f;
    case_backward_data(&c, dx, t.r, t.w);
    case_backward_weights(&c, dw, c.bias ? db : NULL, t.r, t.x);
    for (int64_t i = 0; i < xn; i++) dx[i] -= 0.25f;
    for (int64_t i = 0; i < wn; i++) dw[i] -= 0.25f;
    int untouched = 1;
    for (int64_t i = 0; i < bn; i++) untouched &= db[i] == 0.25f, db[i] -= 0.25f;
    if (!c.bias) CHECK_MSG(untouched, "case \"%s\": db written although NULL was passed", line);

    check_tensor(&t, t.x, dx, xn, "dx", 0);
    check_tensor(&t, t.w, dw, wn, "dw", 1);
    if (c.bias) check_tensor(&t, t.b, db, bn, "db", 2);
    free(t.x), free(t.w), free(t.b), free(t.y), free(t.r), free(dx), free(dw), free(db);
}

static void test_grid(void)
{
    for (size_t i = 0; i < sizeof grid / sizeof grid[0]; i++) run_case(grid[i], 1000 + i);
    printf("     worst relative error over %zu cases: dx %.3g, dw %.3g, db %.3g (tolerance %.3g)\n",
           sizeof grid / sizeof grid[0], worst_seen[0], worst_seen[1], worst_seen[2], GC_TOL);
}

/* A seeded random sweep on top of the hand-written grid (conv_case_random_line): each case
 * is written as a configuration line first, so a failure prints a line to paste into the grid. */
static void test_random_sweep(void)
{
    enum { CASES = 400 };
    cn_rng r;
    cn_rng_init(&r, 2024, CN_STREAM_USER);
    double before[3] = {worst_seen[0], worst_seen[1], worst_seen[2]};
    worst_seen[0] = worst_seen[1] = worst_seen[2] = 0;
    for (int i = 0; i < CASES; i++) {
        char line[256];
        conv_case_random_line(line, sizeof line, &r);
        if (getenv("CONVNET_TEST_VERBOSE")) printf("     %s\n", line);
        run_case(line, 5000 + (uint64_t)i);
    }
    printf("     worst relative error over %d random cases: dx %.3g, dw %.3g, db %.3g (tolerance %.3g)\n", CASES,
           worst_seen[0], worst_seen[1], worst_seen[2], GC_TOL);
    for (int i = 0; i < 3; i++) worst_seen[i] = worst_seen[i] > before[i] ? worst_seen[i] : before[i];
}

/* The check can fail: a deliberately wrong gradient is caught. */
static void test_wrong_gradient_is_caught(void)
{
    conv_case c;
    CHECK(conv_case_parse(&c, "d2 n1 ic2 oc2 in5x5 k3 s1 p1 bias1 pad=reflect"));
    CHECK_OK(conv_case_resolve(&c));
    const int64_t xn = case_xn(&c), yn = case_yn(&c), wn = case_wn(&c);
    gc_ctx t = {&c, case_alloc(xn), case_alloc(wn), case_alloc(2), case_alloc(yn), case_alloc(yn), yn};
    float *dx = case_alloc(xn);
    cn_rng rng;
    cn_rng_init(&rng, 7, CN_STREAM_USER);
    cn_rng_fill_uniform(&rng, t.x, (size_t)xn, -1, 1);
    cn_rng_fill_uniform(&rng, t.w, (size_t)wn, -1, 1);
    cn_rng_fill_uniform(&rng, t.r, (size_t)yn, -1, 1);
    /* pretend padding were zero instead of reflect: border gradients then miss terms */
    c.g.pad_mode = CN_PAD_ZERO;
    case_backward_data(&c, dx, t.r, t.w);
    c.g.pad_mode = CN_PAD_REFLECT;
    cn_gc_report r = cn_gradcheck(loss, &t, t.x, dx, xn, GC_EPS, GC_FLOOR);
    CHECK_MSG(r.max_rel > 100 * GC_TOL, "a wrong dx passed the check (rel %.3g)", r.max_rel);
    free(t.x), free(t.w), free(t.b), free(t.y), free(t.r), free(dx);
}

int main(void)
{
    RUN(test_grid);
    RUN(test_random_sweep);
    RUN(test_wrong_gradient_is_caught);
    return cn_test_finish();
}
