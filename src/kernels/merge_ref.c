/* merge_ref.c — elementwise add of k inputs and concatenation along an axis, with their
 * backwards (copy of dy to every input; split of dy into slices). */
#include "convnet/ops.h"

static const char *label(const char *name) { return name ? name : "?"; }

cn_status cn_add_check(cn_shape *out, const cn_shape *in, int k, const char *name)
{
    char a[96], b[96];
    if (k < 1) return cn_set_error(CN_STATUS_INVALID_ARG, "add '%s': needs at least 1 input, got %d", label(name), k);
    for (int i = 0; i < k; i++) {
        cn_status st = cn_shape_check(&in[i], "add input");
        if (st != CN_OK) return st;
        if (!cn_shape_equal(&in[0], &in[i]))
            return cn_set_error(CN_STATUS_SHAPE, "add '%s': input 0 is %s, input %d is %s", label(name),
                                cn_shape_str(&in[0], a, sizeof a), i, cn_shape_str(&in[i], b, sizeof b));
    }
    *out = in[0];
    return CN_OK;
}

/* Sums are elementwise, so large ones run in blocks over threads with the same results. */
#define ADD_BLOCK 32768

typedef struct {
    float *y;
    const float *const *xs;
    float *const *dxs;
    const float *dy;
    int k;
    int64_t n;
} add_job;

static void add_fwd_blocks(void *ctx, int64_t b0, int64_t b1)
{
    const add_job *a = ctx;
    const int64_t j1 = b1 * ADD_BLOCK < a->n ? b1 * ADD_BLOCK : a->n;
    if (a->k == 2) { /* a residual add: the float sum is the double sum rounded once (double has
                        more than 2 x 24 + 2 bits, so double rounding is innocuous): same bits */
        const float *x0 = a->xs[0], *x1 = a->xs[1];
        for (int64_t j = b0 * ADD_BLOCK; j < j1; j++) a->y[j] = x0[j] + x1[j];
        return;
    }
    for (int64_t j = b0 * ADD_BLOCK; j < j1; j++) {
        double acc = 0;
        for (int i = 0; i < a->k; i++) acc += a->xs[i][j];
        a->y[j] = (float)acc;
    }
}

static void add_bwd_blocks(void *ctx, int64_t b0, int64_t b1)
{
    const add_job *a = ctx;
    const int64_t j0 = b0 * ADD_BLOCK, j1 = b1 * ADD_BLOCK < a->n ? b1 * ADD_BLOCK : a->n;
    /* forward: acc += xs[i][j] for every input i */
    for (int i = 0; i < a->k; i++)
        if (a->dxs[i])
            for (int64_t j = j0; j < j1; j++) a->dxs[i][j] += a->dy[j];
}

void cn_add_forward(float *y, const float *const *xs, int k, int64_t n)
{
    add_job a = {.y = y, .xs = xs, .k = k, .n = n};
    cn_parallel_for((n + ADD_BLOCK - 1) / ADD_BLOCK, 2, add_fwd_blocks, &a);
}

void cn_add_backward(float *const *dxs, const float *dy, int k, int64_t n)
{
    add_job a = {.dxs = dxs, .dy = dy, .k = k, .n = n};
    cn_parallel_for((n + ADD_BLOCK - 1) / ADD_BLOCK, 2, add_bwd_blocks, &a);
}

cn_status cn_concat_check(cn_shape *out, const cn_shape *in, int k, int axis, const char *name)
{
    char a[96], b[96];
    if (k < 1) return cn_set_error(CN_STATUS_INVALID_ARG, "concat '%s': needs at least 1 input, got %d", label(name), k);
    for (int i = 0; i < k; i++) {
        cn_status st = cn_shape_check(&in[i], "concat input");
        if (st != CN_OK) return st;
    }
    int nd = in[0].ndim, ax = axis < 0 ? axis + nd : axis;
    if (ax < 0 || ax >= nd)
        return cn_set_error(CN_STATUS_INVALID_ARG, "concat '%s': axis %d is out of range for %d-D input 0 (%s)",
                            label(name), axis, nd, cn_shape_str(&in[0], a, sizeof a));
    cn_shape o = in[0];
    for (int i = 1; i < k; i++) {
        cn_shape_str(&in[0], a, sizeof a);
        cn_shape_str(&in[i], b, sizeof b);
        if (in[i].ndim != nd)
            return cn_set_error(CN_STATUS_SHAPE, "concat '%s': input 0 is %s, input %d is %s: ranks differ", label(name),
                                a, i, b);
        for (int d = 0; d < nd; d++)
            if (d != ax && in[i].dim[d] != in[0].dim[d])
                return cn_set_error(CN_STATUS_SHAPE,
                                    "concat '%s': input 0 is %s, input %d is %s: they differ on axis %d, not only on "
                                    "the concat axis %d",
                                    label(name), a, i, b, d, ax);
        o.dim[ax] += in[i].dim[ax];
    }
    cn_status st = cn_shape_check(&o, "concat output");
    if (st != CN_OK) return st;
    *out = o;
    return CN_OK;
}

/* outer = product of dims before the axis; inner = product of dims after it */
static void split(const cn_shape *s, int axis, int64_t *outer, int64_t *inner)
{
    *outer = *inner = 1;
    for (int d = 0; d < axis; d++) *outer *= s->dim[d];
    for (int d = axis + 1; d < s->ndim; d++) *inner *= s->dim[d];
}

void cn_concat_forward(float *y, const float *const *xs, const cn_shape *in, int k, int axis)
{
    int ax = axis < 0 ? axis + in[0].ndim : axis;
    int64_t outer, inner, total = 0;
    split(&in[0], ax, &outer, &inner);
    for (int i = 0; i < k; i++) total += in[i].dim[ax];
    for (int64_t o = 0; o < outer; o++) {
        int64_t off = 0; /* position along the axis of input i's slice */
        for (int i = 0; i < k; i++) {
            int64_t len = in[i].dim[ax] * inner;
            const float *src = xs[i] + o * len;
            float *dst = y + (o * total + off) * inner;
            for (int64_t j = 0; j < len; j++) dst[j] = src[j];
            off += in[i].dim[ax];
        }
    }
}

void cn_concat_backward(float *const *dxs, const float *dy, const cn_shape *in, int k, int axis)
{
    /* forward: dst[j] = src[j], dst in y's slice of input i */
    int ax = axis < 0 ? axis + in[0].ndim : axis;
    int64_t outer, inner, total = 0;
    split(&in[0], ax, &outer, &inner);
    for (int i = 0; i < k; i++) total += in[i].dim[ax];
    for (int64_t o = 0; o < outer; o++) {
        int64_t off = 0;
        for (int i = 0; i < k; i++) {
            int64_t len = in[i].dim[ax] * inner;
            if (dxs[i]) {
                float *dst = dxs[i] + o * len;
                const float *src = dy + (o * total + off) * inner;
                for (int64_t j = 0; j < len; j++) dst[j] += src[j];
            }
            off += in[i].dim[ax];
        }
    }
}
