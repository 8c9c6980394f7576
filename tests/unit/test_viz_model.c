/* test_viz_model.c — models loaded for pictures, on a small network trained by PyTorch on
 * Fashion-MNIST (tests/fixtures/gen_viz.py): predictions equal PyTorch's logits, gradient
 * saliency equals autograd's input gradient, occlusion sensitivity equals the same procedure
 * in PyTorch; the gradient mode computes inference values (batch norm frozen, dropout off,
 * loss removed) and its saliency equals central differences; filter and activation grids;
 * clear errors for missing weights, wrong files and unknown layers. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "convnet/viz.h"
#include "fixture.h"
#include "test.h"

#define RUN_DIR CN_FIXTURE_DIR "/viz/run"
#define WEIGHTS RUN_DIR "/weights.safetensors"

static char tmpdir[256];
static const char *tmp(const char *name)
{
    static char p[512];
    snprintf(p, sizeof p, "%s/%s", tmpdir, name);
    return p;
}

static void test_predict_matches_torch(void)
{
    cn_model *m = NULL;
    CHECK_OK(cn_viz_load_model(&m, WEIGHTS, NULL, 1, CN_VIZ_LOAD_INFER));
    cn_npy x = cn_fixture_load("viz/x8"), logits = cn_fixture_load("viz/logits8"), y = cn_fixture_load("viz/y8");
    if (!m || !x.numel || !logits.numel) goto done;
    int right = 0;
    for (int i = 0; i < 8; i++) {
        float scores[10], probs[10];
        int k = 0;
        CHECK_OK(cn_viz_predict(m, x.f32 + i * 784, scores, probs, 10, &k));
        CHECK_EQ_INT(k, 10);
        char label[32];
        snprintf(label, sizeof label, "logits of sample %d", i);
        /* float32 sums in a different order than PyTorch's conv algorithms: ~1e-6 of logits of
         * size ~10; 1e-4 still catches any layout mistake, which moves logits by O(1) */
        CHECK_ALLCLOSE(scores, logits.f32 + i * 10, 10, 1e-4, 0, label);
        double sum = 0;
        int best = 0;
        for (int c = 0; c < 10; c++) sum += probs[c], best = probs[c] > probs[best] ? c : best;
        CHECK_NEAR(sum, 1.0, 1e-5);
        right += best == (int)y.f32[i];
    }
    CHECK(right >= 6); /* the model is ~85% accurate */
    float few[3];
    int k;
    CHECK_ERR(cn_viz_predict(m, x.f32, few, NULL, 3, &k), CN_STATUS_LIMIT, "10 scores, room for 3");
done:
    cn_model_destroy(m);
    cn_npy_free(&x), cn_npy_free(&logits), cn_npy_free(&y);
}

static void test_saliency_matches_autograd(void)
{
    cn_model *m = NULL;
    CHECK_OK(cn_viz_load_model(&m, WEIGHTS, NULL, 1, CN_VIZ_LOAD_GRAD));
    cn_npy x = cn_fixture_load("viz/x8"), y = cn_fixture_load("viz/y8"), g = cn_fixture_load("viz/saliency_grad");
    if (!m || !x.numel || !g.numel) goto done;
    /* the loss layer is gone: the last layer is the prediction */
    cn_layer_info last;
    cn_model_layer(m, cn_model_layer_count(m) - 1, &last);
    CHECK(!strcmp(last.name, "fc"));
    for (int i = 0; i < 8; i++) {
        float map[784], grad[784];
        CHECK_OK(cn_viz_saliency(m, x.f32 + i * 784, (int)y.f32[i], map, grad));
        double gmax = 0;
        for (int p = 0; p < 784; p++) gmax = fmax(gmax, fabs(g.f32[i * 784 + p]));
        char label[48];
        snprintf(label, sizeof label, "input gradient of sample %d", i);
        /* same float32 network, different summation order: errors ~1e-6 of the largest
         * gradient; a wrong max-pool route or a missing ReLU mask gives O(1) relative errors */
        CHECK_ALLCLOSE(grad, g.f32 + i * 784, 784, 1e-4 * gmax, 1e-3, label);
        for (int p = 0; p < 784; p++) CHECK_MSG(map[p] == fabsf(grad[p]), "map[%d] != |grad| (one channel)", p);
    }
    float map[784];
    CHECK_ERR(cn_viz_saliency(m, x.f32, 10, map, NULL), CN_STATUS_INVALID_ARG, "class 10 is not in 0..9");
    cn_model_destroy(m);
    /* a model still ending with its loss cannot give class-score gradients */
    m = NULL;
    CHECK_OK(cn_viz_load_model(&m, WEIGHTS, NULL, 1, CN_VIZ_LOAD_INFER));
    if (m) CHECK_ERR(cn_viz_saliency(m, x.f32, 0, map, NULL), CN_STATUS_INVALID_STATE, "CN_VIZ_LOAD_GRAD");
done:
    cn_model_destroy(m);
    cn_npy_free(&x), cn_npy_free(&y), cn_npy_free(&g);
}

