/* cmd_train.c — `convnet train MODEL --data DATASET [options]`. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "io/runlog.h"

#define MAX_LIST 64

/* "a,b,c" → up to MAX_LIST pointers into buf */
static int split_list(char *buf, const char **items)
{
    int n = 0;
    for (char *tok = strtok(buf, ","); tok && n < MAX_LIST; tok = strtok(NULL, ",")) items[n++] = tok;
    return n;
}

static cJSON *history_json(const cn_epoch_record *h, int64_t n)
{
    cJSON *a = cJSON_CreateArray();
    for (int64_t i = 0; i < n; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "epoch", (double)h[i].epoch);
        cJSON_AddNumberToObject(o, "step", (double)h[i].step);
        if (isfinite(h[i].train_loss)) cJSON_AddNumberToObject(o, "train_loss", h[i].train_loss);
        if (isfinite(h[i].train_acc)) cJSON_AddNumberToObject(o, "train_acc", h[i].train_acc);
        if (isfinite(h[i].val_loss)) cJSON_AddNumberToObject(o, "val_loss", h[i].val_loss);
        if (isfinite(h[i].val_acc)) cJSON_AddNumberToObject(o, "val_acc", h[i].val_acc);
        cJSON_AddItemToArray(a, o);
    }
    return a;
}

