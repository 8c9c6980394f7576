/* loss_ref.c — reference losses (see convnet/loss.h for the definitions): softmax
 * cross-entropy, binary cross-entropy with logits, MSE and L1. Sums in double; gradients are
 * written, not accumulated. */
#include "convnet/loss.h"

#include <math.h>

static const char *label(const char *name) { return name ? name : "?"; }

static cn_status check_reduction(cn_reduction r, const char *kind, const char *name)
{
    if ((int)r < 0 || r >= CN_REDUCTION_COUNT_)
        return cn_set_error(CN_STATUS_INVALID_ARG, "%s '%s': reduction %d is not mean (0) or sum (1)", kind,
                            label(name), (int)r);
    return CN_OK;
}

/* ---- softmax cross-entropy ---- */

cn_xent_geom cn_xent_geom_make(int64_t n, int64_t k, int64_t s)
{
    cn_xent_geom g = {n, k, s, 0.0f, -100, CN_REDUCE_MEAN};
    return g;
}

cn_status cn_xent_check(const cn_xent_geom *g, const char *name)
{
    if (g->n < 1 || g->k < 1 || g->s < 1)
        return cn_set_error(CN_STATUS_SHAPE, "xent '%s': sizes must be >= 1 (N=%lld, K=%lld, S=%lld)", label(name),
                            (long long)g->n, (long long)g->k, (long long)g->s);
    if (!(g->label_smoothing >= 0 && g->label_smoothing <= 1))
        return cn_set_error(CN_STATUS_INVALID_ARG, "xent '%s': label_smoothing=%g must be in [0, 1]", label(name),
                            g->label_smoothing);
    return check_reduction(g->reduction, "xent", name);
}

cn_status cn_xent_check_targets(const int64_t *targets, const cn_xent_geom *g, const char *name)
{
    for (int64_t i = 0; i < g->n * g->s; i++) {
        int64_t t = targets[i];
        if (t != g->ignore_index && (t < 0 || t >= g->k))
            return cn_set_error(CN_STATUS_INVALID_ARG,
                                "xent '%s': target %lld at position %lld (sample %lld, pixel %lld) is outside [0, %lld) "
                                "and is not ignore_index=%lld",
                                label(name), (long long)t, (long long)i, (long long)(i / g->s), (long long)(i % g->s),
                                (long long)g->k, (long long)g->ignore_index);
    }
    return CN_OK;
}

double cn_softmax_xent(float *dlogits, const float *logits, const int64_t *targets, const float *weight,
                       const cn_xent_geom *g)
{
    int64_t K = g->k, S = g->s;
    double eps = g->label_smoothing, wsum = 0, total = 0, norm = 0;
    for (int64_t k = 0; k < K; k++) wsum += weight ? weight[k] : 1.0;
    /* pass 1: the loss and the normaliser */
    for (int64_t n = 0; n < g->n; n++)
        for (int64_t s = 0; s < S; s++) {
            int64_t t = targets[n * S + s];
            if (t == g->ignore_index) continue;
            const float *z = logits + n * K * S + s;
            double m = z[0], se = 0, smooth = 0;
            for (int64_t k = 1; k < K; k++)
                if (z[k * S] > m) m = z[k * S];
            for (int64_t k = 0; k < K; k++) se += exp((double)z[k * S] - m);
            double lse = m + log(se); /* log p[k] = z[k] - lse */
            for (int64_t k = 0; k < K; k++) smooth += (weight ? weight[k] : 1.0) * (lse - z[k * S]);
            double wt = weight ? weight[t] : 1.0;
            total += (1 - eps) * wt * (lse - z[t * S]) + eps / (double)K * smooth;
            norm += wt;
        }
    double scale = g->reduction == CN_REDUCE_SUM ? 1.0 : norm != 0 ? 1.0 / norm : 0.0;
    if (dlogits) {
        /* pass 2: l = (1 - eps) w[t] (lse - z[t]) + eps/K sum_k w[k] (lse - z[k]), d lse/dz[k] = p[k] */
        for (int64_t n = 0; n < g->n; n++)
            for (int64_t s = 0; s < S; s++) {
                int64_t t = targets[n * S + s];
                const float *z = logits + n * K * S + s;
                float *dz = dlogits + n * K * S + s;
                if (t == g->ignore_index) {
                    for (int64_t k = 0; k < K; k++) dz[k * S] = 0;
                    continue;
                }
                double m = z[0], se = 0;
                for (int64_t k = 1; k < K; k++)
                    if (z[k * S] > m) m = z[k * S];
                for (int64_t k = 0; k < K; k++) se += exp((double)z[k * S] - m);
                double wt = weight ? weight[t] : 1.0;
                for (int64_t k = 0; k < K; k++) {
                    double p = exp((double)z[k * S] - m) / se, wk = weight ? weight[k] : 1.0;
                    double d = (1 - eps) * wt * (p - (k == t)) + eps / (double)K * (p * wsum - wk);
                    dz[k * S] = (float)(d * scale);
                }
            }
    }
    return total * scale;
}

