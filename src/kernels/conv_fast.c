/* conv_fast.c — the public convolution kernels of conv.h: plan the fast engine for a
 * geometry (conv_fast.h), size its scratch, and dispatch forward / backward-data /
 * backward-weights to it (or to the reference kernels, conv_ref.c). */
#include <string.h>

#include "convnet/ops.h"
#include "kernels/conv_dw.h"
#include "kernels/conv_fast.h"

/* images of one chunk: enough to make long rows, few enough that the planes stay ~4 MB */
#define CHUNK_BUDGET_FLOATS ((int64_t)1 << 20)


static int64_t chunk_for(int64_t per_image, int64_t n)
{
    if (per_image <= 0) return n;
    return imax(1, imin(n, CHUNK_BUDGET_FLOATS / per_image));
}

/* The algorithm AUTO picks: the reference loops only where the engine's assumptions fail
 * (strides beyond CF_MAX_STRIDE); otherwise the implicit GEMM. */
static cn_conv_algo auto_algo(const cn_conv_geom *g)
{
    for (int a = 0; a < g->ndim; a++)
        if (g->stride[a] > CF_MAX_STRIDE) return CN_CONV_ALGO_REF;
    return CN_CONV_ALGO_GEMM;
}

static void plan_engine(cf_plan *p, const cn_conv_geom *g);

void cf_plan_init(cf_plan *p, const cn_conv_geom *g)
{
    /* WINOGRAD: the passes Winograd cannot run are planned as under AUTO */
    cn_conv_geom ga;
    const int want = g->algo == CN_CONV_ALGO_WINOGRAD;
    if (want) {
        ga = *g;
        ga.algo = CN_CONV_ALGO_AUTO;
        g = &ga;
    }
    plan_engine(p, g);
    p->weights_fixed = g->weights_fixed != 0;
    if (p->algo == CN_CONV_ALGO_REF || p->dense || p->dw) return; /* those run first (REF: also local, tiled) */
    p->wino = want ? cf_wino_fits(p) : g->algo == CN_CONV_ALGO_AUTO && cf_wino_pays(p);
}

