/* cmd_visualize.c — `convnet visualize filters|activations|saliency MODEL ...`: a conv layer's
 * learned kernels, a layer's feature maps for one input, or where the network looks (gradient
 * saliency and occlusion sensitivity over the input), as PNG images. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "convnet/dataset.h"
#include "convnet/viz.h"

typedef struct vis_args {
    const char *weights, *layer, *out, *input, *data, *cmap;
    int index, cls, max_filters, max_inputs, patch, stride;
    double fill, alpha;
    int fill_seen;
} vis_args;

/* one sample for the model: x (sample floats) and its class label when the dataset has one (else -1) */
static cn_status load_sample(const vis_args *a, const cn_model *m, float **x, int *label, cn_shape *sample)
{
    *x = NULL, *label = -1;
    cn_status st = cn_viz_input_shape(m, sample);
    if (st != CN_OK) return st;
    int64_t n = cn_shape_numel(sample);
    char ss[96];
    cn_shape_str(sample, ss, sizeof ss);
    if (!(*x = cn_malloc((size_t)n * sizeof(float), "input sample"))) return CN_STATUS_NOMEM;
    if (a->data) {
        cn_dataset *train = NULL, *test = NULL;
        if ((st = cn_dataset_open(&train, &test, a->data)) != CN_OK) return st;
        const cn_dataset *d = test ? test : train;
        const cn_dataset_info *info = cn_dataset_info_of(d);
        float target[64] = {0};
        if (!cn_shape_equal(&info->sample, sample)) {
            char ds[96];
            cn_shape_str(&info->sample, ds, sizeof ds);
            st = cn_set_error(CN_STATUS_SHAPE, "dataset '%s' has samples of %s, the model takes %s", a->data, ds, ss);
        } else if (a->index < 0 || a->index >= info->n)
            st = cn_set_error(CN_STATUS_INVALID_ARG, "--index %d: %s has samples 0..%lld", a->index, info->name,
                              (long long)info->n - 1);
        else if (cn_dataset_info_target_size(info) > 64)
            st = cn_set_error(CN_STATUS_UNSUPPORTED, "%s: targets of %lld values; only class datasets are shown",
                              a->data, (long long)cn_dataset_info_target_size(info));
        else if ((st = cn_dataset_get(d, a->index, *x, target)) == CN_OK && info->target_kind == CN_TARGET_CLASS)
            *label = (int)target[0];
        cn_dataset_destroy(train), cn_dataset_destroy(test);
        return st;
    }
    const char *dot = strrchr(a->input, '.');
    if (dot && !strcmp(dot, ".npy")) {
        cn_tensor *t = NULL;
        if ((st = cn_npy_load_tensor(&t, a->input)) != CN_OK) return st;
        if (cn_tensor_numel(t) != n) {
            char ts[96];
            cn_shape_str(&t->shape, ts, sizeof ts);
            st = cn_set_error(CN_STATUS_SHAPE, "%s: holds %s (%lld values); the model takes one sample of %s", a->input,
                              ts, (long long)cn_tensor_numel(t), ss);
        } else
            memcpy(*x, t->data, (size_t)n * sizeof(float));
        cn_tensor_destroy(t);
        return st;
    }
    cn_image im;
    memset(&im, 0, sizeof im);
    if ((st = cn_image_load(&im, a->input, 0)) == CN_OK) st = cn_viz_image_to_input(*x, sample, &im);
    cn_image_free(&im);
    return st;
}

static int argmax(const float *p, int k)
{
    int b = 0;
    for (int i = 1; i < k; i++)
        if (p[i] > p[b]) b = i;
    return b;
}

/* a labelled panel: `title` at (x, y), the image below it */
static void panel(cn_image *canvas, const cn_image *img, int x, int y, const char *title)
{
    static const unsigned char ink[3] = {30, 30, 30};
    cn_image_text(canvas, x, y, title, 2, ink);
    cn_image_paste(canvas, img, x, y + 22);
}

