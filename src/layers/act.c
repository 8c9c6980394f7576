/* act.c — elementwise activations (relu, leaky_relu, elu, selu, sigmoid, tanh, softplus,
 * hard_sigmoid, hard_swish, gelu, clip, identity) and PReLU (a learned slope per channel, or
 * one shared). Non-differentiable points follow the kernels (include/convnet/act.h):
 * the derivative of ReLU at 0 is 0. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "convnet/act.h"
#include "layer.h"

typedef struct {
    int kind;
    double slope, alpha, beta, threshold, lo, hi;
    int gelu_tanh;
} act_cfg;

typedef struct {
    cn_act a;
    int64_t n;
} act_state;

#define ACT_KINDS "identity|relu|leaky_relu|elu|selu|sigmoid|tanh|softplus|hard_sigmoid|hard_swish|gelu|clip"

static const cn_opt_spec act_opts[] = {
    {"kind", CN_OPT_ENUM, offsetof(act_cfg, kind), NULL, ACT_KINDS, "the function"},
    {"slope", CN_OPT_FLOAT, offsetof(act_cfg, slope), "0.01", NULL, "leaky_relu: negative slope"},
    {"alpha", CN_OPT_FLOAT, offsetof(act_cfg, alpha), "nan", NULL, "elu: alpha (default 1); hard_sigmoid: slope (default 0.2)"},
    {"beta", CN_OPT_FLOAT, offsetof(act_cfg, beta), "nan", NULL, "softplus: beta (default 1); hard_sigmoid: offset (default 0.5)"},
    {"threshold", CN_OPT_FLOAT, offsetof(act_cfg, threshold), "20", NULL, "softplus: linear above beta*x > threshold"},
    {"lo", CN_OPT_FLOAT, offsetof(act_cfg, lo), "-inf", NULL, "clip: lower bound"},
    {"hi", CN_OPT_FLOAT, offsetof(act_cfg, hi), "inf", NULL, "clip: upper bound"},
    {"approximate", CN_OPT_BOOL, offsetof(act_cfg, gelu_tanh), "false", NULL, "gelu: tanh approximation instead of erf"},
    {NULL},
};

/* option values → kernel parameters; NaN means "the kernel's default for this kind" */
static cn_act make_act(const act_cfg *c)
{
    static const cn_act_kind order[] = {CN_ACT_IDENTITY, CN_ACT_RELU, CN_ACT_LEAKY_RELU, CN_ACT_ELU, CN_ACT_SELU,
                                        CN_ACT_SIGMOID, CN_ACT_TANH, CN_ACT_SOFTPLUS, CN_ACT_HARD_SIGMOID,
                                        CN_ACT_HARD_SWISH, CN_ACT_GELU, CN_ACT_CLIP};
    cn_act a = cn_act_make(order[c->kind]);
    a.slope = (float)c->slope;
    if (!isnan(c->alpha)) a.alpha = (float)c->alpha;
    if (!isnan(c->beta)) a.beta = (float)c->beta;
    a.threshold = (float)c->threshold;
    a.lo = (float)c->lo;
    a.hi = (float)c->hi;
    a.gelu_tanh = c->gelu_tanh;
    return a;
}

static cn_status act_check(cn_layer *l)
{
    cn_act a = make_act(l->cfg);
    char label[96];
    snprintf(label, sizeof label, "%s", l->name);
    return cn_act_check(&a, label);
}

static cn_status act_plan(cn_layer *l, cn_layer_plan *p)
{
    act_state *s = l->state;
    s->a = make_act(l->cfg);
    s->n = cn_shape_numel(&l->in[0]);
    p->out = l->in[0];
    return CN_OK;
}

static void act_forward(cn_layer *l, const cn_layer_run *r)
{
    const act_state *s = l->state;
    cn_act_forward(r->y, r->x[0], s->n, &s->a);
}

static void act_backward(cn_layer *l, const cn_layer_run *r)
{
    const act_state *s = l->state;
    /* y = f(x)  →  dx += dy * f'(x) (from x or y, as the kernel needs) */
    if (r->dx[0]) cn_act_backward(r->dx[0], r->dy, r->x[0], r->y, s->n, &s->a);
}

const cn_layer_ops cn_layer_act = {
    .name = "act",
    .summary = "elementwise activation: relu, leaky_relu, elu, selu, sigmoid, tanh, softplus, hard_sigmoid, hard_swish, gelu, clip",
    .min_inputs = 1, .max_inputs = 1, .opts = act_opts, .cfg_size = sizeof(act_cfg), .state_size = sizeof(act_state),
    .check = act_check, .plan = act_plan, .forward = act_forward, .backward = act_backward,
};

/* ---- PReLU ---- */
typedef struct {
    int shared;
    double init;
} prelu_cfg;

typedef struct {
    int64_t n, c, s, n_slope;
} prelu_state;

static const cn_opt_spec prelu_opts[] = {
    {"shared", CN_OPT_BOOL, offsetof(prelu_cfg, shared), "false", NULL, "one slope for all channels instead of one per channel"},
    {"init", CN_OPT_FLOAT, offsetof(prelu_cfg, init), "0.25", NULL, "initial slope"},
    {NULL},
};

static cn_status prelu_plan(cn_layer *l, cn_layer_plan *p)
{
    const prelu_cfg *c = l->cfg;
    prelu_state *s = l->state;
    const cn_shape *in = &l->in[0];
    if (in->ndim < 2)
        return cn_set_error(CN_STATUS_SHAPE, "prelu '%s': input %s needs a channel axis (N, C, ...)", l->name, cn_shape_text(in));
    s->n = in->dim[0];
    s->c = in->dim[1];
    s->s = cn_shape_numel(in) / (s->n * s->c);
    s->n_slope = c->shared ? 1 : s->c;
    p->out = *in;
    p->params[p->n_params++] = (cn_param_spec){"slope", {1, {s->n_slope}}, CN_INIT_CONST, 0, 0, (float)c->init, 1};
    return CN_OK;
}

static void prelu_forward(cn_layer *l, const cn_layer_run *r)
{
    const prelu_state *s = l->state;
    cn_prelu_forward(r->y, r->x[0], l->param[0], s->n, s->c, s->s, s->n_slope);
}

static void prelu_backward(cn_layer *l, const cn_layer_run *r)
{
    const prelu_state *s = l->state;
    /* y = x > 0 ? x : slope * x  →  dx, dslope */
    cn_prelu_backward(r->dx[0], l->grad[0], r->dy, r->x[0], l->param[0], s->n, s->c, s->s, s->n_slope);
}

const cn_layer_ops cn_layer_prelu = {
    .name = "prelu",
    .summary = "parametric ReLU: a learned negative slope per channel (or one shared)",
    .min_inputs = 1, .max_inputs = 1, .opts = prelu_opts, .cfg_size = sizeof(prelu_cfg), .state_size = sizeof(prelu_state),
    .plan = prelu_plan, .forward = prelu_forward, .backward = prelu_backward,
};
