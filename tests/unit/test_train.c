/* test_train.c — the trainer through the C API: learning, frozen layers, NaN handling,
 * checkpoints (round trip, corruption), early stopping, and metrics on hand-made data. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"
#include "test.h"

static const char *bars(void)
{
    static char spec[1024];
    snprintf(spec, sizeof spec, "npy:%s/bars", CN_FIXTURE_DIR);
    return spec;
}

static cn_model *bars_model(void)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/bars/model.cfg", CN_FIXTURE_DIR);
    cn_model *m = NULL;
    if (cn_model_load(&m, p) != CN_OK) cn_test_fail(__FILE__, __LINE__, "%s", cn_last_error());
    return m;
}

static cn_train_config quick(void)
{
    cn_train_config tc = cn_train_defaults();
    tc.epochs = 3, tc.batch = 20, tc.seed = 2, tc.progress = 0;
    tc.optim.momentum = 0.9;
    tc.schedule.base_lr = 0.1;
    return tc;
}

/* 1 if the two models' parameters are bit-identical */
static int same_params(const cn_model *a, const cn_model *c)
{
    int same = cn_model_param_count(a) == cn_model_param_count(c);
    for (int i = 0; same && i < cn_model_param_count(a); i++) {
        cn_param pa, pc;
        cn_model_param(a, i, &pa);
        cn_model_param(c, i, &pc);
        same &= !memcmp(pa.value, pc.value, (size_t)cn_shape_numel(&pa.shape) * 4);
    }
    return same;
}

static void test_learns_and_freezes(void)
{
    cn_dataset *tr, *te;
    CHECK_OK(cn_dataset_open(&tr, &te, bars()));
    cn_model *m = bars_model();
    if (!m || !tr) return;
    cn_train_config tc = quick();
    const char *frozen[] = {"c1"};
    tc.frozen = frozen, tc.n_frozen = 1;
    cn_trainer *t;
    CHECK_OK(cn_trainer_create(&t, m, &tc));
    cn_param w, fc;
    CHECK_OK(cn_model_param(m, 0, &w));
    CHECK_OK(cn_model_param(m, 2, &fc));
    CHECK(!strcmp(w.name, "c1.weight") && !strcmp(fc.name, "fc.weight"));
    float w0 = w.value[3], fc0 = fc.value[3];
    CHECK_OK(cn_trainer_fit(t, tr, te));
    CHECK(w.value[3] == w0);   /* frozen: untouched */
    CHECK(fc.value[3] != fc0); /* trained */
    int64_t n;
    const cn_epoch_record *h = cn_trainer_history(t, &n);
    CHECK_EQ_INT(n, 3);
    CHECK(h[2].train_loss < h[0].train_loss);
    CHECK(h[2].val_acc > 0.6); /* random conv features + a trained classifier still separate bars */
    CHECK_EQ_INT(h[2].step, 3 * (300 / 20));
    cn_trainer_destroy(t);
    cn_model_destroy(m);
    cn_dataset_destroy(tr);
    cn_dataset_destroy(te);
}

static void test_checkpoint_round_trip(void)
{
    cn_dataset *tr, *te;
    CHECK_OK(cn_dataset_open(&tr, &te, bars()));
    char dir[256], ck[300];
    snprintf(dir, sizeof dir, "/tmp/cn_test_train_%d", (int)getpid());
    snprintf(ck, sizeof ck, "%s/checkpoint.safetensors", dir);
    /* uninterrupted 4 epochs vs 2 + resume to 4: bit-identical parameters (1 thread) */
    cn_set_num_threads(1);
    cn_model *a = bars_model(), *b = bars_model(), *c = bars_model();
    cn_train_config tc = quick();
    tc.epochs = 4;
    tc.optim = cn_optim_defaults(CN_OPTIM_ADAM);
    tc.schedule = cn_schedule_defaults(CN_SCHED_STEP, 0.01);
    tc.schedule.step_size = 1;
    tc.schedule.gamma = 0.5;
    cn_trainer *ta, *tb, *tcc;
    CHECK_OK(cn_trainer_create(&ta, a, &tc));
    CHECK_OK(cn_trainer_fit(ta, tr, te));
    tc.out_dir = dir;
    tc.epochs = 2;
    CHECK_OK(cn_trainer_create(&tb, b, &tc));
    CHECK_OK(cn_trainer_fit(tb, tr, te));
    tc.epochs = 4;
    tc.out_dir = NULL;
    CHECK_OK(cn_trainer_create(&tcc, c, &tc));
    CHECK_OK(cn_trainer_resume(tcc, ck));
    CHECK_OK(cn_trainer_fit(tcc, tr, te));
    CHECK(same_params(a, c));
    int64_t n;
    cn_trainer_history(tcc, &n);
    CHECK_EQ_INT(n, 4); /* the history came back with the checkpoint */
    /* a damaged checkpoint is refused with its name, and the model is unchanged */
    FILE *f = fopen(ck, "r+b");
    fseek(f, 40, SEEK_SET);
    fputc('#', f); /* inside the JSON header */
    fclose(f);
    cn_param p;
    cn_model_param(c, 0, &p);
    float before = p.value[0];
    cn_status st = cn_trainer_resume(tcc, ck);
    CHECK(st != CN_OK && strstr(cn_last_error(), "checkpoint.safetensors"));
    CHECK(p.value[0] == before);
    cn_trainer_destroy(ta), cn_trainer_destroy(tb), cn_trainer_destroy(tcc);
    cn_model_destroy(a), cn_model_destroy(b), cn_model_destroy(c);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
    cn_set_num_threads(0);
    cn_dataset_destroy(tr), cn_dataset_destroy(te);
}