static void plan_engine(cf_plan *p, const cn_conv_geom *g)
{
    memset(p, 0, sizeof *p);
    const int off = 3 - g->ndim, tr = g->transposed != 0;
    p->n = g->n;
    p->groups = g->groups;
    p->transposed = tr;
    p->cs = tr ? g->ic : g->oc;
    p->cb = tr ? g->oc : g->ic;
    p->csg = p->cs / p->groups;
    p->cbg = p->cb / p->groups;
    p->flip = g->flip != 0;
    p->mode = g->pad_mode;
    p->slots = g->threads >= 1 ? g->threads : 1;
    for (int a = 0; a < 3; a++) {
        p->small[a] = p->big[a] = p->k[a] = p->st[a] = p->dl[a] = p->lfull[a] = 1;
        p->pb[a] = 0;
    }
    for (int a = 0; a < g->ndim; a++) {
        p->small[off + a] = tr ? g->in[a] : g->out[a];
        p->big[off + a] = tr ? g->out[a] : g->in[a];
        p->k[off + a] = g->k[a];
        p->st[off + a] = g->stride[a];
        p->dl[off + a] = g->dilation[a];
        p->pb[off + a] = g->pad_begin[a];
        p->lfull[off + a] = p->big[off + a] + g->pad_begin[a] + g->pad_end[a];
    }
    p->kt = p->k[0] * p->k[1] * p->k[2];
    p->dense = !tr && p->groups == 1 && !p->flip && g->algo == CN_CONV_ALGO_AUTO;
    for (int a = 0; a < 3; a++)
        p->dense &= p->small[a] == 1 && p->pb[a] == 0 && p->k[a] == p->big[a] && p->lfull[a] == p->big[a];
    p->ssz = p->small[0] * p->small[1] * p->small[2];
    p->bsz = p->big[0] * p->big[1] * p->big[2];

    p->algo = g->algo == CN_CONV_ALGO_AUTO ? auto_algo(g) : g->algo;
    if (g->family != 0) p->algo = CN_CONV_ALGO_REF; /* locally connected, tiled: reference only */
    for (int a = 0; a < 3; a++)
        if (p->st[a] > CF_MAX_STRIDE) p->algo = CN_CONV_ALGO_REF;
    if (p->algo == CN_CONV_ALGO_REF) return;

    /* used phases per axis */
    p->nph = 1;
    for (int a = 0; a < 3; a++) {
        int used[CF_MAX_STRIDE] = {0};
        /* (j*dl) mod st repeats with a period dividing st: the first st taps show every value */
        for (int64_t j = 0; j < p->k[a] && j < p->st[a]; j++) used[(j * p->dl[a]) % p->st[a]] = 1;
        p->nphv[a] = 0;
        for (int v = 0; v < p->st[a]; v++) {
            p->phslot[a][v] = (int16_t)(used[v] ? p->nphv[a] : -1);
            if (used[v]) p->phv[a][p->nphv[a]++] = (int16_t)v;
        }
        p->nph *= p->nphv[a];
    }
    /* gather grid */
    p->gplane = 1;
    for (int a = 0; a < 3; a++) {
        const int64_t lp = (p->small[a] - 1) * p->st[a] + (p->k[a] - 1) * p->dl[a] + 1;
        p->U[a] = cdiv(lp, p->st[a]);
        p->gplane *= p->U[a];
        p->E[a] = ((p->k[a] - 1) * p->dl[a]) / p->st[a];
        p->LS[a] = p->E[a] + imax(p->U[a], p->small[a]);
        if (p->mode == CN_PAD_ZERO) {
            p->ulo[a] = imax(p->pb[a], 0);
            p->uhi[a] = imin(p->pb[a] + p->big[a], lp);
        } else {
            p->ulo[a] = 0;
            p->uhi[a] = imin(p->lfull[a], lp);
        }
    }
    p->qimg = ((p->small[0] - 1) * p->U[1] + p->small[1] - 1) * p->U[2] + p->small[2];
    p->splane = p->LS[0] * p->LS[1] * p->LS[2];

    int narrow = 1, unit = 1; /* narrow: every tap fits inside one stride; unit: k = stride = 1, no pad */
    for (int a = 0; a < 3; a++) {
        narrow &= (p->k[a] - 1) * p->dl[a] + 1 <= p->st[a];
        unit &= p->k[a] == 1 && p->st[a] == 1 && p->pb[a] == 0 && p->big[a] == p->small[a];
    }
    p->direct_g = narrow;    /* U == small: the grid has no junk */
    p->zero_copy_g = unit;
    p->zero_copy_s = narrow; /* E == 0 and LS == small: S is its own padded copy */
    p->direct_s = unit;

    const int64_t src_img = p->zero_copy_g ? 0 : p->cb * p->nph * p->gplane;
    const int64_t dsq_img = p->zero_copy_g ? 0 : p->cs * p->gplane;
    p->chunk_g = p->direct_g ? 1 : chunk_for(src_img, p->n);
    if (p->zero_copy_g) p->chunk_g = p->n;
    p->chunk_s = p->zero_copy_s ? p->n : chunk_for(p->cs * p->splane, p->n);
    p->chunk_w = p->zero_copy_g ? p->n : chunk_for(src_img + dsq_img, p->n);

    const int rows = p->algo == CN_CONV_ALGO_ROWS;
    const int multi = (p->algo == CN_CONV_ALGO_GEMM || p->algo == CN_CONV_ALGO_PACKED) && g->algo != CN_CONV_ALGO_AUTO;
    p->dw = !tr && p->cbg == 1 && p->csg < 4 && !p->flip && p->mode == CN_PAD_ZERO && g->algo == CN_CONV_ALGO_AUTO && p->kt <= 256 &&
            p->k[0] == 1 && p->big[0] == 1;
    for (int a = 1; a < 3; a++) p->dw &= p->st[a] == 1 && p->pb[a] <= (p->k[a] - 1) * p->dl[a];
    p->rows_g = rows || (!multi && p->csg < 4);
    p->rows_s = rows || (!multi && p->cbg < 4);
    p->rows_w = rows || (!multi && p->csg < 2);

    if (g->algo == CN_CONV_ALGO_GEMM || rows) return; /* forced: in place */
    if (g->algo == CN_CONV_ALGO_PACKED) {
        p->packed_g = !p->direct_g;
        p->packed_s = !p->direct_s;
        p->packed_w = 1;
        return;
    }
    /* in place (junk columns) or packed (packing cost): the better estimated efficiency */
    const double pack_g = 1.0 / (1.0 + CF_PACK_COST / (double)p->csg);
    const double pack_s = 1.0 / (1.0 + CF_PACK_COST / (double)p->cbg);
    const double pack_w = 1.0 / (1.0 + CF_PACK_COST_W / (double)p->csg);
    if (!p->rows_g && !p->direct_g) {
        const double valid = (double)(p->chunk_g * p->ssz), grid = (double)((p->chunk_g - 1) * p->gplane + p->qimg);
        p->packed_g = pack_g > valid / grid;
    }
    if (!p->rows_s && !p->direct_s) {
        /* valid: the needed positions of B; grid: what the phases compute for them */
        double valid = 0, grid = 0;
        for (int i0 = 0; i0 < p->nphv[0]; i0++)
            for (int i1 = 0; i1 < p->nphv[1]; i1++)
                for (int i2 = 0; i2 < p->nphv[2]; i2++) {
                    const int64_t ph[3] = {p->phv[0][i0], p->phv[1][i1], p->phv[2][i2]};
                    int64_t cnt[3], any = 1;
                    for (int a = 0; a < 3; a++) {
                        const int64_t lo = cdiv(p->ulo[a] - ph[a], p->st[a]), hi = cdiv(p->uhi[a] - ph[a], p->st[a]);
                        cnt[a] = hi - lo;
                        any &= cnt[a] > 0;
                    }
                    if (!any) continue;
                    valid += (double)(p->chunk_s * cnt[0] * cnt[1] * cnt[2]);
                    grid += (double)((p->chunk_s - 1) * p->splane + ((cnt[0] - 1) * p->LS[1] + cnt[1] - 1) * p->LS[2] + cnt[2]);
                }
        p->packed_s = grid > 0 && pack_s > valid / grid;
    }
    if (!p->rows_w) {
        /* in place: dot products along rows with junk, plus ~20 steps of horizontal sums per
         * tile and row segment */
        const int64_t len = p->zero_copy_g ? p->ssz : (p->chunk_w - 1) * p->gplane + p->qimg;
        const int64_t segs = p->zero_copy_g ? p->chunk_w : 1;
        const double valid = (double)(p->chunk_w * p->ssz), steps = (double)len / 16.0;
        const double eff = valid / ((double)len * (double)segs) * steps / (steps + 20.0);
        p->packed_w = pack_w > eff;
    }
    p->rowtile_g = !p->rows_g && !p->direct_g && !p->zero_copy_g && !p->packed_g && round_up(p->small[2], 16) <= p->U[2];
}

