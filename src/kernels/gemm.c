/* gemm.c — ISA dispatch for the micro-kernels, packing, the blocked drivers for plain
 * matrices, and the task splitter every fast kernel uses for threads. */
#include "gemm.h"

#include <string.h>

const cn_gemm_ops *cn_gemm_for(cn_isa isa)
{
    if (!cn_isa_available(isa)) return NULL;
    switch (isa) {
#ifdef CN_HAVE_AVX512
    case CN_ISA_AVX512: return &cn_gemm_avx512;
#endif
#ifdef CN_HAVE_AVX2
    case CN_ISA_AVX2: return &cn_gemm_avx2;
#endif
    default: return &cn_gemm_generic;
    }
}

const cn_gemm_ops *cn_gemm(void) { return cn_gemm_for(cn_isa_active()); }

int64_t cn_gemm_packed_floats(int64_t m, int64_t k) { return (m + CN_GEMM_MR_MAX - 1) * k; }

void cn_gemm_pack_a(float *dst, const float *a, int64_t rs, int64_t cs, int64_t m, int64_t k, int mr)
{
    for (int64_t i0 = 0; i0 < m; i0 += mr) {
        const int rows = m - i0 < mr ? (int)(m - i0) : mr;
        float *d = dst + i0 * k; /* panel i0/mr starts at (i0/mr)*mr*k */
        const float *src = a + i0 * rs;
        if (cs == 1) {
            /* rows are contiguous: read each row once, write it with stride mr */
            for (int i = 0; i < rows; i++) {
                const float *r = src + i * rs;
                for (int64_t p = 0; p < k; p++) d[p * mr + i] = r[p];
            }
        } else {
            for (int64_t p = 0; p < k; p++)
                for (int i = 0; i < rows; i++) d[p * mr + i] = src[i * rs + p * cs];
        }
        for (int i = rows; i < mr; i++)
            for (int64_t p = 0; p < k; p++) d[p * mr + i] = 0.0f;
    }
}

/* ---- threads ---- */

int cn_gemm_threads_for(double work, int cap)
{
    int t = cn_num_threads();
    if (cap > 0 && cap < t) t = cap;
    /* ~1M multiply-accumulates (some tens of microseconds) per thread before a second
     * thread pays for its wake-up */
    const double grain = 1048576.0;
    const double most = work / grain;
    if (most < (double)t) t = most < 1.0 ? 1 : (int)most;
    return t;
}

typedef struct {
    cn_task_fn fn;
    void *ctx;
    int64_t ntasks;
    int slots;
} task_job;

static void task_range(void *ctx, int64_t begin, int64_t end)
{
    const task_job *j = ctx;
    for (int64_t s = begin; s < end; s++) {
        const int64_t t0 = j->ntasks * s / j->slots, t1 = j->ntasks * (s + 1) / j->slots;
        for (int64_t t = t0; t < t1; t++) j->fn(j->ctx, t, (int)s);
    }
}

void cn_run_tasks(int64_t ntasks, int slots, cn_task_fn fn, void *ctx)
{
    if (ntasks <= 0) return;
    if (slots > ntasks) slots = (int)ntasks;
    if (slots < 1) slots = 1;
    task_job j = {fn, ctx, ntasks, slots};
    if (slots == 1) task_range(&j, 0, 1);
    else cn_parallel_for(slots, 1, task_range, &j);
}

/* ---- plain matrices ---- */

typedef struct {
    const cn_gemm_ops *ops;
    int64_t m, n, k;
    const float *a;
    int64_t rsa, csa;
    const float *b;
    int64_t ldb;
    float *c;
    int64_t ldc;
    const float *bias;
    int acc;
    int64_t mb, nb, mblocks; /* block sizes, blocks along m */
} nn_job;

static void nn_task(void *ctx, int64_t t, int slot)
{
    (void)slot;
    const nn_job *j = ctx;
    const cn_gemm_ops *o = j->ops;
    const int64_t i0 = (t % j->mblocks) * j->mb, j0 = (t / j->mblocks) * j->nb;
    const int64_t i1 = i0 + j->mb < j->m ? i0 + j->mb : j->m, j1 = j0 + j->nb < j->n ? j0 + j->nb : j->n;
    float apack[CN_GEMM_MR_MAX * CN_GEMM_KC];
    int64_t boff[CN_GEMM_KC];
    for (int64_t p = 0; p < CN_GEMM_KC; p++) boff[p] = p * j->ldb;
    for (int64_t p0 = 0; p0 < j->k; p0 += CN_GEMM_KC) {
        const int64_t kc = j->k - p0 < CN_GEMM_KC ? j->k - p0 : CN_GEMM_KC;
        const int acc = j->acc || p0 > 0;
        for (int64_t i = i0; i < i1; i += o->mr) {
            const int rows = i1 - i < o->mr ? (int)(i1 - i) : o->mr;
            cn_gemm_pack_a(apack, j->a + i * j->rsa + p0 * j->csa, j->rsa, j->csa, rows, kc, o->mr);
            const float *bias = j->bias ? j->bias + i : NULL;
            for (int64_t jj = j0; jj < j1; jj += o->nr) {
                const int cols = j1 - jj < o->nr ? (int)(j1 - jj) : o->nr;
                o->nn(kc, apack, j->b + p0 * j->ldb + jj, boff, j->c + i * j->ldc + jj, j->ldc, rows, cols, bias, acc);
            }
        }
    }
}

