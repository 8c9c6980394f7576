/* conv_wino.c — Winograd F(2x2, 3x3) convolution (Lavin & Gray 2016) for 2D 3x3 layers with
 * stride 1, dilation 1, zero padding (at most 2 per side), one group, cross-correlation:
 * the forward pass, and the backward-data pass as the same computation (dx is a 3x3 stride-1
 * convolution of dy with the weights flipped and transposed, padded 2 - pad).
 *
 * Every output tile of 2x2 is A^T [ sum_c U[c] (.) V[c] ] A with U = G g G^T (the 3x3 filter
 * transformed to 4x4) and V = B^T d B (the tile's 4x4 input patch): 16 multiplies per tile
 * and channel pair instead of 36. So the 16 points k of the transform are 16 independent
 * matrix multiplies M_k (m x tiles) = U_k (m x K) V_k (K x tiles), run on the micro-kernels
 * of gemm.h with U_k packed once per call. The tiles (image, tile row, tile column) are cut
 * into blocks of NB; one task transforms a block's inputs into V (16 x K x NB), multiplies,
 * and transforms M (16 x m x NB) into its outputs, so V and M stay in the L2/L3 of the thread
 * that made them. Each output is computed by one task in one fixed order: the same bits at
 * any thread count.
 *
 * Accuracy: every path through the computation has at most K + 11 roundings (4 in U, 2 in
 * V, 1 product, K - 1 sums over channels, 4 in the output transform, 1 bias or accumulate),
 * so |error| <= (K + 11) 2^-24 * the same computation on absolute values (test_conv_wino). */
#include <string.h>

#include "kernels/conv_fast.h"
#include "kernels/conv_wino.h"

#define WINO_BUDGET ((int64_t)1 << 19) /* floats of V and M per thread (2 MB) */
#define WINO_NB_MAX 384

/* the relation one call computes: out (N, m, oh, ow) [+]= conv of in (N, K, ih, iw) */
typedef struct {
    int64_t n, m, K, ih, iw, oh, ow, pt, pl, th, tw, tiles, nb, mpad;
} wgeom;

int cf_wino_fits(const cf_plan *p)
{
    if (p->transposed || p->groups != 1 || p->flip || p->mode != CN_PAD_ZERO || p->algo == CN_CONV_ALGO_REF) return 0;
    if (p->k[0] != 1 || p->big[0] != 1 || p->k[1] != 3 || p->k[2] != 3) return 0;
    for (int a = 1; a < 3; a++) {
        const int64_t pe = p->lfull[a] - p->big[a] - p->pb[a];
        if (p->st[a] != 1 || p->dl[a] != 1 || p->pb[a] < 0 || p->pb[a] > 2 || pe < 0 || pe > 2) return 0;
    }
    return 1;
}

/* tiles per block: V and M of a block within WINO_BUDGET, whole micro-kernel tiles */
static int64_t block_tiles(const cf_plan *p, int64_t tiles)
{
    int64_t nb = WINO_BUDGET / (16 * (p->cs + p->cb));
    nb = imax(CN_GEMM_NR_MAX, imin(WINO_NB_MAX, nb / CN_GEMM_NR_MAX * CN_GEMM_NR_MAX));
    return imin(nb, tiles);
}

static int64_t tiles_of(const cf_plan *p) { return p->n * cdiv(p->small[1], 2) * cdiv(p->small[2], 2); }
/* tiles per block, the same for both passes (so one scratch size serves both) */
static int64_t nb_of(const cf_plan *p)
{
    return block_tiles(p, imax(tiles_of(p), p->n * cdiv(p->big[1], 2) * cdiv(p->big[2], 2)));
}

static wgeom geom_of(const cf_plan *p, int backward, int mr)
{
    wgeom w;
    w.n = p->n;
    /* forward: S from B; backward data: B from S, the padding mirrored */
    w.m = backward ? p->cb : p->cs;
    w.K = backward ? p->cs : p->cb;
    w.ih = backward ? p->small[1] : p->big[1];
    w.iw = backward ? p->small[2] : p->big[2];
    w.oh = backward ? p->big[1] : p->small[1];
    w.ow = backward ? p->big[2] : p->small[2];
    w.pt = backward ? 2 - p->pb[1] : p->pb[1];
    w.pl = backward ? 2 - p->pb[2] : p->pb[2];
    w.th = cdiv(w.oh, 2);
    w.tw = cdiv(w.ow, 2);
    w.tiles = w.n * w.th * w.tw;
    w.nb = nb_of(p);
    w.mpad = round_up(w.m, mr);
    return w;
}

