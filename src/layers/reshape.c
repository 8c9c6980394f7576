/* reshape.c — layout layers over the whole tensor, batch axis included (ONNX semantics):
 *   reshape    the same values in the same order under a new shape. `shape` is ONNX
 *              Reshape's: a 0 copies the input's dimension at that position, one -1 is
 *              inferred from the element count. So shape = 0,-1 flattens every sample and
 *              keeps working at any batch size; an explicit first dimension fixes the batch.
 *   transpose  permutes the axes: output axis i is input axis perm[i] (ONNX Transpose; no
 *              perm reverses the axes).
 * Ranks 1 to 5. */
#include <stdio.h>
#include <string.h>

#include "layer.h"

typedef struct {
    cn_ints shape;
    cn_ints perm;
} layout_cfg;

typedef struct {
    int rank;
    int64_t out[CN_MAX_DIMS];
    int64_t in_stride[CN_MAX_DIMS]; /* transpose: stride in x of output axis i */
    int64_t n;
} layout_state;

static const cn_opt_spec reshape_opts[] = {
    {"shape", CN_OPT_INTS, offsetof(layout_cfg, shape), NULL, NULL,
     "the new shape, batch first (ONNX Reshape: 0 copies the input's dimension, one -1 is inferred)"},
    {NULL},
};

static const cn_opt_spec transpose_opts[] = {
    {"perm", CN_OPT_INTS, offsetof(layout_cfg, perm), "", NULL, "output axis i is input axis perm[i] (default: reversed)"},
    {NULL},
};

static cn_status plan_reshape(cn_layer *l, cn_layer_plan *p)
{
    const layout_cfg *c = l->cfg;
    layout_state *s = l->state;
    const cn_shape *in = &l->in[0];
    int64_t total = cn_shape_numel(in), known = 1;
    int infer = -1;
    if (c->shape.n > CN_MAX_DIMS)
        return cn_set_error(CN_STATUS_SHAPE, "reshape '%s': shape has %d dimensions; at most %d", l->name, c->shape.n, CN_MAX_DIMS);
    cn_shape out = {c->shape.n, {0}};
    for (int i = 0; i < c->shape.n; i++) {
        int64_t v = c->shape.v[i];
        if (v == -1) {
            if (infer >= 0)
                return cn_set_error(CN_STATUS_INVALID_ARG, "reshape '%s': shape has two -1 (axes %d and %d); at most one is inferred",
                                    l->name, infer, i);
            infer = i;
            continue;
        }
        if (v == 0) {
            if (i >= in->ndim)
                return cn_set_error(CN_STATUS_SHAPE, "reshape '%s': shape[%d] = 0 copies input axis %d, but input %s has rank %d",
                                    l->name, i, i, cn_shape_text(in), in->ndim);
            v = in->dim[i];
        }
        if (v < 1)
            return cn_set_error(CN_STATUS_INVALID_ARG, "reshape '%s': shape[%d] = %lld; dimensions are >= 1, 0 (copy) or -1 (infer)",
                                l->name, i, (long long)v);
        out.dim[i] = v;
        if (v > total || known > total / v) known = total + 1; /* more than the input has: stop before overflowing */
        else known *= v;
    }
    if (infer >= 0) {
        if (known > total || total % known)
            return cn_set_error(CN_STATUS_SHAPE, "reshape '%s': cannot infer the -1 in shape: input %s has %lld elements, not a multiple of %lld",
                                l->name, cn_shape_text(in), (long long)total, (long long)known);
        out.dim[infer] = total / known;
        known = total;
    }
    if (known != total) {
        char want[96];
        cn_shape_str(&out, want, sizeof want);
        return cn_set_error(CN_STATUS_SHAPE, "reshape '%s': input %s has %lld elements; shape %s has a different count", l->name,
                            cn_shape_text(in), (long long)total, want);
    }
    s->n = total;
    p->out = out;
    return CN_OK;
}

static void forward_reshape(cn_layer *l, const cn_layer_run *r)
{
    const layout_state *s = l->state;
    memcpy(r->y, r->x[0], (size_t)s->n * sizeof(float));
}

