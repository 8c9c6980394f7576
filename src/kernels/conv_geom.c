/* conv_geom.c — validation and resolution of cn_conv_geom, and the arithmetic (parameters,
 * multiply-accumulates). The only place the output-size formulas live. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "convnet/conv.h"
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

void cn_conv_geom_init(cn_conv_geom *g, int ndim)
{
    memset(g, 0, sizeof *g);
    g->ndim = ndim;
    g->n = 1;
    g->groups = 1;
    for (int a = 0; a < CN_CONV_MAX_NDIM; a++) g->stride[a] = g->dilation[a] = g->tile[a] = 1;
}

/* The output-size formulas (every value in range, see resolve). */
static int64_t ext_of(int64_t k, int64_t dilation) { return dilation * (k - 1) + 1; }
static int64_t conv_out(int64_t in, int64_t k, int64_t stride, int64_t dilation, int64_t pb, int64_t pe)
{
    return (in + pb + pe - ext_of(k, dilation)) / stride + 1; /* numerator >= 0 here: floor == truncation */
}
static int64_t transposed_out(int64_t in, int64_t k, int64_t stride, int64_t dilation, int64_t pb, int64_t pe,
                              int64_t op)
{
    return stride * (in - 1) + op + ext_of(k, dilation) - pb - pe;
}

/* a *= b, or 0 if the product would leave [0, 2^63) */
static int mul_ok(int64_t *a, int64_t b)
{
    int64_t r;
    if (__builtin_mul_overflow(*a, b, &r) || r < 0) return 0;
    *a = r;
    return 1;
}

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

enum family { CONV, LOCAL, TILED };

