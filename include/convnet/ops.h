/* convnet/ops.h — reference kernels for the non-convolutional layers: activations and softmax
 * (act.h), normalization (norm.h) and losses (loss.h) are included from here; this header
 * itself holds dropout, dense (fully connected), merges (add, concat) and padding.
 *
 * Conventions shared by every kernel of act.h, norm.h, loss.h and this header:
 *   - float32, contiguous, row-major (N, C, *spatial) layouts.
 *   - Kernels are pure: they never allocate, print or fail. Each family has a check/resolve
 *     function, called once at plan time, that validates the geometry and returns a cn_status
 *     with a message naming the layer and the numbers; kernels trust a checked geometry.
 *   - Argument order: outputs, then inputs, then the geometry (then scratch, if any).
 *   - Forward kernels overwrite their outputs; backward kernels ACCUMULATE (+=) into dx, dw,
 *     db, ... (zero them first). Losses are the exception: they OVERWRITE dlogits (see loss.h).
 *   - What forward keeps for backward (dropout mask, batch-norm mean / inv-std, LRN base) is a
 *     caller-owned "cache" sized by a *_cache_floats function; these kernels need no scratch.
 *   - Every pointer is borrowed for the call only; outputs must not alias inputs unless a
 *     prototype says so.
 *
 *     cn_pad_geom p = {.ndim = 2, .n = 1, .c = 3, .in = {5, 5}, .before = {1, 2}, .after = {1, 0},
 *                      .mode = CN_PAD_REFLECT};
 *     if (cn_pad_geom_resolve(&p, "pad1") != CN_OK) fprintf(stderr, "%s\n", cn_last_error());
 *     cn_pad_forward(y, x, &p);                  // y is (1, 3, 7, 7)
 */
#ifndef CONVNET_OPS_H
#define CONVNET_OPS_H

#include "act.h"
#include "conv.h" /* cn_pad_mode */
#include "core.h"
#include "loss.h"
#include "norm.h"
#include "rng.h"
#include "tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- dropout ---------------------------------------------------------------------------
 * Inverted dropout: at training each unit is kept with probability 1 - p and scaled by
 * 1/(1 - p) (cn_dropout_scale), so inference is the identity. The mask is the cache: it
 * holds 0 (dropped) or the scale (kept) per unit. Unit i (an element, or an (n, c) plane in
 * the spatial variant, in row-major order) is kept iff the uniform float made from word
 * rng->counter + i of the rng's stream is >= p: a pure function of (seed, stream, counter, i),
 * so the mask does not depend on the thread count. The caller initialises the rng on stream
 * CN_STREAM_DROPOUT (cn_rng_init(&r, seed, CN_STREAM_DROPOUT)); forward advances it by the
 * number of units, so successive steps draw fresh masks. p = 1 drops everything (y = 0). */
typedef struct cn_dropout_geom {
    int64_t n, c, s; /* x is (N, C, S), S the product of the spatial dims (1 for (N, C)) */
    float p;         /* drop probability in [0, 1] */
    int spatial;     /* 1: one draw per (n, c) plane (Dropout2d/3d, "channel dropout") */
} cn_dropout_geom;
/* "dropout 'd1': p=1.5 must be in [0, 1]" */
cn_status cn_dropout_check(const cn_dropout_geom *g, const char *name);
/* Floats in the mask (= units = words drawn per forward): N*C*S, or N*C when spatial. */
size_t cn_dropout_cache_floats(const cn_dropout_geom *g);
/* The scale of a kept unit: (float)(1/(1 - p)) in double, 0 when p = 1. */
float cn_dropout_scale(float p);
/* y (N, C, S) = x * mask; mask (units) drawn as above; rng advanced by the units */
void cn_dropout_forward_train(float *y, float *mask, const float *x, const cn_dropout_geom *g, cn_rng *rng);
/* y (N, C, S) = x (inference; y may equal x) */
void cn_dropout_forward_eval(float *y, const float *x, const cn_dropout_geom *g);
/* dx (N, C, S) += dy * mask */
void cn_dropout_backward(float *dx, const float *dy, const float *mask, const cn_dropout_geom *g);

/* ---- dense (fully connected) -----------------------------------------------------------
 * y = x W^T + b with W in PyTorch's (OUT, IN) layout. x may have any rank >= 2: it is read
 * as (N, IN), IN the product of the dims after N (so a (N, C, H, W) feature map needs no
 * explicit flatten). cn_dense_* run blocked SIMD matrix multiplies (threaded, no scratch;
 * float sums, bit-identical for any thread count); the cn_dense_ref_* twins (same arguments)
 * sum each dot product in double and round once, and are the oracle. */
typedef struct cn_dense_geom {
    int64_t n, in, out;
} cn_dense_geom;
/* Fill g from the input shape x (N, ...) and the weight shape w (OUT, IN); the error names
 * both shapes: "dense 'fc1': input 8x16x5x5 has 400 features per sample, weight 120x256
 * expects 256" */
