/* schedule.c — learning-rate schedules: closed forms of PyTorch's StepLR, MultiStepLR,
 * ExponentialLR, CosineAnnealingLR (with an optional LinearLR warmup in front, as SequentialLR
 * composes them), and ReduceLROnPlateau's state machine.
 *
 * PyTorch computes most of these recursively (lr *= gamma at each boundary); convnet uses the
 * closed forms (PyTorch's own _get_closed_form_lr), which agree to a few ulps and make the lr
 * a pure function of the counter, so a resumed run needs no schedule state. */
#include "convnet/optim.h"

#include <math.h>
#include <string.h>

static const char *const kind_names[CN_SCHED_COUNT_] = {"constant", "step", "multistep",
                                                        "exponential", "cosine", "plateau"};

const char *cn_schedule_kind_name(cn_schedule_kind k)
{
    return (int)k >= 0 && k < CN_SCHED_COUNT_ ? kind_names[k] : NULL;
}

cn_status cn_schedule_kind_parse(cn_schedule_kind *k, const char *name)
{
    for (int i = 0; i < CN_SCHED_COUNT_; i++)
        if (name && !strcmp(name, kind_names[i])) {
            *k = (cn_schedule_kind)i;
            return CN_OK;
        }
    return cn_set_error(CN_STATUS_INVALID_ARG,
                        "schedule: unknown kind '%s' (expected constant, step, multistep, exponential, cosine or "
                        "plateau)",
                        name ? name : "(null)");
}

cn_schedule_config cn_schedule_defaults(cn_schedule_kind kind, double base_lr)
{
    cn_schedule_config c;
    memset(&c, 0, sizeof c);
    c.kind = kind;
    c.unit = CN_SCHED_PER_EPOCH;
    c.base_lr = base_lr;
    c.gamma = 0.1;
    c.step_size = 30;
    c.t_max = 1;
    c.warmup_start_factor = 1.0 / 3;
    c.factor = 0.1;
    c.patience = 10;
    c.threshold = 1e-4;
    c.eps = 1e-8;
    return c;
}

