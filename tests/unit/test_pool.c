/* test_pool.c — pooling geometry (ONNX output-size rules, errors) and the windowed pooling
 * kernels: the lecture's worked example, hand-computed edge cases (ties, NaN, padding counts,
 * all-padding windows, ONNX indices), gradient checks of max / average / Lp / subsample /
 * stochastic (both modes) / max-unpool over a grid of geometries, and accumulation (+=). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"
#include "test.h"
#include "test_pool_spec.h"

/* ------------------------------------------------------------------------------------------ */
/* the lecture's example                                                                      */

static void test_lecture_example(void)
{
    /* 4x4 input, 2x2 windows, stride 2:
     *   [4 3 | 1 5]     max:  [4 8]     average: (4+3+1+3)/4 = 11/4 = 2.75   (1+5+4+8)/4 = 18/4 = 4.5
     *   [1 3 | 4 8]           [6 9]              (4+5+6+5)/4 = 20/4 = 5      (4+3+9+4)/4 = 20/4 = 5
     *   [4 5 | 4 3]
     *   [6 5 | 9 4]                  argmax (plane index): 4 at 0, 8 at 7, 6 at 12, 9 at 14 */
    const float x[16] = {4, 3, 1, 5, 1, 3, 4, 8, 4, 5, 4, 3, 6, 5, 9, 4};
    cn_pool_geom g;
    cn_pool_geom_init(&g, 2);
    g.in[0] = g.in[1] = 4, g.k[0] = g.k[1] = 2, g.stride[0] = g.stride[1] = 2;
    CHECK_OK(cn_pool_geom_resolve(&g, "lecture"));
    CHECK(g.out[0] == 2 && g.out[1] == 2);
    float y[4];
    int64_t arg[4];
    cn_maxpool_forward(y, arg, x, &g);
    CHECK_ALLCLOSE(y, ((float[]){4, 8, 6, 9}), 4, 0, 0, "max");
    CHECK(arg[0] == 0 && arg[1] == 7 && arg[2] == 12 && arg[3] == 14);
    cn_avgpool_forward(y, x, &g);
    CHECK_ALLCLOSE(y, ((float[]){2.75f, 4.5f, 5, 5}), 4, 0, 0, "average");
    /* max backward sends each dy to its argmax, everything else stays 0 */
    float dx[16] = {0};
    cn_maxpool_backward(dx, (float[]){1, 2, 3, 4}, arg, &g);
    CHECK(dx[0] == 1 && dx[7] == 2 && dx[12] == 3 && dx[14] == 4 && dx[1] == 0 && dx[15] == 0);
}

/* ------------------------------------------------------------------------------------------ */
/* shape rules                                                                                */

