/* gemm_avx512.c — AVX-512F micro-kernels (compiled with -mavx512f): nn 8x48 (24 zmm
 * accumulators, three B vectors and one broadcast per step: 24 FMAs for 11 loads, which
 * keeps both FMA pipes busy), nt 4x6 (24 dot-product accumulators). */
#include "gemm.h"

#include <immintrin.h>

#define MR 8
#define NR 48

static inline __mmask16 tail_mask(int64_t left)
{
    return left >= 16 ? (__mmask16)0xFFFF : left <= 0 ? (__mmask16)0 : (__mmask16)((1u << left) - 1);
}

#define NN_ROW(i)                                                                                                      \
    do {                                                                                                               \
        const __m512 a_ = _mm512_set1_ps(ap[i]);                                                                       \
        c##i##0 = _mm512_fmadd_ps(a_, b0, c##i##0);                                                                    \
        c##i##1 = _mm512_fmadd_ps(a_, b1, c##i##1);                                                                    \
        c##i##2 = _mm512_fmadd_ps(a_, b2, c##i##2);                                                                    \
    } while (0)

#define NN_STEP(LOAD0, LOAD1, LOAD2)                                                                                   \
    do {                                                                                                               \
        const float *bp = b + boff[p];                                                                                 \
        const float *ap = a + p * MR;                                                                                  \
        const __m512 b0 = LOAD0, b1 = LOAD1, b2 = LOAD2;                                                               \
        NN_ROW(0); NN_ROW(1); NN_ROW(2); NN_ROW(3);                                                                    \
        NN_ROW(4); NN_ROW(5); NN_ROW(6); NN_ROW(7);                                                                    \
    } while (0)

/* narrow tiles (n <= 16, n <= 32): only the B vectors that hold columns are loaded and
 * multiplied, so a short last tile (49 columns = 48 + 1) costs a third of a full one; every
 * element still gets the same chain of FMAs (the same bits) */
#define NN_ROW1(i) c##i##0 = _mm512_fmadd_ps(_mm512_set1_ps(ap[i]), b0, c##i##0)
#define NN_ROW2(i)                                                                                                     \
    do {                                                                                                               \
        const __m512 a_ = _mm512_set1_ps(ap[i]);                                                                       \
        c##i##0 = _mm512_fmadd_ps(a_, b0, c##i##0);                                                                    \
        c##i##1 = _mm512_fmadd_ps(a_, b1, c##i##1);                                                                    \
    } while (0)
#define NN_STEP1()                                                                                                     \
    do {                                                                                                               \
        const float *ap = a + p * MR;                                                                                  \
        const __m512 b0 = _mm512_maskz_loadu_ps(k0, b + boff[p]);                                                      \
        NN_ROW1(0); NN_ROW1(1); NN_ROW1(2); NN_ROW1(3);                                                                \
        NN_ROW1(4); NN_ROW1(5); NN_ROW1(6); NN_ROW1(7);                                                                \
    } while (0)
#define NN_STEP2()                                                                                                     \
    do {                                                                                                               \
        const float *bp = b + boff[p];                                                                                 \
        const float *ap = a + p * MR;                                                                                  \
        const __m512 b0 = _mm512_loadu_ps(bp), b1 = _mm512_maskz_loadu_ps(k1, bp + 16);                                \
        NN_ROW2(0); NN_ROW2(1); NN_ROW2(2); NN_ROW2(3);                                                                \
        NN_ROW2(4); NN_ROW2(5); NN_ROW2(6); NN_ROW2(7);                                                                \
    } while (0)

#define NN_INIT(i) __m512 c##i##0, c##i##1, c##i##2;                                                                   \
    c##i##0 = c##i##1 = c##i##2 = (bias && !acc && i < m) ? _mm512_set1_ps(bias[i]) : _mm512_setzero_ps()

