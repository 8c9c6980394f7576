/* convnet/norm.h — reference kernels for batch, instance and group normalization and local
 * response normalization (ONNX LRN).
 *
 * Layout: x is (N, C, S), where S is the product of the spatial dims (1D: W, 2D: H*W, 3D:
 * D*H*W; S = 1 for an (N, C) input). Every kernel here depends on the spatial dims only
 * through S.
 *
 *     cn_norm_geom g = {.n = 8, .c = 16, .s = 28 * 28, .groups = 1, .eps = 1e-5f, .momentum = 0.1f};
 *     if (cn_batchnorm_check(&g, 1, "bn1") != CN_OK) ...          // 1: training mode
 *     float *cache = ...cn_batchnorm_cache_floats(&g) floats...   // kept until backward
 *     cn_batchnorm_forward_train(y, cache, run_mean, run_var, x, gamma, beta, &g);
 *     cn_batchnorm_backward_train(dx, dgamma, dbeta, dy, x, cache, gamma, &g);
 *
 * Kernels are pure: they never allocate, print or fail (check first). Forward kernels
 * overwrite y; backward kernels ACCUMULATE (+=) into dx, dgamma and dbeta. gamma / beta may
 * be NULL (no affine: gamma = 1, beta = 0); dx, dgamma and dbeta may be NULL (not wanted).
 * Statistics and reductions are accumulated in double. y must not alias x. The "cache" is
 * what forward keeps for backward; the caller owns it and keeps it between the two calls.
 *
 * Definitions, M = number of values a statistic is taken over:
 *   batch norm (per channel c, over N and S; M = N*S), training mode:
 *     mean_c = sum x / M,   var_c = sum (x - mean_c)^2 / M   (biased, used to normalize)
 *     y = gamma_c * (x - mean_c) / sqrt(var_c + eps) + beta_c
 *     running_mean = (1 - momentum) * running_mean + momentum * mean_c
 *     running_var  = (1 - momentum) * running_var  + momentum * var_c * M / (M - 1)
 *                    (the UNBIASED variance, as PyTorch; training needs M > 1)
 *   batch norm, evaluation mode: the same with running_mean / running_var for mean_c / var_c.
 *   instance norm (per sample n and channel c, over S; M = S): as training-mode batch norm,
 *     without running statistics (PyTorch's InstanceNorm default, track_running_stats=False).
 *   group norm (per sample n and group of C/groups channels, over those channels and S;
 *     M = C/groups * S); gamma and beta are still per channel. groups = C is instance norm.
 *   LRN (ONNX LocalResponseNormalization), per element (n, c, s):
 *     square_sum = sum of x(n, j, s)^2 for j in [c - floor((size-1)/2), c + ceil((size-1)/2)]
 *                  intersected with [0, C)
 *     y = x / (bias + alpha/size * square_sum)^beta
 *     (torch.nn.LocalResponseNorm is the same for odd size; for even size its window is
 *     [c - size/2, c + size/2 - 1], one channel lower.)
 */
#ifndef CONVNET_NORM_H
#define CONVNET_NORM_H

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One geometry for batch, instance and group norm (a caller-owned value). */
typedef struct cn_norm_geom {
    int64_t n, c, s;    /* x is (N, C, S) */
    int64_t groups;     /* group norm only: divides C */
    float eps;          /* > 0 (PyTorch default 1e-5) */
    float momentum;     /* batch norm only: in [0, 1] (PyTorch default 0.1) */
} cn_norm_geom;

/* ---- batch norm ---- */
/* Validate g: sizes >= 1, eps > 0, momentum in [0, 1]; in training mode (`training` != 0)
 * N*S > 1. "batchnorm 'bn1': training needs more than one value per channel (N=1, S=1)" */
cn_status cn_batchnorm_check(const cn_norm_geom *g, int training, const char *name);
/* Floats in the training cache: 2*C = {mean (C), inv_std (C)}, inv_std = 1/sqrt(var + eps). */
size_t cn_batchnorm_cache_floats(const cn_norm_geom *g);
/* y (N, C, S) = gamma (C) * (x - mean) * inv_std + beta (C), batch statistics; cache
 * (2C) = {mean, inv_std}; running_mean, running_var (C) updated as above (both NULL: skip) */
void cn_batchnorm_forward_train(float *y, float *cache, float *running_mean, float *running_var, const float *x,
                                const float *gamma, const float *beta, const cn_norm_geom *g);
