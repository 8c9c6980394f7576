/* cmd_explain.c — `convnet explain conv ...`: the arithmetic of one convolution (output size,
 * parameters, multiplies, receptive field) and, in 1D, the fully connected matrix it equals;
 * `convnet explain MODEL`: each layer's receptive field and jump on the input. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "convnet/viz.h"

#define MAX_DRAW 64 /* largest matrix side drawn as text */

/* "3" (every axis) or "3x5" (per axis) into v[0..dims) */
static int parse_axes(const cli_cmd *cmd, const char *opt, const char *text, int dims, int64_t *v, int64_t min)
{
    int64_t t[3];
    int n = 0;
    const char *p = text;
    while (n < 3) {
        char *end;
        errno = 0;
        long long x = strtoll(p, &end, 10);
        if (end == p || errno || x < min || x > 1000000)
            return cli_usage_error(cmd, "%s '%s': expected an integer >= %lld, or one per axis like 3x5", opt, text,
                                   (long long)min);
        t[n++] = x;
        if (!*end) break;
        if (*end != 'x' && *end != ',') return cli_usage_error(cmd, "%s '%s': expected N or NxM", opt, text);
        p = end + 1;
    }
    if (n != 1 && n != dims)
        return cli_usage_error(cmd, "%s '%s': %d values for %d spatial dimension%s", opt, text, n, dims,
                               dims > 1 ? "s" : "");
    for (int a = 0; a < dims; a++) v[a] = t[n == 1 ? 0 : a];
    return CLI_OK;
}

static void tap_name(int j, int k, char out[16])
{
    if (j < 0)
        strcpy(out, ".");
    else if (k <= 26)
        snprintf(out, 4, "%c", 'a' + j);
    else
        snprintf(out, 16, "%d", j);
}

static void axes_text(const int64_t *v, int dims, char *out, size_t cap)
{
    size_t u = 0;
    out[0] = '\0';
    for (int a = 0; a < dims && u < cap; a++)
        u += (size_t)snprintf(out + u, cap - u, "%s%lld", a ? "x" : "", (long long)v[a]);
}

static cJSON *json_axes(const int64_t *v, int dims) { return cli_json_shape(v, dims); }

