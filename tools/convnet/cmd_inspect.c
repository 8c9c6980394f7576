/* cmd_inspect.c — `convnet inspect FILE [--weights W]`: recognise a file by its content (never
 * by its name), read it completely with the library's own parsers, and print what it holds —
 * or the parser's precise reason why it is invalid, with exit status 1.
 *
 * Formats are the rows of `formats` below: a match function that looks at the first bytes and
 * an inspect function. The first row that matches inspects the file. An inspect function
 * validates everything first, then builds one JSON object (printed with --json) and, for text
 * output, prints the same facts; on failure it prints nothing and returns the status (the
 * library has set the message). Adding a format (images, .npz, ONNX, Darknet ...): write its
 * two functions and add one row; its name then also appears in the "unrecognized format"
 * message. Folders are recognised by the files in them (an MNIST-1D folder, a run directory). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "convnet/darknet.h"
#include "convnet/onnx.h"
#include "io/runlog.h"

#define SNIFF_BYTES 4096
#define CKPT_KEY "convnet.checkpoint"

/* what the match functions see */
typedef struct sniff {
    const unsigned char *b; /* the first bytes of the file */
    size_t n;               /* how many (at most SNIFF_BYTES) */
} sniff;

typedef struct inspect_ctx {
    const char *weights; /* --weights W, or NULL */
    int text;            /* print text as well as building the JSON object */
} inspect_ctx;

typedef cn_status (*inspect_fn)(const inspect_ctx *c, const char *path, const sniff *s, cJSON **out);

/* ---- value statistics ----------------------------------------------------------------- */
typedef struct stats {
    int64_t n, nonfinite;
    double lo, hi, sum;
} stats;

static void stats_init(stats *s) { *s = (stats){0, 0, INFINITY, -INFINITY, 0}; }

static void stats_add(stats *s, const float *v, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        s->n++;
        if (!isfinite(v[i])) {
            s->nonfinite++;
            continue;
        }
        s->lo = v[i] < s->lo ? v[i] : s->lo;
        s->hi = v[i] > s->hi ? v[i] : s->hi;
        s->sum += v[i];
    }
}

static int64_t stats_finite(const stats *s) { return s->n - s->nonfinite; }
static double stats_mean(const stats *s) { return stats_finite(s) ? s->sum / (double)stats_finite(s) : 0; }

static void stats_json(cJSON *o, const stats *s)
{
    if (stats_finite(s)) {
        cJSON_AddNumberToObject(o, "min", s->lo);
        cJSON_AddNumberToObject(o, "max", s->hi);
        cJSON_AddNumberToObject(o, "mean", stats_mean(s));
    }
    cJSON_AddNumberToObject(o, "nonfinite", (double)s->nonfinite);
}

static void stats_text(const stats *s, const char *indent)
{
    if (stats_finite(s)) printf("%smin %.6g  max %.6g  mean %.6g\n", indent, s->lo, s->hi, stats_mean(s));
    if (s->nonfinite) printf("%s%lld values are NaN or infinite\n", indent, (long long)s->nonfinite);
}

static void shape_text(const int64_t *dims, int ndim, char *buf, size_t cap)
{
    size_t u = 0;
    buf[0] = '\0';
    if (ndim == 0) snprintf(buf, cap, "scalar");
    for (int i = 0; i < ndim && u < cap; i++) u += (size_t)snprintf(buf + u, cap - u, "%s%lld", i ? "x" : "", (long long)dims[i]);
}

/* counts of each value 0..max for integer data (labels), if every value is in [0, 1024) */
static cJSON *value_counts(const int64_t *v, int64_t n)
{
    int64_t counts[1024] = {0}, top = -1;
    for (int64_t i = 0; i < n; i++) {
        if (v[i] < 0 || v[i] >= 1024) return NULL;
        counts[v[i]]++;
        top = v[i] > top ? v[i] : top;
    }
    cJSON *a = cJSON_CreateArray();
    for (int64_t k = 0; k <= top; k++) cJSON_AddItemToArray(a, cJSON_CreateNumber((double)counts[k]));
    return a;
}

static void counts_text(const char *what, const cJSON *counts)
{
    printf("  %s per value 0..%d:", what, cJSON_GetArraySize(counts) - 1);
    int k = 0;
    for (const cJSON *c = counts->child; c; c = c->next, k++) printf(" %s%.0f", k && k % 16 == 0 ? "\n    " : "", c->valuedouble);
    printf("\n");
}

static double json_num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static cJSON *new_object(const char *path, const char *format)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "file", path);
    cJSON_AddStringToObject(o, "format", format);
    return o;
}

/* ---- models --------------------------------------------------------------------------- */
/* Describe the layers of a model planned at batch 1 into o (and as text). */
static void model_describe(const cn_model *m, cJSON *o, int text)
{
    int n = cn_model_layer_count(m);
    int64_t params = 0, macs = 0;
    cJSON *layers = cJSON_AddArrayToObject(o, "layers");
    if (text) printf("  %-20s %-22s %-22s %12s\n", "layer", "type", "output", "params");
    for (int i = 0; i < n; i++) {
        cn_layer_info li;
        cn_model_layer(m, i, &li);
        params += li.params;
        macs += li.macs;
        cJSON *l = cJSON_CreateObject();
        cJSON_AddStringToObject(l, "name", li.name);
        cJSON_AddStringToObject(l, "type", li.type);
        cJSON *ins = cJSON_AddArrayToObject(l, "inputs");
        for (int k = 0; k < li.n_inputs; k++) cJSON_AddItemToArray(ins, cJSON_CreateString(li.inputs[k]));
        cJSON_AddItemToObject(l, "output", cli_json_shape(li.out.dim, li.out.ndim));
        cJSON_AddNumberToObject(l, "params", (double)li.params);
        cJSON_AddItemToArray(layers, l);
        if (text) {
            char shape[96];
            cn_shape_str(&li.out, shape, sizeof shape);
            printf("  %-20s %-22s %-22s %12lld\n", li.name, li.type, shape, (long long)li.params);
        }
    }
    cJSON_AddNumberToObject(o, "layer_count", n);
    cJSON_AddNumberToObject(o, "total_params", (double)params);
    cJSON_AddNumberToObject(o, "total_macs", (double)macs);
    cJSON_AddNumberToObject(o, "param_tensors", cn_model_param_count(m));
    if (text)
        printf("  %d layers, %lld parameters in %d tensors, %lld MACs per sample\n", n, (long long)params,
               cn_model_param_count(m), (long long)macs);
}

