/* act_fast_avx512.c — AVX-512F activations (compiled with -mavx512f).
 *
 * exp: x clamped to [-104, 88.3] (NaN kept; below the float range scalef gives denormals,
 * then 0, as the reference rounds), k = round(x / ln 2), r = x - k ln 2 in two parts
 * (|r| <= ln(2)/2), e^r by its Taylor polynomial of degree 7 (truncation < 6e-9 relative),
 * scaled by 2^k. tanh: odd Taylor polynomial to x^11 for |x| < 0.3 (truncation < 2e-9
 * relative), else sign(x) (1 - 2 / (e^(2|x|) + 1)). sigmoid: 1 / (1 + e^-|x|), times
 * e^-|x| for x < 0 (no cancellation on either side). Comparisons are ordered, so a NaN
 * input gives NaN as in the reference; RELU maps -0 to +0 as the reference does. */
#include <immintrin.h>

#include "kernels/act_fast.h"

static inline __mmask16 tail(int64_t left)
{
    return left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
}

static inline __m512 vexp(__m512 x)
{
    x = _mm512_max_ps(_mm512_set1_ps(-104.0f), x); /* max/min return x when x is NaN; scalef */
    x = _mm512_min_ps(_mm512_set1_ps(88.3f), x);
    const __m512 k = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(k, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(k, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.0f / 5040.0f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 720.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, k);
}

static inline __m512 vabs(__m512 x) { return _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(x), _mm512_set1_epi32(0x7fffffff))); }

static inline __m512 vtanh(__m512 x)
{
    const __m512 ax = vabs(x), x2 = _mm512_mul_ps(x, x);
    /* small: x + x^3 (-1/3 + x^2 (2/15 + x^2 (-17/315 + x^2 (62/2835 + x^2 (-1382/155925))))) */
    __m512 p = _mm512_set1_ps(-1382.0f / 155925.0f);
    p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(62.0f / 2835.0f));
    p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(-17.0f / 315.0f));
    p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(2.0f / 15.0f));
    p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(-1.0f / 3.0f));
    const __m512 small = _mm512_fmadd_ps(_mm512_mul_ps(p, x2), x, x);
    /* large: 1 - 2 / (e^(2|x|) + 1), with x's sign */
    const __m512 e = vexp(_mm512_add_ps(ax, ax));
    __m512 big = _mm512_sub_ps(_mm512_set1_ps(1.0f), _mm512_div_ps(_mm512_set1_ps(2.0f), _mm512_add_ps(e, _mm512_set1_ps(1.0f))));
    big = _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(big),
                                              _mm512_and_si512(_mm512_castps_si512(x), _mm512_set1_epi32((int)0x80000000u))));
    const __mmask16 use_small = _mm512_cmp_ps_mask(ax, _mm512_set1_ps(0.3f), _CMP_LT_OQ);
    return _mm512_mask_blend_ps(use_small, big, small);
}

static inline __m512 vsigmoid(__m512 x)
{
    const __m512 e = vexp(_mm512_sub_ps(_mm512_setzero_ps(), vabs(x)));
    const __m512 s = _mm512_div_ps(_mm512_set1_ps(1.0f), _mm512_add_ps(_mm512_set1_ps(1.0f), e));
    const __mmask16 neg = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_LT_OQ);
    return _mm512_mask_mul_ps(s, neg, s, e);
}

static void forward(float *y, const float *x, int64_t n, cn_actv_kind kind, float slope)
{
    const __m512 zero = _mm512_setzero_ps(), vs = _mm512_set1_ps(slope);
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = tail(n - i);
        const __m512 v = _mm512_maskz_loadu_ps(m, x + i);
        __m512 r;
        switch (kind) {
        case CN_ACTV_RELU: r = _mm512_mask_mov_ps(v, _mm512_cmp_ps_mask(v, zero, _CMP_LE_OQ), zero); break;
        case CN_ACTV_LEAKY: r = _mm512_mask_mul_ps(v, _mm512_cmp_ps_mask(v, zero, _CMP_GT_OQ) ^ (__mmask16)0xFFFF, v, vs);
            /* x > 0 ? x : slope*x, a NaN (not > 0) going to slope*NaN = NaN */
            break;
        case CN_ACTV_SIGMOID: r = vsigmoid(v); break;
        case CN_ACTV_TANH: r = vtanh(v); break;
        default: r = v; break;
        }
        _mm512_mask_storeu_ps(y + i, m, r);
    }
}

static void backward(float *dx, const float *dy, const float *v, int64_t n, cn_actv_kind kind, float slope)
{
    const __m512 zero = _mm512_setzero_ps(), one = _mm512_set1_ps(1.0f), vs = _mm512_set1_ps(slope);
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = tail(n - i);
        const __m512 g = _mm512_maskz_loadu_ps(m, dy + i), d = _mm512_maskz_loadu_ps(m, dx + i);
        __m512 t;
        switch (kind) {
        case CN_ACTV_RELU: { /* f' = y > 0 */
            const __m512 yv = _mm512_maskz_loadu_ps(m, v + i);
            t = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(yv, zero, _CMP_GT_OQ), g);
            break;
        }
        case CN_ACTV_LEAKY: { /* f' = v > 0 ? 1 : slope (a product then a sum, as the reference rounds) */
            const __m512 vv = _mm512_maskz_loadu_ps(m, v + i);
            t = _mm512_mask_mul_ps(g, _mm512_cmp_ps_mask(vv, zero, _CMP_GT_OQ) ^ (__mmask16)0xFFFF, g, vs);
            break;
        }
        case CN_ACTV_SIGMOID: { /* f' = y (1 - y) */
            const __m512 yv = _mm512_maskz_loadu_ps(m, v + i);
            t = _mm512_mul_ps(g, _mm512_mul_ps(yv, _mm512_sub_ps(one, yv)));
            break;
        }
        case CN_ACTV_TANH: { /* f' = 1 - y^2 */
            const __m512 yv = _mm512_maskz_loadu_ps(m, v + i);
            t = _mm512_mul_ps(g, _mm512_fnmadd_ps(yv, yv, one));
            break;
        }
        default: t = g; break;
        }
        _mm512_mask_storeu_ps(dx + i, m, _mm512_add_ps(d, t));
    }
}

const cn_act_vec cn_act_vec_avx512 = {forward, backward};
