/* convnet/act.h — reference kernels for elementwise activations, PReLU, and softmax /
 * log-softmax over one axis of an N-D tensor.
 *
 * An activation is a small value (cn_act) naming the function and its parameters, so the
 * same description serves a stand-alone layer and a later fused epilogue (conv + bias + act):
 *
 *     cn_act a = cn_act_make(CN_ACT_LEAKY_RELU);   // every parameter at its default
 *     a.slope = 0.2f;
 *     if (cn_act_check(&a, "lrelu1") != CN_OK) fprintf(stderr, "%s\n", cn_last_error());
 *     cn_act_forward(y, x, n, &a);                 // y may be x (in place)
 *     // backward reads x or y as cn_act_backward_uses(&a) says; the other may be NULL
 *     cn_act_backward(dx, dy, x, y, n, &a);        // dx += dy * f'(.)
 *
 * Kernels are pure: they never allocate, print or fail; parameters were validated by the
 * check functions (plan time). Forward kernels overwrite y; backward kernels ACCUMULATE (+=)
 * into dx (and dslope). Every pointer is borrowed for the call only. Each element is
 * computed in double and rounded once to float.
 *
 * Definitions and derivatives (f' at non-differentiable points is a choice, listed here):
 *   IDENTITY      y = x                                      f' = 1
 *   RELU          y = max(x, 0)                              f'(x) = [x > 0]          (f'(0) = 0)
 *   LEAKY_RELU    y = x > 0 ? x : slope*x                    f'(x) = x > 0 ? 1 : slope (f'(0) = slope)
 *   ELU           y = x > 0 ? x : alpha*(e^x - 1)            f'(x) = x > 0 ? 1 : y + alpha (f'(0) = alpha)
 *   SELU          y = scale*(x > 0 ? x : alpha*(e^x - 1)), alpha = 1.6732632423543772,
 *                 scale = 1.0507009873554805 (Klambauer et al. 2017; fixed, not read from cn_act)
 *                                                            f'(x) = x > 0 ? scale : y + scale*alpha
 *                                                            (f'(0) = scale*alpha)
 *   SIGMOID       y = 1/(1 + e^-x)                           f' = y(1 - y)
 *   TANH          y = tanh(x)                                f' = 1 - y^2
 *   SOFTPLUS      y = beta*x > threshold ? x : log(1 + e^(beta*x))/beta   (PyTorch; beta = 1,
 *                 threshold = 20)                            f' = sigmoid(beta*x) = 1 - e^(-beta*y)
 *   HARD_SIGMOID  y = max(0, min(1, alpha*x + beta))  ONNX default alpha = 0.2, beta = 0.5;
 *                 PyTorch's Hardsigmoid is alpha = 1/6, beta = 0.5
 *                                                            f' = alpha where 0 < y < 1, else 0
 *                                                            (0 at both kinks)
 *   HARD_SWISH    y = x * max(0, min(1, x/6 + 1/2))          f'(x) = x <= -3 ? 0 : x >= 3 ? 1 : x/3 + 1/2
 *                 (ONNX HardSwish = PyTorch Hardswish)       (f'(-3) = 0, f'(3) = 1: the outer sides;
 *                                                            PyTorch uses 1.5 at x = 3 and -0.5 at -3)
 *   GELU          exact: y = x * Phi(x) = x/2 * (1 + erf(x/sqrt 2)), f' = Phi(x) + x*phi(x)
 *                 tanh approximation (gelu_tanh = 1): y = x/2 * (1 + tanh(sqrt(2/pi)*(x + 0.044715 x^3)))
 *                 and its exact derivative
 *   CLIP          y = min(max(x, lo), hi)                    f' = 1 where lo < y < hi, else 0
 *                                                            (0 at both kinks, as PyTorch's hardtanh;
 *                                                            torch.clamp uses 1 there)
 *   PReLU (cn_prelu_*, not in the enum because its slope is a learned tensor, not a constant):
 *                 y = x > 0 ? x : slope[c]*x                 dx += dy * (x > 0 ? 1 : slope[c]),
 *                                                            dslope[c] += sum dy * (x > 0 ? 0 : x)
 *
 * Which value backward reads (cn_act_backward_uses): y for IDENTITY (reads nothing), RELU,
 * LEAKY_RELU with slope >= 0, ELU with alpha >= 0, SELU, SIGMOID, TANH, SOFTPLUS with
 * threshold >= 20, HARD_SIGMOID and CLIP, so these can run in place (y overwriting x); x for
 * HARD_SWISH, GELU, a leaky slope or ELU alpha < 0 (there y > 0 no longer tells which side of
 * 0 x was on) and SOFTPLUS with threshold < 20 (from y, 1 - e^(-beta*y) is off by up to
 * e^-threshold on the linear branch: invisible in float only from about 17 up). PReLU
 * backward reads x (dslope needs it).
 */
#ifndef CONVNET_ACT_H
#define CONVNET_ACT_H

#include "core.h"
#include "tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum cn_act_kind {
    CN_ACT_IDENTITY = 0,
    CN_ACT_RELU,
    CN_ACT_LEAKY_RELU,
    CN_ACT_ELU,
    CN_ACT_SELU,
    CN_ACT_SIGMOID,
    CN_ACT_TANH,
    CN_ACT_SOFTPLUS,
    CN_ACT_HARD_SIGMOID,
    CN_ACT_HARD_SWISH,
    CN_ACT_GELU,
    CN_ACT_CLIP,
    CN_ACT_KIND_COUNT_
} cn_act_kind;

