/* trainer.c — the training loop (see include/convnet/train.h), alone or data-parallel over
 * the processes of a cn_train_comm (docs/DISTRIBUTED.md). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "convnet/train.h"
#include "io/file.h"
#include "io/runlog.h"
#include "progress.h"
#include "core/clock.h"

struct cn_trainer {
    cn_model *m;
    cn_train_config cfg;
    cn_optim *opt;
    cn_schedule *sched;
    int n_opt;               /* optimized parameters */
    int *opt_param;          /* model parameter index of optimizer parameter i */
    float **values, **grads; /* views, refreshed after each plan */
    int64_t *sizes;
    cn_ckpt_state st;        /* position and state; history owned here */
    int64_t history_cap;
    int resumed;
    int64_t skipped;         /* steps skipped for non-finite values */
    char ckpt_path[4096];
    int64_t local_batch;     /* samples per process in a step: batch / comm size (batch alone) */
};

/* data parallelism: cfg.comm is kept only when there are other processes */
static int is_root(const cn_trainer *t) { return !t->cfg.comm || t->cfg.comm->rank == 0; }

cn_train_config cn_train_defaults(void)
{
    cn_train_config c;
    memset(&c, 0, sizeof c);
    c.epochs = 10;
    c.batch = 32;
    c.init = 1;
    c.optim = cn_optim_defaults(CN_OPTIM_SGD);
    c.schedule = cn_schedule_defaults(CN_SCHED_CONSTANT, 0.01);
    c.nan_policy = CN_NAN_STOP;
    c.checkpoint_epochs = 1;
    c.progress = 1;
    c.workers = cn_loader_defaults().workers;
    return c;
}

void cn_trainer_destroy(cn_trainer *t)
{
    if (!t) return;
    cn_optim_destroy(t->opt);
    cn_schedule_destroy(t->sched);
    cn_free(t->opt_param);
    cn_free(t->values);
    cn_free(t->grads);
    cn_free(t->sizes);
    cn_free(t->st.history);
    cn_free(t);
}

static int is_frozen(const cn_train_config *c, const char *param_name)
{
    for (int i = 0; i < c->n_frozen; i++) {
        size_t n = strlen(c->frozen[i]);
        if (!strncmp(param_name, c->frozen[i], n) && param_name[n] == '.') return 1;
    }
    return 0;
}

static int last_is_loss(const cn_model *m)
{
    cn_layer_info li;
    if (cn_model_layer(m, cn_model_layer_count(m) - 1, &li) != CN_OK) return 0;
    const cn_layer_type_info *t = cn_layer_type_find(li.type);
    return t && t->is_loss;
}

/* views of the optimized parameters (they move only when the parameters are first allocated) */
static void refresh_views(cn_trainer *t)
{
    for (int i = 0; i < t->n_opt; i++) {
        cn_param p;
        cn_model_param(t->m, t->opt_param[i], &p);
        t->values[i] = p.value;
        t->grads[i] = p.grad;
    }
}

