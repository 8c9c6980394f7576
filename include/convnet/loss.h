/* convnet/loss.h — reference loss functions: softmax cross-entropy (multiclass and per pixel),
 * binary cross-entropy with logits (multi-label and per-pixel masks), mean squared error and
 * L1.
 *
 * Each loss returns the scalar loss as a double (every sum is accumulated in double) and, if
 * the gradient pointer is not NULL, OVERWRITES it with dLoss/dinput: a loss starts
 * backpropagation, so there is nothing to accumulate into. Kernels never allocate, print or
 * fail: the check functions validate the geometry (and cn_xent_check_targets the labels).
 *
 *     cn_xent_geom g = cn_xent_geom_make(n, k, 1);  // mean, no smoothing, ignore_index -100
 *     g.label_smoothing = 0.1f;
 *     if (cn_xent_check(&g, "loss") != CN_OK || cn_xent_check_targets(t, &g, "loss") != CN_OK) ...
 *     double loss = cn_softmax_xent(dlogits, logits, t, NULL, &g);
 *
 * Definitions (PyTorch semantics):
 *   softmax cross-entropy (torch.nn.CrossEntropyLoss): logits z (N, K, S), targets t (N, S),
 *   S = product of spatial dims (1 for (N, K) logits). For each position i = (n, s) with
 *   t_i != ignore_index, with log p = log_softmax(z_i) over K, eps = label_smoothing, class
 *   weights w (K) (all 1 when NULL):
 *     l_i = (1 - eps) * w[t_i] * (-log p[t_i]) + eps/K * sum_k w[k] * (-log p[k])
 *     SUM:  L = sum_i l_i
 *     MEAN: L = sum_i l_i / sum_i w[t_i]   (the weighted mean; sum over non-ignored i)
 *   dL/dz_i[k] = ((1 - eps) w[t_i] (p[k] - [k = t_i]) + eps/K (p[k] sum_j w[j] - w[k])) / norm,
 *   norm = 1 for SUM, sum_i w[t_i] for MEAN; ignored positions get gradient 0. If every
 *   position is ignored, MEAN returns 0 with a zero gradient (PyTorch returns NaN).
 *
 *   binary cross-entropy with logits (torch.nn.BCEWithLogitsLoss): logits z (N, K, S),
 *   targets y (N, K, S) in [0, 1], pos_weight pw (K) or NULL (all 1), per element, stable:
 *     l = (1 - y) z + (1 + (pw - 1) y) (log(1 + e^-|z|) + max(-z, 0))
 *     dl/dz = (1 - y) - (1 + (pw - 1) y) sigmoid(-z)
 *   MEAN divides by N*K*S. Multi-label is (N, K) with S = 1; a per-pixel binary mask is
 *   (N, 1, S) (or (N, K, S) for K independent masks).
 *
 *   MSE: l = (x - t)^2, dl/dx = 2 (x - t).  L1: l = |x - t|, dl/dx = sign(x - t) with
 *   sign(0) = 0 (as PyTorch). MEAN divides by the element count.
 */
#ifndef CONVNET_LOSS_H
#define CONVNET_LOSS_H

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum cn_reduction {
    CN_REDUCE_MEAN = 0,
    CN_REDUCE_SUM,
    CN_REDUCTION_COUNT_
} cn_reduction;

/* ---- softmax cross-entropy ---- */
typedef struct cn_xent_geom {
    int64_t n, k, s;          /* logits (N, K, S), targets (N, S) */
    float label_smoothing;    /* in [0, 1] */
    int64_t ignore_index;     /* targets equal to it contribute nothing (PyTorch default -100) */
    cn_reduction reduction;
} cn_xent_geom;
/* {n, k, s}, mean reduction, no smoothing, ignore_index = -100 */
cn_xent_geom cn_xent_geom_make(int64_t n, int64_t k, int64_t s);
/* "xent 'loss': label_smoothing=1.5 must be in [0, 1]" */
cn_status cn_xent_check(const cn_xent_geom *g, const char *name);
/* Every target is in [0, K) or equals ignore_index: "xent 'loss': target 7 at position 12
 * (sample 3, pixel 0) is outside [0, 5) and is not ignore_index=-100" */
cn_status cn_xent_check_targets(const int64_t *targets, const cn_xent_geom *g, const char *name);
/* returns L; dlogits (N, K, S) or NULL = dL/dlogits, given logits (N, K, S), targets (N, S)
 * and weight (K) or NULL */
double cn_softmax_xent(float *dlogits, const float *logits, const int64_t *targets, const float *weight,
                       const cn_xent_geom *g);

/* ---- binary cross-entropy with logits ---- */
typedef struct cn_bce_geom {
    int64_t n, k, s;          /* logits and targets (N, K, S); pos_weight (K) */
    cn_reduction reduction;
} cn_bce_geom;
/* "bce 'loss': sizes must be >= 1 (N=0, K=3, S=1)" */
cn_status cn_bce_check(const cn_bce_geom *g, const char *name);
/* returns L; dlogits (N, K, S) or NULL = dL/dlogits, given logits, targets (N, K, S) and
 * pos_weight (K) or NULL */
double cn_bce_logits(float *dlogits, const float *logits, const float *targets, const float *pos_weight,
                     const cn_bce_geom *g);

/* ---- regression ---- */
/* "mse 'loss': reduction 7 is not mean (0) or sum (1)" — validates n >= 1 and r. `kind`
 * names the loss in the message ("mse", "l1"). */
cn_status cn_regression_check(int64_t n, cn_reduction r, const char *kind, const char *name);
/* returns L; dpred (n) or NULL = dL/dpred, given pred (n) and target (n) */
double cn_mse_loss(float *dpred, const float *pred, const float *target, int64_t n, cn_reduction r);
double cn_l1_loss(float *dpred, const float *pred, const float *target, int64_t n, cn_reduction r);

#ifdef __cplusplus
}
#endif
#endif
