/* conv_fast.h — private: the fast convolution engine behind cn_conv_forward and the two
 * backward kernels (conv_fast.c dispatches, conv_gemm.c computes).
 *
 * Every convolution of conv.h is the relation of conv_ref.h between a "small" tensor S
 * (N, CS, *small) and a "big" tensor B (N, CB, *big) through w (CS, CB/groups, *k):
 *     S[s, o] ~ sum_{c, j} w[s, c, tap(j)] * B[group(s) + c, map(o*stride - pad + j*dilation)]
 * Three passes cover forward and both backwards of conv and transposed conv: gather (S from
 * B), scatter (B from S, the transpose) and wgrad (dw from S and B). Each is a matrix
 * multiply whose B operand is read in place through an offset table ("implicit GEMM"):
 *
 *   gather: B is copied once per image into phase planes (padding and the pad mode applied,
 *     and for stride s split into s phases per axis, so that every tap reads contiguous
 *     memory): plane[ph][U] = Bpad[U*stride + ph]. With u = o*stride + j*dilation,
 *     Bpad[u] = plane[(j*dil) mod stride][o + (j*dil) div stride], so output o of tap j reads
 *     plane + off(c, j) + q(o), q(o) the row-major index of o in a grid of row width U_W.
 *     Columns q of that grid past the output width are "junk": computed into a buffer and
 *     dropped when the result is copied out. One micro-kernel call computes an MR x NR tile
 *     of S for all taps of a block of channels.
 *   scatter: the adjoint. For each phase ph of the padded big coordinate u, the taps with
 *     (j*dil) mod stride == ph reach it from S at o = U - e(j), e(j) = (j*dil) div stride,
 *     so B's gradient in that phase is a gather over S padded by E = max e in front.
 *     The result (per padded position) is folded back through the pad mode's map.
 *   wgrad: dw[s, c, tap(j)] = sum_q Sq[s][q] * plane[off(c, j) + q] with Sq = S laid out on
 *     the gather grid (zeros at junk columns): dot products of contiguous rows.
 *
 * Several images are laid out one after another in each channel's planes ("a chunk"), so
 * small images still give long rows. Scratch holds the planes, the packed weights, the
 * offset tables and one output buffer per thread slot; its size is a function of the
 * geometry and g->threads alone. */
#ifndef CN_KERNELS_CONV_FAST_H
#define CN_KERNELS_CONV_FAST_H

#include "convnet/conv.h"
#include <string.h>

#include "kernels/gemm.h"

#define CF_MAX_STRIDE 64 /* larger strides run the reference kernels */

typedef struct cf_plan {
    /* the relation (axes padded to D, H, W with size-1 axes in front) */
    int64_t n, groups, cs, cb, csg, cbg, kt;
    int64_t small[3], big[3], k[3], st[3], dl[3], pb[3], lfull[3];
    int64_t ssz, bsz;
    int flip, transposed;
    cn_pad_mode mode;
    cn_conv_algo algo; /* resolved: never AUTO */
    int slots;         /* thread slots the scratch holds buffers for */
    /* phases: per axis, the values (j*dil) mod stride that taps use, in increasing order
     * (nphv[a] of them), and each value's index among them (-1: unused) */
    int nphv[3];
    int16_t phv[3][CF_MAX_STRIDE], phslot[3][CF_MAX_STRIDE];
    /* gather grid: phase planes of B, one per used phase */
    int64_t nph, U[3], gplane, qimg;
    /* scatter grid: S padded by E in front; needed padded range of B per axis */
    int64_t E[3], LS[3], splane, ulo[3], uhi[3];
    /* images per chunk: gather (forward), scatter, wgrad */
    int64_t chunk_g, chunk_s, chunk_w;
    int dense;       /* a fully connected layer in disguise: one output position, the kernel covers
                        the unpadded input (k = in, dilation 1), groups 1, no flip, not transposed:
                        the dense kernels' matrix multiplies (ops.h) run it */
    int zero_copy_g; /* the gather planes are B itself (1x1, stride 1, no padding) */
    int direct_g;    /* the gather grid is S's layout (no junk): tiles are stored straight into S */
    int zero_copy_s; /* the scatter planes are S itself */
    int direct_s;    /* the scatter grid is B's layout: tiles are added straight into B */
    int rows_g, rows_s, rows_w; /* single-row micro-kernels in that pass */
    int dw;          /* depthwise (one input channel per group, < 4 outputs each), stride 1, zero padding, no flip, 2D or
                        1D, pads <= (k-1)*dilation, at most 256 taps: conv_dw.c runs it where the
                        ISA has plane kernels (AUTO only) */
    /* "packed": the pass copies the columns it needs (valid outputs only) into packed panels
     * before multiplying, instead of reading the planes in place with junk columns. Chosen
     * when junk would cost more than packing: small images, many rows to amortize over. */
    int packed_g, packed_s, packed_w;
    /* gather by rows (AUTO, in place): each output row is its own run of tiles stored
     * straight into S (depth blocks accumulated there), no junk columns and no copy; where a
     * row's vectors (width rounded up to 16) hold no more lanes than the grid's junk-padded
     * row. The same bits as the grid: each element is the same chain of multiply-adds. */
    int rowtile_g;
    int wino;        /* forward and backward data by Winograd F(2x2, 3x3) (conv_wino.c) */
    int weights_fixed; /* g->weights_fixed: the forward's filter transform is prepared once */
} cf_plan;