static void test_shape_rules(void)
{
    /* One row per configuration (1D, so one axis): the expected output comes from the ONNX
     * formula worked by hand in the comment, ext = d*(k-1)+1, span = in + pb + pe. */
    static const struct {
        const char *spec;
        int64_t out, pb, pe; /* expected output and (resolved) pads */
    } rows[] = {
        /* floor((5-2)/2)+1 = 2 */
        {"nd=1 in=5 k=2 s=2", 2, 0, 0},
        /* ceil((5-2)/2)+1 = 3; last start (3-1)*2 = 4 < 5: kept */
        {"nd=1 in=5 k=2 s=2 ceil=1", 3, 0, 0},
        /* floor((5+2-2)/2)+1 = 3 */
        {"nd=1 in=5 k=2 s=2 p=1", 3, 1, 1},
        /* ceil((5+2-2)/2)+1 = 4; last start (4-1)*2 = 6 >= 5+1: starts in the right pad, dropped -> 3 */
        {"nd=1 in=5 k=2 s=2 p=1 ceil=1", 3, 1, 1},
        /* ceil((6+2-3)/2)+1 = 4; last start 6 < 6+1: kept */
        {"nd=1 in=6 k=3 s=2 p=1 ceil=1", 4, 1, 1},
        /* ext 5: ceil((10+2-5)/3)+1 = 4; last start 9 < 11: kept */
        {"nd=1 in=10 k=3 s=3 d=2 p=1 ceil=1", 4, 1, 1},
        /* ext 7: floor((7-7)/1)+1 = 1 */
        {"nd=1 in=7 k=3 s=1 d=3", 1, 0, 0},
        /* ceil((1-1)/5)+1 = 1 */
        {"nd=1 in=1 k=1 s=5 ceil=1", 1, 0, 0},
        /* asymmetric: floor((8+0+3-4)/4)+1 = 2 */
        {"nd=1 in=8 k=4 s=4 pb=0 pe=3", 2, 0, 3},
        /* ceil(7/4)+1 = 3; last start 8 >= 8+0: dropped -> 2 */
        {"nd=1 in=8 k=4 s=4 pb=0 pe=3 ceil=1", 2, 0, 3},
        /* asymmetric begin: floor((8+3+0-4)/4)+1 = 2; ceil: ceil(7/4)+1 = 3, last start 8-3 = 5 < 8+3 ... (3-1)*4 = 8 < 11: kept */
        {"nd=1 in=8 k=4 s=4 pb=3 pe=0 ceil=1", 3, 3, 0},
        /* VALID: ONNX ceil((7-3+1)/2) = 3 = floor((7-3)/2)+1 */
        {"nd=1 in=7 k=3 s=2 auto=valid p=2", 3, 0, 0},
        /* VALID + ceil: ceil((5-1)/3)+1 = 3, last start 6 >= 5: dropped -> 2 = ONNX ceil((5-1+1)/3) */
        {"nd=1 in=5 k=1 s=3 auto=valid ceil=1", 2, 0, 0},
        /* SAME: out = ceil(7/2) = 4, total = (4-1)*2+3-7 = 2 -> 1+1 */
        {"nd=1 in=7 k=3 s=2 auto=upper", 4, 1, 1},
        /* out = ceil(6/2) = 3, total = 2*2+3-6 = 1: UPPER puts it at the end, LOWER at the beginning */
        {"nd=1 in=6 k=3 s=2 auto=upper", 3, 0, 1},
        {"nd=1 in=6 k=3 s=2 auto=lower", 3, 1, 0},
        /* ext 3: out = 5, total = 4*1+3-5 = 2 */
        {"nd=1 in=5 k=2 s=1 d=2 auto=upper", 5, 1, 1},
        /* out = ceil(5/3) = 2, total = 3+1-5 < 0 -> 0 */
        {"nd=1 in=5 k=1 s=3 auto=lower", 2, 0, 0},
        /* SAME ignores ceil_mode: still ceil(7/2) = 4 */
        {"nd=1 in=7 k=3 s=2 auto=upper ceil=1", 4, 1, 1},
        /* global: k = in, out = 1 */
        {"nd=1 in=9 k=2 s=3 p=1 global=1", 1, 0, 0},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        pool_spec sp;
        const char *bad = "";
        cn_pool_geom g;
        CHECK_MSG(spec_parse(&sp, rows[i].spec, &bad), "%s: cannot parse %s", rows[i].spec, bad);
        spec_pool_geom(&sp, &g);
        cn_status st = cn_pool_geom_resolve(&g, "shape");
        CHECK_MSG(st == CN_OK && g.out[0] == rows[i].out && g.pad_begin[0] == rows[i].pb && g.pad_end[0] == rows[i].pe,
                  "%s: got %s out=%lld pads %lld+%lld, expected out=%lld pads %lld+%lld", rows[i].spec,
                  cn_status_name(st), (long long)g.out[0], (long long)g.pad_begin[0], (long long)g.pad_end[0],
                  (long long)rows[i].out, (long long)rows[i].pb, (long long)rows[i].pe);
    }
    /* axes are independent: a 3D geometry resolves each axis by its own numbers */
    cn_pool_geom g;
    pool_spec sp;
    const char *bad;
    CHECK(spec_parse(&sp, "nd=3 n=2 c=3 in=5x6x8 k=2x3x4 s=2x2x4 pb=1x1x0 pe=1x1x3 ceil=1", &bad));
    spec_pool_geom(&sp, &g);
    CHECK_OK(cn_pool_geom_resolve(&g, "p3"));
    CHECK(g.out[0] == 3 && g.out[1] == 4 && g.out[2] == 2); /* rows 4, 5 (k=3,s=2,p=1 on 6) and 10 above */
    CHECK_EQ_INT(cn_pool_out_count(&g), 2 * 3 * 3 * 4 * 2);
    CHECK_EQ_INT(cn_pool_in_count(&g), 2 * 3 * 5 * 6 * 8);
    CHECK_EQ_INT((int64_t)cn_pool_cache_count(&g), 2 * 3 * 3 * 4 * 2);
}

static cn_pool_geom geom1(int64_t in, int64_t k, int64_t s)
{
    cn_pool_geom g;
    cn_pool_geom_init(&g, 2);
    g.in[0] = g.in[1] = in, g.k[0] = g.k[1] = k, g.stride[0] = g.stride[1] = s;
    return g;
}