static cn_status saliency_picture(cn_image *out, const cn_shape *s, const float *x, const float *grad_map,
                                  const float *occ_map, double alpha, const char *header)
{
    cn_status st = CN_OK;
    cn_image in, a[5], big[5];
    memset(&in, 0, sizeof in);
    for (int i = 0; i < 5; i++) memset(&a[i], 0, sizeof a[i]), memset(&big[i], 0, sizeof big[i]);
    int H = (int)s->dim[1], W = (int)s->dim[2], C = (int)s->dim[0];
    int z = H >= 160 ? 1 : (160 + H - 1) / H;
    if ((st = cn_image_from_chw(&in, x, C, H, W, 0, 1)) != CN_OK) goto done;
    const float *maps[2] = {grad_map, occ_map};
    int np = occ_map ? 5 : 3;
    cn_image_convert(&a[0], &in, 3);
    for (int m = 0; m < (occ_map ? 2 : 1); m++) {
        /* the map alone on the heat scale (0 .. its max; negative values, where occluding helped, show as 0),
         * then over the input */
        float mx = 0;
        for (int p = 0; p < H * W; p++) mx = fmaxf(mx, maps[m][p]);
        cn_image tmp;
        memset(&tmp, 0, sizeof tmp);
        if ((st = cn_image_alloc(&tmp, W, H, 3, 0)) == CN_OK)
            for (int p = 0; p < H * W; p++)
                cn_colormap_rgb(CN_CMAP_HEAT, mx > 0 ? fmaxf(0, maps[m][p]) / mx : 0, tmp.px + p * 3);
        if (st != CN_OK) goto done;
        cn_image_free(&a[1 + 2 * m]);
        a[1 + 2 * m] = tmp;
        if ((st = cn_viz_overlay(&a[2 + 2 * m], &in, maps[m], CN_CMAP_HEAT, alpha)) != CN_OK) goto done;
    }
    for (int i = 0; i < np; i++)
        if ((st = cn_image_zoom(&big[i], &a[i], z)) != CN_OK) goto done;
    static const char *const titles[] = {"input", "gradient", "overlay", "occlusion", "overlay"};
    int pw = W * z, ph = H * z, gap = 12;
    int cw = np * pw + (np + 1) * gap, chh = 30 + 22 + ph + gap;
    int tw = cn_image_text_width(header, 2) + 2 * gap;
    if (cw < tw) cw = tw;
    if ((st = cn_image_alloc(out, cw, chh, 3, 255)) != CN_OK) goto done;
    static const unsigned char ink[3] = {30, 30, 30};
    cn_image_text(out, gap, 8, header, 2, ink);
    for (int i = 0; i < np; i++) panel(out, &big[i], gap + i * (pw + gap), 30, titles[i]);
done:
    cn_image_free(&in);
    for (int i = 0; i < 5; i++) cn_image_free(&a[i]), cn_image_free(&big[i]);
    return st;
}

/* 1D inputs: the signal drawn as lines over its saliency */
static cn_status saliency_signal(cn_image *out, const cn_shape *s, const float *x, const float *map, const char *header)
{
    int w = s->dim[1] * 12 > 600 ? (int)(s->dim[1] * 12 > 2400 ? 2400 : s->dim[1] * 12) : 600;
    return cn_plot_signal_image(out, x, (int)s->dim[0], s->dim[1], map, w, 220, header);
}

