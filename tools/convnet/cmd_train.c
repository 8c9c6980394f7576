/* cmd_train.c — `convnet train MODEL --data DATASET [options]`; started by an MPI launcher
 * (`mpirun -np P convnet train ...`), P processes train one model (docs/DISTRIBUTED.md). */
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "convnet/dist.h"
#include "io/runlog.h"

#define MAX_LIST 64

/* "a,b,c" → up to MAX_LIST pointers into buf */
static int split_list(char *buf, const char **items)
{
    int n = 0;
    for (char *tok = strtok(buf, ","); tok && n < MAX_LIST; tok = strtok(NULL, ",")) items[n++] = tok;
    return n;
}

/* Data parallelism: when the launcher ends the job because another process died (Open MPI
 * sends SIGTERM to the survivors), say so and how to continue, instead of vanishing. */
static char term_msg[1200];
static size_t term_len;

static void on_sigterm(int sig)
{
    (void)sig;
    ssize_t w = write(STDERR_FILENO, term_msg, term_len);
    (void)w;
    _exit(143);
}

static void catch_launcher_stop(int rank, int size, const char *out)
{
    int n = snprintf(term_msg, sizeof term_msg,
                     "convnet train: process %d of %d: stopped by the MPI launcher (another process exited, or the job was "
                     "cancelled)%s%s%s\n",
                     rank, size, out ? "; continue from the last checkpoint with --resume " : "", out ? out : "",
                     out ? " and the same options" : "");
    term_len = n < 0 ? 0 : (size_t)n < sizeof term_msg ? (size_t)n : sizeof term_msg - 1;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigterm;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
}

/* threads per process: the cores this process may use, shared with the other processes of
 * its machine (unless --threads or CONVNET_NUM_THREADS says) */