/* max_steps stopping inside an epoch: the checkpoint resumes inside it, so 5 steps + resume
 * to 16 equals 16 uninterrupted steps (the bars set has 7 batches of 20 an epoch) */
static void test_steps_stop_mid_epoch(void)
{
    cn_dataset *tr, *te;
    CHECK_OK(cn_dataset_open(&tr, &te, bars()));
    if (!tr) return;
    char dir[256], ck[300];
    snprintf(dir, sizeof dir, "/tmp/cn_test_steps_%d", (int)getpid());
    snprintf(ck, sizeof ck, "%s/checkpoint.safetensors", dir);
    cn_set_num_threads(1);
    cn_model *a = bars_model(), *b = bars_model(), *c = bars_model();
    cn_train_config tc = quick();
    tc.epochs = 10;
    tc.max_steps = 16;
    cn_trainer *ta, *tb, *tcc;
    CHECK_OK(cn_trainer_create(&ta, a, &tc));
    CHECK_OK(cn_trainer_fit(ta, tr, NULL));
    tc.max_steps = 5;
    tc.out_dir = dir;
    CHECK_OK(cn_trainer_create(&tb, b, &tc));
    CHECK_OK(cn_trainer_fit(tb, tr, NULL));
    tc.max_steps = 16;
    tc.out_dir = NULL;
    CHECK_OK(cn_trainer_create(&tcc, c, &tc));
    CHECK_OK(cn_trainer_resume(tcc, ck));
    CHECK_OK(cn_trainer_fit(tcc, tr, NULL));
    CHECK(same_params(a, c));
    int64_t n;
    const cn_epoch_record *h = cn_trainer_history(tcc, &n);
    CHECK(n >= 1 && h[n - 1].step == 16);
    cn_trainer_destroy(ta), cn_trainer_destroy(tb), cn_trainer_destroy(tcc);
    cn_model_destroy(a), cn_model_destroy(b), cn_model_destroy(c);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
    cn_set_num_threads(0);
    cn_dataset_destroy(tr), cn_dataset_destroy(te);
}


static void test_nan_policies(void)
{
    cn_dataset *tr, *te;
    CHECK_OK(cn_dataset_open(&tr, &te, bars()));
    cn_model *m = bars_model();
    cn_train_config tc = quick();
    tc.schedule.base_lr = 1e30; /* diverges at once */
    cn_trainer *t;
    CHECK_OK(cn_trainer_create(&t, m, &tc));
    CHECK_ERR(cn_trainer_fit(t, tr, NULL), CN_STATUS_INVALID_STATE, "not finite");
    CHECK(strstr(cn_last_error(), "; stopped (the last checkpoint is intact)"));
    cn_trainer_destroy(t);
    /* a NaN weight in the dense layer: the message names that layer as where NaN first
     * appears in the forward pass, not the first parameter with a bad gradient (c1) */
    tc.schedule.base_lr = 0.1;
    CHECK_OK(cn_trainer_create(&t, m, &tc));
    cn_param fc;
    CHECK_OK(cn_model_param(m, 2, &fc));
    CHECK(!strcmp(fc.name, "fc.weight"));
    fc.value[5] = NAN;
    CHECK_ERR(cn_trainer_fit(t, tr, NULL), CN_STATUS_INVALID_STATE, "in the output of layer 'fc' (dense)");
    CHECK(strstr(cn_last_error(), "epoch 1 step 1: the loss (") && strstr(cn_last_error(), "nan) is not finite"));
    cn_trainer_destroy(t);
    tc.schedule.base_lr = 1e30;
    tc.nan_policy = CN_NAN_SKIP;
    CHECK_OK(cn_trainer_create(&t, m, &tc));
    CHECK_OK(cn_trainer_fit(t, tr, NULL)); /* skips the bad steps instead */
    cn_trainer_destroy(t);
    cn_model_destroy(m);
    cn_dataset_destroy(tr), cn_dataset_destroy(te);
}