static cn_status resolve(cn_conv_geom *g, enum family fam, const char *kind, const char *name)
{
    cn_status st = CN_OK;
    if (g->ndim < 1 || g->ndim > CN_CONV_MAX_NDIM)
        return fail(CN_STATUS_INVALID_ARG, kind, name, "ndim %d is out of range (1, 2 or 3 spatial dims)", g->ndim);
    const int nd = g->ndim;
    if ((unsigned)g->pad_mode >= CN_PAD_MODE_COUNT_)
        return fail(CN_STATUS_INVALID_ARG, kind, name, "unknown padding mode %d", (int)g->pad_mode);
    if ((unsigned)g->auto_pad >= CN_AUTO_PAD_COUNT_)
        return fail(CN_STATUS_INVALID_ARG, kind, name, "unknown auto_pad %d", (int)g->auto_pad);
    if (g->n < 1) return fail(CN_STATUS_SHAPE, kind, name, "batch size %lld must be >= 1", (long long)g->n);
    if (g->ic < 1) return fail(CN_STATUS_SHAPE, kind, name, "input has %lld channels", (long long)g->ic);
    if (g->oc < 1) return fail(CN_STATUS_INVALID_ARG, kind, name, "output channels %lld must be >= 1", (long long)g->oc);
    if (g->n > CN_MAX_DIM_EXTENT || g->ic > CN_MAX_DIM_EXTENT || g->oc > CN_MAX_DIM_EXTENT)
        return fail(CN_STATUS_LIMIT, kind, name, "batch %lld or channels %lld, %lld exceed %lld", (long long)g->n,
                    (long long)g->ic, (long long)g->oc, (long long)CN_MAX_DIM_EXTENT);
    if (g->groups < 1) return fail(CN_STATUS_INVALID_ARG, kind, name, "groups=%lld must be >= 1", (long long)g->groups);
    if (g->ic % g->groups)
        return fail(CN_STATUS_SHAPE, kind, name, "input has %lld channels, groups=%lld does not divide it",
                    (long long)g->ic, (long long)g->groups);
    if (g->oc % g->groups)
        return fail(CN_STATUS_INVALID_ARG, kind, name, "output has %lld channels, groups=%lld does not divide it",
                    (long long)g->oc, (long long)g->groups);
    if (g->transposed && g->pad_mode != CN_PAD_ZERO)
        return fail(CN_STATUS_INVALID_ARG, kind, name, "padding mode %s is not defined for transposed convolution",
                    g->pad_mode == CN_PAD_REFLECT ? "reflect" : "replicate");

    for (int a = 0; a < nd; a++) {
        const char *ax = axis_name(nd, a);
        if ((st = check_range(kind, name, "input size", g->in[a], 1, CN_STATUS_SHAPE, nd, a))) return st;
        if ((st = check_range(kind, name, "kernel size", g->k[a], 1, CN_STATUS_INVALID_ARG, nd, a))) return st;
        if ((st = check_range(kind, name, "stride", g->stride[a], 1, CN_STATUS_INVALID_ARG, nd, a))) return st;
        if ((st = check_range(kind, name, "dilation", g->dilation[a], 1, CN_STATUS_INVALID_ARG, nd, a))) return st;
        if (g->auto_pad == CN_AUTO_PAD_EXPLICIT && !(g->transposed && g->output_shape[a] > 0)) {
            if ((st = check_range(kind, name, "pad_begin", g->pad_begin[a], 0, CN_STATUS_INVALID_ARG, nd, a))) return st;
            if ((st = check_range(kind, name, "pad_end", g->pad_end[a], 0, CN_STATUS_INVALID_ARG, nd, a))) return st;
        }
        if (!g->transposed) {
            if (g->output_padding[a])
                return fail(CN_STATUS_INVALID_ARG, kind, name,
                            "output_padding %lld on axis %s is only for transposed convolution",
                            (long long)g->output_padding[a], ax);
            if (g->output_shape[a])
                return fail(CN_STATUS_INVALID_ARG, kind, name,
                            "output_shape %lld on axis %s is only for transposed convolution",
                            (long long)g->output_shape[a], ax);
            continue;
        }
        if ((st = check_range(kind, name, "output_padding", g->output_padding[a], 0, CN_STATUS_INVALID_ARG, nd, a)))
            return st;
        if ((st = check_range(kind, name, "output_shape", g->output_shape[a], 0, CN_STATUS_INVALID_ARG, nd, a)))
            return st;
        /* PyTorch and ONNX: the extra output must be smaller than the stride or the dilation */
        if (g->output_padding[a] >= g->stride[a] && g->output_padding[a] >= g->dilation[a])
            return fail(CN_STATUS_INVALID_ARG, kind, name,
                        "output_padding %lld on axis %s must be smaller than the stride %lld or the dilation %lld",
                        (long long)g->output_padding[a], ax, (long long)g->stride[a], (long long)g->dilation[a]);
    }

    for (int a = 0; a < nd; a++) {
        const char *ax = axis_name(nd, a);
        const int64_t in = g->in[a], k = g->k[a], s = g->stride[a], d = g->dilation[a], ext = ext_of(k, d);
        if (g->transposed) {
            const int64_t op = g->output_padding[a];
            const int64_t full = s * (in - 1) + op + ext; /* the output size with no padding */
            int64_t want = g->output_shape[a];
            if (!want && (g->auto_pad == CN_AUTO_PAD_SAME_UPPER || g->auto_pad == CN_AUTO_PAD_SAME_LOWER))
                want = in * s;
            if (want) {
                /* ONNX ConvTranspose: total_padding = stride*(in-1) + output_padding + ext - output_shape;
                 * SAME_UPPER: begin = total//2, otherwise begin = total - total//2 (floor division).
                 * A negative total (a wanted output larger than `full`) gives negative pads, as
                 * in ONNX's reference: the extra output positions receive only the bias. */
                const int64_t total = full - want;
                const int64_t half = total >= 0 ? total / 2 : -((1 - total) / 2);
                g->pad_begin[a] = g->auto_pad == CN_AUTO_PAD_SAME_UPPER ? half : total - half;
                g->pad_end[a] = total - g->pad_begin[a];
            } else if (g->auto_pad == CN_AUTO_PAD_VALID) {
                g->pad_begin[a] = g->pad_end[a] = 0;
            }
            const int64_t out = transposed_out(in, k, s, d, g->pad_begin[a], g->pad_end[a], op);
            if (out < 1)
                return fail(CN_STATUS_SHAPE, kind, name,
                            "pads %lld+%lld on axis %s leave no output (unpadded output size %lld)",
                            (long long)g->pad_begin[a], (long long)g->pad_end[a], ax, (long long)full);
            if (out > CN_MAX_DIM_EXTENT)
                return fail(CN_STATUS_LIMIT, kind, name, "output size %lld on axis %s exceeds %lld", (long long)out, ax,
                            (long long)CN_MAX_DIM_EXTENT);
            g->out[a] = out;
            continue;
        }
        if (g->auto_pad == CN_AUTO_PAD_VALID) {
            g->pad_begin[a] = g->pad_end[a] = 0;
        } else if (g->auto_pad != CN_AUTO_PAD_EXPLICIT) {
            const int64_t want = (in + s - 1) / s;
            int64_t total = (want - 1) * s + ext - in;
            if (total < 0) total = 0;
            g->pad_begin[a] = g->auto_pad == CN_AUTO_PAD_SAME_UPPER ? total / 2 : total - total / 2;
            g->pad_end[a] = total - g->pad_begin[a];
        }
        const int64_t pb = g->pad_begin[a], pe = g->pad_end[a];
        if (in + pb + pe < ext)
            return fail(CN_STATUS_SHAPE, kind, name,
                        "kernel extent %lld (k=%lld, dilation=%lld) is larger than the padded input %lld "
                        "(%lld + pads %lld+%lld) on axis %s",
                        (long long)ext, (long long)k, (long long)d, (long long)(in + pb + pe), (long long)in,
                        (long long)pb, (long long)pe, ax);
        if (g->pad_mode == CN_PAD_REFLECT && (pb >= in || pe >= in))
            return fail(CN_STATUS_SHAPE, kind, name,
                        "reflect padding %lld+%lld on axis %s must be smaller than the input size %lld", (long long)pb,
                        (long long)pe, ax, (long long)in);
        g->out[a] = conv_out(in, k, s, d, pb, pe);
    }

    /* every count the kernels and the summary form must fit in 63 bits */
    int64_t xs = g->n * g->ic, ys = g->n * g->oc, ws = g->oc * (g->ic / g->groups), in_all = 1, out_all = 1;
    int ok = 1;
    for (int a = 0; a < nd; a++) {
        ok &= mul_ok(&xs, g->in[a]) & mul_ok(&ys, g->out[a]) & mul_ok(&ws, g->k[a]);
        ok &= mul_ok(&in_all, g->in[a]) & mul_ok(&out_all, g->out[a]);
    }
    int64_t macs = ws, sets; /* sets: weights and biases of all kernel sets */
    ok &= !__builtin_add_overflow(ws, g->oc, &sets);
    ok &= mul_ok(&macs, g->n) & mul_ok(&macs, g->transposed ? in_all : out_all);
    if (fam == LOCAL) ok &= mul_ok(&sets, out_all);
    for (int a = 0; a < nd && fam == TILED; a++) ok &= mul_ok(&sets, g->tile[a]);
    if (!ok)
        return fail(CN_STATUS_LIMIT, kind, name, "tensor sizes or operation counts overflow 64 bits");
    if ((unsigned)g->algo >= CN_CONV_ALGO_COUNT_)
        return fail(CN_STATUS_INVALID_ARG, kind, name, "unknown algorithm %d", (int)g->algo);
    g->threads = cn_num_threads(); /* the fast kernels' scratch is sized for this many */
    g->family = (int)fam;
    return CN_OK;
}

