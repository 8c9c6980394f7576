/* merge.c — layers that join several inputs: `add` (elementwise sum: residual connections)
 * and `concat` (along an axis, default the channels: U-Net skips). Shape errors name every
 * input and its shape. */
#include <stdio.h>

#include "convnet/ops.h"
#include "layer.h"

typedef struct {
    int64_t axis;
} merge_cfg;

typedef struct {
    int concat;
    int axis;
} merge_state;

static cn_status plan_kind(cn_layer *l, cn_layer_plan *p, int concat)
{
    const merge_cfg *c = l->cfg;
    merge_state *s = l->state;
    s->concat = concat;
    char label[96];
    snprintf(label, sizeof label, "%s", l->name);
    if (!concat) {
        cn_status st = cn_add_check(&p->out, l->in, l->n_in, label);
        if (st == CN_OK) p->macs = 0;
        return st;
    }
    int axis = (int)c->axis;
    if (axis < 0) axis += l->in[0].ndim;
    if (axis == 0)
        return cn_set_error(CN_STATUS_INVALID_ARG, "concat '%s': axis %lld is the batch axis", l->name, (long long)c->axis);
    s->axis = axis;
    return cn_concat_check(&p->out, l->in, l->n_in, axis, label);
}

static cn_status plan_add(cn_layer *l, cn_layer_plan *p) { return plan_kind(l, p, 0); }
static cn_status plan_concat(cn_layer *l, cn_layer_plan *p) { return plan_kind(l, p, 1); }

static void forward(cn_layer *l, const cn_layer_run *r)
{
    const merge_state *s = l->state;
    if (s->concat) cn_concat_forward(r->y, r->x, l->in, r->n_in, s->axis);
    else cn_add_forward(r->y, r->x, r->n_in, cn_shape_numel(&l->plan.out));
}

static void backward(cn_layer *l, const cn_layer_run *r)
{
    const merge_state *s = l->state;
    /* y = x0 + x1 + ...  →  dxi += dy;  y = concat(xi)  →  dxi += the slice of dy */
    if (s->concat) cn_concat_backward((float *const *)r->dx, r->dy, l->in, r->n_in, s->axis);
    else cn_add_backward((float *const *)r->dx, r->dy, r->n_in, cn_shape_numel(&l->plan.out));
}

static const cn_opt_spec add_opts[] = {{NULL}};
static const cn_opt_spec concat_opts[] = {
    {"axis", CN_OPT_INT, offsetof(merge_cfg, axis), "1", NULL, "axis to join along (1 = channels; negative counts from the end)"},
    {NULL},
};

const cn_layer_ops cn_layer_add = {
    .name = "add", .summary = "elementwise sum of its inputs (residual connections)",
    .min_inputs = 2, .max_inputs = CN_MAX_INPUTS, .opts = add_opts, .cfg_size = sizeof(merge_cfg), .state_size = sizeof(merge_state),
    .plan = plan_add, .forward = forward, .backward = backward,
};
const cn_layer_ops cn_layer_concat = {
    .name = "concat", .summary = "concatenation of its inputs along an axis (channels by default: U-Net skips)",
    .min_inputs = 2, .max_inputs = CN_MAX_INPUTS, .opts = concat_opts, .cfg_size = sizeof(merge_cfg), .state_size = sizeof(merge_state),
    .plan = plan_concat, .forward = forward, .backward = backward,
};
