/* test_conv_geom.c — convolution geometry (output sizes, auto and ONNX transposed pads),
 * the arithmetic (parameters, multiply-accumulates) with the lecture's numbers, and every
 * bad geometry: the right status and a message naming the layer and the numbers. */
#include "test.h"

/* a 2D geometry: n=1, square or given sizes */
static cn_conv_geom g2(int64_t ic, int64_t oc, int64_t ih, int64_t iw, int64_t kh, int64_t kw)
{
    cn_conv_geom g;
    cn_conv_geom_init(&g, 2);
    g.ic = ic, g.oc = oc;
    g.in[0] = ih, g.in[1] = iw, g.k[0] = kh, g.k[1] = kw;
    return g;
}

static cn_conv_geom g1(int64_t ic, int64_t oc, int64_t in, int64_t k, int64_t s)
{
    cn_conv_geom g;
    cn_conv_geom_init(&g, 1);
    g.ic = ic, g.oc = oc, g.in[0] = in, g.k[0] = k, g.stride[0] = s;
    return g;
}

static void test_init_defaults(void)
{
    cn_conv_geom g;
    cn_conv_geom_init(&g, 3);
    CHECK(g.ndim == 3 && g.n == 1 && g.groups == 1 && !g.flip && !g.transposed);
    CHECK(g.pad_mode == CN_PAD_ZERO && g.auto_pad == CN_AUTO_PAD_EXPLICIT);
    for (int a = 0; a < 3; a++) CHECK(g.stride[a] == 1 && g.dilation[a] == 1 && g.tile[a] == 1 && g.pad_begin[a] == 0);
}

static void test_output_sizes(void)
{
    /* lecture: 32x32x3 input, ten 5x5 filters, stride 1, pad 2 -> 32x32x10, 760 parameters */
    cn_conv_geom g = g2(3, 10, 32, 32, 5, 5);
    g.pad_begin[0] = g.pad_begin[1] = g.pad_end[0] = g.pad_end[1] = 2;
    CHECK_OK(cn_conv_geom_resolve(&g, "c1"));
    CHECK(g.out[0] == 32 && g.out[1] == 32);
    CHECK_EQ_INT(cn_conv_params(&g, 1), 760);
    CHECK_EQ_INT(cn_conv_params(&g, 0), 750);
    /* 7x7 input, 3x3 kernel: 5x5 at stride 1, 3x3 at stride 2 */
    g = g2(1, 1, 7, 7, 3, 3);
    CHECK_OK(cn_conv_geom_resolve(&g, "a"));
    CHECK(g.out[0] == 5 && g.out[1] == 5);
    g.stride[0] = g.stride[1] = 2;
    CHECK_OK(cn_conv_geom_resolve(&g, "a"));
    CHECK(g.out[0] == 3 && g.out[1] == 3);
    /* floor: (8 - 3)/3 + 1 = 2; dilation 2 makes a 3-tap kernel span 5: (10 - 5)/1 + 1 = 6 */
    g = g1(1, 1, 8, 3, 3);
    CHECK_OK(cn_conv_geom_resolve(&g, NULL));
    CHECK_EQ_INT(g.out[0], 2);
    g = g1(1, 1, 10, 3, 1);
    g.dilation[0] = 2;
    CHECK_OK(cn_conv_geom_resolve(&g, NULL));
    CHECK_EQ_INT(g.out[0], 6);
    /* asymmetric pads: (6 + 2 + 0 - 3)/2 + 1 = 3 */
    g = g1(1, 1, 6, 3, 2);
    g.pad_begin[0] = 2;
    CHECK_OK(cn_conv_geom_resolve(&g, NULL));
    CHECK_EQ_INT(g.out[0], 3);
    /* 3D: D, H, W in order */
    cn_conv_geom_init(&g, 3);
    g.ic = g.oc = 1;
    g.in[0] = 4, g.in[1] = 9, g.in[2] = 16, g.k[0] = 1, g.k[1] = 3, g.k[2] = 5;
    g.stride[2] = 2;
    CHECK_OK(cn_conv_geom_resolve(&g, NULL));
    CHECK(g.out[0] == 4 && g.out[1] == 7 && g.out[2] == 6);
}

