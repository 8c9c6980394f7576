/* weights.c — model weights in safetensors files, built only on the public model API
 * (cn_model_param*, cn_model_layer*, cn_model_to_text, cn_model_parse, cn_model_plan).
 * Loading checks everything first and writes parameters only when all of them fit, so a
 * failed load leaves the model as it was. */
#include <stdio.h>
#include <string.h>

#include "convnet/safetensors.h"

static int is_planned(const cn_model *m) { return cn_model_output(m, NULL) != NULL; }

/* The layer a tensor name belongs to: the longest layer name L such that the name starts
 * with "L." (layer names may themselves contain dots: "blk" and "blk.conv"). -1 if none. */
static int layer_of(const cn_model *m, const char *name)
{
    int best = -1;
    size_t best_len = 0;
    for (int i = 0; i < cn_model_layer_count(m); i++) {
        cn_layer_info li;
        if (cn_model_layer(m, i, &li) != CN_OK) continue;
        size_t l = strlen(li.name);
        if (l >= best_len && !strncmp(name, li.name, l) && name[l] == '.') best = i, best_len = l;
    }
    return best;
}

static void st_shape_str(const cn_st_tensor *t, char *buf, size_t cap)
{
    size_t n = 0;
    buf[0] = '\0';
    if (t->ndim == 0) snprintf(buf, cap, "[] (scalar)");
    for (int i = 0; i < t->ndim && n < cap; i++) n += (size_t)snprintf(buf + n, cap - n, "%s%lld", i ? "x" : "", (long long)t->shape[i]);
}

cn_status cn_model_save_weights(const cn_model *m, const char *path, const char *const *meta_keys,
                                const char *const *meta_values, int n_meta)
{
    if (!m || !path) return cn_set_error(CN_STATUS_INVALID_ARG, "save_weights: NULL model or path");
    if (!is_planned(m))
        return cn_set_error(CN_STATUS_INVALID_STATE,
                            "%s: cannot save weights: the model is not planned (its parameters exist after cn_model_plan)", path);
    if (n_meta < 0 || (n_meta && (!meta_keys || !meta_values)))
        return cn_set_error(CN_STATUS_INVALID_ARG, "%s: bad metadata list (n_meta=%d)", path, n_meta);
    for (int i = 0; i < n_meta; i++)
        if (meta_keys[i] && !strcmp(meta_keys[i], CN_WEIGHTS_MODEL_KEY))
            return cn_set_error(CN_STATUS_INVALID_ARG, "%s: metadata key '%s' is reserved for the model text", path,
                                CN_WEIGHTS_MODEL_KEY);
    int n = cn_model_param_count(m);
    cn_status st = CN_OK;
    char *text = NULL;
    cn_st_tensor *ts = cn_calloc((size_t)n + 1, sizeof *ts, path);
    const char **keys = cn_calloc((size_t)n_meta + 1, sizeof *keys, path);
    const char **vals = cn_calloc((size_t)n_meta + 1, sizeof *vals, path);
    if (!ts || !keys || !vals) {
        st = CN_STATUS_NOMEM;
        goto done;
    }
    for (int i = 0; i < n; i++) {
        cn_param p;
        if ((st = cn_model_param(m, i, &p)) != CN_OK) goto done;
        cn_st_tensor *t = &ts[i];
        t->name = p.name; /* owned by the model, alive for this call */
        t->dtype = CN_ST_DTYPE_F32;
        t->ndim = p.shape.ndim;
        for (int d = 0; d < p.shape.ndim; d++) t->shape[d] = p.shape.dim[d];
        t->numel = cn_shape_numel(&p.shape);
        t->data = p.value;
        t->nbytes = (size_t)t->numel * sizeof(float);
    }
    if ((st = cn_model_to_text(m, &text)) != CN_OK) goto done;
    keys[0] = CN_WEIGHTS_MODEL_KEY;
    vals[0] = text;
    for (int i = 0; i < n_meta; i++) keys[i + 1] = meta_keys[i], vals[i + 1] = meta_values[i];
    st = cn_safetensors_save(path, ts, n, keys, vals, n_meta + 1);
done:
    cn_free(text);
    cn_free(ts);
    cn_free(keys);
    cn_free(vals);
    return st;
}