/* --weights W, after W was loaded into m */
static void model_weights(const cn_model *m, const char *w, cJSON *o, int text)
{
    cJSON *j = cJSON_AddObjectToObject(o, "weights");
    cJSON_AddStringToObject(j, "file", w);
    cJSON_AddNumberToObject(j, "tensors", cn_model_param_count(m));
    if (text) printf("  weights %s: all %d parameter tensors present with the model's shapes\n", w, cn_model_param_count(m));
}

/* --weights W into a planned model: a checkpoint's optimizer buffers are allowed, as
 * `convnet eval --weights` allows them */
static cn_status load_weights_option(cn_model *m, const char *w)
{
    cn_safetensors *f;
    cn_status st = cn_safetensors_load(&f, w);
    if (st != CN_OK) return st;
    int flags = cn_safetensors_metadata(f, CKPT_KEY) ? CN_WEIGHTS_ALLOW_EXTRA : CN_WEIGHTS_STRICT;
    st = cn_model_load_weights_from(m, f, NULL, 0, flags);
    cn_safetensors_destroy(f);
    return st;
}

static int match_model(const sniff *s)
{
    if (memchr(s->b, 0, s->n)) return 0;
    /* the first line that is not blank or a comment starts a [block] */
    for (size_t i = 0; i < s->n;) {
        while (i < s->n && (s->b[i] == ' ' || s->b[i] == '\t' || s->b[i] == '\r' || s->b[i] == '\n')) i++;
        if (i == s->n) return 0;
        if (s->b[i] == '#' || s->b[i] == ';') {
            while (i < s->n && s->b[i] != '\n') i++;
            continue;
        }
        return s->b[i] == '[';
    }
    return 0;
}

static cn_status inspect_model(const inspect_ctx *c, const char *path, const sniff *s, cJSON **out)
{
    (void)s;
    cn_model *m;
    cn_status st = cn_model_load(&m, path);
    if (st == CN_OK && (st = cn_model_plan(m, 1, CN_PLAN_INFER)) == CN_OK && c->weights) st = load_weights_option(m, c->weights);
    if (st != CN_OK) {
        cn_model_destroy(m);
        return st;
    }
    cJSON *o = *out = new_object(path, "model");
    cJSON_AddNumberToObject(o, "batch", 1);
    if (c->text) printf("%s: convnet model text\n", path);
    model_describe(m, o, c->text);
    if (c->weights) model_weights(m, c->weights, o, c->text);
    cn_model_destroy(m);
    return CN_OK;
}

/* ---- .npy ----------------------------------------------------------------------------- */
static int match_npy(const sniff *s) { return s->n >= 6 && !memcmp(s->b, "\x93NUMPY", 6); }

static cn_status inspect_npy(const inspect_ctx *c, const char *path, const sniff *sn, cJSON **out)
{
    (void)sn;
    cn_npy a;
    cn_status st = cn_npy_load(&a, path);
    if (st != CN_OK) return st;
    stats s;
    stats_init(&s);
    stats_add(&s, a.f32, a.numel);
    cJSON *o = *out = new_object(path, "npy");
    cJSON_AddStringToObject(o, "dtype", cn_dtype_name(a.dtype));
    cJSON_AddItemToObject(o, "shape", cli_json_shape(a.shape, a.ndim));
    cJSON_AddNumberToObject(o, "elements", (double)a.numel);
    stats_json(o, &s);
    if (c->text) {
        printf("%s: npy, %s, shape (", path, cn_dtype_name(a.dtype));
        for (int i = 0; i < a.ndim; i++) printf("%s%lld", i ? ", " : "", (long long)a.shape[i]);
        printf("), %lld elements\n", (long long)a.numel);
        stats_text(&s, "  ");
    }
    cn_npy_free(&a);
    return CN_OK;
}

/* ---- safetensors: plain, weights (with the model), checkpoints ---------------------------- */
/* u64 header size below 4 GiB (bytes 4..7 zero; a valid IDX file has a non-zero dimension
 * there), then the JSON object */
static int match_safetensors(const sniff *s) { return s->n >= 9 && !memcmp(s->b + 4, "\0\0\0\0", 4) && s->b[8] == '{'; }

/* statistics of one tensor, converted in chunks (no allocation proportional to the file) */
static void tensor_stats(const cn_st_tensor *t, stats *s)
{
    float buf[4096];
    size_t es = cn_st_dtype_size(t->dtype);
    stats_init(s);
    for (int64_t i = 0; i < t->numel; i += 4096) {
        cn_st_tensor part = *t;
        part.numel = t->numel - i < 4096 ? t->numel - i : 4096;
        part.data = (const unsigned char *)t->data + (size_t)i * es;
        if (cn_safetensors_to_f32(&part, buf) != CN_OK) return;
        stats_add(s, buf, part.numel);
    }
}

/* A checkpoint's tensors beyond the model's parameters must be optimizer buffers,
 * "optim.<parameter>.<buffer>": F32, one value per value of that parameter (what
 * cn_checkpoint_save writes). Counts the buffers into *n_buffers. */
