/* cli.h — what every `convnet` command shares: the command table entry, the option parser,
 * global options, and result output (text or one JSON object via cJSON).
 * Exit codes: 0 success, 1 the command failed (bad file, bad data), 2 usage error. */
#ifndef CN_CLI_H
#define CN_CLI_H

#include <cjson/cJSON.h>

#include "convnet/convnet.h"

enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2, CLI_HELP_SHOWN = -1 };

typedef enum { OPT_FLAG, OPT_STR, OPT_INT, OPT_FLOAT } cli_opt_kind;

typedef struct cli_opt {
    const char *name;     /* "--out" */
    cli_opt_kind kind;
    void *dest;           /* int* (flag, int), const char** (str), double* (float) */
    const char *metavar;  /* "FILE"; NULL for flags */
    const char *help;
    int seen;             /* set by the parser */
} cli_opt;

/* State shared by all commands (filled from the global options). */
typedef struct cli_global {
    int json;
    int threads;
    int verbose, quiet;
    int help;
} cli_global;

typedef struct cli_cmd {
    const char *name;
    const char *summary;   /* one line for `convnet --help` */
    const char *usage;     /* "FILE [options]" */
    const char *details;   /* paragraph for `convnet NAME --help`, may be NULL */
    int (*run)(const struct cli_cmd *cmd, int argc, char **argv, cli_global *g);
} cli_cmd;

/* Parse argv (argv[0] is the command name) against `opts` (terminated by {NULL}) plus the
 * global options. Positional arguments go to pos[0..*npos). Returns CLI_OK, CLI_USAGE
 * (message printed) or CLI_HELP_SHOWN (help printed). */
int cli_parse(const cli_cmd *cmd, int argc, char **argv, cli_opt *opts, cli_global *g, const char **pos, int max_pos,
              int *npos);
void cli_print_help(const cli_cmd *cmd, const cli_opt *opts);
/* Apply global options (threads, log level). Returns CLI_OK or CLI_USAGE. */
int cli_apply_global(const cli_cmd *cmd, const cli_global *g);

/* Report a library failure: one line on stderr "convnet <cmd>: <message>", and with --json
 * also {"error": {...}} on stdout. Returns CLI_FAIL. */
int cli_fail(const cli_cmd *cmd, const cli_global *g, cn_status st);
/* Report a usage error (printf-style): stderr line plus a pointer to --help. Returns CLI_USAGE. */
int cli_usage_error(const cli_cmd *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Print a JSON object on stdout and free it. Returns CLI_OK, or CLI_FAIL if it is NULL
 * (cJSON ran out of memory). */
int cli_print_json(cJSON *obj);

/* JSON helpers */
cJSON *cli_json_shape(const int64_t *dims, int ndim);
/* profile.c: the model's per-layer profile sums as a JSON array (ms per call, calls, MACs),
 * and that array printed as a table, "per" naming what a call is ("training step") */
cJSON *cli_profile_json(const cn_model *m);
void cli_profile_print(const cJSON *arr, const char *per);
cJSON *cli_json_cpu(void);

/* models (model_io.c): a model text file, or a weights file carrying its model text (then
 * *weights is set to it when NULL). cli_load_weights accepts weights files and checkpoints. */
cn_status cli_load_model(const char *path, const char **weights, cn_model **m);
cn_status cli_load_weights(cn_model *m, const char *weights);
int cli_model_has_loss(const cn_model *m);
cn_status cli_ensure_loss(cn_model *m, const cn_dataset_info *info);

/* the command table (main.c) */
extern const cli_cmd cli_commands[];
const cli_cmd *cli_find(const char *name);

/* commands: cmd_<name> for every line of commands.h */
#define CLI_COMMAND(name, summary, usage, details) int cmd_##name(const cli_cmd *cmd, int argc, char **argv, cli_global *g);
#include "commands.h"
#undef CLI_COMMAND

#endif
