/* norm_ref.c — reference batch, group and instance normalization and ONNX LRN (see
 * convnet/norm.h for the definitions). Statistics and reductions in double. */
#include "convnet/norm.h"

#include <math.h>

static const char *label(const char *name) { return name ? name : "?"; }

static cn_status check_common(const cn_norm_geom *g, const char *kind, const char *name)
{
    if (g->n < 1 || g->c < 1 || g->s < 1)
        return cn_set_error(CN_STATUS_SHAPE, "%s '%s': sizes must be >= 1 (N=%lld, C=%lld, S=%lld)", kind, label(name),
                            (long long)g->n, (long long)g->c, (long long)g->s);
    if (!(g->eps > 0) || !isfinite(g->eps))
        return cn_set_error(CN_STATUS_INVALID_ARG, "%s '%s': eps=%g must be finite and > 0", kind, label(name), g->eps);
    return CN_OK;
}

/* ---- batch norm ---- */

cn_status cn_batchnorm_check(const cn_norm_geom *g, int training, const char *name)
{
    cn_status st = check_common(g, "batchnorm", name);
    if (st != CN_OK) return st;
    if (!(g->momentum >= 0 && g->momentum <= 1))
        return cn_set_error(CN_STATUS_INVALID_ARG, "batchnorm '%s': momentum=%g must be in [0, 1]", label(name),
                            g->momentum);
    if (training && g->n * g->s < 2)
        return cn_set_error(CN_STATUS_SHAPE,
                            "batchnorm '%s': training needs more than one value per channel (N=%lld, S=%lld)",
                            label(name), (long long)g->n, (long long)g->s);
    return CN_OK;
}

size_t cn_batchnorm_cache_floats(const cn_norm_geom *g) { return (size_t)(2 * g->c); }

void cn_batchnorm_ref_forward_train(float *y, float *cache, float *running_mean, float *running_var, const float *x,
                                const float *gamma, const float *beta, const cn_norm_geom *g)
{
    int64_t C = g->c, S = g->s, M = g->n * S;
    for (int64_t c = 0; c < C; c++) {
        double sum = 0, sq = 0;
        for (int64_t n = 0; n < g->n; n++)
            for (int64_t s = 0; s < S; s++) sum += x[(n * C + c) * S + s];
        double mean = sum / (double)M;
        for (int64_t n = 0; n < g->n; n++)
            for (int64_t s = 0; s < S; s++) {
                double d = x[(n * C + c) * S + s] - mean;
                sq += d * d;
            }
        double var = sq / (double)M, inv_std = 1.0 / sqrt(var + g->eps);
        double ga = gamma ? gamma[c] : 1.0, be = beta ? beta[c] : 0.0;
        for (int64_t n = 0; n < g->n; n++)
            for (int64_t s = 0; s < S; s++) {
                int64_t i = (n * C + c) * S + s;
                y[i] = (float)(ga * ((double)x[i] - mean) * inv_std + be);
            }
        cache[c] = (float)mean;
        cache[C + c] = (float)inv_std;
        double m = g->momentum;
        if (running_mean) running_mean[c] = (float)((1 - m) * running_mean[c] + m * mean);
        if (running_var) running_var[c] = (float)((1 - m) * running_var[c] + m * var * (double)M / (double)(M - 1));
    }
}

void cn_batchnorm_ref_forward_eval(float *y, const float *x, const float *gamma, const float *beta,
                               const float *running_mean, const float *running_var, const cn_norm_geom *g)
{
    int64_t C = g->c, S = g->s;
    for (int64_t c = 0; c < C; c++) {
        double inv_std = 1.0 / sqrt((double)running_var[c] + g->eps), mean = running_mean[c];
        double ga = gamma ? gamma[c] : 1.0, be = beta ? beta[c] : 0.0;
        for (int64_t n = 0; n < g->n; n++)
            for (int64_t s = 0; s < S; s++) {
                int64_t i = (n * C + c) * S + s;
                y[i] = (float)(ga * ((double)x[i] - mean) * inv_std + be);
            }
    }
}

void cn_batchnorm_ref_backward_train(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x,
                                 const float *cache, const float *gamma, const cn_norm_geom *g)
{
    /* forward: y[i] = ga * (x[i] - mean) * inv_std + be, with mean and inv_std functions of
     * the whole channel: dx = ga*inv_std/M * (M*dy - sum dy - xhat * sum dy*xhat) */
    int64_t C = g->c, S = g->s, M = g->n * S;
    for (int64_t c = 0; c < C; c++) {
        double mean = cache[c], inv_std = cache[C + c], ga = gamma ? gamma[c] : 1.0;
        double sdy = 0, sdyx = 0;
        for (int64_t n = 0; n < g->n; n++)
            for (int64_t s = 0; s < S; s++) {
                int64_t i = (n * C + c) * S + s;
                sdy += dy[i];
                sdyx += (double)dy[i] * ((double)x[i] - mean) * inv_std;
            }
        if (dbeta) dbeta[c] += (float)sdy;
        if (dgamma) dgamma[c] += (float)sdyx;
        if (!dx) continue;
        double k = ga * inv_std / (double)M;
        for (int64_t n = 0; n < g->n; n++)
            for (int64_t s = 0; s < S; s++) {
                int64_t i = (n * C + c) * S + s;
                double xhat = ((double)x[i] - mean) * inv_std;
                dx[i] += (float)(k * ((double)M * dy[i] - sdy - xhat * sdyx));
            }
    }
}

