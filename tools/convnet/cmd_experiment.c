/* cmd_experiment.c — `convnet experiment NAME [--quick] [--out DIR]`: the list of experiments
 * and what they share (run directories, results files, training runs). */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "experiment.h"
#include "io/file.h"

static const exp_def experiments[] = {
    {"mnist1d-conv-vs-fc", "MNIST-1D: convolution vs fully connected (UDL fig. 10.8; the MNIST-1D paper's table)", exp_mnist1d},
    {"mnist1d-best", "MNIST-1D: a convnet-designed 1D CNN past the paper's human baseline (96%)", exp_mnist1d_best},
    {"fashion-mnist", "Fashion-MNIST: LeNet-5, 2 conv + pooling + BN, a small ResNet with augmentation", exp_fashion},
    {"conv-arithmetic", "the lectures' convolution arithmetic, computed and checked", exp_arith},
    {"transfer", "Fashion-MNIST classes 0-4 to 5-9 with 100 examples each: scratch, frozen features, fine-tuning", exp_transfer},
    {"segmentation", "U-Net on synthetic shapes: pixel accuracy and mean IoU, with a picture", exp_segmentation},
    {"detection", "YOLO-style detector on synthetic canvases: mAP@0.5, with a picture", exp_detection},
    {"inductive-bias", "conv vs FC at equal parameters on translated inputs: equivariance and invariance", exp_inductive_bias},
    {"random-features", "random frozen conv features + trained classifier vs the fully trained network", exp_random_features},
    {"tta", "Fashion-MNIST: test-time augmentation (5 crops + mirrors) vs single crop", exp_tta},
    {NULL, NULL, NULL},
};

void exp_printf(exp_ctx *x, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (x->txt) {
        va_list aq;
        va_copy(aq, ap);
        vfprintf(x->txt, fmt, aq);
        va_end(aq);
    }
    if (x->echo) vprintf(fmt, ap);
    va_end(ap);
    if (x->echo) fflush(stdout);
}

const char *exp_model_path(const char *name)
{
    static char p[4096];
    const char *dir = getenv("CONVNET_MODELS");
    snprintf(p, sizeof p, "%s/%s.cfg", dir && *dir ? dir : CN_MODELS_DIR, name);
    return p;
}

cn_status exp_load_model(cn_model **m, const char *name) { return cn_model_load(m, exp_model_path(name)); }

double exp_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int64_t exp_model_params(const cn_model *m)
{
    int64_t p = 0;
    for (int i = 0; i < cn_model_layer_count(m); i++) {
        cn_layer_info li;
        if (cn_model_layer(m, i, &li) == CN_OK) p += li.params;
    }
    return p;
}

cn_status exp_fit(exp_ctx *x, const char *tag, cn_model *m, const cn_dataset *train, const cn_dataset *val, const cn_train_config *tc,
                  int save, exp_fit_result *r)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/%s", x->out, tag);
    cn_train_config c = *tc;
    c.out_dir = dir;
    c.progress = 0;
    cn_trainer *t = NULL;
    double t0 = exp_now();
    cn_status st = cn_trainer_create(&t, m, &c);
    if (st == CN_OK) st = cn_trainer_fit(t, train, val);
    r->seconds = exp_now() - t0;
    r->train_loss = r->train_acc = r->val_loss = r->val_acc = NAN;
    r->steps = 0;
    r->params = exp_model_params(m);
    if (st == CN_OK) {
        int64_t n;
        const cn_epoch_record *h = cn_trainer_history(t, &n);
        if (n) {
            r->train_loss = h[n - 1].train_loss, r->train_acc = h[n - 1].train_acc;
            r->val_loss = h[n - 1].val_loss, r->val_acc = h[n - 1].val_acc;
            r->steps = h[n - 1].step;
        }
        char p[4200];
        snprintf(p, sizeof p, "%s/weights.safetensors", dir);
        if (save) st = cn_model_save_weights(m, p, NULL, NULL, 0);
    }
    cn_trainer_destroy(t);
    return st;
}

cn_status exp_train(exp_ctx *x, exp_run *r)
{
    cn_model *m = NULL;
    cn_dataset *train = NULL, *test = NULL;
    exp_fit_result fr;
    cn_status st = exp_load_model(&m, r->model);
    if (st == CN_OK) st = cn_dataset_open(&train, &test, r->data);
    if (st == CN_OK) st = exp_fit(x, r->tag, m, train, test, &r->tc, 1, &fr);
    if (st == CN_OK) r->train_acc = fr.train_acc, r->test_acc = fr.val_acc, r->seconds = fr.seconds, r->params = fr.params;
    cn_dataset_destroy(train);
    cn_dataset_destroy(test);
    cn_model_destroy(m);
    return st;
}

int cmd_experiment(const cli_cmd *cmd, int argc, char **argv, cli_global *g)
{
    int quick = 0, seed = 0;
    const char *out = NULL;
    cli_opt opts[] = {
        {"--quick", OPT_FLAG, &quick, NULL, "a shortened run (for tests)", 0},
        {"--out", OPT_STR, &out, "DIR", "run directory (default runs/<experiment>)", 0},
        {"--seed", OPT_INT, &seed, "N", "seed (default 0)", 0},
        {NULL, OPT_FLAG, NULL, NULL, NULL, 0},
    };
    const char *pos[1];
    int npos;
    int rc = cli_parse(cmd, argc, argv, opts, g, pos, 1, &npos);
    if (rc != CLI_OK) return rc == CLI_HELP_SHOWN ? CLI_OK : rc;
    if (npos != 1) {
        printf("experiments:\n");
        for (const exp_def *e = experiments; e->name; e++) printf("  %-20s %s\n", e->name, e->summary);
        return npos ? CLI_USAGE : CLI_OK;
    }
    const exp_def *e = experiments;
    while (e->name && strcmp(e->name, pos[0])) e++;
    if (!e->name) return cli_usage_error(cmd, "unknown experiment '%s' (run 'convnet experiment' for the list)", pos[0]);
    char dir[4096];
    if (out) snprintf(dir, sizeof dir, "%s", out);
    else snprintf(dir, sizeof dir, "runs/%s", e->name);
    cn_status made = cn_make_dirs(dir);
    if (made != CN_OK) return cli_fail(cmd, g, made);
    char p[4200];
    snprintf(p, sizeof p, "%s/results.txt", dir);
    exp_ctx x = {dir, quick, (uint64_t)(uint32_t)seed, fopen(p, "w"), !g->json, cJSON_CreateObject()};
    if (!x.txt) return cli_fail(cmd, g, cn_set_error(CN_STATUS_IO, "%s: cannot write", p));
    cJSON_AddStringToObject(x.json, "experiment", e->name);
    cJSON_AddBoolToObject(x.json, "quick", quick);
    cn_status st = e->run(&x);
    fclose(x.txt);
    if (st != CN_OK) {
        cJSON_Delete(x.json);
        return cli_fail(cmd, g, st);
    }
    snprintf(p, sizeof p, "%s/results.json", dir);
    char *s = cJSON_Print(x.json);
    FILE *f = fopen(p, "w");
    if (f && s) fprintf(f, "%s\n", s);
    if (f) fclose(f);
    cJSON_free(s);
    if (g->json) return cli_print_json(x.json);
    cJSON_Delete(x.json);
    printf("results: %s/results.txt, %s/results.json\n", dir, dir);
    return CLI_OK;
}
