/* pad_ref.c — constant, reflect and replicate padding of 1..3 spatial axes, each side its own
 * amount, and the adjoint (scatter-add) for backward. */
#include "convnet/ops.h"

#include <math.h>

static const char *axis_name(int ndim, int d)
{
    static const char *const names[3][3] = {{"W", "", ""}, {"H", "W", ""}, {"D", "H", "W"}};
    return names[ndim - 1][d];
}

cn_status cn_pad_geom_resolve(cn_pad_geom *g, const char *name)
{
    const char *n = name ? name : "?";
    if (g->ndim < 1 || g->ndim > CN_PAD_MAX_NDIM)
        return cn_set_error(CN_STATUS_INVALID_ARG, "pad '%s': ndim=%d must be 1, 2 or 3", n, g->ndim);
    if ((int)g->mode < 0 || g->mode >= CN_PAD_MODE_COUNT_)
        return cn_set_error(CN_STATUS_INVALID_ARG, "pad '%s': mode %d is not zero/constant, reflect or replicate", n,
                            (int)g->mode);
    if (g->n < 1 || g->c < 1)
        return cn_set_error(CN_STATUS_SHAPE, "pad '%s': N=%lld and C=%lld must be >= 1", n, (long long)g->n,
                            (long long)g->c);
    if (g->mode == CN_PAD_ZERO && !isfinite(g->value))
        return cn_set_error(CN_STATUS_INVALID_ARG, "pad '%s': constant value %g is not finite", n, g->value);
    for (int d = 0; d < g->ndim; d++) {
        const char *an = axis_name(g->ndim, d);
        if (g->in[d] < 1 || g->in[d] > CN_MAX_DIM_EXTENT)
            return cn_set_error(CN_STATUS_SHAPE, "pad '%s': input size %lld on axis %s must be >= 1", n,
                                (long long)g->in[d], an);
        if (g->before[d] < 0 || g->after[d] < 0 || g->before[d] > CN_MAX_DIM_EXTENT || g->after[d] > CN_MAX_DIM_EXTENT)
            return cn_set_error(CN_STATUS_INVALID_ARG, "pad '%s': pads %lld before, %lld after axis %s must be >= 0", n,
                                (long long)g->before[d], (long long)g->after[d], an);
        if (g->mode == CN_PAD_REFLECT)
            for (int side = 0; side < 2; side++) {
                int64_t p = side ? g->after[d] : g->before[d];
                if (p >= g->in[d])
                    return cn_set_error(CN_STATUS_SHAPE,
                                        "pad '%s': reflect pad %lld %s axis %s needs input size > %lld, got %lld", n,
                                        (long long)p, side ? "after" : "before", an, (long long)p,
                                        (long long)g->in[d]);
            }
        int64_t o = g->in[d] + g->before[d] + g->after[d];
        if (o > CN_MAX_DIM_EXTENT)
            return cn_set_error(CN_STATUS_LIMIT, "pad '%s': output size %lld on axis %s is too large", n, (long long)o,
                                an);
        g->out[d] = o;
    }
    for (int d = g->ndim; d < CN_PAD_MAX_NDIM; d++) g->out[d] = 0;
    return CN_OK;
}

/* input index read by output index o on one axis, or -1 for a constant pad */
static int64_t source(int64_t o, int64_t in, int64_t before, cn_pad_mode mode)
{
    int64_t i = o - before;
    if (i >= 0 && i < in) return i;
    switch (mode) {
    case CN_PAD_REFLECT: return i < 0 ? -i : 2 * (in - 1) - i; /* one bounce: pads < in */
    case CN_PAD_REPLICATE: return i < 0 ? 0 : in - 1;
    default: return -1;
    }
}

/* the geometry as three axes (D, H, W), missing leading axes of size 1 and no padding */
static void axes3(const cn_pad_geom *g, int64_t in[3], int64_t out[3], int64_t before[3])
{
    int lead = CN_PAD_MAX_NDIM - g->ndim;
    for (int d = 0; d < 3; d++) {
        int s = d - lead;
        in[d] = s < 0 ? 1 : g->in[s];
        out[d] = s < 0 ? 1 : g->out[s];
        before[d] = s < 0 ? 0 : g->before[s];
    }
}

void cn_pad_forward(float *y, const float *x, const cn_pad_geom *g)
{
    int64_t in[3], out[3], bf[3];
    axes3(g, in, out, bf);
    for (int64_t p = 0; p < g->n * g->c; p++) {
        const float *xp = x + p * in[0] * in[1] * in[2];
        float *yp = y + p * out[0] * out[1] * out[2];
        for (int64_t od = 0; od < out[0]; od++) {
            int64_t id = source(od, in[0], bf[0], g->mode);
            for (int64_t oh = 0; oh < out[1]; oh++) {
                int64_t ih = source(oh, in[1], bf[1], g->mode);
                for (int64_t ow = 0; ow < out[2]; ow++) {
                    int64_t iw = source(ow, in[2], bf[2], g->mode);
                    float v = g->value;
                    if (id >= 0 && ih >= 0 && iw >= 0) v = xp[(id * in[1] + ih) * in[2] + iw];
                    yp[(od * out[1] + oh) * out[2] + ow] = v;
                }
            }
        }
    }
}

void cn_pad_backward(float *dx, const float *dy, const cn_pad_geom *g)
{
    /* forward: yp[(od*OH + oh)*OW + ow] = xp[(id*IH + ih)*IW + iw], or the constant */
    int64_t in[3], out[3], bf[3];
    axes3(g, in, out, bf);
    for (int64_t p = 0; p < g->n * g->c; p++) {
        float *dxp = dx + p * in[0] * in[1] * in[2];
        const float *dyp = dy + p * out[0] * out[1] * out[2];
        for (int64_t od = 0; od < out[0]; od++) {
            int64_t id = source(od, in[0], bf[0], g->mode);
            for (int64_t oh = 0; oh < out[1]; oh++) {
                int64_t ih = source(oh, in[1], bf[1], g->mode);
                for (int64_t ow = 0; ow < out[2]; ow++) {
                    int64_t iw = source(ow, in[2], bf[2], g->mode);
                    if (id >= 0 && ih >= 0 && iw >= 0)
                        dxp[(id * in[1] + ih) * in[2] + iw] += dyp[(od * out[1] + oh) * out[2] + ow];
                }
            }
        }
    }
}
