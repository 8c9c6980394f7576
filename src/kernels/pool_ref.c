/* pool_ref.c — reference kernels for windowed pooling: max, average, Lp, subsampling and
 * stochastic pooling, forward and backward, 1D/2D/3D; and the ONNX index conversion.
 *
 * Every kernel views its geometry as 3 spatial axes (a 1D or 2D geometry gets leading axes of
 * size 1 with k = stride = 1 and no padding), so one triple loop serves every ndim. */
#include <math.h>
#include <string.h>

#include "convnet/pool.h"

typedef struct box {
    int64_t in[3], out[3], k[3], s[3], d[3], pb[3], pe[3];
    int64_t planes, in_plane, out_plane;
} box;

static box box_of(const cn_pool_geom *g)
{
    box b;
    const int off = 3 - g->ndim;
    for (int a = 0; a < 3; a++) {
        const int ga = a - off;
        const int real = ga >= 0;
        b.in[a] = real ? g->in[ga] : 1;
        b.out[a] = real ? g->out[ga] : 1;
        b.k[a] = real ? g->k[ga] : 1;
        b.s[a] = real ? g->stride[ga] : 1;
        b.d[a] = real ? g->dilation[ga] : 1;
        b.pb[a] = real ? g->pad_begin[ga] : 0;
        b.pe[a] = real ? g->pad_end[ga] : 0;
    }
    b.planes = g->n * g->c;
    b.in_plane = b.in[0] * b.in[1] * b.in[2];
    b.out_plane = b.out[0] * b.out[1] * b.out[2];
    return b;
}

/* One axis of a window: its first tap sits at input index `start`; taps j in [lo, hi) fall
 * inside the input [0, in); `npad` taps fall inside the padded input [-pad_begin, in + pad_end). */
typedef struct span {
    int64_t start, lo, hi, npad;
} span;

static span span_of(const box *b, int a, int64_t o)
{
    span r;
    const int64_t s = o * b->s[a] - b->pb[a], d = b->d[a], k = b->k[a], in = b->in[a], lim = in + b->pe[a];
    r.start = s;
    r.lo = s >= 0 ? 0 : (-s + d - 1) / d;
    r.hi = s > in - 1 ? 0 : (in - 1 - s) / d + 1;
    if (r.hi > k) r.hi = k;
    if (r.lo > r.hi) r.lo = r.hi; /* every tap is padding */
    /* s >= -pad_begin always, so the left bound of the padded input never cuts a tap */
    r.npad = s > lim - 1 ? 0 : (lim - 1 - s) / d + 1;
    if (r.npad > k) r.npad = k;
    return r;
}

typedef struct win {
    span a[3];
} win;

/* the window of output q (flat index within the output plane) */
static win window_at(const box *b, int64_t q)
{
    win w;
    const int64_t o2 = q % b->out[2], o1 = (q / b->out[2]) % b->out[1], o0 = q / (b->out[1] * b->out[2]);
    w.a[0] = span_of(b, 0, o0);
    w.a[1] = span_of(b, 1, o1);
    w.a[2] = span_of(b, 2, o2);
    return w;
}

static int64_t taps_inside(const win *w)
{
    return (w->a[0].hi - w->a[0].lo) * (w->a[1].hi - w->a[1].lo) * (w->a[2].hi - w->a[2].lo);
}

static int64_t taps_padded(const win *w) { return w->a[0].npad * w->a[1].npad * w->a[2].npad; }

/* Runs the statements after it once per tap of window W that lies inside the input, in
 * row-major tap order, with IX = the tap's plane index. */
