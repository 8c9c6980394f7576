/* test_layers.c — every non-convolution layer through the model API: whole-layer gradient
 * checks (input and parameters), forward values against hand computations, shape rules and
 * errors, stochastic layers' seeding, and loss layers end to end. Kernel-level tests (PyTorch
 * fixtures, statistics) live in test_act, test_norm, test_pool*, test_loss, ...; these prove
 * the layers wire the kernels correctly in every dimensionality. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layercheck.h"
#include "test.h"

/* Each line: input shape | layers ("type k=v ...; type k=v ...") | check options.
 * Options: "e3" eps = 1e-3 for strongly curved layers, "pos" inputs in [0.2, 1], "far" inputs in [2, 3] (away from real targets in [-1, 1],
 * the kink of L1), "d" distinct inputs (a shuffled grid: no ties, nothing within half a step of 0, so
 * with eps = 1e-3 below the grid step every kink — max ties, ReLU at 0, clip bounds, |x| in Lp
 * — is further than eps from every input, making piecewise-linear layers exactly linear over
 * the difference), "t1/t2/t3" loss targets (class indices / binary / real).
 * Tolerances: smooth layers (sigmoid, tanh, softmax, norms, losses) with eps = 1e-2 have a
 * truncation error O(eps^2 f''') ~ 1e-4 relative and rounding (6e-8 |y| / 2eps) ~ 1e-5: tol
 * 2e-3. Piecewise-linear layers on distinct inputs are exact up to rounding: eps 1e-3, tol 2e-3
 * (rounding 6e-8/2e-3 = 3e-5 relative to O(1) gradients, with a floor of 1e-2 for tiny ones). */
typedef struct {
    const char *line;
} tcase;

static const char *const cases[] = {
    /* activations */
    "2x3x5 | act kind=relu | d",
    "2x3x5 | act kind=leaky_relu slope=0.2 | d",
    "2x3x5 | act kind=elu | d",
    "2x3x5 | act kind=selu | d",
    "2x3x5 | act kind=sigmoid |",
    "2x3x5 | act kind=tanh |",
    "2x3x5 | act kind=softplus beta=2 |",
    "2x3x5 | act kind=hard_sigmoid | d",
    "2x3x5 | act kind=hard_swish | d",
    "2x3x5 | act kind=gelu | e3",
    "2x3x5 | act kind=gelu approximate=true | e3",
    "2x3x5 | act kind=clip lo=-0.52 hi=0.47 | d",
    "3x4x4 | prelu | d",
    "3x4x4 | prelu shared=true init=0.1 | d",
    /* softmax */
    "5x3 | softmax |",
    "4x3x3 | log_softmax axis=-1 |",
    "2x3x4x2 | softmax axis=2 |",
    /* dense, flatten */
    "6x4 | dense units=4 |",
    "2x3x3 | flatten; dense units=5 bias=false init=xavier_uniform |",
    "2x2x2x2 | dense units=3 |",
    /* normalization */
    "3x5 | batch_norm | e3",
    "3x7 | batch_norm momentum=0.3 | e3",
    "2x3x3x4 | batch_norm eps=0.001 | e3",
    "2x2x3x2x3 | batch_norm | e3",
    "3x4x3 | batch_norm affine=false | e3",
    "2x3x4x4 | batch_norm frozen=true | e3",
    "2x3x5 | instance_norm | e3",
    "2x2x3x3 | instance_norm affine=false | e3",
    "2x4x3x3 | group_norm groups=2 | e3",
    "2x6x2x2x2 | group_norm groups=3 | e3",
    "2x7x3 | lrn size=3 alpha=0.5 beta=0.75 bias=2 |",
    "2x6x2x2 | lrn size=4 alpha=0.3 |",
    /* dropout: the same mask in every forward of one step */
    "3x10 | dropout p=0.3 |",
    "2x4x3x3 | dropout p=0.5 spatial=true |",
    /* padding */
    "2x3x5 | pad padding=1,2 mode=reflect |",
    "2x2x4x3 | pad padding=1 mode=replicate |",
    "2x2x3x3x3 | pad padding=0,1,2,1,0,1 mode=constant value=0.5 |",
    /* pooling */
    "2x3x8 | max_pool kernel=3 stride=2 padding=1 | d",
    "2x2x7x6 | max_pool kernel=3x2 stride=2x1 padding=0,1,1,0 dilation=1x2 ceil_mode=true | d",
    "2x2x4x5x4 | max_pool kernel=2 | d",
    "2x3x7 | avg_pool kernel=3 stride=2 padding=1 count_include_pad=true | d",
    "2x2x5x6 | avg_pool kernel=2 padding=same ceil_mode=true | d",
    "2x2x4x4x4 | avg_pool kernel=2 stride=1 | d",
    "2x2x6x6 | lp_pool kernel=2 p=3 | pos",
    "2x2x5x5 | lp_pool kernel=3 stride=2 p=1.5 | pos",
    "2x3x5x4 | global_max_pool | d",
    "2x3x3x4x2 | global_avg_pool | d",
    "2x2x7x7 | subsample kernel=2 | d",
    "2x2x6x6 | stochastic_pool kernel=2 | d",
    "2x2x9x9 | fractional_max_pool output_size=5 | d",
    "2x2x10 | fractional_max_pool ratio=0.6 overlap=true | d",
    /* unpooling and upsampling */
    "2x2x4x4 | max_pool name=p kernel=2 keep_indices=true; max_unpool input=p,p | d",
    "2x3x5 | upsample scale=2 |",
    "2x2x3x4 | upsample scale=1.5 mode=linear |",
    "2x2x3x3 | upsample size=5x4 mode=linear align_corners=true |",
    "2x2x2x3x2 | upsample scale=2 mode=linear |",
    "2x8x2x3 | pixel_shuffle block=2 |",
    "2x2x4x6 | space_to_depth block=2 |",
    /* merges */
    "2x3x4 | conv name=a filters=3 kernel=1; conv name=b input=input1 filters=3 kernel=3 padding=1; add input=a,b,input1 |",
    "2x2x3x3 | conv name=a filters=3 kernel=1; concat input=a,input1 |",
    "2x2x3x3 | conv name=a filters=2 kernel=1; concat input=a,input1 axis=3 |",
    /* losses (targets: t1 class indices, t2 binary, t3 real) */
    "4x5 | softmax_cross_entropy | t1",
    "4x5 | softmax_cross_entropy label_smoothing=0.2 reduction=sum class_weights=1,2,0.5,1,3 | t1",
    "2x3x4x4 | softmax_cross_entropy | t1 n32",
    "3x4 | bce_with_logits pos_weight=1,2,3,0.5 | t2",
    "2x1x4x4 | bce_with_logits reduction=sum | t2",
    "3x4 | mse | t3",
    "3x4 | l1 | t3 far",
};

