/* conv_ref.h — private: the loop engine behind every reference kernel of convnet/conv.h.
 *
 * Every convolution in conv.h is one relation between a "small" tensor S (N, CS, *small)
 * and a "big" tensor B (N, CB, *big) through weights w (sets, CS, CB/groups, *k):
 *
 *     S[n, s, o] ~ sum over c, j of  w[set(o), s, c, tap(j)] * B[n, group(s)*CB/groups + c, src(o, j)]
 *     src(o, j) = map(o*stride - pad + j*dilation) per axis, tap(j) = flip ? k-1-j : j,
 *     set(o)    = row-major index of (o_a mod cycle_a) over the cycle grid.
 *
 *   conv:       S = y, B = x, CS = OC, CB = IC, cycle = 1
 *   transposed: S = x, B = y, CS = IC, CB = OC, cycle = 1 (w is (IC, OC/groups, *k))
 *   local:      as conv with cycle = out (one kernel set per output position)
 *   tiled:      as conv with cycle = tile
 *
 * Three loops cover all forward and backward passes: gather (S from B: conv forward,
 * transposed backward_data), scatter (B from S: conv backward_data, transposed forward)
 * and wgrad (dw from S and B). Axes are padded to three (D, H, W) with size-1 axes in front,
 * so one loop nest serves 1D, 2D and 3D. */
#ifndef CN_KERNELS_CONV_REF_H
#define CN_KERNELS_CONV_REF_H

#include "convnet/conv.h"

typedef struct cn_convref {
    int64_t n, groups;
    int64_t cs, cb;                      /* channels of S (weight axis 0) and of B */
    int64_t small[3], big[3];            /* spatial sizes, D, H, W */
    int64_t k[3], stride[3], dil[3], pad[3]; /* pad = pad_begin */
    int64_t cycle[3];                    /* kernel sets per axis */
    cn_pad_mode mode;
    int flip;
} cn_convref;

/* Describe a resolved geometry; cycle (ndim values, as g's arrays) or NULL for 1. */
void cn_convref_init(cn_convref *r, const cn_conv_geom *g, const int64_t *cycle);

/* S (N, CS, *small) = [S +] bias (sets, CS) or NULL + sum w * B; `accumulate` keeps S's contents */
void cn_convref_gather(float *S, const float *B, const float *w, const float *bias, int accumulate,
                       const cn_convref *r);
/* B (N, CB, *big) += the transpose of gather applied to S (no bias) */
void cn_convref_scatter(float *B, const float *S, const float *w, const cn_convref *r);
/* dw (sets, CS, CB/groups, *k) += dL/dw of gather, S holding dL/dS */
void cn_convref_wgrad(float *dw, const float *S, const float *B, const cn_convref *r);
/* db (sets, CS) += dL/dbias of gather, S holding dL/dS */
void cn_convref_bgrad(float *db, const float *S, const cn_convref *r);

#endif
