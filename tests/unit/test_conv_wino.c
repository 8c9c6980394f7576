/* test_conv_wino.c — Winograd F(2x2, 3x3) (CN_CONV_ALGO_WINOGRAD, conv_wino.c): forward and
 * backward data against the reference kernels on every ISA, within a rigorous bound; the
 * geometries it does not fit fall back; AUTO's choice; bit-identical results at any thread
 * count; scratch never overrun.
 *
 * The bound. Winograd computes each output through transforms with subtractions, so the
 * direct methods' bound (test_conv_fast.c: (K + 2) 2^-24 sum |terms|) does not apply. Any
 * computation made of sums and products errs by at most L 2^-24 (1 + O(2^-24)) times the
 * same computation run on absolute values (every input and constant replaced by its absolute
 * value), L the most roundings on one path: K + 11 here (conv_wino.c), +1 for the
 * accumulating backward pass. abs_wino() below is that computation in double:
 * |A^T| (sum_c |G| |g_c| |G|^T (.) |B^T| |d_c| |B|) |A| (+ |bias|), for every output. The
 * reference (double, rounded once) adds 2^-24 |result|, which is below it. A wrong term or a
 * misplaced tile errs by ~|w x| ~ 0.1-1, far beyond it (~1e-5 here). */
#include <stdlib.h>
#include <string.h>

#include "conv_case.h"

static const double AG[4][3] = {{1, 0, 0}, {.5, .5, .5}, {.5, .5, .5}, {0, 0, 1}}; /* |G| */
static const double AB[4][4] = {{1, 0, 1, 0}, {0, 1, 1, 0}, {0, 1, 1, 0}, {0, 1, 0, 1}}; /* |B^T| */
static const double AA[2][4] = {{1, 1, 1, 0}, {0, 1, 1, 1}};                          /* |A^T| */

/* out (N, m, oh, ow) = abs-Winograd of in (N, K, ih, iw) with filters f(i, q) (3x3, |.|
 * already taken) and pads pt, pl, plus add (N, m, oh, ow) or NULL */
typedef const float *(*filter_fn)(const float *w, int64_t i, int64_t q, int64_t m, int64_t K, float *buf);

static const float *filt_fwd(const float *w, int64_t i, int64_t q, int64_t m, int64_t K, float *buf)
{
    (void)m, (void)buf;
    return w + (i * K + q) * 9;
}
/* backward data: dx's filter (i = ic, q = oc) is w[oc][ic] flipped */
static const float *filt_bwd(const float *w, int64_t i, int64_t q, int64_t m, int64_t K, float *buf)
{
    (void)K;
    for (int t = 0; t < 9; t++) buf[t] = w[(q * m + i) * 9 + 8 - t];
    return buf;
}

static void abs_wino(double *out, const float *in, const float *w, filter_fn filt, const float *bias, int64_t N, int64_t m,
                     int64_t K, int64_t ih, int64_t iw, int64_t oh, int64_t ow, int64_t pt, int64_t pl)
{
    const int64_t th = (oh + 1) / 2, tw = (ow + 1) / 2;
    double *U = malloc(sizeof(double) * (size_t)(m * K * 16));
    float buf[9];
    for (int64_t i = 0; i < m; i++)
        for (int64_t q = 0; q < K; q++) {
            const float *f = filt(w, i, q, m, K, buf);
            for (int a = 0; a < 4; a++)
                for (int b = 0; b < 4; b++) {
                    double s = 0;
                    for (int r = 0; r < 3; r++)
                        for (int c = 0; c < 3; c++) s += AG[a][r] * fabs((double)f[r * 3 + c]) * AG[b][c];
                    U[(i * K + q) * 16 + a * 4 + b] = s;
                }
        }
    double *V = malloc(sizeof(double) * (size_t)(K * 16));
    for (int64_t n = 0; n < N; n++)
        for (int64_t ty = 0; ty < th; ty++)
            for (int64_t tx = 0; tx < tw; tx++) {
                for (int64_t q = 0; q < K; q++) {
                    double d[4][4];
                    for (int r = 0; r < 4; r++)
                        for (int c = 0; c < 4; c++) {
                            const int64_t y = 2 * ty - pt + r, x = 2 * tx - pl + c;
                            d[r][c] = y >= 0 && y < ih && x >= 0 && x < iw ? fabs((double)in[((n * K + q) * ih + y) * iw + x]) : 0;
                        }
                    for (int a = 0; a < 4; a++)
                        for (int b = 0; b < 4; b++) {
                            double s = 0;
                            for (int r = 0; r < 4; r++)
                                for (int c = 0; c < 4; c++) s += AB[a][r] * d[r][c] * AB[b][c];
                            V[q * 16 + a * 4 + b] = s;
                        }
                }
                for (int64_t i = 0; i < m; i++) {
                    double Mk[16] = {0};
                    for (int64_t q = 0; q < K; q++)
                        for (int k = 0; k < 16; k++) Mk[k] += U[(i * K + q) * 16 + k] * V[q * 16 + k];
                    for (int a = 0; a < 2; a++)
                        for (int b = 0; b < 2; b++) {
                            const int64_t y = 2 * ty + a, x = 2 * tx + b;
                            if (y >= oh || x >= ow) continue;
                            double s = bias ? fabs((double)bias[i]) : 0;
                            for (int r = 0; r < 4; r++)
                                for (int c = 0; c < 4; c++) s += AA[a][r] * Mk[r * 4 + c] * AA[b][c];
                            out[((n * m + i) * oh + y) * ow + x] += s;
                        }
                }
            }
    free(U), free(V);
}

