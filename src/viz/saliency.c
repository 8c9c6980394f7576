/* saliency.c — models loaded for visualization (weights files that carry their model text,
 * a gradient mode with the loss layer removed), predictions, gradient saliency, occlusion
 * sensitivity and heat-map overlays. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "convnet/safetensors.h"
#include "convnet/viz.h"
#include "core/text.h"
#include "io/file.h"

/* 1 if the file starts like a safetensors file: u64 header length, then '{' */
static int looks_like_safetensors(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    unsigned char b[9];
    size_t n = fread(b, 1, 9, f);
    fclose(f);
    if (n < 9 || b[8] != '{') return 0;
    uint64_t len = 0;
    for (int i = 7; i >= 0; i--) len = len << 8 | b[i];
    return len >= 2 && len <= CN_ST_MAX_HEADER;
}

/* the model text of `model` (a text file or a weights file), cn_free it */
static cn_status model_text(const char *model, char **text)
{
    *text = NULL;
    cn_status st;
    if (looks_like_safetensors(model)) {
        cn_safetensors *f;
        if ((st = cn_safetensors_load(&f, model)) != CN_OK) return st;
        const char *t = cn_safetensors_metadata(f, CN_WEIGHTS_MODEL_KEY);
        if (!t)
            st = cn_set_error(CN_STATUS_NOT_FOUND,
                              "%s: a safetensors file without a model text (no '%s' metadata); "
                              "give the model file too",
                              model, CN_WEIGHTS_MODEL_KEY);
        else if (!(*text = cn_malloc(strlen(t) + 1, "model text")))
            st = CN_STATUS_NOMEM;
        else
            memcpy(*text, t, strlen(t) + 1);
        cn_safetensors_destroy(f);
        return st;
    }
    unsigned char *buf;
    size_t len;
    if ((st = cn_file_read_all(model, &buf, &len)) != CN_OK) return st;
    if (!(*text = cn_malloc(len + 1, "model text"))) {
        cn_free(buf);
        return CN_STATUS_NOMEM;
    }
    memcpy(*text, buf, len);
    (*text)[len] = '\0';
    cn_free(buf);
    if (strlen(*text) != len) {
        cn_free(*text);
        *text = NULL;
        return cn_set_error(CN_STATUS_FORMAT,
                            "%s: neither a model text file nor a safetensors weights file (binary data)", model);
    }
    return CN_OK;
}

static int is_loss_type(const char *type)
{
    const cn_layer_type_info *t = cn_layer_type_find(type);
    return t && t->summary && !strncmp(t->summary, "loss", 4);
}

/* Rebuild `*m` without its trailing loss layer: the canonical text of every layer but the
 * last (cn_model_to_text writes layers in order, one "[type]\nname = N" block each). */
static cn_status drop_loss(cn_model **m, const char *label)
{
    int n = cn_model_layer_count(*m);
    cn_layer_info last;
    cn_status st = cn_model_layer(*m, n - 1, &last);
    if (st != CN_OK || !is_loss_type(last.type)) return st;
    if (n < 2) return cn_set_error(CN_STATUS_INVALID_ARG, "%s: the model is only a loss layer", label);
    char *text;
    if ((st = cn_model_to_text(*m, &text)) != CN_OK) return st;
    char key[256];
    snprintf(key, sizeof key, "\n[%s]\nname = %s\n", last.type, last.name);
    char *cut = NULL;
    for (char *p = strstr(text, key); p; p = strstr(p + 1, key)) cut = p;
    if (!cut) {
        cn_free(text);
        return cn_set_error(CN_STATUS_INTERNAL, "%s: cannot find the loss layer '%s' in the model text", label,
                            last.name);
    }
    *cut = '\0';
    cn_model *m2;
    st = cn_model_parse(&m2, text, label);
    cn_free(text);
    if (st != CN_OK) return st;
    cn_model_destroy(*m);
    *m = m2;
    return CN_OK;
}

