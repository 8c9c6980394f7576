/* cmd_import.c — `convnet import FILE [--weights W] --out OUT.safetensors`: an ONNX model, or a
 * Darknet .cfg with its .weights, converted to a convnet weights file that carries the model
 * text (so every other command can use it: summary, train, eval, predict). */
#include <stdio.h>

#include "cli.h"

cn_status cli_load_any_weights(const char *path, const char *weights, int batch, int seed, cn_model **out);

int cmd_import(const cli_cmd *cmd, int argc, char **argv, cli_global *g)
{
    const char *weights = NULL, *out = NULL;
    int batch = 1, seed = 0;
    cli_opt opts[] = {
        {"--weights", OPT_STR, &weights, "W", "Darknet .weights for a .cfg (ONNX files carry their own)", 0},
        {"--out", OPT_STR, &out, "OUT", "the convnet weights file to write (.safetensors)", 0},
        {"--batch", OPT_INT, &batch, "N", "batch size for a symbolic input dimension (default 1)", 0},
        {"--seed", OPT_INT, &seed, "N", "initialisation seed when there are no weights (default 0)", 0},
        {NULL, OPT_FLAG, NULL, NULL, NULL, 0},
    };
    const char *pos[1];
    int npos;
    int rc = cli_parse(cmd, argc, argv, opts, g, pos, 1, &npos);
    if (rc != CLI_OK) return rc == CLI_HELP_SHOWN ? CLI_OK : rc;
    if ((rc = cli_apply_global(cmd, g)) != CLI_OK) return rc;
    if (npos != 1) return cli_usage_error(cmd, "expected one FILE (.onnx or Darknet .cfg)");
    if (!out) return cli_usage_error(cmd, "--out OUT.safetensors is required");
    if (batch < 1) return cli_usage_error(cmd, "--batch %d: must be >= 1", batch);
    cn_model *m;
    cn_status st = cli_load_any_weights(pos[0], weights, batch, seed, &m);
    if (st != CN_OK) return cli_fail(cmd, g, st);
    st = cn_model_save_weights(m, out, NULL, NULL, 0);
    int layers = cn_model_layer_count(m);
    int64_t params = 0;
    for (int i = 0; i < cn_model_layer_count(m); i++) {
        cn_layer_info li;
        if (cn_model_layer(m, i, &li) == CN_OK) params += li.params;
    }
    cn_model_destroy(m);
    if (st != CN_OK) return cli_fail(cmd, g, st);
    if (g->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "out", out);
        cJSON_AddNumberToObject(o, "layers", layers);
        cJSON_AddNumberToObject(o, "params", (double)params);
        return cli_print_json(o);
    }
    printf("wrote %s: %d layers, %lld learnable parameters\n", out, layers, (long long)params);
    return CLI_OK;
}
