/* conv_common.c — geometry and parameter specs shared by the convolution-family layers. */
#include <stdio.h>

#include "conv_common.h"

static const cn_init_kind init_kinds[] = {CN_INIT_HE_NORMAL, CN_INIT_HE_UNIFORM, CN_INIT_XAVIER_NORMAL, CN_INIT_XAVIER_UNIFORM};

int64_t cn_prod(const int64_t *v, int ndim)
{
    int64_t p = 1;
    for (int i = 0; i < ndim; i++) p *= v[i];
    return p;
}

cn_status cn_convlike_check(const cn_layer *l, const cn_convlike_cfg *c)
{
    const char *t = l->ops->name;
    if (c->filters < 1) return cn_set_error(CN_STATUS_INVALID_ARG, "%s '%s': filters = %lld; must be >= 1", t, l->name, (long long)c->filters);
    if (c->groups < 1) return cn_set_error(CN_STATUS_INVALID_ARG, "%s '%s': groups = %lld; must be >= 1", t, l->name, (long long)c->groups);
    if (c->dims < 0 || c->dims > 3)
        return cn_set_error(CN_STATUS_INVALID_ARG, "%s '%s': dims = %d; must be 0 (from the input), 1, 2 or 3", t, l->name, c->dims);
    const cn_ints *lists[3] = {&c->kernel, &c->stride, &c->dilation};
    const char *names[3] = {"kernel", "stride", "dilation"};
    for (int k = 0; k < 3; k++)
        if (lists[k]->n > 3)
            return cn_set_error(CN_STATUS_INVALID_ARG, "%s '%s': %s has %d values; at most 3 spatial axes", t, l->name, names[k],
                                lists[k]->n);
    return CN_OK;
}

cn_status cn_convlike_geom(const cn_layer *l, const cn_convlike_cfg *c, int kind, cn_conv_geom *g)
{
    const char *t = l->ops->name;
    const cn_shape *in = &l->in[0];
    int ndim = in->ndim - 2;
    if (ndim < 1 || ndim > 3)
        return cn_set_error(CN_STATUS_SHAPE, "%s '%s': input %s has rank %d; expected NCW, NCHW or NCDHW (rank 3 to 5)", t, l->name,
                            cn_shape_text(in), in->ndim);
    if (c->dims && c->dims != ndim)
        return cn_set_error(CN_STATUS_SHAPE, "%s '%s': dims = %d but the input %s has %d spatial dimension%s", t, l->name, c->dims,
                            cn_shape_text(in), ndim, ndim == 1 ? "" : "s");
    cn_status st;
    if ((st = cn_ints_check(&c->kernel, ndim, l->name, "kernel")) != CN_OK) return st;
    if ((st = cn_ints_check(&c->stride, ndim, l->name, "stride")) != CN_OK) return st;
    if ((st = cn_ints_check(&c->dilation, ndim, l->name, "dilation")) != CN_OK) return st;
    cn_conv_geom_init(g, ndim);
    g->n = in->dim[0];
    g->ic = in->dim[1];
    g->oc = c->filters;
    g->groups = c->groups;
    int mode;
    if ((st = cn_padding_resolve(&c->padding, ndim, l->name, &mode, g->pad_begin, g->pad_end)) != CN_OK) return st;
    g->auto_pad = mode == CN_PADSPEC_SAME_UPPER ? CN_AUTO_PAD_SAME_UPPER
                : mode == CN_PADSPEC_SAME_LOWER ? CN_AUTO_PAD_SAME_LOWER
                : mode == CN_PADSPEC_VALID      ? CN_AUTO_PAD_VALID
                                                : CN_AUTO_PAD_EXPLICIT;
    for (int i = 0; i < ndim; i++) {
        g->in[i] = in->dim[2 + i];
        g->k[i] = cn_ints_axis(&c->kernel, ndim, i, 1);
        g->stride[i] = cn_ints_axis(&c->stride, ndim, i, 1);
        g->dilation[i] = cn_ints_axis(&c->dilation, ndim, i, 1);
    }
    if ((st = cn_ints_check(&c->output_padding, ndim, l->name, "output_padding")) != CN_OK) return st;
    if ((st = cn_ints_check(&c->output_shape, ndim, l->name, "output_shape")) != CN_OK) return st;
    if ((st = cn_ints_check(&c->tile, ndim, l->name, "tile")) != CN_OK) return st;
    for (int i = 0; i < ndim; i++) {
        g->output_padding[i] = cn_ints_axis(&c->output_padding, ndim, i, 0);
        g->output_shape[i] = cn_ints_axis(&c->output_shape, ndim, i, 0);
        g->tile[i] = cn_ints_axis(&c->tile, ndim, i, 1);
    }
    g->pad_mode = (cn_pad_mode)c->pad_mode;
    g->flip = c->flip;
    char label[160];
    snprintf(label, sizeof label, "%s", l->name);
    switch (kind) {
    case 1: g->transposed = 1; return cn_conv_geom_resolve(g, label);
    case 2: return cn_local_geom_resolve(g, label);
    case 3: return cn_tiled_geom_resolve(g, label);
    default: return cn_conv_geom_resolve(g, label);
    }
}

cn_shape cn_convlike_out_shape(const cn_conv_geom *g)
{
    cn_shape s = {.ndim = g->ndim + 2};
    s.dim[0] = g->n;
    s.dim[1] = g->oc;
    for (int i = 0; i < g->ndim; i++) s.dim[2 + i] = g->out[i];
    return s;
}

cn_param_spec cn_convlike_weight(const cn_convlike_cfg *c, cn_shape shape, double fan_in, double fan_out)
{
    cn_param_spec p = {"weight", shape, init_kinds[c->init], fan_in, fan_out, 0, 1};
    return p;
}

cn_param_spec cn_convlike_bias(cn_shape shape)
{
    cn_param_spec p = {"bias", shape, CN_INIT_ZERO, 0, 0, 0, 1};
    return p;
}