static cn_status create_local(cn_trainer **out, cn_model *m, const cn_train_config *cfg, const cn_train_comm *comm)
{
    *out = NULL;
    cn_status st;
    if (cfg->batch < 1) return cn_set_error(CN_STATUS_INVALID_ARG, "train: batch %lld must be >= 1", (long long)cfg->batch);
    int procs = comm ? comm->size : 1;
    if (cfg->batch % procs)
        return cn_set_error(CN_STATUS_INVALID_ARG,
                            "train: a batch of %lld samples does not split evenly over %d processes (each takes batch / %d "
                            "of every batch); use a multiple of %d, e.g. %lld",
                            (long long)cfg->batch, procs, procs, procs,
                            (long long)((cfg->batch + procs - 1) / procs * procs));
    if (cfg->epochs < 0 || cfg->max_steps < 0)
        return cn_set_error(CN_STATUS_INVALID_ARG, "train: epochs %lld and steps %lld must be >= 0", (long long)cfg->epochs,
                            (long long)cfg->max_steps);
    if (!(cfg->clip_norm >= 0)) return cn_set_error(CN_STATUS_INVALID_ARG, "train: clip norm %g must be >= 0", cfg->clip_norm);
    if (cn_model_layer_count(m) < 2 || !last_is_loss(m))
        return cn_set_error(CN_STATUS_INVALID_ARG,
                            "train: the model must end with a loss layer, e.g. [softmax_cross_entropy] for classes or [mse] "
                            "for regression (see 'convnet layers')");
    for (int i = 0; i < cfg->n_frozen; i++) {
        int found = 0;
        for (int k = 0; k < cn_model_layer_count(m) && !found; k++) {
            cn_layer_info li;
            cn_model_layer(m, k, &li);
            found = !strcmp(li.name, cfg->frozen[i]);
        }
        if (!found) return cn_set_error(CN_STATUS_NOT_FOUND, "train: cannot freeze '%s': no layer has that name", cfg->frozen[i]);
    }
    if ((st = cn_optim_config_check(&cfg->optim)) != CN_OK) return st;
    if ((st = cn_schedule_config_check(&cfg->schedule)) != CN_OK) return st;
    if ((st = cn_model_plan(m, cfg->batch / procs, CN_PLAN_TRAIN | CN_PLAN_NO_INPUT_GRAD)) != CN_OK) return st;
    if (cfg->init && (st = cn_model_init(m, cfg->seed)) != CN_OK) return st;
    cn_trainer *t = cn_calloc(1, sizeof *t, "trainer");
    if (!t) return CN_STATUS_NOMEM;
    t->m = m;
    t->cfg = *cfg;
    t->cfg.comm = comm;
    t->local_batch = cfg->batch / procs;
    int np = cn_model_param_count(m);
    t->opt_param = cn_malloc(((size_t)np + 1) * sizeof(int), "trainer");
    t->values = cn_malloc(((size_t)np + 1) * sizeof(float *), "trainer");
    t->grads = cn_malloc(((size_t)np + 1) * sizeof(float *), "trainer");
    t->sizes = cn_malloc(((size_t)np + 1) * sizeof(int64_t), "trainer");
    double *decay = cn_malloc(((size_t)np + 1) * sizeof(double), "trainer");
    if (!t->opt_param || !t->values || !t->grads || !t->sizes || !decay) {
        cn_free(decay);
        cn_trainer_destroy(t);
        return CN_STATUS_NOMEM;
    }
    for (int i = 0; i < np; i++) {
        cn_param p;
        cn_model_param(m, i, &p);
        if (!p.trainable || is_frozen(cfg, p.name)) continue;
        t->opt_param[t->n_opt] = i;
        t->sizes[t->n_opt] = cn_shape_numel(&p.shape);
        decay[t->n_opt] = 1.0; /* weight decay on every parameter, as PyTorch's default and the AlexNet recipe */
        t->n_opt++;
    }
    if (!t->n_opt) {
        cn_free(decay);
        cn_trainer_destroy(t);
        return cn_set_error(CN_STATUS_INVALID_ARG, "train: nothing to train (every parameter is frozen or not trainable)");
    }
    st = cn_optim_create(&t->opt, &cfg->optim, t->n_opt, t->sizes, decay, NULL);
    cn_free(decay);
    if (st == CN_OK) st = cn_schedule_create(&t->sched, &cfg->schedule);
    if (st != CN_OK) {
        cn_trainer_destroy(t);
        return st;
    }
    cn_schedule_get_state(t->sched, &t->st.sched);
    t->st.seed = cfg->seed;
    t->st.best = NAN;
    if (cfg->out_dir) {
        if ((!comm || comm->rank == 0) && (cn_make_dirs(cfg->out_dir) != CN_OK || access(cfg->out_dir, W_OK) != 0)) {
            char why[256];
            snprintf(why, sizeof why, "%s", access(cfg->out_dir, F_OK) == 0 ? "it is not writable" : cn_last_error());
            cn_trainer_destroy(t);
            return cn_set_error(CN_STATUS_IO, "train: cannot create the run directory '%s' (%s)", cfg->out_dir, why);
        }
        snprintf(t->ckpt_path, sizeof t->ckpt_path, "%s/checkpoint.safetensors", cfg->out_dir);
        int swept = !comm || comm->rank == 0 ? cn_atomic_sweep(cfg->out_dir) : 0; /* a killed run's temporaries */
        if (swept) cn_log(CN_LOG_INFO, "%s: removed %d temporary file%s left by an interrupted run", cfg->out_dir, swept, swept > 1 ? "s" : "");
    }
    refresh_views(t);
    *out = t;
    return CN_OK;
}

/* each rank's parameters from rank 0 (running statistics included) */
static cn_status broadcast_params(cn_trainer *t, const char *what)
{
    const cn_train_comm *c = t->cfg.comm;
    cn_status st = CN_OK;
    for (int i = 0; i < cn_model_param_count(t->m) && st == CN_OK; i++) {
        cn_param p;
        cn_model_param(t->m, i, &p);
        st = c->broadcast(c->self, p.value, (size_t)cn_shape_numel(&p.shape) * sizeof(float), what);
    }
    return st;
}

