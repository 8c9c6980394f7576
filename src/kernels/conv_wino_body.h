/* conv_wino_body.h — private: the Winograd transforms of conv_wino.h, compiled once per ISA
 * (conv_wino.c baseline, conv_wino_avx2.c, conv_wino_avx512.c) from this one source: loops
 * over the tiles of a segment that the compiler vectorizes. Define WT_TABLE before including. */
#include <string.h>

#include "kernels/conv_wino.h"

/* tile i's patch row, columns c + 2i .. c + 2i + 3, into d0[i] .. d3[i] for i < n (zero
 * outside [0, w); row NULL: all zero) */
static void split_row(float *restrict d0, float *restrict d1, float *restrict d2, float *restrict d3,
                      const float *restrict row, int64_t w, int64_t c, int64_t n)
{
    if (!row) {
        for (int64_t i = 0; i < n; i++) d0[i] = d1[i] = d2[i] = d3[i] = 0.0f;
        return;
    }
    /* interior [lo, hi): c + 2i >= 0 and c + 2i + 3 < w */
    int64_t lo = c >= 0 ? 0 : (1 - c) / 2, hi = w - 3 - c > 0 ? (w - 3 - c + 1) / 2 : 0;
    if (hi > n) hi = n;
    if (lo > hi) lo = hi;
    for (int64_t i = 0; i < n; i++) {
        if (i == lo) {
            const float *r = row + c;
            for (; i < hi; i++) {
                d0[i] = r[2 * i];
                d1[i] = r[2 * i + 1];
                d2[i] = r[2 * i + 2];
                d3[i] = r[2 * i + 3];
            }
            if (i >= n) break;
        }
        const int64_t u = c + 2 * i;
        d0[i] = u >= 0 && u < w ? row[u] : 0.0f;
        d1[i] = u + 1 >= 0 && u + 1 < w ? row[u + 1] : 0.0f;
        d2[i] = u + 2 >= 0 && u + 2 < w ? row[u + 2] : 0.0f;
        d3[i] = u + 3 >= 0 && u + 3 < w ? row[u + 3] : 0.0f;
    }
}

/* The loops below take restrict parameters so that the compiler may vectorize them (it
 * cannot tell the rows of one scratch buffer apart by itself). */

/* a patch row d0..d3: B^T d = d0-d2, d1+d2, d2-d1, d1-d3 */
static void in_rows(float *restrict h0, float *restrict h1, float *restrict h2, float *restrict h3,
                    const float *restrict d0, const float *restrict d1, const float *restrict d2,
                    const float *restrict d3, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        h0[i] = d0[i] - d2[i];
        h1[i] = d1[i] + d2[i];
        h2[i] = d2[i] - d1[i];
        h3[i] = d1[i] - d3[i];
    }
}

/* the same down the columns: rows a..d of the patch */
static void in_cols(float *restrict v0, float *restrict v1, float *restrict v2, float *restrict v3,
                    const float *restrict a, const float *restrict b, const float *restrict c, const float *restrict d,
                    int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        v0[i] = a[i] - c[i];
        v1[i] = b[i] + c[i];
        v2[i] = c[i] - b[i];
        v3[i] = b[i] - d[i];
    }
}

/* A^T m down the columns: s0 = m0+m1+m2, s1 = m1-m2-m3 */
static void out_cols(float *restrict s0, float *restrict s1, const float *restrict m0, const float *restrict m1,
                     const float *restrict m2, const float *restrict m3, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        s0[i] = (m0[i] + m1[i]) + m2[i];
        s1[i] = (m1[i] - m2[i]) - m3[i];
    }
}

/* the same along the rows, plus the bias: each tile's left and right output */
static void out_rows(float *restrict y0, float *restrict y1, const float *restrict p0, const float *restrict p1,
                     const float *restrict p2, const float *restrict p3, float bv, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        y0[i] = ((p0[i] + p1[i]) + p2[i]) + bv;
        y1[i] = ((p1[i] - p2[i]) - p3[i]) + bv;
    }
}

/* an output row's `cols` values from the tiles' left (y0) and right (y1) outputs */
static void store_row(float *restrict row, const float *restrict y0, const float *restrict y1, int64_t cols, int acc)
{
    const int64_t pairs = cols / 2;
    if (acc) {
        for (int64_t i = 0; i < pairs; i++) {
            row[2 * i] += y0[i];
            row[2 * i + 1] += y1[i];
        }
        if (cols & 1) row[cols - 1] += y0[pairs];
    } else {
        for (int64_t i = 0; i < pairs; i++) {
            row[2 * i] = y0[i];
            row[2 * i + 1] = y1[i];
        }
        if (cols & 1) row[cols - 1] = y0[pairs];
    }
}

/* Prefetch the bytes [p, p + n) (rw 1: about to be written). The planes a segment reads or
 * writes are a few rows in each of many channels: too short for the hardware prefetcher. */
#if defined(__GNUC__)
#define WT_PREFETCH(p, n, rw)                                                                    \
    do {                                                                                         \
        const char *p_ = (const char *)(p);                                                     \
        for (int64_t o_ = 0; o_ < (int64_t)(n); o_ += 64) __builtin_prefetch(p_ + o_, rw, 3);  \
    } while (0)
