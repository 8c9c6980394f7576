/* convnet/optim.h — optimizers (SGD, Adam, AdamW), learning-rate schedules and gradient
 * clipping, over flat float32 parameter arrays. Semantics follow PyTorch 1.13
 * (torch.optim.SGD / Adam / AdamW, torch.optim.lr_scheduler, torch.nn.utils.clip_grad_*).
 *
 * An optimizer is planned once for a list of parameter sizes — its state (momentum buffers,
 * Adam moments) is allocated then, in one block — and stepped many times; a step never
 * allocates. The caller passes the same parameters, in the same order, to every step
 * (frozen parameters are simply left out of the list). The learning rate is an argument of
 * each step, usually read from a schedule:
 *
 *     cn_optim_config oc = cn_optim_defaults(CN_OPTIM_SGD);
 *     oc.momentum = 0.9, oc.weight_decay = 5e-4;            // AlexNet
 *     cn_schedule_config sc = cn_schedule_defaults(CN_SCHED_PLATEAU, 0.01);
 *     sc.mode_max = 1, sc.factor = 0.1;                      // divide by 10 when accuracy stalls
 *     cn_optim *o;  cn_schedule *s;
 *     if (cn_optim_create(&o, &oc, n, sizes, decay_scale, NULL) != CN_OK ||
 *         cn_schedule_create(&s, &sc) != CN_OK) fprintf(stderr, "%s\n", cn_last_error());
 *     for (epoch = 0; ...; epoch++) {
 *         for (each batch) {
 *             ... forward, cn_model_zero_grad, backward ...
 *             cn_clip_grad_norm(grads, sizes, n, 5.0, &norm);   // optional
 *             cn_optim_step(o, values, grads, cn_schedule_lr(s, epoch));
 *         }
 *         cn_schedule_observe(s, validation_accuracy);
 *     }
 *     cn_schedule_destroy(s);  cn_optim_destroy(o);
 *
 * Ownership: cn_optim_create and cn_schedule_create copy everything they are given (sizes,
 * scales, milestones); the caller may free those arrays right after. Parameter values and
 * gradients passed to cn_optim_step and the clipping functions are borrowed for the call.
 * State pointers returned by cn_optim_state point into the optimizer (valid until
 * cn_optim_destroy). Objects are not thread-safe; a step itself may use the thread pool
 * (cn_parallel_for) and its results do not depend on the thread count.
 *
 * Arithmetic: updates are done in float32 with the same operations, in the same order, as
 * PyTorch's single-tensor (CPU) implementation; scalar coefficients (bias corrections, step
 * sizes, 1 - lr*wd) are computed in double and rounded to float once, as PyTorch does. The
 * results agree with PyTorch to about 1e-7 relative per step (PyTorch's vector kernels
 * fuse a*b+c, convnet's reference code does not). A run is bit-for-bit reproducible, and a
 * run restored from saved state continues bit-identically.
 */
#ifndef CONVNET_OPTIM_H
#define CONVNET_OPTIM_H

#include "model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ==== optimizers ======================================================================== */

typedef enum cn_optim_kind {
    CN_OPTIM_SGD = 0, /* torch.optim.SGD (+ decoupled weight decay, "SGDW", as an option) */
    CN_OPTIM_ADAM,    /* torch.optim.Adam: weight decay is coupled L2 (added to the gradient) */
    CN_OPTIM_ADAMW,   /* torch.optim.AdamW: weight decay is decoupled (w -= lr*wd*w) */
    CN_OPTIM_COUNT_
} cn_optim_kind;

/* "sgd", "adam", "adamw" (NULL for an invalid kind) */
const char *cn_optim_kind_name(cn_optim_kind k);
/* The kind named by `name` (as above); CN_STATUS_INVALID_ARG naming the text otherwise. */
cn_status cn_optim_kind_parse(cn_optim_kind *k, const char *name);

