/* exp_mnist1d.c — MNIST-1D, convolution versus fully connected:
 *  1. the book's recipe (Prince, Understanding Deep Learning, section 10.2.7 and figure 10.8):
 *     the 2,050-parameter conv net and the 59,065-parameter FC net, plain SGD lr 0.01,
 *     batch 100, 100,000 steps;
 *  2. the MNIST-1D paper's recipe (Greydanus & Kobak): logistic regression, the residual MLP
 *     and the CNN, Adam lr 1e-2, batch 100, 6,000 steps, and the spatially shuffled variant.
 * Published numbers and PyTorch reference runs (../shared/mnist1d/SPEC.md section 4) are
 * printed beside ours. --quick runs a few hundred steps of each (for the tests). */
#include <math.h>
#include <string.h>

#include "experiment.h"

typedef struct {
    const char *tag, *model, *data;
    int adam;
    int64_t steps;
    const char *published; /* what the literature reports, as text */
    double ref_lo, ref_hi; /* reference band for the test accuracy (%), or 0 */
} mnist1d_case;

static const mnist1d_case cases[] = {
    {"udl-conv", "mnist1d-conv", "mnist1d", 0, 100000, "UDL: ~86% (13-15% error); PyTorch ref 86 +- 2%", 84, 88},
    {"udl-fc", "mnist1d-fc", "mnist1d", 0, 100000, "UDL: ~60% (~40% error); PyTorch ref 58 +- 2%", 56, 60},
    {"paper-logistic", "mnist1d-logistic", "mnist1d", 1, 6000, "paper: 32%; PyTorch ref 31.4%", 30, 33},
    {"paper-mlp", "mnist1d-mlp", "mnist1d", 1, 6000, "paper: 68%; PyTorch ref 64.9 +- 1.3%", 62, 70},
    {"paper-cnn", "mnist1d-cnn", "mnist1d", 1, 6000, "paper: 94%; PyTorch ref 94.1 +- 0.5%", 92, 96},
    {"shuffled-mlp", "mnist1d-mlp", "mnist1d:shuffle=1", 1, 6000, "paper: ~68% (shuffling does not matter to an MLP)", 0, 0},
    {"shuffled-cnn", "mnist1d-cnn", "mnist1d:shuffle=1", 1, 6000, "paper: ~56% (the CNN loses its locality prior)", 0, 0},
};

cn_status exp_mnist1d(exp_ctx *x)
{
    cJSON *rows = cJSON_AddArrayToObject(x->json, "runs");
    exp_printf(x, "MNIST-1D (generated in C, 4,000 train / 1,000 test, seed 42)%s\n\n", x->quick ? " -- QUICK RUN, not the full recipe" : "");
    exp_printf(x, "%-15s %-18s %7s %7s %8s %8s %7s  %s\n", "run", "model", "params", "steps", "train%", "test%", "time_s",
               "published / reference");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const mnist1d_case *c = &cases[i];
        exp_run r = {c->tag, c->model, c->data, cn_train_defaults(), 0, 0, 0, 0};
        int64_t steps = x->quick ? (c->adam ? 80 : 120) : c->steps;
        r.tc.batch = 100;
        r.tc.seed = x->seed;
        r.tc.max_steps = steps;
        r.tc.epochs = (steps + 39) / 40; /* 4,000 samples / 100 = 40 steps an epoch */
        r.tc.checkpoint_epochs = x->quick ? 0 : 25;
        if (c->adam) {
            r.tc.optim = cn_optim_defaults(CN_OPTIM_ADAM);
            r.tc.schedule = cn_schedule_defaults(CN_SCHED_CONSTANT, 1e-2);
        } else {
            r.tc.optim = cn_optim_defaults(CN_OPTIM_SGD);
            r.tc.schedule = cn_schedule_defaults(CN_SCHED_CONSTANT, 0.01);
        }
        cn_status st = exp_train(x, &r);
        if (st != CN_OK) return st;
        exp_printf(x, "%-15s %-18s %7lld %7lld %8.2f %8.2f %7.1f  %s\n", c->tag, c->model, (long long)r.params, (long long)steps,
                   100 * r.train_acc, 100 * r.test_acc, r.seconds, c->published);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "run", c->tag);
        cJSON_AddStringToObject(o, "model", c->model);
        cJSON_AddStringToObject(o, "data", c->data);
        cJSON_AddNumberToObject(o, "params", (double)r.params);
        cJSON_AddNumberToObject(o, "steps", (double)steps);
        if (isfinite(r.train_acc)) cJSON_AddNumberToObject(o, "train_acc", r.train_acc);
        if (isfinite(r.test_acc)) cJSON_AddNumberToObject(o, "test_acc", r.test_acc);
        cJSON_AddNumberToObject(o, "seconds", r.seconds);
        cJSON_AddStringToObject(o, "published", c->published);
        if (c->ref_hi > 0 && !x->quick) {
            int inside = 100 * r.test_acc >= c->ref_lo && 100 * r.test_acc <= c->ref_hi;
            cJSON_AddBoolToObject(o, "within_reference_band", inside);
        }
        cJSON_AddItemToArray(rows, o);
    }
    exp_printf(x, "\nEach run's curves: <run>/log.jsonl (convnet plot <run> --out curves.svg).\n");
    return CN_OK;
}
