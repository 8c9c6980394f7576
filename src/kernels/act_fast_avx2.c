/* act_fast_avx2.c — AVX2+FMA activations (compiled with -mavx2 -mfma); the method and the
 * NaN / signed-zero behaviour of act_fast_avx512.c, eight lanes at a time (exp flushes results
 * below the normal float range to 0). */
#include <immintrin.h>
#include <string.h>

#include "kernels/act_fast.h"

static inline __m256 vexp(__m256 x)
{
    const __m256 x0 = x;
    x = _mm256_max_ps(_mm256_set1_ps(-87.3f), x); /* max/min return x when x is NaN */
    x = _mm256_min_ps(_mm256_set1_ps(88.3f), x);
    const __m256 k = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(k, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(k, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.0f / 5040.0f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 720.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    /* 2^k through the exponent bits: k in [-126, 127] after the clamp (NaN lanes keep p = NaN) */
    const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(k), _mm256_set1_epi32(127)), 23);
    /* below the normal range the result is 0 (the reference's denormals there differ by < 1.2e-38) */
    return _mm256_andnot_ps(_mm256_cmp_ps(x0, _mm256_set1_ps(-87.3f), _CMP_LT_OQ), _mm256_mul_ps(p, _mm256_castsi256_ps(e)));
}

static inline __m256 vabs(__m256 x) { return _mm256_and_ps(x, _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff))); }

static inline __m256 vtanh(__m256 x)
{
    const __m256 ax = vabs(x), x2 = _mm256_mul_ps(x, x);
    __m256 p = _mm256_set1_ps(-1382.0f / 155925.0f);
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(62.0f / 2835.0f));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-17.0f / 315.0f));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(2.0f / 15.0f));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-1.0f / 3.0f));
    const __m256 small = _mm256_fmadd_ps(_mm256_mul_ps(p, x2), x, x);
    const __m256 e = vexp(_mm256_add_ps(ax, ax));
    __m256 big = _mm256_sub_ps(_mm256_set1_ps(1.0f), _mm256_div_ps(_mm256_set1_ps(2.0f), _mm256_add_ps(e, _mm256_set1_ps(1.0f))));
    big = _mm256_or_ps(big, _mm256_and_ps(x, _mm256_castsi256_ps(_mm256_set1_epi32((int)0x80000000u))));
    return _mm256_blendv_ps(big, small, _mm256_cmp_ps(ax, _mm256_set1_ps(0.3f), _CMP_LT_OQ));
}

static inline __m256 vsigmoid(__m256 x)
{
    const __m256 e = vexp(_mm256_sub_ps(_mm256_setzero_ps(), vabs(x)));
    const __m256 s = _mm256_div_ps(_mm256_set1_ps(1.0f), _mm256_add_ps(_mm256_set1_ps(1.0f), e));
    return _mm256_blendv_ps(s, _mm256_mul_ps(s, e), _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LT_OQ));
}

static inline __m256 apply(__m256 v, cn_actv_kind kind, __m256 vs)
{
    const __m256 zero = _mm256_setzero_ps();
    switch (kind) {
    case CN_ACTV_RELU: return _mm256_blendv_ps(v, zero, _mm256_cmp_ps(v, zero, _CMP_LE_OQ));
    case CN_ACTV_LEAKY: return _mm256_blendv_ps(_mm256_mul_ps(v, vs), v, _mm256_cmp_ps(v, zero, _CMP_GT_OQ));
    case CN_ACTV_SIGMOID: return vsigmoid(v);
    case CN_ACTV_TANH: return vtanh(v);
    default: return v;
    }
}

static inline __m256 grad(__m256 g, __m256 v, cn_actv_kind kind, __m256 vs)
{
    const __m256 zero = _mm256_setzero_ps(), one = _mm256_set1_ps(1.0f);
    switch (kind) {
    case CN_ACTV_RELU: return _mm256_and_ps(g, _mm256_cmp_ps(v, zero, _CMP_GT_OQ));
    case CN_ACTV_LEAKY: return _mm256_blendv_ps(_mm256_mul_ps(g, vs), g, _mm256_cmp_ps(v, zero, _CMP_GT_OQ));
    case CN_ACTV_SIGMOID: return _mm256_mul_ps(g, _mm256_mul_ps(v, _mm256_sub_ps(one, v)));
    case CN_ACTV_TANH: return _mm256_mul_ps(g, _mm256_fnmadd_ps(v, v, one));
    default: return g;
    }
}

static void forward(float *y, const float *x, int64_t n, cn_actv_kind kind, float slope)
{
    const __m256 vs = _mm256_set1_ps(slope);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, apply(_mm256_loadu_ps(x + i), kind, vs));
    if (i < n) { /* the tail through a small buffer */
        float bx[8] = {0}, by[8];
        memcpy(bx, x + i, (size_t)(n - i) * sizeof(float));
        _mm256_storeu_ps(by, apply(_mm256_loadu_ps(bx), kind, vs));
        memcpy(y + i, by, (size_t)(n - i) * sizeof(float));
    }
}

static void backward(float *dx, const float *dy, const float *v, int64_t n, cn_actv_kind kind, float slope)
{
    const __m256 vs = _mm256_set1_ps(slope);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(dx + i, _mm256_add_ps(_mm256_loadu_ps(dx + i), grad(_mm256_loadu_ps(dy + i), _mm256_loadu_ps(v + i), kind, vs)));
    if (i < n) {
        float bd[8] = {0}, bg[8] = {0}, bv[8] = {0};
        const size_t b = (size_t)(n - i) * sizeof(float);
        memcpy(bd, dx + i, b), memcpy(bg, dy + i, b), memcpy(bv, v + i, b);
        _mm256_storeu_ps(bd, _mm256_add_ps(_mm256_loadu_ps(bd), grad(_mm256_loadu_ps(bg), _mm256_loadu_ps(bv), kind, vs)));
        memcpy(dx + i, bd, b);
    }
}

const cn_act_vec cn_act_vec_avx2 = {forward, backward};