/* ---- the public kernels ---- */

size_t cn_conv_scratch_floats(const cn_conv_geom *g)
{
    cf_plan p;
    cf_plan_init(&p, g);
    if (p.algo == CN_CONV_ALGO_REF || p.dense) return 0;
    size_t s = p.rows_g ? cf_rows_floats(&p) : cf_gather_floats(&p);
    size_t t = p.rows_s ? cf_rows_floats(&p) : cf_scatter_floats(&p);
    size_t u = p.rows_w ? cf_rows_floats(&p) : cf_wgrad_floats(&p);
    if (p.wino) s = t = cf_wino_floats(&p); /* forward and backward data */
    if (t > s) s = t;
    if (u > s) s = u;
    return s;
}

cn_conv_algo cn_conv_algo_chosen(const cn_conv_geom *g)
{
    cf_plan p;
    cf_plan_init(&p, g);
    if (p.algo == CN_CONV_ALGO_REF) return p.algo;
    if (p.dense) return CN_CONV_ALGO_GEMM;
    if (p.wino) return CN_CONV_ALGO_WINOGRAD;
    return p.rows_g ? CN_CONV_ALGO_ROWS : p.packed_g ? CN_CONV_ALGO_PACKED : CN_CONV_ALGO_GEMM;
}

const char *cn_conv_algo_name(cn_conv_algo a)
{
    static const char *const names[CN_CONV_ALGO_COUNT_] = {"auto", "ref", "gemm", "packed", "rows", "winograd"};
    return (unsigned)a < CN_CONV_ALGO_COUNT_ ? names[a] : "unknown";
}