/* An activation and its parameters. Fields a kind does not use are ignored. */
typedef struct cn_act {
    cn_act_kind kind;
    float slope;      /* LEAKY_RELU: negative slope (default 0.01) */
    float alpha;      /* ELU: alpha (1); HARD_SIGMOID: slope alpha (0.2) */
    float beta;       /* HARD_SIGMOID: offset beta (0.5); SOFTPLUS: beta (1) */
    float threshold;  /* SOFTPLUS: linear above beta*x > threshold (20) */
    float lo, hi;     /* CLIP: bounds (-inf, +inf); lo <= hi */
    int gelu_tanh;    /* GELU: 0 = exact erf form (default), 1 = tanh approximation */
} cn_act;

/* The kind with every parameter at its default (listed above). */
cn_act cn_act_make(cn_act_kind kind);
/* "relu", "leaky_relu", "elu", "selu", "sigmoid", "tanh", "softplus", "hard_sigmoid",
 * "hard_swish", "gelu", "clip", "identity"; NULL for an invalid kind. */
const char *cn_act_name(cn_act_kind kind);
/* Look a kind up by that name; CN_STATUS_NOT_FOUND names the text. */
cn_status cn_act_parse(cn_act_kind *kind, const char *text);
/* Validate the parameters (finite; CLIP lo <= hi; SOFTPLUS beta > 0). `name` labels messages:
 * "act 'a3': clip lo=2 > hi=1". */
cn_status cn_act_check(const cn_act *a, const char *name);

/* Which saved value cn_act_backward reads. */
typedef enum cn_act_uses { CN_ACT_USES_X = 1, CN_ACT_USES_Y = 2 } cn_act_uses;
cn_act_uses cn_act_backward_uses(const cn_act *a);

/* y (n) = f(x (n)); y may equal x (in place) */
void cn_act_forward(float *y, const float *x, int64_t n, const cn_act *a);
/* dx (n) += dy (n) * f'(.), reading x (n) or y (n) as cn_act_backward_uses says (the other
 * may be NULL). dx must not alias dy, x or y. */
void cn_act_backward(float *dx, const float *dy, const float *x, const float *y, int64_t n, const cn_act *a);
/* The same two, computed in double per element (the oracle). cn_act_forward and
 * cn_act_backward run SIMD code (AVX2/AVX-512, cn_isa_active()) for IDENTITY, RELU,
 * LEAKY_RELU, SIGMOID and TANH, within a few float ulps of these (exp through a degree-7
 * polynomial after range reduction; NaN and signed-zero behaviour as here), and the
 * reference for the other kinds and on the generic ISA. */
void cn_act_ref_forward(float *y, const float *x, int64_t n, const cn_act *a);
void cn_act_ref_backward(float *dx, const float *dy, const float *x, const float *y, int64_t n, const cn_act *a);

/* ---- PReLU ----
 * x is (N, C, S) with S the product of spatial dims (1 for (N, C) input); n_slope is C (one
 * learned slope per channel) or 1 (one shared slope). */
/* Validate: n_slope is 1 or c. "prelu 'p1': 3 slopes for 16 channels (need 1 or 16)" */
cn_status cn_prelu_check(int64_t n_slope, int64_t c, const char *name);
/* y (N, C, S) = x > 0 ? x : slope[c] * x, slope (n_slope); y may equal x */
void cn_prelu_forward(float *y, const float *x, const float *slope, int64_t n, int64_t c, int64_t s, int64_t n_slope);
/* dx (N, C, S) or NULL += dy * (x > 0 ? 1 : slope), dslope (n_slope) or NULL += sum over x <= 0 of dy * x;
 * reads x */
void cn_prelu_backward(float *dx, float *dslope, const float *dy, const float *x, const float *slope, int64_t n,
                       int64_t c, int64_t s, int64_t n_slope);

/* ---- softmax and log-softmax over one axis ----
 * A tensor of any rank viewed as (outer, len, inner): outer = product of the dims before the
 * axis, len = the axis, inner = product of the dims after it. Numerically stable: the max
 * over the axis is subtracted before exponentiating and log-softmax is x - max - log(sum
 * e^(x - max)); sums are in double. Softmax is finite for any finite input; log-softmax is
 * finite while max - x stays below FLT_MAX (e.g. inputs of +-1e4: [1e4, -1e4, 0] gives
 * softmax [1, 0, 0] and log-softmax [0, -2e4, -1e4]). */
typedef struct cn_softmax_geom {
    int64_t outer, len, inner;
} cn_softmax_geom;
/* Split shape x at `axis` (negative counts from the end, as in Python). "softmax 's': axis 4
 * is out of range for a 4-D input 2x3x4x5" */
cn_status cn_softmax_geom_make(cn_softmax_geom *g, const cn_shape *x, int axis, const char *name);
/* y (outer, len, inner) = softmax of x over len; y may equal x */
void cn_softmax_forward(float *y, const float *x, const cn_softmax_geom *g);
/* y (outer, len, inner) = log_softmax of x over len; y may equal x */
void cn_log_softmax_forward(float *y, const float *x, const cn_softmax_geom *g);
/* dx += y * (dy - sum_len(dy * y)), from y (the softmax output) */
void cn_softmax_backward(float *dx, const float *dy, const float *y, const cn_softmax_geom *g);
/* dx += dy - exp(y) * sum_len(dy), from y (the log-softmax output) */
void cn_log_softmax_backward(float *dx, const float *dy, const float *y, const cn_softmax_geom *g);

#ifdef __cplusplus
}
#endif
#endif
