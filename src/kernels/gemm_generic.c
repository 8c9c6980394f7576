/* gemm_generic.c — portable C micro-kernels (baseline x86-64 or any CPU): nn 4x16 and nt
 * 2x2 with the accumulators in local arrays the compiler keeps in registers. */
#include "gemm.h"

#define MR 4
#define NR 16

static void nn(int64_t k, const float *a, const float *b, const int64_t *boff, float *c, int64_t ldc, int m, int n,
               const float *bias, int acc)
{
    float t[MR][NR];
    for (int i = 0; i < MR; i++)
        for (int j = 0; j < NR; j++) t[i][j] = (bias && !acc && i < m) ? bias[i] : 0.0f;
    if (n == NR) {
        for (int64_t p = 0; p < k; p++) {
            const float *bp = b + boff[p], *ap = a + p * MR;
            for (int i = 0; i < MR; i++)
                for (int j = 0; j < NR; j++) t[i][j] += ap[i] * bp[j];
        }
    } else {
        for (int64_t p = 0; p < k; p++) {
            const float *bp = b + boff[p], *ap = a + p * MR;
            for (int i = 0; i < MR; i++)
                for (int j = 0; j < n; j++) t[i][j] += ap[i] * bp[j];
        }
    }
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) c[i * ldc + j] = acc ? c[i * ldc + j] + t[i][j] : t[i][j];
}

static void nn_a(int64_t k, const float *a, int64_t lda, const float *b, const int64_t *boff, float *c, int64_t ldc,
                 int m, int n, const float *bias, int acc)
{
    float t[MR][NR];
    for (int i = 0; i < MR; i++)
        for (int j = 0; j < NR; j++) t[i][j] = (bias && !acc && i < m) ? bias[i] : 0.0f;
    for (int64_t p = 0; p < k; p++) {
        const float *bp = b + boff[p];
        for (int i = 0; i < m; i++) {
            const float av = a[i * lda + p];
            for (int j = 0; j < n; j++) t[i][j] += av * bp[j];
        }
    }
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) c[i * ldc + j] = acc ? c[i * ldc + j] + t[i][j] : t[i][j];
}

#define DR 2
#define DC 2

static void nt(int64_t len, const float *const *a, const float *const *b, float *c, int64_t ldc, int m, int n,
               const float *colbias, int acc)
{
    /* eight partial sums per output, combined pairwise at the end (as a vector unit would) */
    float s[DR][DC][8] = {{{0}}};
    int64_t q = 0;
    for (; q + 8 <= len; q += 8)
        for (int i = 0; i < DR; i++)
            for (int j = 0; j < DC; j++)
                for (int l = 0; l < 8; l++) s[i][j][l] += a[i][q + l] * b[j][q + l];
    for (int l = 0; q + l < len; l++)
        for (int i = 0; i < DR; i++)
            for (int j = 0; j < DC; j++) s[i][j][l] += a[i][q + l] * b[j][q + l];
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            const float *v = s[i][j];
            const float sum = ((v[0] + v[4]) + (v[2] + v[6])) + ((v[1] + v[5]) + (v[3] + v[7]));
            float *cp = c + i * ldc + j;
            *cp = (acc ? *cp : colbias ? colbias[j] : 0.0f) + sum;
        }
}

#define NR1 64

static void nn1(int64_t k, const float *a, const float *b, const int64_t *boff, float *c, int64_t ldc, int m, int n,
                const float *bias, int acc)
{
    (void)ldc, (void)m;
    float t[NR1];
    for (int j = 0; j < NR1; j++) t[j] = bias && !acc ? bias[0] : 0.0f;
    for (int64_t p = 0; p < k; p++) {
        const float *bp = b + boff[p];
        const float av = a[p];
        for (int j = 0; j < n; j++) t[j] += av * bp[j];
    }
    for (int j = 0; j < n; j++) c[j] = acc ? c[j] + t[j] : t[j];
}

#define DC1 12

static void nt1(int64_t len, const float *const *a, const float *const *b, float *c, int64_t ldc, int m, int n,
                const float *colbias, int acc)
{
    (void)ldc, (void)m;
    for (int j = 0; j < n; j++) {
        float s[8] = {0};
        int64_t q = 0;
        for (; q + 8 <= len; q += 8)
            for (int l = 0; l < 8; l++) s[l] += a[0][q + l] * b[j][q + l];
        for (int l = 0; q + l < len; l++) s[l] += a[0][q + l] * b[j][q + l];
        const float sum = ((s[0] + s[4]) + (s[2] + s[6])) + ((s[1] + s[5]) + (s[3] + s[7]));
        c[j] = (acc ? c[j] : colbias ? colbias[j] : 0.0f) + sum;
    }
}

static float sum(const float *x, int64_t n)
{
    float s[8] = {0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int l = 0; l < 8; l++) s[l] += x[i + l];
    for (int l = 0; i + l < n; l++) s[l] += x[i + l];
    return ((s[0] + s[4]) + (s[2] + s[6])) + ((s[1] + s[5]) + (s[3] + s[7]));
}


static void pack_runs(float *dst, int64_t ld, const float *src, const int64_t *rowoff, int64_t k, const int64_t *runs,
                      int nruns)
{
    for (int64_t p = 0; p < k; p++) {
        const float *s = src + rowoff[p];
        float *d = dst + p * ld;
        for (int r = 0; r < nruns; r++) {
            const int64_t *run = runs + 3 * r;
            for (int64_t i = 0; i < run[2]; i++) d[run[0] + i] = s[run[1] + i];
        }
    }
}

static void pack_gather(float *dst, int64_t ld, const float *src, const int64_t *rowq, int64_t k, const int64_t *coloff,
                        int n)
{
    for (int64_t p = 0; p < k; p++) {
        const float *s = src + rowq[p];
        float *d = dst + p * ld;
        for (int j = 0; j < n; j++) d[j] = s[coloff[j]];
    }
}


const cn_gemm_ops cn_gemm_generic = {"generic", MR, NR, nn, nn_a, DR, DC, nt, NR1, nn1, DC1, nt1, sum, pack_runs, pack_gather};