static int explain_conv(const cli_cmd *cmd, int argc, char **argv, cli_global *g)
{
    const char *input = "8", *kernel = "3", *stride = "1", *dilation = "1", *padding = "0";
    int dims = 1, ic = 1, oc = 1, groups = 1, no_bias = 0;
    cli_opt opts[] = {
        {"--input", OPT_STR, &input, "N", "input size: N (every axis) or per axis, e.g. 8x6 (default 8)", 0},
        {"--kernel", OPT_STR, &kernel, "K", "kernel size (default 3)", 0},
        {"--stride", OPT_STR, &stride, "S", "stride (default 1)", 0},
        {"--dilation", OPT_STR, &dilation, "D", "dilation, 1 = dense (default 1)", 0},
        {"--padding", OPT_STR, &padding, "P", "zero padding per side, per axis (1x2), or same / valid (default 0)", 0},
        {"--dims", OPT_INT, &dims, "1|2", "spatial dimensions (default 1)", 0},
        {"--in-channels", OPT_INT, &ic, "C", "input channels (default 1)", 0},
        {"--out-channels", OPT_INT, &oc, "C", "output channels (default 1)", 0},
        {"--groups", OPT_INT, &groups, "G", "channel groups (default 1)", 0},
        {"--no-bias", OPT_FLAG, &no_bias, NULL, "no bias", 0},
        {NULL, OPT_FLAG, NULL, NULL, NULL, 0},
    };
    const char *pos[1];
    int npos;
    int rc = cli_parse(cmd, argc, argv, opts, g, pos, 1, &npos);
    if (rc != CLI_OK) return rc == CLI_HELP_SHOWN ? CLI_OK : rc;
    if (dims != 1 && dims != 2) return cli_usage_error(cmd, "--dims %d: expected 1 or 2", dims);
    if (ic < 1 || oc < 1 || groups < 1) return cli_usage_error(cmd, "channels and groups must be >= 1");
    cn_conv_geom geo;
    cn_conv_geom_init(&geo, dims);
    geo.ic = ic, geo.oc = oc, geo.groups = groups;
    if ((rc = parse_axes(cmd, "--input", input, dims, geo.in, 1)) != CLI_OK) return rc;
    if ((rc = parse_axes(cmd, "--kernel", kernel, dims, geo.k, 1)) != CLI_OK) return rc;
    if ((rc = parse_axes(cmd, "--stride", stride, dims, geo.stride, 1)) != CLI_OK) return rc;
    if ((rc = parse_axes(cmd, "--dilation", dilation, dims, geo.dilation, 1)) != CLI_OK) return rc;
    if (!strcmp(padding, "same"))
        geo.auto_pad = CN_AUTO_PAD_SAME_UPPER;
    else if (!strcmp(padding, "valid"))
        geo.auto_pad = CN_AUTO_PAD_VALID;
    else {
        if ((rc = parse_axes(cmd, "--padding", padding, dims, geo.pad_begin, 0)) != CLI_OK) return rc;
        memcpy(geo.pad_end, geo.pad_begin, sizeof geo.pad_end);
    }
    cn_status st = cn_conv_geom_resolve(&geo, "explain");
    if (st != CN_OK) return cli_fail(cmd, g, st);
    int64_t weights = cn_conv_params(&geo, 0), params = cn_conv_params(&geo, !no_bias), mults = cn_conv_macs(&geo);
    int64_t rf[3], outs = 1;
    for (int a = 0; a < dims; a++) rf[a] = geo.dilation[a] * (geo.k[a] - 1) + 1, outs *= geo.out[a];
    int64_t cols = geo.pad_begin[0] + geo.in[0] + geo.pad_end[0], rows = geo.out[0];
    int *taps = NULL;
    if (dims == 1) {
        taps = malloc(sizeof(int) * (size_t)(rows * cols));
        if (!taps || (st = cn_conv1d_taps(taps, rows * cols, &geo)) != CN_OK) {
            free(taps);
            return cli_fail(cmd, g, taps ? st : CN_STATUS_NOMEM);
        }
    }
    if (g->json) {
        cJSON *root = cJSON_CreateObject();
        cJSON_AddNumberToObject(root, "dims", dims);
        cJSON_AddItemToObject(root, "input", json_axes(geo.in, dims));
        cJSON_AddItemToObject(root, "kernel", json_axes(geo.k, dims));
        cJSON_AddItemToObject(root, "stride", json_axes(geo.stride, dims));
        cJSON_AddItemToObject(root, "dilation", json_axes(geo.dilation, dims));
        cJSON_AddItemToObject(root, "pad_begin", json_axes(geo.pad_begin, dims));
        cJSON_AddItemToObject(root, "pad_end", json_axes(geo.pad_end, dims));
        cJSON_AddItemToObject(root, "output", json_axes(geo.out, dims));
        cJSON_AddNumberToObject(root, "in_channels", ic);
        cJSON_AddNumberToObject(root, "out_channels", oc);
        cJSON_AddNumberToObject(root, "groups", groups);
        cJSON_AddNumberToObject(root, "weights", (double)weights);
        cJSON_AddNumberToObject(root, "params", (double)params);
        cJSON_AddNumberToObject(root, "multiplies", (double)mults);
        cJSON_AddItemToObject(root, "receptive_field", json_axes(rf, dims));
        cJSON_AddItemToObject(root, "jump", json_axes(geo.stride, dims));
        if (taps) {
            /* rows: outputs; columns: padded input positions (pad_begin first); entries: tap or -1 */
            cJSON *mtx = cJSON_AddArrayToObject(root, "matrix");
            for (int64_t o = 0; o < rows; o++) {
                cJSON *r = cJSON_CreateArray();
                for (int64_t c = 0; c < cols; c++) cJSON_AddItemToArray(r, cJSON_CreateNumber(taps[o * cols + c]));
                cJSON_AddItemToArray(mtx, r);
            }
        }
        free(taps);
        return cli_print_json(root);
    }
    char in_s[64], k_s[64], s_s[64], d_s[64], pb_s[64], pe_s[64], o_s[64], rf_s[64];
    axes_text(geo.in, dims, in_s, sizeof in_s);
    axes_text(geo.k, dims, k_s, sizeof k_s);
    axes_text(geo.stride, dims, s_s, sizeof s_s);
    axes_text(geo.dilation, dims, d_s, sizeof d_s);
    axes_text(geo.pad_begin, dims, pb_s, sizeof pb_s);
    axes_text(geo.pad_end, dims, pe_s, sizeof pe_s);
    axes_text(geo.out, dims, o_s, sizeof o_s);
    axes_text(rf, dims, rf_s, sizeof rf_s);
    printf("%dD convolution: input %s, kernel %s, stride %s, dilation %s, padding %s before and %s after, "
           "%d -> %d channels%s\n\n",
           dims, in_s, k_s, s_s, d_s, pb_s, pe_s, ic, oc, groups > 1 ? " in groups" : "");
    for (int a = 0; a < dims; a++)
        printf("%-20s%lld = floor((in %lld + pad %lld + %lld - (dilation %lld x (kernel %lld - 1) + 1)) / stride %lld) "
               "+ 1\n",
               dims > 1 ? (a ? "output size (W)" : "output size (H)") : "output size", (long long)geo.out[a],
               (long long)geo.in[a], (long long)geo.pad_begin[a], (long long)geo.pad_end[a], (long long)geo.dilation[a],
               (long long)geo.k[a], (long long)geo.stride[a]);
    printf("%-20s%lld = %d out x %lld in/group x %s kernel weights%s\n", "parameters", (long long)params, oc,
           (long long)(ic / groups), k_s, no_bias ? "" : ", + one bias per output channel");
    printf("%-20s%lld = %lld output positions x %d channels x %lld inputs per group x %s taps (per sample)\n",
           "multiplies", (long long)mults, (long long)outs, oc, (long long)(ic / groups), k_s);
    printf("%-20s%s inputs (dilation x (kernel - 1) + 1); neighbouring outputs are %s inputs apart (the stride)\n",
           "receptive field", rf_s, s_s);
    if (dims == 1) {
        printf("\nThe same layer as a fully connected one, y = W x (one channel): W is %lld x %lld, %lld entries, of "
               "which at most %lld are non-zero and all copies of %lld shared weights.\n",
               (long long)rows, (long long)geo.in[0], (long long)(rows * geo.in[0]), (long long)(rows * geo.k[0]),
               (long long)geo.k[0]);
        if (rows > MAX_DRAW || cols > MAX_DRAW) {
            printf("(too large to draw: %lld x %lld; use --input <= %d)\n", (long long)rows, (long long)cols,
                   MAX_DRAW - 8);
        } else {
            printf("Rows are outputs y, columns inputs x (p: zero padding). A letter is the kernel tap that joins them "
                   "(a = w[0], b = w[1], ...); '.' is zero.\n\n      ");
            for (int64_t c = 0; c < cols; c++) {
                int64_t i = c - geo.pad_begin[0];
                char h[24];
                if (i < 0 || i >= geo.in[0])
                    strcpy(h, "p");
                else
                    snprintf(h, sizeof h, "x%lld", (long long)i);
                printf("%4s", h);
            }
            printf("\n");
            for (int64_t o = 0; o < rows; o++) {
                printf("  y%-3lld", (long long)o);
                for (int64_t c = 0; c < cols; c++) {
                    char t[16];
                    tap_name(taps[o * cols + c], (int)geo.k[0], t);
                    printf("%4s", t);
                }
                printf("\n");
            }
        }
    } else {
        /* the footprint of one output position (the middle one) on the padded input */
        int64_t oh = geo.out[0] / 2, ow = geo.out[1] / 2, H = geo.pad_begin[0] + geo.in[0] + geo.pad_end[0],
                W = geo.pad_begin[1] + geo.in[1] + geo.pad_end[1];
        printf("\nWhere output (%lld, %lld) reads the input", (long long)oh, (long long)ow);
        if (H > MAX_DRAW || W > MAX_DRAW)
            printf(": (too large to draw; use --input <= %d)\n", MAX_DRAW - 8);
        else {
            int64_t kk = geo.k[0] * geo.k[1];
            printf(" (p: zero padding; a letter is the tap, row by row: a = w[0][0], b = w[0][1], ...):\n\n");
            for (int64_t r = 0; r < H; r++) {
                printf("    ");
                for (int64_t c = 0; c < W; c++) {
                    int64_t jr = -1, jc = -1;
                    for (int64_t j = 0; j < geo.k[0]; j++)
                        if (oh * geo.stride[0] + j * geo.dilation[0] == r) jr = j;
                    for (int64_t j = 0; j < geo.k[1]; j++)
                        if (ow * geo.stride[1] + j * geo.dilation[1] == c) jc = j;
                    int pad = r < geo.pad_begin[0] || r >= geo.pad_begin[0] + geo.in[0] || c < geo.pad_begin[1] ||
                              c >= geo.pad_begin[1] + geo.in[1];
                    char t[16];
                    if (jr >= 0 && jc >= 0)
                        tap_name((int)(jr * geo.k[1] + jc), (int)kk, t);
                    else
                        strcpy(t, pad ? "p" : ".");
                    printf("%3s", t);
                }
                printf("\n");
            }
        }
    }
    free(taps);
    return CLI_OK;
}