/* ---- shared by the engines (conv_layout.c, conv_gemm.c, conv_rows.c) ---- */

static inline int64_t imax(int64_t a, int64_t b) { return a > b ? a : b; }
static inline int64_t imin(int64_t a, int64_t b) { return a < b ? a : b; }
/* ceil(a / b) for b > 0 and any a */
static inline int64_t cdiv(int64_t a, int64_t b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); }
static inline int64_t round_up(int64_t a, int64_t m) { return cdiv(a, m) * m; }
static inline size_t al16(size_t n) { return (n + 15) & ~(size_t)15; }

/* Carve `floats` floats (64-byte aligned) off the front of *cur. */
static inline void *take(float **cur, size_t floats)
{
    void *r = *cur;
    *cur += al16(floats);
    return r;
}
static inline float *align64(float *p) { return (float *)(((uintptr_t)p + 63) & ~(uintptr_t)63); }

/* Source index on axis a read at padded position u, or -1 for a zero (conv_ref.c's map). */
static inline int64_t map_u(const cf_plan *p, int a, int64_t u)
{
    const int64_t i = u - p->pb[a];
    if (i >= 0 && i < p->big[a]) return i;
    if (p->mode == CN_PAD_ZERO || u < 0 || u >= p->lfull[a]) return -1;
    if (p->mode == CN_PAD_REFLECT) return i < 0 ? -i : 2 * (p->big[a] - 1) - i;
    return i < 0 ? 0 : p->big[a] - 1;
}

/* tap jf as a multi-index, its plane shift e = (j*dil) div stride and phase (j*dil) mod stride */
static inline void tap_info(const cf_plan *p, int64_t jf, int64_t *e, int64_t *ph)
{
    int64_t j[3];
    j[2] = jf % p->k[2];
    j[1] = (jf / p->k[2]) % p->k[1];
    j[0] = jf / (p->k[2] * p->k[1]);
    for (int a = 0; a < 3; a++) {
        e[a] = (j[a] * p->dl[a]) / p->st[a];
        ph[a] = (j[a] * p->dl[a]) % p->st[a];
    }
}
static inline int64_t phase_index(const cf_plan *p, const int64_t *ph)
{
    return ((int64_t)p->phslot[0][ph[0]] * p->nphv[1] + p->phslot[1][ph[1]]) * p->nphv[2] + p->phslot[2][ph[2]];
}
static inline int64_t tapf(const cf_plan *p, int64_t jf) { return p->flip ? p->kt - 1 - jf : jf; }

/* Packed weights: an m x k matrix (mpad = m rounded up to mr) in depth blocks of KC one after
 * another; in block pc (kb = min(KC, k - pc) deep), panel i (rows i..i+mr) at pc*mpad + i*kb,
 * element (row i+ii, column pc+q) at q*mr + ii. A block (mpad x kb) is contiguous, so it
 * streams from L2 while the B tile it multiplies stays in L1. */
static inline const float *apanel(const float *a, int64_t mpad, int64_t k, int64_t pc, int64_t i)
{
    return a + pc * mpad + i * imin(CN_GEMM_KC, k - pc);
}

/* per used phase: its value per axis, taps, grid */
enum { PH0, PH1, PH2, NTAPS, OFF_AT, PACK_AT, ULO0, ULO1, ULO2, N0, N1, N2, PH_META };


/* Packed weights (layout: see apanel): panel `panel` of an m x k matrix whose element (i, q)
 * is base[i*rs + coloff[q]], rows past m zero. */
void cf_pack_rows(float *dst, const float *base, int64_t rs, const int64_t *coloff, int64_t m, int64_t k, int mr,
                  int64_t panel);
/* Gather planes of channels [c0, c1) of one image (Bimg: its channel 0) into dst laid out
 * [c][phase][image of chunk][gplane]; nl: the image's place in the chunk; chan: floats per
 * channel (nph * chunk * gplane). */
void cf_build_planes(const cf_plan *p, float *dst, int64_t chan, int64_t chunk, int64_t nl, const float *Bimg,
                     int64_t c0, int64_t c1);
/* S's channels [s0, s1) of one image on the gather grid, zeros at junk: dst[s][chunk][gplane] */
void cf_build_grid(const cf_plan *p, float *dst, int64_t chunk, int64_t nl, const float *Simg, int64_t s0, int64_t s1);
/* S's channels [s0, s1) of one image padded by E in front: dst[s][chunk][splane] */
void cf_build_spad(const cf_plan *p, float *dst, int64_t chunk, int64_t nl, const float *Simg, int64_t s0, int64_t s1);
/* offsets (into planes laid out with `chan`, `chunk`) of the gather's rows r = (c, jf), and the
 * weight column c*kt + tap(jf) of each (coloff may be NULL) */