/* Per-ISA table, as the other fast kernels pick theirs */
static const cn_wino_ops *wino_ops(void)
{
    switch (cn_isa_active()) {
#ifdef CN_HAVE_AVX512
    case CN_ISA_AVX512: return &cn_wino_avx512;
#endif
#ifdef CN_HAVE_AVX2
    case CN_ISA_AVX2: return &cn_wino_avx2;
#endif
    default: return &cn_wino_generic;
    }
}

static size_t u_floats(const cf_plan *p)
{
    /* rows rounded up to any ISA's mr (<= CN_GEMM_MR_MAX, not always a divisor of it) */
    const int64_t f = (p->cs + CN_GEMM_MR_MAX - 1) * p->cb, b = (p->cb + CN_GEMM_MR_MAX - 1) * p->cs;
    return al16((size_t)(16 * imax(f, b)));
}
/* V and M rows: a block's tiles plus room for the last segment's junk */
static int64_t ld_of(int64_t nb) { return nb + CN_WINO_ROWPAD; }
static size_t slot_floats(int64_t nb, int64_t m, int64_t K)
{
    return al16((size_t)(16 * K * ld_of(nb))) + al16((size_t)(16 * m * ld_of(nb))) + al16((size_t)CN_WINO_TMP(nb));
}

size_t cf_wino_floats(const cf_plan *p)
{
    return 16 + u_floats(p) + (size_t)p->slots * slot_floats(nb_of(p), p->cs, p->cb);
}

/* Winograd pays where its multiplies plus the transforms undercut the direct method's 9 per
 * output, with a margin for the estimate. Costs in multiply-adds of the micro-kernel (~47 G/s
 * on one AVX-512 core), fitted to one-thread measurements (docs/PERFORMANCE.md): a filter
 * transform ~900; an input (output) transform per channel and tile ~300 (100) plus a share of
 * per-row work that grows as rows get short: 4800 (2400) / tiles per row. */
#define WINO_COST_U 900.0
#define WINO_COST_IN(tw) (300.0 + 4800.0 / (tw))
#define WINO_COST_OUT(tw) (100.0 + 2400.0 / (tw))
#define WINO_MARGIN 0.85
int cf_wino_pays(const cf_plan *p)
{
    if (!cf_wino_fits(p) || p->cs < 8 || p->cb < 8) return 0;
    const double m = (double)p->cs, K = (double)p->cb, T = (double)tiles_of(p), tw = (double)cdiv(p->small[2], 2);
    const double direct = m * K * 9.0 * (double)(p->n * p->ssz);
    const double wino = m * K * (16.0 * T + (p->weights_fixed ? 0.0 : WINO_COST_U)) +
                        T * (K * WINO_COST_IN(tw) + m * WINO_COST_OUT(tw));
    return wino < WINO_MARGIN * direct;
}

/* ---- U: the filters transformed, packed as 16 matrices m x K (layout: apanel) ---- */

typedef struct {
    const cf_plan *p;
    const wgeom *g;
    const cn_wino_ops *t;
    const cn_gemm_ops *o;
    float *U;
    const float *w;
    int backward;
    float *out;
    const float *in, *bias;
    int acc;
    float *slots;
    size_t slot;
} wjob;

