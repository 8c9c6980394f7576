/* test_conv_fast.c — the fast convolution kernels (cn_conv_forward, cn_conv_backward_data,
 * cn_conv_backward_weights with scratch) against the reference twins (cn_conv_ref_*), over a
 * list of geometries (one per line, format: conv_case.h) and random ones, for every ISA this
 * machine runs and every algorithm (auto, gemm, packed, rows); a failing check prints its line.
 * Also: results do not depend on the thread count, scratch is never overrun, NULL scratch
 * runs the reference.
 *
 * Tolerance (per element, rigorous): a fast output is a float sum of K products (and for the
 * backward kernels the value already in the output), in some order. Recursive float
 * summation of K terms in any order errs by at most (K-1) * 2^-24 * sum|terms| (plus one
 * rounding of each product, 2^-24 * |term|), and the reference (double, rounded once) by
 * 2^-24 * |result|. So |fast - ref| <= (K + 2) * 2^-24 * A, A = the same sum over |terms|,
 * which we get by running the reference on |x|, |w|, |b| (and |dx|, |dw| for the
 * accumulating kernels). A wrong or missing term is off by ~|w x| ~ 0.1-1, far beyond it. */
#include <stdlib.h>
#include <string.h>

#include "conv_case.h"

static const char *const grid[] = {
    /* 2D: plain, 1x1 (zero-copy), strided 1x1 (phases), strided, stem-like, kernel = input */
    "d2 n2 ic3 oc5 in7x9 k3x3 p1 bias1",
    "d2 n2 ic4 oc8 in8x8 k1x1 bias1",
    "d2 n2 ic4 oc6 in9x7 k1x1 s2 bias1",
    "d2 n2 ic3 oc4 in11x10 k3x3 s2 p1 bias1",
    "d2 n1 ic2 oc3 in13x12 k7x7 s2 p3 bias0",
    "d2 n1 ic3 oc4 in5x5 k5x5",
    "d2 n2 ic2 oc3 in3x3 k3x3 s5 p2",
    /* groups, depthwise (multiplier 1 and 2, strided), few channels per group */
    "d2 n2 ic6 oc6 g3 in7x7 k3x3 p1",
    "d2 n2 ic8 oc8 g8 in9x9 k3x3 p1 bias1",
    "d2 n2 ic4 oc8 g4 in9x8 k3x3 s2 p1 bias1",
    "d2 n2 ic12 oc18 g6 in6x7 k3x3 p1 bias1",
    /* depthwise stride 1 (the direct kernels): dilation, asymmetric pads, multiplier 2, wide rows */
    "d2 n2 ic3 oc6 g3 in8x11 k3x5 dil2x1 p2,1,2,3 bias1",
    "d1 n2 ic4 oc4 g4 in33 k5 dil2 p4 bias1",
    "d2 n1 ic2 oc2 g2 in5x40 k3x3 p1",
    "d2 n2 ic5 oc5 g5 in7x7 k3x3 p0,1,1,0",
    /* dilation, asymmetric pads, pad modes, flip */
    "d2 n1 ic5 oc7 in10x9 k3x2 dil2x3 p2,1,0,3 bias1",
    "d2 n2 ic3 oc4 in6x7 k3x3 p1 pad=reflect bias1",
    "d2 n2 ic3 oc4 in6x7 k3x3 p2 pad=replicate bias1",
    "d2 n1 ic3 oc4 in9x9 k1x1 s3 p1 pad=reflect",
    "d2 n2 ic3 oc4 in7x8 k3x3 s2 p2,1,1,2 pad=reflect bias1",
    "d2 n1 ic3 oc4 in8x8 k3x3 p1 flip bias1",
    "d2 n2 ic4 oc6 in7x6 k2x3 s2x1 dil2x1 p1 flip pad=replicate bias1",
    "d2 n1 ic2 oc3 in9x9 k3x3 auto=same_upper s2 bias1",
    "d2 n1 ic2 oc3 in8x9 k4x4 auto=same_lower bias1",
    /* depths past one block (K > 128 and > 256), MNIST-like first layer, many images */
    "d2 n5 ic16 oc20 in7x7 k3x3 p1 bias1",
    "d2 n2 ic40 oc9 in6x6 k3x3 p1 bias1",
    "d2 n3 ic1 oc8 in12x12 k5x5 p2 bias1",
    "d2 n7 ic3 oc2 in5x4 k3x3 p1 bias1",
    /* row tiles (AUTO: output rows rounded to 16 lanes no wider than the padded grid's):
     * 1D, 3D, dilated, strided, deeper than a block, and the transposed backward-data gather
     * (accumulating) */
    "d1 n3 ic2 oc5 in30 k3 p1 bias1",
    "d3 n2 ic2 oc3 in4x5x14 k3x3x3 p1 bias1",
    "d2 n2 ic3 oc9 in9x12 k3x3 dil2 p2 bias1",
    "d2 n2 ic4 oc3 in14x14 k3x3 p1 tr bias1",
    "d2 n2 ic3 oc5 in20x32 k7x7 s2 p3 bias1", /* stem-like: stride 2, K = 147 (two depth blocks) */
    "d2 n2 ic20 oc6 in5x16 k3x3 p1 bias1",    /* K = 180 */
    /* 1D and 3D */
    "d1 n3 ic4 oc5 in20 k5 s2 p2 bias1",
    "d1 n2 ic2 oc3 in17 k3 dil3 p3 pad=reflect",
    "d1 n2 ic3 oc3 g3 in15 k4 s3 p1 bias1",
    "d3 n1 ic2 oc3 in5x6x7 k3x3x3 p1 bias1",
    "d3 n2 ic2 oc4 in6x5x6 k2x3x1 s2x1x2 p1,0,1,0,1,1 bias1",
    "d3 n1 ic4 oc4 g4 in4x5x6 k3x3x3 p1 pad=replicate bias1",
    /* transposed: strided, grouped, even kernel, output padding and shape (negative pads) */
    "d2 n2 ic4 oc6 in5x6 k3x3 s2 p1 op1 tr bias1",
    "d2 n1 ic6 oc4 g2 in4x5 k3x3 s2 p1 tr bias1",
    "d2 n1 ic3 oc2 in5x5 k4x4 s2 p1 tr",
    "d2 n2 ic4 oc4 g4 in5x5 k3x3 s2 p1 op1 tr bias1",
    "d1 n2 ic3 oc4 in7 k3 s3 dil2 os25 tr bias1",
    "d1 n1 ic2 oc3 in6 k1 s1 tr bias1",
    "d3 n1 ic2 oc3 in3x4x3 k2x2x2 s2 tr flip bias1",
    /* a stride past CF_MAX_STRIDE (64): the reference runs */
    "d1 n1 ic2 oc2 in140 k2 s70",
};

