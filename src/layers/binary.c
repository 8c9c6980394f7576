/* binary.c — `binary`: an elementwise operation of two operands with NumPy/ONNX broadcasting
 * (shapes aligned from the right; a dimension of 1 stretches), over the whole tensors batch
 * axis included:
 *     add  a + b     sub  a - b     mul  a * b     div  a / b     pow  a ^ b
 *     max  max(a,b)  min  min(a,b)  prelu  a >= 0 ? a : b * a   (b the slope, ONNX PRelu)
 * Two forms:
 *   - two inputs (a, b): both run-time tensors (ONNX Sub/Mul/Div of two activations);
 *   - one input and a constant: `const_shape` gives the constant's shape (any rank up to 5,
 *     aligned from the right like any operand), the constant is the parameter "value"
 *     (initialised to `value`, trainable only with trainable = true: ONNX models' normalisation
 *     constants are not weights), and `reverse` puts it on the left (c - x instead of x - c).
 * The importers use it for ONNX Add/Sub/Mul/Div/Pow/Max/Min with constants and PRelu with
 * slopes that are not per channel. Gradients flow to both operands (summed over the axes an
 * operand was broadcast along). At non-differentiable points: max/min route the gradient to
 * a (the first operand) on ties; prelu uses the slope side only for a < 0; pow's derivative in
 * the exponent is taken as 0 where a <= 0 (ln a undefined). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "layer.h"

enum { B_ADD, B_SUB, B_MUL, B_DIV, B_POW, B_MAX, B_MIN, B_PRELU };

typedef struct {
    int op;
    cn_ints const_shape;
    int reverse, trainable;
    double value;
} binary_cfg;

typedef struct {
    int rank;                        /* of the output */
    int64_t out[CN_MAX_DIMS];
    int64_t sa[CN_MAX_DIMS], sb[CN_MAX_DIMS]; /* strides of a and b over the output's axes (0: broadcast) */
    int64_t n;                       /* output elements */
    int has_const;
} binary_state;

static const cn_opt_spec opts[] = {
    {"op", CN_OPT_ENUM, offsetof(binary_cfg, op), NULL, "add|sub|mul|div|pow|max|min|prelu", "the operation (a op b)"},
    {"const_shape", CN_OPT_INTS, offsetof(binary_cfg, const_shape), "", NULL,
     "one input: shape of the constant operand (parameter 'value'), aligned from the right; two inputs: not given"},
    {"reverse", CN_OPT_BOOL, offsetof(binary_cfg, reverse), "false", NULL, "the constant is the left operand (c op x)"},
    {"value", CN_OPT_FLOAT, offsetof(binary_cfg, value), "0", NULL, "initial value of the constant"},
    {"trainable", CN_OPT_BOOL, offsetof(binary_cfg, trainable), "false", NULL, "the constant is learned (a weight)"},
    {NULL},
};

static cn_status check(cn_layer *l)
{
    const binary_cfg *c = l->cfg;
    if (c->const_shape.n > CN_MAX_DIMS)
        return cn_set_error(CN_STATUS_INVALID_ARG, "binary '%s': const_shape has %d dimensions; at most %d", l->name,
                            c->const_shape.n, CN_MAX_DIMS);
    for (int i = 0; i < c->const_shape.n; i++)
        if (c->const_shape.v[i] < 1 || c->const_shape.v[i] > CN_MAX_DIM_EXTENT)
            return cn_set_error(CN_STATUS_INVALID_ARG, "binary '%s': const_shape dimension %d is %lld; must be >= 1", l->name, i,
                                (long long)c->const_shape.v[i]);
    return CN_OK;
}

/* strides of shape s (rank r) over an output of rank R, aligned from the right */
static void bstrides(int64_t *st, const cn_shape *s, int R)
{
    int64_t acc = 1;
    for (int i = R - 1; i >= 0; i--) {
        int k = i - (R - s->ndim);
        if (k < 0) {
            st[i] = 0;
            continue;
        }
        st[i] = s->dim[k] == 1 ? 0 : acc;
        acc *= s->dim[k];
    }
}

static cn_status plan(cn_layer *l, cn_layer_plan *p)
{
    const binary_cfg *c = l->cfg;
    binary_state *s = l->state;
    s->has_const = l->n_in == 1;
    if (s->has_const && c->const_shape.n == 0)
        return cn_set_error(CN_STATUS_INVALID_ARG, "binary '%s': one input needs const_shape (the constant's shape)", l->name);
    if (!s->has_const && c->const_shape.n)
        return cn_set_error(CN_STATUS_INVALID_ARG, "binary '%s': two inputs and a const_shape; give one or the other", l->name);
    cn_shape cs = {0, {0}};
    if (s->has_const) {
        cs.ndim = c->const_shape.n;
        for (int i = 0; i < cs.ndim; i++) cs.dim[i] = c->const_shape.v[i];
    }
    const cn_shape *a = &l->in[0], *b = s->has_const ? &cs : &l->in[1];
    if (s->has_const && c->reverse) a = &cs, b = &l->in[0];
    int R = a->ndim > b->ndim ? a->ndim : b->ndim;
    cn_shape out = {R, {0}};
    for (int i = 0; i < R; i++) {
        int ka = i - (R - a->ndim), kb = i - (R - b->ndim);
        int64_t da = ka >= 0 ? a->dim[ka] : 1, db = kb >= 0 ? b->dim[kb] : 1;
        if (da != db && da != 1 && db != 1)
            return cn_set_error(CN_STATUS_SHAPE, "binary '%s': shapes %s and %s do not broadcast (axis %d of the result: %lld vs %lld)",
                                l->name, cn_shape_text(a), cn_shape_text(b), i, (long long)da, (long long)db);
        out.dim[i] = da > db ? da : db;
    }
    s->rank = R;
    for (int i = 0; i < R; i++) s->out[i] = out.dim[i];
    bstrides(s->sa, a, R);
    bstrides(s->sb, b, R);
    s->n = cn_shape_numel(&out);
    p->out = out;
    if (s->has_const) {
        cn_param_spec *ps = &p->params[p->n_params++];
        *ps = (cn_param_spec){"value", cs, CN_INIT_CONST, 0, 0, (float)c->value, c->trainable};
    }
    p->macs = s->n;
    return CN_OK;
}