static void test_errors(void)
{
    cn_pool_geom g = geom1(6, 2, 2);
    g.stride[1] = 0;
    CHECK_ERR(cn_pool_geom_resolve(&g, "p1"), CN_STATUS_INVALID_ARG, "pool 'p1': stride 0 on axis W must be >= 1");
    g = geom1(6, 2, 2), g.k[0] = 0;
    CHECK_ERR(cn_pool_geom_resolve(&g, "p1"), CN_STATUS_INVALID_ARG, "kernel size 0 on axis H must be >= 1");
    g = geom1(6, 2, 2), g.dilation[1] = 0;
    CHECK_ERR(cn_pool_geom_resolve(&g, "p1"), CN_STATUS_INVALID_ARG, "dilation 0 on axis W must be >= 1");
    /* kernel larger than the padded input: ext 5 > 3 + 1 + 0 */
    g = geom1(3, 5, 1), g.pad_begin[0] = 1;
    CHECK_ERR(cn_pool_geom_resolve(&g, "big"), CN_STATUS_SHAPE,
              "kernel extent 5 (k=5, dilation=1) is larger than the padded input 4 (3 + pads 1+0) on axis H");
    /* with dilation: ext = 2*(3-1)+1 = 5 > 4 */
    g = geom1(4, 3, 1), g.dilation[1] = 2;
    CHECK_ERR(cn_pool_geom_resolve(&g, "dil"), CN_STATUS_SHAPE, "kernel extent 5 (k=3, dilation=2)");
    /* pad >= kernel (ONNX Runtime refuses it; PyTorch's pad <= k/2 is stricter) */
    g = geom1(6, 2, 2), g.pad_end[1] = 2;
    CHECK_ERR(cn_pool_geom_resolve(&g, "pad"), CN_STATUS_INVALID_ARG,
              "pads 0+2 on axis W must be smaller than the kernel size 2");
    g = geom1(6, 3, 2), g.pad_begin[0] = 3;
    CHECK_ERR(cn_pool_geom_resolve(&g, "pad"), CN_STATUS_INVALID_ARG, "pads 3+0 on axis H");
    g = geom1(6, 3, 2), g.pad_begin[0] = -1;
    CHECK_ERR(cn_pool_geom_resolve(&g, "neg"), CN_STATUS_INVALID_ARG, "pad_begin -1 on axis H is negative");
    /* the pad rule applies to explicit pads only: SAME computes its own */
    g = geom1(6, 3, 2), g.pad_begin[0] = 7, g.auto_pad = CN_POOL_AUTO_PAD_SAME_UPPER;
    CHECK_OK(cn_pool_geom_resolve(&g, "same"));
    g = geom1(6, 2, 2), g.in[1] = 0;
    CHECK_ERR(cn_pool_geom_resolve(&g, "p"), CN_STATUS_SHAPE, "input size 0 on axis W must be >= 1");
    g = geom1(6, 2, 2), g.n = 0;
    CHECK_ERR(cn_pool_geom_resolve(&g, "p"), CN_STATUS_SHAPE, "batch size 0");
    g = geom1(6, 2, 2), g.c = 0;
    CHECK_ERR(cn_pool_geom_resolve(&g, "p"), CN_STATUS_SHAPE, "0 channels");
    g = geom1(6, 2, 2), g.ndim = 4;
    CHECK_ERR(cn_pool_geom_resolve(&g, "p"), CN_STATUS_INVALID_ARG, "ndim 4 is out of range");
    g = geom1(6, 2, 2), g.auto_pad = (cn_pool_auto_pad)9;
    CHECK_ERR(cn_pool_geom_resolve(&g, "p"), CN_STATUS_INVALID_ARG, "unknown auto_pad 9");
    g = geom1(6, 2, 2), g.p = -1;
    CHECK_ERR(cn_pool_geom_resolve(&g, "lp"), CN_STATUS_INVALID_ARG, "Lp exponent p=-1");
    g = geom1(6, 2, 2), g.p = 0; /* unset (a zeroed struct): the default 2 */
    CHECK_OK(cn_pool_geom_resolve(&g, "lp"));
    CHECK(g.p == 2.0);
    g = geom1(6, 2, 2), g.in[0] = (int64_t)1 << 40;
    CHECK_ERR(cn_pool_geom_resolve(&g, "huge"), CN_STATUS_LIMIT, "input size 1099511627776 on axis H exceeds");
    /* no name: the message still says what and where */
    g = geom1(6, 2, 2), g.stride[0] = -3;
    CHECK_ERR(cn_pool_geom_resolve(&g, NULL), CN_STATUS_INVALID_ARG, "pool: stride -3 on axis H");

    /* unpooling: pooled 3x3 from k2 s2 -> default 6x6; an explicit size must be in (4, 8) */
    cn_pool_geom u = geom1(3, 2, 2);
    CHECK_OK(cn_unpool_geom_resolve(&u, "u1"));
    CHECK(u.out[0] == 6 && u.out[1] == 6);
    u = geom1(3, 2, 2), u.output_shape[0] = 7, u.output_shape[1] = 5;
    CHECK_OK(cn_unpool_geom_resolve(&u, "u1"));
    CHECK(u.out[0] == 7 && u.out[1] == 5);
    u = geom1(3, 2, 2), u.output_shape[1] = 8;
    CHECK_ERR(cn_unpool_geom_resolve(&u, "u1"), CN_STATUS_SHAPE, "unpool 'u1': output size 8 on axis W is outside (4, 8)");
    u = geom1(3, 2, 2), u.output_shape[0] = 4;
    CHECK_ERR(cn_unpool_geom_resolve(&u, "u1"), CN_STATUS_SHAPE, "output size 4 on axis H is outside (4, 8)");
    u = geom1(3, 2, 2), u.dilation[0] = 2;
    CHECK_ERR(cn_unpool_geom_resolve(&u, "u1"), CN_STATUS_INVALID_ARG, "dilation 2 on axis H");
    u = geom1(1, 1, 1), u.pad_begin[0] = 1;
    CHECK_ERR(cn_unpool_geom_resolve(&u, "u1"), CN_STATUS_SHAPE, "pads 1+0 on axis H leave no output");
    /* indices outside the output are reported, and skipped by the kernels */
    u = geom1(2, 2, 2);
    CHECK_OK(cn_unpool_geom_resolve(&u, "u2"));
    int64_t idx[4] = {0, 3, 16, 15};
    CHECK_ERR(cn_unpool_check_indices(idx, &u, 0, "u2"), CN_STATUS_INVALID_ARG,
              "unpool 'u2': index 16 at element 2 is outside [0, 16) (the output plane)");
    float x[4] = {1, 2, 3, 4}, y[16];
    cn_unpool_forward(y, x, idx, &u, 0);
    CHECK(y[0] == 1 && y[3] == 2 && y[15] == 4 && y[1] == 0);

    /* fractional pooling */
    cn_pool_geom f;
    cn_pool_geom_init(&f, 2);
    f.in[0] = 10, f.in[1] = 7, f.output_shape[0] = 11, f.output_shape[1] = 4;
    CHECK_ERR(cn_fracpool_geom_resolve(&f, "fmp"), CN_STATUS_SHAPE,
              "fractional pool 'fmp': output size 11 on axis H is larger than the input size 10");
    f.output_shape[0] = 0, f.ratio[0] = 1.5;
    CHECK_ERR(cn_fracpool_geom_resolve(&f, "fmp"), CN_STATUS_INVALID_ARG, "ratio in (0, 1] (ratio 1.5)");
    f.ratio[0] = 0.05;
    CHECK_ERR(cn_fracpool_geom_resolve(&f, "fmp"), CN_STATUS_SHAPE, "ratio 0.05 of input size 10 on axis H leaves no output");
    f.ratio[0] = 0.75;
    CHECK_OK(cn_fracpool_geom_resolve(&f, "fmp"));
    CHECK(f.out[0] == 7 && f.out[1] == 4); /* floor(10*0.75) = 7 */
}

