/* cmd_layers.c — `convnet layers [TYPE]`: every layer type with its options and defaults. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "convnet/model.h"
#include "core/text.h"

static cJSON *type_json(const cn_layer_type_info *t)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", t->name);
    cJSON_AddStringToObject(o, "summary", t->summary);
    cJSON *in = cJSON_AddArrayToObject(o, "inputs");
    cJSON_AddItemToArray(in, cJSON_CreateNumber(t->min_inputs));
    cJSON_AddItemToArray(in, cJSON_CreateNumber(t->max_inputs));
    cJSON *opts = cJSON_AddArrayToObject(o, "options");
    for (int i = 0; i < t->n_options; i++) {
        const cn_option_info *op = &t->options[i];
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "name", op->name);
        cJSON_AddStringToObject(j, "type", op->type);
        if (op->def) cJSON_AddStringToObject(j, "default", op->def);
        else cJSON_AddTrueToObject(j, "required");
        if (op->choices) {
            cJSON *ch = cJSON_AddArrayToObject(j, "choices");
            char buf[256];
            snprintf(buf, sizeof buf, "%s", op->choices);
            for (char *tok = strtok(buf, "|"); tok; tok = strtok(NULL, "|")) cJSON_AddItemToArray(ch, cJSON_CreateString(tok));
        }
        cJSON_AddStringToObject(j, "help", op->help);
        cJSON_AddItemToArray(opts, j);
    }
    return o;
}

static void type_text(const cn_layer_type_info *t, int verbose)
{
    if (!verbose) {
        printf("  %-20s %s\n", t->name, t->summary);
        return;
    }
    printf("[%s]  %s\n  inputs: %d..%d\n", t->name, t->summary, t->min_inputs, t->max_inputs);
    for (int i = 0; i < t->n_options; i++) {
        const cn_option_info *op = &t->options[i];
        char def[96];
        snprintf(def, sizeof def, "%s", op->def ? op->def : "(required)");
        printf("  %-16s %-8s %-12s %s%s%s%s\n", op->name, op->type, def, op->help, op->choices ? " [" : "",
               op->choices ? op->choices : "", op->choices ? "]" : "");
    }
}

int cmd_layers(const cli_cmd *cmd, int argc, char **argv, cli_global *g)
{
    const char *pos[1];
    int npos;
    cli_opt opts[] = {{NULL, OPT_FLAG, NULL, NULL, NULL, 0}};
    int rc = cli_parse(cmd, argc, argv, opts, g, pos, 1, &npos);
    if (rc != CLI_OK) return rc == CLI_HELP_SHOWN ? CLI_OK : rc;
    if (npos == 1) {
        const cn_layer_type_info *t = cn_layer_type_find(pos[0]);
        if (!t) {
            const char *names[128];
            int n = 0;
            for (int i = 0; i < cn_layer_type_count() && n < 127; i++) names[n++] = cn_layer_type_at(i)->name;
            names[n] = NULL;
            const char *hint = cn_closest(pos[0], names);
            return cli_fail(cmd, g, cn_set_error(CN_STATUS_NOT_FOUND, "no layer type '%s'%s%s%s", pos[0],
                                                 hint ? " — did you mean '" : "", hint ? hint : "", hint ? "'?" : ""));
        }
        if (g->json) return cli_print_json(type_json(t));
        type_text(t, 1);
        return CLI_OK;
    }
    if (g->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON *arr = cJSON_AddArrayToObject(o, "layers");
        for (int i = 0; i < cn_layer_type_count(); i++) cJSON_AddItemToArray(arr, type_json(cn_layer_type_at(i)));
        return cli_print_json(o);
    }
    printf("layer types (convnet layers TYPE for options):\n");
    for (int i = 0; i < cn_layer_type_count(); i++) type_text(cn_layer_type_at(i), 0);
    return CLI_OK;
}
