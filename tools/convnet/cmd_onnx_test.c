/* cmd_onnx_test.c — `convnet onnx-test DIR...`: runs ONNX backend test cases in their standard
 * layout (DIR/model.onnx, DIR/test_data_set_N/input_K.pb and output_K.pb, tensors as
 * serialized TensorProto) through convnet's importer and compares the outputs.
 *
 * A DIR holding model.onnx is one case; any other DIR is a folder of cases (its
 * subdirectories that hold a model.onnx, in name order). For each data set the model is
 * imported with that set's inputs bound (inputs that convnet layers need as constants —
 * weights, shapes, pads — or that cannot share the batch axis become constants; the rest are
 * fed at run time), run, and every output compared with numpy.allclose's rule
 * |got - want| <= atol + rtol * |want| (NaN equals NaN): ONNX's usual rtol 1e-3, atol 1e-7.
 * A case convnet cannot run (an unsupported operator or type) is skipped with the reason.
 *
 * --cases LIST: the checked-in classification (tests/onnx/cases.txt): one line per case,
 *     `NAME run [rtol=X] [atol=X] [# why]` or `NAME skip REASON`. Listed skips are reported
 *     with their reason and not run; a case listed `run` that convnet skips is a failure; a
 *     case found in a DIR but not listed (or listed but not found) is a failure.
 * --write-cases FILE writes such a list from this run's results (a starting point to edit). */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "convnet/onnx.h"

#define MAX_TENSORS 32

typedef struct {
    char *name;
    int run;            /* 1 run, 0 skip */
    char *reason;
    double rtol, atol;  /* < 0: the defaults */
    int seen;
} list_entry;

typedef struct {
    list_entry *e;
    int n, cap;
} case_list;

typedef struct {
    char *dir, *name;
} case_ref;

enum { R_PASS, R_FAIL, R_SKIP };

static const char *T_ONNX = "model.onnx";

static int is_dir(const char *p)
{
    struct stat s;
    return stat(p, &s) == 0 && S_ISDIR(s.st_mode);
}

static int is_file(const char *p)
{
    struct stat s;
    return stat(p, &s) == 0 && S_ISREG(s.st_mode);
}

static char *dupstr(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

static const char *base_name(const char *p)
{
    size_t n = strlen(p);
    while (n > 1 && p[n - 1] == '/') n--;
    const char *b = p;
    for (size_t i = 0; i + 1 < n; i++)
        if (p[i] == '/') b = p + i + 1;
    return b;
}

static int cmp_ref(const void *a, const void *b) { return strcmp(((const case_ref *)a)->name, ((const case_ref *)b)->name); }

/* the cases under one DIR */
static int collect(const char *dir, case_ref **refs, int *n, int *cap)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, T_ONNX);
    int first = *n;
    if (is_file(path)) {
        if (*n == *cap) {
            *cap = *cap ? 2 * *cap : 256;
            *refs = realloc(*refs, (size_t)*cap * sizeof **refs);
        }
        char nm[512];
        snprintf(nm, sizeof nm, "%s", base_name(dir));
        char *slash = strchr(nm, '/');
        if (slash) *slash = '\0';
        (*refs)[(*n)++] = (case_ref){dupstr(dir), dupstr(nm)};
        return 0;
    }
    DIR *d = opendir(dir);
    if (!d) return -1;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        snprintf(path, sizeof path, "%s/%s/%s", dir, de->d_name, T_ONNX);
        if (!is_file(path)) continue;
        if (*n == *cap) {
            *cap = *cap ? 2 * *cap : 256;
            *refs = realloc(*refs, (size_t)*cap * sizeof **refs);
        }
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        (*refs)[(*n)++] = (case_ref){dupstr(path), dupstr(de->d_name)};
    }
    closedir(d);
    qsort(*refs + first, (size_t)(*n - first), sizeof **refs, cmp_ref);
    return 0;
}

