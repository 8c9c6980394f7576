/* upsample_ref.c — resizing (nearest, linear/bilinear/trilinear; PyTorch interpolate and ONNX
 * Resize coordinate modes) and pixel shuffle (depth to space, space to depth): geometry and
 * reference kernels, forward and backward, 1D/2D/3D. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "convnet/pool.h"
#include "convnet/tensor.h"

static const char *axis_name(int ndim, int a)
{
    static const char *const names[3] = {"D", "H", "W"};
    return names[3 - ndim + a];
}

static cn_status fail(cn_status s, const char *kind, const char *name, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
static cn_status fail(cn_status s, const char *kind, const char *name, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (name && name[0]) return cn_set_error(s, "%s '%s': %s", kind, name, msg);
    return cn_set_error(s, "%s: %s", kind, msg);
}

/* ndim, n, c, in; and n*c*prod(in), n*c*prod(out) within 63 bits */
static cn_status check_shape(const char *kind, const char *name, int ndim, int64_t n, int64_t c, const int64_t *in)
{
    if (ndim < 1 || ndim > CN_POOL_MAX_NDIM)
        return fail(CN_STATUS_INVALID_ARG, kind, name, "ndim %d is out of range (1, 2 or 3 spatial dims)", ndim);
    if (n < 1) return fail(CN_STATUS_SHAPE, kind, name, "batch size %lld must be >= 1", (long long)n);
    if (c < 1) return fail(CN_STATUS_SHAPE, kind, name, "input has %lld channels", (long long)c);
    if (n > CN_MAX_DIM_EXTENT || c > CN_MAX_DIM_EXTENT)
        return fail(CN_STATUS_LIMIT, kind, name, "batch %lld or channels %lld exceed %lld", (long long)n, (long long)c,
                    (long long)CN_MAX_DIM_EXTENT);
    for (int a = 0; a < ndim; a++) {
        if (in[a] < 1)
            return fail(CN_STATUS_SHAPE, kind, name, "input size %lld on axis %s must be >= 1", (long long)in[a],
                        axis_name(ndim, a));
        if (in[a] > CN_MAX_DIM_EXTENT)
            return fail(CN_STATUS_LIMIT, kind, name, "input size %lld on axis %s exceeds %lld", (long long)in[a],
                        axis_name(ndim, a), (long long)CN_MAX_DIM_EXTENT);
    }
    return CN_OK;
}

static int count_fits(int64_t n, int64_t c, int ndim, const int64_t *dims)
{
    int64_t v;
    if (__builtin_mul_overflow(n, c, &v)) return 0;
    for (int a = 0; a < ndim; a++)
        if (__builtin_mul_overflow(v, dims[a], &v) || v < 0) return 0;
    return 1;
}

/* ======================================= resizing ======================================= */

void cn_upsample_geom_init(cn_upsample_geom *g, int ndim)
{
    memset(g, 0, sizeof *g);
    g->ndim = ndim;
    g->n = g->c = 1;
    g->mode = CN_RESIZE_NEAREST;
    g->coord = CN_COORD_ASYMMETRIC;
    g->nearest = CN_NEAREST_FLOOR;
}

void cn_upsample_geom_pytorch(cn_upsample_geom *g, cn_resize_mode mode, int align_corners)
{
    g->mode = mode;
    if (mode == CN_RESIZE_NEAREST) {
        g->coord = CN_COORD_ASYMMETRIC;
        g->nearest = CN_NEAREST_FLOOR;
    } else {
        g->coord = align_corners ? CN_COORD_ALIGN_CORNERS : CN_COORD_HALF_PIXEL;
    }
}

