/* pool.c — the pooling layers, 1D/2D/3D from the input's rank, sharing options and planning:
 *   max_pool           kernel, stride, padding (explicit/asymmetric/same), dilation, ceil mode;
 *                      keep_indices = true keeps the argmax at inference too, for max_unpool
 *   avg_pool           as max_pool without dilation, with count_include_pad
 *   lp_pool            (sum |x|^p)^(1/p) over the window
 *   global_max_pool, global_avg_pool   one value per channel
 *   subsample          the top-left element of each window (stride-s picking)
 *   stochastic_pool    training: one activation sampled per window with probability
 *                      proportional to it (Zeiler & Fergus 2013); inference: the
 *                      probability-weighted average
 *   fractional_max_pool  pseudo-random regions of non-integer average size (Graham 2014),
 *                      output_size or ratio; fresh regions every training step
 * stride 0 (the default) means stride = kernel. */
#include <stdio.h>
#include <string.h>

#include "convnet/pool.h"
#include "pool_layer.h"

typedef struct {
    cn_ints kernel, stride, dilation;
    cn_padding padding;
    int ceil_mode, count_include_pad, keep_indices, overlap;
    double p;
    cn_ints output_size;
    cn_floats ratio;
} pool_cfg;

enum { P_MAX, P_AVG, P_LP, P_GMAX, P_GAVG, P_SUB, P_STOCH, P_FRAC };

typedef struct {
    cn_pool_geom g;
    int kind;
    int keep; /* the argmax cache exists in every forward (keep_indices) */
} pool_state;

static cn_status plan_kind(cn_layer *l, cn_layer_plan *p, int kind)
{
    const pool_cfg *c = l->cfg;
    pool_state *s = l->state;
    const cn_shape *in = &l->in[0];
    const char *t = l->ops->name;
    int ndim = in->ndim - 2;
    s->kind = kind;
    if (ndim < 1 || ndim > 3)
        return cn_set_error(CN_STATUS_SHAPE, "%s '%s': input %s has rank %d; expected NCW, NCHW or NCDHW (rank 3 to 5)", t,
                            l->name, cn_shape_text(in), in->ndim);
    cn_status st;
    if ((st = cn_ints_check(&c->kernel, ndim, l->name, "kernel")) != CN_OK ||
        (st = cn_ints_check(&c->stride, ndim, l->name, "stride")) != CN_OK ||
        (st = cn_ints_check(&c->dilation, ndim, l->name, "dilation")) != CN_OK ||
        (st = cn_ints_check(&c->output_size, ndim, l->name, "output_size")) != CN_OK)
        return st;
    if (c->ratio.n > 1 && c->ratio.n != ndim)
        return cn_set_error(CN_STATUS_SHAPE, "%s '%s': ratio has %d values for %d spatial dimensions", t, l->name, c->ratio.n, ndim);
    cn_pool_geom *g = &s->g;
    cn_pool_geom_init(g, ndim);
    g->n = in->dim[0];
    g->c = in->dim[1];
    int mode;
    if ((st = cn_padding_resolve(&c->padding, ndim, l->name, &mode, g->pad_begin, g->pad_end)) != CN_OK) return st;
    g->auto_pad = mode == CN_PADSPEC_SAME_UPPER ? CN_POOL_AUTO_PAD_SAME_UPPER
                : mode == CN_PADSPEC_SAME_LOWER ? CN_POOL_AUTO_PAD_SAME_LOWER
                : mode == CN_PADSPEC_VALID      ? CN_POOL_AUTO_PAD_VALID
                                                : CN_POOL_AUTO_PAD_EXPLICIT;
    for (int i = 0; i < ndim; i++) {
        g->in[i] = in->dim[2 + i];
        g->k[i] = cn_ints_axis(&c->kernel, ndim, i, 1);
        int64_t sd = cn_ints_axis(&c->stride, ndim, i, 0);
        g->stride[i] = sd ? sd : g->k[i];
        g->dilation[i] = cn_ints_axis(&c->dilation, ndim, i, 1);
        g->output_shape[i] = cn_ints_axis(&c->output_size, ndim, i, 0);
        g->ratio[i] = c->ratio.n ? c->ratio.v[c->ratio.n == 1 ? 0 : i] : 0;
    }
    g->ceil_mode = c->ceil_mode;
    g->count_include_pad = c->count_include_pad;
    g->global = kind == P_GMAX || kind == P_GAVG;
    g->p = c->p;
    g->overlap = c->overlap;
    char label[96];
    snprintf(label, sizeof label, "%s", l->name);
    if (kind == P_FRAC) {
        if (!c->output_size.n && !c->ratio.n)
            return cn_set_error(CN_STATUS_INVALID_ARG, "fractional_max_pool '%s': give output_size or ratio", l->name);
        st = cn_fracpool_geom_resolve(g, label);
    } else {
        if (!g->global && c->kernel.n == 0)
            return cn_set_error(CN_STATUS_INVALID_ARG, "%s '%s': needs option 'kernel'", t, l->name);
        st = cn_pool_geom_resolve(g, label);
    }
    if (st != CN_OK) return st;
    p->out = *in;
    for (int i = 0; i < ndim; i++) p->out.dim[2 + i] = g->out[i];
    int needs_cache = kind == P_MAX || kind == P_GMAX || kind == P_STOCH || kind == P_FRAC;
    if (needs_cache) p->cache_bytes = cn_pool_cache_count(g) * sizeof(int64_t);
    s->keep = kind == P_MAX && c->keep_indices;
    /* stochastic and fractional pooling write their choices as scratch at inference; max
     * pooling skips its argmax there (unless keep_indices: max_unpool reads it from the cache,
     * which the model then gives to every forward) */
    if (needs_cache && kind != P_MAX && kind != P_GMAX) p->scratch_bytes = p->cache_bytes;
    p->cache_always = s->keep;
    int64_t window = 1;
    for (int i = 0; i < ndim; i++) window *= g->k[i];
    p->macs = cn_shape_numel(&p->out) * window;
    for (int i = 0; i < ndim; i++) {
        p->rf_kernel[i] = g->dilation[i] * (g->k[i] - 1) + 1;
        p->rf_stride[i] = (double)g->stride[i];
    }
    if (g->global) p->rf_global = 1;
    if (kind == P_FRAC)
        for (int i = 0; i < ndim; i++) p->rf_kernel[i] = 0, p->rf_stride[i] = (double)g->in[i] / (double)g->out[i];
    return CN_OK;
}

