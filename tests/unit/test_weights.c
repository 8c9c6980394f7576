/* test_weights.c — model weights in safetensors files: save -> load gives identical outputs,
 * a file is a self-describing model, PyTorch-written weights give PyTorch's outputs, every
 * mismatch (missing, shape, dtype, extra, unplanned) fails with a message naming the tensor
 * and both sides and leaves the model unchanged, and layer-subset loading for transfer
 * learning touches exactly the named layers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "convnet/safetensors.h"
#include "test.h"

#define FIXTURE(name) CN_FIXTURE_DIR "/safetensors/" name

static const char *base_text =
    "[input]\nname = x\nshape = 2x8x8\n"
    "[conv]\nname = c1\nfilters = 4\nkernel = 3\n"
    "[conv]\nname = c2\nfilters = 3\nkernel = 3\npadding = same\n";
/* c1.weight 4x2x3x3, c1.bias 4, c2.weight 3x4x3x3, c2.bias 3; output 3x6x6 per sample */

static const char *tmp_path(const char *name)
{
    static char buf[4][256];
    static int k;
    char *b = buf[k++ % 4];
    snprintf(b, 256, "%s/cn_test_w_%d_%s", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid(), name);
    return b;
}

/* parse, plan, init from seed, and give every parameter (biases too) random values */
static cn_model *make(const char *text, int64_t batch, uint64_t seed)
{
    cn_model *m = NULL;
    CHECK_OK(cn_model_parse(&m, text, "test"));
    if (!m) return NULL;
    CHECK_OK(cn_model_plan(m, batch, CN_PLAN_INFER));
    CHECK_OK(cn_model_init(m, seed));
    cn_rng r;
    cn_rng_init(&r, seed, CN_STREAM_USER);
    for (int i = 0; i < cn_model_param_count(m); i++) {
        cn_param p;
        CHECK_OK(cn_model_param(m, i, &p));
        cn_rng_fill_uniform(&r, p.value, cn_shape_numel(&p.shape), -0.5f, 0.5f);
    }
    return m;
}

static const float *run(cn_model *m, const float *x, int64_t *n)
{
    cn_shape s;
    CHECK_OK(cn_model_forward(m, x, 0));
    const float *y = cn_model_output(m, &s);
    *n = y ? cn_shape_numel(&s) : 0;
    return y;
}

static int params_equal(const cn_model *a, const cn_model *b, const char *name)
{
    cn_param pa, pb;
    int ia = -1, ib = -1;
    for (int i = 0; i < cn_model_param_count(a); i++)
        if (cn_model_param(a, i, &pa) == CN_OK && !strcmp(pa.name, name)) ia = i;
    for (int i = 0; i < cn_model_param_count(b); i++)
        if (cn_model_param(b, i, &pb) == CN_OK && !strcmp(pb.name, name)) ib = i;
    if (ia < 0 || ib < 0) return 0;
    cn_model_param(a, ia, &pa);
    cn_model_param(b, ib, &pb);
    return cn_shape_equal(&pa.shape, &pb.shape) && !memcmp(pa.value, pb.value, (size_t)cn_shape_numel(&pa.shape) * 4);
}

