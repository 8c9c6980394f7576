/* cmd_random.c — `convnet random`: seeded random tensors written as .npy. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

int cmd_random(const cli_cmd *cmd, int argc, char **argv, cli_global *g)
{
    const char *shape_text = NULL, *out = NULL, *dist = "uniform";
    int seed = 0, stream = CN_STREAM_USER;
    double lo = 0, hi = 1, mean = 0, std = 1, p = 0.5;
    cli_opt opts[] = {
        {"--shape", OPT_STR, &shape_text, "DIMS", "tensor shape, e.g. 8x3x32x32 (1 to 5 dims)", 0},
        {"--out", OPT_STR, &out, "FILE", "output .npy file (written atomically)", 0},
        {"--dist", OPT_STR, &dist, "NAME", "uniform | normal | bernoulli (default uniform)", 0},
        {"--seed", OPT_INT, &seed, "N", "seed (default 0)", 0},
        {"--stream", OPT_INT, &stream, "N", "stream id (default 1000, the first user stream)", 0},
        {"--lo", OPT_FLOAT, &lo, "X", "uniform: lower bound (default 0)", 0},
        {"--hi", OPT_FLOAT, &hi, "X", "uniform: upper bound (default 1)", 0},
        {"--mean", OPT_FLOAT, &mean, "X", "normal: mean (default 0)", 0},
        {"--std", OPT_FLOAT, &std, "X", "normal: standard deviation (default 1)", 0},
        {"--p", OPT_FLOAT, &p, "X", "bernoulli: probability of 1 (default 0.5)", 0},
        {NULL, OPT_FLAG, NULL, NULL, NULL, 0},
    };
    const char *pos[1];
    int npos;
    int rc = cli_parse(cmd, argc, argv, opts, g, pos, 0, &npos);
    if (rc != CLI_OK) return rc == CLI_HELP_SHOWN ? CLI_OK : rc;
    if (!shape_text) return cli_usage_error(cmd, "--shape is required");
    if (!out) return cli_usage_error(cmd, "--out is required");
    int kind = !strcmp(dist, "uniform") ? 0 : !strcmp(dist, "normal") ? 1 : !strcmp(dist, "bernoulli") ? 2 : -1;
    if (kind < 0) return cli_usage_error(cmd, "--dist '%s': expected uniform, normal or bernoulli", dist);
    if (kind == 0 && !(lo < hi)) return cli_usage_error(cmd, "--lo %g must be below --hi %g", lo, hi);
    if (kind == 1 && !(std >= 0)) return cli_usage_error(cmd, "--std %g must be >= 0", std);
    if (kind == 2 && !(p >= 0 && p <= 1)) return cli_usage_error(cmd, "--p %g must be in [0, 1]", p);
    if (stream < 0) return cli_usage_error(cmd, "--stream %d must be >= 0", stream);

    cn_shape s;
    cn_status st = cn_shape_parse(&s, shape_text);
    if (st != CN_OK) return cli_fail(cmd, g, st);
    cn_tensor *t = NULL;
    if ((st = cn_tensor_create_shape(&t, &s)) != CN_OK) return cli_fail(cmd, g, st);
    cn_rng r;
    cn_rng_init(&r, (uint64_t)(uint32_t)seed, (uint64_t)stream);
    size_t n = (size_t)cn_tensor_numel(t);
    if (kind == 0) cn_rng_fill_uniform(&r, t->data, n, (float)lo, (float)hi);
    else if (kind == 1) cn_rng_fill_normal(&r, t->data, n, (float)mean, (float)std);
    else cn_rng_fill_bernoulli(&r, t->data, n, (float)p);
    st = cn_npy_save_tensor(out, t);
    cn_tensor_destroy(t);
    if (st != CN_OK) return cli_fail(cmd, g, st);
    if (g->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "out", out);
        cJSON_AddItemToObject(o, "shape", cli_json_shape(s.dim, s.ndim));
        cJSON_AddStringToObject(o, "dist", dist);
        cJSON_AddNumberToObject(o, "seed", seed);
        return cli_print_json(o);
    }
    char buf[128];
    cn_log(CN_LOG_INFO, "wrote %s: %s %s (seed %d)", out, cn_shape_str(&s, buf, sizeof buf), dist, seed);
    return CLI_OK;
}