static cn_status check_optimizer_buffers(const char *path, const cn_model *m, const cn_safetensors *f, int *n_buffers)
{
    *n_buffers = 0;
    for (int j = 0; j < cn_safetensors_count(f); j++) {
        cn_st_tensor t;
        cn_safetensors_get(f, j, &t);
        int is_param = 0;
        for (int i = 0; i < cn_model_param_count(m) && !is_param; i++) {
            cn_param p;
            cn_model_param(m, i, &p);
            is_param = !strcmp(p.name, t.name);
        }
        if (is_param) continue;
        int ok = 0;
        if (!strncmp(t.name, "optim.", 6))
            for (int i = 0; i < cn_model_param_count(m) && !ok; i++) {
                cn_param p;
                cn_model_param(m, i, &p);
                size_t l = strlen(p.name);
                if (!strncmp(t.name + 6, p.name, l) && t.name[6 + l] == '.' && t.name[7 + l]) {
                    if (t.dtype != CN_ST_DTYPE_F32 || t.numel != cn_shape_numel(&p.shape))
                        return cn_set_error(CN_STATUS_SHAPE,
                                            "%s: optimizer state '%s' has %lld %s values, expected %lld F32 (one per value of "
                                            "parameter '%s')",
                                            path, t.name, (long long)t.numel, cn_st_dtype_name(t.dtype),
                                            (long long)cn_shape_numel(&p.shape), p.name);
                    ok = 1;
                }
            }
        if (!ok)
            return cn_set_error(CN_STATUS_FORMAT,
                                "%s: tensor '%s' is neither a model parameter nor optimizer state 'optim.<parameter>.<buffer>'",
                                path, t.name);
        ++*n_buffers;
    }
    return CN_OK;
}

static cn_status inspect_safetensors(const inspect_ctx *c, const char *path, const sniff *sn, cJSON **out)
{
    (void)sn;
    cn_safetensors *f;
    cn_status st = cn_safetensors_load(&f, path);
    if (st != CN_OK) return st;
    const char *model_text = cn_safetensors_metadata(f, CN_WEIGHTS_MODEL_KEY);
    int is_ckpt = cn_safetensors_metadata(f, CKPT_KEY) != NULL;
    cn_model *m = NULL;
    cn_ckpt_state ck = {0};
    int n_buffers = 0;
    /* validate everything before printing anything */
    if (is_ckpt && !model_text) {
        st = cn_set_error(CN_STATUS_FORMAT, "%s: a checkpoint ('%s' metadata) without its model text ('%s' metadata)", path,
                          CKPT_KEY, CN_WEIGHTS_MODEL_KEY);
        goto fail;
    }
    if (c->weights && !model_text) {
        st = cn_set_error(CN_STATUS_INVALID_ARG, "--weights needs a model: %s holds no model text (metadata '%s')", path,
                          CN_WEIGHTS_MODEL_KEY);
        goto fail;
    }
    if (model_text) {
        /* a self-describing model: its text must parse and plan; a weights file holds exactly
         * its parameters (cn_model_load_file_weights), a checkpoint its parameters, optimizer
         * buffers and a training state that cn_checkpoint_load (what --resume uses) accepts */
        char label[4200];
        snprintf(label, sizeof label, "%s:%s", path, CN_WEIGHTS_MODEL_KEY);
        if ((st = cn_model_parse(&m, model_text, label)) != CN_OK || (st = cn_model_plan(m, 1, CN_PLAN_INFER)) != CN_OK) goto fail;
        if (is_ckpt) {
            if ((st = cn_checkpoint_load(path, m, NULL, NULL, &ck)) != CN_OK ||
                (st = check_optimizer_buffers(path, m, f, &n_buffers)) != CN_OK)
                goto fail;
        } else if ((st = cn_model_load_weights_from(m, f, NULL, 0, CN_WEIGHTS_STRICT)) != CN_OK) {
            goto fail;
        }
        if (c->weights && (st = load_weights_option(m, c->weights)) != CN_OK) goto fail;
    }

    int text = c->text, n = cn_safetensors_count(f);
    cJSON *o = *out = new_object(path, is_ckpt ? "checkpoint" : "safetensors");
    uint64_t data_bytes = 0;
    for (int i = 0; i < n; i++) {
        cn_st_tensor t;
        cn_safetensors_get(f, i, &t);
        data_bytes += t.nbytes;
    }
    cJSON_AddNumberToObject(o, "data_bytes", (double)data_bytes);
    if (text)
        printf("%s: %s, %d tensors, %llu bytes of data, %d metadata entries\n", path,
               is_ckpt ? "convnet checkpoint (safetensors)" : "safetensors", n, (unsigned long long)data_bytes,
               cn_safetensors_metadata_count(f));
    cJSON *ts = cJSON_AddArrayToObject(o, "tensors");
    if (text && n) printf("  %-28s %-8s %-18s %10s  %s\n", "tensor", "dtype", "shape", "elements", "values");
    for (int i = 0; i < n; i++) {
        cn_st_tensor t;
        cn_safetensors_get(f, i, &t);
        stats s;
        tensor_stats(&t, &s);
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "name", t.name);
        cJSON_AddStringToObject(j, "dtype", cn_st_dtype_name(t.dtype));
        cJSON_AddItemToObject(j, "shape", cli_json_shape(t.shape, t.ndim));
        cJSON_AddNumberToObject(j, "elements", (double)t.numel);
        cJSON_AddNumberToObject(j, "bytes", (double)t.nbytes);
        stats_json(j, &s);
        cJSON_AddItemToArray(ts, j);
        if (text) {
            char sh[128];
            shape_text(t.shape, t.ndim, sh, sizeof sh);
            printf("  %-28s %-8s %-18s %10lld  ", t.name, cn_st_dtype_name(t.dtype), sh, (long long)t.numel);
            if (stats_finite(&s)) printf("min %.4g max %.4g mean %.4g", s.lo, s.hi, stats_mean(&s));
            if (s.nonfinite) printf("%s%lld NaN/Inf", stats_finite(&s) ? ", " : "", (long long)s.nonfinite);
            printf("\n");
        }
    }
    cJSON *meta = cJSON_AddObjectToObject(o, "metadata");
    for (int i = 0; i < cn_safetensors_metadata_count(f); i++) {
        const char *k, *v;
        cn_safetensors_metadata_at(f, i, &k, &v);
        cJSON_AddStringToObject(meta, k, v);
        if (!text) continue;
        if (strlen(v) > 60 || strchr(v, '\n')) printf("  metadata %s: (%zu characters)\n", k, strlen(v));
        else printf("  metadata %s = %s\n", k, v);
    }
    if (m) {
        cJSON *mj = cJSON_AddObjectToObject(o, "model");
        if (text) printf("model (metadata %s):\n", CN_WEIGHTS_MODEL_KEY);
        model_describe(m, mj, text);
        cJSON_AddBoolToObject(mj, "weights_match", 1);
        if (text && !is_ckpt) printf("  the file's tensors are exactly the model's %d parameter tensors\n", cn_model_param_count(m));
    }
    if (is_ckpt) {
        cJSON *kj = cJSON_AddObjectToObject(o, "checkpoint");
        cJSON_AddNumberToObject(kj, "epoch", (double)ck.epoch);
        cJSON_AddNumberToObject(kj, "batch", (double)ck.batch);
        cJSON_AddNumberToObject(kj, "step", (double)ck.step);
        cJSON_AddNumberToObject(kj, "optimizer_steps", (double)ck.optim_steps);
        cJSON_AddNumberToObject(kj, "seed", (double)ck.seed);
        if (isfinite(ck.sched.lr)) cJSON_AddNumberToObject(kj, "lr", ck.sched.lr);
        if (isfinite(ck.best)) cJSON_AddNumberToObject(kj, "best", ck.best);
        cJSON_AddNumberToObject(kj, "optimizer_buffers", n_buffers);
        cJSON_AddNumberToObject(kj, "history", (double)ck.n_history);
        if (text)
            printf("checkpoint: epoch %lld (%lld batches into it), step %lld, %llu optimizer steps, seed %llu, lr %.6g, "
                   "%d optimizer buffers, %lld epochs of history\n",
                   (long long)ck.epoch, (long long)ck.batch, (long long)ck.step, (unsigned long long)ck.optim_steps,
                   (unsigned long long)ck.seed, ck.sched.lr, n_buffers, (long long)ck.n_history);
    }
    if (c->weights) model_weights(m, c->weights, o, text);
    cn_free(ck.history);
    cn_model_destroy(m);
    cn_safetensors_destroy(f);
    return CN_OK;