static void fill_abs(float *dst, const float *src, int64_t n)
{
    for (int64_t i = 0; i < n; i++) dst[i] = fabsf(src[i]);
}

/* |fast - ref| <= (K + 2) * 2^-24 * bound elementwise; returns 1 if all close */
static int check_bound(const float *fast, const float *ref, const float *bound, int64_t n, double K, const char *what,
                       const char *line)
{
    int64_t worst = -1;
    double worst_ratio = 0;
    for (int64_t i = 0; i < n; i++) {
        const double tol = (K + 2) * 0x1p-24 * (double)bound[i] + 1e-30, err = fabs((double)fast[i] - (double)ref[i]);
        if (!(err <= tol) && (worst < 0 || err / tol > worst_ratio)) worst = i, worst_ratio = err / tol;
    }
    cn_test_checks++;
    if (worst >= 0) {
        cn_test_fail(__FILE__, __LINE__, "%s of \"%s\": element %lld fast %.9g ref %.9g (error %.3g x the bound)", what,
                     line, (long long)worst, fast[worst], ref[worst], worst_ratio);
        return 0;
    }
    return 1;
}

static int64_t prod_nd(const int64_t *v, int nd)
{
    int64_t p = 1;
    for (int a = 0; a < nd; a++) p *= v[a];
    return p;
}