cn_status cn_viz_load_model(cn_model **out, const char *model, const char *weights, int64_t batch, int flags)
{
    *out = NULL;
    char *text;
    cn_status st = model_text(model, &text);
    if (st != CN_OK) return st;
    if (!weights) {
        if (!looks_like_safetensors(model)) {
            cn_free(text);
            return cn_set_error(CN_STATUS_INVALID_ARG,
                                "%s: a model text file holds no weights; give a weights file (.safetensors) too",
                                model);
        }
        weights = model;
    }
    cn_model *m = NULL;
    st = cn_model_parse(&m, text, model);
    cn_free(text);
    if (st != CN_OK) return st;
    if (flags & CN_VIZ_LOAD_GRAD) {
        if ((st = drop_loss(&m, model)) != CN_OK) goto fail;
        int n = cn_model_layer_count(m);
        for (int i = 0; i < n; i++) {
            cn_layer_info li;
            cn_model_layer(m, i, &li);
            if (!strcmp(li.type, "batch_norm"))
                st = cn_model_set_option(m, li.name, "frozen", "true");
            else if (!strcmp(li.type, "dropout"))
                st = cn_model_set_option(m, li.name, "p", "0");
            else if (!strcmp(li.type, "stochastic_pool") || !strcmp(li.type, "fractional_max_pool"))
                cn_log(CN_LOG_WARN, "layer '%s' (%s) is random in training mode: the saliency map is one sample of it",
                       li.name, li.type);
            if (st != CN_OK) goto fail;
        }
    }
    if ((st = cn_model_plan(m, batch, (flags & CN_VIZ_LOAD_GRAD) ? CN_PLAN_TRAIN : CN_PLAN_INFER)) != CN_OK) goto fail;
    if ((st = cn_model_load_weights(
             m, weights, (flags & CN_VIZ_LOAD_ALLOW_EXTRA) ? CN_WEIGHTS_ALLOW_EXTRA : CN_WEIGHTS_STRICT)) != CN_OK)
        goto fail;
    *out = m;
    return CN_OK;
fail:
    cn_model_destroy(m);
    return st;
}

cn_status cn_viz_find_layer(const cn_model *m, const char *name, int *index)
{
    int n = cn_model_layer_count(m);
    const char *names[257];
    int k = 0;
    for (int i = 0; i < n; i++) {
        cn_layer_info li;
        cn_model_layer(m, i, &li);
        if (!strcmp(li.name, name)) {
            *index = i;
            return CN_OK;
        }
        if (k < 256) names[k++] = li.name;
    }
    names[k] = NULL;
    char list[1024];
    size_t u = 0;
    list[0] = '\0';
    for (int i = 0; i < k && u < sizeof list - 8; i++)
        u += (size_t)snprintf(list + u, sizeof list - u, "%s%s", i ? ", " : "", names[i]);
    const char *hint = cn_closest(name, names);
    if (hint)
        return cn_set_error(CN_STATUS_NOT_FOUND, "no layer named '%s' — did you mean '%s'? (layers: %s)", name, hint,
                            list);
    return cn_set_error(CN_STATUS_NOT_FOUND, "no layer named '%s' (layers: %s)", name, list);
}

cn_status cn_viz_input_shape(const cn_model *m, cn_shape *sample)
{
    int n = cn_model_layer_count(m);
    for (int i = 0; i < n; i++) {
        cn_layer_info li;
        cn_model_layer(m, i, &li);
        if (!strcmp(li.type, "input")) {
            if (li.out.ndim < 2)
                return cn_set_error(CN_STATUS_INVALID_STATE, "model: input '%s' is not planned", li.name);
            sample->ndim = li.out.ndim - 1;
            for (int a = 1; a < li.out.ndim; a++) sample->dim[a - 1] = li.out.dim[a];
            return CN_OK;
        }
    }
    return cn_set_error(CN_STATUS_INVALID_ARG, "model: it has no input layer");
}

