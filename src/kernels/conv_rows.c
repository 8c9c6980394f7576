/* conv_rows.c — the per-plane engine for single-row micro-kernels (conv_fast.h): depthwise
 * convolution and others with few channels per group, where a multi-row tile would be mostly
 * padding. One task is one image of one group (gather, scatter) or one group over all images
 * (wgrad); its padded planes, output grid and rows live in the task's own slot buffer (a few
 * KB for depthwise: L1), so each input and output element crosses memory once per pass. */
#include "kernels/conv_fast.h"

/* the per-task buffers of the three passes (floats) */
static size_t gather_slot(const cf_plan *p)
{
    return al16((size_t)(p->cbg * p->nph * p->gplane)) + al16((size_t)(p->csg * (p->qimg + CN_GEMM_NR1_MAX)));
}
static size_t scatter_slot(const cf_plan *p)
{
    return al16((size_t)(p->csg * p->splane)) + al16((size_t)(p->cbg * (p->splane + CN_GEMM_NR1_MAX)));
}
static size_t wgrad_slot(const cf_plan *p)
{
    return al16((size_t)(p->cbg * p->nph * p->gplane)) + al16((size_t)(p->csg * p->gplane));
}

size_t cf_rows_floats(const cf_plan *p)
{
    const size_t kg = (size_t)(p->cbg * p->kt), ks = (size_t)(p->csg * p->kt);
    size_t slot = 0, fixed = 16;
    if (p->rows_g || p->rows_w) fixed += 2 * al16(2 * kg);
    if (p->rows_g) fixed += al16((size_t)(p->groups * p->csg) * kg), slot = gather_slot(p);
    if (p->rows_s) {
        fixed += 2 * al16(2 * ks) + al16(2 * (size_t)(p->nph * PH_META)) + al16((size_t)(p->groups * p->cbg) * ks);
        if (scatter_slot(p) > slot) slot = scatter_slot(p);
    }
    if (p->rows_w && wgrad_slot(p) > slot) slot = wgrad_slot(p);
    return fixed + (size_t)p->slots * slot;
}

static int slots_for(const cf_plan *p, double macs) { return cn_gemm_threads_for(macs, p->slots); }

/* ---- gather ---- */

typedef struct {
    const cf_plan *p;
    const cn_gemm_ops *o;
    float *S;
    const float *B, *apack, *bias;
    const int64_t *off;
    int64_t K;
    int acc;
    float *slots;
    size_t slot_floats;
} rows_gather_job;

static void rows_gather_task(void *ctx, int64_t t, int slot)
{
    const rows_gather_job *j = ctx;
    const cf_plan *p = j->p;
    const int64_t n = t / p->groups, g = t % p->groups, Q = p->qimg;
    float *planes = j->slots + (size_t)slot * j->slot_floats;
    float *C = planes + al16((size_t)(p->cbg * p->nph * p->gplane));
    cf_build_planes(p, planes, p->nph * p->gplane, 1, 0, j->B + (n * p->cb + g * p->cbg) * p->bsz, 0, p->cbg);
    const float *a = j->apack + g * p->csg * j->K;
    for (int64_t pc = 0; pc < j->K; pc += CN_GEMM_KC) {
        const int64_t kc = imin(CN_GEMM_KC, j->K - pc);
        for (int64_t s = 0; s < p->csg; s++) {
            const float *bias = j->bias && !j->acc && pc == 0 ? j->bias + g * p->csg + s : NULL;
            /* without flip, row s of w in place; with flip, its packed copy */
            const float *as = p->flip ? apanel(a, p->csg, j->K, pc, s) : a + s * j->K + pc;
            for (int64_t q = 0; q < Q; q += j->o->nr1)
                j->o->nn1(kc, as, planes + q, j->off + pc, C + s * Q + q, Q, 1, (int)imin(j->o->nr1, Q - q), bias, pc > 0);
        }
    }
    cf_store_gather(p, j->S, n, g, 0, p->csg, C, Q, 0, Q, j->acc);
}

