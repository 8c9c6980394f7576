/* norm_fast.c — batch normalization (convnet/norm.h) for training networks: the reference's
 * definitions and its double precision (finite-difference gradient checks resolve changes
 * of 1e-3 / M in a channel's mean, which float sums lose), computed with the channels split
 * over threads (each channel's N rows of S values stay in one core's cache through its
 * passes), each row reduced over LANES independent double accumulators (which the compiler
 * maps onto SIMD registers) instead of one serial sum, and the per-element maps written as
 * affine maps with per-channel coefficients: y = (x - mean) * a + b, and in backward
 * dx += dy * A + (x - mean) * B + K.
 * Shapes: x, y, dy, dx (N, C, S); gamma, beta, running statistics, dgamma, dbeta (C); the
 * training cache (2C) = {mean, inv_std}, as the reference. */
#include <math.h>

#include "convnet/norm.h"

#define LANES 8
/* below this many values the whole call runs on the calling thread */
#define PARALLEL_MIN 32768

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

/* sum of dy[i] and of dy[i] * (x[i] - m) */
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

/* y = (x - m) * a + b over one channel (N rows of S, row stride C*S) */
static void chan_affine(float *y, const float *x, const cn_norm_geom *g, int64_t c, double m, double a, double b)
{
    const int64_t S = g->s, stride = g->c * S;
    for (int64_t n = 0; n < g->n; n++) {
        const float *xr = x + n * stride + c * S;
        float *yr = y + n * stride + c * S;
        for (int64_t i = 0; i < S; i++) yr[i] = (float)((xr[i] - m) * a + b);
    }
}

/* dx += dy * a + (x - m) * b + k over one channel */
static void chan_dx(float *dx, const float *dy, const float *x, const cn_norm_geom *g, int64_t c, double m, double a,
                    double b, double k)
{
    const int64_t S = g->s, stride = g->c * S;
    for (int64_t n = 0; n < g->n; n++) {
        const int64_t o = n * stride + c * S;
        float *d = dx + o;
        const float *e = dy + o, *xr = x + o;
        for (int64_t i = 0; i < S; i++) d[i] += (float)(e[i] * a + (xr[i] - m) * b + k);
    }
}

typedef struct {
    float *y, *cache, *rm, *rv, *dx, *dgamma, *dbeta;
    const float *x, *dy, *gamma, *beta, *mean, *var, *stats; /* stats: the training cache */
    const cn_norm_geom *g;
} bn_job;

static void run(bn_job *j, cn_range_fn fn)
{
    const cn_norm_geom *g = j->g;
    if (g->n * g->c * g->s < PARALLEL_MIN) fn(j, 0, g->c);
    else cn_parallel_for(g->c, 1, fn, j);
}

static void fwd_train_range(void *ctx, int64_t c0, int64_t c1)
{
    bn_job *j = ctx;
    const cn_norm_geom *g = j->g;
    const int64_t S = g->s, C = g->c, M = g->n * S;
    for (int64_t c = c0; c < c1; c++) {
        double sum = 0, sq = 0;
        for (int64_t n = 0; n < g->n; n++) sum += row_sum(j->x + (n * C + c) * S, S);
        const double mean = sum / (double)M;
        for (int64_t n = 0; n < g->n; n++) sq += row_sqdev(j->x + (n * C + c) * S, S, mean);
        const double var = sq / (double)M, inv_std = 1.0 / sqrt(var + g->eps);
        const double ga = j->gamma ? j->gamma[c] : 1.0, be = j->beta ? j->beta[c] : 0.0;
        chan_affine(j->y, j->x, g, c, mean, ga * inv_std, be);
        j->cache[c] = (float)mean;
        j->cache[C + c] = (float)inv_std;
        const double m = g->momentum;
        if (j->rm) j->rm[c] = (float)((1 - m) * j->rm[c] + m * mean);
        if (j->rv) j->rv[c] = (float)((1 - m) * j->rv[c] + m * var * (double)M / (double)(M - 1));
    }
}

