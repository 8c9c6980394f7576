/* softmax_ref.c — reference softmax and log-softmax over one axis (outer, len, inner),
 * stabilised by subtracting the max; sums in double. */
#include "convnet/act.h"

#include <math.h>

cn_status cn_softmax_geom_make(cn_softmax_geom *g, const cn_shape *x, int axis, const char *name)
{
    char buf[96];
    const char *n = name ? name : "?";
    cn_status st = cn_shape_check(x, "softmax input");
    if (st != CN_OK) return st;
    int a = axis < 0 ? axis + x->ndim : axis;
    if (a < 0 || a >= x->ndim)
        return cn_set_error(CN_STATUS_INVALID_ARG, "softmax '%s': axis %d is out of range for a %d-D input %s", n, axis,
                            x->ndim, cn_shape_str(x, buf, sizeof buf));
    g->outer = g->inner = 1;
    for (int i = 0; i < a; i++) g->outer *= x->dim[i];
    g->len = x->dim[a];
    for (int i = a + 1; i < x->ndim; i++) g->inner *= x->dim[i];
    return CN_OK;
}

/* max over the axis and log(sum e^(x - max)) of the line starting at p with stride `st` */
static void line_stats(const float *p, int64_t len, int64_t st, double *max, double *log_sum)
{
    double m = p[0];
    for (int64_t k = 1; k < len; k++)
        if (p[k * st] > m) m = p[k * st];
    double s = 0;
    for (int64_t k = 0; k < len; k++) s += exp((double)p[k * st] - m);
    *max = m;
    *log_sum = log(s);
}

static void forward(float *y, const float *x, const cn_softmax_geom *g, int want_log)
{
    for (int64_t o = 0; o < g->outer; o++)
        for (int64_t i = 0; i < g->inner; i++) {
            const float *xp = x + o * g->len * g->inner + i;
            float *yp = y + o * g->len * g->inner + i;
            double m, ls;
            line_stats(xp, g->len, g->inner, &m, &ls);
            for (int64_t k = 0; k < g->len; k++) {
                double z = (double)xp[k * g->inner] - m - ls; /* log-softmax, <= 0 */
                yp[k * g->inner] = (float)(want_log ? z : exp(z));
            }
        }
}

void cn_softmax_forward(float *y, const float *x, const cn_softmax_geom *g) { forward(y, x, g, 0); }
void cn_log_softmax_forward(float *y, const float *x, const cn_softmax_geom *g) { forward(y, x, g, 1); }

void cn_softmax_backward(float *dx, const float *dy, const float *y, const cn_softmax_geom *g)
{
    /* forward: yp[k] = exp(x_k - m - ls), so dy_j/dx_k = y_j (delta_jk - y_k) */
    for (int64_t o = 0; o < g->outer; o++)
        for (int64_t i = 0; i < g->inner; i++) {
            int64_t base = o * g->len * g->inner + i;
            double dot = 0;
            for (int64_t k = 0; k < g->len; k++) dot += (double)dy[base + k * g->inner] * y[base + k * g->inner];
            for (int64_t k = 0; k < g->len; k++) {
                int64_t j = base + k * g->inner;
                dx[j] += (float)((double)y[j] * ((double)dy[j] - dot));
            }
        }
}

void cn_log_softmax_backward(float *dx, const float *dy, const float *y, const cn_softmax_geom *g)
{
    /* forward: yp[k] = x_k - m - log sum_j e^(x_j - m), so dy_j/dx_k = delta_jk - softmax_k */
    for (int64_t o = 0; o < g->outer; o++)
        for (int64_t i = 0; i < g->inner; i++) {
            int64_t base = o * g->len * g->inner + i;
            double sum = 0;
            for (int64_t k = 0; k < g->len; k++) sum += dy[base + k * g->inner];
            for (int64_t k = 0; k < g->len; k++) {
                int64_t j = base + k * g->inner;
                dx[j] += (float)((double)dy[j] - exp((double)y[j]) * sum);
            }
        }
}
