/* convnet/pool.h — pooling, unpooling, upsampling and pixel shuffle: geometry and reference
 * kernels, forward and backward, for 1D, 2D and 3D signals.
 *
 * Layout: row-major NCW / NCHW / NCDHW. Spatial arrays in a geometry hold ndim values ordered
 * as the tensor's axes (W; H, W; D, H, W); entries past ndim are ignored. A "plane" is the
 * spatial block of one (n, c) pair; planes are independent in every kernel here.
 *
 *     cn_pool_geom g;
 *     cn_pool_geom_init(&g, 2);                    // n = c = 1, k = stride = dilation = 1
 *     g.n = 8, g.c = 16, g.in[0] = 32, g.in[1] = 32;
 *     g.k[0] = g.k[1] = 2, g.stride[0] = g.stride[1] = 2;
 *     if (cn_pool_geom_resolve(&g, "p1") != CN_OK) fprintf(stderr, "%s\n", cn_last_error());
 *     // g.out = {16, 16}; cache: cn_pool_cache_count(&g) int64 entries
 *     cn_maxpool_forward(y, argmax, x, &g);
 *     cn_maxpool_backward(dx, dy, argmax, &g);   // dx += routed dy
 *
 * Kernels are pure: they never allocate, print or fail. Every pointer is borrowed for the call
 * only and owned by the caller; outputs must not alias inputs. The geometry must have been
 * resolved (and not changed since) by the resolve function named for the kernel; kernels trust
 * it. Forward kernels overwrite y; backward kernels ACCUMULATE (+=) into dx (zero it first).
 * Sums are accumulated in double. No kernel here needs scratch.
 *
 * Caches (what forward keeps for backward) are int64 arrays of cn_pool_cache_count(g) entries,
 * one per output element, holding a FLAT INDEX INTO THE INPUT PLANE of that output's (n, c):
 * for input position (i_D, i_H, i_W) the index is (i_D*in_H + i_H)*in_W + i_W (row-major over
 * the spatial axes only), or -1 when the window selected nothing (see each kernel). This is
 * PyTorch's `return_indices` convention; cn_pool_indices_onnx converts it to ONNX MaxPool's
 * `Indices` (flat over the whole N*C*spatial tensor).
 *
 * Window geometry (per spatial axis; o = output index, j = tap 0..k-1, i = input index):
 *     i = o*stride - pad_begin + j*dilation
 * Taps with i outside [0, in) are padding. Padding is never a candidate for a maximum or a
 * stochastic sample, adds 0 to a sum, and counts in an average's divisor only when
 * count_include_pad = 1 and i < in + pad_end (the padded input); taps past the padded input,
 * which only ceil mode creates, never count. A window whose taps are all padding (possible only
 * with dilation or auto_pad SAME) gives y = 0 and cache -1; its backward adds nothing.
 */
#ifndef CONVNET_POOL_H
#define CONVNET_POOL_H

#include "core.h"
#include "rng.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CN_POOL_MAX_NDIM 3

/* The same values, in the same order, as ONNX's auto_pad. */
typedef enum cn_pool_auto_pad {
    CN_POOL_AUTO_PAD_EXPLICIT = 0, /* pad_begin / pad_end as given (ONNX NOTSET) */
    CN_POOL_AUTO_PAD_VALID,        /* no padding */
    CN_POOL_AUTO_PAD_SAME_UPPER,   /* out = ceil(in/stride); an odd extra pad goes at the end */
    CN_POOL_AUTO_PAD_SAME_LOWER,   /* the same, the odd extra pad at the beginning */
    CN_POOL_AUTO_PAD_COUNT_
} cn_pool_auto_pad;

/* One geometry for every pooling kernel and for max-unpooling. A caller-owned value: fill it
 * (start from cn_pool_geom_init), resolve it, pass it to kernels. Nothing to free. */
