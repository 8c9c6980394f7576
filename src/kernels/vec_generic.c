/* vec_generic.c — portable C versions of the vector primitives (the oracle). */
#include "vec.h"

static float dot(const float *a, const float *b, int64_t n)
{
    float s = 0.0f;
    for (int64_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

static void axpy(float *y, float alpha, const float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++) y[i] += alpha * x[i];
}

static void relu(float *y, const float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

static float fma_loop(int64_t iters)
{
    float a[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    const float m = 0.999999f, c = 1e-7f;
    for (int64_t i = 0; i < iters; i++)
        for (int k = 0; k < 8; k++) a[k] = a[k] * m + c;
    float s = 0;
    for (int k = 0; k < 8; k++) s += a[k];
    return s;
}

const cn_vec_ops cn_vec_generic = {"generic", dot, axpy, relu, fma_loop, 16};
