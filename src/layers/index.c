/* index.c — layers that move values by index (ONNX semantics, batch axis included):
 *   gather            y = x taken at `indices` along `axis` (ONNX Gather with constant
 *                     indices): out shape = x.shape[:axis] + indices_shape + x.shape[axis+1:].
 *                     The indices are the parameter "indices" (not trainable; integers stored
 *                     as floats, exact below 2^24; negative counts from the end). An index
 *                     outside the axis gives 0 there (importers reject such files first).
 *   max_pool_indices  ONNX MaxPool's second output: the argmax of its input, a max_pool layer
 *                     with keep_indices = true, as flat indices over that pool's whole input
 *                     N*C*spatial (storage_order 0: row-major; 1: column-major spatial), as
 *                     floats (exact below 2^24). Not differentiable (no gradient flows).
 *   max_unpool_flat   ONNX MaxUnpool with the indices as a second input (flat over the whole
 *                     output, floats): y = 0, then y[indices[i]] = x[i]. kernel, stride and
 *                     padding are those of the pooling undone (they give the default output
 *                     size (in-1)*stride + k - pads, the frame the indices count in);
 *                     output_shape changes the size, each index keeping its coordinates (the
 *                     extra rows and columns at the ends, as ONNX's test cases expect).
 *                     Indices outside y are skipped. Gradient: dx += dy at the indices; none
 *                     flows to them.
 *                     (`max_unpool` is the variant that reads a max_pool layer's argmax.) */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "convnet/pool.h"
#include "pool_layer.h"

/* ---- gather ---- */
typedef struct {
    int64_t axis;
    cn_ints indices_shape;
} gather_cfg;

typedef struct {
    int64_t outer, dim, inner, count; /* x viewed as (outer, dim, inner); count indices */
} gather_state;

static const cn_opt_spec gather_opts[] = {
    {"axis", CN_OPT_INT, offsetof(gather_cfg, axis), "0", NULL, "axis to take along (0 = batch; negative counts from the end)"},
    {"indices_shape", CN_OPT_INTS, offsetof(gather_cfg, indices_shape), "", NULL,
     "shape of the indices (parameter 'indices'); not given: one scalar index (the axis disappears)"},
    {NULL},
};

static cn_status gather_plan(cn_layer *l, cn_layer_plan *p)
{
    const gather_cfg *c = l->cfg;
    gather_state *s = l->state;
    const cn_shape *in = &l->in[0];
    int64_t axis = c->axis < 0 ? c->axis + in->ndim : c->axis;
    if (axis < 0 || axis >= in->ndim)
        return cn_set_error(CN_STATUS_INVALID_ARG, "gather '%s': axis %lld is outside input %s (rank %d)", l->name,
                            (long long)c->axis, cn_shape_text(in), in->ndim);
    int qn = c->indices_shape.n;
    int rank = in->ndim - 1 + qn;
    if (rank < 1 || rank > CN_MAX_DIMS)
        return cn_set_error(CN_STATUS_SHAPE, "gather '%s': output rank %d (input %s, %d index dims) is not in 1..%d", l->name, rank,
                            cn_shape_text(in), qn, CN_MAX_DIMS);
    cn_shape q = {qn ? qn : 1, {1}};
    for (int i = 0; i < qn; i++) q.dim[i] = c->indices_shape.v[i];
    cn_status st = cn_shape_check(&q, "gather indices_shape");
    if (st != CN_OK) return st;
    cn_shape out = {rank, {0}};
    int o = 0;
    for (int i = 0; i < axis; i++) out.dim[o++] = in->dim[i];
    for (int i = 0; i < qn; i++) out.dim[o++] = q.dim[i];
    for (int i = (int)axis + 1; i < in->ndim; i++) out.dim[o++] = in->dim[i];
    s->outer = 1, s->inner = 1;
    for (int i = 0; i < axis; i++) s->outer *= in->dim[i];
    for (int i = (int)axis + 1; i < in->ndim; i++) s->inner *= in->dim[i];
    s->dim = in->dim[axis];
    s->count = cn_shape_numel(&q);
    p->out = out;
    p->params[p->n_params++] = (cn_param_spec){"indices", q, CN_INIT_ZERO, 0, 0, 0, 0};
    return CN_OK;
}

/* the index as an integer in [0, dim), or -1 when outside */
static int64_t gather_index(float v, int64_t dim)
{
    if (!(v >= -(float)dim && v < (float)dim)) return -1;
    int64_t k = (int64_t)v;
    return k < 0 ? k + dim : k;
}

static void gather_forward(cn_layer *l, const cn_layer_run *r)
{
    const gather_state *s = l->state;
    const float *x = r->x[0], *q = l->param[0];
    float *y = r->y;
    for (int64_t o = 0; o < s->outer; o++)
        for (int64_t j = 0; j < s->count; j++) {
            int64_t k = gather_index(q[j], s->dim);
            float *dst = y + (o * s->count + j) * s->inner;
            if (k < 0) memset(dst, 0, (size_t)s->inner * sizeof(float));
            else memcpy(dst, x + (o * s->dim + k) * s->inner, (size_t)s->inner * sizeof(float));
        }
}

