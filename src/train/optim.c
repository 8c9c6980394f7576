/* optim.c — SGD, Adam and AdamW over flat float32 arrays, and gradient clipping.
 *
 * Every element update mirrors PyTorch 1.13's _single_tensor_sgd / _single_tensor_adam(w):
 * the same float32 operations in the same order, with the scalar coefficients computed in
 * double (as Python does) and rounded to float once (as ATen does when a Python number meets
 * a float tensor). The PyTorch line each update reproduces is quoted beside it. */
#include "convnet/optim.h"

#include <math.h>
#include <string.h>

/* ---- names --------------------------------------------------------------------------- */

static const char *const kind_names[CN_OPTIM_COUNT_] = {"sgd", "adam", "adamw"};

const char *cn_optim_kind_name(cn_optim_kind k)
{
    return (int)k >= 0 && k < CN_OPTIM_COUNT_ ? kind_names[k] : NULL;
}

cn_status cn_optim_kind_parse(cn_optim_kind *k, const char *name)
{
    for (int i = 0; i < CN_OPTIM_COUNT_; i++)
        if (name && !strcmp(name, kind_names[i])) {
            *k = (cn_optim_kind)i;
            return CN_OK;
        }
    return cn_set_error(CN_STATUS_INVALID_ARG, "optimizer: unknown kind '%s' (expected sgd, adam or adamw)",
                        name ? name : "(null)");
}

/* ---- configuration ------------------------------------------------------------------- */

cn_optim_config cn_optim_defaults(cn_optim_kind kind)
{
    cn_optim_config c;
    memset(&c, 0, sizeof c);
    c.kind = kind;
    c.beta1 = 0.9, c.beta2 = 0.999, c.eps = 1e-8;
    if (kind == CN_OPTIM_ADAMW) c.weight_decay = 1e-2;
    return c;
}

cn_status cn_optim_config_check(const cn_optim_config *c)
{
    if (!c) return cn_set_error(CN_STATUS_INVALID_ARG, "optimizer: config is NULL");
    const char *k = cn_optim_kind_name(c->kind);
    if (!k) return cn_set_error(CN_STATUS_INVALID_ARG, "optimizer: kind=%d is not a known optimizer", (int)c->kind);
    /* written so that NaN fails every range test */
    if (!(c->weight_decay >= 0 && isfinite(c->weight_decay)))
        return cn_set_error(CN_STATUS_INVALID_ARG, "optimizer %s: weight_decay=%g must be finite and >= 0", k,
                            c->weight_decay);
    if (c->kind == CN_OPTIM_SGD) {
        if (!(c->momentum >= 0 && c->momentum < 1))
            return cn_set_error(CN_STATUS_INVALID_ARG, "optimizer sgd: momentum=%g is outside [0, 1)", c->momentum);
        if (!(c->dampening >= 0 && c->dampening <= 1))
            return cn_set_error(CN_STATUS_INVALID_ARG, "optimizer sgd: dampening=%g is outside [0, 1]", c->dampening);
        if (c->nesterov && !(c->momentum > 0))
            return cn_set_error(CN_STATUS_INVALID_ARG,
                                "optimizer sgd: nesterov=1 requires momentum > 0 (momentum=%g)", c->momentum);
        if (c->nesterov && c->dampening != 0)
            return cn_set_error(CN_STATUS_INVALID_ARG,
                                "optimizer sgd: nesterov=1 requires dampening=0 (dampening=%g)", c->dampening);
    } else {
        if (!(c->beta1 >= 0 && c->beta1 < 1))
            return cn_set_error(CN_STATUS_INVALID_ARG, "optimizer %s: beta1=%g is outside [0, 1)", k, c->beta1);
        if (!(c->beta2 >= 0 && c->beta2 < 1))
            return cn_set_error(CN_STATUS_INVALID_ARG, "optimizer %s: beta2=%g is outside [0, 1)", k, c->beta2);
        if (!(c->eps > 0 && isfinite(c->eps)))
            return cn_set_error(CN_STATUS_INVALID_ARG, "optimizer %s: eps=%g must be finite and > 0", k, c->eps);
        if (c->decoupled_wd && c->kind == CN_OPTIM_ADAM)
            return cn_set_error(CN_STATUS_INVALID_ARG,
                                "optimizer adam: decoupled_wd=1 is not an Adam option; use kind adamw "
                                "(which always decouples weight decay)");
    }
    return CN_OK;
}

