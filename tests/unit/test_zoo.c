/* test_zoo.c — every model file under models/: it loads, plans, has the expected number of
 * learnable parameters (the published figure where there is one, else the arithmetic written
 * in the file's header, which tests/fixtures/zoo/torch_counts.py reproduces in torch.nn: see
 * torch_counts.txt), has no dead ends (every layer but the loss feeds another), and produces the
 * expected shapes. Every model also runs a training forward and backward at some input size
 * (every parameter tensor must receive a gradient), most of them a gradient step on one batch
 * that must lower the loss, and an inference with memory reuse (CN_PLAN_REUSE) that must give
 * the same prediction. A model file without a line here fails the test.
 *
 * Memory and time: the large networks are planned for inference at batch 1 (no gradients, no
 * caches), one model at a time: VGG-19 holds 575 MB of parameters and ~126 MB of activations;
 * U-Net and the hourglass, ~360 MB of activations each at 256x256, are planned at 64x64 and
 * 128x128 (their parameter counts do not depend on the input size). Training runs use small
 * inputs (8x8 to 16x16 for the fully convolutional networks), since the reference kernels run
 * at a fraction of a GFLOP/s, slower still under the sanitizers; the large classics (AlexNet,
 * VGG, the ResNets, U-Net, the hourglass) train at 16x16 to 67x67, where the fast kernels take
 * them in well under a second each (their last stages still cost about their parameter count
 * in MACs per image). */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "test.h"

#ifndef CN_FIXTURE_DIR
#error "CN_FIXTURE_DIR must be defined by the build"
#endif
#define MODELS_DIR CN_FIXTURE_DIR "/../../models"

/* One model per line: file | parameters | prediction shape (the loss layer's input, batch
 * excluded) | options. Options: "in=CxHxW" plans at another input size; "run" runs a training
 * forward and backward at batch 2, "step" then a gradient step; "layer=shape" checks a named
 * layer's output (batch excluded).
 * Parameter counts: published ones are cited in the file headers (UDL 2,050 and the corrected
 * 59,065; the MNIST-1D paper's 5,210 / 15,210 / 410; LeNet-5 61,706; single-tower AlexNet
 * 62,378,344; VGG-11/16/19 132,863,336 / 138,357,544 / 143,667,240; ResNet-18/34/50 11,689,512 /
 * 21,797,672 / 25,557,032; MobileNet v1 4,231,976). The others are computed in the headers by
 * hand and reproduced by torch.nn (torch_counts.txt). */