static int read_list(const char *path, case_list *L, char *err, size_t cap)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, cap, "%s: %s", path, strerror(errno));
        return -1;
    }
    char line[2048];
    int ln = 0;
    while (fgets(line, sizeof line, f)) {
        ln++;
        char *s = line;
        s[strcspn(s, "\r\n")] = '\0';
        while (*s == ' ' || *s == '\t') s++;
        if (!*s || *s == '#') continue;
        char *name = strtok(s, " \t"), *kind = strtok(NULL, " \t"), *rest = strtok(NULL, "");
        if (!kind || (strcmp(kind, "run") && strcmp(kind, "skip"))) {
            snprintf(err, cap, "%s:%d: expected 'NAME run [rtol=X] [atol=X]' or 'NAME skip REASON'", path, ln);
            fclose(f);
            return -1;
        }
        if (L->n == L->cap) {
            L->cap = L->cap ? 2 * L->cap : 512;
            L->e = realloc(L->e, (size_t)L->cap * sizeof *L->e);
        }
        list_entry *e = &L->e[L->n++];
        memset(e, 0, sizeof *e);
        e->name = dupstr(name);
        e->run = !strcmp(kind, "run");
        e->rtol = e->atol = -1;
        while (rest && (*rest == ' ' || *rest == '\t')) rest++;
        if (!e->run) {
            if (!rest || !*rest) {
                snprintf(err, cap, "%s:%d: skip '%s' needs a reason", path, ln, name);
                fclose(f);
                return -1;
            }
            e->reason = dupstr(rest);
        } else if (rest) {
            char *hash = strchr(rest, '#');
            if (hash) *hash = '\0';
            for (char *tok = strtok(rest, " \t"); tok; tok = strtok(NULL, " \t")) {
                if (!strncmp(tok, "rtol=", 5)) e->rtol = strtod(tok + 5, NULL);
                else if (!strncmp(tok, "atol=", 5)) e->atol = strtod(tok + 5, NULL);
                else {
                    snprintf(err, cap, "%s:%d: unknown '%s' (rtol=X, atol=X, # comment)", path, ln, tok);
                    fclose(f);
                    return -1;
                }
            }
        }
    }
    fclose(f);
    return 0;
}

static list_entry *list_find(case_list *L, const char *name)
{
    for (int i = 0; i < L->n; i++)
        if (!strcmp(L->e[i].name, name)) return &L->e[i];
    return NULL;
}

/* a data type the comparison can stand behind: float data, int64 indices and shapes, bool masks */
static int dtype_ok(int dt) { return dt == 1 || dt == 7 || dt == 9; }

typedef struct {
    int status;
    char reason[1024];
    double max_abs;   /* worst |got - want| over the compared outputs */
    int datasets;
} case_result;

