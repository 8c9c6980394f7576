/* trainer.c — the training loop (see include/convnet/train.h). */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "convnet/train.h"
#include "io/runlog.h"
#include "progress.h"

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
};

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
    return c;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
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

cn_status cn_trainer_create(cn_trainer **out, cn_model *m, const cn_train_config *cfg)
{
    *out = NULL;
    cn_status st;
    if (cfg->batch < 1) return cn_set_error(CN_STATUS_INVALID_ARG, "train: batch %lld must be >= 1", (long long)cfg->batch);
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
    if ((st = cn_model_plan(m, cfg->batch, CN_PLAN_TRAIN)) != CN_OK) return st;
    if (cfg->init && (st = cn_model_init(m, cfg->seed)) != CN_OK) return st;
    cn_trainer *t = cn_calloc(1, sizeof *t, "trainer");
    if (!t) return CN_STATUS_NOMEM;
    t->m = m;
    t->cfg = *cfg;
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
        if (mkdir(cfg->out_dir, 0777) != 0 && access(cfg->out_dir, W_OK) != 0) {
            cn_trainer_destroy(t);
            return cn_set_error(CN_STATUS_IO, "train: cannot create the run directory '%s'", cfg->out_dir);
        }
        snprintf(t->ckpt_path, sizeof t->ckpt_path, "%s/checkpoint.safetensors", cfg->out_dir);
    }
    refresh_views(t);
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

cn_status cn_trainer_resume(cn_trainer *t, const char *path)
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
    return t->cfg.out_dir ? cn_runlog_append(t->cfg.out_dir, r) : CN_OK;
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

static cn_status save_checkpoint(cn_trainer *t)
{
    return t->cfg.out_dir ? cn_trainer_checkpoint(t, t->ckpt_path) : CN_OK;
}