void cn_batchnorm_ref_backward_eval(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x,
                                const float *gamma, const float *running_mean, const float *running_var,
                                const cn_norm_geom *g)
{
    /* forward: y[i] = ga * (x[i] - mean) * inv_std + be, mean and inv_std constants */
    int64_t C = g->c, S = g->s;
    for (int64_t c = 0; c < C; c++) {
        double inv_std = 1.0 / sqrt((double)running_var[c] + g->eps), mean = running_mean[c];
        double ga = gamma ? gamma[c] : 1.0, sdy = 0, sdyx = 0;
        for (int64_t n = 0; n < g->n; n++)
            for (int64_t s = 0; s < S; s++) {
                int64_t i = (n * C + c) * S + s;
                sdy += dy[i];
                sdyx += (double)dy[i] * ((double)x[i] - mean) * inv_std;
                if (dx) dx[i] += (float)(dy[i] * ga * inv_std);
            }
        if (dbeta) dbeta[c] += (float)sdy;
        if (dgamma) dgamma[c] += (float)sdyx;
    }
}

/* ---- group norm and instance norm ---- */

cn_status cn_groupnorm_check(const cn_norm_geom *g, const char *name)
{
    cn_status st = check_common(g, "groupnorm", name);
    if (st != CN_OK) return st;
    if (g->groups < 1 || g->c % g->groups != 0)
        return cn_set_error(CN_STATUS_SHAPE, "groupnorm '%s': groups=%lld does not divide C=%lld", label(name),
                            (long long)g->groups, (long long)g->c);
    return CN_OK;
}

size_t cn_groupnorm_cache_floats(const cn_norm_geom *g) { return (size_t)(2 * g->n * g->groups); }

/* (N, C, S) with G groups: group (n, gr) is the contiguous block of C/G*S values at
 * x + (n*C + gr*C/G)*S */
static void gn_forward(float *y, float *cache, const float *x, const float *gamma, const float *beta, int64_t N,
                       int64_t C, int64_t S, int64_t G, double eps)
{
    int64_t cg = C / G, M = cg * S;
    for (int64_t n = 0; n < N; n++)
        for (int64_t gr = 0; gr < G; gr++) {
            const float *xp = x + (n * C + gr * cg) * S;
            float *yp = y + (n * C + gr * cg) * S;
            double sum = 0, sq = 0;
            for (int64_t i = 0; i < M; i++) sum += xp[i];
            double mean = sum / (double)M;
            for (int64_t i = 0; i < M; i++) sq += ((double)xp[i] - mean) * ((double)xp[i] - mean);
            double inv_std = 1.0 / sqrt(sq / (double)M + eps);
            for (int64_t k = 0; k < cg; k++) {
                int64_t c = gr * cg + k;
                double ga = gamma ? gamma[c] : 1.0, be = beta ? beta[c] : 0.0;
                for (int64_t s = 0; s < S; s++)
                    yp[k * S + s] = (float)(ga * ((double)xp[k * S + s] - mean) * inv_std + be);
            }
            cache[n * G + gr] = (float)mean;
            cache[N * G + n * G + gr] = (float)inv_std;
        }
}

static void gn_backward(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x, const float *cache,
                        const float *gamma, int64_t N, int64_t C, int64_t S, int64_t G)
{
    /* forward: yp[k*S + s] = ga * (xp[k*S + s] - mean) * inv_std + be, with mean and inv_std
     * over the group: with g = dy*ga, dx = inv_std/M * (M*g - sum g - xhat * sum g*xhat) */
    int64_t cg = C / G, M = cg * S;
    for (int64_t n = 0; n < N; n++)
        for (int64_t gr = 0; gr < G; gr++) {
            double mean = cache[n * G + gr], inv_std = cache[N * G + n * G + gr];
            int64_t off = (n * C + gr * cg) * S;
            double sg = 0, sgx = 0;
            for (int64_t k = 0; k < cg; k++) {
                int64_t c = gr * cg + k;
                double ga = gamma ? gamma[c] : 1.0, sdy = 0, sdyx = 0;
                for (int64_t s = 0; s < S; s++) {
                    int64_t i = off + k * S + s;
                    double xhat = ((double)x[i] - mean) * inv_std;
                    sdy += dy[i];
                    sdyx += dy[i] * xhat;
                }
                if (dbeta) dbeta[c] += (float)sdy;
                if (dgamma) dgamma[c] += (float)sdyx;
                sg += ga * sdy;
                sgx += ga * sdyx;
            }
            if (!dx) continue;
            for (int64_t k = 0; k < cg; k++) {
                double ga = gamma ? gamma[gr * cg + k] : 1.0;
                for (int64_t s = 0; s < S; s++) {
                    int64_t i = off + k * S + s;
                    double xhat = ((double)x[i] - mean) * inv_std;
                    dx[i] += (float)(inv_std / (double)M * ((double)M * ga * dy[i] - sg - xhat * sgx));
                }
            }
        }
}

