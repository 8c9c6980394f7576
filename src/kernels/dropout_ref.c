/* dropout_ref.c — inverted dropout and its spatial (per-plane) variant; masks drawn from
 * counter-based Philox words so they do not depend on the thread count. */
#include "convnet/ops.h"

#include <math.h>
#include <string.h>

cn_status cn_dropout_check(const cn_dropout_geom *g, const char *name)
{
    const char *n = name ? name : "?";
    if (g->n < 1 || g->c < 1 || g->s < 1)
        return cn_set_error(CN_STATUS_SHAPE, "dropout '%s': sizes must be >= 1 (N=%lld, C=%lld, S=%lld)", n,
                            (long long)g->n, (long long)g->c, (long long)g->s);
    if (!(g->p >= 0 && g->p <= 1))
        return cn_set_error(CN_STATUS_INVALID_ARG, "dropout '%s': p=%g must be in [0, 1]", n, g->p);
    if (g->spatial != 0 && g->spatial != 1)
        return cn_set_error(CN_STATUS_INVALID_ARG, "dropout '%s': spatial=%d must be 0 or 1", n, g->spatial);
    return CN_OK;
}

size_t cn_dropout_cache_floats(const cn_dropout_geom *g)
{
    return (size_t)(g->spatial ? g->n * g->c : g->n * g->c * g->s);
}

float cn_dropout_scale(float p) { return p >= 1 ? 0.0f : (float)(1.0 / (1.0 - (double)p)); }

void cn_dropout_forward_train(float *y, float *mask, const float *x, const cn_dropout_geom *g, cn_rng *rng)
{
    size_t units = cn_dropout_cache_floats(g);
    float scale = cn_dropout_scale(g->p);
    /* mask[i] = uniform from word rng->counter + i, then thresholded; advances rng by units */
    cn_rng_fill_uniform(rng, mask, units, 0.0f, 1.0f);
    for (size_t i = 0; i < units; i++) mask[i] = mask[i] >= g->p && g->p < 1 ? scale : 0.0f;
    int64_t per_unit = g->spatial ? g->s : 1, total = g->n * g->c * g->s;
    for (int64_t i = 0; i < total; i++) y[i] = x[i] * mask[i / per_unit];
}

void cn_dropout_forward_eval(float *y, const float *x, const cn_dropout_geom *g)
{
    int64_t total = g->n * g->c * g->s;
    if (y != x) memcpy(y, x, (size_t)total * sizeof *y);
}

void cn_dropout_backward(float *dx, const float *dy, const float *mask, const cn_dropout_geom *g)
{
    /* forward: y[i] = x[i] * mask[i / per_unit] */
    int64_t per_unit = g->spatial ? g->s : 1, total = g->n * g->c * g->s;
    for (int64_t i = 0; i < total; i++) dx[i] += dy[i] * mask[i / per_unit];
}
