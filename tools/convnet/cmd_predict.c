/* cmd_predict.c — `convnet predict MODEL [--weights W] INPUT...`: the top-k classes with
 * their probabilities for each sample of each input: a .npy array (one sample, or a batch)
 * or an image (PNG, JPEG, BMP, PGM, PPM), converted to the model input's channels and size
 * and scaled to [0, 1] as the image-folder datasets are. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

/* .npy by its magic; anything else is decoded as an image to the input's C x H x W */
static cn_status load_input(cn_npy *a, const char *path, const cn_shape *in)
{
    FILE *f = fopen(path, "rb");
    unsigned char magic[6] = {0};
    if (f) {
        size_t n = fread(magic, 1, sizeof magic, f);
        (void)n;
        fclose(f);
    }
    if (!f || !memcmp(magic, "\x93NUMPY", 6)) return cn_npy_load(a, path);
    memset(a, 0, sizeof *a);
    if (in->ndim != 4 || in->dim[1] > 4)
        return cn_set_error(CN_STATUS_SHAPE, "%s: an image input needs a model taking C x H x W images (C <= 4), not %s", path,
                            cn_shape_str(in, (char[64]){0}, 64));
    int c = (int)in->dim[1], h = (int)in->dim[2], w = (int)in->dim[3];
    cn_image im = {0}, sized = {0};
    cn_status st = cn_image_load(&im, path, c);
    if (st == CN_OK && (im.w != w || im.h != h)) st = cn_image_resize(&sized, &im, w, h);
    if (st == CN_OK) {
        const cn_image *src = sized.px ? &sized : &im;
        a->ndim = 3, a->shape[0] = c, a->shape[1] = h, a->shape[2] = w;
        a->numel = (int64_t)c * h * w;
        a->dtype = CN_DTYPE_U8;
        a->f32 = cn_malloc((size_t)a->numel * sizeof(float), path);
        if (!a->f32) st = CN_STATUS_NOMEM;
        else cn_image_to_chw(a->f32, src);
    }
    cn_image_free(&im);
    cn_image_free(&sized);
    return st;
}

int cmd_predict(const cli_cmd *cmd, int argc, char **argv, cli_global *g)
{
    const char *weights = NULL;
    int top = 5;
    cli_opt opts[] = {
        {"--weights", OPT_STR, &weights, "W", "weights (or checkpoint) file; not needed when MODEL is one", 0},
        {"--top", OPT_INT, &top, "K", "classes to print per sample (default 5)", 0},
        {NULL, OPT_FLAG, NULL, NULL, NULL, 0},
    };
    const char *pos[65];
    int npos;
    int rc = cli_parse(cmd, argc, argv, opts, g, pos, 65, &npos);
    if (rc != CLI_OK) return rc == CLI_HELP_SHOWN ? CLI_OK : rc;
    if (npos < 2) return cli_usage_error(cmd, "expected MODEL and at least one INPUT");
    if (top < 1) return cli_usage_error(cmd, "--top %d: must be >= 1", top);
    cn_model *m = NULL;
    cn_status st = cli_load_model(pos[0], &weights, &m);
    if (st == CN_OK && !weights) st = cn_set_error(CN_STATUS_INVALID_ARG, "%s is a model without weights: give --weights W", pos[0]);
    cn_layer_info in0;
    if (st == CN_OK) st = cn_model_plan(m, 1, CN_PLAN_INFER | CN_PLAN_REUSE | CN_PLAN_PREPARED);
    if (st == CN_OK) st = cli_load_weights(m, weights);
    if (st == CN_OK) st = cn_model_layer(m, 0, &in0);
    if (st != CN_OK) {
        rc = cli_fail(cmd, g, st);
        cn_model_destroy(m);
        return rc;
    }
    int64_t sample = cn_shape_numel(&in0.out); /* planned at batch 1 */
    cJSON *root = g->json ? cJSON_CreateObject() : NULL, *arr = root ? cJSON_AddArrayToObject(root, "predictions") : NULL;
    rc = CLI_OK;
    for (int f = 1; f < npos && rc == CLI_OK; f++) {
        cn_npy a;
        if ((st = load_input(&a, pos[f], &in0.out)) != CN_OK) {
            rc = cli_fail(cmd, g, st);
            break;
        }
        if (a.numel == 0 || a.numel % sample) {
            rc = cli_fail(cmd, g, cn_set_error(CN_STATUS_SHAPE, "%s: %lld values are not a whole number of samples of %lld (the model's input %s)",
                                               pos[f], (long long)a.numel, (long long)sample, in0.name));
            cn_npy_free(&a);
            break;
        }
        int64_t n = a.numel / sample;
        if ((st = cn_model_plan(m, n, CN_PLAN_INFER | CN_PLAN_REUSE | CN_PLAN_PREPARED)) != CN_OK || (st = cn_model_forward(m, a.f32, 0)) != CN_OK) {
            rc = cli_fail(cmd, g, st);
            cn_npy_free(&a);
            break;
        }
        cn_shape ys;
        const float *y = cn_model_output(m, &ys);
        int64_t k = cn_shape_numel(&ys) / n;
        for (int64_t i = 0; i < n; i++) {
            /* probabilities: softmax of the scores (stable) */
            const float *row = y + i * k;
            double mx = -INFINITY, z = 0;
            for (int64_t c = 0; c < k; c++) mx = fmax(mx, row[c]);
            for (int64_t c = 0; c < k; c++) z += exp(row[c] - mx);
            int used[4096] = {0};
            int kk = top < k ? top : (int)k;
            cJSON *ps = NULL;
            if (root) {
                cJSON *o = cJSON_CreateObject();
                cJSON_AddStringToObject(o, "input", pos[f]);
                cJSON_AddNumberToObject(o, "sample", (double)i);
                ps = cJSON_AddArrayToObject(o, "top");
                cJSON_AddItemToArray(arr, o);
            } else {
                printf("%s[%lld]:", pos[f], (long long)i);
            }
            for (int r = 0; r < kk && k <= 4096; r++) {
                int64_t best = -1;
                for (int64_t c = 0; c < k; c++)
                    if (!used[c] && (best < 0 || row[c] > row[best])) best = c;
                used[best] = 1;
                double p = exp(row[best] - mx) / z;
                if (root) {
                    cJSON *e = cJSON_CreateObject();
                    cJSON_AddNumberToObject(e, "class", (double)best);
                    cJSON_AddNumberToObject(e, "prob", p);
                    cJSON_AddItemToArray(ps, e);
                } else {
                    printf("  %lld (%.1f%%)", (long long)best, 100 * p);
                }
            }
            if (!root) printf("\n");
        }
        cn_npy_free(&a);
    }
    cn_model_destroy(m);
    if (root) {
        if (rc == CLI_OK) return cli_print_json(root);
        cJSON_Delete(root);
    }
    return rc;
}
