/* test_model.c — the model: text format (parse, write, round trip), the builder, planning
 * and re-planning, state errors, initialization, and every kind of bad model file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test.h"

static const char *lenet_like =
    "# a small CNN\n"
    "[input]\n"
    "name = image\n"
    "shape = 1x12x12     ; C x H x W\n"
    "\n"
    "[conv]\n"
    "name = c1\n"
    "filters = 4\n"
    "kernel = 3\n"
    "padding = same\n"
    "\n"
    "[conv]\n"
    "name = c2\n"
    "input = c1\n"
    "filters = 6\n"
    "kernel = 3x2\n"
    "stride = 2\n"
    "pad_mode = zero\n"
    "init = xavier_uniform\n";

static void test_parse_and_plan(void)
{
    cn_model *m;
    CHECK_OK(cn_model_parse(&m, lenet_like, "lenet.cfg"));
    CHECK_EQ_INT(cn_model_layer_count(m), 3);
    CHECK_OK(cn_model_plan(m, 5, CN_PLAN_INFER));
    cn_layer_info li;
    CHECK_OK(cn_model_layer(m, 2, &li));
    CHECK(!strcmp(li.name, "c2") && !strcmp(li.type, "conv") && li.n_inputs == 1 && !strcmp(li.inputs[0], "c1"));
    /* 12x12 same -> 12x12; k 3x2 stride 2 -> floor((12-3)/2)+1 = 5, floor((12-2)/2)+1 = 6 */
    CHECK(li.out.ndim == 4 && li.out.dim[0] == 5 && li.out.dim[1] == 6 && li.out.dim[2] == 5 && li.out.dim[3] == 6);
    CHECK_EQ_INT(li.params, 6 * 4 * 3 * 2 + 6);
    CHECK_EQ_INT(cn_model_param_count(m), 4);
    cn_param p;
    CHECK_OK(cn_model_param(m, 2, &p));
    CHECK(!strcmp(p.name, "c2.weight") && p.grad == NULL && p.trainable);
    /* a different batch re-plans without touching parameters */
    p.value[0] = 42;
    CHECK_OK(cn_model_plan(m, 2, CN_PLAN_TRAIN));
    CHECK_OK(cn_model_param(m, 2, &p));
    CHECK(p.value[0] == 42 && p.grad != NULL);
    cn_shape s;
    float x[2 * 144] = {0};
    CHECK_OK(cn_model_forward(m, x, 0));
    CHECK(cn_model_output(m, &s) != NULL && s.dim[0] == 2);
    const float *y1;
    CHECK_OK(cn_model_layer_output(m, "c1", &y1, &s));
    CHECK(s.dim[1] == 4);
    CHECK_ERR(cn_model_layer_output(m, "c9", &y1, &s), CN_STATUS_NOT_FOUND, "'c9'");
    cn_model_destroy(m);
}

static void test_round_trip(void)
{
    cn_model *a, *b;
    char *t1, *t2;
    CHECK_OK(cn_model_parse(&a, lenet_like, "lenet.cfg"));
    CHECK_OK(cn_model_to_text(a, &t1));
    CHECK_OK(cn_model_parse(&b, t1, "written"));
    CHECK_OK(cn_model_to_text(b, &t2));
    CHECK(!strcmp(t1, t2));
    CHECK(strstr(t1, "init = xavier_uniform") && strstr(t1, "kernel = 3x2") && !strstr(t1, "pad_mode")); /* defaults omitted */
    /* the same network: same shapes, and the same seed gives the same weights and outputs */
    CHECK_OK(cn_model_plan(a, 3, CN_PLAN_INFER));
    CHECK_OK(cn_model_plan(b, 3, CN_PLAN_INFER));
    CHECK_OK(cn_model_init(a, 7));
    CHECK_OK(cn_model_init(b, 7));
    float x[3 * 144];
    cn_rng r;
    cn_rng_init(&r, 1, CN_STREAM_USER);
    cn_rng_fill_uniform(&r, x, 3 * 144, -1, 1);
    cn_shape sa, sb;
    CHECK_OK(cn_model_forward(a, x, 0));
    CHECK_OK(cn_model_forward(b, x, 0));
    const float *ya = cn_model_output(a, &sa), *yb = cn_model_output(b, &sb);
    CHECK(cn_shape_equal(&sa, &sb) && !memcmp(ya, yb, (size_t)cn_shape_numel(&sa) * 4));
    /* save atomically and load back */
    char path[256];
    snprintf(path, sizeof path, "/tmp/cn_test_model_%d.cfg", (int)getpid());
    CHECK_OK(cn_model_save(a, path));
    cn_model *c;
    CHECK_OK(cn_model_load(&c, path));
    char *t3;
    CHECK_OK(cn_model_to_text(c, &t3));
    CHECK(!strcmp(t1, t3));
    remove(path);
    cn_free(t1), cn_free(t2), cn_free(t3);
    cn_model_destroy(a), cn_model_destroy(b), cn_model_destroy(c);
}

