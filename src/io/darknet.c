/* darknet.c — Darknet .cfg files as convnet models (through the public builder) and .weights
 * files as their parameters. See include/convnet/darknet.h for what is read and how layers are
 * named; the shapes follow Darknet's own make_*_layer arithmetic, tracked here per layer
 * (C, H, W) so that route/shortcut references and errors can name sizes, and checked against
 * the plan at the end. */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convnet/darknet.h"
#include "io/file.h"

#define DN_MAX_KEYS 64
#define DN_MAX_LAYERS 100000

typedef struct dn_kv {
    char *key, *val;
    int line, used;
} dn_kv;

typedef struct dn_section {
    char type[32];
    int line;
    dn_kv kv[DN_MAX_KEYS];
    int n;
} dn_section;

typedef struct dn_out {
    char name[64];        /* the convnet layer holding Darknet layer i's output */
    int64_t c, h, w;      /* Darknet's out_c, out_h, out_w */
    int flat;             /* a [connected] output: convnet holds it as (N, c) */
} dn_out;

typedef struct dn {
    const char *file;
    cn_model *m;
    dn_section *sec;
    int nsec;
    dn_out *out;
    int index;            /* the Darknet layer being read */
} dn;

static cn_status dn_err(dn *d, int line, cn_status st, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (line) return cn_set_error(st, "%s:%d: %s", d->file, line, msg);
    return cn_set_error(st, "%s: %s", d->file, msg);
}

/* ---- the cfg text ------------------------------------------------------------------------------- */

int cn_darknet_is_cfg(const char *text, size_t len)
{
    size_t i = 0;
    while (i < len) { /* the first line that is not blank or a comment */
        while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' || text[i] == '\n')) i++;
        if (i < len && (text[i] == '#' || text[i] == ';')) {
            while (i < len && text[i] != '\n') i++;
            continue;
        }
        break;
    }
    return (len - i >= 5 && !strncmp(text + i, "[net]", 5)) || (len - i >= 9 && !strncmp(text + i, "[network]", 9));
}

/* Darknet's strip(): every whitespace character goes */
static void strip_all(char *s)
{
    char *w = s;
    for (char *r = s; *r; r++)
        if (!isspace((unsigned char)*r)) *w++ = *r;
    *w = '\0';
}

static cn_status read_cfg(dn *d, char *text)
{
    int cap = 64, line = 0;
    d->sec = cn_calloc((size_t)cap, sizeof *d->sec, "Darknet cfg");
    if (!d->sec) return CN_STATUS_NOMEM;
    char *save = NULL;
    for (char *s = text; s; s = save) {
        char *nl = strchr(s, '\n');
        save = nl ? nl + 1 : NULL;
        if (nl) *nl = '\0';
        line++;
        strip_all(s);
        if (!*s || *s == '#' || *s == ';') continue;
        if (*s == '[') {
            char *close = strchr(s, ']');
            if (!close || close[1]) return dn_err(d, line, CN_STATUS_FORMAT, "malformed section header '%.60s' (expected [name])", s);
            *close = '\0';
            if (strlen(s + 1) >= sizeof d->sec[0].type || !s[1])
                return dn_err(d, line, CN_STATUS_FORMAT, "section name '%.60s' is empty or too long", s + 1);
            if (d->nsec == DN_MAX_LAYERS) return dn_err(d, line, CN_STATUS_LIMIT, "more than %d sections", DN_MAX_LAYERS);
            if (d->nsec == cap) {
                dn_section *ns = cn_calloc((size_t)cap * 2, sizeof *ns, "Darknet cfg");
                if (!ns) return CN_STATUS_NOMEM;
                memcpy(ns, d->sec, (size_t)cap * sizeof *ns);
                cn_free(d->sec);
                d->sec = ns;
                cap *= 2;
            }
            dn_section *sec = &d->sec[d->nsec++];
            snprintf(sec->type, sizeof sec->type, "%s", s + 1);
            sec->line = line;
            continue;
        }
        char *eq = strchr(s, '=');
        if (!eq || eq == s) return dn_err(d, line, CN_STATUS_FORMAT, "'%.60s' is not key=value", s);
        if (!d->nsec) return dn_err(d, line, CN_STATUS_FORMAT, "'%.60s' comes before any [section]", s);
        dn_section *sec = &d->sec[d->nsec - 1];
        if (sec->n == DN_MAX_KEYS) return dn_err(d, line, CN_STATUS_LIMIT, "more than %d keys in [%s]", DN_MAX_KEYS, sec->type);
        *eq = '\0';
        sec->kv[sec->n++] = (dn_kv){s, eq + 1, line, 0};
    }
    if (!d->nsec) return dn_err(d, 0, CN_STATUS_FORMAT, "no sections (a Darknet cfg starts with [net])");
    if (strcmp(d->sec[0].type, "net") && strcmp(d->sec[0].type, "network"))
        return dn_err(d, d->sec[0].line, CN_STATUS_FORMAT, "the first section is [%s]; a Darknet cfg starts with [net]", d->sec[0].type);
    return CN_OK;
}

