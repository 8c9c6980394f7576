/* flatten.c — (N, C, ...) → (N, C*...): a view of the same values in the same order. */
#include <string.h>

#include "layer.h"

static cn_status plan(cn_layer *l, cn_layer_plan *p)
{
    const cn_shape *in = &l->in[0];
    p->out = (cn_shape){2, {in->dim[0], cn_shape_numel(in) / in->dim[0]}};
    p->rf_global = 1; /* each output value may come from anywhere: later layers see the whole map */
    return CN_OK;
}

static void forward(cn_layer *l, const cn_layer_run *r)
{
    memcpy(r->y, r->x[0], (size_t)cn_shape_numel(&l->plan.out) * sizeof(float));
}

static void backward(cn_layer *l, const cn_layer_run *r)
{
    /* y = x (reshaped)  →  dx += dy */
    if (!r->dx[0]) return;
    int64_t n = cn_shape_numel(&l->plan.out);
    for (int64_t i = 0; i < n; i++) r->dx[0][i] += r->dy[i];
}

static const cn_opt_spec opts[] = {{NULL}};

const cn_layer_ops cn_layer_flatten = {
    .name = "flatten", .summary = "flatten (N, C, ...) to (N, C*...)",
    .min_inputs = 1, .max_inputs = 1, .opts = opts, .cfg_size = 1, .state_size = 1,
    .plan = plan, .forward = forward, .backward = backward,
};
