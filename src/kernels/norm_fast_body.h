/* norm_fast_body.h — private: batch norm's per-row loops (norm_fast.h), compiled once per ISA
 * (norm_fast.c baseline, norm_fast_avx2.c, norm_fast_avx512.c) from this one source. The
 * lanes are explicit and the code is ISO C (no FMA contraction), so every ISA computes the
 * same operations in the same order: the same bits; only the vector width differs.
 * Define NF_TABLE (the table's name) before including. */
#include "kernels/norm_fast.h"

/* independent double accumulators per row: they fix the order of every sum whatever the ISA
 * (changing LANES changes the bits of batch statistics, and so of trained weights: the
 * published experiment figures were made with 8) */
#define LANES 8

/* sum of r[0..n) */
static double row_sum(const float *r, int64_t n)
{
    double acc[LANES] = {0};
    int64_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int j = 0; j < LANES; j++) acc[j] += r[i + j];
    double s = 0;
    for (; i < n; i++) s += r[i];
    for (int j = 0; j < LANES; j++) s += acc[j];
    return s;
}

/* sum of (r[i] - m)^2 */
static double row_sqdev(const float *r, int64_t n, double m)
{
    double acc[LANES] = {0};
    int64_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int j = 0; j < LANES; j++) {
            const double d = r[i + j] - m;
            acc[j] += d * d;
        }
    double s = 0;
    for (; i < n; i++) s += ((double)r[i] - m) * ((double)r[i] - m);
    for (int j = 0; j < LANES; j++) s += acc[j];
    return s;
}

/* sum of dy[i] and of dy[i] * (x[i] - m), added to *sdy and *sdyx */
static void row_dsums(const float *dy, const float *x, int64_t n, double m, double *sdy, double *sdyx)
{
    double a[LANES] = {0}, b[LANES] = {0};
    int64_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int j = 0; j < LANES; j++) {
            a[j] += dy[i + j];
            b[j] += dy[i + j] * (x[i + j] - m);
        }
    double s = 0, t = 0;
    for (; i < n; i++) s += dy[i], t += (double)dy[i] * ((double)x[i] - m);
    for (int j = 0; j < LANES; j++) s += a[j], t += b[j];
    *sdy += s;
    *sdyx += t;
}

/* y = (x - m) * a + b over a row */
static void row_affine(float *y, const float *x, int64_t n, double m, double a, double b)
{
    for (int64_t i = 0; i < n; i++) y[i] = (float)((x[i] - m) * a + b);
}

/* dx += dy * a + (x - m) * b + k over a row */
static void row_dx(float *dx, const float *dy, const float *x, int64_t n, double m, double a, double b, double k)
{
    for (int64_t i = 0; i < n; i++) dx[i] += (float)(dy[i] * a + (x[i] - m) * b + k);
}

const cn_bn_rows NF_TABLE = {row_sum, row_sqdev, row_dsums, row_affine, row_dx};
