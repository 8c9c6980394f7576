/* conv_ref.c — the reference convolution: clear loops, the oracle for the fast kernels.
 *
 * The loop engine (conv_ref.h) first, then the conv / transposed-conv entry points.
 * Inner sums of gather and wgrad are accumulated in double (each product of two floats is
 * exact in double), then rounded once; scatter adds into its float output term by term. */
#include <string.h>

#include "kernels/conv_ref.h"

/* ---- the engine ---- */

void cn_convref_init(cn_convref *r, const cn_conv_geom *g, const int64_t *cycle)
{
    const int off = 3 - g->ndim;
    memset(r, 0, sizeof *r);
    r->n = g->n;
    r->groups = g->groups;
    r->cs = g->transposed ? g->ic : g->oc;
    r->cb = g->transposed ? g->oc : g->ic;
    r->mode = g->pad_mode;
    r->flip = g->flip;
    for (int a = 0; a < 3; a++) {
        r->small[a] = r->big[a] = r->k[a] = r->stride[a] = r->dil[a] = r->cycle[a] = 1;
        r->pad[a] = 0;
    }
    for (int a = 0; a < g->ndim; a++) {
        r->small[off + a] = g->transposed ? g->in[a] : g->out[a];
        r->big[off + a] = g->transposed ? g->out[a] : g->in[a];
        r->k[off + a] = g->k[a];
        r->stride[off + a] = g->stride[a];
        r->dil[off + a] = g->dilation[a];
        r->pad[off + a] = g->pad_begin[a];
        r->cycle[off + a] = cycle ? cycle[a] : 1;
    }
}

/* The big-side index read by position p of the padded axis, or -1 for a zero. Resolve
 * guarantees reflect pads < size, so one reflection suffices. */
static inline int64_t src_index(int64_t p, int64_t size, cn_pad_mode m)
{
    if (p >= 0 && p < size) return p;
    if (m == CN_PAD_REFLECT) return p < 0 ? -p : 2 * (size - 1) - p;
    if (m == CN_PAD_REPLICATE) return p < 0 ? 0 : size - 1;
    return -1;
}

/* v = the row-major multi-index of flat index f over dims (3 axes) */
static inline void unflatten(int64_t f, const int64_t *dims, int64_t *v)
{
    v[2] = f % dims[2];
    f /= dims[2];
    v[1] = f % dims[1];
    v[0] = f / dims[1];
}

/* Step the multi-index v to the next one in row-major order over dims (an odometer:
 * cheaper than unflatten's divisions in inner loops). */
static inline void advance(int64_t *v, const int64_t *dims)
{
    if (++v[2] < dims[2]) return;
    v[2] = 0;
    if (++v[1] < dims[1]) return;
    v[1] = 0;
    ++v[0];
}

/* Offset in one big-side channel read by small position o under tap j, or -1 for a zero:
 * per axis i = map(o*stride - pad + j*dilation). */
static inline int64_t src_offset(const cn_convref *r, const int64_t *o, const int64_t *j)
{
    int64_t i[3];
    for (int a = 0; a < 3; a++) {
        i[a] = src_index(o[a] * r->stride[a] - r->pad[a] + j[a] * r->dil[a], r->big[a], r->mode);
        if (i[a] < 0) return -1;
    }
    return (i[0] * r->big[1] + i[1]) * r->big[2] + i[2];
}

/* Offset within one kernel of the weight that tap j uses: j, or k-1-j on every axis if flip. */
static inline int64_t tap_offset(const cn_convref *r, const int64_t *j)
{
    int64_t t[3];
    for (int a = 0; a < 3; a++) t[a] = r->flip ? r->k[a] - 1 - j[a] : j[a];
    return (t[0] * r->k[1] + t[1]) * r->k[2] + t[2];
}

/* The kernel set of small position o: row-major (o mod cycle). */
static inline int64_t set_of(const cn_convref *r, const int64_t *o)
{
    return ((o[0] % r->cycle[0]) * r->cycle[1] + o[1] % r->cycle[1]) * r->cycle[2] + o[2] % r->cycle[2];
}

/* The small positions of kernel set t (multi-index tc over the cycle grid) are
 * o = tc + m*cycle per axis, m over members[]: their count per axis. */
static inline int64_t set_members(const cn_convref *r, const int64_t *tc, int64_t *members)
{
    for (int a = 0; a < 3; a++) members[a] = (r->small[a] - tc[a] + r->cycle[a] - 1) / r->cycle[a];
    return members[0] * members[1] * members[2];
}

static inline int64_t prod3(const int64_t *v) { return v[0] * v[1] * v[2]; }