/* "NxCx... | type k=v k=v; type ... | flags" → model text with an input block; returns N */
static int64_t build(const char *line, char *out, size_t cap, cn_layercheck_opts *o)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", line);
    char *bar1 = strchr(buf, '|'), *bar2 = strchr(bar1 + 1, '|');
    *bar1 = *bar2 = '\0';
    char *shape = buf, *layers = bar1 + 1, *flags = bar2 + 1;
    for (char *e = shape + strlen(shape) - 1; *e == ' '; e--) *e = '\0';
    int64_t batch = strtoll(shape, &shape, 10); /* the first dimension is the batch */
    size_t n = (size_t)snprintf(out, cap, "[input]\nshape = %s\n", shape + 1);
    char *save1;
    for (char *lay = strtok_r(layers, ";", &save1); lay; lay = strtok_r(NULL, ";", &save1)) {
        char *save2;
        char *type = strtok_r(lay, " ", &save2);
        n += (size_t)snprintf(out + n, cap - n, "[%s]\n", type);
        for (char *kv = strtok_r(NULL, " ", &save2); kv; kv = strtok_r(NULL, " ", &save2)) {
            char *eq = strchr(kv, '=');
            *eq = '\0';
            n += (size_t)snprintf(out + n, cap - n, "%s = %s\n", kv, eq + 1);
        }
    }
    *o = (cn_layercheck_opts){.eps = 1e-2, .tol = 2e-3, .floor = 1e-2};
    if (strstr(flags, "d")) o->distinct = 1, o->eps = 1e-3;
    if (strstr(flags, "e3")) {
        /* normalization: perturbing one input moves every output of its channel or group (up to
         * ~50 values), so float rounding of the loss is ~6e-8*sqrt(50)*|y| / (2 eps) ~ 7e-5
         * absolute at eps = 3e-3, while the statistics of a few values curve strongly (truncation
         * ~eps^2 f''' ~ 1e-4 relative). 5e-3 covers both with margin; wiring errors (a missing
         * term, a wrong channel) are O(1). GELU uses the same setting. */
        o->eps = 3e-3;
        o->tol = 5e-3;
    }
    if (strstr(flags, "pos")) o->input_lo = 0.2f, o->input_hi = 1; /* |x| and x^p smooth: no kink at 0 */
    if (strstr(flags, "far")) o->input_lo = 2, o->input_hi = 3;    /* away from targets in [-1, 1] */
    if (strstr(flags, "t1")) o->targets = 1;
    if (strstr(flags, "t2")) o->targets = 2;
    if (strstr(flags, "t3")) o->targets = 3;
    if (strstr(flags, "n32")) o->target_count = 32; /* segmentation: N*H*W targets */
    return batch;
}

