/* convnet/conv.h — convolution geometry, its arithmetic, and the reference kernels for
 * convolution (1D/2D/3D, groups, padding modes, true convolution or cross-correlation),
 * transposed convolution, locally connected layers and tiled convolution.
 *
 * Layout: row-major NCW / NCHW / NCDHW. Spatial arrays in the geometry hold ndim values
 * ordered as the tensor's axes (W; H, W; D, H, W); entries past ndim are ignored.
 *
 *     cn_conv_geom g;
 *     cn_conv_geom_init(&g, 2);                  // stride = dilation = groups = n = 1
 *     g.ic = 3, g.oc = 10;
 *     g.in[0] = 32, g.in[1] = 32, g.k[0] = 5, g.k[1] = 5;
 *     g.auto_pad = CN_AUTO_PAD_SAME_UPPER;
 *     if (cn_conv_geom_resolve(&g, "c1") != CN_OK) fprintf(stderr, "%s\n", cn_last_error());
 *     // g.out = {32, 32}, g.pad_begin = g.pad_end = {2, 2}; cn_conv_params(&g, 1) == 760
 *     float *scratch = malloc(cn_conv_scratch_floats(&g) * sizeof(float)); // once, at plan time
 *     cn_conv_forward(y, x, w, b, &g, scratch);
 *
 * Kernels are pure: they never allocate, print or fail. Every pointer is borrowed for the
 * call only and owned by the caller; outputs must not alias inputs. The geometry must have
 * been resolved (and not changed since) by the resolve function of its kernel family;
 * kernels trust it. Forward kernels overwrite y; backward kernels ACCUMULATE (+=) into dx,
 * dw and db (zero them first). A NULL b or db means "no bias".
 *
 * Two implementations: the reference kernels (cn_conv_ref_*: clear loops, each output's
 * inner sum accumulated in double, no scratch) are the oracle; cn_conv_forward and the two
 * backward kernels run the fastest algorithm for the geometry (an implicit GEMM on SIMD
 * micro-kernels, threaded through cn_parallel_for) in the scratch the caller provides:
 * cn_conv_scratch_floats(g) floats, any alignment, contents undefined before and after.
 * Given scratch == NULL they run the reference kernels. The fast kernels sum in float, in
 * blocks: a result of K products differs from the reference by at most (K + 2) * 2^-24 times
 * the sum of the products' magnitudes (what the tests check). Forward and backward-data results are bit-identical for any thread count
 * (the work is split by output elements; every element is summed in the same order);
 * backward-weights results too (each dw element is summed over images and positions in a
 * fixed order by one thread). They do depend on the ISA (cn_isa_select) and on g->algo.
 * The fast kernels use at most g->threads threads (cn_num_threads() when g was resolved):
 * set the thread count before resolving (a model plans after it).
 *
 * Definitions (per spatial axis, o = output index, j = kernel tap, i = input index):
 *   conv:       i = o*stride - pad_begin + j*dilation, kernel tap j is w[..., flip ? k-1-j : j];
 *               padded positions (i < 0 or i >= in) read 0 (CN_PAD_ZERO), the mirror image
 *               without repeating the edge (CN_PAD_REFLECT: -1 -> 1) or the edge (CN_PAD_REPLICATE).
 *   transposed: the adjoint of the zero-padded conv whose input is `out` and output is `in`
 *               (ONNX ConvTranspose, PyTorch conv_transpose): x at i spreads to
 *               o = i*stride - pad_begin + j*dilation, positions outside [0, out) are dropped
 *               (flip: the adjoint of the true convolution). Zero padding only.
 *   locally connected: as conv, but every output position has its own kernel and bias.
 *   tiled:      as conv, but output position (o_D, o_H, o_W) uses kernel and bias number
 *               (o_D mod tile_D, o_H mod tile_H, o_W mod tile_W) (Goodfellow et al., ch. 9).
 *               Tiled with tile = 1 is conv; tiled with tile = out is locally connected.
 */
#ifndef CONVNET_CONV_H
#define CONVNET_CONV_H

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CN_CONV_MAX_NDIM 3

typedef enum cn_pad_mode {
    CN_PAD_ZERO = 0,   /* padded positions are 0 */
    CN_PAD_REFLECT,    /* mirror without repeating the edge (PyTorch 'reflect'); pads < input size */
    CN_PAD_REPLICATE,  /* repeat the edge value (PyTorch 'replicate') */
    CN_PAD_MODE_COUNT_
} cn_pad_mode;

