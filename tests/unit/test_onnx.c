/* test_onnx.c — ONNX import and export through the C API:
 *   - a small CNN exported by PyTorch (torch.onnx, committed fixture) imports and reproduces
 *     PyTorch's output;
 *   - fine-tuning: the imported weights are ordinary trainable parameters — planned for
 *     training, a few gradient steps change them and lower the loss, and the running
 *     statistics (not trainable) get no gradient;
 *   - export → import round trips over every exportable layer type reproduce the model's outputs;
 *   - malformed files (wrong dims, raw data length, missing tensors, attribute types, strings,
 *     external data, unknown operators, no graph, symbolic sizes, truncation at every length,
 *     random byte corruption) fail with messages naming the file and the problem, never a crash;
 *   - cn_model_load_any dispatches ONNX, Darknet and convnet text. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "convnet/convnet.h"
#include "fixture.h"
#include "test.h"

/* tests/fixtures/onnx/<name> */
static const char *fx(const char *name)
{
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/onnx/%s", CN_FIXTURE_DIR, name);
    return buf[k];
}

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)n + 1);
    *len = fread(b, 1, (size_t)n, f);
    fclose(f);
    return b;
}

static void test_torch_small_cnn(void)
{
    if (!cn_onnx_available()) {
        printf("skip: built without ONNX\n");
        return;
    }
    cn_model *m = NULL;
    cn_onnx_info io;
    CHECK_OK(cn_onnx_import(&m, fx("small_cnn.onnx"), NULL, &io));
    if (!m) return;
    cn_npy x = cn_fixture_load("onnx/small_cnn_x"), y = cn_fixture_load("onnx/small_cnn_y");
    CHECK(io.n_inputs == 1 && io.n_outputs == 1 && io.inputs[0].dims[0] == 2);
    /* the file's batch is 2: the model is planned for it */
    CHECK_OK(cn_model_forward(m, x.f32, 0));
    const float *out;
    cn_shape s;
    CHECK_OK(cn_model_layer_output(m, io.outputs[0].layer, &out, &s));
    CHECK(cn_shape_numel(&s) == (int64_t)y.numel);
    /* float32 through ~6 layers with sums of <= 72 products: 1e-5 absolute on outputs of O(1) */
    CHECK_ALLCLOSE(out, y.f32, y.numel, 1e-5, 1e-5, "small_cnn vs PyTorch");
    /* the imported network plans again for another batch size */
    CHECK_OK(cn_model_plan(m, 5, CN_PLAN_INFER));
    cn_onnx_info_free(&io);
    cn_model_destroy(m);
    cn_npy_free(&x);
    cn_npy_free(&y);
}

static double half_sq(const float *y, const float *t, int64_t n)
{
    double l = 0;
    for (int64_t i = 0; i < n; i++) l += 0.5 * ((double)y[i] - t[i]) * ((double)y[i] - t[i]);
    return l;
}

/* transfer learning: the imported weights train */
static void test_fine_tune(void)
{
    if (!cn_onnx_available()) return;
    cn_model *m = NULL;
    cn_onnx_import_opts opts = {.plan_flags = CN_PLAN_TRAIN};
    CHECK_OK(cn_onnx_import(&m, fx("small_cnn.onnx"), &opts, NULL));
    if (!m) return;
    cn_npy x = cn_fixture_load("onnx/small_cnn_x");
    const float target[10] = {1, 0, 0, 0, 0, 0, 0, 0, 1, 0};
    /* snapshot every parameter */
    int np = cn_model_param_count(m);
    float **before = calloc((size_t)np, sizeof *before);
    int trainable = 0;
    for (int i = 0; i < np; i++) {
        cn_param p;
        cn_model_param(m, i, &p);
        int64_t n = cn_shape_numel(&p.shape);
        before[i] = malloc((size_t)n * sizeof(float));
        memcpy(before[i], p.value, (size_t)n * sizeof(float));
        trainable += p.trainable;
        CHECK(p.grad != NULL);
    }
    CHECK(trainable >= 8); /* conv and dense weights, biases, batch-norm scales and shifts */
    double first = 0, last = 0;
    for (int step = 0; step < 20; step++) {
        CHECK_OK(cn_model_forward(m, x.f32, 1));
        cn_shape s;
        const float *y = cn_model_output(m, &s);
        float dy[10];
        for (int i = 0; i < 10; i++) dy[i] = y[i] - target[i]; /* d(0.5 |y - t|^2)/dy */
        double l = half_sq(y, target, 10);
        if (step == 0) first = l;
        last = l;
        cn_model_zero_grad(m);
        CHECK_OK(cn_model_backward(m, dy));
        for (int i = 0; i < np; i++) { /* plain SGD on the trainable parameters */
            cn_param p;
            cn_model_param(m, i, &p);
            if (!p.trainable) continue;
            for (int64_t k = 0; k < cn_shape_numel(&p.shape); k++) p.value[k] -= 0.05f * p.grad[k];
        }
    }
    printf("fine-tuning the imported CNN: loss %.4f -> %.4f in 20 steps\n", first, last);
    CHECK(last < 0.5 * first);
    for (int i = 0; i < np; i++) {
        cn_param p;
        cn_model_param(m, i, &p);
        int64_t n = cn_shape_numel(&p.shape), changed = 0;
        for (int64_t k = 0; k < n; k++) changed += p.value[k] != before[i][k];
        /* trainable tensors moved; running statistics moved only through batch-norm's momentum, not by SGD */
        if (p.trainable && !changed) cn_test_fail(__FILE__, __LINE__, "%s did not change", p.name);
        cn_test_checks++;
        free(before[i]);
    }
    free(before);
    cn_npy_free(&x);
    cn_model_destroy(m);
}

