/* cmd_dataset.c — `convnet dataset`: write MNIST-1D as .npy files, and describe any dataset
 * spec (sizes, shapes, target kind, classes, value range, per-channel statistics). */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

static const char *kind_name(cn_target_kind k)
{
    switch (k) {
    case CN_TARGET_NONE: return "none";
    case CN_TARGET_CLASS: return "class";
    case CN_TARGET_DENSE_CLASS: return "dense_class";
    case CN_TARGET_TENSOR: return "tensor";
    case CN_TARGET_BOXES: return "boxes";
    }
    return "?";
}

typedef struct {
    float lo, hi;          /* value range over the samples scanned */
    int64_t scanned;
    int64_t *counts;       /* per class (CLASS targets), or NULL */
    float mean[64], std[64];
    int nch;
} part_summary;

static cn_status summarize(const cn_dataset *d, int stats, int64_t max_scan, part_summary *s)
{
    const cn_dataset_info *info = cn_dataset_info_of(d);
    memset(s, 0, sizeof *s);
    s->lo = INFINITY, s->hi = -INFINITY;
    cn_status st = CN_OK;
    int64_t xs = cn_dataset_info_sample_size(info), ts = cn_dataset_info_target_size(info);
    float *x = cn_malloc((size_t)xs * sizeof(float), "dataset info"), *t = cn_malloc((size_t)(ts + 1) * sizeof(float), "dataset info");
    if (!x || !t) {
        st = CN_STATUS_NOMEM;
        goto done;
    }
    s->scanned = info->n < max_scan ? info->n : max_scan;
    for (int64_t i = 0; i < s->scanned && st == CN_OK; i++) {
        /* spread over the set when scanning part of it */
        int64_t k = s->scanned == info->n ? i : i * (info->n / s->scanned);
        if ((st = cn_dataset_get(d, k, x, t)) != CN_OK) break;
        for (int64_t j = 0; j < xs; j++) s->lo = fminf(s->lo, x[j]), s->hi = fmaxf(s->hi, x[j]);
    }
    if (st == CN_OK && info->target_kind == CN_TARGET_CLASS) {
        if (!(s->counts = cn_calloc((size_t)info->num_classes, sizeof(int64_t), "class counts"))) st = CN_STATUS_NOMEM;
        else st = cn_dataset_class_counts(d, s->counts);
    }
    s->nch = info->sample.ndim >= 2 ? (int)info->sample.dim[0] : 1;
    if (st == CN_OK && stats) {
        if (s->nch > 64) st = cn_set_error(CN_STATUS_UNSUPPORTED, "%s: --stats handles at most 64 channels, samples have %d", info->name, s->nch);
        else st = cn_dataset_channel_stats(d, 0, s->mean, s->std);
    }
done:
    cn_free(x);
    cn_free(t);
    return st;
}

static cJSON *part_json(const cn_dataset *d, const part_summary *s, int stats)
{
    const cn_dataset_info *info = cn_dataset_info_of(d);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", info->name);
    cJSON_AddNumberToObject(o, "n", (double)info->n);
    cJSON_AddItemToObject(o, "sample", cli_json_shape(info->sample.dim, info->sample.ndim));
    cJSON_AddStringToObject(o, "target_kind", kind_name(info->target_kind));
    cJSON_AddItemToObject(o, "target", cli_json_shape(info->target.dim, info->target.ndim));
    cJSON_AddNumberToObject(o, "num_classes", info->num_classes);
    if (cn_dataset_class_name(d, 0)) {
        cJSON *names = cJSON_AddArrayToObject(o, "class_names");
        for (int k = 0; k < info->num_classes; k++) cJSON_AddItemToArray(names, cJSON_CreateString(cn_dataset_class_name(d, k)));
    }
    if (s->counts) {
        cJSON *c = cJSON_AddArrayToObject(o, "class_counts");
        for (int k = 0; k < info->num_classes; k++) cJSON_AddItemToArray(c, cJSON_CreateNumber((double)s->counts[k]));
    }
    cJSON *r = cJSON_AddArrayToObject(o, "range");
    cJSON_AddItemToArray(r, cJSON_CreateNumber(s->lo));
    cJSON_AddItemToArray(r, cJSON_CreateNumber(s->hi));
    cJSON_AddNumberToObject(o, "range_samples", (double)s->scanned);
    if (stats) {
        cJSON *m = cJSON_AddArrayToObject(o, "mean"), *sd = cJSON_AddArrayToObject(o, "std");
        for (int c = 0; c < s->nch; c++) cJSON_AddItemToArray(m, cJSON_CreateNumber(s->mean[c])), cJSON_AddItemToArray(sd, cJSON_CreateNumber(s->std[c]));
    }
    return o;
}

