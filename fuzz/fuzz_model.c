/* fuzz_model.c — the model text format through cn_model_parse (the parser cn_model_load
 * uses), then what a user does with a model that parses:
 *   - write it back (cn_model_to_text): the text must parse again into a model that writes
 *     the same text (docs/FORMAT.md promises the round trip);
 *   - plan it at batch 1 for inference (every layer's option checks and shape inference);
 *   - if the work is small (CN_FUZZ_MAX_MACS, CN_FUZZ_MAX_FLOATS), run it: forward, then a
 *     training plan at batch 2 with forward and backward, so kernels run on whatever
 *     geometry planning accepted (an out-of-bounds access here is a planning bug).
 * The input is the file's text; like cn_model_load, text with NUL bytes is refused. */
#include "fuzz.h"

/* Sum of the layers' MACs and output sizes of a planned model (saturating). */
static void model_work(const cn_model *m, int64_t *macs, int64_t *floats, int64_t *max_floats)
{
    *macs = *floats = *max_floats = 0;
    for (int i = 0; i < cn_model_layer_count(m); i++) {
        cn_layer_info li;
        CN_FUZZ_ASSERT(cn_model_layer(m, i, &li) == CN_OK, "layer %d", i);
        int64_t n = cn_shape_numel(&li.out);
        CN_FUZZ_ASSERT(li.macs >= 0 && n >= 1 && li.params >= 0, "layer '%s': macs %lld, %lld outputs, %lld params", li.name,
                       (long long)li.macs, (long long)n, (long long)li.params);
        *macs = *macs > INT64_MAX - li.macs ? INT64_MAX : *macs + li.macs;
        *floats = *floats > INT64_MAX - n ? INT64_MAX : *floats + n;
        if (n > *max_floats) *max_floats = n;
    }
}

/* Give every input layer `x` and the loss (if any) all-zero targets; then forward. */
static cn_status model_forward(cn_model *m, const float *x, const float *zeros, int train)
{
    for (int i = 0; i < cn_model_layer_count(m); i++) {
        cn_layer_info li;
        cn_model_layer(m, i, &li);
        if (!strcmp(li.type, "input")) CN_FUZZ_ASSERT(cn_model_set_input(m, li.name, x) == CN_OK, "set_input '%s'", li.name);
    }
    CN_FUZZ_ASSERT(cn_model_set_target(m, zeros) == CN_OK, "set_target");
    return cn_model_forward(m, NULL, train);
}

static void model_run(cn_model *m)
{
    int64_t macs, floats, max_floats;
    model_work(m, &macs, &floats, &max_floats);
    if (macs > CN_FUZZ_MAX_MACS || floats > CN_FUZZ_MAX_FLOATS) return;
    /* batch 2 doubles everything */
    size_t n = 2 * (size_t)max_floats + 16;
    float *x = malloc(n * sizeof *x), *zeros = calloc(n, sizeof *zeros), *ones = malloc(n * sizeof *ones);
    if (!x || !zeros || !ones) abort();
    for (size_t i = 0; i < n; i++) {
        x[i] = (float)((i * 2654435761u) % 1000) / 250.0f - 2.0f + 0.001f; /* [-2, 2), away from 0 */
        ones[i] = 1.0f;
    }
    CN_FUZZ_ASSERT(cn_model_init(m, 7) == CN_OK, "init after a successful plan");
    cn_status st = model_forward(m, x, zeros, 0);
    if (st != CN_OK) cn_fuzz_expect_error(st, NULL); /* e.g. targets a loss refuses */
    st = cn_model_plan(m, 2, CN_PLAN_TRAIN);
    if (st == CN_OK) {
        st = model_forward(m, x, zeros, 1);
        if (st == CN_OK) {
            cn_model_zero_grad(m);
            st = cn_model_backward(m, NULL);
            if (st == CN_STATUS_INVALID_ARG) st = cn_model_backward(m, ones); /* no loss layer: dy = 1 */
            if (st != CN_OK) cn_fuzz_expect_error(st, NULL);
        } else {
            cn_fuzz_expect_error(st, NULL);
        }
    } else {
        cn_fuzz_expect_error(st, NULL); /* e.g. a training plan above the memory cap */
    }
    free(x);
    free(zeros);
    free(ones);
}

static int fuzz_model(const uint8_t *data, size_t size)
{
    /* the fuzzer has nothing to gain from model files larger than this */
    if (size > 65536 || memchr(data, 0, size)) return 0;
    char *text = cn_fuzz_strdup(data, size);
    cn_model *m = NULL, *m2 = NULL;
    char *t1 = NULL, *t2 = NULL;
    cn_status st = cn_model_parse(&m, text, "fuzz.cfg");
    if (st != CN_OK) {
        cn_fuzz_expect_error(st, "fuzz.cfg");
        CN_FUZZ_ASSERT(m == NULL, "a failed parse returned a model");
        free(text);
        return 0;
    }
    /* the round trip */
    CN_FUZZ_ASSERT(cn_model_to_text(m, &t1) == CN_OK, "to_text of a parsed model");
    st = cn_model_parse(&m2, t1, "roundtrip.cfg");
    CN_FUZZ_ASSERT(st == CN_OK, "the written model does not parse back:\n%s", t1);
    CN_FUZZ_ASSERT(cn_model_to_text(m2, &t2) == CN_OK, "to_text of the re-parsed model");
    CN_FUZZ_ASSERT(strcmp(t1, t2) == 0, "the model written, read and written again changed:\n%s\n--- became ---\n%s", t1, t2);
    CN_FUZZ_ASSERT(cn_model_layer_count(m) == cn_model_layer_count(m2), "layer count");
    /* plan: both must agree */
    st = cn_model_plan(m, 1, CN_PLAN_INFER);
    cn_status st2 = cn_model_plan(m2, 1, CN_PLAN_INFER);
    CN_FUZZ_ASSERT((st == CN_OK) == (st2 == CN_OK), "plan %s, plan of the re-parsed model %s", cn_status_name(st),
                   cn_status_name(st2));
    if (st == CN_OK) {
        for (int i = 0; i < cn_model_layer_count(m); i++) {
            cn_layer_info a, b;
            cn_model_layer(m, i, &a);
            cn_model_layer(m2, i, &b);
            CN_FUZZ_ASSERT(!strcmp(a.name, b.name) && cn_shape_equal(&a.out, &b.out) && a.params == b.params,
                           "layer %d ('%s') plans differently after the round trip", i, a.name);
        }
        model_run(m);
    } else {
        cn_fuzz_expect_error(st, NULL);
    }
    cn_free(t1);
    cn_free(t2);
    cn_model_destroy(m);
    cn_model_destroy(m2);
    free(text);
    return 1;
}

CN_FUZZ_TARGET(model)