/* ---- binary cross-entropy with logits ---- */

cn_status cn_bce_check(const cn_bce_geom *g, const char *name)
{
    if (g->n < 1 || g->k < 1 || g->s < 1)
        return cn_set_error(CN_STATUS_SHAPE, "bce '%s': sizes must be >= 1 (N=%lld, K=%lld, S=%lld)", label(name),
                            (long long)g->n, (long long)g->k, (long long)g->s);
    return check_reduction(g->reduction, "bce", name);
}

double cn_bce_logits(float *dlogits, const float *logits, const float *targets, const float *pos_weight,
                     const cn_bce_geom *g)
{
    int64_t K = g->k, S = g->s, total_n = g->n * K * S;
    double scale = g->reduction == CN_REDUCE_SUM ? 1.0 : 1.0 / (double)total_n, total = 0;
    for (int64_t n = 0; n < g->n; n++)
        for (int64_t k = 0; k < K; k++) {
            double pw = pos_weight ? pos_weight[k] : 1.0;
            for (int64_t s = 0; s < S; s++) {
                int64_t i = (n * K + k) * S + s;
                double z = logits[i], y = targets[i], lw = 1 + (pw - 1) * y;
                double sp = log1p(exp(-fabs(z))) + fmax(-z, 0.0); /* log(1 + e^-z), stable */
                total += (1 - y) * z + lw * sp;
                if (dlogits) {
                    /* l = (1 - y) z + lw * log(1 + e^-z): dl/dz = (1 - y) - lw * sigmoid(-z) */
                    double sig_neg = z >= 0 ? exp(-z) / (1 + exp(-z)) : 1 / (1 + exp(z));
                    dlogits[i] = (float)(((1 - y) - lw * sig_neg) * scale);
                }
            }
        }
    return total * scale;
}

/* ---- regression ---- */

cn_status cn_regression_check(int64_t n, cn_reduction r, const char *kind, const char *name)
{
    if (n < 1) return cn_set_error(CN_STATUS_SHAPE, "%s '%s': needs at least one element, got %lld", kind, label(name), (long long)n);
    return check_reduction(r, kind, name);
}

double cn_mse_loss(float *dpred, const float *pred, const float *target, int64_t n, cn_reduction r)
{
    double scale = r == CN_REDUCE_SUM ? 1.0 : 1.0 / (double)n, total = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = (double)pred[i] - target[i];
        total += d * d;
        if (dpred) dpred[i] = (float)(2 * d * scale); /* l = d^2 */
    }
    return total * scale;
}

double cn_l1_loss(float *dpred, const float *pred, const float *target, int64_t n, cn_reduction r)
{
    double scale = r == CN_REDUCE_SUM ? 1.0 : 1.0 / (double)n, total = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = (double)pred[i] - target[i];
        total += fabs(d);
        if (dpred) dpred[i] = (float)((d > 0 ? 1 : d < 0 ? -1 : 0) * scale); /* l = |d| */
    }
    return total * scale;
}