#define NN_STORE(i)                                                                                                    \
    if (i < m) {                                                                                                       \
        float *cp = c + (int64_t)i * ldc;                                                                              \
        if (acc) {                                                                                                     \
            c##i##0 = _mm512_add_ps(c##i##0, _mm512_maskz_loadu_ps(k0, cp));                                           \
            c##i##1 = _mm512_add_ps(c##i##1, _mm512_maskz_loadu_ps(k1, cp + 16));                                      \
            c##i##2 = _mm512_add_ps(c##i##2, _mm512_maskz_loadu_ps(k2, cp + 32));                                      \
        }                                                                                                              \
        _mm512_mask_storeu_ps(cp, k0, c##i##0);                                                                        \
        _mm512_mask_storeu_ps(cp + 16, k1, c##i##1);                                                                   \
        _mm512_mask_storeu_ps(cp + 32, k2, c##i##2);                                                                   \
    }

static void nn(int64_t k, const float *a, const float *b, const int64_t *boff, float *c, int64_t ldc, int m, int n,
               const float *bias, int acc)
{
    NN_INIT(0); NN_INIT(1); NN_INIT(2); NN_INIT(3);
    NN_INIT(4); NN_INIT(5); NN_INIT(6); NN_INIT(7);
    const __mmask16 k0 = tail_mask(n), k1 = tail_mask(n - 16), k2 = tail_mask(n - 32);
    if (n == NR) {
        for (int64_t p = 0; p < k; p++)
            NN_STEP(_mm512_loadu_ps(bp), _mm512_loadu_ps(bp + 16), _mm512_loadu_ps(bp + 32));
    } else if (n <= 16) {
        for (int64_t p = 0; p < k; p++) NN_STEP1();
    } else if (n <= 32) {
        for (int64_t p = 0; p < k; p++) NN_STEP2();
    } else {
        for (int64_t p = 0; p < k; p++)
            NN_STEP(_mm512_maskz_loadu_ps(k0, bp), _mm512_maskz_loadu_ps(k1, bp + 16), _mm512_maskz_loadu_ps(k2, bp + 32));
    }
    NN_STORE(0) NN_STORE(1) NN_STORE(2) NN_STORE(3)
    NN_STORE(4) NN_STORE(5) NN_STORE(6) NN_STORE(7)
}

/* nn_a: A rows in place (row pointers; rows past m alias row 0 and are not stored) */
#define NA_ROW(i)                                                                                                      \
    do {                                                                                                               \
        const __m512 a_ = _mm512_set1_ps(a##i[p]);                                                                     \
        c##i##0 = _mm512_fmadd_ps(a_, b0, c##i##0);                                                                    \
        c##i##1 = _mm512_fmadd_ps(a_, b1, c##i##1);                                                                    \
        c##i##2 = _mm512_fmadd_ps(a_, b2, c##i##2);                                                                    \
    } while (0)
#define NA_ROW1(i) c##i##0 = _mm512_fmadd_ps(_mm512_set1_ps(a##i[p]), b0, c##i##0)
#define NA_ROW2(i)                                                                                                     \
    do {                                                                                                               \
        const __m512 a_ = _mm512_set1_ps(a##i[p]);                                                                     \
        c##i##0 = _mm512_fmadd_ps(a_, b0, c##i##0);                                                                    \
        c##i##1 = _mm512_fmadd_ps(a_, b1, c##i##1);                                                                    \
    } while (0)
#define NA_STEP1()                                                                                                     \
    do {                                                                                                               \
        const __m512 b0 = _mm512_maskz_loadu_ps(k0, b + boff[p]);                                                      \
        NA_ROW1(0); NA_ROW1(1); NA_ROW1(2); NA_ROW1(3);                                                                \
        NA_ROW1(4); NA_ROW1(5); NA_ROW1(6); NA_ROW1(7);                                                                \
    } while (0)
#define NA_STEP2()                                                                                                     \
    do {                                                                                                               \
        const float *bp = b + boff[p];                                                                                 \
        const __m512 b0 = _mm512_loadu_ps(bp), b1 = _mm512_maskz_loadu_ps(k1, bp + 16);                                \
        NA_ROW2(0); NA_ROW2(1); NA_ROW2(2); NA_ROW2(3);                                                                \
        NA_ROW2(4); NA_ROW2(5); NA_ROW2(6); NA_ROW2(7);                                                                \
    } while (0)
#define NA_STEP(LOAD0, LOAD1, LOAD2)                                                                                   \
    do {                                                                                                               \
        const float *bp = b + boff[p];                                                                                 \
        const __m512 b0 = LOAD0, b1 = LOAD1, b2 = LOAD2;                                                               \
        NA_ROW(0); NA_ROW(1); NA_ROW(2); NA_ROW(3);                                                                    \
        NA_ROW(4); NA_ROW(5); NA_ROW(6); NA_ROW(7);                                                                    \
    } while (0)

static void nn_a(int64_t k, const float *a, int64_t lda, const float *b, const int64_t *boff, float *c, int64_t ldc,
                 int m, int n, const float *bias, int acc)
{
    const float *a0 = a, *a1 = a + (1 < m ? 1 : 0) * lda, *a2 = a + (2 < m ? 2 : 0) * lda, *a3 = a + (3 < m ? 3 : 0) * lda;
    const float *a4 = a + (4 < m ? 4 : 0) * lda, *a5 = a + (5 < m ? 5 : 0) * lda, *a6 = a + (6 < m ? 6 : 0) * lda;
    const float *a7 = a + (7 < m ? 7 : 0) * lda;
    NN_INIT(0); NN_INIT(1); NN_INIT(2); NN_INIT(3);
    NN_INIT(4); NN_INIT(5); NN_INIT(6); NN_INIT(7);
    const __mmask16 k0 = tail_mask(n), k1 = tail_mask(n - 16), k2 = tail_mask(n - 32);
    if (n == NR) {
        for (int64_t p = 0; p < k; p++)
            NA_STEP(_mm512_loadu_ps(bp), _mm512_loadu_ps(bp + 16), _mm512_loadu_ps(bp + 32));
    } else if (n <= 16) {
        for (int64_t p = 0; p < k; p++) NA_STEP1();
    } else if (n <= 32) {
        for (int64_t p = 0; p < k; p++) NA_STEP2();
    } else {
        for (int64_t p = 0; p < k; p++)
            NA_STEP(_mm512_maskz_loadu_ps(k0, bp), _mm512_maskz_loadu_ps(k1, bp + 16), _mm512_maskz_loadu_ps(k2, bp + 32));
    }
    NN_STORE(0) NN_STORE(1) NN_STORE(2) NN_STORE(3)
    NN_STORE(4) NN_STORE(5) NN_STORE(6) NN_STORE(7)
}

/* ---- nt: 4 rows of A x 6 rows of B ---- */
#define DR 4
#define DC 6

#define NT_ROW(i, LOAD)                                                                                                \
    do {                                                                                                               \
        const __m512 a_ = LOAD(a##i + q);                                                                              \
        s##i##0 = _mm512_fmadd_ps(a_, v0, s##i##0);                                                                    \
        s##i##1 = _mm512_fmadd_ps(a_, v1, s##i##1);                                                                    \
        s##i##2 = _mm512_fmadd_ps(a_, v2, s##i##2);                                                                    \
        s##i##3 = _mm512_fmadd_ps(a_, v3, s##i##3);                                                                    \
        s##i##4 = _mm512_fmadd_ps(a_, v4, s##i##4);                                                                    \
        s##i##5 = _mm512_fmadd_ps(a_, v5, s##i##5);                                                                    \
    } while (0)

#define NT_STEP(LOAD)                                                                                                  \
    do {                                                                                                               \
        const __m512 v0 = LOAD(b0 + q), v1 = LOAD(b1 + q), v2 = LOAD(b2 + q);                                          \
        const __m512 v3 = LOAD(b3 + q), v4 = LOAD(b4 + q), v5 = LOAD(b5 + q);                                          \
        NT_ROW(0, LOAD); NT_ROW(1, LOAD); NT_ROW(2, LOAD); NT_ROW(3, LOAD);                                            \
    } while (0)

#define NT_DECL(i) __m512 s##i##0, s##i##1, s##i##2, s##i##3, s##i##4, s##i##5;                                        \
    s##i##0 = s##i##1 = s##i##2 = s##i##3 = s##i##4 = s##i##5 = _mm512_setzero_ps()

#define LOADU(p) _mm512_loadu_ps(p)
#define LOADM(p) _mm512_maskz_loadu_ps(tm, p)

#define NT_OUT(i, j)                                                                                                   \
    if (i < m && j < n) {                                                                                              \
        float *cp = c + (int64_t)i * ldc + j;                                                                          \
        const float base = acc ? *cp : colbias ? colbias[j] : 0.0f;                                                    \
        *cp = base + _mm512_reduce_add_ps(s##i##j);                                                                    \
    }
#define NT_OUTROW(i) NT_OUT(i, 0) NT_OUT(i, 1) NT_OUT(i, 2) NT_OUT(i, 3) NT_OUT(i, 4) NT_OUT(i, 5)

static void nt(int64_t len, const float *const *a, const float *const *b, float *c, int64_t ldc, int m, int n,
               const float *colbias, int acc)
{
    const float *a0 = a[0], *a1 = a[1], *a2 = a[2], *a3 = a[3];
    const float *b0 = b[0], *b1 = b[1], *b2 = b[2], *b3 = b[3], *b4 = b[4], *b5 = b[5];
    NT_DECL(0); NT_DECL(1); NT_DECL(2); NT_DECL(3);
    int64_t q = 0;
    for (; q + 16 <= len; q += 16) NT_STEP(LOADU);
    if (q < len) {
        const __mmask16 tm = tail_mask(len - q);
        NT_STEP(LOADM);
    }
    NT_OUTROW(0) NT_OUTROW(1) NT_OUTROW(2) NT_OUTROW(3)
}

/* ---- single-row kernels ---- */
#define NR1 128 /* 8 vectors: 8 independent FMA chains */

#define NN1_ALL(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)
#define NN1_DECL(v) __m512 s##v = init; const __mmask16 k##v = tail_mask(n - 16 * v);
#define NN1_FULL(v) s##v = _mm512_fmadd_ps(av, _mm512_loadu_ps(bp + 16 * v), s##v);
#define NN1_PART(v) s##v = _mm512_fmadd_ps(av, _mm512_maskz_loadu_ps(k##v, bp + 16 * v), s##v);
#define NN1_STORE(v)                                                                                                   \
    if (acc) s##v = _mm512_add_ps(s##v, _mm512_maskz_loadu_ps(k##v, c + 16 * v));                                     \
    _mm512_mask_storeu_ps(c + 16 * v, k##v, s##v);

static void nn1(int64_t k, const float *a, const float *b, const int64_t *boff, float *c, int64_t ldc, int m, int n,
                const float *bias, int acc)
{
    (void)ldc, (void)m;
    const __m512 init = bias && !acc ? _mm512_set1_ps(bias[0]) : _mm512_setzero_ps();
    NN1_ALL(NN1_DECL)
    if (n == NR1) {
        for (int64_t p = 0; p < k; p++) {
            const float *bp = b + boff[p];
            const __m512 av = _mm512_set1_ps(a[p]);
            NN1_ALL(NN1_FULL)
        }
    } else {
        for (int64_t p = 0; p < k; p++) {
            const float *bp = b + boff[p];
            const __m512 av = _mm512_set1_ps(a[p]);
            NN1_ALL(NN1_PART)
        }
    }
    NN1_ALL(NN1_STORE)
}

#define DC1 12
#define NT1_ALL(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
#define NT1_DECL(j) __m512 s##j = _mm512_setzero_ps(); const float *b##j = b[j < n ? j : 0];
#define NT1_STEP(j) s##j = _mm512_fmadd_ps(av, LOAD(b##j + q), s##j);
#define NT1_OUT(j)                                                                                                     \
    if (j < n) c[j] = (acc ? c[j] : colbias ? colbias[j] : 0.0f) + _mm512_reduce_add_ps(s##j);

static void nt1(int64_t len, const float *const *a, const float *const *b, float *c, int64_t ldc, int m, int n,
                const float *colbias, int acc)
{
    (void)ldc, (void)m;
    const float *a0 = a[0];
    NT1_ALL(NT1_DECL)
    int64_t q = 0;
#define LOAD LOADU
    for (; q + 16 <= len; q += 16) {
        const __m512 av = LOADU(a0 + q);
        NT1_ALL(NT1_STEP)
    }
#undef LOAD
#define LOAD LOADM
    if (q < len) {
        const __mmask16 tm = tail_mask(len - q);
        const __m512 av = LOADM(a0 + q);
        NT1_ALL(NT1_STEP)
    }
#undef LOAD
    NT1_ALL(NT1_OUT)
}

static float sum(const float *x, int64_t n)
{
    __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    int64_t i = 0;
    for (; i + 64 <= n; i += 64) {
        s0 = _mm512_add_ps(s0, _mm512_loadu_ps(x + i));
        s1 = _mm512_add_ps(s1, _mm512_loadu_ps(x + i + 16));
        s2 = _mm512_add_ps(s2, _mm512_loadu_ps(x + i + 32));
        s3 = _mm512_add_ps(s3, _mm512_loadu_ps(x + i + 48));
    }
    for (; i < n; i += 16) s0 = _mm512_add_ps(s0, _mm512_maskz_loadu_ps(tail_mask(n - i), x + i));
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}


static void pack_runs(float *dst, int64_t ld, const float *src, const int64_t *rowoff, int64_t k, const int64_t *runs,
                      int nruns)
{
    for (int64_t p = 0; p < k; p++) {
        const float *s = src + rowoff[p];
        float *d = dst + p * ld;
        for (int r = 0; r < nruns; r++) {
            const int64_t *run = runs + 3 * r;
            const __mmask16 m = tail_mask(run[2]);
            _mm512_mask_storeu_ps(d + run[0], m, _mm512_maskz_loadu_ps(m, s + run[1]));
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
        for (; j + 8 <= n; j += 8)
            _mm256_storeu_ps(d + j, _mm512_i64gather_ps(_mm512_loadu_si512((const void *)(coloff + j)), s, 4));
        for (; j < n; j++) d[j] = s[coloff[j]];
    }
}


const cn_gemm_ops cn_gemm_avx512 = {"avx512", MR, NR, nn, nn_a, DR, DC, nt, NR1, nn1, DC1, nt1, sum, pack_runs, pack_gather};
