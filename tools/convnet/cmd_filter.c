/* cmd_filter.c — `convnet filter IN OUT --kernel NAME`: a hand-made kernel applied to an
 * image by the library's own conv layer (and optionally a max-pool layer after it). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "convnet/viz.h"

static int list_kernels(const cli_global *g)
{
    if (g->json) {
        cJSON *root = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(root, "kernels");
        for (int i = 0; i < cn_filter_kernel_count(); i++) {
            const cn_filter_kernel *k = cn_filter_kernel_at(i);
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "name", k->name);
            cJSON_AddStringToObject(o, "help", k->help);
            cJSON *w = cJSON_AddArrayToObject(o, "weights");
            for (int r = 0; r < k->kh; r++) {
                cJSON *row = cJSON_CreateArray();
                for (int c = 0; c < k->kw; c++) cJSON_AddItemToArray(row, cJSON_CreateNumber(k->w[r * k->kw + c]));
                cJSON_AddItemToArray(w, row);
            }
            cJSON_AddItemToArray(arr, o);
        }
        return cli_print_json(root);
    }
    for (int i = 0; i < cn_filter_kernel_count(); i++) {
        const cn_filter_kernel *k = cn_filter_kernel_at(i);
        printf("%-14s %s\n", k->name, k->help);
    }
    return CLI_OK;
}

int cmd_filter(const cli_cmd *cmd, int argc, char **argv, cli_global *g)
{
    const char *kname = NULL, *kfile = NULL, *padding = "same";
    int normalize = 0, absval = 0, max_pool = 0, flip = 0, gray = 0, list = 0;
    cli_opt opts[] = {
        {"--kernel", OPT_STR, &kname, "NAME", "a named kernel (--list shows them)", 0},
        {"--kernel-file", OPT_STR, &kfile, "FILE", "a kernel from a text file: rows of numbers or fractions", 0},
        {"--normalize", OPT_FLAG, &normalize, NULL, "stretch the output's min..max to black..white", 0},
        {"--abs", OPT_FLAG, &absval, NULL, "take absolute values first (edge strength of either sign)", 0},
        {"--padding", OPT_STR, &padding, "MODE", "same (output as large as the input; default) or valid", 0},
        {"--max-pool", OPT_INT, &max_pool, "N", "then max pooling with an N x N window and stride N", 0},
        {"--flip", OPT_FLAG, &flip, NULL, "true convolution (kernel flipped) instead of cross-correlation", 0},
        {"--gray", OPT_FLAG, &gray, NULL, "convert the image to gray first", 0},
        {"--list", OPT_FLAG, &list, NULL, "list the named kernels and exit", 0},
        {NULL, OPT_FLAG, NULL, NULL, NULL, 0},
    };
    const char *pos[2];
    int npos;
    int rc = cli_parse(cmd, argc, argv, opts, g, pos, 2, &npos);
    if (rc != CLI_OK) return rc == CLI_HELP_SHOWN ? CLI_OK : rc;
    if (list) return list_kernels(g);
    if (npos != 2) return cli_usage_error(cmd, "expected an input image and an output file (IN OUT)");
    if (!kname == !kfile) return cli_usage_error(cmd, "give exactly one of --kernel NAME and --kernel-file FILE");
    if (strcmp(padding, "same") && strcmp(padding, "valid"))
        return cli_usage_error(cmd, "--padding '%s': expected same or valid", padding);
    if (max_pool < 0 || max_pool > 4096) return cli_usage_error(cmd, "--max-pool %d: expected 0..4096", max_pool);

    cn_filter_kernel k;
    cn_status st = kname ? cn_filter_kernel_find(&k, kname) : cn_filter_kernel_load(&k, kfile);
    if (st != CN_OK) return cli_fail(cmd, g, st);
    cn_image im, out;
    memset(&im, 0, sizeof im), memset(&out, 0, sizeof out);
    cn_tensor *y = NULL;
    float *x = NULL;
    if ((st = cn_image_load(&im, pos[0], gray ? 1 : 0)) != CN_OK) goto fail;
    if (im.c == 2 || im.c == 4) { /* drop alpha: filter gray or colour */
        cn_image rgb = {0};
        st = cn_image_convert(&rgb, &im, im.c - 1);
        cn_image_free(&im);
        if (st != CN_OK) goto fail;
        im = rgb;
    }
    x = cn_malloc((size_t)im.w * (size_t)im.h * (size_t)im.c * sizeof(float), "image");
    if (!x) {
        st = CN_STATUS_NOMEM;
        goto fail;
    }
    cn_image_to_chw(x, &im);
    cn_filter_config fc = cn_filter_defaults();
    fc.same = !strcmp(padding, "same"), fc.flip = flip, fc.max_pool = max_pool;
    if ((st = cn_filter_apply(&y, x, im.c, im.h, im.w, &k, &fc)) != CN_OK) goto fail;
    int64_t n = cn_tensor_numel(y);
    int C = (int)y->shape.dim[0], H = (int)y->shape.dim[1], W = (int)y->shape.dim[2];
    double lo = INFINITY, hi = -INFINITY;
    for (int64_t i = 0; i < n; i++) lo = fmin(lo, y->data[i]), hi = fmax(hi, y->data[i]);
    const char *dot = strrchr(pos[1], '.');
    int npy = dot && !strcmp(dot, ".npy");
    if (npy) {
        /* the conv layer's numbers exactly as computed (no abs, no scaling) */
        if ((st = cn_npy_save_tensor(pos[1], y)) != CN_OK) goto fail;
    } else {
        if (absval)
            for (int64_t i = 0; i < n; i++) y->data[i] = fabsf(y->data[i]);
        float a = 0, b = 1;
        if (normalize) {
            a = INFINITY, b = -INFINITY;
            for (int64_t i = 0; i < n; i++) a = fminf(a, y->data[i]), b = fmaxf(b, y->data[i]);
        }
        if ((st = cn_image_from_chw(&out, y->data, C, H, W, a, b)) != CN_OK) goto fail;
        if ((st = cn_image_save(&out, pos[1])) != CN_OK) goto fail;
    }
    if (g->json) {
        cJSON *root = cJSON_CreateObject();
        cJSON_AddStringToObject(root, "input", pos[0]);
        cJSON_AddStringToObject(root, "output", pos[1]);
        cJSON_AddStringToObject(root, "kernel", k.name);
        cJSON_AddItemToObject(root, "kernel_size", cli_json_shape((int64_t[]){k.kh, k.kw}, 2));
        cJSON_AddItemToObject(root, "input_shape", cli_json_shape((int64_t[]){im.c, im.h, im.w}, 3));
        cJSON_AddItemToObject(root, "output_shape", cli_json_shape(y->shape.dim, 3));
        cJSON_AddNumberToObject(root, "min", lo);
        cJSON_AddNumberToObject(root, "max", hi);
        cJSON_AddStringToObject(root, "padding", padding);
        cJSON_AddNumberToObject(root, "max_pool", max_pool);
        rc = cli_print_json(root);
    } else {
        printf("%s: %dx%dx%d -> %s: %dx%dx%d, kernel %s (%dx%d%s), values in [%g, %g]%s\n", pos[0], im.c, im.h,
               im.w, pos[1], C, H, W, k.name, k.kh, k.kw, flip ? ", flipped" : "", lo, hi,
               npy         ? " (raw floats)"
               : normalize ? " (stretched to 0..255)"
                           : " (clamped to 0..1 -> 0..255)");
        rc = CLI_OK;
    }
    cn_tensor_destroy(y);
    cn_free(x);
    cn_image_free(&im), cn_image_free(&out);
    return rc;
fail:
    cn_tensor_destroy(y);
    cn_free(x);
    cn_image_free(&im), cn_image_free(&out);
    return cli_fail(cmd, g, st);
}
