/* test_conv_layers.c — the convolution-family layers through the model API: gradient checks
 * of every layer in every dimensionality, parameter counts from the lectures, the separable
 * block against its two stages, and layer errors naming the layer and numbers. */
#include <stdio.h>
#include <string.h>

#include "layercheck.h"
#include "test.h"

/* One model per line: input shape (without batch) | layer block options ("key=value ...").
 * Each runs cn_layercheck: dL/dx and dL/dparam by central differences. Convolutions are
 * linear in x and in w, so a central difference is exact for any eps up to the float
 * rounding of the outputs it changes (|dy| <= 6e-8 |y| each; perturbing one value changes a
 * few dozen outputs, so |dL| ~ 1e-6). Divided by 2*eps with eps = 0.25 that is ~2e-6
 * absolute, so a relative tolerance of 1e-3 with a floor of 1e-3 has a 500x margin, while
 * any wrong index or missing term gives errors of order 1. */
static const cn_layercheck_opts linear = {.eps = 0.25, .tol = 1e-3, .floor = 1e-3};
static const char *const cases[] = {
    "1x9 | conv filters=2 kernel=3",
    "2x10 | conv filters=3 kernel=4 stride=2 padding=1,2 dilation=2",
    "4x8 | conv filters=4 kernel=3 groups=2 padding=same bias=false",
    "3x7 | conv filters=6 kernel=3 groups=3 padding=2 pad_mode=reflect",
    "2x6x5 | conv filters=3 kernel=3x2 stride=2x1 padding=1,0,0,1 dilation=1x2",
    "4x7x6 | conv filters=8 kernel=3 groups=4 padding=same pad_mode=replicate flip=true",
    "3x5x5 | conv filters=2 kernel=1",
    "2x5x6x4 | conv filters=2 kernel=3x2x2 stride=2x1x1 padding=1 dilation=1x2x1",
    "4x4x4x4 | conv filters=4 kernel=3 groups=4 padding=same pad_mode=reflect flip=true",
    "2x7 | conv_transpose filters=3 kernel=3 stride=2 padding=1 output_padding=1",
    "4x4x5 | conv_transpose filters=4 kernel=3x2 stride=2x3 padding=1,0,1,1 dilation=2x1 groups=2",
    "2x3x3x2 | conv_transpose filters=2 kernel=2 stride=2 bias=false",
    "2x5x4 | conv_transpose filters=2 kernel=3 stride=2 padding=same output_shape=10x8",
    "3x8 | separable_conv filters=4 kernel=3 padding=1",
    "4x6x6 | separable_conv filters=5 kernel=3 stride=2 multiplier=2 depthwise_bias=true padding=same",
    "2x4x5x4 | separable_conv filters=3 kernel=3 padding=1 pad_mode=replicate",
    "2x9 | locally_connected filters=3 kernel=3 stride=2",
    "3x6x5 | locally_connected filters=2 kernel=3x2 padding=1",
    "2x4x4x3 | locally_connected filters=2 kernel=2",
    "2x10 | tiled_conv filters=3 kernel=3 tile=3",
    "2x6x7 | tiled_conv filters=2 kernel=3 tile=2x3 padding=1",
    "2x5x4x4 | tiled_conv filters=2 kernel=2 tile=2",
};

static void model_text(const char *line, char *out, size_t cap)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s", line);
    char *bar = strchr(buf, '|');
    *bar = '\0';
    char *shape = buf, *rest = bar + 2;
    while (shape[strlen(shape) - 1] == ' ') shape[strlen(shape) - 1] = '\0';
    char *type = strtok(rest, " ");
    size_t n = (size_t)snprintf(out, cap, "[input]\nshape = %s\n[%s]\n", shape, type);
    for (char *kv = strtok(NULL, " "); kv; kv = strtok(NULL, " ")) {
        char *eq = strchr(kv, '=');
        *eq = '\0';
        n += (size_t)snprintf(out + n, cap - n, "%s = %s\n", kv, eq + 1);
    }
}

static void test_gradients_every_layer(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[1024];
        model_text(cases[i], text, sizeof text);
        cn_layercheck(text, 2, 100 + i, &linear, cases[i]);
    }
}

