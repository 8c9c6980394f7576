/* conv_gemm.c — the implicit-GEMM convolution engine (see conv_fast.h for the method):
 * building the phase planes, packing the weights, the three passes and their threading. */
#include "kernels/conv_fast.h"

#define CBUF_TARGET 32768 /* floats of one thread's output buffer (128 KB: L2) */
#define BUILD_CHANNELS 8  /* channels per plane-building task */
#define NCB_MAX 384       /* columns of one packed block (packed passes) */
#define QCHUNK 384        /* columns of B kept in L2 across the row panels (in-place passes) */

/* micro-kernel choice of a pass */
typedef struct {
    int mr, nr;
    cn_gemm_nn_fn nn;
    const cn_gemm_ops *o;
    int rows;
} tiles;
static tiles tiles_of(const cn_gemm_ops *o, int rows)
{
    tiles t = {rows ? 1 : o->mr, rows ? o->nr1 : o->nr, rows ? o->nn1 : o->nn, o, rows};
    return t;
}

/* One micro-kernel call on rows [i, i + rows) and depth block [pc, pc + kc) of A: packed
 * (lda = 0; layout apanel, mpad rows) or read in place (lda > 0: row r at a + r*lda). */
static inline void ukr(const tiles *t, const float *a, int64_t mpad, int64_t lda, int64_t K, int64_t pc, int64_t i,
                       int64_t kc, const float *b, const int64_t *boff, float *c, int64_t ldc, int rows, int cols,
                       const float *bias, int acc)
{
    if (!lda) t->nn(kc, apanel(a, mpad, K, pc, i), b, boff, c, ldc, rows, cols, bias, acc);
    else if (t->rows) t->nn(kc, a + i * lda + pc, b, boff, c, ldc, rows, cols, bias, acc); /* one row: a plain vector */
    else t->o->nn_a(kc, a + i * lda + pc, lda, b, boff, c, ldc, rows, cols, bias, acc);
}

static int slots_for(const cf_plan *p, double macs) { return cn_gemm_threads_for(macs, p->slots); }

typedef struct {
    float *dst;          /* group 0's panels */
    int64_t dst_group;   /* floats between groups' panels */
    const float *w;
    int64_t w_group;     /* floats between groups' weights */
    int64_t rs;
    const int64_t *coloff;
    int64_t m, k;
    int mr;
    int64_t panels;      /* per group */
} pack_job;

static void pack_task(void *ctx, int64_t t, int slot)
{
    (void)slot;
    const pack_job *j = ctx;
    const int64_t g = t / j->panels, panel = t % j->panels;
    cf_pack_rows(j->dst + g * j->dst_group, j->w + g * j->w_group, j->rs, j->coloff, j->m, j->k, j->mr, panel);
}

static void pack_all(const cf_plan *p, pack_job *j)
{
    j->panels = cdiv(j->m, j->mr);
    const int64_t tasks = p->groups * j->panels;
    cn_run_tasks(tasks, slots_for(p, (double)(p->groups * j->m * j->k) * 8.0), pack_task, j);
}

/* ---- the tile loop: C (rows [m0, m1) x columns [q0, q1)) [+]= A * B-through-offsets ----
 * A: packed (mpad rows, K deep, rows from 0); C points at (m0, q0). */
static void gemm_tiles(const tiles *t, const float *a, int64_t mpad, int64_t lda, int64_t K, int64_t m0, int64_t m1,
                       const float *bsrc, const int64_t *off, int64_t q0, int64_t q1, float *C, int64_t ldc,
                       const float *bias, int acc0)
{
    /* column chunks of QCHUNK: the B rows of one chunk (KC x QCHUNK) stay in L2 while every A
     * panel passes over them */
    const int64_t qchunk = imax(t->nr, QCHUNK / t->nr * t->nr);
    for (int64_t pc = 0; pc < K; pc += CN_GEMM_KC) {
        const int64_t kc = imin(CN_GEMM_KC, K - pc);
        const int acc = acc0 || pc > 0;
        for (int64_t qc = q0; qc < q1; qc += qchunk) {
            const int64_t qe = imin(q1, qc + qchunk);
            for (int64_t i = m0; i < m1; i += t->mr) {
                const int rows = (int)imin(t->mr, m1 - i);
                const float *bi = bias && !acc ? bias + i : NULL;
                float *ci = C + (i - m0) * ldc;
                for (int64_t q = qc; q < qe; q += t->nr) {
                    const int cols = (int)imin(t->nr, qe - q);
                    ukr(t, a, mpad, lda, K, pc, i, kc, bsrc + q, off + pc, ci + (q - q0), ldc, rows, cols, bi, acc);
                }
            }
        }
    }
}

/* ---- packed passes: columns copied into panels, junk left out ---- */

/* one thread's output buffer for `rows` rows */
static size_t cbuf_floats(int64_t rows) { return al16((size_t)imax(CBUF_TARGET, rows * CN_GEMM_NR1_MAX)); }

/* per-slot buffers of a packed gather or scatter: output block (rows x NCB_MAX), one B tile,
 * runs */
static size_t packed_cbuf(int64_t rows) { return al16((size_t)(rows + CN_GEMM_MR_MAX) * NCB_MAX); }
static size_t packed_slot_floats(int64_t rows)
{
    return packed_cbuf(rows) + al16((size_t)CN_GEMM_KC * CN_GEMM_NR_MAX) + al16(2 * 3 * (size_t)NCB_MAX);
}

