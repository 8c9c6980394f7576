/* cmd_export.c — `convnet export MODEL [--weights W] --onnx OUT.onnx`: a model (convnet text,
 * a weights file carrying its model, an .onnx file, a Darknet .cfg) with its weights, written as
 * an ONNX model (opset 13 by default). Without weights the model is initialised from --seed. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "convnet/darknet.h"
#include "convnet/onnx.h"

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

/* 1 if the file carries weights of its own (ONNX, a safetensors weights file) */
static int carries_weights(const char *path)
{
    if (ends_with(path, ".onnx")) return 1;
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    unsigned char b[9];
    size_t n = fread(b, 1, 9, f);
    fclose(f);
    return n == 9 && b[8] == '{';
}

/* the model with its weights, planned for `batch` (shared with `convnet import`) */
cn_status cli_load_any_weights(const char *path, const char *weights, int batch, int seed, cn_model **out);
cn_status cli_load_any_weights(const char *path, const char *weights, int batch, int seed, cn_model **out)
{
    cn_model *m = NULL;
    cn_status st = cn_model_load_any(&m, path);
    if (st != CN_OK) return st;
    if ((st = cn_model_plan(m, batch, CN_PLAN_INFER)) != CN_OK) goto fail;
    if (weights) {
        if (ends_with(weights, ".weights")) st = cn_darknet_load_weights(m, weights);
        else st = cli_load_weights(m, weights);
    } else if (!carries_weights(path)) {
        cn_log(CN_LOG_WARN, "%s: no --weights: using weights initialised from seed %d", path, seed);
        st = cn_model_init(m, (uint64_t)seed);
    }
    if (st != CN_OK) goto fail;
    *out = m;
    return CN_OK;
fail:
    cn_model_destroy(m);
    *out = NULL;
    return st;
}

int cmd_export(const cli_cmd *cmd, int argc, char **argv, cli_global *g)
{
    const char *weights = NULL, *onnx = NULL;
    int batch = 1, dyn = 0, opset = 13, seed = 0;
    cli_opt opts[] = {
        {"--weights", OPT_STR, &weights, "W", "weights: safetensors (convnet) or .weights (Darknet)", 0},
        {"--onnx", OPT_STR, &onnx, "OUT", "the ONNX file to write", 0},
        {"--batch", OPT_INT, &batch, "N", "batch size of the graph's inputs and outputs (default 1)", 0},
        {"--dynamic-batch", OPT_FLAG, &dyn, NULL, "write the batch dimension as the symbol N", 0},
        {"--opset", OPT_INT, &opset, "N", "ONNX opset, 13 to 17 (default 13)", 0},
        {"--seed", OPT_INT, &seed, "N", "initialisation seed when there are no weights (default 0)", 0},
        {NULL, OPT_FLAG, NULL, NULL, NULL, 0},
    };
    const char *pos[1];
    int npos;
    int rc = cli_parse(cmd, argc, argv, opts, g, pos, 1, &npos);
    if (rc != CLI_OK) return rc == CLI_HELP_SHOWN ? CLI_OK : rc;
    if ((rc = cli_apply_global(cmd, g)) != CLI_OK) return rc;
    if (npos != 1) return cli_usage_error(cmd, "expected one MODEL");
    if (!onnx) return cli_usage_error(cmd, "--onnx OUT is required");
    if (batch < 1) return cli_usage_error(cmd, "--batch %d: must be >= 1", batch);
    if (opset < 13 || opset > 17) return cli_usage_error(cmd, "--opset %d: convnet writes opsets 13 to 17", opset);
    cn_model *m;
    cn_status st = cli_load_any_weights(pos[0], weights, batch, seed, &m);
    if (st != CN_OK) return cli_fail(cmd, g, st);
    cn_onnx_export_opts eo = {.opset = opset, .dynamic_batch = dyn};
    st = cn_onnx_export(m, onnx, &eo);
    int layers = cn_model_layer_count(m);
    int64_t params = 0;
    for (int i = 0; i < cn_model_param_count(m); i++) {
        cn_param p;
        if (cn_model_param(m, i, &p) == CN_OK) params += cn_shape_numel(&p.shape);
    }
    cn_model_destroy(m);
    if (st != CN_OK) return cli_fail(cmd, g, st);
    if (g->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "onnx", onnx);
        cJSON_AddNumberToObject(o, "opset", opset);
        cJSON_AddNumberToObject(o, "layers", layers);
        cJSON_AddNumberToObject(o, "parameters", (double)params);
        return cli_print_json(o);
    }
    printf("wrote %s: %d layers, %lld parameter values, opset %d\n", onnx, layers, (long long)params, opset);
    return CLI_OK;
}