cn_status cn_trainer_create(cn_trainer **out, cn_model *m, const cn_train_config *cfg)
{
    const cn_train_comm *comm = cfg->comm && cfg->comm->size > 1 ? cfg->comm : NULL;
    cn_trainer *t = NULL;
    cn_status st = create_local(&t, m, cfg, comm);
    if (!comm) {
        *out = t;
        return st;
    }
    *out = NULL;
    /* every process learns whether all could start; then rank 0's parameters go to all, each
     * process draws its own run-time randomness (dropout masks), and the gradients are bound */
    if ((st = comm->agree(comm->self, st)) == CN_OK && (st = broadcast_params(t, "the initial parameters")) == CN_OK) {
        if (comm->rank) cn_model_set_seed(m, cfg->seed + 0x9E3779B97F4A7C15ull * (uint64_t)comm->rank);
        st = comm->grad_bind(comm->self, t->n_opt, t->grads, t->sizes, t->opt_param, cn_model_param_count(m));
    }
    if (st != CN_OK) {
        cn_trainer_destroy(t);
        return st;
    }
    *out = t;
    return CN_OK;
}

const cn_epoch_record *cn_trainer_history(const cn_trainer *t, int64_t *n)
{
    *n = t->st.n_history;
    return t->st.history;
}

cn_status cn_trainer_checkpoint(cn_trainer *t, const char *path)
{
    t->st.model_step = cn_model_step(t->m);
    t->st.optim_steps = cn_optim_steps(t->opt);
    cn_schedule_get_state(t->sched, &t->st.sched);
    return cn_checkpoint_save(path, t->m, t->opt, t->opt_param, &t->st);
}

static cn_status resume_local(cn_trainer *t, const char *path)
{
    cn_ckpt_state s;
    cn_status st = cn_checkpoint_load(path, t->m, t->opt, t->opt_param, &s);
    if (st != CN_OK) return st;
    if (s.seed != t->cfg.seed) {
        cn_free(s.history);
        return cn_set_error(CN_STATUS_INVALID_ARG, "%s: the checkpoint was made with seed %llu, this run has seed %llu", path,
                            (unsigned long long)s.seed, (unsigned long long)t->cfg.seed);
    }
    if ((st = cn_schedule_set_state(t->sched, &s.sched)) != CN_OK) {
        cn_free(s.history);
        return st;
    }
    cn_model_set_step(t->m, s.model_step);
    cn_optim_set_steps(t->opt, s.optim_steps);
    cn_free(t->st.history);
    t->st = s;
    t->history_cap = s.n_history;
    t->resumed = 1;
    return CN_OK;
}

/* Data-parallel resume: rank 0 reads the checkpoint and sends its bytes, so every process
 * resumes from the very same file and only rank 0 needs to see it. The others load the
 * bytes from a private temporary file. */
static cn_status resume_dist(cn_trainer *t, const char *path)
{
    const cn_train_comm *c = t->cfg.comm;
    unsigned char *buf = NULL;
    size_t len = 0;
    uint64_t len64 = 0;
    char tmp[4096] = "";
    cn_status st = CN_OK;
    if (c->rank == 0) st = cn_file_read_all(path, &buf, &len);
    len64 = len;
    if ((st = c->agree(c->self, st)) != CN_OK || (st = c->broadcast(c->self, &len64, sizeof len64, "the checkpoint size")) != CN_OK)
        goto done;
    if (c->rank && !(buf = cn_malloc((size_t)len64 + 1, "checkpoint"))) st = CN_STATUS_NOMEM;
    if ((st = c->agree(c->self, st)) != CN_OK || (st = c->broadcast(c->self, buf, (size_t)len64, "the checkpoint")) != CN_OK)
        goto done;
    if (c->rank) {
        const char *dir = getenv("TMPDIR");
        snprintf(tmp, sizeof tmp, "%s/convnet-resume-%d-XXXXXX", dir && *dir ? dir : "/tmp", c->rank);
        int fd = mkstemp(tmp);
        FILE *f = fd >= 0 ? fdopen(fd, "wb") : NULL;
        int ok = f && fwrite(buf, 1, (size_t)len64, f) == (size_t)len64;
        if (f && fclose(f) != 0) ok = 0;
        if (!f && fd >= 0) close(fd);
        if (!ok) st = cn_set_error(CN_STATUS_IO, "train: process %d cannot write a copy of the checkpoint to '%s': %s", c->rank, tmp,
                                   strerror(errno));
    }
    if (st == CN_OK) st = resume_local(t, c->rank ? tmp : path);
    st = c->agree(c->self, st);
done:
    if (tmp[0]) unlink(tmp);
    cn_free(buf);
    return st;
}

cn_status cn_trainer_resume(cn_trainer *t, const char *path)
{
    return t->cfg.comm ? resume_dist(t, path) : resume_local(t, path);
}

