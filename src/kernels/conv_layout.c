/* conv_layout.c — the data layouts of the convolution engine (conv_fast.h): padded,
 * phase-split planes of the big side, S on the gather grid, S padded for the scatter, the
 * offset tables, packed weights, and the copies of results back to S and B. */
#include "kernels/conv_fast.h"

/* Short copies and fills as plain loops: rows here are tens of floats, where a memcpy call
 * costs more than the copy (the compiler vectorizes these; GCC is told not to turn them back
 * into library calls). */
#if defined(__GNUC__) && !defined(__clang__)
#define CF_INLINE_LOOP __attribute__((optimize("no-tree-loop-distribute-patterns")))
#else
#define CF_INLINE_LOOP
#endif
CF_INLINE_LOOP static inline void copy_f(float *restrict d, const float *restrict s, int64_t n)
{
    for (int64_t i = 0; i < n; i++) d[i] = s[i];
}
CF_INLINE_LOOP static inline void zero_f(float *d, int64_t n)
{
    for (int64_t i = 0; i < n; i++) d[i] = 0.0f;
}

/* ---- packed weights (layout: apanel in conv_fast.h) ---- */

void cf_pack_rows(float *dst, const float *base, int64_t rs, const int64_t *coloff, int64_t m, int64_t k, int mr,
                  int64_t panel)
{
    const int64_t i0 = panel * mr, mpad = round_up(m, mr);
    const int rows = m - i0 < mr ? (int)(m - i0) : mr;
    for (int64_t pc = 0; pc < k; pc += CN_GEMM_KC) {
        const int64_t kb = imin(CN_GEMM_KC, k - pc);
        float *d = dst + pc * mpad + i0 * kb;
        for (int64_t q = 0; q < kb; q++) {
            const float *src = base + coloff[pc + q];
            float *dq = d + q * mr;
            int i = 0;
            for (; i < rows; i++) dq[i] = src[(i0 + i) * rs];
            for (; i < mr; i++) dq[i] = 0.0f;
        }
    }
}

/* The W axis of one phase: plane columns [lo, hi) read the source row at u*st + off (zero
 * padding: every other column is 0); the same for every row of the phase. */
typedef struct {
    int64_t lo, hi, st, off;
} wspan;

static wspan wspan_of(const cf_plan *p, int64_t ph)
{
    const int64_t n = p->U[2], st = p->st[2], pb = p->pb[2], big = p->big[2];
    wspan w = {0, 0, st, ph - pb};
    w.lo = imin(imax(cdiv(pb - ph, st), 0), n);
    w.hi = imin(imax(cdiv(pb + big - ph, st), w.lo), n);
    return w;
}

/* Fill one row of U[2] plane values from the source row (NULL: all zero) at phase ph. */
static void fill_row(const cf_plan *p, float *row, const float *src, int64_t ph, const wspan *w)
{
    const int64_t n = p->U[2];
    if (!src) {
        zero_f(row, n);
        return;
    }
    if (p->mode == CN_PAD_ZERO) {
        zero_f(row, w->lo);
        if (w->st == 1) copy_f(row + w->lo, src + w->lo + w->off, w->hi - w->lo);
        else
            for (int64_t u = w->lo; u < w->hi; u++) row[u] = src[u * w->st + w->off];
        zero_f(row + w->hi, n - w->hi);
        return;
    }
    for (int64_t u = 0; u < n; u++) {
        const int64_t i = map_u(p, 2, u * p->st[2] + ph);
        row[u] = i < 0 ? 0.0f : src[i];
    }
}

/* Rows outer, channels inner: the padding arithmetic of a row is done once for all channels
 * (it dominates when rows are short, e.g. 1D signals of tens of samples). */
void cf_build_planes(const cf_plan *p, float *dst, int64_t chan, int64_t chunk, int64_t nl, const float *Bimg,
                     int64_t c0, int64_t c1)
{
    for (int i0 = 0; i0 < p->nphv[0]; i0++)
        for (int i1 = 0; i1 < p->nphv[1]; i1++)
            for (int i2 = 0; i2 < p->nphv[2]; i2++) {
                const int64_t ph[3] = {p->phv[0][i0], p->phv[1][i1], p->phv[2][i2]};
                const wspan w = wspan_of(p, ph[2]);
                float *pl = dst + (phase_index(p, ph) * chunk + nl) * p->gplane;
                for (int64_t a0 = 0; a0 < p->U[0]; a0++) {
                    const int64_t s0 = map_u(p, 0, a0 * p->st[0] + ph[0]);
                    for (int64_t a1 = 0; a1 < p->U[1]; a1++) {
                        const int64_t s1 = map_u(p, 1, a1 * p->st[1] + ph[1]);
                        const int64_t src = s0 < 0 || s1 < 0 ? -1 : (s0 * p->big[1] + s1) * p->big[2];
                        float *row = pl + (a0 * p->U[1] + a1) * p->U[2];
                        for (int64_t c = c0; c < c1; c++)
                            fill_row(p, row + c * chan, src < 0 ? NULL : Bimg + c * p->bsz + src, ph[2], &w);
                    }
                }
            }
}