/* |fast - ref| <= (L + 2) 2^-24 bound elementwise */
static void check_within(const float *fast, const float *ref, const double *bound, int64_t n, double L, const char *what,
                         const char *line)
{
    int64_t worst = -1;
    double ratio = 0;
    for (int64_t i = 0; i < n; i++) {
        const double tol = (L + 2) * 0x1p-24 * bound[i] + 1e-30, err = fabs((double)fast[i] - (double)ref[i]);
        if (!(err <= tol) && (worst < 0 || err / tol > ratio)) worst = i, ratio = err / tol;
    }
    CHECK_MSG(worst < 0, "%s of \"%s\" (%s): element %lld fast %.9g ref %.9g (error %.3g x the bound)", what, line,
              cn_isa_name(cn_isa_active()), (long long)worst, worst >= 0 ? fast[worst] : 0.0,
              worst >= 0 ? ref[worst] : 0.0, ratio);
}

static float *rand_alloc(cn_rng *r, int64_t n)
{
    float *p = case_alloc(n);
    cn_rng_fill_uniform(r, p, n, -1, 1);
    return p;
}

/* forward and backward data of one line under forced WINOGRAD (which must be chosen), and
 * backward weights (run by the implicit GEMM) bit-identical to AUTO's */
static void check_line(const char *line, cn_rng *r)
{
    conv_case c;
    CHECK(conv_case_parse(&c, line));
    c.g.algo = CN_CONV_ALGO_WINOGRAD;
    CHECK_OK(conv_case_resolve(&c));
    const cn_conv_geom *g = &c.g;
    CHECK_MSG(cn_conv_algo_chosen(g) == CN_CONV_ALGO_WINOGRAD, "\"%s\": chose %s", line, cn_conv_algo_name(cn_conv_algo_chosen(g)));
    const int64_t xn = case_xn(&c), yn = case_yn(&c), wn = case_wn(&c), bn = case_bn(&c);
    const int64_t N = g->n, m = g->oc, K = g->ic, ih = g->in[0], iw = g->in[1], oh = g->out[0], ow = g->out[1];
    const size_t sf = cn_conv_scratch_floats(g);
    float *scratch = case_alloc((int64_t)sf + 64);
    for (int i = 0; i < 64; i++) scratch[sf + i] = 1234.5f;
    float *x = rand_alloc(r, xn), *w = rand_alloc(r, wn), *b = rand_alloc(r, bn), *dy = rand_alloc(r, yn);
    const float *bias = c.bias ? b : NULL;

    float *y1 = case_alloc(yn), *y2 = case_alloc(yn);
    double *yb = calloc((size_t)yn, sizeof(double));
    cn_conv_ref_forward(y1, x, w, bias, g, NULL);
    cn_conv_forward(y2, x, w, bias, g, scratch);
    abs_wino(yb, x, w, filt_fwd, bias, N, m, K, ih, iw, oh, ow, g->pad_begin[0], g->pad_begin[1]);
    check_within(y2, y1, yb, yn, (double)(K + 11), "forward", line);

    float *dx1 = rand_alloc(r, xn), *dx2 = case_alloc(xn);
    memcpy(dx2, dx1, (size_t)xn * sizeof(float));
    double *dxb = calloc((size_t)xn, sizeof(double));
    for (int64_t i = 0; i < xn; i++) dxb[i] = fabs((double)dx1[i]);
    cn_conv_ref_backward_data(dx1, dy, w, g, NULL);
    cn_conv_backward_data(dx2, dy, w, g, scratch);
    abs_wino(dxb, dy, w, filt_bwd, NULL, N, K, m, oh, ow, ih, iw, 2 - g->pad_begin[0], 2 - g->pad_begin[1]);
    check_within(dx2, dx1, dxb, xn, (double)(m + 12), "backward_data", line);

    float *dw1 = case_alloc(wn), *dw2 = case_alloc(wn), *db1 = case_alloc(bn), *db2 = case_alloc(bn);
    cn_conv_backward_weights(dw1, db1, dy, x, g, scratch);
    c.g.algo = CN_CONV_ALGO_AUTO;
    CHECK_OK(conv_case_resolve(&c));
    float *scratch2 = case_alloc((int64_t)cn_conv_scratch_floats(g));
    cn_conv_backward_weights(dw2, db2, dy, x, g, scratch2);
    CHECK_MSG(!memcmp(dw1, dw2, (size_t)wn * 4) && !memcmp(db1, db2, (size_t)bn * 4), "\"%s\": weight gradient differs from AUTO's", line);

    int canary = 1;
    for (int i = 0; i < 64; i++) canary &= scratch[sf + i] == 1234.5f;
    CHECK_MSG(canary, "\"%s\" (%s): wrote past its %zu scratch floats", line, cn_isa_name(cn_isa_active()), sf);
    free(scratch), free(scratch2), free(x), free(w), free(b), free(dy), free(y1), free(y2), free(yb);
    free(dx1), free(dx2), free(dxb), free(dw1), free(dw2), free(db1), free(db2);
}