static const char *const cases[] = {
    "mnist1d-conv.cfg      |      2050 | 10          | run step conv1=15x19 conv2=15x9 conv3=15x4",
    "mnist1d-fc.cfg        |     59065 | 10          | run step fc1=285 fc2=135 fc3=60",
    "mnist1d-cnn.cfg       |      5210 | 10          | run step conv1=25x19 conv2=25x10 conv3=25x5 flat=125",
    "mnist1d-mlp.cfg       |     15210 | 10          | run step h=100",
    "mnist1d-logistic.cfg  |       410 | 10          | run step",
    "mnist1d-best.cfg      |     48170 | 10          | run step c2_relu=32x40 p1=32x20 p2=64x10 c5_relu=128x10 gap=128x1",
    "lenet5.cfg            |     61706 | 10          | run step c1=6x28x28 s2=6x14x14 c3=16x10x10 s4=16x5x5 c5=120x1x1",
    "alexnet.cfg           |  62378344 | 1000        | conv1=96x55x55 pool1=96x27x27 conv2=256x27x27 pool2=256x13x13 pool5=256x6x6 flat=9216",
    "vgg11.cfg             | 132863336 | 1000        | pool5=512x7x7",
    "vgg16.cfg             | 138357544 | 1000        | conv1_1=64x224x224 pool1=64x112x112 pool4=512x14x14 pool5=512x7x7 flat=25088",
    "vgg19.cfg             | 143667240 | 1000        | pool5=512x7x7",
    "resnet18.cfg          |  11689512 | 1000        | pool1=64x56x56 s2b1_out=128x28x28 s4b2_out=512x7x7",
    "resnet34.cfg          |  21797672 | 1000        | s4b3_out=512x7x7",
    "resnet50.cfg          |  25557032 | 1000        | s1b1_out=256x56x56 s4b3_out=2048x7x7",
    "preact-resnet18.cfg   |  11687720 | 1000        | final_relu=512x7x7",
    "preact-resnet34.cfg   |  21795880 | 1000        | final_relu=512x7x7",
    "preact-resnet50.cfg   |  25549352 | 1000        | final_relu=2048x7x7",
    /* at 64x64 (global pooling makes any size work) the last stage is 2x2 */
    "resnet50.cfg          |  25557032 | 1000        | in=3x64x64 s1b1_out=256x16x16 s4b3_out=2048x2x2",
    "preact-resnet18.cfg   |  11687720 | 1000        | in=3x64x64 final_relu=512x2x2",
    "resnet-small.cfg      |    174970 | 10          | s1b2_out=16x28x28 s2b2_out=32x14x14 s3b2_out=64x7x7",
    "resnet-small.cfg      |    174970 | 10          | in=1x8x8 run step s3b2_out=64x2x2",
    "conv2-bn.cfg          |    421738 | 10          | run step pool1=32x14x14 pool2=64x7x7 flat=3136",
    "unet.cfg              |  31030658 | 2x64x64     | in=1x64x64 bottom_relu2=1024x4x4 cat1=128x64x64",
    "unet-small.cfg        |    482500 | 4x64x64     | bottom_relu2=128x8x8 cat1=32x64x64",
    "unet-small.cfg        |    482500 | 4x16x16     | in=1x16x16 run step bottom_relu2=128x2x2",
    "unet-tiny.cfg         |    121060 | 4x64x64     | bottom_relu2=64x8x8 cat1=16x64x64",
    "unet-tiny.cfg         |    121060 | 4x16x16     | in=1x16x16 run step bottom_relu2=64x2x2",
    "fcn.cfg               |     94186 | 10          | classes=10x7x7",
    "fcn.cfg               |     94186 | 10          | in=1x12x12 run step classes=10x3x3",
    "fcn.cfg               |     94186 | 10          | in=1x12x20 run classes=10x3x5",
    "deconvnet.cfg         |    730340 | 4x64x64     | pool3=128x8x8 unpool3=128x16x16 unpool1=32x64x64",
    "hourglass.cfg         |   6570400 | 32x32x32    | in=3x128x128 stem_pool=128x32x32 hg1_pool=256x16x16 hg1_in_in_in_low2=256x2x2",
    "hourglass-small.cfg   |    116672 | 32x32x32    | stem_pool=32x32x32 hg2_in_in_in_low2=32x2x2",
    "yolo.cfg              |   2577709 | 637         | pool3=128x8x8 flat=4096",
    /* at 16x16 the flattened features are 64x2x2: fc1 has 256 x 512 + 512 weights, 1,966,080 fewer */
    "yolo.cfg              |    611629 | 637         | in=1x16x16 run step flat=256",
    "yolo-conv.cfg         |    228925 | 13x8x8      | pool3=128x8x8 conv9_leaky=128x8x8",
    "yolo-conv.cfg         |    228925 | 13x2x2      | in=1x16x16 run step pool3=128x2x2",
    "autoencoder.cfg       |    210369 | 1x28x28     | run step code=64x1x1 dec1=32x7x7 dec2=16x14x14",
    "mobilenet.cfg         |   4231976 | 1000        | conv1_relu=32x112x112 pw13_relu=1024x7x7",
    /* where batch norm sees 2 values per channel (1x1 maps at batch 2) the loss is too sharp for
     * a step test (gradient norms ~1e7 in ResNet-18 at 16x16): these run without "step" */
    "deconvnet.cfg         |    730340 | 4x8x8       | in=1x8x8 run pool3=128x1x1 unpool1=32x8x8",
    "hourglass-small.cfg   |    116672 | 32x16x16    | in=3x64x64 run hg1_in_in_in_low2=32x1x1",
    "mobilenet.cfg         |   4231976 | 1000        | in=3x8x8 run pw13_relu=1024x1x1",
    /* the large classics train a step too, at small inputs: AlexNet at 67x67 and VGG at 32x32
     * (their first dense layer then sees 256 / 512 features: 9,216 - 256 and 25,088 - 512
     * inputs fewer, times 4,096 weights), the ResNets at 32x32, U-Net at 16x16 and the
     * hourglass at 64x64 (global pooling or full convolution: the published counts) */
    "alexnet.cfg           |  25678184 | 1000        | in=3x67x67 run step pool5=256x1x1 flat=256",
    "vgg11.cfg             |  32200040 | 1000        | in=3x32x32 run step pool5=512x1x1",
    "vgg16.cfg             |  37694248 | 1000        | in=3x32x32 run step pool5=512x1x1",
    "vgg19.cfg             |  43003944 | 1000        | in=3x32x32 run step pool5=512x1x1",
    "resnet18.cfg          |  11689512 | 1000        | in=3x32x32 run s4b2_out=512x1x1",
    "resnet34.cfg          |  21797672 | 1000        | in=3x32x32 run s4b3_out=512x1x1",
    "resnet50.cfg          |  25557032 | 1000        | in=3x32x32 run s4b3_out=2048x1x1",
    "preact-resnet18.cfg   |  11687720 | 1000        | in=3x32x32 run final_relu=512x1x1",
    "preact-resnet34.cfg   |  21795880 | 1000        | in=3x32x32 run final_relu=512x1x1",
    "preact-resnet50.cfg   |  25549352 | 1000        | in=3x32x32 run final_relu=2048x1x1",
    "unet.cfg              |  31030658 | 2x16x16     | in=1x16x16 run bottom_relu2=1024x1x1",
    "hourglass.cfg         |   6570400 | 32x16x16    | in=3x64x64 run stem_pool=128x16x16",
};