/* A caller-owned value; start from cn_optim_defaults(kind). The learning rate is not part of
 * it: it is passed to every cn_optim_step (see cn_schedule_lr). Per step, with g the gradient,
 * w the parameter, lr = step lr * lr_scale[p], wd = weight_decay * decay_scale[p]:
 *
 * SGD (PyTorch's order):
 *     g = g + wd*w                                  coupled L2 (decoupled_wd = 0)
 *     b = g on the first step, else b = momentum*b + (1 - dampening)*g     (momentum > 0)
 *     g = nesterov ? g + momentum*b : b                                    (momentum > 0)
 *     w = w * (1 - lr*wd)                           decoupled, "SGDW" (decoupled_wd = 1)
 *     w = w - lr*g
 * Adam / AdamW (t = the step number, from 1):
 *     w = w * (1 - lr*wd)                           AdamW only
 *     g = g + wd*w                                  Adam only
 *     m = beta1*m + (1 - beta1)*g;   v = beta2*v + (1 - beta2)*g*g
 *     vmax = max(vmax, v) and use vmax for v        (amsgrad)
 *     w = w - lr/(1 - beta1^t) * m / (sqrt(v)/sqrt(1 - beta2^t) + eps)
 */
typedef struct cn_optim_config {
    cn_optim_kind kind;
    double weight_decay;  /* >= 0; coupled L2 for SGD and Adam, decoupled for AdamW */
    int decoupled_wd;     /* SGD only: 1 = decoupled ("SGDW"). Adam refuses it (use ADAMW). */
    /* SGD */
    double momentum;      /* [0, 1) */
    double dampening;     /* [0, 1] */
    int nesterov;         /* needs momentum > 0 and dampening = 0 (as PyTorch) */
    /* Adam, AdamW */
    double beta1, beta2;  /* each in [0, 1) */
    double eps;           /* > 0; added to sqrt(v)/sqrt(1 - beta2^t), outside the root */
    int amsgrad;
} cn_optim_config;

/* PyTorch's defaults: SGD momentum 0, dampening 0, no weight decay; Adam betas (0.9, 0.999),
 * eps 1e-8, no weight decay; AdamW the same with weight decay 0.01. */
cn_optim_config cn_optim_defaults(cn_optim_kind kind);
/* Validate a configuration. Errors name the option and its value ("optimizer sgd:
 * momentum=1.5 is outside [0, 1)"). cn_optim_create calls it. */
cn_status cn_optim_config_check(const cn_optim_config *cfg);

typedef struct cn_optim cn_optim;

/* Plan an optimizer for n_params parameters (n_params >= 0) of sizes[p] elements each
 * (>= 0). decay_scale[p] multiplies weight_decay for parameter p (0 = no decay, as usual
 * for biases and normalization parameters; see cn_optim_default_decay_scale); lr_scale[p]
 * multiplies the step's learning rate (Caffe's lr_mult: AlexNet used 2 for biases). Either
 * array may be NULL, meaning all 1; each value must be finite and >= 0. All arrays are
 * copied. The state is zero and the step count 0. *out is NULL on failure. */
cn_status cn_optim_create(cn_optim **out, const cn_optim_config *cfg, int n_params, const int64_t *sizes,
                          const double *decay_scale, const double *lr_scale);
void cn_optim_destroy(cn_optim *o); /* accepts NULL */

/* One update of every parameter. values[p] (sizes[p] floats, updated in place) and grads[p]
 * (read only) are borrowed for the call; value and gradient arrays must not overlap. lr must
 * be finite and >= 0, else CN_STATUS_INVALID_ARG and nothing changes. Increments the step
 * count. Never allocates. */
cn_status cn_optim_step(cn_optim *o, float *const *values, const float *const *grads, double lr);

const cn_optim_config *cn_optim_get_config(const cn_optim *o); /* borrowed from o */
int cn_optim_param_count(const cn_optim *o);

/* 0 for one-dimensional parameters (biases, batch-norm scale and shift), 1 otherwise: the
 * usual "no weight decay on biases and normalization" rule, for building decay_scale. */
double cn_optim_default_decay_scale(const cn_param *p);

/* ---- state, for checkpoints --------------------------------------------------------------
 * The state is the step count plus a list of float buffers: per parameter p (in order), the
 * kind's buffers, named as in PyTorch's state_dict:
 *     SGD with momentum > 0: "momentum_buffer"
 *     Adam, AdamW: "exp_avg", "exp_avg_sq", and with amsgrad "max_exp_avg_sq"
 * (SGD without momentum has none.) To save: for i in [0, count) write info.data (info.n
 * floats) under a name such as "<param name>.<info.name>", and the step count. To restore:
 * create an optimizer with the same configuration and sizes, copy the saved floats into each
 * info.data, call cn_optim_set_steps. Stepping then continues bit-identically. */
