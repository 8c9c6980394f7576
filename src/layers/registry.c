/* registry.c — the table of layer types, derived from layer_list.h, and the public
 * descriptions of their options. */
#include <string.h>

#include "layer.h"

#define CN_LAYER(n) extern const cn_layer_ops cn_layer_##n;
#include "layer_list.h"
#undef CN_LAYER

static const cn_layer_ops *const all_ops[] = {
#define CN_LAYER(n) &cn_layer_##n,
#include "layer_list.h"
#undef CN_LAYER
};
#define N_TYPES ((int)(sizeof all_ops / sizeof all_ops[0]))

static const char *type_names[N_TYPES + 1];
static cn_layer_type_info infos[N_TYPES];
static cn_option_info option_infos[N_TYPES][CN_MAX_OPTS];
static char option_defaults[N_TYPES][CN_MAX_OPTS][64];

static const char *const type_text[] = {
    [CN_OPT_INT] = "int", [CN_OPT_FLOAT] = "float", [CN_OPT_BOOL] = "bool", [CN_OPT_ENUM] = "enum",
    [CN_OPT_INTS] = "ints", [CN_OPT_FLOATS] = "floats", [CN_OPT_STRING] = "string", [CN_OPT_PADDING] = "padding",
};

/* built once; the tables are static, so this is idempotent and cheap */
static void build(void)
{
    static int built;
    if (built) return;
    for (int t = 0; t < N_TYPES; t++) {
        const cn_layer_ops *ops = all_ops[t];
        type_names[t] = ops->name;
        int n = 0;
        for (; ops->opts && ops->opts[n].name && n < CN_MAX_OPTS; n++) {
            const cn_opt_spec *o = &ops->opts[n];
            cn_option_info *info = &option_infos[t][n];
            info->name = o->name;
            info->type = type_text[o->type];
            info->def = o->def;
            info->choices = o->choices;
            info->help = o->help;
            if (o->def) { /* normalize the default's spelling through the parser */
                char cfg[4096];
                if (ops->cfg_size <= sizeof cfg) {
                    cn_opts_defaults(ops, cfg);
                    cn_opts_value_text(o, cfg, option_defaults[t][n], sizeof option_defaults[t][n]);
                    info->def = option_defaults[t][n];
                }
            }
        }
        infos[t] = (cn_layer_type_info){ops->name, ops->summary, ops->min_inputs, ops->max_inputs, ops->is_loss, n, option_infos[t]};
    }
    type_names[N_TYPES] = NULL;
    built = 1;
}

const cn_layer_ops *cn_layer_ops_find(const char *name)
{
    for (int t = 0; t < N_TYPES; t++)
        if (!strcmp(all_ops[t]->name, name)) return all_ops[t];
    return NULL;
}

const char *const *cn_layer_type_names(void)
{
    build();
    return type_names;
}

int cn_layer_type_count(void) { return N_TYPES; }

const cn_layer_type_info *cn_layer_type_at(int i)
{
    build();
    return i >= 0 && i < N_TYPES ? &infos[i] : NULL;
}

const cn_layer_type_info *cn_layer_type_find(const char *name)
{
    build();
    for (int t = 0; t < N_TYPES; t++)
        if (!strcmp(all_ops[t]->name, name)) return &infos[t];
    return NULL;
}