void cn_convref_gather(float *S, const float *B, const float *w, const float *bias, int accumulate,
                       const cn_convref *r)
{
    const int64_t Ssz = prod3(r->small), Bsz = prod3(r->big), K = prod3(r->k);
    const int64_t csg = r->cs / r->groups, cbg = r->cb / r->groups;
    for (int64_t n = 0; n < r->n; n++)
        for (int64_t s = 0; s < r->cs; s++) {
            const float *Bg = B + (n * r->cb + (s / csg) * cbg) * Bsz; /* first B channel of s's group */
            float *Sp = S + (n * r->cs + s) * Ssz;
            int64_t o[3] = {0, 0, 0};
            for (int64_t of = 0; of < Ssz; of++, advance(o, r->small)) {
                const int64_t set = set_of(r, o);
                const float *wk = w + (set * r->cs + s) * cbg * K; /* w[set, s, 0, 0] */
                double acc = bias ? bias[set * r->cs + s] : 0.0;
                int64_t j[3] = {0, 0, 0};
                for (int64_t jf = 0; jf < K; jf++, advance(j, r->k)) {
                    const int64_t bo = src_offset(r, o, j);
                    if (bo < 0) continue;
                    const float *wp = wk + tap_offset(r, j), *bp = Bg + bo;
                    for (int64_t c = 0; c < cbg; c++) acc += (double)wp[c * K] * (double)bp[c * Bsz];
                }
                Sp[of] = accumulate ? (float)((double)Sp[of] + acc) : (float)acc;
            }
        }
}

/* The transpose of gather. Gather's line
 *     acc += (double)wp[c * K] * (double)bp[c * Bsz];      (S[o] = bias + sum of acc)
 * gives B[src(o, j)] += w[tap(j)] * S[o] for every o, j and c. */
void cn_convref_scatter(float *B, const float *S, const float *w, const cn_convref *r)
{
    const int64_t Ssz = prod3(r->small), Bsz = prod3(r->big), K = prod3(r->k);
    const int64_t csg = r->cs / r->groups, cbg = r->cb / r->groups;
    /* one B channel at a time (its plane stays in cache); every B element still receives its
     * terms in the order (s, o, j), so the result does not depend on this loop order */
    for (int64_t n = 0; n < r->n; n++)
        for (int64_t s = 0; s < r->cs; s++)
            for (int64_t c = 0; c < cbg; c++) {
                float *Bc = B + (n * r->cb + (s / csg) * cbg + c) * Bsz;
                const float *Sp = S + (n * r->cs + s) * Ssz;
                int64_t o[3] = {0, 0, 0};
                for (int64_t of = 0; of < Ssz; of++, advance(o, r->small)) {
                    const float *wc = w + ((set_of(r, o) * r->cs + s) * cbg + c) * K; /* w[set, s, c, 0] */
                    const float ds = Sp[of];
                    int64_t j[3] = {0, 0, 0};
                    for (int64_t jf = 0; jf < K; jf++, advance(j, r->k)) {
                        const int64_t bo = src_offset(r, o, j);
                        if (bo >= 0) Bc[bo] += wc[tap_offset(r, j)] * ds;
                    }
                }
            }
}

/* Weight gradient of gather's line
 *     acc += (double)wp[c * K] * (double)bp[c * Bsz];
 * dw[set, s, c, tap(j)] += sum over n and the positions o of that set of dS[n, s, o] * B[n, c, src(o, j)]. */
void cn_convref_wgrad(float *dw, const float *S, const float *B, const cn_convref *r)
{
    const int64_t Ssz = prod3(r->small), Bsz = prod3(r->big), K = prod3(r->k), sets = prod3(r->cycle);
    const int64_t csg = r->cs / r->groups, cbg = r->cb / r->groups;
    for (int64_t set = 0; set < sets; set++) {
        int64_t tc[3], members[3];
        unflatten(set, r->cycle, tc);
        const int64_t nm = set_members(r, tc, members);
        for (int64_t s = 0; s < r->cs; s++)
            for (int64_t c = 0; c < cbg; c++)
                for (int64_t jf = 0; jf < K; jf++) {
                    int64_t j[3], o[3];
                    unflatten(jf, r->k, j);
                    double acc = 0;
                    for (int64_t n = 0; n < r->n; n++) {
                        const float *Sp = S + (n * r->cs + s) * Ssz;
                        const float *Bp = B + (n * r->cb + (s / csg) * cbg + c) * Bsz;
                        int64_t m[3] = {0, 0, 0};
                        for (int64_t mf = 0; mf < nm; mf++, advance(m, members)) {
                            for (int a = 0; a < 3; a++) o[a] = tc[a] + m[a] * r->cycle[a];
                            const int64_t bo = src_offset(r, o, j);
                            if (bo < 0) continue;
                            acc += (double)Sp[(o[0] * r->small[1] + o[1]) * r->small[2] + o[2]] * (double)Bp[bo];
                        }
                    }
                    float *dp = dw + ((set * r->cs + s) * cbg + c) * K + tap_offset(r, j);
                    *dp = (float)((double)*dp + acc);
                }
    }
}

/* Bias gradient of gather's line
 *     double acc = bias ? bias[set * r->cs + s] : 0.0;
 * db[set, s] += sum over n and the positions o of that set of dS[n, s, o]. */