static dn_kv *find_kv(dn_section *s, const char *key)
{
    for (int i = s->n - 1; i >= 0; i--) /* the last one wins, as in Darknet */
        if (!strcmp(s->kv[i].key, key)) return &s->kv[i];
    return NULL;
}

static cn_status get_int(dn *d, dn_section *s, const char *key, int64_t dflt, int64_t lo, int64_t hi, int64_t *v)
{
    dn_kv *kv = find_kv(s, key);
    *v = dflt;
    if (!kv) return CN_OK;
    kv->used = 1;
    char *end;
    long long x = strtoll(kv->val, &end, 10);
    if (end == kv->val || *end) return dn_err(d, kv->line, CN_STATUS_FORMAT, "[%s] %s = '%.40s': expected an integer", s->type, key, kv->val);
    if (x < lo || x > hi)
        return dn_err(d, kv->line, CN_STATUS_FORMAT, "[%s] %s = %lld is outside %lld..%lld", s->type, key, x, (long long)lo, (long long)hi);
    *v = x;
    return CN_OK;
}

static cn_status get_float(dn *d, dn_section *s, const char *key, double dflt, double *v)
{
    dn_kv *kv = find_kv(s, key);
    *v = dflt;
    if (!kv) return CN_OK;
    kv->used = 1;
    char *end;
    double x = strtod(kv->val, &end);
    if (end == kv->val || *end || !isfinite(x)) return dn_err(d, kv->line, CN_STATUS_FORMAT, "[%s] %s = '%.40s': expected a number", s->type, key, kv->val);
    *v = x;
    return CN_OK;
}

/* "a,b,c" → up to max numbers (ints when is_int); *n = -1 when absent */
static cn_status get_list(dn *d, dn_section *s, const char *key, double *v, int max, int *n)
{
    dn_kv *kv = find_kv(s, key);
    *n = -1;
    if (!kv) return CN_OK;
    kv->used = 1;
    *n = 0;
    const char *p = kv->val;
    while (*p) {
        char *end;
        double x = strtod(p, &end);
        if (end == p || !isfinite(x)) return dn_err(d, kv->line, CN_STATUS_FORMAT, "[%s] %s = '%.60s': expected numbers separated by commas", s->type, key, kv->val);
        if (*n == max) return dn_err(d, kv->line, CN_STATUS_LIMIT, "[%s] %s has more than %d values", s->type, key, max);
        v[(*n)++] = x;
        p = end;
        if (*p == ',') p++;
        else if (*p) return dn_err(d, kv->line, CN_STATUS_FORMAT, "[%s] %s = '%.60s': expected numbers separated by commas", s->type, key, kv->val);
    }
    return CN_OK;
}

static const char *get_str(dn_section *s, const char *key, const char *dflt)
{
    dn_kv *kv = find_kv(s, key);
    if (!kv) return dflt;
    kv->used = 1;
    return kv->val;
}

/* keys Darknet reads for training or display only: accepted and ignored */
static int training_key(const char *k)
{
    static const char *const keys[] = {
        "batch", "subdivisions", "learning_rate", "momentum", "decay", "policy", "power", "max_batches", "burn_in", "steps", "scales",
        "step", "gamma", "angle", "saturation", "exposure", "hue", "aspect", "jitter", "random", "ignore_thresh", "truth_thresh",
        "rescore", "object_scale", "noobject_scale", "class_scale", "coord_scale", "bias_match", "absolute", "thresh", "min_crop",
        "max_crop", "flip", "time_steps", "notruth", "adam", "B1", "B2", "eps", "max_delta", "rotate", "center", "tree", "map",
        "mask_scale", "num_reweight", "log", "onlyforward", "stopbackward", "dontload", "dontloadscales", "learning_scale", "smooth",
        "shift", "label_smooth_eps", "scale_x_y", "iou_loss", "iou_normalizer", "cls_normalizer", "max", "delta", "stride_x_y", NULL};
    for (int i = 0; keys[i]; i++)
        if (!strcmp(keys[i], k)) return 1;
    return 0;
}

static void warn_unused(dn *d, dn_section *s)
{
    for (int i = 0; i < s->n; i++)
        if (!s->kv[i].used && !training_key(s->kv[i].key))
            cn_log(CN_LOG_WARN, "%s:%d: key '%s' in [%s] is not used by convnet's Darknet import", d->file, s->kv[i].line, s->kv[i].key,
                   s->type);
}

/* ---- building --------------------------------------------------------------------------------------- */

static cn_status add(dn *d, dn_section *s, const char *type, const char *name, const char *inputs, const char *opts)
{
    cn_status st = cn_model_add(d->m, type, name, inputs, opts);
    if (st != CN_OK) {
        char msg[768];
        snprintf(msg, sizeof msg, "%s", cn_last_error());
        return dn_err(d, s->line, st, "[%s] (layer %d): %s", s->type, d->index, msg);
    }
    return CN_OK;
}

