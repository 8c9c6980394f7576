/* resize.c — `resize`: ONNX Resize (nearest and linear) on the spatial axes of (N, C, *in),
 * 1D/2D/3D, with every coordinate mapping and nearest rounding the upsampling kernels offer
 * (include/convnet/pool.h): coord = half_pixel (ONNX's default, PyTorch align_corners=False),
 * pytorch_half_pixel, align_corners, asymmetric, half_pixel_symmetric; nearest =
 * round_prefer_floor (ONNX's default), round_prefer_ceil, floor, ceil. The output size is
 * `size`, or floor(in * scale); with both, the size gives the shape and the scale the mapping
 * (ONNX Resize with `scales`). The `upsample` layer is the PyTorch-flavoured subset of this. */
#include <stdio.h>

#include "convnet/pool.h"
#include "layer.h"

typedef struct {
    int mode, coord, nearest;
    cn_floats scale;
    cn_ints size;
} resize_cfg;

typedef struct {
    cn_upsample_geom g;
} resize_state;

static const cn_opt_spec opts[] = {
    {"mode", CN_OPT_ENUM, offsetof(resize_cfg, mode), "nearest", "nearest|linear", "interpolation"},
    {"coord", CN_OPT_ENUM, offsetof(resize_cfg, coord), "half_pixel",
     "half_pixel|pytorch_half_pixel|align_corners|asymmetric|half_pixel_symmetric",
     "how an output index maps to an input coordinate (ONNX coordinate_transformation_mode)"},
    {"nearest", CN_OPT_ENUM, offsetof(resize_cfg, nearest), "round_prefer_floor", "round_prefer_floor|round_prefer_ceil|floor|ceil",
     "nearest mode: how a coordinate rounds to an index (ONNX nearest_mode)"},
    {"scale", CN_OPT_FLOATS, offsetof(resize_cfg, scale), "", NULL, "scale factor: s or per spatial axis"},
    {"size", CN_OPT_INTS, offsetof(resize_cfg, size), "", NULL, "or: the output spatial size (with scale: the size wins for the shape)"},
    {NULL},
};

/* the option orders above equal the enums' (checked here so a reordering cannot go unnoticed) */
_Static_assert(CN_COORD_HALF_PIXEL == 0 && CN_COORD_PYTORCH_HALF_PIXEL == 1 && CN_COORD_ALIGN_CORNERS == 2 &&
                   CN_COORD_ASYMMETRIC == 3 && CN_COORD_HALF_PIXEL_SYMMETRIC == 4,
               "resize coord order");
_Static_assert(CN_NEAREST_ROUND_PREFER_FLOOR == 0 && CN_NEAREST_ROUND_PREFER_CEIL == 1 && CN_NEAREST_FLOOR == 2 &&
                   CN_NEAREST_CEIL == 3,
               "resize nearest order");

static cn_status plan(cn_layer *l, cn_layer_plan *p)
{
    const resize_cfg *c = l->cfg;
    resize_state *s = l->state;
    const cn_shape *in = &l->in[0];
    int ndim = in->ndim - 2;
    if (ndim < 1 || ndim > 3)
        return cn_set_error(CN_STATUS_SHAPE, "resize '%s': input %s has rank %d; expected NCW, NCHW or NCDHW", l->name,
                            cn_shape_text(in), in->ndim);
    cn_status st = cn_ints_check(&c->size, ndim, l->name, "size");
    if (st != CN_OK) return st;
    if (c->scale.n > 1 && c->scale.n != ndim)
        return cn_set_error(CN_STATUS_SHAPE, "resize '%s': scale has %d values for %d spatial dimensions", l->name, c->scale.n, ndim);
    if (!c->scale.n && !c->size.n) return cn_set_error(CN_STATUS_INVALID_ARG, "resize '%s': give scale or size", l->name);
    cn_upsample_geom *g = &s->g;
    cn_upsample_geom_init(g, ndim);
    g->mode = c->mode ? CN_RESIZE_LINEAR : CN_RESIZE_NEAREST;
    g->coord = (cn_resize_coord)c->coord;
    g->nearest = (cn_resize_nearest)c->nearest;
    g->n = in->dim[0];
    g->c = in->dim[1];
    for (int i = 0; i < ndim; i++) {
        g->in[i] = in->dim[2 + i];
        g->size[i] = cn_ints_axis(&c->size, ndim, i, 0);
        g->scale[i] = c->scale.n ? c->scale.v[c->scale.n == 1 ? 0 : i] : 0;
    }
    char label[96];
    snprintf(label, sizeof label, "%s", l->name);
    if ((st = cn_upsample_geom_resolve(g, label)) != CN_OK) return st;
    p->out = *in;
    for (int i = 0; i < ndim; i++) {
        p->out.dim[2 + i] = g->out[i];
        p->rf_kernel[i] = c->mode ? 2 : 1;
        p->rf_stride[i] = (double)g->in[i] / (double)g->out[i];
    }
    p->macs = cn_shape_numel(&p->out) * (c->mode ? (1 << ndim) : 1);
    return CN_OK;
}

static void forward(cn_layer *l, const cn_layer_run *r)
{
    cn_upsample_forward(r->y, r->x[0], &((const resize_state *)l->state)->g);
}

static void backward(cn_layer *l, const cn_layer_run *r)
{
    /* y = resize(x), linear in x  →  dx += resize^T(dy) */
    if (r->dx[0]) cn_upsample_backward(r->dx[0], r->dy, &((const resize_state *)l->state)->g);
}

const cn_layer_ops cn_layer_resize = {
    .name = "resize", .summary = "ONNX Resize, nearest or (bi/tri)linear, with its coordinate mappings and nearest modes (1D/2D/3D)",
    .min_inputs = 1, .max_inputs = 1, .opts = opts, .cfg_size = sizeof(resize_cfg), .state_size = sizeof(resize_state),
    .plan = plan, .forward = forward, .backward = backward,
};