/* "96x55x55" of a shape without its batch */
static void dims_text(const cn_shape *s, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    for (int i = 1; i < s->ndim && n < cap; i++) n += (size_t)snprintf(out + n, cap - n, i > 1 ? "x%lld" : "%lld", (long long)s->dim[i]);
}

static int find_layer(cn_model *m, const char *name, cn_layer_info *li)
{
    for (int i = 0; i < cn_model_layer_count(m); i++)
        if (cn_model_layer(m, i, li) == CN_OK && !strcmp(li->name, name)) return 1;
    return 0;
}

static int is_loss(const char *type)
{
    return !strcmp(type, "softmax_cross_entropy") || !strcmp(type, "mse") || !strcmp(type, "yolo_loss");
}

/* The layers no other layer reads (sinks): *last gets the last of them; returns their count.
 * A model has exactly one, its loss: any other is a dead end, a branch wired to nothing (e.g. a
 * residual add given the wrong input leaves the intended branch unread). */
static int sinks(cn_model *m, cn_layer_info *last, char *names, size_t cap)
{
    int n = cn_model_layer_count(m), count = 0;
    size_t len = 0;
    names[0] = '\0';
    for (int i = 0; i < n; i++) {
        cn_layer_info li;
        cn_model_layer(m, i, &li);
        int used = 0;
        for (int k = 0; k < n && !used; k++) {
            cn_layer_info o;
            cn_model_layer(m, k, &o);
            for (int q = 0; q < o.n_inputs; q++) used |= !strcmp(o.inputs[q], li.name);
        }
        if (used) continue;
        *last = li, count++;
        if (len < cap) len += (size_t)snprintf(names + len, cap - len, " %s", li.name);
    }
    return count;
}

/* the only sink must be a loss; *pred gets the layer feeding it */
static int prediction(cn_model *m, cn_layer_info *last, cn_layer_info *pred)
{
    char names[256];
    return sinks(m, last, names, sizeof names) == 1 && is_loss(last->type) && find_layer(m, last->inputs[0], pred);
}

