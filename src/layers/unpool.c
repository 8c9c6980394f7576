/* unpool.c — max_unpool: puts each value back where its max_pool found its maximum, zeros
 * elsewhere (DeconvNet / SegNet decoders). Inputs: the values to unpool, then the max_pool
 * layer whose argmax to use (it needs keep_indices = true). The output has that max_pool's
 * input shape, unless output_shape says otherwise (ONNX MaxUnpool's rule). */
#include <stdio.h>

#include "pool_layer.h"

typedef struct {
    cn_ints output_shape;
} unpool_cfg;

typedef struct {
    cn_pool_geom g;
} unpool_state;

static const cn_opt_spec opts[] = {
    {"output_shape", CN_OPT_INTS, offsetof(unpool_cfg, output_shape), "0", NULL,
     "output spatial size (0 = the max_pool's input size)"},
    {NULL},
};

static cn_status plan(cn_layer *l, cn_layer_plan *p)
{
    const unpool_cfg *c = l->cfg;
    unpool_state *s = l->state;
    const cn_layer *pool = l->in_layer[1];
    const cn_pool_geom *pg = pool ? cn_pool_layer_indices(pool) : NULL;
    if (!pg)
        return cn_set_error(CN_STATUS_INVALID_ARG,
                            "max_unpool '%s': input 2 ('%s') must be a max_pool layer with keep_indices = true", l->name,
                            pool ? pool->name : "?");
    if (!cn_shape_equal(&l->in[0], &l->in[1]))
        return cn_set_error(CN_STATUS_SHAPE, "max_unpool '%s': values %s do not match the shape of max_pool '%s' output %s", l->name,
                            cn_shape_text(&l->in[0]), pool->name, cn_shape_text(&l->in[1]));
    cn_status st = cn_ints_check(&c->output_shape, pg->ndim, l->name, "output_shape");
    if (st != CN_OK) return st;
    cn_pool_geom *g = &s->g;
    cn_pool_geom_init(g, pg->ndim);
    g->n = pg->n;
    g->c = pg->c;
    for (int i = 0; i < pg->ndim; i++) {
        g->in[i] = pg->out[i];
        g->k[i] = pg->k[i];
        g->stride[i] = pg->stride[i];
        g->pad_begin[i] = pg->pad_begin[i];
        g->pad_end[i] = pg->pad_end[i];
        int64_t want = cn_ints_axis(&c->output_shape, pg->ndim, i, 0);
        g->output_shape[i] = want ? want : pg->in[i];
    }
    char label[96];
    snprintf(label, sizeof label, "%s", l->name);
    if ((st = cn_unpool_geom_resolve(g, label)) != CN_OK) return st;
    p->out = l->in[0];
    for (int i = 0; i < g->ndim; i++) p->out.dim[2 + i] = g->out[i];
    return CN_OK;
}

static void forward(cn_layer *l, const cn_layer_run *r)
{
    cn_unpool_forward(r->y, r->x[0], r->in_cache[1], &((unpool_state *)l->state)->g, 0);
}

static void backward(cn_layer *l, const cn_layer_run *r)
{
    /* y[index] = x  →  dx += dy[index]; no gradient flows into the indices */
    if (r->dx[0]) cn_unpool_backward(r->dx[0], r->dy, r->in_cache[1], &((unpool_state *)l->state)->g, 0);
}

const cn_layer_ops cn_layer_max_unpool = {
    .name = "max_unpool", .summary = "max-unpooling with a max_pool layer's argmax (inputs: values, then that max_pool)",
    .min_inputs = 2, .max_inputs = 2, .opts = opts, .cfg_size = sizeof(unpool_cfg), .state_size = sizeof(unpool_state),
    .plan = plan, .forward = forward, .backward = backward,
};