typedef struct cn_pool_geom {
    /* ---- set by the caller ---- */
    int ndim;                             /* spatial dims: 1 (NCW), 2 (NCHW), 3 (NCDHW) */
    int64_t n, c;                         /* batch size, channels (planes = n*c) */
    int64_t in[CN_POOL_MAX_NDIM];         /* input spatial size (unpool: the pooled size) */
    int64_t k[CN_POOL_MAX_NDIM];          /* window (kernel) size */
    int64_t stride[CN_POOL_MAX_NDIM];
    int64_t dilation[CN_POOL_MAX_NDIM];   /* 1 = dense */
    int64_t pad_begin[CN_POOL_MAX_NDIM];  /* explicit pads; auto_pad VALID/SAME overwrites them */
    int64_t pad_end[CN_POOL_MAX_NDIM];
    cn_pool_auto_pad auto_pad;
    int ceil_mode;                        /* round the output size up (see resolve) */
    int count_include_pad;                /* average pooling: padded taps count in the divisor */
    int global;                           /* global pooling: resolve sets k = in, stride = dilation
                                             = 1, pads 0, so out = 1 on every axis */
    double p;                             /* Lp pooling exponent > 0; 0 = 2 (resolve stores 2) */
    int64_t output_shape[CN_POOL_MAX_NDIM]; /* unpool: explicit output size, 0 = default;
                                               fractional: the output size, 0 = use ratio */
    double ratio[CN_POOL_MAX_NDIM];       /* fractional: out = floor(in*ratio), 0 < ratio <= 1 */
    int overlap;                          /* fractional: overlapping regions (see cn_fracpool_region) */
    /* ---- filled by resolve ---- */
    int64_t out[CN_POOL_MAX_NDIM];        /* output spatial size */
} cn_pool_geom;

/* Zero *g, then set ndim, n = c = 1, k = stride = dilation = 1 on every axis and p = 2. */
void cn_pool_geom_init(cn_pool_geom *g, int ndim);

/* Validate g for the windowed pooling kernels (max, average, Lp, subsample, stochastic) and
 * fill g->out (and the pads, for auto_pad VALID/SAME). `name` (may be NULL) labels messages:
 * "pool 'p1': stride 0 on axis W must be >= 1". Per axis, with ext = dilation*(k-1) + 1 and
 * the ONNX MaxPool/AveragePool/LpPool formulas:
 *   EXPLICIT, VALID: out = floor((in + pad_begin + pad_end - ext) / stride) + 1, or with
 *                    ceil_mode  ceil((in + pad_begin + pad_end - ext) / stride) + 1, minus one
 *                    if the last window would start at or past in + pad_begin (in the right
 *                    padding or beyond): PyTorch's rule, and ONNX's since opset 19 ("sliding
 *                    windows that would start in the right padded region are ignored").
 *   SAME_UPPER/LOWER: out = ceil(in / stride) (ceil_mode changes nothing), total pad =
 *                    max(0, (out-1)*stride + ext - in), split begin = total/2 (UPPER) or
 *                    total - total/2 (LOWER).
 * Rules: ndim 1..3; n, c, in >= 1; k, stride, dilation >= 1; explicit pads >= 0 and smaller
 * than the kernel size k (ONNX Runtime's "pad should be smaller than kernel", which PyTorch's
 * pad <= ext/2 also implies for dilation 1); the padded input must hold one window:
 * in + pad_begin + pad_end >= ext; p > 0 and finite (0 becomes 2). CN_STATUS_SHAPE for sizes that do not fit,
 * CN_STATUS_INVALID_ARG for bad option values, CN_STATUS_LIMIT for absurd sizes. Idempotent. */
cn_status cn_pool_geom_resolve(cn_pool_geom *g, const char *name);

/* Validate g for fractional max pooling: n, c, in as above; out = output_shape[a] if > 0, else
 * floor(in * ratio[a]); 1 <= out <= in is required (alpha = in/out >= 1). k, stride, pads,
 * dilation, auto_pad and ceil_mode are ignored. */
cn_status cn_fracpool_geom_resolve(cn_pool_geom *g, const char *name);

/* Validate g for max-unpooling. g->in is the pooled size (the unpool's input); k, stride and
 * explicit pads are those of the max pooling being inverted (dilation must be 1, auto_pad
 * EXPLICIT). Default output (ONNX MaxUnpool, PyTorch max_unpool):
 *     out = (in - 1)*stride + k - pad_begin - pad_end
 * An explicit output_shape[a] > 0 replaces it and must lie strictly between default - stride
 * and default + stride (PyTorch's rule: the input sizes a pooling could have come from).
 * CN_STATUS_SHAPE if out < 1 or output_shape is out of range. */
