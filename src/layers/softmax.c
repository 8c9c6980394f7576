/* softmax.c — softmax and log-softmax over a chosen axis (default 1, the channels; a
 * negative axis counts from the end), numerically stable for large inputs. */
#include <stdio.h>

#include "convnet/act.h"
#include "layer.h"

typedef struct {
    int64_t axis;
} softmax_cfg;

typedef struct {
    cn_softmax_geom g;
    int log;
} softmax_state;

static const cn_opt_spec opts[] = {
    {"axis", CN_OPT_INT, offsetof(softmax_cfg, axis), "1", NULL, "axis to normalize over (batch is axis 0; negative counts from the end)"},
    {NULL},
};

static cn_status plan_kind(cn_layer *l, cn_layer_plan *p, int log)
{
    const softmax_cfg *c = l->cfg;
    softmax_state *s = l->state;
    s->log = log;
    char label[96];
    snprintf(label, sizeof label, "%s", l->name);
    if (c->axis == 0 || c->axis == -l->in[0].ndim)
        return cn_set_error(CN_STATUS_INVALID_ARG, "%s '%s': axis %lld is the batch axis", l->ops->name, l->name, (long long)c->axis);
    cn_status st = cn_softmax_geom_make(&s->g, &l->in[0], (int)c->axis, label);
    if (st != CN_OK) return st;
    p->out = l->in[0];
    return CN_OK;
}

static cn_status plan_softmax(cn_layer *l, cn_layer_plan *p) { return plan_kind(l, p, 0); }
static cn_status plan_log_softmax(cn_layer *l, cn_layer_plan *p) { return plan_kind(l, p, 1); }

static void forward(cn_layer *l, const cn_layer_run *r)
{
    const softmax_state *s = l->state;
    if (s->log) cn_log_softmax_forward(r->y, r->x[0], &s->g);
    else cn_softmax_forward(r->y, r->x[0], &s->g);
}

static void backward(cn_layer *l, const cn_layer_run *r)
{
    const softmax_state *s = l->state;
    if (!r->dx[0]) return;
    /* y = softmax(x) or log_softmax(x)  →  dx from y */
    if (s->log) cn_log_softmax_backward(r->dx[0], r->dy, r->y, &s->g);
    else cn_softmax_backward(r->dx[0], r->dy, r->y, &s->g);
}

const cn_layer_ops cn_layer_softmax = {
    .name = "softmax", .summary = "softmax over an axis (stable for large inputs)",
    .min_inputs = 1, .max_inputs = 1, .opts = opts, .cfg_size = sizeof(softmax_cfg), .state_size = sizeof(softmax_state),
    .plan = plan_softmax, .forward = forward, .backward = backward,
};
const cn_layer_ops cn_layer_log_softmax = {
    .name = "log_softmax", .summary = "log-softmax over an axis (stable for large inputs)",
    .min_inputs = 1, .max_inputs = 1, .opts = opts, .cfg_size = sizeof(softmax_cfg), .state_size = sizeof(softmax_state),
    .plan = plan_log_softmax, .forward = forward, .backward = backward,
};