/* columns per packed block: NCB_MAX in whole tiles (the output block may sit in L3: each
 * micro-tile of it is read and written once per depth block) */
static int64_t packed_ncb(int nr) { return NCB_MAX / nr * nr; }

/* Runs of consecutive q (at most 16 long, one tile of nr columns at a time) for columns
 * [0, n) with grid positions q[0..n): runs[3i] = column in the tile, q, length. tile_at[t]
 * is the first run of tile t; returns the run count. */
static int make_runs(const int64_t *q, int64_t n, int nr, int64_t *runs, int *tile_at)
{
    int nruns = 0;
    for (int64_t c = 0; c < n; c++) {
        if (c % nr == 0) tile_at[c / nr] = nruns;
        int64_t *last = nruns ? runs + 3 * (nruns - 1) : NULL;
        if (last && c % nr != 0 && last[1] + last[2] == q[c] && last[2] < 16) {
            last[2]++;
        } else {
            int64_t *r = runs + 3 * nruns++;
            r[0] = c % nr, r[1] = q[c], r[2] = 1;
        }
    }
    tile_at[cdiv(n, nr)] = nruns;
    return nruns;
}

/* A (packed: mpad rows, K deep; rows [row0, row0 + m) used) times B copied tile by tile
 * (KC x nr, in bp) from src through the runs: C (ldc, rows from 0) [+]= for columns [0, ncols). Each
 * B tile is packed once per depth block and multiplied by every A panel while it sits in L1;
 * the A block (mpad x KC) stays in L2 across tiles. */
static void packed_tiles(const tiles *t, const cn_gemm_ops *o, const float *a, int64_t mpad, int64_t lda, int64_t K, int64_t row0,
                         int64_t m, const float *src, const int64_t *off, int64_t ncols, const int64_t *q,
                         const int64_t *runs, const int *tile_at, float *bp, float *C, int64_t ldc, const float *bias,
                         int acc0)
{
    int64_t lin[CN_GEMM_KC];
    for (int64_t p = 0; p < CN_GEMM_KC; p++) lin[p] = p * t->nr;
    const int64_t ntiles = cdiv(ncols, t->nr);
    for (int64_t pc = 0; pc < K; pc += CN_GEMM_KC) {
        const int64_t kc = imin(CN_GEMM_KC, K - pc);
        const int acc = acc0 || pc > 0;
        for (int64_t ti = 0; ti < ntiles; ti++) {
            const int cols = (int)imin(t->nr, ncols - ti * t->nr);
            /* runs of contiguous columns, or one gathered element per column when runs are short
             * (small images: a column per image) */
            const int nruns = tile_at[ti + 1] - tile_at[ti];
            if (4 * nruns > cols) o->pack_gather(bp, t->nr, src, off + pc, kc, q + ti * t->nr, cols);
            else o->pack_runs(bp, t->nr, src, off + pc, kc, runs + 3 * tile_at[ti], nruns);
            for (int64_t i = 0; i < m; i += t->mr) {
                const int rows = (int)imin(t->mr, m - i);
                ukr(t, a, mpad, lda, K, pc, row0 + i, kc, bp, lin, C + i * ldc + ti * t->nr, ldc, rows, cols,
                    bias && !acc ? bias + i : NULL, acc);
            }
        }
    }
}

/* grid position of valid output column j of a chunk (image-major, S's row-major order) */
static inline int64_t gather_q(const cf_plan *p, int64_t j, int64_t istride)
{
    const int64_t img = j / p->ssz, o = j % p->ssz, o2 = o % p->small[2], r = o / p->small[2];
    const int64_t o1 = r % p->small[1], o0 = r / p->small[1];
    return img * istride + (o0 * p->U[1] + o1) * p->U[2] + o2;
}

/* ================================ gather: S from B ================================ */

static size_t gather_apack(const cf_plan *p) { return (size_t)(p->groups * (p->csg + CN_GEMM_MR_MAX - 1) * p->cbg * p->kt); }
static size_t planes_floats(const cf_plan *p, int64_t chunk)
{
    return p->zero_copy_g ? 0 : (size_t)(chunk * p->cb * p->nph * p->gplane);
}

size_t cf_gather_floats(const cf_plan *p)
{
    const size_t K = (size_t)(p->cbg * p->kt);
    size_t s = 16 + al16(2 * K) + al16(2 * K) + al16(gather_apack(p)) + al16(planes_floats(p, p->chunk_g));
    if (p->packed_g) s += (size_t)p->slots * packed_slot_floats(p->csg);
    else if (!p->direct_g) s += (size_t)p->slots * cbuf_floats(p->csg);
    return s;
}

typedef struct {
    const cf_plan *p;
    const float *B;
    float *dst;
    int64_t chan, chunk, n0, nl, cblocks;
    /* wgrad's grid of S (NULL: none) */
    const float *S;
    float *grid;
    int64_t sblocks;
} build_job;

static void build_task(void *ctx, int64_t t, int slot)
{
    (void)slot;
    const build_job *j = ctx;
    const cf_plan *p = j->p;
    const int64_t per_img = j->cblocks + j->sblocks, img = t / per_img, r = t % per_img;
    if (r < j->cblocks) {
        const int64_t c0 = r * BUILD_CHANNELS, c1 = imin(p->cb, c0 + BUILD_CHANNELS);
        cf_build_planes(p, j->dst, j->chan, j->chunk, img, j->B + (j->n0 + img) * p->cb * p->bsz, c0, c1);
    } else {
        const int64_t s0 = (r - j->cblocks) * BUILD_CHANNELS, s1 = imin(p->cs, s0 + BUILD_CHANNELS);
        cf_build_grid(p, j->grid, j->chunk, img, j->S + (j->n0 + img) * p->cs * p->ssz, s0, s1);
    }
}