cn_status cn_upsample_geom_resolve(cn_upsample_geom *g, const char *name)
{
    static const char kind[] = "upsample";
    cn_status st = check_shape(kind, name, g->ndim, g->n, g->c, g->in);
    if (st) return st;
    if ((unsigned)g->mode >= CN_RESIZE_MODE_COUNT_)
        return fail(CN_STATUS_INVALID_ARG, kind, name, "unknown mode %d", (int)g->mode);
    if ((unsigned)g->coord >= CN_COORD_COUNT_)
        return fail(CN_STATUS_INVALID_ARG, kind, name, "unknown coordinate mode %d", (int)g->coord);
    if ((unsigned)g->nearest >= CN_NEAREST_COUNT_)
        return fail(CN_STATUS_INVALID_ARG, kind, name, "unknown nearest mode %d", (int)g->nearest);
    for (int a = 0; a < g->ndim; a++) {
        const char *ax = axis_name(g->ndim, a);
        const double sc = g->scale[a];
        if (g->size[a] < 0)
            return fail(CN_STATUS_INVALID_ARG, kind, name, "output size %lld on axis %s is negative",
                        (long long)g->size[a], ax);
        if (sc < 0 || isnan(sc) || isinf(sc))
            return fail(CN_STATUS_INVALID_ARG, kind, name, "scale %g on axis %s must be a finite number > 0", sc, ax);
        if (!g->size[a] && !(sc > 0))
            return fail(CN_STATUS_INVALID_ARG, kind, name, "axis %s has neither an output size nor a scale", ax);
        double out = g->size[a] ? (double)g->size[a] : floor((double)g->in[a] * sc);
        if (out < 1)
            return fail(CN_STATUS_SHAPE, kind, name, "scale %g of input size %lld on axis %s leaves no output", sc,
                        (long long)g->in[a], ax);
        if (out > (double)CN_MAX_DIM_EXTENT)
            return fail(CN_STATUS_LIMIT, kind, name, "output size %.0f on axis %s exceeds %lld", out, ax,
                        (long long)CN_MAX_DIM_EXTENT);
        g->out[a] = (int64_t)out;
        /* PyTorch's compute_scales_value: 1/scale when a scale is given, else in/out, in float */
        g->inv_scale[a] = sc > 0 ? (float)(1.0 / sc) : (float)g->in[a] / (float)g->out[a];
    }
    if (!count_fits(g->n, g->c, g->ndim, g->in) || !count_fits(g->n, g->c, g->ndim, g->out))
        return fail(CN_STATUS_LIMIT, kind, name, "element count of the input or output overflows 64 bits");
    return CN_OK;
}

/* The source coordinate of output index x on geometry axis a, in float as PyTorch computes it. */
static float src_coord(const cn_upsample_geom *g, int a, int64_t x)
{
    const int64_t in = g->in[a], out = g->out[a];
    const float inv = g->inv_scale[a], xf = (float)x;
    switch (g->coord) {
    case CN_COORD_HALF_PIXEL: return inv * (xf + 0.5f) - 0.5f;
    case CN_COORD_PYTORCH_HALF_PIXEL: return out > 1 ? inv * (xf + 0.5f) - 0.5f : 0.0f;
    case CN_COORD_ALIGN_CORNERS: return out > 1 ? ((float)(in - 1) / (float)(out - 1)) * xf : 0.0f;
    case CN_COORD_ASYMMETRIC: return inv * xf;
    case CN_COORD_HALF_PIXEL_SYMMETRIC:
    default: {
        const double scale = g->scale[a] > 0 ? g->scale[a] : (double)out / (double)in;
        const float adjust = (float)((double)out / ((double)in * scale)), center = (float)in / 2.0f;
        return center * (1.0f - adjust) + inv * (xf + 0.5f) - 0.5f;
    }
    }
}

/* One axis of an output position: source indices i0, i1 with weights w0, w1 (nearest: w1 = 0). */
typedef struct tap2 {
    int64_t i0, i1;
    float w0, w1;
} tap2;

static tap2 axis_taps(const cn_upsample_geom *g, int a, int64_t x)
{
    const int64_t in = g->in[a];
    const float src = src_coord(g, a, x);
    tap2 t;
    if (g->mode == CN_RESIZE_NEAREST) {
        const float f = floorf(src), frac = src - f;
        float r;
        switch (g->nearest) {
        case CN_NEAREST_ROUND_PREFER_FLOOR: r = frac > 0.5f ? f + 1.0f : f; break;
        case CN_NEAREST_ROUND_PREFER_CEIL: r = frac >= 0.5f ? f + 1.0f : f; break;
        case CN_NEAREST_FLOOR: r = f; break;
        case CN_NEAREST_CEIL:
        default: r = ceilf(src); break;
        }
        int64_t i = r < 0 ? 0 : r > (float)(in - 1) ? in - 1 : (int64_t)r;
        t.i0 = t.i1 = i;
        t.w0 = 1.0f, t.w1 = 0.0f;
        return t;
    }
    /* PyTorch: negative sources clamp to 0, i1 = i0 + (i0 < in-1), lambda = src - i0 */
    float s = src < 0 ? 0.0f : src;
    if (s > (float)(in - 1)) s = (float)(in - 1);
    t.i0 = (int64_t)s;
    if (t.i0 > in - 1) t.i0 = in - 1;
    t.i1 = t.i0 < in - 1 ? t.i0 + 1 : t.i0;
    t.w1 = s - (float)t.i0;
    t.w0 = 1.0f - t.w1;
    return t;
}

/* the geometry as 3 axes; leading axes of size 1 get the single tap (0, 0, 1, 0) */
typedef struct rbox {
    int64_t in[3], out[3];
    int off, real[3];
} rbox;

