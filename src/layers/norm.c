/* norm.c — normalization layers over (N, C, ...) inputs, 1D/2D/3D alike (the spatial axes are
 * flattened to S):
 *   batch_norm     training: batch statistics, running mean/variance updated with momentum
 *                  (PyTorch convention, unbiased variance in running_var); evaluation: the
 *                  running statistics. frozen = true uses the running statistics in training
 *                  too (fine-tuning with fixed statistics).
 *   instance_norm  per sample and channel
 *   group_norm     per sample and group of channels
 *   lrn            local response normalization across channels, as ONNX LRN (AlexNet's "norm") */
#include <stdio.h>

#include "convnet/norm.h"
#include "layer.h"

typedef struct {
    double eps, momentum;
    int affine, frozen;
    int64_t groups;
    int64_t size;
    double alpha, beta, bias;
} norm_cfg;

typedef struct {
    cn_norm_geom g;
    cn_lrn_geom lrn;
    int kind;
} norm_state;

enum { K_BATCH, K_INSTANCE, K_GROUP, K_LRN };

static cn_status nchw(const cn_layer *l, cn_norm_geom *g)
{
    const cn_shape *in = &l->in[0];
    if (in->ndim < 2)
        return cn_set_error(CN_STATUS_SHAPE, "%s '%s': input %s needs a channel axis (N, C, ...)", l->ops->name, l->name,
                            cn_shape_text(in));
    g->n = in->dim[0];
    g->c = in->dim[1];
    g->s = cn_shape_numel(in) / (g->n * g->c);
    return CN_OK;
}

static cn_status plan_kind(cn_layer *l, cn_layer_plan *p, int kind)
{
    const norm_cfg *c = l->cfg;
    norm_state *s = l->state;
    s->kind = kind;
    cn_status st = nchw(l, &s->g);
    if (st != CN_OK) return st;
    s->g.eps = (float)c->eps;
    s->g.momentum = (float)c->momentum;
    s->g.groups = c->groups;
    char label[96];
    snprintf(label, sizeof label, "%s", l->name);
    size_t cache = 0;
    switch (kind) {
    case K_BATCH:
        st = cn_batchnorm_check(&s->g, l->train && !c->frozen, label); /* batch statistics need 2+ values */
        cache = cn_batchnorm_cache_floats(&s->g);
        break;
    case K_INSTANCE:
        st = cn_instancenorm_check(&s->g, label);
        cache = cn_instancenorm_cache_floats(&s->g);
        break;
    case K_GROUP:
        st = cn_groupnorm_check(&s->g, label);
        cache = cn_groupnorm_cache_floats(&s->g);
        break;
    default:
        s->lrn = (cn_lrn_geom){s->g.n, s->g.c, s->g.s, c->size, (float)c->alpha, (float)c->beta, (float)c->bias};
        st = cn_lrn_check(&s->lrn, label);
        cache = cn_lrn_cache_floats(&s->lrn);
        break;
    }
    if (st != CN_OK) return st;
    p->out = l->in[0];
    p->cache_bytes = cache * sizeof(float);
    if (kind != K_LRN && c->affine) {
        p->params[p->n_params++] = (cn_param_spec){"weight", {1, {s->g.c}}, CN_INIT_ONE, 0, 0, 0, 1};
        p->params[p->n_params++] = (cn_param_spec){"bias", {1, {s->g.c}}, CN_INIT_ZERO, 0, 0, 0, 1};
    }
    if (kind == K_BATCH) {
        p->params[p->n_params++] = (cn_param_spec){"running_mean", {1, {s->g.c}}, CN_INIT_ZERO, 0, 0, 0, 0};
        p->params[p->n_params++] = (cn_param_spec){"running_var", {1, {s->g.c}}, CN_INIT_ONE, 0, 0, 0, 0};
    }
    p->macs = cn_shape_numel(&l->in[0]) * (kind == K_LRN ? c->size + 2 : 2);
    return CN_OK;
}

static cn_status plan_batch(cn_layer *l, cn_layer_plan *p) { return plan_kind(l, p, K_BATCH); }




/* parameter roles: gamma/beta present iff affine; running stats last for batch norm */
static void roles(const cn_layer *l, float *const *v, float **gamma, float **beta, float **rm, float **rv)
{
    const norm_cfg *c = l->cfg;
    int k = 0;
    *gamma = c->affine ? v[k++] : NULL;
    *beta = c->affine ? v[k++] : NULL;
    *rm = rv ? v[k++] : NULL;
    if (rv) *rv = v[k++];
}

static void forward(cn_layer *l, const cn_layer_run *r)
{
    const norm_state *s = l->state;
    const norm_cfg *c = l->cfg;
    float *gamma, *beta, *rm, *rv, *cache = r->cache;
    switch (s->kind) {
    case K_BATCH:
        roles(l, l->param, &gamma, &beta, &rm, &rv);
        if (r->train && !c->frozen) cn_batchnorm_forward_train(r->y, cache, rm, rv, r->x[0], gamma, beta, &s->g);
        else cn_batchnorm_forward_eval(r->y, r->x[0], gamma, beta, rm, rv, &s->g);
        break;
    case K_INSTANCE:
    case K_GROUP: {
        /* the statistics are per sample: inference needs somewhere to put them */
        roles(l, l->param, &gamma, &beta, &rm, NULL);
        float *stats = cache ? cache : r->scratch;
        if (s->kind == K_INSTANCE) cn_instancenorm_forward(r->y, stats, r->x[0], gamma, beta, &s->g);
        else cn_groupnorm_forward(r->y, stats, r->x[0], gamma, beta, &s->g);
        break;
    }
    default: cn_lrn_forward(r->y, cache ? cache : r->scratch, r->x[0], &s->lrn); break;
    }
}