cn_status cn_unpool_geom_resolve(cn_pool_geom *g, const char *name);

/* ---- sizes (g resolved) ---- */
int64_t cn_pool_in_count(const cn_pool_geom *g);   /* n*c*prod(in)  */
int64_t cn_pool_out_count(const cn_pool_geom *g);  /* n*c*prod(out) */
/* int64 entries of the cache of max, stochastic and fractional pooling: n*c*prod(out). */
size_t cn_pool_cache_count(const cn_pool_geom *g);

/* ---- max pooling (cn_pool_geom_resolve; global when g->global) ----
 * Ties: the FIRST maximum in the window's row-major tap order wins (the smallest input index;
 * PyTorch does the same). NaN propagates: the first NaN in the window wins. */
/* y (N, C, *out) = max over each window of x (N, C, *in); argmax (N, C, *out) plane indices,
 * or NULL when no backward will follow */
void cn_maxpool_forward(float *y, int64_t *argmax, const float *x, const cn_pool_geom *g);
/* dx (N, C, *in) += dy (N, C, *out) routed to argmax (entries -1 are skipped) */
void cn_maxpool_backward(float *dx, const float *dy, const int64_t *argmax, const cn_pool_geom *g);
/* ONNX MaxPool `Indices` (N, C, *out) from a plane-index cache (N, C, *out): (n*C + c)*P + q,
 * P = prod(in), where q is the plane index in row-major order (storage_order 0) or in
 * column-major order (storage_order 1: the first spatial axis varies fastest, e.g.
 * i_H + i_W*in_H in 2D). Entries -1 stay -1. */
void cn_pool_indices_onnx(int64_t *indices, const int64_t *argmax, const cn_pool_geom *g, int storage_order);

/* ---- average pooling (cn_pool_geom_resolve; global when g->global) ----
 * y = (sum of the window's taps inside the input) / divisor, divisor = number of taps inside
 * the input (count_include_pad = 0) or inside the padded input [-pad_begin, in + pad_end)
 * (count_include_pad = 1). ONNX AveragePool and PyTorch avg_pool agree on this. */
/* y (N, C, *out) = average over each window of x (N, C, *in) */
void cn_avgpool_forward(float *y, const float *x, const cn_pool_geom *g);
/* dx (N, C, *in) += dL/dx given dy (N, C, *out) */
void cn_avgpool_backward(float *dx, const float *dy, const cn_pool_geom *g);
/* The four above, as plain loops over each output's window (the oracle). cn_maxpool_* and
 * cn_avgpool_* compute the same values faster when dilation is 1 on every axis (window bounds
 * per row instead of per output, threads over planes; bit for bit, except that average
 * pooling with non-overlapping windows inside the input sums in float and multiplies by
 * 1/count: within a few float ulps), and call these otherwise. */
void cn_maxpool_ref_forward(float *y, int64_t *argmax, const float *x, const cn_pool_geom *g);
void cn_maxpool_ref_backward(float *dx, const float *dy, const int64_t *argmax, const cn_pool_geom *g);
void cn_avgpool_ref_forward(float *y, const float *x, const cn_pool_geom *g);
void cn_avgpool_ref_backward(float *dx, const float *dy, const cn_pool_geom *g);

/* ---- Lp pooling (cn_pool_geom_resolve, g->p > 0) ----
 * ONNX LpPool: y = (sum over the window's taps inside the input of |x|^p)^(1/p); padding adds
 * 0. dy/dx_i = sign(x_i) |x_i|^(p-1) / y^(p-1), taken as 0 where y = 0 (and, for p < 1, where
 * x_i = 0). */
/* y (N, C, *out) = Lp norm of each window of x (N, C, *in) */
void cn_lppool_forward(float *y, const float *x, const cn_pool_geom *g);
/* dx (N, C, *in) += dL/dx given dy (N, C, *out) and x (N, C, *in) */
void cn_lppool_backward(float *dx, const float *dy, const float *x, const cn_pool_geom *g);

/* ---- subsampling (cn_pool_geom_resolve) ----
 * Keeps the top-left tap of each window: y[o] = x[o*stride - pad_begin] per axis (0 where
 * that position is padding). With k = stride and no padding, stride-s picking of x[o*s]. */
