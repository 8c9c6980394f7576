/* onnx_export.c — convnet models as ONNX models (opset 13 to 17), through the public API only:
 * layer types, inputs and planned shapes from cn_model_layer, options from the model's text
 * (cn_model_to_text, with the registry's defaults for options it leaves out), and parameters
 * from cn_model_param. Each layer becomes one ONNX node or a few (a dense layer on a feature
 * map gets a Flatten first; GELU is written with Erf; group_norm through InstanceNormalization),
 * each value is named after the layer that produces it, parameters become initializers named
 * "<layer>.<param>". Loss layers are left out: the graph's output is the prediction. The
 * message is built with protobuf-c and written atomically. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convnet/onnx.h"
#include "io/file.h"
#include "io/onnx_internal.h"

#ifndef CN_HAVE_ONNX
#ifndef CN_ONNX_MISSING
#define CN_ONNX_MISSING "protobuf-c"
#endif
cn_status cn_onnx_export(const cn_model *m, const char *path, const cn_onnx_export_opts *opts)
{
    (void)m, (void)opts;
    return cn_set_error(CN_STATUS_UNSUPPORTED, "%s: this convnet was built without ONNX support (missing: %s)", path, CN_ONNX_MISSING);
}
#else

#define EX_MAX_OPTS 40

typedef struct ex_layer {
    char type[64], name[64];
    int n_opts;
    char key[EX_MAX_OPTS][64];
    char *val[EX_MAX_OPTS]; /* pointers into the model text copy */
    cn_layer_info info;
    int is_loss;
    int pool_indices;       /* max_pool: some layer reads its indices */
} ex_layer;

typedef struct ex {
    const cn_model *m;
    const char *path;
    int opset, dyn;
    char *text;             /* the model text (owned; options point into it) */
    ex_layer *layers;
    int nl;
    void **allocs;          /* everything the message points to (freed at the end) */
    int na, capa;
    Onnx__NodeProto **nodes;
    int nn, capn;
    Onnx__TensorProto **inits;
    int ni, capi;
    int failed;             /* an allocation failed */
} ex;

static void *ex_keep(ex *e, void *p)
{
    if (!p) {
        e->failed = 1;
        return NULL;
    }
    if (e->na == e->capa) {
        int cap = e->capa ? 2 * e->capa : 256;
        void **n = cn_malloc((size_t)cap * sizeof *n, "ONNX export");
        if (!n) {
            cn_free(p);
            e->failed = 1;
            return NULL;
        }
        if (e->na) memcpy(n, e->allocs, (size_t)e->na * sizeof *n);
        cn_free(e->allocs);
        e->allocs = n;
        e->capa = cap;
    }
    e->allocs[e->na++] = p;
    return p;
}

static void *ex_alloc(ex *e, size_t n) { return ex_keep(e, cn_calloc(1, n ? n : 1, "ONNX export")); }

static char *ex_str(ex *e, const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = ex_alloc(e, n);
    if (d) memcpy(d, s, n);
    return d;
}

static char *ex_fmt(ex *e, const char *fmt, const char *a, const char *b)
{
    char buf[512];
    snprintf(buf, sizeof buf, fmt, a, b);
    return ex_str(e, buf);
}

static cn_status ex_err(ex *e, cn_status st, const ex_layer *l, const char *fmt, const char *detail)
{
    char msg[512];
    snprintf(msg, sizeof msg, fmt, detail ? detail : "");
    if (l) return cn_set_error(st, "%s: layer '%s' [%s]: %s", e->path, l->name, l->type, msg);
    return cn_set_error(st, "%s: %s", e->path, msg);
}

/* ---- the model's options ------------------------------------------------------------------------- */

static char *trim(char *s)
{
    while (isspace((unsigned char)*s)) s++;
    char *end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1])) *--end = '\0';
    return s;
}

/* split the model text into blocks and key = value pairs */
static cn_status read_text(ex *e)
{
    cn_status st = cn_model_to_text(e->m, &e->text);
    if (st != CN_OK) return st;
    ex_layer *cur = NULL;
    int nblocks = 0;
    char *save = NULL;
    for (char *line = strtok_r(e->text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *hash = strchr(line, '#');
        if (hash) *hash = '\0';
        line = trim(line);
        if (!*line) continue;
        if (*line == '[') {
            char *close = strchr(line, ']');
            if (!close || nblocks >= e->nl) return cn_set_error(CN_STATUS_INTERNAL, "%s: unexpected model text '%s'", e->path, line);
            *close = '\0';
            cur = NULL;
            /* blocks come in the model's layer order (checked against cn_model_layer later) */
            for (int i = 0; i < e->nl; i++)
                if (!e->layers[i].type[0]) {
                    cur = &e->layers[i];
                    break;
                }
            if (!cur) return cn_set_error(CN_STATUS_INTERNAL, "%s: more blocks than layers", e->path);
            snprintf(cur->type, sizeof cur->type, "%s", line + 1);
            nblocks++;
            continue;
        }
        char *eq = strchr(line, '=');
        if (!cur || !eq) continue;
        *eq = '\0';
        char *k = trim(line), *v = trim(eq + 1);
        if (!strcmp(k, "name")) {
            snprintf(cur->name, sizeof cur->name, "%s", v);
            continue;
        }
        if (!strcmp(k, "input") || !strcmp(k, "inputs")) continue;
        if (cur->n_opts < EX_MAX_OPTS) {
            snprintf(cur->key[cur->n_opts], sizeof cur->key[0], "%s", k);
            cur->val[cur->n_opts++] = v;
        }
    }
    return CN_OK;
}

/* the option's text: given, else the registry's default, else NULL */
static const char *opt(const ex_layer *l, const char *key)
{
    for (int i = 0; i < l->n_opts; i++)
        if (!strcmp(l->key[i], key)) return l->val[i];
    const cn_layer_type_info *t = cn_layer_type_find(l->type);
    for (int i = 0; t && i < t->n_options; i++)
        if (!strcmp(t->options[i].name, key)) return t->options[i].def;
    return NULL;
}

static double opt_f(const ex_layer *l, const char *key, double dflt)
{
    const char *v = opt(l, key);
    if (!v || !*v) return dflt;
    double x = strtod(v, NULL);
    return isnan(x) ? dflt : x;
}

static int opt_b(const ex_layer *l, const char *key)
{
    const char *v = opt(l, key);
    return v && (!strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "yes"));
}

static int opt_is(const ex_layer *l, const char *key, const char *want)
{
    const char *v = opt(l, key);
    return v && !strcmp(v, want);
}

/* "3", "3x5", "1,2,1,2" → values; returns the count (0 for absent or empty) */
static int opt_ints(const ex_layer *l, const char *key, int64_t *v, int max)
{
    const char *s = opt(l, key);
    int n = 0;
    while (s && *s && n < max) {
        char *end;
        long long x = strtoll(s, &end, 10);
        if (end == s) break;
        v[n++] = x;
        s = end;
        while (*s == ' ' || *s == 'x' || *s == ',') s++;
    }
    return n;
}

static int opt_floats(const ex_layer *l, const char *key, double *v, int max)
{
    const char *s = opt(l, key);
    int n = 0;
    while (s && *s && n < max) {
        char *end;
        double x = strtod(s, &end);
        if (end == s) break;
        v[n++] = x;
        s = end;
        while (*s == ' ' || *s == 'x' || *s == ',') s++;
    }
    return n;
}

/* per-axis values of an INTS option (1 value broadcasts), default d */
static void axis_vals(const ex_layer *l, const char *key, int nd, int64_t d, int64_t *out)
{
    int64_t v[8];
    int n = opt_ints(l, key, v, 8);
    for (int i = 0; i < nd; i++) out[i] = n == 0 ? d : n == 1 ? v[0] : v[i < n ? i : n - 1];
}

static const ex_layer *find_layer(const ex *e, const char *name)
{
    for (int i = 0; i < e->nl; i++)
        if (!strcmp(e->layers[i].name, name)) return &e->layers[i];
    return NULL;
}

/* ---- protobuf construction ------------------------------------------------------------------------ */

