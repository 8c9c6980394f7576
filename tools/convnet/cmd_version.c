/* cmd_version.c — `convnet version`: version, CPU, features, kernels, threads. */
#include <stdio.h>

#include "cli.h"

cJSON *cli_json_cpu(void)
{
    const cn_cpu_info *c = cn_cpu();
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "vendor", c->vendor);
    cJSON_AddStringToObject(o, "brand", c->brand);
    cJSON_AddNumberToObject(o, "logical_cores", c->logical_cores);
    cJSON *f = cJSON_AddArrayToObject(o, "features");
    struct { const char *name; int on; } feats[] = {
        {"sse2", c->sse2}, {"sse4.1", c->sse41}, {"avx", c->avx}, {"avx2", c->avx2}, {"fma", c->fma},
        {"f16c", c->f16c}, {"avx512f", c->avx512f}, {"avx512bw", c->avx512bw}, {"avx512dq", c->avx512dq},
        {"avx512vl", c->avx512vl},
    };
    for (size_t i = 0; i < sizeof feats / sizeof feats[0]; i++)
        if (feats[i].on) cJSON_AddItemToArray(f, cJSON_CreateString(feats[i].name));
    return o;
}

int cmd_version(const cli_cmd *cmd, int argc, char **argv, cli_global *g)
{
    const char *pos[1];
    int npos;
    cli_opt opts[] = {{NULL, OPT_FLAG, NULL, NULL, NULL, 0}};
    int rc = cli_parse(cmd, argc, argv, opts, g, pos, 0, &npos);
    if (rc != CLI_OK) return rc == CLI_HELP_SHOWN ? CLI_OK : rc;

    const cn_cpu_info *c = cn_cpu();
    if (g->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", "convnet");
        cJSON_AddStringToObject(o, "version", cn_version());
        cJSON_AddItemToObject(o, "cpu", cli_json_cpu());
        cJSON_AddStringToObject(o, "isa", cn_isa_name(cn_isa_active()));
        cJSON *isas = cJSON_AddArrayToObject(o, "isa_available");
        for (int i = 0; i < CN_ISA_COUNT_; i++)
            if (cn_isa_available((cn_isa)i)) cJSON_AddItemToArray(isas, cJSON_CreateString(cn_isa_name((cn_isa)i)));
        cJSON_AddNumberToObject(o, "threads", cn_num_threads());
        cJSON_AddStringToObject(o, "compiler", __VERSION__);
        return cli_print_json(o);
    }
    printf("convnet %s\n", cn_version());
    printf("cpu:      %s (%s, %d logical cores)\n", c->brand, c->vendor, c->logical_cores);
    printf("features:%s%s%s%s%s%s%s%s\n", c->sse2 ? " sse2" : "", c->sse41 ? " sse4.1" : "", c->avx ? " avx" : "",
           c->avx2 ? " avx2" : "", c->fma ? " fma" : "", c->avx512f ? " avx512f" : "", c->avx512bw ? " avx512bw" : "",
           c->avx512vl ? " avx512vl" : "");
    printf("kernels:  %s (available:", cn_isa_name(cn_isa_active()));
    for (int i = 0; i < CN_ISA_COUNT_; i++)
        if (cn_isa_available((cn_isa)i)) printf(" %s", cn_isa_name((cn_isa)i));
    printf(")\nthreads:  %d\ncompiler: %s\n", cn_num_threads(), __VERSION__);
    return CLI_OK;
}