/* targets for the model's loss, given the prediction's shape (batch first) */
static float *make_targets(const char *loss, const cn_shape *pred, const float *x, cn_rng *rng)
{
    int64_t n = pred->dim[0], numel = cn_shape_numel(pred);
    float *t;
    if (!strcmp(loss, "softmax_cross_entropy")) { /* a class index per sample and position */
        int64_t k = pred->dim[1], cnt = numel / k;
        t = malloc((size_t)cnt * sizeof *t);
        for (int64_t i = 0; i < cnt; i++) t[i] = (float)cn_rng_below(rng, (uint32_t)k);
    } else if (!strcmp(loss, "yolo_loss")) { /* one box per image in 8 rows (yolo.cfg: 3 classes, max_boxes 8) */
        t = malloc((size_t)n * 8 * 5 * sizeof *t);
        for (int64_t i = 0; i < n * 8; i++) {
            float row[5] = {-1, 0, 0, 0, 0};
            if (i % 8 == 0) row[0] = (float)(i / 8 % 3), row[1] = 0.3f + 0.4f * (float)(i / 8), row[2] = 0.4f, row[3] = 0.2f, row[4] = 0.3f;
            memcpy(t + i * 5, row, sizeof row);
        }
    } else if (x && cn_shape_numel(pred) == n * 784) { /* the autoencoder reconstructs its input */
        t = malloc((size_t)numel * sizeof *t);
        memcpy(t, x, (size_t)numel * sizeof *t);
    } else {
        t = malloc((size_t)numel * sizeof *t);
        cn_rng_fill_uniform(rng, t, (size_t)numel, 0, 1);
    }
    return t;
}

static double sq_norm(cn_model *m)
{
    double s = 0;
    for (int i = 0; i < cn_model_param_count(m); i++) {
        cn_param p;
        cn_model_param(m, i, &p);
        if (!p.trainable) continue;
        for (int64_t k = 0; k < cn_shape_numel(&p.shape); k++) s += (double)p.grad[k] * p.grad[k];
    }
    return s;
}

/* Nonzero weights without cn_model_init's normal draws, which cost seconds under the
 * sanitizers for the 25M parameters of ResNet-50: weights (2 or more dims) uniform in
 * +-sqrt(3 / fan_in) from a hash of their index (the He-uniform range), batch-norm scales 1,
 * biases and shifts 0. Enough for the gradient-flow check, which needs no particular scale. */
static void quick_init(cn_model *m)
{
    for (int i = 0; i < cn_model_param_count(m); i++) {
        cn_param p;
        cn_model_param(m, i, &p);
        int64_t n = cn_shape_numel(&p.shape);
        size_t len = strlen(p.name);
        if (p.shape.ndim >= 2) {
            float a = (float)sqrt(3.0 * (double)p.shape.dim[0] / (double)n);
            for (int64_t k = 0; k < n; k++) {
                uint32_t h = (uint32_t)(k + 1) * 2654435761u ^ (uint32_t)i * 40503u;
                h ^= h >> 15, h *= 2246822519u, h ^= h >> 13;
                p.value[k] = a * ((float)(h >> 8) / 8388608.0f - 1.0f);
            }
        } else if (p.trainable && len > 7 && !strcmp(p.name + len - 7, ".weight")) {
            for (int64_t k = 0; k < n; k++) p.value[k] = 1.0f;
        }
    }
}

/* forward + backward at batch 2: every trainable tensor gets a finite gradient, not all zero
 * (so every layer is connected to the loss); then one gradient step on the same batch (with the
 * same dropout masks: the step counter is rewound) must lower the loss. The step is
 * p -= (eta / |g|) g with eta = 1e-3, a move of length 1e-3 over all parameters together: its
 * first-order decrease 1e-3 |g| (>= 1e-4 for these losses) dominates the curvature term, even
 * where batch norm sees two values per channel (1x1 maps at batch 2), and stays far above the
 * float rounding of the loss (~1e-6). */