static void test_occlusion_matches_torch(void)
{
    cn_model *m = NULL;
    CHECK_OK(cn_viz_load_model(&m, WEIGHTS, NULL, 1, CN_VIZ_LOAD_INFER));
    cn_npy x = cn_fixture_load("viz/x8"), y = cn_fixture_load("viz/y8"), ref = cn_fixture_load("viz/occlusion");
    if (!m || !x.numel || !ref.numel) goto done;
    float map[784];
    CHECK_OK(cn_viz_occlusion(m, x.f32, (int)y.f32[0], 7, 3, 0.5f, map));
    /* probabilities from float32 logits (PyTorch's softmax in double from the same float
     * logits): logit errors ~1e-5 move p by at most ~1e-5 */
    CHECK_ALLCLOSE(map, ref.f32, 784, 3e-5, 0, "occlusion map");
    float mx = 0;
    for (int p = 0; p < 784; p++) mx = fmaxf(mx, map[p]);
    CHECK(mx > 0.05f); /* the map is not trivially zero: occluding the object matters */
    CHECK_ERR(cn_viz_occlusion(m, x.f32, 0, 0, 3, 0, map), CN_STATUS_INVALID_ARG, "patch 0");
    /* a patch larger than the image covers all of it: one placement, a constant map */
    CHECK_OK(cn_viz_occlusion(m, x.f32, (int)y.f32[0], 100, 1, 0.0f, map));
    for (int p = 1; p < 784; p++) CHECK(map[p] == map[0]);
done:
    cn_model_destroy(m);
    cn_npy_free(&x), cn_npy_free(&y), cn_npy_free(&ref);
}

/* input 2x6x6 -> conv -> batch_norm -> relu -> dropout -> dense 3 -> loss, random weights and
 * non-trivial running statistics, saved to a weights file */
static void make_bn_model(const char *path)
{
    cn_model *m;
    CHECK_OK(cn_model_create(&m));
    CHECK_OK(cn_model_add(m, "input", "x", NULL, "shape=2x6x6"));
    CHECK_OK(cn_model_add(m, "conv", "c", NULL, "filters=3 kernel=3"));
    CHECK_OK(cn_model_add(m, "batch_norm", "bn", NULL, ""));
    CHECK_OK(cn_model_add(m, "act", "r", NULL, "kind=tanh"));
    CHECK_OK(cn_model_add(m, "dropout", "d", NULL, "p=0.5"));
    CHECK_OK(cn_model_add(m, "dense", "fc", NULL, "units=3"));
    CHECK_OK(cn_model_add(m, "softmax_cross_entropy", "loss", NULL, ""));
    CHECK_OK(cn_model_plan(m, 1, CN_PLAN_INFER));
    CHECK_OK(cn_model_init(m, 7));
    cn_rng r;
    cn_rng_init(&r, 3, CN_STREAM_USER);
    for (int i = 0; i < cn_model_param_count(m); i++) {
        cn_param p;
        cn_model_param(m, i, &p);
        for (int64_t k = 0; k < cn_shape_numel(&p.shape); k++)
            if (strstr(p.name, "running_var"))
                p.value[k] = 0.5f + cn_rng_uniform(&r);
            else if (strstr(p.name, "running_mean") || strstr(p.name, "bias"))
                p.value[k] = cn_rng_uniform(&r) - 0.5f;
    }
    CHECK_OK(cn_model_save_weights(m, path, NULL, NULL, 0));
    cn_model_destroy(m);
}