/* One geometry line under the current ISA and the given algorithm: all three kernels
 * against the reference. Returns the worst error/bound ratio seen (for the summary). */
static double check_line(const char *line, cn_conv_algo algo, cn_rng *r)
{
    conv_case c;
    if (!conv_case_parse(&c, line)) return 0;
    c.g.algo = algo;
    cn_status st = conv_case_resolve(&c);
    CHECK_MSG(st == CN_OK, "resolve \"%s\": %s", line, cn_last_error());
    if (st != CN_OK) return 0;
    const cn_conv_geom *g = &c.g;
    const int64_t xn = case_xn(&c), yn = case_yn(&c), wn = case_wn(&c), bn = case_bn(&c);
    const size_t sf = cn_conv_scratch_floats(g);
    float *x = case_alloc(xn), *y = case_alloc(yn), *w = case_alloc(wn), *b = case_alloc(bn);
    float *xa = case_alloc(xn), *ya = case_alloc(yn), *wa = case_alloc(wn), *ba = case_alloc(bn);
    float *y1 = case_alloc(yn), *y2 = case_alloc(yn), *ybound = case_alloc(yn);
    float *dx1 = case_alloc(xn), *dx2 = case_alloc(xn), *dxb = case_alloc(xn);
    float *dw1 = case_alloc(wn), *dw2 = case_alloc(wn), *dwb = case_alloc(wn);
    float *db1 = case_alloc(bn), *db2 = case_alloc(bn), *dbb = case_alloc(bn);
    /* scratch with a canary after it: the kernels must stay inside the size they declared */
    float *scratch = case_alloc((int64_t)sf + 64);
    for (int i = 0; i < 64; i++) scratch[sf + i] = 1234.5f;
    cn_rng_fill_uniform(r, x, xn, -1, 1);
    cn_rng_fill_uniform(r, w, wn, -1, 1);
    cn_rng_fill_uniform(r, b, bn, -1, 1);
    cn_rng_fill_uniform(r, y, yn, -1, 1); /* y doubles as dy */
    fill_abs(xa, x, xn);
    fill_abs(wa, w, wn);
    fill_abs(ba, b, bn);
    fill_abs(ya, y, yn);
    const float *bias = c.bias ? b : NULL, *biasa = c.bias ? ba : NULL;
    const int64_t taps = prod_nd(g->k, g->ndim), ipos = prod_nd(g->in, g->ndim), opos = prod_nd(g->out, g->ndim);
    const int64_t icg = g->ic / g->groups, ocg = g->oc / g->groups;
    double worst = 0;

    /* forward: y = b + sum of icg*taps products (transposed: terms per output <= icg... use the
     * full count IC*taps, an upper bound in both cases) */
    const double kf = (double)(g->ic * taps + 1);
    cn_conv_ref_forward(y1, x, w, bias, g, NULL);
    cn_conv_ref_forward(ybound, xa, wa, biasa, g, NULL);
    cn_conv_forward(y2, x, w, bias, g, scratch);
    check_bound(y2, y1, ybound, yn, kf, "forward", line);

    /* backward data, accumulating onto a random dx: terms per dx element <= OC*taps (times
     * the reflections of a padded pixel: at most 3 sources per axis), plus dx itself */
    const double kd = (double)(g->oc * taps * 27 + 1);
    cn_rng_fill_uniform(r, dx1, xn, -1, 1);
    memcpy(dx2, dx1, (size_t)xn * sizeof(float));
    fill_abs(dxb, dx1, xn);
    cn_conv_ref_backward_data(dx1, y, w, g, NULL);
    cn_conv_ref_backward_data(dxb, ya, wa, g, NULL);
    cn_conv_backward_data(dx2, y, w, g, scratch);
    check_bound(dx2, dx1, dxb, xn, kd, "backward_data", line);

    /* backward weights and bias, accumulating onto random dw, db: terms per dw element
     * <= N * (positions of the small side), plus dw itself */
    const double kw = (double)(g->n * (opos > ipos ? opos : ipos) + 1);
    cn_rng_fill_uniform(r, dw1, wn, -1, 1);
    cn_rng_fill_uniform(r, db1, bn, -1, 1);
    memcpy(dw2, dw1, (size_t)wn * sizeof(float));
    memcpy(db2, db1, (size_t)bn * sizeof(float));
    fill_abs(dwb, dw1, wn);
    fill_abs(dbb, db1, bn);
    cn_conv_ref_backward_weights(dw1, c.bias ? db1 : NULL, y, x, g, NULL);
    cn_conv_ref_backward_weights(dwb, c.bias ? dbb : NULL, ya, xa, g, NULL);
    cn_conv_backward_weights(dw2, c.bias ? db2 : NULL, y, x, g, scratch);
    check_bound(dw2, dw1, dwb, wn, kw, "backward_weights dw", line);
    if (c.bias) check_bound(db2, db1, dbb, bn, (double)(g->n * opos + 1), "backward_weights db", line);

    int canary_ok = 1;
    for (int i = 0; i < 64; i++) canary_ok &= scratch[sf + i] == 1234.5f;
    CHECK_MSG(canary_ok, "\"%s\" (%s, %s): wrote past the %zu scratch floats it declared", line, cn_isa_name(cn_isa_active()),
              cn_conv_algo_name(algo), sf);
    (void)icg, (void)ocg;
    free(x), free(y), free(w), free(b), free(xa), free(ya), free(wa), free(ba), free(y1), free(y2), free(ybound);
    free(dx1), free(dx2), free(dxb), free(dw1), free(dw2), free(dwb), free(db1), free(db2), free(dbb), free(scratch);
    return worst;
}