static int64_t total_params(const char *text, int64_t batch)
{
    cn_model *m;
    if (cn_model_parse(&m, text, "test") != CN_OK || cn_model_plan(m, batch, CN_PLAN_INFER) != CN_OK) {
        printf("%s\n", cn_last_error());
        return -1;
    }
    int64_t total = 0;
    for (int i = 0; i < cn_model_layer_count(m); i++) {
        cn_layer_info li;
        cn_model_layer(m, i, &li);
        total += li.params;
    }
    cn_model_destroy(m);
    return total;
}

static void test_lecture_parameter_counts(void)
{
    /* ten 5x5 filters over 32x32x3, stride 1, pad 2: 10*(5*5*3) + 10 = 760 parameters, 32x32x10 out */
    cn_model *m;
    CHECK_OK(cn_model_parse(&m, "[input]\nshape=3x32x32\n[conv]\nname=c\nfilters=10\nkernel=5\npadding=2\n", "lecture"));
    CHECK_OK(cn_model_plan(m, 1, CN_PLAN_INFER));
    cn_layer_info li;
    CHECK_OK(cn_model_layer(m, 1, &li));
    CHECK_EQ_INT(li.params, 760);
    CHECK(li.out.ndim == 4 && li.out.dim[1] == 10 && li.out.dim[2] == 32 && li.out.dim[3] == 32);
    CHECK_EQ_INT(li.macs, 32 * 32 * 10 * 75);
    cn_model_destroy(m);
    /* depthwise-separable, 6 channels in, 3x3, 3 out, no bias: 54 + 18 = 72 vs 162 */
    CHECK_EQ_INT(total_params("[input]\nshape=6x8x8\n[separable_conv]\nfilters=3\nkernel=3\nbias=false\n", 1), 72);
    CHECK_EQ_INT(total_params("[input]\nshape=6x8x8\n[conv]\nfilters=3\nkernel=3\nbias=false\n", 1), 162);
    /* 1x1 bottleneck: 128x128x256 -> 32 (1x1) -> 64 (5x5 same): 973,078,528 multiplies */
    CHECK_OK(cn_model_parse(&m, "[input]\nshape=256x128x128\n[conv]\nfilters=32\nkernel=1\nbias=false\n"
                                "[conv]\nfilters=64\nkernel=5\npadding=same\nbias=false\n", "bottleneck"));
    CHECK_OK(cn_model_plan(m, 1, CN_PLAN_INFER));
    int64_t macs = 0;
    for (int i = 0; i < 3; i++) {
        cn_model_layer(m, i, &li);
        macs += li.macs;
    }
    CHECK_EQ_INT(macs, 973078528LL);
    cn_model_destroy(m);
    /* locally connected: a kernel per output position; tiled: one per tile */
    CHECK_EQ_INT(total_params("[input]\nshape=2x6x6\n[locally_connected]\nfilters=3\nkernel=3\n", 1), 4 * 4 * (3 * 2 * 9 + 3));
    CHECK_EQ_INT(total_params("[input]\nshape=2x6x6\n[tiled_conv]\nfilters=3\nkernel=3\ntile=2x2\n", 1), 4 * (3 * 2 * 9 + 3));
}

/* separable_conv = conv(groups=C) then conv(kernel=1), with the same weights */
static void test_separable_equals_two_convs(void)
{
    cn_model *a, *b;
    CHECK_OK(cn_model_parse(&a, "[input]\nshape=4x7x6\n[separable_conv]\nfilters=5\nkernel=3\nmultiplier=2\npadding=1\n"
                                "depthwise_bias=true\n", "sep"));
    CHECK_OK(cn_model_parse(&b, "[input]\nshape=4x7x6\n[conv]\nfilters=8\nkernel=3\ngroups=4\npadding=1\n"
                                "[conv]\nfilters=5\nkernel=1\n", "two"));
    CHECK_OK(cn_model_plan(a, 3, CN_PLAN_INFER));
    CHECK_OK(cn_model_plan(b, 3, CN_PLAN_INFER));
    CHECK_OK(cn_model_init(a, 5));
    CHECK_EQ_INT(cn_model_param_count(a), 4);
    CHECK_EQ_INT(cn_model_param_count(b), 4);
    cn_rng r;
    cn_rng_init(&r, 9, CN_STREAM_USER);
    for (int i = 0; i < 4; i++) {
        cn_param pa, pb;
        cn_model_param(a, i, &pa);
        cn_model_param(b, i, &pb);
        CHECK(cn_shape_equal(&pa.shape, &pb.shape));
        cn_rng_fill_uniform(&r, pa.value, (size_t)cn_shape_numel(&pa.shape), -1, 1);
        memcpy(pb.value, pa.value, (size_t)cn_shape_numel(&pa.shape) * 4);
    }
    float x[3 * 4 * 7 * 6];
    cn_rng_fill_uniform(&r, x, sizeof x / 4, -1, 1);
    CHECK_OK(cn_model_forward(a, x, 0));
    CHECK_OK(cn_model_forward(b, x, 0));
    cn_shape sa, sb;
    const float *ya = cn_model_output(a, &sa), *yb = cn_model_output(b, &sb);
    CHECK(cn_shape_equal(&sa, &sb));
    CHECK(!memcmp(ya, yb, (size_t)cn_shape_numel(&sa) * 4)); /* the same kernels in the same order */
    cn_model_destroy(a);
    cn_model_destroy(b);
}

