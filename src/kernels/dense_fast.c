/* dense_fast.c — the fully connected kernels of ops.h on the GEMM micro-kernels (gemm.h):
 *   forward        y (N x OUT) = x (N x IN) W^T + b: dot products of contiguous rows (nt)
 *   backward data  dx (N x IN) += dy (N x OUT) W (OUT x IN): broadcast form, W's rows read in place
 *   backward wts   dW (OUT x IN) += dy^T (OUT x N) x (N x IN): broadcast form, dy read transposed
 * No scratch (the drivers pack A panels on the stack); threads split C by tiles, so every
 * element is summed in one order whatever the thread count. */
#include "convnet/ops.h"
#include "kernels/gemm.h"

void cn_dense_forward(float *y, const float *x, const float *w, const float *b, const cn_dense_geom *g)
{
    /* y[n, o] = b[o] + sum_i x[n, i] * w[o, i] */
    cn_gemm_nt_run(cn_gemm(), g->n, g->out, g->in, x, g->in, w, g->in, y, g->out, b, 0, 0);
}

void cn_dense_backward_data(float *dx, const float *dy, const float *w, const cn_dense_geom *g)
{
    /* forward: y[n, o] += x[n, i] * w[o, i]  ->  dx[n, i] += sum_o dy[n, o] * w[o, i] */
    cn_gemm_nn_run(cn_gemm(), g->n, g->in, g->out, dy, g->out, 1, w, g->in, dx, g->in, NULL, 1, 0);
}

void cn_dense_backward_weights(float *dw, float *db, const float *dy, const float *x, const cn_dense_geom *g)
{
    /* forward: y[n, o] = b[o] + sum_i x[n, i] * w[o, i]
     *   -> dw[o, i] += sum_n dy[n, o] * x[n, i] (A = dy^T: row o, column n at dy[n*OUT + o]);
     *      db[o] += sum_n dy[n, o] */
    cn_gemm_nn_run(cn_gemm(), g->out, g->in, g->n, dy, 1, g->out, x, g->in, dw, g->in, NULL, 1, 0);
    if (!db) return;
    for (int64_t o = 0; o < g->out; o++) {
        double acc = 0;
        for (int64_t n = 0; n < g->n; n++) acc += dy[n * g->out + o];
        db[o] = (float)((double)db[o] + acc);
    }
}