cn_status cn_viz_image_to_input(float *x, const cn_shape *sample, const cn_image *im)
{
    char s[96];
    cn_shape_str(sample, s, sizeof s);
    if (sample->ndim != 3 || (sample->dim[0] != 1 && sample->dim[0] != 3))
        return cn_set_error(CN_STATUS_SHAPE,
                            "the model takes samples of %s; an image fits only C x H x W with C = 1 or 3", s);
    if (sample->dim[1] > CN_IMAGE_MAX_SIDE || sample->dim[2] > CN_IMAGE_MAX_SIDE)
        return cn_set_error(CN_STATUS_LIMIT, "the model's input %s is larger than an image may be", s);
    cn_image a, b;
    memset(&a, 0, sizeof a), memset(&b, 0, sizeof b);
    cn_status st = cn_image_convert(&a, im, (int)sample->dim[0]);
    if (st == CN_OK && (a.h != sample->dim[1] || a.w != sample->dim[2]))
        st = cn_image_resize(&b, &a, (int)sample->dim[2], (int)sample->dim[1]);
    if (st == CN_OK) cn_image_to_chw(x, b.px ? &b : &a);
    cn_image_free(&a), cn_image_free(&b);
    return st;
}

/* the layer whose output is the prediction (the input of a trailing loss layer) */
static void prediction_layer(const cn_model *m, cn_layer_info *pred)
{
    int n = cn_model_layer_count(m);
    cn_model_layer(m, n - 1, pred);
    if (is_loss_type(pred->type) && pred->n_inputs) {
        int i;
        if (cn_viz_find_layer(m, pred->inputs[0], &i) == CN_OK) cn_model_layer(m, i, pred);
        cn_clear_error();
    }
}

cn_status cn_viz_predict(cn_model *m, const float *x, float *scores, float *probs, int cap, int *k)
{
    cn_status st = cn_model_forward(m, x, 0);
    if (st != CN_OK) return st;
    cn_shape s;
    const float *y = cn_model_output(m, &s);
    if (!y || s.ndim < 2 || s.dim[0] != 1)
        return cn_set_error(CN_STATUS_INVALID_STATE, "predict: the model must be planned for batch 1");
    int64_t K = cn_shape_numel(&s);
    if (K > cap && (scores || probs))
        return cn_set_error(CN_STATUS_LIMIT, "predict: the model gives %lld scores, room for %d", (long long)K, cap);
    *k = (int)K;
    cn_layer_info pred;
    prediction_layer(m, &pred);
    int is_prob = !strcmp(pred.type, "softmax");
    double mx = -INFINITY, sum = 0;
    for (int64_t i = 0; i < K; i++) mx = fmax(mx, y[i]);
    for (int64_t i = 0; i < K; i++) sum += exp((double)y[i] - mx);
    for (int64_t i = 0; i < K; i++) {
        if (scores) scores[i] = y[i];
        if (probs) probs[i] = is_prob ? y[i] : (float)(exp((double)y[i] - mx) / sum);
    }
    return CN_OK;
}

cn_status cn_viz_saliency(cn_model *m, const float *x, int cls, float *map, float *grad)
{
    cn_shape in, out;
    cn_status st = cn_viz_input_shape(m, &in);
    if (st != CN_OK) return st;
    int n = cn_model_layer_count(m);
    cn_layer_info last;
    cn_model_layer(m, n - 1, &last);
    if (is_loss_type(last.type))
        return cn_set_error(CN_STATUS_INVALID_STATE,
                            "saliency: the model ends with the loss '%s'; load it with CN_VIZ_LOAD_GRAD", last.name);
    if ((st = cn_model_forward(m, x, 1)) != CN_OK) return st;
    cn_model_output(m, &out);
    if (out.ndim < 2 || out.dim[0] != 1)
        return cn_set_error(CN_STATUS_INVALID_STATE, "saliency: plan the model for batch 1");
    int64_t K = out.dim[1], S = cn_shape_numel(&out) / K;
    if (cls < 0 || cls >= K)
        return cn_set_error(CN_STATUS_INVALID_ARG, "saliency: class %d is not in 0..%lld", cls, (long long)K - 1);
    float *dy = cn_calloc((size_t)(K * S), sizeof(float), "saliency dy");
    if (!dy) return CN_STATUS_NOMEM;
    /* score = sum over positions of channel cls (one position for a classifier) */
    for (int64_t s = 0; s < S; s++) dy[cls * S + s] = 1.0f;
    cn_model_zero_grad(m);
    st = cn_model_backward(m, dy);
    cn_free(dy);
    if (st != CN_OK) return st;
    const float *g = cn_model_input_grad(m);
    if (!g) return cn_set_error(CN_STATUS_INVALID_STATE, "saliency: no input gradient (plan with CN_PLAN_TRAIN)");
    int64_t C = in.dim[0], P = cn_shape_numel(&in) / C;
    for (int64_t p = 0; p < P; p++) {
        float v = 0;
        for (int64_t c = 0; c < C; c++) v = fmaxf(v, fabsf(g[c * P + p]));
        map[p] = v;
    }
    if (grad) memcpy(grad, g, (size_t)(C * P) * sizeof(float));
    return CN_OK;
}

