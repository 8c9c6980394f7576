/* cmd_report.c — `convnet report RUNDIR --out report.html`: one self-contained HTML page for a
 * training run (metrics, curves, model summary, filters, example predictions, confusion matrix). */
#include <stdio.h>

#include "cli.h"
#include "convnet/viz.h"

int cmd_report(const cli_cmd *cmd, int argc, char **argv, cli_global *g)
{
    cn_report_config rc_ = cn_report_defaults();
    const char *out = NULL;
    cli_opt opts[] = {
        {"--out", OPT_STR, &out, "FILE", "the HTML page to write", 0},
        {"--data", OPT_STR, &rc_.data, "SPEC", "dataset for example predictions (its test part), e.g. fashion-mnist",
         0},
        {"--examples", OPT_INT, &rc_.examples, "N", "how many example predictions (default 16)", 0},
        {"--classes", OPT_STR, &rc_.classes, "LIST", "class names separated by commas (fashion-mnist's are built in)",
         0},
        {"--filter-layers", OPT_INT, &rc_.max_filter_layers, "N", "conv layers whose filters are shown (default 4)", 0},
        {NULL, OPT_FLAG, NULL, NULL, NULL, 0},
    };
    const char *pos[1];
    int npos;
    int rc = cli_parse(cmd, argc, argv, opts, g, pos, 1, &npos);
    if (rc != CLI_OK) return rc == CLI_HELP_SHOWN ? CLI_OK : rc;
    if (npos != 1) return cli_usage_error(cmd, "expected one RUNDIR");
    if (!out) return cli_usage_error(cmd, "--out FILE is required");
    if (rc_.examples < 0 || rc_.examples > 1000)
        return cli_usage_error(cmd, "--examples %d: expected 0..1000", rc_.examples);
    if (rc_.max_filter_layers < 0) return cli_usage_error(cmd, "--filter-layers must be >= 0");
    cn_status st = cn_report_write(pos[0], out, &rc_);
    if (st != CN_OK) return cli_fail(cmd, g, st);
    if (g->json) {
        cJSON *root = cJSON_CreateObject();
        cJSON_AddStringToObject(root, "run", pos[0]);
        cJSON_AddStringToObject(root, "out", out);
        return cli_print_json(root);
    }
    printf("wrote %s\n", out);
    return CLI_OK;
}
