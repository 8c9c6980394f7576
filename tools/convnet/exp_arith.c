/* exp_arith.c — the lectures' convolution arithmetic, computed by the library (geometry
 * resolution, parameter and multiply counts, model summaries) and checked against the
 * numbers the lectures state. Every line says "ok" or "MISMATCH". */
#include <string.h>

#include "experiment.h"

static int check(exp_ctx *x, cJSON *rows, const char *what, double got, double want)
{
    int ok = got == want;
    exp_printf(x, "  %-66s %16.0f  %16.0f  %s\n", what, got, want, ok ? "ok" : "MISMATCH");
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "what", what);
    cJSON_AddNumberToObject(o, "computed", got);
    cJSON_AddNumberToObject(o, "stated", want);
    cJSON_AddBoolToObject(o, "ok", ok);
    cJSON_AddItemToArray(rows, o);
    return ok;
}

/* totals of a model given as text, planned at batch 1 */
static cn_status totals(const char *text, int64_t *params, int64_t *macs, cn_layer_info *last)
{
    cn_model *m;
    cn_status st = cn_model_parse(&m, text, "arith");
    if (st == CN_OK) st = cn_model_plan(m, 1, CN_PLAN_INFER);
    *params = *macs = 0;
    for (int i = 0; st == CN_OK && i < cn_model_layer_count(m); i++) {
        cn_layer_info li;
        cn_model_layer(m, i, &li);
        *params += li.params;
        *macs += li.macs;
        if (last) *last = li;
    }
    cn_model_destroy(m);
    return st;
}

cn_status exp_arith(exp_ctx *x)
{
    cJSON *rows = cJSON_AddArrayToObject(x->json, "checks");
    int bad = 0;
    int64_t p, m;
    cn_layer_info li;
    cn_status st;
    exp_printf(x, "Convolution arithmetic from the lectures (computed vs stated)\n\n  %-66s %16s  %16s\n", "", "computed", "stated");
#define T(text) if ((st = totals(text, &p, &m, &li)) != CN_OK) return st
    T("[input]\nshape=3x32x32\n[conv]\nfilters=10\nkernel=5\npadding=2\n");
    bad += !check(x, rows, "32x32x3, ten 5x5 filters, stride 1, pad 2: output height", (double)li.out.dim[2], 32);
    bad += !check(x, rows, "  ... output channels", (double)li.out.dim[1], 10);
    bad += !check(x, rows, "  ... parameters (10 x (5*5*3) + 10 biases)", (double)p, 760);
    T("[input]\nshape=1x7x7\n[conv]\nfilters=1\nkernel=3\n");
    bad += !check(x, rows, "7x7 input, 3x3 kernel, stride 1: output size", (double)li.out.dim[2], 5);
    T("[input]\nshape=1x7x7\n[conv]\nfilters=1\nkernel=3\nstride=2\n");
    bad += !check(x, rows, "7x7 input, 3x3 kernel, stride 2: output size", (double)li.out.dim[2], 3);
    T("[input]\nshape=256x128x128\n[conv]\nfilters=64\nkernel=5\npadding=same\nbias=false\n");
    bad += !check(x, rows, "128x128x256 -> 64 5x5 filters: multiplications", (double)m, 6710886400.0);
    T("[input]\nshape=256x128x128\n[conv]\nfilters=32\nkernel=1\nbias=false\n[conv]\nfilters=64\nkernel=5\npadding=same\nbias=false\n");
    bad += !check(x, rows, "  ... with a 1x1 bottleneck to 32 channels first", (double)m, 973078528.0);
    T("[input]\nshape=6x8x8\n[conv]\nfilters=3\nkernel=3\nbias=false\n");
    bad += !check(x, rows, "6 channels -> 3, 3x3: standard convolution weights", (double)p, 162);
    T("[input]\nshape=6x8x8\n[separable_conv]\nfilters=3\nkernel=3\nbias=false\n");
    bad += !check(x, rows, "  ... depthwise-separable (54 depthwise + 18 pointwise)", (double)p, 72);
    T("[input]\nshape=1x32x32\n[conv]\nfilters=1\nkernel=3\n[conv]\nfilters=1\nkernel=3\n");
    bad += !check(x, rows, "receptive field of two stacked 3x3 convolutions", li.rf_size[0], 5);
    T("[input]\nshape=1x32x32\n[conv]\nfilters=1\nkernel=3\n[conv]\nfilters=1\nkernel=3\n[conv]\nfilters=1\nkernel=3\n");
    bad += !check(x, rows, "receptive field of three stacked 3x3 convolutions (= one 7x7)", li.rf_size[0], 7);
    T("[input]\nshape=64x32x32\n[conv]\nfilters=64\nkernel=3\nbias=false\n[conv]\nfilters=64\nkernel=3\nbias=false\n");
    int64_t p33 = p;
    T("[input]\nshape=64x32x32\n[conv]\nfilters=64\nkernel=5\nbias=false\n");
    bad += !check(x, rows, "64 channels: two 3x3 layers' weights (2*9*C^2) vs one 5x5 (25*C^2)", (double)p33, 2.0 * 9 * 64 * 64);
    bad += !check(x, rows, "  ... one 5x5 layer", (double)p, 25.0 * 64 * 64);
    /* VGG-16, from the model zoo */
    cn_model *vgg;
    if ((st = exp_load_model(&vgg, "vgg16")) != CN_OK) return st;
    if ((st = cn_model_plan(vgg, 1, CN_PLAN_INFER)) != CN_OK) {
        cn_model_destroy(vgg);
        return st;
    }
    int64_t vp = 0, mem = 0;
    exp_printf(x, "\nVGG-16 at 224x224x3, per layer (activations are floats per image):\n  %-14s %-16s %14s %12s\n", "layer", "output",
               "activations", "params");
    for (int i = 0; i < cn_model_layer_count(vgg); i++) {
        cn_layer_info l;
        cn_model_layer(vgg, i, &l);
        vp += l.params;
        mem += cn_shape_numel(&l.out);
        char s[64];
        cn_shape_str(&l.out, s, sizeof s);
        exp_printf(x, "  %-14s %-16s %14lld %12lld\n", l.name, s, (long long)cn_shape_numel(&l.out), (long long)l.params);
    }
    cn_model_destroy(vgg);
    exp_printf(x, "  total: %lld parameters, %lld activation floats (%.1f MB per image forward)\n\n", (long long)vp, (long long)mem,
               (double)mem * 4 / 1e6);
    bad += !check(x, rows, "VGG-16 parameters at 224x224x3 -> 1000", (double)vp, 138357544.0);
    exp_printf(x, "\n%d mismatches\n", bad);
    cJSON_AddNumberToObject(x->json, "mismatches", bad);
    return bad ? cn_set_error(CN_STATUS_INTERNAL, "conv-arithmetic: %d computed numbers differ from the lectures'", bad) : CN_OK;
}