static const char *const lines[] = {
    "d2 n2 ic3 oc5 in7x9 k3x3 p1 bias1",        /* odd sizes: a half tile at the right and bottom */
    "d2 n1 ic8 oc8 in8x8 k3x3 p1",              /* even */
    "d2 n3 ic4 oc9 in6x5 k3x3 p0 bias1",        /* valid: 4x3 out */
    "d2 n1 ic5 oc3 in5x6 k3x3 p2 bias1",        /* full: 7x8 out */
    "d2 n2 ic6 oc7 in9x8 k3x3 p2,0,1,2 bias1",  /* asymmetric pads */
    "d2 n1 ic2 oc2 in1x1 k3x3 p1",              /* one pixel */
    "d2 n1 ic3 oc4 in2x40 k3x3 p1 bias1",       /* a wide row */
    "d2 n1 ic130 oc10 in6x6 k3x3 p1 bias1",     /* two depth blocks (K > 128) */
    "d2 n2 ic12 oc270 in5x5 k3x3 p1 bias1",     /* many rows: backward has K = 270 */
    "d2 n3 ic16 oc24 in30x26 k3x3 p1 bias1",    /* several blocks of tiles, blocks straddling rows and images */
};

static void test_every_isa(void)
{
    const cn_isa orig = cn_isa_active();
    cn_rng r;
    cn_rng_init(&r, 21, CN_STREAM_USER);
    int isas = 0;
    for (int isa = 0; isa < CN_ISA_COUNT_; isa++) {
        if (cn_isa_select((cn_isa)isa) != CN_OK) continue;
        isas++;
        for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) check_line(lines[i], &r);
    }
    CHECK(isas >= 1);
    CHECK_OK(cn_isa_select(orig));
}