#define PLAN(fn, k) static cn_status fn(cn_layer *l, cn_layer_plan *p) { return plan_kind(l, p, k); }
PLAN(plan_max, P_MAX)
PLAN(plan_avg, P_AVG)
PLAN(plan_lp, P_LP)
PLAN(plan_gmax, P_GMAX)
PLAN(plan_gavg, P_GAVG)
PLAN(plan_sub, P_SUB)
PLAN(plan_stoch, P_STOCH)
PLAN(plan_frac, P_FRAC)

static void forward(cn_layer *l, const cn_layer_run *r)
{
    const pool_state *s = l->state;
    int64_t *idx = r->cache ? r->cache : r->scratch;
    cn_rng rng = r->rng;
    switch (s->kind) {
    case P_MAX:
    case P_GMAX: cn_maxpool_forward(r->y, r->cache, r->x[0], &s->g); break; /* no cache: values only */
    case P_AVG:
    case P_GAVG: cn_avgpool_forward(r->y, r->x[0], &s->g); break;
    case P_LP: cn_lppool_forward(r->y, r->x[0], &s->g); break;
    case P_SUB: cn_subsample_forward(r->y, r->x[0], &s->g); break;
    case P_STOCH:
        if (r->train) cn_stochpool_forward_train(r->y, idx, r->x[0], &s->g, &rng);
        else cn_stochpool_forward_infer(r->y, r->x[0], &s->g);
        break;
    default: cn_fracpool_forward(r->y, idx, r->x[0], &s->g, &rng); break;
    }
}

static void backward(cn_layer *l, const cn_layer_run *r)
{
    const pool_state *s = l->state;
    float *dx = r->dx[0];
    if (!dx) return;
    /* y = pool(x)  →  max-like pools route dy to the kept index; averages spread it */
    switch (s->kind) {
    case P_MAX:
    case P_GMAX: cn_maxpool_backward(dx, r->dy, r->cache, &s->g); break;
    case P_AVG:
    case P_GAVG: cn_avgpool_backward(dx, r->dy, &s->g); break;
    case P_LP: cn_lppool_backward(dx, r->dy, r->x[0], &s->g); break;
    case P_SUB: cn_subsample_backward(dx, r->dy, &s->g); break;
    case P_STOCH: cn_stochpool_backward_train(dx, r->dy, r->cache, &s->g); break;
    default: cn_fracpool_backward(dx, r->dy, r->cache, &s->g); break;
    }
}

