/* cmd_summary.c — `convnet summary MODEL`: per layer its output shape, parameters,
 * multiply-accumulates, receptive field and jump; totals and memory (activations kept, and
 * their peak when layers reuse memory at inference, CN_PLAN_REUSE). */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void rf_text(const cn_layer_info *li, double *v, char *out, size_t cap)
{
    size_t u = 0;
    out[0] = '\0';
    if (!li->rf_ndim) {
        snprintf(out, cap, "-");
        return;
    }
    for (int a = 0; a < li->rf_ndim && u < cap; a++) u += (size_t)snprintf(out + u, cap - u, "%s%g", a ? "x" : "", v[a]);
}

/* --profile: `reps` inference forwards (m as planned) of random input in [0, 1) after one
 * untimed warm-up, with random weights when the file brought none */
static cn_status profile_forwards(cn_model *m, int has_weights, int reps, cJSON **out)
{
    cn_layer_info in;
    cn_model_layer(m, 0, &in);
    const int64_t n = cn_shape_numel(&in.out);
    float *x = cn_malloc((size_t)n * sizeof *x, "profile input");
    if (!x) return CN_STATUS_NOMEM;
    cn_rng r;
    cn_rng_init(&r, 1, CN_STREAM_USER);
    cn_rng_fill_uniform(&r, x, (size_t)n, 0, 1);
    cn_status st = has_weights ? CN_OK : cn_model_init(m, 1);
    if (st == CN_OK) st = cn_model_forward(m, x, 0);
    cn_model_clear_profile(m);
    cn_model_set_profiling(m, 1);
    for (int i = 0; i < reps && st == CN_OK; i++) st = cn_model_forward(m, x, 0);
    cn_model_set_profiling(m, 0);
    cn_free(x);
    if (st == CN_OK) *out = cli_profile_json(m);
    return st;
}