static void test_round_trip(void)
{
    cn_model *a = make(base_text, 2, 5), *b = make(base_text, 2, 99);
    if (!a || !b) return;
    float x[2 * 2 * 64];
    cn_rng r;
    cn_rng_init(&r, 1, CN_STREAM_USER);
    cn_rng_fill_uniform(&r, x, 256, -1, 1);
    int64_t na, nb;
    float ya[2 * 3 * 36];
    const float *y = run(a, x, &na);
    CHECK_EQ_INT(na, 2 * 3 * 36);
    if (!y || na != 2 * 3 * 36) return;
    memcpy(ya, y, sizeof ya);
    y = run(b, x, &nb);
    CHECK(memcmp(ya, y, sizeof ya) != 0); /* different seeds: different outputs before loading */

    const char *p = tmp_path("w.safetensors");
    CHECK_OK(cn_model_save_weights(a, p, (const char *[]){"epoch", "loss"}, (const char *[]){"3", "0.25"}, 2));
    CHECK_OK(cn_model_load_weights(b, p, CN_WEIGHTS_STRICT));
    y = run(b, x, &nb);
    CHECK(nb == na && !memcmp(ya, y, sizeof ya)); /* bit-identical */

    /* the file: every parameter as F32 with its shape, the model text, the caller's metadata */
    cn_safetensors *f;
    CHECK_OK(cn_safetensors_load(&f, p));
    if (!f) {
        remove(p);
        return;
    }
    CHECK_EQ_INT(cn_safetensors_count(f), 4);
    cn_st_tensor t;
    CHECK_OK(cn_safetensors_find(f, "c1.weight", &t));
    CHECK(t.dtype == CN_ST_DTYPE_F32 && t.ndim == 4 && t.shape[0] == 4 && t.shape[1] == 2 && t.shape[2] == 3 && t.shape[3] == 3);
    CHECK_OK(cn_safetensors_find(f, "c2.bias", &t));
    CHECK(t.dtype == CN_ST_DTYPE_F32 && t.ndim == 1 && t.shape[0] == 3);
    char *text;
    CHECK_OK(cn_model_to_text(a, &text));
    CHECK(cn_safetensors_metadata(f, CN_WEIGHTS_MODEL_KEY) && !strcmp(cn_safetensors_metadata(f, CN_WEIGHTS_MODEL_KEY), text));
    CHECK(!strcmp(cn_safetensors_metadata(f, "epoch"), "3") && !strcmp(cn_safetensors_metadata(f, "loss"), "0.25"));
    cn_safetensors_destroy(f);

    /* one file is a whole model: build it from the file, at another batch size */
    cn_model *c;
    CHECK_OK(cn_model_load_file(&c, p));
    char *text2 = NULL;
    if (c) CHECK_OK(cn_model_to_text(c, &text2));
    CHECK(text2 && !strcmp(text, text2));
    CHECK_ERR(cn_model_load_weights(c, p, 0), CN_STATUS_INVALID_STATE, "not planned"); /* planning is the caller's */
    cn_free(text2);
    cn_model_destroy(c);
    CHECK_OK(cn_model_load_file_weights(&c, p, 1, CN_PLAN_INFER));
    if (c) {
        y = run(c, x + 128, &nb); /* the second sample alone */
        CHECK(nb == na / 2 && !memcmp(ya + na / 2, y, sizeof ya / 2));
    }
    cn_model_destroy(c);
    cn_free(text);
    remove(p);
    cn_model_destroy(a);
    cn_model_destroy(b);
}

/* Weights written by PyTorch (tests/fixtures/gen_safetensors.py) reproduce PyTorch's output. */
static void test_pytorch_weights(void)
{
    cn_model *m;
    CHECK_OK(cn_model_load_file_weights(&m, FIXTURE("torch_conv.safetensors"), 1, CN_PLAN_INFER));
    cn_safetensors *io;
    CHECK_OK(cn_safetensors_load(&io, FIXTURE("torch_conv_io.safetensors")));
    if (!m || !io) {
        cn_model_destroy(m);
        cn_safetensors_destroy(io);
        return;
    }
    cn_st_tensor tx, ty;
    CHECK_OK(cn_safetensors_find(io, "x", &tx));
    CHECK_OK(cn_safetensors_find(io, "y", &ty));
    float x[84], want[12];
    CHECK(tx.numel == 84 && ty.numel == 12);
    if (tx.numel == 84 && ty.numel == 12) {
        CHECK_OK(cn_safetensors_to_f32(&tx, x));
        CHECK_OK(cn_safetensors_to_f32(&ty, want));
        int64_t n;
        const float *y = run(m, x, &n);
        CHECK_EQ_INT(n, 12);
        /* y: 16-term sums of 18-term sums of float32 products, |y| < 1; PyTorch's reference
         * is float64 rounded once, so only float32 accumulation differs: observed 1 ulp
         * (1.5e-8). 1e-6 absolute + 1e-6 relative leaves ~60x margin while any wrong or
         * misplaced weight (values of order 0.1) fails. */
        if (y && n == 12) CHECK_ALLCLOSE(y, want, 12, 1e-6, 1e-6, "torch conv -> conv");
    }
    cn_model_destroy(m);
    cn_safetensors_destroy(io);
}

/* write a file holding the listed tensors; values i * 0.25 */
static void write_tensors(const char *path, const cn_st_tensor *ts, int n)
{
    CHECK_OK(cn_safetensors_save(path, ts, n, NULL, NULL, 0));
}

