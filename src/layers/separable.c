/* separable.c — depthwise-separable convolution as one block: a depthwise k x k convolution
 * (groups = input channels, `multiplier` outputs per channel), then a pointwise 1x1
 * convolution to `filters` channels. 1D/2D/3D from the input's rank. With 6 input channels,
 * a 3x3 kernel and 3 filters it has 6*9 + 6*3 = 72 weights where a standard convolution has
 * 3*6*9 = 162 (tests/unit/test_conv_layers.c). */
#include <string.h>

#include "conv_common.h"

typedef struct {
    cn_convlike_cfg c;
    int64_t multiplier;
    int depthwise_bias;
} sep_cfg;

typedef struct {
    cn_conv_geom dw, pw;
    size_t mid_floats;  /* N * IC*multiplier * prod(dw.out) */
    size_t kern_scratch; /* floats */
} sep_state;

static const cn_opt_spec opts[] = {
    CN_OPT_FILTERS(sep_cfg), CN_OPT_KERNEL(sep_cfg), CN_OPT_STRIDE(sep_cfg), CN_OPT_PADDING(sep_cfg),
    CN_OPT_DILATION(sep_cfg),
    {"multiplier", CN_OPT_INT, offsetof(sep_cfg, multiplier), "1", NULL, "depthwise outputs per input channel"},
    {"depthwise_bias", CN_OPT_BOOL, offsetof(sep_cfg, depthwise_bias), "false", NULL, "bias after the depthwise stage"},
    CN_OPT_BIAS(sep_cfg), CN_OPT_PAD_MODE(sep_cfg), CN_OPT_INIT(sep_cfg), CN_OPT_DIMS(sep_cfg), {NULL},
};

static cn_status check(cn_layer *l)
{
    const sep_cfg *c = l->cfg;
    if (c->multiplier < 1)
        return cn_set_error(CN_STATUS_INVALID_ARG, "separable_conv '%s': multiplier = %lld; must be >= 1", l->name,
                            (long long)c->multiplier);
    cn_convlike_cfg base = c->c;
    base.groups = 1; /* set by plan: the depthwise stage uses groups = input channels */
    return cn_convlike_check(l, &base);
}

enum { P_DW_W, P_DW_B, P_PW_W, P_PW_B };

static cn_status plan(cn_layer *l, cn_layer_plan *p)
{
    const sep_cfg *c = l->cfg;
    sep_state *s = l->state;
    if (l->in[0].ndim < 3)
        return cn_set_error(CN_STATUS_SHAPE, "separable_conv '%s': input %s has rank %d; expected NCW, NCHW or NCDHW", l->name,
                            cn_shape_text(&l->in[0]), l->in[0].ndim);
    cn_convlike_cfg dwc = c->c;
    int64_t ic = l->in[0].dim[1];
    dwc.filters = ic * c->multiplier;
    dwc.groups = ic;
    cn_status st = cn_convlike_geom(l, &dwc, 0, &s->dw);
    if (st != CN_OK) return st;
    cn_conv_geom *pw = &s->pw;
    cn_conv_geom_init(pw, s->dw.ndim);
    pw->n = s->dw.n;
    pw->ic = dwc.filters;
    pw->oc = c->c.filters;
    for (int i = 0; i < pw->ndim; i++) pw->in[i] = s->dw.out[i], pw->k[i] = 1;
    if ((st = cn_conv_geom_resolve(pw, l->name)) != CN_OK) return st;
    p->out = cn_convlike_out_shape(pw);
    int64_t taps = cn_prod(s->dw.k, s->dw.ndim);
    cn_shape dws = {.ndim = s->dw.ndim + 2, .dim = {dwc.filters, 1}};
    cn_shape pws = {.ndim = pw->ndim + 2, .dim = {pw->oc, pw->ic}};
    for (int i = 0; i < s->dw.ndim; i++) dws.dim[2 + i] = s->dw.k[i], pws.dim[2 + i] = 1;
    /* fixed slots so forward/backward can index them: absent biases get an empty spec skipped below */
    p->params[p->n_params] = cn_convlike_weight(&c->c, dws, (double)taps, (double)(c->multiplier * taps));
    p->params[p->n_params++].name = "dw_weight";
    if (c->depthwise_bias) {
        p->params[p->n_params] = cn_convlike_bias((cn_shape){1, {dwc.filters}});
        p->params[p->n_params++].name = "dw_bias";
    }
    p->params[p->n_params] = cn_convlike_weight(&c->c, pws, (double)pw->ic, (double)pw->oc);
    p->params[p->n_params++].name = "pw_weight";
    if (c->c.bias) {
        p->params[p->n_params] = cn_convlike_bias((cn_shape){1, {pw->oc}});
        p->params[p->n_params++].name = "pw_bias";
    }
    s->mid_floats = (size_t)(s->dw.n * dwc.filters * cn_prod(s->dw.out, s->dw.ndim));
    size_t k1 = cn_conv_scratch_floats(&s->dw), k2 = cn_conv_scratch_floats(pw);
    s->kern_scratch = k1 > k2 ? k1 : k2;
    p->cache_bytes = s->mid_floats * sizeof(float);
    p->scratch_bytes = (s->mid_floats + 16 + s->kern_scratch) * sizeof(float);
    p->macs = cn_conv_macs(&s->dw) + cn_conv_macs(pw);
    for (int i = 0; i < s->dw.ndim; i++) {
        p->rf_kernel[i] = s->dw.dilation[i] * (s->dw.k[i] - 1) + 1;
        p->rf_stride[i] = (double)s->dw.stride[i];
    }
    return CN_OK;
}