/* How cn_conv_forward and the backward kernels compute (g->algo). */
typedef enum cn_conv_algo {
    CN_CONV_ALGO_AUTO = 0, /* pick per geometry and per pass (the default); besides the three
                              below AUTO runs a layer with one output position and k = in as a
                              dense layer, and stride-1 depthwise convolution with direct
                              AVX-512 plane kernels */
    CN_CONV_ALGO_REF,      /* the reference loops */
    CN_CONV_ALGO_GEMM,     /* implicit GEMM, multi-row micro-tiles reading the padded input in place */
    CN_CONV_ALGO_PACKED,   /* implicit GEMM, multi-row micro-tiles on packed copies of the columns
                              (AUTO's choice per pass where images are small) */
    CN_CONV_ALGO_ROWS,     /* implicit GEMM with single-row micro-kernels in every pass (AUTO's
                              choice for depthwise and few channels per group) */
    CN_CONV_ALGO_WINOGRAD, /* Winograd F(2x2, 3x3) for the forward and backward-data passes of 2D
                              3x3 layers with stride 1, dilation 1, zero pads <= 2, one group,
                              cross-correlation (AUTO's choice there when the layer is large
                              enough to pay for the transforms); other geometries and the
                              weight gradient run as under AUTO. Its rounding error is bounded
                              differently from the direct methods': see conv_wino.c */
    CN_CONV_ALGO_COUNT_
} cn_conv_algo;

typedef enum cn_auto_pad {
    CN_AUTO_PAD_EXPLICIT = 0,  /* use pad_begin / pad_end as given (ONNX NOTSET) */
    CN_AUTO_PAD_VALID,         /* no padding */
    CN_AUTO_PAD_SAME_UPPER,    /* out = ceil(in/stride) (transposed: in*stride); an odd extra pad goes at the end */
    CN_AUTO_PAD_SAME_LOWER,    /* the same, the odd extra pad at the beginning */
    CN_AUTO_PAD_COUNT_
} cn_auto_pad;

/* One geometry for every convolution in this header. A caller-owned value: fill it (start
 * from cn_conv_geom_init), resolve it, then pass it to kernels. Nothing to free. */
typedef struct cn_conv_geom {
    /* ---- set by the caller ---- */
    int ndim;                         /* spatial dims: 1 (NCW), 2 (NCHW), 3 (NCDHW) */
    int64_t n;                        /* batch size */
    int64_t ic, oc;                   /* input and output channels */
    int64_t groups;                   /* divides ic and oc; groups == ic is depthwise */
    int64_t in[CN_CONV_MAX_NDIM];     /* input spatial size (of x, also for transposed) */
    int64_t k[CN_CONV_MAX_NDIM];      /* kernel size */
    int64_t stride[CN_CONV_MAX_NDIM];
    int64_t dilation[CN_CONV_MAX_NDIM];   /* 1 = dense */
    int64_t pad_begin[CN_CONV_MAX_NDIM];  /* explicit pads; with auto_pad != EXPLICIT, or a */
    int64_t pad_end[CN_CONV_MAX_NDIM];    /* transposed output_shape, resolve overwrites them */
    int64_t output_padding[CN_CONV_MAX_NDIM]; /* transposed only: extra output at the end */
    int64_t output_shape[CN_CONV_MAX_NDIM];   /* transposed only: 0 = derive; > 0 = wanted output
                                                 size on that axis, pads derived as ONNX does */
    int64_t tile[CN_CONV_MAX_NDIM];   /* tiled only: kernels cycled per axis (>= 1) */
    cn_pad_mode pad_mode;             /* ordinary (not transposed) conv, local and tiled only */
    cn_auto_pad auto_pad;
    int flip;                         /* 1: true convolution (kernel flipped on every spatial axis);
                                         0: cross-correlation (the deep-learning default) */
    int transposed;                   /* 1: transposed convolution (w is (IC, OC/groups, *k)) */
    cn_conv_algo algo;                /* AUTO (0) unless forced (tests, benchmarks) */
    int weights_fixed;                /* 1: the forward will run from prepared weights
                                         (cn_conv_prepare), so AUTO counts transforming the
                                         filters as free; 0 (default): every call pays for it */
    /* ---- filled by resolve ---- */
    int64_t out[CN_CONV_MAX_NDIM];    /* output spatial size */
    int threads;                      /* cn_num_threads() at resolve: the fast kernels use at most
                                         this many threads, and their scratch is sized for it */
    int family;                       /* which resolve filled g: 0 conv (or transposed), 1 locally
                                         connected, 2 tiled */
} cn_conv_geom;