static void expect_plan_error(const char *text, cn_status want, const char *substr)
{
    cn_model *m = NULL;
    cn_status st = cn_model_parse(&m, text, "bad.cfg");
    if (st == CN_OK) st = cn_model_plan(m, 2, CN_PLAN_TRAIN);
    int before = cn_test_failures;
    CHECK_ERR(st, want, substr);
    if (cn_test_failures != before) printf("     (model was: %s)\n", text);
    cn_model_destroy(m);
}

static void test_layer_errors(void)
{
    expect_plan_error("[input]\nshape=3x8x8\n[conv]\nname=c1\nfilters=4\nkernel=3\ngroups=2\n", CN_STATUS_SHAPE,
                      "input has 3 channels, groups=2 does not divide it");
    expect_plan_error("[input]\nshape=3x4x4\n[conv]\nname=c1\nfilters=4\nkernel=7\n", CN_STATUS_SHAPE, "c1");
    expect_plan_error("[input]\nshape=3x4x4\n[conv]\nname=c1\nfilters=4\nkernel=3\nstride=0\n", CN_STATUS_INVALID_ARG, "stride");
    expect_plan_error("[input]\nshape=3x4x4\n[conv]\nname=c1\nfilters=4\nkernel=3x3x3\n", CN_STATUS_SHAPE,
                      "kernel = 3x3x3 has 3 values, but the input has 2 spatial dimensions");
    expect_plan_error("[input]\nshape=3x4x4\n[conv]\nfilters=4\nkernel=3\npadding=1,2,3\n", CN_STATUS_SHAPE, "padding = 1,2,3 has 3 values");
    expect_plan_error("[input]\nshape=3x4x4\n[conv]\nfilters=4\nkernel=3\npadding=4\npad_mode=reflect\n", CN_STATUS_SHAPE, "reflect");
    expect_plan_error("[input]\nshape=12\n[conv]\nname=c1\nfilters=4\nkernel=3\n", CN_STATUS_SHAPE, "rank 2");
    expect_plan_error("[input]\nshape=3x8\n[conv]\nfilters=4\nkernel=3\ndims=2\n", CN_STATUS_SHAPE, "dims = 2");
    expect_plan_error("[input]\nshape=3x8\n[conv]\nfilters=0\nkernel=3\n", CN_STATUS_INVALID_ARG, "filters = 0");
    expect_plan_error("[input]\nshape=3x8\n[conv_transpose]\nfilters=2\nkernel=3\nstride=2\noutput_padding=2\n", CN_STATUS_INVALID_ARG,
                      "output_padding");
    expect_plan_error("[input]\nshape=3x8\n[tiled_conv]\nfilters=2\nkernel=3\ntile=0\n", CN_STATUS_INVALID_ARG, "tile");
    expect_plan_error("[input]\nshape=3x8\n[separable_conv]\nfilters=2\nkernel=3\nmultiplier=0\n", CN_STATUS_INVALID_ARG, "multiplier = 0");
    /* the model wraps the message with the file and line and the input shapes */
    expect_plan_error("[input]\nshape=3x8x8\n\n[conv]\nname=c1\nfilters=4\nkernel=3\ngroups=2\n", CN_STATUS_SHAPE, "bad.cfg:4:");
    expect_plan_error("[input]\nname=img\nshape=3x8x8\n[conv]\nfilters=4\nkernel=3\ngroups=2\n", CN_STATUS_SHAPE, "'img' 2x3x8x8");
}

int main(void)
{
    RUN(test_gradients_every_layer);
    RUN(test_lecture_parameter_counts);
    RUN(test_separable_equals_two_convs);
    RUN(test_layer_errors);
    return cn_test_finish();
}