cn_status cn_trainer_fit(cn_trainer *t, const cn_dataset *train, const cn_dataset *val)
{
    const cn_train_config *c = &t->cfg;
    const cn_dataset_info *info = cn_dataset_info_of(train);
    cn_layer_info in0;
    cn_model_layer(t->m, 0, &in0);
    cn_shape want = info->sample;
    if (in0.out.ndim != want.ndim + 1 || memcmp(in0.out.dim + 1, want.dim, (size_t)want.ndim * sizeof(int64_t)) != 0) {
        char a[96], b[96];
        cn_shape one = in0.out;
        one.dim[0] = 1;
        return cn_set_error(CN_STATUS_SHAPE, "train: %s has samples of shape %s, but the model's input '%s' takes 1x%s (batch first: %s)",
                            info->name, cn_shape_str(&want, a, sizeof a), in0.name, cn_shape_str(&want, b, sizeof b),
                            cn_shape_str(&one, b, sizeof b));
    }
    int classes = info->target_kind == CN_TARGET_CLASS ? info->num_classes : 0;
    cn_loader *ld = NULL;
    cn_loader_config lc = cn_loader_defaults();
    lc.batch = c->batch;
    lc.seed = c->seed;
    lc.drop_last = !c->keep_last;
    cn_status st = cn_loader_create(&ld, train, &lc);
    if (st != CN_OK) return st;
    int64_t per_epoch = cn_loader_batches(ld);
    if (per_epoch < 1) {
        cn_loader_destroy(ld);
        return cn_set_error(CN_STATUS_SHAPE, "train: %s has %lld samples, fewer than one batch of %lld", info->name,
                            (long long)info->n, (long long)c->batch);
    }
    cn_progress pg;
    cn_progress_init(&pg, c->progress, c->epochs, per_epoch);
    int stop = 0;
    int64_t planned = c->batch;
    if ((st = cn_model_plan(t->m, planned, CN_PLAN_TRAIN)) != CN_OK) goto done;
    for (; t->st.epoch < c->epochs && !stop; t->st.epoch++) {
        double t0 = now_s();
        int64_t seen = 0;
        cn_loader_start_epoch(ld, t->st.epoch);
        cn_batch b;
        int64_t bi = 0;
        if (t->st.batch == 0) t->st.run_loss = t->st.run_acc_hits = t->st.run_count = 0;
        int r;
        while ((r = cn_loader_next(ld, &b)) == 1) {
            if (bi++ < t->st.batch) continue; /* resuming mid-epoch: these were done */
            if (c->max_steps && t->st.step >= c->max_steps) {
                stop = 1;
                break;
            }
            if (b.count != planned) {
                if ((st = cn_model_plan(t->m, b.count, CN_PLAN_TRAIN)) != CN_OK) goto done;
                planned = b.count;
            }
            if ((st = cn_model_set_target(t->m, b.target)) != CN_OK || (st = cn_model_forward(t->m, b.x, 1)) != CN_OK) goto done;
            double loss = cn_model_loss(t->m);
            cn_model_zero_grad(t->m);
            int bad = !isfinite(loss);
            if (!bad && (st = cn_model_backward(t->m, NULL)) != CN_OK) goto done;
            if (!bad && !grads_finite(t)) bad = 2;
            if (bad) {
                char what[200];
                if (bad == 1) snprintf(what, sizeof what, "the loss (%g)", loss);
                else snprintf(what, sizeof what, "the gradient of %s", first_bad_param(t));
                if (c->nan_policy == CN_NAN_STOP) {
                    st = cn_set_error(CN_STATUS_INVALID_STATE,
                                      "train: epoch %lld step %lld: %s is not finite; stopped (the last checkpoint is intact)",
                                      (long long)t->st.epoch + 1, (long long)t->st.step + 1, what);
                    goto done;
                }
                if (++t->skipped <= 5)
                    cn_log(CN_LOG_WARN, "epoch %lld step %lld: %s is not finite; step skipped%s", (long long)t->st.epoch + 1,
                           (long long)t->st.step + 1, what, t->skipped == 5 ? " (further skips are not reported)" : "");
                cn_model_set_step(t->m, cn_model_step(t->m) + 1);
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
            cn_shape ps;
            const float *pred = cn_model_output(t->m, &ps);
            int64_t hits = batch_hits(pred, &ps, b.target, b.count, classes);
            t->st.run_loss += loss * (double)b.count;
            t->st.run_count += (double)b.count;
            if (hits >= 0) t->st.run_acc_hits += (double)hits;
            seen += b.count;
            cn_progress_step(&pg, t->st.epoch, bi, t->st.run_loss / t->st.run_count,
                             classes ? t->st.run_acc_hits / t->st.run_count : NAN, now_s() - t0, seen);
            if (c->checkpoint_steps && t->st.step % c->checkpoint_steps == 0 && (st = save_checkpoint(t)) != CN_OK) goto done;
        }
        if (r < 0) {
            st = CN_STATUS_IO;
            goto done;
        }
        if (stop && bi <= 1) break;
        double dt = now_s() - t0;
        cn_epoch_record rec = {t->st.epoch + 1, t->st.step, current_lr(t),
                               t->st.run_count ? t->st.run_loss / t->st.run_count : NAN,
                               classes && t->st.run_count ? t->st.run_acc_hits / t->st.run_count : NAN,
                               NAN, NAN, dt, dt > 0 ? (double)seen / dt : NAN};
        if (val) {
            cn_metrics vm;
            int64_t eb = c->eval_batch ? c->eval_batch : c->batch;
            if ((st = cn_evaluate(t->m, val, eb, &vm)) != CN_OK) goto done;
            rec.val_loss = vm.loss;
            rec.val_acc = vm.top1;
            cn_metrics_free(&vm);
            if ((st = cn_model_plan(t->m, c->batch, CN_PLAN_TRAIN)) != CN_OK) goto done;
            planned = c->batch;
            /* plateau schedules and early stopping watch the validation metric */
            double metric = classes ? rec.val_acc : -rec.val_loss;
            const cn_schedule_config *sc = cn_schedule_get_config(t->sched);
            if (sc->kind == CN_SCHED_PLATEAU) cn_schedule_observe(t->sched, sc->mode_max ? rec.val_acc : rec.val_loss);
            if (isnan(t->st.best) || metric > t->st.best) t->st.best = metric, t->st.bad_epochs = 0;
            else t->st.bad_epochs++;
            if (c->early_stop > 0 && t->st.bad_epochs >= c->early_stop) {
                cn_log(CN_LOG_INFO, "early stopping: no improvement for %d epochs", c->early_stop);
                stop = 1;
            }
        }
        cn_progress_epoch(&pg, &rec);
        t->st.batch = 0;
        if ((st = record(t, &rec)) != CN_OK) goto done;
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
    cn_progress_end(&pg);
    cn_loader_destroy(ld);
    return st;
}
