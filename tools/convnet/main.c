/* main.c — `convnet`: the command table and dispatch. Each command lives in cmd_<name>.c. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "core/text.h"

const cli_cmd cli_commands[] = {
#define CLI_COMMAND(name, summary, usage, details) {#name, summary, usage, details, cmd_##name},
#include "commands.h"
#undef CLI_COMMAND
    {NULL, NULL, NULL, NULL, NULL},
};

/* '-' and '_' are the same in command names: onnx-test is onnx_test */
static int same_name(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (*a != *b && !((*a == '-' || *a == '_') && (*b == '-' || *b == '_'))) return 0;
    return *a == *b;
}

const cli_cmd *cli_find(const char *name)
{
    for (const cli_cmd *c = cli_commands; c->name; c++)
        if (same_name(c->name, name)) return c;
    return NULL;
}

static void print_main_help(void)
{
    printf("usage: convnet COMMAND [options]\n\n"
           "convnet %s — convolutional neural networks in C.\n\ncommands:\n",
           cn_version());
    for (const cli_cmd *c = cli_commands; c->name; c++) printf("  %-10s %s\n", c->name, c->summary);
    printf("\ncommon options (every command):\n"
           "  --json                 print the result as one JSON object on stdout\n"
           "  --threads N            worker threads (default: CONVNET_NUM_THREADS or all cores)\n"
           "  -v, --verbose          more messages on stderr\n"
           "  -q, --quiet            only errors on stderr\n"
           "  -h, --help             help for the command\n"
           "  --version              same as 'convnet version'\n"
           "\nSee 'convnet COMMAND --help' for a command's options; docs/CLI.md for the whole manual.\n");
}

int cmd_help(const cli_cmd *cmd, int argc, char **argv, cli_global *g)
{
    const char *pos[1];
    int npos;
    cli_opt opts[] = {{NULL, OPT_FLAG, NULL, NULL, NULL, 0}};
    int rc = cli_parse(cmd, argc, argv, opts, g, pos, 1, &npos);
    if (rc != CLI_OK) return rc == CLI_HELP_SHOWN ? CLI_OK : rc;
    if (!npos) {
        print_main_help();
        return CLI_OK;
    }
    const cli_cmd *c = cli_find(pos[0]);
    if (!c) return cli_usage_error(cmd, "unknown command '%s'", pos[0]);
    char *args[] = {(char *)c->name, "--help", NULL};
    cli_global g2 = {0};
    return c->run(c, 2, args, &g2);
}

static int takes_value(const char *a) { return !strcmp(a, "--threads"); }

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_main_help();
        return CLI_USAGE;
    }
    if (argc > 500) return cli_usage_error(NULL, "too many arguments (%d)", argc);
    /* Leading options before the command: `convnet --version --json`, `convnet -h`,
     * `convnet --threads 2 inspect x.npy`. They are handed to the command's own parser. */
    char *lead[512];
    int nlead = 0, want_version = 0, want_help = 0, i = 1;
    for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
        if (!strcmp(argv[i], "--version")) want_version = 1;
        else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) want_help = 1;
        else {
            lead[nlead++] = argv[i];
            if (takes_value(argv[i]) && i + 1 < argc) lead[nlead++] = argv[++i];
        }
    }
    const cli_cmd *c = NULL;
    if (want_version) c = cli_find("version");
    else if (i < argc) {
        const char *name = argv[i++];
        c = cli_find(name);
        if (!c) {
            const char *names[64];
            int n = 0;
            for (const cli_cmd *k = cli_commands; k->name && n < 63; k++) names[n++] = k->name;
            names[n] = NULL;
            const char *hint = cn_closest(name, names);
            fprintf(stderr, "convnet: unknown command '%s'%s%s%s\n(see 'convnet --help' for the list)\n", name,
                    hint ? " — did you mean '" : "", hint ? hint : "", hint ? "'?" : "");
            return CLI_USAGE;
        }
    } else if (want_help) {
        print_main_help();
        return CLI_OK;
    } else if (nlead) {
        c = cli_find("help"); /* only options: let a parser name the bad one */
    } else {
        print_main_help();
        return CLI_USAGE;
    }
    char *args[1024];
    int n = 0;
    args[n++] = (char *)c->name;
    for (int k = 0; k < nlead; k++) args[n++] = lead[k];
    if (want_help && !want_version) args[n++] = "--help";
    for (; i < argc; i++) args[n++] = argv[i];
    args[n] = NULL;
    cli_global g = {0};
    return c->run(c, n, args, &g);
}