/* Zero *g, then set ndim, n = 1, groups = 1 and stride = dilation = tile = 1 on every axis. */
void cn_conv_geom_init(cn_conv_geom *g, int ndim);

/* Validate g and fill g->out (and the pads, for auto_pad or a transposed output_shape).
 * `name` (may be NULL) labels messages: "conv 'c1': input has 3 channels, groups=2 does not
 * divide it". Output size per axis, with ext = dilation*(k-1) + 1:
 *   conv:        out = floor((in + pad_begin + pad_end - ext) / stride) + 1
 *   transposed:  out = stride*(in-1) + output_padding + ext - pad_begin - pad_end
 *   SAME (conv): out = ceil(in/stride), total pad = max(0, (out-1)*stride + ext - in)
 *   SAME / output_shape (transposed): out = in*stride or output_shape, total pad =
 *                stride*(in-1) + output_padding + ext - out, split as ONNX ConvTranspose says
 *                (SAME_UPPER: begin = floor(total/2), else begin = total - floor(total/2)).
 *                The total may be negative (out larger than the unpadded output): the extra
 *                outputs then hold only the bias, as in ONNX's reference implementation.
 * CN_STATUS_SHAPE for sizes that do not fit (channels vs groups, kernel larger than the
 * padded input, reflect pad >= input, no output left); CN_STATUS_INVALID_ARG for bad option
 * values (ndim, stride, dilation, pads, output_padding, groups, enums); CN_STATUS_LIMIT for
 * sizes over CN_MAX_DIM_EXTENT (tensor.h) or counts that overflow. Idempotent. On failure g->out and the
 * pads are unspecified. */
cn_status cn_conv_geom_resolve(cn_conv_geom *g, const char *name);
/* The same, plus: not transposed. (Locally connected.) */
cn_status cn_local_geom_resolve(cn_conv_geom *g, const char *name);
/* The same, plus: not transposed, tile >= 1 on every axis. (Tiled.) */
cn_status cn_tiled_geom_resolve(cn_conv_geom *g, const char *name);

/* ---- arithmetic (g resolved) ---- */
/* Trainable numbers: weights (+ biases if `bias`). conv: OC*(IC/groups)*prod(k) (+ OC);
 * transposed: IC*(OC/groups)*prod(k) (+ OC), the same count. */
int64_t cn_conv_params(const cn_conv_geom *g, int bias);
/* Multiply-accumulates for a batch of g->n: N*OC*prod(out)*(IC/groups)*prod(k);
 * transposed: N*IC*prod(in)*(OC/groups)*prod(k) (every input times every tap, cropped or not). */
int64_t cn_conv_macs(const cn_conv_geom *g);
/* locally connected: prod(out) * conv's count (weights and biases per position); MACs as conv. */
int64_t cn_local_params(const cn_conv_geom *g, int bias);
int64_t cn_local_macs(const cn_conv_geom *g);
/* tiled: prod(tile) * conv's count; MACs as conv. */
int64_t cn_tiled_params(const cn_conv_geom *g, int bias);
int64_t cn_tiled_macs(const cn_conv_geom *g);

/* Floats of scratch cn_conv_forward, cn_conv_backward_data and cn_conv_backward_weights
 * need for g (one buffer of this size serves all three; 0 when they run the reference
 * loops). Depends on the geometry, g->algo and g->threads only, not on the ISA. The
 * locally connected and tiled kernels need none. */
size_t cn_conv_scratch_floats(const cn_conv_geom *g);
/* The algorithm the fast kernels use for g in the forward pass (never AUTO), and a
 * short name for an algorithm ("auto", "ref", "gemm", "packed", "rows", "winograd"). */
cn_conv_algo cn_conv_algo_chosen(const cn_conv_geom *g);
const char *cn_conv_algo_name(cn_conv_algo a);

/* ---- convolution (and transposed convolution when g->transposed) ----
 * In the shapes below, *in is g->in, *out is g->out and *k is g->k. The cn_conv_ref_*
 * twins take the same arguments (their scratch is ignored) and are the oracle. */