fail:
    cn_free(ck.history);
    cn_model_destroy(m);
    cn_safetensors_destroy(f);
    return st;
}

/* ---- IDX, plain or gzip --------------------------------------------------------------- */
/* two zero bytes, a type code, a non-zero dimension count (any type code: the reader names a
 * bad one precisely) */
static int match_idx(const sniff *s) { return s->n >= 4 && !s->b[0] && !s->b[1] && s->b[3]; }
static int match_gzip(const sniff *s) { return s->n >= 2 && s->b[0] == 0x1f && s->b[1] == 0x8b; }

static const char *idx_type_name(cn_idx_type t)
{
    switch (t) {
    case CN_IDX_U8: return "ubyte";
    case CN_IDX_I8: return "sbyte";
    case CN_IDX_I16: return "short";
    case CN_IDX_I32: return "int";
    case CN_IDX_F32: return "float";
    case CN_IDX_F64: return "double";
    }
    return "unknown";
}

static cn_status inspect_idx(const inspect_ctx *c, const char *path, const sniff *sn, cJSON **out)
{
    cn_idx a;
    cn_status st = cn_idx_load(&a, path);
    if (st != CN_OK) return st;
    int gz = match_gzip(sn);
    stats s;
    stats_init(&s);
    stats_add(&s, a.f32, a.numel);
    cJSON *o = *out = new_object(path, "idx");
    cJSON_AddBoolToObject(o, "gzip", gz);
    cJSON_AddStringToObject(o, "type", idx_type_name(a.type));
    cJSON_AddItemToObject(o, "shape", cli_json_shape(a.dims, a.ndim));
    cJSON_AddNumberToObject(o, "elements", (double)a.numel);
    stats_json(o, &s);
    cJSON *counts = a.i64 ? value_counts(a.i64, a.numel) : NULL;
    if (counts) cJSON_AddItemToObject(o, "value_counts", counts);
    if (c->text) {
        char sh[256];
        shape_text(a.dims, a.ndim, sh, sizeof sh);
        printf("%s: IDX%s, %s, shape %s, %lld elements\n", path, gz ? " (gzip-compressed)" : "", idx_type_name(a.type), sh,
               (long long)a.numel);
        stats_text(&s, "  ");
        if (counts) counts_text("count", counts);
    }
    cn_idx_free(&a);
    return CN_OK;
}

/* ---- images ---------------------------------------------------------------------------- */
static const char *image_kind(const sniff *s)
{
    static const struct {
        const char *magic, *name;
        size_t n;
    } kinds[] = {
        {"\x89PNG\r\n\x1a\n", "PNG", 8}, {"\xff\xd8\xff", "JPEG", 3}, {"GIF87a", "GIF", 6},  {"GIF89a", "GIF", 6},
        {"BM", "BMP", 2},                {"8BPS", "PSD", 4},         {"#?RADIANCE", "HDR", 10}, {"#?RGBE", "HDR", 6},
        {"P5", "PGM", 2},                {"P6", "PPM", 2},
    };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (s->n >= kinds[i].n && !memcmp(s->b, kinds[i].magic, kinds[i].n)) {
            /* PGM/PPM: P5/P6 then whitespace */
            if (kinds[i].n == 2 && kinds[i].magic[0] == 'P' && (s->n < 3 || !strchr(" \t\r\n", s->b[2]))) continue;
            return kinds[i].name;
        }
    return NULL;
}
static int match_image(const sniff *s) { return image_kind(s) != NULL; }