cn_status cn_model_load_weights_from(cn_model *m, const cn_safetensors *f, const char *const *layers, int n_layers,
                                     int flags)
{
    if (!m || !f) return cn_set_error(CN_STATUS_INVALID_ARG, "load_weights: NULL model or file");
    const char *fname = cn_safetensors_name(f);
    if (!is_planned(m))
        return cn_set_error(CN_STATUS_INVALID_STATE, "%s: cannot load weights: the model is not planned (call cn_model_plan first)",
                            fname);
    if (flags & ~CN_WEIGHTS_ALLOW_EXTRA) return cn_set_error(CN_STATUS_INVALID_ARG, "%s: unknown load flags 0x%x", fname, flags);
    if (n_layers < 0 || (n_layers && !layers))
        return cn_set_error(CN_STATUS_INVALID_ARG, "%s: bad layer list (n_layers=%d)", fname, n_layers);
    int nl = cn_model_layer_count(m), np = cn_model_param_count(m);
    cn_status st = CN_OK;
    char *sel = cn_calloc((size_t)nl + 1, 1, fname);
    cn_param *ps = cn_calloc((size_t)np + 1, sizeof *ps, fname);
    cn_st_tensor *src = cn_calloc((size_t)np + 1, sizeof *src, fname);
    char *use = cn_calloc((size_t)np + 1, 1, fname);
    if (!sel || !ps || !src || !use) {
        st = CN_STATUS_NOMEM;
        goto done;
    }
    /* which layers */
    int all = n_layers == 0;
    for (int k = 0; k < n_layers; k++) {
        int found = -1;
        for (int i = 0; i < nl && found < 0; i++) {
            cn_layer_info li;
            if (cn_model_layer(m, i, &li) == CN_OK && layers[k] && !strcmp(li.name, layers[k])) found = i;
        }
        if (found < 0) {
            st = cn_set_error(CN_STATUS_NOT_FOUND, "%s: no layer named '%.200s' in the model", fname, layers[k] ? layers[k] : "(null)");
            goto done;
        }
        sel[found] = 1;
    }
    /* every selected parameter: present, float, same shape */
    for (int i = 0; i < np; i++) {
        if ((st = cn_model_param(m, i, &ps[i])) != CN_OK) goto done;
        int l = layer_of(m, ps[i].name);
        if (!all && (l < 0 || !sel[l])) continue;
        char want[96], got[160];
        cn_shape_str(&ps[i].shape, want, sizeof want);
        cn_st_tensor t;
        if (cn_safetensors_find(f, ps[i].name, &t) != CN_OK) {
            st = cn_set_error(CN_STATUS_NOT_FOUND, "%s: model parameter '%s' (shape %s) is not in the file", fname, ps[i].name, want);
            goto done;
        }
        if (!cn_st_dtype_is_float(t.dtype)) {
            st = cn_set_error(CN_STATUS_UNSUPPORTED,
                              "%s: tensor '%s': file has dtype %s, model expects a float dtype (F32, F64, F16, BF16, F8_E4M3, "
                              "F8_E5M2); integer and bool tensors are not loaded as weights",
                              fname, ps[i].name, cn_st_dtype_name(t.dtype));
            goto done;
        }
        int same = t.ndim == ps[i].shape.ndim;
        for (int d = 0; same && d < t.ndim; d++) same = t.shape[d] == ps[i].shape.dim[d];
        if (!same) {
            st_shape_str(&t, got, sizeof got);
            st = cn_set_error(CN_STATUS_SHAPE, "%s: tensor '%s': file has shape %s, model expects %s", fname, ps[i].name, got, want);
            goto done;
        }
        src[i] = t;
        use[i] = 1;
    }
    /* every file tensor in scope must be one of those parameters */
    if (!(flags & CN_WEIGHTS_ALLOW_EXTRA))
        for (int j = 0; j < cn_safetensors_count(f); j++) {
            cn_st_tensor t;
            if ((st = cn_safetensors_get(f, j, &t)) != CN_OK) goto done;
            if (!all) {
                int l = layer_of(m, t.name);
                if (l < 0 || !sel[l]) continue;
            }
            int match = 0;
            for (int i = 0; i < np && !match; i++) match = use[i] && !strcmp(ps[i].name, t.name);
            if (!match) {
                char got[160];
                st_shape_str(&t, got, sizeof got);
                st = cn_set_error(CN_STATUS_NOT_FOUND,
                                  "%s: tensor '%.200s' (%s, shape %s) is not a parameter of the model; pass "
                                  "CN_WEIGHTS_ALLOW_EXTRA to ignore it",
                                  fname, t.name, cn_st_dtype_name(t.dtype), got);
                goto done;
            }
        }
    /* all checked: copy */
    for (int i = 0; i < np; i++)
        if (use[i] && (st = cn_safetensors_to_f32(&src[i], ps[i].value)) != CN_OK) goto done;
done:
    cn_free(sel);
    cn_free(ps);
    cn_free(src);
    cn_free(use);
    return st;
}