static void test_grad_mode_is_inference(void)
{
    const char *path = tmp("bn.safetensors");
    make_bn_model(path);
    cn_model *inf = NULL, *grad = NULL, *train = NULL;
    CHECK_OK(cn_viz_load_model(&inf, path, NULL, 1, CN_VIZ_LOAD_INFER));
    CHECK_OK(cn_viz_load_model(&grad, path, NULL, 1, CN_VIZ_LOAD_GRAD));
    if (!inf || !grad) goto done;
    CHECK_EQ_INT(cn_model_layer_count(grad), cn_model_layer_count(inf) - 1);
    float x[72];
    cn_rng r;
    cn_rng_init(&r, 11, CN_STREAM_USER);
    for (int i = 0; i < 72; i++) x[i] = cn_rng_uniform(&r) * 2 - 1;
    float s_inf[3], p[3];
    int k;
    CHECK_OK(cn_viz_predict(inf, x, s_inf, p, 3, &k));
    /* a "training" forward of the gradient model gives the inference values */
    CHECK_OK(cn_model_forward(grad, x, 1));
    cn_shape s;
    const float *y = cn_model_output(grad, &s);
    CHECK_ALLCLOSE(y, s_inf, 3, 0, 0, "gradient-mode forward vs inference");
    /* control: the same weights planned for training without the freeze give other values
     * (batch statistics of one sample, dropout), so the check above can fail */
    char *text = NULL;
    cn_model_to_text(inf, &text);
    CHECK_OK(cn_model_parse(&train, text, "bn"));
    cn_free(text);
    CHECK_OK(cn_model_plan(train, 1, CN_PLAN_TRAIN));
    CHECK_OK(cn_model_load_weights(train, path, CN_WEIGHTS_STRICT));
    float tgt = 0;
    cn_model_set_target(train, &tgt);
    CHECK_OK(cn_model_forward(train, x, 1));
    const float *yt = cn_model_output(train, NULL);
    CHECK(fabsf(yt[0] - s_inf[0]) + fabsf(yt[1] - s_inf[1]) + fabsf(yt[2] - s_inf[2]) > 1e-3f);
    /* saliency = central differences of score[cls] in double (tanh: smooth, no kinks; eps
     * 1e-3 gives truncation ~1e-7 and float rounding ~1e-4 / 2e-3 ~ 5e-5 of the scores) */
    for (int cls = 0; cls < 3; cls++) {
        float map[36], g[72], num[72];
        CHECK_OK(cn_viz_saliency(grad, x, cls, map, g));
        for (int i = 0; i < 72; i++) {
            float xp[72], sp[3], sm[3];
            memcpy(xp, x, sizeof xp);
            xp[i] = x[i] + 1e-3f;
            cn_viz_predict(inf, xp, sp, p, 3, &k);
            xp[i] = x[i] - 1e-3f;
            cn_viz_predict(inf, xp, sm, p, 3, &k);
            num[i] = (float)(((double)sp[cls] - sm[cls]) / (((double)x[i] + 1e-3f) - ((double)x[i] - 1e-3f)));
        }
        char label[32];
        snprintf(label, sizeof label, "d score[%d] / dx", cls);
        CHECK_ALLCLOSE(g, num, 72, 2e-3, 1e-2, label);
        for (int q = 0; q < 36; q++) CHECK(map[q] == fmaxf(fabsf(g[q]), fabsf(g[36 + q])));
    }
done:
    cn_model_destroy(inf), cn_model_destroy(grad), cn_model_destroy(train);
}