/* ---- export → import ---- */

/* Each model: text, batch. The round trip must reproduce the outputs to 1e-5 relative: the same
 * kernels run in both, so differences come only from weights written as float32 (exact) and
 * operations re-expressed (a dense after a Flatten, GELU through Erf in float). */
static const char *const export_models[] = {
    "[input]\nshape=3x9x8\n[conv]\nfilters=4\nkernel=3\npadding=same\n[batch_norm]\n[act]\nkind=leaky_relu\nslope=0.2\n"
    "[max_pool]\nkernel=2\n[conv]\nfilters=6\nkernel=3x2\nstride=2\ndilation=1\ngroups=2\npadding=1,0,1,1\n[act]\nkind=elu\nalpha=0.7\n"
    "[global_avg_pool]\n[flatten]\n[dense]\nunits=5\n[softmax]\n",
    "[input]\nshape=2x7x7\n[conv]\nname=c\nfilters=4\nkernel=3\npadding=1\npad_mode=reflect\nflip=true\n[act]\nname=a\nkind=gelu\n"
    "[conv]\nname=b\ninput=input1\nfilters=4\nkernel=1\n[add]\ninput=a,b\n[prelu]\n[avg_pool]\nkernel=3\nstride=2\npadding=1\n"
    "count_include_pad=true\nceil_mode=true\n[instance_norm]\n[act]\nkind=hard_swish\n[dense]\nunits=3\n",
    "[input]\nshape=4x6x6\n[conv_transpose]\nfilters=3\nkernel=3\nstride=2\npadding=1\noutput_padding=1\n[lrn]\nsize=3\n"
    "[act]\nkind=softplus\nbeta=2\n[pad]\npadding=1,2,0,1\nmode=reflect\n[lp_pool]\nkernel=2\np=3\n[act]\nkind=clip\nlo=-0.5\nhi=0.5\n"
    "[group_norm]\ngroups=3\n[log_softmax]\naxis=1\n",
    "[input]\nshape=8x4x4\n[max_pool]\nname=p\nkernel=2\nkeep_indices=true\n[max_unpool]\ninput=p,p\n[pixel_shuffle]\nblock=2\norder=dcr\n"
    "[upsample]\nscale=2\n[space_to_depth]\nblock=4\n[upsample]\nmode=linear\nscale=2\nalign_corners=true\n[act]\nkind=sigmoid\n",
    "[input]\nshape=3x5x5\n[separable_conv]\nfilters=4\nkernel=3\npadding=1\nmultiplier=2\n[act]\nkind=tanh\n[dropout]\np=0.3\n"
    "[concat]\ninput=act1,input1\n[binary]\nop=mul\nconst_shape=7x1x1\n[binary]\nop=sub\nconst_shape=5\nreverse=true\n"
    "[reshape]\nshape=0,7,25\n[transpose]\nperm=0,2,1\n[matmul]\nweight_shape=7x3\n[gather]\naxis=1\nindices_shape=2\n"
    "[resize]\nmode=linear\nscale=2\ncoord=half_pixel\n",
    /* Darknet's layers: a crop, a strided shortcut into more channels, one from more channels; unary math */
    "[input]\nshape=2x10x10\n[crop]\nheight=8\nwidth=8\n[conv]\nname=a\nfilters=4\nkernel=3\nstride=2\npadding=1\n"
    "[shortcut]\ninput=a,crop1\n[conv]\nname=b\nfilters=2\nkernel=1\n[shortcut]\ninput=b,a\n[unary]\nop=softsign\n",
};