void cf_rows_gather(const cf_plan *p, float *S, const float *B, const float *w, const float *bias, int acc, float *scratch)
{
    rows_gather_job j = {p, cn_gemm(), S, B, NULL, bias, NULL, p->cbg * p->kt, acc, NULL, gather_slot(p)};
    float *cur = align64(scratch);
    int64_t *off = take(&cur, 2 * (size_t)j.K), *coloff = take(&cur, 2 * (size_t)j.K);
    float *apack = take(&cur, (size_t)(p->groups * p->csg * j.K));
    j.slots = cur;
    cf_gather_offsets(p, p->nph * p->gplane, 1, off, coloff);
    /* rows s of group g: w[(g*csg + s)*cbg*kt + coloff[r]] (one row per panel); packed only with
     * flip (otherwise coloff[r] = r: w is read in place) */
    if (p->flip)
        for (int64_t g = 0; g < p->groups; g++)
            for (int64_t s = 0; s < p->csg; s++)
                cf_pack_rows(apack + g * p->csg * j.K, w + g * p->csg * j.K, j.K, coloff, p->csg, j.K, 1, s);
    j.off = off;
    j.apack = p->flip ? apack : w;
    const double macs = (double)(p->n * p->cs * p->ssz * j.K);
    cn_run_tasks(p->n * p->groups, slots_for(p, macs), rows_gather_task, &j);
}

/* ---- scatter ---- */

typedef struct {
    const cf_plan *p;
    const cn_gemm_ops *o;
    float *B;
    const float *S, *apack;
    const int64_t *off, *meta;
    int64_t nphases, apack_g;
    float *slots;
    size_t slot_floats;
} rows_scatter_job;

static void rows_scatter_task(void *ctx, int64_t t, int slot)
{
    const rows_scatter_job *j = ctx;
    const cf_plan *p = j->p;
    const int64_t n = t / p->groups, g = t % p->groups;
    float *spad = j->slots + (size_t)slot * j->slot_floats;
    float *C = spad + al16((size_t)(p->csg * p->splane));
    cf_build_spad(p, spad, 1, 0, j->S + (n * p->cs + g * p->csg) * p->ssz, 0, p->csg);
    for (int64_t ph = 0; ph < j->nphases; ph++) {
        const int64_t *m = j->meta + ph * PH_META;
        const int64_t K = p->csg * m[NTAPS];
        const int64_t base = (m[ULO0] * p->LS[1] + m[ULO1]) * p->LS[2] + m[ULO2];
        const int64_t Q = ((m[N0] - 1) * p->LS[1] + m[N1] - 1) * p->LS[2] + m[N2];
        const float *a = j->apack + g * j->apack_g + m[PACK_AT];
        for (int64_t pc = 0; pc < K; pc += CN_GEMM_KC) {
            const int64_t kc = imin(CN_GEMM_KC, K - pc);
            for (int64_t c = 0; c < p->cbg; c++)
                for (int64_t q = 0; q < Q; q += j->o->nr1)
                    j->o->nn1(kc, apanel(a, p->cbg, K, pc, c), spad + base + q, j->off + m[OFF_AT] + pc, C + c * Q + q, Q,
                              1, (int)imin(j->o->nr1, Q - q), NULL, pc > 0);
        }
        cf_store_scatter(p, j->B, n, g, 0, p->cbg, C, Q, 0, Q, m, p->splane);
    }
}

