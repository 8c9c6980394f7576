/* pool_geom.c — validation and resolution of cn_pool_geom for pooling, fractional pooling
 * and max-unpooling. The only place their output-size formulas live. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "convnet/pool.h"
#include "convnet/tensor.h"

/* "D", "H", "W" for axis a of an ndim-axis geometry */
static const char *axis_name(int ndim, int a)
{
    static const char *const names[3] = {"D", "H", "W"};
    return names[3 - ndim + a];
}

/* Sets the error "<kind> '<name>': <message>" and returns s. */
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

void cn_pool_geom_init(cn_pool_geom *g, int ndim)
{
    memset(g, 0, sizeof *g);
    g->ndim = ndim;
    g->n = g->c = 1;
    g->p = 2.0;
    for (int a = 0; a < CN_POOL_MAX_NDIM; a++) g->k[a] = g->stride[a] = g->dilation[a] = 1;
}

/* v in [lo, CN_MAX_DIM_EXTENT], else an error naming `what`, its value and the axis */
static cn_status check_range(const char *kind, const char *name, const char *what, int64_t v, int64_t lo,
                             cn_status s_low, int ndim, int a)
{
    if (v < lo) {
        if (lo == 0)
            return fail(s_low, kind, name, "%s %lld on axis %s is negative", what, (long long)v, axis_name(ndim, a));
        return fail(s_low, kind, name, "%s %lld on axis %s must be >= %lld", what, (long long)v, axis_name(ndim, a),
                    (long long)lo);
    }
    if (v > CN_MAX_DIM_EXTENT)
        return fail(CN_STATUS_LIMIT, kind, name, "%s %lld on axis %s exceeds %lld", what, (long long)v,
                    axis_name(ndim, a), (long long)CN_MAX_DIM_EXTENT);
    return CN_OK;
}

/* ndim, n, c and the input sizes */
static cn_status check_common(const cn_pool_geom *g, const char *kind, const char *name)
{
    cn_status st;
    if (g->ndim < 1 || g->ndim > CN_POOL_MAX_NDIM)
        return fail(CN_STATUS_INVALID_ARG, kind, name, "ndim %d is out of range (1, 2 or 3 spatial dims)", g->ndim);
    if (g->n < 1) return fail(CN_STATUS_SHAPE, kind, name, "batch size %lld must be >= 1", (long long)g->n);
    if (g->c < 1) return fail(CN_STATUS_SHAPE, kind, name, "input has %lld channels", (long long)g->c);
    if (g->n > CN_MAX_DIM_EXTENT || g->c > CN_MAX_DIM_EXTENT)
        return fail(CN_STATUS_LIMIT, kind, name, "batch %lld or channels %lld exceed %lld", (long long)g->n,
                    (long long)g->c, (long long)CN_MAX_DIM_EXTENT);
    for (int a = 0; a < g->ndim; a++)
        if ((st = check_range(kind, name, "input size", g->in[a], 1, CN_STATUS_SHAPE, g->ndim, a))) return st;
    return CN_OK;
}

/* n*c*prod(in) and n*c*prod(out) must fit in 63 bits: every index a kernel forms is below them */
static cn_status check_counts(const cn_pool_geom *g, const char *kind, const char *name)
{
    int64_t xs = g->n, ys = g->n, r;
    int ok = !__builtin_mul_overflow(xs, g->c, &xs) && !__builtin_mul_overflow(ys, g->c, &ys);
    for (int a = 0; a < g->ndim && ok; a++) {
        ok = !__builtin_mul_overflow(xs, g->in[a], &r) && r >= 0;
        xs = r;
        ok = ok && !__builtin_mul_overflow(ys, g->out[a], &r) && r >= 0;
        ys = r;
    }
    if (!ok)
        return fail(CN_STATUS_LIMIT, kind, name, "element count of the input or output overflows 64 bits");
    return CN_OK;
}