static void test_export_roundtrip(void)
{
    if (!cn_onnx_available()) return;
    char path[64];
    snprintf(path, sizeof path, "/tmp/cn_export_%d.onnx", (int)getpid());
    for (size_t k = 0; k < sizeof export_models / sizeof export_models[0]; k++) {
        cn_model *a = NULL, *b = NULL;
        char label[32];
        snprintf(label, sizeof label, "export model %zu", k);
        if (cn_model_parse(&a, export_models[k], label) != CN_OK || cn_model_plan(a, 2, CN_PLAN_INFER) != CN_OK ||
            cn_model_init(a, 11 + k) != CN_OK) {
            cn_test_fail(__FILE__, __LINE__, "%s: %s", label, cn_last_error());
            cn_model_destroy(a);
            continue;
        }
        /* give every parameter non-trivial values (biases, statistics, constants, gather indices) */
        cn_rng r;
        cn_rng_init(&r, 5 + k, CN_STREAM_USER);
        for (int i = 0; i < cn_model_param_count(a); i++) {
            cn_param p;
            cn_model_param(a, i, &p);
            int64_t n = cn_shape_numel(&p.shape);
            if (strstr(p.name, "indices")) {
                for (int64_t q = 0; q < n; q++) p.value[q] = (float)(q * 2 % 3);
            } else if (strstr(p.name, "running_var"))
                cn_rng_fill_uniform(&r, p.value, (size_t)n, 0.5f, 1.5f);
            else if (!strstr(p.name, "weight") || strstr(p.name, "norm"))
                cn_rng_fill_uniform(&r, p.value, (size_t)n, -0.5f, 0.5f);
        }
        cn_layer_info li;
        cn_model_layer(a, 0, &li);
        int64_t nx = cn_shape_numel(&li.out);
        float *x = malloc((size_t)nx * sizeof(float));
        cn_rng_fill_uniform(&r, x, (size_t)nx, -1, 1);
        cn_onnx_info io;
        memset(&io, 0, sizeof io);
        if (cn_onnx_export(a, path, NULL) != CN_OK || cn_onnx_import(&b, path, NULL, &io) != CN_OK) {
            cn_test_fail(__FILE__, __LINE__, "%s: %s", label, cn_last_error());
        } else {
            CHECK_OK(cn_model_forward(a, x, 0));
            CHECK_OK(cn_model_forward(b, x, 0));
            cn_shape sa, sb;
            const float *ya = cn_model_output(a, &sa), *yb;
            CHECK_OK(cn_model_layer_output(b, io.outputs[0].layer, &yb, &sb));
            CHECK(cn_shape_equal(&sa, &sb));
            if (cn_shape_equal(&sa, &sb)) CHECK_ALLCLOSE(yb, ya, cn_shape_numel(&sa), 1e-6, 1e-5, label);
        }
        cn_onnx_info_free(&io);
        free(x);
        cn_model_destroy(a);
        cn_model_destroy(b);
    }
    remove(path);
    /* layers with no ONNX form are refused by name */
    cn_model *m = NULL;
    CHECK_OK(cn_model_parse(&m, "[input]\nshape=1x6x6\n[locally_connected]\nname=lc\nfilters=2\nkernel=3\n", "t"));
    CHECK_OK(cn_model_plan(m, 1, CN_PLAN_INFER));
    CHECK_ERR(cn_onnx_export(m, path, NULL), CN_STATUS_UNSUPPORTED, "layer 'lc' [locally_connected]");
    CHECK(access(path, F_OK) != 0); /* nothing half-written */
    cn_onnx_export_opts bad = {.opset = 9};
    CHECK_ERR(cn_onnx_export(m, path, &bad), CN_STATUS_INVALID_ARG, "opset 9");
    cn_model_destroy(m);
}

/* ---- malformed files ---- */