int cmd_train(const cli_cmd *cmd, int argc, char **argv, cli_global *g)
{
    const char *data = NULL, *out = NULL, *resume = NULL, *freeze = NULL, *init_from = NULL, *init_layers = NULL;
    const char *optimizer = "sgd", *schedule = "constant", *milestones = NULL, *nan = "stop";
    int epochs = 10, steps = 0, batch = 32, seed = 0, nesterov = 0, decoupled = 0, amsgrad = 0, step_size = 10, t_max = 0,
        warmup = 0, per_step = 0, patience = 10, ckpt_every = 1, ckpt_steps = 0, early = 0, keep_last = 0, no_progress = 0,
        eval_batch = 0, balanced = 0;
    double lr = 0.01, momentum = 0, dampening = 0, wd = 0, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, gamma = 0.1, eta_min = 0,
           clip = 0, val_split = 0, factor = 0.1;
    cli_opt opts[] = {
        {"--data", OPT_STR, &data, "SPEC", "dataset: mnist1d, fashion-mnist, idx:DIR, npy:DIR (see docs/CLI.md)", 0},
        {"--epochs", OPT_INT, &epochs, "N", "epochs (default 10)", 0},
        {"--steps", OPT_INT, &steps, "N", "stop after N optimizer steps (default: no limit)", 0},
        {"--batch", OPT_INT, &batch, "N", "batch size (default 32)", 0},
        {"--lr", OPT_FLOAT, &lr, "X", "learning rate (default 0.01)", 0},
        {"--optimizer", OPT_STR, &optimizer, "NAME", "sgd | adam | adamw (default sgd)", 0},
        {"--momentum", OPT_FLOAT, &momentum, "X", "SGD momentum (default 0)", 0},
        {"--dampening", OPT_FLOAT, &dampening, "X", "SGD dampening (default 0)", 0},
        {"--nesterov", OPT_FLAG, &nesterov, NULL, "Nesterov momentum", 0},
        {"--weight-decay", OPT_FLOAT, &wd, "X", "weight decay (L2, coupled for sgd/adam; decoupled for adamw)", 0},
        {"--decoupled", OPT_FLAG, &decoupled, NULL, "SGD: decoupled weight decay (SGDW)", 0},
        {"--beta1", OPT_FLOAT, &beta1, "X", "Adam beta1 (default 0.9)", 0},
        {"--beta2", OPT_FLOAT, &beta2, "X", "Adam beta2 (default 0.999)", 0},
        {"--adam-eps", OPT_FLOAT, &eps, "X", "Adam epsilon (default 1e-8)", 0},
        {"--amsgrad", OPT_FLAG, &amsgrad, NULL, "Adam: AMSGrad", 0},
        {"--schedule", OPT_STR, &schedule, "NAME", "constant | step | multistep | exponential | cosine | plateau", 0},
        {"--step-size", OPT_INT, &step_size, "N", "step: decay every N epochs (default 10)", 0},
        {"--gamma", OPT_FLOAT, &gamma, "X", "step/multistep/exponential: factor (default 0.1)", 0},
        {"--milestones", OPT_STR, &milestones, "A,B,..", "multistep: epochs where lr is multiplied by gamma", 0},
        {"--t-max", OPT_INT, &t_max, "N", "cosine: length of the decay (default: all epochs or steps)", 0},
        {"--eta-min", OPT_FLOAT, &eta_min, "X", "cosine: final lr (default 0)", 0},
        {"--warmup", OPT_INT, &warmup, "N", "linear warmup over N epochs (or steps with --per-step)", 0},
        {"--per-step", OPT_FLAG, &per_step, NULL, "the schedule counts optimizer steps instead of epochs", 0},
        {"--factor", OPT_FLOAT, &factor, "X", "plateau: lr factor (default 0.1)", 0},
        {"--patience", OPT_INT, &patience, "N", "plateau: epochs without improvement (default 10)", 0},
        {"--clip", OPT_FLOAT, &clip, "X", "clip the global gradient norm to X", 0},
        {"--seed", OPT_INT, &seed, "N", "seed for initialization, shuffling, dropout (default 0)", 0},
        {"--out", OPT_STR, &out, "RUNDIR", "run directory: log.jsonl, checkpoint, weights, metrics", 0},
        {"--resume", OPT_STR, &resume, "CKPT", "continue from a checkpoint (a file, or a run directory)", 0},
        {"--freeze", OPT_STR, &freeze, "A,B,..", "layers whose parameters stay fixed", 0},
        {"--init-from", OPT_STR, &init_from, "WEIGHTS", "start from these weights (all layers, or --init-layers)", 0},
        {"--init-layers", OPT_STR, &init_layers, "A,B,..", "with --init-from: load only these layers (transfer learning)", 0},
        {"--val-split", OPT_FLOAT, &val_split, "F", "hold out this fraction of the training set for validation", 0},
        {"--balanced", OPT_FLAG, &balanced, NULL, "with --val-split: keep class proportions", 0},
        {"--checkpoint-every", OPT_INT, &ckpt_every, "N", "checkpoint every N epochs (default 1)", 0},
        {"--checkpoint-steps", OPT_INT, &ckpt_steps, "N", "also checkpoint every N steps", 0},
        {"--early-stop", OPT_INT, &early, "N", "stop after N epochs without validation improvement", 0},
        {"--keep-last", OPT_FLAG, &keep_last, NULL, "keep each epoch's last partial batch", 0},
        {"--nan", OPT_STR, &nan, "POLICY", "stop | skip: what a non-finite loss or gradient does (default stop)", 0},
        {"--eval-batch", OPT_INT, &eval_batch, "N", "batch size for evaluation (default: --batch)", 0},
        {"--no-progress", OPT_FLAG, &no_progress, NULL, "no progress display", 0},
        {NULL, OPT_FLAG, NULL, NULL, NULL, 0},
    };
    const char *pos[1];
    int npos;
    int rc = cli_parse(cmd, argc, argv, opts, g, pos, 1, &npos);
    if (rc != CLI_OK) return rc == CLI_HELP_SHOWN ? CLI_OK : rc;
    if (npos != 1) return cli_usage_error(cmd, "expected one MODEL (a model file or a weights file)");
    if (!data) return cli_usage_error(cmd, "--data is required");
    if (epochs < 0 || steps < 0 || batch < 1) return cli_usage_error(cmd, "--epochs/--steps must be >= 0 and --batch >= 1");
    cn_train_config tc = cn_train_defaults();
    cn_optim_kind ok;
    if (cn_optim_kind_parse(&ok, optimizer) != CN_OK) return cli_usage_error(cmd, "--optimizer '%s': expected sgd, adam or adamw", optimizer);
    cn_schedule_kind sk;
    if (cn_schedule_kind_parse(&sk, schedule) != CN_OK)
        return cli_usage_error(cmd, "--schedule '%s': expected constant, step, multistep, exponential, cosine or plateau", schedule);
    if (strcmp(nan, "stop") && strcmp(nan, "skip")) return cli_usage_error(cmd, "--nan '%s': expected stop or skip", nan);
    tc.optim = cn_optim_defaults(ok);
    tc.optim.momentum = momentum;
    tc.optim.dampening = dampening;
    tc.optim.nesterov = nesterov;
    tc.optim.weight_decay = wd;
    tc.optim.decoupled_wd = decoupled;
    if (ok != CN_OPTIM_SGD) tc.optim.beta1 = beta1, tc.optim.beta2 = beta2, tc.optim.eps = eps, tc.optim.amsgrad = amsgrad;
    tc.schedule = cn_schedule_defaults(sk, lr);
    tc.schedule.unit = per_step ? CN_SCHED_PER_STEP : CN_SCHED_PER_EPOCH;
    tc.schedule.gamma = gamma;
    tc.schedule.step_size = step_size;
    tc.schedule.warmup = warmup;
    tc.schedule.eta_min = eta_min;
    tc.schedule.factor = factor;
    tc.schedule.patience = patience;
    tc.schedule.mode_max = 1; /* plateau watches validation accuracy when there is one */
    int64_t ms[MAX_LIST];
    char msbuf[1024];
    if (milestones) {
        snprintf(msbuf, sizeof msbuf, "%s", milestones);
        const char *items[MAX_LIST];
        int n = split_list(msbuf, items);
        for (int i = 0; i < n; i++) {
            char *end;
            ms[i] = strtoll(items[i], &end, 10);
            if (*end || end == items[i]) return cli_usage_error(cmd, "--milestones: '%s' is not an integer", items[i]);
        }
        tc.schedule.milestones = ms;
        tc.schedule.n_milestones = n;
    }
    tc.schedule.t_max = t_max ? t_max : (per_step ? (steps ? steps : 1) : (epochs ? epochs : 1));
    tc.epochs = epochs;
    tc.max_steps = steps;
    if (steps && epochs == 10 && !opts[1].seen) tc.epochs = INT32_MAX; /* --steps alone: as many epochs as needed */
    tc.batch = batch;
    tc.keep_last = keep_last;
    tc.seed = (uint64_t)(uint32_t)seed;
    tc.clip_norm = clip;
    tc.nan_policy = strcmp(nan, "skip") ? CN_NAN_STOP : CN_NAN_SKIP;
    tc.out_dir = out;
    tc.checkpoint_epochs = ckpt_every;
    tc.checkpoint_steps = ckpt_steps;
    tc.early_stop = early;
    tc.progress = !no_progress && !g->quiet && !g->json;
    tc.eval_batch = eval_batch;
    char fbuf[2048];
    const char *frozen[MAX_LIST];
    if (freeze) {
        snprintf(fbuf, sizeof fbuf, "%s", freeze);
        tc.frozen = frozen;
        tc.n_frozen = split_list(fbuf, frozen);
    }

    cn_model *m = NULL;
    cn_dataset *train = NULL, *test = NULL, *tr = NULL, *val = NULL;
    cn_trainer *t = NULL;
    cn_metrics final = {0};
    const char *weights = NULL;
    cn_status st = cli_load_model(pos[0], &weights, &m);
    if (st == CN_OK) st = cn_dataset_open(&train, &test, data);
    if (st == CN_OK) st = cli_ensure_loss(m, cn_dataset_info_of(train));
    if (st == CN_OK && val_split > 0) st = cn_dataset_split(&tr, &val, train, val_split, tc.seed, balanced);
    const cn_dataset *fit_train = tr ? tr : train, *fit_val = val ? val : test;
    /* starting weights: a weights file given as MODEL, or --init-from (optionally some layers) */
    if (st == CN_OK && (weights || init_from)) {
        tc.init = 1;
        if ((st = cn_model_plan(m, batch, CN_PLAN_TRAIN)) == CN_OK && (st = cn_model_init(m, tc.seed)) == CN_OK) {
            if (init_from && init_layers) {
                char lbuf[2048];
                const char *layers[MAX_LIST];
                snprintf(lbuf, sizeof lbuf, "%s", init_layers);
                int n = split_list(lbuf, layers);
                st = cn_model_load_weights_layers(m, init_from, layers, n, CN_WEIGHTS_ALLOW_EXTRA);
            } else {
                st = cli_load_weights(m, init_from ? init_from : weights);
            }
        }
        tc.init = 0;
    }
    if (st == CN_OK) st = cn_trainer_create(&t, m, &tc);
    if (st == CN_OK && resume) {
        char rp[4096];
        struct stat sb;
        if (stat(resume, &sb) == 0 && S_ISDIR(sb.st_mode)) snprintf(rp, sizeof rp, "%s/checkpoint.safetensors", resume);
        else snprintf(rp, sizeof rp, "%s", resume);
        st = cn_trainer_resume(t, rp);
    }
    if (out && st == CN_OK) {
        char p[4096];
        snprintf(p, sizeof p, "%s/model.cfg", out);
        st = cn_model_save(m, p);
    }
    if (st == CN_OK) st = cn_trainer_fit(t, fit_train, fit_val);
    if (st == CN_OK && test) st = cn_evaluate(m, test, eval_batch ? eval_batch : batch, &final);
    if (st == CN_OK && out) {
        char p[4096];
        snprintf(p, sizeof p, "%s/weights.safetensors", out);
        if ((st = cn_model_save_weights(m, p, NULL, NULL, 0)) == CN_OK && test) {
            snprintf(p, sizeof p, "%s/metrics.json", out);
            st = cn_runlog_write_metrics(p, &final, cn_dataset_info_of(test)->name);
        }
    }
    if (st != CN_OK) {
        rc = cli_fail(cmd, g, st);
        goto done;
    }
    int64_t nh;
    const cn_epoch_record *h = cn_trainer_history(t, &nh);
    if (g->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToObject(o, "history", history_json(h, nh));
        if (test) {
            cJSON *f = cJSON_AddObjectToObject(o, "test");
            cJSON_AddStringToObject(f, "dataset", cn_dataset_info_of(test)->name);
            if (isfinite(final.loss)) cJSON_AddNumberToObject(f, "loss", final.loss);
            if (isfinite(final.top1)) cJSON_AddNumberToObject(f, "top1", final.top1);
            if (isfinite(final.top5)) cJSON_AddNumberToObject(f, "top5", final.top5);
        }
        if (out) cJSON_AddStringToObject(o, "run_dir", out);
        rc = cli_print_json(o);
    } else {
        if (test)
            printf("test (%s): loss %.4f  top-1 %.2f%%%s", cn_dataset_info_of(test)->name, final.loss, 100 * final.top1,
                   isfinite(final.top5) ? "" : "\n");
        if (test && isfinite(final.top5)) printf("  top-5 %.2f%%\n", 100 * final.top5);
        if (out) printf("run directory: %s (log.jsonl, checkpoint.safetensors, weights.safetensors%s)\n", out, test ? ", metrics.json" : "");
        rc = CLI_OK;
    }
done:
    cn_metrics_free(&final);
    cn_trainer_destroy(t);
    cn_dataset_destroy(tr);
    cn_dataset_destroy(val);
    cn_dataset_destroy(train);
    cn_dataset_destroy(test);
    cn_model_destroy(m);
    return rc;
}