static void u_task(void *ctx, int64_t panel, int slot)
{
    (void)slot;
    const wjob *j = ctx;
    const wgeom *g = j->g;
    const int mr = j->o->mr;
    const int64_t i0 = panel * mr, K = g->K, kstride = g->mpad * K;
    /* one depth block of the panel for all 16 points, then copied out point by point: the
     * writes stream through 16 contiguous runs instead of scattering over 16 matrices */
    float buf[16][CN_GEMM_KC * CN_GEMM_MR_MAX];
    for (int64_t pc = 0; pc < K; pc += CN_GEMM_KC) {
        const int64_t kb = imin(CN_GEMM_KC, K - pc);
        for (int64_t q = pc; q < pc + kb; q++) {
            float f[9][CN_GEMM_MR_MAX] = {{0}}; /* the filters of rows i0.. for depth q, tap by tap (lanes past mr: 0) */
            for (int ii = 0; ii < mr; ii++) {
                const int64_t i = i0 + ii;
                if (i >= g->m) {
                    for (int t = 0; t < 9; t++) f[t][ii] = 0.0f;
                } else if (!j->backward) {
                    const float *s = j->w + (i * K + q) * 9; /* w[i = oc][q = ic] */
                    for (int t = 0; t < 9; t++) f[t][ii] = s[t];
                } else {
                    const float *s = j->w + (q * g->m + i) * 9; /* w[q = oc][i = ic], flipped */
                    for (int t = 0; t < 9; t++) f[t][ii] = s[8 - t];
                }
            }
            /* G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1]: t = G f (4x3), u = t G^T (4x4) */
            float t[4][3][CN_GEMM_MR_MAX];
            for (int c = 0; c < 3; c++)
                for (int ii = 0; ii < CN_GEMM_MR_MAX; ii++) {
                    const float s02 = f[c][ii] + f[6 + c][ii];
                    t[0][c][ii] = f[c][ii];
                    t[1][c][ii] = (s02 + f[3 + c][ii]) * 0.5f;
                    t[2][c][ii] = (s02 - f[3 + c][ii]) * 0.5f;
                    t[3][c][ii] = f[6 + c][ii];
                }
            float *d = &buf[0][0] + (q - pc) * mr;
            for (int r = 0; r < 4; r++)
                for (int ii = 0; ii < mr; ii++) {
                    const float s02 = t[r][0][ii] + t[r][2][ii];
                    d[(r * 4 + 0) * CN_GEMM_KC * CN_GEMM_MR_MAX + ii] = t[r][0][ii];
                    d[(r * 4 + 1) * CN_GEMM_KC * CN_GEMM_MR_MAX + ii] = (s02 + t[r][1][ii]) * 0.5f;
                    d[(r * 4 + 2) * CN_GEMM_KC * CN_GEMM_MR_MAX + ii] = (s02 - t[r][1][ii]) * 0.5f;
                    d[(r * 4 + 3) * CN_GEMM_KC * CN_GEMM_MR_MAX + ii] = t[r][2][ii];
                }
        }
        for (int k = 0; k < 16; k++)
            memcpy(j->U + k * kstride + pc * g->mpad + i0 * kb, buf[k], (size_t)(kb * mr) * sizeof(float));
    }
}

/* ---- one block of tiles: input transform, 16 multiplies, output transform ---- */

/* runs BODY for each run of tiles of [t0, t1) within one image: image, first tile row and
 * column, length, position in the block */
#define FOR_SEGMENTS(g, t0, t1, BODY)                                                                    \
    for (int64_t t_ = (t0); t_ < (t1);) {                                                                \
        const int64_t per_ = (g)->th * (g)->tw, img = t_ / per_, rr_ = t_ % per_;                        \
        const int64_t ty = rr_ / (g)->tw, tx = rr_ % (g)->tw, len = imin(per_ - rr_, (t1) - t_);        \
        const int64_t at = t_ - (t0);                                                                    \
        BODY;                                                                                            \
        t_ += len;                                                                                       \
    }

static void block_task(void *ctx, int64_t blk, int slot)
{
    const wjob *j = ctx;
    const wgeom *g = j->g;
    const cn_gemm_ops *o = j->o;
    const int64_t NB = g->nb, ld = ld_of(NB), K = g->K, m = g->m, t0 = blk * NB, t1 = imin(g->tiles, t0 + NB);
    const int64_t nb = t1 - t0;
    float *V = j->slots + (size_t)slot * j->slot; /* V[k][c][ld] */
    float *M = V + al16((size_t)(16 * K * ld));   /* M[k][i][ld] */
    float *tmp = M + al16((size_t)(16 * m * ld));
    const int64_t isz = g->ih * g->iw, osz = g->oh * g->ow;

    FOR_SEGMENTS(g, t0, t1, {
        j->t->input(V + at, K * ld, ld, j->in + img * K * isz, isz, K, g->ih, g->iw, g->pt, g->pl, g->tw, ty, tx, len, tmp);
    });

    int64_t lin[CN_GEMM_KC];
    for (int64_t q = 0; q < CN_GEMM_KC; q++) lin[q] = q * ld;
    for (int k = 0; k < 16; k++) {
        const float *Uk = j->U + k * g->mpad * K, *Vk = V + k * K * ld;
        float *Mk = M + k * m * ld;
        for (int64_t pc = 0; pc < K; pc += CN_GEMM_KC) {
            const int64_t kc = imin(CN_GEMM_KC, K - pc);
            for (int64_t q = 0; q < nb; q += o->nr) {
                const int cols = (int)imin(o->nr, nb - q);
                for (int64_t i = 0; i < m; i += o->mr)
                    o->nn(kc, apanel(Uk, g->mpad, K, pc, i), Vk + pc * ld + q, lin, Mk + i * ld + q, ld,
                          (int)imin(o->mr, m - i), cols, NULL, pc > 0);
            }
        }
    }

    FOR_SEGMENTS(g, t0, t1, {
        j->t->output(j->out + img * m * osz, osz, m, g->oh, g->ow, g->tw, ty, tx, M + at, m * ld, ld, len, j->bias,
                     j->acc, tmp);
    });
}