cn_status cn_conv_geom_resolve(cn_conv_geom *g, const char *name)
{
    return resolve(g, CONV, g->transposed ? "conv_transpose" : "conv", name);
}

cn_status cn_local_geom_resolve(cn_conv_geom *g, const char *name)
{
    if (g->transposed) return fail(CN_STATUS_INVALID_ARG, "local", name, "a locally connected layer cannot be transposed");
    return resolve(g, LOCAL, "local", name);
}

cn_status cn_tiled_geom_resolve(cn_conv_geom *g, const char *name)
{
    if (g->transposed) return fail(CN_STATUS_INVALID_ARG, "tiled", name, "a tiled convolution cannot be transposed");
    if (g->ndim >= 1 && g->ndim <= CN_CONV_MAX_NDIM) {
        for (int a = 0; a < g->ndim; a++) {
            cn_status st = check_range("tiled", name, "tile", g->tile[a], 1, CN_STATUS_INVALID_ARG, g->ndim, a);
            if (st) return st;
        }
    }
    return resolve(g, TILED, "tiled", name);
}

/* ---- arithmetic ---- */
static int64_t prod(const int64_t *v, int ndim)
{
    int64_t p = 1;
    for (int a = 0; a < ndim; a++) p *= v[a];
    return p;
}

/* weights of one ordinary kernel set: OC*(IC/groups)*prod(k) == IC*(OC/groups)*prod(k) */
static int64_t kernel_weights(const cn_conv_geom *g) { return g->oc * (g->ic / g->groups) * prod(g->k, g->ndim); }

int64_t cn_conv_params(const cn_conv_geom *g, int bias) { return kernel_weights(g) + (bias ? g->oc : 0); }

int64_t cn_conv_macs(const cn_conv_geom *g)
{
    if (g->transposed) return g->n * prod(g->in, g->ndim) * kernel_weights(g);
    return g->n * prod(g->out, g->ndim) * kernel_weights(g);
}

int64_t cn_local_params(const cn_conv_geom *g, int bias) { return prod(g->out, g->ndim) * cn_conv_params(g, bias); }
int64_t cn_local_macs(const cn_conv_geom *g) { return cn_conv_macs(g); }
int64_t cn_tiled_params(const cn_conv_geom *g, int bias) { return prod(g->tile, g->ndim) * cn_conv_params(g, bias); }
int64_t cn_tiled_macs(const cn_conv_geom *g) { return cn_conv_macs(g); }

/* cn_conv_scratch_floats lives with the fast kernels (conv_fast.c) */