static void backward(cn_layer *l, const cn_layer_run *r)
{
    const norm_state *s = l->state;
    const norm_cfg *c = l->cfg;
    float *gamma, *beta, *rm, *rv, *dgamma, *dbeta, *drm, *drv;
    switch (s->kind) {
    case K_BATCH:
        roles(l, l->param, &gamma, &beta, &rm, &rv);
        roles(l, l->grad, &dgamma, &dbeta, &drm, &drv);
        /* y = gamma * (x - mean) * inv_std + beta  →  dx (through the batch statistics), dgamma, dbeta */
        if (!c->frozen) cn_batchnorm_backward_train(r->dx[0], dgamma, dbeta, r->dy, r->x[0], r->cache, gamma, &s->g);
        else cn_batchnorm_backward_eval(r->dx[0], dgamma, dbeta, r->dy, r->x[0], gamma, rm, rv, &s->g);
        break;
    case K_INSTANCE:
    case K_GROUP:
        roles(l, l->param, &gamma, &beta, &rm, NULL);
        roles(l, l->grad, &dgamma, &dbeta, &drm, NULL);
        if (s->kind == K_INSTANCE) cn_instancenorm_backward(r->dx[0], dgamma, dbeta, r->dy, r->x[0], r->cache, gamma, &s->g);
        else cn_groupnorm_backward(r->dx[0], dgamma, dbeta, r->dy, r->x[0], r->cache, gamma, &s->g);
        break;
    default:
        if (r->dx[0]) cn_lrn_backward(r->dx[0], r->dy, r->x[0], r->cache, &s->lrn);
        break;
    }
}

#define EPS_OPT {"eps", CN_OPT_FLOAT, offsetof(norm_cfg, eps), "1e-05", NULL, "added to the variance"}
#define AFFINE_OPT {"affine", CN_OPT_BOOL, offsetof(norm_cfg, affine), "true", NULL, "learned scale (weight) and shift (bias) per channel"}

static const cn_opt_spec batch_opts[] = {
    EPS_OPT,
    {"momentum", CN_OPT_FLOAT, offsetof(norm_cfg, momentum), "0.1", NULL, "running = (1 - momentum) * running + momentum * batch"},
    AFFINE_OPT,
    {"frozen", CN_OPT_BOOL, offsetof(norm_cfg, frozen), "false", NULL, "use (and keep) the running statistics in training too"},
    {NULL},
};
static const cn_opt_spec instance_opts[] = {EPS_OPT, AFFINE_OPT, {NULL}};
static const cn_opt_spec group_opts[] = {
    {"groups", CN_OPT_INT, offsetof(norm_cfg, groups), NULL, NULL, "channel groups (divides the channels)"}, EPS_OPT, AFFINE_OPT, {NULL},
};
static const cn_opt_spec lrn_opts[] = {
    {"size", CN_OPT_INT, offsetof(norm_cfg, size), "5", NULL, "channels in the window"},
    {"alpha", CN_OPT_FLOAT, offsetof(norm_cfg, alpha), "0.0001", NULL, "scale"},
    {"beta", CN_OPT_FLOAT, offsetof(norm_cfg, beta), "0.75", NULL, "exponent"},
    {"bias", CN_OPT_FLOAT, offsetof(norm_cfg, bias), "1", NULL, "k in (k + alpha/size * sum x^2)^beta"},
    {NULL},
};

/* instance/group/lrn need per-sample statistics at inference too: scratch sized like the cache */
static cn_status plan_with_scratch(cn_layer *l, cn_layer_plan *p, int kind)
{
    cn_status st = plan_kind(l, p, kind);
    if (st == CN_OK && kind != K_BATCH) p->scratch_bytes = p->cache_bytes;
    return st;
}
static cn_status plan_instance_s(cn_layer *l, cn_layer_plan *p) { return plan_with_scratch(l, p, K_INSTANCE); }
static cn_status plan_group_s(cn_layer *l, cn_layer_plan *p) { return plan_with_scratch(l, p, K_GROUP); }
static cn_status plan_lrn_s(cn_layer *l, cn_layer_plan *p) { return plan_with_scratch(l, p, K_LRN); }

#define NORM_OPS(ident, nm, sum, table, planfn)                                                                        \
    const cn_layer_ops ident = {.name = nm, .summary = sum, .min_inputs = 1, .max_inputs = 1, .opts = table,          \
                                .cfg_size = sizeof(norm_cfg), .state_size = sizeof(norm_state), .plan = planfn,       \
                                .forward = forward, .backward = backward}

NORM_OPS(cn_layer_batch_norm, "batch_norm", "batch normalization (1D/2D/3D): batch statistics in training, running averages at inference",
         batch_opts, plan_batch);
NORM_OPS(cn_layer_instance_norm, "instance_norm", "instance normalization: per sample and channel", instance_opts, plan_instance_s);
NORM_OPS(cn_layer_group_norm, "group_norm", "group normalization: per sample and group of channels", group_opts, plan_group_s);
NORM_OPS(cn_layer_lrn, "lrn", "local response normalization across channels (ONNX LRN, AlexNet's norm layer)", lrn_opts, plan_lrn_s);