static void build_all(const cf_plan *p, build_job *j)
{
    j->cblocks = cdiv(p->cb, BUILD_CHANNELS);
    j->sblocks = j->grid ? cdiv(p->cs, BUILD_CHANNELS) : 0;
    const double elems = (double)j->nl * (double)(p->cb * p->nph * p->gplane + (j->grid ? p->cs * p->gplane : 0));
    cn_run_tasks(j->nl * (j->cblocks + j->sblocks), slots_for(p, elems * 4.0), build_task, j);
}

typedef struct {
    const cf_plan *p;
    tiles t;
    float *S;
    const float *bias;
    int acc;
    const float *apack;
    int64_t apack_g, K, lda; /* lda > 0: A is w itself (no flip), rows K apart */
    const int64_t *off;
    const float *src;      /* planes (or B itself when zero-copy) */
    int64_t chan, istride; /* channel stride the offsets use; image stride */
    int64_t n0, nl;
    float *cbuf;
    int64_t cbuf_slot;
    int64_t mb, qb, mblocks, qblocks, Q;
    int direct;
    /* packed */
    const cn_gemm_ops *o;
    int64_t ncb, cblocks, J;
} gather_job;

static void gather_task(void *ctx, int64_t t, int slot)
{
    const gather_job *j = ctx;
    const cf_plan *p = j->p;
    const int64_t per_img = p->groups * j->mblocks * j->qblocks;
    const int64_t img = j->direct ? t / per_img : 0, r = j->direct ? t % per_img : t;
    const int64_t g = r / (j->mblocks * j->qblocks), mbi = (r / j->qblocks) % j->mblocks, qbi = r % j->qblocks;
    const int64_t m0 = mbi * j->mb, m1 = imin(p->csg, m0 + j->mb), q0 = qbi * j->qb, q1 = imin(j->Q, q0 + j->qb);
    if (m0 >= m1 || q0 >= q1) return;
    const float *src = j->src + img * j->istride + g * p->cbg * j->chan;
    const float *apanels = j->apack + g * j->apack_g;
    const float *bias = j->bias ? j->bias + g * p->csg : NULL;
    if (j->direct) {
        float *C = j->S + ((j->n0 + img) * p->cs + g * p->csg + m0) * p->ssz + q0;
        gemm_tiles(&j->t, apanels, round_up(p->csg, j->t.mr), j->lda, j->K, m0, m1, src, j->off, q0, q1, C, p->ssz,
                   j->acc ? NULL : bias, j->acc);
        return;
    }
    float *C = j->cbuf + slot * j->cbuf_slot;
    gemm_tiles(&j->t, apanels, round_up(p->csg, j->t.mr), j->lda, j->K, m0, m1, src, j->off, q0, q1, C, q1 - q0,
               j->acc ? NULL : bias, 0);
    cf_store_gather(p, j->S, j->n0, g, m0, m1, C, q1 - q0, q0, q1, j->acc);
}

static void gather_packed_task(void *ctx, int64_t t, int slot)
{
    const gather_job *j = ctx;
    const cf_plan *p = j->p;
    const int64_t g = t / j->cblocks, c0 = (t % j->cblocks) * j->ncb, c1 = imin(j->J, c0 + j->ncb), n = c1 - c0;
    float *C = j->cbuf + slot * j->cbuf_slot;
    float *bp = C + packed_cbuf(p->csg);
    int64_t *runs = (int64_t *)(bp + al16((size_t)CN_GEMM_KC * CN_GEMM_NR_MAX));
    int64_t q[NCB_MAX];
    int tile_at[NCB_MAX + 2];
    for (int64_t c = 0; c < n; c++) q[c] = gather_q(p, c0 + c, j->istride);
    make_runs(q, n, j->t.nr, runs, tile_at);
    const float *bias = j->bias && !j->acc ? j->bias + g * p->csg : NULL;
    packed_tiles(&j->t, j->o, j->apack + g * j->apack_g, round_up(p->csg, j->t.mr), j->lda, j->K, 0, p->csg,
                 j->src + g * p->cbg * j->chan, j->off, n, q, runs,
                 tile_at, bp, C, j->ncb, bias, 0);
    /* copy out: column c0 + c is S position (image, o), runs within an image */
    for (int64_t c = c0; c < c1;) {
        const int64_t img = c / p->ssz, o = c % p->ssz, len = imin(c1, (img + 1) * p->ssz) - c;
        for (int64_t s_ = 0; s_ < p->csg; s_++) {
            float *d = j->S + ((j->n0 + img) * p->cs + g * p->csg + s_) * p->ssz + o;
            const float *src = C + s_ * j->ncb + (c - c0);
            if (j->acc)
                for (int64_t i = 0; i < len; i++) d[i] += src[i];
            else
                memcpy(d, src, (size_t)len * sizeof(float));
        }
        c += len;
    }
}

/* row tiles: one output row (of every channel of a group) per gemm_tiles call, stored straight
 * into S; a task takes qb rows of one image and group */