/* ------------------------------------------------------------------------------------------ */
/* hand-computed behaviour                                                                    */

static void test_ties_nan_and_padding(void)
{
    cn_pool_geom g;
    cn_pool_geom_init(&g, 1);
    g.in[0] = 4, g.k[0] = 4;
    CHECK_OK(cn_pool_geom_resolve(&g, "tie"));
    float y;
    int64_t arg;
    /* ties: the first maximum wins */
    cn_maxpool_forward(&y, &arg, (float[]){1, 3, 3, 2}, &g);
    CHECK(y == 3 && arg == 1);
    /* NaN propagates, and the first NaN wins */
    cn_maxpool_forward(&y, &arg, (float[]){1, NAN, 5, NAN}, &g);
    CHECK(isnan(y) && arg == 1);
    /* -inf is a value like any other: the only candidate wins */
    cn_maxpool_forward(&y, &arg, (float[]){-INFINITY, -INFINITY, -INFINITY, -INFINITY}, &g);
    CHECK(isinf(y) && y < 0 && arg == 0);

    /* average with ceil mode: in 6, k 3, s 2, pads 1+1 -> out 4 (see the shape table).
     *   window 0 taps -1,0,1   window 3 taps 5,6,7: 6 is right padding, 7 beyond the padded input
     *   count_include_pad=1: [(0+1+2)/3, (2+3+4)/3, (4+5+6)/3, (6+0)/2] = [1, 3, 5, 3]
     *   count_include_pad=0: [(1+2)/2,   3,         5,         6/1    ] = [1.5, 3, 5, 6]
     * (PyTorch avg_pool1d(ceil_mode=True) gives the same two rows.) */
    cn_pool_geom_init(&g, 1);
    g.in[0] = 6, g.k[0] = 3, g.stride[0] = 2, g.pad_begin[0] = g.pad_end[0] = 1, g.ceil_mode = 1;
    g.count_include_pad = 1;
    CHECK_OK(cn_pool_geom_resolve(&g, "avg"));
    CHECK_EQ_INT(g.out[0], 4);
    const float x6[6] = {1, 2, 3, 4, 5, 6};
    float y4[4];
    cn_avgpool_forward(y4, x6, &g);
    CHECK_ALLCLOSE(y4, ((float[]){1, 3, 5, 3}), 4, 1e-7, 0, "count_include_pad=1");
    g.count_include_pad = 0;
    cn_avgpool_forward(y4, x6, &g);
    CHECK_ALLCLOSE(y4, ((float[]){1.5f, 3, 5, 6}), 4, 1e-7, 0, "count_include_pad=0");
    /* Lp (p=2): padding adds 0: window 3 = sqrt(6^2) = 6, window 0 = sqrt(1+4) */
    cn_lppool_forward(y4, x6, &g);
    CHECK_ALLCLOSE(y4, ((float[]){sqrtf(5), sqrtf(29), sqrtf(77), 6}), 4, 1e-6, 1e-6, "lp2");
    /* subsample: the first tap of each window: positions -1 (padding -> 0), 1, 3, 5 */
    cn_subsample_forward(y4, x6, &g);
    CHECK_ALLCLOSE(y4, ((float[]){0, 2, 4, 6}), 4, 0, 0, "subsample");

    /* a window made only of padding (dilation + SAME): in 1, k 2, d 5, SAME_UPPER gives pads
     * 2+3 and taps at -2 and 3, both outside: y = 0, argmax -1, no gradient */
    cn_pool_geom_init(&g, 1);
    g.in[0] = 1, g.k[0] = 2, g.dilation[0] = 5, g.auto_pad = CN_POOL_AUTO_PAD_SAME_UPPER, g.count_include_pad = 1;
    CHECK_OK(cn_pool_geom_resolve(&g, "empty"));
    CHECK(g.out[0] == 1 && g.pad_begin[0] == 2 && g.pad_end[0] == 3);
    float x1 = 7, dx1 = 0;
    cn_maxpool_forward(&y, &arg, &x1, &g);
    CHECK(y == 0 && arg == -1);
    cn_maxpool_backward(&dx1, (float[]){1}, &arg, &g);
    cn_avgpool_forward(&y, &x1, &g);
    CHECK(y == 0);
    cn_avgpool_backward(&dx1, (float[]){1}, &g);
    CHECK(dx1 == 0);

    /* global pooling over a 2x3x2 volume */
    cn_pool_geom_init(&g, 3);
    g.n = 1, g.c = 2, g.in[0] = 2, g.in[1] = 3, g.in[2] = 2, g.global = 1;
    CHECK_OK(cn_pool_geom_resolve(&g, "gap"));
    CHECK(g.out[0] == 1 && g.out[1] == 1 && g.out[2] == 1 && g.k[1] == 3);
    float xv[24], y2[2];
    int64_t a2[2];
    for (int i = 0; i < 24; i++) xv[i] = (float)((i * 7) % 12) + (i >= 12 ? 100.0f : 0.0f);
    cn_maxpool_forward(y2, a2, xv, &g);
    CHECK(y2[0] == 11 && a2[0] == 5 && y2[1] == 111 && a2[1] == 17 - 12); /* (i*7)%12 == 11 at i = 5, 17 */
    cn_avgpool_forward(y2, xv, &g);
    CHECK_ALLCLOSE(y2, ((float[]){5.5f, 105.5f}), 2, 1e-6, 0, "global average"); /* each plane holds 0..11 once */
}

