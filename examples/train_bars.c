/* train_bars.c — training from C without the CLI: load a model file and a dataset, train
 * with SGD + momentum and a cosine schedule, evaluate, save self-describing weights, and
 * load them back for inference.
 *     train_bars [FIXTURES_DIR]     (default tests/fixtures; reads FIXTURES_DIR/bars) */
#include <convnet/convnet.h>
#include <stdio.h>
#include <string.h>

#define TRY(call)                                                                                                      \
    do {                                                                                                               \
        if ((call) != CN_OK) {                                                                                         \
            fprintf(stderr, "train_bars: %s\n", cn_last_error());                                                      \
            return 1;                                                                                                  \
        }                                                                                                              \
    } while (0)

int main(int argc, char **argv)
{
    const char *fx = argc > 1 ? argv[1] : "tests/fixtures";
    char path[1024], spec[1024];
    snprintf(path, sizeof path, "%s/bars/model.cfg", fx);
    snprintf(spec, sizeof spec, "npy:%s/bars", fx);

    cn_model *m;
    cn_dataset *train, *test;
    TRY(cn_model_load(&m, path));
    TRY(cn_dataset_open(&train, &test, spec));

    cn_train_config tc = cn_train_defaults();
    tc.epochs = 5, tc.batch = 20, tc.seed = 1, tc.progress = 0;
    tc.optim.momentum = 0.9;
    tc.schedule = cn_schedule_defaults(CN_SCHED_COSINE, 0.1);
    tc.schedule.t_max = 5;
    cn_trainer *t;
    TRY(cn_trainer_create(&t, m, &tc));
    TRY(cn_trainer_fit(t, train, test));
    int64_t n;
    const cn_epoch_record *h = cn_trainer_history(t, &n);
    printf("loss %.4f -> %.4f over %lld epochs\n", h[0].train_loss, h[n - 1].train_loss, (long long)n);

    cn_metrics mt;
    TRY(cn_evaluate(m, test, 50, &mt));
    printf("test accuracy %.1f%% on %lld samples\n", 100 * mt.top1, (long long)mt.count);
    int good = h[n - 1].train_loss < 0.5 * h[0].train_loss && mt.top1 > 0.9;

    /* weights carry the model text: inference from the file alone */
    const char *w = "train_bars_weights.safetensors";
    TRY(cn_model_save_weights(m, w, NULL, NULL, 0));
    cn_model *m2;
    TRY(cn_model_load_file_weights(&m2, w, 1, CN_PLAN_INFER));
    float x[64];
    float y;
    TRY(cn_dataset_get(test, 0, x, &y));
    TRY(cn_model_forward(m2, x, 0));
    cn_shape s;
    const float *logits = cn_model_output(m2, &s);
    int best = 0;
    for (int c = 1; c < s.dim[1]; c++)
        if (logits[c] > logits[best]) best = c;
    printf("sample 0: predicted %d, true %d\n", best, (int)y);
    remove(w);

    cn_metrics_free(&mt);
    cn_trainer_destroy(t);
    cn_model_destroy(m2);
    cn_model_destroy(m);
    cn_dataset_destroy(train);
    cn_dataset_destroy(test);
    return good ? 0 : 1;
}