int cmd_visualize(const cli_cmd *cmd, int argc, char **argv, cli_global *g)
{
    vis_args a = {0};
    a.cls = -1, a.patch = 0, a.stride = 0, a.alpha = 0.6, a.cmap = "viridis";
    cli_opt opts[] = {
        {"--weights", OPT_STR, &a.weights, "FILE", "weights (.safetensors); default: MODEL itself when it is one", 0},
        {"--layer", OPT_STR, &a.layer, "NAME", "the layer (filters, activations)", 0},
        {"--out", OPT_STR, &a.out, "FILE", "the picture to write (.png, .jpg, .bmp, .tga)", 0},
        {"--input", OPT_STR, &a.input, "FILE",
         "the input: an image (converted and resized to the model's input) or a .npy sample", 0},
        {"--data", OPT_STR, &a.data, "SPEC", "or take the input from a dataset (its test part), e.g. fashion-mnist", 0},
        {"--index", OPT_INT, &a.index, "I", "which sample of --data (default 0)", 0},
        {"--class", OPT_INT, &a.cls, "K", "saliency of this class (default: the predicted one)", 0},
        {"--cmap", OPT_STR, &a.cmap, "NAME", "colour map for activations: gray, viridis (default), diverging, heat", 0},
        {"--max-filters", OPT_INT, &a.max_filters, "N", "filters: show the first N filters (default: all)", 0},
        {"--max-inputs", OPT_INT, &a.max_inputs, "N", "filters: input channels shown per filter (default 8)", 0},
        {"--patch", OPT_INT, &a.patch, "P", "occlusion: square side (default: a quarter of the input, at least 3)", 0},
        {"--stride", OPT_INT, &a.stride, "S", "occlusion: step between placements (default: half the patch)", 0},
        {"--fill", OPT_FLOAT, &a.fill, "V", "occlusion: the square's value (default: the input's mean)", 0},
        {"--alpha", OPT_FLOAT, &a.alpha, "A", "overlay strength 0..1 (default 0.6)", 0},
        {NULL, OPT_FLAG, NULL, NULL, NULL, 0},
    };
    const char *pos[2];
    int npos;
    int rc = cli_parse(cmd, argc, argv, opts, g, pos, 2, &npos);
    if (rc != CLI_OK) return rc == CLI_HELP_SHOWN ? CLI_OK : rc;
    for (const cli_opt *o = opts; o->name; o++)
        if (!strcmp(o->name, "--fill")) a.fill_seen = o->seen;
    if (npos < 1) return cli_usage_error(cmd, "expected what to show: filters, activations or saliency");
    const char *what = pos[0];
    int mode = !strcmp(what, "filters") ? 0 : !strcmp(what, "activations") ? 1 : !strcmp(what, "saliency") ? 2 : -1;
    if (mode < 0) return cli_usage_error(cmd, "'%s': expected filters, activations or saliency", what);
    if (npos < 2) return cli_usage_error(cmd, "%s: expected a MODEL (model file or weights file)", what);
    if (!a.out) return cli_usage_error(cmd, "%s: --out FILE is required", what);
    if (mode < 2 && !a.layer) return cli_usage_error(cmd, "%s: --layer NAME is required", what);
    if (mode > 0 && !a.input == !a.data)
        return cli_usage_error(cmd, "%s: give one of --input FILE and --data SPEC", what);
    if (a.alpha < 0 || a.alpha > 1) return cli_usage_error(cmd, "--alpha %g: expected 0..1", a.alpha);
    if (a.patch < 0 || a.stride < 0 || a.max_inputs < 0 || a.max_filters < 0)
        return cli_usage_error(cmd, "--patch, --stride, --max-filters and --max-inputs must be >= 0");
    cn_colormap cm;
    cn_status st = cn_colormap_parse(&cm, a.cmap);
    if (st != CN_OK) return cli_usage_error(cmd, "--cmap: %s", cn_last_error());

    cn_model *m = NULL;
    cn_image out;
    memset(&out, 0, sizeof out);
    float *x = NULL, *gmap = NULL, *omap = NULL, *probs = NULL;
    cJSON *root = g->json ? cJSON_CreateObject() : NULL;
    /* a checkpoint works too: its optimizer tensors are ignored; every parameter must still match */
    if ((st = cn_viz_load_model(&m, pos[1], a.weights, 1,
                                (mode == 2 ? CN_VIZ_LOAD_GRAD : CN_VIZ_LOAD_INFER) | CN_VIZ_LOAD_ALLOW_EXTRA)) != CN_OK)
        goto fail;
    if (mode == 0) {
        if ((st = cn_viz_filters(&out, m, a.layer, a.max_filters, a.max_inputs)) != CN_OK) goto fail;
    } else {
        cn_shape s;
        int label;
        if ((st = load_sample(&a, m, &x, &label, &s)) != CN_OK) goto fail;
        if (mode == 1) {
            if ((st = cn_viz_activations(&out, m, x, a.layer, cm)) != CN_OK) goto fail;
            const float *y;
            cn_shape ys;
            cn_model_layer_output(m, a.layer, &y, &ys);
            char sh[96];
            cn_shape_str(&ys, sh, sizeof sh);
            if (root)
                cJSON_AddItemToObject(root, "layer_output", cli_json_shape(ys.dim, ys.ndim));
            else
                printf("layer %s: output %s\n", a.layer, sh);
        } else {
            int K;
            if (!(probs = cn_malloc(4096 * sizeof(float), "probabilities"))) {
                st = CN_STATUS_NOMEM;
                goto fail;
            }
            if ((st = cn_viz_predict(m, x, NULL, probs, 4096, &K)) != CN_OK) goto fail;
            int pred = argmax(probs, K), cls = a.cls >= 0 ? a.cls : pred;
            if (cls >= K) {
                st = cn_set_error(CN_STATUS_INVALID_ARG, "--class %d: the model has classes 0..%d", cls, K - 1);
                goto fail;
            }
            int64_t P = cn_shape_numel(&s) / s.dim[0];
            gmap = cn_malloc((size_t)P * sizeof(float), "saliency map");
            omap = cn_malloc((size_t)P * sizeof(float), "occlusion map");
            if (!gmap || !omap) {
                st = CN_STATUS_NOMEM;
                goto fail;
            }
            if ((st = cn_viz_saliency(m, x, cls, gmap, NULL)) != CN_OK) goto fail;
            char header[160];
            snprintf(header, sizeof header, "class %d: p=%.2f%s", cls, probs[cls], cls == pred ? " (predicted)" : "");
            if (label >= 0) snprintf(header + strlen(header), sizeof header - strlen(header), ", label %d", label);
            int occ = s.ndim == 3;
            if (occ) {
                int side = (int)(s.dim[1] < s.dim[2] ? s.dim[1] : s.dim[2]);
                int patch = a.patch ? a.patch : (side / 4 > 3 ? side / 4 : 3);
                int stride = a.stride ? a.stride : (patch / 2 > 1 ? patch / 2 : 1);
                double fill = a.fill;
                if (!a.fill_seen) {
                    fill = 0;
                    for (int64_t i = 0; i < cn_shape_numel(&s); i++) fill += x[i];
                    fill /= (double)cn_shape_numel(&s);
                }
                if ((st = cn_viz_occlusion(m, x, cls, patch, stride, (float)fill, omap)) != CN_OK) goto fail;
                if ((st = saliency_picture(&out, &s, x, gmap, omap, a.alpha, header)) != CN_OK) goto fail;
            } else if (s.ndim == 2) {
                if ((st = saliency_signal(&out, &s, x, gmap, header)) != CN_OK) goto fail;
            } else {
                st =
                    cn_set_error(CN_STATUS_UNSUPPORTED, "saliency: pictures need a 1D (C x W) or 2D (C x H x W) input");
                goto fail;
            }
            if (root) {
                cJSON_AddNumberToObject(root, "class", cls);
                cJSON_AddNumberToObject(root, "predicted", pred);
                if (label >= 0) cJSON_AddNumberToObject(root, "label", label);
                cJSON *pa = cJSON_AddArrayToObject(root, "probabilities");
                for (int k = 0; k < K && k < 1000; k++) cJSON_AddItemToArray(pa, cJSON_CreateNumber(probs[k]));
            } else {
                printf("predicted class %d (p = %.3f)%s; saliency of class %d", pred, probs[pred],
                       label >= 0 ? (label == pred ? ", right" : ", wrong") : "", cls);
                if (label >= 0) printf("; label %d", label);
                printf("\n");
            }
        }
    }
    if ((st = cn_image_save(&out, a.out)) != CN_OK) goto fail;
    if (root) {
        cJSON_AddStringToObject(root, "out", a.out);
        cJSON_AddNumberToObject(root, "width", out.w);
        cJSON_AddNumberToObject(root, "height", out.h);
        rc = cli_print_json(root);
        root = NULL;
    } else {
        printf("wrote %s (%d x %d)\n", a.out, out.w, out.h);
        rc = CLI_OK;
    }
    cn_model_destroy(m);
    cn_image_free(&out);
    cn_free(x), cn_free(gmap), cn_free(omap), cn_free(probs);
    return rc;
fail:
    cJSON_Delete(root);
    cn_model_destroy(m);
    cn_image_free(&out);
    cn_free(x), cn_free(gmap), cn_free(omap), cn_free(probs);
    return cli_fail(cmd, g, st);
}