/* ---- the object ---------------------------------------------------------------------- */

enum { MAX_BUFS = 3 };

struct cn_optim {
    cn_optim_config cfg;
    int n_params, n_bufs;
    const char *buf_names[MAX_BUFS];
    uint64_t steps;
    int64_t *sizes;       /* n_params */
    int64_t *offsets;     /* n_params: start of each parameter's slot in a buffer, in floats */
    double *decay_scale;  /* n_params */
    double *lr_scale;     /* n_params */
    int64_t buf_stride;   /* floats per buffer (sum of the slots, each rounded up to 16) */
    float *state;         /* n_bufs * buf_stride floats, one block; NULL when n_bufs == 0 */
};

static int buffer_names(const cn_optim_config *c, const char **names)
{
    int n = 0;
    if (c->kind == CN_OPTIM_SGD) {
        if (c->momentum > 0) names[n++] = "momentum_buffer";
    } else {
        names[n++] = "exp_avg";
        names[n++] = "exp_avg_sq";
        if (c->amsgrad) names[n++] = "max_exp_avg_sq";
    }
    return n;
}

cn_status cn_optim_create(cn_optim **out, const cn_optim_config *cfg, int n_params, const int64_t *sizes,
                          const double *decay_scale, const double *lr_scale)
{
    cn_optim *o = NULL;
    cn_status st = CN_OK;
    *out = NULL;
    if ((st = cn_optim_config_check(cfg)) != CN_OK) return st;
    const char *k = cn_optim_kind_name(cfg->kind);
    if (n_params < 0) return cn_set_error(CN_STATUS_INVALID_ARG, "optimizer %s: n_params=%d is negative", k, n_params);
    if (n_params > 0 && !sizes) return cn_set_error(CN_STATUS_INVALID_ARG, "optimizer %s: sizes is NULL", k);
    uint64_t stride = 0;
    for (int p = 0; p < n_params; p++) {
        if (sizes[p] < 0 || (uint64_t)sizes[p] > ((uint64_t)1 << 60))
            return cn_set_error(CN_STATUS_INVALID_ARG, "optimizer %s: sizes[%d]=%lld is out of range", k, p,
                                (long long)sizes[p]);
        if (decay_scale && !(decay_scale[p] >= 0 && isfinite(decay_scale[p])))
            return cn_set_error(CN_STATUS_INVALID_ARG, "optimizer %s: decay_scale[%d]=%g must be finite and >= 0", k,
                                p, decay_scale[p]);
        if (lr_scale && !(lr_scale[p] >= 0 && isfinite(lr_scale[p])))
            return cn_set_error(CN_STATUS_INVALID_ARG, "optimizer %s: lr_scale[%d]=%g must be finite and >= 0", k, p,
                                lr_scale[p]);
        stride += ((uint64_t)sizes[p] + 15) & ~(uint64_t)15; /* each slot 64-byte aligned */
        if (stride > ((uint64_t)1 << 60))
            return cn_set_error(CN_STATUS_LIMIT, "optimizer %s: parameters total more than 2^60 values", k);
    }

    /* the object and its per-parameter tables in one allocation, the state in another */
    size_t np = (size_t)n_params;
    size_t head = (sizeof(cn_optim) + 63) & ~(size_t)63;
    size_t bytes = head + np * (2 * sizeof(int64_t) + 2 * sizeof(double));
    o = cn_malloc(bytes, "optimizer");
    if (!o) return CN_STATUS_NOMEM;
    memset(o, 0, bytes);
    o->cfg = *cfg;
    o->n_params = n_params;
    o->n_bufs = buffer_names(cfg, o->buf_names);
    o->sizes = (int64_t *)((unsigned char *)o + head);
    o->offsets = o->sizes + np;
    o->decay_scale = (double *)(o->offsets + np);
    o->lr_scale = o->decay_scale + np;
    o->buf_stride = (int64_t)stride;
    int64_t off = 0;
    for (int p = 0; p < n_params; p++) {
        o->sizes[p] = sizes[p];
        o->offsets[p] = off;
        off += (sizes[p] + 15) & ~(int64_t)15;
        o->decay_scale[p] = decay_scale ? decay_scale[p] : 1.0;
        o->lr_scale[p] = lr_scale ? lr_scale[p] : 1.0;
    }
    if (o->n_bufs > 0 && stride > 0) {
        uint64_t state_bytes;
        if ((st = cn_mul_size(stride * (uint64_t)o->n_bufs, sizeof(float), &state_bytes, "optimizer state")) != CN_OK)
            goto done;
        if (state_bytes > SIZE_MAX) {
            st = cn_set_error(CN_STATUS_LIMIT, "optimizer %s: state of %llu bytes does not fit in memory", k,
                              (unsigned long long)state_bytes);
            goto done;
        }
        o->state = cn_calloc((size_t)state_bytes, 1, "optimizer state");
        if (!o->state) {
            st = CN_STATUS_NOMEM;
            goto done;
        }
    }
done:
    if (st != CN_OK) {
        cn_optim_destroy(o);
        return st;
    }
    *out = o;
    return CN_OK;
}