static int64_t spatial(const int64_t *v, int ndim)
{
    int64_t p = 1;
    for (int a = 0; a < ndim; a++) p *= v[a];
    return p;
}

void cn_conv_forward(float *y, const float *x, const float *w, const float *b, const cn_conv_geom *g, float *scratch)
{
    cf_plan p;
    cf_plan_init(&p, g);
    if (!scratch || p.algo == CN_CONV_ALGO_REF) {
        cn_conv_ref_forward(y, x, w, b, g, scratch);
        return;
    }
    if (p.dense) {
        /* one output position: y[n, oc] = b[oc] + sum_{c, j} w[oc, c, j] * x[n, c, j], a dense layer */
        const cn_dense_geom d = {p.n, p.cb * p.kt, p.cs};
        cn_dense_forward(y, x, w, b, &d);
        return;
    }
    if (p.dw && cn_dw()) {
        cf_dw_forward(&p, y, x, w, b);
        return;
    }
    if (p.wino) {
        cf_wino_forward(&p, y, x, w, b, scratch);
        return;
    }
    if (!g->transposed) {
        /* y[n, oc, o] = b[oc] + sum_{c, j} w[oc, c, tap(j)] * x[n, group(oc) + c, map(o*stride - pad + j*dilation)] */
        (p.rows_g ? cf_rows_gather : cf_gather)(&p, y, x, w, b, 0, scratch);
        return;
    }
    /* transposed: y = b, then every x[n, ic, i] adds w[ic, c, tap(j)] * x[n, ic, i] to
     * y[n, group(ic) + c, i*stride - pad + j*dilation] */
    const int64_t osz = spatial(g->out, g->ndim);
    for (int64_t n = 0; n < g->n; n++)
        for (int64_t c = 0; c < g->oc; c++) {
            float *yp = y + (n * g->oc + c) * osz;
            const float v = b ? b[c] : 0.0f;
            for (int64_t i = 0; i < osz; i++) yp[i] = v;
        }
    (p.rows_s ? cf_rows_scatter : cf_scatter)(&p, y, x, w, scratch);
}

size_t cn_conv_prepared_floats(const cn_conv_geom *g)
{
    cf_plan p;
    cf_plan_init(&p, g);
    return p.wino ? cf_wino_prepared_floats(&p) : 0;
}

void cn_conv_prepare(float *pw, const float *w, const cn_conv_geom *g)
{
    cf_plan p;
    cf_plan_init(&p, g);
    if (p.wino) cf_wino_prepare(&p, pw, w);
}

void cn_conv_forward_prepared(float *y, const float *x, const float *pw, const float *w, const float *b,
                              const cn_conv_geom *g, float *scratch)
{
    cf_plan p;
    cf_plan_init(&p, g);
    if (!pw || !scratch || !p.wino) { /* p.wino: not transposed, dense or depthwise */
        cn_conv_forward(y, x, w, b, g, scratch);
        return;
    }
    cf_wino_forward_prepared(&p, y, x, pw, w, b, scratch);
}

