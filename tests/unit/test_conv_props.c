/* test_conv_props.c — properties of the reference convolution that hold exactly:
 * the lecture's hand-worked examples, true convolution vs cross-correlation, 1x1
 * convolution as a dense layer at every position, translation equivariance, and random
 * configurations against the forward pass computed the textbook way (padded copy, or zero
 * insertion for transposed convolution). */
#include <stdlib.h>
#include <string.h>

#include "conv_case.h"

static void fill(float *p, int64_t n, uint64_t seed)
{
    cn_rng r;
    cn_rng_init(&r, seed, CN_STREAM_USER);
    cn_rng_fill_uniform(&r, p, (size_t)n, -1, 1);
}

/* a resolved single-channel 2D cross-correlation */
static cn_conv_geom geom2(int64_t ih, int64_t iw, int64_t kh, int64_t kw)
{
    cn_conv_geom g;
    cn_conv_geom_init(&g, 2);
    g.ic = g.oc = 1;
    g.in[0] = ih, g.in[1] = iw, g.k[0] = kh, g.k[1] = kw;
    CHECK_OK(cn_conv_geom_resolve(&g, "hand"));
    return g;
}

static void test_lecture_binary_image(void)
{
    const float img[25] = {1, 1, 1, 0, 0, /**/ 0, 1, 1, 1, 0, /**/ 0, 0, 1, 1, 1, /**/ 0, 0, 1, 1, 0, /**/ 0, 1, 1, 0, 0};
    const float xk[9] = {1, 0, 1, /**/ 0, 1, 0, /**/ 1, 0, 1};
    const float want[9] = {4, 3, 4, /**/ 2, 4, 3, /**/ 2, 3, 4};
    cn_conv_geom g = geom2(5, 5, 3, 3);
    CHECK(g.out[0] == 3 && g.out[1] == 3);
    float y[9];
    cn_conv_forward(y, img, xk, NULL, &g, NULL);
    CHECK_EQ_INT(y[0], 4); /* the top-left value worked by hand */
    CHECK(!memcmp(y, want, sizeof want));
    g.flip = 1; /* the "x" kernel is symmetric: true convolution gives the same */
    cn_conv_forward(y, img, xk, NULL, &g, NULL);
    CHECK(!memcmp(y, want, sizeof want));
    /* a bias adds to every output */
    const float b = 0.5f;
    g.flip = 0;
    cn_conv_forward(y, img, xk, &b, &g, NULL);
    for (int i = 0; i < 9; i++) CHECK(y[i] == want[i] + 0.5f);
}