static void gather_rows_task(void *ctx, int64_t t, int slot)
{
    (void)slot;
    const gather_job *j = ctx;
    const cf_plan *p = j->p;
    const int64_t R = p->small[0] * p->small[1], per_img = p->groups * j->qblocks;
    const int64_t img = t / per_img, g = (t % per_img) / j->qblocks, rb = t % j->qblocks;
    const int64_t r0 = rb * j->qb, r1 = imin(R, r0 + j->qb);
    const float *src = j->src + img * j->istride + g * p->cbg * j->chan;
    const float *apanels = j->apack + g * j->apack_g;
    const float *bias = j->bias && !j->acc ? j->bias + g * p->csg : NULL;
    float *S0 = j->S + ((j->n0 + img) * p->cs + g * p->csg) * p->ssz;
    for (int64_t row = r0; row < r1; row++) {
        const int64_t q = ((row / p->small[1]) * p->U[1] + row % p->small[1]) * p->U[2];
        gemm_tiles(&j->t, apanels, round_up(p->csg, j->t.mr), j->lda, j->K, 0, p->csg, src, j->off, q, q + p->small[2],
                   S0 + row * p->small[2], p->ssz, bias, j->acc);
    }
}

/* Choose the blocks of a pass: all rows and CBUF-sized column blocks, then smaller blocks
 * until there are at least two tasks per slot (or blocks cannot shrink). */
static void choose_blocks(int64_t rows, int64_t Q, int64_t units, int mr, int nr, int slots, int cbuf_limited,
                          int64_t *mb, int64_t *qb)
{
    *mb = round_up(rows, mr);
    *qb = cbuf_limited ? imax(nr, (CBUF_TARGET / *mb) / nr * nr) : round_up(Q, nr);
    *qb = imin(*qb, round_up(Q, nr));
    for (;;) {
        const int64_t tasks = units * cdiv(rows, *mb) * cdiv(Q, *qb);
        if (tasks >= 2 * slots) break;
        if (*qb > nr) *qb = imax(nr, round_up(*qb / 2, nr));
        else if (*mb > mr) *mb = imax(mr, round_up(*mb / 2, mr));
        else break;
    }
}

void cf_gather(const cf_plan *p, float *S, const float *B, const float *w, const float *bias, int acc, float *scratch)
{
    const cn_gemm_ops *o = cn_gemm();
    gather_job j;
    memset(&j, 0, sizeof j);
    j.p = p;
    j.t = tiles_of(o, 0); /* single-row passes run in conv_rows.c */
    j.S = S;
    j.bias = bias;
    j.acc = acc;
    j.K = p->cbg * p->kt;
    j.direct = p->direct_g;

    float *cur = align64(scratch);
    int64_t *off = take(&cur, 2 * (size_t)j.K), *coloff = take(&cur, 2 * (size_t)j.K);
    float *apack = take(&cur, gather_apack(p));
    float *planes = take(&cur, planes_floats(p, p->chunk_g));
    j.cbuf = cur;
    j.cbuf_slot = (int64_t)(p->packed_g ? packed_slot_floats(p->csg) : cbuf_floats(p->csg));
    j.o = o;

    /* offsets: the planes' channel stride (B's own when zero-copy) */
    if (p->zero_copy_g) {
        j.chan = p->bsz;
        j.istride = p->cb * p->bsz;
    } else {
        j.chan = p->nph * p->chunk_g * p->gplane;
        j.istride = p->gplane;
    }
    cf_gather_offsets(p, j.chan, p->zero_copy_g ? 1 : p->chunk_g, off, coloff);
    j.off = off;

    /* weights: rows s of group g are w[(g*csg + s)*cbg*kt + coloff[r]]; without flip coloff[r]
     * is r and the micro-kernels read w in place (weights are read once, not copied per call) */
    if (!p->flip) {
        j.apack = w;
        j.apack_g = p->csg * j.K;
        j.lda = j.K;
    } else {
        pack_job pj = {apack, round_up(p->csg, j.t.mr) * j.K, w, p->csg * j.K, j.K, coloff, p->csg, j.K, j.t.mr, 0};
        pack_all(p, &pj);
        j.apack = apack;
        j.apack_g = pj.dst_group;
    }

    const double macs_img = (double)p->cs * (double)p->ssz * (double)j.K;
    for (int64_t n0 = 0; n0 < p->n; n0 += p->chunk_g) {
        const int64_t nl = imin(p->chunk_g, p->n - n0);
        j.n0 = n0;
        j.nl = nl;
        if (p->zero_copy_g) {
            j.src = B + n0 * p->cb * p->bsz;
        } else {
            build_job bj = {p, B, planes, j.chan, p->chunk_g, n0, nl, 0, NULL, NULL, 0};
            build_all(p, &bj);
            j.src = planes;
        }
        const int slots = slots_for(p, macs_img * (double)nl);
        if (p->rowtile_g) {
            const int64_t R = p->small[0] * p->small[1];
            j.qb = R;
            while (nl * p->groups * cdiv(R, j.qb) < 4 * slots && j.qb > 1) j.qb = cdiv(j.qb, 2);
            j.qblocks = cdiv(R, j.qb);
            cn_run_tasks(nl * p->groups * j.qblocks, slots, gather_rows_task, &j);
            continue;
        }
        if (p->packed_g) {
            j.J = nl * p->ssz;
            j.ncb = packed_ncb(j.t.nr);
            while (p->groups * cdiv(j.J, j.ncb) < 2 * slots && j.ncb > j.t.nr) j.ncb = imax(j.t.nr, round_up(j.ncb / 2, j.t.nr));
            j.cblocks = cdiv(j.J, j.ncb);
            cn_run_tasks(p->groups * j.cblocks, slots, gather_packed_task, &j);
            continue;
        }
        j.Q = j.direct ? p->qimg : (nl - 1) * p->gplane + p->qimg;
        choose_blocks(p->csg, j.Q, p->groups * (j.direct ? nl : 1), j.t.mr, j.t.nr, slots, !j.direct, &j.mb, &j.qb);
        j.mblocks = cdiv(p->csg, j.mb);
        j.qblocks = cdiv(j.Q, j.qb);
        cn_run_tasks((j.direct ? nl : 1) * p->groups * j.mblocks * j.qblocks, slots, gather_task, &j);
    }
}