static cn_st_tensor f32_tensor(const char *name, int ndim, const int64_t *shape, const void *data, cn_st_dtype dt)
{
    cn_st_tensor t = {.name = name, .dtype = dt, .ndim = ndim, .data = data};
    for (int i = 0; i < ndim; i++) t.shape[i] = shape[i];
    return t;
}

static void test_mismatches(void)
{
    cn_model *m = make(base_text, 1, 3), *orig = make(base_text, 1, 3);
    if (!m || !orig) return;
    static float w1[4 * 2 * 9], b1[4], w2[3 * 4 * 9], b2[3], big[4 * 3 * 9];
    for (int i = 0; i < 72; i++) w1[i] = (float)i * 0.25f;
    for (int i = 0; i < 4; i++) b1[i] = -1.0f - (float)i;
    double b1d[4] = {0.5, -0.25, 1e-3, 3};
    int8_t b1i[4] = {1, 2, 3, 4};
    const char *p = tmp_path("mis.safetensors");
    cn_st_tensor good[4] = {
        f32_tensor("c1.weight", 4, (int64_t[]){4, 2, 3, 3}, w1, CN_ST_DTYPE_F32),
        f32_tensor("c1.bias", 1, (int64_t[]){4}, b1, CN_ST_DTYPE_F32),
        f32_tensor("c2.weight", 4, (int64_t[]){3, 4, 3, 3}, w2, CN_ST_DTYPE_F32),
        f32_tensor("c2.bias", 1, (int64_t[]){3}, b2, CN_ST_DTYPE_F32),
    };
    cn_st_tensor ts[5];

    /* missing: c2.bias */
    write_tensors(p, good, 3);
    CHECK_ERR(cn_model_load_weights(m, p, 0), CN_STATUS_NOT_FOUND, "model parameter 'c2.bias' (shape 3) is not in the file");
    /* wrong shape: c2.weight as if from a model with 3 input channels (c1 is fine and comes first) */
    memcpy(ts, good, sizeof good);
    ts[2] = f32_tensor("c2.weight", 4, (int64_t[]){3, 3, 3, 3}, big, CN_ST_DTYPE_F32);
    write_tensors(p, ts, 4);
    CHECK_ERR(cn_model_load_weights(m, p, 0), CN_STATUS_SHAPE, "tensor 'c2.weight': file has shape 3x3x3x3, model expects 3x4x3x3");
    ts[2] = f32_tensor("c2.weight", 2, (int64_t[]){3, 36}, w2, CN_ST_DTYPE_F32); /* same count, other rank */
    write_tensors(p, ts, 4);
    CHECK_ERR(cn_model_load_weights(m, p, 0), CN_STATUS_SHAPE, "file has shape 3x36, model expects 3x4x3x3");
    /* wrong dtype: integers are not weights */
    memcpy(ts, good, sizeof good);
    ts[1] = f32_tensor("c1.bias", 1, (int64_t[]){4}, b1i, CN_ST_DTYPE_I8);
    write_tensors(p, ts, 4);
    CHECK_ERR(cn_model_load_weights(m, p, 0), CN_STATUS_UNSUPPORTED, "tensor 'c1.bias': file has dtype I8, model expects a float dtype");
    /* extra tensor */
    memcpy(ts, good, sizeof good);
    ts[4] = f32_tensor("c3.weight", 1, (int64_t[]){4}, b1, CN_ST_DTYPE_F32);
    write_tensors(p, ts, 5);
    CHECK_ERR(cn_model_load_weights(m, p, 0), CN_STATUS_NOT_FOUND,
              "tensor 'c3.weight' (F32, shape 4) is not a parameter of the model; pass CN_WEIGHTS_ALLOW_EXTRA");
    CHECK_ERR(cn_model_load_weights(m, p, 8), CN_STATUS_INVALID_ARG, "unknown load flags 0x8");
    /* none of the failures above changed the model */
    for (int i = 0; i < cn_model_param_count(m); i++) {
        cn_param q;
        cn_model_param(m, i, &q);
        CHECK_MSG(params_equal(m, orig, q.name), "%s changed by a failed load", q.name);
    }
    /* with the flag, extras are ignored and everything else loads */
    CHECK_OK(cn_model_load_weights(m, p, CN_WEIGHTS_ALLOW_EXTRA));
    cn_param q;
    CHECK_OK(cn_model_param(m, 0, &q));
    CHECK(!strcmp(q.name, "c1.weight") && !memcmp(q.value, w1, sizeof w1));
    /* other float dtypes are converted */
    memcpy(ts, good, sizeof good);
    ts[1] = f32_tensor("c1.bias", 1, (int64_t[]){4}, b1d, CN_ST_DTYPE_F64);
    uint16_t w2h[3 * 4 * 9], b2bf[3] = {0x3fc0, 0xc040, 0x0000}; /* bf16: 1.5, -3, 0 */
    for (int i = 0; i < 108; i++) w2h[i] = 0x3800; /* f16 0.5 */
    ts[2] = f32_tensor("c2.weight", 4, (int64_t[]){3, 4, 3, 3}, w2h, CN_ST_DTYPE_F16);
    ts[3] = f32_tensor("c2.bias", 1, (int64_t[]){3}, b2bf, CN_ST_DTYPE_BF16);
    write_tensors(p, ts, 4);
    CHECK_OK(cn_model_load_weights(m, p, 0));
    CHECK_OK(cn_model_param(m, 1, &q));
    CHECK(q.value[0] == 0.5f && q.value[1] == -0.25f && q.value[2] == 1e-3f && q.value[3] == 3);
    CHECK_OK(cn_model_param(m, 2, &q));
    CHECK(q.value[0] == 0.5f && q.value[107] == 0.5f);
    CHECK_OK(cn_model_param(m, 3, &q));
    CHECK(q.value[0] == 1.5f && q.value[1] == -3 && q.value[2] == 0);

    /* state and argument errors */
    cn_model *u;
    CHECK_OK(cn_model_parse(&u, base_text, "unplanned"));
    CHECK_ERR(cn_model_load_weights(u, p, 0), CN_STATUS_INVALID_STATE, "cannot load weights: the model is not planned");
    CHECK_ERR(cn_model_save_weights(u, p, NULL, NULL, 0), CN_STATUS_INVALID_STATE, "cannot save weights: the model is not planned");
    cn_model_destroy(u);
    CHECK_ERR(cn_model_save_weights(m, p, (const char *[]){CN_WEIGHTS_MODEL_KEY}, (const char *[]){"x"}, 1), CN_STATUS_INVALID_ARG,
              "metadata key 'convnet.model' is reserved");
    CHECK_ERR(cn_model_load_weights(m, "/no/such/w.safetensors", 0), CN_STATUS_IO, "/no/such/w.safetensors: cannot open");
    /* a file without model text is not a model */
    CHECK_ERR(cn_model_load_file(&u, p), CN_STATUS_NOT_FOUND, "no 'convnet.model' entry in __metadata__");
    CHECK(u == NULL);
    CHECK_ERR(cn_model_load_file_weights(&u, p, 1, 0), CN_STATUS_NOT_FOUND, "no 'convnet.model'");
    /* a broken model text is reported with its origin */
    CHECK_OK(cn_safetensors_save(p, good, 4, (const char *[]){CN_WEIGHTS_MODEL_KEY},
                                 (const char *[]){"[input]\nshape=2x8x8\n[cnov]\nfilters=1\n"}, 1));
    CHECK_ERR(cn_model_load_file(&u, p), CN_STATUS_INVALID_ARG, ":convnet.model:3: unknown layer type 'cnov'");
    CHECK(u == NULL);
    /* a model text whose parameters do not match the tensors fails as a whole */
    CHECK_OK(cn_safetensors_save(p, good, 4, (const char *[]){CN_WEIGHTS_MODEL_KEY},
                                 (const char *[]){"[input]\nshape=3x8x8\n[conv]\nname=c1\nfilters=4\nkernel=3\n"}, 1));
    CHECK_ERR(cn_model_load_file_weights(&u, p, 1, 0), CN_STATUS_SHAPE, "tensor 'c1.weight': file has shape 4x2x3x3, model expects 4x3x3x3");
    CHECK(u == NULL);
    remove(p);
    cn_model_destroy(m);
    cn_model_destroy(orig);
}

