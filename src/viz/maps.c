/* maps.c — pictures of a model's insides: a conv layer's kernels, a layer's feature maps. */
#include <stdio.h>
#include <string.h>

#include "convnet/viz.h"

cn_status cn_viz_filters(cn_image *out, const cn_model *m, const char *layer, int max_filters, int max_inputs)
{
    int li_index;
    cn_status st = cn_viz_find_layer(m, layer, &li_index);
    if (st != CN_OK) return st;
    cn_layer_info li;
    cn_model_layer(m, li_index, &li);
    char want[160];
    snprintf(want, sizeof want, "%s.weight", layer);
    cn_param p;
    int found = 0;
    char names[512];
    size_t u = 0;
    names[0] = '\0';
    for (int i = 0, n = cn_model_param_count(m); i < n && !found; i++) {
        if ((st = cn_model_param(m, i, &p)) != CN_OK) return st;
        if (!strcmp(p.name, want))
            found = 1;
        else if (!strncmp(p.name, layer, strlen(layer)) && p.name[strlen(layer)] == '.' && u < sizeof names - 1)
            u += (size_t)snprintf(names + u, sizeof names - u, "%s%s", u ? ", " : "", p.name);
    }
    if (!found)
        return cn_set_error(CN_STATUS_INVALID_ARG, "layer '%s' (%s) has no '%s' to show%s%s%s", layer, li.type, want,
                            u ? " (it has " : "", names, u ? ")" : "");
    char s[96];
    cn_shape_str(&p.shape, s, sizeof s);
    if (p.shape.ndim != 3 && p.shape.ndim != 4)
        return cn_set_error(CN_STATUS_INVALID_ARG,
                            "layer '%s' (%s): weight %s is not a 1D or 2D convolution kernel (OC x IC x [KH x] KW)",
                            layer, li.type, s);
    int64_t oc = p.shape.dim[0], ic = p.shape.dim[1];
    int64_t kh = p.shape.ndim == 4 ? p.shape.dim[2] : 1, kw = p.shape.dim[p.shape.ndim - 1];
    cn_grid_config g = cn_grid_defaults();
    if (max_filters > 0 && oc > max_filters) oc = max_filters;
    if (oc > 4096) oc = 4096;
    if (p.shape.ndim == 4 && ic == 3) {
        g.scale = CN_GRID_SCALE_TILE; /* colour: each filter's RGB stretched to its own range */
        return cn_grid(out, p.value, (int)oc, 3, (int)kh, (int)kw, &g);
    }
    int show = max_inputs > 0 ? max_inputs : 8;
    if (show > ic) show = (int)ic;
    float *tiles = cn_malloc((size_t)(oc * show * kh * kw) * sizeof(float), "filter tiles");
    if (!tiles) return CN_STATUS_NOMEM;
    for (int64_t o = 0; o < oc; o++)
        for (int64_t c = 0; c < show; c++)
            memcpy(tiles + (o * show + c) * kh * kw, p.value + (o * ic + c) * kh * kw,
                   (size_t)(kh * kw) * sizeof(float));
    g.cols = show > 1 ? show : 0;      /* one input channel: a square-ish grid of filters */
    g.scale = CN_GRID_SCALE_SYMMETRIC; /* each tile -m..m, m its largest |w|: white = 0 */
    g.cmap = CN_CMAP_DIVERGING;
    g.bg[0] = g.bg[1] = g.bg[2] = 160;
    if (kh == 1) g.zoom = kw >= 24 ? 2 : 48 / (int)kw; /* 1D: strips */
    st = cn_grid(out, tiles, (int)(oc * show), 1, (int)kh, (int)kw, &g);
    cn_free(tiles);
    return st;
}

cn_status cn_viz_activations(cn_image *out, cn_model *m, const float *x, const char *layer, cn_colormap cm)
{
    int idx;
    cn_status st = cn_viz_find_layer(m, layer, &idx);
    if (st != CN_OK) return st;
    if ((st = cn_model_forward(m, x, 0)) != CN_OK) return st;
    const float *y;
    cn_shape s;
    if ((st = cn_model_layer_output(m, layer, &y, &s)) != CN_OK) return st;
    if (s.dim[0] != 1) return cn_set_error(CN_STATUS_INVALID_STATE, "activations: plan the model for batch 1");
    cn_grid_config g = cn_grid_defaults();
    g.cmap = cm;
    g.scale = CN_GRID_SCALE_TILE;
    int64_t C = s.ndim > 1 ? s.dim[1] : 1;
    switch (s.ndim) {
    case 4: return cn_grid(out, y, (int)(C > 4096 ? 4096 : C), 1, (int)s.dim[2], (int)s.dim[3], &g);
    case 3: /* 1D: channels as rows of one map */
        g.zoom = (int)(s.dim[2] >= 256 ? 2 : 512 / s.dim[2]);
        if (g.zoom > 16) g.zoom = 16;
        return cn_grid(out, y, 1, 1, (int)(C > 4096 ? 4096 : C), (int)s.dim[2], &g);
    case 2: g.zoom = C >= 64 ? 8 : 24; return cn_grid(out, y, 1, 1, 1, (int)(C > 4096 ? 4096 : C), &g);
    case 5: {
        int64_t D = s.dim[2], HW = s.dim[3] * s.dim[4];
        float *mid = cn_malloc((size_t)(C * HW) * sizeof(float), "activation slices");
        if (!mid) return CN_STATUS_NOMEM;
        for (int64_t c = 0; c < C; c++) memcpy(mid + c * HW, y + (c * D + D / 2) * HW, (size_t)HW * sizeof(float));
        st = cn_grid(out, mid, (int)(C > 4096 ? 4096 : C), 1, (int)s.dim[3], (int)s.dim[4], &g);
        cn_free(mid);
        return st;
    }
    default: return cn_set_error(CN_STATUS_UNSUPPORTED, "activations: layer '%s' has a %d-dim output", layer, s.ndim);
    }
}
