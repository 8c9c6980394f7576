/* gemm.h — private: the single-precision matrix-multiply micro-kernels (one table per ISA,
 * chosen through cn_isa_active() as in vec.h) and the blocked driver built on them.
 *
 * Two micro-kernels per ISA; everything fast in convnet (convolution, dense) is a loop
 * around one of them:
 *
 *   nn  C (m x n, row stride ldc) [+]= A B [+ bias per row], with
 *         A a packed panel: MR rows interleaved, a[p*MR + i] (rows past m zero-padded),
 *         B row p at b + boff[p], its n (<= NR) values contiguous. The offset table makes
 *         one kernel serve packed panels (boff[p] = p*NR), plain row-major matrices
 *         (boff[p] = p*ldb) and implicit im2col (boff[p] = where tap p of the input starts).
 *       Columns past n are neither loaded nor stored (masked), so B may end at its last
 *       valid column. Broadcast form: vectors run along n.
 *   nt  C[i][j] (+)= sum_q A_i[q] B_j[q] for i < m <= DR, j < n <= DC: rows of A and B are
 *       given by pointers (unused entries must still point at readable rows of `len`
 *       floats: the caller repeats a valid one). Dot-product form: vectors run along q,
 *       one horizontal sum per output at the end.
 *
 * Within one ISA a result never depends on where its tile lies (full or partial), so the
 * blocked driver gives bit-identical results for any thread count. Kernels never
 * allocate, print or fail. */
#ifndef CN_KERNELS_GEMM_H
#define CN_KERNELS_GEMM_H

#include <stdint.h>

#include "convnet/core.h"

/* the largest tile of any ISA: scratch is sized with these, so it fits every ISA */
#define CN_GEMM_MR_MAX 8
#define CN_GEMM_NR_MAX 48
#define CN_GEMM_NR1_MAX 128
#define CN_GEMM_DC_MAX 12
#define CN_GEMM_KC 128   /* depth of one block: an A panel is MR x KC, a B tile KC x NR (fits L1) */

typedef void (*cn_gemm_nn_fn)(int64_t k, const float *a, const float *b, const int64_t *boff, float *c, int64_t ldc,
                              int m, int n, const float *bias, int acc);
typedef void (*cn_gemm_nt_fn)(int64_t len, const float *const *a, const float *const *b, float *c, int64_t ldc, int m,
                              int n, const float *colbias, int acc);

typedef struct cn_gemm_ops {
    const char *isa;
    int mr, nr;        /* nn tile */
    /* C (m x n) = (acc ? C : bias[i] or 0) + sum_{p<k} a[p*mr + i] * b[boff[p] + j]; bias is
     * read only when acc == 0 (NULL: none) */
    cn_gemm_nn_fn nn;
    /* nn with A read in place: row i (< m; rows past m are not read) at a + i*lda, a[i*lda + p] */
    void (*nn_a)(int64_t k, const float *a, int64_t lda, const float *b, const int64_t *boff, float *c, int64_t ldc,
                 int m, int n, const float *bias, int acc);
    int dr, dc;        /* nt tile */
    /* C[i*ldc + j] = (acc ? C : colbias[j] or 0) + sum_{q<len} a[i][q] * b[j][q] */
    cn_gemm_nt_fn nt;
    /* single-row forms for depthwise and narrow grouped convolution, where a row tile would
     * be mostly padding: nn1 is nn with m = 1, a plain (a[p]) and n <= nr1; nt1 is nt with
     * m = 1 and n <= dc1 */
    int nr1;
    cn_gemm_nn_fn nn1;
    int dc1;
    cn_gemm_nt_fn nt1;
    /* sum of x[0..n), in an ISA-specific order */
    float (*sum)(const float *x, int64_t n);
    /* packing copies (exact): for p < k and each run (dcol, q, len <= 16) of `runs`,
     * dst[p*ld + dcol + i] = src[rowoff[p] + q + i], i < len */
    void (*pack_runs)(float *dst, int64_t ld, const float *src, const int64_t *rowoff, int64_t k, const int64_t *runs,
                      int nruns);
    /* for p < k, jj < n: dst[p*ld + jj] = src[rowq[p] + coloff[jj]] */
    void (*pack_gather)(float *dst, int64_t ld, const float *src, const int64_t *rowq, int64_t k, const int64_t *coloff,
                        int n);
} cn_gemm_ops;

extern const cn_gemm_ops cn_gemm_generic;
#ifdef CN_HAVE_AVX2
extern const cn_gemm_ops cn_gemm_avx2;
#endif
#ifdef CN_HAVE_AVX512
extern const cn_gemm_ops cn_gemm_avx512;
#endif

/* The table for the active ISA, or for a given one (NULL if not built/available). */
const cn_gemm_ops *cn_gemm(void);
const cn_gemm_ops *cn_gemm_for(cn_isa isa);

/* Pack rows [0, m) x columns [0, k) of A, A(i, p) = a[i*rs + p*cs], into ceil(m/mr)
 * panels of mr x k (dst[panel*mr*k + p*mr + i]; rows past m are zero). */
void cn_gemm_pack_a(float *dst, const float *a, int64_t rs, int64_t cs, int64_t m, int64_t k, int mr);

/* Floats a packed copy of an m x k matrix takes with any ISA's mr: (m + MR_MAX - 1) * k,
 * since ceil(m/mr)*mr <= m + mr - 1. */
int64_t cn_gemm_packed_floats(int64_t m, int64_t k);

/* C (m x n) [+]= A B [+ bias (m) or NULL] with A(i, p) = a[i*rsa + p*csa] (any strides:
 * transposes are free), B row-major with row stride ldb (unit column stride), C row stride
 * ldc. acc = 0 overwrites C (with the bias added), acc = 1 adds to it (bias ignored).
 * Blocked (KC deep, NC wide), A packed panel by panel on the stack: no scratch. Threads:
 * tiles of C are split over cn_num_threads() (at most `max_threads` when > 0); each C
 * element is summed in the same order whatever the split. */
void cn_gemm_nn_run(const cn_gemm_ops *ops, int64_t m, int64_t n, int64_t k, const float *a, int64_t rsa, int64_t csa,
                    const float *b, int64_t ldb, float *c, int64_t ldc, const float *bias, int acc, int max_threads);

/* C (m x n) [+]= A B^T [+ colbias (n) or NULL] with A (m x k) and B (n x k) row-major,
 * row strides lda and ldb: every C element is one dot product of two contiguous rows. */
void cn_gemm_nt_run(const cn_gemm_ops *ops, int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
                    const float *b, int64_t ldb, float *c, int64_t ldc, const float *colbias, int acc, int max_threads);

/* Run fn(ctx, task, slot) for every task in [0, ntasks): slot s (0 <= s < slots) runs the
 * contiguous tasks [ntasks*s/slots, ntasks*(s+1)/slots), a split fixed by ntasks and slots
 * alone, through cn_parallel_for (serially when slots is 1 or the pool is busy). `slot`
 * indexes per-thread scratch: no two running tasks share one. */
typedef void (*cn_task_fn)(void *ctx, int64_t task, int slot);
void cn_run_tasks(int64_t ntasks, int slots, cn_task_fn fn, void *ctx);

/* Threads a kernel may use on `work` multiply-accumulates: 1 below a grain (~2^17 MACs per
 * thread, where waking a thread costs more than it saves), else up to cn_num_threads()
 * and `cap` (when > 0). */
int cn_gemm_threads_for(double work, int cap);

#endif