static void test_auto_pad(void)
{
    /* SAME: out = ceil(7/2) = 4, total pad = 3*2 + 4 - 7 = 3: UPPER puts the odd one at the end */
    cn_conv_geom g = g1(1, 1, 7, 4, 2);
    g.auto_pad = CN_AUTO_PAD_SAME_UPPER;
    g.pad_begin[0] = 9; /* overwritten: auto_pad wins */
    CHECK_OK(cn_conv_geom_resolve(&g, "s"));
    CHECK(g.out[0] == 4 && g.pad_begin[0] == 1 && g.pad_end[0] == 2);
    CHECK_OK(cn_conv_geom_resolve(&g, "s")); /* idempotent */
    CHECK(g.out[0] == 4 && g.pad_begin[0] == 1 && g.pad_end[0] == 2);
    g.auto_pad = CN_AUTO_PAD_SAME_LOWER;
    CHECK_OK(cn_conv_geom_resolve(&g, "s"));
    CHECK(g.out[0] == 4 && g.pad_begin[0] == 2 && g.pad_end[0] == 1);
    /* SAME with dilation: ext = 2*(3-1)+1 = 5, out = 9, total = 8 + 5 - 9 = 4 */
    g = g1(1, 1, 9, 3, 1);
    g.dilation[0] = 2, g.auto_pad = CN_AUTO_PAD_SAME_UPPER;
    CHECK_OK(cn_conv_geom_resolve(&g, "s"));
    CHECK(g.out[0] == 9 && g.pad_begin[0] == 2 && g.pad_end[0] == 2);
    /* SAME never pads negatively: k=1, stride 3 on 7 -> out 3, total max(0, 6 + 1 - 7) = 0 */
    g = g1(1, 1, 7, 1, 3);
    g.auto_pad = CN_AUTO_PAD_SAME_UPPER;
    CHECK_OK(cn_conv_geom_resolve(&g, "s"));
    CHECK(g.out[0] == 3 && g.pad_begin[0] == 0 && g.pad_end[0] == 0);
    g = g1(1, 1, 8, 1, 3); /* total = max(0, 6 + 1 - 8) = 0, out 3 */
    g.auto_pad = CN_AUTO_PAD_SAME_LOWER;
    CHECK_OK(cn_conv_geom_resolve(&g, "s"));
    CHECK(g.out[0] == 3 && g.pad_begin[0] == 0 && g.pad_end[0] == 0);
    /* VALID: no padding */
    g = g1(1, 1, 7, 3, 2);
    g.auto_pad = CN_AUTO_PAD_VALID, g.pad_begin[0] = g.pad_end[0] = 5;
    CHECK_OK(cn_conv_geom_resolve(&g, "v"));
    CHECK(g.out[0] == 3 && g.pad_begin[0] == 0 && g.pad_end[0] == 0);
    /* "same" on the lecture's 128x128 input with 5x5 filters keeps 128x128 */
    g = g2(256, 64, 128, 128, 5, 5);
    g.auto_pad = CN_AUTO_PAD_SAME_UPPER;
    CHECK_OK(cn_conv_geom_resolve(&g, "big"));
    CHECK(g.out[0] == 128 && g.out[1] == 128 && g.pad_begin[0] == 2 && g.pad_end[1] == 2);
}