static void gather_backward(cn_layer *l, const cn_layer_run *r)
{
    const gather_state *s = l->state;
    /* y[o, j, i] = x[o, q[j], i]  →  dx[o, q[j], i] += dy[o, j, i] */
    if (!r->dx[0]) return;
    const float *q = l->param[0];
    for (int64_t o = 0; o < s->outer; o++)
        for (int64_t j = 0; j < s->count; j++) {
            int64_t k = gather_index(q[j], s->dim);
            if (k < 0) continue;
            float *dst = r->dx[0] + (o * s->dim + k) * s->inner;
            const float *src = r->dy + (o * s->count + j) * s->inner;
            for (int64_t i = 0; i < s->inner; i++) dst[i] += src[i];
        }
}

const cn_layer_ops cn_layer_gather = {
    .name = "gather", .summary = "take slices at constant indices along an axis, batch included (ONNX Gather)",
    .min_inputs = 1, .max_inputs = 1, .opts = gather_opts, .cfg_size = sizeof(gather_cfg), .state_size = sizeof(gather_state),
    .plan = gather_plan, .forward = gather_forward, .backward = gather_backward,
};

/* ---- max_pool_indices ---- */
typedef struct {
    int64_t storage_order;
} pidx_cfg;

typedef struct {
    cn_pool_geom g;
    int64_t n;
} pidx_state;

static const cn_opt_spec pidx_opts[] = {
    {"storage_order", CN_OPT_INT, offsetof(pidx_cfg, storage_order), "0", NULL, "0: row-major spatial index; 1: column-major"},
    {NULL},
};

static cn_status pidx_plan(cn_layer *l, cn_layer_plan *p)
{
    const pidx_cfg *c = l->cfg;
    pidx_state *s = l->state;
    const cn_layer *pool = l->in_layer[0];
    const cn_pool_geom *g = pool ? cn_pool_layer_indices(pool) : NULL;
    if (!g)
        return cn_set_error(CN_STATUS_INVALID_ARG, "max_pool_indices '%s': its input ('%s') must be a max_pool layer with keep_indices = true",
                            l->name, pool ? pool->name : "?");
    if (c->storage_order != 0 && c->storage_order != 1)
        return cn_set_error(CN_STATUS_INVALID_ARG, "max_pool_indices '%s': storage_order = %lld; must be 0 or 1", l->name, (long long)c->storage_order);
    s->g = *g;
    s->n = cn_shape_numel(&l->in[0]);
    p->out = l->in[0];
    p->scratch_bytes = (size_t)s->n * sizeof(int64_t);
    return CN_OK;
}

static void pidx_forward(cn_layer *l, const cn_layer_run *r)
{
    const pidx_cfg *c = l->cfg;
    const pidx_state *s = l->state;
    int64_t *idx = r->scratch;
    cn_pool_indices_onnx(idx, r->in_cache[0], &s->g, (int)c->storage_order);
    for (int64_t i = 0; i < s->n; i++) r->y[i] = (float)idx[i];
}

static void pidx_backward(cn_layer *l, const cn_layer_run *r)
{
    /* y = argmax(x): piecewise constant, so dx += 0 */
    (void)l, (void)r;
}

const cn_layer_ops cn_layer_max_pool_indices = {
    .name = "max_pool_indices", .summary = "the argmax of a max_pool layer (keep_indices = true) as ONNX MaxPool Indices",
    .min_inputs = 1, .max_inputs = 1, .opts = pidx_opts, .cfg_size = sizeof(pidx_cfg), .state_size = sizeof(pidx_state),
    .plan = pidx_plan, .forward = pidx_forward, .backward = pidx_backward,
};

/* ---- max_unpool_flat ---- */
typedef struct {
    cn_ints kernel, stride, output_shape;
    cn_padding padding;
} uflat_cfg;

typedef struct {
    cn_pool_geom g;
    int64_t n_in, n_out;
    int64_t def[3];  /* the default output size: the indices' frame */
} uflat_state;

static const cn_opt_spec uflat_opts[] = {
    {"kernel", CN_OPT_INTS, offsetof(uflat_cfg, kernel), NULL, NULL, "window of the pooling undone: k or per axis"},
    {"stride", CN_OPT_INTS, offsetof(uflat_cfg, stride), "0", NULL, "its stride (0 = the kernel size)"},
    {"padding", CN_OPT_PADDING, offsetof(uflat_cfg, padding), "0", NULL, "its padding: p | per axis | begins then ends"},
    {"output_shape", CN_OPT_INTS, offsetof(uflat_cfg, output_shape), "0", NULL, "output spatial size (0 = from the formula)"},
    {NULL},
};

