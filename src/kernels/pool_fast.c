/* pool_fast.c — max and average pooling (pool.h) for dilation 1: the reference's arithmetic
 * (same tap order, same double sums, same NaN and tie rules, so bit-identical results) with
 * the window bounds computed once per row and per column instead of once per output, and
 * planes split over threads; non-overlapping windows inside the input (LeNet's 2x2) take a
 * straight loop, averaging in float. Other geometries run the reference (pool_ref.c). */
#include <math.h>

#include "convnet/pool.h"
#include "kernels/gemm.h"

typedef struct {
    int64_t in[3], out[3], k[3], s[3], pb[3], pe[3];
    int64_t planes, in_plane, out_plane;
} pbox;

/* 3 axes (leading size-1 axes for 1D/2D); 0 if a dilation is not 1 */
static int pbox_of(const cn_pool_geom *g, pbox *b)
{
    const int off = 3 - g->ndim;
    for (int a = 0; a < 3; a++) {
        const int ga = a - off;
        if (ga >= 0 && g->dilation[ga] != 1) return 0;
        b->in[a] = ga >= 0 ? g->in[ga] : 1;
        b->out[a] = ga >= 0 ? g->out[ga] : 1;
        b->k[a] = ga >= 0 ? g->k[ga] : 1;
        b->s[a] = ga >= 0 ? g->stride[ga] : 1;
        b->pb[a] = ga >= 0 ? g->pad_begin[ga] : 0;
        b->pe[a] = ga >= 0 ? g->pad_end[ga] : 0;
    }
    b->planes = g->n * g->c;
    b->in_plane = b->in[0] * b->in[1] * b->in[2];
    b->out_plane = b->out[0] * b->out[1] * b->out[2];
    return 1;
}

/* one axis of a window (dilation 1): first tap at input index st; taps [lo, hi) inside the
 * input; np taps inside the padded input (the count with count_include_pad) */
typedef struct {
    int64_t st, lo, hi, np;
} pspan;

static inline pspan pspan_of(const pbox *b, int a, int64_t o)
{
    pspan r;
    r.st = o * b->s[a] - b->pb[a];
    r.lo = r.st >= 0 ? 0 : -r.st;
    r.hi = b->in[a] - r.st < b->k[a] ? b->in[a] - r.st : b->k[a];
    if (r.hi < 0) r.hi = 0;
    if (r.lo > r.hi) r.lo = r.hi;
    const int64_t lim = b->in[a] + b->pe[a] - r.st;
    r.np = lim < 0 ? 0 : lim < b->k[a] ? lim : b->k[a];
    return r;
}

enum { MAX_FWD, MAX_BWD, AVG_FWD, AVG_BWD };

typedef struct {
    const cn_pool_geom *g;
    pbox b;
    int op;
    float *out;          /* y (forward) or dx (backward) */
    const float *in;     /* x (forward) or dy (backward) */
    int64_t *argmax;     /* max forward: written if not NULL */
    const int64_t *amax; /* max backward */
} pool_job;

/* Non-overlapping windows inside the input (k = stride, no padding, ndim <= 2): every
 * window has k0*k1 taps, so average pooling is a sum times 1/cnt (in float: within a few ulp
 * of the reference's double sum and division) and max pooling a plain scan (bit-exact). */
static int simple(const pbox *b)
{
    return b->k[0] == 1 && b->s[0] == 1 && b->k[1] == b->s[1] && b->k[2] == b->s[2] && !b->pb[1] && !b->pb[2] &&
           b->out[1] * b->k[1] <= b->in[1] && b->out[2] * b->k[2] <= b->in[2];
}

/* one step of the max scan: a later value replaces the best if it is larger, or if it is the
 * first NaN (the reference's rule: the first maximum, a NaN beats any number) */
static inline float max_scan(float best, float v) { return v > best || (v != v && best == best) ? v : best; }