void cf_build_grid(const cf_plan *p, float *dst, int64_t chunk, int64_t nl, const float *Simg, int64_t s0, int64_t s1)
{
    for (int64_t s = s0; s < s1; s++) {
        const float *sp = Simg + s * p->ssz;
        float *pl = dst + (s * chunk + nl) * p->gplane;
        for (int64_t a0 = 0; a0 < p->U[0]; a0++)
            for (int64_t a1 = 0; a1 < p->U[1]; a1++) {
                float *row = pl + (a0 * p->U[1] + a1) * p->U[2];
                if (a0 < p->small[0] && a1 < p->small[1]) {
                    copy_f(row, sp + (a0 * p->small[1] + a1) * p->small[2], p->small[2]);
                    zero_f(row + p->small[2], (p->U[2] - p->small[2]));
                } else {
                    zero_f(row, p->U[2]);
                }
            }
    }
}

/* offsets of the gather's K = cbg*kt rows (c, jf) and their weight columns */
void cf_gather_offsets(const cf_plan *p, int64_t chan, int64_t chunk, int64_t *off, int64_t *coloff)
{
    for (int64_t c = 0; c < p->cbg; c++)
        for (int64_t jf = 0; jf < p->kt; jf++) {
            int64_t e[3], ph[3];
            tap_info(p, jf, e, ph);
            const int64_t r = c * p->kt + jf;
            off[r] = c * chan + phase_index(p, ph) * chunk * p->gplane + (e[0] * p->U[1] + e[1]) * p->U[2] + e[2];
            if (coloff) coloff[r] = c * p->kt + tapf(p, jf);
        }
}

/* S's channels [s0, s1) of one image padded by E in front: dst[s][image of chunk][splane] */
void cf_build_spad(const cf_plan *p, float *dst, int64_t chunk, int64_t nl, const float *Simg, int64_t s0, int64_t s1)
{
    const int64_t w = p->LS[2], e2 = p->E[2], sw = p->small[2];
    for (int64_t s = s0; s < s1; s++) {
        const float *sp = Simg + s * p->ssz;
        float *pl = dst + (s * chunk + nl) * p->splane;
        for (int64_t a0 = 0; a0 < p->LS[0]; a0++)
            for (int64_t a1 = 0; a1 < p->LS[1]; a1++) {
                float *row = pl + (a0 * p->LS[1] + a1) * w;
                const int64_t o0 = a0 - p->E[0], o1 = a1 - p->E[1];
                if (o0 >= 0 && o0 < p->small[0] && o1 >= 0 && o1 < p->small[1]) {
                    zero_f(row, e2);
                    copy_f(row + e2, sp + (o0 * p->small[1] + o1) * sw, sw);
                    zero_f(row + e2 + sw, (w - e2 - sw));
                } else {
                    zero_f(row, w);
                }
            }
    }
}

/* Copy (or add) C (rows [m0, m1) of group g over grid columns [q0, q1)) to S, dropping junk. */
void cf_store_gather(const cf_plan *p, float *S, int64_t n0, int64_t g, int64_t m0, int64_t m1, const float *C,
                         int64_t ldc, int64_t q0, int64_t q1, int acc)
{
    const int64_t rowlen = p->U[2];
    int64_t q = q0;
    while (q < q1) {
        const int64_t nl = q / p->gplane, ql = q % p->gplane, row = ql / rowlen, x0 = ql % rowlen;
        const int64_t a0 = row / p->U[1], a1 = row % p->U[1];
        const int64_t row_q = q - x0, seg_end = imin(q1, row_q + rowlen);
        if (a0 < p->small[0] && a1 < p->small[1] && x0 < p->small[2]) {
            const int64_t x1 = imin(p->small[2], seg_end - row_q), len = x1 - x0;
            float *dst = S + ((n0 + nl) * p->cs + g * p->csg) * p->ssz + (a0 * p->small[1] + a1) * p->small[2] + x0;
            const float *src = C + (q - q0);
            for (int64_t s = m0; s < m1; s++) {
                float *d = dst + s * p->ssz;
                const float *c = src + (s - m0) * ldc;
                if (acc)
                    for (int64_t i = 0; i < len; i++) d[i] += c[i];
                else
                    copy_f(d, c, len);
            }
        }
        q = seg_end;
    }
}