typedef struct cn_optim_state_info {
    const char *name; /* the buffer's name (static string) */
    int param;        /* the parameter it belongs to, 0..n_params-1 */
    float *data;      /* owned by the optimizer; writable (to restore); valid until destroy */
    int64_t n;        /* = sizes[param] */
} cn_optim_state_info;
int cn_optim_state_count(const cn_optim *o);
/* i in [0, count); CN_STATUS_NOT_FOUND naming i and the count otherwise. */
cn_status cn_optim_state(const cn_optim *o, int i, cn_optim_state_info *info);
/* Steps taken so far (Adam's t; SGD's momentum starts from the gradient when it is 0). */
uint64_t cn_optim_steps(const cn_optim *o);
void cn_optim_set_steps(cn_optim *o, uint64_t steps);
/* Zero every buffer and the step count (as a fresh optimizer). */
void cn_optim_reset(cn_optim *o);

/* ==== gradient clipping =================================================================
 * Over n parameters' gradients grads[p] of sizes[p] floats (borrowed, modified in place). */

/* torch.nn.utils.clip_grad_norm_ with norm_type 2: norm = sqrt(sum over all parameters of
 * sum g^2) (accumulated in double); coef = max_norm / (norm + 1e-6); if coef < 1 every
 * gradient is multiplied by coef. *norm receives the norm before clipping. If the norm is
 * not finite (a NaN or Inf in some gradient) the gradients are left untouched — unlike
 * PyTorch, which multiplies them by NaN or 0 — and *norm is that NaN/Inf, so the caller can
 * skip the step. max_norm must be finite and > 0. */
cn_status cn_clip_grad_norm(float *const *grads, const int64_t *sizes, int n, double max_norm, double *norm);
/* torch.nn.utils.clip_grad_value_: every gradient value is clamped to [-clip, clip]
 * (NaN stays NaN). clip must be finite and >= 0. */
cn_status cn_clip_grad_value(float *const *grads, const int64_t *sizes, int n, double clip);

/* ==== learning-rate schedules ===========================================================
 * A schedule maps a counter t = 0, 1, 2, ... to a learning rate: cn_schedule_lr(s, t) is a
 * pure function of t for every kind but PLATEAU. The schedule does not count anything
 * itself; `unit` records which counter the trainer should pass: the epoch index
 * (CN_SCHED_PER_EPOCH, PyTorch's usual scheduler.step() once per epoch) or the optimizer
 * step index (CN_SCHED_PER_STEP, scheduler.step() after every batch). Every closed-form kind
 * makes sense in either unit; all of t_max, step_size, milestones and warmup are counted in
 * that unit. PLATEAU counts calls to cn_schedule_observe (one per validation, usually per
 * epoch) and ignores t.
 *
 * lr(t), with B = base_lr, for t >= warmup (u = t - warmup):
 *   CONSTANT     B
 *   STEP         B * gamma^floor(u / step_size)                     (StepLR)
 *   MULTISTEP    B * gamma^(number of milestones <= u)              (MultiStepLR; a repeated
 *                                                                    milestone counts twice)
 *   EXPONENTIAL  B * gamma^u                                        (ExponentialLR)
 *   COSINE       eta_min + (B - eta_min) * (1 + cos(pi * u / t_max)) / 2 for u <= t_max;
 *                after t_max: eta_min (cyclic = 0), or the same formula continued, rising
 *                again, as PyTorch's CosineAnnealingLR does (cyclic = 1)
 *   PLATEAU      the current lr (B at first), divided down by cn_schedule_observe
 * and for t < warmup (linear warmup; not for PLATEAU):
 *                B * (warmup_start_factor + (1 - warmup_start_factor) * t / warmup)
 * which is PyTorch's SequentialLR([LinearLR(start_factor, total_iters=warmup), <schedule>],
 * milestones=[warmup]): the schedule proper starts from its own t = 0 when warmup ends.
 * t < 0 is treated as 0. */
typedef enum cn_schedule_kind {
    CN_SCHED_CONSTANT = 0,
    CN_SCHED_STEP,
    CN_SCHED_MULTISTEP,
    CN_SCHED_EXPONENTIAL,
    CN_SCHED_COSINE,
    CN_SCHED_PLATEAU,
    CN_SCHED_COUNT_
} cn_schedule_kind;
/* "constant", "step", "multistep", "exponential", "cosine", "plateau" (NULL if invalid) */
const char *cn_schedule_kind_name(cn_schedule_kind k);
cn_status cn_schedule_kind_parse(cn_schedule_kind *k, const char *name);