void cn_optim_destroy(cn_optim *o)
{
    if (!o) return;
    cn_free(o->state);
    cn_free(o);
}

const cn_optim_config *cn_optim_get_config(const cn_optim *o) { return &o->cfg; }
int cn_optim_param_count(const cn_optim *o) { return o->n_params; }
uint64_t cn_optim_steps(const cn_optim *o) { return o->steps; }
void cn_optim_set_steps(cn_optim *o, uint64_t steps) { o->steps = steps; }

void cn_optim_reset(cn_optim *o)
{
    o->steps = 0;
    if (o->state) memset(o->state, 0, (size_t)(o->buf_stride * o->n_bufs) * sizeof(float));
}

double cn_optim_default_decay_scale(const cn_param *p) { return p->shape.ndim <= 1 ? 0.0 : 1.0; }

int cn_optim_state_count(const cn_optim *o) { return o->n_params * o->n_bufs; }

cn_status cn_optim_state(const cn_optim *o, int i, cn_optim_state_info *info)
{
    int count = cn_optim_state_count(o);
    if (i < 0 || i >= count)
        return cn_set_error(CN_STATUS_NOT_FOUND, "optimizer %s: state index %d is outside [0, %d)",
                            cn_optim_kind_name(o->cfg.kind), i, count);
    int p = i / o->n_bufs, b = i % o->n_bufs;
    info->name = o->buf_names[b];
    info->param = p;
    info->data = o->state + b * o->buf_stride + o->offsets[p];
    info->n = o->sizes[p];
    return CN_OK;
}

/* ---- the updates ----------------------------------------------------------------------
 * One job = one parameter; cn_parallel_for splits its elements. Every element's update is
 * independent of the others, so the split cannot change a result. */

typedef struct sgd_job {
    float *w, *buf;
    const float *g;
    float wd;         /* coupled L2 coefficient (0 when none or decoupled) */
    float decay_mul;  /* (float)(1 - lr*wd) when decoupled, else 1 */
    float mom, damp1; /* momentum, 1 - dampening */
    float neg_lr;
    int first, nesterov, has_mom, decoupled;
} sgd_job;

static void sgd_range(void *ctx, int64_t begin, int64_t end)
{
    const sgd_job *j = ctx;
    for (int64_t i = begin; i < end; i++) {
        float w = j->w[i];
        float d = j->g[i];
        if (j->wd != 0) d = d + j->wd * w;          /* d_p = d_p.add(param, alpha=weight_decay) */
        if (j->has_mom) {
            float b;
            if (j->first) b = d;                      /* buf = torch.clone(d_p).detach() */
            else b = j->buf[i] * j->mom + j->damp1 * d; /* buf.mul_(momentum).add_(d_p, alpha=1 - dampening) */
            j->buf[i] = b;
            d = j->nesterov ? d + j->mom * b : b;     /* d_p = d_p.add(buf, alpha=momentum) if nesterov else buf */
        }
        if (j->decoupled) w = w * j->decay_mul;       /* param.mul_(1 - lr * weight_decay) (SGDW, as AdamW) */
        j->w[i] = w + j->neg_lr * d;                  /* param.add_(d_p, alpha=-lr) */
    }
}