const cn_pool_geom *cn_pool_layer_indices(const cn_layer *l)
{
    if (l->ops != &cn_layer_max_pool) return NULL;
    const pool_state *s = l->state;
    return s->keep ? &s->g : NULL;
}

#define O_KERNEL {"kernel", CN_OPT_INTS, offsetof(pool_cfg, kernel), "", NULL, "window size: k or per axis"}
#define O_STRIDE {"stride", CN_OPT_INTS, offsetof(pool_cfg, stride), "0", NULL, "stride: s or per axis (0 = the kernel size)"}
#define O_PAD {"padding", CN_OPT_PADDING, offsetof(pool_cfg, padding), "0", NULL, "same | same_lower | valid | p | per axis | begins,ends"}
#define O_DIL {"dilation", CN_OPT_INTS, offsetof(pool_cfg, dilation), "1", NULL, "dilation: d or per axis"}
#define O_CEIL {"ceil_mode", CN_OPT_BOOL, offsetof(pool_cfg, ceil_mode), "false", NULL, "round the output size up"}
static const cn_opt_spec max_opts[] = {
    O_KERNEL, O_STRIDE, O_PAD, O_DIL, O_CEIL,
    {"keep_indices", CN_OPT_BOOL, offsetof(pool_cfg, keep_indices), "false", NULL, "keep the argmax at inference (for max_unpool)"},
    {NULL},
};
static const cn_opt_spec avg_opts[] = {
    O_KERNEL, O_STRIDE, O_PAD, O_CEIL,
    {"count_include_pad", CN_OPT_BOOL, offsetof(pool_cfg, count_include_pad), "false", NULL, "padded cells count in the divisor"},
    {NULL},
};
static const cn_opt_spec lp_opts[] = {
    O_KERNEL, O_STRIDE, O_PAD, O_CEIL, {"p", CN_OPT_FLOAT, offsetof(pool_cfg, p), "2", NULL, "the exponent p > 0"}, {NULL},
};
static const cn_opt_spec global_opts[] = {{NULL}};
static const cn_opt_spec sub_opts[] = {O_KERNEL, O_STRIDE, {NULL}};
static const cn_opt_spec stoch_opts[] = {O_KERNEL, O_STRIDE, O_PAD, O_CEIL, {NULL}};
static const cn_opt_spec frac_opts[] = {
    {"output_size", CN_OPT_INTS, offsetof(pool_cfg, output_size), "", NULL, "output size: n or per axis"},
    {"ratio", CN_OPT_FLOATS, offsetof(pool_cfg, ratio), "", NULL, "or: output = floor(input * ratio), 0 < ratio <= 1"},
    {"overlap", CN_OPT_BOOL, offsetof(pool_cfg, overlap), "false", NULL, "overlapping regions"},
    {NULL},
};

#define POOL_OPS(ident, nm, sum, table, planfn)                                                                        \
    const cn_layer_ops ident = {.name = nm, .summary = sum, .min_inputs = 1, .max_inputs = 1, .opts = table,          \
                                .cfg_size = sizeof(pool_cfg), .state_size = sizeof(pool_state), .plan = planfn,       \
                                .forward = forward, .backward = backward}

POOL_OPS(cn_layer_max_pool, "max_pool", "max pooling, 1D/2D/3D (padding, dilation, ceil mode; argmax kept for unpooling)", max_opts, plan_max);
POOL_OPS(cn_layer_avg_pool, "avg_pool", "average pooling, 1D/2D/3D (padding, ceil mode, count_include_pad)", avg_opts, plan_avg);
POOL_OPS(cn_layer_lp_pool, "lp_pool", "Lp pooling: (sum |x|^p)^(1/p) over each window", lp_opts, plan_lp);
POOL_OPS(cn_layer_global_max_pool, "global_max_pool", "global max pooling: one value per channel", global_opts, plan_gmax);
POOL_OPS(cn_layer_global_avg_pool, "global_avg_pool", "global average pooling: one value per channel", global_opts, plan_gavg);
POOL_OPS(cn_layer_subsample, "subsample", "subsampling: keep the top-left element of each window", sub_opts, plan_sub);
POOL_OPS(cn_layer_stochastic_pool, "stochastic_pool",
         "stochastic pooling: sample by activation in training, probability-weighted average at inference", stoch_opts, plan_stoch);
POOL_OPS(cn_layer_fractional_max_pool, "fractional_max_pool", "fractional max pooling: pseudo-random regions (Graham 2014)", frac_opts,
         plan_frac);