typedef enum cn_schedule_unit { CN_SCHED_PER_EPOCH = 0, CN_SCHED_PER_STEP } cn_schedule_unit;

/* Caller-owned value; start from cn_schedule_defaults. */
typedef struct cn_schedule_config {
    cn_schedule_kind kind;
    cn_schedule_unit unit;      /* which counter the caller passes (see above) */
    double base_lr;             /* >= 0 */
    double gamma;               /* STEP, MULTISTEP, EXPONENTIAL: > 0 (default 0.1) */
    int64_t step_size;          /* STEP: >= 1 */
    int n_milestones;           /* MULTISTEP: >= 1 */
    const int64_t *milestones;  /* MULTISTEP: non-decreasing, >= 0; copied by create */
    int64_t t_max;              /* COSINE: >= 1 */
    double eta_min;             /* COSINE: >= 0 */
    int cyclic;                 /* COSINE: continue past t_max as PyTorch does */
    int64_t warmup;             /* >= 0 (0 = none); not with PLATEAU */
    double warmup_start_factor; /* [0, 1] */
    /* PLATEAU (torch.optim.lr_scheduler.ReduceLROnPlateau) */
    int mode_max;               /* 0: "min" (a loss), 1: "max" (an accuracy) */
    double factor;              /* [0, 1): new lr = max(lr * factor, min_lr) */
    int64_t patience;           /* >= 0: bad observations tolerated before reducing */
    double threshold;           /* >= 0: what counts as an improvement, see threshold_abs */
    int threshold_abs;          /* 0 ("rel"): better means metric < best*(1 - threshold)
                                   (min) or > best*(1 + threshold) (max); 1 ("abs"):
                                   < best - threshold or > best + threshold */
    int64_t cooldown;           /* >= 0: observations after a reduction that are not counted */
    double min_lr;              /* >= 0 */
    double eps;                 /* >= 0: a reduction smaller than eps is skipped */
} cn_schedule_config;

/* PyTorch's defaults for the kind, with base_lr and unit CN_SCHED_PER_EPOCH: gamma 0.1,
 * step_size 30, t_max 1, eta_min 0, no warmup (warmup_start_factor 1/3 when enabled);
 * plateau: mode min, factor 0.1, patience 10, threshold 1e-4 rel, cooldown 0, min_lr 0,
 * eps 1e-8. MULTISTEP still needs milestones and COSINE a real t_max. */
cn_schedule_config cn_schedule_defaults(cn_schedule_kind kind, double base_lr);
/* Errors name the option and the value ("schedule step: step_size=0 must be >= 1"). */
cn_status cn_schedule_config_check(const cn_schedule_config *cfg);

typedef struct cn_schedule cn_schedule;
cn_status cn_schedule_create(cn_schedule **out, const cn_schedule_config *cfg);
void cn_schedule_destroy(cn_schedule *s); /* accepts NULL */
/* The config as given, except that `milestones` points to the schedule's own copy. */
const cn_schedule_config *cn_schedule_get_config(const cn_schedule *s);

/* The learning rate at counter t (see above). */
double cn_schedule_lr(const cn_schedule *s, int64_t t);
/* PLATEAU: record one observation of the monitored metric (loss or accuracy) and possibly
 * reduce the lr, exactly as ReduceLROnPlateau.step(metric); returns 1 if the lr was reduced.
 * A NaN metric counts as "not better". Other kinds ignore the call and return 0, so a trainer
 * can call it after every validation whatever the schedule. */
int cn_schedule_observe(cn_schedule *s, double metric);

/* The mutable state (only PLATEAU has any), for checkpoints. Get it after an observation,
 * set it on a schedule created with the same configuration. */
typedef struct cn_schedule_state {
    double lr;                /* current lr */
    double best;              /* best metric so far (+Inf for min / -Inf for max before any) */
    int64_t num_bad;          /* observations since the last improvement */
    int64_t cooldown_counter; /* observations of cooldown left */
    int64_t last_epoch;       /* observations so far */
} cn_schedule_state;
void cn_schedule_get_state(const cn_schedule *s, cn_schedule_state *st);
/* CN_STATUS_INVALID_ARG (naming the field) if a counter is negative or lr is not finite. */
cn_status cn_schedule_set_state(cn_schedule *s, const cn_schedule_state *st);

#ifdef __cplusplus
}
#endif
#endif
