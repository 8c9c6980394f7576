/* test_onnx_layers.c — the layers added for ONNX/Darknet interoperability (binary, reshape,
 * transpose, matmul, resize, gather, max_pool_indices, max_unpool_flat, yolo, region): whole-
 * layer gradient checks (input and parameters), forward values against hand computations,
 * and shape errors that name the layer and the shapes. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convnet/convnet.h"
#include "layercheck.h"
#include "test.h"

/* Each line: input shape | layers ("type k=v ...; type k=v ...") | check options.
 * "d": distinct inputs (a shuffled grid: no ties, nothing within half a step of 0) with eps 1e-3
 * below the grid step, so max/min/prelu kinks are never crossed and the finite difference of a
 * piecewise-linear layer is exact up to rounding; "pos": inputs in [0.2, 1] (pow, div by x, log);
 * "e3": eps 1e-3 for strongly curved functions (see build()).
 * Tolerance 2e-3 relative (floor 1e-2): smooth ops at eps = 1e-2 have truncation O(eps^2 f''')
 * ~ 1e-4 and rounding 6e-8 |y| / 2eps ~ 1e-5; a wrong term or a mis-broadcast is O(1). */
static const char *const cases[] = {
    /* binary, two inputs (a conv gives the second operand so both are functions of the input) */
    "2x3x4 | conv name=a filters=3 kernel=1; binary input=input1,a op=sub |",
    "2x3x4 | conv name=a filters=3 kernel=1; binary input=input1,a op=mul |",
    "2x3x4 | conv name=a filters=1 kernel=1; binary input=input1,a op=mul |",  /* b broadcast over channels */
    "2x3x4 | conv name=a filters=3 kernel=1; act name=p kind=sigmoid; binary input=input1,p op=div |",
    "2x3x4 | conv name=a filters=3 kernel=1; binary input=input1,a op=max | d",
    "2x3x4 | conv name=a filters=3 kernel=1; binary input=input1,a op=min | d",
    /* binary with a constant (trainable, so its gradient is checked too) */
    "2x3x4 | binary op=add const_shape=4 trainable=true |",
    "2x3x4 | binary op=sub const_shape=3x1 reverse=true trainable=true |",
    "2x3x4 | binary op=mul const_shape=2x3x4 trainable=true |",
    "2x3x4 | binary op=div const_shape=1 value=2 trainable=true |",
    "2x3x4 | binary op=div const_shape=3x1 reverse=true trainable=true | pos",
    "2x3x4 | binary op=pow const_shape=1 value=1.7 trainable=true | pos",
    "2x3x4 | binary op=prelu const_shape=4 trainable=true | d",
    "2x3x4 | binary op=max const_shape=4 trainable=true | d",
    /* layout */
    "2x3x4 | reshape shape=0,-1 |",
    "2x3x4 | reshape shape=4,6 |",
    "2x3x4x5 | transpose perm=0,2,3,1 |",
    "2x3x4 | transpose perm=1,0,2 |",
    "2x3x4 | transpose |",
    /* matmul: a weight (rank 2 and batched), or two inputs with broadcast leading axes */
    "2x3x4 | matmul weight_shape=4x5 |",
    "2x3x4 | matmul weight_shape=2x4x3 |",
    "2x3x4 | transpose name=t perm=0,2,1; matmul input=input1,t |",
    "2x1x3x4 | reshape name=r shape=2,4,3; matmul input=input1,r |",
    /* resize: linear modes (nearest is a gather: its gradient is routing) */
    "2x2x3x4 | resize mode=linear scale=2 |",
    "2x2x3x4 | resize mode=linear size=5x3 coord=align_corners |",
    "2x2x5 | resize mode=linear size=3 coord=pytorch_half_pixel |",
    "2x2x3x4 | resize mode=nearest scale=1.5 coord=asymmetric nearest=floor |",
    /* gather (indices are set by set_indices below when a test needs specific ones) */
    "3x4x5 | gather axis=1 indices_shape=2 |",
    /* max_pool_indices / max_unpool_flat: the indices feed the unpool as an input */
    "2x2x4x4 | max_pool name=p kernel=2 keep_indices=true; max_pool_indices name=i input=p; max_unpool_flat input=p,i kernel=2 | d",
    /* unary math (log, sqrt, reciprocal on positive inputs; abs/sign/floor on distinct ones) */
    "2x3x4 | unary op=exp |",
    "2x3x4 | unary op=log | pos",
    "2x3x4 | unary op=sqrt | pos",
    "2x3x4 | unary op=reciprocal | pos e3",
    "2x3x4 | unary op=erf |",
    "2x3x4 | unary op=abs | d",
    "2x3x4 | unary op=neg |",
    "2x3x4 | unary op=sin |",
    "2x3x4 | unary op=cos |",
    "2x3x4 | unary op=softsign | d",
    "2x3x4 | unary op=floor | d",
    /* darknet layers: a shortcut from a larger map with more channels, one from a smaller one; a crop */
    "2x2x4x4 | conv name=a filters=3 kernel=3 padding=1 stride=2; shortcut input=a,input1 |",
    "2x3x4x4 | conv name=a filters=2 kernel=3 padding=1 stride=2; shortcut input=input1,a |",
    "2x2x5x6 | crop height=3 width=2 |",
    /* darknet output layers */
    "2x14x3x3 | yolo classes=2 mask=0,1 anchors=10,14,23,27,37,58 |",
    "2x14x3x3 | region classes=2 num=2 coords=4 anchors=1,1,2,2 |",
};