typedef struct adam_job {
    float *w, *m, *v, *vmax;
    const float *g;
    float wd;         /* Adam's coupled L2 coefficient, else 0 */
    float decay_mul;  /* AdamW: (float)(1 - lr*wd), else 1 */
    float b1, omb1, b2, omb2;
    float bc2_sqrt, eps, neg_step;
    int decoupled;
} adam_job;

static void adam_range(void *ctx, int64_t begin, int64_t end)
{
    const adam_job *j = ctx;
    for (int64_t i = begin; i < end; i++) {
        float w = j->w[i], g = j->g[i];
        if (j->decoupled) w = w * j->decay_mul;       /* param.mul_(1 - lr * weight_decay)        (AdamW) */
        if (j->wd != 0) g = g + j->wd * w;            /* grad = grad.add(param, alpha=weight_decay) (Adam) */
        float m = j->m[i] * j->b1 + j->omb1 * g;      /* exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1) */
        float v = j->v[i] * j->b2 + j->omb2 * g * g;  /* exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2) */
        j->m[i] = m;
        j->v[i] = v;
        if (j->vmax) {                                /* torch.maximum(max_exp_avg_sqs[i], exp_avg_sq, out=...) */
            float vm = j->vmax[i];
            vm = (v > vm || isnan(v)) ? v : vm;
            j->vmax[i] = vm;
            v = vm;
        }
        float denom = sqrtf(v) / j->bc2_sqrt + j->eps; /* (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(eps) */
        j->w[i] = w + j->neg_step * (m / denom);       /* param.addcdiv_(exp_avg, denom, value=-step_size) */
    }
}

enum { GRAIN = 1 << 15 };

cn_status cn_optim_step(cn_optim *o, float *const *values, const float *const *grads, double lr)
{
    const cn_optim_config *c = &o->cfg;
    if (!(lr >= 0 && isfinite(lr)))
        return cn_set_error(CN_STATUS_INVALID_ARG, "optimizer %s: step %llu: lr=%g must be finite and >= 0",
                            cn_optim_kind_name(c->kind), (unsigned long long)o->steps + 1, lr);
    if (o->n_params > 0 && (!values || !grads))
        return cn_set_error(CN_STATUS_INVALID_ARG, "optimizer %s: values or grads is NULL",
                            cn_optim_kind_name(c->kind));
    for (int p = 0; p < o->n_params; p++)
        if (o->sizes[p] > 0 && (!values[p] || !grads[p]))
            return cn_set_error(CN_STATUS_INVALID_ARG, "optimizer %s: parameter %d has a NULL %s",
                                cn_optim_kind_name(c->kind), p, values[p] ? "gradient" : "value");

    if (c->kind == CN_OPTIM_SGD) {
        for (int p = 0; p < o->n_params; p++) {
            if (o->sizes[p] == 0) continue;
            double plr = lr * o->lr_scale[p], wd = c->weight_decay * o->decay_scale[p];
            sgd_job j = {
                .w = values[p], .g = grads[p],
                .buf = o->n_bufs ? o->state + o->offsets[p] : NULL,
                .wd = c->decoupled_wd ? 0.0f : (float)wd,
                .decay_mul = (float)(1 - plr * wd),
                .mom = (float)c->momentum, .damp1 = (float)(1 - c->dampening),
                .neg_lr = (float)-plr,
                .first = o->steps == 0, .nesterov = c->nesterov, .has_mom = c->momentum > 0,
                .decoupled = c->decoupled_wd && wd != 0,
            };
            cn_parallel_for(o->sizes[p], GRAIN, sgd_range, &j);
        }
    } else {
        /* step = step_t.item(); bias_correction1 = 1 - beta1 ** step; ... (in double) */
        double t = (double)(o->steps + 1);
        double bc1 = 1 - pow(c->beta1, t), bc2 = 1 - pow(c->beta2, t);
        int decoupled = c->kind == CN_OPTIM_ADAMW;
        for (int p = 0; p < o->n_params; p++) {
            if (o->sizes[p] == 0) continue;
            double plr = lr * o->lr_scale[p], wd = c->weight_decay * o->decay_scale[p];
            float *base = o->state + o->offsets[p];
            adam_job j = {
                .w = values[p], .g = grads[p],
                .m = base, .v = base + o->buf_stride, .vmax = c->amsgrad ? base + 2 * o->buf_stride : NULL,
                .wd = decoupled ? 0.0f : (float)wd,
                .decay_mul = (float)(1 - plr * wd),
                .b1 = (float)c->beta1, .omb1 = (float)(1 - c->beta1),
                .b2 = (float)c->beta2, .omb2 = (float)(1 - c->beta2),
                .bc2_sqrt = (float)sqrt(bc2), .eps = (float)c->eps,
                .neg_step = (float)-(plr / bc1), /* step_size = lr / bias_correction1 */
                .decoupled = decoupled && wd != 0,
            };
            cn_parallel_for(o->sizes[p], GRAIN, adam_range, &j);
        }
    }
    o->steps++;
    return CN_OK;
}