static void simple_plane(const pool_job *j, int64_t p)
{
    const pbox *b = &j->b;
    const int64_t k1 = b->k[1], k2 = b->k[2], w = b->in[2], ow = b->out[2];
    const float inv = 1.0f / (float)(k1 * k2);
    for (int64_t o1 = 0; o1 < b->out[1]; o1++) {
        const int64_t in_row = p * b->in_plane + o1 * k1 * w, out_row = p * b->out_plane + o1 * ow;
        if (j->op == AVG_FWD) {
            float *y = j->out + out_row;
            const float *x = j->in + in_row;
            for (int64_t o2 = 0; o2 < ow; o2++) y[o2] = 0.0f;
            for (int64_t a1 = 0; a1 < k1; a1++)
                for (int64_t o2 = 0; o2 < ow; o2++)
                    for (int64_t a2 = 0; a2 < k2; a2++) y[o2] += x[a1 * w + o2 * k2 + a2];
            for (int64_t o2 = 0; o2 < ow; o2++) y[o2] *= inv;
        } else if (j->op == AVG_BWD) { /* forward: y = sum * 1/cnt, so dL/dx += dL/dy / cnt */
            float *dx = j->out + in_row;
            const float *dy = j->in + out_row;
            for (int64_t a1 = 0; a1 < k1; a1++)
                for (int64_t o2 = 0; o2 < ow; o2++) {
                    const float gr = dy[o2] * inv;
                    for (int64_t a2 = 0; a2 < k2; a2++) dx[a1 * w + o2 * k2 + a2] += gr;
                }
        } else if (!j->argmax) { /* MAX_FWD, values only: the same scan per output, branch-free
                                    across a row of outputs (the compiler vectorizes it) */
            float *y = j->out + out_row;
            const float *x = j->in + in_row;
            for (int64_t o2 = 0; o2 < ow; o2++) y[o2] = x[o2 * k2];
            for (int64_t a1 = 0; a1 < k1; a1++)
                for (int64_t a2 = a1 ? 0 : 1; a2 < k2; a2++)
                    for (int64_t o2 = 0; o2 < ow; o2++) y[o2] = max_scan(y[o2], x[a1 * w + o2 * k2 + a2]);
        } else { /* MAX_FWD */
            const float *xp = j->in + p * b->in_plane;
            for (int64_t o2 = 0; o2 < ow; o2++) {
                float best = 0.0f;
                int64_t arg = -1;
                for (int64_t a1 = 0; a1 < k1; a1++)
                    for (int64_t a2 = 0; a2 < k2; a2++) {
                        const int64_t ix = (o1 * k1 + a1) * w + o2 * k2 + a2;
                        const float v = xp[ix];
                        if (arg < 0 || v > best || (isnan(v) && !isnan(best))) best = v, arg = ix;
                    }
                j->out[out_row + o2] = best;
                if (j->argmax) j->argmax[out_row + o2] = arg;
            }
        }
    }
}

/* Max pooling, values only (inference), 1D or 2D windows of any stride and padding: per output
 * row, the outputs whose window lies inside the input's width take the branch-free scan over
 * whole rows of outputs (tap by tap, in the reference's order); the few at the edges scan
 * their clipped window one by one. A window with no tap inside the input gives 0, as in the
 * reference. */
static void max_values_plane(const pool_job *j, int64_t p)
{
    const pbox *b = &j->b;
    const float *xp = j->in + p * b->in_plane;
    float *yp = j->out + p * b->out_plane;
    const int64_t ow = b->out[2], s2 = b->s[2], k2 = b->k[2], pb2 = b->pb[2], W = b->in[2];
    /* interior outputs [c0, c1): o*s2 - pb2 >= 0 and o*s2 - pb2 + k2 <= W */
    int64_t c0 = (pb2 + s2 - 1) / s2, c1 = W - k2 + pb2 >= 0 ? (W - k2 + pb2) / s2 + 1 : 0;
    c0 = c0 < ow ? c0 : ow;
    c1 = c1 < c0 ? c0 : c1 > ow ? ow : c1;
    for (int64_t o1 = 0; o1 < b->out[1]; o1++) {
        const pspan w1 = pspan_of(b, 1, o1);
        float *y = yp + o1 * ow;
        for (int64_t o2 = 0; o2 < ow; o2++) {
            if (o2 == c0 && w1.lo < w1.hi) o2 = c1; /* the interior is done below */
            if (o2 >= ow) break;
            const pspan w2 = pspan_of(b, 2, o2);
            float best = 0.0f;
            int any = 0;
            for (int64_t a1 = w1.lo; a1 < w1.hi; a1++)
                for (int64_t a2 = w2.lo; a2 < w2.hi; a2++) {
                    const float v = xp[(w1.st + a1) * W + w2.st + a2];
                    best = any ? max_scan(best, v) : v;
                    any = 1;
                }
            y[o2] = best;
        }
        if (w1.lo >= w1.hi || c0 >= c1) continue;
        for (int64_t a1 = w1.lo; a1 < w1.hi; a1++) {
            const float *row = xp + (w1.st + a1) * W - pb2;
            for (int64_t a2 = 0; a2 < k2; a2++) {
                const float *src = row + a2;
                if (a1 == w1.lo && a2 == 0)
                    for (int64_t o2 = c0; o2 < c1; o2++) y[o2] = src[o2 * s2];
                else
                    for (int64_t o2 = c0; o2 < c1; o2++) y[o2] = max_scan(y[o2], src[o2 * s2]);
            }
        }
    }
}