cn_status cn_schedule_config_check(const cn_schedule_config *c)
{
    if (!c) return cn_set_error(CN_STATUS_INVALID_ARG, "schedule: config is NULL");
    const char *k = cn_schedule_kind_name(c->kind);
    if (!k) return cn_set_error(CN_STATUS_INVALID_ARG, "schedule: kind=%d is not a known schedule", (int)c->kind);
    if (c->unit != CN_SCHED_PER_EPOCH && c->unit != CN_SCHED_PER_STEP)
        return cn_set_error(CN_STATUS_INVALID_ARG, "schedule %s: unit=%d is neither per-epoch (0) nor per-step (1)", k,
                            (int)c->unit);
    /* every test is written so that NaN fails it */
    if (!(c->base_lr >= 0 && isfinite(c->base_lr)))
        return cn_set_error(CN_STATUS_INVALID_ARG, "schedule %s: base_lr=%g must be finite and >= 0", k, c->base_lr);
    if (c->warmup < 0)
        return cn_set_error(CN_STATUS_INVALID_ARG, "schedule %s: warmup=%lld must be >= 0", k, (long long)c->warmup);
    if (c->warmup > 0) {
        if (c->kind == CN_SCHED_PLATEAU)
            return cn_set_error(CN_STATUS_INVALID_ARG,
                                "schedule plateau: warmup=%lld is not supported (plateau ignores the counter)",
                                (long long)c->warmup);
        if (!(c->warmup_start_factor >= 0 && c->warmup_start_factor <= 1))
            return cn_set_error(CN_STATUS_INVALID_ARG, "schedule %s: warmup_start_factor=%g is outside [0, 1]", k,
                                c->warmup_start_factor);
    }
    if ((c->kind == CN_SCHED_STEP || c->kind == CN_SCHED_MULTISTEP || c->kind == CN_SCHED_EXPONENTIAL) &&
        !(c->gamma > 0 && isfinite(c->gamma)))
        return cn_set_error(CN_STATUS_INVALID_ARG, "schedule %s: gamma=%g must be finite and > 0", k, c->gamma);
    switch (c->kind) {
    case CN_SCHED_STEP:
        if (c->step_size < 1)
            return cn_set_error(CN_STATUS_INVALID_ARG, "schedule step: step_size=%lld must be >= 1",
                                (long long)c->step_size);
        break;
    case CN_SCHED_MULTISTEP:
        if (c->n_milestones < 1 || !c->milestones)
            return cn_set_error(CN_STATUS_INVALID_ARG,
                                "schedule multistep: milestones is empty (n_milestones=%d); give at least one",
                                c->n_milestones);
        for (int i = 0; i < c->n_milestones; i++) {
            if (c->milestones[i] < 0)
                return cn_set_error(CN_STATUS_INVALID_ARG, "schedule multistep: milestones[%d]=%lld is negative", i,
                                    (long long)c->milestones[i]);
            if (i > 0 && c->milestones[i] < c->milestones[i - 1])
                return cn_set_error(CN_STATUS_INVALID_ARG,
                                    "schedule multistep: milestones must not decrease, but milestones[%d]=%lld "
                                    "follows milestones[%d]=%lld",
                                    i, (long long)c->milestones[i], i - 1, (long long)c->milestones[i - 1]);
        }
        break;
    case CN_SCHED_COSINE:
        if (c->t_max < 1)
            return cn_set_error(CN_STATUS_INVALID_ARG, "schedule cosine: t_max=%lld must be >= 1", (long long)c->t_max);
        if (!(c->eta_min >= 0 && isfinite(c->eta_min)))
            return cn_set_error(CN_STATUS_INVALID_ARG, "schedule cosine: eta_min=%g must be finite and >= 0",
                                c->eta_min);
        break;
    case CN_SCHED_PLATEAU:
        if (!(c->factor >= 0 && c->factor < 1))
            return cn_set_error(CN_STATUS_INVALID_ARG, "schedule plateau: factor=%g must be in [0, 1) (factor < 1 "
                                "reduces the lr)", c->factor);
        if (c->patience < 0)
            return cn_set_error(CN_STATUS_INVALID_ARG, "schedule plateau: patience=%lld must be >= 0",
                                (long long)c->patience);
        if (c->cooldown < 0)
            return cn_set_error(CN_STATUS_INVALID_ARG, "schedule plateau: cooldown=%lld must be >= 0",
                                (long long)c->cooldown);
        if (!(c->threshold >= 0 && isfinite(c->threshold)))
            return cn_set_error(CN_STATUS_INVALID_ARG, "schedule plateau: threshold=%g must be finite and >= 0",
                                c->threshold);
        if (!(c->min_lr >= 0 && isfinite(c->min_lr)))
            return cn_set_error(CN_STATUS_INVALID_ARG, "schedule plateau: min_lr=%g must be finite and >= 0",
                                c->min_lr);
        if (!(c->eps >= 0 && isfinite(c->eps)))
            return cn_set_error(CN_STATUS_INVALID_ARG, "schedule plateau: eps=%g must be finite and >= 0", c->eps);
        break;
    default:
        break;
    }
    return CN_OK;
}

struct cn_schedule {
    cn_schedule_config cfg; /* cfg.milestones points at `ms` */
    cn_schedule_state st;   /* PLATEAU only */
    int64_t ms[];           /* cfg.n_milestones entries (MULTISTEP) */
};

static void plateau_reset(cn_schedule *s)
{
    s->st.lr = s->cfg.base_lr;
    s->st.best = s->cfg.mode_max ? -INFINITY : INFINITY; /* mode_worse */
    s->st.num_bad = 0;
    s->st.cooldown_counter = 0;
    s->st.last_epoch = 0;
}

cn_status cn_schedule_create(cn_schedule **out, const cn_schedule_config *cfg)
{
    *out = NULL;
    cn_status st = cn_schedule_config_check(cfg);
    if (st != CN_OK) return st;
    int nm = cfg->kind == CN_SCHED_MULTISTEP ? cfg->n_milestones : 0;
    cn_schedule *s = cn_malloc(sizeof *s + (size_t)nm * sizeof(int64_t), "schedule");
    if (!s) return CN_STATUS_NOMEM;
    s->cfg = *cfg;
    if (nm) memcpy(s->ms, cfg->milestones, (size_t)nm * sizeof(int64_t));
    s->cfg.n_milestones = nm;
    s->cfg.milestones = nm ? s->ms : NULL;
    plateau_reset(s);
    *out = s;
    return CN_OK;
}