static void test_builder_matches_file(void)
{
    cn_model *a, *b;
    CHECK_OK(cn_model_create(&a));
    CHECK_OK(cn_model_add(a, "input", "image", NULL, "shape=1x12x12"));
    CHECK_OK(cn_model_add(a, "conv", "c1", NULL, "filters=4 kernel=3 padding=same"));
    CHECK_OK(cn_model_add(a, "conv", "c2", "c1", "filters=6 kernel=3x2 stride=2 init=xavier_uniform"));
    CHECK_OK(cn_model_parse(&b, lenet_like, "lenet.cfg"));
    char *ta, *tb;
    CHECK_OK(cn_model_to_text(a, &ta));
    CHECK_OK(cn_model_to_text(b, &tb));
    CHECK(!strcmp(ta, tb));
    cn_free(ta), cn_free(tb);
    /* builder errors */
    CHECK_ERR(cn_model_add(a, "conv", "c3", NULL, "filters=4 kernel"), CN_STATUS_INVALID_ARG, "'kernel' is not of the form key=value");
    CHECK_ERR(cn_model_add(a, "conv", "c1", NULL, "filters=4 kernel=3"), CN_STATUS_INVALID_ARG, "a layer named 'c1' already exists");
    CHECK_ERR(cn_model_add(a, "conv", "9bad", NULL, "filters=4 kernel=3"), CN_STATUS_INVALID_ARG, "'9bad' is not valid");
    CHECK_OK(cn_model_add(a, "conv", NULL, NULL, "filters=2 kernel=1"));
    cn_layer_info li;
    CHECK_OK(cn_model_layer(a, 3, &li));
    CHECK(!strcmp(li.name, "conv3")); /* auto names count the layers of the type */
    /* no layers may be added once parameters exist */
    CHECK_OK(cn_model_plan(a, 1, CN_PLAN_INFER));
    CHECK_ERR(cn_model_add(a, "conv", NULL, NULL, "filters=2 kernel=1"), CN_STATUS_INVALID_STATE, "after the first plan");
    cn_model_destroy(a), cn_model_destroy(b);
}

