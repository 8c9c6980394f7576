/* layercheck.c — see layercheck.h. */
#include "layercheck.h"

#include <stdlib.h>
#include <string.h>

#include "convnet/model.h"
#include "gradcheck.h"
#include "test.h"

typedef struct {
    cn_model *m;
    const float *x;
    const double *r;
    int64_t ny;
    const float *target;
    uint64_t step;
} ctx_t;

static double loss(void *p)
{
    ctx_t *c = p;
    cn_model_set_step(c->m, c->step); /* the same dropout masks as the analytic pass */
    if (c->target) cn_model_set_target(c->m, c->target);
    if (cn_model_forward(c->m, c->x, 1) != CN_OK) return NAN;
    float loss_value = (float)cn_model_loss(c->m);
    cn_shape s;
    const float *y = c->target ? &loss_value : cn_model_output(c->m, &s); /* the loss, or the prediction */
    double l = 0;
    for (int64_t i = 0; i < c->ny; i++) l += (double)y[i] * c->r[i];
    return l;
}

int cn_layercheck(const char *text, int64_t batch, uint64_t seed, const cn_layercheck_opts *o, const char *label)
{
    cn_layercheck_opts d = {.eps = 1e-2, .tol = 1e-3, .floor = 1e-3, .input_lo = -1, .input_hi = 1, .max_checks = 200};
    if (o) {
        d = *o;
        if (!d.eps) d.eps = 1e-2;
        if (!d.tol) d.tol = 1e-3;
        if (!d.floor) d.floor = 1e-3;
        if (!d.max_checks) d.max_checks = 200;
        if (d.input_lo == 0 && d.input_hi == 0) d.input_lo = -1, d.input_hi = 1;
    }
    int before = cn_test_failures;
    cn_model *m = NULL;
    float *x = NULL, *dy = NULL, *target = NULL;
    double *r = NULL;
    if (cn_model_parse(&m, text, label) != CN_OK) {
        cn_test_fail(__FILE__, __LINE__, "%s: parse: %s", label, cn_last_error());
        return 0;
    }
    if (cn_model_plan(m, batch, CN_PLAN_TRAIN) != CN_OK || cn_model_init(m, seed) != CN_OK) {
        cn_test_fail(__FILE__, __LINE__, "%s: plan: %s", label, cn_last_error());
        goto done;
    }
    cn_rng rng;
    cn_rng_init(&rng, seed, CN_STREAM_USER + 7);
    /* give zero-initialized parameters (biases) small random values */
    for (int i = 0; i < cn_model_param_count(m); i++) {
        cn_param p;
        cn_model_param(m, i, &p);
        int64_t n = cn_shape_numel(&p.shape);
        int all_zero = 1;
        for (int64_t k = 0; k < n && all_zero; k++) all_zero = p.value[k] == 0;
        if (all_zero) cn_rng_fill_uniform(&rng, p.value, (size_t)n, -0.5f, 0.5f);
    }
    /* input: the first layer's shape, found from its output */
    cn_layer_info li;
    cn_model_layer(m, 0, &li);
    int64_t nx = cn_shape_numel(&li.out);
    x = malloc((size_t)nx * sizeof *x);
    if (d.distinct) {
        for (int64_t i = 0; i < nx; i++) x[i] = d.input_lo + (d.input_hi - d.input_lo) * ((float)i + 0.5f) / (float)nx;
        for (int64_t i = nx - 1; i > 0; i--) { /* Fisher-Yates */
            int64_t j = (int64_t)cn_rng_below(&rng, (uint32_t)(i + 1));
            float t = x[i];
            x[i] = x[j], x[j] = t;
        }
    } else {
        cn_rng_fill_uniform(&rng, x, (size_t)nx, d.input_lo, d.input_hi);
    }
    if (d.targets) {
        /* the loss layer's input is the layer before it: its shape gives K */
        cn_layer_info pred;
        cn_model_layer(m, cn_model_layer_count(m) - 2, &pred);
        int64_t nt = d.target_count ? d.target_count : (d.targets == 1 ? pred.out.dim[0] : cn_shape_numel(&pred.out));
        int64_t k = pred.out.ndim > 1 ? pred.out.dim[1] : 2;
        target = malloc((size_t)nt * sizeof *target);
        for (int64_t i = 0; i < nt; i++)
            target[i] = d.targets == 1 ? (float)cn_rng_below(&rng, (uint32_t)k)
                      : d.targets == 2 ? (float)cn_rng_below(&rng, 2)
                                       : cn_rng_uniform(&rng) * 2 - 1;
        cn_model_set_target(m, target);
    }
    uint64_t step0 = cn_model_step(m);
    cn_shape ys;
    if (cn_model_forward(m, x, 1) != CN_OK) {
        cn_test_fail(__FILE__, __LINE__, "%s: forward: %s", label, cn_last_error());
        goto done;
    }
    cn_model_output(m, &ys);
    int64_t ny = target ? 1 : cn_shape_numel(&ys); /* with a loss layer the output is the scalar loss */
    r = malloc((size_t)ny * sizeof *r);
    dy = malloc((size_t)ny * sizeof *dy);
    for (int64_t i = 0; i < ny; i++) {
        dy[i] = cn_rng_uniform(&rng) * 2 - 1;
        r[i] = dy[i];
    }
    cn_model_zero_grad(m);
    if (cn_model_backward(m, dy) != CN_OK) {
        cn_test_fail(__FILE__, __LINE__, "%s: backward: %s", label, cn_last_error());
        goto done;
    }
    /* copy the analytic gradients: the loss evaluations below run forward again */
    ctx_t c = {m, x, r, ny, target, step0};
    float *gx = malloc((size_t)nx * sizeof *gx);
    memcpy(gx, cn_model_input_grad(m), (size_t)nx * sizeof *gx);
    char what[256];
    snprintf(what, sizeof what, "%s: input", label);
    cn_gc_report rep = cn_gradcheck_strided(loss, &c, x, gx, nx, nx / d.max_checks + 1, d.eps, d.floor);
    CHECK_GRAD(rep, d.tol, what);
    free(gx);
    for (int i = 0; i < cn_model_param_count(m); i++) {
        cn_param p;
        cn_model_param(m, i, &p);
        if (!p.trainable) continue;
        int64_t n = cn_shape_numel(&p.shape);
        float *g = malloc((size_t)n * sizeof *g);
        memcpy(g, p.grad, (size_t)n * sizeof *g);
        snprintf(what, sizeof what, "%s: %s", label, p.name);
        rep = cn_gradcheck_strided(loss, &c, p.value, g, n, n / d.max_checks + 1, d.eps, d.floor);
        CHECK_GRAD(rep, d.tol, what);
        free(g);
    }
done:
    free(x);
    free(target);
    free(dy);
    free(r);
    cn_model_destroy(m);
    return cn_test_failures == before;
}
