/* test_backward_hook.c — what data parallelism needs from the model (issue 11):
 * cn_model_set_backward_hook reports every parameter exactly once, each layer's gradients
 * being final when reported (so a bucket can be sent while backward goes on), on a DAG whose
 * layers are not written in topological order; cn_model_set_seed gives another stream of
 * run-time randomness without touching the parameters. */
#include <string.h>

#include "test.h"

/* a residual DAG written out of order: the add node "sum" is declared before the branch "c3"
 * it reads, so reverse topological order differs from reverse file order */
static const char *dag =
    "[input]\nname = x\nshape = 2x6x6\n"
    "[conv]\nname = c1\nfilters = 3\nkernel = 3\npadding = same\n"
    "[act]\nname = r1\nkind = tanh\n"
    "[conv]\nname = c2\ninput = r1\nfilters = 3\nkernel = 3\npadding = same\n"
    "[add]\nname = sum\ninput = r1,c3\n"
    "[conv]\nname = c3\ninput = c2\nfilters = 3\nkernel = 1\n"
    "[flatten]\nname = flat\ninput = sum\n"
    "[dense]\nname = fc\nunits = 4\n"
    "[softmax_cross_entropy]\nname = loss\n";

#define MAX_PARAMS 32
typedef struct {
    cn_model *m;
    int calls, seen[MAX_PARAMS], order[MAX_PARAMS], n_order;
    float *snap[MAX_PARAMS]; /* each gradient as it was when reported */
} hook_log;

static void record(void *user, int first, int n)
{
    hook_log *h = user;
    h->calls++;
    for (int p = first; p < first + n; p++) {
        if (p < 0 || p >= MAX_PARAMS) continue;
        cn_param q;
        cn_model_param(h->m, p, &q);
        h->seen[p]++;
        h->order[h->n_order++] = p;
        int64_t k = cn_shape_numel(&q.shape);
        h->snap[p] = cn_malloc((size_t)k * sizeof(float), "snapshot");
        if (h->snap[p]) memcpy(h->snap[p], q.grad, (size_t)k * sizeof(float));
    }
}

static void run_step(cn_model *m, const float *x, const float *t)
{
    CHECK_OK(cn_model_set_target(m, t));
    CHECK_OK(cn_model_forward(m, x, 1));
    cn_model_zero_grad(m);
    CHECK_OK(cn_model_backward(m, NULL));
}

static void test_hook_reports_final_gradients(void)
{
    cn_model *m;
    CHECK_OK(cn_model_parse(&m, dag, "dag.cfg"));
    CHECK_OK(cn_model_plan(m, 3, CN_PLAN_TRAIN));
    CHECK_OK(cn_model_init(m, 7));
    int np = cn_model_param_count(m);
    CHECK(np == 8 && np <= MAX_PARAMS); /* c1, c2, c3, fc: weight and bias each */
    float x[3 * 2 * 6 * 6], t[3] = {0, 3, 1};
    cn_rng r;
    cn_rng_init(&r, 11, 0);
    for (size_t i = 0; i < sizeof x / sizeof x[0]; i++) x[i] = cn_rng_uniform(&r) * 2 - 1;

    hook_log h;
    memset(&h, 0, sizeof h);
    h.m = m;
    cn_model_set_backward_hook(m, record, &h);
    run_step(m, x, t);
    /* one call per layer that runs backward (every layer but the input) */
    CHECK_EQ_INT(h.calls, cn_model_layer_count(m) - 1);
    for (int p = 0; p < np; p++) CHECK_MSG(h.seen[p] == 1, "parameter %d reported %d times", p, h.seen[p]);
    /* reported when final: the snapshot equals the gradient after the whole backward, bit for
     * bit (a hook called before the layer's backward would see zeros; one called before a
     * later accumulation would see a partial sum) */
    for (int p = 0; p < np; p++) {
        cn_param q;
        cn_model_param(m, p, &q);
        double norm = 0;
        for (int64_t k = 0; k < cn_shape_numel(&q.shape); k++) norm += fabs(q.grad[k]);
        CHECK_MSG(norm > 0, "%s has a zero gradient: the check below would be vacuous", q.name);
        CHECK_MSG(h.snap[p] && !memcmp(h.snap[p], q.grad, (size_t)cn_shape_numel(&q.shape) * sizeof(float)),
                  "%s changed after it was reported", q.name);
    }
    /* order: fc before c3 before c2 before c1 (reverse topological), whatever the file order */
    int pos[MAX_PARAMS];
    for (int i = 0; i < h.n_order; i++) pos[h.order[i]] = i;
    /* parameters in file order: c1 0,1; c2 2,3; c3 4,5; fc 6,7 */
    CHECK(pos[6] < pos[4] && pos[4] < pos[2] && pos[2] < pos[0]);
    for (int p = 0; p < MAX_PARAMS; p++) cn_free(h.snap[p]);

    /* removed: no more calls */
    memset(&h, 0, sizeof h);
    h.m = m;
    cn_model_set_backward_hook(m, NULL, NULL);
    run_step(m, x, t);
    CHECK_EQ_INT(h.calls, 0);
    cn_model_destroy(m);
}

/* dropout output of a fixed input under a given run-time seed */
static void dropout_out(uint64_t seed, int set_seed_after_init, float *y, int n)
{
    cn_model *m;
    CHECK_OK(cn_model_parse(&m, "[input]\nname = x\nshape = 64\n[dropout]\nname = d\np = 0.5\n", "drop.cfg"));
    CHECK_OK(cn_model_plan(m, 1, CN_PLAN_TRAIN));
    CHECK_OK(cn_model_init(m, 1));
    if (set_seed_after_init) cn_model_set_seed(m, seed);
    float x[64];
    for (int i = 0; i < 64; i++) x[i] = 1;
    CHECK_OK(cn_model_forward(m, x, 1));
    memcpy(y, cn_model_output(m, NULL), (size_t)n * sizeof(float));
    cn_model_destroy(m);
}

static void test_set_seed(void)
{
    float a[64], b[64], c[64];
    dropout_out(1, 0, a, 64); /* the init seed */
    dropout_out(1, 1, b, 64); /* set to the same seed: the same masks */
    dropout_out(2, 1, c, 64); /* another seed: other masks (64 units at p = 0.5: equal by chance 2^-64) */
    CHECK(!memcmp(a, b, sizeof a));
    CHECK(memcmp(a, c, sizeof a) != 0);
}

int main(void)
{
    RUN(test_hook_reports_final_gradients);
    RUN(test_set_seed);
    return cn_test_finish();
}