/* ================================ scatter: B from S ================================ */

static size_t scatter_apack(const cf_plan *p) { return (size_t)(p->groups * (p->cbg + CN_GEMM_MR_MAX - 1) * p->csg * p->kt); }

size_t cf_scatter_floats(const cf_plan *p)
{
    const size_t K = (size_t)(p->csg * p->kt);
    size_t s = 16 + al16(2 * K) + al16(2 * K) + al16(2 * (size_t)(p->nph * PH_META)) + al16(scatter_apack(p));
    if (!p->zero_copy_s) s += al16((size_t)(p->chunk_s * p->cs * p->splane));
    if (p->packed_s) s += (size_t)p->slots * packed_slot_floats(p->cbg);
    else if (!p->direct_s) s += (size_t)p->slots * cbuf_floats(p->cbg);
    return s;
}

typedef struct {
    const cf_plan *p;
    const float *S;
    float *dst;
    int64_t chunk, n0, sblocks;
} spad_job;

static void spad_task(void *ctx, int64_t t, int slot)
{
    (void)slot;
    const spad_job *j = ctx;
    const cf_plan *p = j->p;
    const int64_t img = t / j->sblocks, s0 = (t % j->sblocks) * BUILD_CHANNELS, s1 = imin(p->cs, s0 + BUILD_CHANNELS);
    cf_build_spad(p, j->dst, j->chunk, img, j->S + (j->n0 + img) * p->cs * p->ssz, s0, s1);
}

typedef struct {
    const cf_plan *p;
    tiles t;
    float *B;
    const float *apack;
    int64_t apack_g;
    const int64_t *off, *meta;
    int64_t nphases;
    const float *src;      /* padded S (or S itself when zero-copy) */
    int64_t schan, istride;
    int64_t n0, nl;
    float *cbuf;
    int64_t cbuf_slot, cb_blk, cblocks;
    const cn_gemm_ops *o;
    int64_t ncb;
} scatter_job;

/* packed scatter of one phase: columns are the phase's needed B positions (image-major) */
static void scatter_packed_phase(const scatter_job *j, int64_t g, int64_t c0, int64_t c1, const int64_t *m, float *C)
{
    const cf_plan *p = j->p;
    const int64_t K = p->csg * m[NTAPS], per = m[N0] * m[N1] * m[N2], J = j->nl * per;
    const int64_t base = (m[ULO0] * p->LS[1] + m[ULO1]) * p->LS[2] + m[ULO2];
    const float *src = j->src + g * p->csg * j->schan + base;
    const float *apanels = j->apack + g * j->apack_g + m[PACK_AT];
    float *bp = C + packed_cbuf(p->cbg);
    int64_t *runs = (int64_t *)(bp + al16((size_t)CN_GEMM_KC * CN_GEMM_NR_MAX));
    int64_t q[NCB_MAX], bidx[NCB_MAX], img[NCB_MAX];
    int tile_at[NCB_MAX + 2];
    for (int64_t j0 = 0; j0 < J; j0 += j->ncb) {
        const int64_t n = imin(j->ncb, J - j0);
        for (int64_t c = 0; c < n; c++) {
            const int64_t col = j0 + c, im = col / per, r = col % per;
            const int64_t a2 = r % m[N2], a1 = (r / m[N2]) % m[N1], a0 = r / (m[N2] * m[N1]);
            q[c] = im * j->istride + (a0 * p->LS[1] + a1) * p->LS[2] + a2;
            const int64_t i0 = map_u(p, 0, (m[ULO0] + a0) * p->st[0] + m[PH0]);
            const int64_t i1 = map_u(p, 1, (m[ULO1] + a1) * p->st[1] + m[PH1]);
            const int64_t i2 = map_u(p, 2, (m[ULO2] + a2) * p->st[2] + m[PH2]);
            bidx[c] = i0 < 0 || i1 < 0 || i2 < 0 ? -1 : (i0 * p->big[1] + i1) * p->big[2] + i2;
            img[c] = im;
        }
        make_runs(q, n, j->t.nr, runs, tile_at);
        packed_tiles(&j->t, j->o, apanels, round_up(p->cbg, j->t.mr), 0, K, c0, c1 - c0, src, j->off + m[OFF_AT], n, q, runs,
                     tile_at, bp, C, j->ncb, NULL, 0);
        for (int64_t c = 0; c < n; c++) {
            if (bidx[c] < 0) continue;
            float *b = j->B + ((j->n0 + img[c]) * p->cb + g * p->cbg + c0) * p->bsz + bidx[c];
            for (int64_t cc = 0; cc < c1 - c0; cc++) b[cc * p->bsz] += C[cc * j->ncb + c];
        }
    }
}