/* Add C (rows [c0, c1) of group g, grid columns [q0, q1) of phase `m`) into B through the map. */
void cf_store_scatter(const cf_plan *p, float *B, int64_t n0, int64_t g, int64_t c0, int64_t c1, const float *C,
                          int64_t ldc, int64_t q0, int64_t q1, const int64_t *m, int64_t plane)
{
    const int64_t rowlen = p->LS[2];
    int64_t q = q0;
    while (q < q1) {
        const int64_t nl = q / plane, ql = q % plane, row = ql / rowlen, x0 = ql % rowlen;
        const int64_t a0 = row / p->LS[1], a1 = row % p->LS[1];
        const int64_t row_q = q - x0, seg_end = imin(q1, row_q + rowlen);
        if (a0 < m[N0] && a1 < m[N1] && x0 < m[N2]) {
            const int64_t x1 = imin(m[N2], seg_end - row_q);
            const int64_t i0 = map_u(p, 0, (m[ULO0] + a0) * p->st[0] + m[PH0]);
            const int64_t i1 = map_u(p, 1, (m[ULO1] + a1) * p->st[1] + m[PH1]);
            if (i0 >= 0 && i1 >= 0) {
                float *brow = B + ((n0 + nl) * p->cb + g * p->cbg) * p->bsz + (i0 * p->big[1] + i1) * p->big[2];
                const float *src = C + (q - q0) - x0; /* src[x] is column x of this row */
                if (p->mode == CN_PAD_ZERO) {
                    const int64_t st = p->st[2], base = (m[ULO2] * st + m[PH2]) - p->pb[2];
                    for (int64_t c = c0; c < c1; c++) {
                        float *b = brow + c * p->bsz + base;
                        const float *s = src + (c - c0) * ldc;
                        if (st == 1)
                            for (int64_t x = x0; x < x1; x++) b[x] += s[x];
                        else
                            for (int64_t x = x0; x < x1; x++) b[x * st] += s[x];
                    }
                } else {
                    for (int64_t x = x0; x < x1; x++) {
                        const int64_t i2 = map_u(p, 2, (m[ULO2] + x) * p->st[2] + m[PH2]);
                        if (i2 < 0) continue;
                        for (int64_t c = c0; c < c1; c++) brow[c * p->bsz + i2] += src[(c - c0) * ldc + x];
                    }
                }
            }
        }
        q = seg_end;
    }
}


int64_t cf_scatter_phases(const cf_plan *p, int64_t schan, int mr, int64_t *meta, int64_t *off, int64_t *coloff)
{
    int64_t nphases = 0, off_at = 0, pack_at = 0;
    for (int i0 = 0; i0 < p->nphv[0]; i0++)
        for (int i1 = 0; i1 < p->nphv[1]; i1++)
            for (int i2 = 0; i2 < p->nphv[2]; i2++) {
                int64_t *m = meta + nphases * PH_META;
                const int64_t ph[3] = {p->phv[0][i0], p->phv[1][i1], p->phv[2][i2]};
                int empty = 0;
                for (int a = 0; a < 3; a++) {
                    m[PH0 + a] = ph[a];
                    m[ULO0 + a] = cdiv(p->ulo[a] - ph[a], p->st[a]);
                    m[N0 + a] = cdiv(p->uhi[a] - ph[a], p->st[a]) - m[ULO0 + a];
                    empty |= m[N0 + a] <= 0;
                }
                if (empty) continue;
                int64_t nt = 0;
                for (int64_t jf = 0; jf < p->kt; jf++) {
                    int64_t e[3], tph[3];
                    tap_info(p, jf, e, tph);
                    if (tph[0] != ph[0] || tph[1] != ph[1] || tph[2] != ph[2]) continue;
                    coloff[off_at + nt] = jf; /* taps of this phase, in order (expanded below) */
                    nt++;
                }
                if (!nt) continue;
                /* expand to columns (s, t): S[s] at o = U - e(tap) is padded S at U - e + E; the
                 * expansion runs backwards so the tap list at coloff[off_at..] is read before it
                 * is overwritten */
                for (int64_t s = p->csg - 1; s >= 0; s--)
                    for (int64_t t = nt - 1; t >= 0; t--) {
                        const int64_t jf = coloff[off_at + t];
                        int64_t e[3], tph[3];
                        tap_info(p, jf, e, tph);
                        off[off_at + s * nt + t] =
                            s * schan + ((p->E[0] - e[0]) * p->LS[1] + (p->E[1] - e[1])) * p->LS[2] + (p->E[2] - e[2]);
                    }
                for (int64_t s = p->csg - 1; s >= 0; s--)
                    for (int64_t t = nt - 1; t >= 0; t--)
                        coloff[off_at + s * nt + t] = s * p->cbg * p->kt + tapf(p, coloff[off_at + t]);
                m[NTAPS] = nt;
                m[OFF_AT] = off_at;
                m[PACK_AT] = pack_at;
                off_at += p->csg * nt;
                pack_at += round_up(p->cbg, mr) * p->csg * nt;
                nphases++;
            }
    return nphases;
}