static void test_malformed(void)
{
    if (!cn_onnx_available()) return;
    static const struct {
        const char *file;
        cn_status st;
        const char *msg;
    } cases[] = {
        {"bad_dims", CN_STATUS_FORMAT, "initializer 'w': shape needs 1000000000000 values, the tensor holds 4"},
        {"bad_rawlen", CN_STATUS_FORMAT, "raw_data has 10 bytes, not a multiple of the 4 bytes of a FLOAT"},
        {"bad_missing", CN_STATUS_FORMAT, "node 0 'conv1' (Conv, opset 13): input 1 'nowhere' is not a graph input"},
        {"bad_attrtype", CN_STATUS_FORMAT, "attribute 'strides' is FLOATS, expected INTS"},
        {"bad_string", CN_STATUS_UNSUPPORTED, "data type STRING (8) is not read"},
        {"bad_external", CN_STATUS_UNSUPPORTED, "stored in an external file"},
        {"bad_op", CN_STATUS_UNSUPPORTED, "node 0 'hm' (Hardmax, opset 13): operator 'Hardmax' is not supported"},
        {"bad_nograph", CN_STATUS_FORMAT, "the model has no graph"},
        {"bad_symbolic", CN_STATUS_UNSUPPORTED, "dimension 2 is symbolic ('height')"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char name[64];
        snprintf(name, sizeof name, "%s.onnx", cases[i].file);
        cn_model *m = (cn_model *)1;
        cn_onnx_info io;
        CHECK_ERR(cn_onnx_import(&m, fx(name), NULL, &io), cases[i].st, cases[i].msg);
        CHECK(m == NULL && io.inputs == NULL);
        CHECK(strstr(cn_last_error(), cases[i].file) != NULL); /* the message names the file */
    }
    cn_model *m = NULL;
    CHECK_ERR(cn_onnx_import(&m, "/nonexistent/x.onnx", NULL, NULL), CN_STATUS_IO, "/nonexistent/x.onnx");
    CHECK_ERR(cn_onnx_import_buffer(&m, "", 0, "empty.onnx", NULL, NULL), CN_STATUS_FORMAT, "empty.onnx: the file is empty");
    CHECK_ERR(cn_onnx_import_buffer(&m, "\xff\xff\xff\xff garbage", 12, "garbage.onnx", NULL, NULL), CN_STATUS_FORMAT,
              "not an ONNX model");
    /* every truncation and a few thousand random corruptions of a real model: an error or a model, never a crash
     * (ASan and UBSan watch the sanitizer build) */
    size_t len;
    unsigned char *buf = slurp(fx("small_cnn.onnx"), &len);
    CHECK(buf != NULL);
    if (!buf) return;
    int ok = 0, failed = 0;
    for (size_t n = 0; n < len; n += n < 512 ? 1 : 7) {
        cn_status st = cn_onnx_import_buffer(&m, buf, n, "truncated.onnx", NULL, NULL);
        if (st == CN_OK) {
            ok++;
            cn_model_destroy(m);
        } else {
            failed++;
            CHECK(m == NULL && strstr(cn_last_error(), "truncated.onnx"));
        }
    }
    CHECK(failed > 0);
    cn_rng r;
    cn_rng_init(&r, 3, CN_STREAM_USER);
    unsigned char *copy = malloc(len);
    for (int t = 0; t < 1500; t++) {
        memcpy(copy, buf, len);
        int flips = 1 + (int)cn_rng_below(&r, 4);
        for (int f = 0; f < flips; f++) copy[cn_rng_below(&r, (uint32_t)len)] ^= (unsigned char)(1u << cn_rng_below(&r, 8));
        cn_status st = cn_onnx_import_buffer(&m, copy, len, "corrupt.onnx", NULL, NULL);
        if (st == CN_OK) {
            /* a corruption the format cannot see (a weight's bits): the model still runs */
            cn_model_destroy(m);
            ok++;
        } else
            failed++;
    }
    printf("truncated and corrupted small_cnn.onnx: %d imported, %d refused with a message\n", ok, failed);
    free(copy);
    free(buf);
}


/* ---- allocation failures: fail the k-th allocation; every failure is CN_STATUS_NOMEM and leaks nothing ---- */
static int fail_at, n_allocs, n_live;
static void *failing_alloc(size_t size, size_t align, void *user)
{
    (void)user;
    if (n_allocs++ == fail_at) return NULL;
    size_t rounded = (size + align - 1) / align * align;
    void *p = aligned_alloc(align, rounded ? rounded : align);
    if (p) n_live++;
    return p;
}
static void counting_free(void *p, void *user)
{
    (void)user;
    if (p) n_live--, free(p);
}

static void test_alloc_failures(void)
{
    if (!cn_onnx_available()) return;
    size_t len;
    unsigned char *buf = slurp(fx("small_cnn.onnx"), &len);
    CHECK(buf != NULL);
    if (!buf) return;
    int k, done = 0;
    for (k = 0; k < 5000 && !done; k++) {
        cn_model *m = NULL;
        cn_onnx_info io;
        fail_at = k, n_allocs = 0, n_live = 0;
        cn_set_allocator(&(cn_allocator){failing_alloc, counting_free, NULL});
        cn_status st = cn_onnx_import_buffer(&m, buf, len, "fault.onnx", NULL, &io);
        int live_during = n_live;
        if (st == CN_OK) {
            cn_onnx_info_free(&io);
            cn_model_destroy(m);
        }
        int live_after = n_live;
        cn_set_allocator(NULL);
        if (st == CN_OK) {
            CHECK_MSG(live_after == 0, "%d allocations leaked after a successful import", live_after);
            done = 1;
        } else
            CHECK_MSG(st == CN_STATUS_NOMEM && live_during == 0, "failing allocation %d: %s, %d live (%s)", k, cn_status_name(st),
                      live_during, cn_last_error());
    }
    CHECK(done);
    printf("import survived failing each of its first %d allocations\n", k - 1);
    free(buf);
}

static void test_tensor_files(void)
{
    if (!cn_onnx_available()) return;
    const char *pb = "/usr/share/libonnx-testdata/data/node/test_relu/test_data_set_0/input_0.pb";
    cn_onnx_tensor t;
    if (access(pb, R_OK) == 0) {
        CHECK_OK(cn_onnx_tensor_load(&t, pb));
        CHECK(t.dtype == 1 && t.ndim == 3 && t.dims[0] == 3 && t.dims[1] == 4 && t.dims[2] == 5 && t.numel == 60);
        cn_onnx_tensor_free(&t);
    } else
        printf("skip: %s absent (libonnx-testdata)\n", pb);
    CHECK_ERR(cn_onnx_tensor_load(&t, fx("small_cnn_x.npy")), CN_STATUS_FORMAT, "small_cnn_x.npy");
    CHECK(t.data == NULL);
    cn_onnx_tensor_free(&t); /* a failed load leaves a freeable tensor */
}

static void test_load_any(void)
{
    cn_model *m = NULL;
    char cfg[64], txt[64];
    snprintf(cfg, sizeof cfg, "/tmp/cn_any_%d.cfg", (int)getpid());
    snprintf(txt, sizeof txt, "/tmp/cn_any_%d.model", (int)getpid());
    FILE *f = fopen(cfg, "w");
    fputs("# a Darknet cfg\n[net]\nheight=8\nwidth=8\nchannels=3\n[convolutional]\nfilters=4\nsize=3\npad=1\nactivation=leaky\n", f);
    fclose(f);
    f = fopen(txt, "w");
    fputs("[input]\nshape=3x8x8\n[conv]\nfilters=4\nkernel=3\n", f);
    fclose(f);
    CHECK_OK(cn_model_load_any(&m, cfg));
    cn_layer_info li;
    if (m && cn_model_plan(m, 1, CN_PLAN_INFER) == CN_OK) {
        cn_model_layer(m, cn_model_layer_count(m) - 1, &li);
        CHECK(!strcmp(li.name, "conv0") && li.out.dim[1] == 4 && li.out.dim[2] == 8);
    }
    cn_model_destroy(m);
    CHECK_OK(cn_model_load_any(&m, txt));
    cn_model_destroy(m);
    if (cn_onnx_available()) {
        CHECK_OK(cn_model_load_any(&m, fx("small_cnn.onnx")));
        cn_model_destroy(m);
    }
    CHECK_ERR(cn_model_load_any(&m, "/nonexistent.cfg"), CN_STATUS_IO, "/nonexistent.cfg");
    remove(cfg);
    remove(txt);
}

int main(void)
{
    RUN(test_torch_small_cnn);
    RUN(test_fine_tune);
    RUN(test_export_roundtrip);
    RUN(test_malformed);
    RUN(test_alloc_failures);
    RUN(test_tensor_files);
    RUN(test_load_any);
    return cn_test_finish();
}