static void test_state_errors(void)
{
    cn_model *m;
    CHECK_OK(cn_model_parse(&m, lenet_like, "lenet.cfg"));
    float x[144] = {0}, dy[1000] = {0};
    CHECK_ERR(cn_model_forward(m, x, 0), CN_STATUS_INVALID_STATE, "not planned");
    CHECK_ERR(cn_model_init(m, 1), CN_STATUS_INVALID_STATE, "not planned");
    CHECK_ERR(cn_model_plan(m, 0, CN_PLAN_INFER), CN_STATUS_INVALID_ARG, "batch size 0");
    CHECK_ERR(cn_model_plan(m, 1, 64 | CN_PLAN_TRAIN), CN_STATUS_INVALID_ARG, "unknown bits 0x40");
    CHECK_OK(cn_model_plan(m, 1, CN_PLAN_INFER));
    CHECK_ERR(cn_model_forward(m, x, 1), CN_STATUS_INVALID_STATE, "CN_PLAN_TRAIN");
    CHECK_ERR(cn_model_backward(m, dy), CN_STATUS_INVALID_STATE, "training forward");
    CHECK_ERR(cn_model_forward(m, NULL, 0), CN_STATUS_INVALID_STATE, "no data for input 'image'");
    CHECK_ERR(cn_model_set_input(m, "c1", x), CN_STATUS_NOT_FOUND, "no input layer named 'c1'");
    CHECK_OK(cn_model_set_input(m, "image", x));
    CHECK_OK(cn_model_forward(m, NULL, 0));
    CHECK_OK(cn_model_plan(m, 1, CN_PLAN_TRAIN));
    CHECK_OK(cn_model_forward(m, x, 0));
    CHECK_ERR(cn_model_backward(m, dy), CN_STATUS_INVALID_STATE, "training forward");
    CHECK_OK(cn_model_forward(m, x, 1));
    CHECK_OK(cn_model_backward(m, dy));
    CHECK(cn_model_input_grad(m) != NULL);
    CHECK_ERR(cn_model_param(m, 99, &(cn_param){0}), CN_STATUS_INVALID_ARG, "index 99");
    cn_model_destroy(m);
    cn_model_destroy(NULL);
}

/* profiling: each layer's calls counted and timed while on, kept while off, zeroed by clear */
static void test_profiling(void)
{
    cn_model *m;
    CHECK_OK(cn_model_parse(&m, lenet_like, "lenet.cfg"));
    CHECK_OK(cn_model_plan(m, 2, CN_PLAN_TRAIN));
    CHECK_OK(cn_model_init(m, 1));
    static float x[2 * 144], dy[1000];
    CHECK(!cn_model_profiling(m));
    CHECK_OK(cn_model_forward(m, x, 1)); /* not counted: profiling is off */
    cn_model_set_profiling(m, 1);
    CHECK(cn_model_profiling(m));
    for (int i = 0; i < 3; i++) {
        CHECK_OK(cn_model_forward(m, x, 1));
        CHECK_OK(cn_model_backward(m, dy));
    }
    CHECK_OK(cn_model_forward(m, x, 0));
    cn_model_set_profiling(m, 0);
    CHECK_OK(cn_model_forward(m, x, 0)); /* not counted */
    cn_layer_info li;
    CHECK_OK(cn_model_layer(m, 1, &li));
    CHECK(!strcmp(li.name, "c1") && li.forward_calls == 4 && li.backward_calls == 3);
    CHECK(li.forward_s > 0 && li.backward_s > 0);
    CHECK_OK(cn_model_layer(m, 0, &li)); /* the input layer has no backward */
    CHECK(li.forward_calls == 4 && li.backward_calls == 0);
    cn_model_clear_profile(m);
    CHECK_OK(cn_model_layer(m, 1, &li));
    CHECK(li.forward_calls == 0 && li.backward_calls == 0 && li.forward_s == 0 && li.backward_s == 0);
    cn_model_destroy(m);
}

/* CN_PLAN_NO_INPUT_GRAD: the parameter gradients have the same bits as with the input's
 * gradient computed, and cn_model_input_grad says there is none */