/* geometries Winograd does not fit: WINOGRAD plans them as AUTO does */
static void test_fallback(void)
{
    static const char *const no[] = {
        "d2 n1 ic4 oc4 in8x8 k3x3 s2 p1", "d2 n1 ic4 oc4 in8x8 k5x5 p2",       "d2 n1 ic4 oc4 g2 in8x8 k3x3 p1",
        "d2 n1 ic4 oc4 in8x8 k3x3 dil2 p2", "d2 n1 ic4 oc4 in8x8 k3x3 p1 flip", "d2 n1 ic4 oc4 in8x8 k3x3 p1 pad=reflect",
        "d2 n1 ic4 oc4 in8x8 k3x3 p3",     "d1 n1 ic4 oc4 in8 k3 p1",          "d3 n1 ic4 oc4 in4x4x4 k3x3x3 p1",
        "d2 n1 ic4 oc4 in8x8 k3x3 s2 p1 tr", "d2 n1 ic4 oc4 in8x8 k3x2 p1",
    };
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
        conv_case c, a;
        CHECK(conv_case_parse(&c, no[i]) && conv_case_parse(&a, no[i]));
        c.g.algo = CN_CONV_ALGO_WINOGRAD;
        CHECK_OK(conv_case_resolve(&c));
        CHECK_OK(conv_case_resolve(&a));
        CHECK_MSG(cn_conv_algo_chosen(&c.g) == cn_conv_algo_chosen(&a.g), "\"%s\": WINOGRAD chose %s, AUTO %s", no[i],
                  cn_conv_algo_name(cn_conv_algo_chosen(&c.g)), cn_conv_algo_name(cn_conv_algo_chosen(&a.g)));
        CHECK_EQ_INT(cn_conv_scratch_floats(&c.g), cn_conv_scratch_floats(&a.g));
    }
    CHECK(!strcmp(cn_conv_algo_name(CN_CONV_ALGO_WINOGRAD), "winograd"));
}

