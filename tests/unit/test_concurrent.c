/* test_concurrent.c — thread-safe inference: one loaded model shared (parameters borrowed)
 * by 8 threads, each with its own activations, running predictions at the same time; the
 * results equal serial ones bit for bit. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"

#define THREADS 8
#define ROUNDS 20
#define BATCH 4

static const char *net = "[input]\nshape=3x12x12\n[conv]\nfilters=8\nkernel=3\npadding=same\n[batch_norm]\n[act]\nkind=relu\n"
                         "[max_pool]\nkernel=2\n[dropout]\np=0.3\n[flatten]\n[dense]\nunits=10\n[softmax]\n";
static float inputs[THREADS][ROUNDS][BATCH * 3 * 144];
static float serial[THREADS][ROUNDS][BATCH * 10];
static float parallel[THREADS][ROUNDS][BATCH * 10];

typedef struct {
    const cn_model *src;
    int id;
    cn_status st;
} job;

static void *worker(void *p)
{
    job *j = p;
    cn_model *m;
    if ((j->st = cn_model_share(&m, j->src)) != CN_OK) return NULL;
    for (int r = 0; r < ROUNDS && j->st == CN_OK; r++) {
        if ((j->st = cn_model_forward(m, inputs[j->id][r], 0)) != CN_OK) break;
        memcpy(parallel[j->id][r], cn_model_output(m, NULL), sizeof parallel[0][0]);
    }
    cn_model_destroy(m);
    return NULL;
}

static void test_eight_threads(void)
{
    cn_model *m;
    CHECK_OK(cn_model_parse(&m, net, "net"));
    CHECK_OK(cn_model_plan(m, BATCH, CN_PLAN_INFER));
    CHECK_OK(cn_model_init(m, 11));
    cn_rng r;
    cn_rng_init(&r, 5, CN_STREAM_USER);
    cn_rng_fill_normal(&r, &inputs[0][0][0], sizeof inputs / sizeof(float), 0, 1);
    for (int t = 0; t < THREADS; t++)
        for (int k = 0; k < ROUNDS; k++) {
            CHECK_OK(cn_model_forward(m, inputs[t][k], 0));
            memcpy(serial[t][k], cn_model_output(m, NULL), sizeof serial[0][0]);
        }
    pthread_t th[THREADS];
    job jobs[THREADS];
    for (int t = 0; t < THREADS; t++) {
        jobs[t] = (job){m, t, CN_OK};
        pthread_create(&th[t], NULL, worker, &jobs[t]);
    }
    for (int t = 0; t < THREADS; t++) {
        pthread_join(th[t], NULL);
        CHECK_MSG(jobs[t].st == CN_OK, "thread %d: %s", t, cn_status_name(jobs[t].st));
    }
    CHECK(!memcmp(serial, parallel, sizeof serial));
    /* a shared model is for inference only, and shares the source's weights */
    cn_model *s;
    CHECK_OK(cn_model_share(&s, m));
    CHECK_ERR(cn_model_plan(s, 2, CN_PLAN_TRAIN), CN_STATUS_INVALID_STATE, "inference only");
    cn_param a, b;
    CHECK_OK(cn_model_param(m, 0, &a));
    CHECK_OK(cn_model_plan(s, 2, CN_PLAN_INFER));
    CHECK_OK(cn_model_param(s, 0, &b));
    CHECK(a.value == b.value);
    cn_model_destroy(s);
    cn_model_destroy(m);
}

int main(void)
{
    RUN(test_eight_threads);
    return cn_test_finish();
}