static cn_status inspect_image(const inspect_ctx *c, const char *path, const sniff *sn, cJSON **out)
{
    cn_image im;
    cn_status st = cn_image_load(&im, path, 0);
    if (st != CN_OK) return st;
    cJSON *o = *out = new_object(path, "image");
    cJSON_AddStringToObject(o, "type", image_kind(sn));
    cJSON_AddNumberToObject(o, "width", im.w);
    cJSON_AddNumberToObject(o, "height", im.h);
    cJSON_AddNumberToObject(o, "channels", im.c);
    cJSON *chs = cJSON_AddArrayToObject(o, "channel_stats");
    if (c->text)
        printf("%s: %s image, %d x %d, %d channel%s (%s)\n", path, image_kind(sn), im.w, im.h, im.c, im.c > 1 ? "s" : "",
               im.c == 1 ? "gray" : im.c == 2 ? "gray + alpha" : im.c == 3 ? "RGB" : "RGBA");
    for (int ch = 0; ch < im.c; ch++) {
        int lo = 255, hi = 0;
        double sum = 0;
        for (size_t i = (size_t)ch, n = (size_t)im.w * (size_t)im.h * (size_t)im.c; i < n; i += (size_t)im.c) {
            int v = im.px[i];
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
            sum += v;
        }
        double mean = sum / ((double)im.w * im.h);
        cJSON *j = cJSON_CreateObject();
        cJSON_AddNumberToObject(j, "min", lo);
        cJSON_AddNumberToObject(j, "max", hi);
        cJSON_AddNumberToObject(j, "mean", mean);
        cJSON_AddItemToArray(chs, j);
        if (c->text) printf("  channel %d: min %d  max %d  mean %.2f\n", ch, lo, hi, mean);
    }
    cn_image_free(&im);
    return CN_OK;
}

/* ---- .npz ------------------------------------------------------------------------------ */
static int match_npz(const sniff *s) { return s->n >= 4 && (!memcmp(s->b, "PK\x03\x04", 4) || !memcmp(s->b, "PK\x05\x06", 4)); }

static cn_status inspect_npz(const inspect_ctx *c, const char *path, const sniff *sn, cJSON **out)
{
    (void)sn;
    cn_npz *z;
    cn_status st = cn_npz_open(&z, path);
    if (st != CN_OK) return st;
    int64_t n = cn_npz_count(z);
    cJSON *o = cJSON_CreateObject(), *arrays = cJSON_CreateArray();
    /* every array is read (CRC, the .npy inside) before anything is printed */
    for (int64_t i = 0; i < n && st == CN_OK; i++) {
        cn_npy a;
        if ((st = cn_npz_read(z, cn_npz_name(z, i), &a)) != CN_OK) break;
        stats s;
        stats_init(&s);
        stats_add(&s, a.f32, a.numel);
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "name", cn_npz_name(z, i));
        cJSON_AddStringToObject(j, "dtype", cn_dtype_name(a.dtype));
        cJSON_AddItemToObject(j, "shape", cli_json_shape(a.shape, a.ndim));
        cJSON_AddNumberToObject(j, "elements", (double)a.numel);
        stats_json(j, &s);
        cJSON_AddItemToArray(arrays, j);
        cn_npy_free(&a);
    }
    cn_npz_close(z);
    if (st != CN_OK) {
        cJSON_Delete(o);
        cJSON_Delete(arrays);
        return st;
    }
    cJSON_AddStringToObject(o, "file", path);
    cJSON_AddStringToObject(o, "format", "npz");
    cJSON_AddItemToObject(o, "arrays", arrays);
    *out = o;
    if (c->text) {
        printf("%s: NumPy .npz, %lld arrays\n", path, (long long)n);
        for (const cJSON *j = arrays->child; j; j = j->next) {
            char sh[128];
            int64_t dims[CN_NPY_MAX_DIMS];
            int nd = 0;
            for (const cJSON *d = cJSON_GetObjectItemCaseSensitive(j, "shape")->child; d && nd < CN_NPY_MAX_DIMS; d = d->next)
                dims[nd++] = (int64_t)d->valuedouble;
            shape_text(dims, nd, sh, sizeof sh);
            printf("  %-20s %-8s %-16s", cJSON_GetObjectItemCaseSensitive(j, "name")->valuestring,
                   cJSON_GetObjectItemCaseSensitive(j, "dtype")->valuestring, sh);
            if (cJSON_GetObjectItemCaseSensitive(j, "min"))
                printf("  min %.4g max %.4g mean %.4g", json_num(j, "min"), json_num(j, "max"), json_num(j, "mean"));
            printf("\n");
        }
    }
    return CN_OK;
}

/* ---- ONNX: models (.onnx) and tensors (.pb); protobuf has no magic number --------------- */
/* the first byte is the key of a field 1..10 as ONNX writes them (varint or length-delimited:
 * ModelProto starts with ir_version, 0x08; TensorProto with dims, 0x08, or data_type, 0x10)
 * and the bytes are binary (a control byte other than tab and newlines) */
static int match_protobuf(const sniff *s)
{
    if (s->n < 2 || (s->b[0] >> 3) < 1 || (s->b[0] >> 3) > 10 || ((s->b[0] & 7) != 0 && (s->b[0] & 7) != 2)) return 0;
    for (size_t i = 0; i < s->n; i++)
        if (s->b[i] < 0x20 && s->b[i] != '\t' && s->b[i] != '\n' && s->b[i] != '\r') return 1;
    return 0;
}

