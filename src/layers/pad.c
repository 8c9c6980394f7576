/* pad.c — padding as its own layer: constant (value), reflect or replicate, per axis and
 * side, 1D/2D/3D. */
#include <stdio.h>

#include "convnet/ops.h"
#include "layer.h"

typedef struct {
    cn_padding padding;
    int mode;
    double value;
} pad_cfg;

typedef struct {
    cn_pad_geom g;
} pad_state;

static const cn_opt_spec opts[] = {
    {"padding", CN_OPT_PADDING, offsetof(pad_cfg, padding), NULL, NULL,
     "p (all sides) | per axis 1x2 | begins then ends 0,1,1,0 (ONNX order)"},
    {"mode", CN_OPT_ENUM, offsetof(pad_cfg, mode), "constant", "constant|reflect|replicate", "what padded positions hold"},
    {"value", CN_OPT_FLOAT, offsetof(pad_cfg, value), "0", NULL, "constant mode: the value"},
    {NULL},
};

static cn_status plan(cn_layer *l, cn_layer_plan *p)
{
    const pad_cfg *c = l->cfg;
    pad_state *s = l->state;
    const cn_shape *in = &l->in[0];
    int ndim = in->ndim - 2;
    if (ndim < 1 || ndim > 3)
        return cn_set_error(CN_STATUS_SHAPE, "pad '%s': input %s has rank %d; expected NCW, NCHW or NCDHW", l->name,
                            cn_shape_text(in), in->ndim);
    if (c->padding.mode != CN_PADSPEC_EXPLICIT)
        return cn_set_error(CN_STATUS_INVALID_ARG, "pad '%s': padding must be numbers (same/valid belong to conv and pooling)", l->name);
    cn_pad_geom *g = &s->g;
    *g = (cn_pad_geom){0};
    g->ndim = ndim;
    g->n = in->dim[0];
    g->c = in->dim[1];
    int mode;
    cn_status st = cn_padding_resolve(&c->padding, ndim, l->name, &mode, g->before, g->after);
    if (st != CN_OK) return st;
    for (int i = 0; i < ndim; i++) g->in[i] = in->dim[2 + i];
    static const cn_pad_mode modes[] = {CN_PAD_ZERO, CN_PAD_REFLECT, CN_PAD_REPLICATE};
    g->mode = modes[c->mode];
    g->value = (float)c->value;
    char label[96];
    snprintf(label, sizeof label, "%s", l->name);
    if ((st = cn_pad_geom_resolve(g, label)) != CN_OK) return st;
    p->out = *in;
    for (int i = 0; i < ndim; i++) p->out.dim[2 + i] = g->out[i];
    return CN_OK;
}

static void forward(cn_layer *l, const cn_layer_run *r) { cn_pad_forward(r->y, r->x[0], &((pad_state *)l->state)->g); }

static void backward(cn_layer *l, const cn_layer_run *r)
{
    /* y = pad(x)  →  dx += the gradient of every output that reads each input */
    if (r->dx[0]) cn_pad_backward(r->dx[0], r->dy, &((pad_state *)l->state)->g);
}

const cn_layer_ops cn_layer_pad = {
    .name = "pad", .summary = "padding: constant, reflect or replicate, per axis and side (1D/2D/3D)",
    .min_inputs = 1, .max_inputs = 1, .opts = opts, .cfg_size = sizeof(pad_cfg), .state_size = sizeof(pad_state),
    .plan = plan, .forward = forward, .backward = backward,
};