static void test_early_stopping_and_errors(void)
{
    cn_dataset *tr, *te;
    CHECK_OK(cn_dataset_open(&tr, &te, bars()));
    cn_model *m = bars_model();
    cn_train_config tc = quick();
    tc.epochs = 50;
    tc.schedule.base_lr = 0; /* nothing improves */
    tc.early_stop = 2;
    cn_trainer *t;
    CHECK_OK(cn_trainer_create(&t, m, &tc));
    CHECK_OK(cn_trainer_fit(t, tr, te));
    int64_t n;
    cn_trainer_history(t, &n);
    CHECK_EQ_INT(n, 3); /* the first epoch sets the best, two more without improvement */
    cn_trainer_destroy(t);
    cn_model_destroy(m);
    /* a model without a loss layer */
    CHECK_OK(cn_model_parse(&m, "[input]\nshape=1x8x8\n[flatten]\n[dense]\nunits=3\n", "noloss"));
    CHECK_ERR(cn_trainer_create(&t, m, &tc), CN_STATUS_INVALID_ARG, "must end with a loss layer");
    cn_model_destroy(m);
    cn_dataset_destroy(tr), cn_dataset_destroy(te);
}

/* metrics on a hand-made case: 4 samples, 3 classes, known predictions */
static void test_metrics(void)
{
    /* a dense layer with identity weights and zero bias: logits = inputs */
    cn_model *m;
    CHECK_OK(cn_model_parse(&m, "[input]\nshape=3\n[dense]\nunits=3\nbias=false\n[softmax_cross_entropy]\n", "id"));
    CHECK_OK(cn_model_plan(m, 4, CN_PLAN_INFER));
    cn_param w;
    CHECK_OK(cn_model_param(m, 0, &w));
    memset(w.value, 0, 9 * 4);
    w.value[0] = w.value[4] = w.value[8] = 1;
    const float x[12] = {5, 1, 0, 0, 5, 1, 0, 5, 1, 1, 0, 5};
    const float y[4] = {0, 1, 2, 2}; /* predictions 0, 1, 1, 2: three right */
    cn_dataset_info info = {.n = 4, .sample = {1, {3}}, .target_kind = CN_TARGET_CLASS, .num_classes = 3, .name = "hand"};
    cn_dataset *d;
    CHECK_OK(cn_dataset_from_arrays(&d, &info, x, y));
    cn_metrics mt;
    CHECK_OK(cn_evaluate(m, d, 3, &mt)); /* batches of 3 and 1: re-plans for the last */
    CHECK_EQ_INT(mt.count, 4);
    CHECK_NEAR(mt.top1, 0.75, 1e-12);
    CHECK(isnan(mt.top5)); /* fewer than 5 classes */
    CHECK_EQ_INT(mt.confusion[2 * 3 + 1], 1); /* true 2, predicted 1 */
    CHECK_EQ_INT(mt.confusion[2 * 3 + 2], 1);
    CHECK_NEAR(mt.per_class[2], 0.5, 1e-12);
    /* loss: mean of -log softmax at the true class */
    double want = 0;
    for (int i = 0; i < 4; i++) {
        double z = 0;
        for (int k = 0; k < 3; k++) z += exp(x[3 * i + k]);
        want += -(x[3 * i + (int)y[i]] - log(z)) / 4;
    }
    CHECK_NEAR(mt.loss, want, 1e-5);
    cn_metrics_free(&mt);
    cn_dataset_destroy(d);
    cn_model_destroy(m);
}

int main(void)
{
    RUN(test_learns_and_freezes);
    RUN(test_checkpoint_round_trip);
    RUN(test_steps_stop_mid_epoch);
    RUN(test_nan_policies);
    RUN(test_early_stopping_and_errors);
    RUN(test_metrics);
    return cn_test_finish();
}