static void test_transposed_sizes(void)
{
    /* out = stride*(in-1) + output_padding + dilation*(k-1) + 1 - pads = 2*4 + 1 + 3 - 2 = 10 */
    cn_conv_geom g = g1(3, 2, 5, 3, 2);
    g.transposed = 1, g.pad_begin[0] = g.pad_end[0] = 1, g.output_padding[0] = 1;
    CHECK_OK(cn_conv_geom_resolve(&g, "t"));
    CHECK_EQ_INT(g.out[0], 10);
    /* the transposed conv inverts the conv's shape map: conv of 10 with the same options gives 5 */
    cn_conv_geom c = g1(2, 3, 10, 3, 2);
    c.pad_begin[0] = c.pad_end[0] = 1;
    CHECK_OK(cn_conv_geom_resolve(&c, "c"));
    CHECK_EQ_INT(c.out[0], 5);
    /* dilation: 1*(4-1) + 0 + 3*(3-1) + 1 = 10; output_padding 2 allowed because dilation 3 > 2 */
    g = g1(2, 2, 4, 3, 1);
    g.transposed = 1, g.dilation[0] = 3, g.output_padding[0] = 2;
    CHECK_OK(cn_conv_geom_resolve(&g, "t"));
    CHECK_EQ_INT(g.out[0], 12);
    /* explicit output shape (ONNX): full = 2*2 + 3 = 7; want 6 -> total 1, not SAME_UPPER so
     * begin = 1 - 1/2 = 1, end = 0; want 5 -> total 2 -> 1, 1 */
    g = g1(2, 3, 3, 3, 2);
    g.transposed = 1, g.output_shape[0] = 6, g.pad_begin[0] = 4;
    CHECK_OK(cn_conv_geom_resolve(&g, "t"));
    CHECK(g.out[0] == 6 && g.pad_begin[0] == 1 && g.pad_end[0] == 0);
    g.output_shape[0] = 5;
    CHECK_OK(cn_conv_geom_resolve(&g, "t"));
    CHECK(g.out[0] == 5 && g.pad_begin[0] == 1 && g.pad_end[0] == 1);
    /* SAME: out = in*stride = 6; total = 7 - 6 = 1; UPPER: begin 0, end 1; LOWER: begin 1, end 0 */
    g = g1(2, 3, 3, 3, 2);
    g.transposed = 1, g.auto_pad = CN_AUTO_PAD_SAME_UPPER;
    CHECK_OK(cn_conv_geom_resolve(&g, "t"));
    CHECK(g.out[0] == 6 && g.pad_begin[0] == 0 && g.pad_end[0] == 1);
    g.auto_pad = CN_AUTO_PAD_SAME_LOWER;
    CHECK_OK(cn_conv_geom_resolve(&g, "t"));
    CHECK(g.out[0] == 6 && g.pad_begin[0] == 1 && g.pad_end[0] == 0);
    /* SAME asking for more than the kernel covers: full = 3*2 + 2 = 8 < 9 = in*stride, total -1:
     * floor division as in ONNX's reference, UPPER: begin -1, end 0; LOWER: begin 0, end -1 */
    g = g1(2, 2, 3, 2, 3);
    g.transposed = 1, g.auto_pad = CN_AUTO_PAD_SAME_UPPER;
    CHECK_OK(cn_conv_geom_resolve(&g, "t"));
    CHECK(g.out[0] == 9 && g.pad_begin[0] == -1 && g.pad_end[0] == 0);
    g.auto_pad = CN_AUTO_PAD_SAME_LOWER;
    CHECK_OK(cn_conv_geom_resolve(&g, "t"));
    CHECK(g.out[0] == 9 && g.pad_begin[0] == 0 && g.pad_end[0] == -1);
    /* VALID: no pads, out = full */
    g.auto_pad = CN_AUTO_PAD_VALID;
    CHECK_OK(cn_conv_geom_resolve(&g, "t"));
    CHECK(g.out[0] == 8 && g.pad_begin[0] == 0 && g.pad_end[0] == 0);
}

