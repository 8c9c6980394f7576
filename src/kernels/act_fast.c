/* act_fast.c — cn_act_forward / cn_act_backward: the SIMD table of the active ISA for the
 * common kinds (act_fast.h), the reference (act_ref.c) otherwise; large tensors in blocks
 * over threads. */
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

/* Elementwise work is split over threads in blocks of this many values (same results: each
 * value is computed alone); below two blocks the call runs on the calling thread. */
#define BLOCK 32768

typedef struct {
    float *out;
    const float *a, *b, *c;
    int64_t n;
    const cn_act *act;
} act_job;

static void act_fwd_one(float *y, const float *x, int64_t n, const cn_act *a)
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

static void act_bwd_one(float *dx, const float *dy, const float *x, const float *y, int64_t n, const cn_act *a)
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

static void fwd_blocks(void *ctx, int64_t b0, int64_t b1)
{
    const act_job *j = ctx;
    const int64_t i0 = b0 * BLOCK, i1 = b1 * BLOCK < j->n ? b1 * BLOCK : j->n;
    act_fwd_one(j->out + i0, j->a + i0, i1 - i0, j->act);
}

static void bwd_blocks(void *ctx, int64_t b0, int64_t b1)
{
    const act_job *j = ctx;
    const int64_t i0 = b0 * BLOCK, i1 = b1 * BLOCK < j->n ? b1 * BLOCK : j->n;
    act_bwd_one(j->out + i0, j->a + i0, j->b ? j->b + i0 : NULL, j->c ? j->c + i0 : NULL, i1 - i0, j->act);
}

void cn_act_forward(float *y, const float *x, int64_t n, const cn_act *a)
{
    if (n < 2 * BLOCK) {
        act_fwd_one(y, x, n, a);
        return;
    }
    act_job j = {y, x, NULL, NULL, n, a};
    cn_parallel_for((n + BLOCK - 1) / BLOCK, 1, fwd_blocks, &j);
}

void cn_act_backward(float *dx, const float *dy, const float *x, const float *y, int64_t n, const cn_act *a)
{
    if (n < 2 * BLOCK) {
        act_bwd_one(dx, dy, x, y, n, a);
        return;
    }
    act_job j = {dx, dy, x, y, n, a};
    cn_parallel_for((n + BLOCK - 1) / BLOCK, 1, bwd_blocks, &j);
}