static void train_steps(cn_model *m, const char *line, int step_too)
{
    cn_rng rng;
    cn_rng_init(&rng, 17, CN_STREAM_USER + 70);
    cn_layer_info in, last, pred;
    cn_model_layer(m, 0, &in);
    if (!prediction(m, &last, &pred)) {
        CHECK_MSG(0, "%s: the last layer is not a loss", line);
        return;
    }
    int64_t nx = cn_shape_numel(&in.out);
    float *x = malloc((size_t)nx * sizeof *x);
    cn_rng_fill_uniform(&rng, x, (size_t)nx, 0, 1);
    float *t = make_targets(last.type, &pred.out, x, &rng);
    if (step_too) CHECK_OK(cn_model_init(m, 5));
    else quick_init(m);
    double loss[2] = {0, 0};
    for (int step = 0; step < 1 + step_too; step++) {
        cn_model_set_step(m, 0);
        CHECK_OK(cn_model_set_target(m, t));
        CHECK_OK(cn_model_forward(m, x, 1));
        loss[step] = cn_model_loss(m);
        CHECK_MSG(isfinite(loss[step]), "%s: step %d loss %g", line, step, loss[step]);
        if (step == 1) break;
        cn_model_zero_grad(m);
        CHECK_OK(cn_model_backward(m, NULL));
        double norm = step_too ? sqrt(sq_norm(m)) : 0;
        for (int i = 0; i < cn_model_param_count(m); i++) {
            cn_param p;
            cn_model_param(m, i, &p);
            if (!p.trainable) continue;
            int64_t n = cn_shape_numel(&p.shape), nonzero = 0, finite = 1;
            for (int64_t k = 0; k < n; k++) nonzero += p.grad[k] != 0, finite &= isfinite(p.grad[k]);
            CHECK_MSG(nonzero > 0 && finite, "%s: %s gets no gradient (%lld nonzero of %lld, finite %d)", line, p.name,
                      (long long)nonzero, (long long)n, (int)finite);
            if (step_too)
                for (int64_t k = 0; k < n; k++) p.value[k] -= (float)(1e-3 / norm) * p.grad[k];
        }
    }
    if (step_too) CHECK_MSG(loss[1] < loss[0], "%s: a gradient step did not lower the loss: %.9g -> %.9g", line, loss[0], loss[1]);
    free(x);
    free(t);
}

/* CN_PLAN_REUSE: the prediction has the same bits as with every output kept, the outputs take
 * less memory (the peak of the live set, not the sum), and a layer whose output was shared
 * is refused by cn_model_layer_output while the prediction is not. */
static void reuse_check(cn_model *m, const char *line)
{
    cn_layer_info in, last, pred;
    cn_model_layer(m, 0, &in);
    if (!prediction(m, &last, &pred)) return;
    int64_t nx = cn_shape_numel(&in.out) / in.out.dim[0] * 2;
    float *x = malloc((size_t)nx * sizeof *x), *y0 = NULL;
    cn_rng rng;
    cn_rng_init(&rng, 23, CN_STREAM_USER + 71);
    cn_rng_fill_uniform(&rng, x, (size_t)nx, 0, 1);
    cn_model_memory mem[2];
    int64_t ny = 0;
    for (int reuse = 0; reuse <= 1; reuse++) {
        CHECK_OK(cn_model_plan(m, 2, CN_PLAN_INFER | (reuse ? CN_PLAN_REUSE : 0)));
        CHECK_OK(cn_model_memory_of(m, &mem[reuse]));
        CHECK_OK(cn_model_forward(m, x, 0));
        const float *y;
        cn_shape ys;
        CHECK_OK(cn_model_layer_output(m, pred.name, &y, &ys));
        if (!reuse) {
            ny = cn_shape_numel(&ys);
            y0 = malloc((size_t)ny * sizeof *y0);
            memcpy(y0, y, (size_t)ny * sizeof *y0);
        } else {
            CHECK_MSG(ny == cn_shape_numel(&ys) && !memcmp(y0, y, (size_t)ny * sizeof *y0), "%s: reuse changes the prediction", line);
        }
    }
    CHECK_MSG(mem[0].activations == mem[0].activations_sum && mem[1].activations_sum == mem[0].activations_sum &&
                  mem[1].activations < mem[1].activations_sum,
              "%s: activations %zu (sum %zu) without reuse, %zu with", line, mem[0].activations, mem[0].activations_sum,
              mem[1].activations);
    /* a hidden layer (not the input, the prediction or the loss; every zoo model has one but
     * logistic regression) is read by a later one: not kept */
    for (int i = 1; i < cn_model_layer_count(m); i++) {
        cn_layer_info li;
        cn_model_layer(m, i, &li);
        if (!strcmp(li.name, pred.name) || !strcmp(li.name, last.name)) continue;
        const float *y;
        CHECK_ERR(cn_model_layer_output(m, li.name, &y, NULL), CN_STATUS_INVALID_STATE, "CN_PLAN_REUSE");
        break;
    }
    free(x);
    free(y0);
}