/* AUTO: Winograd for large 3x3 layers, not where the transforms cost more than they save */
static void test_auto_choice(void)
{
    static const struct { const char *line; int wino; } cases[] = {
        {"d2 n1 ic64 oc64 in56x56 k3x3 p1", 1},  /* ResNet stage 1 */
        {"d2 n8 ic128 oc128 in28x28 k3x3 p1", 1},
        {"d2 n32 ic512 oc512 in7x7 k3x3 p1", 1}, /* many images: the filter transform amortized */
        {"d2 n1 ic512 oc512 in7x7 k3x3 p1", 0},  /* batch 1: 16 tiles do not repay the filter transform */
        {"d2 n2 ic3 oc5 in7x9 k3x3 p1", 0},      /* few channels */
        {"d2 n1 ic64 oc64 in56x56 k3x3 s2 p1", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        conv_case c;
        CHECK(conv_case_parse(&c, cases[i].line));
        CHECK_OK(conv_case_resolve(&c));
        CHECK_MSG((cn_conv_algo_chosen(&c.g) == CN_CONV_ALGO_WINOGRAD) == cases[i].wino, "\"%s\": AUTO chose %s", cases[i].line,
                  cn_conv_algo_name(cn_conv_algo_chosen(&c.g)));
    }
}

/* the same bits at 1, 2 and 3 threads (each output is made by one task in one order) */
static void test_threads(void)
{
    const char *line = "d2 n4 ic32 oc40 in20x22 k3x3 p1 bias1";
    cn_rng r;
    cn_rng_init(&r, 22, CN_STREAM_USER);
    conv_case c;
    CHECK(conv_case_parse(&c, line));
    c.g.algo = CN_CONV_ALGO_WINOGRAD;
    CHECK_OK(cn_set_num_threads(3));
    CHECK_OK(conv_case_resolve(&c));
    const int64_t xn = case_xn(&c), yn = case_yn(&c), wn = case_wn(&c), bn = case_bn(&c);
    float *x = rand_alloc(&r, xn), *w = rand_alloc(&r, wn), *b = rand_alloc(&r, bn), *dy = rand_alloc(&r, yn);
    float *scratch = case_alloc((int64_t)cn_conv_scratch_floats(&c.g));
    float *y[3], *dx[3];
    for (int t = 0; t < 3; t++) {
        CHECK_OK(cn_set_num_threads(t + 1));
        y[t] = case_alloc(yn), dx[t] = case_alloc(xn);
        cn_conv_forward(y[t], x, w, b, &c.g, scratch);
        cn_conv_backward_data(dx[t], dy, w, &c.g, scratch);
    }
    for (int t = 1; t < 3; t++) {
        CHECK_MSG(!memcmp(y[0], y[t], (size_t)yn * 4), "forward differs at %d threads", t + 1);
        CHECK_MSG(!memcmp(dx[0], dx[t], (size_t)xn * 4), "backward_data differs at %d threads", t + 1);
    }
    for (int t = 0; t < 3; t++) free(y[t]), free(dx[t]);
    free(x), free(w), free(b), free(dy), free(scratch);
    CHECK_OK(cn_set_num_threads(0));
}

/* Prepared filters (cn_conv_prepare): the forward from them has the same bits as the plain
 * forward, on every ISA; prepared under one ISA and run under another, the forward transforms
 * again (the same bits as that ISA's plain forward); geometries without a prepared form take
 * none; weights_fixed lets AUTO pick Winograd where the filter transform no longer costs. */
static void test_prepared(void)
{
    static const char *const plines[] = {"d2 n2 ic12 oc20 in9x11 k3x3 p1 bias1", "d2 n1 ic130 oc10 in6x6 k3x3 p1 bias1"};
    const cn_isa orig = cn_isa_active();
    cn_rng r;
    cn_rng_init(&r, 23, CN_STREAM_USER);
    for (size_t l = 0; l < sizeof plines / sizeof plines[0]; l++) {
        conv_case c;
        CHECK(conv_case_parse(&c, plines[l]));
        c.g.algo = CN_CONV_ALGO_WINOGRAD;
        CHECK_OK(conv_case_resolve(&c));
        const int64_t xn = case_xn(&c), yn = case_yn(&c), wn = case_wn(&c), bn = case_bn(&c);
        const size_t pf = cn_conv_prepared_floats(&c.g);
        CHECK(pf >= (size_t)(16 * c.g.oc * c.g.ic));
        float *x = rand_alloc(&r, xn), *w = rand_alloc(&r, wn), *b = rand_alloc(&r, bn), *pw = case_alloc((int64_t)pf);
        float *y1 = case_alloc(yn), *y2 = case_alloc(yn), *sc = case_alloc((int64_t)cn_conv_scratch_floats(&c.g));
        cn_isa last = orig;
        for (int isa = 0; isa < CN_ISA_COUNT_; isa++) {
            if (cn_isa_select((cn_isa)isa) != CN_OK) continue;
            /* the previous ISA's prepared form first, then this one's */
            cn_conv_forward(y1, x, w, b, &c.g, sc);
            cn_conv_forward_prepared(y2, x, pw, w, b, &c.g, sc);
            if (isa > 0) CHECK_MSG(!memcmp(y1, y2, (size_t)yn * 4), "\"%s\": prepared under %s, run under %s", plines[l],
                                   cn_isa_name(last), cn_isa_name((cn_isa)isa));
            cn_conv_prepare(pw, w, &c.g);
            cn_conv_forward_prepared(y2, x, pw, w, b, &c.g, sc);
            CHECK_MSG(!memcmp(y1, y2, (size_t)yn * 4), "\"%s\" (%s): prepared forward differs", plines[l], cn_isa_name((cn_isa)isa));
            last = (cn_isa)isa;
        }
        CHECK_OK(cn_isa_select(orig));
        free(x), free(w), free(b), free(pw), free(y1), free(y2), free(sc);
    }
    conv_case c;
    CHECK(conv_case_parse(&c, "d2 n1 ic4 oc4 in8x8 k3x3 s2 p1"));
    CHECK_OK(conv_case_resolve(&c));
    CHECK_EQ_INT(cn_conv_prepared_floats(&c.g), 0);
    static const char *const fixed[] = {"d2 n1 ic512 oc512 in7x7 k3x3 p1", "d2 n1 ic256 oc256 in14x14 k3x3 p1"};
    for (size_t l = 0; l < 2; l++) {
        CHECK(conv_case_parse(&c, fixed[l]));
        CHECK_OK(conv_case_resolve(&c));
        CHECK(cn_conv_algo_chosen(&c.g) != CN_CONV_ALGO_WINOGRAD);
        c.g.weights_fixed = 1;
        CHECK_MSG(cn_conv_algo_chosen(&c.g) == CN_CONV_ALGO_WINOGRAD, "\"%s\" with fixed weights: AUTO chose %s", fixed[l],
                  cn_conv_algo_name(cn_conv_algo_chosen(&c.g)));
    }
}

int main(void)
{
    RUN(test_every_isa);
    RUN(test_fallback);
    RUN(test_auto_choice);
    RUN(test_threads);
    RUN(test_prepared);
    return cn_test_finish();
}
