/* act_ref.c — reference activations and PReLU (see convnet/act.h for every formula and the
 * choice made at each kink). Each element is computed in double and rounded once. */
#include "convnet/act.h"

#include <math.h>
#include <string.h>

#define SELU_ALPHA 1.6732632423543772848170429916717
#define SELU_SCALE 1.0507009873554804934193349852946
#define SQRT_HALF 0.70710678118654752440084436210485
#define INV_SQRT_2PI 0.39894228040143267793994605993438
#define GELU_K 0.79788456080286535587989211986876 /* sqrt(2/pi) */
#define GELU_C 0.044715

static const char *const act_names[CN_ACT_KIND_COUNT_] = {
    [CN_ACT_IDENTITY] = "identity",     [CN_ACT_RELU] = "relu",         [CN_ACT_LEAKY_RELU] = "leaky_relu",
    [CN_ACT_ELU] = "elu",               [CN_ACT_SELU] = "selu",         [CN_ACT_SIGMOID] = "sigmoid",
    [CN_ACT_TANH] = "tanh",             [CN_ACT_SOFTPLUS] = "softplus", [CN_ACT_HARD_SIGMOID] = "hard_sigmoid",
    [CN_ACT_HARD_SWISH] = "hard_swish", [CN_ACT_GELU] = "gelu",         [CN_ACT_CLIP] = "clip",
};

static const char *label(const char *name) { return name ? name : "?"; }

cn_act cn_act_make(cn_act_kind kind)
{
    cn_act a;
    memset(&a, 0, sizeof a);
    a.kind = kind;
    a.slope = 0.01f;
    a.alpha = kind == CN_ACT_HARD_SIGMOID ? 0.2f : 1.0f;
    a.beta = kind == CN_ACT_HARD_SIGMOID ? 0.5f : 1.0f;
    a.threshold = 20.0f;
    a.lo = -INFINITY;
    a.hi = INFINITY;
    a.gelu_tanh = 0;
    return a;
}

const char *cn_act_name(cn_act_kind kind)
{
    if ((int)kind < 0 || kind >= CN_ACT_KIND_COUNT_) return NULL;
    return act_names[kind];
}

cn_status cn_act_parse(cn_act_kind *kind, const char *text)
{
    for (int k = 0; k < CN_ACT_KIND_COUNT_; k++)
        if (text && strcmp(text, act_names[k]) == 0) {
            *kind = (cn_act_kind)k;
            return CN_OK;
        }
    return cn_set_error(CN_STATUS_NOT_FOUND, "unknown activation '%s' (known: identity, relu, leaky_relu, elu, selu, "
                                             "sigmoid, tanh, softplus, hard_sigmoid, hard_swish, gelu, clip)",
                        text ? text : "(null)");
}

cn_status cn_act_check(const cn_act *a, const char *name)
{
    const char *n = label(name);
    if ((int)a->kind < 0 || a->kind >= CN_ACT_KIND_COUNT_)
        return cn_set_error(CN_STATUS_INVALID_ARG, "act '%s': kind %d is not an activation", n, (int)a->kind);
    const char *k = act_names[a->kind];
    switch (a->kind) {
    case CN_ACT_LEAKY_RELU:
        if (!isfinite(a->slope)) return cn_set_error(CN_STATUS_INVALID_ARG, "%s '%s': slope=%g is not finite", k, n, a->slope);
        break;
    case CN_ACT_ELU:
        if (!isfinite(a->alpha)) return cn_set_error(CN_STATUS_INVALID_ARG, "%s '%s': alpha=%g is not finite", k, n, a->alpha);
        break;
    case CN_ACT_HARD_SIGMOID:
        if (!isfinite(a->alpha) || !isfinite(a->beta))
            return cn_set_error(CN_STATUS_INVALID_ARG, "%s '%s': alpha=%g, beta=%g must be finite", k, n, a->alpha, a->beta);
        break;
    case CN_ACT_SOFTPLUS:
        if (!(a->beta > 0) || !isfinite(a->beta))
            return cn_set_error(CN_STATUS_INVALID_ARG, "%s '%s': beta=%g must be finite and > 0", k, n, a->beta);
        if (isnan(a->threshold)) return cn_set_error(CN_STATUS_INVALID_ARG, "%s '%s': threshold is NaN", k, n);
        break;
    case CN_ACT_CLIP:
        if (isnan(a->lo) || isnan(a->hi)) return cn_set_error(CN_STATUS_INVALID_ARG, "%s '%s': lo or hi is NaN", k, n);
        if (a->lo > a->hi) return cn_set_error(CN_STATUS_INVALID_ARG, "%s '%s': lo=%g > hi=%g", k, n, a->lo, a->hi);
        break;
    case CN_ACT_GELU:
        if (a->gelu_tanh != 0 && a->gelu_tanh != 1)
            return cn_set_error(CN_STATUS_INVALID_ARG, "%s '%s': gelu_tanh=%d must be 0 or 1", k, n, a->gelu_tanh);
        break;
    default: break;
    }
    return CN_OK;
}