cn_status cn_pool_geom_resolve(cn_pool_geom *g, const char *name)
{
    static const char kind[] = "pool";
    cn_status st = check_common(g, kind, name);
    if (st) return st;
    const int nd = g->ndim;
    if ((unsigned)g->auto_pad >= CN_POOL_AUTO_PAD_COUNT_)
        return fail(CN_STATUS_INVALID_ARG, kind, name, "unknown auto_pad %d", (int)g->auto_pad);
    if (g->p == 0) g->p = 2.0; /* unset: the default */
    if (!(g->p > 0) || !isfinite(g->p))
        return fail(CN_STATUS_INVALID_ARG, kind, name, "Lp exponent p=%g must be a finite number > 0", g->p);
    if (g->global) {
        for (int a = 0; a < nd; a++) {
            g->k[a] = g->in[a];
            g->stride[a] = g->dilation[a] = 1;
            g->pad_begin[a] = g->pad_end[a] = 0;
        }
        g->auto_pad = CN_POOL_AUTO_PAD_EXPLICIT;
    }
    for (int a = 0; a < nd; a++) {
        if ((st = check_range(kind, name, "kernel size", g->k[a], 1, CN_STATUS_INVALID_ARG, nd, a))) return st;
        if ((st = check_range(kind, name, "stride", g->stride[a], 1, CN_STATUS_INVALID_ARG, nd, a))) return st;
        if ((st = check_range(kind, name, "dilation", g->dilation[a], 1, CN_STATUS_INVALID_ARG, nd, a))) return st;
        if (g->auto_pad != CN_POOL_AUTO_PAD_EXPLICIT) continue;
        if ((st = check_range(kind, name, "pad_begin", g->pad_begin[a], 0, CN_STATUS_INVALID_ARG, nd, a))) return st;
        if ((st = check_range(kind, name, "pad_end", g->pad_end[a], 0, CN_STATUS_INVALID_ARG, nd, a))) return st;
        if (g->pad_begin[a] >= g->k[a] || g->pad_end[a] >= g->k[a])
            return fail(CN_STATUS_INVALID_ARG, kind, name,
                        "pads %lld+%lld on axis %s must be smaller than the kernel size %lld", (long long)g->pad_begin[a],
                        (long long)g->pad_end[a], axis_name(nd, a), (long long)g->k[a]);
    }
    for (int a = 0; a < nd; a++) {
        const char *ax = axis_name(nd, a);
        const int64_t in = g->in[a], k = g->k[a], s = g->stride[a], d = g->dilation[a];
        const int64_t ext = d * (k - 1) + 1; /* <= 2^31 * 2^31: no overflow */
        if (g->auto_pad == CN_POOL_AUTO_PAD_SAME_UPPER || g->auto_pad == CN_POOL_AUTO_PAD_SAME_LOWER) {
            const int64_t out = (in + s - 1) / s;
            int64_t total = (out - 1) * s + ext - in;
            if (total < 0) total = 0;
            g->pad_begin[a] = g->auto_pad == CN_POOL_AUTO_PAD_SAME_UPPER ? total / 2 : total - total / 2;
            g->pad_end[a] = total - g->pad_begin[a];
            g->out[a] = out;
            continue;
        }
        if (g->auto_pad == CN_POOL_AUTO_PAD_VALID) g->pad_begin[a] = g->pad_end[a] = 0;
        const int64_t pb = g->pad_begin[a], pe = g->pad_end[a], span = in + pb + pe;
        if (span < ext)
            return fail(CN_STATUS_SHAPE, kind, name,
                        "kernel extent %lld (k=%lld, dilation=%lld) is larger than the padded input %lld "
                        "(%lld + pads %lld+%lld) on axis %s",
                        (long long)ext, (long long)k, (long long)d, (long long)span, (long long)in, (long long)pb,
                        (long long)pe, ax);
        int64_t out = (span - ext) / s + 1; /* numerator >= 0: truncation is floor */
        if (g->ceil_mode) {
            out = (span - ext + s - 1) / s + 1;
            /* the last window must start inside the input or the left padding */
            if ((out - 1) * s >= in + pb) out--;
        }
        g->out[a] = out;
    }
    return check_counts(g, kind, name);
}