static void test_edge_detection(void)
{
    /* a vertical step: every row is 0 0 0 1 1 1 */
    float img[4 * 6];
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 6; c++) img[r * 6 + c] = c >= 3 ? 1.0f : 0.0f;
    cn_conv_geom g = geom2(4, 6, 3, 3);
    float y[2 * 4];
    /* Sobel x: window at column j gives (x[j+2] - x[j]) * (1 + 2 + 1) = 0, 4, 4, 0 */
    const float sobel_x[9] = {-1, 0, 1, /**/ -2, 0, 2, /**/ -1, 0, 1};
    const float want_x[8] = {0, 4, 4, 0, /**/ 0, 4, 4, 0};
    cn_conv_forward(y, img, sobel_x, NULL, &g, NULL);
    CHECK(!memcmp(y, want_x, sizeof want_x));
    /* Sobel y sees no horizontal edge */
    const float sobel_y[9] = {-1, -2, -1, /**/ 0, 0, 0, /**/ 1, 2, 1};
    cn_conv_forward(y, img, sobel_y, NULL, &g, NULL);
    for (int i = 0; i < 8; i++) CHECK(y[i] == 0.0f);
    /* Laplacian: x[c-1] + x[c+1] - 2 x[c] at centre column c = 1..4: 0, 1, -1, 0 */
    const float lap[9] = {0, 1, 0, /**/ 1, -4, 1, /**/ 0, 1, 0};
    const float want_l[8] = {0, 1, -1, 0, /**/ 0, 1, -1, 0};
    cn_conv_forward(y, img, lap, NULL, &g, NULL);
    CHECK(!memcmp(y, want_l, sizeof want_l));
    /* 1D difference [-1, 1] on 0 0 0 1 1 1: cross-correlation gives +1 at the step; true
     * convolution flips the kernel to [1, -1] and gives -1 */
    cn_conv_geom g1;
    cn_conv_geom_init(&g1, 1);
    g1.ic = g1.oc = 1, g1.in[0] = 6, g1.k[0] = 2;
    CHECK_OK(cn_conv_geom_resolve(&g1, "diff"));
    const float d[2] = {-1, 1}, want_cc[5] = {0, 0, 1, 0, 0}, want_tc[5] = {0, 0, -1, 0, 0};
    float y1[5];
    cn_conv_forward(y1, img, d, NULL, &g1, NULL);
    CHECK(!memcmp(y1, want_cc, sizeof want_cc));
    g1.flip = 1;
    cn_conv_forward(y1, img, d, NULL, &g1, NULL);
    CHECK(!memcmp(y1, want_tc, sizeof want_tc));
    /* with "same" zero padding the borders see the zeros (a padded column -1 and 6, a padded
     * row above the first and below the last) */
    g = geom2(4, 6, 3, 3);
    g.auto_pad = CN_AUTO_PAD_SAME_UPPER;
    CHECK_OK(cn_conv_geom_resolve(&g, "same"));
    float ys[24];
    cn_conv_forward(ys, img, sobel_x, NULL, &g, NULL);
    /* interior rows: column c gives 4 * (x[c+1] - x[c-1]) with x[-1] = 0, x[6] = 0:
     * c = 0..5: 0, 0, 4, 4, 0, -4; top and bottom rows miss one outer kernel row: 3/4 of that */
    const float row_in[6] = {0, 0, 4, 4, 0, -4}, row_edge[6] = {0, 0, 3, 3, 0, -3};
    CHECK(!memcmp(ys, row_edge, sizeof row_edge));
    CHECK(!memcmp(ys + 6, row_in, sizeof row_in) && !memcmp(ys + 12, row_in, sizeof row_in));
    CHECK(!memcmp(ys + 18, row_edge, sizeof row_edge));
}

/* w with every spatial axis reversed; w is (A, B, *k) with `nk` taps per (a, b) */
static void flip_kernel(float *dst, const float *src, int64_t ab, const int64_t *k, int nd)
{
    const int64_t K0 = nd == 3 ? k[0] : 1, K1 = nd >= 2 ? k[nd - 2] : 1, K2 = k[nd - 1];
    const int64_t K = K0 * K1 * K2;
    for (int64_t i = 0; i < ab; i++)
        for (int64_t a = 0; a < K0; a++)
            for (int64_t b = 0; b < K1; b++)
                for (int64_t c = 0; c < K2; c++)
                    dst[i * K + (a * K1 + b) * K2 + c] = src[i * K + ((K0 - 1 - a) * K1 + (K1 - 1 - b)) * K2 + (K2 - 1 - c)];
}