cn_status cn_viz_occlusion(cn_model *m, const float *x, int cls, int patch, int stride, float fill, float *map)
{
    cn_shape in;
    cn_status st = cn_viz_input_shape(m, &in);
    if (st != CN_OK) return st;
    if (in.ndim != 3) return cn_set_error(CN_STATUS_UNSUPPORTED, "occlusion: needs a 2D input (C x H x W)");
    int64_t C = in.dim[0], H = in.dim[1], W = in.dim[2], P = H * W;
    if (patch < 1 || stride < 1)
        return cn_set_error(CN_STATUS_INVALID_ARG, "occlusion: patch %d and stride %d must be >= 1", patch, stride);
    int ph = patch > H ? (int)H : patch, pw = patch > W ? (int)W : patch;
    float base[4096], probs[4096];
    int K;
    if ((st = cn_viz_predict(m, x, NULL, base, 4096, &K)) != CN_OK) return st;
    if (cls < 0 || cls >= K)
        return cn_set_error(CN_STATUS_INVALID_ARG, "occlusion: class %d is not in 0..%d", cls, K - 1);
    float *xo = cn_malloc((size_t)(C * P) * sizeof(float), "occluded input");
    double *sum = cn_calloc((size_t)P, sizeof(double), "occlusion sums");
    int *cnt = cn_calloc((size_t)P, sizeof(int), "occlusion counts");
    if (!xo || !sum || !cnt) {
        st = CN_STATUS_NOMEM;
        goto done;
    }
    for (int64_t y0 = 0;; y0 += stride) {
        if (y0 > H - ph) y0 = H - ph;
        for (int64_t x0 = 0;; x0 += stride) {
            if (x0 > W - pw) x0 = W - pw;
            memcpy(xo, x, (size_t)(C * P) * sizeof(float));
            for (int64_t c = 0; c < C; c++)
                for (int64_t yy = y0; yy < y0 + ph; yy++)
                    for (int64_t xx = x0; xx < x0 + pw; xx++) xo[c * P + yy * W + xx] = fill;
            if ((st = cn_viz_predict(m, xo, NULL, probs, 4096, &K)) != CN_OK) goto done;
            double drop = (double)base[cls] - probs[cls];
            for (int64_t yy = y0; yy < y0 + ph; yy++)
                for (int64_t xx = x0; xx < x0 + pw; xx++) sum[yy * W + xx] += drop, cnt[yy * W + xx]++;
            if (x0 == W - pw) break;
        }
        if (y0 == H - ph) break;
    }
    for (int64_t p = 0; p < P; p++) map[p] = cnt[p] ? (float)(sum[p] / cnt[p]) : 0.0f;
done:
    cn_free(xo), cn_free(sum), cn_free(cnt);
    return st;
}

cn_status cn_viz_overlay(cn_image *out, const cn_image *in, const float *map, cn_colormap cm, double alpha)
{
    cn_image r;
    memset(&r, 0, sizeof r);
    cn_status st = cn_image_convert(&r, in, 3);
    if (st != CN_OK) return st;
    int64_t P = (int64_t)in->w * in->h;
    double mx = 0;
    for (int64_t p = 0; p < P; p++)
        if (isfinite(map[p])) mx = fmax(mx, map[p]);
    for (int64_t p = 0; p < P; p++) {
        double u = mx > 0 && isfinite(map[p]) ? fmax(0.0, map[p] / mx) : 0.0;
        unsigned char c[3];
        cn_colormap_rgb(cm, u, c);
        double a = alpha * u;
        for (int k = 0; k < 3; k++) r.px[p * 3 + k] = (unsigned char)lrint((1 - a) * r.px[p * 3 + k] + a * c[k]);
    }
    cn_image_free(out);
    *out = r;
    return CN_OK;
}