static cn_status record(cn_trainer *t, const cn_epoch_record *r)
{
    if (t->st.n_history == t->history_cap) {
        int64_t cap = t->history_cap ? 2 * t->history_cap : 16;
        cn_epoch_record *h = cn_malloc((size_t)cap * sizeof *h, "training history");
        if (!h) return CN_STATUS_NOMEM;
        if (t->st.n_history) memcpy(h, t->st.history, (size_t)t->st.n_history * sizeof *h);
        cn_free(t->st.history);
        t->st.history = h;
        t->history_cap = cap;
    }
    t->st.history[t->st.n_history++] = *r;
    cn_status st = t->cfg.out_dir && is_root(t) ? cn_runlog_append(t->cfg.out_dir, r) : CN_OK;
    return t->cfg.comm ? t->cfg.comm->agree(t->cfg.comm->self, st) : st;
}

static double current_lr(const cn_trainer *t)
{
    const cn_schedule_config *sc = cn_schedule_get_config(t->sched);
    int64_t counter = sc->unit == CN_SCHED_PER_STEP ? t->st.step : t->st.epoch;
    return cn_schedule_lr(t->sched, counter);
}

/* correct top-1 predictions in a batch (class targets only) */
static int64_t batch_hits(const float *pred, const cn_shape *ps, const float *target, int64_t count, int classes)
{
    if (!classes || ps->ndim != 2 || ps->dim[1] != classes) return -1;
    int64_t hits = 0;
    for (int64_t i = 0; i < count; i++) {
        const float *row = pred + i * classes;
        int best = 0;
        for (int c = 1; c < classes; c++)
            if (row[c] > row[best]) best = c;
        hits += best == (int)target[i];
    }
    return hits;
}

static int grads_finite(const cn_trainer *t)
{
    for (int i = 0; i < t->n_opt; i++)
        for (int64_t k = 0; k < t->sizes[i]; k++)
            if (!isfinite(t->grads[i][k])) return 0;
    return 1;
}

/* name of the first layer whose parameter gradient is not finite, for the message */
static const char *first_bad_param(const cn_trainer *t)
{
    for (int i = 0; i < t->n_opt; i++)
        for (int64_t k = 0; k < t->sizes[i]; k++)
            if (!isfinite(t->grads[i][k])) {
                cn_param p;
                cn_model_param(t->m, t->opt_param[i], &p);
                return p.name;
            }
    return "?";
}

/* The first layer, in the order they run, whose output holds a non-finite value after the
 * forward pass (into buf), or 0 when the forward pass is finite: where a NaN first appeared. */
static int first_bad_layer(const cn_trainer *t, char *buf, size_t cap)
{
    for (int i = 0; i < cn_model_layer_count(t->m); i++) {
        cn_layer_info li;
        const float *y;
        cn_shape ys;
        if (cn_model_layer(t->m, i, &li) != CN_OK || cn_model_layer_output(t->m, li.name, &y, &ys) != CN_OK || !y) continue;
        int64_t n = cn_shape_numel(&ys);
        for (int64_t k = 0; k < n; k++)
            if (!isfinite(y[k])) {
                snprintf(buf, cap, " (it first appears in the forward pass, in the output of layer '%s' (%s), element %lld)", li.name,
                         li.type, (long long)k);
                return 1;
            }
    }
    return 0;
}

/* Data parallelism: average the running statistics (the parameters that are not trainable,
 * e.g. batch norm's running mean and variance) over the processes, summing in double so that
 * values already equal everywhere stay exactly as they are; and check that the trained
 * parameters are still the same everywhere (they are, if the MPI library gives every process
 * the same sums; if not, rank 0's are sent to all, with a warning). */
static uint64_t params_hash(const cn_trainer *t)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a over the bytes */
    for (int i = 0; i < t->n_opt; i++) {
        const unsigned char *p = (const unsigned char *)t->values[i];
        for (size_t k = 0; k < (size_t)t->sizes[i] * sizeof(float); k++) h = (h ^ p[k]) * 1099511628211ull;
    }
    return h;
}