static void rf_text(const cn_layer_info *li, const double *v, char *out, size_t cap)
{
    size_t u = 0;
    out[0] = '\0';
    if (!li->rf_ndim) snprintf(out, cap, "-");
    for (int a = 0; a < li->rf_ndim && u < cap; a++)
        u += (size_t)snprintf(out + u, cap - u, "%s%g", a ? "x" : "", v[a]);
}

static int explain_model(const cli_cmd *cmd, int argc, char **argv, cli_global *g)
{
    const char *input_shape = NULL;
    cli_opt opts[] = {
        {"--input-shape", OPT_STR, &input_shape, "DIMS", "override the (first) input layer's shape, e.g. 3x224x224", 0},
        {NULL, OPT_FLAG, NULL, NULL, NULL, 0},
    };
    const char *pos[1];
    int npos;
    int rc = cli_parse(cmd, argc, argv, opts, g, pos, 1, &npos);
    if (rc != CLI_OK) return rc == CLI_HELP_SHOWN ? CLI_OK : rc;
    if (npos != 1) return cli_usage_error(cmd, "expected 'conv' or one MODEL file");
    cn_model *m = NULL;
    cn_status st = cn_model_load(&m, pos[0]);
    if (st != CN_OK && st != CN_STATUS_IO) { /* maybe a weights file carrying its model text */
        char first[1024];
        snprintf(first, sizeof first, "%s", cn_last_error());
        if (cn_model_load_file(&m, pos[0]) == CN_OK)
            st = CN_OK;
        else
            cn_set_error(st, "%s", first);
    }
    if (st != CN_OK) return cli_fail(cmd, g, st);
    if (input_shape) {
        cn_layer_info first;
        cn_model_layer(m, 0, &first);
        if ((st = cn_model_set_option(m, first.name, "shape", input_shape)) != CN_OK) goto fail;
    }
    if ((st = cn_model_plan(m, 1, CN_PLAN_INFER)) != CN_OK) goto fail;
    int n = cn_model_layer_count(m);
    cJSON *root = g->json ? cJSON_CreateObject() : NULL, *layers = root ? cJSON_AddArrayToObject(root, "layers") : NULL;
    cn_shape in = {0};
    if (!g->json) printf("%-16s %-22s %-20s %16s %10s\n", "layer", "type", "output", "receptive field", "jump");
    for (int i = 0; i < n; i++) {
        cn_layer_info li;
        cn_model_layer(m, i, &li);
        if (!in.ndim && !strcmp(li.type, "input")) in = li.out;
        char shape[96], rf[64], jump[64];
        cn_shape_str(&li.out, shape, sizeof shape);
        rf_text(&li, li.rf_size, rf, sizeof rf);
        rf_text(&li, li.rf_jump, jump, sizeof jump);
        if (g->json) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "name", li.name);
            cJSON_AddStringToObject(o, "type", li.type);
            cJSON_AddItemToObject(o, "output", cli_json_shape(li.out.dim, li.out.ndim));
            cJSON *r = cJSON_AddArrayToObject(o, "receptive_field"), *j = cJSON_AddArrayToObject(o, "jump");
            for (int a = 0; a < li.rf_ndim; a++) {
                cJSON_AddItemToArray(r, cJSON_CreateNumber(li.rf_size[a]));
                cJSON_AddItemToArray(j, cJSON_CreateNumber(li.rf_jump[a]));
            }
            cJSON_AddItemToArray(layers, o);
        } else
            printf("%-16s %-22s %-20s %16s %10s\n", li.name, li.type, shape, rf, jump);
    }
    if (!g->json) {
        printf("\nreceptive field: how many input positions (per axis) one output value of the layer depends on;\n"
               "jump: how far apart on the input two neighbouring outputs of the layer are (the product of strides).\n"
               "Each layer adds (kernel - 1) x dilation x (the jump before it) to the receptive field.\n");
        /* the deepest layer whose output is still a spatial map */
        for (int i = n - 1; i >= 0; i--) {
            cn_layer_info li;
            cn_model_layer(m, i, &li);
            if (!li.rf_ndim || li.out.ndim < 2 + li.rf_ndim || in.ndim < 2 + li.rf_ndim) continue;
            char rf[64];
            rf_text(&li, li.rf_size, rf, sizeof rf);
            int covers = 1;
            for (int a = 0; a < li.rf_ndim; a++) covers &= li.rf_size[a] >= (double)in.dim[in.ndim - li.rf_ndim + a];
            char ins[96];
            cn_shape in_sp = {li.rf_ndim, {0}};
            for (int a = 0; a < li.rf_ndim; a++) in_sp.dim[a] = in.dim[in.ndim - li.rf_ndim + a];
            cn_shape_str(&in_sp, ins, sizeof ins);
            printf("Each value of '%s' (the deepest spatial map) sees %s of the input's %s%s.\n", li.name, rf, ins,
                   covers ? ": all of it" : "");
            break;
        }
    }
    cn_model_destroy(m);
    return g->json ? cli_print_json(root) : CLI_OK;
fail:
    cn_model_destroy(m);
    return cli_fail(cmd, g, st);
}

int cmd_explain(const cli_cmd *cmd, int argc, char **argv, cli_global *g)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "conv")) {
            /* drop the word "conv" and parse the rest as the convolution's options */
            char *args[1024];
            int n = 0;
            for (int k = 0; k < argc && n < 1023; k++)
                if (k != i) args[n++] = argv[k];
            args[n] = NULL;
            return explain_conv(cmd, n, args, g);
        }
    return explain_model(cmd, argc, argv, g);
}