/* U = the filters of j->w transformed and packed into j->U, panels of mr rows over threads */
static void transform_filters(wjob *j)
{
    const wgeom *g = j->g;
    cn_run_tasks(g->mpad / j->o->mr, cn_gemm_threads_for((double)g->mpad * (double)g->K * 40.0, j->p->slots), u_task, j);
}

/* U ready: the packed filters for this call (prepared), or NULL to transform w into scratch */
static void run(const cf_plan *p, int backward, float *out, const float *in, const float *w, const float *bias, int acc,
                float *scratch, const float *ready)
{
    const cn_gemm_ops *o = cn_gemm();
    wgeom g = geom_of(p, backward, o->mr);
    float *base = align64(scratch);
    wjob j = {p, &g, wino_ops(), o, base, w, backward, out, in, bias, acc, NULL, 0};
    j.slots = base + u_floats(p);
    j.slot = slot_floats(g.nb, g.m, g.K); /* each slot's room, for the plan's block size */
    const double macs = (double)g.m * (double)g.K * 16.0 * (double)g.tiles;
    const int slots = cn_gemm_threads_for(macs, p->slots);
    /* with several threads, smaller blocks until each thread has a few (a smaller block fits in
     * a slot's room; an output's value does not depend on its block) */
    while (slots > 1 && cdiv(g.tiles, g.nb) < 3 * slots && g.nb > 16) g.nb = round_up(g.nb / 2, 16);
    if (ready) j.U = (float *)ready; /* read only: block_task never writes U */
    else transform_filters(&j);
    cn_run_tasks(cdiv(g.tiles, g.nb), slots, block_task, &j);
}

void cf_wino_forward(const cf_plan *p, float *y, const float *x, const float *w, const float *b, float *scratch)
{
    run(p, 0, y, x, w, b, 0, scratch, NULL);
}

/* prepared filters: PREP_HEAD floats of header (the micro-kernel's mr they are packed for),
 * then U for the forward as run() packs it */
#define PREP_HEAD 16
size_t cf_wino_prepared_floats(const cf_plan *p)
{
    return PREP_HEAD + al16((size_t)(16 * (p->cs + CN_GEMM_MR_MAX - 1) * p->cb));
}

void cf_wino_prepare(const cf_plan *p, float *pw, const float *w)
{
    const cn_gemm_ops *o = cn_gemm();
    const wgeom g = geom_of(p, 0, o->mr);
    wjob j = {p, &g, wino_ops(), o, pw + PREP_HEAD, w, 0, NULL, NULL, NULL, 0, NULL, 0};
    for (int i = 0; i < PREP_HEAD; i++) pw[i] = 0.0f;
    pw[0] = (float)o->mr;
    transform_filters(&j);
}

void cf_wino_forward_prepared(const cf_plan *p, float *y, const float *x, const float *pw, const float *w,
                              const float *b, float *scratch)
{
    /* packed for another ISA's tile (tests switch ISAs): transform again */
    const int ok = pw[0] == (float)cn_gemm()->mr;
    run(p, 0, y, x, w, b, 0, scratch, ok ? pw + PREP_HEAD : NULL);
}

void cf_wino_backward_data(const cf_plan *p, float *dx, const float *dy, const float *w, float *scratch)
{
    run(p, 1, dx, dy, w, NULL, 1, scratch, NULL);
}
