/* init.c — parameter initialization as each layer declares it (He/Kaiming, Xavier/Glorot,
 * constants). Parameter p draws from stream CN_STREAM_INIT starting at word p * 2^40, so
 * adding layers at the end never changes the initial values of the earlier ones. */
#include <math.h>

#include "model_internal.h"

cn_status cn_model_init(cn_model *m, uint64_t seed)
{
    if (!m || !m->params) return cn_set_error(CN_STATUS_INVALID_STATE, "init: the model is not planned");
    m->seed = seed;
    m->step = 0;
    for (int p = 0; p < m->n_params; p++) {
        const cn_param_entry *e = &m->params[p];
        const cn_param_spec *s = &m->nodes[e->node].layer.plan.params[e->slot];
        float *v = m->param_block + e->offset;
        size_t n = (size_t)cn_shape_numel(&s->shape);
        cn_rng r;
        cn_rng_init(&r, seed, CN_STREAM_INIT);
        cn_rng_seek(&r, (uint64_t)p << 40);
        double fan_in = s->fan_in > 0 ? s->fan_in : 1, fan_out = s->fan_out > 0 ? s->fan_out : 1;
        switch (s->init) {
        case CN_INIT_ZERO:
            for (size_t i = 0; i < n; i++) v[i] = 0;
            break;
        case CN_INIT_ONE:
            for (size_t i = 0; i < n; i++) v[i] = 1;
            break;
        case CN_INIT_CONST:
            for (size_t i = 0; i < n; i++) v[i] = s->init_value;
            break;
        case CN_INIT_HE_NORMAL: cn_rng_fill_normal(&r, v, n, 0, (float)sqrt(2.0 / fan_in)); break;
        case CN_INIT_HE_UNIFORM: {
            float b = (float)sqrt(6.0 / fan_in);
            cn_rng_fill_uniform(&r, v, n, -b, b);
            break;
        }
        case CN_INIT_XAVIER_NORMAL: cn_rng_fill_normal(&r, v, n, 0, (float)sqrt(2.0 / (fan_in + fan_out))); break;
        case CN_INIT_XAVIER_UNIFORM: {
            float b = (float)sqrt(6.0 / (fan_in + fan_out));
            cn_rng_fill_uniform(&r, v, n, -b, b);
            break;
        }
        }
    }
    return CN_OK;
}