static Onnx__NodeProto *node(ex *e, const char *op, const char *name, int n_in, const char *const *in, int n_out, const char *const *out)
{
    Onnx__NodeProto *nd = ex_alloc(e, sizeof *nd);
    if (!nd) return NULL;
    onnx__node_proto__init(nd);
    nd->op_type = ex_str(e, op);
    nd->name = ex_str(e, name);
    nd->n_input = (size_t)n_in;
    nd->input = ex_alloc(e, sizeof(char *) * (size_t)(n_in + 1));
    nd->n_output = (size_t)n_out;
    nd->output = ex_alloc(e, sizeof(char *) * (size_t)(n_out + 1));
    nd->attribute = ex_alloc(e, sizeof(Onnx__AttributeProto *) * 16);
    if (!nd->input || !nd->output || !nd->attribute) return NULL;
    for (int i = 0; i < n_in; i++) nd->input[i] = ex_str(e, in[i]);
    for (int i = 0; i < n_out; i++) nd->output[i] = ex_str(e, out[i]);
    if (e->nn == e->capn) {
        int cap = e->capn ? 2 * e->capn : 64;
        Onnx__NodeProto **n = ex_alloc(e, (size_t)cap * sizeof *n);
        if (!n) return NULL;
        if (e->nn) memcpy(n, e->nodes, (size_t)e->nn * sizeof *n);
        e->nodes = n;
        e->capn = cap;
    }
    e->nodes[e->nn++] = nd;
    return nd;
}

/* a one-input, one-output node */
static Onnx__NodeProto *node1(ex *e, const char *op, const char *name, const char *in, const char *out)
{
    return node(e, op, name, 1, &in, 1, &out);
}

static Onnx__AttributeProto *attr(ex *e, Onnx__NodeProto *nd, const char *name, int type)
{
    if (!nd || nd->n_attribute >= 16) {
        e->failed = 1;
        return NULL;
    }
    Onnx__AttributeProto *a = ex_alloc(e, sizeof *a);
    if (!a) return NULL;
    onnx__attribute_proto__init(a);
    a->name = ex_str(e, name);
    a->has_type = 1;
    a->type = type;
    nd->attribute[nd->n_attribute++] = a;
    return a;
}