static void threads_per_process(const cli_global *g, int local_size)
{
    if (g->threads || getenv("CONVNET_NUM_THREADS")) return;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int n = (int)(cores > 0 ? cores : 1) / (local_size > 0 ? local_size : 1);
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) < n) n = CPU_COUNT(&set);
    cn_set_num_threads(n < 1 ? 1 : n > 256 ? 256 : n);
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
    const char *optimizer = "sgd", *schedule = "constant", *milestones = NULL, *nan = "stop", *augment = NULL;
    int epochs = 10, steps = 0, batch = 32, seed = 0, nesterov = 0, decoupled = 0, amsgrad = 0, step_size = 10, t_max = 0,
        warmup = 0, per_step = 0, patience = 10, ckpt_every = 1, ckpt_steps = 0, early = 0, keep_last = 0, no_progress = 0,
        eval_batch = 0, profile = 0, balanced = 0, bucket_kb = 0, workers = -1;
    double lr = 0.01, momentum = 0, dampening = 0, wd = 0, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, gamma = 0.1, eta_min = 0,
           clip = 0, val_split = 0, factor = 0.1, comm_timeout = 300;
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
        {"--augment", OPT_STR, &augment, "OPS", "augment training samples on the fly, e.g. \"hflip,crop=4\" (convnet augment --help)", 0},
        {"--workers", OPT_INT, &workers, "N", "background threads preparing batches (default 2)", 0},
        {"--no-progress", OPT_FLAG, &no_progress, NULL, "no progress display", 0},
        {"--profile", OPT_FLAG, &profile, NULL, "time every layer's forward and backward over the training steps; "
                                                "print the table at the end", 0},
        {"--comm-timeout", OPT_FLOAT, &comm_timeout, "S", "with mpirun: a process that waits S seconds on a dead or hung one "
                                                         "fails, ending the job (default 300)", 0},
        {"--bucket-kb", OPT_INT, &bucket_kb, "N", "with mpirun: sum gradients in buckets of about N KiB (default 0: an "
                                                  "eighth of them, 16..4096)", 0},
        {NULL, OPT_FLAG, NULL, NULL, NULL, 0},
    };
    const char *pos[1];
    int npos;
    int rc = cli_parse(cmd, argc, argv, opts, g, pos, 1, &npos);
    if (rc != CLI_OK) return rc == CLI_HELP_SHOWN ? CLI_OK : rc;
    if (npos != 1) return cli_usage_error(cmd, "expected one MODEL (a model file or a weights file)");
    if (!data) return cli_usage_error(cmd, "--data is required");
    if (epochs < 0 || steps < 0 || batch < 1) return cli_usage_error(cmd, "--epochs/--steps must be >= 0 and --batch >= 1");
    if (!(comm_timeout > 0) || bucket_kb < 0) return cli_usage_error(cmd, "--comm-timeout must be > 0 and --bucket-kb >= 0 (0: automatic)");
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
    cn_status st = CN_OK;
    /* started by an MPI launcher: one model over all the processes; rank 0 writes and prints */
    cn_dist *dist = NULL;
    const cn_train_comm *comm = NULL;
    int rank = 0, procs = 1;
    if (cn_dist_launched()) {
        cn_dist_config dc = cn_dist_defaults();
        dc.timeout_s = comm_timeout;
        dc.bucket_bytes = (size_t)bucket_kb * 1024;
        if ((st = cn_dist_create(&dist, &dc)) != CN_OK) return cli_fail(cmd, g, st);
        rank = cn_dist_rank(dist), procs = cn_dist_size(dist);
        if (procs > 1) {
            comm = cn_dist_comm(dist);
            threads_per_process(g, cn_dist_local_size(dist));
            catch_launcher_stop(rank, procs, out);
        }
    }
    tc.comm = comm;
    if (rank) tc.progress = 0;
    st = cli_load_model(pos[0], &weights, &m);
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
    if (comm) st = cn_dist_agree(dist, st); /* every process could load the model and the data */
    cn_augment *aug = NULL;
    if (st == CN_OK && augment && (st = cn_augment_parse(&aug, augment)) == CN_OK)
        st = cn_augment_check(aug, cn_dataset_info_of(fit_train));
    tc.augment = aug;
    if (workers >= 0) tc.workers = workers;
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
        if (rank == 0) st = cn_model_save(m, p);
        if (comm) st = cn_dist_agree(dist, st);
    }
    cn_model_set_profiling(m, profile);
    if (st == CN_OK) st = cn_trainer_fit(t, fit_train, fit_val);
    cn_model_set_profiling(m, 0);
    cJSON *prof = st == CN_OK && profile && rank == 0 ? cli_profile_json(m) : NULL;
    int64_t eb = eval_batch ? eval_batch : batch;
    if (st == CN_OK && test) st = cn_evaluate_sharded(m, test, (eb + procs - 1) / procs, comm, &final);
    if (st == CN_OK && out) {
        char p[4096];
        snprintf(p, sizeof p, "%s/weights.safetensors", out);
        if (rank == 0 && (st = cn_model_save_weights(m, p, NULL, NULL, 0)) == CN_OK && test) {
            snprintf(p, sizeof p, "%s/metrics.json", out);
            st = cn_runlog_write_metrics(p, &final, cn_dataset_info_of(test)->name);
        }
        if (comm) st = cn_dist_agree(dist, st);
    }
    /* data parallelism: the communication cost, averaged over the processes */
    cn_dist_stats ds = {0};
    double cost[3] = {0, 0, 0};
    if (st == CN_OK && comm) {
        cn_dist_get_stats(dist, &ds);
        cost[0] = ds.step_s, cost[1] = ds.wait_s, cost[2] = ds.work_s;
        st = comm->sum(comm->self, cost, 3, "the communication statistics");
        for (int i = 0; i < 3; i++) cost[i] /= procs;
    }
    if (st != CN_OK) {
        if (!dist || cn_dist_should_report(dist)) {
            if (rank && strncmp(cn_last_error(), "process ", 8) != 0)
                cn_set_error(st, "process %d of %d (%s): %s", rank, procs, cn_dist_host(dist), cn_last_error());
            rc = cli_fail(cmd, g, st);
        } else {
            rc = CLI_FAIL;
        }
        goto done;
    }
    if (rank) {
        rc = CLI_OK; /* rank 0 reports */
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
        if (prof) cJSON_AddItemToObject(o, "profile", prof), prof = NULL;
        if (comm) {
            cJSON *d = cJSON_AddObjectToObject(o, "distributed");
            cJSON_AddNumberToObject(d, "processes", procs);
            cJSON_AddNumberToObject(d, "batch_per_process", (double)(batch / procs));
            cJSON_AddNumberToObject(d, "threads_per_process", cn_num_threads());
            cJSON_AddNumberToObject(d, "steps", (double)ds.steps);
            cJSON_AddNumberToObject(d, "buckets", ds.buckets);
            cJSON_AddNumberToObject(d, "gradient_floats", (double)ds.floats);
            if (ds.steps) {
                cJSON_AddNumberToObject(d, "step_ms", 1e3 * cost[0] / (double)ds.steps);
                cJSON_AddNumberToObject(d, "comm_wait_ms", 1e3 * cost[1] / (double)ds.steps);
                cJSON_AddNumberToObject(d, "comm_work_ms", 1e3 * cost[2] / (double)ds.steps);
                cJSON_AddNumberToObject(d, "comm_fraction", cost[0] > 0 ? (cost[1] + cost[2]) / cost[0] : 0);
            }
        }
        rc = cli_print_json(o);
    } else {
        if (test)
            printf("test (%s): loss %.4f  top-1 %.2f%%%s", cn_dataset_info_of(test)->name, final.loss, 100 * final.top1,
                   isfinite(final.top5) ? "" : "\n");
        if (test && isfinite(final.top5)) printf("  top-5 %.2f%%\n", 100 * final.top5);
        if (prof) cli_profile_print(prof, "training step");
        if (out) printf("run directory: %s (log.jsonl, checkpoint.safetensors, weights.safetensors%s)\n", out, test ? ", metrics.json" : "");
        if (comm && ds.steps)
            printf("data parallel: %d processes x %d threads, batch %d (%d each); %lld gradient floats in %d buckets per step; "
                   "communication %.1f%% of step time (%.2f ms waiting + %.2f ms packing of %.2f ms per step)\n",
                   procs, cn_num_threads(), batch, batch / procs, (long long)ds.floats, ds.buckets,
                   cost[0] > 0 ? 100 * (cost[1] + cost[2]) / cost[0] : 0, 1e3 * cost[1] / (double)ds.steps,
                   1e3 * cost[2] / (double)ds.steps, 1e3 * cost[0] / (double)ds.steps);
        rc = CLI_OK;
    }
done:
    cJSON_Delete(prof);
    cn_metrics_free(&final);
    cn_trainer_destroy(t);
    cn_augment_destroy(aug);
    cn_dataset_destroy(tr);
    cn_dataset_destroy(val);
    cn_dataset_destroy(train);
    cn_dataset_destroy(test);
    cn_model_destroy(m);
    /* a failure the other processes did not share may leave them waiting in a collective:
     * end the whole job (the launcher stops them) instead of leaving them to time out */
    if (dist && procs > 1 && rc != CLI_OK && !cn_dist_failed_together(dist)) {
        fprintf(stderr, "convnet train: process %d of %d: ending every process of the job%s%s\n", rank, procs,
                out ? "; continue from the last checkpoint with --resume " : "", out ? out : "");
        cn_dist_abort(dist, rc);
    }
    cn_dist_destroy(dist);
    return rc;
}