int cmd_summary(const cli_cmd *cmd, int argc, char **argv, cli_global *g)
{
    const char *input_shape = NULL;
    int batch = 1, profile = 0;
    cli_opt opts[] = {
        {"--input-shape", OPT_STR, &input_shape, "DIMS", "override the (first) input layer's shape, e.g. 3x224x224", 0},
        {"--batch", OPT_INT, &batch, "N", "batch size for MACs and activation memory (default 1)", 0},
        {"--profile", OPT_INT, &profile, "N", "run N inference forwards on random input (random weights unless the file "
                                               "has them) and print each layer's mean time", 0},
        {NULL, OPT_FLAG, NULL, NULL, NULL, 0},
    };
    const char *pos[1];
    int npos;
    int rc = cli_parse(cmd, argc, argv, opts, g, pos, 1, &npos);
    if (rc != CLI_OK) return rc == CLI_HELP_SHOWN ? CLI_OK : rc;
    if (npos != 1) return cli_usage_error(cmd, "expected one MODEL file");
    if (batch < 1) return cli_usage_error(cmd, "--batch %d: must be >= 1", batch);
    if (profile < 0 || profile > 100000) return cli_usage_error(cmd, "--profile %d: must be in 0..100000", profile);
    cn_model *m;
    cn_status st = cn_model_load_any(&m, pos[0]); /* model text, weights file, .onnx or Darknet .cfg */
    if (st != CN_OK) return cli_fail(cmd, g, st);
    const int has_weights = cn_model_output(m, NULL) != NULL; /* loaded planned: .onnx, weights files */
    if (input_shape) {
        cn_layer_info first;
        cn_model_layer(m, 0, &first);
        if ((st = cn_model_set_option(m, first.name, "shape", input_shape)) != CN_OK) goto fail;
    }
    if ((st = cn_model_plan(m, batch, CN_PLAN_INFER)) != CN_OK) goto fail;
    int n = cn_model_layer_count(m);
    int64_t total_params = 0, total_macs = 0, act_floats = 0;
    cJSON *root = g->json ? cJSON_CreateObject() : NULL, *layers = root ? cJSON_AddArrayToObject(root, "layers") : NULL;
    if (!g->json)
        printf("%-16s %-18s %-20s %12s %16s %10s %8s\n", "layer", "type", "output", "params", "MACs", "RF", "jump");
    for (int i = 0; i < n; i++) {
        cn_layer_info li;
        cn_model_layer(m, i, &li);
        total_params += li.params;
        total_macs += li.macs;
        act_floats += cn_shape_numel(&li.out);
        char shape[96], rf[64], jump[64];
        cn_shape_str(&li.out, shape, sizeof shape);
        rf_text(&li, li.rf_size, rf, sizeof rf);
        rf_text(&li, li.rf_jump, jump, sizeof jump);
        if (g->json) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "name", li.name);
            cJSON_AddStringToObject(o, "type", li.type);
            cJSON *ins = cJSON_AddArrayToObject(o, "inputs");
            for (int k = 0; k < li.n_inputs; k++) cJSON_AddItemToArray(ins, cJSON_CreateString(li.inputs[k]));
            cJSON_AddItemToObject(o, "output", cli_json_shape(li.out.dim, li.out.ndim));
            cJSON_AddNumberToObject(o, "params", (double)li.params);
            cJSON_AddNumberToObject(o, "macs", (double)li.macs);
            cJSON *r = cJSON_AddArrayToObject(o, "receptive_field"), *j = cJSON_AddArrayToObject(o, "jump");
            for (int a = 0; a < li.rf_ndim; a++) {
                cJSON_AddItemToArray(r, cJSON_CreateNumber(li.rf_size[a]));
                cJSON_AddItemToArray(j, cJSON_CreateNumber(li.rf_jump[a]));
            }
            cJSON_AddItemToArray(layers, o);
        } else {
            printf("%-16s %-18s %-20s %12lld %16lld %10s %8s\n", li.name, li.type, shape, (long long)li.params,
                   (long long)li.macs, rf, jump);
        }
    }
    /* the same plan with memory reuse: the peak of the outputs alive at once */
    cn_model_memory mem = {0};
    if ((st = cn_model_plan(m, batch, CN_PLAN_INFER | CN_PLAN_REUSE)) == CN_OK) st = cn_model_memory_of(m, &mem);
    cJSON *prof = NULL;
    if (st == CN_OK && profile) st = profile_forwards(m, has_weights, profile, &prof);
    cn_model_destroy(m);
    if (st != CN_OK) {
        cJSON_Delete(root);
        return cli_fail(cmd, g, st);
    }
    if (g->json) {
        if (prof) cJSON_AddItemToObject(root, "profile", prof);
        cJSON_AddNumberToObject(root, "batch", batch);
        cJSON_AddNumberToObject(root, "activation_bytes_reuse", (double)mem.activations);
        cJSON_AddNumberToObject(root, "total_params", (double)total_params);
        cJSON_AddNumberToObject(root, "total_macs", (double)total_macs);
        cJSON_AddNumberToObject(root, "param_bytes", (double)total_params * 4);
        cJSON_AddNumberToObject(root, "activation_bytes", (double)act_floats * 4);
        return cli_print_json(root);
    }
    printf("total: %lld parameters (%.2f MB), %lld MACs at batch %d, activations %.2f MB (%.2f MB reusing memory at "
           "inference)\n",
           (long long)total_params, (double)total_params * 4 / 1e6, (long long)total_macs, batch, (double)act_floats * 4 / 1e6,
           (double)mem.activations / 1e6);
    if (prof) {
        char per[64];
        snprintf(per, sizeof per, "forward of batch %d", batch);
        cli_profile_print(prof, per);
        cJSON_Delete(prof);
    }
    return CLI_OK;
fail:
    cn_model_destroy(m);
    return cli_fail(cmd, g, st);
}