/* y (N, OC, *out) = conv(x (N, IC, *in), w (OC, IC/groups, *k)) + b (OC) or NULL
 * transposed: y (N, OC, *out) = conv_transpose(x (N, IC, *in), w (IC, OC/groups, *k)) + b (OC) or NULL */
void cn_conv_forward(float *y, const float *x, const float *w, const float *b, const cn_conv_geom *g, float *scratch);
/* Prepared weights, for inference with weights that do not change between forwards: the
 * forward's algorithm may transform the filters (Winograd's G g G^T); done once here instead
 * of in every call. cn_conv_prepared_floats(g): the floats of the prepared form, 0 when g's
 * forward has none (then cn_conv_forward_prepared is cn_conv_forward). cn_conv_prepare fills
 * pw from w under the active ISA; cn_conv_forward_prepared computes cn_conv_forward(y, x, w,
 * b, g, scratch) from pw — the same bits — or, if pw is NULL or was prepared under another
 * ISA, from w. pw must be refilled whenever w changes. */
size_t cn_conv_prepared_floats(const cn_conv_geom *g);
void cn_conv_prepare(float *pw, const float *w, const cn_conv_geom *g);
void cn_conv_forward_prepared(float *y, const float *x, const float *pw, const float *w, const float *b,
                              const cn_conv_geom *g, float *scratch);
/* dx (N, IC, *in) += dL/dx given dy (N, OC, *out), w as in forward */
void cn_conv_backward_data(float *dx, const float *dy, const float *w, const cn_conv_geom *g, float *scratch);
/* dw (as w) += dL/dw, db (OC) or NULL += dL/db, given dy (N, OC, *out) and x (N, IC, *in) */
void cn_conv_backward_weights(float *dw, float *db, const float *dy, const float *x, const cn_conv_geom *g,
                              float *scratch);
void cn_conv_ref_forward(float *y, const float *x, const float *w, const float *b, const cn_conv_geom *g, float *scratch);
void cn_conv_ref_backward_data(float *dx, const float *dy, const float *w, const cn_conv_geom *g, float *scratch);
void cn_conv_ref_backward_weights(float *dw, float *db, const float *dy, const float *x, const cn_conv_geom *g,
                                  float *scratch);

/* ---- locally connected (g resolved by cn_local_geom_resolve) ----
 * w[p] and b[p] for output position p (row-major over *out) are an ordinary conv's weights. */
/* y (N, OC, *out) = local(x (N, IC, *in), w (*out, OC, IC/groups, *k)) + b (*out, OC) or NULL */
void cn_local_forward(float *y, const float *x, const float *w, const float *b, const cn_conv_geom *g, float *scratch);
/* dx (N, IC, *in) += dL/dx given dy (N, OC, *out), w (*out, OC, IC/groups, *k) */
void cn_local_backward_data(float *dx, const float *dy, const float *w, const cn_conv_geom *g, float *scratch);
/* dw (*out, OC, IC/groups, *k) += dL/dw, db (*out, OC) or NULL += dL/db, given dy and x */
void cn_local_backward_weights(float *dw, float *db, const float *dy, const float *x, const cn_conv_geom *g,
                               float *scratch);

/* ---- tiled (g resolved by cn_tiled_geom_resolve); *tile is g->tile ----
 * w[t] and b[t] for tile t (row-major over *tile) are an ordinary conv's weights. */
/* y (N, OC, *out) = tiled(x (N, IC, *in), w (*tile, OC, IC/groups, *k)) + b (*tile, OC) or NULL */
void cn_tiled_forward(float *y, const float *x, const float *w, const float *b, const cn_conv_geom *g, float *scratch);
/* dx (N, IC, *in) += dL/dx given dy (N, OC, *out), w (*tile, OC, IC/groups, *k) */
void cn_tiled_backward_data(float *dx, const float *dy, const float *w, const cn_conv_geom *g, float *scratch);
/* dw (*tile, OC, IC/groups, *k) += dL/dw, db (*tile, OC) or NULL += dL/db, given dy and x */
void cn_tiled_backward_weights(float *dw, float *db, const float *dy, const float *x, const cn_conv_geom *g,
                               float *scratch);

#ifdef __cplusplus
}
#endif
#endif