static void backward_reshape(cn_layer *l, const cn_layer_run *r)
{
    const layout_state *s = l->state;
    /* y = x (reshaped)  →  dx += dy */
    if (r->dx[0])
        for (int64_t i = 0; i < s->n; i++) r->dx[0][i] += r->dy[i];
}

static cn_status plan_transpose(cn_layer *l, cn_layer_plan *p)
{
    const layout_cfg *c = l->cfg;
    layout_state *s = l->state;
    const cn_shape *in = &l->in[0];
    int R = in->ndim, perm[CN_MAX_DIMS], seen[CN_MAX_DIMS] = {0};
    if (c->perm.n && c->perm.n != R)
        return cn_set_error(CN_STATUS_SHAPE, "transpose '%s': perm has %d axes, input %s has rank %d", l->name, c->perm.n,
                            cn_shape_text(in), R);
    for (int i = 0; i < R; i++) {
        int64_t a = c->perm.n ? c->perm.v[i] : R - 1 - i;
        if (a < 0) a += R;
        if (a < 0 || a >= R || seen[a])
            return cn_set_error(CN_STATUS_INVALID_ARG, "transpose '%s': perm is not a permutation of the %d axes of input %s (entry %d = %lld)",
                                l->name, R, cn_shape_text(in), i, (long long)(c->perm.n ? c->perm.v[i] : a));
        seen[a] = 1;
        perm[i] = (int)a;
    }
    int64_t stride[CN_MAX_DIMS], acc = 1;
    for (int i = R - 1; i >= 0; i--) stride[i] = acc, acc *= in->dim[i];
    s->rank = R;
    p->out.ndim = R;
    for (int i = 0; i < R; i++) {
        p->out.dim[i] = s->out[i] = in->dim[perm[i]];
        s->in_stride[i] = stride[perm[i]];
    }
    s->n = acc;
    return CN_OK;
}

/* y[i] (row-major over out) = x[off], off = sum_k idx_k * in_stride_k */
#define WALK(...)                                                                                                         \
    do {                                                                                                                   \
        int64_t idx[CN_MAX_DIMS] = {0}, off = 0;                                                                           \
        for (int64_t i = 0; i < s->n; i++) {                                                                               \
            __VA_ARGS__;                                                                                                        \
            for (int d = s->rank - 1; d >= 0; d--) {                                                                       \
                off += s->in_stride[d];                                                                                    \
                if (++idx[d] < s->out[d]) break;                                                                           \
                off -= s->in_stride[d] * s->out[d];                                                                        \
                idx[d] = 0;                                                                                                \
            }                                                                                                              \
        }                                                                                                                  \
    } while (0)

static void forward_transpose(cn_layer *l, const cn_layer_run *r)
{
    const layout_state *s = l->state;
    const float *x = r->x[0];
    float *y = r->y;
    WALK(y[i] = x[off]);
}

static void backward_transpose(cn_layer *l, const cn_layer_run *r)
{
    const layout_state *s = l->state;
    /* y[i] = x[off(i)]  →  dx[off(i)] += dy[i] */
    float *dx = r->dx[0];
    const float *dy = r->dy;
    if (dx) WALK(dx[off] += dy[i]);
}

const cn_layer_ops cn_layer_reshape = {
    .name = "reshape", .summary = "reshape the whole tensor, batch first (ONNX Reshape: 0 copies a dimension, -1 is inferred)",
    .min_inputs = 1, .max_inputs = 1, .opts = reshape_opts, .cfg_size = sizeof(layout_cfg), .state_size = sizeof(layout_state),
    .plan = plan_reshape, .forward = forward_reshape, .backward = backward_reshape,
};
const cn_layer_ops cn_layer_transpose = {
    .name = "transpose", .summary = "permute the axes, batch included (ONNX Transpose)",
    .min_inputs = 1, .max_inputs = 1, .opts = transpose_opts, .cfg_size = sizeof(layout_cfg), .state_size = sizeof(layout_state),
    .plan = plan_transpose, .forward = forward_transpose, .backward = backward_transpose,
};