void cn_batchnorm_forward_train(float *y, float *cache, float *running_mean, float *running_var, const float *x,
                                const float *gamma, const float *beta, const cn_norm_geom *g)
{
    bn_job j = {.y = y, .cache = cache, .rm = running_mean, .rv = running_var, .x = x, .gamma = gamma, .beta = beta, .g = g};
    run(&j, fwd_train_range);
}

static void fwd_eval_range(void *ctx, int64_t c0, int64_t c1)
{
    bn_job *j = ctx;
    for (int64_t c = c0; c < c1; c++) {
        const double inv_std = 1.0 / sqrt((double)j->var[c] + j->g->eps), mean = j->mean[c];
        const double ga = j->gamma ? j->gamma[c] : 1.0, be = j->beta ? j->beta[c] : 0.0;
        chan_affine(j->y, j->x, j->g, c, mean, ga * inv_std, be);
    }
}

void cn_batchnorm_forward_eval(float *y, const float *x, const float *gamma, const float *beta,
                               const float *running_mean, const float *running_var, const cn_norm_geom *g)
{
    bn_job j = {.y = y, .x = x, .gamma = gamma, .beta = beta, .mean = running_mean, .var = running_var, .g = g};
    run(&j, fwd_eval_range);
}

/* dgamma, dbeta += the channel's sums; dx += ... given mean, inv_std and whether the
 * statistics are the batch's (train: dx = ga*inv_std/M * (M*dy - sdy - xhat*sdyx)) or
 * constants (eval: dx = ga*inv_std*dy) */
static void bwd_channel(bn_job *j, int64_t c, double mean, double inv_std, int train)
{
    const cn_norm_geom *g = j->g;
    const int64_t S = g->s, C = g->c, M = g->n * S;
    double sdy = 0, sdyx = 0;
    for (int64_t n = 0; n < g->n; n++)
        row_dsums(j->dy + (n * C + c) * S, j->x + (n * C + c) * S, S, mean, &sdy, &sdyx);
    sdyx *= inv_std; /* sum dy * xhat */
    if (j->dbeta) j->dbeta[c] += (float)sdy;
    if (j->dgamma) j->dgamma[c] += (float)sdyx;
    if (!j->dx) return;
    const double ga = j->gamma ? j->gamma[c] : 1.0;
    if (!train) {
        chan_dx(j->dx, j->dy, j->x, g, c, 0, ga * inv_std, 0, 0);
        return;
    }
    /* k * (M*dy - sdy - (x - mean) * inv_std * sdyx) */
    const double k = ga * inv_std / (double)M;
    chan_dx(j->dx, j->dy, j->x, g, c, mean, k * (double)M, -k * inv_std * sdyx, -k * sdy);
}

static void bwd_train_range(void *ctx, int64_t c0, int64_t c1)
{
    bn_job *j = ctx;
    for (int64_t c = c0; c < c1; c++) bwd_channel(j, c, j->stats[c], j->stats[j->g->c + c], 1);
}

void cn_batchnorm_backward_train(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x,
                                 const float *cache, const float *gamma, const cn_norm_geom *g)
{
    bn_job j = {.dx = dx, .dgamma = dgamma, .dbeta = dbeta, .dy = dy, .x = x, .stats = cache, .gamma = gamma, .g = g};
    run(&j, bwd_train_range);
}

static void bwd_eval_range(void *ctx, int64_t c0, int64_t c1)
{
    bn_job *j = ctx;
    for (int64_t c = c0; c < c1; c++) bwd_channel(j, c, j->mean[c], 1.0 / sqrt((double)j->var[c] + j->g->eps), 0);
}

void cn_batchnorm_backward_eval(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x,
                                const float *gamma, const float *running_mean, const float *running_var,
                                const cn_norm_geom *g)
{
    bn_job j = {.dx = dx, .dgamma = dgamma, .dbeta = dbeta, .dy = dy, .x = x, .gamma = gamma, .mean = running_mean,
                .var = running_var, .g = g};
    run(&j, bwd_eval_range);
}