static cn_status inspect_onnx_model(const inspect_ctx *c, const char *path, cn_model *m, const cn_onnx_info *info, cJSON **out)
{
    cJSON *o = *out = new_object(path, "onnx");
    cJSON_AddNumberToObject(o, "ir_version", (double)info->ir_version);
    cJSON_AddNumberToObject(o, "opset", (double)info->opset);
    cJSON_AddStringToObject(o, "producer", info->producer);
    cJSON_AddNumberToObject(o, "nodes", info->n_nodes);
    cJSON *ins = cJSON_AddArrayToObject(o, "inputs"), *outs = cJSON_AddArrayToObject(o, "outputs");
    if (c->text)
        printf("%s: ONNX model, IR version %lld, opset %lld, producer '%s', %d nodes\n", path, (long long)info->ir_version,
               (long long)info->opset, info->producer, info->n_nodes);
    for (int k = 0; k < 2; k++) {
        const cn_onnx_port *ports = k ? info->outputs : info->inputs;
        for (int i = 0; i < (k ? info->n_outputs : info->n_inputs); i++) {
            cJSON *j = cJSON_CreateObject();
            cJSON_AddStringToObject(j, "name", ports[i].name);
            if (ports[i].layer) cJSON_AddStringToObject(j, "layer", ports[i].layer);
            cJSON_AddStringToObject(j, "dtype", cn_onnx_dtype_name(ports[i].dtype));
            cJSON_AddItemToObject(j, "shape", cli_json_shape(ports[i].dims, ports[i].ndim));
            cJSON_AddItemToArray(k ? outs : ins, j);
            if (c->text) {
                char sh[128];
                shape_text(ports[i].dims, ports[i].ndim, sh, sizeof sh);
                printf("  %s %-20s %-8s %-16s %s%s\n", k ? "output" : "input ", ports[i].name, cn_onnx_dtype_name(ports[i].dtype), sh,
                       ports[i].layer ? "layer " : "(a constant)", ports[i].layer ? ports[i].layer : "");
            }
        }
    }
    cJSON *mj = cJSON_AddObjectToObject(o, "model");
    if (c->text) printf("as a convnet model (planned for the file's batch):\n");
    model_describe(m, mj, c->text);
    return CN_OK;
}

static cn_status inspect_onnx(const inspect_ctx *c, const char *path, const sniff *sn, cJSON **out)
{
    (void)sn;
    cn_model *m = NULL;
    cn_onnx_info info;
    memset(&info, 0, sizeof info);
    cn_status st = cn_onnx_import(&m, path, NULL, &info);
    if (st == CN_OK) {
        st = inspect_onnx_model(c, path, m, &info, out);
        cn_onnx_info_free(&info);
        cn_model_destroy(m);
        return st;
    }
    /* not a model: maybe a TensorProto */
    char model_error[1024];
    snprintf(model_error, sizeof model_error, "%s", cn_last_error());
    cn_status model_st = st;
    cn_onnx_tensor t;
    memset(&t, 0, sizeof t);
    if ((st = cn_onnx_tensor_load(&t, path)) != CN_OK) {
        size_t n = strlen(path);
        if (n >= 3 && !strcmp(path + n - 3, ".pb")) return st; /* the name says tensor: its error is the one to give */
        return cn_set_error(model_st, "%s", model_error);
    }
    stats s;
    stats_init(&s);
    stats_add(&s, t.data, t.numel);
    cJSON *o = *out = new_object(path, "onnx_tensor");
    cJSON_AddStringToObject(o, "dtype", cn_onnx_dtype_name(t.dtype));
    cJSON_AddItemToObject(o, "shape", cli_json_shape(t.dims, t.ndim));
    cJSON_AddNumberToObject(o, "elements", (double)t.numel);
    stats_json(o, &s);
    if (c->text) {
        char sh[128];
        shape_text(t.dims, t.ndim, sh, sizeof sh);
        printf("%s: ONNX tensor (TensorProto), %s, shape %s, %lld elements\n", path, cn_onnx_dtype_name(t.dtype), sh,
               (long long)t.numel);
        stats_text(&s, "  ");
    }
    cn_onnx_tensor_free(&t);
    return CN_OK;
}

/* ---- Darknet .cfg (and --weights W as a Darknet .weights file) --------------------------- */
static int match_darknet(const sniff *s) { return cn_darknet_is_cfg((const char *)s->b, s->n); }

static cn_status inspect_darknet(const inspect_ctx *c, const char *path, const sniff *sn, cJSON **out)
{
    (void)sn;
    cn_model *m;
    cn_status st = cn_darknet_load(&m, path);
    if (st == CN_OK && (st = cn_model_plan(m, 1, CN_PLAN_INFER)) == CN_OK && c->weights)
        st = cn_darknet_load_weights(m, c->weights);
    if (st != CN_OK) {
        cn_model_destroy(m);
        return st;
    }
    cJSON *o = *out = new_object(path, "darknet");
    cJSON_AddNumberToObject(o, "batch", 1);
    if (c->text) printf("%s: Darknet cfg, as a convnet model\n", path);
    model_describe(m, o, c->text);
    if (c->weights) {
        cJSON *j = cJSON_AddObjectToObject(o, "weights");
        cJSON_AddStringToObject(j, "file", c->weights);
        cJSON_AddNumberToObject(j, "tensors", cn_model_param_count(m));
        if (c->text) printf("  Darknet weights %s: exactly the floats the cfg needs\n", c->weights);
    }
    cn_model_destroy(m);
    return CN_OK;
}

/* ---- the table of file formats -------------------------------------------------------- */
typedef struct format {
    const char *name; /* for the "understands" list */
    int (*match)(const sniff *s);
    inspect_fn inspect;
    int model; /* describes a model: --weights applies */
} format;

