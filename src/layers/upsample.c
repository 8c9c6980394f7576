/* upsample.c — resizing layers, 1D/2D/3D:
 *   upsample        nearest ("duplicate") or linear/bilinear/trilinear, by scale (integer or
 *                   fractional) or to an explicit size; align_corners as PyTorch
 *   pixel_shuffle   depth to space by a block size (ONNX DepthToSpace DCR or CRD = PyTorch)
 *   space_to_depth  its inverse */
#include <stdio.h>

#include "convnet/pool.h"
#include "layer.h"

typedef struct {
    int mode, align_corners;
    cn_floats scale;
    cn_ints size;
    int64_t block;
    int order;
} up_cfg;

enum { U_RESIZE, U_D2S, U_S2D };

typedef struct {
    int kind;
    cn_upsample_geom g;
    cn_shuffle_geom sg;
} up_state;

static cn_status spatial_rank(const cn_layer *l, int *ndim)
{
    *ndim = l->in[0].ndim - 2;
    if (*ndim < 1 || *ndim > 3)
        return cn_set_error(CN_STATUS_SHAPE, "%s '%s': input %s has rank %d; expected NCW, NCHW or NCDHW", l->ops->name, l->name,
                            cn_shape_text(&l->in[0]), l->in[0].ndim);
    return CN_OK;
}

static cn_status plan_kind(cn_layer *l, cn_layer_plan *p, int kind)
{
    const up_cfg *c = l->cfg;
    up_state *s = l->state;
    const cn_shape *in = &l->in[0];
    int ndim;
    cn_status st = spatial_rank(l, &ndim);
    if (st != CN_OK) return st;
    s->kind = kind;
    char label[96];
    snprintf(label, sizeof label, "%s", l->name);
    p->out = *in;
    if (kind == U_RESIZE) {
        if ((st = cn_ints_check(&c->size, ndim, l->name, "size")) != CN_OK) return st;
        if (c->scale.n > 1 && c->scale.n != ndim)
            return cn_set_error(CN_STATUS_SHAPE, "upsample '%s': scale has %d values for %d spatial dimensions", l->name,
                                c->scale.n, ndim);
        if (!c->scale.n && !c->size.n) return cn_set_error(CN_STATUS_INVALID_ARG, "upsample '%s': give scale or size", l->name);
        cn_upsample_geom *g = &s->g;
        cn_upsample_geom_init(g, ndim);
        cn_upsample_geom_pytorch(g, c->mode ? CN_RESIZE_LINEAR : CN_RESIZE_NEAREST, c->align_corners);
        g->n = in->dim[0];
        g->c = in->dim[1];
        for (int i = 0; i < ndim; i++) {
            g->in[i] = in->dim[2 + i];
            g->size[i] = cn_ints_axis(&c->size, ndim, i, 0);
            g->scale[i] = c->scale.n ? c->scale.v[c->scale.n == 1 ? 0 : i] : 0;
        }
        if ((st = cn_upsample_geom_resolve(g, label)) != CN_OK) return st;
        for (int i = 0; i < ndim; i++) {
            p->out.dim[2 + i] = g->out[i];
            p->rf_kernel[i] = c->mode ? 2 : 1;
            p->rf_stride[i] = (double)g->in[i] / (double)g->out[i];
        }
        p->macs = cn_shape_numel(&p->out) * (c->mode ? (1 << ndim) : 1);
        return CN_OK;
    }
    cn_shuffle_geom *g = &s->sg;
    cn_shuffle_geom_init(g, ndim);
    g->n = in->dim[0];
    g->c = in->dim[1];
    for (int i = 0; i < ndim; i++) g->in[i] = in->dim[2 + i];
    g->block = c->block;
    g->order = kind == U_S2D ? CN_SHUFFLE_DCR : (cn_shuffle_order)c->order;
    g->inverse = kind == U_S2D;
    if ((st = cn_shuffle_geom_resolve(g, label)) != CN_OK) return st;
    p->out.dim[1] = g->out_c;
    for (int i = 0; i < ndim; i++) {
        p->out.dim[2 + i] = g->out[i];
        p->rf_kernel[i] = kind == U_S2D ? c->block : 1;
        p->rf_stride[i] = kind == U_S2D ? (double)c->block : 1.0 / (double)c->block;
    }
    return CN_OK;
}

static cn_status plan_resize(cn_layer *l, cn_layer_plan *p) { return plan_kind(l, p, U_RESIZE); }
static cn_status plan_d2s(cn_layer *l, cn_layer_plan *p) { return plan_kind(l, p, U_D2S); }
static cn_status plan_s2d(cn_layer *l, cn_layer_plan *p) { return plan_kind(l, p, U_S2D); }

static void forward(cn_layer *l, const cn_layer_run *r)
{
    const up_state *s = l->state;
    if (s->kind == U_RESIZE) cn_upsample_forward(r->y, r->x[0], &s->g);
    else cn_shuffle_forward(r->y, r->x[0], &s->sg);
}

static void backward(cn_layer *l, const cn_layer_run *r)
{
    const up_state *s = l->state;
    if (!r->dx[0]) return;
    /* y = resize(x) (a fixed linear map)  →  dx += its transpose applied to dy */
    if (s->kind == U_RESIZE) cn_upsample_backward(r->dx[0], r->dy, &s->g);
    else cn_shuffle_backward(r->dx[0], r->dy, &s->sg);
}

static const cn_opt_spec resize_opts[] = {
    {"mode", CN_OPT_ENUM, offsetof(up_cfg, mode), "nearest", "nearest|linear", "nearest (duplicate) or (bi/tri)linear"},
    {"scale", CN_OPT_FLOATS, offsetof(up_cfg, scale), "", NULL, "scale factor: s or per axis (may be fractional)"},
    {"size", CN_OPT_INTS, offsetof(up_cfg, size), "", NULL, "or: the output spatial size"},
    {"align_corners", CN_OPT_BOOL, offsetof(up_cfg, align_corners), "false", NULL, "linear: corners of input and output align (PyTorch)"},
    {NULL},
};
static const cn_opt_spec d2s_opts[] = {
    {"block", CN_OPT_INT, offsetof(up_cfg, block), NULL, NULL, "block size b: C*b^d channels become C channels"},
    {"order", CN_OPT_ENUM, offsetof(up_cfg, order), "crd", "dcr|crd", "channel order: crd = PyTorch pixel_shuffle, dcr = ONNX default"},
    {NULL},
};
static const cn_opt_spec s2d_opts[] = {
    {"block", CN_OPT_INT, offsetof(up_cfg, block), NULL, NULL, "block size b: b^d spatial cells become channels"},
    {NULL},
};

#define UP_OPS(ident, nm, sum, table, planfn)                                                                          \
    const cn_layer_ops ident = {.name = nm, .summary = sum, .min_inputs = 1, .max_inputs = 1, .opts = table,          \
                                .cfg_size = sizeof(up_cfg), .state_size = sizeof(up_state), .plan = planfn,           \
                                .forward = forward, .backward = backward}

UP_OPS(cn_layer_upsample, "upsample", "upsampling: nearest or (bi/tri)linear, by scale or to a size (1D/2D/3D)", resize_opts, plan_resize);
UP_OPS(cn_layer_pixel_shuffle, "pixel_shuffle", "depth to space (pixel shuffle) by a block size", d2s_opts, plan_d2s);
UP_OPS(cn_layer_space_to_depth, "space_to_depth", "space to depth (inverse pixel shuffle) by a block size", s2d_opts, plan_s2d);
