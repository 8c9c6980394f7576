/* pool_frac.c — fractional max pooling (B. Graham, "Fractional Max-Pooling", 2014) with
 * pseudo-random regions, forward and backward, 1D/2D/3D. */
#include <math.h>

#include "convnet/pool.h"

#define U_BITS 24
#define U_ONE ((int64_t)1 << U_BITS)

/* A(i) = ceil(in * (i + m/2^24) / out), in exact integer arithmetic: with in*i = qt*out + rm,
 * A(i) = qt + ceil((rm*2^24 + in*m) / (out*2^24)); every term stays below 2^56. */
static int64_t boundary(int64_t in, int64_t out, uint32_t m, int64_t i)
{
    const int64_t qt = in * i / out, rm = in * i % out;
    const int64_t num = rm * U_ONE + in * (int64_t)m, den = out * U_ONE;
    return qt + (num + den - 1) / den;
}

void cn_fracpool_region(int64_t *begin, int64_t *end, int64_t in, int64_t out, uint32_t m, int overlap, int64_t i)
{
    m &= (uint32_t)(U_ONE - 1);
    const int64_t a0 = boundary(in, out, m, 0);
    int64_t e = boundary(in, out, m, i + 1) - a0;
    if (overlap && e < in) e++;
    *begin = boundary(in, out, m, i) - a0;
    *end = e;
}

void cn_fracpool_forward(float *y, int64_t *argmax, const float *x, const cn_pool_geom *g, cn_rng *r)
{
    /* the geometry as 3 axes, leading ones of size 1 (their only region is [0, 1)) */
    int64_t in[3] = {1, 1, 1}, out[3] = {1, 1, 1};
    uint32_t m[3] = {0, 0, 0};
    const int off = 3 - g->ndim;
    for (int a = 0; a < g->ndim; a++) {
        in[off + a] = g->in[a];
        out[off + a] = g->out[a];
        m[off + a] = cn_rng_u32(r) >> (32 - U_BITS);
    }
    const int64_t planes = g->n * g->c, in_plane = in[0] * in[1] * in[2], out_plane = out[0] * out[1] * out[2];
    for (int64_t p = 0; p < planes; p++) {
        const float *xp = x + p * in_plane;
        int64_t q = p * out_plane;
        for (int64_t o0 = 0; o0 < out[0]; o0++) {
            int64_t b0, e0;
            cn_fracpool_region(&b0, &e0, in[0], out[0], m[0], g->overlap, o0);
            for (int64_t o1 = 0; o1 < out[1]; o1++) {
                int64_t b1, e1;
                cn_fracpool_region(&b1, &e1, in[1], out[1], m[1], g->overlap, o1);
                for (int64_t o2 = 0; o2 < out[2]; o2++, q++) {
                    int64_t b2, e2;
                    cn_fracpool_region(&b2, &e2, in[2], out[2], m[2], g->overlap, o2);
                    float best = 0.0f;
                    int64_t arg = -1;
                    for (int64_t i0 = b0; i0 < e0; i0++)
                        for (int64_t i1 = b1; i1 < e1; i1++)
                            for (int64_t i2 = b2; i2 < e2; i2++) {
                                const int64_t ix = (i0 * in[1] + i1) * in[2] + i2;
                                const float v = xp[ix];
                                /* first maximum wins; a NaN replaces any number, never another NaN */
                                if (arg < 0 || v > best || (isnan(v) && !isnan(best))) best = v, arg = ix;
                            }
                    y[q] = best; /* regions are never empty: alpha >= 1 */
                    argmax[q] = arg;
                }
            }
        }
    }
}

void cn_fracpool_backward(float *dx, const float *dy, const int64_t *argmax, const cn_pool_geom *g)
{
    int64_t in_plane = 1, out_plane = 1;
    for (int a = 0; a < g->ndim; a++) in_plane *= g->in[a], out_plane *= g->out[a];
    const int64_t planes = g->n * g->c;
    for (int64_t p = 0; p < planes; p++)
        for (int64_t q = 0; q < out_plane; q++) {
            /* forward: y = xp[arg] (best = v at arg), so dL/dx[arg] += dL/dy */
            const int64_t arg = argmax[p * out_plane + q];
            if (arg >= 0) dx[p * in_plane + arg] += dy[p * out_plane + q];
        }
}