static int64_t build(const char *line, char *out, size_t cap, cn_layercheck_opts *o)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", line);
    char *bar1 = strchr(buf, '|'), *bar2 = strchr(bar1 + 1, '|');
    *bar1 = *bar2 = '\0';
    char *shape = buf, *layers = bar1 + 1, *flags = bar2 + 1;
    for (char *e = shape + strlen(shape) - 1; *e == ' '; e--) *e = '\0';
    int64_t batch = strtoll(shape, &shape, 10);
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
    if (strstr(flags, "pos")) o->input_lo = 0.2f, o->input_hi = 1;
    /* 1/x is strongly curved near 0.2 (third derivative -6/x^4 ~ -4000): eps 1e-3 keeps the
     * truncation error eps^2 |f'''|/6 below 1e-3 of the O(25) derivative; rounding 6e-8*5/2e-3 */
    if (strstr(flags, "e3")) o->eps = 1e-3;
    return batch;
}

static void test_gradients(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[2048];
        cn_layercheck_opts o;
        int64_t batch = build(cases[i], text, sizeof text, &o);
        cn_layercheck(text, batch, 900 + i, &o, cases[i]);
    }
}

static cn_model *planned(const char *text, int64_t batch)
{
    cn_model *m = NULL;
    if (cn_model_parse(&m, text, "t") != CN_OK || cn_model_plan(m, batch, CN_PLAN_INFER) != CN_OK) {
        cn_test_fail(__FILE__, __LINE__, "%s", cn_last_error());
        cn_model_destroy(m);
        return NULL;
    }
    return m;
}

static float *param(cn_model *m, const char *name)
{
    for (int i = 0; i < cn_model_param_count(m); i++) {
        cn_param p;
        if (cn_model_param(m, i, &p) == CN_OK && !strcmp(p.name, name)) return p.value;
    }
    cn_test_fail(__FILE__, __LINE__, "no parameter %s", name);
    return NULL;
}

/* values against hand computations */
static void test_binary_values(void)
{
    /* x (2x3) - c (3), reversed: c - x; broadcast of the constant along the batch */
    cn_model *m = planned("[input]\nshape=3\n[binary]\nop=sub\nconst_shape=3\nreverse=true\n", 2);
    if (!m) return;
    float *c = param(m, "binary1.value");
    if (c) c[0] = 10, c[1] = 20, c[2] = 30;
    const float x[6] = {1, 2, 3, 4, 5, 6}, want[6] = {9, 18, 27, 6, 15, 24};
    cn_shape s;
    CHECK_OK(cn_model_forward(m, x, 0));
    CHECK_ALLCLOSE(cn_model_output(m, &s), want, 6, 0, 0, "c - x");
    cn_model_destroy(m);
    /* prelu with a slope per last axis (ONNX test_prelu_broadcast's layout) */
    m = planned("[input]\nshape=2\n[binary]\nop=prelu\nconst_shape=2\n", 2);
    if (!m) return;
    c = param(m, "binary1.value");
    if (c) c[0] = 0.5f, c[1] = 2;
    const float x2[4] = {-2, -2, 3, -1}, want2[4] = {-1, -4, 3, -2};
    CHECK_OK(cn_model_forward(m, x2, 0));
    CHECK_ALLCLOSE(cn_model_output(m, &s), want2, 4, 0, 0, "prelu");
    cn_model_destroy(m);
    /* shapes that do not broadcast are an error naming both */
    cn_model *bad = NULL;
    CHECK_OK(cn_model_parse(&bad, "[input]\nshape=3x4\n[binary]\nop=add\nconst_shape=3\n", "t"));
    CHECK_ERR(cn_model_plan(bad, 2, CN_PLAN_INFER), CN_STATUS_SHAPE, "2x3x4 and 3 do not broadcast");
    cn_model_destroy(bad);
}

