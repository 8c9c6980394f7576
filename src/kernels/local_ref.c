/* local_ref.c — reference locally connected layer (unshared convolution) in 1D, 2D and 3D.
 *
 * Every output position p has its own kernel w[p] (OC, IC/groups, *k) and bias b[p] (OC);
 * otherwise it is the conv of conv_ref.c (strides, dilation, groups, padding modes, flip).
 * It is the conv engine with one kernel set per output position (cycle = out). */
#include "kernels/conv_ref.h"

/* y[n, oc, p] = b[p, oc] + sum_{c, j} w[p, oc, c, tap(j)] * x[n, group(oc) + c, map(p*stride - pad + j*dilation)] */
void cn_local_forward(float *y, const float *x, const float *w, const float *b, const cn_conv_geom *g, float *scratch)
{
    (void)scratch;
    cn_convref r;
    cn_convref_init(&r, g, g->out);
    cn_convref_gather(y, x, w, b, 0, &r);
}

/* forward: y[n, oc, p] += w[p, oc, c, tap(j)] * x[n, group(oc) + c, map(p, j)]
 * so:      dx[n, group(oc) + c, map(p, j)] += w[p, oc, c, tap(j)] * dy[n, oc, p] */
void cn_local_backward_data(float *dx, const float *dy, const float *w, const cn_conv_geom *g, float *scratch)
{
    (void)scratch;
    cn_convref r;
    cn_convref_init(&r, g, g->out);
    cn_convref_scatter(dx, dy, w, &r);
}

/* forward: y[n, oc, p] = b[p, oc] + sum_{c, j} w[p, oc, c, tap(j)] * x[n, group(oc) + c, map(p, j)]
 * so:      dw[p, oc, c, tap(j)] += sum_n dy[n, oc, p] * x[n, group(oc) + c, map(p, j)],
 *          db[p, oc] += sum_n dy[n, oc, p] */
void cn_local_backward_weights(float *dw, float *db, const float *dy, const float *x, const cn_conv_geom *g,
                               float *scratch)
{
    (void)scratch;
    cn_convref r;
    cn_convref_init(&r, g, g->out);
    cn_convref_wgrad(dw, dy, x, &r);
    if (db) cn_convref_bgrad(db, dy, &r);
}