static void test_gradients(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[2048];
        cn_layercheck_opts o;
        int64_t batch = build(cases[i], text, sizeof text, &o);
        cn_layercheck(text, batch, 300 + i, &o, cases[i]);
    }
}

static cn_model *planned(const char *text, int64_t batch, int flags)
{
    cn_model *m = NULL;
    if (cn_model_parse(&m, text, "t") != CN_OK || cn_model_plan(m, batch, flags) != CN_OK) {
        cn_test_fail(__FILE__, __LINE__, "%s", cn_last_error());
        cn_model_destroy(m);
        return NULL;
    }
    return m;
}

/* the lecture's 4x4 example: 2x2 max pooling gives [[4,8],[6,9]], average [[2.75,4.5],[5,5]] */
static void test_lecture_pooling(void)
{
    const float x[16] = {4, 3, 1, 5, 1, 3, 4, 8, 4, 5, 4, 3, 6, 5, 9, 4};
    const float want_max[4] = {4, 8, 6, 9}, want_avg[4] = {2.75f, 4.5f, 5, 5};
    cn_model *a = planned("[input]\nshape=1x4x4\n[max_pool]\nkernel=2\n", 1, CN_PLAN_INFER);
    cn_model *b = planned("[input]\nshape=1x4x4\n[avg_pool]\nkernel=2\nstride=2\n", 1, CN_PLAN_INFER);
    if (!a || !b) return;
    cn_shape s;
    CHECK_OK(cn_model_forward(a, x, 0));
    CHECK_ALLCLOSE(cn_model_output(a, &s), want_max, 4, 0, 0, "max");
    CHECK(s.dim[2] == 2 && s.dim[3] == 2);
    CHECK_OK(cn_model_forward(b, x, 0));
    CHECK_ALLCLOSE(cn_model_output(b, &s), want_avg, 4, 0, 0, "avg");
    cn_model_destroy(a);
    cn_model_destroy(b);
}

/* max_unpool puts each max back in place: pool then unpool keeps the maxima, zeros the rest */
static void test_unpool_inverts_pool(void)
{
    cn_model *m = planned("[input]\nshape=1x4x4\n[max_pool]\nname=p\nkernel=2\nkeep_indices=true\n[max_unpool]\ninput=p,p\n", 1,
                          CN_PLAN_INFER);
    if (!m) return;
    const float x[16] = {4, 3, 1, 5, 1, 3, 4, 8, 4, 5, 4, 3, 6, 5, 9, 4};
    const float want[16] = {4, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, 0, 6, 0, 9, 0};
    CHECK_OK(cn_model_forward(m, x, 0));
    cn_shape s;
    CHECK_ALLCLOSE(cn_model_output(m, &s), want, 16, 0, 0, "unpool");
    cn_model_destroy(m);
    cn_model *bad = NULL;
    CHECK_OK(cn_model_parse(&bad, "[input]\nshape=1x4x4\n[max_pool]\nname=p\nkernel=2\n[max_unpool]\ninput=p,p\n", "t"));
    CHECK_ERR(cn_model_plan(bad, 1, CN_PLAN_INFER), CN_STATUS_INVALID_ARG, "keep_indices = true");
    cn_model_destroy(bad);
}

/* dropout: identity at inference; in training ~p dropped, the rest scaled by 1/(1-p); the
 * same seed and step give the same mask, the next step a new one */