void cf_rows_scatter(const cf_plan *p, float *B, const float *S, const float *w, float *scratch)
{
    rows_scatter_job j = {p, cn_gemm(), B, S, NULL, NULL, NULL, 0, p->cbg * p->csg * p->kt, NULL, scatter_slot(p)};
    const size_t ks = (size_t)(p->csg * p->kt);
    float *cur = align64(scratch);
    int64_t *off = take(&cur, 2 * ks), *coloff = take(&cur, 2 * ks), *meta = take(&cur, 2 * (size_t)(p->nph * PH_META));
    float *apack = take(&cur, (size_t)(p->groups * p->cbg) * ks);
    j.slots = cur;
    j.nphases = cf_scatter_phases(p, p->splane, 1, meta, off, coloff);
    for (int64_t ph = 0; ph < j.nphases; ph++) {
        const int64_t *m = meta + ph * PH_META;
        for (int64_t g = 0; g < p->groups; g++)
            for (int64_t c = 0; c < p->cbg; c++)
                cf_pack_rows(apack + g * j.apack_g + m[PACK_AT], w + g * p->csg * p->cbg * p->kt, p->kt, coloff + m[OFF_AT],
                             p->cbg, p->csg * m[NTAPS], 1, c);
    }
    j.off = off;
    j.meta = meta;
    j.apack = apack;
    if (!j.nphases) return;
    const double macs = (double)(p->n * p->cs * p->ssz * p->cbg * p->kt);
    cn_run_tasks(p->n * p->groups, slots_for(p, macs), rows_scatter_task, &j);
}

/* ---- wgrad ---- */

typedef struct {
    const cf_plan *p;
    const cn_gemm_ops *o;
    float *dw;
    const float *S, *B;
    const int64_t *off, *coloff;
    int64_t K;
    float *slots;
    size_t slot_floats;
    int64_t gblk;
} rows_wgrad_job;

static void rows_wgrad_task(void *ctx, int64_t t, int slot)
{
    const rows_wgrad_job *j = ctx;
    const cf_plan *p = j->p;
    float *planes = j->slots + (size_t)slot * j->slot_floats;
    float *grid = planes + al16((size_t)(p->cbg * p->nph * p->gplane));
    float tmp[CN_GEMM_DC_MAX];
    const float *ar[1], *br[CN_GEMM_DC_MAX];
    const int dc = j->o->dc1;
    /* a block of groups, images in order: each dw element is summed over n (then q) in one
     * fixed order; neighbouring groups are neighbours in memory, so one image's block of
     * channels streams in one piece */
    const int64_t g0 = t * j->gblk, g1 = imin(p->groups, g0 + j->gblk);
    for (int64_t n = 0; n < p->n; n++)
        for (int64_t g = g0; g < g1; g++) {
            cf_build_planes(p, planes, p->nph * p->gplane, 1, 0, j->B + (n * p->cb + g * p->cbg) * p->bsz, 0, p->cbg);
            cf_build_grid(p, grid, 1, 0, j->S + (n * p->cs + g * p->csg) * p->ssz, 0, p->csg);
            for (int64_t s = 0; s < p->csg; s++) {
                ar[0] = grid + s * p->gplane;
                float *d = j->dw + (g * p->csg + s) * j->K;
                for (int64_t r = 0; r < j->K; r += dc) {
                    const int cols = (int)imin(dc, j->K - r);
                    for (int q = 0; q < cols; q++) br[q] = planes + j->off[r + q];
                    j->o->nt1(p->qimg, ar, br, tmp, 0, 1, cols, NULL, 0);
                    for (int q = 0; q < cols; q++) d[j->coloff[r + q]] += tmp[q];
                }
            }
        }
}

void cf_rows_wgrad(const cf_plan *p, float *dw, const float *S, const float *B, float *scratch)
{
    rows_wgrad_job j = {p, cn_gemm(), dw, S, B, NULL, NULL, p->cbg * p->kt, NULL, wgrad_slot(p), 1};
    float *cur = align64(scratch);
    int64_t *off = take(&cur, 2 * (size_t)j.K), *coloff = take(&cur, 2 * (size_t)j.K);
    j.slots = cur;
    cf_gather_offsets(p, p->nph * p->gplane, 1, off, coloff);
    j.off = off;
    j.coloff = coloff;
    const double macs = (double)(p->n * p->cs * p->ssz * j.K);
    const int slots = slots_for(p, macs);
    j.gblk = imax(1, imin(16, p->groups / (2 * slots)));
    cn_run_tasks(cdiv(p->groups, j.gblk), slots, rows_wgrad_task, &j);
}
