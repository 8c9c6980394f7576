/* yolo.c — yolo_loss: the YOLO-v1 detection loss (Redmon et al. 2016; definitions in
 * convnet/detect.h) as a loss layer. Its input is the prediction grid, either
 *   (N, 5B+C, S, S) — a conv output (rows and columns may differ: (N, 5B+C, SH, SW)), or
 *   (N, S*S*(5B+C)) — a dense output read in the same channel-major order; `grid` gives S.
 * Targets (cn_model_set_target): (N, max_boxes, 5) floats, rows (class, cx, cy, w, h)
 * normalized to [0, 1], unused rows with class -1. The output is the scalar loss (averaged over
 * the images); the gradient is computed with the loss in forward and kept in the cache. */
#include <stdio.h>

#include "convnet/detect.h"
#include "layer.h"

typedef struct {
    int64_t grid, boxes, classes, max_boxes;
    double lambda_coord, lambda_noobj;
    int rescore;
} yolo_cfg;

typedef struct {
    cn_yolo_geom g;
    int64_t n; /* prediction elements */
} yolo_state;

static const cn_opt_spec opts[] = {
    {"grid", CN_OPT_INT, offsetof(yolo_cfg, grid), "0", NULL, "cells per side S (0: from an (N, 5B+C, S, S) input; required for a dense input)"},
    {"boxes", CN_OPT_INT, offsetof(yolo_cfg, boxes), "2", NULL, "boxes B predicted per cell"},
    {"classes", CN_OPT_INT, offsetof(yolo_cfg, classes), NULL, NULL, "classes C"},
    {"max_boxes", CN_OPT_INT, offsetof(yolo_cfg, max_boxes), "8", NULL, "target rows (class, cx, cy, w, h) per image"},
    {"lambda_coord", CN_OPT_FLOAT, offsetof(yolo_cfg, lambda_coord), "5", NULL, "weight of the box coordinate errors"},
    {"lambda_noobj", CN_OPT_FLOAT, offsetof(yolo_cfg, lambda_noobj), "0.5", NULL, "weight of the confidence of boxes without an object"},
    {"rescore", CN_OPT_BOOL, offsetof(yolo_cfg, rescore), "true", NULL, "confidence target = IoU of the responsible box (else 1)"},
    {NULL},
};

static cn_status check(cn_layer *l)
{
    const yolo_cfg *c = l->cfg;
    if (c->grid < 0 || c->boxes < 1 || c->classes < 1 || c->max_boxes < 1)
        return cn_set_error(CN_STATUS_INVALID_ARG,
                            "yolo_loss '%s': grid=%lld boxes=%lld classes=%lld max_boxes=%lld; grid must be >= 0 and the "
                            "others >= 1",
                            l->name, (long long)c->grid, (long long)c->boxes, (long long)c->classes, (long long)c->max_boxes);
    return CN_OK;
}

static cn_status plan(cn_layer *l, cn_layer_plan *p)
{
    const yolo_cfg *c = l->cfg;
    yolo_state *s = l->state;
    const cn_shape *in = &l->in[0];
    int64_t d = 5 * c->boxes + c->classes, sh, sw;
    if (in->ndim == 4) {
        sh = in->dim[2], sw = in->dim[3];
        if (in->dim[1] != d)
            return cn_set_error(CN_STATUS_SHAPE, "yolo_loss '%s': input %s is not (N, 5B+C, S, S) with 5B+C = 5*%lld+%lld = %lld",
                                l->name, cn_shape_text(in), (long long)c->boxes, (long long)c->classes, (long long)d);
        if (c->grid && (sh != c->grid || sw != c->grid))
            return cn_set_error(CN_STATUS_SHAPE, "yolo_loss '%s': input %s is not (N, 5B+C, S, S) with S = grid = %lld", l->name,
                                cn_shape_text(in), (long long)c->grid);
    } else if (in->ndim == 2) {
        if (!c->grid)
            return cn_set_error(CN_STATUS_SHAPE, "yolo_loss '%s': a dense input %s needs grid = S (its features are S*S*(5B+C))",
                                l->name, cn_shape_text(in));
        sh = sw = c->grid;
        if (in->dim[1] != sh * sw * d)
            return cn_set_error(CN_STATUS_SHAPE,
                                "yolo_loss '%s': input %s has %lld features; grid %lld x %lld with 5B+C = 5*%lld+%lld needs "
                                "%lld",
                                l->name, cn_shape_text(in), (long long)in->dim[1], (long long)sh, (long long)sw,
                                (long long)c->boxes, (long long)c->classes, (long long)(sh * sw * d));
    } else {
        return cn_set_error(CN_STATUS_SHAPE, "yolo_loss '%s': input %s must be (N, 5B+C, S, S) or (N, S*S*(5B+C))", l->name,
                            cn_shape_text(in));
    }
    s->g = cn_yolo_geom_make(in->dim[0], sh, sw, c->boxes, c->classes, c->max_boxes);
    s->g.lambda_coord = (float)c->lambda_coord;
    s->g.lambda_noobj = (float)c->lambda_noobj;
    s->g.rescore = c->rescore;
    cn_status st = cn_yolo_check(&s->g, l->name);
    if (st != CN_OK) return st;
    s->n = cn_shape_numel(in);
    p->out = (cn_shape){1, {1}};
    p->cache_bytes = (size_t)s->n * sizeof(float);
    p->rf_global = 1;
    return CN_OK;
}

static cn_status check_target(cn_layer *l, const float *t)
{
    const yolo_state *s = l->state;
    return cn_yolo_check_targets(t, &s->g, l->name);
}

static void forward(cn_layer *l, const cn_layer_run *r)
{
    const yolo_state *s = l->state;
    r->y[0] = (float)cn_yolo_loss(r->cache, r->x[0], r->target, &s->g); /* cache NULL at inference */
}

static void backward(cn_layer *l, const cn_layer_run *r)
{
    const yolo_state *s = l->state;
    if (!r->dx[0]) return;
    /* y = L(x)  →  dx += dy * dL/dx (kept from forward) */
    const float *g = r->cache;
    float dy = r->dy[0];
    for (int64_t i = 0; i < s->n; i++) r->dx[0][i] += dy * g[i];
}

const cn_layer_ops cn_layer_yolo_loss = {
    .name = "yolo_loss", .summary = "loss: YOLO-v1 detection on an S x S grid (B boxes + C class scores per cell; targets: boxes)",
    .min_inputs = 1, .max_inputs = 1, .is_loss = 1, .opts = opts, .cfg_size = sizeof(yolo_cfg),
    .state_size = sizeof(yolo_state), .check = check, .plan = plan, .forward = forward, .backward = backward,
    .check_target = check_target,
};