cn_act_uses cn_act_backward_uses(const cn_act *a)
{
    switch (a->kind) {
    case CN_ACT_LEAKY_RELU: return a->slope >= 0 ? CN_ACT_USES_Y : CN_ACT_USES_X;
    case CN_ACT_ELU: return a->alpha >= 0 ? CN_ACT_USES_Y : CN_ACT_USES_X;
    /* from y, f' = 1 - e^(-beta*y) is exact on the smooth branch and off by < e^-threshold on
     * the linear one: below float resolution (6e-8) when threshold >= 20 */
    case CN_ACT_SOFTPLUS: return a->threshold >= 20 ? CN_ACT_USES_Y : CN_ACT_USES_X;
    case CN_ACT_HARD_SWISH:
    case CN_ACT_GELU: return CN_ACT_USES_X;
    default: return CN_ACT_USES_Y;
    }
}

static double sigmoid(double x)
{
    if (x >= 0) return 1.0 / (1.0 + exp(-x));
    double e = exp(x);
    return e / (1.0 + e);
}

static double clamp01(double v) { return v < 0 ? 0 : v > 1 ? 1 : v; }

static double f1(double x, const cn_act *a)
{
    switch (a->kind) {
    case CN_ACT_IDENTITY: return x;
    case CN_ACT_RELU: return x <= 0 ? 0 : x; /* NaN passes through */
    case CN_ACT_LEAKY_RELU: return x > 0 ? x : a->slope * x;
    case CN_ACT_ELU: return x > 0 ? x : a->alpha * expm1(x);
    case CN_ACT_SELU: return SELU_SCALE * (x > 0 ? x : SELU_ALPHA * expm1(x));
    case CN_ACT_SIGMOID: return sigmoid(x);
    case CN_ACT_TANH: return tanh(x);
    case CN_ACT_SOFTPLUS: {
        double b = a->beta, bx = b * x;
        if (bx > a->threshold) return x;
        return (fmax(bx, 0.0) + log1p(exp(-fabs(bx)))) / b; /* = log(1 + e^bx)/b without overflow */
    }
    case CN_ACT_HARD_SIGMOID: return clamp01((double)a->alpha * x + a->beta);
    case CN_ACT_HARD_SWISH: return x * clamp01(x / 6.0 + 0.5);
    case CN_ACT_GELU:
        if (a->gelu_tanh) return 0.5 * x * (1.0 + tanh(GELU_K * (x + GELU_C * x * x * x)));
        return 0.5 * x * erfc(-x * SQRT_HALF); /* = x/2 (1 + erf(x/sqrt 2)), accurate for x << 0 */
    case CN_ACT_CLIP: return x < a->lo ? a->lo : x > a->hi ? a->hi : x;
    default: return x;
    }
}