static cn_status uflat_plan(cn_layer *l, cn_layer_plan *p)
{
    const uflat_cfg *c = l->cfg;
    uflat_state *s = l->state;
    const cn_shape *in = &l->in[0];
    int ndim = in->ndim - 2;
    if (ndim < 1 || ndim > 3)
        return cn_set_error(CN_STATUS_SHAPE, "max_unpool_flat '%s': input %s has rank %d; expected NCW, NCHW or NCDHW", l->name,
                            cn_shape_text(in), in->ndim);
    if (!cn_shape_equal(in, &l->in[1]))
        return cn_set_error(CN_STATUS_SHAPE, "max_unpool_flat '%s': values %s and indices %s differ in shape", l->name,
                            cn_shape_text(in), cn_shape_text(&l->in[1]));
    cn_status st;
    if ((st = cn_ints_check(&c->kernel, ndim, l->name, "kernel")) != CN_OK ||
        (st = cn_ints_check(&c->stride, ndim, l->name, "stride")) != CN_OK ||
        (st = cn_ints_check(&c->output_shape, ndim, l->name, "output_shape")) != CN_OK)
        return st;
    cn_pool_geom *g = &s->g;
    cn_pool_geom_init(g, ndim);
    int mode;
    if ((st = cn_padding_resolve(&c->padding, ndim, l->name, &mode, g->pad_begin, g->pad_end)) != CN_OK) return st;
    if (mode != CN_PADSPEC_EXPLICIT)
        return cn_set_error(CN_STATUS_INVALID_ARG, "max_unpool_flat '%s': padding must be explicit numbers", l->name);
    g->n = in->dim[0];
    g->c = in->dim[1];
    for (int i = 0; i < ndim; i++) {
        g->in[i] = in->dim[2 + i];
        g->k[i] = cn_ints_axis(&c->kernel, ndim, i, 1);
        int64_t sd = cn_ints_axis(&c->stride, ndim, i, 0);
        g->stride[i] = sd ? sd : g->k[i];
        g->output_shape[i] = cn_ints_axis(&c->output_shape, ndim, i, 0);
    }
    char label[96];
    snprintf(label, sizeof label, "%s", l->name);
    cn_pool_geom d = *g; /* the default size first: the frame the indices count in */
    for (int i = 0; i < ndim; i++) d.output_shape[i] = 0;
    if ((st = cn_unpool_geom_resolve(&d, label)) != CN_OK) return st;
    for (int i = 0; i < 3; i++) s->def[i] = i < ndim ? d.out[i] : 1;
    if ((st = cn_unpool_geom_resolve(g, label)) != CN_OK) return st;
    p->out = *in;
    for (int i = 0; i < ndim; i++) p->out.dim[2 + i] = g->out[i];
    s->n_in = cn_shape_numel(in);
    s->n_out = cn_shape_numel(&p->out);
    p->scratch_bytes = (size_t)s->n_in * sizeof(int64_t);
    return CN_OK;
}

/* float indices → int64 flat indices into y. The indices count in the default-sized output (the
 * input of the pooling undone); with another output_shape each lands at the same spatial
 * coordinates, so the extra rows and columns come at the ends (ONNX's MaxUnpool test cases).
 * Non-integers and positions outside y become -1: skipped. */
static void uflat_indices(int64_t *idx, const float *q, const uflat_state *s)
{
    const cn_pool_geom *g = &s->g;
    int64_t P = 1, planes = g->n * g->c;
    for (int a = 0; a < g->ndim; a++) P *= s->def[a];
    for (int64_t i = 0; i < s->n_in; i++) {
        float v = q[i];
        idx[i] = -1;
        if (!(v >= 0 && v < (float)(planes * P) && v == floorf(v))) continue;
        int64_t k = (int64_t)v, plane = k / P, r = k % P, flat = 0;
        int inside = 1;
        for (int a = 0; a < g->ndim; a++) {
            int64_t below = 1;
            for (int b = a + 1; b < g->ndim; b++) below *= s->def[b];
            int64_t c = r / below;
            r %= below;
            inside &= c < g->out[a];
            flat = flat * g->out[a] + c;
        }
        if (inside) idx[i] = plane * (s->n_out / planes) + flat;
    }
}

static void uflat_forward(cn_layer *l, const cn_layer_run *r)
{
    const uflat_state *s = l->state;
    int64_t *idx = r->scratch;
    uflat_indices(idx, r->x[1], s);
    cn_unpool_forward(r->y, r->x[0], idx, &s->g, 1);
}

static void uflat_backward(cn_layer *l, const cn_layer_run *r)
{
    const uflat_state *s = l->state;
    /* y[index[i]] = x[i]  →  dx[i] += dy[index[i]]; nothing flows into the indices */
    if (!r->dx[0]) return;
    int64_t *idx = r->scratch;
    uflat_indices(idx, r->x[1], s);
    cn_unpool_backward(r->dx[0], r->dy, idx, &s->g, 1);
}

const cn_layer_ops cn_layer_max_unpool_flat = {
    .name = "max_unpool_flat", .summary = "max-unpooling with the indices as a second input, flat over the output (ONNX MaxUnpool)",
    .min_inputs = 2, .max_inputs = 2, .opts = uflat_opts, .cfg_size = sizeof(uflat_cfg), .state_size = sizeof(uflat_state),
    .plan = uflat_plan, .forward = uflat_forward, .backward = uflat_backward,
};
