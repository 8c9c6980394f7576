/* matmul.c — `matmul`: matrix product over the last two axes with NumPy/ONNX MatMul
 * broadcasting of the leading ("batch") axes, the model's batch axis included:
 *     y (..., M, N) = a (..., M, K) @ b (..., K, N)
 * Either two inputs (a, b: ONNX MatMul of two activations), or one input a and a learned
 * weight b, the parameter "weight" of shape `weight_shape` (rank >= 2; rank 2 = one (K, N)
 * matrix shared by every leading index, as in a Transformer's projections). Both operands have
 * rank >= 2 (the importers reshape vectors). Dot products are summed in double. */
#include <stdio.h>

#include "layer.h"

typedef struct {
    cn_ints weight_shape;
    int init;
} matmul_cfg;

typedef struct {
    int rank;                       /* of the output; leading axes = rank - 2 */
    int64_t out[CN_MAX_DIMS];
    int64_t sa[CN_MAX_DIMS], sb[CN_MAX_DIMS]; /* matrix strides of a and b over the leading axes (0: broadcast) */
    int64_t M, K, N, batches;
    int has_weight;
} matmul_state;

static const cn_opt_spec opts[] = {
    {"weight_shape", CN_OPT_INTS, offsetof(matmul_cfg, weight_shape), "", NULL,
     "one input: shape of the weight b (..., K, N); two inputs: not given"},
    {"init", CN_OPT_ENUM, offsetof(matmul_cfg, init), "he_normal", "he_normal|he_uniform|xavier_normal|xavier_uniform",
     "weight initialization (fan-in K, fan-out N)"},
    {NULL},
};

static const cn_init_kind inits[] = {CN_INIT_HE_NORMAL, CN_INIT_HE_UNIFORM, CN_INIT_XAVIER_NORMAL, CN_INIT_XAVIER_UNIFORM};