static void test_arithmetic(void)
{
    /* 128x128x256 input, 64 5x5 filters, "same": 128*128*64 outputs * 5*5*256 = 6,710,886,400 */
    cn_conv_geom big = g2(256, 64, 128, 128, 5, 5);
    big.auto_pad = CN_AUTO_PAD_SAME_UPPER;
    CHECK_OK(cn_conv_geom_resolve(&big, "big"));
    CHECK_EQ_INT(cn_conv_macs(&big), 6710886400LL);
    /* with a 1x1 bottleneck to 32 channels first: 128*128*256*32 + 128*128*32*5*5*64 */
    cn_conv_geom b1 = g2(256, 32, 128, 128, 1, 1), b2 = g2(32, 64, 128, 128, 5, 5);
    b2.auto_pad = CN_AUTO_PAD_SAME_UPPER;
    CHECK_OK(cn_conv_geom_resolve(&b1, "bottleneck"));
    CHECK_OK(cn_conv_geom_resolve(&b2, "conv5"));
    CHECK_EQ_INT(cn_conv_macs(&b1), 134217728LL);
    CHECK_EQ_INT(cn_conv_macs(&b1) + cn_conv_macs(&b2), 973078528LL);
    /* depthwise-separable: 6 input channels, 3x3, 3 outputs: 162 weights standard, 54 + 18 = 72 */
    cn_conv_geom std = g2(6, 3, 8, 8, 3, 3), dw = g2(6, 6, 8, 8, 3, 3), pw = g2(6, 3, 6, 6, 1, 1);
    dw.groups = 6;
    CHECK_OK(cn_conv_geom_resolve(&std, "std"));
    CHECK_OK(cn_conv_geom_resolve(&dw, "dw"));
    CHECK_OK(cn_conv_geom_resolve(&pw, "pw"));
    CHECK_EQ_INT(cn_conv_params(&std, 0), 162);
    CHECK_EQ_INT(cn_conv_params(&dw, 0), 54);
    CHECK_EQ_INT(cn_conv_params(&pw, 0), 18);
    CHECK_EQ_INT(cn_conv_params(&dw, 0) + cn_conv_params(&pw, 0), 72);
    /* MACs scale with the batch */
    std.n = 4;
    CHECK_OK(cn_conv_geom_resolve(&std, "std"));
    CHECK_EQ_INT(cn_conv_macs(&std), 4LL * 6 * 6 * 3 * 6 * 9);
    /* transposed: weights (IC, OC/groups, k): 4*(6/2)*3*3 = 108 (+6); MACs every input times every tap */
    cn_conv_geom t = g2(4, 6, 3, 5, 3, 3);
    t.transposed = 1, t.groups = 2, t.n = 2, t.stride[0] = 2;
    CHECK_OK(cn_conv_geom_resolve(&t, "t"));
    CHECK_EQ_INT(cn_conv_params(&t, 0), 108);
    CHECK_EQ_INT(cn_conv_params(&t, 1), 114);
    CHECK_EQ_INT(cn_conv_macs(&t), 2LL * 3 * 5 * 108);
    /* locally connected: a kernel (and bias) per output position: 3x3 outputs * (4*2*9 + 4) */
    cn_conv_geom l = g2(2, 4, 5, 5, 3, 3);
    CHECK_OK(cn_local_geom_resolve(&l, "l"));
    CHECK_EQ_INT(cn_local_params(&l, 1), 9 * 76);
    CHECK_EQ_INT(cn_local_params(&l, 0), 9 * 72);
    CHECK_EQ_INT(cn_local_macs(&l), 9 * 72);
    /* tiled 2x2: four kernel sets */
    l.tile[0] = l.tile[1] = 2;
    CHECK_OK(cn_tiled_geom_resolve(&l, "t"));
    CHECK_EQ_INT(cn_tiled_params(&l, 1), 4 * 76);
    CHECK_EQ_INT(cn_tiled_macs(&l), cn_conv_macs(&l));
    CHECK(cn_conv_scratch_floats(&l) == 0);
}