static cn_status sync_processes(cn_trainer *t, int check)
{
    const cn_train_comm *c = t->cfg.comm;
    cn_status st = CN_OK;
    int64_t total = 0;
    int np = cn_model_param_count(t->m);
    for (int i = 0; i < np; i++) {
        cn_param p;
        cn_model_param(t->m, i, &p);
        if (!p.trainable) total += cn_shape_numel(&p.shape);
    }
    double *buf = cn_malloc((size_t)(total > 2 ? total : 2) * sizeof(double), "running statistics");
    if ((st = c->agree(c->self, buf ? CN_OK : CN_STATUS_NOMEM)) != CN_OK) goto done;
    if (total) {
        int64_t k = 0;
        for (int i = 0; i < np; i++) {
            cn_param p;
            cn_model_param(t->m, i, &p);
            if (!p.trainable)
                for (int64_t j = 0; j < cn_shape_numel(&p.shape); j++) buf[k++] = p.value[j];
        }
        if ((st = c->sum(c->self, buf, total, "the running statistics")) != CN_OK) goto done;
        k = 0;
        for (int i = 0; i < np; i++) {
            cn_param p;
            cn_model_param(t->m, i, &p);
            if (!p.trainable)
                for (int64_t j = 0; j < cn_shape_numel(&p.shape); j++) p.value[j] = (float)(buf[k++] / c->size);
        }
    }
    if (check) {
        uint64_t h = params_hash(t), h0 = h;
        if ((st = c->broadcast(c->self, &h0, sizeof h0, "a parameter checksum")) != CN_OK) goto done;
        buf[0] = h != h0;
        if ((st = c->sum(c->self, buf, 1, "the parameter check")) != CN_OK) goto done;
        if (buf[0] > 0) {
            if (c->rank == 0)
                cn_log(CN_LOG_WARN, "epoch %lld: the parameters of %g of %d processes differ from rank 0's (the MPI library's "
                                    "sums were not identical everywhere); rank 0's are sent to all",
                       (long long)t->st.epoch + 1, buf[0], c->size);
            st = broadcast_params(t, "rank 0's parameters");
        }
    }
done:
    cn_free(buf);
    return st;
}

static cn_status save_checkpoint(cn_trainer *t)
{
    const cn_train_comm *c = t->cfg.comm;
    if (!c) return t->cfg.out_dir ? cn_trainer_checkpoint(t, t->ckpt_path) : CN_OK;
    /* every process averages (so runs with and without --out stay the same); rank 0 writes */
    cn_status st = sync_processes(t, 0);
    if (st != CN_OK) return st;
    if (t->cfg.out_dir && c->rank == 0) st = cn_trainer_checkpoint(t, t->ckpt_path);
    return c->agree(c->self, st);
}

/* samples in global batch k of an epoch of n samples */
static int64_t global_batch_size(int64_t n, int64_t batch, int64_t k)
{
    return n - k * batch < batch ? n - k * batch : batch;
}