/* ---- clipping ------------------------------------------------------------------------ */

static cn_status check_grads(float *const *grads, const int64_t *sizes, int n, const char *what)
{
    if (n < 0) return cn_set_error(CN_STATUS_INVALID_ARG, "%s: n=%d is negative", what, n);
    if (n > 0 && (!grads || !sizes)) return cn_set_error(CN_STATUS_INVALID_ARG, "%s: grads or sizes is NULL", what);
    for (int p = 0; p < n; p++) {
        if (sizes[p] < 0)
            return cn_set_error(CN_STATUS_INVALID_ARG, "%s: sizes[%d]=%lld is negative", what, p, (long long)sizes[p]);
        if (sizes[p] > 0 && !grads[p]) return cn_set_error(CN_STATUS_INVALID_ARG, "%s: grads[%d] is NULL", what, p);
    }
    return CN_OK;
}

cn_status cn_clip_grad_norm(float *const *grads, const int64_t *sizes, int n, double max_norm, double *norm)
{
    cn_status st = check_grads(grads, sizes, n, "clip_grad_norm");
    if (st != CN_OK) return st;
    if (!(max_norm > 0 && isfinite(max_norm)))
        return cn_set_error(CN_STATUS_INVALID_ARG, "clip_grad_norm: max_norm=%g must be finite and > 0", max_norm);
    /* total_norm = torch.norm(torch.stack([torch.norm(g, 2) for g in grads]), 2), in double */
    double sum = 0;
    for (int p = 0; p < n; p++)
        for (int64_t i = 0; i < sizes[p]; i++) sum += (double)grads[p][i] * grads[p][i];
    double total = sqrt(sum);
    if (norm) *norm = total;
    if (!isfinite(total)) return CN_OK;
    double coef = max_norm / (total + 1e-6); /* clip_coef = max_norm / (total_norm + 1e-6) */
    if (coef < 1) {                          /* torch.clamp(clip_coef, max=1.0): 1 leaves g unchanged */
        float cf = (float)coef;
        for (int p = 0; p < n; p++)
            for (int64_t i = 0; i < sizes[p]; i++) grads[p][i] *= cf; /* g.mul_(clip_coef_clamped) */
    }
    return CN_OK;
}

cn_status cn_clip_grad_value(float *const *grads, const int64_t *sizes, int n, double clip)
{
    cn_status st = check_grads(grads, sizes, n, "clip_grad_value");
    if (st != CN_OK) return st;
    if (!(clip >= 0 && isfinite(clip)))
        return cn_set_error(CN_STATUS_INVALID_ARG, "clip_grad_value: clip=%g must be finite and >= 0", clip);
    float hi = (float)clip, lo = -hi;
    for (int p = 0; p < n; p++)
        for (int64_t i = 0; i < sizes[p]; i++) {
            float g = grads[p][i]; /* p.grad.clamp_(min=-clip_value, max=clip_value); NaN stays NaN */
            if (g > hi) grads[p][i] = hi;
            else if (g < lo) grads[p][i] = lo;
        }
    return CN_OK;
}