static void test_dropout_layer(void)
{
    cn_model *m = planned("[input]\nshape=10000\n[dropout]\np=0.25\n", 1, CN_PLAN_TRAIN);
    if (!m) return;
    static float x[10000], first[10000];
    for (int i = 0; i < 10000; i++) x[i] = 1;
    CHECK_OK(cn_model_init(m, 1));
    cn_shape s;
    CHECK_OK(cn_model_forward(m, x, 0));
    CHECK_ALLCLOSE(cn_model_output(m, &s), x, 10000, 0, 0, "inference is identity");
    CHECK_OK(cn_model_forward(m, x, 1));
    const float *y = cn_model_output(m, &s);
    int kept = 0, scaled = 1;
    for (int i = 0; i < 10000; i++) {
        kept += y[i] != 0;
        scaled &= y[i] == 0 || fabsf(y[i] - 1.0f / 0.75f) < 1e-6f;
    }
    /* binomial(10000, 0.75): sd 43; 5 sd */
    CHECK_NEAR(kept, 7500, 5 * 43.3);
    CHECK(scaled);
    memcpy(first, y, sizeof first);
    CHECK_OK(cn_model_forward(m, x, 1));
    CHECK(!memcmp(first, cn_model_output(m, &s), sizeof first)); /* same step: same mask */
    CHECK_OK(cn_model_backward(m, x));
    CHECK_OK(cn_model_forward(m, x, 1));
    CHECK(memcmp(first, cn_model_output(m, &s), sizeof first) != 0); /* next step: a new mask */
    cn_model_set_step(m, 0);
    CHECK_OK(cn_model_forward(m, x, 1));
    CHECK(!memcmp(first, cn_model_output(m, &s), sizeof first)); /* rewound: the first mask */
    cn_model_destroy(m);
}

/* batch norm: eval uses the running statistics (updated by training forwards) */
static void test_batchnorm_modes(void)
{
    cn_model *m = planned("[input]\nshape=2\n[batch_norm]\nname=bn\nmomentum=0.5\n", 4, CN_PLAN_TRAIN);
    if (!m) return;
    CHECK_OK(cn_model_init(m, 1));
    const float x[8] = {1, 10, 2, 20, 3, 30, 4, 40}; /* channel 0: mean 2.5, var (unbiased) 5/3 */
    CHECK_OK(cn_model_forward(m, x, 1));
    cn_param rm, rv;
    CHECK_OK(cn_model_param(m, 2, &rm));
    CHECK_OK(cn_model_param(m, 3, &rv));
    CHECK(!strcmp(rm.name, "bn.running_mean") && !rm.trainable);
    CHECK_NEAR(rm.value[0], 0.5 * 2.5, 1e-6);
    CHECK_NEAR(rv.value[0], 0.5 * 1 + 0.5 * (5.0 / 3), 1e-6);
    cn_shape s;
    const float *y = cn_model_output(m, &s);
    CHECK_NEAR(y[0], (1 - 2.5) / sqrt(1.25 + 1e-5), 1e-5); /* training: batch statistics (biased var 1.25) */
    CHECK_OK(cn_model_forward(m, x, 0));
    y = cn_model_output(m, &s);
    CHECK_NEAR(y[0], (1 - rm.value[0]) / sqrt(rv.value[0] + 1e-5), 1e-5); /* inference: running statistics */
    cn_model_destroy(m);
}

/* loss layers end to end: the prediction is the layer before the loss, backward(NULL) starts
 * at dL/dL = 1, and bad targets are refused before anything runs */