static void test_onnx_indices(void)
{
    /* N=2, C=3, H=3, W=4, global max: the maximum of plane p sits at (h=1, w=2):
     * row-major plane index 1*4+2 = 6, column-major 1 + 2*3 = 7; ONNX adds p*12 */
    cn_pool_geom g;
    cn_pool_geom_init(&g, 2);
    g.n = 2, g.c = 3, g.in[0] = 3, g.in[1] = 4, g.global = 1;
    CHECK_OK(cn_pool_geom_resolve(&g, "idx"));
    float x[72], y[6];
    int64_t arg[6], ind[6];
    for (int i = 0; i < 72; i++) x[i] = (i % 12 == 6) ? 100.0f + (float)i : (float)(i % 12);
    cn_maxpool_forward(y, arg, x, &g);
    cn_pool_indices_onnx(ind, arg, &g, 0);
    for (int p = 0; p < 6; p++) CHECK_MSG(arg[p] == 6 && ind[p] == p * 12 + 6, "plane %d: %lld %lld", p, (long long)arg[p], (long long)ind[p]);
    cn_pool_indices_onnx(ind, arg, &g, 1);
    for (int p = 0; p < 6; p++) CHECK_MSG(ind[p] == p * 12 + 7, "plane %d col-major: %lld", p, (long long)ind[p]);
    /* 3D column-major: (d, h, w) -> d + h*D + w*D*H */
    cn_pool_geom_init(&g, 3);
    g.in[0] = 2, g.in[1] = 3, g.in[2] = 4, g.global = 1;
    CHECK_OK(cn_pool_geom_resolve(&g, "idx3"));
    int64_t a3 = (1 * 3 + 2) * 4 + 3, i3; /* (d=1, h=2, w=3) */
    cn_pool_indices_onnx(&i3, &a3, &g, 1);
    CHECK_EQ_INT(i3, 1 + 2 * 2 + 3 * 2 * 3);
    a3 = -1;
    cn_pool_indices_onnx(&i3, &a3, &g, 0);
    CHECK_EQ_INT(i3, -1);
}

/* ------------------------------------------------------------------------------------------ */
/* gradient checks                                                                            */

enum { OP_MAX, OP_AVG, OP_LP, OP_SUB, OP_STOCH_TRAIN, OP_STOCH_INFER, OP_UNPOOL, OP_COUNT };
static const char *const OP_NAMES[OP_COUNT] = {"max", "avg", "lp", "subsample", "stoch-train", "stoch-infer",
                                               "unpool"};

typedef struct gctx {
    int op;
    cn_pool_geom g;
    float *x, *y;
    double *r;
    int64_t *cache, ny;
    const int64_t *idx; /* unpool */
    cn_rng rng;         /* stochastic: the state every evaluation starts from */
} gctx;