static const cn_conv_algo algos[] = {CN_CONV_ALGO_AUTO, CN_CONV_ALGO_GEMM, CN_CONV_ALGO_PACKED, CN_CONV_ALGO_ROWS};

static void test_grid_every_isa_and_algo(void)
{
    const cn_isa orig = cn_isa_active();
    cn_rng r;
    cn_rng_init(&r, 11, CN_STREAM_USER);
    int isas = 0;
    for (int isa = 0; isa < CN_ISA_COUNT_; isa++) {
        if (cn_isa_select((cn_isa)isa) != CN_OK) {
            printf("     (isa %s not available here: skipped)\n", cn_isa_name((cn_isa)isa));
            continue;
        }
        isas++;
        for (size_t i = 0; i < sizeof grid / sizeof grid[0]; i++)
            for (size_t a = 0; a < sizeof algos / sizeof algos[0]; a++) check_line(grid[i], algos[a], &r);
    }
    CHECK(isas >= 1);
    CHECK_OK(cn_isa_select(orig));
}

/* random conv and transposed-conv lines (local and tiled ones are skipped: they have no fast
 * kernels), under the active ISA with AUTO */
static void test_random_geometries(void)
{
    cn_rng r;
    cn_rng_init(&r, 12, CN_STREAM_USER);
    int done = 0;
    for (int i = 0; i < 400 && done < 150; i++) {
        char line[256];
        conv_case_random_line(line, sizeof line, &r);
        if (strstr(line, "local") || strstr(line, "tile")) continue;
        conv_case c;
        if (!conv_case_parse(&c, line) || conv_case_resolve(&c) != CN_OK) continue; /* some random lines do not fit */
        check_line(line, algos[i % 4], &r);
        done++;
    }
    CHECK(done >= 100);
}

/* Bit-identical results at 1, 2 and 3 threads, on layers large enough to be split (each
 * forward / backward-data element and each dw element is summed in one fixed order). */