static void run_case(const char *line)
{
    char buf[512], file[64], path[512];
    snprintf(buf, sizeof buf, "%s", line);
    char *f1 = strtok(buf, "|"), *f2 = strtok(NULL, "|"), *f3 = strtok(NULL, "|"), *f4 = strtok(NULL, "|");
    sscanf(f1, "%63s", file);
    long long want_params = atoll(f2);
    char want_out[64];
    sscanf(f3, "%63s", want_out);
    const char *opts = f4 ? f4 : "";
    int run = strstr(opts, "run") != NULL;
    snprintf(path, sizeof path, "%s/%s", MODELS_DIR, file);

    cn_model *m = NULL;
    if (cn_model_load(&m, path) != CN_OK) {
        CHECK_MSG(0, "%s: load: %s", line, cn_last_error());
        return;
    }
    cn_layer_info in;
    cn_model_layer(m, 0, &in);
    const char *ov = strstr(opts, "in=");
    if (ov) {
        char shape[32];
        sscanf(ov + 3, "%31s", shape);
        CHECK_OK(cn_model_set_option(m, in.name, "shape", shape));
    }
    if (cn_model_plan(m, run ? 2 : 1, run ? CN_PLAN_TRAIN : CN_PLAN_INFER) != CN_OK) {
        CHECK_MSG(0, "%s: plan: %s", line, cn_last_error());
        cn_model_destroy(m);
        return;
    }
    /* parameters: the per-layer counts and the parameter tensors agree with the expected total */
    long long by_layer = 0, by_tensor = 0;
    for (int i = 0; i < cn_model_layer_count(m); i++) {
        cn_layer_info li;
        cn_model_layer(m, i, &li);
        by_layer += li.params;
    }
    for (int i = 0; i < cn_model_param_count(m); i++) {
        cn_param p;
        cn_model_param(m, i, &p);
        if (p.trainable) by_tensor += cn_shape_numel(&p.shape);
    }
    CHECK_MSG(by_layer == want_params && by_tensor == want_params, "%s: %lld parameters by layer, %lld by tensor, want %lld",
              line, by_layer, by_tensor, want_params);
    /* one sink (the loss), then shapes */
    cn_layer_info last, pred;
    char got[64], dead[256];
    int n_sinks = sinks(m, &last, dead, sizeof dead);
    CHECK_MSG(n_sinks == 1, "%s: %d layers feed nothing:%s", line, n_sinks, dead);
    if (prediction(m, &last, &pred)) {
        dims_text(&pred.out, got, sizeof got);
        CHECK_MSG(!strcmp(got, want_out) && pred.out.dim[0] == (run ? 2 : 1), "%s: prediction '%s' is %s, want %s", line, pred.name,
                  got, want_out);
    } else {
        CHECK_MSG(0, "%s: the last layer (%s) is not a loss fed by a known layer", line, last.name);
    }
    char tmp[512];
    snprintf(tmp, sizeof tmp, "%s", opts);
    char *save;
    for (char *tok = strtok_r(tmp, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq || !strncmp(tok, "in=", 3)) continue;
        *eq = '\0';
        cn_layer_info li;
        if (!find_layer(m, tok, &li)) {
            CHECK_MSG(0, "%s: no layer '%s'", line, tok);
            continue;
        }
        dims_text(&li.out, got, sizeof got);
        CHECK_MSG(!strcmp(got, eq + 1), "%s: layer %s is %s, want %s", line, tok, got, eq + 1);
    }
    if (run) train_steps(m, line, strstr(opts, "step") != NULL);
    if (run) reuse_check(m, line);
    cn_model_destroy(m);
}

static void test_zoo(void)
{
    int verbose = getenv("CONVNET_TEST_VERBOSE") != NULL;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        run_case(cases[i]);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if (verbose) printf("%6.2f s  %s\n", (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec), cases[i]);
    }
}

/* every .cfg file in models/ has a line above */
static void test_every_file_listed(void)
{
    DIR *d = opendir(MODELS_DIR);
    CHECK_MSG(d != NULL, "cannot open %s", MODELS_DIR);
    if (!d) return;
    int files = 0;
    for (struct dirent *e; (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".cfg")) continue;
        files++;
        int listed = 0;
        for (size_t i = 0; i < sizeof cases / sizeof cases[0] && !listed; i++)
            listed = !strncmp(cases[i], e->d_name, len) && cases[i][len] == ' ';
        CHECK_MSG(listed, "models/%s has no line in test_zoo.c", e->d_name);
    }
    closedir(d);
    CHECK(files >= 26);
}

int main(void)
{
    RUN(test_every_file_listed);
    RUN(test_zoo);
    return cn_test_finish();
}