static void forward(gctx *c)
{
    cn_rng r = c->rng;
    switch (c->op) {
    case OP_MAX: cn_maxpool_forward(c->y, c->cache, c->x, &c->g); break;
    case OP_AVG: cn_avgpool_forward(c->y, c->x, &c->g); break;
    case OP_LP: cn_lppool_forward(c->y, c->x, &c->g); break;
    case OP_SUB: cn_subsample_forward(c->y, c->x, &c->g); break;
    case OP_STOCH_TRAIN: cn_stochpool_forward_train(c->y, c->cache, c->x, &c->g, &r); break;
    case OP_STOCH_INFER: cn_stochpool_forward_infer(c->y, c->x, &c->g); break;
    default: cn_unpool_forward(c->y, c->x, c->idx, &c->g, 0); break;
    }
}

static void backward(gctx *c, float *dx, const float *dy)
{
    switch (c->op) {
    case OP_MAX: cn_maxpool_backward(dx, dy, c->cache, &c->g); break;
    case OP_AVG: cn_avgpool_backward(dx, dy, &c->g); break;
    case OP_LP: cn_lppool_backward(dx, dy, c->x, &c->g); break;
    case OP_SUB: cn_subsample_backward(dx, dy, &c->g); break;
    case OP_STOCH_TRAIN: cn_stochpool_backward_train(dx, dy, c->cache, &c->g); break;
    case OP_STOCH_INFER: cn_stochpool_backward_infer(dx, dy, c->x, &c->g); break;
    default: cn_unpool_backward(dx, dy, c->idx, &c->g, 0); break;
    }
}

/* L = sum_i y_i r_i, accumulated in double */
static double loss(void *p)
{
    gctx *c = p;
    forward(c);
    double l = 0;
    for (int64_t i = 0; i < c->ny; i++) l += (double)c->y[i] * c->r[i];
    return l;
}

/* x[i] = (perm(i) - n/2 + 1/2) * gap, lifted away from 0 by `lift` (|x| >= gap/2 + lift), or
 * shifted to x >= `lift` when positive: distinct values at least `gap` apart, so max windows
 * hold no near-ties when gap > 2*eps, and no value sits near the kinks |x| = 0 (Lp) or
 * max(x, 0) (stochastic). */
static void grid_input(float *x, int64_t n, double gap, double lift, int positive, uint64_t seed)
{
    cn_rng r;
    cn_rng_init(&r, seed, CN_STREAM_USER);
    int64_t *perm = malloc((size_t)n * sizeof *perm);
    for (int64_t i = 0; i < n; i++) perm[i] = i;
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = cn_rng_below(&r, (uint32_t)(i + 1)), t = perm[i];
        perm[i] = perm[j], perm[j] = t;
    }
    for (int64_t i = 0; i < n; i++) {
        double v = positive ? lift + perm[i] * gap : ((double)perm[i] - n / 2.0 + 0.5) * gap;
        if (!positive) v += v > 0 ? lift : -lift;
        x[i] = (float)v;
    }
    free(perm);
}

/* For the smooth ops (Lp, stochastic inference) ties do not matter, only size: magnitudes
 * uniform in [lo, hi] (random sign unless positive), so outputs stay O(1) and their float
 * rounding stays small next to the derivatives, and nothing sits near the kink at 0. */
static void smooth_input(float *x, int64_t n, double lo, double hi, int positive, uint64_t seed)
{
    cn_rng r;
    cn_rng_init(&r, seed, CN_STREAM_USER + 2);
    for (int64_t i = 0; i < n; i++) {
        double v = lo + (hi - lo) * cn_rng_uniform(&r);
        x[i] = (float)(positive || cn_rng_uniform(&r) < 0.5f ? v : -v);
    }
}

static cn_gc_report check_op(int op, const cn_pool_geom *g, double p, const int64_t *idx, uint64_t seed, double *worst)
{
    gctx c = {.op = op, .g = *g, .idx = idx};
    c.g.p = p;
    const int64_t nx = cn_pool_in_count(&c.g);
    c.ny = cn_pool_out_count(&c.g);
    c.x = malloc((size_t)nx * sizeof *c.x);
    c.y = malloc((size_t)c.ny * sizeof *c.y);
    c.r = malloc((size_t)c.ny * sizeof *c.r);
    c.cache = malloc((size_t)c.ny * sizeof *c.cache);
    float *dx = calloc((size_t)nx, sizeof *dx), *dy = malloc((size_t)c.ny * sizeof *dy);
    cn_rng rr;
    cn_rng_init(&rr, seed, CN_STREAM_USER + 1);
    for (int64_t i = 0; i < c.ny; i++) dy[i] = cn_rng_uniform(&rr) * 2.0f - 1.0f, c.r[i] = dy[i];
    cn_rng_init(&c.rng, seed, CN_STREAM_POOL);
    double eps;
    switch (op) {
    case OP_LP: /* smooth away from 0 */
        smooth_input(c.x, nx, 0.25, 1.25, 0, seed);
        eps = 5e-3;
        break;
    case OP_STOCH_TRAIN: /* y copies a sampled x: exact for any eps that keeps the sample;
                            a tiny eps makes moving a sampling boundary across u unlikely */
        grid_input(c.x, nx, 0.05, 0.5, 1, seed);
        eps = 1e-4;
        break;
    case OP_STOCH_INFER: /* smooth for x > 0 */
        smooth_input(c.x, nx, 0.5, 1.5, 1, seed);
        eps = 5e-3;
        break;
    default: /* piecewise linear; gap 0.1 > 2*eps keeps every max window's order */
        grid_input(c.x, nx, 0.1, 0, 0, seed);
        eps = 2e-2;
        break;
    }
    forward(&c);
    backward(&c, dx, dy);
    /* floor 1e-2: gradients here are O(0.1..1); a component that should be 0 is compared
     * against 1e-2 instead of itself */
    cn_gc_report rep = cn_gradcheck(loss, &c, c.x, dx, nx, eps, 1e-2);
    if (rep.max_rel > *worst) *worst = rep.max_rel;
    free(c.x), free(c.y), free(c.r), free(c.cache), free(dx), free(dy);
    return rep;
}

