/* args.c — the option parser shared by every command, with "did you mean" hints. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "core/text.h"

static cli_opt global_opts(cli_global *g, int i)
{
    cli_opt all[] = {
        {"--json", OPT_FLAG, &g->json, NULL, "print the result as one JSON object on stdout", 0},
        {"--threads", OPT_INT, &g->threads, "N", "worker threads (default: CONVNET_NUM_THREADS or all cores)", 0},
        {"--verbose", OPT_FLAG, &g->verbose, NULL, "more messages on stderr (also -v)", 0},
        {"--quiet", OPT_FLAG, &g->quiet, NULL, "only errors on stderr (also -q)", 0},
        {"--help", OPT_FLAG, &g->help, NULL, "show this help (also -h)", 0},
        {NULL, OPT_FLAG, NULL, NULL, NULL, 0},
    };
    return all[i];
}
#define N_GLOBAL 5

int cli_usage_error(const cli_cmd *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "convnet%s%s: ", cmd ? " " : "", cmd ? cmd->name : "");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n(see 'convnet %s%s--help')\n", cmd ? cmd->name : "", cmd ? " " : "");
    return CLI_USAGE;
}

static int set_value(const cli_cmd *cmd, cli_opt *o, const char *val)
{
    char *end;
    switch (o->kind) {
    case OPT_STR: *(const char **)o->dest = val; return CLI_OK;
    case OPT_INT: {
        errno = 0;
        long long v = strtoll(val, &end, 10);
        if (!*val || *end || errno || v < -2147483647LL || v > 2147483647LL)
            return cli_usage_error(cmd, "%s expects an integer, got '%s'", o->name, val);
        *(int *)o->dest = (int)v;
        return CLI_OK;
    }
    case OPT_FLOAT: {
        errno = 0;
        double v = strtod(val, &end);
        if (!*val || *end || errno || !isfinite(v))
            return cli_usage_error(cmd, "%s expects a number, got '%s'", o->name, val);
        *(double *)o->dest = v;
        return CLI_OK;
    }
    default: return cli_usage_error(cmd, "%s takes no value, got '%s'", o->name, val);
    }
}

int cli_parse(const cli_cmd *cmd, int argc, char **argv, cli_opt *opts, cli_global *g, const char **pos, int max_pos,
              int *npos)
{
    cli_opt globals[N_GLOBAL + 1];
    for (int i = 0; i <= N_GLOBAL; i++) globals[i] = global_opts(g, i);
    *npos = 0;
    int only_positional = 0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (only_positional || arg[0] != '-' || !strcmp(arg, "-")) {
            if (*npos >= max_pos)
                return cli_usage_error(cmd, "unexpected argument '%s' (takes at most %d)", arg, max_pos);
            pos[(*npos)++] = arg;
            continue;
        }
        if (!strcmp(arg, "--")) {
            only_positional = 1;
            continue;
        }
        if (!strcmp(arg, "-h")) arg = "--help";
        else if (!strcmp(arg, "-v")) arg = "--verbose";
        else if (!strcmp(arg, "-q")) arg = "--quiet";
        char name[64];
        const char *eq = strchr(arg, '=');
        size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
        if (len >= sizeof name) len = sizeof name - 1;
        memcpy(name, arg, len);
        name[len] = '\0';
        cli_opt *o = NULL;
        for (cli_opt *p = opts; p && p->name && !o; p++)
            if (!strcmp(p->name, name)) o = p;
        for (cli_opt *p = globals; p->name && !o; p++)
            if (!strcmp(p->name, name)) o = p;
        if (!o) {
            const char *names[64];
            int n = 0;
            for (cli_opt *p = opts; p && p->name && n < 56; p++) names[n++] = p->name;
            for (cli_opt *p = globals; p->name; p++) names[n++] = p->name;
            names[n] = NULL;
            const char *hint = cn_closest(name, names);
            if (hint) return cli_usage_error(cmd, "unknown option '%s' — did you mean '%s'?", name, hint);
            return cli_usage_error(cmd, "unknown option '%s'", name);
        }
        o->seen = 1;
        if (o->kind == OPT_FLAG) {
            if (eq) return cli_usage_error(cmd, "%s takes no value", o->name);
            *(int *)o->dest = 1;
            continue;
        }
        const char *val = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (!val) return cli_usage_error(cmd, "%s needs a value (%s)", o->name, o->metavar ? o->metavar : "VALUE");
        int rc = set_value(cmd, o, val);
        if (rc != CLI_OK) return rc;
    }
    if (g->help) {
        cli_print_help(cmd, opts);
        return CLI_HELP_SHOWN;
    }
    return cli_apply_global(cmd, g);
}

int cli_apply_global(const cli_cmd *cmd, const cli_global *g)
{
    if (g->threads < 0 || (g->threads && cn_set_num_threads(g->threads) != CN_OK))
        return cli_usage_error(cmd, "--threads %d: expected a thread count in 1..256", g->threads);
    if (g->quiet) cn_log_set_level(CN_LOG_ERROR);
    else if (g->verbose) cn_log_set_level(CN_LOG_DEBUG);
    else cn_log_set_level(CN_LOG_INFO);
    return CLI_OK;
}

static void print_opt(const cli_opt *o)
{
    char left[64];
    snprintf(left, sizeof left, "%s%s%s", o->name, o->metavar ? " " : "", o->metavar ? o->metavar : "");
    printf("  %-22s %s\n", left, o->help);
}

void cli_print_help(const cli_cmd *cmd, const cli_opt *opts)
{
    cli_global dummy = {0};
    printf("usage: convnet %s %s\n\n%s\n", cmd->name, cmd->usage, cmd->summary);
    if (cmd->details) printf("\n%s\n", cmd->details);
    if (opts && opts->name) {
        printf("\noptions:\n");
        for (const cli_opt *o = opts; o->name; o++) print_opt(o);
    }
    printf("\ncommon options:\n");
    for (int i = 0; i < N_GLOBAL; i++) {
        cli_opt o = global_opts(&dummy, i);
        print_opt(&o);
    }
}

int cli_fail(const cli_cmd *cmd, const cli_global *g, cn_status st)
{
    const char *msg = cn_last_error()[0] ? cn_last_error() : cn_status_name(st);
    fprintf(stderr, "convnet %s: %s\n", cmd->name, msg);
    if (g && g->json) {
        cJSON *o = cJSON_CreateObject(), *e = cJSON_AddObjectToObject(o, "error");
        cJSON_AddStringToObject(e, "status", cn_status_name(st));
        cJSON_AddStringToObject(e, "message", msg);
        cli_print_json(o);
    }
    return CLI_FAIL;
}

int cli_print_json(cJSON *obj)
{
    char *s = obj ? cJSON_PrintUnformatted(obj) : NULL;
    cJSON_Delete(obj);
    if (!s) {
        fprintf(stderr, "convnet: out of memory printing JSON\n");
        return CLI_FAIL;
    }
    puts(s);
    cJSON_free(s);
    return CLI_OK;
}

cJSON *cli_json_shape(const int64_t *dims, int ndim)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < ndim; i++) cJSON_AddItemToArray(a, cJSON_CreateNumber((double)dims[i]));
    return a;
}