cn_status cn_dense_check(cn_dense_geom *g, const cn_shape *x, const cn_shape *w, const char *name);
/* y (N, OUT) = x (N, IN) w^T (OUT, IN) + b (OUT) or NULL */
void cn_dense_forward(float *y, const float *x, const float *w, const float *b, const cn_dense_geom *g);
/* dx (N, IN) += dy (N, OUT) w (OUT, IN) */
void cn_dense_backward_data(float *dx, const float *dy, const float *w, const cn_dense_geom *g);
/* dw (OUT, IN) += dy^T (OUT, N) x (N, IN); db (OUT) or NULL += sum over N of dy */
void cn_dense_backward_weights(float *dw, float *db, const float *dy, const float *x, const cn_dense_geom *g);
void cn_dense_ref_forward(float *y, const float *x, const float *w, const float *b, const cn_dense_geom *g);
void cn_dense_ref_backward_data(float *dx, const float *dy, const float *w, const cn_dense_geom *g);
void cn_dense_ref_backward_weights(float *dw, float *db, const float *dy, const float *x, const cn_dense_geom *g);

/* ---- merges ----------------------------------------------------------------------------
 * Elementwise add of k inputs (residual connections) and concatenation of k inputs along
 * one axis (channel concat for U-Net skips, axis 1). Shapes are cn_shape (any rank 1..5). */
/* All k >= 1 shapes must be equal; *out = that shape. "add 'res1': input 0 is 8x64x28x28,
 * input 1 is 8x32x28x28" */
cn_status cn_add_check(cn_shape *out, const cn_shape *in, int k, const char *name);
/* y (n) = sum over i < k of xs[i] (n), summed in double; y may equal xs[0] */
void cn_add_forward(float *y, const float *const *xs, int k, int64_t n);
/* dxs[i] (n) += dy (n) for every i with dxs[i] != NULL */
void cn_add_backward(float *const *dxs, const float *dy, int k, int64_t n);
/* All k >= 1 shapes must have the same rank and agree on every axis but `axis` (negative
 * counts from the end); *out is their shape with the axis summed. "concat 'up3': input 0
 * is 8x64x56x56, input 1 is 8x32x28x28: they differ on axis 2, not only on the concat axis 1" */
cn_status cn_concat_check(cn_shape *out, const cn_shape *in, int k, int axis, const char *name);
/* y (out) = xs[0] (in[0]) ++ ... ++ xs[k-1] (in[k-1]) along axis (shapes checked) */
void cn_concat_forward(float *y, const float *const *xs, const cn_shape *in, int k, int axis);
/* dxs[i] (in[i]) += its slice of dy (out), for every i with dxs[i] != NULL */
void cn_concat_backward(float *const *dxs, const float *dy, const cn_shape *in, int k, int axis);

/* ---- padding ---------------------------------------------------------------------------
 * Pads the spatial axes of an (N, C, *in) tensor, each axis with its own before / after
 * amounts (asymmetric allowed, >= 0). Modes (cn_pad_mode, shared with conv.h):
 *   CN_PAD_ZERO       constant: padded positions hold `value` (0 unless set)
 *   CN_PAD_REFLECT    mirror without repeating the edge (i = -1 reads 1); every pad < in
 *   CN_PAD_REPLICATE  repeat the edge value
 * Backward sums dy over every output position that read an input (so reflect and replicate
 * scatter-add into the edge region; constant padding drops the padded positions). */
#define CN_PAD_MAX_NDIM 3
typedef struct cn_pad_geom {
    /* ---- set by the caller ---- */
    int ndim;                          /* spatial dims 1..3, ordered as the tensor's axes */
    int64_t n, c;
    int64_t in[CN_PAD_MAX_NDIM];
    int64_t before[CN_PAD_MAX_NDIM];
    int64_t after[CN_PAD_MAX_NDIM];
    cn_pad_mode mode;
    float value;                       /* CN_PAD_ZERO only */
    /* ---- filled by resolve ---- */
    int64_t out[CN_PAD_MAX_NDIM];      /* in + before + after */
} cn_pad_geom;
/* Validate and fill g->out. "pad 'p1': reflect pad 5 before axis H (of 2) needs input size > 5,
 * got 4" */
cn_status cn_pad_geom_resolve(cn_pad_geom *g, const char *name);
/* y (N, C, *out) = pad(x (N, C, *in)) */
void cn_pad_forward(float *y, const float *x, const cn_pad_geom *g);
/* dx (N, C, *in) += the adjoint of pad applied to dy (N, C, *out) */
void cn_pad_backward(float *dx, const float *dy, const cn_pad_geom *g);

#ifdef __cplusplus
}
#endif
#endif
