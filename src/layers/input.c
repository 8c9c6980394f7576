/* input.c — a model input: holds the data given to cn_model_forward (copied, so the caller's
 * buffer is only borrowed for the call). Shape excludes the batch dimension. */
#include <string.h>

#include "layer.h"

typedef struct {
    cn_ints shape;
} input_cfg;

static const cn_opt_spec opts[] = {
    {"shape", CN_OPT_INTS, offsetof(input_cfg, shape), NULL, NULL,
     "one sample's shape without the batch: C (dense), CxW (1D), CxHxW (2D) or CxDxHxW (3D)"},
    {NULL},
};

static cn_status check(cn_layer *l)
{
    const input_cfg *c = l->cfg;
    if (c->shape.n < 1 || c->shape.n > CN_MAX_DIMS - 1)
        return cn_set_error(CN_STATUS_SHAPE, "input '%s': shape has %d dimensions; give 1 to %d (without the batch)", l->name,
                            c->shape.n, CN_MAX_DIMS - 1);
    for (int i = 0; i < c->shape.n; i++)
        if (c->shape.v[i] < 1)
            return cn_set_error(CN_STATUS_SHAPE, "input '%s': shape dimension %d is %lld; must be >= 1", l->name, i,
                                (long long)c->shape.v[i]);
    return CN_OK;
}

static cn_status plan(cn_layer *l, cn_layer_plan *p)
{
    const input_cfg *c = l->cfg;
    p->out.ndim = c->shape.n + 1;
    p->out.dim[0] = l->batch;
    for (int i = 0; i < c->shape.n; i++) p->out.dim[i + 1] = c->shape.v[i];
    return cn_shape_check(&p->out, l->name);
}

static void forward(cn_layer *l, const cn_layer_run *r)
{
    memcpy(r->y, r->x[0], (size_t)cn_shape_numel(&l->plan.out) * sizeof(float));
}

static void backward(cn_layer *l, const cn_layer_run *r) { (void)l, (void)r; }

const cn_layer_ops cn_layer_input = {
    .name = "input",
    .summary = "model input (its data is given to forward)",
    .min_inputs = 0,
    .max_inputs = 0,
    .opts = opts,
    .cfg_size = sizeof(input_cfg),
    .check = check,
    .plan = plan,
    .forward = forward,
    .backward = backward,
};