static void pool_planes(void *ctx, int64_t p0, int64_t p1)
{
    const pool_job *j = ctx;
    const pbox *b = &j->b;
    const int incl = j->g->count_include_pad;
    const int easy = simple(b) && j->op != MAX_BWD;
    for (int64_t p = p0; p < p1; p++) {
        if (easy) {
            simple_plane(j, p);
            continue;
        }
        if (j->op == MAX_FWD && !j->argmax && b->in[0] == 1 && b->k[0] == 1) {
            max_values_plane(j, p);
            continue;
        }
        if (j->op == MAX_BWD) {
            /* forward: y = x[argmax], so dL/dx[argmax] += dL/dy */
            float *dxp = j->out + p * b->in_plane;
            for (int64_t q = 0; q < b->out_plane; q++) {
                const int64_t arg = j->amax[p * b->out_plane + q];
                if (arg >= 0) dxp[arg] += j->in[p * b->out_plane + q];
            }
            continue;
        }
        int64_t q = 0;
        for (int64_t o0 = 0; o0 < b->out[0]; o0++) {
            const pspan w0 = pspan_of(b, 0, o0);
            for (int64_t o1 = 0; o1 < b->out[1]; o1++) {
                const pspan w1 = pspan_of(b, 1, o1);
                for (int64_t o2 = 0; o2 < b->out[2]; o2++, q++) {
                    const pspan w2 = pspan_of(b, 2, o2);
                    const int64_t cnt = incl ? w0.np * w1.np * w2.np
                                             : (w0.hi - w0.lo) * (w1.hi - w1.lo) * (w2.hi - w2.lo);
                    if (j->op == MAX_FWD) {
                        const float *xp = j->in + p * b->in_plane;
                        float best = 0.0f;
                        int64_t arg = -1;
                        for (int64_t a0 = w0.lo; a0 < w0.hi; a0++)
                            for (int64_t a1 = w1.lo; a1 < w1.hi; a1++) {
                                const int64_t row = ((w0.st + a0) * b->in[1] + w1.st + a1) * b->in[2] + w2.st;
                                for (int64_t a2 = w2.lo; a2 < w2.hi; a2++) {
                                    const float v = xp[row + a2];
                                    /* strict '>' keeps the first maximum; a NaN replaces any number */
                                    if (arg < 0 || v > best || (isnan(v) && !isnan(best))) best = v, arg = row + a2;
                                }
                            }
                        j->out[p * b->out_plane + q] = arg < 0 ? 0.0f : best;
                        if (j->argmax) j->argmax[p * b->out_plane + q] = arg;
                    } else if (j->op == AVG_FWD) {
                        const float *xp = j->in + p * b->in_plane;
                        double sum = 0;
                        for (int64_t a0 = w0.lo; a0 < w0.hi; a0++)
                            for (int64_t a1 = w1.lo; a1 < w1.hi; a1++) {
                                const float *r = xp + ((w0.st + a0) * b->in[1] + w1.st + a1) * b->in[2] + w2.st;
                                for (int64_t a2 = w2.lo; a2 < w2.hi; a2++) sum += r[a2];
                            }
                        j->out[p * b->out_plane + q] = cnt ? (float)(sum / (double)cnt) : 0.0f;
                    } else { /* AVG_BWD. forward: y = sum / cnt, so dL/dx[ix] += dL/dy / cnt */
                        if (!cnt) continue;
                        float *dxp = j->out + p * b->in_plane;
                        const float gr = (float)((double)j->in[p * b->out_plane + q] / (double)cnt);
                        for (int64_t a0 = w0.lo; a0 < w0.hi; a0++)
                            for (int64_t a1 = w1.lo; a1 < w1.hi; a1++) {
                                float *r = dxp + ((w0.st + a0) * b->in[1] + w1.st + a1) * b->in[2] + w2.st;
                                for (int64_t a2 = w2.lo; a2 < w2.hi; a2++) r[a2] += gr;
                            }
                    }
                }
            }
        }
    }
}

/* planes over threads: a plane is one task; ~64K window taps per thread before a second helps */
static void run(pool_job *j)
{
    const double taps = (double)j->b.out_plane * (double)(j->b.k[0] * j->b.k[1] * j->b.k[2]) + (double)j->b.in_plane;
    int64_t grain = (int64_t)(65536.0 / (taps > 1 ? taps : 1)) + 1;
    cn_parallel_for(j->b.planes, grain, pool_planes, j);
}

void cn_maxpool_forward(float *y, int64_t *argmax, const float *x, const cn_pool_geom *g)
{
    pool_job j = {.g = g, .op = MAX_FWD, .out = y, .in = x, .argmax = argmax};
    if (!pbox_of(g, &j.b)) {
        cn_maxpool_ref_forward(y, argmax, x, g);
        return;
    }
    run(&j);
}

void cn_maxpool_backward(float *dx, const float *dy, const int64_t *argmax, const cn_pool_geom *g)
{
    pool_job j = {.g = g, .op = MAX_BWD, .out = dx, .in = dy, .amax = argmax};
    if (!pbox_of(g, &j.b)) {
        cn_maxpool_ref_backward(dx, dy, argmax, g);
        return;
    }
    run(&j);
}

void cn_avgpool_forward(float *y, const float *x, const cn_pool_geom *g)
{
    pool_job j = {.g = g, .op = AVG_FWD, .out = y, .in = x};
    if (!pbox_of(g, &j.b)) {
        cn_avgpool_ref_forward(y, x, g);
        return;
    }
    run(&j);
}

void cn_avgpool_backward(float *dx, const float *dy, const cn_pool_geom *g)
{
    pool_job j = {.g = g, .op = AVG_BWD, .out = dx, .in = dy};
    if (!pbox_of(g, &j.b)) {
        cn_avgpool_ref_backward(dx, dy, g);
        return;
    }
    run(&j);
}