/* One geometry per line; every line runs every windowed op (Lp with p = 1, 2 and 3.5). */
static const char *const GRID[] = {
    "nd=1 n=2 c=2 in=9 k=3 s=2 pb=1 pe=2 d=1 ceil=0 cip=0",
    "nd=1 n=1 c=3 in=10 k=3 s=2 pb=0 pe=2 d=2 ceil=1 cip=1",
    "nd=1 n=1 c=1 in=8 k=2 s=3 p=1 ceil=1 cip=1",
    "nd=1 n=1 c=2 in=7 k=4 s=1 pb=3 pe=1 ceil=0 cip=1",
    "nd=1 n=2 c=3 in=7 global=1",
    "nd=2 n=1 c=2 in=7x6 k=3x2 s=2x1 pb=1x0 pe=2x1 d=1x2 ceil=1 cip=0",
    "nd=2 n=2 c=1 in=6x7 k=2x3 s=2x2 pb=0x1 pe=1x2 d=2x1 ceil=0 cip=1",
    "nd=2 n=1 c=1 in=5x5 k=3x3 s=3x3 p=1x1 ceil=1 cip=1",
    "nd=2 n=1 c=1 in=5x5 k=3x3 s=3x3 p=1x1 ceil=1 cip=0",
    "nd=2 n=1 c=2 in=8x5 k=2x2 s=2x2 auto=upper cip=1",
    "nd=2 n=1 c=1 in=7x5 k=3x2 s=2x3 d=1x2 auto=lower cip=0",
    "nd=2 n=1 c=1 in=6x6 k=2x2 s=1x1 auto=valid ceil=1",
    "nd=2 n=2 c=2 in=5x6 global=1",
    "nd=3 n=1 c=2 in=5x4x6 k=2x3x2 s=2x1x2 pb=1x1x0 pe=0x2x1 d=1x1x2 ceil=1 cip=0",
    "nd=3 n=1 c=1 in=4x5x5 k=3x2x3 s=2x2x2 p=1x1x1 ceil=0 cip=1",
    "nd=3 n=1 c=1 in=5x5x4 k=3x3x2 s=2x2x2 p=1x1x1 ceil=1 cip=1",
    "nd=3 n=1 c=1 in=3x3x3 global=1",
};

static void test_gradients(void)
{
    /* Tolerances on the relative error (floor 1e-2):
     *   max, avg, subsample, stochastic (train): piecewise linear, the loss is exact up to the
     *     float rounding of the outputs a perturbation touches (<= 27 outputs * 6e-8 * |y| <= 3
     *     over 2*eps = 0.04 ~ 1e-4): tol 1e-3.
     *   Lp, stochastic (infer): smooth; central differences with eps 5e-3 err by about
     *     eps^2/6 * |f'''/f'| <= 4e-6 * 16 ~ 7e-5 relative for |x| >= 0.25; the rounding of the
     *     outputs a perturbation touches (up to ~8 of them, |y| <= 4, 6e-8 relative each) over
     *     2*eps = 1e-2 adds up to ~2e-4 absolute, i.e. up to 2e-2 against the floor 1e-2, ~5e-3
     *     for random rounding: tol 1e-2. A wrong derivative (factor, sign, tap) errs by O(1). */
    double worst[OP_COUNT] = {0};
    for (size_t i = 0; i < sizeof GRID / sizeof GRID[0]; i++) {
        pool_spec sp;
        const char *bad = "";
        cn_pool_geom g;
        if (!spec_parse(&sp, GRID[i], &bad)) {
            CHECK_MSG(0, "%s: cannot parse '%s'", GRID[i], bad);
            continue;
        }
        spec_pool_geom(&sp, &g);
        CHECK_OK(cn_pool_geom_resolve(&g, GRID[i]));
        for (int op = OP_MAX; op <= OP_STOCH_INFER; op++) {
            const double ps[3] = {1.0, 2.0, 3.5};
            for (int pi = 0; pi < (op == OP_LP ? 3 : 1); pi++) {
                char label[320];
                snprintf(label, sizeof label, "%s [%s%s%s]", GRID[i], OP_NAMES[op], op == OP_LP ? " p=" : "",
                         op == OP_LP ? (pi == 0 ? "1" : pi == 1 ? "2" : "3.5") : "");
                const cn_gc_report rep = check_op(op, &g, ps[pi], NULL, 1000 + i, &worst[op]);
                const double tol = (op == OP_LP || op == OP_STOCH_INFER) ? 1e-2 : 1e-3;
                CHECK_GRAD(rep, tol, label);
            }
        }
    }
    for (int op = OP_MAX; op <= OP_STOCH_INFER; op++) printf("  worst relative error %-12s %.2e\n", OP_NAMES[op], worst[op]);
}