static void test_no_input_grad(void)
{
    cn_model *m;
    CHECK_OK(cn_model_parse(&m, lenet_like, "lenet.cfg"));
    static float x[2 * 144], dy[1000], g0[1000];
    for (int i = 0; i < 2 * 144; i++) x[i] = (float)((i * 37) % 11) / 11.0f;
    for (int i = 0; i < 1000; i++) dy[i] = (float)((i * 13) % 7) / 7.0f - 0.5f;
    int64_t ng = 0;
    for (int pass = 0; pass < 2; pass++) {
        CHECK_OK(cn_model_plan(m, 2, CN_PLAN_TRAIN | (pass ? CN_PLAN_NO_INPUT_GRAD : 0)));
        if (!pass) CHECK_OK(cn_model_init(m, 3));
        cn_model_zero_grad(m);
        CHECK_OK(cn_model_forward(m, x, 1));
        CHECK_OK(cn_model_backward(m, dy));
        CHECK((cn_model_input_grad(m) != NULL) == !pass);
        int64_t k = 0;
        for (int i = 0; i < cn_model_param_count(m); i++) {
            cn_param p;
            CHECK_OK(cn_model_param(m, i, &p));
            for (int64_t j = 0; j < cn_shape_numel(&p.shape) && k < 1000; j++, k++) {
                if (!pass) g0[k] = p.grad[j];
                else CHECK_MSG(g0[k] == p.grad[j], "%s[%lld] differs without the input gradient", p.name, (long long)j);
            }
        }
        if (!pass) ng = k;
        else CHECK(k == ng && k > 100);
    }
    cn_model_destroy(m);
}

/* CN_PLAN_PREPARED: a 128-channel 3x3 layer at 14x14, batch 1, where fixed weights make AUTO
 * pick Winograd (the filters transformed once); the output is the plain forward's within
 * float rounding (Winograd's exact bound is test_conv_wino's); the prepared filters take
 * memory; changing the weights after the first forward is not seen until the next plan. */
static void test_prepared_weights(void)
{
    cn_model *m;
    CHECK_OK(cn_model_parse(&m, "[input]\nshape=128x14x14\n[conv]\nfilters=128\nkernel=3\npadding=1\n", "p"));
    static float x[128 * 196], y0[128 * 196], y1[128 * 196];
    for (int i = 0; i < 128 * 196; i++) x[i] = (float)((i * 37) % 23) / 23.0f - 0.5f;
    cn_shape sh;
    cn_model_memory mem;
    CHECK_OK(cn_model_plan(m, 1, CN_PLAN_INFER));
    CHECK_OK(cn_model_init(m, 5));
    CHECK_OK(cn_model_memory_of(m, &mem));
    CHECK_EQ_INT(mem.prepared, 0);
    CHECK_OK(cn_model_forward(m, x, 0));
    memcpy(y0, cn_model_output(m, &sh), sizeof y0);
    CHECK_EQ_INT(cn_shape_numel(&sh), 128 * 196);

    CHECK_OK(cn_model_plan(m, 1, CN_PLAN_PREPARED));
    CHECK_OK(cn_model_memory_of(m, &mem));
    CHECK(mem.prepared >= (size_t)16 * 128 * 128 * sizeof(float));
    CHECK_OK(cn_model_forward(m, x, 0));
    memcpy(y1, cn_model_output(m, &sh), sizeof y1);
    double worst = 0, big = 0;
    for (int i = 0; i < 128 * 196; i++) {
        const double d = fabs((double)y1[i] - (double)y0[i]);
        if (d > worst) worst = d;
        if (fabs((double)y0[i]) > big) big = fabs((double)y0[i]);
    }
    CHECK_MSG(worst <= 1e-5 * big && worst > 0, "prepared forward: max difference %g (outputs up to %g)", worst, big);

    /* the weights change after the first forward: not seen until the next plan */
    cn_param p;
    CHECK_OK(cn_model_param(m, 0, &p));
    for (int64_t j = 0; j < cn_shape_numel(&p.shape); j++) p.value[j] *= 2.0f;
    CHECK_OK(cn_model_forward(m, x, 0));
    CHECK(!memcmp(cn_model_output(m, &sh), y1, sizeof y1));
    CHECK_OK(cn_model_plan(m, 1, CN_PLAN_PREPARED));
    CHECK_OK(cn_model_forward(m, x, 0));
    const float *y2 = cn_model_output(m, &sh);
    int doubled = 1;
    for (int i = 0; i < 128 * 196; i++) doubled &= y2[i] == 2.0f * y1[i]; /* exact: powers of 2 scale every term */
    CHECK_MSG(doubled, "after re-planning, the prepared forward does not use the new weights");
    /* training plans ignore the flag */
    CHECK_OK(cn_model_plan(m, 1, CN_PLAN_TRAIN | CN_PLAN_PREPARED));
    CHECK_OK(cn_model_memory_of(m, &mem));
    CHECK_EQ_INT(mem.prepared, 0);
    cn_model_destroy(m);
}