/* Darknet activation → act options; "" for linear; NULL for one convnet does not have */
static const char *act_opts(const char *a)
{
    if (!strcmp(a, "linear")) return "";
    if (!strcmp(a, "relu")) return "kind=relu";
    if (!strcmp(a, "leaky")) return "kind=leaky_relu slope=0.1";
    if (!strcmp(a, "logistic")) return "kind=sigmoid";
    if (!strcmp(a, "tanh")) return "kind=tanh";
    if (!strcmp(a, "elu")) return "kind=elu alpha=1";
    if (!strcmp(a, "selu")) return "kind=selu";
    return NULL;
}

/* the activation after `src` (or none), leaving Darknet layer index's output in `final` */
static cn_status add_act(dn *d, dn_section *s, const char *activation, const char *src, const char *final)
{
    const char *a = act_opts(activation);
    dn_kv *kv = find_kv(s, "activation");
    if (!a) return dn_err(d, kv ? kv->line : s->line, CN_STATUS_UNSUPPORTED, "[%s] activation '%s' is not supported (linear, relu, leaky, logistic, tanh, elu, selu)", s->type, activation);
    return add(d, s, "act", final, src, a);
}

static int has_act(const char *activation) { return strcmp(activation, "linear") != 0; }

/* resolves a route/shortcut reference (relative when negative) to a Darknet layer index */
static cn_status ref_index(dn *d, dn_section *s, const char *key, double v, int *out)
{
    /* range first: converting a float outside int64_t's range is undefined */
    if (!(v > -1e9 && v < 1e9) || (double)(int64_t)v != v) return dn_err(d, find_kv(s, key)->line, CN_STATUS_FORMAT, "[%s] %s = %g is not a layer index", s->type, key, v);
    int64_t r = (int64_t)v;
    int64_t idx = r < 0 ? d->index + r : r;
    if (idx < 0 || idx >= d->index)
        return dn_err(d, find_kv(s, key)->line, CN_STATUS_FORMAT, "[%s] %s = %lld: layer %lld does not exist before this one (this is layer %d)",
                      s->type, key, (long long)r, (long long)idx, d->index);
    *out = (int)idx;
    return CN_OK;
}