#define FOR_TAPS(B, W, IX, ...)                                                                                        \
    for (int64_t j0_ = (W).a[0].lo; j0_ < (W).a[0].hi; j0_++) {                                                        \
        const int64_t r0_ = (W).a[0].start + j0_ * (B).d[0];                                                           \
        for (int64_t j1_ = (W).a[1].lo; j1_ < (W).a[1].hi; j1_++) {                                                    \
            const int64_t r1_ = r0_ * (B).in[1] + (W).a[1].start + j1_ * (B).d[1];                                     \
            for (int64_t j2_ = (W).a[2].lo; j2_ < (W).a[2].hi; j2_++) {                                                \
                const int64_t IX = r1_ * (B).in[2] + (W).a[2].start + j2_ * (B).d[2];                                  \
                __VA_ARGS__                                                                                            \
            }                                                                                                          \
        }                                                                                                              \
    }

/* ---- max pooling ---- */

void cn_maxpool_ref_forward(float *y, int64_t *argmax, const float *x, const cn_pool_geom *g)
{
    const box b = box_of(g);
    for (int64_t p = 0; p < b.planes; p++) {
        const float *xp = x + p * b.in_plane;
        for (int64_t q = 0; q < b.out_plane; q++) {
            const win w = window_at(&b, q);
            float best = 0.0f;
            int64_t arg = -1;
            /* strict '>' keeps the first maximum; a NaN replaces any number, never another NaN */
            FOR_TAPS(b, w, ix, {
                const float v = xp[ix];
                if (arg < 0 || v > best || (isnan(v) && !isnan(best))) best = v, arg = ix;
            })
            y[p * b.out_plane + q] = arg < 0 ? 0.0f : best;
            if (argmax) argmax[p * b.out_plane + q] = arg;
        }
    }
}

void cn_maxpool_ref_backward(float *dx, const float *dy, const int64_t *argmax, const cn_pool_geom *g)
{
    const box b = box_of(g);
    for (int64_t p = 0; p < b.planes; p++)
        for (int64_t q = 0; q < b.out_plane; q++) {
            /* forward: y = x[argmax] (best = v at arg), so dL/dx[argmax] += dL/dy */
            const int64_t arg = argmax[p * b.out_plane + q];
            if (arg >= 0) dx[p * b.in_plane + arg] += dy[p * b.out_plane + q];
        }
}

void cn_pool_indices_onnx(int64_t *indices, const int64_t *argmax, const cn_pool_geom *g, int storage_order)
{
    const box b = box_of(g);
    for (int64_t p = 0; p < b.planes; p++)
        for (int64_t q = 0; q < b.out_plane; q++) {
            const int64_t arg = argmax[p * b.out_plane + q];
            int64_t v = arg;
            if (arg >= 0 && storage_order) {
                const int64_t i2 = arg % b.in[2], i1 = (arg / b.in[2]) % b.in[1], i0 = arg / (b.in[1] * b.in[2]);
                /* the leading size-1 axes of a 1D/2D geometry have index 0 and size 1, so this is
                 * column-major over the real axes */
                v = i0 + b.in[0] * (i1 + b.in[1] * i2);
            }
            indices[p * b.out_plane + q] = arg < 0 ? -1 : p * b.in_plane + v;
        }
}

/* ---- average pooling ---- */

void cn_avgpool_ref_forward(float *y, const float *x, const cn_pool_geom *g)
{
    const box b = box_of(g);
    for (int64_t p = 0; p < b.planes; p++) {
        const float *xp = x + p * b.in_plane;
        for (int64_t q = 0; q < b.out_plane; q++) {
            const win w = window_at(&b, q);
            const int64_t cnt = g->count_include_pad ? taps_padded(&w) : taps_inside(&w);
            double sum = 0;
            FOR_TAPS(b, w, ix, sum += xp[ix];)
            y[p * b.out_plane + q] = cnt ? (float)(sum / (double)cnt) : 0.0f;
        }
    }
}

