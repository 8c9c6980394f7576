/* profile.c — the per-layer time table of `train --profile` and `summary --profile`, from a
 * model's profile sums (cn_model_set_profiling). */
#include <stdio.h>

#include "cli.h"

cJSON *cli_profile_json(const cn_model *m)
{
    cJSON *arr = cJSON_CreateArray();
    int n = cn_model_layer_count(m);
    for (int i = 0; i < n; i++) {
        cn_layer_info li;
        cn_model_layer(m, i, &li);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", li.name);
        cJSON_AddStringToObject(o, "type", li.type);
        cJSON_AddNumberToObject(o, "forward_calls", (double)li.forward_calls);
        cJSON_AddNumberToObject(o, "backward_calls", (double)li.backward_calls);
        cJSON_AddNumberToObject(o, "forward_ms", li.forward_calls ? 1e3 * li.forward_s / (double)li.forward_calls : 0);
        cJSON_AddNumberToObject(o, "backward_ms", li.backward_calls ? 1e3 * li.backward_s / (double)li.backward_calls : 0);
        cJSON_AddNumberToObject(o, "macs", (double)li.macs);
        cJSON_AddItemToArray(arr, o);
    }
    return arr;
}

static double jnum(const cJSON *o, const char *k) { return cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(o, k)); }
static const char *jstr(const cJSON *o, const char *k) { return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k)); }

void cli_profile_print(const cJSON *arr, const char *per)
{
    double total = 0;
    const cJSON *o;
    cJSON_ArrayForEach(o, arr) total += jnum(o, "forward_ms") + jnum(o, "backward_ms");
    printf("\nprofile (mean ms per %s; GFLOP/s = 2 x MACs / forward time, forward + backward = 3x):\n", per);
    printf("%-20s %-22s %10s %10s %7s %9s %9s\n", "layer", "type", "fwd_ms", "bwd_ms", "share", "fwd_GF/s", "f+b_GF/s");
    cJSON_ArrayForEach(o, arr) {
        double f = jnum(o, "forward_ms"), b = jnum(o, "backward_ms"), macs = jnum(o, "macs");
        char gf[16] = "-", gfb[16] = "-";
        if (macs > 0 && f > 0) snprintf(gf, sizeof gf, "%.1f", 2 * macs / (f * 1e6));
        if (macs > 0 && f + b > 0 && jnum(o, "backward_calls") > 0) snprintf(gfb, sizeof gfb, "%.1f", 6 * macs / ((f + b) * 1e6));
        printf("%-20s %-22s %10.3f %10.3f %6.1f%% %9s %9s\n", jstr(o, "name"), jstr(o, "type"), f, b,
               total > 0 ? 100 * (f + b) / total : 0, gf, gfb);
    }
    printf("%-20s %-22s %10s %10s %7s  %.3f ms per %s in the layers\n", "total", "", "", "", "", total, per);
}