static void test_flip_is_true_convolution(void)
{
    static const char *const lines[] = {
        "d1 n2 ic3 oc2 in9 k4 s2 p1,2 bias1",
        "d2 n1 ic4 oc6 in7x6 k3x2 s1x2 p1,0,1,1 dil2x1 g2 bias1 pad=reflect",
        "d3 n1 ic2 oc2 in4x5x4 k2x3x2 s1 p1 bias1 pad=replicate",
        "d2 n2 ic3 oc4 in3x4 k3x2 s2 p1 op1x0 tr bias1",
        "d2 n1 ic2 oc3 in5x5 k3x2 s1 p1 local bias1",
        "d2 n1 ic2 oc3 in6x5 k2x3 s1 p1 tile2 bias1",
    };
    for (size_t t = 0; t < sizeof lines / sizeof lines[0]; t++) {
        conv_case c;
        if (!conv_case_parse(&c, lines[t])) continue;
        CHECK_OK(conv_case_resolve(&c));
        const int64_t xn = case_xn(&c), yn = case_yn(&c), wn = case_wn(&c), bn = case_bn(&c);
        const int64_t taps = case_prod(c.g.k, c.g.ndim);
        float *x = case_alloc(xn), *w = case_alloc(wn), *wf = case_alloc(wn), *b = case_alloc(bn);
        float *y1 = case_alloc(yn), *y2 = case_alloc(yn), *dx1 = case_alloc(xn), *dx2 = case_alloc(xn);
        float *dw1 = case_alloc(wn), *dw2 = case_alloc(wn), *dwf = case_alloc(wn);
        fill(x, xn, 1), fill(w, wn, 2), fill(b, bn, 3);
        flip_kernel(wf, w, wn / taps, c.g.k, c.g.ndim);
        c.g.flip = 1;
        case_forward(&c, y1, x, w, b);
        case_backward_data(&c, dx1, y1, w);
        case_backward_weights(&c, dw1, NULL, y1, x);
        c.g.flip = 0;
        case_forward(&c, y2, x, wf, b);
        case_backward_data(&c, dx2, y2, wf);
        case_backward_weights(&c, dw2, NULL, y2, x);
        flip_kernel(dwf, dw2, wn / taps, c.g.k, c.g.ndim);
        /* the same products summed in the same order: bitwise equal */
        CHECK_MSG(!memcmp(y1, y2, (size_t)yn * 4), "\"%s\": flip=1 differs from the flipped kernel", lines[t]);
        CHECK_MSG(!memcmp(dx1, dx2, (size_t)xn * 4), "\"%s\": backward_data differs", lines[t]);
        CHECK_MSG(!memcmp(dw1, dwf, (size_t)wn * 4), "\"%s\": backward_weights differs", lines[t]);
        /* and cross-correlation with the unflipped (asymmetric) kernel is something else */
        case_forward(&c, y2, x, w, b);
        CHECK_MSG(memcmp(y1, y2, (size_t)yn * 4) != 0, "\"%s\": flip had no effect", lines[t]);
        free(x), free(w), free(wf), free(b), free(y1), free(y2), free(dx1), free(dx2), free(dw1), free(dw2), free(dwf);
    }
}

static void test_1x1_is_dense(void)
{
    static const char *const lines[] = {
        "d1 n2 ic5 oc3 in7 k1 bias1",
        "d2 n2 ic4 oc6 in5x3 k1 bias1",
        "d2 n1 ic4 oc6 in4x4 k1 g2 bias1", /* grouped: block-diagonal dense */
        "d3 n1 ic3 oc2 in2x3x4 k1 bias1",
    };
    for (size_t t = 0; t < sizeof lines / sizeof lines[0]; t++) {
        conv_case c;
        if (!conv_case_parse(&c, lines[t])) continue;
        CHECK_OK(conv_case_resolve(&c));
        const cn_conv_geom *g = &c.g;
        const int64_t xn = case_xn(&c), yn = case_yn(&c), wn = case_wn(&c), P = case_prod(g->in, g->ndim);
        const int64_t icg = g->ic / g->groups, ocg = g->oc / g->groups;
        float *x = case_alloc(xn), *w = case_alloc(wn), *b = case_alloc(g->oc), *y = case_alloc(yn), *d = case_alloc(yn);
        fill(x, xn, 4), fill(w, wn, 5), fill(b, g->oc, 6);
        case_forward(&c, y, x, w, b);
        /* W (OC, IC/groups) times the channel vector at every position p */
        for (int64_t n = 0; n < g->n; n++)
            for (int64_t o = 0; o < g->oc; o++)
                for (int64_t p = 0; p < P; p++) {
                    double s = b[o];
                    for (int64_t i = 0; i < icg; i++) s += (double)w[o * icg + i] * x[(n * g->ic + (o / ocg) * icg + i) * P + p];
                    d[(n * g->oc + o) * P + p] = (float)s;
                }
        CHECK(yn == g->n * g->oc * P);
        CHECK_ALLCLOSE(y, d, yn, 0, 0, lines[t]); /* same sum in the same order: exact */
        free(x), free(w), free(b), free(y), free(d);
    }
}