void cn_groupnorm_forward(float *y, float *cache, const float *x, const float *gamma, const float *beta,
                          const cn_norm_geom *g)
{
    gn_forward(y, cache, x, gamma, beta, g->n, g->c, g->s, g->groups, g->eps);
}

void cn_groupnorm_backward(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x,
                           const float *cache, const float *gamma, const cn_norm_geom *g)
{
    gn_backward(dx, dgamma, dbeta, dy, x, cache, gamma, g->n, g->c, g->s, g->groups);
}

cn_status cn_instancenorm_check(const cn_norm_geom *g, const char *name)
{
    return check_common(g, "instancenorm", name);
}

size_t cn_instancenorm_cache_floats(const cn_norm_geom *g) { return (size_t)(2 * g->n * g->c); }

void cn_instancenorm_forward(float *y, float *cache, const float *x, const float *gamma, const float *beta,
                             const cn_norm_geom *g)
{
    gn_forward(y, cache, x, gamma, beta, g->n, g->c, g->s, g->c, g->eps);
}

void cn_instancenorm_backward(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x,
                              const float *cache, const float *gamma, const cn_norm_geom *g)
{
    gn_backward(dx, dgamma, dbeta, dy, x, cache, gamma, g->n, g->c, g->s, g->c);
}

/* ---- LRN ---- */

cn_status cn_lrn_check(const cn_lrn_geom *g, const char *name)
{
    if (g->n < 1 || g->c < 1 || g->s < 1)
        return cn_set_error(CN_STATUS_SHAPE, "lrn '%s': sizes must be >= 1 (N=%lld, C=%lld, S=%lld)", label(name),
                            (long long)g->n, (long long)g->c, (long long)g->s);
    if (g->size < 1)
        return cn_set_error(CN_STATUS_INVALID_ARG, "lrn '%s': size=%lld must be >= 1", label(name), (long long)g->size);
    if (!isfinite(g->alpha) || !(g->alpha >= 0) || !isfinite(g->beta))
        return cn_set_error(CN_STATUS_INVALID_ARG, "lrn '%s': alpha=%g must be finite and >= 0, beta=%g finite",
                            label(name), g->alpha, g->beta);
    if (!(g->bias > 0) || !isfinite(g->bias))
        return cn_set_error(CN_STATUS_INVALID_ARG, "lrn '%s': bias=%g must be finite and > 0", label(name), g->bias);
    return CN_OK;
}

size_t cn_lrn_cache_floats(const cn_lrn_geom *g) { return (size_t)(g->n * g->c * g->s); }

void cn_lrn_forward(float *y, float *cache, const float *x, const cn_lrn_geom *g)
{
    int64_t C = g->c, S = g->s, lo = (g->size - 1) / 2, hi = g->size / 2; /* floor, ceil of (size-1)/2 */
    double k = (double)g->alpha / (double)g->size;
    for (int64_t n = 0; n < g->n; n++)
        for (int64_t c = 0; c < C; c++) {
            int64_t j0 = c - lo < 0 ? 0 : c - lo, j1 = c + hi > C - 1 ? C - 1 : c + hi;
            for (int64_t s = 0; s < S; s++) {
                double sq = 0;
                for (int64_t j = j0; j <= j1; j++) {
                    double v = x[(n * C + j) * S + s];
                    sq += v * v;
                }
                int64_t i = (n * C + c) * S + s;
                double d = g->bias + k * sq;
                cache[i] = (float)d;
                y[i] = (float)((double)x[i] * pow(d, -(double)g->beta));
            }
        }
}

void cn_lrn_backward(float *dx, const float *dy, const float *x, const float *cache, const cn_lrn_geom *g)
{
    /* forward: y[i] = x[i] * d^-beta, d = bias + alpha/size * sum_{j in window(c)} x_j^2.
     * x at channel c enters its own y and the d of every channel j whose window holds c,
     * i.e. j in [c - hi, c + lo]:
     *   dx_c = dy_c d_c^-beta - 2 beta alpha/size x_c sum_j dy_j x_j d_j^(-beta-1) */
    int64_t C = g->c, S = g->s, lo = (g->size - 1) / 2, hi = g->size / 2;
    double k = (double)g->alpha / (double)g->size, b = g->beta;
    for (int64_t n = 0; n < g->n; n++)
        for (int64_t c = 0; c < C; c++) {
            int64_t j0 = c - hi < 0 ? 0 : c - hi, j1 = c + lo > C - 1 ? C - 1 : c + lo;
            for (int64_t s = 0; s < S; s++) {
                int64_t i = (n * C + c) * S + s;
                double acc = 0;
                for (int64_t j = j0; j <= j1; j++) {
                    int64_t q = (n * C + j) * S + s;
                    acc += (double)dy[q] * x[q] * pow((double)cache[q], -b - 1);
                }
                dx[i] += (float)((double)dy[i] * pow((double)cache[i], -b) - 2 * b * k * (double)x[i] * acc);
            }
        }
}
