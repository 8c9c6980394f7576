/* tiled_ref.c — reference tiled convolution (Goodfellow, Bengio and Courville, Deep Learning,
 * ch. 9.5) in 1D, 2D and 3D.
 *
 * tile[a] kernels are cycled along axis a: output position o uses kernel set
 * t(o) = (o_D mod tile_D, o_H mod tile_H, o_W mod tile_W), weights w[t] (OC, IC/groups, *k)
 * and bias b[t] (OC). tile = 1 is ordinary convolution, tile = out a locally connected layer.
 * It is the conv engine with cycle = tile. */
#include "kernels/conv_ref.h"

/* y[n, oc, o] = b[t(o), oc] + sum_{c, j} w[t(o), oc, c, tap(j)] * x[n, group(oc) + c, map(o*stride - pad + j*dilation)] */
void cn_tiled_forward(float *y, const float *x, const float *w, const float *b, const cn_conv_geom *g, float *scratch)
{
    (void)scratch;
    cn_convref r;
    cn_convref_init(&r, g, g->tile);
    cn_convref_gather(y, x, w, b, 0, &r);
}

/* forward: y[n, oc, o] += w[t(o), oc, c, tap(j)] * x[n, group(oc) + c, map(o, j)]
 * so:      dx[n, group(oc) + c, map(o, j)] += w[t(o), oc, c, tap(j)] * dy[n, oc, o] */
void cn_tiled_backward_data(float *dx, const float *dy, const float *w, const cn_conv_geom *g, float *scratch)
{
    (void)scratch;
    cn_convref r;
    cn_convref_init(&r, g, g->tile);
    cn_convref_scatter(dx, dy, w, &r);
}

/* forward: y[n, oc, o] = b[t(o), oc] + sum_{c, j} w[t(o), oc, c, tap(j)] * x[n, group(oc) + c, map(o, j)]
 * so:      dw[t, oc, c, tap(j)] += sum over n and the o with t(o) = t of dy[n, oc, o] * x[n, group(oc) + c, map(o, j)],
 *          db[t, oc] += sum over n and the o with t(o) = t of dy[n, oc, o] */
void cn_tiled_backward_weights(float *dw, float *db, const float *dy, const float *x, const cn_conv_geom *g,
                               float *scratch)
{
    (void)scratch;
    cn_convref r;
    cn_convref_init(&r, g, g->tile);
    cn_convref_wgrad(dw, dy, x, &r);
    if (db) cn_convref_bgrad(db, dy, &r);
}
