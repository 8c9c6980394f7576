/* act_fast.c — cn_act_forward / cn_act_backward: the SIMD table of the active ISA for the
 * common kinds (act_fast.h), the reference (act_ref.c) otherwise. */
#include <string.h>

#include "kernels/act_fast.h"

static const cn_act_vec *table(void)
{
    switch (cn_isa_active()) {
#ifdef CN_HAVE_AVX512
    case CN_ISA_AVX512: return &cn_act_vec_avx512;
#endif
#ifdef CN_HAVE_AVX2
    case CN_ISA_AVX2: return &cn_act_vec_avx2;
#endif
    default: return NULL;
    }
}

/* the SIMD kind of a, or -1 */
static int vec_kind(const cn_act *a)
{
    switch (a->kind) {
    case CN_ACT_IDENTITY: return CN_ACTV_IDENTITY;
    case CN_ACT_RELU: return CN_ACTV_RELU;
    case CN_ACT_LEAKY_RELU: return CN_ACTV_LEAKY;
    case CN_ACT_SIGMOID: return CN_ACTV_SIGMOID;
    case CN_ACT_TANH: return CN_ACTV_TANH;
    default: return -1;
    }
}

void cn_act_forward(float *y, const float *x, int64_t n, const cn_act *a)
{
    const cn_act_vec *t = table();
    const int k = vec_kind(a);
    if (!t || k < 0) {
        cn_act_ref_forward(y, x, n, a);
        return;
    }
    if (k == CN_ACTV_IDENTITY) {
        if (y != x) memmove(y, x, (size_t)n * sizeof(float));
        return;
    }
    t->forward(y, x, n, (cn_actv_kind)k, a->slope);
}

void cn_act_backward(float *dx, const float *dy, const float *x, const float *y, int64_t n, const cn_act *a)
{
    const cn_act_vec *t = table();
    const int k = vec_kind(a);
    if (!t || k < 0) {
        cn_act_ref_backward(dx, dy, x, y, n, a);
        return;
    }
    /* the value f' is read from, as cn_act_backward_uses says */
    const float *v = cn_act_backward_uses(a) == CN_ACT_USES_Y ? y : x;
    t->backward(dx, dy, v, n, (cn_actv_kind)k, a->slope);
}