void cn_gemm_nn_run(const cn_gemm_ops *ops, int64_t m, int64_t n, int64_t k, const float *a, int64_t rsa, int64_t csa,
                    const float *b, int64_t ldb, float *c, int64_t ldc, const float *bias, int acc, int max_threads)
{
    if (m <= 0 || n <= 0) return;
    if (k <= 0) {
        /* an empty sum: C = bias (or 0), or unchanged when accumulating */
        for (int64_t i = 0; i < m && !acc; i++)
            for (int64_t jj = 0; jj < n; jj++) c[i * ldc + jj] = bias ? bias[i] : 0.0f;
        return;
    }
    nn_job j = {ops, m, n, k, a, rsa, csa, b, ldb, c, ldc, bias, acc, 0, 0, 0};
    j.mb = (int64_t)ops->mr * 16;
    j.nb = (int64_t)ops->nr * (512 / ops->nr);
    const int slots = cn_gemm_threads_for((double)m * (double)n * (double)k, max_threads);
    /* with several threads and few blocks, make blocks smaller (still whole tiles) */
    while (slots > 1 && ((m + j.mb - 1) / j.mb) * ((n + j.nb - 1) / j.nb) < 2 * slots && j.nb > ops->nr)
        j.nb -= ops->nr * (j.nb / ops->nr / 2 > 0 ? j.nb / ops->nr / 2 : 1);
    j.mblocks = (m + j.mb - 1) / j.mb;
    cn_run_tasks(j.mblocks * ((n + j.nb - 1) / j.nb), slots, nn_task, &j);
}

typedef struct {
    const cn_gemm_ops *ops;
    int64_t m, n, k;
    const float *a;
    int64_t lda;
    const float *b;
    int64_t ldb;
    float *c;
    int64_t ldc;
    const float *colbias;
    int acc;
    int dr, dc; /* the tile: the multi-row kernel's, or one row (nt1) when m is below a tile */
    cn_gemm_nt_fn nt;
} nt_job;

static void nt_task(void *ctx, int64_t t, int slot)
{
    (void)slot;
    const nt_job *j = ctx;
    /* task = one row strip of dr rows, all columns (the strip stays in L1 across columns) */
    const int64_t i0 = t * j->dr;
    const int rows = j->m - i0 < j->dr ? (int)(j->m - i0) : j->dr;
    const float *ar[CN_GEMM_DC_MAX], *br[CN_GEMM_DC_MAX];
    for (int i = 0; i < j->dr; i++) ar[i] = j->a + (i0 + (i < rows ? i : rows - 1)) * j->lda;
    for (int64_t c0 = 0; c0 < j->n; c0 += j->dc) {
        const int cols = j->n - c0 < j->dc ? (int)(j->n - c0) : j->dc;
        for (int q = 0; q < j->dc; q++) br[q] = j->b + (c0 + (q < cols ? q : cols - 1)) * j->ldb;
        j->nt(j->k, ar, br, j->c + i0 * j->ldc + c0, j->ldc, rows, cols, j->colbias ? j->colbias + c0 : NULL, j->acc);
    }
}

void cn_gemm_nt_run(const cn_gemm_ops *ops, int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
                    const float *b, int64_t ldb, float *c, int64_t ldc, const float *colbias, int acc, int max_threads)
{
    if (m <= 0 || n <= 0) return;
    const int rows = m < ops->dr;
    nt_job j = {ops, m, n, k, a, lda, b, ldb, c, ldc, colbias, acc, rows ? 1 : ops->dr, rows ? ops->dc1 : ops->dc,
                rows ? ops->nt1 : ops->nt};
    const int slots = cn_gemm_threads_for((double)m * (double)n * (double)k, max_threads);
    cn_run_tasks((m + j.dr - 1) / j.dr, slots, nt_task, &j);
}