static void set_reason(case_result *r, int status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static void set_reason(case_result *r, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    r->status = status;
    vsnprintf(r->reason, sizeof r->reason, fmt, ap);
    va_end(ap);
}

static void free_tensors(cn_onnx_tensor *t, int n)
{
    for (int i = 0; i < n; i++) cn_onnx_tensor_free(&t[i]);
}

/* loads DIR/prefix_K.pb for K = 0, 1, ...; -1 with r set on a failure */
static int load_set(const char *dir, const char *prefix, cn_onnx_tensor *t, case_result *r)
{
    int n = 0;
    for (; n < MAX_TENSORS; n++) {
        char p[4300];
        snprintf(p, sizeof p, "%s/%s_%d.pb", dir, prefix, n);
        if (!is_file(p)) break;
        if (cn_onnx_tensor_load(&t[n], p) != CN_OK) {
            set_reason(r, R_SKIP, "%s_%d.pb is not a tensor convnet reads (%s)", prefix, n, cn_last_error());
            free_tensors(t, n);
            return -1;
        }
    }
    return n;
}

static void compare(const float *got, const cn_onnx_tensor *want, double rtol, double atol, double *worst_abs, double *worst_excess,
                    int64_t *at, float *g_at, float *w_at)
{
    for (int64_t i = 0; i < want->numel; i++) {
        double g = got[i], w = want->data[i];
        if (isnan(g) && isnan(w)) continue;
        double d = fabs(g - w);
        if (isnan(d) || isinf(d)) d = INFINITY;
        if (isinf(g) && isinf(w) && (g > 0) == (w > 0)) d = 0;
        double excess = d - (atol + rtol * fabs(w));
        if (d > *worst_abs) *worst_abs = d;
        if (excess > *worst_excess) *worst_excess = excess, *at = i, *g_at = (float)g, *w_at = (float)w;
    }
}

static void run_case(const case_ref *c, double rtol, double atol, case_result *r)
{
    memset(r, 0, sizeof *r);
    r->status = R_PASS;
    char model_path[4300];
    snprintf(model_path, sizeof model_path, "%s/%s", c->dir, T_ONNX);
    for (int ds = 0;; ds++) {
        char dsdir[4300];
        snprintf(dsdir, sizeof dsdir, "%s/test_data_set_%d", c->dir, ds);
        if (!is_dir(dsdir)) {
            if (ds == 0) set_reason(r, R_SKIP, "no test_data_set_0");
            return;
        }
        cn_onnx_tensor in[MAX_TENSORS], want[MAX_TENSORS];
        memset(in, 0, sizeof in);
        memset(want, 0, sizeof want);
        int nin = load_set(dsdir, "input", in, r);
        if (nin < 0) {
            /* an input that is not a tensor: the graph's declared types usually say why */
            cn_model *m = NULL;
            if (cn_onnx_import(&m, model_path, NULL, NULL) == CN_STATUS_UNSUPPORTED) {
                char why[900];
                snprintf(why, sizeof why, "%s", cn_last_error());
                set_reason(r, R_SKIP, "import: %s", why);
            }
            cn_model_destroy(m);
            return;
        }
        int nout = load_set(dsdir, "output", want, r);
        if (nout < 0) {
            free_tensors(in, nin);
            return;
        }
        cn_model *m = NULL;
        cn_onnx_info info;
        memset(&info, 0, sizeof info);
        for (int k = 0; k < nin && r->status == R_PASS; k++) {
            if (!dtype_ok(in[k].dtype))
                set_reason(r, R_SKIP, "input %d is %s: convnet computes in float32 (compared types: FLOAT, INT64 indices, BOOL masks)", k,
                           cn_onnx_dtype_name(in[k].dtype));
            else if (in[k].numel == 0) set_reason(r, R_SKIP, "input %d is an empty tensor: convnet has no empty tensors", k);
        }
        for (int k = 0; k < nout && r->status == R_PASS; k++) {
            if (!dtype_ok(want[k].dtype))
                set_reason(r, R_SKIP, "output %d is %s: convnet computes in float32 (compared types: FLOAT, INT64 indices, BOOL masks)", k,
                           cn_onnx_dtype_name(want[k].dtype));
            else if (want[k].numel == 0) set_reason(r, R_SKIP, "output %d is an empty tensor: convnet has no empty tensors", k);
        }
        if (r->status != R_PASS) goto next;
        cn_onnx_import_opts opts = {.n_bind = nin, .bind_values = in};
        cn_status st = cn_onnx_import(&m, model_path, &opts, &info);
        if (st != CN_OK) {
            set_reason(r, st == CN_STATUS_UNSUPPORTED ? R_SKIP : R_FAIL, "import: %s", cn_last_error());
            goto next;
        }
        if (info.n_outputs != nout) {
            set_reason(r, R_FAIL, "the graph has %d outputs, the data set %d", info.n_outputs, nout);
            goto next;
        }
        if (cn_model_layer_count(m) > 0) {
            int given = 0;
            for (int k = 0; k < info.n_inputs && k < nin; k++) {
                if (!info.inputs[k].layer) continue;
                if ((st = cn_model_set_input(m, info.inputs[k].layer, in[k].data)) != CN_OK) break;
                given++;
            }
            if (st == CN_OK && given) st = cn_model_forward(m, NULL, 0);
            else if (st == CN_OK) st = cn_set_error(CN_STATUS_INVALID_STATE, "the model has layers but no run-time inputs");
            if (st != CN_OK) {
                set_reason(r, R_FAIL, "run: %s", cn_last_error());
                goto next;
            }
        }
        for (int k = 0; k < nout; k++) {
            const cn_onnx_port *p = &info.outputs[k];
            const float *got = p->value.data;
            int64_t numel = p->value.numel;
            int ndim = p->layer ? p->ndim : p->value.ndim;
            const int64_t *dims = p->layer ? p->dims : p->value.dims;
            if (p->layer) {
                cn_shape s;
                if (cn_model_layer_output(m, p->layer, &got, &s) != CN_OK) {
                    set_reason(r, R_FAIL, "output %d '%s': %s", k, p->name, cn_last_error());
                    goto next;
                }
                numel = cn_shape_numel(&s);
            }
            int same = ndim == want[k].ndim && numel == want[k].numel;
            for (int d = 0; same && d < ndim; d++) same = dims[d] == want[k].dims[d];
            if (!same) {
                char a[128] = "", b[128] = "";
                size_t ua = 0, ub = 0;
                for (int d = 0; d < ndim && ua < sizeof a; d++) ua += (size_t)snprintf(a + ua, sizeof a - ua, "%s%lld", d ? "x" : "", (long long)dims[d]);
                for (int d = 0; d < want[k].ndim && ub < sizeof b; d++)
                    ub += (size_t)snprintf(b + ub, sizeof b - ub, "%s%lld", d ? "x" : "", (long long)want[k].dims[d]);
                set_reason(r, R_FAIL, "output %d '%s': shape %s, expected %s", k, p->name, ndim ? a : "scalar", want[k].ndim ? b : "scalar");
                goto next;
            }
            double worst_abs = 0, worst_excess = -INFINITY;
            int64_t at = -1;
            float g_at = 0, w_at = 0;
            compare(got, &want[k], rtol, atol, &worst_abs, &worst_excess, &at, &g_at, &w_at);
            if (worst_abs > r->max_abs) r->max_abs = worst_abs;
            if (worst_excess > 0) {
                set_reason(r, R_FAIL, "data set %d, output %d '%s': element %lld is %.9g, expected %.9g (|diff| %.3g > atol %g + rtol %g * |want|)", ds, k,
                           p->name, (long long)at, g_at, w_at, fabs((double)g_at - w_at), atol, rtol);
                goto next;
            }
        }
        r->datasets++;
    next:
        cn_model_destroy(m);
        cn_onnx_info_free(&info);
        free_tensors(in, nin);
        free_tensors(want, nout);
        if (r->status != R_PASS) return;
    }
}

int cmd_onnx_test(const cli_cmd *cmd, int argc, char **argv, cli_global *g)
{
    double rtol = 1e-3, atol = 1e-7;
    const char *list_path = NULL, *write_path = NULL;
    cli_opt opts[] = {
        {"--rtol", OPT_FLOAT, &rtol, "X", "relative tolerance (default 1e-3, ONNX's)", 0},
        {"--atol", OPT_FLOAT, &atol, "X", "absolute tolerance (default 1e-7, ONNX's)", 0},
        {"--cases", OPT_STR, &list_path, "LIST", "the checked-in list of cases to run and to skip (with reasons)", 0},
        {"--write-cases", OPT_STR, &write_path, "FILE", "write a case list from this run's results", 0},
        {NULL, OPT_FLAG, NULL, NULL, NULL, 0},
    };
    const char *pos[256];
    int npos;
    int rc = cli_parse(cmd, argc, argv, opts, g, pos, 256, &npos);
    if (rc != CLI_OK) return rc == CLI_HELP_SHOWN ? CLI_OK : rc;
    if ((rc = cli_apply_global(cmd, g)) != CLI_OK) return rc;
    if (!npos) return cli_usage_error(cmd, "expected one or more test DIRs");
    if (!(rtol >= 0) || !(atol >= 0)) return cli_usage_error(cmd, "tolerances must be >= 0");
    if (!cn_onnx_available()) return cli_fail(cmd, g, cn_onnx_import(&(cn_model *){NULL}, "onnx-test", NULL, NULL));
    case_list L = {0};
    char err[1024];
    if (list_path && read_list(list_path, &L, err, sizeof err)) {
        cn_set_error(CN_STATUS_FORMAT, "%s", err);
        return cli_fail(cmd, g, CN_STATUS_FORMAT);
    }
    case_ref *refs = NULL;
    int n = 0, cap = 0;
    for (int i = 0; i < npos; i++)
        if (collect(pos[i], &refs, &n, &cap)) {
            cn_set_error(CN_STATUS_IO, "%s: not a test case (no %s) nor a folder of them: %s", pos[i], T_ONNX, strerror(errno));
            return cli_fail(cmd, g, CN_STATUS_IO);
        }
    cJSON *root = g->json ? cJSON_CreateObject() : NULL, *arr = root ? cJSON_AddArrayToObject(root, "cases") : NULL;
    FILE *wf = NULL;
    if (write_path && !(wf = fopen(write_path, "w"))) {
        cn_set_error(CN_STATUS_IO, "%s: %s", write_path, strerror(errno));
        return cli_fail(cmd, g, CN_STATUS_IO);
    }
    if (wf) fprintf(wf, "# ONNX node test cases: NAME run [rtol=X] [atol=X] | NAME skip REASON\n");
    int passed = 0, failed = 0, skipped = 0;
    for (int i = 0; i < n; i++) {
        case_result r;
        list_entry *e = list_path ? list_find(&L, refs[i].name) : NULL;
        if (e) e->seen = 1;
        if (list_path && !e) {
            memset(&r, 0, sizeof r);
            set_reason(&r, R_FAIL, "not in the case list %s: add it as run or skip with a reason", list_path);
        } else if (e && !e->run) {
            memset(&r, 0, sizeof r);
            set_reason(&r, R_SKIP, "%s", e->reason);
        } else {
            run_case(&refs[i], e && e->rtol >= 0 ? e->rtol : rtol, e && e->atol >= 0 ? e->atol : atol, &r);
            if (e && r.status == R_SKIP) {
                char why[1024];
                snprintf(why, sizeof why, "%s", r.reason);
                set_reason(&r, R_FAIL, "listed as run, but skipped: %s", why);
            }
        }
        passed += r.status == R_PASS, failed += r.status == R_FAIL, skipped += r.status == R_SKIP;
        if (wf) {
            if (r.status == R_PASS) fprintf(wf, "%s run\n", refs[i].name);
            else { /* the reason without the model's path: "import: DIR/model.onnx: node ..." → "node ..." */
                const char *why = r.reason, *cut = strstr(why, "model.onnx: ");
                if (!strncmp(why, "import: ", 8) && cut) why = cut + strlen("model.onnx: ");
                fprintf(wf, "%s skip %s%s\n", refs[i].name, r.status == R_FAIL ? "FAILED: " : "", why);
            }
        }
        if (g->json) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "name", refs[i].name);
            cJSON_AddStringToObject(o, "status", r.status == R_PASS ? "pass" : r.status == R_FAIL ? "fail" : "skip");
            if (r.status != R_PASS) cJSON_AddStringToObject(o, "reason", r.reason);
            else {
                cJSON_AddNumberToObject(o, "data_sets", r.datasets);
                cJSON_AddNumberToObject(o, "max_abs_diff", r.max_abs);
            }
            cJSON_AddItemToArray(arr, o);
        } else if (r.status == R_PASS)
            printf("ok   %s (max |diff| %.3g)\n", refs[i].name, r.max_abs);
        else
            printf("%s %s: %s\n", r.status == R_FAIL ? "FAIL" : "skip", refs[i].name, r.reason);
        fflush(stdout);
    }
    for (int i = 0; i < L.n; i++)
        if (!L.e[i].seen) {
            failed++;
            if (g->json) {
                cJSON *o = cJSON_CreateObject();
                cJSON_AddStringToObject(o, "name", L.e[i].name);
                cJSON_AddStringToObject(o, "status", "fail");
                cJSON_AddStringToObject(o, "reason", "listed, but no such case in the given folders");
                cJSON_AddItemToArray(arr, o);
            } else
                printf("FAIL %s: listed in %s, but no such case in the given folders\n", L.e[i].name, list_path);
        }
    if (wf) fclose(wf);
    for (int i = 0; i < n; i++) free(refs[i].dir), free(refs[i].name);
    free(refs);
    for (int i = 0; i < L.n; i++) free(L.e[i].name), free(L.e[i].reason);
    free(L.e);
    if (g->json) {
        cJSON_AddNumberToObject(root, "passed", passed);
        cJSON_AddNumberToObject(root, "failed", failed);
        cJSON_AddNumberToObject(root, "skipped", skipped);
        cJSON_AddNumberToObject(root, "rtol", rtol);
        cJSON_AddNumberToObject(root, "atol", atol);
        rc = cli_print_json(root);
        return rc != CLI_OK ? rc : failed ? CLI_FAIL : CLI_OK;
    }
    printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
    return failed ? CLI_FAIL : CLI_OK;
}