cn_status cn_trainer_fit(cn_trainer *t, const cn_dataset *train, const cn_dataset *val)
{
    const cn_train_config *c = &t->cfg;
    const cn_train_comm *comm = c->comm; /* NULL when training alone */
    const cn_dataset_info *info = cn_dataset_info_of(train);
    cn_layer_info in0;
    cn_model_layer(t->m, 0, &in0);
    cn_shape want = info->sample;
    cn_status st = CN_OK;
    if (in0.out.ndim != want.ndim + 1 || memcmp(in0.out.dim + 1, want.dim, (size_t)want.ndim * sizeof(int64_t)) != 0) {
        char a[96], b[96];
        cn_shape one = in0.out;
        one.dim[0] = 1;
        st = cn_set_error(CN_STATUS_SHAPE, "train: %s has samples of shape %s, but the model's input '%s' takes 1x%s (batch first: %s)",
                          info->name, cn_shape_str(&want, a, sizeof a), in0.name, cn_shape_str(&want, b, sizeof b),
                          cn_shape_str(&one, b, sizeof b));
    }
    int classes = info->target_kind == CN_TARGET_CLASS ? info->num_classes : 0;
    cn_loader *ld = NULL;
    cn_loader_config lc = cn_loader_defaults();
    lc.batch = t->local_batch;
    lc.seed = c->seed;
    lc.drop_last = !c->keep_last;
    lc.augment = c->augment;
    lc.workers = c->workers;
    if (comm) lc.shard_rank = comm->rank, lc.shard_count = comm->size;
    if (st == CN_OK) st = cn_loader_create(&ld, train, &lc);
    /* batches per epoch: alone, the loader's; data-parallel, the global batches (each process
     * takes its part of every one; a process whose shard ends early joins with no samples) */
    int64_t per_epoch = 0;
    if (st == CN_OK) {
        per_epoch = !comm ? cn_loader_batches(ld) : c->keep_last ? (info->n + c->batch - 1) / c->batch : info->n / c->batch;
        if (per_epoch < 1)
            st = cn_set_error(CN_STATUS_SHAPE, "train: %s has %lld samples, fewer than one batch of %lld", info->name,
                              (long long)info->n, (long long)c->batch);
    }
    int64_t planned = t->local_batch;
    if (st == CN_OK) st = cn_model_plan(t->m, planned, CN_PLAN_TRAIN | CN_PLAN_NO_INPUT_GRAD);
    if (comm) st = comm->agree(comm->self, st);
    if (st != CN_OK) {
        cn_loader_destroy(ld);
        return st;
    }
    cn_progress pg;
    cn_progress_init(&pg, c->progress && is_root(t), c->epochs, per_epoch);
    if (comm) cn_model_set_backward_hook(t->m, comm->grad_ready, comm->self);
    int stop = 0;
    for (; t->st.epoch < c->epochs && !stop; t->st.epoch++) {
        double t0 = cn_now_s();
        int64_t seen = 0;
        cn_loader_start_epoch(ld, t->st.epoch);
        cn_batch b;
        int64_t bi = 0, ran = 0;
        if (t->st.batch == 0) t->st.run_loss = t->st.run_acc_hits = t->st.run_count = 0;
        int r = 1;
        while (bi < per_epoch) {
            if ((r = cn_loader_next(ld, &b)) < 0) break;
            if (r == 0) {
                if (!comm) break;
                memset(&b, 0, sizeof b); /* this process's shard has no samples left in this epoch */
            }
            if (bi++ < t->st.batch) continue; /* resuming mid-epoch: these were done */
            if (c->max_steps && t->st.step >= c->max_steps) {
                stop = 1;
                break;
            }
            int64_t count = b.count;
            if (count && count != planned) {
                if ((st = cn_model_plan(t->m, count, CN_PLAN_TRAIN | CN_PLAN_NO_INPUT_GRAD)) != CN_OK) goto done;
                planned = count;
            }
            double loss = NAN;
            int64_t hits = -1;
            if (count) {
                if ((st = cn_model_set_target(t->m, b.target)) != CN_OK || (st = cn_model_forward(t->m, b.x, 1)) != CN_OK) goto done;
                loss = cn_model_loss(t->m);
                cn_shape ps;
                const float *pred = cn_model_output(t->m, &ps);
                hits = batch_hits(pred, &ps, b.target, count, classes);
            }
            cn_model_zero_grad(t->m);
            int bad = count && !isfinite(loss);
            uint64_t model_step = cn_model_step(t->m);
            /* data parallelism: the gradient sum starts now and runs during backward (the hook);
             * stats: loss sum, hits, samples and processes with a non-finite loss */
            double stats[4] = {count && !bad ? loss * (double)count : 0, hits > 0 ? (double)hits : 0, (double)count, bad};
            int64_t global = comm ? global_batch_size(info->n, c->batch, bi - 1) : count;
            if (comm && (st = comm->grad_begin(comm->self, t->st.step, (float)((double)count / (double)global), stats, 4)) != CN_OK)
                goto done;
            if (count && !bad && (st = cn_model_backward(t->m, NULL)) != CN_OK) goto done;
            if (comm) {
                if ((st = comm->grad_end(comm->self)) != CN_OK) goto done;
                cn_model_set_step(t->m, model_step + 1); /* the same on every process, whatever it ran */
                if (stats[2] != (double)global) {
                    st = cn_set_error(CN_STATUS_INTERNAL, "train: step %lld: the processes hold %g samples, expected %lld",
                                      (long long)t->st.step + 1, stats[2], (long long)global);
                    goto done;
                }
                if (stats[3] > 0) bad = 3; /* the same verdict and message on every process */
                count = global;
                loss = stats[0] / stats[2];
                hits = classes ? (int64_t)stats[1] : -1;
            }
            if (!bad && !grads_finite(t)) bad = 2;
            if (bad) {
                char what[600], where[400] = "";
                /* name the layer where it first appeared: a forward output, else the backward
                 * pass (the first parameter with a non-finite gradient) */
                if (count && !first_bad_layer(t, where, sizeof where) && bad == 2)
                    snprintf(where, sizeof where, " (the forward pass is finite: it first appears in the backward pass)");
                if (bad == 1) snprintf(what, sizeof what, "the loss (%g)", loss);
                else if (bad == 3) snprintf(what, sizeof what, "the loss on %g of %d processes", stats[3], comm->size);
                else snprintf(what, sizeof what, "the gradient of %s", first_bad_param(t));
                if (c->nan_policy == CN_NAN_STOP) {
                    st = cn_set_error(CN_STATUS_INVALID_STATE,
                                      "train: epoch %lld step %lld: %s is not finite%s; stopped (the last checkpoint is intact)",
                                      (long long)t->st.epoch + 1, (long long)t->st.step + 1, what, where);
                    if (comm) st = comm->agree(comm->self, st); /* every process stops here */
                    goto done;
                }
                if (++t->skipped <= 5 && is_root(t))
                    cn_log(CN_LOG_WARN, "epoch %lld step %lld: %s is not finite%s; step skipped%s", (long long)t->st.epoch + 1,
                           (long long)t->st.step + 1, what, where, t->skipped == 5 ? " (further skips are not reported)" : "");
                if (!comm) cn_model_set_step(t->m, cn_model_step(t->m) + 1);
                t->st.batch = bi;
                continue;
            }
            if (c->clip_norm > 0) {
                double norm;
                cn_clip_grad_norm(t->grads, t->sizes, t->n_opt, c->clip_norm, &norm);
            }
            if ((st = cn_optim_step(t->opt, t->values, (const float *const *)t->grads, current_lr(t))) != CN_OK) goto done;
            t->st.step++;
            t->st.batch = bi;
            ran++;
            t->st.run_loss += loss * (double)count;
            t->st.run_count += (double)count;
            if (hits >= 0) t->st.run_acc_hits += (double)hits;
            seen += count;
            cn_progress_step(&pg, t->st.epoch, bi, t->st.run_loss / t->st.run_count,
                             classes ? t->st.run_acc_hits / t->st.run_count : NAN, cn_now_s() - t0, seen);
            if (c->checkpoint_steps && t->st.step % c->checkpoint_steps == 0 && (st = save_checkpoint(t)) != CN_OK) goto done;
        }
        if (r < 0) {
            st = CN_STATUS_IO;
            goto done;
        }
        if (stop && !ran) break; /* max_steps was reached before this epoch ran a step */
        /* max_steps reached inside the epoch: the record covers the steps run so far, and the
         * checkpoint resumes inside this epoch, after its t->st.batch finished batches */
        int partial = stop && t->st.batch < per_epoch;
        if (comm && (st = sync_processes(t, 1)) != CN_OK) goto done;
        double dt = cn_now_s() - t0;
        cn_epoch_record rec = {t->st.epoch + 1, t->st.step, current_lr(t),
                               t->st.run_count ? t->st.run_loss / t->st.run_count : NAN,
                               classes && t->st.run_count ? t->st.run_acc_hits / t->st.run_count : NAN,
                               NAN, NAN, dt, dt > 0 ? (double)seen / dt : NAN};
        if (val) {
            cn_metrics vm;
            int64_t eb = c->eval_batch ? c->eval_batch : c->batch;
            if (comm) eb = (eb + comm->size - 1) / comm->size;
            const int prof = cn_model_profiling(t->m); /* the profile holds training steps only */
            cn_model_set_profiling(t->m, 0);
            st = cn_evaluate_sharded(t->m, val, eb, comm, &vm);
            cn_model_set_profiling(t->m, prof);
            if (st != CN_OK) goto done;
            rec.val_loss = vm.loss;
            rec.val_acc = vm.top1;
            cn_metrics_free(&vm);
            if ((st = cn_model_plan(t->m, t->local_batch, CN_PLAN_TRAIN | CN_PLAN_NO_INPUT_GRAD)) != CN_OK) goto done;
            planned = t->local_batch;
            /* plateau schedules and early stopping watch the validation metric */
            double metric = classes ? rec.val_acc : -rec.val_loss;
            const cn_schedule_config *sc = cn_schedule_get_config(t->sched);
            if (sc->kind == CN_SCHED_PLATEAU) cn_schedule_observe(t->sched, sc->mode_max ? rec.val_acc : rec.val_loss);
            if (isnan(t->st.best) || metric > t->st.best) t->st.best = metric, t->st.bad_epochs = 0;
            else t->st.bad_epochs++;
            if (c->early_stop > 0 && t->st.bad_epochs >= c->early_stop) {
                if (is_root(t)) cn_log(CN_LOG_INFO, "early stopping: no improvement for %d epochs", c->early_stop);
                stop = 1;
            }
        }
        cn_progress_epoch(&pg, &rec);
        if (!partial) t->st.batch = 0;
        if ((st = record(t, &rec)) != CN_OK) goto done;
        if (partial) { /* the state stays inside this epoch (break skips the epoch increment) */
            if ((st = save_checkpoint(t)) != CN_OK) goto done;
            break;
        }
        int last = t->st.epoch + 1 >= c->epochs || stop || (c->max_steps && t->st.step >= c->max_steps);
        if (last || (c->checkpoint_epochs > 0 && (t->st.epoch + 1) % c->checkpoint_epochs == 0)) {
            t->st.epoch++; /* the checkpoint resumes at the next epoch */
            st = save_checkpoint(t);
            t->st.epoch--;
            if (st != CN_OK) goto done;
        }
        if (c->max_steps && t->st.step >= c->max_steps) stop = 1;
    }
done:
    if (comm) cn_model_set_backward_hook(t->m, NULL, NULL);
    cn_progress_end(&pg);
    cn_loader_destroy(ld);
    return st;
}