static void scatter_task(void *ctx, int64_t t, int slot)
{
    const scatter_job *j = ctx;
    const cf_plan *p = j->p;
    const int64_t g = t / j->cblocks, c0 = (t % j->cblocks) * j->cb_blk, c1 = imin(p->cbg, c0 + j->cb_blk);
    float *cbuf = j->cbuf + slot * j->cbuf_slot;
    const int64_t segs = p->zero_copy_s ? j->nl : 1;
    for (int64_t ph = 0; ph < j->nphases; ph++) {
        const int64_t *m = j->meta + ph * PH_META;
        if (p->packed_s) {
            scatter_packed_phase(j, g, c0, c1, m, cbuf);
            continue;
        }
        const int64_t K = p->csg * m[NTAPS];
        const float *apanels = j->apack + g * j->apack_g + m[PACK_AT];
        const int64_t base = (m[ULO0] * p->LS[1] + m[ULO1]) * p->LS[2] + m[ULO2];
        const int64_t qimg = ((m[N0] - 1) * p->LS[1] + m[N1] - 1) * p->LS[2] + m[N2];
        for (int64_t seg = 0; seg < segs; seg++) {
            const float *src = j->src + seg * j->istride + g * p->csg * j->schan + base;
            const int64_t Q = p->zero_copy_s ? qimg : (j->nl - 1) * p->splane + qimg;
            const int64_t qb = imax(j->t.nr, (j->cbuf_slot / imax(1, c1 - c0)) / j->t.nr * j->t.nr);
            for (int64_t q0 = 0; q0 < Q; q0 += qb) {
                const int64_t q1 = imin(Q, q0 + qb);
                if (p->direct_s) {
                    float *C = j->B + ((j->n0 + seg) * p->cb + g * p->cbg + c0) * p->bsz + q0;
                    gemm_tiles(&j->t, apanels, round_up(p->cbg, j->t.mr), 0, K, c0, c1, src, j->off + m[OFF_AT], q0, q1, C,
                               p->bsz, NULL, 1);
                } else {
                    gemm_tiles(&j->t, apanels, round_up(p->cbg, j->t.mr), 0, K, c0, c1, src, j->off + m[OFF_AT], q0, q1,
                               cbuf, q1 - q0, NULL, 0);
                    cf_store_scatter(p, j->B, j->n0 + seg, g, c0, c1, cbuf, q1 - q0, q0, q1, m,
                                  p->zero_copy_s ? p->ssz : p->splane);
                }
            }
        }
    }
}

void cf_scatter(const cf_plan *p, float *B, const float *S, const float *w, float *scratch)
{
    const cn_gemm_ops *o = cn_gemm();
    scatter_job j;
    memset(&j, 0, sizeof j);
    j.p = p;
    j.t = tiles_of(o, 0);
    j.B = B;
    const int64_t Ktot = p->csg * p->kt;

    float *cur = align64(scratch);
    int64_t *off = take(&cur, 2 * (size_t)Ktot), *coloff = take(&cur, 2 * (size_t)Ktot);
    int64_t *meta = take(&cur, 2 * (size_t)(p->nph * PH_META));
    float *apack = take(&cur, scatter_apack(p));
    float *spad = p->zero_copy_s ? NULL : take(&cur, (size_t)(p->chunk_s * p->cs * p->splane));
    j.cbuf = cur;
    j.cbuf_slot = (int64_t)(p->packed_s ? packed_slot_floats(p->cbg) : cbuf_floats(p->cbg));
    j.o = o;
    j.schan = p->zero_copy_s ? p->ssz : p->chunk_s * p->splane;
    j.istride = p->zero_copy_s ? p->cs * p->ssz : p->splane;
    j.apack_g = round_up(p->cbg, j.t.mr) * Ktot;

    /* phases with taps and outputs, their offsets and packed weights (rows c of group g are
     * w[g*csg*cbg*kt + c*kt + coloff[(s, t)]]) */
    const int64_t nphases = cf_scatter_phases(p, j.schan, j.t.mr, meta, off, coloff);
    for (int64_t ph = 0; ph < nphases; ph++) {
        const int64_t *m = meta + ph * PH_META;
        pack_job pj = {apack + m[PACK_AT], j.apack_g, w, p->csg * p->cbg * p->kt, p->kt, coloff + m[OFF_AT],
                       p->cbg, p->csg * m[NTAPS], j.t.mr, 0};
        pack_all(p, &pj);
    }
    j.off = off;
    j.meta = meta;
    j.nphases = nphases;
    j.apack = apack;
    if (!nphases) return;

    const double macs_img = (double)p->cs * (double)p->ssz * (double)p->cbg * (double)p->kt;
    for (int64_t n0 = 0; n0 < p->n; n0 += p->chunk_s) {
        const int64_t nl = imin(p->chunk_s, p->n - n0);
        j.n0 = n0;
        j.nl = nl;
        if (p->zero_copy_s) {
            j.src = S + n0 * p->cs * p->ssz;
        } else {
            spad_job sj = {p, S, spad, p->chunk_s, n0, cdiv(p->cs, BUILD_CHANNELS)};
            cn_run_tasks(nl * sj.sblocks, slots_for(p, (double)(nl * p->cs * p->splane) * 4.0), spad_task, &sj);
            j.src = spad;
        }
        const int slots = slots_for(p, macs_img * (double)nl);
        /* tasks own disjoint channels of B (several phases and reflections may hit one element) */
        j.cb_blk = round_up(p->cbg, j.t.mr);
        while (p->groups * cdiv(p->cbg, j.cb_blk) < 2 * slots && j.cb_blk > j.t.mr)
            j.cb_blk = imax(j.t.mr, round_up(j.cb_blk / 2, j.t.mr));
        j.cblocks = cdiv(p->cbg, j.cb_blk);
        j.ncb = packed_ncb(j.t.nr);
        cn_run_tasks(p->groups * j.cblocks, slots, scatter_task, &j);
    }
}

