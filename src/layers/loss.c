/* loss.c — loss layers. Each takes the prediction as its input and the targets given to
 * cn_model_set_target, and outputs the scalar loss (shape 1); backward gives dL/dprediction.
 *   softmax_cross_entropy  logits (N, K) or (N, K, *spatial) (segmentation: per pixel);
 *                          targets (N) or (N, *spatial): class indices as floats. Label
 *                          smoothing, class weights, ignore_index, mean or sum.
 *   bce_with_logits        logits and targets of the same shape (N, K, ...): multi-label or
 *                          per-pixel binary masks; pos_weight per class.
 *   mse, l1                regression: targets of the prediction's shape.
 * The gradient is computed with the loss in forward and kept in the cache. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "convnet/loss.h"
#include "layer.h"

typedef struct {
    int reduction;
    double label_smoothing;
    int64_t ignore_index;
    cn_floats class_weights, pos_weight;
} loss_cfg;

enum { L_XENT, L_BCE, L_MSE, L_L1 };

typedef struct {
    int kind;
    cn_xent_geom xent;
    cn_bce_geom bce;
    int64_t n;        /* prediction elements */
    int64_t targets;  /* target elements */
    float weights[32];
    int n_weights;
} loss_state;

static cn_status plan_kind(cn_layer *l, cn_layer_plan *p, int kind)
{
    const loss_cfg *c = l->cfg;
    loss_state *s = l->state;
    const cn_shape *in = &l->in[0];
    s->kind = kind;
    s->n = cn_shape_numel(in);
    s->targets = s->n;
    char label[96];
    snprintf(label, sizeof label, "%s", l->name);
    cn_status st = CN_OK;
    int64_t n = in->dim[0], k = in->ndim > 1 ? in->dim[1] : 1, sp = s->n / (n * k);
    const cn_floats *w = kind == L_XENT ? &c->class_weights : &c->pos_weight;
    if (w->n && w->n != k)
        return cn_set_error(CN_STATUS_SHAPE, "%s '%s': %d %s given for %lld classes (input %s)", l->ops->name, l->name, w->n,
                            kind == L_XENT ? "class_weights" : "pos_weight", (long long)k, cn_shape_text(in));
    s->n_weights = w->n;
    for (int i = 0; i < w->n; i++) s->weights[i] = (float)w->v[i];
    switch (kind) {
    case L_XENT:
        if (in->ndim < 2)
            return cn_set_error(CN_STATUS_SHAPE, "softmax_cross_entropy '%s': input %s needs a class axis (N, K, ...)", l->name,
                                cn_shape_text(in));
        s->xent = cn_xent_geom_make(n, k, sp);
        s->xent.label_smoothing = (float)c->label_smoothing;
        s->xent.ignore_index = c->ignore_index;
        s->xent.reduction = (cn_reduction)c->reduction;
        st = cn_xent_check(&s->xent, label);
        s->targets = n * sp;
        p->scratch_bytes = (size_t)s->targets * sizeof(int64_t);
        break;
    case L_BCE:
        s->bce = (cn_bce_geom){n, k, sp, (cn_reduction)c->reduction};
        st = cn_bce_check(&s->bce, label);
        break;
    default: st = cn_regression_check(s->n, (cn_reduction)c->reduction, l->ops->name, label); break;
    }
    if (st != CN_OK) return st;
    p->out = (cn_shape){1, {1}};
    p->cache_bytes = (size_t)s->n * sizeof(float);
    p->rf_global = 1;
    return CN_OK;
}

static cn_status plan_xent(cn_layer *l, cn_layer_plan *p) { return plan_kind(l, p, L_XENT); }
static cn_status plan_bce(cn_layer *l, cn_layer_plan *p) { return plan_kind(l, p, L_BCE); }

static cn_status check_target(cn_layer *l, const float *t)
{
    const loss_state *s = l->state;
    for (int64_t i = 0; i < s->targets; i++) {
        if (!isfinite(t[i]))
            return cn_set_error(CN_STATUS_INVALID_ARG, "%s '%s': target %lld is not finite", l->ops->name, l->name, (long long)i);
        if (s->kind == L_XENT) {
            if (t[i] != floorf(t[i]) || ((t[i] < 0 || t[i] >= (float)s->xent.k) && t[i] != (float)s->xent.ignore_index))
                return cn_set_error(CN_STATUS_INVALID_ARG,
                                    "softmax_cross_entropy '%s': target %g at position %lld is not a class index in [0, %lld) "
                                    "or ignore_index=%lld",
                                    l->name, t[i], (long long)i, (long long)s->xent.k, (long long)s->xent.ignore_index);
        }
    }
    return CN_OK;
}