/* f'(.) from x (when cn_act_backward_uses says X) or from y (when it says Y) */
static double df1(double x, double y, const cn_act *a)
{
    switch (a->kind) {
    case CN_ACT_IDENTITY: return 1;
    /* y = max(x, 0): y > 0 exactly when x > 0 */
    case CN_ACT_RELU: return y > 0 ? 1 : 0;
    /* y = x > 0 ? x : slope*x */
    case CN_ACT_LEAKY_RELU:
        if (a->slope >= 0) return y > 0 ? 1 : a->slope;
        return x > 0 ? 1 : a->slope;
    /* y = x > 0 ? x : alpha*(e^x - 1), so on x <= 0: alpha*e^x = y + alpha */
    case CN_ACT_ELU:
        if (a->alpha >= 0) return y > 0 ? 1 : y + a->alpha;
        return x > 0 ? 1 : a->alpha * exp(x);
    /* y = scale*(x > 0 ? x : alpha*(e^x - 1)), so on x <= 0: scale*alpha*e^x = y + scale*alpha */
    case CN_ACT_SELU: return y > 0 ? SELU_SCALE : y + SELU_SCALE * SELU_ALPHA;
    /* y = 1/(1 + e^-x) */
    case CN_ACT_SIGMOID: return y * (1 - y);
    /* y = tanh(x) */
    case CN_ACT_TANH: return 1 - y * y;
    /* y = log(1 + e^(b x))/b: e^(b y) = 1 + e^(b x), so sigmoid(b x) = 1 - e^(-b y) */
    case CN_ACT_SOFTPLUS:
        if (a->threshold >= 20) return -expm1(-(double)a->beta * y);
        return (double)a->beta * x > a->threshold ? 1 : sigmoid((double)a->beta * x);
    /* y = max(0, min(1, alpha*x + beta)) */
    case CN_ACT_HARD_SIGMOID: return y > 0 && y < 1 ? a->alpha : 0;
    /* y = x * max(0, min(1, x/6 + 1/2)) */
    case CN_ACT_HARD_SWISH: return x <= -3 ? 0 : x >= 3 ? 1 : x / 3.0 + 0.5;
    case CN_ACT_GELU:
        if (a->gelu_tanh) {
            /* y = x/2 (1 + tanh(k (x + c x^3))) */
            double t = tanh(GELU_K * (x + GELU_C * x * x * x));
            return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * GELU_K * (1 + 3 * GELU_C * x * x);
        }
        /* y = x Phi(x): y' = Phi(x) + x phi(x) */
        return 0.5 * erfc(-x * SQRT_HALF) + x * INV_SQRT_2PI * exp(-0.5 * x * x);
    /* y = min(max(x, lo), hi) */
    case CN_ACT_CLIP: return y > a->lo && y < a->hi ? 1 : 0;
    default: return 1;
    }
}

void cn_act_ref_forward(float *y, const float *x, int64_t n, const cn_act *a)
{
    for (int64_t i = 0; i < n; i++) y[i] = (float)f1(x[i], a);
}

void cn_act_ref_backward(float *dx, const float *dy, const float *x, const float *y, int64_t n, const cn_act *a)
{
    int from_y = cn_act_backward_uses(a) == CN_ACT_USES_Y;
    for (int64_t i = 0; i < n; i++) {
        double xi = from_y ? 0 : x[i], yi = from_y ? y[i] : 0;
        dx[i] += (float)((double)dy[i] * df1(xi, yi, a));
    }
}

cn_status cn_prelu_check(int64_t n_slope, int64_t c, const char *name)
{
    if (n_slope != 1 && n_slope != c)
        return cn_set_error(CN_STATUS_SHAPE, "prelu '%s': %lld slopes for %lld channels (need 1 or %lld)", label(name),
                            (long long)n_slope, (long long)c, (long long)c);
    return CN_OK;
}

void cn_prelu_forward(float *y, const float *x, const float *slope, int64_t n, int64_t c, int64_t s, int64_t n_slope)
{
    for (int64_t i = 0; i < n; i++)
        for (int64_t ch = 0; ch < c; ch++) {
            float a = slope[n_slope == 1 ? 0 : ch];
            const float *xp = x + (i * c + ch) * s;
            float *yp = y + (i * c + ch) * s;
            for (int64_t j = 0; j < s; j++) yp[j] = xp[j] > 0 ? xp[j] : a * xp[j];
        }
}

void cn_prelu_backward(float *dx, float *dslope, const float *dy, const float *x, const float *slope, int64_t n,
                       int64_t c, int64_t s, int64_t n_slope)
{
    /* forward: yp[j] = xp[j] > 0 ? xp[j] : a * xp[j] */
    double ds = 0; /* a shared slope sums over all channels before rounding */
    for (int64_t ch = 0; ch < c; ch++) {
        int64_t k = n_slope == 1 ? 0 : ch;
        float a = slope[k];
        if (n_slope != 1) ds = 0;
        for (int64_t i = 0; i < n; i++) {
            const float *xp = x + (i * c + ch) * s, *gp = dy + (i * c + ch) * s;
            float *dxp = dx ? dx + (i * c + ch) * s : NULL;
            for (int64_t j = 0; j < s; j++) {
                if (xp[j] > 0) {
                    if (dxp) dxp[j] += gp[j];
                } else {
                    if (dxp) dxp[j] += a * gp[j];
                    ds += (double)gp[j] * xp[j];
                }
            }
        }
        if (dslope && n_slope != 1) dslope[k] += (float)ds;
    }
    if (dslope && n_slope == 1) dslope[0] += (float)ds;
}
