/* unpool_ref.c — max-unpooling (ONNX MaxUnpool, PyTorch max_unpool) forward and backward,
 * 1D/2D/3D, with plane indices (this module's caches) or flat ONNX indices. */
#include <string.h>

#include "convnet/pool.h"

typedef struct sizes {
    int64_t planes, in_plane, out_plane;
} sizes;

static sizes sizes_of(const cn_pool_geom *g)
{
    sizes s = {g->n * g->c, 1, 1};
    for (int a = 0; a < g->ndim; a++) s.in_plane *= g->in[a], s.out_plane *= g->out[a];
    return s;
}

/* the position in y of x's element (p, j) with index v, or -1 if v is outside y */
static inline int64_t target(const sizes *s, int64_t p, int64_t v, int flat)
{
    if (flat) return v >= 0 && v < s->planes * s->out_plane ? v : -1;
    return v >= 0 && v < s->out_plane ? p * s->out_plane + v : -1;
}

void cn_unpool_forward(float *y, const float *x, const int64_t *indices, const cn_pool_geom *g, int flat)
{
    const sizes s = sizes_of(g);
    memset(y, 0, (size_t)(s.planes * s.out_plane) * sizeof *y);
    for (int64_t p = 0; p < s.planes; p++)
        for (int64_t j = 0; j < s.in_plane; j++) {
            const int64_t t = target(&s, p, indices[p * s.in_plane + j], flat);
            if (t >= 0) y[t] = x[p * s.in_plane + j];
        }
}

void cn_unpool_backward(float *dx, const float *dy, const int64_t *indices, const cn_pool_geom *g, int flat)
{
    const sizes s = sizes_of(g);
    for (int64_t p = 0; p < s.planes; p++)
        for (int64_t j = 0; j < s.in_plane; j++) {
            /* forward: y[t] = x[j], so dL/dx[j] += dL/dy[t] */
            const int64_t t = target(&s, p, indices[p * s.in_plane + j], flat);
            if (t >= 0) dx[p * s.in_plane + j] += dy[t];
        }
}

cn_status cn_unpool_check_indices(const int64_t *indices, const cn_pool_geom *g, int flat, const char *name)
{
    const sizes s = sizes_of(g);
    for (int64_t p = 0; p < s.planes; p++)
        for (int64_t j = 0; j < s.in_plane; j++) {
            const int64_t v = indices[p * s.in_plane + j];
            if (target(&s, p, v, flat) >= 0) continue;
            const int64_t lim = flat ? s.planes * s.out_plane : s.out_plane;
            if (name && name[0])
                return cn_set_error(CN_STATUS_INVALID_ARG,
                                    "unpool '%s': index %lld at element %lld is outside [0, %lld) (the %s)", name,
                                    (long long)v, (long long)(p * s.in_plane + j), (long long)lim,
                                    flat ? "whole output" : "output plane");
            return cn_set_error(CN_STATUS_INVALID_ARG, "unpool: index %lld at element %lld is outside [0, %lld) (the %s)",
                                (long long)v, (long long)(p * s.in_plane + j), (long long)lim,
                                flat ? "whole output" : "output plane");
        }
    return CN_OK;
}