static rbox rbox_of(const cn_upsample_geom *g)
{
    rbox b;
    b.off = 3 - g->ndim;
    for (int a = 0; a < 3; a++) {
        b.real[a] = a >= b.off;
        b.in[a] = b.real[a] ? g->in[a - b.off] : 1;
        b.out[a] = b.real[a] ? g->out[a - b.off] : 1;
    }
    return b;
}

static tap2 box_taps(const cn_upsample_geom *g, const rbox *b, int a, int64_t x)
{
    if (!b->real[a]) return (tap2){0, 0, 1.0f, 0.0f};
    return axis_taps(g, a - b->off, x);
}

/* forward (dir 0): dst = y, y[o] = sum_corners w * x[i]; backward (dir 1): dst = dx, dx[i] += w * dy[o] */
static void resize_run(float *dst, const float *src, const cn_upsample_geom *g, int dir)
{
    const rbox b = rbox_of(g);
    const int64_t planes = g->n * g->c, in_plane = b.in[0] * b.in[1] * b.in[2];
    const int64_t out_plane = b.out[0] * b.out[1] * b.out[2];
    for (int64_t p = 0; p < planes; p++) {
        int64_t q = p * out_plane;
        for (int64_t o0 = 0; o0 < b.out[0]; o0++) {
            const tap2 t0 = box_taps(g, &b, 0, o0);
            for (int64_t o1 = 0; o1 < b.out[1]; o1++) {
                const tap2 t1 = box_taps(g, &b, 1, o1);
                for (int64_t o2 = 0; o2 < b.out[2]; o2++, q++) {
                    const tap2 t2 = box_taps(g, &b, 2, o2);
                    const int64_t i0[2] = {t0.i0, t0.i1}, i1[2] = {t1.i0, t1.i1}, i2[2] = {t2.i0, t2.i1};
                    const float w0[2] = {t0.w0, t0.w1}, w1[2] = {t1.w0, t1.w1}, w2[2] = {t2.w0, t2.w1};
                    double acc = 0;
                    for (int c0 = 0; c0 < 2; c0++) {
                        if (w0[c0] == 0.0f) continue;
                        for (int c1 = 0; c1 < 2; c1++) {
                            if (w1[c1] == 0.0f) continue;
                            for (int c2 = 0; c2 < 2; c2++) {
                                if (w2[c2] == 0.0f) continue;
                                const double w = (double)w0[c0] * w1[c1] * w2[c2];
                                const int64_t ix = p * in_plane + (i0[c0] * b.in[1] + i1[c1]) * b.in[2] + i2[c2];
                                if (dir == 0)
                                    acc += w * src[ix];
                                else /* forward: y[q] = sum w * x[ix], so dL/dx[ix] += w * dL/dy[q] */
                                    dst[ix] += (float)(w * src[q]);
                            }
                        }
                    }
                    if (dir == 0) dst[q] = (float)acc;
                }
            }
        }
    }
}

void cn_upsample_forward(float *y, const float *x, const cn_upsample_geom *g) { resize_run(y, x, g, 0); }

void cn_upsample_backward(float *dx, const float *dy, const cn_upsample_geom *g) { resize_run(dx, dy, g, 1); }

/* ===================================== pixel shuffle ===================================== */

void cn_shuffle_geom_init(cn_shuffle_geom *g, int ndim)
{
    memset(g, 0, sizeof *g);
    g->ndim = ndim;
    g->n = g->c = 1;
    g->block = 1;
}