/* y (N, C, S) = gamma * (x - running_mean) / sqrt(running_var + eps) + beta */
void cn_batchnorm_forward_eval(float *y, const float *x, const float *gamma, const float *beta,
                               const float *running_mean, const float *running_var, const cn_norm_geom *g);
/* training-mode backward (the statistics depend on x): dx (N, C, S), dgamma (C), dbeta (C) +=,
 * given dy (N, C, S), x (N, C, S), the cache of the forward call and gamma (C) or NULL */
void cn_batchnorm_backward_train(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x,
                                 const float *cache, const float *gamma, const cn_norm_geom *g);
/* evaluation-mode backward (statistics are constants: an affine map per channel):
 * dx += dy * gamma / sqrt(running_var + eps); dgamma += sum dy * xhat; dbeta += sum dy */
void cn_batchnorm_backward_eval(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x,
                                const float *gamma, const float *running_mean, const float *running_var,
                                const cn_norm_geom *g);
/* The four above as plain loops (the oracle). The four above compute the same values, in
 * double too, with channels split over threads, each row summed over independent lanes and
 * the per-element maps written as affine maps with per-channel coefficients: within a
 * rounding or two of the oracle, not bit for bit. */
void cn_batchnorm_ref_forward_train(float *y, float *cache, float *running_mean, float *running_var, const float *x,
                                    const float *gamma, const float *beta, const cn_norm_geom *g);
void cn_batchnorm_ref_forward_eval(float *y, const float *x, const float *gamma, const float *beta,
                                   const float *running_mean, const float *running_var, const cn_norm_geom *g);
void cn_batchnorm_ref_backward_train(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x,
                                     const float *cache, const float *gamma, const cn_norm_geom *g);
void cn_batchnorm_ref_backward_eval(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x,
                                    const float *gamma, const float *running_mean, const float *running_var,
                                    const cn_norm_geom *g);

/* ---- group norm (and instance norm, its groups = C case) ---- */
/* Validate: sizes >= 1, eps > 0, groups >= 1 divides C, M = C/groups * S > 1 is NOT required
 * (M = 1 gives y = beta, as PyTorch). "groupnorm 'gn1': groups=3 does not divide C=16" */
cn_status cn_groupnorm_check(const cn_norm_geom *g, const char *name);
/* Floats in the cache: 2*N*groups = {mean (N, groups), inv_std (N, groups)} */
size_t cn_groupnorm_cache_floats(const cn_norm_geom *g);
/* y (N, C, S) = gamma (C) * (x - mean[n, group(c)]) * inv_std[n, group(c)] + beta (C) */
void cn_groupnorm_forward(float *y, float *cache, const float *x, const float *gamma, const float *beta,
                          const cn_norm_geom *g);
/* dx (N, C, S), dgamma (C), dbeta (C) += given dy, x, the forward's cache and gamma or NULL */
void cn_groupnorm_backward(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x,
                           const float *cache, const float *gamma, const cn_norm_geom *g);
/* Instance norm: the group-norm kernels with groups = C (g->groups is ignored). Cache 2*N*C. */
cn_status cn_instancenorm_check(const cn_norm_geom *g, const char *name);
size_t cn_instancenorm_cache_floats(const cn_norm_geom *g);
void cn_instancenorm_forward(float *y, float *cache, const float *x, const float *gamma, const float *beta,
                             const cn_norm_geom *g);
void cn_instancenorm_backward(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x,
                              const float *cache, const float *gamma, const cn_norm_geom *g);

/* ---- local response normalization ---- */
typedef struct cn_lrn_geom {
    int64_t n, c, s;    /* x is (N, C, S) */
    int64_t size;       /* channels in the window, >= 1 */
    float alpha, beta, bias; /* ONNX defaults 1e-4, 0.75, 1; bias > 0 */
} cn_lrn_geom;
/* "lrn 'norm1': size=0 must be >= 1" */
cn_status cn_lrn_check(const cn_lrn_geom *g, const char *name);
/* Floats in the cache: N*C*S, the base d = bias + alpha/size * square_sum of every element */
size_t cn_lrn_cache_floats(const cn_lrn_geom *g);
/* y (N, C, S) = x * d^-beta; cache (N, C, S) = d */
void cn_lrn_forward(float *y, float *cache, const float *x, const cn_lrn_geom *g);
/* dx (N, C, S) += dL/dx given dy, x and the forward's cache */
void cn_lrn_backward(float *dx, const float *dy, const float *x, const float *cache, const cn_lrn_geom *g);

#ifdef __cplusplus
}
#endif
#endif
