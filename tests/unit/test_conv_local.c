/* test_conv_local.c — locally connected and tiled convolution against ordinary convolution
 * and against direct loops written here:
 *   - locally connected with the same kernel at every position is conv (and its dw summed
 *     over positions is conv's dw);
 *   - tiled with tile = 1 is conv, tiled with tile = out is locally connected;
 *   - tiled with tile > 1 and locally connected match a plain 2D/1D loop over the definition.
 * (Gradient checks are in test_conv_grad.c, PyTorch-based fixtures in test_conv_fixtures.c.) */
#include <stdlib.h>
#include <string.h>

#include "conv_case.h"

static void fill(float *p, int64_t n, uint64_t seed)
{
    cn_rng r;
    cn_rng_init(&r, seed, CN_STREAM_USER);
    cn_rng_fill_uniform(&r, p, (size_t)n, -1, 1);
}

static const char *const lines[] = {
    "d1 n2 ic3 oc2 in9 k3 s2 p1 bias1",
    "d1 n1 ic2 oc4 in8 k2 s1 dil3 g2 bias1 pad=replicate flip",
    "d2 n2 ic2 oc3 in6x5 k3x2 s1x2 p1,0,0,1 bias1 pad=reflect",
    "d2 n1 ic4 oc4 in7x7 k3 s2 dil2x1 p2 g4 bias1",
    "d3 n1 ic2 oc2 in4x5x4 k2x3x2 s1x1x2 p1,0,1,0,1,0 bias1 pad=replicate",
};

/* Runs forward, backward_data and backward_weights of a case (output arrays allocated here). */
typedef struct run_out {
    float *y, *dx, *dw, *db;
} run_out;

static run_out run_all(const conv_case *c, const float *x, const float *w, const float *b, const float *dy)
{
    run_out r = {case_alloc(case_yn(c)), case_alloc(case_xn(c)), case_alloc(case_wn(c)), case_alloc(case_bn(c))};
    case_forward(c, r.y, x, w, b);
    case_backward_data(c, r.dx, dy, w);
    case_backward_weights(c, r.dw, r.db, dy, x);
    return r;
}

static void run_free(run_out *r) { free(r->y), free(r->dx), free(r->dw), free(r->db); }

/* A family (local or tiled with `tile_tok`) with its kernel set repeated everywhere, against conv. */
static void compare_with_conv(const char *line, const char *family_tok, int exact_weights)
{
    char buf[256];
    conv_case conv, fam;
    snprintf(buf, sizeof buf, "%s %s", line, family_tok);
    if (!conv_case_parse(&conv, line) || !conv_case_parse(&fam, buf)) return;
    CHECK_OK(conv_case_resolve(&conv));
    CHECK_OK(conv_case_resolve(&fam));
    const int64_t sets = case_sets(&fam), wn = case_wn(&conv), bn = case_bn(&conv), xn = case_xn(&conv);
    const int64_t yn = case_yn(&conv);
    CHECK(case_yn(&fam) == yn && case_wn(&fam) == sets * wn);
    float *x = case_alloc(xn), *w = case_alloc(wn), *b = case_alloc(bn), *dy = case_alloc(yn);
    float *wr = case_alloc(sets * wn), *br = case_alloc(sets * bn);
    fill(x, xn, 11), fill(w, wn, 12), fill(b, bn, 13), fill(dy, yn, 14);
    for (int64_t s = 0; s < sets; s++) memcpy(wr + s * wn, w, (size_t)wn * 4), memcpy(br + s * bn, b, (size_t)bn * 4);
    run_out rc = run_all(&conv, x, w, b, dy), rf = run_all(&fam, x, wr, br, dy);
    /* forward and backward_data add the same products in the same order: bitwise */
    CHECK_MSG(!memcmp(rc.y, rf.y, (size_t)yn * 4), "\"%s\" + %s: forward differs from conv", line, family_tok);
    CHECK_MSG(!memcmp(rc.dx, rf.dx, (size_t)xn * 4), "\"%s\" + %s: backward_data differs from conv", line, family_tok);
    /* the shared kernel's gradient is the sum of the per-set gradients */
    float *dws = case_alloc(wn), *dbs = case_alloc(bn);
    for (int64_t i = 0; i < wn; i++) {
        double s = 0;
        for (int64_t t = 0; t < sets; t++) s += rf.dw[t * wn + i];
        dws[i] = (float)s;
    }
    for (int64_t i = 0; i < bn; i++) {
        double s = 0;
        for (int64_t t = 0; t < sets; t++) s += rf.db[t * bn + i];
        dbs[i] = (float)s;
    }
    char label[320];
    snprintf(label, sizeof label, "\"%s\" + %s: summed dw/db vs conv", line, family_tok);
    if (exact_weights) {
        CHECK_MSG(!memcmp(rc.dw, dws, (size_t)wn * 4) && !memcmp(rc.db, dbs, (size_t)bn * 4), "%s", label);
    } else {
        /* each per-set sum is rounded to float once more than conv's: <= sets * 2^-24 relative */
        CHECK_ALLCLOSE(dws, rc.dw, wn, 1e-5, 1e-5, label);
        CHECK_ALLCLOSE(dbs, rc.db, bn, 1e-5, 1e-5, label);
    }
    run_free(&rc), run_free(&rf);
    free(x), free(w), free(b), free(dy), free(wr), free(br), free(dws), free(dbs);
}