static void test_loss_layer(void)
{
    cn_model *m = planned("[input]\nshape=3\n[dense]\nunits=3\n[softmax_cross_entropy]\n", 2, CN_PLAN_TRAIN);
    if (!m) return;
    CHECK_OK(cn_model_init(m, 1));
    const float x[6] = {1, 2, 3, -1, 0, 1};
    float t[2] = {2, 0};
    cn_shape s;
    CHECK_OK(cn_model_forward(m, x, 0)); /* inference without targets: no loss */
    CHECK(isnan(cn_model_loss(m)));
    const float *logits = cn_model_output(m, &s);
    CHECK(s.ndim == 2 && s.dim[1] == 3);
    double want = 0;
    for (int i = 0; i < 2; i++) {
        double mx = fmax(fmax(logits[3 * i], logits[3 * i + 1]), logits[3 * i + 2]), z = 0;
        for (int k = 0; k < 3; k++) z += exp(logits[3 * i + k] - mx);
        want += -(logits[3 * i + (int)t[i]] - mx - log(z)) / 2;
    }
    CHECK_OK(cn_model_set_target(m, t));
    CHECK_OK(cn_model_forward(m, x, 1));
    CHECK_NEAR(cn_model_loss(m), want, 1e-5);
    cn_model_zero_grad(m);
    CHECK_OK(cn_model_backward(m, NULL));
    cn_param w;
    CHECK_OK(cn_model_param(m, 0, &w));
    double gsum = 0;
    for (int i = 0; i < 9; i++) gsum += fabs(w.grad[i]);
    CHECK(gsum > 0);
    CHECK_ERR(cn_model_forward(m, x, 1), CN_STATUS_INVALID_STATE, "cn_model_set_target");
    t[1] = 3;
    CHECK_OK(cn_model_set_target(m, t));
    CHECK_ERR(cn_model_forward(m, x, 1), CN_STATUS_INVALID_ARG, "target 3 at position 1 is not a class index in [0, 3)");
    t[1] = 0.5f;
    CHECK_OK(cn_model_set_target(m, t));
    CHECK_ERR(cn_model_forward(m, x, 1), CN_STATUS_INVALID_ARG, "target 0.5");
    cn_model_destroy(m);
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

static void test_shape_errors(void)
{
    expect_plan_error("[input]\nname=a\nshape=8x4x4\n[conv]\nname=b\nfilters=4\nkernel=1\n[add]\ninput=a,b\n", CN_STATUS_SHAPE,
                      "input 0 is 2x8x4x4, input 1 is 2x4x4x4");
    expect_plan_error("[input]\nname=a\nshape=8x4x4\n[max_pool]\nname=b\nkernel=2\n[concat]\ninput=a,b\n", CN_STATUS_SHAPE, "2x8x4x4");
    expect_plan_error("[input]\nshape=3x5\n[dense]\nunits=0\n", CN_STATUS_INVALID_ARG, "units = 0");
    expect_plan_error("[input]\nshape=3x5\n[softmax]\naxis=0\n", CN_STATUS_INVALID_ARG, "batch axis");
    expect_plan_error("[input]\nshape=3x5\n[softmax]\naxis=3\n", CN_STATUS_INVALID_ARG, "axis 3");
    expect_plan_error("[input]\nshape=6x4x4\n[group_norm]\ngroups=4\n", CN_STATUS_SHAPE, "groups=4 does not divide C=6");
    expect_plan_error("[input]\nshape=3x4\n[pad]\npadding=4\nmode=reflect\n", CN_STATUS_SHAPE, "reflect");
    expect_plan_error("[input]\nshape=3x4x4\n[max_pool]\nkernel=5\n", CN_STATUS_SHAPE, "max_pool1");
    expect_plan_error("[input]\nshape=3x4x4\n[max_pool]\n", CN_STATUS_INVALID_ARG, "needs option 'kernel'");
    expect_plan_error("[input]\nshape=3x4\n[dropout]\np=1.5\n", CN_STATUS_INVALID_ARG, "p=1.5");
    expect_plan_error("[input]\nshape=5\n[softmax_cross_entropy]\nclass_weights=1,2\n", CN_STATUS_SHAPE, "2 class_weights given for 5 classes");
    expect_plan_error("[input]\nshape=3x4x4\n[pixel_shuffle]\nblock=2\n", CN_STATUS_SHAPE, "pixel");
    expect_plan_error("[input]\nshape=3x4x4\n[upsample]\n", CN_STATUS_INVALID_ARG, "give scale or size");
    expect_plan_error("[input]\nshape=3x4x4\n[fractional_max_pool]\n", CN_STATUS_INVALID_ARG, "give output_size or ratio");
}

int main(void)
{
    RUN(test_gradients);
    RUN(test_lecture_pooling);
    RUN(test_unpool_inverts_pool);
    RUN(test_dropout_layer);
    RUN(test_batchnorm_modes);
    RUN(test_loss_layer);
    RUN(test_shape_errors);
    return cn_test_finish();
}