static void test_init(void)
{
    cn_model *a;
    CHECK_OK(cn_model_parse(&a, "[input]\nshape=64x8x8\n[conv]\nfilters=128\nkernel=3\n[conv]\nfilters=32\nkernel=1\ninit=xavier_uniform\n", "i"));
    CHECK_OK(cn_model_plan(a, 1, CN_PLAN_INFER));
    CHECK_OK(cn_model_init(a, 3));
    cn_param w, b, w2;
    CHECK_OK(cn_model_param(a, 0, &w));
    CHECK_OK(cn_model_param(a, 1, &b));
    CHECK_OK(cn_model_param(a, 2, &w2));
    /* He normal: std sqrt(2 / fan_in), fan_in = 64*9 */
    int64_t n = cn_shape_numel(&w.shape);
    double s2 = 0, bias_abs = 0;
    for (int64_t i = 0; i < n; i++) s2 += (double)w.value[i] * w.value[i];
    for (int i = 0; i < 128; i++) bias_abs += fabs(b.value[i]);
    CHECK_NEAR(sqrt(s2 / n), sqrt(2.0 / 576), 0.02 * sqrt(2.0 / 576)); /* 73728 samples: std error ~0.3% */
    CHECK(bias_abs == 0);
    /* Xavier uniform: |w| <= sqrt(6 / (fan_in + fan_out)) = sqrt(6/160), and it reaches near the bound */
    double bound = sqrt(6.0 / 160), mx = 0;
    for (int64_t i = 0; i < cn_shape_numel(&w2.shape); i++) mx = fmax(mx, fabs(w2.value[i]));
    CHECK(mx <= bound && mx > 0.95 * bound);
    float first = w.value[0];
    CHECK_OK(cn_model_init(a, 3));
    CHECK(w.value[0] == first);
    CHECK_OK(cn_model_init(a, 4));
    CHECK(w.value[0] != first);
    cn_model_destroy(a);
}

static void expect_bad(const char *text, cn_status want, const char *substr)
{
    cn_model *m = NULL;
    cn_status st = cn_model_parse(&m, text, "bad.cfg");
    if (st == CN_OK) st = cn_model_plan(m, 1, CN_PLAN_INFER);
    int before = cn_test_failures;
    CHECK_ERR(st, want, substr);
    if (cn_test_failures != before) printf("     (model was: %s)\n", text);
    cn_model_destroy(m);
}