void cn_avgpool_ref_backward(float *dx, const float *dy, const cn_pool_geom *g)
{
    const box b = box_of(g);
    for (int64_t p = 0; p < b.planes; p++) {
        float *dxp = dx + p * b.in_plane;
        for (int64_t q = 0; q < b.out_plane; q++) {
            const win w = window_at(&b, q);
            const int64_t cnt = g->count_include_pad ? taps_padded(&w) : taps_inside(&w);
            if (!cnt) continue;
            /* forward: y = sum / cnt with sum += xp[ix], so dL/dx[ix] += dL/dy / cnt */
            const float gr = (float)((double)dy[p * b.out_plane + q] / (double)cnt);
            FOR_TAPS(b, w, ix, dxp[ix] += gr;)
        }
    }
}

/* ---- Lp pooling ---- */

/* |v|^p, with the common exponents exact */
static double abs_pow(double v, double p)
{
    if (p == 1.0) return fabs(v);
    if (p == 2.0) return v * v;
    return pow(fabs(v), p);
}

/* (sum over the window of |x|^p)^(1/p) */
static double lp_norm(const box *b, const win *w, const float *xp, double p)
{
    double s = 0;
    FOR_TAPS(*b, *w, ix, s += abs_pow(xp[ix], p);)
    if (p == 1.0) return s;
    if (p == 2.0) return sqrt(s);
    return pow(s, 1.0 / p);
}

void cn_lppool_forward(float *y, const float *x, const cn_pool_geom *g)
{
    const box b = box_of(g);
    for (int64_t p = 0; p < b.planes; p++) {
        const float *xp = x + p * b.in_plane;
        for (int64_t q = 0; q < b.out_plane; q++) {
            const win w = window_at(&b, q);
            y[p * b.out_plane + q] = (float)lp_norm(&b, &w, xp, g->p);
        }
    }
}

void cn_lppool_backward(float *dx, const float *dy, const float *x, const cn_pool_geom *g)
{
    const box b = box_of(g);
    const double pe = g->p;
    for (int64_t p = 0; p < b.planes; p++) {
        const float *xp = x + p * b.in_plane;
        float *dxp = dx + p * b.in_plane;
        for (int64_t q = 0; q < b.out_plane; q++) {
            const win w = window_at(&b, q);
            /* forward: y = (sum_i |x_i|^p)^(1/p), so dy/dx_i = sign(x_i) |x_i|^(p-1) / y^(p-1) */
            const double yv = lp_norm(&b, &w, xp, pe), gy = dy[p * b.out_plane + q];
            if (!(yv > 0)) continue;
            const double scale = pe == 1.0 ? gy : pe == 2.0 ? gy / yv : gy / pow(yv, pe - 1.0);
            FOR_TAPS(b, w, ix, {
                const double v = xp[ix];
                if (v == 0) continue;
                const double t = pe == 1.0 ? 1.0 : pe == 2.0 ? fabs(v) : pow(fabs(v), pe - 1.0);
                dxp[ix] += (float)(scale * (v > 0 ? t : -t));
            })
        }
    }
}

/* ---- subsampling ---- */

/* plane index of the window's first tap, or -1 if it is padding */
static int64_t first_tap(const box *b, const win *w)
{
    int64_t ix = 0;
    for (int a = 0; a < 3; a++) {
        const int64_t i = w->a[a].start;
        if (i < 0 || i >= b->in[a]) return -1;
        ix = ix * b->in[a] + i;
    }
    return ix;
}

void cn_subsample_forward(float *y, const float *x, const cn_pool_geom *g)
{
    const box b = box_of(g);
    for (int64_t p = 0; p < b.planes; p++)
        for (int64_t q = 0; q < b.out_plane; q++) {
            const win w = window_at(&b, q);
            const int64_t ix = first_tap(&b, &w);
            y[p * b.out_plane + q] = ix < 0 ? 0.0f : x[p * b.in_plane + ix];
        }
}

void cn_subsample_backward(float *dx, const float *dy, const cn_pool_geom *g)
{
    const box b = box_of(g);
    for (int64_t p = 0; p < b.planes; p++)
        for (int64_t q = 0; q < b.out_plane; q++) {
            const win w = window_at(&b, q);
            /* forward: y = x[ix] at the first tap, so dL/dx[ix] += dL/dy */
            const int64_t ix = first_tap(&b, &w);
            if (ix >= 0) dx[p * b.in_plane + ix] += dy[p * b.out_plane + q];
        }
}