static void test_pictures(void)
{
    cn_model *m = NULL;
    CHECK_OK(cn_viz_load_model(&m, RUN_DIR "/model.cfg", WEIGHTS, 1, CN_VIZ_LOAD_INFER));
    cn_npy x = cn_fixture_load("viz/x8");
    if (!m || !x.numel) goto done;
    cn_image im = {0};
    /* c1: 8 filters 1x5x5 -> a 3x3 grid of 5x5 tiles at zoom 10, gaps 2 */
    CHECK_OK(cn_viz_filters(&im, m, "c1", 0, 0));
    CHECK(im.w == 3 * 50 + 4 * 2 && im.h == 3 * 50 + 4 * 2 && im.c == 3);
    cn_param w;
    for (int i = 0; i < cn_model_param_count(m); i++)
        if (cn_model_param(m, i, &w) == CN_OK && !strcmp(w.name, "c1.weight")) break;
    /* filter 0's largest |w| is a saturated end of the diverging map */
    int best = 0;
    for (int t = 1; t < 25; t++)
        if (fabsf(w.value[t]) > fabsf(w.value[best])) best = t;
    unsigned char want[3];
    cn_colormap_rgb(CN_CMAP_DIVERGING, w.value[best] > 0 ? 1 : 0, want);
    if (im.px) CHECK(!memcmp(im.px + ((2 + (best / 5) * 10) * im.w + 2 + (best % 5) * 10) * 3, want, 3));
    /* c2: 16 filters x 8 input channels: 16 rows of 8 tiles */
    CHECK_OK(cn_viz_filters(&im, m, "c2", 0, 0));
    CHECK(im.w == 8 * 50 + 9 * 2 && im.h == 16 * 50 + 17 * 2);
    CHECK_OK(cn_viz_filters(&im, m, "c2", 0, 3));
    CHECK(im.w == 3 * 50 + 4 * 2);
    CHECK_OK(cn_viz_filters(&im, m, "c2", 5, 0));
    CHECK(im.h == 5 * 50 + 6 * 2);
    /* c1's activations: 8 maps of 28x28 at zoom 2; map 0's largest value is viridis' top */
    CHECK_OK(cn_viz_activations(&im, m, x.f32, "c1", CN_CMAP_VIRIDIS));
    CHECK(im.w == 3 * 56 + 4 * 2 && im.h == im.w);
    const float *a;
    cn_shape s;
    CHECK_OK(cn_model_layer_output(m, "c1", &a, &s));
    best = 0;
    for (int t = 1; t < 784; t++)
        if (a[t] > a[best]) best = t;
    cn_colormap_rgb(CN_CMAP_VIRIDIS, 1, want);
    if (im.px) CHECK(!memcmp(im.px + ((2 + (best / 28) * 2) * im.w + 2 + (best % 28) * 2) * 3, want, 3));
    /* a vector (fc: 10 scores) as a strip */
    CHECK_OK(cn_viz_activations(&im, m, x.f32, "fc", CN_CMAP_GRAY));
    CHECK(im.w == 10 * 24 + 4 && im.h == 24 + 4);
    /* errors name the layer and what is wrong */
    CHECK_ERR(cn_viz_filters(&im, m, "c9", 0, 0), CN_STATUS_NOT_FOUND, "no layer named 'c9' — did you mean 'c1'?");
    CHECK_ERR(cn_viz_filters(&im, m, "p1", 0, 0), CN_STATUS_INVALID_ARG, "layer 'p1' (max_pool) has no 'p1.weight'");
    CHECK_ERR(cn_viz_filters(&im, m, "fc", 0, 0), CN_STATUS_INVALID_ARG,
              "weight 10x400 is not a 1D or 2D convolution kernel");
    CHECK_ERR(cn_viz_activations(&im, m, x.f32, "conv1", CN_CMAP_GRAY), CN_STATUS_NOT_FOUND, "(layers: image, c1, r1");
    int idx;
    CHECK_OK(cn_viz_find_layer(m, "p2", &idx));
    CHECK_EQ_INT(idx, 6);
    cn_image_free(&im);
done:
    cn_model_destroy(m);
    cn_npy_free(&x);
}