static void forward(cn_layer *l, const cn_layer_run *r)
{
    const loss_state *s = l->state;
    float *grad = r->cache; /* NULL at inference: no gradient needed */
    const float *w = s->n_weights ? s->weights : NULL;
    double loss;
    switch (s->kind) {
    case L_XENT: {
        int64_t *t = r->scratch;
        for (int64_t i = 0; i < s->targets; i++) t[i] = (int64_t)r->target[i];
        loss = cn_softmax_xent(grad, r->x[0], t, w, &s->xent);
        break;
    }
    case L_BCE: loss = cn_bce_logits(grad, r->x[0], r->target, w, &s->bce); break;
    case L_MSE: loss = cn_mse_loss(grad, r->x[0], r->target, s->n, s->bce.reduction); break;
    default: loss = cn_l1_loss(grad, r->x[0], r->target, s->n, s->bce.reduction); break;
    }
    r->y[0] = (float)loss;
}

static void backward(cn_layer *l, const cn_layer_run *r)
{
    const loss_state *s = l->state;
    if (!r->dx[0]) return;
    /* y = L(x)  →  dx += dy * dL/dx (kept from forward) */
    const float *g = r->cache;
    float dy = r->dy[0];
    for (int64_t i = 0; i < s->n; i++) r->dx[0][i] += dy * g[i];
}

/* the regression kernels take their reduction from s->bce.reduction: keep it set */
static cn_status plan_regression(cn_layer *l, cn_layer_plan *p, int kind)
{
    cn_status st = plan_kind(l, p, kind);
    ((loss_state *)l->state)->bce.reduction = (cn_reduction)((const loss_cfg *)l->cfg)->reduction;
    return st;
}
static cn_status plan_mse_r(cn_layer *l, cn_layer_plan *p) { return plan_regression(l, p, L_MSE); }
static cn_status plan_l1_r(cn_layer *l, cn_layer_plan *p) { return plan_regression(l, p, L_L1); }

#define REDUCTION_OPT {"reduction", CN_OPT_ENUM, offsetof(loss_cfg, reduction), "mean", "mean|sum", "average or sum over elements"}
static const cn_opt_spec xent_opts[] = {
    REDUCTION_OPT,
    {"label_smoothing", CN_OPT_FLOAT, offsetof(loss_cfg, label_smoothing), "0", NULL, "mix the one-hot target with uniform (PyTorch semantics)"},
    {"ignore_index", CN_OPT_INT, offsetof(loss_cfg, ignore_index), "-100", NULL, "targets equal to this contribute nothing"},
    {"class_weights", CN_OPT_FLOATS, offsetof(loss_cfg, class_weights), "", NULL, "one weight per class (weighted mean as PyTorch)"},
    {NULL},
};
static const cn_opt_spec bce_opts[] = {
    REDUCTION_OPT,
    {"pos_weight", CN_OPT_FLOATS, offsetof(loss_cfg, pos_weight), "", NULL, "weight of positive targets, one per class"},
    {NULL},
};
static const cn_opt_spec reg_opts[] = {REDUCTION_OPT, {NULL}};

#define LOSS_OPS(ident, nm, sum, table, planfn)                                                                        \
    const cn_layer_ops ident = {.name = nm, .summary = sum, .min_inputs = 1, .max_inputs = 1, .is_loss = 1,           \
                                .opts = table, .cfg_size = sizeof(loss_cfg), .state_size = sizeof(loss_state),       \
                                .plan = planfn, .forward = forward, .backward = backward, .check_target = check_target}

LOSS_OPS(cn_layer_softmax_cross_entropy, "softmax_cross_entropy",
         "loss: softmax cross-entropy for classification, per pixel for segmentation (targets: class indices)", xent_opts, plan_xent);
LOSS_OPS(cn_layer_bce_with_logits, "bce_with_logits", "loss: binary cross-entropy on logits (multi-label, per-pixel masks)", bce_opts,
         plan_bce);
LOSS_OPS(cn_layer_mse, "mse", "loss: mean squared error (regression)", reg_opts, plan_mse_r);
LOSS_OPS(cn_layer_l1, "l1", "loss: mean absolute error (regression)", reg_opts, plan_l1_r);