static void test_local_with_equal_kernels_is_conv(void)
{
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) compare_with_conv(lines[i], "local", 0);
}

static void test_tiled_1_is_conv(void)
{
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) compare_with_conv(lines[i], "tile1", 1);
    /* tiles larger than 1 with equal kernels are conv too */
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) compare_with_conv(lines[i], "tile2", 0);
}

static void test_tiled_out_is_local(void)
{
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        conv_case l, t;
        char buf[256];
        snprintf(buf, sizeof buf, "%s local", lines[i]);
        if (!conv_case_parse(&l, buf)) continue;
        CHECK_OK(conv_case_resolve(&l));
        snprintf(buf, sizeof buf, "%s tile1", lines[i]);
        if (!conv_case_parse(&t, buf)) continue;
        memcpy(t.g.tile, l.g.out, sizeof t.g.tile);
        CHECK_OK(conv_case_resolve(&t));
        const int64_t xn = case_xn(&l), yn = case_yn(&l), wn = case_wn(&l), bn = case_bn(&l);
        CHECK(case_wn(&t) == wn && case_bn(&t) == bn);
        float *x = case_alloc(xn), *w = case_alloc(wn), *b = case_alloc(bn), *dy = case_alloc(yn);
        fill(x, xn, 21), fill(w, wn, 22), fill(b, bn, 23), fill(dy, yn, 24);
        run_out rl = run_all(&l, x, w, b, dy), rt = run_all(&t, x, w, b, dy);
        CHECK_MSG(!memcmp(rl.y, rt.y, (size_t)yn * 4) && !memcmp(rl.dx, rt.dx, (size_t)xn * 4) &&
                      !memcmp(rl.dw, rt.dw, (size_t)wn * 4) && !memcmp(rl.db, rt.db, (size_t)bn * 4),
                  "\"%s\": tiled with tile = out differs from locally connected", lines[i]);
        run_free(&rl), run_free(&rt);
        free(x), free(w), free(b), free(dy);
    }
}

/* The definitions, looped directly (2D, zero padding, groups 1): the kernel set of output
 * (oh, ow) is (oh mod th, ow mod tw) for tiled, (oh, ow) itself for locally connected. */