static void attr_int(ex *e, Onnx__NodeProto *nd, const char *name, int64_t v)
{
    Onnx__AttributeProto *a = attr(e, nd, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
    if (a) a->has_i = 1, a->i = v;
}

static void attr_float(ex *e, Onnx__NodeProto *nd, const char *name, double v)
{
    Onnx__AttributeProto *a = attr(e, nd, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
    if (a) a->has_f = 1, a->f = (float)v;
}

static void attr_ints(ex *e, Onnx__NodeProto *nd, const char *name, const int64_t *v, int n)
{
    Onnx__AttributeProto *a = attr(e, nd, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
    if (!a) return;
    a->ints = ex_alloc(e, sizeof(int64_t) * (size_t)(n + 1));
    if (!a->ints) return;
    memcpy(a->ints, v, sizeof(int64_t) * (size_t)n);
    a->n_ints = (size_t)n;
}

static void attr_str(ex *e, Onnx__NodeProto *nd, const char *name, const char *v)
{
    Onnx__AttributeProto *a = attr(e, nd, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
    if (!a) return;
    a->has_s = 1;
    a->s.data = (uint8_t *)ex_str(e, v);
    a->s.len = strlen(v);
}

/* an initializer: FLOAT (values from f) or INT64 (values from i) */
static const char *init_tensor(ex *e, const char *name, int dtype, int ndim, const int64_t *dims, const float *f, const int64_t *iv)
{
    Onnx__TensorProto *t = ex_alloc(e, sizeof *t);
    if (!t) return NULL;
    onnx__tensor_proto__init(t);
    t->name = ex_str(e, name);
    t->has_data_type = 1;
    t->data_type = dtype;
    t->n_dims = (size_t)ndim;
    t->dims = ex_alloc(e, sizeof(int64_t) * (size_t)(ndim + 1));
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) n *= dims[i];
    size_t es = dtype == CN_ONNX_INT64 ? 8 : 4;
    uint8_t *raw = ex_alloc(e, (size_t)n * es);
    if (!t->dims || !raw) return NULL;
    if (ndim) memcpy(t->dims, dims, sizeof(int64_t) * (size_t)ndim);
    for (int64_t k = 0; k < n; k++) { /* little-endian, whatever the host */
        uint64_t u;
        if (dtype == CN_ONNX_INT64) u = (uint64_t)iv[k];
        else {
            uint32_t b;
            memcpy(&b, &f[k], 4);
            u = b;
        }
        for (size_t j = 0; j < es; j++) raw[k * es + j] = (uint8_t)(u >> (8 * j));
    }
    t->has_raw_data = 1;
    t->raw_data.data = raw;
    t->raw_data.len = (size_t)n * es;
    if (e->ni == e->capi) {
        int cap = e->capi ? 2 * e->capi : 64;
        Onnx__TensorProto **nt = ex_alloc(e, (size_t)cap * sizeof *nt);
        if (!nt) return NULL;
        if (e->ni) memcpy(nt, e->inits, (size_t)e->ni * sizeof *nt);
        e->inits = nt;
        e->capi = cap;
    }
    e->inits[e->ni++] = t;
    return t->name;
}

static const char *init_f(ex *e, const char *name, int ndim, const int64_t *dims, const float *v)
{
    return init_tensor(e, name, CN_ONNX_FLOAT, ndim, dims, v, NULL);
}

static const char *init_i(ex *e, const char *name, int n, const int64_t *v)
{
    int64_t d = n;
    return init_tensor(e, name, CN_ONNX_INT64, 1, &d, NULL, v);
}

static const char *init_scalar(ex *e, const char *name, float v)
{
    return init_f(e, name, 0, NULL, &v);
}

/* the parameter "<layer>.<p>" (NULL if absent) */
static const float *param(const ex *e, const ex_layer *l, const char *p, cn_shape *shape)
{
    char full[160];
    snprintf(full, sizeof full, "%s.%s", l->name, p);
    for (int i = 0; i < cn_model_param_count(e->m); i++) {
        cn_param pp;
        if (cn_model_param(e->m, i, &pp) == CN_OK && !strcmp(pp.name, full)) {
            if (shape) *shape = pp.shape;
            return pp.value;
        }
    }
    return NULL;
}

/* a parameter as an initializer under its own name, optionally reshaped */
static const char *param_init(ex *e, const ex_layer *l, const char *p, int ndim, const int64_t *dims)
{
    cn_shape s;
    const float *v = param(e, l, p, &s);
    if (!v) return NULL;
    char full[160];
    snprintf(full, sizeof full, "%s.%s", l->name, p);
    if (ndim) return init_f(e, full, ndim, dims, v);
    return init_f(e, full, s.ndim, s.dim, v);
}

static Onnx__ValueInfoProto *value_info(ex *e, const char *name, const cn_shape *s)
{
    Onnx__ValueInfoProto *vi = ex_alloc(e, sizeof *vi);
    Onnx__TypeProto *tp = ex_alloc(e, sizeof *tp);
    Onnx__TypeProto__Tensor *tt = ex_alloc(e, sizeof *tt);
    Onnx__TensorShapeProto *sh = ex_alloc(e, sizeof *sh);
    Onnx__TensorShapeProto__Dimension **dims = ex_alloc(e, sizeof *dims * (size_t)(s->ndim + 1));
    if (!vi || !tp || !tt || !sh || !dims) return NULL;
    onnx__value_info_proto__init(vi);
    onnx__type_proto__init(tp);
    onnx__type_proto__tensor__init(tt);
    onnx__tensor_shape_proto__init(sh);
    for (int i = 0; i < s->ndim; i++) {
        Onnx__TensorShapeProto__Dimension *d = ex_alloc(e, sizeof *d);
        if (!d) return NULL;
        onnx__tensor_shape_proto__dimension__init(d);
        if (i == 0 && e->dyn) {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            d->dim_param = ex_str(e, "N");
        } else {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            d->dim_value = s->dim[i];
        }
        dims[i] = d;
    }
    sh->n_dim = (size_t)s->ndim;
    sh->dim = dims;
    tt->has_elem_type = 1;
    tt->elem_type = CN_ONNX_FLOAT;
    tt->shape = sh;
    tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    tp->tensor_type = tt;
    vi->name = ex_str(e, name);
    vi->type = tp;
    return vi;
}

/* ---- layers ------------------------------------------------------------------------------------------ */

/* padding option → explicit begins/ends (mode 0), or an auto_pad string; -1 when unreadable */
static int pads_of(const ex_layer *l, int nd, int64_t *begin, int64_t *end, const char **auto_pad)
{
    const char *p = opt(l, "padding");
    *auto_pad = NULL;
    for (int i = 0; i < nd; i++) begin[i] = end[i] = 0;
    if (!p || !*p) return 0;
    if (!strcmp(p, "same")) return *auto_pad = "SAME_UPPER", 0;
    if (!strcmp(p, "same_lower")) return *auto_pad = "SAME_LOWER", 0;
    if (!strcmp(p, "valid")) return *auto_pad = "VALID", 0;
    int64_t v[8];
    int n = opt_ints(l, "padding", v, 8);
    if (n == 1)
        for (int i = 0; i < nd; i++) begin[i] = end[i] = v[0];
    else if (n == nd)
        for (int i = 0; i < nd; i++) begin[i] = end[i] = v[i];
    else if (n == 2 * nd)
        for (int i = 0; i < nd; i++) begin[i] = v[i], end[i] = v[nd + i];
    else
        return -1;
    return 0;
}

static void set_pads(ex *e, Onnx__NodeProto *nd, int n, const int64_t *b, const int64_t *en, const char *auto_pad)
{
    if (auto_pad) {
        attr_str(e, nd, "auto_pad", auto_pad);
        return;
    }
    int64_t p[6];
    for (int i = 0; i < n; i++) p[i] = b[i], p[n + i] = en[i];
    attr_ints(e, nd, "pads", p, 2 * n);
}

static cn_status ex_conv(ex *e, const ex_layer *l, const char *in, const char *out)
{
    int transposed = !strcmp(l->type, "conv_transpose");
    cn_shape ws;
    const float *w = param(e, l, "weight", &ws);
    if (!w) return ex_err(e, CN_STATUS_INTERNAL, l, "no weight%s", NULL);
    int nd = ws.ndim - 2;
    int64_t k[3], s[3], d[3], b[3], en[3], op[3], os[3];
    const char *ap;
    if (pads_of(l, nd, b, en, &ap)) return ex_err(e, CN_STATUS_INTERNAL, l, "padding '%s' unreadable", opt(l, "padding"));
    for (int i = 0; i < nd; i++) k[i] = ws.dim[2 + i];
    axis_vals(l, "stride", nd, 1, s);
    axis_vals(l, "dilation", nd, 1, d);
    const char *mode = opt(l, "pad_mode");
    const char *x = in;
    if (!transposed && mode && strcmp(mode, "zero")) { /* reflect / replicate: a Pad node first */
        if (ap) return ex_err(e, CN_STATUS_UNSUPPORTED, l, "pad_mode %s with automatic padding has no ONNX equivalent", mode);
        int64_t pads[10] = {0};
        for (int i = 0; i < nd; i++) pads[2 + i] = b[i], pads[2 + nd + 2 + i] = en[i];
        const char *pin[2] = {in, init_i(e, ex_fmt(e, "%s/pads%s", l->name, ""), 2 * (nd + 2), pads)};
        const char *pout = ex_fmt(e, "%s/padded%s", l->name, "");
        Onnx__NodeProto *pn = node(e, "Pad", ex_fmt(e, "%s/pad%s", l->name, ""), 2, pin, 1, &pout);
        attr_str(e, pn, "mode", !strcmp(mode, "reflect") ? "reflect" : "edge");
        x = pout;
        for (int i = 0; i < nd; i++) b[i] = en[i] = 0;
    }
    /* flip = true: a true convolution is cross-correlation with the kernel flipped */
    float *wf = NULL;
    if (opt_b(l, "flip")) {
        int64_t n = cn_shape_numel(&ws), sp = 1;
        for (int i = 0; i < nd; i++) sp *= k[i];
        wf = ex_alloc(e, (size_t)n * sizeof(float));
        if (!wf) return CN_STATUS_NOMEM;
        for (int64_t q = 0; q < n / sp; q++)
            for (int64_t j = 0; j < sp; j++) wf[q * sp + j] = w[q * sp + sp - 1 - j];
    }
    char wname[160];
    snprintf(wname, sizeof wname, "%s.weight", l->name);
    const char *ins[3] = {x, init_f(e, wname, ws.ndim, ws.dim, wf ? wf : w), NULL};
    int n_in = 2;
    if (param(e, l, "bias", NULL)) ins[n_in++] = param_init(e, l, "bias", 0, NULL);
    Onnx__NodeProto *nd_ = node(e, transposed ? "ConvTranspose" : "Conv", l->name, n_in, ins, 1, &out);
    attr_ints(e, nd_, "kernel_shape", k, nd);
    attr_ints(e, nd_, "strides", s, nd);
    attr_ints(e, nd_, "dilations", d, nd);
    attr_int(e, nd_, "group", (int64_t)opt_f(l, "groups", 1));
    set_pads(e, nd_, nd, b, en, ap);
    if (transposed) {
        axis_vals(l, "output_padding", nd, 0, op);
        axis_vals(l, "output_shape", nd, 0, os);
        attr_ints(e, nd_, "output_padding", op, nd);
        if (os[0] > 0) attr_ints(e, nd_, "output_shape", os, nd);
    }
    return CN_OK;
}

static cn_status ex_separable(ex *e, const ex_layer *l, const char *in, const char *out)
{
    cn_shape dw, pw;
    if (!param(e, l, "dw_weight", &dw) || !param(e, l, "pw_weight", &pw)) return ex_err(e, CN_STATUS_INTERNAL, l, "weights missing%s", NULL);
    int nd = dw.ndim - 2;
    int64_t k[3], s[3], d[3], b[3], en[3], ones[3] = {1, 1, 1};
    const char *ap;
    if (pads_of(l, nd, b, en, &ap)) return ex_err(e, CN_STATUS_INTERNAL, l, "padding unreadable%s", NULL);
    const char *mode = opt(l, "pad_mode");
    if (mode && strcmp(mode, "zero")) return ex_err(e, CN_STATUS_UNSUPPORTED, l, "pad_mode %s on separable_conv", mode);
    for (int i = 0; i < nd; i++) k[i] = dw.dim[2 + i];
    axis_vals(l, "stride", nd, 1, s);
    axis_vals(l, "dilation", nd, 1, d);
    const char *mid = ex_fmt(e, "%s/depthwise%s", l->name, "");
    const char *ins[3] = {in, param_init(e, l, "dw_weight", 0, NULL), NULL};
    int n_in = 2;
    if (param(e, l, "dw_bias", NULL)) ins[n_in++] = param_init(e, l, "dw_bias", 0, NULL);
    Onnx__NodeProto *a = node(e, "Conv", ex_fmt(e, "%s/dw%s", l->name, ""), n_in, ins, 1, &mid);
    attr_ints(e, a, "kernel_shape", k, nd);
    attr_ints(e, a, "strides", s, nd);
    attr_ints(e, a, "dilations", d, nd);
    /* group = input channels: the depthwise weight is (C*multiplier, 1, k...) */
    const ex_layer *src = find_layer(e, l->info.inputs[0]);
    if (!src) return ex_err(e, CN_STATUS_INTERNAL, l, "no input layer%s", NULL);
    attr_int(e, a, "group", src->info.out.dim[1]);
    set_pads(e, a, nd, b, en, ap);
    const char *ins2[3] = {mid, param_init(e, l, "pw_weight", 0, NULL), NULL};
    n_in = 2;
    if (param(e, l, "pw_bias", NULL)) ins2[n_in++] = param_init(e, l, "pw_bias", 0, NULL);
    Onnx__NodeProto *p = node(e, "Conv", l->name, n_in, ins2, 1, &out);
    int64_t k1[3] = {1, 1, 1};
    attr_ints(e, p, "kernel_shape", k1, nd);
    attr_ints(e, p, "strides", ones, nd);
    return CN_OK;
}

static cn_status ex_act(ex *e, const ex_layer *l, const char *in, const char *out)
{
    const char *kind = opt(l, "kind");
    if (!kind) return ex_err(e, CN_STATUS_INTERNAL, l, "no kind%s", NULL);
    Onnx__NodeProto *nd;
    if (!strcmp(kind, "identity")) node1(e, "Identity", l->name, in, out);
    else if (!strcmp(kind, "relu")) node1(e, "Relu", l->name, in, out);
    else if (!strcmp(kind, "sigmoid")) node1(e, "Sigmoid", l->name, in, out);
    else if (!strcmp(kind, "tanh")) node1(e, "Tanh", l->name, in, out);
    else if (!strcmp(kind, "selu")) node1(e, "Selu", l->name, in, out);
    else if (!strcmp(kind, "leaky_relu")) attr_float(e, node1(e, "LeakyRelu", l->name, in, out), "alpha", opt_f(l, "slope", 0.01));
    else if (!strcmp(kind, "elu")) attr_float(e, node1(e, "Elu", l->name, in, out), "alpha", opt_f(l, "alpha", 1));
    else if (!strcmp(kind, "hard_sigmoid")) {
        nd = node1(e, "HardSigmoid", l->name, in, out);
        attr_float(e, nd, "alpha", opt_f(l, "alpha", 0.2));
        attr_float(e, nd, "beta", opt_f(l, "beta", 0.5));
    } else if (!strcmp(kind, "hard_swish")) {
        if (e->opset >= 14) node1(e, "HardSwish", l->name, in, out);
        else { /* x * hard_sigmoid(x; 1/6, 1/2) */
            const char *h = ex_fmt(e, "%s/hsig%s", l->name, "");
            nd = node1(e, "HardSigmoid", ex_fmt(e, "%s/hardsigmoid%s", l->name, ""), in, h);
            attr_float(e, nd, "alpha", 1.0 / 6);
            attr_float(e, nd, "beta", 0.5);
            const char *mi[2] = {in, h};
            node(e, "Mul", l->name, 2, mi, 1, &out);
        }
    } else if (!strcmp(kind, "softplus")) {
        double beta = opt_f(l, "beta", 1);
        if (beta == 0) beta = 1;
        if (beta == 1) node1(e, "Softplus", l->name, in, out);
        else { /* softplus(beta x) / beta */
            const char *bx = ex_fmt(e, "%s/bx%s", l->name, ""), *sp = ex_fmt(e, "%s/sp%s", l->name, "");
            const char *mi[2] = {in, init_scalar(e, ex_fmt(e, "%s/beta%s", l->name, ""), (float)beta)};
            node(e, "Mul", ex_fmt(e, "%s/mul%s", l->name, ""), 2, mi, 1, &bx);
            node1(e, "Softplus", ex_fmt(e, "%s/softplus%s", l->name, ""), bx, sp);
            const char *di[2] = {sp, mi[1]};
            node(e, "Div", l->name, 2, di, 1, &out);
        }
    } else if (!strcmp(kind, "clip")) {
        double lo = opt_f(l, "lo", -INFINITY), hi = opt_f(l, "hi", INFINITY);
        const char *ci[3] = {in, init_scalar(e, ex_fmt(e, "%s/min%s", l->name, ""), (float)lo), init_scalar(e, ex_fmt(e, "%s/max%s", l->name, ""), (float)hi)};
        node(e, "Clip", l->name, 3, ci, 1, &out);
    } else if (!strcmp(kind, "gelu")) {
        const char *half = init_scalar(e, ex_fmt(e, "%s/half%s", l->name, ""), 0.5f), *one = init_scalar(e, ex_fmt(e, "%s/one%s", l->name, ""), 1.0f);
        const char *t = ex_fmt(e, "%s/t%s", l->name, ""), *u = ex_fmt(e, "%s/u%s", l->name, ""), *hx = ex_fmt(e, "%s/hx%s", l->name, "");
        if (opt_b(l, "approximate")) { /* 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) */
            const char *x3 = ex_fmt(e, "%s/x3%s", l->name, ""), *p = ex_fmt(e, "%s/p%s", l->name, ""), *q = ex_fmt(e, "%s/q%s", l->name, ""),
                       *r = ex_fmt(e, "%s/r%s", l->name, "");
            const char *pw[2] = {in, init_scalar(e, ex_fmt(e, "%s/three%s", l->name, ""), 3.0f)};
            node(e, "Pow", ex_fmt(e, "%s/pow%s", l->name, ""), 2, pw, 1, &x3);
            const char *m1[2] = {x3, init_scalar(e, ex_fmt(e, "%s/c%s", l->name, ""), 0.044715f)};
            node(e, "Mul", ex_fmt(e, "%s/mul1%s", l->name, ""), 2, m1, 1, &p);
            const char *a1[2] = {in, p};
            node(e, "Add", ex_fmt(e, "%s/add1%s", l->name, ""), 2, a1, 1, &q);
            const char *m2[2] = {q, init_scalar(e, ex_fmt(e, "%s/k%s", l->name, ""), 0.7978845608028654f)};
            node(e, "Mul", ex_fmt(e, "%s/mul2%s", l->name, ""), 2, m2, 1, &r);
            node1(e, "Tanh", ex_fmt(e, "%s/tanh%s", l->name, ""), r, t);
        } else { /* 0.5 x (1 + erf(x / sqrt 2)) */
            const char *xs = ex_fmt(e, "%s/xs%s", l->name, "");
            const char *d1[2] = {in, init_scalar(e, ex_fmt(e, "%s/sqrt2%s", l->name, ""), 1.4142135623730951f)};
            node(e, "Div", ex_fmt(e, "%s/div%s", l->name, ""), 2, d1, 1, &xs);
            node1(e, "Erf", ex_fmt(e, "%s/erf%s", l->name, ""), xs, t);
        }
        const char *a2[2] = {t, one};
        node(e, "Add", ex_fmt(e, "%s/add%s", l->name, ""), 2, a2, 1, &u);
        const char *m3[2] = {in, half};
        node(e, "Mul", ex_fmt(e, "%s/mulh%s", l->name, ""), 2, m3, 1, &hx);
        const char *m4[2] = {hx, u};
        node(e, "Mul", l->name, 2, m4, 1, &out);
    } else
        return ex_err(e, CN_STATUS_UNSUPPORTED, l, "activation '%s' has no ONNX form here", kind);
    return CN_OK;
}

static cn_status ex_pool(ex *e, const ex_layer *l, const char *in, const char *out)
{
    const char *t = l->type;
    int nd = l->info.out.ndim - 2;
    int64_t k[3], s[3], d[3], b[3], en[3];
    const char *ap;
    if (pads_of(l, nd, b, en, &ap)) return ex_err(e, CN_STATUS_INTERNAL, l, "padding unreadable%s", NULL);
    axis_vals(l, "kernel", nd, 1, k);
    axis_vals(l, "stride", nd, 0, s);
    axis_vals(l, "dilation", nd, 1, d);
    for (int i = 0; i < nd; i++)
        if (!s[i]) s[i] = k[i];
    const char *op = !strcmp(t, "max_pool") ? "MaxPool" : !strcmp(t, "avg_pool") ? "AveragePool" : "LpPool";
    const char *outs[2] = {out, ex_fmt(e, "%s/indices%s", l->name, "")};
    Onnx__NodeProto *nd_ = node(e, op, l->name, 1, &in, l->pool_indices ? 2 : 1, outs);
    attr_ints(e, nd_, "kernel_shape", k, nd);
    attr_ints(e, nd_, "strides", s, nd);
    set_pads(e, nd_, nd, b, en, ap);
    if (!strcmp(op, "MaxPool")) {
        attr_ints(e, nd_, "dilations", d, nd);
        attr_int(e, nd_, "ceil_mode", opt_b(l, "ceil_mode"));
    } else if (!strcmp(op, "AveragePool")) {
        attr_int(e, nd_, "ceil_mode", opt_b(l, "ceil_mode"));
        attr_int(e, nd_, "count_include_pad", opt_b(l, "count_include_pad"));
    } else {
        double p = opt_f(l, "p", 2);
        if (p != floor(p) || opt_b(l, "ceil_mode")) return ex_err(e, CN_STATUS_UNSUPPORTED, l, "LpPool takes an integer p and no ceil_mode%s", NULL);
        attr_int(e, nd_, "p", (int64_t)p);
    }
    return CN_OK;
}

static cn_status ex_norm(ex *e, const ex_layer *l, const char *in, const char *out)
{
    const char *t = l->type;
    int64_t C = l->info.out.dim[1];
    int affine = opt_b(l, "affine");
    float *ones = ex_alloc(e, (size_t)C * sizeof(float)), *zeros = ex_alloc(e, (size_t)C * sizeof(float));
    if (!ones || !zeros) return CN_STATUS_NOMEM;
    for (int64_t i = 0; i < C; i++) ones[i] = 1;
    const char *scale = affine ? param_init(e, l, "weight", 0, NULL) : init_f(e, ex_fmt(e, "%s/scale%s", l->name, ""), 1, &C, ones);
    const char *bias = affine ? param_init(e, l, "bias", 0, NULL) : init_f(e, ex_fmt(e, "%s/bias%s", l->name, ""), 1, &C, zeros);
    if (!strcmp(t, "batch_norm")) {
        const char *ins[5] = {in, scale, bias, param_init(e, l, "running_mean", 0, NULL), param_init(e, l, "running_var", 0, NULL)};
        Onnx__NodeProto *nd = node(e, "BatchNormalization", l->name, 5, ins, 1, &out);
        attr_float(e, nd, "epsilon", opt_f(l, "eps", 1e-5));
        attr_float(e, nd, "momentum", 1 - opt_f(l, "momentum", 0.1));
    } else if (!strcmp(t, "instance_norm")) {
        const char *ins[3] = {in, scale, bias};
        attr_float(e, node(e, "InstanceNormalization", l->name, 3, ins, 1, &out), "epsilon", opt_f(l, "eps", 1e-5));
    } else { /* group_norm: reshape to (N, G, -1), instance-normalise, reshape back, scale and shift */
        int64_t G = (int64_t)opt_f(l, "groups", 1), rs[3] = {0, G, -1}, back[5];
        cn_shape s = l->info.out;
        for (int i = 0; i < s.ndim; i++) back[i] = i ? s.dim[i] : 0;
        const char *r1 = ex_fmt(e, "%s/grouped%s", l->name, ""), *n1 = ex_fmt(e, "%s/normed%s", l->name, ""),
                   *r2 = ex_fmt(e, "%s/ungrouped%s", l->name, ""), *m1 = ex_fmt(e, "%s/scaled%s", l->name, "");
        const char *a[2] = {in, init_i(e, ex_fmt(e, "%s/group_shape%s", l->name, ""), 3, rs)};
        node(e, "Reshape", ex_fmt(e, "%s/reshape%s", l->name, ""), 2, a, 1, &r1);
        float *g1 = ex_alloc(e, (size_t)G * sizeof(float)), *g0 = ex_alloc(e, (size_t)G * sizeof(float));
        if (!g1 || !g0) return CN_STATUS_NOMEM;
        for (int64_t i = 0; i < G; i++) g1[i] = 1;
        const char *b[3] = {r1, init_f(e, ex_fmt(e, "%s/gscale%s", l->name, ""), 1, &G, g1), init_f(e, ex_fmt(e, "%s/gbias%s", l->name, ""), 1, &G, g0)};
        attr_float(e, node(e, "InstanceNormalization", ex_fmt(e, "%s/in%s", l->name, ""), 3, b, 1, &n1), "epsilon", opt_f(l, "eps", 1e-5));
        const char *c[2] = {n1, init_i(e, ex_fmt(e, "%s/shape%s", l->name, ""), s.ndim, back)};
        node(e, "Reshape", ex_fmt(e, "%s/reshape_back%s", l->name, ""), 2, c, 1, &r2);
        int64_t cd[5] = {C, 1, 1, 1, 1};
        const char *d[2] = {r2, init_f(e, ex_fmt(e, "%s/weight_c%s", l->name, ""), s.ndim - 1, cd, affine ? param(e, l, "weight", NULL) : ones)};
        node(e, "Mul", ex_fmt(e, "%s/mul%s", l->name, ""), 2, d, 1, &m1);
        const char *f[2] = {m1, init_f(e, ex_fmt(e, "%s/bias_c%s", l->name, ""), s.ndim - 1, cd, affine ? param(e, l, "bias", NULL) : zeros)};
        node(e, "Add", l->name, 2, f, 1, &out);
    }
    return CN_OK;
}

static cn_status ex_resize(ex *e, const ex_layer *l, const char *in, const char *out)
{
    int nd = l->info.out.ndim - 2;
    int R = nd + 2;
    int up = !strcmp(l->type, "upsample");
    int linear = opt_is(l, "mode", "linear");
    const char *coord, *nearest = "floor";
    if (up) coord = linear ? (opt_b(l, "align_corners") ? "align_corners" : "half_pixel") : "asymmetric";
    else {
        coord = opt(l, "coord");
        nearest = opt(l, "nearest");
    }
    double sc[3];
    int ns = opt_floats(l, "scale", sc, 3);
    int64_t sz[3];
    int nz = opt_ints(l, "size", sz, 3);
    const char *ins[4] = {in, "", NULL, NULL};
    int n_in;
    if (ns && !nz) {
        float scales[5] = {1, 1};
        for (int i = 0; i < nd; i++) scales[2 + i] = (float)(ns == 1 ? sc[0] : sc[i]);
        int64_t d = R;
        ins[2] = init_f(e, ex_fmt(e, "%s/scales%s", l->name, ""), 1, &d, scales);
        n_in = 3;
    } else { /* a size (with or without a scale for the mapping: ONNX maps with out/in then) */
        int64_t sizes[5];
        for (int i = 0; i < R; i++) sizes[i] = l->info.out.dim[i];
        ins[2] = "";
        ins[3] = init_i(e, ex_fmt(e, "%s/sizes%s", l->name, ""), R, sizes);
        n_in = 4;
        if (ns && nz) return ex_err(e, CN_STATUS_UNSUPPORTED, l, "both a size and a scale (ONNX Resize maps with one of them)%s", NULL);
    }
    Onnx__NodeProto *nd_ = node(e, "Resize", l->name, n_in, ins, 1, &out);
    attr_str(e, nd_, "mode", linear ? "linear" : "nearest");
    attr_str(e, nd_, "coordinate_transformation_mode", coord ? coord : "half_pixel");
    if (!linear) attr_str(e, nd_, "nearest_mode", nearest ? nearest : "round_prefer_floor");
    return CN_OK;
}

static cn_status ex_binary(ex *e, const ex_layer *l, const char *const *in, const char *out)
{
    static const char *const ops[][2] = {{"add", "Add"}, {"sub", "Sub"}, {"mul", "Mul"}, {"div", "Div"}, {"pow", "Pow"},
                                         {"max", "Max"}, {"min", "Min"}, {"prelu", "PRelu"}};
    const char *k = opt(l, "op"), *op = NULL;
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (k && !strcmp(k, ops[i][0])) op = ops[i][1];
    if (!op) return ex_err(e, CN_STATUS_INTERNAL, l, "op '%s'", k);
    const char *ins[2] = {in[0], in[1]};
    if (l->info.n_inputs == 1) {
        const char *c = param_init(e, l, "value", 0, NULL);
        if (opt_b(l, "reverse")) ins[0] = c, ins[1] = in[0];
        else ins[1] = c;
        if (opt_b(l, "reverse") && !strcmp(op, "PRelu")) return ex_err(e, CN_STATUS_UNSUPPORTED, l, "prelu with the slope first%s", NULL);
    }
    node(e, op, l->name, 2, ins, 1, &out);
    return CN_OK;
}

/* the ONNX nodes of one layer; in[] are its inputs' value names */
static cn_status ex_layer_nodes(ex *e, const ex_layer *l, const char *const *in)
{
    const char *t = l->type, *out = l->name;
    Onnx__NodeProto *nd;
    if (!strcmp(t, "conv") || !strcmp(t, "conv_transpose")) return ex_conv(e, l, in[0], out);
    if (!strcmp(t, "separable_conv")) return ex_separable(e, l, in[0], out);
    if (!strcmp(t, "act")) return ex_act(e, l, in[0], out);
    if (!strcmp(t, "prelu")) {
        cn_shape s;
        if (!param(e, l, "slope", &s)) return ex_err(e, CN_STATUS_INTERNAL, l, "no slope%s", NULL);
        int64_t d[5] = {s.dim[0], 1, 1, 1, 1};
        int nd_ = opt_b(l, "shared") ? 1 : l->info.out.ndim - 1;
        const char *ins[2] = {in[0], param_init(e, l, "slope", nd_, d)};
        node(e, "PRelu", l->name, 2, ins, 1, &out);
        return CN_OK;
    }
    if (!strcmp(t, "softmax") || !strcmp(t, "log_softmax")) {
        nd = node1(e, t[0] == 's' ? "Softmax" : "LogSoftmax", l->name, in[0], out);
        attr_int(e, nd, "axis", (int64_t)opt_f(l, "axis", 1));
        return CN_OK;
    }
    if (!strcmp(t, "flatten")) {
        attr_int(e, node1(e, "Flatten", l->name, in[0], out), "axis", 1);
        return CN_OK;
    }
    if (!strcmp(t, "batch_norm") || !strcmp(t, "instance_norm") || !strcmp(t, "group_norm")) return ex_norm(e, l, in[0], out);
    if (!strcmp(t, "lrn")) {
        nd = node1(e, "LRN", l->name, in[0], out);
        attr_int(e, nd, "size", (int64_t)opt_f(l, "size", 5));
        attr_float(e, nd, "alpha", opt_f(l, "alpha", 1e-4));
        attr_float(e, nd, "beta", opt_f(l, "beta", 0.75));
        attr_float(e, nd, "bias", opt_f(l, "bias", 1));
        return CN_OK;
    }
    if (!strcmp(t, "dropout")) {
        node1(e, "Identity", l->name, in[0], out); /* the inference graph */
        return CN_OK;
    }
    if (!strcmp(t, "dense")) {
        const char *x = in[0];
        const ex_layer *src = find_layer(e, l->info.inputs[0]);
        if (src && src->info.out.ndim > 2) {
            x = ex_fmt(e, "%s/flat%s", l->name, "");
            attr_int(e, node1(e, "Flatten", ex_fmt(e, "%s/flatten%s", l->name, ""), in[0], x), "axis", 1);
        }
        const char *ins[3] = {x, param_init(e, l, "weight", 0, NULL), NULL};
        int n_in = 2;
        if (param(e, l, "bias", NULL)) ins[n_in++] = param_init(e, l, "bias", 0, NULL);
        attr_int(e, node(e, "Gemm", l->name, n_in, ins, 1, &out), "transB", 1);
        return CN_OK;
    }
    if (!strcmp(t, "add")) {
        node(e, l->info.n_inputs == 2 ? "Add" : "Sum", l->name, l->info.n_inputs, in, 1, &out);
        return CN_OK;
    }
    if (!strcmp(t, "concat")) {
        attr_int(e, node(e, "Concat", l->name, l->info.n_inputs, in, 1, &out), "axis", (int64_t)opt_f(l, "axis", 1));
        return CN_OK;
    }
    if (!strcmp(t, "pad")) {
        const ex_layer *src = find_layer(e, l->info.inputs[0]);
        int R = src ? src->info.out.ndim : l->info.out.ndim, nd_ = R - 2;
        int64_t b[3], en[3], pads[10] = {0};
        const char *ap;
        if (pads_of(l, nd_, b, en, &ap) || ap) return ex_err(e, CN_STATUS_INTERNAL, l, "padding unreadable%s", NULL);
        for (int i = 0; i < nd_; i++) pads[2 + i] = b[i], pads[R + 2 + i] = en[i];
        const char *mode = opt(l, "mode");
        const char *ins[3] = {in[0], init_i(e, ex_fmt(e, "%s/pads%s", l->name, ""), 2 * R, pads),
                              init_scalar(e, ex_fmt(e, "%s/value%s", l->name, ""), (float)opt_f(l, "value", 0))};
        nd = node(e, "Pad", l->name, 3, ins, 1, &out);
        attr_str(e, nd, "mode", !mode || !strcmp(mode, "constant") ? "constant" : !strcmp(mode, "reflect") ? "reflect" : "edge");
        return CN_OK;
    }
    if (!strcmp(t, "max_pool") || !strcmp(t, "avg_pool") || !strcmp(t, "lp_pool")) return ex_pool(e, l, in[0], out);
    if (!strcmp(t, "global_max_pool")) return node1(e, "GlobalMaxPool", l->name, in[0], out) ? CN_OK : CN_STATUS_NOMEM;
    if (!strcmp(t, "global_avg_pool")) return node1(e, "GlobalAveragePool", l->name, in[0], out) ? CN_OK : CN_STATUS_NOMEM;
    if (!strcmp(t, "max_unpool")) {
        const ex_layer *p = find_layer(e, l->info.inputs[1]);
        if (!p) return ex_err(e, CN_STATUS_INTERNAL, l, "no pool%s", NULL);
        int nd_ = p->info.out.ndim - 2;
        int64_t k[3], s[3], b[3], en[3], os[5];
        const char *ap;
        if (pads_of(p, nd_, b, en, &ap) || ap) return ex_err(e, CN_STATUS_UNSUPPORTED, l, "unpooling after automatic padding%s", NULL);
        axis_vals(p, "kernel", nd_, 1, k);
        axis_vals(p, "stride", nd_, 0, s);
        for (int i = 0; i < nd_; i++)
            if (!s[i]) s[i] = k[i];
        for (int i = 0; i < l->info.out.ndim; i++) os[i] = l->info.out.dim[i];
        const char *ins[3] = {in[0], ex_fmt(e, "%s/indices%s", p->name, ""), init_i(e, ex_fmt(e, "%s/output_shape%s", l->name, ""), l->info.out.ndim, os)};
        nd = node(e, "MaxUnpool", l->name, 3, ins, 1, &out);
        attr_ints(e, nd, "kernel_shape", k, nd_);
        attr_ints(e, nd, "strides", s, nd_);
        set_pads(e, nd, nd_, b, en, NULL);
        return CN_OK;
    }
    if (!strcmp(t, "upsample") || !strcmp(t, "resize")) return ex_resize(e, l, in[0], out);
    if (!strcmp(t, "pixel_shuffle") || !strcmp(t, "space_to_depth")) {
        if (l->info.out.ndim != 4) return ex_err(e, CN_STATUS_UNSUPPORTED, l, "ONNX %s is 2D only", t[0] == 'p' ? "DepthToSpace" : "SpaceToDepth");
        nd = node1(e, t[0] == 'p' ? "DepthToSpace" : "SpaceToDepth", l->name, in[0], out);
        attr_int(e, nd, "blocksize", (int64_t)opt_f(l, "block", 2));
        if (t[0] == 'p') attr_str(e, nd, "mode", opt_is(l, "order", "dcr") ? "DCR" : "CRD");
        return CN_OK;
    }
    if (!strcmp(t, "binary")) return ex_binary(e, l, in, out);
    if (!strcmp(t, "reshape")) {
        int64_t v[8];
        int n = opt_ints(l, "shape", v, 8);
        const char *ins[2] = {in[0], init_i(e, ex_fmt(e, "%s/shape%s", l->name, ""), n, v)};
        node(e, "Reshape", l->name, 2, ins, 1, &out);
        return CN_OK;
    }
    if (!strcmp(t, "transpose")) {
        int64_t v[8];
        int n = opt_ints(l, "perm", v, 8);
        nd = node1(e, "Transpose", l->name, in[0], out);
        if (n) attr_ints(e, nd, "perm", v, n);
        return CN_OK;
    }
    if (!strcmp(t, "matmul")) {
        const char *ins[2] = {in[0], l->info.n_inputs == 2 ? in[1] : param_init(e, l, "weight", 0, NULL)};
        node(e, "MatMul", l->name, 2, ins, 1, &out);
        return CN_OK;
    }
    if (!strcmp(t, "gather")) {
        cn_shape s;
        const float *q = param(e, l, "indices", &s);
        if (!q) return ex_err(e, CN_STATUS_INTERNAL, l, "no indices%s", NULL);
        int64_t n = cn_shape_numel(&s), qd[8];
        int64_t *iv = ex_alloc(e, (size_t)n * sizeof(int64_t));
        if (!iv) return CN_STATUS_NOMEM;
        for (int64_t i = 0; i < n; i++) iv[i] = (int64_t)q[i];
        int qn = opt_ints(l, "indices_shape", qd, 8);
        const char *ins[2] = {in[0], init_tensor(e, ex_fmt(e, "%s.indices%s", l->name, ""), CN_ONNX_INT64, qn, qd, NULL, iv)};
        attr_int(e, node(e, "Gather", l->name, 2, ins, 1, &out), "axis", (int64_t)opt_f(l, "axis", 0));
        return CN_OK;
    }
    if (!strcmp(t, "max_pool_indices")) {
        const ex_layer *p = find_layer(e, l->info.inputs[0]);
        if (!p) return ex_err(e, CN_STATUS_INTERNAL, l, "no pool%s", NULL);
        if (opt_f(l, "storage_order", 0) != 0) return ex_err(e, CN_STATUS_UNSUPPORTED, l, "storage_order 1%s", NULL);
        attr_int(e, node1(e, "Cast", l->name, ex_fmt(e, "%s/indices%s", p->name, ""), out), "to", CN_ONNX_FLOAT);
        return CN_OK;
    }
    if (!strcmp(t, "max_unpool_flat")) {
        int nd_ = l->info.out.ndim - 2;
        int64_t k[3], s[3], b[3], en[3], os[5];
        const char *ap;
        if (pads_of(l, nd_, b, en, &ap) || ap) return ex_err(e, CN_STATUS_INTERNAL, l, "padding unreadable%s", NULL);
        axis_vals(l, "kernel", nd_, 1, k);
        axis_vals(l, "stride", nd_, 0, s);
        for (int i = 0; i < nd_; i++)
            if (!s[i]) s[i] = k[i];
        for (int i = 0; i < l->info.out.ndim; i++) os[i] = l->info.out.dim[i];
        const char *qi = ex_fmt(e, "%s/indices64%s", l->name, "");
        attr_int(e, node1(e, "Cast", ex_fmt(e, "%s/cast%s", l->name, ""), in[1], qi), "to", CN_ONNX_INT64);
        const char *ins[3] = {in[0], qi, init_i(e, ex_fmt(e, "%s/output_shape%s", l->name, ""), l->info.out.ndim, os)};
        nd = node(e, "MaxUnpool", l->name, 3, ins, 1, &out);
        attr_ints(e, nd, "kernel_shape", k, nd_);
        attr_ints(e, nd, "strides", s, nd_);
        set_pads(e, nd, nd_, b, en, NULL);
        return CN_OK;
    }
    if (!strcmp(t, "unary")) {
        static const char *const ops[][2] = {{"abs", "Abs"}, {"exp", "Exp"}, {"log", "Log"}, {"sqrt", "Sqrt"}, {"erf", "Erf"},
                                             {"neg", "Neg"}, {"reciprocal", "Reciprocal"}, {"floor", "Floor"}, {"ceil", "Ceil"},
                                             {"sign", "Sign"}, {"sin", "Sin"}, {"cos", "Cos"}, {"softsign", "Softsign"}};
        const char *k = opt(l, "op");
        for (size_t i = 0; k && i < sizeof ops / sizeof ops[0]; i++)
            if (!strcmp(k, ops[i][0])) return node1(e, ops[i][1], l->name, in[0], out) ? CN_OK : CN_STATUS_NOMEM;
        return ex_err(e, CN_STATUS_INTERNAL, l, "op '%s'", k);
    }
    if (!strcmp(t, "shortcut")) { /* b sampled every stride-th position (Slice with steps), added to a's first channels */
        const ex_layer *a = find_layer(e, l->info.inputs[0]), *b = find_layer(e, l->info.inputs[1]);
        if (!a || !b) return ex_err(e, CN_STATUS_INTERNAL, l, "inputs missing%s", NULL);
        int64_t C1 = a->info.out.dim[1], H1 = a->info.out.dim[2], W1 = a->info.out.dim[3];
        int64_t C2 = b->info.out.dim[1], H2 = b->info.out.dim[2], W2 = b->info.out.dim[3];
        int64_t st = W2 / W1 < 1 ? 1 : W2 / W1;
        if (W1 > W2) return ex_err(e, CN_STATUS_UNSUPPORTED, l, "a shortcut into a larger map has no ONNX form here%s", NULL);
        int64_t C = C1 < C2 ? C1 : C2;
        int64_t starts[3] = {0, 0, 0}, ends[3] = {C, st * H1, st * W1}, axes[3] = {1, 2, 3}, steps[3] = {1, st, st};
        (void)H2;
        const char *sl = ex_fmt(e, "%s/sampled%s", l->name, "");
        const char *si[5] = {in[1], init_i(e, ex_fmt(e, "%s/starts%s", l->name, ""), 3, starts), init_i(e, ex_fmt(e, "%s/ends%s", l->name, ""), 3, ends),
                             init_i(e, ex_fmt(e, "%s/axes%s", l->name, ""), 3, axes), init_i(e, ex_fmt(e, "%s/steps%s", l->name, ""), 3, steps)};
        node(e, "Slice", ex_fmt(e, "%s/slice%s", l->name, ""), 5, si, 1, &sl);
        if (C == C1) {
            const char *ai[2] = {in[0], sl};
            node(e, "Add", l->name, 2, ai, 1, &out);
            return CN_OK;
        }
        /* a has more channels: add into its first C, keep the rest (Concat of the two parts) */
        int64_t s0[1] = {0}, s1[1] = {C}, e0[1] = {C}, e1[1] = {C1}, ax[1] = {1};
        const char *a1 = ex_fmt(e, "%s/head%s", l->name, ""), *a2 = ex_fmt(e, "%s/tail%s", l->name, ""), *sum = ex_fmt(e, "%s/sum%s", l->name, "");
        const char *h[4] = {in[0], init_i(e, ex_fmt(e, "%s/h_starts%s", l->name, ""), 1, s0), init_i(e, ex_fmt(e, "%s/h_ends%s", l->name, ""), 1, e0),
                            init_i(e, ex_fmt(e, "%s/c_axis%s", l->name, ""), 1, ax)};
        node(e, "Slice", ex_fmt(e, "%s/slice_head%s", l->name, ""), 4, h, 1, &a1);
        const char *tl[4] = {in[0], init_i(e, ex_fmt(e, "%s/t_starts%s", l->name, ""), 1, s1), init_i(e, ex_fmt(e, "%s/t_ends%s", l->name, ""), 1, e1), h[3]};
        node(e, "Slice", ex_fmt(e, "%s/slice_tail%s", l->name, ""), 4, tl, 1, &a2);
        const char *ai[2] = {a1, sl};
        node(e, "Add", ex_fmt(e, "%s/add%s", l->name, ""), 2, ai, 1, &sum);
        const char *ci[2] = {sum, a2};
        attr_int(e, node(e, "Concat", l->name, 2, ci, 1, &out), "axis", 1);
        return CN_OK;
    }
    if (!strcmp(t, "crop")) { /* the centre crop (Slice), then x * scale + shift */
        const ex_layer *a = find_layer(e, l->info.inputs[0]);
        if (!a) return ex_err(e, CN_STATUS_INTERNAL, l, "input missing%s", NULL);
        int64_t H = a->info.out.dim[2], W = a->info.out.dim[3], oh = l->info.out.dim[2], ow = l->info.out.dim[3];
        int64_t dh = (H - oh) / 2, dw = (W - ow) / 2;
        int64_t starts[2] = {dh, dw}, ends[2] = {dh + oh, dw + ow}, axes[2] = {2, 3};
        const char *c1 = ex_fmt(e, "%s/cropped%s", l->name, ""), *c2 = ex_fmt(e, "%s/scaled%s", l->name, "");
        const char *si[4] = {in[0], init_i(e, ex_fmt(e, "%s/starts%s", l->name, ""), 2, starts), init_i(e, ex_fmt(e, "%s/ends%s", l->name, ""), 2, ends),
                             init_i(e, ex_fmt(e, "%s/axes%s", l->name, ""), 2, axes)};
        node(e, "Slice", ex_fmt(e, "%s/slice%s", l->name, ""), 4, si, 1, &c1);
        const char *mi[2] = {c1, init_scalar(e, ex_fmt(e, "%s/scale%s", l->name, ""), (float)opt_f(l, "scale", 2))};
        node(e, "Mul", ex_fmt(e, "%s/mul%s", l->name, ""), 2, mi, 1, &c2);
        const char *ai[2] = {c2, init_scalar(e, ex_fmt(e, "%s/shift%s", l->name, ""), (float)opt_f(l, "shift", -1))};
        node(e, "Add", l->name, 2, ai, 1, &out);
        return CN_OK;
    }
    return ex_err(e, CN_STATUS_UNSUPPORTED, l, "layer type '%s' has no ONNX equivalent in convnet's exporter", t);
}

static cn_status build(ex *e, Onnx__ModelProto *mp, Onnx__GraphProto *g, Onnx__OperatorSetIdProto *os)
{
    cn_status st;
    e->nl = cn_model_layer_count(e->m);
    e->layers = cn_calloc((size_t)e->nl + 1, sizeof *e->layers, "ONNX export");
    if (!e->layers) return CN_STATUS_NOMEM;
    if ((st = read_text(e)) != CN_OK) return st;
    for (int i = 0; i < e->nl; i++) {
        ex_layer *l = &e->layers[i];
        /* the text's blocks are in layer order; the info confirms each */
        if ((st = cn_model_layer(e->m, i, &l->info)) != CN_OK) return st;
        if (strcmp(l->info.name, l->name) || strcmp(l->info.type, l->type))
            return cn_set_error(CN_STATUS_INTERNAL, "%s: model text block %d ('%s' [%s]) is not layer '%s' [%s]", e->path, i, l->name, l->type,
                                l->info.name, l->info.type);
        const cn_layer_type_info *ti = cn_layer_type_find(l->type);
        l->is_loss = ti && ti->is_loss;
    }
    for (int i = 0; i < e->nl; i++) { /* max_pools whose indices are read */
        const ex_layer *l = &e->layers[i];
        const char *src = !strcmp(l->type, "max_unpool") && l->info.n_inputs > 1 ? l->info.inputs[1]
                        : !strcmp(l->type, "max_pool_indices")                 ? l->info.inputs[0]
                                                                               : NULL;
        ex_layer *p = src ? (ex_layer *)find_layer(e, src) : NULL;
        if (p) p->pool_indices = 1;
    }
    /* the prediction: the last layer, or the input of a trailing loss */
    const ex_layer *last = &e->layers[e->nl - 1];
    if (last->is_loss) last = find_layer(e, last->info.inputs[0]);
    if (!last) return cn_set_error(CN_STATUS_INTERNAL, "%s: no output layer", e->path);
    Onnx__ValueInfoProto **inputs = ex_alloc(e, sizeof *inputs * (size_t)(e->nl + 1));
    if (!inputs) return CN_STATUS_NOMEM;
    int n_inputs = 0;
    for (int i = 0; i < e->nl; i++) {
        const ex_layer *l = &e->layers[i];
        if (l->is_loss) continue;
        if (!strcmp(l->type, "input")) {
            if (!(inputs[n_inputs++] = value_info(e, l->name, &l->info.out))) return CN_STATUS_NOMEM;
            continue;
        }
        const char *in[8];
        for (int k = 0; k < l->info.n_inputs && k < 8; k++) in[k] = l->info.inputs[k];
        if ((st = ex_layer_nodes(e, l, in)) != CN_OK) return st;
        if (e->failed) return CN_STATUS_NOMEM;
    }
    Onnx__ValueInfoProto **outputs = ex_alloc(e, sizeof *outputs);
    if (!outputs || !(outputs[0] = value_info(e, last->name, &last->info.out))) return CN_STATUS_NOMEM;
    if (e->failed) return CN_STATUS_NOMEM;
    onnx__graph_proto__init(g);
    g->name = ex_str(e, "convnet");
    g->n_node = (size_t)e->nn;
    g->node = e->nodes;
    g->n_initializer = (size_t)e->ni;
    g->initializer = e->inits;
    g->n_input = (size_t)n_inputs;
    g->input = inputs;
    g->n_output = 1;
    g->output = outputs;
    onnx__operator_set_id_proto__init(os);
    os->domain = ex_str(e, "");
    os->has_version = 1;
    os->version = e->opset;
    onnx__model_proto__init(mp);
    mp->has_ir_version = 1;
    mp->ir_version = e->opset >= 15 ? 8 : 7;
    mp->producer_name = ex_str(e, "convnet");
    mp->producer_version = ex_str(e, cn_version());
    mp->graph = g;
    mp->n_opset_import = 1;
    mp->opset_import = ex_alloc(e, sizeof(Onnx__OperatorSetIdProto *));
    if (!mp->opset_import || e->failed) return CN_STATUS_NOMEM;
    mp->opset_import[0] = os;
    return CN_OK;
}

cn_status cn_onnx_export(const cn_model *m, const char *path, const cn_onnx_export_opts *opts)
{
    if (!m || !path) return cn_set_error(CN_STATUS_INVALID_ARG, "onnx export: model and path are required");
    if (cn_model_param_count(m) > 0) {
        cn_param p;
        if (cn_model_param(m, 0, &p) != CN_OK) return cn_set_error(CN_STATUS_INVALID_STATE, "%s: the model is not planned (plan it first)", path);
    }
    cn_layer_info li;
    if (cn_model_layer_count(m) < 1 || cn_model_layer(m, 0, &li) != CN_OK || li.out.ndim == 0)
        return cn_set_error(CN_STATUS_INVALID_STATE, "%s: the model has no layers or is not planned (plan it first)", path);
    ex e;
    memset(&e, 0, sizeof e);
    e.m = m;
    e.path = path;
    e.opset = opts && opts->opset ? opts->opset : 13;
    e.dyn = opts ? opts->dynamic_batch : 0;
    if (e.opset < 13 || e.opset > 17)
        return cn_set_error(CN_STATUS_INVALID_ARG, "%s: opset %d; the exporter writes opsets 13 to 17", path, e.opset);
    Onnx__ModelProto mp;
    Onnx__GraphProto g;
    Onnx__OperatorSetIdProto os;
    cn_status st = build(&e, &mp, &g, &os);
    uint8_t *buf = NULL;
    if (st == CN_OK) {
        size_t len = onnx__model_proto__get_packed_size(&mp);
        buf = cn_malloc(len ? len : 1, "ONNX export");
        if (!buf) st = CN_STATUS_NOMEM;
        else {
            size_t done = onnx__model_proto__pack(&mp, buf);
            cn_atomic_file af;
            if ((st = cn_atomic_open(&af, path)) == CN_OK) {
                if ((st = cn_atomic_write(&af, buf, done)) == CN_OK) st = cn_atomic_commit(&af);
                else cn_atomic_abort(&af);
            }
        }
    }
    cn_free(buf);
    for (int i = 0; i < e.na; i++) cn_free(e.allocs[i]);
    cn_free(e.allocs);
    cn_free(e.layers);
    cn_free(e.text);
    return st;
}
#endif /* CN_HAVE_ONNX */