static cn_status build(dn *d)
{
    cn_status st;
    dn_section *net = &d->sec[0];
    int64_t h, w, c;
    if ((st = get_int(d, net, "height", 0, 0, 1 << 20, &h)) != CN_OK || (st = get_int(d, net, "width", 0, 0, 1 << 20, &w)) != CN_OK ||
        (st = get_int(d, net, "channels", 0, 0, 1 << 20, &c)) != CN_OK)
        return st;
    if (h < 1 || w < 1 || c < 1)
        return dn_err(d, net->line, CN_STATUS_UNSUPPORTED, "[net] height %lld, width %lld, channels %lld: convnet imports image networks (all three > 0)",
                      (long long)h, (long long)w, (long long)c);
    warn_unused(d, net);
    char opts[512], prev[64] = "input", name[64], inner[64];
    snprintf(opts, sizeof opts, "shape=%lldx%lldx%lld", (long long)c, (long long)h, (long long)w);
    if ((st = cn_model_add(d->m, "input", "input", NULL, opts)) != CN_OK) return st;
    d->out = cn_calloc((size_t)d->nsec, sizeof *d->out, "Darknet cfg");
    if (!d->out) return CN_STATUS_NOMEM;
    int64_t C = c, H = h, W = w; /* the previous layer's output */
    int flat = 0;
    for (int i = 1; i < d->nsec; i++) {
        dn_section *s = &d->sec[i];
        d->index = i - 1;
        dn_out *o = &d->out[d->index];
        const char *t = s->type;
        int64_t oc = C, oh = H, ow = W;
        if (!strcmp(t, "convolutional") || !strcmp(t, "conv")) {
            int64_t filters, size, stride, pad, padding, groups, dil, bn;
            if ((st = get_int(d, s, "filters", 1, 1, 1 << 20, &filters)) != CN_OK || (st = get_int(d, s, "size", 1, 1, 1 << 16, &size)) != CN_OK ||
                (st = get_int(d, s, "stride", 1, 1, 1 << 16, &stride)) != CN_OK || (st = get_int(d, s, "pad", 0, 0, 1, &pad)) != CN_OK ||
                (st = get_int(d, s, "padding", 0, 0, 1 << 16, &padding)) != CN_OK || (st = get_int(d, s, "groups", 1, 1, 1 << 20, &groups)) != CN_OK ||
                (st = get_int(d, s, "dilation", 1, 1, 1 << 16, &dil)) != CN_OK || (st = get_int(d, s, "batch_normalize", 0, 0, 1, &bn)) != CN_OK)
                return st;
            const char *act = get_str(s, "activation", "logistic");
            int64_t xnor, binary;
            if ((st = get_int(d, s, "xnor", 0, 0, 1, &xnor)) != CN_OK || (st = get_int(d, s, "binary", 0, 0, 1, &binary)) != CN_OK) return st;
            if (xnor || binary) return dn_err(d, s->line, CN_STATUS_UNSUPPORTED, "[%s] binary/xnor convolutions", t);
            if (flat) return dn_err(d, s->line, CN_STATUS_UNSUPPORTED, "[%s] after a [connected] layer", t);
            if (pad) padding = size / 2;
            if (C % groups || filters % groups)
                return dn_err(d, s->line, CN_STATUS_FORMAT, "[%s] groups = %lld does not divide %lld input channels and %lld filters", t,
                              (long long)groups, (long long)C, (long long)filters);
            int64_t ext = (size - 1) * dil + 1;
            if (H + 2 * padding < ext || W + 2 * padding < ext)
                return dn_err(d, s->line, CN_STATUS_FORMAT, "[%s] a %lldx%lld kernel does not fit the %lldx%lld input (padding %lld)", t,
                              (long long)size, (long long)size, (long long)H, (long long)W, (long long)padding);
            oc = filters, oh = (H + 2 * padding - ext) / stride + 1, ow = (W + 2 * padding - ext) / stride + 1;
            int a = has_act(act);
            snprintf(name, sizeof name, "conv%d", d->index);
            snprintf(inner, sizeof inner, "conv%d%s", d->index, bn || a ? "_conv" : "");
            snprintf(opts, sizeof opts, "filters=%lld kernel=%lld stride=%lld padding=%lld dilation=%lld groups=%lld bias=%s", (long long)filters,
                     (long long)size, (long long)stride, (long long)padding, (long long)dil, (long long)groups, bn ? "false" : "true");
            if ((st = add(d, s, "conv", inner, prev, opts)) != CN_OK) return st;
            if (bn) {
                char bname[64];
                snprintf(bname, sizeof bname, "conv%d%s", d->index, a ? "_bn" : "");
                if ((st = add(d, s, "batch_norm", bname, inner, "eps=1e-12 momentum=0.01")) != CN_OK) return st;
                snprintf(inner, sizeof inner, "%s", bname);
            }
            if (a && (st = add_act(d, s, act, inner, name)) != CN_OK) return st;
        } else if (!strcmp(t, "connected") || !strcmp(t, "conn")) {
            int64_t outputs, bn;
            if ((st = get_int(d, s, "output", 1, 1, 1 << 28, &outputs)) != CN_OK || (st = get_int(d, s, "batch_normalize", 0, 0, 1, &bn)) != CN_OK) return st;
            const char *act = get_str(s, "activation", "logistic");
            int a = has_act(act);
            snprintf(name, sizeof name, "fc%d", d->index);
            snprintf(inner, sizeof inner, "fc%d%s", d->index, bn || a ? "_fc" : "");
            snprintf(opts, sizeof opts, "units=%lld bias=%s", (long long)outputs, bn ? "false" : "true");
            if ((st = add(d, s, "dense", inner, prev, opts)) != CN_OK) return st;
            if (bn) {
                char bname[64];
                snprintf(bname, sizeof bname, "fc%d%s", d->index, a ? "_bn" : "");
                if ((st = add(d, s, "batch_norm", bname, inner, "eps=1e-12 momentum=0.01")) != CN_OK) return st;
                snprintf(inner, sizeof inner, "%s", bname);
            }
            if (a && (st = add_act(d, s, act, inner, name)) != CN_OK) return st;
            oc = outputs, oh = ow = 1, flat = 1;
        } else if (!strcmp(t, "maxpool") || !strcmp(t, "max")) {
            int64_t size, stride, padding;
            if ((st = get_int(d, s, "size", 1, 1, 1 << 16, &size)) != CN_OK || (st = get_int(d, s, "stride", 1, 1, 1 << 16, &stride)) != CN_OK ||
                (st = get_int(d, s, "padding", size - 1, 0, 1 << 16, &padding)) != CN_OK)
                return st;
            if (flat) return dn_err(d, s->line, CN_STATUS_UNSUPPORTED, "[%s] after a [connected] layer", t);
            if (H + padding < size || W + padding < size)
                return dn_err(d, s->line, CN_STATUS_FORMAT, "[maxpool] size %lld does not fit the %lldx%lld input", (long long)size, (long long)H, (long long)W);
            if (padding / 2 >= size || padding - padding / 2 >= size)
                return dn_err(d, s->line, CN_STATUS_UNSUPPORTED, "[maxpool] padding %lld is not smaller than twice the size %lld", (long long)padding, (long long)size);
            oh = (H + padding - size) / stride + 1, ow = (W + padding - size) / stride + 1;
            int64_t b = padding / 2, e = padding - b;
            snprintf(name, sizeof name, "maxpool%d", d->index);
            snprintf(opts, sizeof opts, "kernel=%lld stride=%lld padding=%lld,%lld,%lld,%lld", (long long)size, (long long)stride, (long long)b,
                     (long long)b, (long long)e, (long long)e);
            if ((st = add(d, s, "max_pool", name, prev, opts)) != CN_OK) return st;
        } else if (!strcmp(t, "avgpool") || !strcmp(t, "avg")) {
            if (flat) return dn_err(d, s->line, CN_STATUS_UNSUPPORTED, "[%s] after a [connected] layer", t);
            snprintf(name, sizeof name, "avgpool%d", d->index);
            if ((st = add(d, s, "global_avg_pool", name, prev, NULL)) != CN_OK) return st;
            oh = ow = 1;
        } else if (!strcmp(t, "dropout")) {
            double p;
            if ((st = get_float(d, s, "probability", 0.5, &p)) != CN_OK) return st;
            if (p < 0 || p > 1) return dn_err(d, find_kv(s, "probability")->line, CN_STATUS_FORMAT, "[dropout] probability %g is not in [0, 1]", p);
            snprintf(name, sizeof name, "dropout%d", d->index);
            snprintf(opts, sizeof opts, "p=%.9g", p);
            if ((st = add(d, s, "dropout", name, prev, opts)) != CN_OK) return st;
        } else if (!strcmp(t, "shortcut")) {
            double v;
            int n, from;
            if ((st = get_list(d, s, "from", &v, 1, &n)) != CN_OK) return st;
            if (n != 1) return dn_err(d, s->line, CN_STATUS_FORMAT, "[shortcut] needs from = one layer index");
            if ((st = ref_index(d, s, "from", v, &from)) != CN_OK) return st;
            double alpha, beta;
            if ((st = get_float(d, s, "alpha", 1, &alpha)) != CN_OK || (st = get_float(d, s, "beta", 1, &beta)) != CN_OK) return st;
            if (alpha != 1 || beta != 1) return dn_err(d, s->line, CN_STATUS_UNSUPPORTED, "[shortcut] alpha/beta other than 1");
            const dn_out *f = &d->out[from];
            if (flat || f->flat) return dn_err(d, s->line, CN_STATUS_UNSUPPORTED, "[shortcut] of [connected] outputs");
            if ((W / f->w != H / f->h) || (f->w / W != f->h / H) || (W > f->w && W % f->w) || (f->w > W && f->w % W))
                return dn_err(d, s->line, CN_STATUS_FORMAT, "[shortcut] from layer %d (%lldx%lldx%lld) does not fit %lldx%lldx%lld", from,
                              (long long)f->c, (long long)f->h, (long long)f->w, (long long)C, (long long)H, (long long)W);
            const char *act = get_str(s, "activation", "linear");
            int a = has_act(act);
            snprintf(name, sizeof name, "shortcut%d", d->index);
            snprintf(inner, sizeof inner, "shortcut%d%s", d->index, a ? "_add" : "");
            char ins[160];
            snprintf(ins, sizeof ins, "%s,%s", prev, f->name);
            int same = f->c == C && f->h == H && f->w == W;
            if ((st = add(d, s, same ? "add" : "shortcut", inner, ins, NULL)) != CN_OK) return st;
            if (a && (st = add_act(d, s, act, inner, name)) != CN_OK) return st;
        } else if (!strcmp(t, "route")) {
            double v[8];
            int n, idx[8];
            if ((st = get_list(d, s, "layers", v, 8, &n)) != CN_OK) return st;
            if (n < 1) return dn_err(d, s->line, CN_STATUS_FORMAT, "[route] needs layers = one or more indices");
            char ins[8 * 66] = "";
            size_t u = 0;
            oc = 0;
            for (int k = 0; k < n; k++) {
                if ((st = ref_index(d, s, "layers", v[k], &idx[k])) != CN_OK) return st;
                const dn_out *f = &d->out[idx[k]];
                if (k && (f->h != oh || f->w != ow || f->flat != flat))
                    return dn_err(d, s->line, CN_STATUS_FORMAT, "[route] layer %d is %lldx%lld, layer %d is %lldx%lld: they must match", idx[0],
                                  (long long)oh, (long long)ow, idx[k], (long long)f->h, (long long)f->w);
                oh = f->h, ow = f->w, flat = f->flat;
                oc += f->c;
                u += (size_t)snprintf(ins + u, sizeof ins - u, "%s%s", k ? "," : "", f->name);
            }
            int64_t groups;
            if ((st = get_int(d, s, "groups", 1, 1, 1, &groups)) != CN_OK) return st;
            snprintf(name, sizeof name, "route%d", d->index);
            if (n == 1) st = add(d, s, "act", name, ins, "kind=identity");
            else st = add(d, s, "concat", name, ins, "axis=1");
            if (st != CN_OK) return st;
        } else if (!strcmp(t, "upsample")) {
            int64_t stride;
            double scale;
            if ((st = get_int(d, s, "stride", 2, 1, 1 << 10, &stride)) != CN_OK || (st = get_float(d, s, "scale", 1, &scale)) != CN_OK) return st;
            if (scale != 1) return dn_err(d, s->line, CN_STATUS_UNSUPPORTED, "[upsample] scale %g (other than 1)", scale);
            if (flat) return dn_err(d, s->line, CN_STATUS_UNSUPPORTED, "[%s] after a [connected] layer", t);
            oh = H * stride, ow = W * stride;
            snprintf(name, sizeof name, "upsample%d", d->index);
            snprintf(opts, sizeof opts, "mode=nearest scale=%lld", (long long)stride);
            if ((st = add(d, s, "upsample", name, prev, opts)) != CN_OK) return st;
        } else if (!strcmp(t, "softmax") || !strcmp(t, "soft")) {
            int64_t groups;
            double temp;
            if ((st = get_int(d, s, "groups", 1, 1, 1 << 20, &groups)) != CN_OK || (st = get_float(d, s, "temperature", 1, &temp)) != CN_OK) return st;
            if (groups != 1 || temp != 1) return dn_err(d, s->line, CN_STATUS_UNSUPPORTED, "[softmax] groups %lld, temperature %g (only 1, 1)", (long long)groups, temp);
            snprintf(name, sizeof name, "softmax%d", d->index);
            if (!flat && H * W > 1) { /* Darknet normalises over all C*H*W values */
                snprintf(inner, sizeof inner, "softmax%d_flat", d->index);
                if ((st = add(d, s, "flatten", inner, prev, NULL)) != CN_OK) return st;
                if ((st = add(d, s, "softmax", name, inner, "axis=1")) != CN_OK) return st;
                oc = C * H * W, oh = ow = 1, flat = 1;
            } else if ((st = add(d, s, "softmax", name, prev, "axis=1")) != CN_OK)
                return st;
        } else if (!strcmp(t, "cost")) {
            snprintf(name, sizeof name, "cost%d", d->index); /* Darknet's output skips the cost layer */
            get_str(s, "type", NULL);
            if ((st = add(d, s, "act", name, prev, "kind=identity")) != CN_OK) return st;
        } else if (!strcmp(t, "crop")) {
            int64_t ch, cw, noadjust;
            if ((st = get_int(d, s, "crop_height", 1, 1, 1 << 20, &ch)) != CN_OK || (st = get_int(d, s, "crop_width", 1, 1, 1 << 20, &cw)) != CN_OK ||
                (st = get_int(d, s, "noadjust", 0, 0, 1, &noadjust)) != CN_OK)
                return st;
            double ignore;
            get_float(d, s, "exposure", 1, &ignore), get_float(d, s, "saturation", 1, &ignore), get_float(d, s, "angle", 0, &ignore);
            if (flat || ch > H || cw > W)
                return dn_err(d, s->line, CN_STATUS_FORMAT, "[crop] %lldx%lld does not fit the %lldx%lld input", (long long)ch, (long long)cw, (long long)H, (long long)W);
            oh = ch, ow = cw;
            snprintf(name, sizeof name, "crop%d", d->index);
            snprintf(opts, sizeof opts, "height=%lld width=%lld scale=%d shift=%d", (long long)ch, (long long)cw, noadjust ? 1 : 2, noadjust ? 0 : -1);
            if ((st = add(d, s, "crop", name, prev, opts)) != CN_OK) return st;
        } else if (!strcmp(t, "region") || !strcmp(t, "yolo")) {
            int yolo = t[0] == 'y';
            int64_t classes, num, coords, softmax;
            double anchors[64], mask[16];
            int na, nm;
            if ((st = get_int(d, s, "classes", 20, 1, 1 << 20, &classes)) != CN_OK || (st = get_int(d, s, "num", 1, 1, 1 << 10, &num)) != CN_OK ||
                (st = get_int(d, s, "coords", 4, 2, 64, &coords)) != CN_OK || (st = get_int(d, s, "softmax", 0, 0, 1, &softmax)) != CN_OK ||
                (st = get_list(d, s, "anchors", anchors, 64, &na)) != CN_OK || (st = get_list(d, s, "mask", mask, 16, &nm)) != CN_OK)
                return st;
            if (flat) return dn_err(d, s->line, CN_STATUS_UNSUPPORTED, "[%s] after a [connected] layer", t);
            size_t u = 0;
            char an[400] = "";
            for (int k = 0; k < na && u < sizeof an; k++) u += (size_t)snprintf(an + u, sizeof an - u, "%s%.9g", k ? "," : "", anchors[k]);
            snprintf(name, sizeof name, "%s%d", t, d->index);
            if (yolo) {
                if (nm < 1) { /* no mask: every anchor */
                    nm = (int)num;
                    for (int k = 0; k < nm && k < 16; k++) mask[k] = k;
                }
                if (nm > 6) return dn_err(d, s->line, CN_STATUS_UNSUPPORTED, "[yolo] %d mask entries (at most 6)", nm);
                char mk[80] = "";
                u = 0;
                for (int k = 0; k < nm; k++) u += (size_t)snprintf(mk + u, sizeof mk - u, "%s%d", k ? "," : "", (int)mask[k]);
                snprintf(opts, sizeof opts, "classes=%lld mask=%s num=%lld anchors=%s", (long long)classes, mk, (long long)num, na > 0 ? an : "0,0");
                if (na < 0) return dn_err(d, s->line, CN_STATUS_FORMAT, "[yolo] needs anchors");
            } else {
                int64_t background;
                if ((st = get_int(d, s, "background", 0, 0, 1, &background)) != CN_OK) return st;
                if (background) return dn_err(d, s->line, CN_STATUS_UNSUPPORTED, "[region] background = 1");
                if (get_str(s, "tree", NULL) || get_str(s, "map", NULL)) return dn_err(d, s->line, CN_STATUS_UNSUPPORTED, "[region] softmax trees (YOLO9000)");
                snprintf(opts, sizeof opts, "classes=%lld num=%lld coords=%lld softmax=%s%s%s", (long long)classes, (long long)num, (long long)coords,
                         softmax ? "true" : "false", na > 0 ? " anchors=" : "", na > 0 ? an : "");
            }
            if ((st = add(d, s, t, name, prev, opts)) != CN_OK) return st;
        } else
            return dn_err(d, s->line, CN_STATUS_UNSUPPORTED,
                          "section [%s] is not supported (convolutional, connected, maxpool, avgpool, dropout, shortcut, route, upsample, "
                          "softmax, cost, crop, region, yolo)",
                          t);
        warn_unused(d, s);
        snprintf(o->name, sizeof o->name, "%s", name);
        o->c = oc, o->h = oh, o->w = ow, o->flat = flat;
        if (oc < 1 || oh < 1 || ow < 1) return dn_err(d, s->line, CN_STATUS_FORMAT, "[%s] (layer %d) has an empty output", t, d->index);
        snprintf(prev, sizeof prev, "%s", name);
        C = oc, H = oh, W = ow;
    }
    if (d->nsec < 2) return dn_err(d, 0, CN_STATUS_FORMAT, "the cfg has no layers after [net]");
    return CN_OK;
}