cn_status cn_model_load_weights_layers(cn_model *m, const char *path, const char *const *layers, int n_layers, int flags)
{
    if (!path) return cn_set_error(CN_STATUS_INVALID_ARG, "load_weights: path is NULL");
    if (!m) return cn_set_error(CN_STATUS_INVALID_ARG, "%s: load_weights: model is NULL", path);
    if (!is_planned(m)) /* before reading a possibly large file */
        return cn_set_error(CN_STATUS_INVALID_STATE, "%s: cannot load weights: the model is not planned (call cn_model_plan first)",
                            path);
    cn_safetensors *f;
    cn_status st = cn_safetensors_load(&f, path);
    if (st != CN_OK) return st;
    st = cn_model_load_weights_from(m, f, layers, n_layers, flags);
    cn_safetensors_destroy(f);
    return st;
}

cn_status cn_model_load_weights(cn_model *m, const char *path, int flags)
{
    return cn_model_load_weights_layers(m, path, NULL, 0, flags);
}

static cn_status model_from(cn_model **out, const cn_safetensors *f)
{
    const char *fname = cn_safetensors_name(f);
    const char *text = cn_safetensors_metadata(f, CN_WEIGHTS_MODEL_KEY);
    if (!text)
        return cn_set_error(CN_STATUS_NOT_FOUND,
                            "%s: no '%s' entry in __metadata__: the file holds tensors but not the model that uses them", fname,
                            CN_WEIGHTS_MODEL_KEY);
    char label[512];
    snprintf(label, sizeof label, "%s:%s", fname, CN_WEIGHTS_MODEL_KEY);
    return cn_model_parse(out, text, label);
}

cn_status cn_model_load_file(cn_model **out, const char *path)
{
    *out = NULL;
    cn_safetensors *f;
    cn_status st = cn_safetensors_load(&f, path);
    if (st != CN_OK) return st;
    st = model_from(out, f);
    cn_safetensors_destroy(f);
    return st;
}

cn_status cn_model_load_file_weights(cn_model **out, const char *path, int64_t batch, int plan_flags)
{
    *out = NULL;
    cn_model *m = NULL;
    cn_safetensors *f;
    cn_status st = cn_safetensors_load(&f, path);
    if (st != CN_OK) return st;
    if ((st = model_from(&m, f)) == CN_OK && (st = cn_model_plan(m, batch, plan_flags)) == CN_OK &&
        (st = cn_model_load_weights_from(m, f, NULL, 0, CN_WEIGHTS_STRICT)) == CN_OK) {
        *out = m;
        m = NULL;
    }
    cn_model_destroy(m);
    cn_safetensors_destroy(f);
    return st;
}