/* Shift the input of a stride-1 "same" conv by s (per axis): the output shifts by s,
 * wherever the receptive fields stay inside the part of the input that was shifted. */
static void check_equivariance(const char *line, const int64_t *shift)
{
    conv_case c;
    if (!conv_case_parse(&c, line)) return;
    CHECK_OK(conv_case_resolve(&c));
    const cn_conv_geom *g = &c.g;
    const int nd = g->ndim;
    int64_t in[3] = {1, 1, 1}, sh[3] = {0, 0, 0}, lo[3] = {0, 0, 0}, hi[3] = {1, 1, 1}, ext[3] = {1, 1, 1};
    for (int a = 0; a < nd; a++) {
        in[3 - nd + a] = g->in[a], sh[3 - nd + a] = shift[a];
        CHECK(g->out[a] == g->in[a] && g->stride[a] == 1);
        ext[3 - nd + a] = g->dilation[a] * (g->k[a] - 1) + 1;
        /* y'[o + s] = y[o] when y[o]'s field [o - pb, o - pb + ext) lies in [0, in - s) */
        lo[3 - nd + a] = g->pad_begin[a];
        hi[3 - nd + a] = g->in[a] - shift[a] - ext[3 - nd + a] + g->pad_begin[a] + 1;
        CHECK_MSG(hi[3 - nd + a] > lo[3 - nd + a], "\"%s\": no interior to compare", line);
    }
    const int64_t xn = case_xn(&c), yn = case_yn(&c), wn = case_wn(&c), P = in[0] * in[1] * in[2];
    float *x = case_alloc(xn), *xs = case_alloc(xn), *w = case_alloc(wn), *b = case_alloc(g->oc);
    float *y = case_alloc(yn), *ys = case_alloc(yn);
    fill(x, xn, 7), fill(xs, xn, 8), fill(w, wn, 9), fill(b, g->oc, 10);
    /* xs[i + s] = x[i]; the vacated border keeps other random values */
    for (int64_t nc = 0; nc < g->n * g->ic; nc++)
        for (int64_t i0 = 0; i0 + sh[0] < in[0]; i0++)
            for (int64_t i1 = 0; i1 + sh[1] < in[1]; i1++)
                for (int64_t i2 = 0; i2 + sh[2] < in[2]; i2++)
                    xs[nc * P + ((i0 + sh[0]) * in[1] + i1 + sh[1]) * in[2] + i2 + sh[2]] = x[nc * P + (i0 * in[1] + i1) * in[2] + i2];
    case_forward(&c, y, x, w, b);
    case_forward(&c, ys, xs, w, b);
    int64_t compared = 0, equal = 0;
    for (int64_t nc = 0; nc < g->n * g->oc; nc++)
        for (int64_t o0 = lo[0]; o0 < hi[0]; o0++)
            for (int64_t o1 = lo[1]; o1 < hi[1]; o1++)
                for (int64_t o2 = lo[2]; o2 < hi[2]; o2++) {
                    const float a = y[nc * P + (o0 * in[1] + o1) * in[2] + o2];
                    const float s = ys[nc * P + ((o0 + sh[0]) * in[1] + o1 + sh[1]) * in[2] + o2 + sh[2]];
                    compared++, equal += a == s; /* the same products in the same order: exact */
                }
    CHECK_MSG(compared > 0 && equal == compared, "\"%s\": %lld of %lld shifted outputs differ", line,
              (long long)(compared - equal), (long long)compared);
    /* near the border the shifted input differs, so the outputs there do too (the test can fail) */
    CHECK_MSG(memcmp(y, ys, (size_t)yn * 4) != 0, "\"%s\": shift changed nothing", line);
    free(x), free(xs), free(w), free(b), free(y), free(ys);
}

