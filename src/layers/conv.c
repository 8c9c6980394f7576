/* conv.c — the convolution-family layers, which share options, planning and the
 * forward/backward calling pattern and differ only in kernels and weight layout:
 *   conv               1D/2D/3D from the input's rank; groups (depthwise when groups = input
 *                      channels), dilation, padding (explicit, asymmetric, same, valid;
 *                      zero/reflect/replicate), bias, true convolution (flip) or
 *                      cross-correlation. A 1x1 convolution is kernel = 1.
 *   conv_transpose     transposed convolution as ONNX ConvTranspose; w (IC, OC/groups, *k)
 *   locally_connected  unshared weights: one kernel per output position; w (*out, OC, IC/groups, *k)
 *   tiled_conv         `tile` kernels cycled across output positions per axis; w (*tile, OC, IC/groups, *k)
 */
#include "conv_common.h"

typedef void (*fwd_fn)(float *, const float *, const float *, const float *, const cn_conv_geom *, float *);
typedef void (*bwd_data_fn)(float *, const float *, const float *, const cn_conv_geom *, float *);
typedef void (*bwd_w_fn)(float *, float *, const float *, const float *, const cn_conv_geom *, float *);

enum { KIND_CONV, KIND_TRANSPOSE, KIND_LOCAL, KIND_TILED };

static const struct {
    fwd_fn forward;
    bwd_data_fn backward_data;
    bwd_w_fn backward_weights;
    int64_t (*macs)(const cn_conv_geom *);
} kernels[] = {
    [KIND_CONV] = {cn_conv_forward, cn_conv_backward_data, cn_conv_backward_weights, cn_conv_macs},
    [KIND_TRANSPOSE] = {cn_conv_forward, cn_conv_backward_data, cn_conv_backward_weights, cn_conv_macs},
    [KIND_LOCAL] = {cn_local_forward, cn_local_backward_data, cn_local_backward_weights, cn_local_macs},
    [KIND_TILED] = {cn_tiled_forward, cn_tiled_backward_data, cn_tiled_backward_weights, cn_tiled_macs},
};

typedef struct {
    cn_convlike_cfg c;
} conv_cfg;

typedef struct {
    cn_conv_geom g;
    int kind;
    int prepared_ok; /* r->prepared holds the current weights' prepared form (zeroed by plan) */
} conv_state;

static cn_status check(cn_layer *l) { return cn_convlike_check(l, &((conv_cfg *)l->cfg)->c); }

static cn_status plan_kind(cn_layer *l, cn_layer_plan *p, int kind)
{
    const cn_convlike_cfg *c = &((conv_cfg *)l->cfg)->c;
    conv_state *s = l->state;
    cn_conv_geom *g = &s->g;
    s->kind = kind;
    cn_status st = cn_convlike_geom(l, c, kind, g);
    if (st != CN_OK) return st;
    g->weights_fixed = l->prepared && kind == KIND_CONV; /* before the kernels plan from g */
    p->out = cn_convlike_out_shape(g);
    int64_t taps = cn_prod(g->k, g->ndim);
    /* weight shape: conv (OC, IC/groups, *k); transposed (IC, OC/groups, *k); locally connected
     * and tiled (positions or tiles, OC, IC/groups, prod(k)) — the kernel taps flattened so a 3D
     * layer still fits in 5 dimensions (the memory layout is the kernels' (P, OC, IC/g, *k)) */
    cn_shape ws = {0}, bs = {0};
    if (kind == KIND_LOCAL || kind == KIND_TILED) {
        int64_t per = cn_prod(kind == KIND_LOCAL ? g->out : g->tile, g->ndim);
        ws = (cn_shape){4, {per, g->oc, g->ic / g->groups, taps}};
        bs = (cn_shape){2, {per, g->oc}};
    } else {
        ws.ndim = 2 + g->ndim;
        ws.dim[0] = kind == KIND_TRANSPOSE ? g->ic : g->oc;
        ws.dim[1] = kind == KIND_TRANSPOSE ? g->oc / g->groups : g->ic / g->groups;
        for (int i = 0; i < g->ndim; i++) ws.dim[2 + i] = g->k[i];
        bs = (cn_shape){1, {g->oc}};
    }
    /* fans of the equivalent forward map: each output sees (inputs per group) x taps values */
    double fan_in = (double)((kind == KIND_TRANSPOSE ? g->oc : g->ic) / g->groups * taps);
    double fan_out = (double)((kind == KIND_TRANSPOSE ? g->ic : g->oc) / g->groups * taps);
    p->params[p->n_params++] = cn_convlike_weight(c, ws, fan_in, fan_out);
    if (c->bias) p->params[p->n_params++] = cn_convlike_bias(bs);
    p->scratch_bytes = cn_conv_scratch_floats(g) * sizeof(float);
    p->prepared_bytes = g->weights_fixed ? cn_conv_prepared_floats(g) * sizeof(float) : 0;
    p->macs = kernels[kind].macs(g);
    for (int i = 0; i < g->ndim; i++) {
        p->rf_kernel[i] = g->dilation[i] * (g->k[i] - 1) + 1;
        p->rf_stride[i] = kind == KIND_TRANSPOSE ? 1.0 / (double)g->stride[i] : (double)g->stride[i];
    }
    return CN_OK;
}

