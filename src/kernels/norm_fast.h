/* norm_fast.h — private: the per-row loops of batch norm's fast kernels (norm_fast.c), one
 * table per ISA built from norm_fast_body.h, all computing the same bits. Rows are contiguous
 * runs of n floats of one channel; m is the channel's mean. */
#ifndef CN_KERNELS_NORM_FAST_H
#define CN_KERNELS_NORM_FAST_H

#include <stdint.h>

#include "convnet/core.h"

typedef struct cn_bn_rows {
    double (*sum)(const float *r, int64_t n);                  /* sum r */
    double (*sqdev)(const float *r, int64_t n, double m);      /* sum (r - m)^2 */
    /* *sdy += sum dy; *sdyx += sum dy * (x - m) */
    void (*dsums)(const float *dy, const float *x, int64_t n, double m, double *sdy, double *sdyx);
    /* y = (x - m) * a + b, rounded to float */
    void (*affine)(float *y, const float *x, int64_t n, double m, double a, double b);
    /* dx += (float)(dy * a + (x - m) * b + k) */
    void (*dx)(float *dx, const float *dy, const float *x, int64_t n, double m, double a, double b, double k);
} cn_bn_rows;

extern const cn_bn_rows cn_bn_rows_generic;
#ifdef CN_HAVE_AVX2
extern const cn_bn_rows cn_bn_rows_avx2;
#endif
#ifdef CN_HAVE_AVX512
extern const cn_bn_rows cn_bn_rows_avx512;
#endif

#endif