cn_status cn_fracpool_geom_resolve(cn_pool_geom *g, const char *name)
{
    static const char kind[] = "fractional pool";
    cn_status st = check_common(g, kind, name);
    if (st) return st;
    const int nd = g->ndim;
    for (int a = 0; a < nd; a++) {
        const char *ax = axis_name(nd, a);
        int64_t out = g->output_shape[a];
        if (out < 0)
            return fail(CN_STATUS_INVALID_ARG, kind, name, "output size %lld on axis %s is negative", (long long)out, ax);
        if (out == 0) {
            const double r = g->ratio[a];
            if (!(r > 0 && r <= 1))
                return fail(CN_STATUS_INVALID_ARG, kind, name,
                            "axis %s has neither an output size nor a ratio in (0, 1] (ratio %g)", ax, r);
            out = (int64_t)floor((double)g->in[a] * r);
            if (out < 1)
                return fail(CN_STATUS_SHAPE, kind, name, "ratio %g of input size %lld on axis %s leaves no output", r,
                            (long long)g->in[a], ax);
        }
        if (out > g->in[a])
            return fail(CN_STATUS_SHAPE, kind, name,
                        "output size %lld on axis %s is larger than the input size %lld (alpha = in/out must be >= 1)",
                        (long long)out, ax, (long long)g->in[a]);
        g->out[a] = out;
    }
    return check_counts(g, kind, name);
}

cn_status cn_unpool_geom_resolve(cn_pool_geom *g, const char *name)
{
    static const char kind[] = "unpool";
    cn_status st = check_common(g, kind, name);
    if (st) return st;
    const int nd = g->ndim;
    if (g->auto_pad != CN_POOL_AUTO_PAD_EXPLICIT)
        return fail(CN_STATUS_INVALID_ARG, kind, name, "auto_pad %d is not supported; give explicit pads",
                    (int)g->auto_pad);
    for (int a = 0; a < nd; a++) {
        const char *ax = axis_name(nd, a);
        if ((st = check_range(kind, name, "kernel size", g->k[a], 1, CN_STATUS_INVALID_ARG, nd, a))) return st;
        if ((st = check_range(kind, name, "stride", g->stride[a], 1, CN_STATUS_INVALID_ARG, nd, a))) return st;
        if ((st = check_range(kind, name, "pad_begin", g->pad_begin[a], 0, CN_STATUS_INVALID_ARG, nd, a))) return st;
        if ((st = check_range(kind, name, "pad_end", g->pad_end[a], 0, CN_STATUS_INVALID_ARG, nd, a))) return st;
        if ((st = check_range(kind, name, "output_shape", g->output_shape[a], 0, CN_STATUS_INVALID_ARG, nd, a)))
            return st;
        if (g->dilation[a] != 1)
            return fail(CN_STATUS_INVALID_ARG, kind, name, "dilation %lld on axis %s: unpooling needs dilation 1",
                        (long long)g->dilation[a], ax);
        const int64_t s = g->stride[a];
        const int64_t def = (g->in[a] - 1) * s + g->k[a] - g->pad_begin[a] - g->pad_end[a];
        const int64_t want = g->output_shape[a];
        if (want) {
            if (!(def - s < want && want < def + s))
                return fail(CN_STATUS_SHAPE, kind, name,
                            "output size %lld on axis %s is outside (%lld, %lld): input %lld, kernel %lld, stride %lld "
                            "and pads %lld+%lld give %lld, and only sizes less than one stride away can have "
                            "been pooled to %lld",
                            (long long)want, ax, (long long)(def - s), (long long)(def + s), (long long)g->in[a],
                            (long long)g->k[a], (long long)s, (long long)g->pad_begin[a], (long long)g->pad_end[a],
                            (long long)def, (long long)g->in[a]);
            g->out[a] = want;
        } else {
            if (def < 1)
                return fail(CN_STATUS_SHAPE, kind, name,
                            "pads %lld+%lld on axis %s leave no output (input %lld, kernel %lld, stride %lld)",
                            (long long)g->pad_begin[a], (long long)g->pad_end[a], ax, (long long)g->in[a],
                            (long long)g->k[a], (long long)s);
            if (def > CN_MAX_DIM_EXTENT)
                return fail(CN_STATUS_LIMIT, kind, name, "output size %lld on axis %s exceeds %lld", (long long)def, ax,
                            (long long)CN_MAX_DIM_EXTENT);
            g->out[a] = def;
        }
    }
    return check_counts(g, kind, name);
}

int64_t cn_pool_in_count(const cn_pool_geom *g)
{
    int64_t v = g->n * g->c;
    for (int a = 0; a < g->ndim; a++) v *= g->in[a];
    return v;
}

int64_t cn_pool_out_count(const cn_pool_geom *g)
{
    int64_t v = g->n * g->c;
    for (int a = 0; a < g->ndim; a++) v *= g->out[a];
    return v;
}

size_t cn_pool_cache_count(const cn_pool_geom *g) { return (size_t)cn_pool_out_count(g); }