static void test_errors(void)
{
    cn_conv_geom g;
    /* kernel larger than the padded input: both numbers and the axis */
    g = g2(3, 4, 8, 3, 3, 5);
    CHECK_ERR(cn_conv_geom_resolve(&g, "c1"), CN_STATUS_SHAPE, "conv 'c1': kernel extent 5 (k=5, dilation=1) is larger than the padded input 3");
    CHECK_ERR(cn_conv_geom_resolve(&g, "c1"), CN_STATUS_SHAPE, "on axis W");
    g.pad_begin[1] = 1; /* 3 + 1 + 0 = 4 < 5 still */
    CHECK_ERR(cn_conv_geom_resolve(&g, "c1"), CN_STATUS_SHAPE, "padded input 4 (3 + pads 1+0) on axis W");
    g.pad_end[1] = 1;
    CHECK_OK(cn_conv_geom_resolve(&g, "c1"));
    g = g2(1, 1, 6, 6, 3, 3);
    g.dilation[0] = 3; /* extent 7 > 6 on H */
    CHECK_ERR(cn_conv_geom_resolve(&g, "dil"), CN_STATUS_SHAPE, "kernel extent 7 (k=3, dilation=3) is larger than the padded input 6");
    CHECK_ERR(cn_conv_geom_resolve(&g, "dil"), CN_STATUS_SHAPE, "axis H");
    /* stride 0 or negative, dilation < 1 */
    g = g2(1, 1, 6, 6, 3, 3);
    g.stride[0] = 0;
    CHECK_ERR(cn_conv_geom_resolve(&g, "c2"), CN_STATUS_INVALID_ARG, "conv 'c2': stride 0 on axis H must be >= 1");
    g.stride[0] = -2;
    CHECK_ERR(cn_conv_geom_resolve(&g, "c2"), CN_STATUS_INVALID_ARG, "stride -2 on axis H");
    g.stride[0] = 1, g.dilation[1] = 0;
    CHECK_ERR(cn_conv_geom_resolve(&g, "c2"), CN_STATUS_INVALID_ARG, "conv 'c2': dilation 0 on axis W must be >= 1");
    g.dilation[1] = 1, g.k[1] = 0;
    CHECK_ERR(cn_conv_geom_resolve(&g, "c2"), CN_STATUS_INVALID_ARG, "kernel size 0 on axis W must be >= 1");
    /* channels not divisible by groups: say which */
    g = g2(3, 4, 6, 6, 3, 3);
    g.groups = 2;
    CHECK_ERR(cn_conv_geom_resolve(&g, "c1"), CN_STATUS_SHAPE, "conv 'c1': input has 3 channels, groups=2 does not divide it");
    g = g2(4, 6, 6, 6, 3, 3);
    g.groups = 4;
    CHECK_ERR(cn_conv_geom_resolve(&g, "c1"), CN_STATUS_INVALID_ARG, "conv 'c1': output has 6 channels, groups=4 does not divide it");
    g.groups = 0;
    CHECK_ERR(cn_conv_geom_resolve(&g, "c1"), CN_STATUS_INVALID_ARG, "groups=0 must be >= 1");
    /* reflect padding must be smaller than the input */
    g = g2(1, 1, 5, 3, 3, 3);
    g.pad_mode = CN_PAD_REFLECT;
    g.pad_begin[1] = 3, g.pad_end[1] = 1;
    CHECK_ERR(cn_conv_geom_resolve(&g, "r"), CN_STATUS_SHAPE, "conv 'r': reflect padding 3+1 on axis W must be smaller than the input size 3");
    g.pad_begin[1] = 2;
    CHECK_OK(cn_conv_geom_resolve(&g, "r"));
    g.pad_mode = CN_PAD_REPLICATE, g.pad_begin[1] = 7; /* replicate has no such limit */
    CHECK_OK(cn_conv_geom_resolve(&g, "r"));
    /* negative pads */
    g = g2(1, 1, 5, 5, 3, 3);
    g.pad_begin[0] = -1;
    CHECK_ERR(cn_conv_geom_resolve(&g, "p"), CN_STATUS_INVALID_ARG, "conv 'p': pad_begin -1 on axis H is negative");
    g.pad_begin[0] = 0, g.pad_end[1] = -2;
    CHECK_ERR(cn_conv_geom_resolve(&g, "p"), CN_STATUS_INVALID_ARG, "pad_end -2 on axis W is negative");
    /* output_padding: only transposed, and smaller than the stride or the dilation */
    g = g1(2, 2, 5, 3, 2);
    g.output_padding[0] = 1;
    CHECK_ERR(cn_conv_geom_resolve(&g, "o"), CN_STATUS_INVALID_ARG, "conv 'o': output_padding 1 on axis W is only for transposed convolution");
    g.transposed = 1;
    CHECK_OK(cn_conv_geom_resolve(&g, "o"));
    g.output_padding[0] = 2;
    CHECK_ERR(cn_conv_geom_resolve(&g, "o"), CN_STATUS_INVALID_ARG,
              "conv_transpose 'o': output_padding 2 on axis W must be smaller than the stride 2 or the dilation 1");
    g.dilation[0] = 3; /* PyTorch and ONNX accept it when the dilation is larger */
    CHECK_OK(cn_conv_geom_resolve(&g, "o"));
    g.output_padding[0] = -1;
    CHECK_ERR(cn_conv_geom_resolve(&g, "o"), CN_STATUS_INVALID_ARG, "output_padding -1 on axis W is negative");
    g = g1(2, 2, 5, 3, 2);
    g.output_shape[0] = 9;
    CHECK_ERR(cn_conv_geom_resolve(&g, "o"), CN_STATUS_INVALID_ARG, "output_shape 9 on axis W is only for transposed");
    /* transposed: pads that leave nothing, padding modes */
    g = g1(1, 1, 1, 1, 1);
    g.transposed = 1, g.pad_begin[0] = 1;
    CHECK_ERR(cn_conv_geom_resolve(&g, "t"), CN_STATUS_SHAPE, "conv_transpose 't': pads 1+0 on axis W leave no output (unpadded output size 1)");
    g.pad_begin[0] = 0, g.pad_mode = CN_PAD_REFLECT;
    CHECK_ERR(cn_conv_geom_resolve(&g, "t"), CN_STATUS_INVALID_ARG, "padding mode reflect is not defined for transposed");
    /* ndim out of range */
    g = g2(1, 1, 5, 5, 3, 3);
    g.ndim = 4;
    CHECK_ERR(cn_conv_geom_resolve(&g, "nd"), CN_STATUS_INVALID_ARG, "conv 'nd': ndim 4 is out of range");
    g.ndim = 0;
    CHECK_ERR(cn_conv_geom_resolve(&g, "nd"), CN_STATUS_INVALID_ARG, "ndim 0 is out of range");
    /* empty sizes */
    g = g2(1, 1, 5, 0, 3, 3);
    CHECK_ERR(cn_conv_geom_resolve(&g, "e"), CN_STATUS_SHAPE, "input size 0 on axis W must be >= 1");
    g = g2(0, 1, 5, 5, 3, 3);
    CHECK_ERR(cn_conv_geom_resolve(&g, "e"), CN_STATUS_SHAPE, "conv 'e': input has 0 channels");
    g = g2(1, 1, 5, 5, 3, 3);
    g.n = 0;
    CHECK_ERR(cn_conv_geom_resolve(&g, "e"), CN_STATUS_SHAPE, "batch size 0 must be >= 1");
    /* enums */
    g = g2(1, 1, 5, 5, 3, 3);
    g.pad_mode = (cn_pad_mode)7;
    CHECK_ERR(cn_conv_geom_resolve(&g, "m"), CN_STATUS_INVALID_ARG, "unknown padding mode 7");
    g.pad_mode = CN_PAD_ZERO, g.auto_pad = (cn_auto_pad)9;
    CHECK_ERR(cn_conv_geom_resolve(&g, "m"), CN_STATUS_INVALID_ARG, "unknown auto_pad 9");
    /* sizes beyond the limits */
    cn_conv_geom_init(&g, 3);
    g.n = g.ic = g.oc = 2147483647LL;
    for (int a = 0; a < 3; a++) g.in[a] = 2147483647LL, g.k[a] = 1;
    CHECK_ERR(cn_conv_geom_resolve(&g, "huge"), CN_STATUS_LIMIT, "overflow");
    g = g1(1, 1, 5, 3, 1);
    g.stride[0] = 1LL << 40;
    CHECK_ERR(cn_conv_geom_resolve(&g, "huge"), CN_STATUS_LIMIT, "stride 1099511627776 on axis W exceeds 2147483647");
    /* family-specific rules, and an unnamed geometry */
    g = g2(1, 1, 5, 5, 3, 3);
    g.transposed = 1;
    CHECK_ERR(cn_local_geom_resolve(&g, "l1"), CN_STATUS_INVALID_ARG, "local 'l1': a locally connected layer cannot be transposed");
    CHECK_ERR(cn_tiled_geom_resolve(&g, "t1"), CN_STATUS_INVALID_ARG, "tiled 't1': a tiled convolution cannot be transposed");
    g.transposed = 0, g.tile[1] = 0;
    CHECK_ERR(cn_tiled_geom_resolve(&g, "t1"), CN_STATUS_INVALID_ARG, "tiled 't1': tile 0 on axis W must be >= 1");
    g = g2(3, 4, 6, 6, 3, 3);
    g.groups = 2;
    CHECK_ERR(cn_local_geom_resolve(&g, "l2"), CN_STATUS_SHAPE, "local 'l2': input has 3 channels");
    CHECK_ERR(cn_conv_geom_resolve(&g, NULL), CN_STATUS_SHAPE, "conv: input has 3 channels, groups=2 does not divide it");
}

int main(void)
{
    RUN(test_init_defaults);
    RUN(test_output_sizes);
    RUN(test_auto_pad);
    RUN(test_transposed_sizes);
    RUN(test_arithmetic);
    RUN(test_errors);
    return cn_test_finish();
}