/* ---- sharded evaluation -------------------------------------------------------------------
 * Each process evaluates a strided shard with cn_evaluate; the counts behind its metrics
 * (samples, loss sum, top-5 hits, confusion matrix) are summed, and the metrics are derived
 * from the sums exactly as cn_evaluate derives them from its own counts. */
cn_status cn_evaluate_sharded(cn_model *m, const cn_dataset *d, int64_t batch, const cn_train_comm *comm, cn_metrics *out)
{
    if (!comm || comm->size <= 1) return cn_evaluate(m, d, batch, out);
    memset(out, 0, sizeof *out);
    const cn_dataset_info *info = cn_dataset_info_of(d);
    int dense = info->target_kind == CN_TARGET_DENSE_CLASS;
    int k = (info->target_kind == CN_TARGET_CLASS || dense) ? info->num_classes : 0;
    int64_t n = info->n, mine = n > comm->rank ? (n - comm->rank + comm->size - 1) / comm->size : 0;
    size_t na = 4 + (size_t)k * (size_t)k;
    cn_metrics part = {0};
    cn_dataset *shard = NULL;
    int64_t *idx = NULL;
    double *acc = cn_calloc(na, sizeof(double), "evaluation sums");
    cn_status st = acc ? CN_OK : CN_STATUS_NOMEM;
    if (st == CN_OK && batch < 1) st = cn_set_error(CN_STATUS_INVALID_ARG, "evaluate: batch %lld must be >= 1", (long long)batch);
    if (st == CN_OK && mine > 0) {
        if (!(idx = cn_malloc((size_t)mine * sizeof *idx, "evaluation shard"))) st = CN_STATUS_NOMEM;
        for (int64_t i = 0; st == CN_OK && i < mine; i++) idx[i] = comm->rank + i * comm->size;
        if (st == CN_OK) st = cn_dataset_subset(&shard, d, idx, mine);
        if (st == CN_OK) st = cn_evaluate(m, shard, batch, &part);
        if (st == CN_OK) {
            acc[0] = (double)part.count;
            if (!isnan(part.loss)) acc[1] = part.loss * (double)part.count, acc[2] = (double)part.count;
            double hits_n = 0; /* samples with a valid class: top-1 and top-5 are rates over them */
            for (size_t i = 0; i < (size_t)k * (size_t)k; i++) acc[4 + i] = (double)part.confusion[i], hits_n += acc[4 + i];
            if (!dense && isfinite(part.top5)) acc[3] = nearbyint(part.top5 * hits_n);
        }
    }
    if ((st = comm->agree(comm->self, st)) != CN_OK || (st = comm->sum(comm->self, acc, (int64_t)na, "the evaluation counts")) != CN_OK)
        goto done;
    out->count = (int64_t)acc[0];
    out->loss = acc[2] > 0 ? acc[1] / acc[2] : NAN;
    out->num_classes = k;
    out->top1 = out->top5 = out->pixel_acc = out->mean_iou = NAN;
    if (k) {
        out->confusion = cn_malloc((size_t)k * (size_t)k * sizeof(int64_t), "confusion matrix");
        out->per_class = cn_malloc((size_t)k * sizeof(double), "per-class accuracy");
        if (!out->confusion || !out->per_class) {
            st = CN_STATUS_NOMEM;
            goto done;
        }
        int64_t all = 0, diag = 0;
        for (size_t i = 0; i < (size_t)k * (size_t)k; i++) out->confusion[i] = (int64_t)acc[4 + i], all += out->confusion[i];
        double iou_sum = 0;
        int iou_n = 0;
        for (int c = 0; c < k; c++) {
            int64_t row = 0, col = 0, hit = out->confusion[(int64_t)c * k + c];
            for (int j = 0; j < k; j++) row += out->confusion[(int64_t)c * k + j], col += out->confusion[(int64_t)j * k + c];
            out->per_class[c] = row ? (double)hit / (double)row : NAN;
            if (row + col - hit > 0) iou_sum += (double)hit / (double)(row + col - hit), iou_n++;
            diag += hit;
        }
        if (dense) {
            out->pixel_acc = all ? (double)diag / (double)all : NAN;
            out->mean_iou = iou_n ? iou_sum / iou_n : NAN;
        } else {
            out->top1 = all ? (double)diag / (double)all : NAN;
            out->top5 = k >= 5 && all ? acc[3] / (double)all : NAN;
        }
    }
done:
    cn_metrics_free(&part);
    cn_dataset_destroy(shard);
    cn_free(idx);
    cn_free(acc);
    if (st != CN_OK) cn_metrics_free(out);
    return st;
}