void cn_schedule_destroy(cn_schedule *s) { cn_free(s); }

const cn_schedule_config *cn_schedule_get_config(const cn_schedule *s) { return &s->cfg; }

double cn_schedule_lr(const cn_schedule *s, int64_t t)
{
    const cn_schedule_config *c = &s->cfg;
    double b = c->base_lr;
    if (c->kind == CN_SCHED_PLATEAU) return s->st.lr;
    if (t < 0) t = 0;
    if (t < c->warmup) /* LinearLR closed form: base * (start + (1 - start) * min(total, t) / total) */
        return b * (c->warmup_start_factor + (1 - c->warmup_start_factor) * (double)t / (double)c->warmup);
    int64_t u = t - c->warmup;
    switch (c->kind) {
    case CN_SCHED_STEP: /* base_lr * gamma ** (last_epoch // step_size) */
        return b * pow(c->gamma, (double)(u / c->step_size));
    case CN_SCHED_MULTISTEP: { /* base_lr * gamma ** bisect_right(milestones, last_epoch) */
        int k = 0;
        while (k < c->n_milestones && c->milestones[k] <= u) k++;
        return b * pow(c->gamma, (double)k);
    }
    case CN_SCHED_EXPONENTIAL: /* base_lr * gamma ** last_epoch */
        return b * pow(c->gamma, (double)u);
    case CN_SCHED_COSINE: /* eta_min + (base_lr - eta_min) * (1 + cos(pi * last_epoch / T_max)) / 2 */
        if (u >= c->t_max && !c->cyclic) return c->eta_min;
        return c->eta_min + (b - c->eta_min) * (1 + cos(M_PI * (double)u / (double)c->t_max)) / 2;
    default:
        return b;
    }
}

/* ReduceLROnPlateau.is_better */
static int plateau_better(const cn_schedule_config *c, double a, double best)
{
    if (!c->mode_max) return c->threshold_abs ? a < best - c->threshold : a < best * (1 - c->threshold);
    return c->threshold_abs ? a > best + c->threshold : a > best * (c->threshold + 1);
}

int cn_schedule_observe(cn_schedule *s, double metric)
{
    const cn_schedule_config *c = &s->cfg;
    cn_schedule_state *st = &s->st;
    if (c->kind != CN_SCHED_PLATEAU) return 0;
    st->last_epoch++;
    if (plateau_better(c, metric, st->best)) {
        st->best = metric;
        st->num_bad = 0;
    } else {
        st->num_bad++;
    }
    if (st->cooldown_counter > 0) { /* in_cooldown: ignore any bad epochs */
        st->cooldown_counter--;
        st->num_bad = 0;
    }
    if (st->num_bad > c->patience) {
        int reduced = 0;
        double old_lr = st->lr, new_lr = fmax(old_lr * c->factor, c->min_lr);
        if (old_lr - new_lr > c->eps) { /* _reduce_lr */
            st->lr = new_lr;
            reduced = 1;
        }
        st->cooldown_counter = c->cooldown;
        st->num_bad = 0;
        return reduced;
    }
    return 0;
}

void cn_schedule_get_state(const cn_schedule *s, cn_schedule_state *st) { *st = s->st; }

cn_status cn_schedule_set_state(cn_schedule *s, const cn_schedule_state *st)
{
    const char *k = cn_schedule_kind_name(s->cfg.kind);
    if (!(st->lr >= 0 && isfinite(st->lr)))
        return cn_set_error(CN_STATUS_INVALID_ARG, "schedule %s: state lr=%g must be finite and >= 0", k, st->lr);
    if (st->num_bad < 0 || st->cooldown_counter < 0 || st->last_epoch < 0)
        return cn_set_error(CN_STATUS_INVALID_ARG,
                            "schedule %s: state counters must be >= 0 (num_bad=%lld cooldown_counter=%lld "
                            "last_epoch=%lld)",
                            k, (long long)st->num_bad, (long long)st->cooldown_counter, (long long)st->last_epoch);
    if (isnan(st->best))
        return cn_set_error(CN_STATUS_INVALID_ARG, "schedule %s: state best=nan is not a metric value", k);
    s->st = *st;
    return CN_OK;
}