/* ================================ wgrad: dw from S and B ================================ */

static size_t wgrad_slot_floats(const cf_plan *p)
{
    return al16((size_t)((p->csg + CN_GEMM_MR_MAX - 1) * CN_GEMM_KC)) + al16((size_t)CN_GEMM_KC * CN_GEMM_NR_MAX) +
           al16(2 * (size_t)CN_GEMM_KC);
}

size_t cf_wgrad_floats(const cf_plan *p)
{
    const size_t K = (size_t)(p->cbg * p->kt);
    size_t s = 16 + al16(2 * K) + al16(2 * K) + al16(2 * K) + al16(planes_floats(p, p->chunk_w));
    if (!p->zero_copy_g && !p->packed_w) s += al16((size_t)(p->chunk_w * p->cs * p->gplane));
    if (p->packed_w) s += (size_t)p->slots * wgrad_slot_floats(p);
    return s;
}

typedef struct {
    const cf_plan *p;
    const cn_gemm_ops *o;
    int rows;
    float *dw;
    const float *S, *B;      /* zero-copy: the tensors themselves */
    const float *src, *grid; /* built: planes and S's grid */
    const int64_t *off, *coloff;
    int64_t K, chan, n0, nl, len;
    int64_t sb, rb, sblocks, rblocks;
    /* packed */
    const int64_t *offw; /* offsets in dw's column order */
    float *slotbuf;
    int64_t slot_floats, istride;
} wgrad_job;

/* packed wgrad: dw (csg x K of group g, columns [r0, r1)) += dS (csg x J) * im2col^T (J x K),
 * J the chunk's valid positions, in blocks of KC */
static void wgrad_packed_task(void *ctx, int64_t t, int slot)
{
    const wgrad_job *j = ctx;
    const cf_plan *p = j->p;
    const cn_gemm_ops *o = j->o;
    const tiles tl = tiles_of(o, 0);
    const int64_t g = t / j->rblocks, r0 = (t % j->rblocks) * j->rb, r1 = imin(j->K, r0 + j->rb);
    float *ap = j->slotbuf + slot * j->slot_floats;
    float *bp = ap + al16((size_t)((p->csg + CN_GEMM_MR_MAX - 1) * CN_GEMM_KC));
    int64_t *qrow = (int64_t *)(bp + al16((size_t)CN_GEMM_KC * CN_GEMM_NR_MAX));
    int64_t lin[CN_GEMM_KC];
    for (int64_t q = 0; q < CN_GEMM_KC; q++) lin[q] = q * tl.nr;
    const float *planes = j->src + g * p->cbg * j->chan;
    const int64_t J = j->nl * p->ssz, mpad = round_up(p->csg, tl.mr), ntiles = cdiv(r1 - r0, tl.nr);
    for (int64_t jb = 0; jb < J; jb += CN_GEMM_KC) {
        const int64_t kc = imin(CN_GEMM_KC, J - jb);
        /* A panels (mr rows, kc deep, at ap + i*KC): dS rows of the group over columns jb..,
         * read along rows (runs within an image), zero rows past csg */
        for (int64_t q = 0; q < kc; q++) qrow[q] = gather_q(p, jb + q, j->istride);
        for (int64_t s_ = 0; s_ < mpad; s_++) {
            float *d = ap + (s_ / tl.mr) * tl.mr * CN_GEMM_KC + s_ % tl.mr;
            if (s_ >= p->csg) {
                for (int64_t q = 0; q < kc; q++) d[q * tl.mr] = 0.0f;
                continue;
            }
            for (int64_t q = 0; q < kc;) {
                const int64_t col = jb + q, img = col / p->ssz, oo = col % p->ssz, len = imin(kc - q, p->ssz - oo);
                const float *sp = j->S + ((j->n0 + img) * p->cs + g * p->csg + s_) * p->ssz + oo;
                for (int64_t l = 0; l < len; l++) d[(q + l) * tl.mr] = sp[l];
                q += len;
            }
        }
        for (int64_t ti = 0; ti < ntiles; ti++) {
            const int cols = (int)imin(tl.nr, r1 - r0 - ti * tl.nr);
            float *bt = bp;
            o->pack_gather(bt, tl.nr, planes, qrow, kc, j->offw + r0 + ti * tl.nr, cols);
            for (int64_t i = 0; i < p->csg; i += tl.mr) {
                const int rows = (int)imin(tl.mr, p->csg - i);
                tl.nn(kc, ap + i * CN_GEMM_KC, bt, lin, j->dw + (g * p->csg + i) * j->K + r0 + ti * tl.nr, j->K, rows, cols,
                      NULL, 1);
            }
        }
    }
}

