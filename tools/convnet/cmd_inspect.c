/* cmd_inspect.c — `convnet inspect FILE`: validate a file and describe it. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

static int inspect_npy(const cli_cmd *cmd, cli_global *g, const char *path)
{
    cn_npy a;
    cn_status st = cn_npy_load(&a, path);
    if (st != CN_OK) return cli_fail(cmd, g, st);
    double lo = INFINITY, hi = -INFINITY, sum = 0;
    int64_t nonfinite = 0;
    for (int64_t i = 0; i < a.numel; i++) {
        float v = a.f32[i];
        if (!isfinite(v)) {
            nonfinite++;
            continue;
        }
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
        sum += v;
    }
    int64_t finite = a.numel - nonfinite;
    double mean = finite ? sum / (double)finite : 0;
    if (g->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "file", path);
        cJSON_AddStringToObject(o, "format", "npy");
        cJSON_AddStringToObject(o, "dtype", cn_dtype_name(a.dtype));
        cJSON_AddItemToObject(o, "shape", cli_json_shape(a.shape, a.ndim));
        cJSON_AddNumberToObject(o, "elements", (double)a.numel);
        if (finite) {
            cJSON_AddNumberToObject(o, "min", lo);
            cJSON_AddNumberToObject(o, "max", hi);
            cJSON_AddNumberToObject(o, "mean", mean);
        }
        cJSON_AddNumberToObject(o, "nonfinite", (double)nonfinite);
        cn_npy_free(&a);
        return cli_print_json(o);
    }
    printf("%s: npy, %s, shape (", path, cn_dtype_name(a.dtype));
    for (int i = 0; i < a.ndim; i++) printf("%s%lld", i ? ", " : "", (long long)a.shape[i]);
    printf("), %lld elements\n", (long long)a.numel);
    if (finite) printf("  min %.6g  max %.6g  mean %.6g\n", lo, hi, mean);
    if (nonfinite) printf("  %lld values are NaN or infinite\n", (long long)nonfinite);
    cn_npy_free(&a);
    return CLI_OK;
}

int cmd_inspect(const cli_cmd *cmd, int argc, char **argv, cli_global *g)
{
    const char *pos[1];
    int npos;
    cli_opt opts[] = {{NULL, OPT_FLAG, NULL, NULL, NULL, 0}};
    int rc = cli_parse(cmd, argc, argv, opts, g, pos, 1, &npos);
    if (rc != CLI_OK) return rc == CLI_HELP_SHOWN ? CLI_OK : rc;
    if (npos != 1) return cli_usage_error(cmd, "expected one FILE");
    const char *path = pos[0];
    /* sniff the format from the first bytes */
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
        return cli_fail(cmd, g, cn_set_error(CN_STATUS_IO, "%s: is a directory, expected a file", path));
    FILE *f = fopen(path, "rb");
    unsigned char magic[8] = {0};
    size_t got = 0;
    if (f) {
        got = fread(magic, 1, sizeof magic, f);
        fclose(f);
    } else {
        cn_npy dummy;
        return cli_fail(cmd, g, cn_npy_load(&dummy, path)); /* reports the OS reason */
    }
    if (got >= 6 && !memcmp(magic, "\x93NUMPY", 6)) return inspect_npy(cmd, g, path);
    return cli_fail(cmd, g, cn_set_error(CN_STATUS_UNSUPPORTED, "%s: unrecognized format (first bytes %02x %02x %02x %02x); "
                                         "inspect understands .npy", path, magic[0], magic[1], magic[2], magic[3]));
}