cn_status cn_shuffle_geom_resolve(cn_shuffle_geom *g, const char *name)
{
    static const char kind[] = "pixel shuffle";
    cn_status st = check_shape(kind, name, g->ndim, g->n, g->c, g->in);
    if (st) return st;
    if ((unsigned)g->order >= CN_SHUFFLE_ORDER_COUNT_)
        return fail(CN_STATUS_INVALID_ARG, kind, name, "unknown channel order %d", (int)g->order);
    if (g->block < 1 || g->block > CN_MAX_DIM_EXTENT)
        return fail(CN_STATUS_INVALID_ARG, kind, name, "block size %lld must be in [1, %lld]", (long long)g->block,
                    (long long)CN_MAX_DIM_EXTENT);
    int64_t bb = 1;
    for (int a = 0; a < g->ndim; a++)
        if (__builtin_mul_overflow(bb, g->block, &bb))
            return fail(CN_STATUS_LIMIT, kind, name, "block size %lld to the power %d overflows", (long long)g->block,
                        g->ndim);
    if (!g->inverse) {
        if (g->c % bb)
            return fail(CN_STATUS_SHAPE, kind, name,
                        "input has %lld channels, not a multiple of block^%d = %lld (block %lld)", (long long)g->c,
                        g->ndim, (long long)bb, (long long)g->block);
        g->out_c = g->c / bb;
        for (int a = 0; a < g->ndim; a++)
            if (__builtin_mul_overflow(g->in[a], g->block, &g->out[a]) || g->out[a] > CN_MAX_DIM_EXTENT)
                return fail(CN_STATUS_LIMIT, kind, name, "output size on axis %s (%lld x %lld) exceeds %lld",
                            axis_name(g->ndim, a), (long long)g->in[a], (long long)g->block,
                            (long long)CN_MAX_DIM_EXTENT);
    } else {
        for (int a = 0; a < g->ndim; a++) {
            if (g->in[a] % g->block)
                return fail(CN_STATUS_SHAPE, kind, name, "input size %lld on axis %s is not a multiple of the block %lld",
                            (long long)g->in[a], axis_name(g->ndim, a), (long long)g->block);
            g->out[a] = g->in[a] / g->block;
        }
        if (__builtin_mul_overflow(g->c, bb, &g->out_c) || g->out_c > CN_MAX_DIM_EXTENT)
            return fail(CN_STATUS_LIMIT, kind, name, "output channels %lld x %lld exceed %lld", (long long)g->c,
                        (long long)bb, (long long)CN_MAX_DIM_EXTENT);
    }
    if (!count_fits(g->n, g->c, g->ndim, g->in))
        return fail(CN_STATUS_LIMIT, kind, name, "element count of the input overflows 64 bits");
    return CN_OK;
}

/* The pair of tensors: `big` (N, cs, *small*b) and `deep` (N, cs*B, *small). Every element of
 * big, at (n, c', o) with o_a = i_a*b + r_a, pairs with the element of deep at (n, map(c', r), i).
 * to_big = 1: dst is big and src deep; to_big = 0: dst is deep and src big. accumulate: dst +=
 * src instead of dst = src. */
static void shuffle_run(float *dst, const float *src, int to_big, int accumulate, int ndim, int64_t n, int64_t cs,
                        const int64_t *small_in, int64_t b, cn_shuffle_order order)
{
    int64_t sm[3] = {1, 1, 1}, bg[3] = {1, 1, 1}, bs[3] = {1, 1, 1};
    const int off = 3 - ndim;
    for (int a = 0; a < ndim; a++) sm[off + a] = small_in[a], bg[off + a] = small_in[a] * b, bs[off + a] = b;
    const int64_t bb = bs[0] * bs[1] * bs[2], big_plane = bg[0] * bg[1] * bg[2], small_plane = sm[0] * sm[1] * sm[2];
    for (int64_t ni = 0; ni < n; ni++)
        for (int64_t c = 0; c < cs; c++) {
            int64_t bi = (ni * cs + c) * big_plane;
            for (int64_t o0 = 0; o0 < bg[0]; o0++)
                for (int64_t o1 = 0; o1 < bg[1]; o1++)
                    for (int64_t o2 = 0; o2 < bg[2]; o2++, bi++) {
                        const int64_t r = ((o0 % bs[0]) * bs[1] + o1 % bs[1]) * bs[2] + o2 % bs[2];
                        const int64_t cd = order == CN_SHUFFLE_CRD ? c * bb + r : r * cs + c;
                        const int64_t si = ((o0 / bs[0]) * sm[1] + o1 / bs[1]) * sm[2] + o2 / bs[2];
                        const int64_t di = (ni * cs * bb + cd) * small_plane + si;
                        const int64_t to = to_big ? bi : di, from = to_big ? di : bi;
                        if (accumulate)
                            dst[to] += src[from];
                        else
                            dst[to] = src[from];
                    }
        }
}

void cn_shuffle_forward(float *y, const float *x, const cn_shuffle_geom *g)
{
    /* depth to space: y is big (cs = out_c, small = in); space to depth: x is big (cs = c, small = out) */
    if (!g->inverse)
        shuffle_run(y, x, 1, 0, g->ndim, g->n, g->out_c, g->in, g->block, g->order);
    else
        shuffle_run(y, x, 0, 0, g->ndim, g->n, g->c, g->out, g->block, g->order);
}

void cn_shuffle_backward(float *dx, const float *dy, const cn_shuffle_geom *g)
{
    /* forward: y[to] = x[from] (a permutation), so dL/dx[from] += dL/dy[to] */
    if (!g->inverse)
        shuffle_run(dx, dy, 0, 1, g->ndim, g->n, g->out_c, g->in, g->block, g->order);
    else
        shuffle_run(dx, dy, 1, 1, g->ndim, g->n, g->c, g->out, g->block, g->order);
}