cn_status cn_darknet_parse(cn_model **out, const char *text, size_t len, const char *name)
{
    *out = NULL;
    dn d;
    memset(&d, 0, sizeof d);
    d.file = name ? name : "darknet";
    char *copy = cn_malloc(len + 1, "Darknet cfg");
    if (!copy) return CN_STATUS_NOMEM;
    memcpy(copy, text, len);
    copy[len] = '\0';
    for (size_t i = 0; i < len; i++)
        if (!copy[i]) {
            cn_free(copy);
            return dn_err(&d, 0, CN_STATUS_FORMAT, "byte %zu is NUL: not a text file", i);
        }
    cn_status st = read_cfg(&d, copy);
    if (st == CN_OK && (st = cn_model_create(&d.m)) == CN_OK) st = build(&d);
    if (st == CN_OK) {
        *out = d.m;
        d.m = NULL;
    }
    cn_model_destroy(d.m);
    cn_free(d.sec);
    cn_free(d.out);
    cn_free(copy);
    return st;
}

cn_status cn_darknet_load(cn_model **out, const char *cfg_path)
{
    *out = NULL;
    unsigned char *buf = NULL;
    size_t len = 0;
    cn_status st = cn_file_read_all(cfg_path, &buf, &len);
    if (st != CN_OK) return st;
    st = cn_darknet_parse(out, (const char *)buf, len, cfg_path);
    cn_free(buf);
    return st;
}