/* parameter pointers by role (biases may be absent) */
static void roles(const cn_layer *l, float *const *v, float **out)
{
    const sep_cfg *c = l->cfg;
    int k = 0;
    out[P_DW_W] = v[k++];
    out[P_DW_B] = c->depthwise_bias ? v[k++] : NULL;
    out[P_PW_W] = v[k++];
    out[P_PW_B] = c->c.bias ? v[k++] : NULL;
}

static void forward(cn_layer *l, const cn_layer_run *r)
{
    const sep_state *s = l->state;
    float *w[4];
    roles(l, l->param, w);
    float *scratch = r->scratch;
    float *mid = r->cache ? r->cache : scratch;
    float *ks = scratch + s->mid_floats + 16;
    cn_conv_forward(mid, r->x[0], w[P_DW_W], w[P_DW_B], &s->dw, ks); /* mid = depthwise(x) */
    cn_conv_forward(r->y, mid, w[P_PW_W], w[P_PW_B], &s->pw, ks);    /* y = pointwise(mid) */
}

static void backward(cn_layer *l, const cn_layer_run *r)
{
    const sep_state *s = l->state;
    float *w[4], *dw[4];
    roles(l, l->param, w);
    roles(l, l->grad, dw);
    const float *mid = r->cache;
    float *dmid = r->scratch, *ks = dmid + s->mid_floats + 16;
    memset(dmid, 0, s->mid_floats * sizeof(float));
    /* y = pointwise(mid)  →  dpw, dmid */
    cn_conv_backward_weights(dw[P_PW_W], dw[P_PW_B], r->dy, mid, &s->pw, ks);
    cn_conv_backward_data(dmid, r->dy, w[P_PW_W], &s->pw, ks);
    /* mid = depthwise(x)  →  ddw, dx */
    cn_conv_backward_weights(dw[P_DW_W], dw[P_DW_B], dmid, r->x[0], &s->dw, ks);
    if (r->dx[0]) cn_conv_backward_data(r->dx[0], dmid, w[P_DW_W], &s->dw, ks);
}

const cn_layer_ops cn_layer_separable_conv = {
    .name = "separable_conv",
    .dx_optional = 1,
    .summary = "depthwise-separable convolution: depthwise k x k, then pointwise 1x1 (1D/2D/3D)",
    .min_inputs = 1,
    .max_inputs = 1,
    .opts = opts,
    .cfg_size = sizeof(sep_cfg),
    .state_size = sizeof(sep_state),
    .check = check,
    .plan = plan,
    .forward = forward,
    .backward = backward,
};