static void direct_2d(float *y, const float *x, const float *w, const float *b, const cn_conv_geom *g, int64_t th,
                      int64_t tw)
{
    const int64_t IH = g->in[0], IW = g->in[1], OH = g->out[0], OW = g->out[1], KH = g->k[0], KW = g->k[1];
    for (int64_t n = 0; n < g->n; n++)
        for (int64_t oc = 0; oc < g->oc; oc++)
            for (int64_t oh = 0; oh < OH; oh++)
                for (int64_t ow = 0; ow < OW; ow++) {
                    const int64_t t = (oh % th) * tw + ow % tw;
                    double s = b[t * g->oc + oc];
                    for (int64_t ic = 0; ic < g->ic; ic++)
                        for (int64_t kh = 0; kh < KH; kh++)
                            for (int64_t kw = 0; kw < KW; kw++) {
                                const int64_t ih = oh * g->stride[0] - g->pad_begin[0] + kh * g->dilation[0];
                                const int64_t iw = ow * g->stride[1] - g->pad_begin[1] + kw * g->dilation[1];
                                if (ih < 0 || ih >= IH || iw < 0 || iw >= IW) continue;
                                s += (double)w[(((t * g->oc + oc) * g->ic + ic) * KH + kh) * KW + kw] *
                                     x[((n * g->ic + ic) * IH + ih) * IW + iw];
                            }
                    y[((n * g->oc + oc) * OH + oh) * OW + ow] = (float)s;
                }
}

static void check_direct(const char *line)
{
    conv_case c;
    if (!conv_case_parse(&c, line)) return;
    CHECK_OK(conv_case_resolve(&c));
    CHECK(c.g.ndim == 2 && c.g.groups == 1 && c.g.pad_mode == CN_PAD_ZERO && !c.g.flip);
    const int64_t xn = case_xn(&c), yn = case_yn(&c), wn = case_wn(&c), bn = case_bn(&c);
    float *x = case_alloc(xn), *w = case_alloc(wn), *b = case_alloc(bn), *y = case_alloc(yn), *d = case_alloc(yn);
    fill(x, xn, 31), fill(w, wn, 32), fill(b, bn, 33);
    case_forward(&c, y, x, w, b);
    if (c.kind == CASE_LOCAL) direct_2d(d, x, w, b, &c.g, c.g.out[0], c.g.out[1]);
    else direct_2d(d, x, w, b, &c.g, c.g.tile[0], c.g.tile[1]);
    /* both sum in double, in different orders: within a couple of float ulps */
    CHECK_ALLCLOSE(y, d, yn, 1e-6, 1e-6, line);
    free(x), free(w), free(b), free(y), free(d);
}

static void test_direct_loops(void)
{
    check_direct("d2 n2 ic3 oc2 in7x8 k3x2 s1 p1,0,1,1 tile2x3 bias1");
    check_direct("d2 n1 ic2 oc3 in9x7 k2x3 s2x1 dil1x2 p0,1,1,0 tile3x2 bias1");
    check_direct("d2 n1 ic2 oc2 in6x6 k3 s1 p1 tile4x1 bias1");
    check_direct("d2 n2 ic2 oc3 in6x5 k3x2 s1x2 p1,0,0,1 local bias1");
    check_direct("d2 n1 ic3 oc2 in8x7 k2 s3x2 dil2 p1 local bias1");
    /* 1D as 2D with H = 1: tile 2 alternates kernels; make kernel 1 zero with bias 7 to see it */
    conv_case c;
    if (!conv_case_parse(&c, "d1 n1 ic1 oc1 in8 k3 p1 tile2 bias1")) return;
    CHECK_OK(conv_case_resolve(&c));
    float x[8], w[6] = {1, 2, 3, 0, 0, 0}, b[2] = {0, 7}, y[8];
    for (int i = 0; i < 8; i++) x[i] = (float)(i + 1);
    cn_tiled_forward(y, x, w, b, &c.g, NULL);
    /* even o: x[o-1] + 2 x[o] + 3 x[o+1] (zero outside); odd o: 7 */
    const float want[8] = {0 + 2 * 1 + 3 * 2, 7, 2 + 2 * 3 + 3 * 4, 7, 4 + 2 * 5 + 3 * 6, 7, 6 + 2 * 7 + 3 * 8, 7};
    CHECK(!memcmp(y, want, sizeof want));
}

int main(void)
{
    RUN(test_local_with_equal_kernels_is_conv);
    RUN(test_tiled_1_is_conv);
    RUN(test_tiled_out_is_local);
    RUN(test_direct_loops);
    return cn_test_finish();
}
