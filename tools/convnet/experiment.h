/* experiment.h — `convnet experiment NAME`: reproductions of published results. Each
 * experiment writes into its run directory a results table (results.txt), the same as JSON
 * (results.json) and plots, and returns a CLI status. --quick shortens it for the tests. */
#ifndef CN_EXPERIMENT_H
#define CN_EXPERIMENT_H

#include <stdio.h>

#include "cli.h"

typedef struct exp_ctx {
    const char *out;   /* run directory (created) */
    int quick;
    uint64_t seed;
    FILE *txt;         /* results.txt, also echoed to stdout unless --json */
    int echo;
    cJSON *json;       /* results.json root object */
} exp_ctx;

typedef struct exp_def {
    const char *name;
    const char *summary;
    cn_status (*run)(exp_ctx *x);
} exp_def;

/* printf to results.txt (and stdout when echo) */
void exp_printf(exp_ctx *x, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* path of a model in the zoo: $CONVNET_MODELS, else the source tree's models/ */
const char *exp_model_path(const char *name);
/* load a zoo model by name */
cn_status exp_load_model(cn_model **m, const char *name);
/* seconds on the monotonic clock */
double exp_now(void);
/* learnable parameters of a model (as convnet summary counts them) */
int64_t exp_model_params(const cn_model *m);

/* One training run: model (zoo name) on data, written to x->out/<tag>; fills the final test
 * accuracy, the train accuracy of the last epoch and the wall time. */
typedef struct exp_run {
    const char *tag, *model, *data;
    cn_train_config tc;
    double test_acc, train_acc, seconds;
    int64_t params;
} exp_run;
cn_status exp_train(exp_ctx *x, exp_run *r);

/* One training run of a model the caller owns and has loaded (it stays trained, planned for
 * training) on datasets the caller owns, into x->out/<tag> (log.jsonl, checkpoints and, with
 * save, weights.safetensors). tc is copied; its out_dir and progress are set here. Fills the
 * last epoch's record (NAN / 0 when there is none), the wall time and the parameter count. */
typedef struct exp_fit_result {
    double seconds, train_loss, train_acc, val_loss, val_acc;
    int64_t steps, params;
} exp_fit_result;
cn_status exp_fit(exp_ctx *x, const char *tag, cn_model *m, const cn_dataset *train, const cn_dataset *val, const cn_train_config *tc,
                  int save, exp_fit_result *r);

cn_status exp_mnist1d(exp_ctx *x);
cn_status exp_arith(exp_ctx *x);
cn_status exp_fashion(exp_ctx *x);
cn_status exp_transfer(exp_ctx *x);
cn_status exp_tta(exp_ctx *x);
cn_status exp_segmentation(exp_ctx *x);
cn_status exp_detection(exp_ctx *x);
cn_status exp_inductive_bias(exp_ctx *x);
cn_status exp_random_features(exp_ctx *x);
cn_status exp_mnist1d_best(exp_ctx *x);

#endif