/* Max-unpooling after a pooling without overlap (no two elements share an index): forward is
 * then a linear scatter and backward its exact adjoint. */
static void test_unpool_gradients(void)
{
    static const char *const lines[] = {
        "nd=1 n=2 c=2 in=12 k=3 s=3",
        "nd=2 n=1 c=2 in=7x6 k=2x2 s=2x3 os=7x6",
        "nd=2 n=1 c=1 in=8x8 k=2x2 s=2x2 p=1x1",
        "nd=3 n=1 c=2 in=4x6x5 k=2x2x2 s=2x2x2 os=4x6x5",
    };
    double worst = 0;
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        pool_spec sp;
        const char *bad = "";
        CHECK(spec_parse(&sp, lines[i], &bad));
        cn_pool_geom pg, ug;
        spec_pool_geom(&sp, &pg);
        for (int a = 0; a < sp.nd; a++) pg.output_shape[a] = 0;
        CHECK_OK(cn_pool_geom_resolve(&pg, lines[i]));
        /* indices: max pooling of a grid input */
        const int64_t nx = cn_pool_in_count(&pg), ny = cn_pool_out_count(&pg);
        float *x = malloc((size_t)nx * sizeof *x), *y = malloc((size_t)ny * sizeof *y);
        int64_t *idx = malloc((size_t)ny * sizeof *idx);
        grid_input(x, nx, 0.1, 0, 0, 7 + i);
        cn_maxpool_forward(y, idx, x, &pg);
        ug = pg;
        for (int a = 0; a < sp.nd; a++) ug.in[a] = pg.out[a], ug.output_shape[a] = sp.os[a];
        CHECK_OK(cn_unpool_geom_resolve(&ug, lines[i]));
        CHECK_OK(cn_unpool_check_indices(idx, &ug, 0, lines[i]));
        /* the unpooled plane holds every pooled value at its argmax */
        float *up = malloc((size_t)cn_pool_out_count(&ug) * sizeof *up);
        cn_unpool_forward(up, y, idx, &ug, 0);
        int ok = 1;
        const int64_t ip = ny / (pg.n * pg.c), op_ = cn_pool_out_count(&ug) / (pg.n * pg.c);
        for (int64_t j = 0; j < ny; j++) ok &= up[(j / ip) * op_ + idx[j]] == y[j];
        CHECK_MSG(ok, "%s: unpooled values are not at their argmax", lines[i]);
        cn_gc_report rep = check_op(OP_UNPOOL, &ug, 2.0, idx, 50 + i, &worst);
        CHECK_GRAD(rep, 1e-3, lines[i]); /* linear: see test_gradients */
        free(x), free(y), free(idx), free(up);
    }
    printf("  worst relative error %-12s %.2e\n", "unpool", worst);
}

/* Backward kernels accumulate: running one twice doubles what it adds. */
static void test_backward_accumulates(void)
{
    pool_spec sp;
    const char *bad;
    cn_pool_geom g;
    CHECK(spec_parse(&sp, "nd=2 n=1 c=2 in=6x5 k=3x2 s=2x2 p=1x1 ceil=1 cip=1", &bad));
    spec_pool_geom(&sp, &g);
    CHECK_OK(cn_pool_geom_resolve(&g, "acc"));
    for (int op = OP_MAX; op <= OP_STOCH_INFER; op++) {
        gctx c = {.op = op, .g = g};
        const int64_t nx = cn_pool_in_count(&g);
        c.ny = cn_pool_out_count(&g);
        float x[60], y[64], once[60] = {0}, twice[60], dy[64];
        int64_t cache[64];
        c.x = x, c.y = y, c.cache = cache;
        grid_input(x, nx, 0.1, 0.5, 1, 3);
        for (int64_t i = 0; i < c.ny; i++) dy[i] = (float)(i % 5) - 1.5f;
        cn_rng_init(&c.rng, 9, CN_STREAM_POOL);
        forward(&c);
        backward(&c, once, dy);
        for (int64_t i = 0; i < nx; i++) twice[i] = 1.0f; /* a previous gradient */
        backward(&c, twice, dy);
        backward(&c, twice, dy);
        int ok = 1, nonzero = 0;
        for (int64_t i = 0; i < nx; i++) {
            ok &= fabsf(twice[i] - (1.0f + 2.0f * once[i])) <= 1e-5f * (1.0f + fabsf(once[i]));
            nonzero |= once[i] != 0;
        }
        CHECK_MSG(ok && nonzero, "%s: backward does not accumulate (+=)", OP_NAMES[op]);
    }
}

int main(void)
{
    RUN(test_lecture_example);
    RUN(test_shape_rules);
    RUN(test_errors);
    RUN(test_ties_nan_and_padding);
    RUN(test_onnx_indices);
    RUN(test_gradients);
    RUN(test_unpool_gradients);
    RUN(test_backward_accumulates);
    return cn_test_finish();
}