static inline float apply(int op, float a, float b)
{
    switch (op) {
    case B_ADD: return a + b;
    case B_SUB: return a - b;
    case B_MUL: return a * b;
    case B_DIV: return a / b;
    case B_POW: return powf(a, b);
    case B_MAX: return a >= b || isnan(a) ? a : b;
    case B_MIN: return a <= b || isnan(a) ? a : b;
    default: return a >= 0 ? a : b * a; /* prelu */
    }
}

/* the operands' data: the constant, when there is one, is the parameter */
static void operands(const cn_layer *l, const cn_layer_run *r, const binary_cfg *c, const binary_state *s, const float **a,
                     const float **b, float **da, float **db, int backward)
{
    if (!s->has_const) {
        *a = r->x[0], *b = r->x[1];
        if (backward) *da = r->dx[0], *db = r->dx[1];
        return;
    }
    const float *x = r->x[0], *k = l->param[0];
    float *dx = backward ? r->dx[0] : NULL, *dk = backward && c->trainable ? l->grad[0] : NULL;
    if (c->reverse) *a = k, *b = x, *da = dk, *db = dx;
    else *a = x, *b = k, *da = dx, *db = dk;
}

/* walks the output in row-major order keeping the operands' offsets */
#define WALK(...)                                                                                                         \
    do {                                                                                                                   \
        int64_t idx[CN_MAX_DIMS] = {0}, oa = 0, ob = 0;                                                                    \
        for (int64_t i = 0; i < s->n; i++) {                                                                               \
            __VA_ARGS__;                                                                                                        \
            for (int d = s->rank - 1; d >= 0; d--) {                                                                       \
                oa += s->sa[d], ob += s->sb[d];                                                                            \
                if (++idx[d] < s->out[d]) break;                                                                           \
                oa -= s->sa[d] * s->out[d], ob -= s->sb[d] * s->out[d];                                                    \
                idx[d] = 0;                                                                                                \
            }                                                                                                              \
        }                                                                                                                  \
    } while (0)

static void forward(cn_layer *l, const cn_layer_run *r)
{
    const binary_cfg *c = l->cfg;
    const binary_state *s = l->state;
    const float *a, *b;
    float *da = NULL, *db = NULL;
    operands(l, r, c, s, &a, &b, &da, &db, 0);
    float *y = r->y;
    int op = c->op;
    WALK(y[i] = apply(op, a[oa], b[ob]));
}

static void backward(cn_layer *l, const cn_layer_run *r)
{
    const binary_cfg *c = l->cfg;
    const binary_state *s = l->state;
    const float *a, *b;
    float *da = NULL, *db = NULL;
    operands(l, r, c, s, &a, &b, &da, &db, 1);
    const float *dy = r->dy;
    /* y = a op b  →  da += dy * d(a op b)/da,  db += dy * d(a op b)/db (summed where broadcast) */
    switch (c->op) {
    case B_ADD: /* y = a + b */
        WALK(if (da) da[oa] += dy[i]; if (db) db[ob] += dy[i]);
        break;
    case B_SUB: /* y = a - b */
        WALK(if (da) da[oa] += dy[i]; if (db) db[ob] -= dy[i]);
        break;
    case B_MUL: /* y = a * b */
        WALK(if (da) da[oa] += dy[i] * b[ob]; if (db) db[ob] += dy[i] * a[oa]);
        break;
    case B_DIV: /* y = a / b */
        WALK(if (da) da[oa] += dy[i] / b[ob]; if (db) db[ob] -= dy[i] * a[oa] / (b[ob] * b[ob]));
        break;
    case B_POW: /* y = a ^ b: dy/da = b a^(b-1), dy/db = a^b ln a (a > 0) */
        WALK(if (da) da[oa] += dy[i] * b[ob] * powf(a[oa], b[ob] - 1);
             if (db && a[oa] > 0) db[ob] += dy[i] * powf(a[oa], b[ob]) * logf(a[oa]));
        break;
    case B_MAX: /* y = a >= b ? a : b */
        WALK(if (a[oa] >= b[ob]) { if (da) da[oa] += dy[i]; } else if (db) db[ob] += dy[i]);
        break;
    case B_MIN: /* y = a <= b ? a : b */
        WALK(if (a[oa] <= b[ob]) { if (da) da[oa] += dy[i]; } else if (db) db[ob] += dy[i]);
        break;
    default: /* y = a >= 0 ? a : b * a */
        WALK(if (a[oa] >= 0) { if (da) da[oa] += dy[i]; } else {
            if (da) da[oa] += dy[i] * b[ob];
            if (db) db[ob] += dy[i] * a[oa];
        });
        break;
    }
}

const cn_layer_ops cn_layer_binary = {
    .name = "binary",
    .summary = "elementwise a op b with broadcasting (add, sub, mul, div, pow, max, min, prelu) of two inputs or an input and a constant",
    .min_inputs = 1, .max_inputs = 2, .opts = opts, .cfg_size = sizeof(binary_cfg), .state_size = sizeof(binary_state),
    .check = check, .plan = plan, .forward = forward, .backward = backward,
};