static void test_thread_count_does_not_change_results(void)
{
    static const char *const lines[] = {
        "d2 n3 ic24 oc40 in20x18 k3x3 p1 bias1",
        "d2 n2 ic32 oc32 g32 in30x30 k3x3 s2 p1 bias1",
        "d2 n1 ic40 oc24 in16x16 k3x3 s2 p1 op1 tr bias1",
        "d2 n4 ic64 oc48 in14x14 k1x1 bias1",
        "d2 n8 ic1 oc32 in28x28 k5x5 p2 bias1", /* row tiles (MNIST's first layer) */
    };
    const int orig = cn_num_threads();
    cn_rng r;
    cn_rng_init(&r, 13, CN_STREAM_USER);
    for (size_t l = 0; l < sizeof lines / sizeof lines[0]; l++) {
        conv_case c;
        if (!conv_case_parse(&c, lines[l])) continue;
        CHECK_OK(cn_set_num_threads(3));
        CHECK_OK(conv_case_resolve(&c)); /* scratch sized for 3 threads */
        CHECK_EQ_INT(c.g.threads, 3);
        const int64_t xn = case_xn(&c), yn = case_yn(&c), wn = case_wn(&c), bn = case_bn(&c);
        float *x = case_alloc(xn), *dy = case_alloc(yn), *w = case_alloc(wn), *b = case_alloc(bn);
        float *scratch = case_alloc((int64_t)cn_conv_scratch_floats(&c.g));
        cn_rng_fill_uniform(&r, x, xn, -1, 1);
        cn_rng_fill_uniform(&r, dy, yn, -1, 1);
        cn_rng_fill_uniform(&r, w, wn, -1, 1);
        cn_rng_fill_uniform(&r, b, bn, -1, 1);
        float *out[3][4];
        for (int t = 0; t < 3; t++) {
            CHECK_OK(cn_set_num_threads(t + 1));
            out[t][0] = case_alloc(yn), out[t][1] = case_alloc(xn), out[t][2] = case_alloc(wn), out[t][3] = case_alloc(bn);
            cn_conv_forward(out[t][0], x, w, b, &c.g, scratch);
            cn_conv_backward_data(out[t][1], dy, w, &c.g, scratch);
            cn_conv_backward_weights(out[t][2], out[t][3], dy, x, &c.g, scratch);
        }
        for (int t = 1; t < 3; t++) {
            CHECK_MSG(!memcmp(out[0][0], out[t][0], (size_t)yn * 4), "\"%s\": forward differs at %d threads", lines[l], t + 1);
            CHECK_MSG(!memcmp(out[0][1], out[t][1], (size_t)xn * 4), "\"%s\": backward_data differs at %d threads", lines[l], t + 1);
            CHECK_MSG(!memcmp(out[0][2], out[t][2], (size_t)wn * 4), "\"%s\": dw differs at %d threads", lines[l], t + 1);
            CHECK_MSG(!memcmp(out[0][3], out[t][3], (size_t)bn * 4), "\"%s\": db differs at %d threads", lines[l], t + 1);
        }
        for (int t = 0; t < 3; t++)
            for (int k = 0; k < 4; k++) free(out[t][k]);
        free(x), free(dy), free(w), free(b), free(scratch);
    }
    CHECK_OK(cn_set_num_threads(orig > 0 ? 0 : 0)); /* back to the default */
}

/* Row tiles (AUTO's forward where output rows fit 16-lane vectors no wider than the padded
 * grid) compute every element with the same chain of multiply-adds as the in-place grid
 * (GEMM): the same bits, so choosing between them never changes a result. */
