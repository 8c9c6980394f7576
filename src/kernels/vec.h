/* vec.h — the kernel dispatch point: a table of vector primitives per ISA.
 * Every ISA's table computes the same functions; the generic one is the oracle that tests
 * compare the others against. Later kernel families (gemm, conv, pooling) add their own
 * tables the same way: one struct of function pointers per family, one instance per ISA,
 * chosen through cn_isa_active(). Kernels never allocate, print or fail. */
#ifndef CN_KERNELS_VEC_H
#define CN_KERNELS_VEC_H

#include <stdint.h>

#include "convnet/core.h"

typedef struct cn_vec_ops {
    const char *isa;
    /* sum_i a[i] * b[i], accumulated in float in an ISA-specific order */
    float (*dot)(const float *a, const float *b, int64_t n);
    /* y[i] += alpha * x[i] */
    void (*axpy)(float *y, float alpha, const float *x, int64_t n);
    /* y[i] = max(x[i], 0); y may equal x */
    void (*relu)(float *y, const float *x, int64_t n);
    /* `iters` rounds of independent FMAs on registers; returns a value that depends on them
     * (so the work cannot be optimized away). Measures peak FLOP/s: flops = iters * fma_flops_per_iter. */
    float (*fma_loop)(int64_t iters);
    int fma_flops_per_iter;
} cn_vec_ops;

extern const cn_vec_ops cn_vec_generic;
#ifdef CN_HAVE_AVX2
extern const cn_vec_ops cn_vec_avx2;
#endif
#ifdef CN_HAVE_AVX512
extern const cn_vec_ops cn_vec_avx512;
#endif

/* The table for the active ISA, or for a given one (NULL if not built/available). */
const cn_vec_ops *cn_vec(void);
const cn_vec_ops *cn_vec_for(cn_isa isa);

#endif