void cn_conv_backward_data(float *dx, const float *dy, const float *w, const cn_conv_geom *g, float *scratch)
{
    cf_plan p;
    cf_plan_init(&p, g);
    if (!scratch || p.algo == CN_CONV_ALGO_REF) {
        cn_conv_ref_backward_data(dx, dy, w, g, scratch);
        return;
    }
    if (p.dense) {
        /* forward: y[n, oc] = b[oc] + sum_{c, j} w[oc, c, j] * x[n, c, j]  ->  dx[n, c, j] += sum_oc dy[n, oc] w[oc, c, j] */
        const cn_dense_geom d = {p.n, p.cb * p.kt, p.cs};
        cn_dense_backward_data(dx, dy, w, &d);
        return;
    }
    if (p.dw && cn_dw()) {
        cf_dw_backward_data(&p, dx, dy, w);
        return;
    }
    if (p.wino) {
        cf_wino_backward_data(&p, dx, dy, w, scratch);
        return;
    }
    if (!g->transposed)
        /* forward: y[n, oc, o] += w[oc, c, tap(j)] * x[n, group(oc) + c, map(o, j)]
         * so:      dx[n, group(oc) + c, map(o, j)] += w[oc, c, tap(j)] * dy[n, oc, o] */
        (p.rows_s ? cf_rows_scatter : cf_scatter)(&p, dx, dy, w, scratch);
    else
        /* forward: y[n, group(ic) + c, i*stride - pad + j*dilation] += w[ic, c, tap(j)] * x[n, ic, i]
         * so:      dx[n, ic, i] += sum_{c, j} w[ic, c, tap(j)] * dy[n, group(ic) + c, i*stride - pad + j*dilation] */
        (p.rows_g ? cf_rows_gather : cf_gather)(&p, dx, dy, w, NULL, 1, scratch);
}

void cn_conv_backward_weights(float *dw, float *db, const float *dy, const float *x, const cn_conv_geom *g,
                              float *scratch)
{
    cf_plan p;
    cf_plan_init(&p, g);
    if (!scratch || p.algo == CN_CONV_ALGO_REF) {
        cn_conv_ref_backward_weights(dw, db, dy, x, g, scratch);
        return;
    }
    const int64_t osz = spatial(g->out, g->ndim);
    if (p.dense) {
        /* forward: y[n, oc] = b[oc] + sum_{c, j} w[oc, c, j] * x[n, c, j]
         *   -> dw[oc, c, j] += sum_n dy[n, oc] x[n, c, j], db[oc] += sum_n dy[n, oc] */
        const cn_dense_geom d = {p.n, p.cb * p.kt, p.cs};
        cn_dense_backward_weights(dw, db, dy, x, &d);
        return;
    }
    if (p.dw && cn_dw()) {
        cf_dw_backward_weights(&p, dw, dy, x);
    } else if (!g->transposed) {
        /* forward: y[n, oc, o] = b[oc] + sum_{c, j} w[oc, c, tap(j)] * x[n, group(oc) + c, map(o, j)]
         * so:      dw[oc, c, tap(j)] += sum_{n, o} dy[n, oc, o] * x[n, group(oc) + c, map(o, j)],
         *          db[oc] += sum_{n, o} dy[n, oc, o] */
        (p.rows_w ? cf_rows_wgrad : cf_wgrad)(&p, dw, dy, x, scratch);
    } else {
        /* forward: y[n, group(ic) + c, i*stride - pad + j*dilation] += w[ic, c, tap(j)] * x[n, ic, i]
         * so:      dw[ic, c, tap(j)] += sum_{n, i} x[n, ic, i] * dy[n, group(ic) + c, i*stride - pad + j*dilation] */
        (p.rows_w ? cf_rows_wgrad : cf_wgrad)(&p, dw, x, dy, scratch);
    }
    /* y = b[oc] + ...  ->  db[oc] += sum_{n, o} dy[n, oc, o] (dy is (N, OC, *out) either way) */
    if (db) cf_bias_grad(db, dy, g->n, g->oc, osz);
}

void cf_bias_grad(float *db, const float *Y, int64_t n, int64_t c, int64_t positions)
{
    const cn_gemm_ops *o = cn_gemm();
    for (int64_t ch = 0; ch < c; ch++) {
        double acc = 0; /* per image in float (vector lanes), across images in double */
        for (int64_t i = 0; i < n; i++) acc += o->sum(Y + (i * c + ch) * positions, positions);
        db[ch] = (float)((double)db[ch] + acc);
    }
}