#else
#define WT_PREFETCH(p, n, rw) ((void)0)
#endif
#define WT_AHEAD 2 /* channels ahead */

static void wt_input(float *V, int64_t vs, int64_t ldv, const float *x, int64_t cs, int64_t nch, int64_t ih, int64_t iw,
                     int64_t pt, int64_t pl, int64_t tw, int64_t ty0, int64_t tx0, int64_t len, float *tmp)
{
    const int64_t lp = CN_WINO_PAD(len), st = lp + 16;
    /* tmp + (4r + j)*st: row r of the tiles after the column transform, point j;
     * tmp + (16 + 4r + j)*st: column j of the patches' row r */
    /* the input rows the segment reads: [rlo, rhi) of each plane */
    const int64_t last = ty0 + (tx0 + len - 1) / tw, rlo = 2 * ty0 - pt < 0 ? 0 : 2 * ty0 - pt;
    const int64_t rhi = 2 * last - pt + 4 > ih ? ih : 2 * last - pt + 4;
    for (int64_t ch = 0; ch < nch; ch++) {
        const float *xc = x + ch * cs;
        float *Vc = V + ch * ldv;
        if (ch + WT_AHEAD < nch && rhi > rlo)
            WT_PREFETCH(xc + WT_AHEAD * cs + rlo * iw, (size_t)((rhi - rlo) * iw) * sizeof(float), 0);
        for (int r = 0; r < 4; r++) {
            float *d = tmp + (16 + 4 * r) * st;
            for (int64_t pos = 0, ty = ty0, tx = tx0; pos < len; ty++, tx = 0) {
                const int64_t n = tw - tx < len - pos ? tw - tx : len - pos, y = 2 * ty - pt + r;
                split_row(d + pos, d + st + pos, d + 2 * st + pos, d + 3 * st + pos,
                          y >= 0 && y < ih ? xc + y * iw : NULL, iw, 2 * tx - pl, n);
                pos += n;
            }
            for (int j = 0; j < 4; j++)
                for (int64_t i = len; i < lp; i++) d[j * st + i] = 0.0f; /* the junk tiles */
            float *h = tmp + (4 * r) * st;
            in_rows(h, h + st, h + 2 * st, h + 3 * st, d, d + st, d + 2 * st, d + 3 * st, lp);
        }
        for (int j = 0; j < 4; j++)
            in_cols(Vc + j * vs, Vc + (4 + j) * vs, Vc + (8 + j) * vs, Vc + (12 + j) * vs, tmp + j * st,
                    tmp + (4 + j) * st, tmp + (8 + j) * st, tmp + (12 + j) * st, lp);
    }
}

static void wt_output(float *y, int64_t cs, int64_t nch, int64_t oh, int64_t ow, int64_t tw, int64_t ty0, int64_t tx0,
                      const float *M, int64_t ms, int64_t ldm, int64_t len, const float *bias, int acc, float *tmp)
{
    const int64_t lp = CN_WINO_PAD(len), st = lp + 16;
    /* tmp + (4a + j)*st: output row a of the tiles before the column transform, point j;
     * tmp + (8 + 2a + b)*st: output (a, b) of the tiles */
    /* the output rows the segment writes: [rlo, rhi) of each plane */
    const int64_t last = ty0 + (tx0 + len - 1) / tw, rlo = 2 * ty0, rhi = 2 * last + 2 > oh ? oh : 2 * last + 2;
    for (int64_t ch = 0; ch < nch; ch++) {
        const float *Mc = M + ch * ldm;
        if (ch + WT_AHEAD < nch)
            WT_PREFETCH(y + (ch + WT_AHEAD) * cs + rlo * ow, (size_t)((rhi - rlo) * ow) * sizeof(float), 1);
        const float bv = bias ? bias[ch] : 0.0f;
        for (int j = 0; j < 4; j++)
            out_cols(tmp + j * st, tmp + (4 + j) * st, Mc + j * ms, Mc + (4 + j) * ms, Mc + (8 + j) * ms,
                     Mc + (12 + j) * ms, lp);
        for (int a = 0; a < 2; a++) {
            const float *p = tmp + (4 * a) * st;
            out_rows(tmp + (8 + 2 * a) * st, tmp + (9 + 2 * a) * st, p, p + st, p + 2 * st, p + 3 * st, bv, lp);
        }
        float *yc = y + ch * cs;
        for (int64_t pos = 0, ty = ty0, tx = tx0; pos < len; ty++, tx = 0) {
            const int64_t n = tw - tx < len - pos ? tw - tx : len - pos;
            const int64_t cols = ow - 2 * tx < 2 * n ? ow - 2 * tx : 2 * n;
            for (int a = 0; a < 2 && 2 * ty + a < oh; a++)
                store_row(yc + (2 * ty + a) * ow + 2 * tx, tmp + (8 + 2 * a) * st + pos, tmp + (9 + 2 * a) * st + pos, cols,
                          acc);
            pos += n;
        }
    }
}

const cn_wino_ops WT_TABLE = {wt_input, wt_output};