/* y (N, C, *out) = x (N, C, *in) at each window's first tap */
void cn_subsample_forward(float *y, const float *x, const cn_pool_geom *g);
/* dx (N, C, *in) += dy (N, C, *out) at each window's first tap */
void cn_subsample_backward(float *dx, const float *dy, const cn_pool_geom *g);

/* ---- stochastic pooling (Zeiler & Fergus 2013; cn_pool_geom_resolve) ----
 * Activations are expected non-negative (after a ReLU); a_i = max(x_i, 0) is used, so
 * negative inputs behave as 0. Training: in each window, tap i is sampled with probability
 * p_i = a_i / sum(a) and y = x at that tap; the cache holds its plane index. A window with
 * sum(a) = 0 gives y = 0 and cache -1 (no gradient). Output element q (flat over N*C*out)
 * uses word r->counter + q of r's stream (use stream CN_STREAM_POOL) as u = word / 2^32, and
 * picks the first tap whose running sum of a exceeds u*sum(a); afterwards r->counter advances
 * by cn_pool_out_count(g). So results do not depend on how work is split (a caller that
 * splits the batch at sample n0 seeks the copy for the second half by n0*C*prod(out)).
 * Inference: y = sum(a_i^2) / sum(a_i) (the probability-weighted average), 0 if sum(a) = 0. */
/* y (N, C, *out), cache (N, C, *out) = sampled activation and its plane index, from x (N, C, *in) */
void cn_stochpool_forward_train(float *y, int64_t *cache, const float *x, const cn_pool_geom *g, cn_rng *r);
/* dx (N, C, *in) += dy (N, C, *out) routed to the sampled taps (cache -1 skipped) */
void cn_stochpool_backward_train(float *dx, const float *dy, const int64_t *cache, const cn_pool_geom *g);
/* y (N, C, *out) = sum(a^2)/sum(a) over each window of a = max(x (N, C, *in), 0) */
void cn_stochpool_forward_infer(float *y, const float *x, const cn_pool_geom *g);
/* dx (N, C, *in) += dL/dx given dy (N, C, *out) and x: dy * (2 a_j S1 - S2) / S1^2 for x_j > 0 */
void cn_stochpool_backward_infer(float *dx, const float *dy, const float *x, const cn_pool_geom *g);

/* ---- fractional max pooling (Graham 2014, pseudo-random regions; cn_fracpool_geom_resolve) ----
 * On each axis, with alpha = in/out and a per-call random u = m / 2^24 (m a 24-bit integer):
 *     A(i) = ceil(alpha * (i + u)) = ceil(in * (i*2^24 + m) / (out * 2^24))  (exact integers)
 *     region i = [A(i) - A(0), A(i+1) - A(0))             disjoint (overlap = 0), or
 *                [A(i) - A(0), min(A(i+1) - A(0) + 1, in))  overlapping (overlap = 1).
 * Disjoint regions tile [0, in) exactly and each has floor(alpha) or ceil(alpha) taps.
 * y is the maximum of its region (rows x columns x ... product of the axes' regions); ties and
 * NaN as in max pooling. The forward draws m_a = cn_rng_u32(r) >> 8 for a = 0..ndim-1 (r
 * advances by ndim words; use stream CN_STREAM_POOL): one set of regions per call, shared by
 * every image and channel of the batch. */
/* the bounds [*begin, *end) of region i (0 <= i < out) on one axis, for the 24-bit draw m */
void cn_fracpool_region(int64_t *begin, int64_t *end, int64_t in, int64_t out, uint32_t m, int overlap, int64_t i);
/* y (N, C, *out) = max over each region of x (N, C, *in); argmax (N, C, *out) plane indices */
void cn_fracpool_forward(float *y, int64_t *argmax, const float *x, const cn_pool_geom *g, cn_rng *r);
/* dx (N, C, *in) += dy (N, C, *out) routed to argmax */
void cn_fracpool_backward(float *dx, const float *dy, const int64_t *argmax, const cn_pool_geom *g);