/* matrix strides of the leading axes of s over an output with `lead` leading axes */
static void lead_strides(int64_t *st, const cn_shape *s, int lead)
{
    int64_t acc = s->dim[s->ndim - 1] * s->dim[s->ndim - 2];
    int sl = s->ndim - 2;
    for (int i = lead - 1; i >= 0; i--) {
        int k = i - (lead - sl);
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
    const matmul_cfg *c = l->cfg;
    matmul_state *s = l->state;
    s->has_weight = l->n_in == 1;
    if (s->has_weight && c->weight_shape.n == 0)
        return cn_set_error(CN_STATUS_INVALID_ARG, "matmul '%s': one input needs weight_shape (..., K, N)", l->name);
    if (!s->has_weight && c->weight_shape.n)
        return cn_set_error(CN_STATUS_INVALID_ARG, "matmul '%s': two inputs and a weight_shape; give one or the other", l->name);
    cn_shape w = {0, {0}};
    if (s->has_weight) {
        if (c->weight_shape.n < 2 || c->weight_shape.n > CN_MAX_DIMS)
            return cn_set_error(CN_STATUS_SHAPE, "matmul '%s': weight_shape has %d dimensions; give 2 to %d", l->name,
                                c->weight_shape.n, CN_MAX_DIMS);
        w.ndim = c->weight_shape.n;
        for (int i = 0; i < w.ndim; i++) w.dim[i] = c->weight_shape.v[i];
        cn_status st = cn_shape_check(&w, "matmul weight_shape");
        if (st != CN_OK) return st;
    }
    const cn_shape *a = &l->in[0], *b = s->has_weight ? &w : &l->in[1];
    if (a->ndim < 2 || b->ndim < 2)
        return cn_set_error(CN_STATUS_SHAPE, "matmul '%s': operands %s and %s need rank >= 2", l->name, cn_shape_text(a),
                            cn_shape_text(b));
    s->M = a->dim[a->ndim - 2];
    s->K = a->dim[a->ndim - 1];
    s->N = b->dim[b->ndim - 1];
    if (b->dim[b->ndim - 2] != s->K)
        return cn_set_error(CN_STATUS_SHAPE, "matmul '%s': a %s has K = %lld columns, b %s has %lld rows", l->name,
                            cn_shape_text(a), (long long)s->K, cn_shape_text(b), (long long)b->dim[b->ndim - 2]);
    int lead = (a->ndim > b->ndim ? a->ndim : b->ndim) - 2;
    cn_shape out = {lead + 2, {0}};
    s->batches = 1;
    for (int i = 0; i < lead; i++) {
        int ka = i - (lead - (a->ndim - 2)), kb = i - (lead - (b->ndim - 2));
        int64_t da = ka >= 0 ? a->dim[ka] : 1, db = kb >= 0 ? b->dim[kb] : 1;
        if (da != db && da != 1 && db != 1)
            return cn_set_error(CN_STATUS_SHAPE, "matmul '%s': leading axes of %s and %s do not broadcast (%lld vs %lld)", l->name,
                                cn_shape_text(a), cn_shape_text(b), (long long)da, (long long)db);
        out.dim[i] = da > db ? da : db;
        s->batches *= out.dim[i];
    }
    out.dim[lead] = s->M;
    out.dim[lead + 1] = s->N;
    s->rank = lead + 2;
    for (int i = 0; i < s->rank; i++) s->out[i] = out.dim[i];
    lead_strides(s->sa, a, lead);
    lead_strides(s->sb, b, lead);
    p->out = out;
    if (s->has_weight)
        p->params[p->n_params++] = (cn_param_spec){"weight", w, inits[c->init], (double)s->K, (double)s->N, 0, 1};
    p->macs = s->batches * s->M * s->K * s->N;
    return CN_OK;
}

/* calls body with (matrix index t, offset of a's matrix, offset of b's matrix) over the leading axes */
#define EACH_MATRIX(...)                                                                                                  \
    do {                                                                                                                   \
        int lead = s->rank - 2;                                                                                            \
        int64_t idx[CN_MAX_DIMS] = {0}, oa = 0, ob = 0;                                                                    \
        for (int64_t t = 0; t < s->batches; t++) {                                                                         \
            __VA_ARGS__;                                                                                                        \
            for (int d = lead - 1; d >= 0; d--) {                                                                          \
                oa += s->sa[d], ob += s->sb[d];                                                                            \
                if (++idx[d] < s->out[d]) break;                                                                           \
                oa -= s->sa[d] * s->out[d], ob -= s->sb[d] * s->out[d];                                                    \
                idx[d] = 0;                                                                                                \
            }                                                                                                              \
        }                                                                                                                  \
    } while (0)

static void forward(cn_layer *l, const cn_layer_run *r)
{
    const matmul_state *s = l->state;
    const float *a = r->x[0], *b = s->has_weight ? l->param[0] : r->x[1];
    float *y = r->y;
    int64_t M = s->M, K = s->K, N = s->N;
    EACH_MATRIX({
        const float *A = a + oa, *B = b + ob;
        float *Y = y + t * M * N;
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++) {
                double acc = 0;
                for (int64_t k = 0; k < K; k++) acc += (double)A[i * K + k] * B[k * N + j];
                Y[i * N + j] = (float)acc;
            }
    });
}

static void backward(cn_layer *l, const cn_layer_run *r)
{
    const matmul_state *s = l->state;
    const float *a = r->x[0], *b = s->has_weight ? l->param[0] : r->x[1];
    float *da = r->dx[0], *db = s->has_weight ? l->grad[0] : r->dx[1];
    int64_t M = s->M, K = s->K, N = s->N;
    /* Y = A B  →  dA += dY B^T,  dB += A^T dY (summed over broadcast leading indices) */
    EACH_MATRIX({
        const float *A = a + oa, *B = b + ob, *dY = r->dy + t * M * N;
        if (da)
            for (int64_t i = 0; i < M; i++)
                for (int64_t k = 0; k < K; k++) {
                    double acc = 0;
                    for (int64_t j = 0; j < N; j++) acc += (double)dY[i * N + j] * B[k * N + j];
                    da[oa + i * K + k] += (float)acc;
                }
        if (db)
            for (int64_t k = 0; k < K; k++)
                for (int64_t j = 0; j < N; j++) {
                    double acc = 0;
                    for (int64_t i = 0; i < M; i++) acc += (double)A[i * K + k] * dY[i * N + j];
                    db[ob + k * N + j] += (float)acc;
                }
    });
}

const cn_layer_ops cn_layer_matmul = {
    .name = "matmul", .summary = "matrix product over the last two axes with broadcast leading axes (ONNX MatMul), of two inputs or an input and a weight",
    .min_inputs = 1, .max_inputs = 2, .opts = opts, .cfg_size = sizeof(matmul_cfg), .state_size = sizeof(matmul_state),
    .plan = plan, .forward = forward, .backward = backward,
};
