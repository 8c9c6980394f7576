/* dropout.c — inverted dropout: at training each unit is kept with probability 1 - p and
 * scaled by 1/(1 - p); at inference the identity. spatial = true drops whole channels
 * (Dropout2d/3d). The mask comes from the layer's own random stream at this step, so a seed
 * reproduces it at any thread count. */
#include <stdio.h>
#include <string.h>

#include "convnet/ops.h"
#include "layer.h"

typedef struct {
    double p;
    int spatial;
} dropout_cfg;

typedef struct {
    cn_dropout_geom g;
} dropout_state;

static const cn_opt_spec opts[] = {
    {"p", CN_OPT_FLOAT, offsetof(dropout_cfg, p), "0.5", NULL, "probability of dropping a unit"},
    {"spatial", CN_OPT_BOOL, offsetof(dropout_cfg, spatial), "false", NULL, "drop whole channels (one draw per sample and channel)"},
    {NULL},
};

static cn_status plan(cn_layer *l, cn_layer_plan *p)
{
    const dropout_cfg *c = l->cfg;
    dropout_state *s = l->state;
    const cn_shape *in = &l->in[0];
    if (c->spatial && in->ndim < 3)
        return cn_set_error(CN_STATUS_SHAPE, "dropout '%s': spatial dropout needs (N, C, spatial...) input, got %s", l->name,
                            cn_shape_text(in));
    s->g.n = in->dim[0];
    s->g.c = in->ndim > 1 ? in->dim[1] : 1;
    s->g.s = cn_shape_numel(in) / (s->g.n * s->g.c);
    s->g.p = (float)c->p;
    s->g.spatial = c->spatial;
    char label[96];
    snprintf(label, sizeof label, "%s", l->name);
    cn_status st = cn_dropout_check(&s->g, label);
    if (st != CN_OK) return st;
    p->out = *in;
    p->cache_bytes = cn_dropout_cache_floats(&s->g) * sizeof(float);
    return CN_OK;
}

static void forward(cn_layer *l, const cn_layer_run *r)
{
    const dropout_state *s = l->state;
    if (r->train) {
        cn_rng rng = r->rng;
        cn_dropout_forward_train(r->y, r->cache, r->x[0], &s->g, &rng);
    } else {
        cn_dropout_forward_eval(r->y, r->x[0], &s->g);
    }
}

static void backward(cn_layer *l, const cn_layer_run *r)
{
    const dropout_state *s = l->state;
    /* y = x * mask  →  dx += dy * mask */
    if (r->dx[0]) cn_dropout_backward(r->dx[0], r->dy, r->cache, &s->g);
}

const cn_layer_ops cn_layer_dropout = {
    .name = "dropout", .summary = "inverted dropout (identity at inference); spatial variant drops whole channels",
    .min_inputs = 1, .max_inputs = 1, .opts = opts, .cfg_size = sizeof(dropout_cfg), .state_size = sizeof(dropout_state),
    .plan = plan, .forward = forward, .backward = backward,
};