void cn_convref_bgrad(float *db, const float *S, const cn_convref *r)
{
    const int64_t Ssz = prod3(r->small), sets = prod3(r->cycle);
    for (int64_t set = 0; set < sets; set++) {
        int64_t tc[3], members[3], o[3];
        unflatten(set, r->cycle, tc);
        const int64_t nm = set_members(r, tc, members);
        for (int64_t s = 0; s < r->cs; s++) {
            double acc = 0;
            for (int64_t n = 0; n < r->n; n++) {
                const float *Sp = S + (n * r->cs + s) * Ssz;
                int64_t m[3] = {0, 0, 0};
                for (int64_t mf = 0; mf < nm; mf++, advance(m, members)) {
                    for (int a = 0; a < 3; a++) o[a] = tc[a] + m[a] * r->cycle[a];
                    acc += Sp[(o[0] * r->small[1] + o[1]) * r->small[2] + o[2]];
                }
            }
            db[set * r->cs + s] = (float)((double)db[set * r->cs + s] + acc);
        }
    }
}

/* ---- convolution and transposed convolution: the reference entry points (conv.h) ---- */

static int64_t spatial_size(const int64_t *v, int ndim)
{
    int64_t p = 1;
    for (int a = 0; a < ndim; a++) p *= v[a];
    return p;
}

void cn_conv_ref_forward(float *y, const float *x, const float *w, const float *b, const cn_conv_geom *g, float *scratch)
{
    (void)scratch;
    cn_convref r;
    cn_convref_init(&r, g, NULL);
    if (!g->transposed) {
        /* y[n, oc, o] = b[oc] + sum_{c, j} w[oc, c, tap(j)] * x[n, group(oc) + c, map(o*stride - pad + j*dilation)] */
        cn_convref_gather(y, x, w, b, 0, &r);
        return;
    }
    /* transposed: y = b, then every x[n, ic, i] adds w[ic, c, tap(j)] * x[n, ic, i] to
     * y[n, group(ic) + c, i*stride - pad + j*dilation] */
    const int64_t osz = spatial_size(g->out, g->ndim);
    for (int64_t n = 0; n < g->n; n++)
        for (int64_t c = 0; c < g->oc; c++) {
            float *yp = y + (n * g->oc + c) * osz;
            const float v = b ? b[c] : 0.0f;
            for (int64_t i = 0; i < osz; i++) yp[i] = v;
        }
    cn_convref_scatter(y, x, w, &r);
}

void cn_conv_ref_backward_data(float *dx, const float *dy, const float *w, const cn_conv_geom *g, float *scratch)
{
    (void)scratch;
    cn_convref r;
    cn_convref_init(&r, g, NULL);
    if (!g->transposed)
        /* forward: y[n, oc, o] += w[oc, c, tap(j)] * x[n, group(oc) + c, map(o, j)]
         * so:      dx[n, group(oc) + c, map(o, j)] += w[oc, c, tap(j)] * dy[n, oc, o]
         * (through the same map, so reflect/replicate gradients land on the source pixels) */
        cn_convref_scatter(dx, dy, w, &r);
    else
        /* forward: y[n, group(ic) + c, i*stride - pad + j*dilation] += w[ic, c, tap(j)] * x[n, ic, i]
         * so:      dx[n, ic, i] += sum_{c, j} w[ic, c, tap(j)] * dy[n, group(ic) + c, i*stride - pad + j*dilation] */
        cn_convref_gather(dx, dy, w, NULL, 1, &r);
}

void cn_conv_ref_backward_weights(float *dw, float *db, const float *dy, const float *x, const cn_conv_geom *g,
                              float *scratch)
{
    (void)scratch;
    cn_convref r;
    cn_convref_init(&r, g, NULL);
    if (!g->transposed) {
        /* forward: y[n, oc, o] = b[oc] + sum_{c, j} w[oc, c, tap(j)] * x[n, group(oc) + c, map(o, j)]
         * so:      dw[oc, c, tap(j)] += sum_{n, o} dy[n, oc, o] * x[n, group(oc) + c, map(o, j)],
         *          db[oc] += sum_{n, o} dy[n, oc, o] */
        cn_convref_wgrad(dw, dy, x, &r);
        if (db) cn_convref_bgrad(db, dy, &r);
        return;
    }
    /* forward: y[n, group(ic) + c, i*stride - pad + j*dilation] += w[ic, c, tap(j)] * x[n, ic, i];  y = b[oc] + ...
     * so:      dw[ic, c, tap(j)] += sum_{n, i} x[n, ic, i] * dy[n, group(ic) + c, i*stride - pad + j*dilation],
     *          db[oc] += sum_{n, o} dy[n, oc, o] */
    cn_convref_wgrad(dw, x, dy, &r);
    if (!db) return;
    const int64_t osz = spatial_size(g->out, g->ndim);
    for (int64_t c = 0; c < g->oc; c++) {
        double acc = 0;
        for (int64_t n = 0; n < g->n; n++) {
            const float *p = dy + (n * g->oc + c) * osz;
            for (int64_t i = 0; i < osz; i++) acc += p[i];
        }
        db[c] = (float)((double)db[c] + acc);
    }
}