/* ---- stochastic pooling ---- */

void cn_stochpool_forward_train(float *y, int64_t *cache, const float *x, const cn_pool_geom *g, cn_rng *r)
{
    const box b = box_of(g);
    const uint64_t base = r->counter;
    for (int64_t p = 0; p < b.planes; p++) {
        const float *xp = x + p * b.in_plane;
        for (int64_t q = 0; q < b.out_plane; q++) {
            const int64_t oq = p * b.out_plane + q;
            const win w = window_at(&b, q);
            double sum = 0;
            FOR_TAPS(b, w, ix, if (xp[ix] > 0) sum += xp[ix];)
            if (!(sum > 0)) {
                y[oq] = 0.0f;
                cache[oq] = -1;
                continue;
            }
            /* one word per output, at a counter fixed by the output's index */
            cn_rng t = *r;
            cn_rng_seek(&t, base + (uint64_t)oq);
            const double target = (double)cn_rng_u32(&t) * (1.0 / 4294967296.0) * sum;
            /* the running sum repeats the additions of `sum` in the same order, so it reaches
             * sum > target at the latest on the last positive tap */
            double run = 0;
            int64_t pick = -1;
            FOR_TAPS(b, w, ix, {
                if (xp[ix] > 0) {
                    run += xp[ix];
                    pick = ix;
                    if (run > target) goto picked;
                }
            })
        picked:
            y[oq] = xp[pick];
            cache[oq] = pick;
        }
    }
    r->counter = base + (uint64_t)(b.planes * b.out_plane);
}

void cn_stochpool_backward_train(float *dx, const float *dy, const int64_t *cache, const cn_pool_geom *g)
{
    const box b = box_of(g);
    for (int64_t p = 0; p < b.planes; p++)
        for (int64_t q = 0; q < b.out_plane; q++) {
            /* forward: y = xp[pick], so dL/dx[pick] += dL/dy */
            const int64_t pick = cache[p * b.out_plane + q];
            if (pick >= 0) dx[p * b.in_plane + pick] += dy[p * b.out_plane + q];
        }
}

void cn_stochpool_forward_infer(float *y, const float *x, const cn_pool_geom *g)
{
    const box b = box_of(g);
    for (int64_t p = 0; p < b.planes; p++) {
        const float *xp = x + p * b.in_plane;
        for (int64_t q = 0; q < b.out_plane; q++) {
            const win w = window_at(&b, q);
            double s1 = 0, s2 = 0;
            FOR_TAPS(b, w, ix, {
                const double a = xp[ix];
                if (a > 0) s1 += a, s2 += a * a;
            })
            y[p * b.out_plane + q] = s1 > 0 ? (float)(s2 / s1) : 0.0f;
        }
    }
}

void cn_stochpool_backward_infer(float *dx, const float *dy, const float *x, const cn_pool_geom *g)
{
    const box b = box_of(g);
    for (int64_t p = 0; p < b.planes; p++) {
        const float *xp = x + p * b.in_plane;
        float *dxp = dx + p * b.in_plane;
        for (int64_t q = 0; q < b.out_plane; q++) {
            const win w = window_at(&b, q);
            double s1 = 0, s2 = 0;
            FOR_TAPS(b, w, ix, {
                const double a = xp[ix];
                if (a > 0) s1 += a, s2 += a * a;
            })
            if (!(s1 > 0)) continue;
            /* forward: y = s2 / s1 with s1 += a, s2 += a*a, so dy/da_j = (2 a_j s1 - s2) / s1^2 */
            const double gy = dy[p * b.out_plane + q] / (s1 * s1);
            FOR_TAPS(b, w, ix, {
                const double a = xp[ix];
                if (a > 0) dxp[ix] += (float)(gy * (2.0 * a * s1 - s2));
            })
        }
    }
}