/* ---- weights ---------------------------------------------------------------------------------------- */

typedef struct {
    float *dst;        /* the parameter, or NULL while counting */
    int64_t n;
    int kind;          /* 0 copy, 1 variance (transformed), 2 transposed matrix (rows, cols) */
    int64_t rows, cols;
} dn_chunk;

static cn_status find_param(cn_model *m, const char *layer, const char *p, cn_param *out)
{
    char full[160];
    snprintf(full, sizeof full, "%s.%s", layer, p);
    for (int i = 0; i < cn_model_param_count(m); i++)
        if (cn_model_param(m, i, out) == CN_OK && !strcmp(out->name, full)) return CN_OK;
    return cn_set_error(CN_STATUS_NOT_FOUND, "parameter '%s' not found", full);
}

/* the chunks of the file, in Darknet's order, for a model built by cn_darknet_parse */
static cn_status weight_chunks(cn_model *m, const char *name, int transpose, dn_chunk *ch, int cap, int *n)
{
    *n = 0;
    int nl = cn_model_layer_count(m);
    for (int i = 0; i < nl; i++) {
        cn_layer_info li, next;
        if (cn_model_layer(m, i, &li) != CN_OK) return CN_STATUS_INTERNAL;
        int conv = !strcmp(li.type, "conv"), dense = !strcmp(li.type, "dense");
        if (!conv && !dense) continue;
        int bn = i + 1 < nl && cn_model_layer(m, i + 1, &next) == CN_OK && !strcmp(next.type, "batch_norm") && next.n_inputs == 1 &&
                 !strcmp(next.inputs[0], li.name);
        cn_param w, b, sc, mu, var;
        cn_status st = find_param(m, li.name, "weight", &w);
        if (st == CN_OK) st = bn ? find_param(m, next.name, "bias", &b) : find_param(m, li.name, "bias", &b);
        if (st == CN_OK && bn && (st = find_param(m, next.name, "weight", &sc)) == CN_OK && (st = find_param(m, next.name, "running_mean", &mu)) == CN_OK)
            st = find_param(m, next.name, "running_var", &var);
        if (st != CN_OK) {
            char why[512];
            snprintf(why, sizeof why, "%s", cn_last_error());
            return cn_set_error(st, "%s: layer '%s' is not laid out as a Darknet layer (%s)", name, li.name, why);
        }
        if (*n + 5 > cap) return cn_set_error(CN_STATUS_LIMIT, "%s: too many layers", name);
        int64_t C = cn_shape_numel(&b.shape);
        dn_chunk wc = {w.value, cn_shape_numel(&w.shape), 0, 0, 0};
        if (dense && transpose) wc.kind = 2, wc.rows = w.shape.dim[0], wc.cols = w.shape.dim[1];
        ch[(*n)++] = (dn_chunk){b.value, C, 0, 0, 0};
        if (conv) {
            if (bn) {
                ch[(*n)++] = (dn_chunk){sc.value, C, 0, 0, 0};
                ch[(*n)++] = (dn_chunk){mu.value, C, 0, 0, 0};
                ch[(*n)++] = (dn_chunk){var.value, C, 1, 0, 0};
            }
            ch[(*n)++] = wc;
        } else {
            ch[(*n)++] = wc;
            if (bn) {
                ch[(*n)++] = (dn_chunk){sc.value, C, 0, 0, 0};
                ch[(*n)++] = (dn_chunk){mu.value, C, 0, 0, 0};
                ch[(*n)++] = (dn_chunk){var.value, C, 1, 0, 0};
            }
        }
    }
    return CN_OK;
}