static void test_translation_equivariance(void)
{
    check_equivariance("d1 n2 ic2 oc3 in20 k5 s1 auto=same_upper bias1", (int64_t[]){3});
    check_equivariance("d1 n1 ic2 oc2 in20 k3 dil3 auto=same_lower bias1 pad=reflect", (int64_t[]){1});
    check_equivariance("d2 n1 ic3 oc2 in12x11 k3x4 auto=same_upper bias1", (int64_t[]){2, 1});
    check_equivariance("d2 n1 ic4 oc4 in12x12 k3 g4 auto=same_lower dil2 bias1 pad=replicate flip", (int64_t[]){1, 3});
    check_equivariance("d3 n1 ic2 oc2 in8x9x8 k3x3x2 auto=same_upper bias1", (int64_t[]){1, 2, 1});
}

/* The forward pass by the textbook route, independent of the kernels' index map:
 *   conv, local, tiled: materialize the padded input (zero / reflect / replicate), then a
 *               valid strided cross-correlation;
 *   transposed: spread x out by the stride with zeros between, pad by ext-1-pad_begin at the
 *               start and ext-1-pad_end+output_padding at the end (a negative pad crops), then a
 *               stride-1 cross-correlation with the kernel reversed and its channel axes swapped. */
static void direct_forward(const conv_case *c, float *y, const float *x, const float *w, const float *b)
{
    const cn_conv_geom *g = &c->g;
    const int nd = g->ndim, off = 3 - nd;
    int64_t in[3] = {1, 1, 1}, out[3] = {1, 1, 1}, k[3] = {1, 1, 1}, st[3] = {1, 1, 1}, dl[3] = {1, 1, 1};
    int64_t pb[3] = {0, 0, 0}, pe[3] = {0, 0, 0}, cyc[3] = {1, 1, 1}, L[3];
    for (int a = 0; a < nd; a++) {
        in[off + a] = g->in[a], out[off + a] = g->out[a], k[off + a] = g->k[a], st[off + a] = g->stride[a];
        dl[off + a] = g->dilation[a], pb[off + a] = g->pad_begin[a], pe[off + a] = g->pad_end[a];
        cyc[off + a] = c->kind == CASE_LOCAL ? g->out[a] : c->kind == CASE_TILED ? g->tile[a] : 1;
    }
    int64_t lo[3]; /* where x[0] lands in the padded array */
    for (int a = 0; a < 3; a++) {
        const int64_t ext = dl[a] * (k[a] - 1) + 1;
        lo[a] = g->transposed ? ext - 1 - pb[a] : pb[a];
        L[a] = g->transposed ? out[a] + ext - 1 : in[a] + pb[a] + pe[a];
    }
    const int64_t Lsz = L[0] * L[1] * L[2], isz = in[0] * in[1] * in[2], osz = out[0] * out[1] * out[2];
    float *P = case_alloc(g->n * g->ic * Lsz);
    for (int64_t nc = 0; nc < g->n * g->ic; nc++)
        for (int64_t q0 = 0; q0 < L[0]; q0++)
            for (int64_t q1 = 0; q1 < L[1]; q1++)
                for (int64_t q2 = 0; q2 < L[2]; q2++) {
                    const int64_t q[3] = {q0, q1, q2};
                    int64_t i[3], inside = 1;
                    for (int a = 0; a < 3; a++) {
                        int64_t v = q[a] - lo[a];
                        if (g->transposed) {
                            inside &= v >= 0 && v % st[a] == 0 && v / st[a] < in[a];
                            v = v >= 0 ? v / st[a] : 0;
                        } else if (g->pad_mode == CN_PAD_REFLECT) {
                            v = v < 0 ? -v : v >= in[a] ? 2 * (in[a] - 1) - v : v;
                        } else if (g->pad_mode == CN_PAD_REPLICATE) {
                            v = v < 0 ? 0 : v >= in[a] ? in[a] - 1 : v;
                        } else {
                            inside &= v >= 0 && v < in[a];
                        }
                        i[a] = v;
                    }
                    P[nc * Lsz + (q0 * L[1] + q1) * L[2] + q2] = inside ? x[nc * isz + (i[0] * in[1] + i[1]) * in[2] + i[2]] : 0.0f;
                }
    const int64_t icg = g->ic / g->groups, ocg = g->oc / g->groups, K = k[0] * k[1] * k[2];
    for (int64_t n = 0; n < g->n; n++)
        for (int64_t oc = 0; oc < g->oc; oc++)
            for (int64_t o0 = 0; o0 < out[0]; o0++)
                for (int64_t o1 = 0; o1 < out[1]; o1++)
                    for (int64_t o2 = 0; o2 < out[2]; o2++) {
                        const int64_t set = ((o0 % cyc[0]) * cyc[1] + o1 % cyc[1]) * cyc[2] + o2 % cyc[2];
                        double sum = c->bias ? b[set * g->oc + oc] : 0.0;
                        for (int64_t ci = 0; ci < icg; ci++) {
                            const int64_t cin = (oc / ocg) * icg + ci;
                            for (int64_t j0 = 0; j0 < k[0]; j0++)
                                for (int64_t j1 = 0; j1 < k[1]; j1++)
                                    for (int64_t j2 = 0; j2 < k[2]; j2++) {
                                        const int64_t j[3] = {j0, j1, j2};
                                        int64_t t[3], p[3];
                                        for (int a = 0; a < 3; a++) {
                                            const int rev = g->transposed ? !g->flip : g->flip;
                                            t[a] = rev ? k[a] - 1 - j[a] : j[a];
                                            p[a] = (g->transposed ? 1 : st[a]) * (a == 0 ? o0 : a == 1 ? o1 : o2) + j[a] * dl[a];
                                        }
                                        const int64_t widx = g->transposed
                                                                 ? (cin * ocg + oc % ocg) * K + (t[0] * k[1] + t[1]) * k[2] + t[2]
                                                                 : ((set * g->oc + oc) * icg + ci) * K + (t[0] * k[1] + t[1]) * k[2] + t[2];
                                        sum += (double)w[widx] * P[(n * g->ic + cin) * Lsz + (p[0] * L[1] + p[1]) * L[2] + p[2]];
                                    }
                        }
                        y[(n * g->oc + oc) * osz + (o0 * out[1] + o1) * out[2] + o2] = (float)sum;
                    }
    free(P);
}