static const format formats[] = {
    {"NumPy .npy", match_npy, inspect_npy, 0},
    {"safetensors (weights with their model, checkpoints)", match_safetensors, inspect_safetensors, 1},
    {"IDX", match_idx, inspect_idx, 0},
    {"gzip-compressed IDX", match_gzip, inspect_idx, 0},
    {"NumPy .npz", match_npz, inspect_npz, 0},
    {"images (PNG, JPEG, BMP, GIF, PGM/PPM, PSD, HDR)", match_image, inspect_image, 0},
    {"Darknet .cfg (--weights: a Darknet .weights file)", match_darknet, inspect_darknet, 1},
    {"convnet model text", match_model, inspect_model, 1},
    {"ONNX models and tensors (protobuf)", match_protobuf, inspect_onnx, 0},
};
#define N_FORMATS (sizeof formats / sizeof formats[0])

/* Recognise and inspect one file. */
static cn_status inspect_file(const inspect_ctx *c, const char *path, cJSON **out)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return cn_set_error(CN_STATUS_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fileno(f), &sb) == 0 && !S_ISREG(sb.st_mode)) {
        fclose(f);
        return cn_set_error(CN_STATUS_INVALID_ARG, "%s: not a regular file (a pipe or device); inspect reads a file more than once: save it "
                            "to a file first", path);
    }
    unsigned char head[SNIFF_BYTES];
    sniff s = {head, fread(head, 1, SNIFF_BYTES, f)};
    int read_error = ferror(f);
    fclose(f);
    if (read_error) return cn_set_error(CN_STATUS_IO, "%s: read failed: %s", path, strerror(errno));
    for (size_t i = 0; i < N_FORMATS; i++) {
        if (!formats[i].match(&s)) continue;
        if (c->weights && !formats[i].model)
            return cn_set_error(CN_STATUS_INVALID_ARG, "--weights needs a model, but %s is %s", path, formats[i].name);
        return formats[i].inspect(c, path, &s, out);
    }
    char known[512], first[64];
    size_t u = 0;
    for (size_t i = 0; i < N_FORMATS; i++) u += (size_t)snprintf(known + u, sizeof known - u, "%s%s", i ? ", " : "", formats[i].name);
    u = 0;
    first[0] = '\0';
    for (size_t i = 0; i < s.n && i < 8; i++) u += (size_t)snprintf(first + u, sizeof first - u, "%s%02x", i ? " " : "", s.b[i]);
    if (!s.n) return cn_set_error(CN_STATUS_UNSUPPORTED, "%s: unrecognized format: the file is empty; inspect understands %s", path, known);
    return cn_set_error(CN_STATUS_UNSUPPORTED, "%s: unrecognized format (first bytes %s); inspect understands %s", path, first,
                        known);
}

/* ---- folders -------------------------------------------------------------------------- */
static int has_file(const char *dir, const char *name)
{
    char p[4400];
    struct stat sb;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* An MNIST-1D folder: x_train.npy, y_train.npy, x_test.npy, y_test.npy, t.npy */
static cn_status inspect_mnist1d(const inspect_ctx *c, const char *path, cJSON **out)
{
    cn_mnist1d d;
    cn_status st = cn_mnist1d_load_npy(&d, path);
    if (st != CN_OK) return st;
    stats s;
    stats_init(&s);
    stats_add(&s, d.x_train, d.n_train * d.length);
    stats_add(&s, d.x_test, d.n_test * d.length);
    cJSON *o = *out = new_object(path, "mnist1d");
    cJSON *c1 = value_counts(d.y_train, d.n_train), *c2 = value_counts(d.y_test, d.n_test);
    cJSON_AddNumberToObject(o, "train", (double)d.n_train);
    cJSON_AddNumberToObject(o, "test", (double)d.n_test);
    cJSON_AddNumberToObject(o, "length", (double)d.length);
    stats_json(o, &s);
    if (c1) cJSON_AddItemToObject(o, "train_label_counts", c1);
    if (c2) cJSON_AddItemToObject(o, "test_label_counts", c2);
    if (c->text) {
        printf("%s: MNIST-1D dataset, %lld train and %lld test examples of length %lld\n", path, (long long)d.n_train,
               (long long)d.n_test, (long long)d.length);
        stats_text(&s, "  inputs: ");
        if (c1) counts_text("train labels", c1);
        if (c2) counts_text("test labels", c2);
    }
    cn_mnist1d_free(&d);
    return CN_OK;
}

/* A JSON file of the run directory: one object (metrics.json) or one object per line
 * (log.jsonl). Returns the last object (owned by *all) and the count. */
static cn_status read_json_lines(const char *path, int lines, cJSON **all, int *count)
{
    *all = cJSON_CreateArray();
    *count = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return cn_set_error(CN_STATUS_IO, "%s: cannot open: %s", path, strerror(errno));
    char *buf = NULL;
    size_t cap = 0;
    ssize_t n;
    int lineno = 0;
    cn_status st = CN_OK;
    if (!lines) { /* the whole file as one object */
        fseek(f, 0, SEEK_END);
        long size = ftell(f);
        fseek(f, 0, SEEK_SET);
        if (size < 0 || (uint64_t)size > cn_memory_limit()) {
            fclose(f);
            return cn_set_error(CN_STATUS_LIMIT, "%s: cannot read (size %ld)", path, size);
        }
        buf = malloc((size_t)size + 1);
        if (!buf || fread(buf, 1, (size_t)size, f) != (size_t)size) {
            free(buf);
            fclose(f);
            return cn_set_error(CN_STATUS_IO, "%s: read failed", path);
        }
        buf[size] = '\0';
        cJSON *o = cJSON_Parse(buf);
        if (!cJSON_IsObject(o)) st = cn_set_error(CN_STATUS_FORMAT, "%s: not a JSON object", path);
        if (o) cJSON_AddItemToArray(*all, o);
        *count = st == CN_OK;
        free(buf);
        fclose(f);
        return st;
    }
    while (st == CN_OK && (n = getline(&buf, &cap, f)) >= 0) {
        lineno++;
        if (n == 0 || buf[0] == '\n') continue;
        cJSON *o = cJSON_Parse(buf);
        if (!cJSON_IsObject(o) || !cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(o, "epoch")))
            st = cn_set_error(CN_STATUS_FORMAT, "%s:%d: expected a JSON object with \"epoch\" (one per line)", path, lineno);
        if (o) cJSON_AddItemToArray(*all, o);
        ++*count;
    }
    free(buf);
    fclose(f);
    return st;
}