static float f32le(const unsigned char *p)
{
    uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

cn_status cn_darknet_load_weights_buffer(cn_model *m, const void *buf, size_t len, const char *name)
{
    const unsigned char *p = buf;
    name = name ? name : "weights";
    if (!m) return cn_set_error(CN_STATUS_INVALID_ARG, "%s: no model", name);
    if (cn_model_param_count(m) > 0) {
        cn_param t;
        if (cn_model_param(m, 0, &t) != CN_OK) return cn_set_error(CN_STATUS_INVALID_STATE, "%s: plan the model before loading weights", name);
    }
    if (len < 16) return cn_set_error(CN_STATUS_FORMAT, "%s: %zu bytes; a Darknet weights file has a header of 16 or 20 bytes", name, len);
    int32_t major = (int32_t)(p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24), minor = (int32_t)(p[4] | p[5] << 8 | p[6] << 16 | (uint32_t)p[7] << 24);
    if (major < 0 || minor < 0 || major > 100000 || minor > 100000)
        return cn_set_error(CN_STATUS_FORMAT, "%s: header version %d.%d is not a Darknet weights version", name, major, minor);
    size_t header = (major * 10 + minor >= 2 && major < 1000 && minor < 1000) ? 20 : 16;
    if (len < header) return cn_set_error(CN_STATUS_FORMAT, "%s: %zu bytes; the version %d.%d header needs %zu", name, len, major, minor, header);
    int transpose = major > 1000 || minor > 1000;
    int cap = 5 * cn_model_layer_count(m) + 8, n;
    dn_chunk *ch = cn_calloc((size_t)cap, sizeof *ch, "Darknet weights");
    if (!ch) return CN_STATUS_NOMEM;
    cn_status st = weight_chunks(m, name, transpose, ch, cap, &n);
    uint64_t need = 0;
    for (int i = 0; st == CN_OK && i < n; i++) need += (uint64_t)ch[i].n;
    uint64_t have = (len - header) / 4;
    if (st == CN_OK && ((len - header) % 4 || have != need))
        st = cn_set_error(CN_STATUS_FORMAT, "%s: after the %zu-byte header the file holds %llu floats%s; the cfg's layers need %llu", name, header,
                          (unsigned long long)have, (len - header) % 4 ? " and a partial one" : "", (unsigned long long)need);
    if (st == CN_OK) { /* sizes agree: copy */
        const unsigned char *q = p + header;
        for (int i = 0; i < n; i++) {
            dn_chunk *c = &ch[i];
            for (int64_t k = 0; k < c->n; k++) {
                float v = f32le(q + 4 * k);
                if (c->kind == 1) { /* Darknet divides by sqrt(var) + 1e-6; batch_norm by sqrt(var' + 1e-12) */
                    double sd = sqrt(v > 0 ? (double)v : 0) + 1e-6;
                    v = (float)(sd * sd - 1e-12);
                }
                if (c->kind == 2) c->dst[(k % c->rows) * c->cols + k / c->rows] = v; /* the file holds W^T (inputs x outputs) */
                else c->dst[k] = v;
            }
            q += 4 * c->n;
        }
    }
    cn_free(ch);
    return st;
}

cn_status cn_darknet_load_weights(cn_model *m, const char *weights_path)
{
    unsigned char *buf = NULL;
    size_t len = 0;
    cn_status st = cn_file_read_all(weights_path, &buf, &len);
    if (st != CN_OK) return st;
    st = cn_darknet_load_weights_buffer(m, buf, len, weights_path);
    cn_free(buf);
    return st;
}