static void part_text(const char *label, const cn_dataset *d, const part_summary *s, int stats)
{
    const cn_dataset_info *info = cn_dataset_info_of(d);
    char sb[64], tb[64];
    cn_shape_str(&info->sample, sb, sizeof sb);
    printf("%-5s %s: %lld samples of %s", label, info->name, (long long)info->n, sb);
    if (info->target_kind == CN_TARGET_CLASS) printf(", %d classes", info->num_classes);
    else if (info->target_kind != CN_TARGET_NONE)
        printf(", %s targets %s%s", kind_name(info->target_kind), cn_shape_str(&info->target, tb, sizeof tb), info->num_classes ? "" : "");
    if (info->target_kind == CN_TARGET_DENSE_CLASS || info->target_kind == CN_TARGET_BOXES) printf(" (%d classes)", info->num_classes);
    printf("; values %.4g..%.4g%s\n", s->lo, s->hi, s->scanned < info->n ? " (sampled)" : "");
    if (s->counts || cn_dataset_class_name(d, 0)) {
        for (int k = 0; k < info->num_classes && k < 100; k++) {
            const char *nm = cn_dataset_class_name(d, k);
            printf("      class %d%s%s%s", k, nm ? " " : "", nm ? nm : "", s->counts ? ":" : "\n");
            if (s->counts) printf(" %lld\n", (long long)s->counts[k]);
        }
        if (info->num_classes > 100) printf("      ... %d classes in all\n", info->num_classes);
    }
    if (stats)
        for (int c = 0; c < s->nch; c++) printf("      channel %d: mean %.6g std %.6g\n", c, s->mean[c], s->std[c]);
}

static int dataset_info(const cli_cmd *cmd, cli_global *g, const char *spec, int stats, int scan)
{
    cn_dataset *tr = NULL, *te = NULL;
    part_summary ps[2];
    memset(ps, 0, sizeof ps);
    cn_status st = cn_dataset_open(&tr, &te, spec);
    if (st == CN_OK) st = summarize(tr, stats, scan, &ps[0]);
    if (st == CN_OK && te) st = summarize(te, 0, scan, &ps[1]);
    int rc = CLI_OK;
    if (st != CN_OK) rc = cli_fail(cmd, g, st);
    else if (g->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "spec", spec);
        cJSON_AddItemToObject(o, "train", part_json(tr, &ps[0], stats));
        if (te) cJSON_AddItemToObject(o, "test", part_json(te, &ps[1], 0));
        else cJSON_AddNullToObject(o, "test");
        rc = cli_print_json(o);
    } else {
        part_text("train", tr, &ps[0], stats);
        if (te) part_text("test", te, &ps[1], 0);
        else printf("test  (none)\n");
    }
    cn_free(ps[0].counts), cn_free(ps[1].counts);
    cn_dataset_destroy(tr), cn_dataset_destroy(te);
    return rc;
}