static cn_status plan_conv(cn_layer *l, cn_layer_plan *p) { return plan_kind(l, p, KIND_CONV); }
static cn_status plan_transpose(cn_layer *l, cn_layer_plan *p) { return plan_kind(l, p, KIND_TRANSPOSE); }
static cn_status plan_local(cn_layer *l, cn_layer_plan *p) { return plan_kind(l, p, KIND_LOCAL); }
static cn_status plan_tiled(cn_layer *l, cn_layer_plan *p) { return plan_kind(l, p, KIND_TILED); }

static void forward(cn_layer *l, const cn_layer_run *r)
{
    conv_state *s = l->state;
    const float *b = l->plan.n_params > 1 ? l->param[1] : NULL;
    if (r->prepared) { /* CN_PLAN_PREPARED: the weights are fixed from the first forward on */
        if (!s->prepared_ok) cn_conv_prepare(r->prepared, l->param[0], &s->g);
        s->prepared_ok = 1;
        cn_conv_forward_prepared(r->y, r->x[0], r->prepared, l->param[0], b, &s->g, r->scratch);
        return;
    }
    kernels[s->kind].forward(r->y, r->x[0], l->param[0], b, &s->g, r->scratch);
}

static void backward(cn_layer *l, const cn_layer_run *r)
{
    const conv_state *s = l->state;
    /* y = conv(x, w) + b  →  dw += dL/dw(dy, x), db += sum dy, dx += dL/dx(dy, w) */
    kernels[s->kind].backward_weights(l->grad[0], l->plan.n_params > 1 ? l->grad[1] : NULL, r->dy, r->x[0], &s->g, r->scratch);
    if (r->dx[0]) kernels[s->kind].backward_data(r->dx[0], r->dy, l->param[0], &s->g, r->scratch);
}

static const cn_opt_spec conv_opts[] = {
    CN_OPT_FILTERS(conv_cfg), CN_OPT_KERNEL(conv_cfg), CN_OPT_STRIDE(conv_cfg), CN_OPT_PADDING(conv_cfg),
    CN_OPT_DILATION(conv_cfg), CN_OPT_GROUPS(conv_cfg), CN_OPT_BIAS(conv_cfg), CN_OPT_PAD_MODE(conv_cfg),
    CN_OPT_FLIP(conv_cfg), CN_OPT_INIT(conv_cfg), CN_OPT_DIMS(conv_cfg), {NULL},
};
static const cn_opt_spec transpose_opts[] = {
    CN_OPT_FILTERS(conv_cfg), CN_OPT_KERNEL(conv_cfg), CN_OPT_STRIDE(conv_cfg), CN_OPT_PADDING(conv_cfg),
    CN_OPT_OUTPUT_PADDING(conv_cfg), CN_OPT_OUTPUT_SHAPE(conv_cfg), CN_OPT_DILATION(conv_cfg),
    CN_OPT_GROUPS(conv_cfg), CN_OPT_BIAS(conv_cfg), CN_OPT_INIT(conv_cfg), CN_OPT_DIMS(conv_cfg), {NULL},
};
static const cn_opt_spec local_opts[] = {
    CN_OPT_FILTERS(conv_cfg), CN_OPT_KERNEL(conv_cfg), CN_OPT_STRIDE(conv_cfg), CN_OPT_PADDING(conv_cfg),
    CN_OPT_DILATION(conv_cfg), CN_OPT_GROUPS(conv_cfg), CN_OPT_BIAS(conv_cfg), CN_OPT_PAD_MODE(conv_cfg),
    CN_OPT_INIT(conv_cfg), CN_OPT_DIMS(conv_cfg), {NULL},
};
static const cn_opt_spec tiled_opts[] = {
    CN_OPT_FILTERS(conv_cfg), CN_OPT_KERNEL(conv_cfg), CN_OPT_TILE(conv_cfg), CN_OPT_STRIDE(conv_cfg),
    CN_OPT_PADDING(conv_cfg), CN_OPT_DILATION(conv_cfg), CN_OPT_GROUPS(conv_cfg), CN_OPT_BIAS(conv_cfg),
    CN_OPT_PAD_MODE(conv_cfg), CN_OPT_INIT(conv_cfg), CN_OPT_DIMS(conv_cfg), {NULL},
};

#define CONV_OPS(ident, nm, sum, table, planfn)                                                                        \
    const cn_layer_ops ident = {.name = nm, .summary = sum, .min_inputs = 1, .max_inputs = 1, .opts = table,          \
                                .cfg_size = sizeof(conv_cfg), .state_size = sizeof(conv_state), .check = check,       \
                                .plan = planfn, .forward = forward, .backward = backward, .dx_optional = 1}

CONV_OPS(cn_layer_conv, "conv", "convolution, 1D/2D/3D from the input's rank (groups/depthwise, dilation, padding modes, flip)",
         conv_opts, plan_conv);
CONV_OPS(cn_layer_conv_transpose, "conv_transpose",
         "transposed convolution, 1D/2D/3D (output padding or output shape, dilation, groups), as ONNX ConvTranspose",
         transpose_opts, plan_transpose);
CONV_OPS(cn_layer_locally_connected, "locally_connected", "unshared convolution: a separate kernel and bias at each output position",
         local_opts, plan_local);
CONV_OPS(cn_layer_tiled_conv, "tiled_conv", "tiled convolution: `tile` kernels cycled across output positions (Goodfellow et al., ch. 9)",
         tiled_opts, plan_tiled);