static void test_layout_values(void)
{
    /* transpose (2, 3) → (3, 2) across the batch axis: the model's output has 3 rows */
    cn_model *m = planned("[input]\nshape=3\n[transpose]\n", 2);
    if (!m) return;
    const float x[6] = {1, 2, 3, 4, 5, 6}, want[6] = {1, 4, 2, 5, 3, 6};
    cn_shape s;
    CHECK_OK(cn_model_forward(m, x, 0));
    CHECK_ALLCLOSE(cn_model_output(m, &s), want, 6, 0, 0, "transpose");
    CHECK(s.ndim == 2 && s.dim[0] == 3 && s.dim[1] == 2);
    cn_model_destroy(m);
    /* reshape 0,-1 keeps the batch at any batch size */
    m = planned("[input]\nshape=3x4\n[reshape]\nshape=0,-1\n", 5);
    if (!m) return;
    cn_model_output(m, &s);
    CHECK(s.ndim == 2 && s.dim[0] == 5 && s.dim[1] == 12);
    cn_model_destroy(m);
    cn_model *bad = NULL;
    CHECK_OK(cn_model_parse(&bad, "[input]\nshape=3x4\n[reshape]\nshape=0,5\n", "t"));
    CHECK_ERR(cn_model_plan(bad, 2, CN_PLAN_INFER), CN_STATUS_SHAPE, "has 24 elements");
    cn_model_destroy(bad);
    CHECK_OK(cn_model_parse(&bad, "[input]\nshape=3x4\n[transpose]\nperm=0,1,1\n", "t"));
    CHECK_ERR(cn_model_plan(bad, 2, CN_PLAN_INFER), CN_STATUS_INVALID_ARG, "not a permutation");
    cn_model_destroy(bad);
}

static void test_matmul_values(void)
{
    /* (1, 2, 3) @ (3, 2) */
    cn_model *m = planned("[input]\nshape=2x3\n[matmul]\nweight_shape=3x2\n", 1);
    if (!m) return;
    float *w = param(m, "matmul1.weight");
    const float wv[6] = {1, 0, 0, 1, 1, 1};
    if (w) memcpy(w, wv, sizeof wv);
    const float x[6] = {1, 2, 3, 4, 5, 6}, want[4] = {4, 5, 10, 11};
    cn_shape s;
    CHECK_OK(cn_model_forward(m, x, 0));
    CHECK_ALLCLOSE(cn_model_output(m, &s), want, 4, 0, 0, "matmul");
    cn_model_destroy(m);
    cn_model *bad = NULL;
    CHECK_OK(cn_model_parse(&bad, "[input]\nshape=2x3\n[matmul]\nweight_shape=4x2\n", "t"));
    CHECK_ERR(cn_model_plan(bad, 1, CN_PLAN_INFER), CN_STATUS_SHAPE, "K = 3 columns");
    cn_model_destroy(bad);
}

static void test_gather_values(void)
{
    cn_model *m = planned("[input]\nshape=3\n[gather]\naxis=0\nindices_shape=3\n", 4);
    if (!m) return;
    float *q = param(m, "gather1.indices");
    if (q) q[0] = 3, q[1] = -4, q[2] = 1; /* -4 is row 0 */
    const float x[12] = {0, 1, 2, 10, 11, 12, 20, 21, 22, 30, 31, 32}, want[9] = {30, 31, 32, 0, 1, 2, 10, 11, 12};
    cn_shape s;
    CHECK_OK(cn_model_forward(m, x, 0));
    CHECK_ALLCLOSE(cn_model_output(m, &s), want, 9, 0, 0, "gather");
    CHECK(s.dim[0] == 3 && s.dim[1] == 3);
    cn_model_destroy(m);
}

/* ONNX's test_maxpool_with_argmax_2d_precomputed_strides: 5x5 arange+1, k2 s2 → indices 6 8 16 18 */
static void test_pool_indices_values(void)
{
    cn_model *m = planned("[input]\nshape=1x5x5\n[max_pool]\nname=p\nkernel=2\nstride=2\nkeep_indices=true\n"
                          "[max_pool_indices]\ninput=p\n",
                          1);
    if (!m) return;
    float x[25];
    for (int i = 0; i < 25; i++) x[i] = (float)(i + 1);
    const float want[4] = {6, 8, 16, 18};
    cn_shape s;
    CHECK_OK(cn_model_forward(m, x, 0));
    CHECK_ALLCLOSE(cn_model_output(m, &s), want, 4, 0, 0, "indices");
    cn_model_destroy(m);
}

int main(void)
{
    RUN(test_gradients);
    RUN(test_binary_values);
    RUN(test_layout_values);
    RUN(test_matmul_values);
    RUN(test_gather_values);
    RUN(test_pool_indices_values);
    return cn_test_finish();
}