static void wgrad_task(void *ctx, int64_t t, int slot)
{
    (void)slot;
    const wgrad_job *j = ctx;
    const cf_plan *p = j->p;
    const cn_gemm_ops *o = j->o;
    const int dr = j->rows ? 1 : o->dr, dc = j->rows ? o->dc1 : o->dc;
    const cn_gemm_nt_fn nt = j->rows ? o->nt1 : o->nt;
    const int64_t g = t / (j->sblocks * j->rblocks), sbi = (t / j->rblocks) % j->sblocks, rbi = t % j->rblocks;
    const int64_t s0 = sbi * j->sb, s1 = imin(p->csg, s0 + j->sb), r0 = rbi * j->rb, r1 = imin(j->K, r0 + j->rb);
    const int64_t segs = p->zero_copy_g ? j->nl : 1;
    float tmp[CN_GEMM_DC_MAX * CN_GEMM_DC_MAX];
    const float *ar[CN_GEMM_DC_MAX], *br[CN_GEMM_DC_MAX];
    for (int64_t r = r0; r < r1; r += dc) {
        const int cols = (int)imin(dc, r1 - r);
        for (int64_t s = s0; s < s1; s += dr) {
            const int rows = (int)imin(dr, s1 - s);
            for (int64_t seg = 0; seg < segs; seg++) {
                const float *abase, *bbase;
                int64_t astride;
                if (p->zero_copy_g) {
                    abase = j->S + ((j->n0 + seg) * p->cs + g * p->csg) * p->ssz;
                    astride = p->ssz;
                    bbase = j->B + ((j->n0 + seg) * p->cb + g * p->cbg) * p->bsz;
                } else {
                    abase = j->grid + (g * p->csg) * p->chunk_w * p->gplane; /* grid: [s][chunk][gplane] */
                    astride = p->chunk_w * p->gplane;
                    bbase = j->src + g * p->cbg * j->chan;
                }
                for (int i = 0; i < dr; i++) ar[i] = abase + (s + (i < rows ? i : rows - 1)) * astride;
                for (int q = 0; q < dc; q++) br[q] = bbase + j->off[r + (q < cols ? q : cols - 1)];
                nt(j->len, ar, br, tmp, CN_GEMM_DC_MAX, rows, cols, NULL, 0);
                for (int i = 0; i < rows; i++) {
                    float *d = j->dw + (g * p->csg + s + i) * j->K;
                    for (int q = 0; q < cols; q++) d[j->coloff[r + q]] += tmp[i * CN_GEMM_DC_MAX + q];
                }
            }
        }
    }
}

void cf_wgrad(const cf_plan *p, float *dw, const float *S, const float *B, float *scratch)
{
    const cn_gemm_ops *o = cn_gemm();
    wgrad_job j;
    memset(&j, 0, sizeof j);
    j.p = p;
    j.o = o;
    j.rows = 0;
    j.dw = dw;
    j.S = S;
    j.B = B;
    j.K = p->cbg * p->kt;

    float *cur = align64(scratch);
    int64_t *off = take(&cur, 2 * (size_t)j.K), *coloff = take(&cur, 2 * (size_t)j.K), *offw = take(&cur, 2 * (size_t)j.K);
    float *planes = take(&cur, planes_floats(p, p->chunk_w));
    float *grid = p->zero_copy_g || p->packed_w ? NULL : take(&cur, (size_t)(p->chunk_w * p->cs * p->gplane));
    j.chan = p->zero_copy_g ? p->bsz : p->nph * p->chunk_w * p->gplane;
    cf_gather_offsets(p, j.chan, p->zero_copy_g ? 1 : p->chunk_w, off, coloff);
    for (int64_t r = 0; r < j.K; r++) offw[coloff[r]] = off[r];
    j.off = off;
    j.coloff = coloff;
    j.offw = offw;
    j.src = planes;
    j.grid = grid;
    j.slotbuf = cur;
    j.slot_floats = (int64_t)wgrad_slot_floats(p);
    j.istride = p->zero_copy_g ? p->cb * p->bsz : p->gplane;

    const int dr = j.rows ? 1 : o->dr, dc = j.rows ? o->dc1 : o->dc;
    const double macs_img = (double)p->cs * (double)p->ssz * (double)j.K;
    for (int64_t n0 = 0; n0 < p->n; n0 += p->chunk_w) {
        const int64_t nl = imin(p->chunk_w, p->n - n0);
        j.n0 = n0;
        j.nl = nl;
        if (!p->zero_copy_g) {
            build_job bj = {p, B, planes, j.chan, p->chunk_w, n0, nl, 0, S, grid, 0};
            build_all(p, &bj);
            j.len = (nl - 1) * p->gplane + p->qimg;
        } else {
            j.len = p->ssz;
            j.src = B + n0 * p->cb * p->bsz;
        }
        const int slots = slots_for(p, macs_img * (double)nl);
        if (p->packed_w) {
            /* as few column blocks as give each slot work: the A panels are packed once per block */
            const int nr = o->nr;
            j.rb = round_up(j.K, nr);
            while (p->groups * cdiv(j.K, j.rb) < 2 * slots && j.rb > nr) j.rb = imax(nr, round_up(j.rb / 2, nr));
            j.rblocks = cdiv(j.K, j.rb);
            cn_run_tasks(p->groups * j.rblocks, slots, wgrad_packed_task, &j);
            continue;
        }
        /* tasks own disjoint dw elements; each sums its elements over the chunk in one order */
        j.sb = round_up(p->csg, dr);
        j.rb = round_up(j.K, dc);
        for (;;) {
            const int64_t tasks = p->groups * cdiv(p->csg, j.sb) * cdiv(j.K, j.rb);
            if (tasks >= 4 * slots) break;
            if (j.rb > dc) j.rb = imax(dc, round_up(j.rb / 2, dc));
            else if (j.sb > dr) j.sb = imax(dr, round_up(j.sb / 2, dr));
            else break;
        }
        j.sblocks = cdiv(p->csg, j.sb);
        j.rblocks = cdiv(j.K, j.rb);
        cn_run_tasks(p->groups * j.sblocks * j.rblocks, slots, wgrad_task, &j);
    }
}
