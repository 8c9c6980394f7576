/* conv_dw_avx512.c — direct depthwise plane kernels (conv_dw.h) with AVX-512F: 16 outputs of
 * a row per vector; each tap is one masked load (out-of-plane lanes read 0 without touching
 * memory: a left edge through an expand-load from the row's start) and one FMA. A plane is a
 * few KB, so its rows stay in L1 across the taps that reuse them. */
#include <immintrin.h>

#include "kernels/conv_dw.h"

static inline __mmask16 lanes(int64_t lo, int64_t hi) /* lanes [lo, hi) of 16 */
{
    if (lo < 0) lo = 0;
    if (hi > 16) hi = 16;
    if (hi <= lo) return 0;
    return (__mmask16)(((1u << (hi - lo)) - 1u) << lo);
}

/* One column tap of a 16-wide output block: lane l reads row column ix0 + l; m: the lanes inside
 * the row (and the output). Left of the row (ix0 < 0) the block loads from the row's start and
 * moves each element to its lane with a permute (an expand-load would do it in one instruction
 * but is microcoded on some CPUs). */
typedef struct {
    int64_t ix0;
    __mmask16 m, lm; /* lanes kept; elements loaded from the row start (ix0 < 0) */
    __m512i idx;     /* lane l takes loaded element l + ix0 (ix0 < 0) */
} coltap;

static inline coltap coltap_of(int64_t ix0, int64_t w, __mmask16 om)
{
    coltap c;
    c.ix0 = ix0;
    c.m = om & lanes(-ix0, w - ix0);
    c.lm = ix0 < 0 ? lanes(0, 16 + ix0 < w ? 16 + ix0 : w) : 0;
    c.idx = _mm512_add_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                             _mm512_set1_epi32((int)(ix0 < 0 ? ix0 : 0)));
    return c;
}

static inline __m512 load_row(const float *r, const coltap *c)
{
    if (c->ix0 >= 0) return _mm512_maskz_loadu_ps(c->m, r + c->ix0);
    return _mm512_maskz_permutexvar_ps(c->m, c->idx, _mm512_maskz_loadu_ps(c->lm, r));
}

#define MAXK 256 /* taps per axis (conv_fast.c routes only kernels of <= 256 taps here) */

static inline void prefetch_row(const float *r, int64_t n)
{
    for (int64_t i = 0; i < n; i += 16) _mm_prefetch((const char *)(r + i), _MM_HINT_T0);
}

static void plane(float *y, const float *x, const float *k, float bias, int acc, const cn_dw_geom *g)
{
    const int64_t H = g->h, W = g->w, OH = g->oh, OW = g->ow, KH = g->kh, KW = g->kw, PH = g->ph, DH = g->dh;
    const int64_t blocks = (OW + 15) / 16;
    coltap ct[MAXK];
    if (blocks * KW > MAXK) { /* very wide rows: column taps per block, block-outer */
        for (int64_t ox = 0; ox < OW; ox += 16) {
            const __mmask16 om = lanes(0, OW - ox);
            for (int64_t jx = 0; jx < KW; jx++) ct[jx] = coltap_of(ox - g->pw + jx * g->dw, W, om);
            for (int64_t oy = 0; oy < OH; oy++) {
                float *yr = y + oy * OW + ox;
                __m512 s = acc ? _mm512_maskz_loadu_ps(om, yr) : _mm512_set1_ps(bias);
                for (int64_t jy = 0; jy < KH; jy++) {
                    const int64_t iy = oy - PH + jy * DH;
                    if (iy < 0 || iy >= H) continue;
                    const float *xr = x + iy * W, *kr = k + jy * KW;
                    for (int64_t jx = 0; jx < KW; jx++) s = _mm512_fmadd_ps(_mm512_set1_ps(kr[jx]), load_row(xr, &ct[jx]), s);
                }
                _mm512_mask_storeu_ps(yr, om, s);
            }
        }
        return;
    }
    /* column taps of every block (the same for every row), then row by row: input rows are
     * read in order, the row the next output row first needs is prefetched */
    for (int64_t b = 0; b < blocks; b++)
        for (int64_t jx = 0; jx < KW; jx++) ct[b * KW + jx] = coltap_of(16 * b - g->pw + jx * g->dw, W, lanes(0, OW - 16 * b));
    for (int64_t oy = 0; oy < OH; oy++) {
        const int64_t ahead = oy + 1 - PH + (KH - 1) * DH;
        if (ahead >= 0 && ahead < H) prefetch_row(x + ahead * W, W);
        if (acc && oy + 1 < OH) prefetch_row(y + (oy + 1) * OW, OW);
        float *yr = y + oy * OW;
        for (int64_t b = 0; b < blocks; b++) {
            const __mmask16 om = lanes(0, OW - 16 * b);
            __m512 s = acc ? _mm512_maskz_loadu_ps(om, yr + 16 * b) : _mm512_set1_ps(bias);
            for (int64_t jy = 0; jy < KH; jy++) {
                const int64_t iy = oy - PH + jy * DH;
                if (iy < 0 || iy >= H) continue;
                const float *xr = x + iy * W, *kr = k + jy * KW;
                const coltap *c = ct + b * KW;
                for (int64_t jx = 0; jx < KW; jx++) s = _mm512_fmadd_ps(_mm512_set1_ps(kr[jx]), load_row(xr, &c[jx]), s);
            }
            _mm512_mask_storeu_ps(yr + 16 * b, om, s);
        }
    }
}

static void wgrad(float *dk, const float *dy, const float *x, const cn_dw_geom *g)
{
    const int64_t H = g->h, W = g->w, OH = g->oh, OW = g->ow, KH = g->kh, KW = g->kw, PH = g->ph, DH = g->dh;
    const int64_t blocks = (OW + 15) / 16;
    coltap ct[64];
    for (int64_t jx = 0; jx < KW; jx++) {
        const int cached = blocks <= 64;
        for (int64_t b = 0; cached && b < blocks; b++)
            ct[b] = coltap_of(16 * b - g->pw + jx * g->dw, W, lanes(0, OW - 16 * b));
        /* one tap at a time, two accumulators in registers; the dy plane is re-read per tap
         * from L1 (a plane is a few KB) */
        for (int64_t jy = 0; jy < KH; jy++) {
            __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
            for (int64_t oy = 0; oy < OH; oy++) {
                const int64_t iy = oy - PH + jy * DH;
                if (iy < 0 || iy >= H) continue;
                const float *xr = x + iy * W, *gr = dy + oy * OW;
                for (int64_t b = 0; b < blocks; b++) {
                    const coltap c = cached ? ct[b] : coltap_of(16 * b - g->pw + jx * g->dw, W, lanes(0, OW - 16 * b));
                    const __m512 t = _mm512_maskz_loadu_ps(lanes(0, OW - 16 * b), gr + 16 * b);
                    if (b & 1) s1 = _mm512_fmadd_ps(t, load_row(xr, &c), s1);
                    else s0 = _mm512_fmadd_ps(t, load_row(xr, &c), s0);
                }
            }
            dk[jy * KW + jx] += _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
        }
    }
}

const cn_dw_ops cn_dw_avx512 = {plane, wgrad};
