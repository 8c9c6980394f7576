/* act_fast.h — private: SIMD activations (one table per ISA, as vec.h). The generic ISA has no
 * table: cn_act_forward/backward (act_fast.c) run the reference there. */
#ifndef CN_KERNELS_ACT_FAST_H
#define CN_KERNELS_ACT_FAST_H

#include <stdint.h>

#include "convnet/act.h"

typedef enum { CN_ACTV_IDENTITY, CN_ACTV_RELU, CN_ACTV_LEAKY, CN_ACTV_SIGMOID, CN_ACTV_TANH } cn_actv_kind;

typedef struct cn_act_vec {
    /* y = f(x), y may equal x; slope only for LEAKY */
    void (*forward)(float *y, const float *x, int64_t n, cn_actv_kind kind, float slope);
    /* dx += dy * f'(v): v = y, except LEAKY with slope < 0, where v = x (see act.h) */
    void (*backward)(float *dx, const float *dy, const float *v, int64_t n, cn_actv_kind kind, float slope);
} cn_act_vec;

#ifdef CN_HAVE_AVX2
extern const cn_act_vec cn_act_vec_avx2;
#endif
#ifdef CN_HAVE_AVX512
extern const cn_act_vec cn_act_vec_avx512;
#endif

#endif