static void test_row_tiles_match_the_grid(void)
{
    static const char *const lines[] = {
        "d2 n3 ic1 oc8 in12x12 k5x5 p2 bias1",    "d1 n3 ic2 oc5 in30 k3 p1 bias1",
        "d2 n2 ic3 oc9 in9x12 k3x3 dil2 p2 bias1", "d2 n2 ic3 oc5 in20x32 k7x7 s2 p3 bias1",
        "d2 n2 ic20 oc6 in5x16 k3x3 p1 bias1",     "d2 n4 ic1 oc32 in28x28 k5x5 p2 bias1",
    };
    cn_rng r;
    cn_rng_init(&r, 15, CN_STREAM_USER);
    for (size_t l = 0; l < sizeof lines / sizeof lines[0]; l++) {
        conv_case a, g;
        CHECK(conv_case_parse(&a, lines[l]) && conv_case_parse(&g, lines[l]));
        g.g.algo = CN_CONV_ALGO_GEMM;
        CHECK_OK(conv_case_resolve(&a));
        CHECK_OK(conv_case_resolve(&g));
        CHECK_MSG(cn_conv_algo_chosen(&a.g) == CN_CONV_ALGO_GEMM, "\"%s\": AUTO chose %s", lines[l],
                  cn_conv_algo_name(cn_conv_algo_chosen(&a.g)));
        const int64_t xn = case_xn(&a), yn = case_yn(&a), wn = case_wn(&a), bn = case_bn(&a);
        float *x = case_alloc(xn), *w = case_alloc(wn), *b = case_alloc(bn), *y1 = case_alloc(yn), *y2 = case_alloc(yn);
        float *s1 = case_alloc((int64_t)cn_conv_scratch_floats(&a.g)), *s2 = case_alloc((int64_t)cn_conv_scratch_floats(&g.g));
        cn_rng_fill_uniform(&r, x, xn, -1, 1);
        cn_rng_fill_uniform(&r, w, wn, -1, 1);
        cn_rng_fill_uniform(&r, b, bn, -1, 1);
        cn_conv_forward(y1, x, w, b, &a.g, s1);
        cn_conv_forward(y2, x, w, b, &g.g, s2);
        CHECK_MSG(!memcmp(y1, y2, (size_t)yn * sizeof(float)), "\"%s\": row tiles differ from the grid", lines[l]);
        free(x), free(w), free(b), free(y1), free(y2), free(s1), free(s2);
    }
}

/* NULL scratch runs the reference (bit-identical); the reference algorithm needs no scratch;
 * the chosen algorithm is reported; depthwise picks single-row kernels. */
static void test_reference_fallback_and_choice(void)
{
    conv_case c;
    CHECK(conv_case_parse(&c, "d2 n2 ic3 oc4 in6x7 k3x3 p1 bias1"));
    CHECK_OK(conv_case_resolve(&c));
    CHECK(cn_conv_scratch_floats(&c.g) > 0);
    CHECK_EQ_INT(cn_conv_algo_chosen(&c.g), CN_CONV_ALGO_GEMM);
    float x[2 * 3 * 42], w[4 * 3 * 9], b[4], y1[2 * 4 * 42], y2[2 * 4 * 42];
    cn_rng r;
    cn_rng_init(&r, 14, CN_STREAM_USER);
    cn_rng_fill_uniform(&r, x, 2 * 3 * 42, -1, 1);
    cn_rng_fill_uniform(&r, w, 4 * 3 * 9, -1, 1);
    cn_rng_fill_uniform(&r, b, 4, -1, 1);
    cn_conv_ref_forward(y1, x, w, b, &c.g, NULL);
    cn_conv_forward(y2, x, w, b, &c.g, NULL);
    CHECK(!memcmp(y1, y2, sizeof y1));
    c.g.algo = CN_CONV_ALGO_REF;
    CHECK_EQ_INT(cn_conv_scratch_floats(&c.g), 0);
    CHECK_EQ_INT(cn_conv_algo_chosen(&c.g), CN_CONV_ALGO_REF);
    CHECK(conv_case_parse(&c, "d2 n2 ic8 oc8 g8 in9x9 k3x3 p1"));
    CHECK_OK(conv_case_resolve(&c));
    CHECK_EQ_INT(cn_conv_algo_chosen(&c.g), CN_CONV_ALGO_ROWS);
    CHECK(!strcmp(cn_conv_algo_name(CN_CONV_ALGO_GEMM), "gemm"));
    c.g.algo = (cn_conv_algo)99;
    CHECK_ERR(cn_conv_geom_resolve(&c.g, "c9"), CN_STATUS_INVALID_ARG, "unknown algorithm 99");
}

int main(void)
{
    RUN(test_reference_fallback_and_choice);
    RUN(test_grid_every_isa_and_algo);
    RUN(test_random_geometries);
    RUN(test_thread_count_does_not_change_results);
    RUN(test_row_tiles_match_the_grid);
    return cn_test_finish();
}
