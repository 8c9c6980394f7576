/* dense_ref.c — reference fully connected layer (the oracle of dense_fast.c),
 * y = x W^T + b with W (OUT, IN); every dot product is summed in double and rounded once. */
#include "convnet/ops.h"

cn_status cn_dense_check(cn_dense_geom *g, const cn_shape *x, const cn_shape *w, const char *name)
{
    char xs[96], ws[96];
    const char *n = name ? name : "?";
    cn_status st = cn_shape_check(x, "dense input");
    if (st == CN_OK) st = cn_shape_check(w, "dense weight");
    if (st != CN_OK) return st;
    cn_shape_str(x, xs, sizeof xs);
    cn_shape_str(w, ws, sizeof ws);
    if (x->ndim < 2)
        return cn_set_error(CN_STATUS_SHAPE, "dense '%s': input %s needs a batch axis and at least one feature axis "
                                             "(weight %s)", n, xs, ws);
    if (w->ndim != 2)
        return cn_set_error(CN_STATUS_SHAPE, "dense '%s': weight %s must be 2-D (OUT, IN) (input %s)", n, ws, xs);
    int64_t in = 1;
    for (int i = 1; i < x->ndim; i++) in *= x->dim[i];
    if (in != w->dim[1])
        return cn_set_error(CN_STATUS_SHAPE, "dense '%s': input %s has %lld features per sample, weight %s expects %lld",
                            n, xs, (long long)in, ws, (long long)w->dim[1]);
    g->n = x->dim[0];
    g->in = in;
    g->out = w->dim[0];
    return CN_OK;
}

void cn_dense_ref_forward(float *y, const float *x, const float *w, const float *b, const cn_dense_geom *g)
{
    for (int64_t n = 0; n < g->n; n++)
        for (int64_t o = 0; o < g->out; o++) {
            double acc = b ? b[o] : 0.0;
            for (int64_t i = 0; i < g->in; i++) acc += (double)x[n * g->in + i] * w[o * g->in + i];
            y[n * g->out + o] = (float)acc;
        }
}

void cn_dense_ref_backward_data(float *dx, const float *dy, const float *w, const cn_dense_geom *g)
{
    /* forward: acc += x[n * IN + i] * w[o * IN + i]  ->  dx[n, i] += sum_o dy[n, o] w[o, i] */
    for (int64_t n = 0; n < g->n; n++)
        for (int64_t i = 0; i < g->in; i++) {
            double acc = 0;
            for (int64_t o = 0; o < g->out; o++) acc += (double)dy[n * g->out + o] * w[o * g->in + i];
            dx[n * g->in + i] += (float)acc;
        }
}

void cn_dense_ref_backward_weights(float *dw, float *db, const float *dy, const float *x, const cn_dense_geom *g)
{
    /* forward: acc = b[o] + sum_i x[n * IN + i] * w[o * IN + i]
     *   -> dw[o, i] += sum_n dy[n, o] x[n, i];  db[o] += sum_n dy[n, o] */
    for (int64_t o = 0; o < g->out; o++) {
        for (int64_t i = 0; i < g->in; i++) {
            double acc = 0;
            for (int64_t n = 0; n < g->n; n++) acc += (double)dy[n * g->out + o] * x[n * g->in + i];
            dw[o * g->in + i] += (float)acc;
        }
        if (db) {
            double acc = 0;
            for (int64_t n = 0; n < g->n; n++) acc += dy[n * g->out + o];
            db[o] += (float)acc;
        }
    }
}