static void test_random_against_direct(void)
{
    enum { CASES = 400 };
    cn_rng r;
    cn_rng_init(&r, 77, CN_STREAM_USER);
    double worst = 0;
    for (int i = 0; i < CASES; i++) {
        char line[256];
        conv_case_random_line(line, sizeof line, &r);
        conv_case c;
        if (!conv_case_parse(&c, line)) continue;
        cn_status st = conv_case_resolve(&c);
        CHECK_MSG(st == CN_OK, "\"%s\": %s", line, cn_last_error());
        if (st != CN_OK) continue;
        const int64_t xn = case_xn(&c), yn = case_yn(&c), wn = case_wn(&c), bn = case_bn(&c);
        float *x = case_alloc(xn), *w = case_alloc(wn), *b = case_alloc(bn), *y = case_alloc(yn), *d = case_alloc(yn);
        fill(x, xn, 100 + (uint64_t)i), fill(w, wn, 200 + (uint64_t)i), fill(b, bn, 300 + (uint64_t)i);
        case_forward(&c, y, x, w, c.bias ? b : NULL);
        direct_forward(&c, d, x, w, b);
        /* gather kernels and this loop both sum in double: ~1 ulp apart; the transposed forward
         * scatters in float (<= IC/groups * prod(k) <= 27 terms of size <= 1 here): < 1e-5 */
        CHECK_ALLCLOSE(y, d, yn, 1e-5, 1e-5, line);
        for (int64_t e = 0; e < yn; e++) worst = fmax(worst, fabs((double)y[e] - d[e]));
        free(x), free(w), free(b), free(y), free(d);
    }
    printf("     %d random cases, worst |difference| %.3g\n", CASES, worst);
}

int main(void)
{
    RUN(test_lecture_binary_image);
    RUN(test_edge_detection);
    RUN(test_flip_is_true_convolution);
    RUN(test_1x1_is_dense);
    RUN(test_translation_equivariance);
    RUN(test_random_against_direct);
    return cn_test_finish();
}
