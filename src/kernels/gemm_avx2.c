/* gemm_avx2.c — AVX2+FMA micro-kernels (compiled with -mavx2 -mfma): nn 6x16 (12 ymm
 * accumulators, two B vectors and one broadcast per step), nt 3x3 (9 dot-product
 * accumulators and six row loads per step, within the 16 ymm registers). */
#include "gemm.h"

#include <immintrin.h>

#define MR 6
#define NR 16

static inline __m256i tail_mask(int64_t left)
{
    const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const int l = left < 0 ? 0 : left > 8 ? 8 : (int)left;
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(l), idx);
}

static inline float hsum(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

#define NN_ROW(i)                                                                                                      \
    do {                                                                                                               \
        const __m256 a_ = _mm256_broadcast_ss(ap + i);                                                                 \
        c##i##0 = _mm256_fmadd_ps(a_, b0, c##i##0);                                                                    \
        c##i##1 = _mm256_fmadd_ps(a_, b1, c##i##1);                                                                    \
    } while (0)

#define NN_STEP(LOAD0, LOAD1)                                                                                          \
    do {                                                                                                               \
        const float *bp = b + boff[p];                                                                                 \
        const float *ap = a + p * MR;                                                                                  \
        const __m256 b0 = LOAD0, b1 = LOAD1;                                                                           \
        NN_ROW(0); NN_ROW(1); NN_ROW(2); NN_ROW(3); NN_ROW(4); NN_ROW(5);                                              \
    } while (0)

#define NN_INIT(i) __m256 c##i##0, c##i##1;                                                                            \
    c##i##0 = c##i##1 = (bias && !acc && i < m) ? _mm256_set1_ps(bias[i]) : _mm256_setzero_ps()

#define NN_STORE(i)                                                                                                    \
    if (i < m) {                                                                                                       \
        float *cp = c + (int64_t)i * ldc;                                                                              \
        if (n == NR) {                                                                                                 \
            if (acc) {                                                                                                 \
                c##i##0 = _mm256_add_ps(c##i##0, _mm256_loadu_ps(cp));                                                 \
                c##i##1 = _mm256_add_ps(c##i##1, _mm256_loadu_ps(cp + 8));                                             \
            }                                                                                                          \
            _mm256_storeu_ps(cp, c##i##0);                                                                             \
            _mm256_storeu_ps(cp + 8, c##i##1);                                                                         \
        } else {                                                                                                       \
            if (acc) {                                                                                                 \
                c##i##0 = _mm256_add_ps(c##i##0, _mm256_maskload_ps(cp, k0));                                          \
                c##i##1 = _mm256_add_ps(c##i##1, _mm256_maskload_ps(cp + 8, k1));                                      \
            }                                                                                                          \
            _mm256_maskstore_ps(cp, k0, c##i##0);                                                                      \
            _mm256_maskstore_ps(cp + 8, k1, c##i##1);                                                                  \
        }                                                                                                              \
    }

static void nn(int64_t k, const float *a, const float *b, const int64_t *boff, float *c, int64_t ldc, int m, int n,
               const float *bias, int acc)
{
    NN_INIT(0); NN_INIT(1); NN_INIT(2); NN_INIT(3); NN_INIT(4); NN_INIT(5);
    const __m256i k0 = tail_mask(n), k1 = tail_mask(n - 8);
    if (n == NR) {
        for (int64_t p = 0; p < k; p++) NN_STEP(_mm256_loadu_ps(bp), _mm256_loadu_ps(bp + 8));
    } else {
        for (int64_t p = 0; p < k; p++) NN_STEP(_mm256_maskload_ps(bp, k0), _mm256_maskload_ps(bp + 8, k1));
    }
    NN_STORE(0) NN_STORE(1) NN_STORE(2) NN_STORE(3) NN_STORE(4) NN_STORE(5)
}

#define NA_ROW(i)                                                                                                      \
    do {                                                                                                               \
        const __m256 a_ = _mm256_broadcast_ss(a##i + p);                                                               \
        c##i##0 = _mm256_fmadd_ps(a_, b0, c##i##0);                                                                    \
        c##i##1 = _mm256_fmadd_ps(a_, b1, c##i##1);                                                                    \
    } while (0)
#define NA_STEP(LOAD0, LOAD1)                                                                                          \
    do {                                                                                                               \
        const float *bp = b + boff[p];                                                                                 \
        const __m256 b0 = LOAD0, b1 = LOAD1;                                                                           \
        NA_ROW(0); NA_ROW(1); NA_ROW(2); NA_ROW(3); NA_ROW(4); NA_ROW(5);                                              \
    } while (0)

/* nn_a: A rows in place (row pointers; rows past m alias row 0 and are not stored) */
static void nn_a(int64_t k, const float *a, int64_t lda, const float *b, const int64_t *boff, float *c, int64_t ldc,
                 int m, int n, const float *bias, int acc)
{
    const float *a0 = a, *a1 = a + (1 < m ? 1 : 0) * lda, *a2 = a + (2 < m ? 2 : 0) * lda, *a3 = a + (3 < m ? 3 : 0) * lda;
    const float *a4 = a + (4 < m ? 4 : 0) * lda, *a5 = a + (5 < m ? 5 : 0) * lda;
    NN_INIT(0); NN_INIT(1); NN_INIT(2); NN_INIT(3); NN_INIT(4); NN_INIT(5);
    const __m256i k0 = tail_mask(n), k1 = tail_mask(n - 8);
    if (n == NR) {
        for (int64_t p = 0; p < k; p++) NA_STEP(_mm256_loadu_ps(bp), _mm256_loadu_ps(bp + 8));
    } else {
        for (int64_t p = 0; p < k; p++) NA_STEP(_mm256_maskload_ps(bp, k0), _mm256_maskload_ps(bp + 8, k1));
    }
    NN_STORE(0) NN_STORE(1) NN_STORE(2) NN_STORE(3) NN_STORE(4) NN_STORE(5)
}

#define DR 3
#define DC 3

#define NT_ROW(i, LOAD)                                                                                                \
    do {                                                                                                               \
        const __m256 a_ = LOAD(a##i + q);                                                                              \
        s##i##0 = _mm256_fmadd_ps(a_, v0, s##i##0);                                                                    \
        s##i##1 = _mm256_fmadd_ps(a_, v1, s##i##1);                                                                    \
        s##i##2 = _mm256_fmadd_ps(a_, v2, s##i##2);                                                                    \
    } while (0)

#define NT_STEP(LOAD)                                                                                                  \
    do {                                                                                                               \
        const __m256 v0 = LOAD(b0 + q), v1 = LOAD(b1 + q), v2 = LOAD(b2 + q);                                          \
        NT_ROW(0, LOAD); NT_ROW(1, LOAD); NT_ROW(2, LOAD);                                                             \
    } while (0)

#define NT_DECL(i) __m256 s##i##0, s##i##1, s##i##2;                                                                   \
    s##i##0 = s##i##1 = s##i##2 = _mm256_setzero_ps()

#define LOADU(p) _mm256_loadu_ps(p)
#define LOADM(p) _mm256_maskload_ps(p, tm)

#define NT_OUT(i, j)                                                                                                   \
    if (i < m && j < n) {                                                                                              \
        float *cp = c + (int64_t)i * ldc + j;                                                                          \
        const float base = acc ? *cp : colbias ? colbias[j] : 0.0f;                                                    \
        *cp = base + hsum(s##i##j);                                                                                    \
    }

static void nt(int64_t len, const float *const *a, const float *const *b, float *c, int64_t ldc, int m, int n,
               const float *colbias, int acc)
{
    const float *a0 = a[0], *a1 = a[1], *a2 = a[2];
    const float *b0 = b[0], *b1 = b[1], *b2 = b[2];
    NT_DECL(0); NT_DECL(1); NT_DECL(2);
    int64_t q = 0;
    for (; q + 8 <= len; q += 8) NT_STEP(LOADU);
    if (q < len) {
        const __m256i tm = tail_mask(len - q);
        NT_STEP(LOADM);
    }
    NT_OUT(0, 0) NT_OUT(0, 1) NT_OUT(0, 2)
    NT_OUT(1, 0) NT_OUT(1, 1) NT_OUT(1, 2)
    NT_OUT(2, 0) NT_OUT(2, 1) NT_OUT(2, 2)
}

/* ---- single-row kernels ---- */
#define NR1 64 /* 8 vectors: 8 independent FMA chains */

#define NN1_ALL(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)
#define NN1_DECL(v) __m256 s##v = init; const __m256i k##v = tail_mask(n - 8 * v);
#define NN1_FULL(v) s##v = _mm256_fmadd_ps(av, _mm256_loadu_ps(bp + 8 * v), s##v);
#define NN1_PART(v) s##v = _mm256_fmadd_ps(av, _mm256_maskload_ps(bp + 8 * v, k##v), s##v);
#define NN1_STORE(v)                                                                                                   \
    if (acc) s##v = _mm256_add_ps(s##v, _mm256_maskload_ps(c + 8 * v, k##v));                                         \
    _mm256_maskstore_ps(c + 8 * v, k##v, s##v);

static void nn1(int64_t k, const float *a, const float *b, const int64_t *boff, float *c, int64_t ldc, int m, int n,
                const float *bias, int acc)
{
    (void)ldc, (void)m;
    const __m256 init = bias && !acc ? _mm256_set1_ps(bias[0]) : _mm256_setzero_ps();
    NN1_ALL(NN1_DECL)
    if (n == NR1) {
        for (int64_t p = 0; p < k; p++) {
            const float *bp = b + boff[p];
            const __m256 av = _mm256_broadcast_ss(a + p);
            NN1_ALL(NN1_FULL)
        }
    } else {
        for (int64_t p = 0; p < k; p++) {
            const float *bp = b + boff[p];
            const __m256 av = _mm256_broadcast_ss(a + p);
            NN1_ALL(NN1_PART)
        }
    }
    NN1_ALL(NN1_STORE)
}

#define DC1 12
#define NT1_ALL(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
#define NT1_DECL(j) __m256 s##j = _mm256_setzero_ps(); const float *b##j = b[j < n ? j : 0];
#define NT1_STEP(j) s##j = _mm256_fmadd_ps(av, LOAD(b##j + q), s##j);
#define NT1_OUT(j)                                                                                                     \
    if (j < n) c[j] = (acc ? c[j] : colbias ? colbias[j] : 0.0f) + hsum(s##j);

static void nt1(int64_t len, const float *const *a, const float *const *b, float *c, int64_t ldc, int m, int n,
                const float *colbias, int acc)
{
    (void)ldc, (void)m;
    const float *a0 = a[0];
    NT1_ALL(NT1_DECL)
    int64_t q = 0;
#define LOAD LOADU
    for (; q + 8 <= len; q += 8) {
        const __m256 av = LOADU(a0 + q);
        NT1_ALL(NT1_STEP)
    }
#undef LOAD
#define LOAD LOADM
    if (q < len) {
        const __m256i tm = tail_mask(len - q);
        const __m256 av = LOADM(a0 + q);
        NT1_ALL(NT1_STEP)
    }
#undef LOAD
    NT1_ALL(NT1_OUT)
}

static float sum(const float *x, int64_t n)
{
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm256_add_ps(s0, _mm256_loadu_ps(x + i));
        s1 = _mm256_add_ps(s1, _mm256_loadu_ps(x + i + 8));
        s2 = _mm256_add_ps(s2, _mm256_loadu_ps(x + i + 16));
        s3 = _mm256_add_ps(s3, _mm256_loadu_ps(x + i + 24));
    }
    for (; i < n; i += 8) s0 = _mm256_add_ps(s0, _mm256_maskload_ps(x + i, tail_mask(n - i)));
    return hsum(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
}


static void pack_runs(float *dst, int64_t ld, const float *src, const int64_t *rowoff, int64_t k, const int64_t *runs,
                      int nruns)
{
    for (int64_t p = 0; p < k; p++) {
        const float *s = src + rowoff[p];
        float *d = dst + p * ld;
        for (int r = 0; r < nruns; r++) {
            const int64_t *run = runs + 3 * r;
            const __m256i m0 = tail_mask(run[2]), m1 = tail_mask(run[2] - 8);
            _mm256_maskstore_ps(d + run[0], m0, _mm256_maskload_ps(s + run[1], m0));
            if (run[2] > 8) _mm256_maskstore_ps(d + run[0] + 8, m1, _mm256_maskload_ps(s + run[1] + 8, m1));
        }
    }
}

static void pack_gather(float *dst, int64_t ld, const float *src, const int64_t *rowq, int64_t k, const int64_t *coloff,
                        int n)
{
    for (int64_t p = 0; p < k; p++) {
        const float *s = src + rowq[p];
        float *d = dst + p * ld;
        int j = 0;
        for (; j + 4 <= n; j += 4)
            _mm_storeu_ps(d + j, _mm256_i64gather_ps(s, _mm256_loadu_si256((const __m256i *)(coloff + j)), 4));
        for (; j < n; j++) d[j] = s[coloff[j]];
    }
}


const cn_gemm_ops cn_gemm_avx2 = {"avx2", MR, NR, nn, nn_a, DR, DC, nt, NR1, nn1, DC1, nt1, sum, pack_runs, pack_gather};
