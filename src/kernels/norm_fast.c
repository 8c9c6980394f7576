/* norm_fast.c — batch normalization (convnet/norm.h) for training networks: the reference's
 * definitions and its double precision (finite-difference gradient checks resolve changes
 * of 1e-3 / M in a channel's mean, which float sums lose), computed with the channels split
 * over threads (each channel's N rows of S values stay in one core's cache through its
 * passes), each row reduced over independent double lanes instead of one serial sum, and the
 * per-element maps written as affine maps with per-channel coefficients:
 * y = (x - mean) * a + b, and in backward dx += dy * A + (x - mean) * B + K. The row loops
 * come from the active ISA's table (norm_fast.h); every table gives the same bits.
 * Shapes: x, y, dy, dx (N, C, S); gamma, beta, running statistics, dgamma, dbeta (C); the
 * training cache (2C) = {mean, inv_std}, as the reference. */
#include <math.h>

#include "convnet/norm.h"
#define NF_TABLE cn_bn_rows_generic
#include "kernels/norm_fast_body.h"

/* below this many values the whole call runs on the calling thread */
#define PARALLEL_MIN 32768

static const cn_bn_rows *rows_table(void)
{
    switch (cn_isa_active()) {
#ifdef CN_HAVE_AVX512
    case CN_ISA_AVX512: return &cn_bn_rows_avx512;
#endif
#ifdef CN_HAVE_AVX2
    case CN_ISA_AVX2: return &cn_bn_rows_avx2;
#endif
    default: return &cn_bn_rows_generic;
    }
}

typedef struct {
    const cn_bn_rows *t;
    float *y, *cache, *rm, *rv, *dx, *dgamma, *dbeta;
    const float *x, *dy, *gamma, *beta, *mean, *var, *stats; /* stats: the training cache */
    const cn_norm_geom *g;
} bn_job;

/* the offset of row n of channel c */
static inline int64_t row_at(const cn_norm_geom *g, int64_t n, int64_t c) { return (n * g->c + c) * g->s; }

static void run(bn_job *j, cn_range_fn fn)
{
    const cn_norm_geom *g = j->g;
    j->t = rows_table();
    if (g->n * g->c * g->s < PARALLEL_MIN) fn(j, 0, g->c);
    else cn_parallel_for(g->c, 1, fn, j);
}

static void fwd_train_range(void *ctx, int64_t c0, int64_t c1)
{
    bn_job *j = ctx;
    const cn_bn_rows *t = j->t;
    const cn_norm_geom *g = j->g;
    const int64_t S = g->s, C = g->c, M = g->n * S;
    for (int64_t c = c0; c < c1; c++) {
        double sum = 0, sq = 0;
        for (int64_t n = 0; n < g->n; n++) sum += t->sum(j->x + row_at(g, n, c), S);
        const double mean = sum / (double)M;
        for (int64_t n = 0; n < g->n; n++) sq += t->sqdev(j->x + row_at(g, n, c), S, mean);
        const double var = sq / (double)M, inv_std = 1.0 / sqrt(var + g->eps);
        const double ga = j->gamma ? j->gamma[c] : 1.0, be = j->beta ? j->beta[c] : 0.0;
        for (int64_t n = 0; n < g->n; n++) t->affine(j->y + row_at(g, n, c), j->x + row_at(g, n, c), S, mean, ga * inv_std, be);
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
    const cn_norm_geom *g = j->g;
    for (int64_t c = c0; c < c1; c++) {
        const double inv_std = 1.0 / sqrt((double)j->var[c] + g->eps), mean = j->mean[c];
        const double ga = j->gamma ? j->gamma[c] : 1.0, be = j->beta ? j->beta[c] : 0.0;
        for (int64_t n = 0; n < g->n; n++)
            j->t->affine(j->y + row_at(g, n, c), j->x + row_at(g, n, c), g->s, mean, ga * inv_std, be);
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
    const cn_bn_rows *t = j->t;
    const cn_norm_geom *g = j->g;
    const int64_t S = g->s, M = g->n * S;
    double sdy = 0, sdyx = 0;
    for (int64_t n = 0; n < g->n; n++) t->dsums(j->dy + row_at(g, n, c), j->x + row_at(g, n, c), S, mean, &sdy, &sdyx);
    sdyx *= inv_std; /* sum dy * xhat */
    if (j->dbeta) j->dbeta[c] += (float)sdy;
    if (j->dgamma) j->dgamma[c] += (float)sdyx;
    if (!j->dx) return;
    const double ga = j->gamma ? j->gamma[c] : 1.0;
    /* train: k * (M*dy - sdy - (x - mean) * inv_std * sdyx); eval: ga * inv_std * dy */
    const double k = ga * inv_std / (double)M;
    const double a = train ? k * (double)M : ga * inv_std, b = train ? -k * inv_std * sdyx : 0, k0 = train ? -k * sdy : 0;
    /* eval: the x term is 0 * (dy - 0), so x is not read (an infinite x cannot make it NaN) */
    const float *xs = train ? j->x : j->dy;
    for (int64_t n = 0; n < g->n; n++)
        t->dx(j->dx + row_at(g, n, c), j->dy + row_at(g, n, c), xs + row_at(g, n, c), S, train ? mean : 0, a, b, k0);
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
