/* dense.c — fully connected: y (N, units) = x (N, features) W^T + b, W (units, features).
 * Any input rank is accepted and read as (N, everything else). */
#include <stdio.h>

#include "convnet/ops.h"
#include "layer.h"

typedef struct {
    int64_t units;
    int bias;
    int init;
} dense_cfg;

typedef struct {
    cn_dense_geom g;
} dense_state;

static const cn_opt_spec opts[] = {
    {"units", CN_OPT_INT, offsetof(dense_cfg, units), NULL, NULL, "output features"},
    {"bias", CN_OPT_BOOL, offsetof(dense_cfg, bias), "true", NULL, "add a learned bias"},
    {"init", CN_OPT_ENUM, offsetof(dense_cfg, init), "he_normal", "he_normal|he_uniform|xavier_normal|xavier_uniform",
     "weight initialization"},
    {NULL},
};

static const cn_init_kind inits[] = {CN_INIT_HE_NORMAL, CN_INIT_HE_UNIFORM, CN_INIT_XAVIER_NORMAL, CN_INIT_XAVIER_UNIFORM};

static cn_status check(cn_layer *l)
{
    const dense_cfg *c = l->cfg;
    if (c->units < 1) return cn_set_error(CN_STATUS_INVALID_ARG, "dense '%s': units = %lld; must be >= 1", l->name, (long long)c->units);
    return CN_OK;
}

static cn_status plan(cn_layer *l, cn_layer_plan *p)
{
    const dense_cfg *c = l->cfg;
    dense_state *s = l->state;
    const cn_shape *in = &l->in[0];
    int64_t features = cn_shape_numel(in) / in->dim[0];
    cn_shape w = {2, {c->units, features}};
    char label[96];
    snprintf(label, sizeof label, "%s", l->name);
    cn_status st = cn_dense_check(&s->g, in, &w, label);
    if (st != CN_OK) return st;
    p->out = (cn_shape){2, {in->dim[0], c->units}};
    p->params[p->n_params++] = (cn_param_spec){"weight", w, inits[c->init], (double)features, (double)c->units, 0, 1};
    if (c->bias) p->params[p->n_params++] = (cn_param_spec){"bias", {1, {c->units}}, CN_INIT_ZERO, 0, 0, 0, 1};
    p->macs = in->dim[0] * features * c->units;
    p->rf_global = 1;
    return CN_OK;
}

static void forward(cn_layer *l, const cn_layer_run *r)
{
    const dense_state *s = l->state;
    cn_dense_forward(r->y, r->x[0], l->param[0], l->plan.n_params > 1 ? l->param[1] : NULL, &s->g);
}

static void backward(cn_layer *l, const cn_layer_run *r)
{
    const dense_state *s = l->state;
    /* y = x W^T + b  →  dW += dy^T x, db += sum dy, dx += dy W */
    cn_dense_backward_weights(l->grad[0], l->plan.n_params > 1 ? l->grad[1] : NULL, r->dy, r->x[0], &s->g);
    if (r->dx[0]) cn_dense_backward_data(r->dx[0], r->dy, l->param[0], &s->g);
}

const cn_layer_ops cn_layer_dense = {
    .name = "dense", .summary = "fully connected layer (any input rank, read as N x features)",
    .min_inputs = 1, .max_inputs = 1, .opts = opts, .cfg_size = sizeof(dense_cfg), .state_size = sizeof(dense_state),
    .check = check, .plan = plan, .forward = forward, .backward = backward, .dx_optional = 1,
};