static int dataset_mnist1d(const cli_cmd *cmd, cli_global *g, const char *out, int seed, int n, int seed_seen)
{
    struct stat sb;
    if (stat(out, &sb) != 0 && mkdir(out, 0777) != 0) {
        cn_set_error(CN_STATUS_IO, "%s: cannot create the folder", out);
        return cli_fail(cmd, g, CN_STATUS_IO);
    }
    cn_mnist1d_params p;
    cn_mnist1d_params_default(&p);
    if (seed_seen) p.seed = (uint32_t)seed;
    if (n > 0) p.num_samples = n;
    cn_mnist1d d;
    cn_status st = cn_mnist1d_generate(&p, &d);
    if (st == CN_OK) {
        st = cn_mnist1d_save_npy(&d, out);
        if (st == CN_OK) {
            if (g->json) {
                cJSON *o = cJSON_CreateObject();
                cJSON_AddStringToObject(o, "out", out);
                cJSON_AddNumberToObject(o, "seed", p.seed);
                cJSON_AddNumberToObject(o, "n_train", (double)d.n_train);
                cJSON_AddNumberToObject(o, "n_test", (double)d.n_test);
                cJSON_AddNumberToObject(o, "length", (double)d.length);
                cJSON *f = cJSON_AddArrayToObject(o, "files");
                static const char *const files[] = {"x_train.npy", "y_train.npy", "x_test.npy", "y_test.npy", "t.npy"};
                for (int k = 0; k < 5; k++) cJSON_AddItemToArray(f, cJSON_CreateString(files[k]));
                cli_print_json(o);
            } else
                cn_log(CN_LOG_INFO, "wrote %s/{x_train,y_train,x_test,y_test,t}.npy: MNIST-1D, %lld train and %lld test examples of length %lld "
                       "(seed %u); load them with --data npy:%s", out, (long long)d.n_train, (long long)d.n_test, (long long)d.length, p.seed,
                       out);
        }
        cn_mnist1d_free(&d);
    }
    return st == CN_OK ? CLI_OK : cli_fail(cmd, g, st);
}

int cmd_dataset(const cli_cmd *cmd, int argc, char **argv, cli_global *g)
{
    const char *out = NULL;
    int seed = 42, n = 0, stats = 0, scan = 1000;
    cli_opt opts[] = {
        {"--out", OPT_STR, &out, "DIR", "mnist1d: the folder to write (created if missing)", 0},
        {"--seed", OPT_INT, &seed, "S", "mnist1d: generator seed (default 42: the frozen standard dataset)", 0},
        {"--n", OPT_INT, &n, "N", "mnist1d: total examples, train and test (default 5000)", 0},
        {"--stats", OPT_FLAG, &stats, NULL, "info: per-channel mean and std of the training part (all of it)", 0},
        {"--scan", OPT_INT, &scan, "N", "info: samples read for the value range (default 1000)", 0},
        {NULL, OPT_FLAG, NULL, NULL, NULL, 0},
    };
    const char *pos[2];
    int npos;
    int rc = cli_parse(cmd, argc, argv, opts, g, pos, 2, &npos);
    if (rc != CLI_OK) return rc == CLI_HELP_SHOWN ? CLI_OK : rc;
    if (npos < 1) return cli_usage_error(cmd, "expected a subcommand: mnist1d or info");
    if (!strcmp(pos[0], "mnist1d")) {
        if (npos != 1) return cli_usage_error(cmd, "mnist1d takes no argument besides --out DIR");
        if (!out) return cli_usage_error(cmd, "mnist1d: --out DIR is required");
        if (seed < 0) return cli_usage_error(cmd, "--seed %d: must be >= 0", seed);
        if (n < 0) return cli_usage_error(cmd, "--n %d: must be >= 0", n);
        return dataset_mnist1d(cmd, g, out, seed, n, opts[1].seen);
    }
    if (!strcmp(pos[0], "info")) {
        if (npos != 2) return cli_usage_error(cmd, "info: expected one dataset SPEC (e.g. fashion-mnist, npy:DIR, synthetic-seg)");
        if (scan < 1) return cli_usage_error(cmd, "--scan %d: must be >= 1", scan);
        return dataset_info(cmd, g, pos[1], stats, scan);
    }
    static const char *const subs[] = {"mnist1d", "info", NULL};
    const char *near = NULL;
    for (int k = 0; subs[k]; k++)
        if (!strncmp(subs[k], pos[0], 3)) near = subs[k];
    if (near) return cli_usage_error(cmd, "unknown subcommand '%s' — did you mean '%s'?", pos[0], near);
    return cli_usage_error(cmd, "unknown subcommand '%s' (mnist1d, info)", pos[0]);
}