static void test_inputs_and_overlay(void)
{
    cn_image rgb = {0}, out = {0};
    CHECK_OK(cn_image_alloc(&rgb, 40, 30, 3, 0));
    for (int i = 0; i < 40 * 30; i++) rgb.px[i * 3] = 255, rgb.px[i * 3 + 1] = 255, rgb.px[i * 3 + 2] = 255;
    cn_shape s = {3, {1, 28, 28}};
    float x[784];
    CHECK_OK(cn_viz_image_to_input(x, &s, &rgb)); /* gray, resized: a white image stays white */
    for (int i = 0; i < 784; i++) CHECK_MSG(x[i] == 1.0f, "x[%d] = %g", i, x[i]);
    cn_shape bad = {3, {2, 28, 28}};
    CHECK_ERR(cn_viz_image_to_input(x, &bad, &rgb), CN_STATUS_SHAPE, "C = 1 or 3");
    /* overlay: zero map leaves the picture; the map's maximum gets alpha of the colour */
    float map[40 * 30] = {0};
    CHECK_OK(cn_viz_overlay(&out, &rgb, map, CN_CMAP_HEAT, 0.5));
    CHECK(out.px && !memcmp(out.px, rgb.px, 40 * 30 * 3));
    map[5] = 2, map[6] = 1;
    CHECK_OK(cn_viz_overlay(&out, &rgb, map, CN_CMAP_HEAT, 0.5));
    unsigned char top[3], half[3];
    cn_colormap_rgb(CN_CMAP_HEAT, 1, top);
    cn_colormap_rgb(CN_CMAP_HEAT, 0.5, half);
    if (out.px) {
        for (int c = 0; c < 3; c++) {
            CHECK(out.px[5 * 3 + c] == (unsigned char)lrint(0.5 * 255 + 0.5 * top[c]));
            CHECK(out.px[6 * 3 + c] == (unsigned char)lrint(0.75 * 255 + 0.25 * half[c]));
        }
    }
    cn_image_free(&rgb), cn_image_free(&out);
}

static void test_load_errors(void)
{
    cn_model *m = NULL;
    CHECK_ERR(cn_viz_load_model(&m, RUN_DIR "/model.cfg", NULL, 1, 0), CN_STATUS_INVALID_ARG, "holds no weights");
    CHECK(m == NULL);
    CHECK_ERR(cn_viz_load_model(&m, RUN_DIR "/nope.safetensors", NULL, 1, 0), CN_STATUS_IO, "nope.safetensors");
    CHECK_ERR(cn_viz_load_model(&m, RUN_DIR "/nope.cfg", WEIGHTS, 1, 0), CN_STATUS_IO, "nope.cfg");
    /* a model whose shapes differ from the weights' */
    FILE *f = fopen(tmp("other.cfg"), "w");
    if (f) {
        fputs("[input]\nname = image\nshape = 1x28x28\n[conv]\nname = c1\nfilters = 4\nkernel = 5\n", f);
        fclose(f);
    }
    CHECK_ERR(cn_viz_load_model(&m, tmp("other.cfg"), WEIGHTS, 1, 0), CN_STATUS_SHAPE, "c1.weight");
    /* a text file that is no model */
    f = fopen(tmp("junk.cfg"), "w");
    if (f) {
        fputs("hello\n", f);
        fclose(f);
    }
    cn_status st = cn_viz_load_model(&m, tmp("junk.cfg"), WEIGHTS, 1, 0);
    CHECK(st != CN_OK && strstr(cn_last_error(), "junk.cfg"));
    /* safetensors without a model text */
    float v = 1;
    cn_st_tensor t = {"a", CN_ST_DTYPE_F32, 1, {1}, 1, &v, 4};
    CHECK_OK(cn_safetensors_save(tmp("bare.safetensors"), &t, 1, NULL, NULL, 0));
    CHECK_ERR(cn_viz_load_model(&m, tmp("bare.safetensors"), NULL, 1, 0), CN_STATUS_NOT_FOUND, "without a model text");
    CHECK(m == NULL);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/cn_test_viz_model_%d", (int)getpid());
    char cmd[400];
    snprintf(cmd, sizeof cmd, "mkdir -p %s", tmpdir);
    if (system(cmd) != 0) return 1;
    RUN(test_predict_matches_torch);
    RUN(test_saliency_matches_autograd);
    RUN(test_occlusion_matches_torch);
    RUN(test_grad_mode_is_inference);
    RUN(test_pictures);
    RUN(test_inputs_and_overlay);
    RUN(test_load_errors);
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0) return 1;
    return cn_test_finish();
}