/* Transfer learning: load only some layers. */
static void test_layer_subset(void)
{
    /* the source model, and a target whose c2 has another shape (5 filters instead of 3) */
    const char *target_text = "[input]\nname = x\nshape = 2x8x8\n"
                              "[conv]\nname = c1\nfilters = 4\nkernel = 3\n"
                              "[conv]\nname = c2\nfilters = 5\nkernel = 3\n";
    cn_model *src = make(base_text, 1, 11), *dst = make(target_text, 1, 12), *before = make(target_text, 1, 12);
    if (!src || !dst || !before) return;
    const char *p = tmp_path("src.safetensors");
    CHECK_OK(cn_model_save_weights(src, p, NULL, NULL, 0));
    CHECK_ERR(cn_model_load_weights(dst, p, 0), CN_STATUS_SHAPE, "tensor 'c2.weight': file has shape 3x4x3x3, model expects 5x4x3x3");
    CHECK_OK(cn_model_load_weights_layers(dst, p, (const char *[]){"c1"}, 1, 0));
    CHECK(params_equal(dst, src, "c1.weight") && params_equal(dst, src, "c1.bias"));     /* loaded */
    CHECK(params_equal(dst, before, "c2.weight") && params_equal(dst, before, "c2.bias")); /* untouched */
    CHECK(!params_equal(dst, before, "c1.weight"));
    CHECK_ERR(cn_model_load_weights_layers(dst, p, (const char *[]){"c1", "c9"}, 2, 0), CN_STATUS_NOT_FOUND,
              "no layer named 'c9' in the model");
    CHECK_ERR(cn_model_load_weights_layers(dst, p, (const char *[]){"c2"}, 1, 0), CN_STATUS_SHAPE, "tensor 'c2.weight'");
    /* selecting a layer without parameters loads nothing and succeeds */
    CHECK_OK(cn_model_load_weights_layers(dst, p, (const char *[]){"x"}, 1, 0));
    remove(p);

    /* dotted layer names: "f" and "f.g" are different layers; the longest prefix decides */
    const char *dotted = "[input]\nname = x\nshape = 1x6x6\n"
                         "[conv]\nname = f\nfilters = 2\nkernel = 3\n"
                         "[conv]\nname = f.g\nfilters = 2\nkernel = 1\n";
    cn_model *a = make(dotted, 1, 21), *b = make(dotted, 1, 22), *b0 = make(dotted, 1, 22);
    if (!a || !b || !b0) return;
    CHECK_OK(cn_model_save_weights(a, p, NULL, NULL, 0));
    CHECK_OK(cn_model_load_weights_layers(b, p, (const char *[]){"f"}, 1, 0));
    CHECK(params_equal(b, a, "f.weight") && params_equal(b, a, "f.bias"));
    CHECK(params_equal(b, b0, "f.g.weight") && params_equal(b, b0, "f.g.bias"));
    CHECK_OK(cn_model_load_weights_layers(b, p, (const char *[]){"f.g"}, 1, 0));
    CHECK(params_equal(b, a, "f.g.weight"));
    /* within a selected layer, an unknown tensor is still an error unless allowed */
    float junk[2] = {0};
    cn_st_tensor extra[5];
    int ne = 0;
    for (int i = 0; i < cn_model_param_count(a); i++) {
        cn_param q;
        cn_model_param(a, i, &q);
        extra[ne] = f32_tensor(q.name, q.shape.ndim, q.shape.dim, q.value, CN_ST_DTYPE_F32);
        ne++;
    }
    extra[ne++] = f32_tensor("f.scale", 1, (int64_t[]){2}, junk, CN_ST_DTYPE_F32);
    CHECK_OK(cn_safetensors_save(p, extra, ne, NULL, NULL, 0));
    CHECK_ERR(cn_model_load_weights_layers(b, p, (const char *[]){"f"}, 1, 0), CN_STATUS_NOT_FOUND, "tensor 'f.scale'");
    CHECK_OK(cn_model_load_weights_layers(b, p, (const char *[]){"f.g"}, 1, 0)); /* f.scale is f's, not f.g's */
    CHECK_OK(cn_model_load_weights_layers(b, p, (const char *[]){"f"}, 1, CN_WEIGHTS_ALLOW_EXTRA));
    remove(p);
    cn_model_destroy(a), cn_model_destroy(b), cn_model_destroy(b0);
    cn_model_destroy(src), cn_model_destroy(dst), cn_model_destroy(before);
}

int main(void)
{
    RUN(test_round_trip);
    RUN(test_pytorch_weights);
    RUN(test_mismatches);
    RUN(test_layer_subset);
    return cn_test_finish();
}
