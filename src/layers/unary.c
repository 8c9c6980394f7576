/* unary.c — `unary`: elementwise math functions that are not activations (ONNX's Abs, Exp, Log,
 * Sqrt, Erf, Neg, Reciprocal, Floor, Ceil, Sign, Sin, Cos, Softsign), so that imported graphs
 * that compute with them (GELU written with Erf, Softsign, ...) run and train. Derivatives:
 * abs' = sign(x) (0 at 0); floor, ceil and sign are piecewise constant (0); log, sqrt and
 * reciprocal follow their formulas where defined (inf/nan where the function is). Computed in
 * double and rounded once. */
#include <math.h>
#include <stdio.h>

#include "layer.h"

enum { U_ABS, U_EXP, U_LOG, U_SQRT, U_ERF, U_NEG, U_RECIP, U_FLOOR, U_CEIL, U_SIGN, U_SIN, U_COS, U_SOFTSIGN };

typedef struct {
    int op;
} unary_cfg;

typedef struct {
    int64_t n;
} unary_state;

static const cn_opt_spec opts[] = {
    {"op", CN_OPT_ENUM, offsetof(unary_cfg, op), NULL, "abs|exp|log|sqrt|erf|neg|reciprocal|floor|ceil|sign|sin|cos|softsign",
     "the function"},
    {NULL},
};

static cn_status plan(cn_layer *l, cn_layer_plan *p)
{
    ((unary_state *)l->state)->n = cn_shape_numel(&l->in[0]);
    p->out = l->in[0];
    return CN_OK;
}

static double f(int op, double x)
{
    switch (op) {
    case U_ABS: return fabs(x);
    case U_EXP: return exp(x);
    case U_LOG: return log(x);
    case U_SQRT: return sqrt(x);
    case U_ERF: return erf(x);
    case U_NEG: return -x;
    case U_RECIP: return 1 / x;
    case U_FLOOR: return floor(x);
    case U_CEIL: return ceil(x);
    case U_SIGN: return x > 0 ? 1 : x < 0 ? -1 : 0;
    case U_SIN: return sin(x);
    case U_COS: return cos(x);
    default: return x / (1 + fabs(x)); /* softsign */
    }
}

static double df(int op, double x)
{
    switch (op) {
    case U_ABS: return x > 0 ? 1 : x < 0 ? -1 : 0;
    case U_EXP: return exp(x);
    case U_LOG: return 1 / x;
    case U_SQRT: return 0.5 / sqrt(x);
    case U_ERF: return 1.1283791670955126 * exp(-x * x); /* 2/sqrt(pi) e^(-x^2) */
    case U_NEG: return -1;
    case U_RECIP: return -1 / (x * x);
    case U_FLOOR: case U_CEIL: case U_SIGN: return 0;
    case U_SIN: return cos(x);
    case U_COS: return -sin(x);
    default: return 1 / ((1 + fabs(x)) * (1 + fabs(x)));
    }
}

static void forward(cn_layer *l, const cn_layer_run *r)
{
    int op = ((const unary_cfg *)l->cfg)->op;
    int64_t n = ((const unary_state *)l->state)->n;
    for (int64_t i = 0; i < n; i++) r->y[i] = (float)f(op, r->x[0][i]);
}

static void backward(cn_layer *l, const cn_layer_run *r)
{
    int op = ((const unary_cfg *)l->cfg)->op;
    int64_t n = ((const unary_state *)l->state)->n;
    /* y = f(x)  →  dx += dy * f'(x) */
    if (r->dx[0])
        for (int64_t i = 0; i < n; i++) r->dx[0][i] += (float)(r->dy[i] * df(op, r->x[0][i]));
}

const cn_layer_ops cn_layer_unary = {
    .name = "unary", .summary = "elementwise math: abs, exp, log, sqrt, erf, neg, reciprocal, floor, ceil, sign, sin, cos, softsign",
    .min_inputs = 1, .max_inputs = 1, .opts = opts, .cfg_size = sizeof(unary_cfg), .state_size = sizeof(unary_state),
    .plan = plan, .forward = forward, .backward = backward,
};