/* ---- max-unpooling (cn_unpool_geom_resolve; g->in is the pooled size, g->out the unpooled) ----
 * y = 0 everywhere, then y[index] = x for every element of x. `flat` = 0: indices are plane
 * indices into y's plane of the same (n, c) (this module's caches; PyTorch max_unpool);
 * flat = 1: indices are flat over the whole y tensor N*C*prod(out) (ONNX MaxUnpool). When two
 * elements share an index the later one (in x's order) wins, as in ONNX's reference and
 * PyTorch on the CPU; the backward, like PyTorch's, still gathers dy to both (the true
 * derivative of the loser is 0: use unpooling after non-overlapping pools for exact
 * gradients). Indices outside y are skipped; cn_unpool_check_indices reports them. */
/* y (N, C, *out) = scatter of x (N, C, *in) to indices (N, C, *in) */
void cn_unpool_forward(float *y, const float *x, const int64_t *indices, const cn_pool_geom *g, int flat);
/* dx (N, C, *in) += dy (N, C, *out) gathered at indices */
void cn_unpool_backward(float *dx, const float *dy, const int64_t *indices, const cn_pool_geom *g, int flat);
/* CN_STATUS_INVALID_ARG naming the first index outside y's plane (flat = 0) or y (flat = 1). */
cn_status cn_unpool_check_indices(const int64_t *indices, const cn_pool_geom *g, int flat, const char *name);

/* ---- upsampling / resizing ---------------------------------------------------------------- */
typedef enum cn_resize_mode {
    CN_RESIZE_NEAREST = 0, /* nearest neighbour ("duplicate" for integer scales) */
    CN_RESIZE_LINEAR,      /* linear / bilinear / trilinear by ndim, separable */
    CN_RESIZE_MODE_COUNT_
} cn_resize_mode;

/* How an output index x maps to a source coordinate (ONNX Resize coordinate_transformation_mode);
 * inv = 1/scale (see cn_upsample_geom). */
typedef enum cn_resize_coord {
    CN_COORD_HALF_PIXEL = 0,      /* (x + 0.5)*inv - 0.5 — PyTorch align_corners=False */
    CN_COORD_PYTORCH_HALF_PIXEL,  /* the same, but 0 when out == 1 */
    CN_COORD_ALIGN_CORNERS,       /* x*(in-1)/(out-1), 0 when out == 1 — PyTorch align_corners=True */
    CN_COORD_ASYMMETRIC,          /* x*inv — PyTorch 'nearest' */
    CN_COORD_HALF_PIXEL_SYMMETRIC,/* (in/2)*(1 - out/(in*scale)) + (x + 0.5)*inv - 0.5 (ONNX opset 19) */
    CN_COORD_COUNT_
} cn_resize_coord;

/* How a source coordinate rounds to an index in nearest mode (ONNX nearest_mode). */
typedef enum cn_resize_nearest {
    CN_NEAREST_ROUND_PREFER_FLOOR = 0, /* ONNX's default: halves go down */
    CN_NEAREST_ROUND_PREFER_CEIL,      /* halves go up (half_pixel + this = PyTorch 'nearest-exact') */
    CN_NEAREST_FLOOR,                  /* asymmetric + floor = PyTorch 'nearest' */
    CN_NEAREST_CEIL,
    CN_NEAREST_COUNT_
} cn_resize_nearest;

typedef struct cn_upsample_geom {
    /* ---- set by the caller ---- */
    int ndim;                          /* spatial dims 1..3 */
    int64_t n, c;
    int64_t in[CN_POOL_MAX_NDIM];
    int64_t size[CN_POOL_MAX_NDIM];    /* wanted output size, or 0 = floor(in*scale) */
    double scale[CN_POOL_MAX_NDIM];    /* out/in factor used by the coordinate mapping, or 0 =
                                          size/in. Giving both uses the size for the shape and the
                                          scale for the mapping (PyTorch with scale_factor and
                                          recompute_scale_factor=False; ONNX with scales). */
    cn_resize_mode mode;
    cn_resize_coord coord;
    cn_resize_nearest nearest;
    /* ---- filled by resolve ---- */
    int64_t out[CN_POOL_MAX_NDIM];
    float inv_scale[CN_POOL_MAX_NDIM]; /* (float)(1/scale) if scale was given, else (float)in/out */
} cn_upsample_geom;

/* Zero *g, then set ndim, n = c = 1, mode nearest, coord asymmetric, nearest floor (PyTorch's
 * default interpolate). */