static void test_bad_model_files(void)
{
    expect_bad("[input]\nshape=1x8x8\n[cnov]\nfilters=2\nkernel=3\n", CN_STATUS_INVALID_ARG,
               "bad.cfg:3: unknown layer type 'cnov' — did you mean 'conv'?");
    expect_bad("[input]\nshape=1x8x8\n[conv]\nfilters=2\nkernel=3\nstrde=2\n", CN_STATUS_INVALID_ARG,
               "bad.cfg:6: unknown option 'strde' in [conv] — did you mean 'stride'?");
    expect_bad("[input]\nshape=1x8x8\n[conv]\nfilters=two\nkernel=3\n", CN_STATUS_INVALID_ARG, "bad.cfg:4: [conv] filters = 'two': expected an integer");
    expect_bad("[input]\nshape=1x8x8\n[conv]\nfilters=2\nkernel=3\npad_mode=mirror\n", CN_STATUS_INVALID_ARG,
               "pad_mode = 'mirror' is not one of zero|reflect|replicate");
    expect_bad("[input]\nshape=1x8x8\n[conv]\nfilters=2\n", CN_STATUS_INVALID_ARG, "bad.cfg:3: [conv] needs option 'kernel'");
    expect_bad("[input]\nshape=1x8x8\n[conv]\nname=a\ninput=b\nfilters=1\nkernel=1\n[conv]\nname=b\ninput=a\nfilters=1\nkernel=1\n",
               CN_STATUS_INVALID_ARG, "the layers 'a', 'b' form a cycle");
    expect_bad("[input]\nname=img\nshape=1x8x8\n[conv]\ninput=imgg\nfilters=1\nkernel=1\n", CN_STATUS_NOT_FOUND,
               "takes input 'imgg', which no layer is named — did you mean 'img'?");
    expect_bad("[input]\nshape=1x8x8\n[conv]\nname=a\ninput=a\nfilters=1\nkernel=1\n", CN_STATUS_INVALID_ARG, "takes itself");
    expect_bad("[input]\nshape=1x8x8\n[conv]\nname=x\nfilters=1\nkernel=1\n[conv]\nname=x\nfilters=1\nkernel=1\n",
               CN_STATUS_INVALID_ARG, "bad.cfg:7: a layer named 'x' already exists");
    expect_bad("[input]\nshape=1x8x8\n[conv]\nfilters=1\nfilters=2\nkernel=1\n", CN_STATUS_FORMAT, "bad.cfg:5: option 'filters' given twice");
    expect_bad("filters=1\n[input]\nshape=1x8x8\n", CN_STATUS_FORMAT, "bad.cfg:1: option 'filters' before any [layer] block");
    /* an input name no layer can have (here a form feed inside it) is refused where it is
     * given: written back, the form feed would be trimmed and the model would change */
    expect_bad("[input]\nname=x\nshape=1x4\n[add]\ninputs=x, a\fb\n", CN_STATUS_INVALID_ARG,
               "bad.cfg:4: input name 'a\\x0cb' is not a valid layer name");
    expect_bad("[input\nshape=1x8x8\n", CN_STATUS_FORMAT, "bad.cfg:1: expected a block header");
    expect_bad("[input]\nshape 1x8x8\n", CN_STATUS_FORMAT, "bad.cfg:2: expected 'key = value'");
    expect_bad("[input]\nshape=\n", CN_STATUS_FORMAT, "empty value");
    expect_bad("# nothing\n", CN_STATUS_FORMAT, "no layers");
    expect_bad("[conv]\nfilters=1\nkernel=1\n", CN_STATUS_INVALID_ARG, "needs an input, and it is the first layer");
    expect_bad("[input]\nshape=1x0x8\n", CN_STATUS_SHAPE, "shape dimension 1 is 0");
    expect_bad("[input]\nshape=1x8x8\n[input]\nshape=2\ninput=input1\n", CN_STATUS_INVALID_ARG, "takes 0 to 0 inputs, 1 given");
    expect_bad("[input]\nshape=1048576x1048576x1048576\n", CN_STATUS_LIMIT, "input1");
    expect_bad("[input]\nshape=1x8x8\n[conv]\nfilters=2\nkernel=9\n", CN_STATUS_SHAPE, "bad.cfg:3:");
    CHECK_ERR(cn_model_load(&(cn_model *){NULL}, "/no/such/model.cfg"), CN_STATUS_IO, "/no/such/model.cfg: cannot open");
    char path[256];
    snprintf(path, sizeof path, "/tmp/cn_test_bin_%d.cfg", (int)getpid());
    FILE *f = fopen(path, "wb");
    fwrite("[input]\0\x01\x02", 1, 10, f);
    fclose(f);
    CHECK_ERR(cn_model_load(&(cn_model *){NULL}, path), CN_STATUS_FORMAT, "NUL bytes");
    remove(path);
}

int main(void)
{
    RUN(test_parse_and_plan);
    RUN(test_round_trip);
    RUN(test_builder_matches_file);
    RUN(test_state_errors);
    RUN(test_profiling);
    RUN(test_no_input_grad);
    RUN(test_prepared_weights);
    RUN(test_init);
    RUN(test_bad_model_files);
    return cn_test_finish();
}