void cf_gather_offsets(const cf_plan *p, int64_t chan, int64_t chunk, int64_t *off, int64_t *coloff);
/* C (rows [m0, m1) of group g, gather grid columns [q0, q1) of a chunk starting at image n0)
 * copied (acc: added) to S, junk dropped */
void cf_store_gather(const cf_plan *p, float *S, int64_t n0, int64_t g, int64_t m0, int64_t m1, const float *C,
                     int64_t ldc, int64_t q0, int64_t q1, int acc);
/* C (rows [c0, c1) of group g, grid columns [q0, q1) of phase m, images `plane` apart) added
 * to B through the pad mode's map */
void cf_store_scatter(const cf_plan *p, float *B, int64_t n0, int64_t g, int64_t c0, int64_t c1, const float *C,
                      int64_t ldc, int64_t q0, int64_t q1, const int64_t *m, int64_t plane);
/* The scatter's phases that have taps and outputs: fills meta (PH_META values each), off
 * (offsets into padded S with channel stride schan, per phase csg*ntaps of them, columns
 * (s, t)) and coloff (their weight columns s*cbg*kt + tap), packed-weight offsets for row tile
 * mr; returns the phase count. */
int64_t cf_scatter_phases(const cf_plan *p, int64_t schan, int mr, int64_t *meta, int64_t *off, int64_t *coloff);

/* Fill p for a resolved geometry (conv or transposed). The algorithm is g->algo or, for
 * AUTO, the fastest this file knows for the geometry. */
void cf_plan_init(cf_plan *p, const cn_conv_geom *g);

/* Cost of packing one element, in multiply-accumulates of the micro-kernel it feeds: a packed
 * element is used by M rows, so packing costs ~PACK_COST/M of the multiply. Fitted to
 * measurements on AVX-512 (docs/PERFORMANCE.md): with these, 28x28 layers run in place and
 * 14x14 and 7x7 ones packed. */
#define CF_PACK_COST 40.0
#define CF_PACK_COST_W 48.0

/* Floats of scratch each pass needs (the public scratch size is the largest). */
size_t cf_gather_floats(const cf_plan *p);
size_t cf_scatter_floats(const cf_plan *p);
size_t cf_wgrad_floats(const cf_plan *p);

/* S (N, CS, *small) = [S +] bias (CS) or NULL + gather(B) */
void cf_gather(const cf_plan *p, float *S, const float *B, const float *w, const float *bias, int acc, float *scratch);
/* B (N, CB, *big) += scatter(S) */
void cf_scatter(const cf_plan *p, float *B, const float *S, const float *w, float *scratch);
/* dw (CS, CB/groups, *k) += d/dw of gather, S holding dL/dS */
void cf_wgrad(const cf_plan *p, float *dw, const float *S, const float *B, float *scratch);
/* db (C) += sum over n and positions of Y (N, C, P) */
void cf_bias_grad(float *db, const float *Y, int64_t n, int64_t c, int64_t positions);

/* direct depthwise (conv_dw.c; p->dw, cn_dw() not NULL): no scratch */
void cf_dw_forward(const cf_plan *p, float *y, const float *x, const float *w, const float *b);
void cf_dw_backward_data(const cf_plan *p, float *dx, const float *dy, const float *w);
void cf_dw_backward_weights(const cf_plan *p, float *dw, const float *dy, const float *x);

/* Winograd F(2x2, 3x3) (conv_wino.c): 2D 3x3, stride 1, dilation 1, zero pads <= 2, one
 * group, no flip, not transposed. fits: the geometry allows it; pays: AUTO's cost estimate
 * prefers it to the implicit GEMM. Same contracts as cf_gather (forward, no acc) and
 * cf_scatter (backward data, accumulating). */
int cf_wino_fits(const cf_plan *p);
int cf_wino_pays(const cf_plan *p);
size_t cf_wino_floats(const cf_plan *p);
void cf_wino_forward(const cf_plan *p, float *y, const float *x, const float *w, const float *b, float *scratch);
void cf_wino_backward_data(const cf_plan *p, float *dx, const float *dy, const float *w, float *scratch);
/* prepared forward filters (cn_conv_prepare): a header and the packed U of the active ISA */
size_t cf_wino_prepared_floats(const cf_plan *p);
void cf_wino_prepare(const cf_plan *p, float *pw, const float *w);
/* the forward from pw when it was prepared under the active ISA, else from w */
void cf_wino_forward_prepared(const cf_plan *p, float *y, const float *x, const float *pw, const float *w,
                              const float *b, float *scratch);

/* the per-plane engine for single-row kernels (conv_rows.c): same contracts */
size_t cf_rows_floats(const cf_plan *p);
void cf_rows_gather(const cf_plan *p, float *S, const float *B, const float *w, const float *bias, int acc, float *scratch);
void cf_rows_scatter(const cf_plan *p, float *B, const float *S, const float *w, float *scratch);
void cf_rows_wgrad(const cf_plan *p, float *dw, const float *S, const float *B, float *scratch);

#endif