void cn_upsample_geom_init(cn_upsample_geom *g, int ndim);
/* Set mode and coordinate mapping to match torch.nn.functional.interpolate: nearest →
 * asymmetric + floor; linear → align_corners ? ALIGN_CORNERS : HALF_PIXEL. */
void cn_upsample_geom_pytorch(cn_upsample_geom *g, cn_resize_mode mode, int align_corners);
/* Validate and fill out and inv_scale. Messages "upsample 'u1': ...". For each axis one of
 * size, scale must be > 0; out >= 1; enums in range. */
cn_status cn_upsample_geom_resolve(cn_upsample_geom *g, const char *name);

/* Source coordinates are computed in float exactly as PyTorch does (src = (x + 0.5f)*inv - 0.5f
 * and so on), so nearest indices match PyTorch bit for bit. Nearest: index = round(src) by the
 * nearest mode, clamped to [0, in-1]. Linear: src is clamped to [0, in-1], i0 = floor(src),
 * i1 = min(i0 + 1, in-1), weights (1 - f, f) with f = src - i0; the output is the product of
 * the per-axis weights over the 2^ndim corners (edge values extend beyond the border, as in
 * both PyTorch and ONNX). Not provided: cubic, antialias, tf_crop_and_resize, PyTorch's
 * special case that copies when floor(in*scale) == in for a non-unit nearest scale. */
/* y (N, C, *out) = resize(x (N, C, *in)) */
void cn_upsample_forward(float *y, const float *x, const cn_upsample_geom *g);
/* dx (N, C, *in) += dL/dx given dy (N, C, *out) */
void cn_upsample_backward(float *dx, const float *dy, const cn_upsample_geom *g);

/* ---- pixel shuffle (depth to space) and its inverse (space to depth) ----------------------- */
typedef enum cn_shuffle_order {
    CN_SHUFFLE_DCR = 0, /* depth-column-row: ONNX DepthToSpace's default; SpaceToDepth's only order */
    CN_SHUFFLE_CRD,     /* column-row-depth: ONNX DepthToSpace mode=CRD, PyTorch pixel_shuffle/unshuffle */
    CN_SHUFFLE_ORDER_COUNT_
} cn_shuffle_order;

/* Depth to space with block b over ndim spatial axes (B = b^ndim): x (N, C, *in) → y (N, C/B,
 * *in*b). Output (n, c', o) with o_a = i_a*b + r_a and r = row-major index of (r_a) in the
 * b^ndim block reads input channel
 *     CRD: c'*B + r          DCR: r*(C/B) + c'
 * at (n, i). For ndim 2 this is exactly ONNX DepthToSpace (DCR/CRD) and PyTorch pixel_shuffle
 * (CRD). inverse = 1 is space to depth, its exact inverse: x (N, C, *in) → y (N, C*B, *in/b)
 * (ONNX SpaceToDepth with DCR, PyTorch pixel_unshuffle with CRD). */
typedef struct cn_shuffle_geom {
    int ndim;
    int64_t n, c;                  /* input batch and channels */
    int64_t in[CN_POOL_MAX_NDIM];  /* input spatial size */
    int64_t block;                 /* b >= 1 */
    cn_shuffle_order order;
    int inverse;                   /* 0: depth to space, 1: space to depth */
    /* ---- filled by resolve ---- */
    int64_t out_c;
    int64_t out[CN_POOL_MAX_NDIM];
} cn_shuffle_geom;

/* Zero *g, then set ndim, n = c = 1, block = 1. */
void cn_shuffle_geom_init(cn_shuffle_geom *g, int ndim);
/* Validate and fill out_c, out. CN_STATUS_SHAPE when b^ndim does not divide C (depth to space)
 * or b does not divide an input size (space to depth). Messages "pixel shuffle 'name': ...". */
cn_status cn_shuffle_geom_resolve(cn_shuffle_geom *g, const char *name);
/* y (N, out_c, *out) = shuffle(x (N, C, *in)) */
void cn_shuffle_forward(float *y, const float *x, const cn_shuffle_geom *g);
/* dx (N, C, *in) += unshuffle(dy (N, out_c, *out)) */
void cn_shuffle_backward(float *dx, const float *dy, const cn_shuffle_geom *g);

#ifdef __cplusplus
}
#endif
#endif
