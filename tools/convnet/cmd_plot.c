/* cmd_plot.c — `convnet plot RUNDIR --out curves.svg|.png`: loss and accuracy curves, training
 * and validation, from a run's log.jsonl. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "convnet/viz.h"

int cmd_plot(const cli_cmd *cmd, int argc, char **argv, cli_global *g)
{
    const char *out = NULL, *title = NULL;
    int width = 960, height = 360;
    cli_opt opts[] = {
        {"--out", OPT_STR, &out, "FILE", "the plot: .svg (vector) or .png/.jpg/.bmp/.tga (drawn by convnet)", 0},
        {"--width", OPT_INT, &width, "PX", "width in pixels (default 960)", 0},
        {"--height", OPT_INT, &height, "PX", "height in pixels (default 360)", 0},
        {"--title", OPT_STR, &title, "TEXT", "a title above the panels (default: the run directory's name)", 0},
        {NULL, OPT_FLAG, NULL, NULL, NULL, 0},
    };
    const char *pos[1];
    int npos;
    int rc = cli_parse(cmd, argc, argv, opts, g, pos, 1, &npos);
    if (rc != CLI_OK) return rc == CLI_HELP_SHOWN ? CLI_OK : rc;
    if (npos != 1) return cli_usage_error(cmd, "expected one RUNDIR (or a log.jsonl file)");
    if (!out) return cli_usage_error(cmd, "--out FILE is required");
    char path[4200], name[256];
    struct stat sb;
    int isdir = stat(pos[0], &sb) == 0 && S_ISDIR(sb.st_mode);
    snprintf(path, sizeof path, isdir ? "%s/log.jsonl" : "%s", pos[0]);
    /* default title: the run directory's name */
    snprintf(name, sizeof name, "%s", pos[0]);
    size_t n = strlen(name);
    while (n > 1 && name[n - 1] == '/') name[--n] = '\0';
    if (!isdir) {
        char *s = strrchr(name, '/');
        if (s)
            *s = '\0';
        else
            snprintf(name, sizeof name, "%s", ".");
    }
    const char *base = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
    if (!title) title = base;
    cn_run_log log;
    cn_status st = cn_run_log_load(&log, path);
    if (st != CN_OK) return cli_fail(cmd, g, st);
    st = cn_plot_curves_save(&log, out, width, height, title);
    int epochs = log.n;
    cn_run_log_free(&log);
    if (st != CN_OK) return cli_fail(cmd, g, st);
    if (g->json) {
        cJSON *root = cJSON_CreateObject();
        cJSON_AddStringToObject(root, "log", path);
        cJSON_AddStringToObject(root, "out", out);
        cJSON_AddNumberToObject(root, "epochs", epochs);
        return cli_print_json(root);
    }
    printf("wrote %s (%d epochs from %s)\n", out, epochs, path);
    return CLI_OK;
}