/* A run directory (convnet train --out): model.cfg, log.jsonl, checkpoint.safetensors,
 * weights.safetensors, metrics.json — each validated with its own parser. */
static cn_status inspect_rundir(const inspect_ctx *c, const char *path, cJSON **out)
{
    static const char *const files[] = {"model.cfg", "checkpoint.safetensors", "weights.safetensors"};
    inspect_ctx quiet = {c->weights, 0};
    cJSON *o = new_object(path, "rundir"), *parts[3] = {NULL, NULL, NULL}, *log = NULL, *metrics = NULL;
    int n_log = 0, n_metrics = 0;
    cn_status st = CN_OK;
    char p[4400];
    for (int i = 0; i < 3 && st == CN_OK; i++) {
        snprintf(p, sizeof p, "%s/%s", path, files[i]);
        if (has_file(path, files[i])) st = inspect_file(&quiet, p, &parts[i]);
    }
    snprintf(p, sizeof p, "%s/log.jsonl", path);
    if (st == CN_OK && has_file(path, "log.jsonl")) st = read_json_lines(p, 1, &log, &n_log);
    snprintf(p, sizeof p, "%s/metrics.json", path);
    if (st == CN_OK && has_file(path, "metrics.json")) st = read_json_lines(p, 0, &metrics, &n_metrics);
    if (st != CN_OK) {
        for (int i = 0; i < 3; i++) cJSON_Delete(parts[i]);
        cJSON_Delete(log), cJSON_Delete(metrics), cJSON_Delete(o);
        return st;
    }
    if (c->text) printf("%s: convnet run directory\n", path);
    for (int i = 0; i < 3; i++) {
        if (!parts[i]) continue;
        cJSON_AddItemToObject(o, files[i], parts[i]);
        if (!c->text) continue;
        const cJSON *mj = i ? cJSON_GetObjectItemCaseSensitive(parts[i], "model") : parts[i];
        printf("  %-24s %d layers, %.0f parameters", files[i], cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(mj, "layers")),
               json_num(mj, "total_params"));
        const cJSON *kj = cJSON_GetObjectItemCaseSensitive(parts[i], "checkpoint");
        if (kj) printf("; epoch %.0f, step %.0f, %.0f optimizer buffers", json_num(kj, "epoch"), json_num(kj, "step"), json_num(kj, "optimizer_buffers"));
        printf("\n");
    }
    if (log) {
        cJSON_AddItemToObject(o, "log", log);
        if (c->text && n_log) {
            const cJSON *last = cJSON_GetArrayItem(log, n_log - 1);
            printf("  %-24s %d epochs; last: epoch %.0f, step %.0f, train_loss %.4g, val_acc %.4g\n", "log.jsonl", n_log,
                   json_num(last, "epoch"), json_num(last, "step"), json_num(last, "train_loss"), json_num(last, "val_acc"));
        }
    }
    if (metrics) {
        cJSON *mo = cJSON_DetachItemFromArray(metrics, 0);
        cJSON_Delete(metrics);
        if (mo) {
            cJSON_AddItemToObject(o, "metrics", mo);
            if (c->text)
                printf("  %-24s %.0f examples, loss %.4g, top-1 %.4g, top-5 %.4g\n", "metrics.json", json_num(mo, "count"),
                       json_num(mo, "loss"), json_num(mo, "top1"), json_num(mo, "top5"));
        }
    }
    *out = o;
    return CN_OK;
}

static cn_status inspect_dir(const inspect_ctx *c, const char *path, cJSON **out)
{
    *out = NULL;
    if (!c->weights && has_file(path, "x_train.npy")) return inspect_mnist1d(c, path, out);
    if (has_file(path, "model.cfg") || has_file(path, "checkpoint.safetensors") || has_file(path, "weights.safetensors"))
        return inspect_rundir(c, path, out);
    return cn_set_error(CN_STATUS_IO,
                        "%s: is a directory, expected a file (or an MNIST-1D folder with x_train.npy ... t.npy, or a run "
                        "directory with model.cfg, checkpoint.safetensors, weights.safetensors)",
                        path);
}

int cmd_inspect(const cli_cmd *cmd, int argc, char **argv, cli_global *g)
{
    const char *weights = NULL;
    cli_opt opts[] = {
        {"--weights", OPT_STR, &weights, "W", "weights (or checkpoint) to load into the model FILE describes", 0},
        {NULL, OPT_FLAG, NULL, NULL, NULL, 0},
    };
    const char *pos[1];
    int npos;
    int rc = cli_parse(cmd, argc, argv, opts, g, pos, 1, &npos);
    if (rc != CLI_OK) return rc == CLI_HELP_SHOWN ? CLI_OK : rc;
    if (npos != 1) return cli_usage_error(cmd, "expected one FILE");
    inspect_ctx c = {weights, !g->json};
    cJSON *o = NULL;
    struct stat sb;
    cn_status st = stat(pos[0], &sb) == 0 && S_ISDIR(sb.st_mode) ? inspect_dir(&c, pos[0], &o) : inspect_file(&c, pos[0], &o);
    if (st != CN_OK) {
        cJSON_Delete(o);
        if (st == CN_STATUS_INVALID_ARG && !strncmp(cn_last_error(), "--weights", 9)) return cli_usage_error(cmd, "%s", cn_last_error());
        return cli_fail(cmd, g, st);
    }
    if (g->json) return cli_print_json(o);
    cJSON_Delete(o);
    return CLI_OK;
}
