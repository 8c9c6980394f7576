/* onnx_import.c — ONNX models into convnet models, through the public builder.
 *
 * The file is parsed with protobuf-c (code generated at build time from Debian's onnx.proto,
 * cmake/onnx.cmake). Every ONNX value is either a run-time tensor (the output of a convnet
 * layer) or a constant (an initializer, a Constant node, or anything computed from constants
 * only: shape arithmetic is folded here). Nodes are visited in the file's (topological)
 * order; each becomes one or a few layers. Shapes are tracked here with the same geometry
 * functions the layers use (cn_conv_geom_resolve, cn_pool_geom_resolve, ...), the model is
 * planned once at the end, and a mismatch between a tracked and a planned shape is reported as
 * an internal error. Parameters are copied in after the plan, by name.
 *
 * Layout: an ONNX tensor is a convnet tensor of the same shape, its first axis the model's
 * batch axis; a vector (rank 1) of n is held as an n x 1 tensor (convnet tensors have rank >= 2
 * at the input), and only elementwise operations and axis-0 operations accept one. */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convnet/conv.h"
#include "convnet/onnx.h"
#include "convnet/pool.h"
#include "convnet/safetensors.h"
#include "io/file.h"
#include "io/onnx_internal.h"
#include "layers/layer.h" /* CN_NAME_MAX, CN_MAX_INPUTS: the model's limits on layer names and inputs */

void cn_onnx_tensor_free(cn_onnx_tensor *t)
{
    if (!t) return;
    cn_free(t->data);
    memset(t, 0, sizeof *t);
}

void cn_onnx_info_free(cn_onnx_info *info)
{
    if (!info) return;
    for (int i = 0; i < info->n_inputs; i++) {
        cn_free(info->inputs[i].name);
        cn_free(info->inputs[i].layer);
        cn_onnx_tensor_free(&info->inputs[i].value);
    }
    for (int i = 0; i < info->n_outputs; i++) {
        cn_free(info->outputs[i].name);
        cn_free(info->outputs[i].layer);
        cn_onnx_tensor_free(&info->outputs[i].value);
    }
    cn_free(info->inputs);
    cn_free(info->outputs);
    memset(info, 0, sizeof *info);
}

const char *cn_onnx_dtype_name(int dtype)
{
    static const char *const names[] = {"UNDEFINED", "FLOAT",  "UINT8",  "INT8",   "UINT16",    "INT16",      "INT32", "INT64", "STRING",
                                        "BOOL",      "FLOAT16", "DOUBLE", "UINT32", "UINT64",    "COMPLEX64", "COMPLEX128", "BFLOAT16"};
    return dtype >= 0 && dtype < (int)(sizeof names / sizeof names[0]) ? names[dtype] : "?";
}

size_t cn_onnx_dtype_size(int dtype)
{
    switch (dtype) {
    case CN_ONNX_FLOAT: case CN_ONNX_INT32: case CN_ONNX_UINT32: return 4;
    case CN_ONNX_UINT8: case CN_ONNX_INT8: case CN_ONNX_BOOL: return 1;
    case CN_ONNX_UINT16: case CN_ONNX_INT16: case CN_ONNX_FLOAT16: case CN_ONNX_BFLOAT16: return 2;
    case CN_ONNX_INT64: case CN_ONNX_UINT64: case CN_ONNX_DOUBLE: return 8;
    default: return 0;
    }
}

int cn_onnx_dtype_is_int(int dtype)
{
    switch (dtype) {
    case CN_ONNX_UINT8: case CN_ONNX_INT8: case CN_ONNX_UINT16: case CN_ONNX_INT16: case CN_ONNX_INT32: case CN_ONNX_INT64:
    case CN_ONNX_BOOL: case CN_ONNX_UINT32: case CN_ONNX_UINT64: return 1;
    default: return 0;
    }
}

#ifndef CN_HAVE_ONNX
/* ---------------------------------------------------------------------------------------------
 * built without protobuf-c: every entry point says so */
#ifndef CN_ONNX_MISSING
#define CN_ONNX_MISSING "protobuf-c"
#endif
static cn_status no_onnx(const char *what)
{
    return cn_set_error(CN_STATUS_UNSUPPORTED, "%s: this convnet was built without ONNX support (missing: %s)", what, CN_ONNX_MISSING);
}
int cn_onnx_available(void) { return 0; }
cn_status cn_onnx_tensor_load(cn_onnx_tensor *t, const char *path)
{
    memset(t, 0, sizeof *t);
    return no_onnx(path);
}
cn_status cn_onnx_import(cn_model **out, const char *path, const cn_onnx_import_opts *opts, cn_onnx_info *info)
{
    (void)opts, (void)info;
    *out = NULL;
    return no_onnx(path);
}
cn_status cn_onnx_import_buffer(cn_model **out, const void *buf, size_t len, const char *name, const cn_onnx_import_opts *opts,
                                cn_onnx_info *info)
{
    (void)buf, (void)len, (void)opts, (void)info;
    *out = NULL;
    return no_onnx(name ? name : "onnx");
}
#else

int cn_onnx_available(void) { return 1; }

/* data: an int set to 1 when an allocation fails (protobuf-c reports that and a malformed
 * message alike, as NULL) */
static void *pb_alloc(void *data, size_t size)
{
    void *p = cn_malloc(size ? size : 1, "ONNX protobuf");
    if (!p && data) *(int *)data = 1;
    return p;
}
static void pb_free(void *data, void *p)
{
    (void)data;
    cn_free(p);
}
ProtobufCAllocator cn_onnx_pb_allocator = {pb_alloc, pb_free, NULL};

/* ---- tensors ------------------------------------------------------------------------------ */

typedef struct ox_tensor {
    int dtype, ndim;
    int64_t dims[CN_ONNX_MAX_DIMS];
    int64_t numel;
    float *f;   /* numel values as float (NULL when numel == 0) */
    int64_t *i; /* integer and bool types: numel exact values; else NULL */
} ox_tensor;

static void ot_free(ox_tensor *t)
{
    cn_free(t->f);
    cn_free(t->i);
    t->f = NULL, t->i = NULL;
}

static float half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31, e = (h >> 10) & 31, m = h & 1023, bits;
    if (e == 0) {
        if (!m) bits = sign;
        else { /* subnormal: normalise */
            int shift = 0;
            while (!(m & 1024)) m <<= 1, shift++;
            bits = sign | ((uint32_t)(113 - shift) << 23) | ((m & 1023) << 13);
        }
    } else if (e == 31) bits = sign | 0x7f800000u | (m << 13);
    else bits = sign | ((e + 112) << 23) | (m << 13);
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static uint64_t le(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t k = 0; k < n; k++) v |= (uint64_t)p[k] << (8 * k);
    return v;
}

/* element k of a raw little-endian buffer as (float, exact integer) */
static void raw_elem(int dtype, const uint8_t *p, float *f, int64_t *i)
{
    uint64_t u;
    switch (dtype) {
    case CN_ONNX_FLOAT: {
        uint32_t b = (uint32_t)le(p, 4);
        memcpy(f, &b, 4);
        return;
    }
    case CN_ONNX_DOUBLE: {
        u = le(p, 8);
        double d;
        memcpy(&d, &u, 8);
        *f = (float)d;
        return;
    }
    case CN_ONNX_FLOAT16: *f = half_to_float((uint16_t)le(p, 2)); return;
    case CN_ONNX_BFLOAT16: {
        uint32_t b = (uint32_t)le(p, 2) << 16;
        memcpy(f, &b, 4);
        return;
    }
    case CN_ONNX_UINT8: *i = p[0]; break;
    case CN_ONNX_INT8: *i = (int8_t)p[0]; break;
    case CN_ONNX_BOOL: *i = p[0] != 0; break;
    case CN_ONNX_UINT16: *i = (uint16_t)le(p, 2); break;
    case CN_ONNX_INT16: *i = (int16_t)(uint16_t)le(p, 2); break;
    case CN_ONNX_INT32: *i = (int32_t)(uint32_t)le(p, 4); break;
    case CN_ONNX_UINT32: *i = (uint32_t)le(p, 4); break;
    case CN_ONNX_INT64: *i = (int64_t)le(p, 8); break;
    case CN_ONNX_UINT64: u = le(p, 8); *i = u > INT64_MAX ? INT64_MAX : (int64_t)u; break;
    default: break;
    }
    *f = (float)*i;
}

/* Decode a TensorProto. `what` names it in messages ("file.onnx: initializer 'w'"). Every count
 * is checked against the data actually present before anything is allocated. */
static cn_status decode_tensor(const Onnx__TensorProto *tp, ox_tensor *t, const char *what)
{
    memset(t, 0, sizeof *t);
    if (!tp->has_data_type || tp->data_type == CN_ONNX_UNDEFINED)
        return cn_set_error(CN_STATUS_FORMAT, "%s: tensor has no data type", what);
    t->dtype = tp->data_type;
    if (tp->n_dims > CN_ONNX_MAX_DIMS)
        return cn_set_error(CN_STATUS_UNSUPPORTED, "%s: tensor has %zu dimensions; at most %d are read", what, tp->n_dims, CN_ONNX_MAX_DIMS);
    t->ndim = (int)tp->n_dims;
    uint64_t numel = 1;
    for (int d = 0; d < t->ndim; d++) {
        if (tp->dims[d] < 0)
            return cn_set_error(CN_STATUS_FORMAT, "%s: dimension %d is %lld; dimensions are >= 0", what, d, (long long)tp->dims[d]);
        t->dims[d] = tp->dims[d];
        if (tp->dims[d] && numel > UINT64_MAX / (uint64_t)tp->dims[d])
            return cn_set_error(CN_STATUS_LIMIT, "%s: the dimensions' product overflows 64 bits", what);
        numel *= (uint64_t)tp->dims[d];
    }
    if (tp->has_data_location && tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)
        return cn_set_error(CN_STATUS_UNSUPPORTED, "%s: tensor data is stored in an external file; convnet reads self-contained models", what);
    if (tp->segment) return cn_set_error(CN_STATUS_UNSUPPORTED, "%s: segmented tensors are not read", what);
    size_t es = cn_onnx_dtype_size(t->dtype);
    if (!es)
        return cn_set_error(CN_STATUS_UNSUPPORTED, "%s: data type %s (%d) is not read (numbers only)", what,
                            cn_onnx_dtype_name(t->dtype), t->dtype);
    /* how many values the file holds, in which field */
    size_t have;
    int field; /* 0 raw, 1 float_data, 2 int32_data, 3 int64_data, 4 double_data, 5 uint64_data */
    if (tp->has_raw_data && (tp->raw_data.len || !(tp->n_float_data || tp->n_int32_data || tp->n_int64_data || tp->n_double_data ||
                                                   tp->n_uint64_data))) {
        if (tp->raw_data.len % es)
            return cn_set_error(CN_STATUS_FORMAT, "%s: raw_data has %zu bytes, not a multiple of the %zu bytes of a %s", what,
                                tp->raw_data.len, es, cn_onnx_dtype_name(t->dtype));
        have = tp->raw_data.len / es, field = 0;
    } else {
        switch (t->dtype) {
        case CN_ONNX_FLOAT: have = tp->n_float_data, field = 1; break;
        case CN_ONNX_DOUBLE: have = tp->n_double_data, field = 4; break;
        case CN_ONNX_INT64: have = tp->n_int64_data, field = 3; break;
        case CN_ONNX_UINT32: case CN_ONNX_UINT64: have = tp->n_uint64_data, field = 5; break;
        default: have = tp->n_int32_data, field = 2; break;
        }
    }
    if ((uint64_t)have != numel)
        return cn_set_error(CN_STATUS_FORMAT, "%s: shape needs %llu values, the tensor holds %zu", what, (unsigned long long)numel, have);
    if (numel > (uint64_t)INT64_MAX / 8) return cn_set_error(CN_STATUS_LIMIT, "%s: %llu values", what, (unsigned long long)numel);
    t->numel = (int64_t)numel;
    if (!numel) return CN_OK;
    t->f = cn_malloc(numel * sizeof(float), what);
    if (!t->f) return CN_STATUS_NOMEM;
    int isint = cn_onnx_dtype_is_int(t->dtype);
    if (isint && !(t->i = cn_malloc(numel * sizeof(int64_t), what))) {
        ot_free(t);
        return CN_STATUS_NOMEM;
    }
    for (size_t k = 0; k < numel; k++) {
        int64_t iv = 0;
        float fv = 0;
        switch (field) {
        case 0: raw_elem(t->dtype, tp->raw_data.data + k * es, &fv, &iv); break;
        case 1: fv = tp->float_data[k]; break;
        case 4: fv = (float)tp->double_data[k]; break;
        case 3: iv = tp->int64_data[k], fv = (float)iv; break;
        case 5: iv = tp->uint64_data[k] > INT64_MAX ? INT64_MAX : (int64_t)tp->uint64_data[k], fv = (float)iv; break;
        default:
            if (t->dtype == CN_ONNX_FLOAT16) fv = half_to_float((uint16_t)tp->int32_data[k]);
            else if (t->dtype == CN_ONNX_BFLOAT16) {
                uint32_t b = (uint32_t)(uint16_t)tp->int32_data[k] << 16;
                memcpy(&fv, &b, 4);
            } else iv = t->dtype == CN_ONNX_BOOL ? tp->int32_data[k] != 0 : tp->int32_data[k], fv = (float)iv;
            break;
        }
        t->f[k] = fv;
        if (isint) t->i[k] = iv;
    }
    return CN_OK;
}

static cn_status to_public(cn_onnx_tensor *out, const ox_tensor *t)
{
    memset(out, 0, sizeof *out);
    out->dtype = t->dtype;
    out->ndim = t->ndim;
    memcpy(out->dims, t->dims, sizeof out->dims);
    out->numel = t->numel;
    if (!t->numel) return CN_OK;
    out->data = cn_malloc((size_t)t->numel * sizeof(float), "ONNX tensor");
    if (!out->data) return CN_STATUS_NOMEM;
    memcpy(out->data, t->f, (size_t)t->numel * sizeof(float));
    return CN_OK;
}

cn_status cn_onnx_tensor_load(cn_onnx_tensor *out, const char *path)
{
    memset(out, 0, sizeof *out);
    unsigned char *buf = NULL;
    size_t len = 0;
    cn_status st = cn_file_read_all(path, &buf, &len);
    if (st != CN_OK) return st;
    int nomem = 0;
    ProtobufCAllocator alloc = {pb_alloc, pb_free, &nomem};
    Onnx__TensorProto *tp = onnx__tensor_proto__unpack(&alloc, len, buf);
    cn_free(buf);
    if (!tp && nomem) return cn_set_error(CN_STATUS_NOMEM, "%s: out of memory while parsing", path);
    if (!tp) return cn_set_error(CN_STATUS_FORMAT, "%s: not a serialized ONNX TensorProto (protobuf parse failed)", path);
    ox_tensor t;
    st = decode_tensor(tp, &t, path);
    onnx__tensor_proto__free_unpacked(tp, &cn_onnx_pb_allocator);
    if (st != CN_OK) return st;
    st = to_public(out, &t);
    ot_free(&t);
    return st;
}

/* ---- the importer's state ------------------------------------------------------------------ */

enum { V_RUNTIME = 1, V_CONST = 2 };

typedef struct ox_value {
    const char *name;     /* borrowed from the proto */
    int kind;
    int dtype;
    int ndim;             /* ONNX shape */
    int64_t dims[CN_ONNX_MAX_DIMS];
    char layer[CN_NAME_MAX]; /* runtime: the layer producing it */
    ox_tensor t;          /* const: the value (owned) */
} ox_value;

typedef struct ox_param {
    char name[2 * CN_NAME_MAX + 8];
    float *data; /* owned */
    int64_t numel;
} ox_param;

typedef struct ox {
    const char *file;
    Onnx__ModelProto *mp;
    Onnx__GraphProto *g;
    int64_t opset;
    const cn_onnx_import_opts *opts;
    cn_model *m;
    ox_value *vals;
    int nv, capv;
    int *slots; /* hash of value names → index + 1 */
    size_t nslots;
    char (*names)[CN_NAME_MAX]; /* layer names used */
    int nnames, capnames;
    ox_param *params;
    int nparams, capparams;
    const Onnx__NodeProto *node;
    int node_index;
    int64_t batch;
    /* graph inputs with bound values (tests) */
    const cn_onnx_tensor *bound;
} ox;

static const char *sv(const char *s) { return s ? s : ""; }

static cn_status ox_err(ox *o, cn_status st, const char *fmt, ...)
{
    char msg[1536];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (o->node)
        return cn_set_error(st, "%s: node %d '%s' (%s, opset %lld): %s", o->file, o->node_index, sv(o->node->name),
                            sv(o->node->op_type), (long long)o->opset, msg);
    return cn_set_error(st, "%s: %s", o->file, msg);
}

/* wraps the library's last message into the node's context */
static cn_status ox_wrap(ox *o, cn_status st)
{
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", cn_last_error());
    return ox_err(o, st, "%s", msg);
}

static uint64_t hash_name(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static ox_value *find_value(ox *o, const char *name)
{
    if (!name || !*name || !o->nslots) return NULL;
    for (size_t k = hash_name(name) & (o->nslots - 1);; k = (k + 1) & (o->nslots - 1)) {
        int v = o->slots[k];
        if (!v) return NULL;
        if (!strcmp(o->vals[v - 1].name, name)) return &o->vals[v - 1];
    }
}

static cn_status new_value(ox *o, const char *name, ox_value **out)
{
    if (!name || !*name) return ox_err(o, CN_STATUS_FORMAT, "a value has an empty name");
    if (find_value(o, name)) return ox_err(o, CN_STATUS_FORMAT, "value '%s' is defined twice", name);
    if (o->nv == o->capv) return ox_err(o, CN_STATUS_INTERNAL, "value table full (%d)", o->capv);
    ox_value *v = &o->vals[o->nv++];
    memset(v, 0, sizeof *v);
    v->name = name;
    for (size_t k = hash_name(name) & (o->nslots - 1);; k = (k + 1) & (o->nslots - 1))
        if (!o->slots[k]) {
            o->slots[k] = o->nv;
            break;
        }
    *out = v;
    return CN_OK;
}

/* ---- attributes ---------------------------------------------------------------------------- */

typedef Onnx__AttributeProto attr_t;
#define AT(x) ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__##x

static const attr_t *attr(const ox *o, const char *name)
{
    for (size_t i = 0; i < o->node->n_attribute; i++)
        if (o->node->attribute[i] && !strcmp(sv(o->node->attribute[i]->name), name)) return o->node->attribute[i];
    return NULL;
}

static const char *attr_type_name(int t)
{
    switch (t) {
    case AT(FLOAT): return "FLOAT";
    case AT(INT): return "INT";
    case AT(STRING): return "STRING";
    case AT(TENSOR): return "TENSOR";
    case AT(FLOATS): return "FLOATS";
    case AT(INTS): return "INTS";
    case AT(STRINGS): return "STRINGS";
    case AT(GRAPH): return "GRAPH";
    default: return "another type";
    }
}

/* the attribute's type: declared, or (old files) inferred from the field that is set */
static int attr_kind(const attr_t *a)
{
    if (a->has_type && a->type != AT(UNDEFINED)) return a->type;
    if (a->has_f) return AT(FLOAT);
    if (a->has_i) return AT(INT);
    if (a->has_s) return AT(STRING);
    if (a->t) return AT(TENSOR);
    if (a->n_floats) return AT(FLOATS);
    if (a->n_ints) return AT(INTS);
    return AT(UNDEFINED);
}

static cn_status attr_check(ox *o, const attr_t *a, int want)
{
    int k = attr_kind(a);
    if (k != want)
        return ox_err(o, CN_STATUS_FORMAT, "attribute '%s' is %s, expected %s", sv(a->name), attr_type_name(k), attr_type_name(want));
    return CN_OK;
}

static cn_status attr_i(ox *o, const char *name, int64_t dflt, int64_t *v)
{
    const attr_t *a = attr(o, name);
    *v = dflt;
    if (!a) return CN_OK;
    cn_status st = attr_check(o, a, AT(INT));
    if (st == CN_OK) *v = a->i;
    return st;
}

static cn_status attr_f(ox *o, const char *name, double dflt, double *v)
{
    const attr_t *a = attr(o, name);
    *v = dflt;
    if (!a) return CN_OK;
    if (attr_kind(a) == AT(INT)) { /* some exporters write integral floats as ints */
        *v = (double)a->i;
        return CN_OK;
    }
    cn_status st = attr_check(o, a, AT(FLOAT));
    if (st == CN_OK) *v = a->f;
    return st;
}

/* *n = -1 when absent */
static cn_status attr_ints(ox *o, const char *name, int64_t *v, int max, int *n)
{
    const attr_t *a = attr(o, name);
    *n = -1;
    if (!a) return CN_OK;
    cn_status st = attr_check(o, a, AT(INTS));
    if (st != CN_OK) return st;
    if (a->n_ints > (size_t)max) return ox_err(o, CN_STATUS_UNSUPPORTED, "attribute '%s' has %zu values; at most %d", name, a->n_ints, max);
    for (size_t i = 0; i < a->n_ints; i++) v[i] = a->ints[i];
    *n = (int)a->n_ints;
    return CN_OK;
}

static cn_status attr_floats(ox *o, const char *name, double *v, int max, int *n)
{
    const attr_t *a = attr(o, name);
    *n = -1;
    if (!a) return CN_OK;
    cn_status st = attr_check(o, a, AT(FLOATS));
    if (st != CN_OK) return st;
    if (a->n_floats > (size_t)max) return ox_err(o, CN_STATUS_UNSUPPORTED, "attribute '%s' has %zu values; at most %d", name, a->n_floats, max);
    for (size_t i = 0; i < a->n_floats; i++) v[i] = a->floats[i];
    *n = (int)a->n_floats;
    return CN_OK;
}

static cn_status attr_s(ox *o, const char *name, const char *dflt, char *buf, size_t cap)
{
    const attr_t *a = attr(o, name);
    snprintf(buf, cap, "%s", dflt);
    if (!a) return CN_OK;
    cn_status st = attr_check(o, a, AT(STRING));
    if (st != CN_OK) return st;
    size_t n = a->s.len < cap - 1 ? a->s.len : cap - 1;
    if (n) memcpy(buf, a->s.data, n);
    buf[n] = '\0';
    for (size_t i = 0; i < n; i++)
        if (!buf[i] || !isprint((unsigned char)buf[i])) buf[i] = '?';
    return CN_OK;
}

/* ---- inputs and outputs of the current node --------------------------------------------------- */

static int n_inputs(const ox *o) { return (int)o->node->n_input; }
static int has_input(const ox *o, int k) { return k < (int)o->node->n_input && o->node->input[k] && o->node->input[k][0]; }
static int has_output(const ox *o, int k) { return k < (int)o->node->n_output && o->node->output[k] && o->node->output[k][0]; }

static cn_status in_value(ox *o, int k, ox_value **v)
{
    *v = NULL;
    if (!has_input(o, k)) return ox_err(o, CN_STATUS_FORMAT, "input %d is missing", k);
    *v = find_value(o, o->node->input[k]);
    if (!*v)
        return ox_err(o, CN_STATUS_FORMAT, "input %d '%s' is not a graph input, an initializer or an earlier node's output", k,
                      o->node->input[k]);
    return CN_OK;
}

static cn_status need_const(ox *o, int k, const char *what, ox_value **v)
{
    cn_status st = in_value(o, k, v);
    if (st != CN_OK) return st;
    if ((*v)->kind != V_CONST)
        return ox_err(o, CN_STATUS_UNSUPPORTED, "input %d '%s' (%s) is computed at run time; convnet needs it constant (an initializer)",
                      k, (*v)->name, what);
    return CN_OK;
}

static cn_status need_runtime(ox *o, int k, ox_value **v)
{
    cn_status st = in_value(o, k, v);
    if (st != CN_OK) return st;
    if ((*v)->kind != V_RUNTIME)
        return ox_err(o, CN_STATUS_UNSUPPORTED, "input %d '%s' is a constant; convnet folds only shape arithmetic and simple math on constants",
                      k, (*v)->name);
    if ((*v)->ndim < 1)
        return ox_err(o, CN_STATUS_UNSUPPORTED, "input %d '%s' is a scalar computed at run time; convnet tensors have a batch axis", k,
                      (*v)->name);
    return CN_OK;
}

static cn_status out_value(ox *o, int k, ox_value **v)
{
    *v = NULL;
    if (!has_output(o, k)) return ox_err(o, CN_STATUS_FORMAT, "output %d is missing", k);
    return new_value(o, o->node->output[k], v);
}

/* the convnet shape of a runtime value: its ONNX shape, a vector of n as n x 1 */
static cn_shape cn_of_dims(int ndim, const int64_t *dims)
{
    cn_shape s = {ndim, {0}};
    for (int i = 0; i < ndim && i < CN_MAX_DIMS; i++) s.dim[i] = dims[i];
    if (ndim == 1) s.ndim = 2, s.dim[1] = 1;
    return s;
}
static cn_shape cn_of(const ox_value *v) { return cn_of_dims(v->ndim, v->dims); }

static int64_t numel_of(int ndim, const int64_t *dims)
{
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) n *= dims[i];
    return n;
}

/* a runtime result: checks the rank convnet can hold */
static cn_status set_runtime(ox *o, ox_value *v, const char *layer, int ndim, const int64_t *dims)
{
    if (ndim < 1 || ndim > CN_MAX_DIMS)
        return ox_err(o, CN_STATUS_UNSUPPORTED, "output '%s' would have rank %d; convnet tensors have rank 1 to %d", v->name, ndim, CN_MAX_DIMS);
    for (int i = 0; i < ndim; i++)
        if (dims[i] < 1)
            return ox_err(o, CN_STATUS_UNSUPPORTED, "output '%s' would have a dimension of %lld; convnet has no empty tensors", v->name,
                          (long long)dims[i]);
    v->kind = V_RUNTIME;
    if (!v->dtype) v->dtype = CN_ONNX_FLOAT;
    v->ndim = ndim;
    memcpy(v->dims, dims, (size_t)ndim * sizeof(int64_t));
    snprintf(v->layer, sizeof v->layer, "%s", layer);
    return CN_OK;
}

static cn_status alias(ox *o, ox_value *v, const ox_value *src)
{
    return set_runtime(o, v, src->layer, src->ndim, src->dims);
}

/* ---- layers and parameters -------------------------------------------------------------------- */

static int name_used(const ox *o, const char *s)
{
    for (int i = 0; i < o->nnames; i++)
        if (!strcmp(o->names[i], s)) return 1;
    return 0;
}

/* a valid, unused layer name from an ONNX name (letters, digits, _ - . ; starting with a letter) */
static cn_status make_name(ox *o, const char *base, const char *suffix, char *out)
{
    char b[CN_NAME_MAX];
    size_t n = 0;
    if (!base || !*base) base = "node";
    if (!isalpha((unsigned char)base[0]) && base[0] != '_') b[n++] = 'n';
    for (const char *p = base; *p && n < 40; p++) b[n++] = isalnum((unsigned char)*p) || *p == '_' || *p == '-' || *p == '.' ? *p : '_';
    b[n] = '\0';
    /* at most 41 + 10 + 1 + 10 characters: always within CN_NAME_MAX */
    snprintf(out, CN_NAME_MAX, "%.41s%.10s", b, suffix ? suffix : "");
    for (int k = 2; name_used(o, out); k++) snprintf(out, CN_NAME_MAX, "%.41s%.10s_%d", b, suffix ? suffix : "", k);
    if (o->nnames == o->capnames) {
        int cap = o->capnames ? 2 * o->capnames : 64;
        char(*nn)[CN_NAME_MAX] = cn_malloc((size_t)cap * CN_NAME_MAX, "ONNX import names");
        if (!nn) return CN_STATUS_NOMEM;
        if (o->nnames) memcpy(nn, o->names, (size_t)o->nnames * CN_NAME_MAX);
        cn_free(o->names);
        o->names = nn;
        o->capnames = cap;
    }
    snprintf(o->names[o->nnames++], CN_NAME_MAX, "%s", out);
    return CN_OK;
}

/* the base name of the current node's layers: its name, else its first output */
static const char *node_base(const ox *o)
{
    if (o->node->name && o->node->name[0]) return o->node->name;
    if (has_output(o, 0)) return o->node->output[0];
    return o->node->op_type;
}

/* add a layer for the current node; name receives its name */
static cn_status add_layer(ox *o, const char *type, const char *suffix, const char *inputs, const char *options, char *name)
{
    cn_status st = make_name(o, node_base(o), suffix, name);
    if (st != CN_OK) return st;
    st = cn_model_add(o->m, type, name, inputs, options);
    return st == CN_OK ? CN_OK : ox_wrap(o, st);
}

static cn_status stage_param(ox *o, const char *layer, const char *param, const float *data, int64_t numel, float scale)
{
    if (o->nparams == o->capparams) {
        int cap = o->capparams ? 2 * o->capparams : 32;
        ox_param *np = cn_malloc((size_t)cap * sizeof *np, "ONNX import parameters");
        if (!np) return CN_STATUS_NOMEM;
        if (o->nparams) memcpy(np, o->params, (size_t)o->nparams * sizeof *np);
        cn_free(o->params);
        o->params = np;
        o->capparams = cap;
    }
    ox_param *p = &o->params[o->nparams];
    snprintf(p->name, sizeof p->name, "%s.%s", layer, param);
    p->numel = numel;
    p->data = cn_malloc((size_t)(numel ? numel : 1) * sizeof(float), p->name);
    if (!p->data) return CN_STATUS_NOMEM;
    for (int64_t i = 0; i < numel; i++) p->data[i] = data ? data[i] * scale : scale;
    o->nparams++;
    return CN_OK;
}

static void dims_text(const int64_t *v, int n, char sep, char *out, size_t cap)
{
    size_t u = 0;
    out[0] = '\0';
    for (int i = 0; i < n && u < cap; i++) u += (size_t)snprintf(out + u, cap - u, "%s%lld", i ? (char[]){sep, 0} : "", (long long)v[i]);
}

/* ---- constants ---------------------------------------------------------------------------------- */

static cn_status const_alloc(ox *o, ox_tensor *t, int dtype, int ndim, const int64_t *dims)
{
    memset(t, 0, sizeof *t);
    t->dtype = dtype;
    t->ndim = ndim;
    uint64_t n = 1;
    for (int i = 0; i < ndim; i++) {
        t->dims[i] = dims[i];
        if (dims[i] < 0) return ox_err(o, CN_STATUS_FORMAT, "a computed shape has dimension %lld", (long long)dims[i]);
        if (dims[i] && n > (1ULL << 32) / (uint64_t)dims[i])
            return ox_err(o, CN_STATUS_LIMIT, "a constant computed at import would have over 2^32 elements");
        n *= (uint64_t)dims[i];
    }
    t->numel = (int64_t)n;
    if (!n) return CN_OK;
    t->f = cn_calloc(n, sizeof(float), "ONNX constant");
    if (!t->f) return CN_STATUS_NOMEM;
    if (cn_onnx_dtype_is_int(dtype) && !(t->i = cn_calloc(n, sizeof(int64_t), "ONNX constant"))) {
        ot_free(t);
        return CN_STATUS_NOMEM;
    }
    return CN_OK;
}

static double cval(const ox_tensor *t, int64_t k) { return t->i ? (double)t->i[k] : (double)t->f[k]; }
/* a float constant read as an integer saturates (and NaN reads as 0), as cset does: the cast of
 * an out-of-range float is undefined in C */
static int64_t ival(const ox_tensor *t, int64_t k)
{
    if (t->i) return t->i[k];
    double v = t->f[k];
    return isfinite(v) ? (v >= 9.2e18 ? INT64_MAX : v <= -9.2e18 ? INT64_MIN : (int64_t)v) : 0;
}

static void cset(ox_tensor *t, int64_t k, double v)
{
    if (t->i) {
        t->i[k] = isfinite(v) ? (v >= 9.2e18 ? INT64_MAX : v <= -9.2e18 ? INT64_MIN : (int64_t)v) : 0;
        if (t->dtype == CN_ONNX_BOOL) t->i[k] = t->i[k] != 0;
        t->f[k] = (float)t->i[k];
    } else t->f[k] = (float)v;
}

static cn_status set_const(ox *o, ox_value *v, ox_tensor *t) /* takes ownership of t */
{
    v->kind = V_CONST;
    v->dtype = t->dtype;
    v->ndim = t->ndim;
    memcpy(v->dims, t->dims, sizeof v->dims);
    v->t = *t;
    memset(t, 0, sizeof *t);
    (void)o;
    return CN_OK;
}

static cn_status const_copy(ox *o, ox_value *v, const ox_tensor *src)
{
    ox_tensor t;
    cn_status st = const_alloc(o, &t, src->dtype, src->ndim, src->dims);
    if (st != CN_OK) return st;
    if (t.numel) {
        memcpy(t.f, src->f, (size_t)t.numel * sizeof(float));
        if (t.i && src->i) memcpy(t.i, src->i, (size_t)t.numel * sizeof(int64_t));
        else if (t.i)
            for (int64_t k = 0; k < t.numel; k++) cset(&t, k, src->f[k]);
    }
    return set_const(o, v, &t);
}

/* a constant list of integers (axes, pads, shape): *n values into v */
static cn_status const_ints(ox *o, const ox_value *c, int64_t *v, int max, int *n, const char *what)
{
    if (c->t.ndim > 1) return ox_err(o, CN_STATUS_FORMAT, "%s '%s' has rank %d; expected a list", what, c->name, c->t.ndim);
    if (c->t.numel > max) return ox_err(o, CN_STATUS_UNSUPPORTED, "%s '%s' has %lld values; at most %d", what, c->name, (long long)c->t.numel, max);
    for (int64_t k = 0; k < c->t.numel; k++) v[k] = ival(&c->t, k);
    *n = (int)c->t.numel;
    return CN_OK;
}

static cn_status norm_axis(ox *o, int64_t axis, int rank, const char *what, int *out)
{
    int64_t a = axis < 0 ? axis + rank : axis;
    *out = 0;
    if (a < 0 || a >= rank) return ox_err(o, CN_STATUS_FORMAT, "%s %lld is outside rank %d", what, (long long)axis, rank);
    *out = (int)a;
    return CN_OK;
}

/* ---- layout helpers on runtime values ------------------------------------------------------------ */

/* reshape src to (ndim, dims) into v (alias when the layout does not change) */
static cn_status emit_reshape(ox *o, const ox_value *src, int ndim, const int64_t *dims, const char *suffix, ox_value *v)
{
    if (ndim < 1 || ndim > CN_MAX_DIMS)
        return ox_err(o, CN_STATUS_UNSUPPORTED, "result has rank %d; convnet tensors have rank 1 to %d", ndim, CN_MAX_DIMS);
    if (numel_of(ndim, dims) != numel_of(src->ndim, src->dims))
        return ox_err(o, CN_STATUS_FORMAT, "cannot reshape %lld elements into %lld", (long long)numel_of(src->ndim, src->dims),
                      (long long)numel_of(ndim, dims));
    cn_shape a = cn_of(src), b = cn_of_dims(ndim, dims);
    if (cn_shape_equal(&a, &b)) {
        cn_status st = alias(o, v, src);
        if (st == CN_OK) v->ndim = ndim, memcpy(v->dims, dims, (size_t)ndim * sizeof(int64_t));
        return st;
    }
    int64_t spec[CN_MAX_DIMS];
    for (int i = 0; i < b.ndim; i++) spec[i] = b.dim[i];
    if (b.dim[0] == a.dim[0]) spec[0] = 0; /* keeps the batch axis: works at any batch size */
    char opts[160], sp[128], name[CN_NAME_MAX];
    dims_text(spec, b.ndim, ',', sp, sizeof sp);
    snprintf(opts, sizeof opts, "shape=%s", sp);
    cn_status st = add_layer(o, "reshape", suffix, src->layer, opts, name);
    return st != CN_OK ? st : set_runtime(o, v, name, ndim, dims);
}

/* transpose src by perm (ONNX axes) into v */
static cn_status emit_transpose(ox *o, const ox_value *src, const int *perm, const char *suffix, ox_value *v)
{
    cn_shape a = cn_of(src);
    int identity = 1;
    for (int i = 0; i < a.ndim; i++) identity &= perm[i] == i;
    int64_t dims[CN_MAX_DIMS];
    for (int i = 0; i < a.ndim; i++) dims[i] = a.dim[perm[i]];
    if (identity || src->ndim == 1) return alias(o, v, src);
    int64_t p[CN_MAX_DIMS];
    for (int i = 0; i < a.ndim; i++) p[i] = perm[i];
    char opts[96], ps[64], name[CN_NAME_MAX];
    dims_text(p, a.ndim, ',', ps, sizeof ps);
    snprintf(opts, sizeof opts, "perm=%s", ps);
    cn_status st = add_layer(o, "transpose", suffix, src->layer, opts, name);
    return st != CN_OK ? st : set_runtime(o, v, name, a.ndim, dims);
}

/* transpose axes 0 and 1 of src's convnet tensor (moves the batch axis out of the way; a vector
 * n x 1 becomes 1 x n); v gets the convnet shape as its shape */
static cn_status emit_swap01(ox *o, const ox_value *src, const char *suffix, ox_value *v)
{
    cn_shape a = cn_of(src);
    int64_t dims[CN_MAX_DIMS], perm[CN_MAX_DIMS];
    for (int i = 0; i < a.ndim; i++) dims[i] = a.dim[i], perm[i] = i;
    dims[0] = a.dim[1], dims[1] = a.dim[0], perm[0] = 1, perm[1] = 0;
    char opts[96], ps[64], name[CN_NAME_MAX];
    dims_text(perm, a.ndim, ',', ps, sizeof ps);
    snprintf(opts, sizeof opts, "perm=%s", ps);
    cn_status st = add_layer(o, "transpose", suffix, src->layer, opts, name);
    return st != CN_OK ? st : set_runtime(o, v, name, a.ndim, dims);
}

/* v takes src's layer with the ONNX shape (ndim, dims) of the same convnet shape */
static cn_status relabel(ox *o, ox_value *v, const ox_value *src, int ndim, const int64_t *dims)
{
    cn_shape a = cn_of(src), b = cn_of_dims(ndim, dims);
    if (!cn_shape_equal(&a, &b)) return ox_err(o, CN_STATUS_INTERNAL, "relabel of a different shape");
    return set_runtime(o, v, src->layer, ndim, dims);
}

/* a scratch value (not in the table) for intermediate results */
static ox_value tmp_value(const char *name)
{
    ox_value v;
    memset(&v, 0, sizeof v);
    v.name = name;
    return v;
}

/* ---- folding: operations on constants --------------------------------------------------------- */

/* broadcast two constant shapes */
static cn_status bcast_shape(ox *o, const ox_tensor *a, const ox_tensor *b, int *rank, int64_t *dims)
{
    int R = a->ndim > b->ndim ? a->ndim : b->ndim;
    for (int i = 0; i < R; i++) {
        int ka = i - (R - a->ndim), kb = i - (R - b->ndim);
        int64_t da = ka >= 0 ? a->dims[ka] : 1, db = kb >= 0 ? b->dims[kb] : 1;
        if (da != db && da != 1 && db != 1)
            return ox_err(o, CN_STATUS_FORMAT, "shapes do not broadcast (axis %d: %lld vs %lld)", i, (long long)da, (long long)db);
        dims[i] = da == 1 ? db : da;
    }
    *rank = R;
    return CN_OK;
}

/* offset into t of output index k of shape (R, dims) under broadcasting */
static int64_t bcast_off(const ox_tensor *t, int R, const int64_t *dims, int64_t k)
{
    int64_t off = 0, stride = 1;
    for (int i = R - 1; i >= 0; i--) {
        int64_t c = k % dims[i];
        k /= dims[i];
        int ti = i - (R - t->ndim);
        if (ti >= 0) {
            if (t->dims[ti] != 1) off += c * stride;
            stride *= t->dims[ti];
        }
    }
    return off;
}

static double fold_bin(const char *op, double a, double b, int isint)
{
    if (!strcmp(op, "Add") || !strcmp(op, "Sum")) return a + b;
    if (!strcmp(op, "Sub")) return a - b;
    if (!strcmp(op, "Mul")) return a * b;
    if (!strcmp(op, "Div")) return isint ? (b != 0 ? trunc(a / b) : 0) : a / b;
    if (!strcmp(op, "Pow")) return pow(a, b);
    if (!strcmp(op, "Max")) return a >= b ? a : b;
    if (!strcmp(op, "Min")) return a <= b ? a : b;
    if (!strcmp(op, "Equal")) return a == b;
    if (!strcmp(op, "Less")) return a < b;
    if (!strcmp(op, "Greater")) return a > b;
    return NAN;
}

static cn_status fold_binary(ox *o, const char *op, const ox_tensor *a, const ox_tensor *b, ox_tensor *r)
{
    int R;
    int64_t dims[CN_ONNX_MAX_DIMS];
    cn_status st = bcast_shape(o, a, b, &R, dims);
    if (st != CN_OK) return st;
    int cmp = !strcmp(op, "Equal") || !strcmp(op, "Less") || !strcmp(op, "Greater");
    int dtype = cmp ? CN_ONNX_BOOL : a->dtype;
    if ((st = const_alloc(o, r, dtype, R, dims)) != CN_OK) return st;
    int isint = a->i != NULL;
    for (int64_t k = 0; k < r->numel; k++) {
        double x = cval(a, bcast_off(a, R, dims, k)), y = cval(b, bcast_off(b, R, dims, k));
        cset(r, k, fold_bin(op, x, y, isint));
    }
    return CN_OK;
}

static double fold_un(const char *op, double x, int *ok)
{
    *ok = 1;
    if (!strcmp(op, "Neg")) return -x;
    if (!strcmp(op, "Abs")) return fabs(x);
    if (!strcmp(op, "Sqrt")) return sqrt(x);
    if (!strcmp(op, "Exp")) return exp(x);
    if (!strcmp(op, "Log")) return log(x);
    if (!strcmp(op, "Relu")) return x > 0 ? x : 0;
    if (!strcmp(op, "Floor")) return floor(x);
    if (!strcmp(op, "Ceil")) return ceil(x);
    if (!strcmp(op, "Reciprocal")) return 1 / x;
    if (!strcmp(op, "Sigmoid")) return 1 / (1 + exp(-x));
    if (!strcmp(op, "Tanh")) return tanh(x);
    if (!strcmp(op, "Not")) return !x;
    if (!strcmp(op, "Erf")) return erf(x);
    if (!strcmp(op, "Sign")) return x > 0 ? 1 : x < 0 ? -1 : 0;
    if (!strcmp(op, "Sin")) return sin(x);
    if (!strcmp(op, "Cos")) return cos(x);
    if (!strcmp(op, "Softsign")) return x / (1 + fabs(x));
    *ok = 0;
    return 0;
}

/* Slice's starts/ends/axes/steps (attributes before opset 10, constant inputs after) resolved
 * against a shape: per axis the first index, the step and the count (Slice's clamping rules) */
static cn_status slice_bounds(ox *o, int ndim, const int64_t *in_dims, int64_t *lo, int64_t *step, int64_t *dims)
{
    int64_t starts[8], ends[8], axes[8], steps[8];
    int ns = -1, ne = -1, na = -1, nst = -1;
    cn_status st;
    if (o->opset < 10) {
        if ((st = attr_ints(o, "starts", starts, 8, &ns)) != CN_OK || (st = attr_ints(o, "ends", ends, 8, &ne)) != CN_OK ||
            (st = attr_ints(o, "axes", axes, 8, &na)) != CN_OK)
            return st;
    } else {
        ox_value *c;
        if ((st = need_const(o, 1, "starts", &c)) != CN_OK || (st = const_ints(o, c, starts, 8, &ns, "starts")) != CN_OK) return st;
        if ((st = need_const(o, 2, "ends", &c)) != CN_OK || (st = const_ints(o, c, ends, 8, &ne, "ends")) != CN_OK) return st;
        if (has_input(o, 3) && ((st = need_const(o, 3, "axes", &c)) != CN_OK || (st = const_ints(o, c, axes, 8, &na, "axes")) != CN_OK)) return st;
        if (has_input(o, 4) && ((st = need_const(o, 4, "steps", &c)) != CN_OK || (st = const_ints(o, c, steps, 8, &nst, "steps")) != CN_OK))
            return st;
    }
    if (ns != ne || ns < 0 || (na >= 0 && na != ns) || (nst >= 0 && nst != ns))
        return ox_err(o, CN_STATUS_FORMAT, "Slice starts/ends/axes/steps differ in length");
    for (int i = 0; i < ndim; i++) lo[i] = 0, step[i] = 1, dims[i] = in_dims[i];
    for (int i = 0; i < ns; i++) {
        int ax;
        if ((st = norm_axis(o, na >= 0 ? axes[i] : i, ndim, "Slice axis", &ax)) != CN_OK) return st;
        int64_t sd = nst >= 0 ? steps[i] : 1, D = in_dims[ax], s = starts[i], e = ends[i];
        if (sd == 0) return ox_err(o, CN_STATUS_FORMAT, "Slice step 0");
        if (s < 0) s += D; /* negative counts from the end (INT64_MIN + D cannot overflow) */
        if (e < 0) e += D;
        if (sd > 0) { /* clamped as the ONNX spec says: [0, D] stepping up, start [0, D-1] and end [-1, D-1] down */
            s = s < 0 ? 0 : s > D ? D : s;
            e = e < 0 ? 0 : e > D ? D : e;
            dims[ax] = e > s ? (e - s + sd - 1) / sd : 0;
        } else {
            s = s < 0 ? 0 : s > D - 1 ? D - 1 : s;
            e = e < -1 ? -1 : e > D - 1 ? D - 1 : e;
            dims[ax] = s > e ? (s - e - sd - 1) / -sd : 0;
        }
        lo[ax] = s, step[ax] = sd;
    }
    return CN_OK;
}

/* fold the current node when every input is a constant; *done = 0 if the op is not foldable */
static cn_status fold_node(ox *o, int *done)
{
    const char *op = sv(o->node->op_type);
    *done = 0;
    ox_value *in[16] = {0};
    int n = n_inputs(o) < 16 ? n_inputs(o) : 16;
    for (int k = 0; k < n; k++) {
        if (!has_input(o, k)) continue;
        cn_status st = in_value(o, k, &in[k]);
        if (st != CN_OK) return st;
        if (in[k]->kind != V_CONST) return CN_OK;
    }
    if (n == 0 && strcmp(op, "Constant")) return CN_OK;
    /* every folded operator reads its first input, which no ONNX operator makes optional */
    if (strcmp(op, "Constant") && !in[0]) return ox_err(o, CN_STATUS_FORMAT, "input 0 is empty; %s requires it", op);
    ox_tensor r;
    memset(&r, 0, sizeof r);
    cn_status st = CN_OK;
    ox_value *out;
    int ok;
    if (!strcmp(op, "Identity") || (!strcmp(op, "Dropout") && in[0])) {
        if ((st = out_value(o, 0, &out)) != CN_OK) return st;
        if ((st = const_copy(o, out, &in[0]->t)) != CN_OK) return st;
        if (!strcmp(op, "Dropout") && has_output(o, 1)) {
            ox_value *mask;
            if ((st = out_value(o, 1, &mask)) != CN_OK) return st;
            if ((st = const_alloc(o, &r, CN_ONNX_BOOL, in[0]->t.ndim, in[0]->t.dims)) != CN_OK) return st;
            for (int64_t k = 0; k < r.numel; k++) cset(&r, k, 1);
            set_const(o, mask, &r);
        }
        *done = 1;
        return CN_OK;
    }
    if (n == 1 && in[0] && (fold_un(op, 0, &ok), ok)) {
        if ((st = const_alloc(o, &r, in[0]->t.dtype, in[0]->t.ndim, in[0]->t.dims)) != CN_OK) return st;
        for (int64_t k = 0; k < r.numel; k++) cset(&r, k, fold_un(op, cval(&in[0]->t, k), &ok));
    } else if (!strcmp(op, "Add") || !strcmp(op, "Sub") || !strcmp(op, "Mul") || !strcmp(op, "Div") || !strcmp(op, "Pow") ||
               !strcmp(op, "Equal") || !strcmp(op, "Less") || !strcmp(op, "Greater") ||
               ((!strcmp(op, "Max") || !strcmp(op, "Min") || !strcmp(op, "Sum") || !strcmp(op, "Mean")) && n >= 1)) {
        if (n < 1 || !in[0]) return ox_err(o, CN_STATUS_FORMAT, "needs inputs");
        const char *bop = !strcmp(op, "Mean") ? "Add" : op;
        ox_tensor acc;
        ox_value tmp = tmp_value("acc");
        if ((st = const_copy(o, &tmp, &in[0]->t)) != CN_OK) return st;
        acc = tmp.t;
        int count = 1;
        for (int k = 1; k < n; k++) {
            if (!in[k]) return ox_err(o, CN_STATUS_FORMAT, "input %d is missing", k);
            ox_tensor nx;
            st = fold_binary(o, bop, &acc, &in[k]->t, &nx);
            ot_free(&acc);
            if (st != CN_OK) return st;
            acc = nx;
            count++;
        }
        if (!strcmp(op, "Mean"))
            for (int64_t k = 0; k < acc.numel; k++) cset(&acc, k, cval(&acc, k) / count);
        r = acc;
    } else if (!strcmp(op, "Constant")) {
        const attr_t *a = NULL;
        for (size_t i = 0; i < o->node->n_attribute && !a; i++) a = o->node->attribute[i];
        if (!a || o->node->n_attribute != 1) return ox_err(o, CN_STATUS_FORMAT, "Constant needs exactly one attribute");
        const char *an = sv(a->name);
        if (!strcmp(an, "value")) {
            if ((st = attr_check(o, a, AT(TENSOR))) != CN_OK) return st;
            char what[512];
            snprintf(what, sizeof what, "%s: node %d (Constant) value", o->file, o->node_index);
            if ((st = decode_tensor(a->t, &r, what)) != CN_OK) return st;
        } else if (!strcmp(an, "value_float") || !strcmp(an, "value_int")) {
            int isf = an[6] == 'f';
            if ((st = attr_check(o, a, isf ? AT(FLOAT) : AT(INT))) != CN_OK) return st;
            if ((st = const_alloc(o, &r, isf ? CN_ONNX_FLOAT : CN_ONNX_INT64, 0, NULL)) != CN_OK) return st;
            cset(&r, 0, isf ? (double)a->f : (double)a->i);
        } else if (!strcmp(an, "value_floats") || !strcmp(an, "value_ints")) {
            int isf = an[6] == 'f';
            if ((st = attr_check(o, a, isf ? AT(FLOATS) : AT(INTS))) != CN_OK) return st;
            int64_t len = isf ? (int64_t)a->n_floats : (int64_t)a->n_ints;
            if ((st = const_alloc(o, &r, isf ? CN_ONNX_FLOAT : CN_ONNX_INT64, 1, &len)) != CN_OK) return st;
            for (int64_t k = 0; k < len; k++) cset(&r, k, isf ? (double)a->floats[k] : (double)a->ints[k]);
        } else
            return ox_err(o, CN_STATUS_UNSUPPORTED, "Constant attribute '%s' (strings and sparse tensors are not read)", an);
    } else if (!strcmp(op, "Shape") || !strcmp(op, "Size")) {
        if (!in[0]) return ox_err(o, CN_STATUS_FORMAT, "needs an input");
        return CN_OK; /* handled with runtime inputs too: see op_shape */
    } else if (!strcmp(op, "Cast")) {
        int64_t to;
        if ((st = attr_i(o, "to", CN_ONNX_FLOAT, &to)) != CN_OK) return st;
        if (!cn_onnx_dtype_size((int)to)) return ox_err(o, CN_STATUS_UNSUPPORTED, "Cast to %s", cn_onnx_dtype_name((int)to));
        if ((st = const_alloc(o, &r, (int)to, in[0]->t.ndim, in[0]->t.dims)) != CN_OK) return st;
        for (int64_t k = 0; k < r.numel; k++) cset(&r, k, r.i ? trunc(cval(&in[0]->t, k)) : cval(&in[0]->t, k));
    } else if (!strcmp(op, "Unsqueeze") || !strcmp(op, "Squeeze") || !strcmp(op, "Reshape") || !strcmp(op, "Flatten")) {
        return CN_OK; /* shape ops share their shape logic with the runtime path: see op_shape_change */
    } else if (!strcmp(op, "Concat")) {
        int64_t axis64;
        if ((st = attr_i(o, "axis", 0, &axis64)) != CN_OK) return st;
        if (!in[0]) return ox_err(o, CN_STATUS_FORMAT, "needs inputs");
        int R = in[0]->t.ndim, axis;
        if (R == 0) return ox_err(o, CN_STATUS_FORMAT, "Concat of scalars");
        if ((st = norm_axis(o, axis64, R, "axis", &axis)) != CN_OK) return st;
        int64_t dims[CN_ONNX_MAX_DIMS];
        memcpy(dims, in[0]->t.dims, sizeof dims);
        dims[axis] = 0;
        for (int k = 0; k < n; k++) {
            if (!in[k] || in[k]->t.ndim != R) return ox_err(o, CN_STATUS_FORMAT, "Concat inputs differ in rank");
            for (int d = 0; d < R; d++)
                if (d != axis && in[k]->t.dims[d] != in[0]->t.dims[d]) return ox_err(o, CN_STATUS_FORMAT, "Concat inputs differ on axis %d", d);
            dims[axis] += in[k]->t.dims[axis];
        }
        if ((st = const_alloc(o, &r, in[0]->t.dtype, R, dims)) != CN_OK) return st;
        int64_t outer = 1, inner = 1, pos = 0;
        for (int d = 0; d < axis; d++) outer *= dims[d];
        for (int d = axis + 1; d < R; d++) inner *= dims[d];
        for (int k = 0; k < n; k++) {
            int64_t len = in[k]->t.dims[axis] * inner;
            for (int64_t a = 0; a < outer; a++)
                for (int64_t j = 0; j < len; j++) cset(&r, a * dims[axis] * inner + pos + j, cval(&in[k]->t, a * len + j));
            pos += len;
        }
    } else if (!strcmp(op, "Gather")) {
        int64_t axis64;
        if ((st = attr_i(o, "axis", 0, &axis64)) != CN_OK) return st;
        if (!in[0] || !in[1]) return ox_err(o, CN_STATUS_FORMAT, "Gather needs data and indices");
        const ox_tensor *d = &in[0]->t, *q = &in[1]->t;
        int axis;
        if (d->ndim == 0) return ox_err(o, CN_STATUS_FORMAT, "Gather from a scalar");
        if ((st = norm_axis(o, axis64, d->ndim, "axis", &axis)) != CN_OK) return st;
        int R = d->ndim - 1 + q->ndim;
        if (R > CN_ONNX_MAX_DIMS) return ox_err(o, CN_STATUS_UNSUPPORTED, "Gather result rank %d", R);
        int64_t dims[CN_ONNX_MAX_DIMS];
        int rr = 0;
        for (int i = 0; i < axis; i++) dims[rr++] = d->dims[i];
        for (int i = 0; i < q->ndim; i++) dims[rr++] = q->dims[i];
        for (int i = axis + 1; i < d->ndim; i++) dims[rr++] = d->dims[i];
        if ((st = const_alloc(o, &r, d->dtype, R, dims)) != CN_OK) return st;
        int64_t outer = 1, inner = 1, dim = d->dims[axis];
        for (int i = 0; i < axis; i++) outer *= d->dims[i];
        for (int i = axis + 1; i < d->ndim; i++) inner *= d->dims[i];
        for (int64_t a = 0; a < outer; a++)
            for (int64_t j = 0; j < q->numel; j++) {
                int64_t k = ival(q, j);
                if (k < -dim || k >= dim) {
                    ot_free(&r);
                    return ox_err(o, CN_STATUS_FORMAT, "Gather index %lld is outside axis %d of size %lld", (long long)k, axis, (long long)dim);
                }
                if (k < 0) k += dim;
                for (int64_t i = 0; i < inner; i++) cset(&r, (a * q->numel + j) * inner + i, cval(d, (a * dim + k) * inner + i));
            }
    } else if (!strcmp(op, "Slice")) {
        const ox_tensor *d = &in[0]->t;
        int64_t lo[8], step[8], dims[8];
        if ((st = slice_bounds(o, d->ndim, d->dims, lo, step, dims)) != CN_OK) return st;
        if ((st = const_alloc(o, &r, d->dtype, d->ndim, dims)) != CN_OK) return st;
        for (int64_t k = 0; k < r.numel; k++) {
            int64_t rem = k, off = 0, stride = 1;
            for (int i = d->ndim - 1; i >= 0; i--) {
                int64_t c = rem % dims[i];
                rem /= dims[i];
                off += (lo[i] + c * step[i]) * stride;
                stride *= d->dims[i];
            }
            cset(&r, k, cval(d, off));
        }
    } else if (!strcmp(op, "ConstantOfShape")) {
        int64_t dims[CN_ONNX_MAX_DIMS];
        int nd;
        if ((st = const_ints(o, in[0], dims, CN_ONNX_MAX_DIMS, &nd, "shape")) != CN_OK) return st;
        const attr_t *a = attr(o, "value");
        ox_tensor val;
        memset(&val, 0, sizeof val);
        if (a) {
            if ((st = attr_check(o, a, AT(TENSOR))) != CN_OK) return st;
            if ((st = decode_tensor(a->t, &val, "ConstantOfShape value")) != CN_OK) return st;
            if (val.numel != 1) {
                ot_free(&val);
                return ox_err(o, CN_STATUS_FORMAT, "ConstantOfShape value must hold one element");
            }
        }
        st = const_alloc(o, &r, a ? val.dtype : CN_ONNX_FLOAT, nd, dims);
        double x = a ? cval(&val, 0) : 0;
        ot_free(&val);
        if (st != CN_OK) return st;
        for (int64_t k = 0; k < r.numel; k++) cset(&r, k, x);
    } else if (!strcmp(op, "Range")) {
        if (!in[0] || !in[1] || !in[2]) return ox_err(o, CN_STATUS_FORMAT, "Range needs start, limit, delta");
        double s = cval(&in[0]->t, 0), lim = cval(&in[1]->t, 0), dl = cval(&in[2]->t, 0);
        if (dl == 0) return ox_err(o, CN_STATUS_FORMAT, "Range delta 0");
        double cnt = ceil((lim - s) / dl);
        int64_t len = cnt > 0 ? (int64_t)cnt : 0;
        if ((st = const_alloc(o, &r, in[0]->t.dtype, 1, &len)) != CN_OK) return st;
        for (int64_t k = 0; k < len; k++) cset(&r, k, s + (double)k * dl);
    } else if (!strcmp(op, "Where")) {
        if (!in[0] || !in[1] || !in[2]) return ox_err(o, CN_STATUS_FORMAT, "Where needs three inputs");
        ox_tensor ab;
        if ((st = fold_binary(o, "Add", &in[1]->t, &in[2]->t, &ab)) != CN_OK) return st; /* for the broadcast shape */
        int R;
        int64_t dims[CN_ONNX_MAX_DIMS];
        st = bcast_shape(o, &ab, &in[0]->t, &R, dims);
        ot_free(&ab);
        if (st != CN_OK || (st = const_alloc(o, &r, in[1]->t.dtype, R, dims)) != CN_OK) return st;
        for (int64_t k = 0; k < r.numel; k++) {
            int c = cval(&in[0]->t, bcast_off(&in[0]->t, R, dims, k)) != 0;
            const ox_tensor *src = c ? &in[1]->t : &in[2]->t;
            cset(&r, k, cval(src, bcast_off(src, R, dims, k)));
        }
    } else if (!strcmp(op, "Transpose")) {
        const ox_tensor *d = &in[0]->t;
        int64_t p[8];
        int np;
        if ((st = attr_ints(o, "perm", p, 8, &np)) != CN_OK) return st;
        if (np < 0)
            for (int i = 0; i < d->ndim; i++) p[i] = d->ndim - 1 - i;
        else if (np != d->ndim) return ox_err(o, CN_STATUS_FORMAT, "perm has %d entries for rank %d", np, d->ndim);
        int64_t dims[8], stride[8], acc = 1;
        for (int i = d->ndim - 1; i >= 0; i--) stride[i] = acc, acc *= d->dims[i];
        for (int i = 0; i < d->ndim; i++) {
            if (p[i] < 0 || p[i] >= d->ndim) return ox_err(o, CN_STATUS_FORMAT, "perm entry %lld", (long long)p[i]);
            dims[i] = d->dims[p[i]];
        }
        if ((st = const_alloc(o, &r, d->dtype, d->ndim, dims)) != CN_OK) return st;
        for (int64_t k = 0; k < r.numel; k++) {
            int64_t rem = k, off = 0;
            for (int i = d->ndim - 1; i >= 0; i--) {
                off += (rem % dims[i]) * stride[p[i]];
                rem /= dims[i];
            }
            cset(&r, k, cval(d, off));
        }
    } else
        return CN_OK; /* not foldable: the op handler decides */
    if ((st = out_value(o, 0, &out)) != CN_OK) {
        ot_free(&r);
        return st;
    }
    set_const(o, out, &r);
    *done = 1;
    return CN_OK;
}

/* ---- Shape, Size and the shape-changing ops (constants and run-time values alike) --------------- */

static cn_status op_shape(ox *o)
{
    ox_value *x, *out;
    cn_status st = in_value(o, 0, &x);
    if (st != CN_OK) return st;
    ox_tensor r;
    if (!strcmp(o->node->op_type, "Size")) {
        if ((st = const_alloc(o, &r, CN_ONNX_INT64, 0, NULL)) != CN_OK) return st;
        cset(&r, 0, (double)numel_of(x->ndim, x->dims));
    } else {
        int64_t start, end;
        if ((st = attr_i(o, "start", 0, &start)) != CN_OK || (st = attr_i(o, "end", x->ndim, &end)) != CN_OK) return st;
        int64_t R = x->ndim;
        if (start < 0) start += R;
        if (end < 0) end += R;
        start = start < 0 ? 0 : start > R ? R : start;
        end = end < 0 ? 0 : end > R ? R : end;
        int64_t len = end > start ? end - start : 0;
        if ((st = const_alloc(o, &r, CN_ONNX_INT64, 1, &len)) != CN_OK) return st;
        for (int64_t k = 0; k < len; k++) cset(&r, k, (double)x->dims[start + k]);
    }
    if ((st = out_value(o, 0, &out)) != CN_OK) {
        ot_free(&r);
        return st;
    }
    return set_const(o, out, &r);
}

/* Reshape, Squeeze, Unsqueeze, Flatten: the output shape, then a reshape (or a relabelled constant) */
static cn_status op_reshape(ox *o)
{
    const char *op = o->node->op_type;
    ox_value *x, *out, *c;
    cn_status st = in_value(o, 0, &x);
    if (st != CN_OK) return st;
    int R = x->ndim, nd = 0, n;
    int64_t dims[CN_ONNX_MAX_DIMS], list[CN_ONNX_MAX_DIMS];
    if (!strcmp(op, "Reshape")) {
        if (o->opset < 5) {
            if ((st = attr_ints(o, "shape", list, CN_ONNX_MAX_DIMS, &n)) != CN_OK) return st;
            if (n < 0) return ox_err(o, CN_STATUS_FORMAT, "Reshape needs attribute 'shape'");
        } else {
            if ((st = need_const(o, 1, "shape", &c)) != CN_OK) return st;
            if ((st = const_ints(o, c, list, CN_ONNX_MAX_DIMS, &n, "shape")) != CN_OK) return st;
        }
        int64_t allowzero;
        if ((st = attr_i(o, "allowzero", 0, &allowzero)) != CN_OK) return st;
        int64_t known = 1, total = numel_of(R, x->dims);
        int infer = -1;
        for (int i = 0; i < n; i++) {
            int64_t v = list[i];
            if (v == 0 && !allowzero) {
                if (i >= R) return ox_err(o, CN_STATUS_FORMAT, "shape[%d] = 0 copies axis %d of a rank-%d input", i, i, R);
                v = x->dims[i];
            }
            if (v == -1) {
                if (infer >= 0) return ox_err(o, CN_STATUS_FORMAT, "shape has two -1");
                infer = i;
                v = 1;
            } else if (v < 0)
                return ox_err(o, CN_STATUS_FORMAT, "shape[%d] = %lld", i, (long long)v);
            dims[i] = v;
            if (v && known > INT64_MAX / v) return ox_err(o, CN_STATUS_LIMIT, "shape product overflows");
            known *= v;
        }
        if (infer >= 0) {
            if (!known || total % known) return ox_err(o, CN_STATUS_FORMAT, "cannot infer -1: %lld elements into %lld-element rows", (long long)total, (long long)known);
            dims[infer] = total / known;
        } else if (known != total)
            return ox_err(o, CN_STATUS_FORMAT, "cannot reshape %lld elements into a shape of %lld", (long long)total, (long long)known);
        nd = n;
    } else if (!strcmp(op, "Flatten")) {
        int64_t axis;
        if ((st = attr_i(o, "axis", 1, &axis)) != CN_OK) return st;
        if (axis < 0) axis += R;
        if (axis < 0 || axis > R) return ox_err(o, CN_STATUS_FORMAT, "axis %lld is outside 0..%d", (long long)axis, R);
        dims[0] = numel_of((int)axis, x->dims);
        dims[1] = numel_of(R - (int)axis, x->dims + axis);
        nd = 2;
    } else { /* Squeeze / Unsqueeze: axes as an attribute (opset < 13) or an input */
        int na = -1;
        if (o->opset < 13) {
            if ((st = attr_ints(o, "axes", list, CN_ONNX_MAX_DIMS, &na)) != CN_OK) return st;
        } else if (has_input(o, 1)) {
            if ((st = need_const(o, 1, "axes", &c)) != CN_OK) return st;
            if ((st = const_ints(o, c, list, CN_ONNX_MAX_DIMS, &na, "axes")) != CN_OK) return st;
        }
        int mark[CN_ONNX_MAX_DIMS * 2] = {0};
        if (!strcmp(op, "Squeeze")) {
            for (int i = 0; i < na; i++) {
                int a;
                if ((st = norm_axis(o, list[i], R, "axis", &a)) != CN_OK) return st;
                if (x->dims[a] != 1) return ox_err(o, CN_STATUS_FORMAT, "cannot squeeze axis %d of size %lld", a, (long long)x->dims[a]);
                mark[a] = 1;
            }
            for (int i = 0; i < R; i++)
                if (!(na < 0 ? x->dims[i] == 1 : mark[i])) dims[nd++] = x->dims[i];
        } else {
            if (na < 0) return ox_err(o, CN_STATUS_FORMAT, "Unsqueeze needs axes");
            int Ro = R + na;
            if (Ro > CN_ONNX_MAX_DIMS) return ox_err(o, CN_STATUS_UNSUPPORTED, "result rank %d", Ro);
            for (int i = 0; i < na; i++) {
                int a;
                if ((st = norm_axis(o, list[i], Ro, "axis", &a)) != CN_OK) return st;
                if (mark[a]) return ox_err(o, CN_STATUS_FORMAT, "axis %d repeated", a);
                mark[a] = 1;
            }
            for (int i = 0, k = 0; i < Ro; i++) dims[nd++] = mark[i] ? 1 : x->dims[k++];
        }
    }
    if ((st = out_value(o, 0, &out)) != CN_OK) return st;
    if (x->kind == V_CONST) {
        if ((st = const_copy(o, out, &x->t)) != CN_OK) return st;
        out->ndim = out->t.ndim = nd;
        memcpy(out->dims, dims, (size_t)nd * sizeof(int64_t));
        memcpy(out->t.dims, dims, (size_t)nd * sizeof(int64_t));
        return CN_OK;
    }
    return emit_reshape(o, x, nd, dims, NULL, out);
}

/* ---- elementwise -------------------------------------------------------------------------------- */

static const char *binary_op_name(const char *op)
{
    if (!strcmp(op, "Add") || !strcmp(op, "Sum") || !strcmp(op, "Mean")) return "add";
    if (!strcmp(op, "Sub")) return "sub";
    if (!strcmp(op, "Mul")) return "mul";
    if (!strcmp(op, "Div")) return "div";
    if (!strcmp(op, "Pow")) return "pow";
    if (!strcmp(op, "Max")) return "max";
    if (!strcmp(op, "Min")) return "min";
    if (!strcmp(op, "PRelu")) return "prelu";
    return NULL;
}

static cn_status onnx_bcast(ox *o, const ox_value *a, const ox_value *b, int *R, int64_t *dims)
{
    *R = a->ndim > b->ndim ? a->ndim : b->ndim;
    for (int i = 0; i < *R; i++) {
        int ka = i - (*R - a->ndim), kb = i - (*R - b->ndim);
        int64_t da = ka >= 0 ? a->dims[ka] : 1, db = kb >= 0 ? b->dims[kb] : 1;
        if (da != db && da != 1 && db != 1)
            return ox_err(o, CN_STATUS_FORMAT, "'%s' and '%s' do not broadcast (axis %d: %lld vs %lld)", a->name, b->name, i, (long long)da,
                          (long long)db);
        dims[i] = da == 1 ? db : da;
    }
    return CN_OK;
}

/* a op b into out, for any mix of constants and run-time values */
static cn_status emit_binary(ox *o, const char *op, const ox_value *a, const ox_value *b, const char *suffix, ox_value *out)
{
    cn_status st;
    if (a->kind == V_CONST && b->kind == V_CONST) {
        ox_tensor r;
        if ((st = fold_binary(o, op, &a->t, &b->t, &r)) != CN_OK) return st;
        return set_const(o, out, &r);
    }
    int R;
    int64_t dims[CN_ONNX_MAX_DIMS];
    if ((st = onnx_bcast(o, a, b, &R, dims)) != CN_OK) return st;
    const char *bop = binary_op_name(op);
    if (!bop) return ox_err(o, CN_STATUS_INTERNAL, "no binary layer for %s", op);
    char opts[256], name[CN_NAME_MAX];
    if (a->kind == V_RUNTIME && b->kind == V_RUNTIME) {
        if ((a->ndim == 1) != (b->ndim == 1) && (a->ndim > 1 || b->ndim > 1))
            return ox_err(o, CN_STATUS_UNSUPPORTED, "a vector ('%s' or '%s') broadcast against a higher-rank tensor at run time", a->name, b->name);
        cn_shape sa = cn_of(a), sb = cn_of(b);
        char ins[2 * CN_NAME_MAX + 2];
        snprintf(ins, sizeof ins, "%s,%s", a->layer, b->layer);
        if (!strcmp(bop, "add") && cn_shape_equal(&sa, &sb)) st = add_layer(o, "add", suffix, ins, NULL, name);
        else {
            snprintf(opts, sizeof opts, "op=%s", bop);
            st = add_layer(o, "binary", suffix, ins, opts, name);
        }
        return st != CN_OK ? st : set_runtime(o, out, name, R, dims);
    }
    const ox_value *x = a->kind == V_RUNTIME ? a : b, *c = a->kind == V_RUNTIME ? b : a;
    int reverse = c == a;
    if (c->t.numel < 1) return ox_err(o, CN_STATUS_UNSUPPORTED, "constant '%s' is empty", c->name);
    int64_t cd[CN_ONNX_MAX_DIMS];
    int cr = c->ndim;
    if (x->ndim == 1) { /* the run-time value is a vector held as n x 1 */
        if (c->ndim > 1) return ox_err(o, CN_STATUS_UNSUPPORTED, "a vector '%s' broadcast against a rank-%d constant", x->name, c->ndim);
        cd[0] = c->ndim ? c->dims[0] : 1, cd[1] = 1, cr = 2;
    } else {
        if (cr > CN_MAX_DIMS) return ox_err(o, CN_STATUS_UNSUPPORTED, "constant '%s' has rank %d", c->name, cr);
        memcpy(cd, c->dims, (size_t)cr * sizeof(int64_t));
        if (cr == 0) cd[0] = 1, cr = 1;
    }
    char cs[96];
    dims_text(cd, cr, 'x', cs, sizeof cs);
    snprintf(opts, sizeof opts, "op=%s const_shape=%s%s", bop, cs, reverse ? " reverse=true" : "");
    if ((st = add_layer(o, "binary", suffix, x->layer, opts, name)) != CN_OK) return st;
    if ((st = stage_param(o, name, "value", c->t.f, c->t.numel, 1)) != CN_OK) return st;
    return set_runtime(o, out, name, R, dims);
}

/* Add Sub Mul Div Pow (two inputs), Max Min Sum Mean (variadic) */
static cn_status op_binary(ox *o)
{
    const char *op = o->node->op_type;
    int n = n_inputs(o);
    cn_status st;
    ox_value *out, *in[64];
    if (n < 1 || n > 64) return ox_err(o, CN_STATUS_FORMAT, "%d inputs", n);
    for (int k = 0; k < n; k++)
        if ((st = in_value(o, k, &in[k])) != CN_OK) return st;
    if ((st = out_value(o, 0, &out)) != CN_OK) return st;
    int variadic = !strcmp(op, "Sum") || !strcmp(op, "Mean") || !strcmp(op, "Max") || !strcmp(op, "Min");
    if (!variadic) {
        if (n != 2) return ox_err(o, CN_STATUS_FORMAT, "%s takes 2 inputs, %d given", op, n);
        return emit_binary(o, op, in[0], in[1], NULL, out);
    }
    /* fold the constants together, join the run-time values, then combine */
    const char *pair = !strcmp(op, "Mean") ? "Add" : !strcmp(op, "Sum") ? "Add" : op;
    ox_value acc = tmp_value(out->name), cacc = tmp_value("const");
    int have = 0, have_c = 0;
    char suffix[16];
    int step = 0;
    for (int k = 0; k < n; k++) {
        if (in[k]->kind == V_CONST) {
            if (!have_c) {
                if ((st = const_copy(o, &cacc, &in[k]->t)) != CN_OK) goto done;
            } else {
                ox_tensor r;
                if ((st = fold_binary(o, pair, &cacc.t, &in[k]->t, &r)) != CN_OK) goto done;
                ot_free(&cacc.t);
                set_const(o, &cacc, &r);
            }
            have_c = 1;
            continue;
        }
        if (!have) {
            acc = *in[k];
            acc.t = (ox_tensor){0};
            have = 1;
            continue;
        }
        ox_value next = tmp_value(out->name);
        if (step) snprintf(suffix, sizeof suffix, "_%d", step);
        else suffix[0] = '\0';
        step++;
        if ((st = emit_binary(o, pair, &acc, in[k], suffix, &next)) != CN_OK) goto done;
        acc = next;
    }
    if (have_c) {
        if (!have) {
            st = ox_err(o, CN_STATUS_INTERNAL, "all-constant variadic op not folded");
            goto done;
        }
        ox_value next = tmp_value(out->name);
        snprintf(suffix, sizeof suffix, "_c");
        if ((st = emit_binary(o, pair, &acc, &cacc, suffix, &next)) != CN_OK) goto done;
        acc = next;
    }
    if (!strcmp(op, "Mean") && n > 1) {
        ox_value scale = tmp_value("1/n");
        if ((st = const_alloc(o, &scale.t, CN_ONNX_FLOAT, 0, NULL)) != CN_OK) goto done;
        scale.kind = V_CONST;
        cset(&scale.t, 0, 1.0 / n);
        ox_value next = tmp_value(out->name);
        st = emit_binary(o, "Mul", &acc, &scale, "_mean", &next);
        ot_free(&scale.t);
        if (st != CN_OK) goto done;
        acc = next;
    }
    st = alias(o, out, &acc);
done:
    ot_free(&cacc.t);
    return st;
}

static cn_status op_act(ox *o)
{
    const char *op = o->node->op_type;
    ox_value *x, *out;
    cn_status st = need_runtime(o, 0, &x);
    if (st != CN_OK || (st = out_value(o, 0, &out)) != CN_OK) return st;
    char opts[256], name[CN_NAME_MAX];
    double a, b;
    if (!strcmp(op, "Relu")) snprintf(opts, sizeof opts, "kind=relu");
    else if (!strcmp(op, "Sigmoid")) snprintf(opts, sizeof opts, "kind=sigmoid");
    else if (!strcmp(op, "Tanh")) snprintf(opts, sizeof opts, "kind=tanh");
    else if (!strcmp(op, "HardSwish")) snprintf(opts, sizeof opts, "kind=hard_swish");
    else if (!strcmp(op, "Softplus")) snprintf(opts, sizeof opts, "kind=softplus beta=1 threshold=20");
    else if (!strcmp(op, "LeakyRelu")) {
        if ((st = attr_f(o, "alpha", 0.01, &a)) != CN_OK) return st;
        if (a < 0) return ox_err(o, CN_STATUS_UNSUPPORTED, "LeakyRelu alpha %g < 0", a);
        snprintf(opts, sizeof opts, "kind=leaky_relu slope=%.9g", a);
    } else if (!strcmp(op, "Elu") || !strcmp(op, "Selu")) {
        int selu = op[0] == 'S';
        if ((st = attr_f(o, "alpha", selu ? 1.67326319217681884765625 : 1.0, &a)) != CN_OK) return st;
        if ((st = attr_f(o, "gamma", 1.05070102214813232421875, &b)) != CN_OK) return st;
        if (a < 0) return ox_err(o, CN_STATUS_UNSUPPORTED, "%s alpha %g < 0", op, a);
        if (selu && fabs(a - 1.6732632423543772) < 1e-6 && fabs(b - 1.0507009873554805) < 1e-6)
            snprintf(opts, sizeof opts, "kind=selu");
        else if (selu) { /* gamma * elu_alpha(x) */
            ox_value e = tmp_value(out->name), g = tmp_value("gamma");
            snprintf(opts, sizeof opts, "kind=elu alpha=%.9g", a);
            if ((st = add_layer(o, "act", "_elu", x->layer, opts, name)) != CN_OK) return st;
            if ((st = set_runtime(o, &e, name, x->ndim, x->dims)) != CN_OK) return st;
            if ((st = const_alloc(o, &g.t, CN_ONNX_FLOAT, 0, NULL)) != CN_OK) return st;
            g.kind = V_CONST;
            cset(&g.t, 0, b);
            st = emit_binary(o, "Mul", &e, &g, NULL, out);
            ot_free(&g.t);
            return st;
        } else snprintf(opts, sizeof opts, "kind=elu alpha=%.9g", a);
    } else if (!strcmp(op, "HardSigmoid")) {
        if ((st = attr_f(o, "alpha", 0.2, &a)) != CN_OK || (st = attr_f(o, "beta", 0.5, &b)) != CN_OK) return st;
        snprintf(opts, sizeof opts, "kind=hard_sigmoid alpha=%.9g beta=%.9g", a, b);
    } else if (!strcmp(op, "Clip")) {
        double lo = -3.4028234663852886e38, hi = 3.4028234663852886e38;
        if (o->opset < 11) {
            if ((st = attr_f(o, "min", lo, &lo)) != CN_OK || (st = attr_f(o, "max", hi, &hi)) != CN_OK) return st;
        } else {
            ox_value *c;
            for (int k = 1; k <= 2; k++) {
                if (!has_input(o, k)) continue;
                if ((st = need_const(o, k, k == 1 ? "min" : "max", &c)) != CN_OK) return st;
                if (c->t.numel != 1) return ox_err(o, CN_STATUS_FORMAT, "Clip %s must be a scalar", k == 1 ? "min" : "max");
                if (k == 1) lo = cval(&c->t, 0);
                else hi = cval(&c->t, 0);
            }
        }
        snprintf(opts, sizeof opts, "kind=clip lo=%.9g hi=%.9g", lo, hi);
    } else
        return ox_err(o, CN_STATUS_INTERNAL, "no activation for %s", op);
    if ((st = add_layer(o, "act", NULL, x->layer, opts, name)) != CN_OK) return st;
    return set_runtime(o, out, name, x->ndim, x->dims);
}

static cn_status op_prelu(ox *o)
{
    ox_value *x, *s, *out;
    cn_status st = need_runtime(o, 0, &x);
    if (st != CN_OK || (st = in_value(o, 1, &s)) != CN_OK || (st = out_value(o, 0, &out)) != CN_OK) return st;
    if (s->kind == V_CONST && x->ndim >= 2) {
        /* per channel when the slope, aligned from the right, is 1 everywhere but on axis 1 */
        int per_channel = s->ndim <= x->ndim && s->ndim >= x->ndim - 1 && s->t.numel == x->dims[1];
        for (int i = 0; i < s->ndim && per_channel; i++) {
            int xa = i + (x->ndim - s->ndim);
            if (xa != 1 && s->dims[i] != 1) per_channel = 0;
        }
        if (o->opset < 7 && s->ndim == 1 && s->t.numel == x->dims[1]) per_channel = 1; /* before broadcasting: slope per channel */
        int shared = s->t.numel == 1;
        if (per_channel || shared) {
            char name[CN_NAME_MAX];
            if ((st = add_layer(o, "prelu", NULL, x->layer, shared ? "shared=true" : NULL, name)) != CN_OK) return st;
            if ((st = stage_param(o, name, "slope", s->t.f, s->t.numel, 1)) != CN_OK) return st;
            return set_runtime(o, out, name, x->ndim, x->dims);
        }
    }
    return emit_binary(o, "PRelu", x, s, NULL, out);
}

/* softmax over ONNX axis `axis` of x (rank >= 1), moving a batch axis out of the way */
static cn_status emit_softmax(ox *o, const char *type, const ox_value *x, int axis, ox_value *out)
{
    char opts[64], name[CN_NAME_MAX];
    cn_status st;
    if (axis != 0) {
        snprintf(opts, sizeof opts, "axis=%d", axis);
        if ((st = add_layer(o, type, NULL, x->layer, opts, name)) != CN_OK) return st;
        return set_runtime(o, out, name, x->ndim, x->dims);
    }
    ox_value t1 = tmp_value(out->name), t2 = tmp_value(out->name), t3 = tmp_value(out->name);
    if ((st = emit_swap01(o, x, "_t", &t1)) != CN_OK) return st;
    if ((st = add_layer(o, type, NULL, t1.layer, "axis=1", name)) != CN_OK) return st;
    if ((st = set_runtime(o, &t2, name, t1.ndim, t1.dims)) != CN_OK) return st;
    if ((st = emit_swap01(o, &t2, "_tb", &t3)) != CN_OK) return st;
    return relabel(o, out, &t3, x->ndim, x->dims);
}

static cn_status op_softmax(ox *o)
{
    const char *type = !strcmp(o->node->op_type, "Softmax") ? "softmax" : "log_softmax";
    ox_value *x, *out;
    cn_status st = need_runtime(o, 0, &x);
    if (st != CN_OK || (st = out_value(o, 0, &out)) != CN_OK) return st;
    int64_t axis64;
    if ((st = attr_i(o, "axis", o->opset >= 13 ? -1 : 1, &axis64)) != CN_OK) return st;
    int axis;
    if ((st = norm_axis(o, axis64, x->ndim, "axis", &axis)) != CN_OK) return st;
    if (o->opset >= 13 || axis == x->ndim - 1) return emit_softmax(o, type, x, axis, out);
    /* opset < 13: the input is coerced to 2-D at `axis` and normalised over everything after it */
    int64_t d2[2] = {numel_of(axis, x->dims), numel_of(x->ndim - axis, x->dims + axis)};
    ox_value a = tmp_value(out->name), b = tmp_value(out->name);
    if ((st = emit_reshape(o, x, 2, d2, "_2d", &a)) != CN_OK) return st;
    if ((st = emit_softmax(o, type, &a, 1, &b)) != CN_OK) return st;
    return emit_reshape(o, &b, x->ndim, x->dims, "_nd", out);
}

/* ---- convolution and pooling ----------------------------------------------------------------------- */

/* auto_pad + pads → a padding option and the geometry's auto_pad code (0 explicit, 1 valid, 2 same_upper, 3 same_lower) */
static cn_status read_pads(ox *o, int nd, int64_t *begin, int64_t *end, int *mode, char *text, size_t cap)
{
    char ap[32];
    int64_t pads[2 * 3];
    int n;
    cn_status st = attr_s(o, "auto_pad", "NOTSET", ap, sizeof ap);
    if (st != CN_OK || (st = attr_ints(o, "pads", pads, 2 * 3, &n)) != CN_OK) return st;
    for (int i = 0; i < nd; i++) begin[i] = end[i] = 0;
    if (!strcmp(ap, "SAME_UPPER")) *mode = 2, snprintf(text, cap, "same");
    else if (!strcmp(ap, "SAME_LOWER")) *mode = 3, snprintf(text, cap, "same_lower");
    else if (!strcmp(ap, "VALID")) *mode = 1, snprintf(text, cap, "valid");
    else if (!strcmp(ap, "NOTSET") || !ap[0]) {
        *mode = 0;
        if (n >= 0 && n != 2 * nd) return ox_err(o, CN_STATUS_FORMAT, "pads has %d values for %d spatial axes (want %d)", n, nd, 2 * nd);
        for (int i = 0; i < nd && n > 0; i++) {
            begin[i] = pads[i], end[i] = pads[nd + i];
            if (begin[i] < 0 || end[i] < 0) return ox_err(o, CN_STATUS_UNSUPPORTED, "negative pads");
        }
        int64_t all[6];
        for (int i = 0; i < nd; i++) all[i] = begin[i], all[nd + i] = end[i];
        dims_text(all, 2 * nd, ',', text, cap);
    } else
        return ox_err(o, CN_STATUS_FORMAT, "auto_pad '%s' is not NOTSET, SAME_UPPER, SAME_LOWER or VALID", ap);
    return CN_OK;
}

/* a per-axis INTS attribute with nd values, default dflt */
static cn_status axis_ints(ox *o, const char *name, int nd, int64_t dflt, int64_t *v)
{
    int n;
    int64_t tmp[8];
    cn_status st = attr_ints(o, name, tmp, 8, &n);
    if (st != CN_OK) return st;
    if (n >= 0 && n != nd) return ox_err(o, CN_STATUS_FORMAT, "%s has %d values for %d spatial axes", name, n, nd);
    for (int i = 0; i < nd; i++) v[i] = n > 0 ? tmp[i] : dflt;
    return CN_OK;
}

static cn_status op_conv(ox *o)
{
    int transposed = !strcmp(o->node->op_type, "ConvTranspose");
    ox_value *x, *w, *b = NULL, *out;
    cn_status st = need_runtime(o, 0, &x);
    if (st != CN_OK || (st = need_const(o, 1, "weights", &w)) != CN_OK) return st;
    if (has_input(o, 2) && (st = need_const(o, 2, "bias", &b)) != CN_OK) return st;
    if ((st = out_value(o, 0, &out)) != CN_OK) return st;
    int nd = w->ndim - 2;
    if (nd < 1 || nd > 3 || x->ndim != w->ndim)
        return ox_err(o, CN_STATUS_UNSUPPORTED, "input '%s' has rank %d and weights '%s' rank %d; convnet convolves 1D/2D/3D (rank 3 to 5)",
                      x->name, x->ndim, w->name, w->ndim);
    int64_t group, k[3], stride[3], dil[3], opad[3] = {0}, oshape[3] = {0};
    int mode;
    char padtext[96];
    cn_conv_geom g;
    cn_conv_geom_init(&g, nd);
    if ((st = attr_i(o, "group", 1, &group)) != CN_OK || (st = axis_ints(o, "strides", nd, 1, stride)) != CN_OK ||
        (st = axis_ints(o, "dilations", nd, 1, dil)) != CN_OK || (st = axis_ints(o, "kernel_shape", nd, 0, k)) != CN_OK ||
        (st = read_pads(o, nd, g.pad_begin, g.pad_end, &mode, padtext, sizeof padtext)) != CN_OK)
        return st;
    if (transposed) {
        int n;
        int64_t tmp[8];
        if ((st = axis_ints(o, "output_padding", nd, 0, opad)) != CN_OK) return st;
        if ((st = attr_ints(o, "output_shape", tmp, 8, &n)) != CN_OK) return st;
        if (n > 0) {
            if (n != nd && n != nd + 2) return ox_err(o, CN_STATUS_FORMAT, "output_shape has %d values for %d spatial axes", n, nd);
            for (int i = 0; i < nd; i++) oshape[i] = tmp[n - nd + i];
        }
    }
    if (group < 1) return ox_err(o, CN_STATUS_FORMAT, "group = %lld", (long long)group);
    for (int i = 0; i < nd; i++)
        if (k[i] && k[i] != w->dims[2 + i])
            return ox_err(o, CN_STATUS_FORMAT, "kernel_shape %lld on axis %d differs from the weights' %lld", (long long)k[i], i,
                          (long long)w->dims[2 + i]);
    g.n = x->dims[0];
    g.ic = x->dims[1];
    g.oc = transposed ? w->dims[1] * group : w->dims[0];
    if ((transposed ? w->dims[0] : w->dims[1] * group) != g.ic)
        return ox_err(o, CN_STATUS_FORMAT, "input '%s' has %lld channels; weights '%s' expect %lld (group %lld)", x->name,
                      (long long)x->dims[1], w->name, (long long)(transposed ? w->dims[0] : w->dims[1] * group), (long long)group);
    g.groups = group;
    g.transposed = transposed;
    g.auto_pad = (cn_auto_pad)mode;
    for (int i = 0; i < nd; i++) {
        g.in[i] = x->dims[2 + i];
        g.k[i] = w->dims[2 + i];
        g.stride[i] = stride[i];
        g.dilation[i] = dil[i];
        g.output_padding[i] = opad[i];
        g.output_shape[i] = oshape[i];
    }
    char label[2 * CN_NAME_MAX], name[CN_NAME_MAX];
    snprintf(label, sizeof label, "%s", node_base(o));
    if ((st = cn_conv_geom_resolve(&g, label)) != CN_OK) return ox_wrap(o, st);
    if (b && b->t.numel != g.oc) return ox_err(o, CN_STATUS_FORMAT, "bias '%s' has %lld values for %lld output channels", b->name, (long long)b->t.numel, (long long)g.oc);
    char ks[64], ss[64], ds[64], ops[64], oss[64], opts[512];
    dims_text(g.k, nd, 'x', ks, sizeof ks);
    dims_text(g.stride, nd, 'x', ss, sizeof ss);
    dims_text(g.dilation, nd, 'x', ds, sizeof ds);
    dims_text(opad, nd, 'x', ops, sizeof ops);
    dims_text(oshape, nd, 'x', oss, sizeof oss);
    int n = snprintf(opts, sizeof opts, "filters=%lld kernel=%s stride=%s dilation=%s groups=%lld padding=%s bias=%s", (long long)g.oc, ks, ss,
                     ds, (long long)group, padtext, b ? "true" : "false");
    if (transposed) snprintf(opts + n, sizeof opts - (size_t)n, " output_padding=%s output_shape=%s", ops, oss);
    if ((st = add_layer(o, transposed ? "conv_transpose" : "conv", NULL, x->layer, opts, name)) != CN_OK) return st;
    if ((st = stage_param(o, name, "weight", w->t.f, w->t.numel, 1)) != CN_OK) return st;
    if (b && (st = stage_param(o, name, "bias", b->t.f, b->t.numel, 1)) != CN_OK) return st;
    int64_t dims[5] = {g.n, g.oc};
    for (int i = 0; i < nd; i++) dims[2 + i] = g.out[i];
    return set_runtime(o, out, name, nd + 2, dims);
}

static cn_status op_pool(ox *o)
{
    const char *op = o->node->op_type;
    int is_max = !strcmp(op, "MaxPool"), is_lp = !strcmp(op, "LpPool");
    ox_value *x, *out;
    cn_status st = need_runtime(o, 0, &x);
    if (st != CN_OK || (st = out_value(o, 0, &out)) != CN_OK) return st;
    int nd = x->ndim - 2;
    if (nd < 1 || nd > 3) return ox_err(o, CN_STATUS_UNSUPPORTED, "input '%s' has rank %d; convnet pools 1D/2D/3D (rank 3 to 5)", x->name, x->ndim);
    cn_pool_geom g;
    cn_pool_geom_init(&g, nd);
    int64_t k[3], stride[3], dil[3], ceil_mode, cip, storage, p;
    int mode;
    char padtext[96];
    if ((st = axis_ints(o, "kernel_shape", nd, 0, k)) != CN_OK || (st = axis_ints(o, "strides", nd, 1, stride)) != CN_OK ||
        (st = axis_ints(o, "dilations", nd, 1, dil)) != CN_OK || (st = attr_i(o, "ceil_mode", 0, &ceil_mode)) != CN_OK ||
        (st = attr_i(o, "count_include_pad", 0, &cip)) != CN_OK || (st = attr_i(o, "storage_order", 0, &storage)) != CN_OK ||
        (st = attr_i(o, "p", 2, &p)) != CN_OK || (st = read_pads(o, nd, g.pad_begin, g.pad_end, &mode, padtext, sizeof padtext)) != CN_OK)
        return st;
    for (int i = 0; i < nd; i++)
        if (k[i] < 1) return ox_err(o, CN_STATUS_FORMAT, "kernel_shape is missing or has %lld on axis %d", (long long)k[i], i);
    if (!is_max)
        for (int i = 0; i < nd; i++)
            if (dil[i] != 1) return ox_err(o, CN_STATUS_UNSUPPORTED, "dilations on %s", op);
    g.n = x->dims[0];
    g.c = x->dims[1];
    g.auto_pad = (cn_pool_auto_pad)mode;
    for (int i = 0; i < nd; i++) {
        g.in[i] = x->dims[2 + i];
        g.k[i] = k[i];
        g.stride[i] = stride[i];
        g.dilation[i] = dil[i];
    }
    g.ceil_mode = (int)ceil_mode;
    g.count_include_pad = (int)cip;
    g.p = is_lp ? (double)p : 2;
    char label[2 * CN_NAME_MAX], name[CN_NAME_MAX], opts[512];
    snprintf(label, sizeof label, "%s", node_base(o));
    if ((st = cn_pool_geom_resolve(&g, label)) != CN_OK) return ox_wrap(o, st);
    char ks[64], ss[64], ds[64];
    dims_text(k, nd, 'x', ks, sizeof ks);
    dims_text(stride, nd, 'x', ss, sizeof ss);
    dims_text(dil, nd, 'x', ds, sizeof ds);
    int want_idx = is_max && has_output(o, 1);
    if (is_max)
        snprintf(opts, sizeof opts, "kernel=%s stride=%s padding=%s dilation=%s ceil_mode=%s%s", ks, ss, padtext, ds, ceil_mode ? "true" : "false",
                 want_idx ? " keep_indices=true" : "");
    else if (is_lp)
        snprintf(opts, sizeof opts, "kernel=%s stride=%s padding=%s ceil_mode=%s p=%lld", ks, ss, padtext, ceil_mode ? "true" : "false", (long long)p);
    else
        snprintf(opts, sizeof opts, "kernel=%s stride=%s padding=%s ceil_mode=%s count_include_pad=%s", ks, ss, padtext,
                 ceil_mode ? "true" : "false", cip ? "true" : "false");
    if ((st = add_layer(o, is_max ? "max_pool" : is_lp ? "lp_pool" : "avg_pool", NULL, x->layer, opts, name)) != CN_OK) return st;
    int64_t dims[5] = {g.n, g.c};
    for (int i = 0; i < nd; i++) dims[2 + i] = g.out[i];
    if ((st = set_runtime(o, out, name, nd + 2, dims)) != CN_OK) return st;
    if (want_idx) {
        ox_value *idx;
        char iname[CN_NAME_MAX];
        if (storage != 0 && storage != 1) return ox_err(o, CN_STATUS_FORMAT, "storage_order %lld", (long long)storage);
        snprintf(opts, sizeof opts, "storage_order=%lld", (long long)storage);
        if ((st = out_value(o, 1, &idx)) != CN_OK) return st;
        if ((st = add_layer(o, "max_pool_indices", "_indices", name, opts, iname)) != CN_OK) return st;
        if ((st = set_runtime(o, idx, iname, nd + 2, dims)) != CN_OK) return st;
        idx->dtype = CN_ONNX_INT64;
    }
    return CN_OK;
}

static cn_status op_global_pool(ox *o)
{
    ox_value *x, *out;
    cn_status st = need_runtime(o, 0, &x);
    if (st != CN_OK || (st = out_value(o, 0, &out)) != CN_OK) return st;
    if (x->ndim < 3 || x->ndim > 5) return ox_err(o, CN_STATUS_UNSUPPORTED, "input '%s' has rank %d; expected 3 to 5", x->name, x->ndim);
    char name[CN_NAME_MAX];
    int is_max = !strcmp(o->node->op_type, "GlobalMaxPool");
    if ((st = add_layer(o, is_max ? "global_max_pool" : "global_avg_pool", NULL, x->layer, NULL, name)) != CN_OK) return st;
    int64_t dims[5];
    for (int i = 0; i < x->ndim; i++) dims[i] = i < 2 ? x->dims[i] : 1;
    return set_runtime(o, out, name, x->ndim, dims);
}

static cn_status op_maxunpool(ox *o)
{
    ox_value *x, *idx, *os = NULL, *out;
    cn_status st = need_runtime(o, 0, &x);
    if (st != CN_OK || (st = in_value(o, 1, &idx)) != CN_OK) return st;
    if (idx->kind != V_RUNTIME) return ox_err(o, CN_STATUS_UNSUPPORTED, "indices '%s' are a constant; convnet takes them from a MaxPool or an input", idx->name);
    if (has_input(o, 2) && (st = need_const(o, 2, "output_shape", &os)) != CN_OK) return st;
    if ((st = out_value(o, 0, &out)) != CN_OK) return st;
    int nd = x->ndim - 2;
    if (nd < 1 || nd > 3) return ox_err(o, CN_STATUS_UNSUPPORTED, "input rank %d", x->ndim);
    int64_t k[3], stride[3], b[3], e[3], oshape[3] = {0};
    int mode;
    char padtext[96];
    if ((st = axis_ints(o, "kernel_shape", nd, 0, k)) != CN_OK || (st = axis_ints(o, "strides", nd, 1, stride)) != CN_OK ||
        (st = read_pads(o, nd, b, e, &mode, padtext, sizeof padtext)) != CN_OK)
        return st;
    if (mode) return ox_err(o, CN_STATUS_FORMAT, "auto_pad on MaxUnpool");
    if (os) {
        int64_t v[8];
        int n;
        if ((st = const_ints(o, os, v, 8, &n, "output_shape")) != CN_OK) return st;
        if (n != nd + 2) return ox_err(o, CN_STATUS_FORMAT, "output_shape has %d values for rank %d", n, x->ndim);
        for (int i = 0; i < nd; i++) oshape[i] = v[2 + i];
    }
    cn_pool_geom g;
    cn_pool_geom_init(&g, nd);
    g.n = x->dims[0], g.c = x->dims[1];
    for (int i = 0; i < nd; i++) {
        g.in[i] = x->dims[2 + i], g.k[i] = k[i], g.stride[i] = stride[i], g.pad_begin[i] = b[i], g.pad_end[i] = e[i];
        g.output_shape[i] = oshape[i];
    }
    char label[2 * CN_NAME_MAX], name[CN_NAME_MAX], ks[64], ss[64], os_text[64], opts[400], ins[2 * CN_NAME_MAX + 2];
    snprintf(label, sizeof label, "%s", node_base(o));
    if ((st = cn_unpool_geom_resolve(&g, label)) != CN_OK) return ox_wrap(o, st);
    dims_text(k, nd, 'x', ks, sizeof ks);
    dims_text(stride, nd, 'x', ss, sizeof ss);
    dims_text(oshape, nd, 'x', os_text, sizeof os_text);
    snprintf(opts, sizeof opts, "kernel=%s stride=%s padding=%s output_shape=%s", ks, ss, padtext, os_text);
    snprintf(ins, sizeof ins, "%s,%s", x->layer, idx->layer);
    if ((st = add_layer(o, "max_unpool_flat", NULL, ins, opts, name)) != CN_OK) return st;
    int64_t dims[5] = {g.n, g.c};
    for (int i = 0; i < nd; i++) dims[2 + i] = g.out[i];
    return set_runtime(o, out, name, nd + 2, dims);
}

/* ---- normalisation ---------------------------------------------------------------------------------- */

static cn_status op_norm(ox *o)
{
    int bn = !strcmp(o->node->op_type, "BatchNormalization");
    ox_value *x, *p[4], *out;
    cn_status st = need_runtime(o, 0, &x);
    if (st != CN_OK) return st;
    static const char *const what[4] = {"scale", "bias", "mean", "variance"};
    for (int k = 0; k < (bn ? 4 : 2); k++)
        if ((st = need_const(o, 1 + k, what[k], &p[k])) != CN_OK) return st;
    if ((st = out_value(o, 0, &out)) != CN_OK) return st;
    if (x->ndim < 2) return ox_err(o, CN_STATUS_UNSUPPORTED, "input '%s' has no channel axis", x->name);
    int64_t C = x->dims[1];
    for (int k = 0; k < (bn ? 4 : 2); k++)
        if (p[k]->t.numel != C)
            return ox_err(o, CN_STATUS_FORMAT, "%s '%s' has %lld values for %lld channels", what[k], p[k]->name, (long long)p[k]->t.numel, (long long)C);
    double eps, momentum;
    int64_t training = 0, spatial = 1;
    if ((st = attr_f(o, "epsilon", 1e-5, &eps)) != CN_OK || (st = attr_f(o, "momentum", 0.9, &momentum)) != CN_OK ||
        (st = attr_i(o, "training_mode", 0, &training)) != CN_OK || (st = attr_i(o, "spatial", 1, &spatial)) != CN_OK)
        return st;
    if (!(eps > 0)) return ox_err(o, CN_STATUS_UNSUPPORTED, "epsilon %g; convnet needs eps > 0", eps);
    if (bn && (training || has_output(o, 1) || has_output(o, 2)))
        return ox_err(o, CN_STATUS_UNSUPPORTED, "training_mode = 1 (batch statistics and running-statistics outputs); convnet "
                                                "imports BatchNormalization for inference (its training happens in a training forward)");
    if (bn && !spatial) return ox_err(o, CN_STATUS_UNSUPPORTED, "spatial = 0 (per-element statistics)");
    char opts[160], name[CN_NAME_MAX];
    if (bn) snprintf(opts, sizeof opts, "eps=%.9g momentum=%.9g", eps, momentum >= 0 && momentum <= 1 ? 1 - momentum : 0.1);
    else snprintf(opts, sizeof opts, "eps=%.9g", eps);
    if ((st = add_layer(o, bn ? "batch_norm" : "instance_norm", NULL, x->layer, opts, name)) != CN_OK) return st;
    static const char *const pnames[4] = {"weight", "bias", "running_mean", "running_var"};
    for (int k = 0; k < (bn ? 4 : 2); k++)
        if ((st = stage_param(o, name, pnames[k], p[k]->t.f, C, 1)) != CN_OK) return st;
    return set_runtime(o, out, name, x->ndim, x->dims);
}

static cn_status op_lrn(ox *o)
{
    ox_value *x, *out;
    cn_status st = need_runtime(o, 0, &x);
    if (st != CN_OK || (st = out_value(o, 0, &out)) != CN_OK) return st;
    double alpha, beta, bias;
    int64_t size;
    if ((st = attr_f(o, "alpha", 1e-4, &alpha)) != CN_OK || (st = attr_f(o, "beta", 0.75, &beta)) != CN_OK ||
        (st = attr_f(o, "bias", 1.0, &bias)) != CN_OK || (st = attr_i(o, "size", 0, &size)) != CN_OK)
        return st;
    if (size < 1) return ox_err(o, CN_STATUS_FORMAT, "size %lld (required, >= 1)", (long long)size);
    char opts[160], name[CN_NAME_MAX];
    snprintf(opts, sizeof opts, "size=%lld alpha=%.9g beta=%.9g bias=%.9g", (long long)size, alpha, beta, bias);
    if ((st = add_layer(o, "lrn", NULL, x->layer, opts, name)) != CN_OK) return st;
    return set_runtime(o, out, name, x->ndim, x->dims);
}

/* ---- dense algebra --------------------------------------------------------------------------------- */

static cn_status op_gemm(ox *o)
{
    ox_value *a, *b, *c = NULL, *out;
    cn_status st = need_runtime(o, 0, &a);
    if (st != CN_OK || (st = need_const(o, 1, "B", &b)) != CN_OK) return st;
    if (has_input(o, 2) && (st = need_const(o, 2, "C", &c)) != CN_OK) return st;
    if ((st = out_value(o, 0, &out)) != CN_OK) return st;
    double alpha, beta;
    int64_t ta, tb;
    if ((st = attr_f(o, "alpha", 1, &alpha)) != CN_OK || (st = attr_f(o, "beta", 1, &beta)) != CN_OK ||
        (st = attr_i(o, "transA", 0, &ta)) != CN_OK || (st = attr_i(o, "transB", 0, &tb)) != CN_OK)
        return st;
    if (a->ndim != 2 || b->ndim != 2) return ox_err(o, CN_STATUS_FORMAT, "A '%s' and B '%s' must be matrices", a->name, b->name);
    ox_value at = tmp_value(out->name);
    if (ta) {
        int perm[2] = {1, 0};
        if ((st = emit_transpose(o, a, perm, "_tA", &at)) != CN_OK) return st;
    } else at = *a;
    int64_t M = at.dims[0], K = at.dims[1], N = tb ? b->dims[0] : b->dims[1];
    if ((tb ? b->dims[1] : b->dims[0]) != K)
        return ox_err(o, CN_STATUS_FORMAT, "A has %lld columns, B '%s' (%lldx%lld, transB %lld) does not match", (long long)K, b->name,
                      (long long)b->dims[0], (long long)b->dims[1], (long long)tb);
    /* dense weight (N, K) = alpha * (transB ? B : B^T) */
    float *w = cn_malloc((size_t)(N * K) * sizeof(float), "Gemm weight");
    if (!w) return CN_STATUS_NOMEM;
    for (int64_t i = 0; i < N; i++)
        for (int64_t j = 0; j < K; j++) w[i * K + j] = (float)(alpha * (tb ? b->t.f[i * K + j] : b->t.f[j * N + i]));
    /* C: a bias row (N values, or one) folds into the dense bias; a full matrix is added after */
    int row_bias = c && ((c->t.numel == N && (c->ndim == 1 || (c->ndim == 2 && c->dims[0] == 1))) || c->t.numel == 1);
    int matrix_bias = c && !row_bias;
    if (matrix_bias && !(c->ndim == 2 && c->dims[1] == N && (c->dims[0] == M || c->dims[0] == 1)) && !(c->ndim == 1 && c->dims[0] == N)) {
        cn_free(w);
        return ox_err(o, CN_STATUS_FORMAT, "C '%s' does not broadcast to %lldx%lld", c->name, (long long)M, (long long)N);
    }
    char opts[96], name[CN_NAME_MAX];
    snprintf(opts, sizeof opts, "units=%lld bias=%s", (long long)N, row_bias ? "true" : "false");
    st = add_layer(o, "dense", NULL, at.layer, opts, name);
    if (st == CN_OK) st = stage_param(o, name, "weight", w, N * K, 1);
    cn_free(w);
    if (st != CN_OK) return st;
    if (row_bias) {
        if (c->t.numel == 1) st = stage_param(o, name, "bias", NULL, N, (float)(beta * c->t.f[0]));
        else st = stage_param(o, name, "bias", c->t.f, N, (float)beta);
        if (st != CN_OK) return st;
    }
    int64_t dims[2] = {M, N};
    if (!matrix_bias) return set_runtime(o, out, name, 2, dims);
    ox_value y = tmp_value(out->name), cb = tmp_value(c->name);
    if ((st = set_runtime(o, &y, name, 2, dims)) != CN_OK) return st;
    if ((st = const_copy(o, &cb, &c->t)) != CN_OK) return st;
    for (int64_t k = 0; k < cb.t.numel; k++) cb.t.f[k] *= (float)beta;
    st = emit_binary(o, "Add", &y, &cb, "_c", out);
    ot_free(&cb.t);
    return st;
}

static cn_status op_matmul(ox *o)
{
    ox_value *a, *b, *out;
    cn_status st = in_value(o, 0, &a);
    if (st != CN_OK || (st = in_value(o, 1, &b)) != CN_OK || (st = out_value(o, 0, &out)) != CN_OK) return st;
    if (a->kind != V_RUNTIME) return ox_err(o, CN_STATUS_UNSUPPORTED, "A '%s' is a constant and B computed at run time", a->name);
    if (a->ndim < 2) return ox_err(o, CN_STATUS_UNSUPPORTED, "A '%s' is a vector; convnet multiplies matrices (rank >= 2)", a->name);
    char opts[160], name[CN_NAME_MAX];
    int64_t dims[CN_ONNX_MAX_DIMS];
    if (b->kind == V_RUNTIME) {
        if (b->ndim < 2) return ox_err(o, CN_STATUS_UNSUPPORTED, "B '%s' is a vector", b->name);
        ox_value la = tmp_value("a"), lb = tmp_value("b");
        int lead = (a->ndim > b->ndim ? a->ndim : b->ndim) - 2;
        la.ndim = a->ndim - 2, lb.ndim = b->ndim - 2;
        memcpy(la.dims, a->dims, sizeof la.dims);
        memcpy(lb.dims, b->dims, sizeof lb.dims);
        int R;
        if ((st = onnx_bcast(o, &la, &lb, &R, dims)) != CN_OK) return st;
        if (a->dims[a->ndim - 1] != b->dims[b->ndim - 2]) return ox_err(o, CN_STATUS_FORMAT, "inner dimensions differ");
        dims[lead] = a->dims[a->ndim - 2], dims[lead + 1] = b->dims[b->ndim - 1];
        char ins[2 * CN_NAME_MAX + 2];
        snprintf(ins, sizeof ins, "%s,%s", a->layer, b->layer);
        if ((st = add_layer(o, "matmul", NULL, ins, NULL, name)) != CN_OK) return st;
        return set_runtime(o, out, name, lead + 2, dims);
    }
    int64_t K = a->dims[a->ndim - 1];
    int bvec = b->ndim == 1;
    int64_t bd[CN_ONNX_MAX_DIMS];
    int br = b->ndim;
    memcpy(bd, b->dims, sizeof bd);
    if (bvec) bd[1] = 1, br = 2;
    if (br < 2 || br > CN_MAX_DIMS) return ox_err(o, CN_STATUS_UNSUPPORTED, "B '%s' has rank %d", b->name, b->ndim);
    if (bd[br - 2] != K) return ox_err(o, CN_STATUS_FORMAT, "A '%s' has %lld columns, B '%s' %lld rows", a->name, (long long)K, b->name, (long long)bd[br - 2]);
    int64_t N = bd[br - 1];
    if (a->ndim == 2 && br == 2 && !bvec) { /* a plain linear layer */
        float *w = cn_malloc((size_t)(N * K) * sizeof(float), "MatMul weight");
        if (!w) return CN_STATUS_NOMEM;
        for (int64_t i = 0; i < N; i++)
            for (int64_t j = 0; j < K; j++) w[i * K + j] = b->t.f[j * N + i];
        snprintf(opts, sizeof opts, "units=%lld bias=false", (long long)N);
        st = add_layer(o, "dense", NULL, a->layer, opts, name);
        if (st == CN_OK) st = stage_param(o, name, "weight", w, N * K, 1);
        cn_free(w);
        if (st != CN_OK) return st;
        dims[0] = a->dims[0], dims[1] = N;
        return set_runtime(o, out, name, 2, dims);
    }
    ox_value la = tmp_value("a"), lb = tmp_value("b");
    la.ndim = a->ndim - 2, lb.ndim = br - 2;
    memcpy(la.dims, a->dims, sizeof la.dims);
    memcpy(lb.dims, bd, sizeof lb.dims);
    int R;
    if ((st = onnx_bcast(o, &la, &lb, &R, dims)) != CN_OK) return st;
    dims[R] = a->dims[a->ndim - 2], dims[R + 1] = N;
    char ws[96];
    dims_text(bd, br, 'x', ws, sizeof ws);
    snprintf(opts, sizeof opts, "weight_shape=%s", ws);
    if ((st = add_layer(o, "matmul", NULL, a->layer, opts, name)) != CN_OK) return st;
    if ((st = stage_param(o, name, "weight", b->t.f, b->t.numel, 1)) != CN_OK) return st;
    if (!bvec) return set_runtime(o, out, name, R + 2, dims);
    ox_value y = tmp_value(out->name);
    if ((st = set_runtime(o, &y, name, R + 2, dims)) != CN_OK) return st;
    return emit_reshape(o, &y, R + 1, dims, "_vec", out); /* drop the trailing 1 of B's vector */
}

/* ---- layout ----------------------------------------------------------------------------------------- */

static cn_status op_concat(ox *o)
{
    int n = n_inputs(o);
    ox_value *in[CN_MAX_INPUTS], *out;
    cn_status st;
    if (n < 1) return ox_err(o, CN_STATUS_FORMAT, "no inputs");
    if (n > CN_MAX_INPUTS) return ox_err(o, CN_STATUS_UNSUPPORTED, "%d inputs; convnet's concat takes up to %d", n, CN_MAX_INPUTS);
    for (int k = 0; k < n; k++) {
        if ((st = in_value(o, k, &in[k])) != CN_OK) return st;
        if (in[k]->kind != V_RUNTIME)
            return ox_err(o, CN_STATUS_UNSUPPORTED, "input %d '%s' is a constant joined to run-time tensors", k, in[k]->name);
    }
    if ((st = out_value(o, 0, &out)) != CN_OK) return st;
    int64_t axis64;
    int axis, R = in[0]->ndim;
    if ((st = attr_i(o, "axis", o->opset < 4 ? 1 : 0, &axis64)) != CN_OK || (st = norm_axis(o, axis64, R, "axis", &axis)) != CN_OK) return st;
    int64_t dims[CN_ONNX_MAX_DIMS];
    memcpy(dims, in[0]->dims, sizeof dims);
    dims[axis] = 0;
    for (int k = 0; k < n; k++) {
        if (in[k]->ndim != R) return ox_err(o, CN_STATUS_FORMAT, "inputs differ in rank");
        for (int d = 0; d < R; d++)
            if (d != axis && in[k]->dims[d] != in[0]->dims[d]) return ox_err(o, CN_STATUS_FORMAT, "inputs differ on axis %d", d);
        dims[axis] += in[k]->dims[axis];
    }
    if (n == 1) return alias(o, out, in[0]);
    char ins[CN_MAX_INPUTS * (CN_NAME_MAX + 1)], opts[32], name[CN_NAME_MAX];
    size_t u = 0;
    if (axis != 0) {
        for (int k = 0; k < n; k++) u += (size_t)snprintf(ins + u, sizeof ins - u, "%s%s", k ? "," : "", in[k]->layer);
        snprintf(opts, sizeof opts, "axis=%d", axis);
        if ((st = add_layer(o, "concat", NULL, ins, opts, name)) != CN_OK) return st;
        return set_runtime(o, out, name, R, dims);
    }
    /* along the batch axis: swap it with axis 1, join there, swap back */
    ox_value t[CN_MAX_INPUTS], cat = tmp_value(out->name), back = tmp_value(out->name);
    for (int k = 0; k < n; k++) {
        char sfx[16];
        snprintf(sfx, sizeof sfx, "_t%d", k);
        t[k] = tmp_value(out->name);
        if ((st = emit_swap01(o, in[k], sfx, &t[k])) != CN_OK) return st;
        u += (size_t)snprintf(ins + u, sizeof ins - u, "%s%s", k ? "," : "", t[k].layer);
    }
    if ((st = add_layer(o, "concat", NULL, ins, "axis=1", name)) != CN_OK) return st;
    int64_t cd[CN_MAX_DIMS];
    memcpy(cd, t[0].dims, sizeof cd);
    for (int k = 1; k < n; k++) cd[1] += t[k].dims[1];
    if ((st = set_runtime(o, &cat, name, t[0].ndim, cd)) != CN_OK) return st;
    if ((st = emit_swap01(o, &cat, "_tb", &back)) != CN_OK) return st;
    return relabel(o, out, &back, R, dims);
}

static cn_status op_transpose(ox *o)
{
    ox_value *x, *out;
    cn_status st = need_runtime(o, 0, &x);
    if (st != CN_OK || (st = out_value(o, 0, &out)) != CN_OK) return st;
    int64_t p[8];
    int n, perm[CN_MAX_DIMS], seen[CN_MAX_DIMS] = {0};
    if ((st = attr_ints(o, "perm", p, 8, &n)) != CN_OK) return st;
    if (n >= 0 && n != x->ndim) return ox_err(o, CN_STATUS_FORMAT, "perm has %d entries for rank %d", n, x->ndim);
    for (int i = 0; i < x->ndim; i++) {
        int64_t a = n >= 0 ? p[i] : x->ndim - 1 - i;
        if (a < 0) a += x->ndim;
        if (a < 0 || a >= x->ndim || seen[a]) return ox_err(o, CN_STATUS_FORMAT, "perm is not a permutation");
        seen[a] = 1;
        perm[i] = (int)a;
    }
    if (x->ndim == 1) return alias(o, out, x);
    return emit_transpose(o, x, perm, NULL, out);
}

static cn_status op_pad(ox *o)
{
    ox_value *x, *out, *c;
    cn_status st = need_runtime(o, 0, &x);
    if (st != CN_OK || (st = out_value(o, 0, &out)) != CN_OK) return st;
    char mode[32];
    int64_t pads[16];
    int n;
    double value = 0;
    if ((st = attr_s(o, "mode", "constant", mode, sizeof mode)) != CN_OK) return st;
    if (o->opset < 11) {
        if ((st = attr_ints(o, o->opset < 2 ? "paddings" : "pads", pads, 16, &n)) != CN_OK || (st = attr_f(o, "value", 0, &value)) != CN_OK)
            return st;
        if (n < 0) return ox_err(o, CN_STATUS_FORMAT, "needs attribute 'pads'");
    } else {
        if ((st = need_const(o, 1, "pads", &c)) != CN_OK || (st = const_ints(o, c, pads, 16, &n, "pads")) != CN_OK) return st;
        if (has_input(o, 2)) {
            if ((st = need_const(o, 2, "constant_value", &c)) != CN_OK) return st;
            if (c->t.numel > 1) return ox_err(o, CN_STATUS_FORMAT, "constant_value must be a scalar");
            if (c->t.numel) value = cval(&c->t, 0);
        }
        if (has_input(o, 3)) return ox_err(o, CN_STATUS_UNSUPPORTED, "the 'axes' input (opset 18)");
    }
    int R = x->ndim;
    if (n != 2 * R) return ox_err(o, CN_STATUS_FORMAT, "pads has %d values for rank %d (want %d)", n, R, 2 * R);
    for (int i = 0; i < 2 * R; i++) {
        if (pads[i] < 0) return ox_err(o, CN_STATUS_UNSUPPORTED, "negative pads (cropping)");
        if (pads[i] > INT32_MAX) return ox_err(o, CN_STATUS_LIMIT, "pads value %lld is too large", (long long)pads[i]);
    }
    if (pads[0] || pads[R] || (R > 1 && (pads[1] || pads[R + 1])))
        return ox_err(o, CN_STATUS_UNSUPPORTED, "padding of the batch or channel axis; convnet pads spatial axes");
    int nd = R - 2;
    if (nd < 1 || nd > 3) return ox_err(o, CN_STATUS_UNSUPPORTED, "input rank %d; convnet pads 1D/2D/3D (rank 3 to 5)", R);
    const char *m = !strcmp(mode, "constant") ? "constant" : !strcmp(mode, "reflect") ? "reflect" : !strcmp(mode, "edge") ? "replicate" : NULL;
    if (!m) return ox_err(o, CN_STATUS_UNSUPPORTED, "mode '%s'", mode);
    int64_t sp[6], dims[5];
    for (int i = 0; i < nd; i++) sp[i] = pads[2 + i], sp[nd + i] = pads[R + 2 + i];
    for (int i = 0; i < R; i++)
        if (__builtin_add_overflow(x->dims[i], pads[i] + pads[R + i], &dims[i]))
            return ox_err(o, CN_STATUS_LIMIT, "padded dimension %d overflows", i);
    int zero = 1;
    for (int i = 0; i < 2 * nd; i++) zero &= sp[i] == 0;
    if (zero) return alias(o, out, x);
    char ps[96], opts[196], name[CN_NAME_MAX];
    dims_text(sp, 2 * nd, ',', ps, sizeof ps);
    snprintf(opts, sizeof opts, "padding=%s mode=%s value=%.9g", ps, m, value);
    if ((st = add_layer(o, "pad", NULL, x->layer, opts, name)) != CN_OK) return st;
    return set_runtime(o, out, name, R, dims);
}

static cn_status op_resize(ox *o)
{
    int upsample = !strcmp(o->node->op_type, "Upsample");
    ox_value *x, *out, *c;
    cn_status st = need_runtime(o, 0, &x);
    if (st != CN_OK || (st = out_value(o, 0, &out)) != CN_OK) return st;
    int R = x->ndim, nd = R - 2;
    if (nd < 1 || nd > 3) return ox_err(o, CN_STATUS_UNSUPPORTED, "input rank %d; convnet resizes 1D/2D/3D (rank 3 to 5)", R);
    char mode[32], coord[40], nearest[40];
    if ((st = attr_s(o, "mode", "nearest", mode, sizeof mode)) != CN_OK) return st;
    int old = upsample || o->opset < 11; /* Upsample and Resize-10: asymmetric, floor */
    if ((st = attr_s(o, "coordinate_transformation_mode", old ? "asymmetric" : "half_pixel", coord, sizeof coord)) != CN_OK ||
        (st = attr_s(o, "nearest_mode", old ? "floor" : "round_prefer_floor", nearest, sizeof nearest)) != CN_OK)
        return st;
    int linear = !strcmp(mode, "linear") || !strcmp(mode, "bilinear") || !strcmp(mode, "trilinear");
    if (!linear && strcmp(mode, "nearest"))
        return ox_err(o, CN_STATUS_UNSUPPORTED, "mode '%s'; convnet resizes with nearest and linear", mode);
    /* tf_half_pixel_for_nn maps x to t = (x + 0.5)/scale = h + 0.5 with h the half_pixel coordinate, so
     * round_prefer_floor(t) = ceil(t - 0.5) = ceil(h) and floor(t) = floor(h + 0.5) = round_prefer_ceil(h) */
    if (!strcmp(coord, "tf_half_pixel_for_nn") && !linear && (!strcmp(nearest, "round_prefer_floor") || !strcmp(nearest, "floor"))) {
        snprintf(nearest, sizeof nearest, "%s", !strcmp(nearest, "floor") ? "round_prefer_ceil" : "ceil");
        snprintf(coord, sizeof coord, "half_pixel");
    }
    if (strcmp(coord, "half_pixel") && strcmp(coord, "pytorch_half_pixel") && strcmp(coord, "align_corners") && strcmp(coord, "asymmetric") &&
        strcmp(coord, "half_pixel_symmetric"))
        return ox_err(o, CN_STATUS_UNSUPPORTED, "coordinate_transformation_mode '%s'", coord);
    if (strcmp(nearest, "round_prefer_floor") && strcmp(nearest, "round_prefer_ceil") && strcmp(nearest, "floor") && strcmp(nearest, "ceil"))
        return ox_err(o, CN_STATUS_UNSUPPORTED, "nearest_mode '%s'", nearest);
    int64_t antialias;
    if ((st = attr_i(o, "antialias", 0, &antialias)) != CN_OK) return st;
    if (antialias) return ox_err(o, CN_STATUS_UNSUPPORTED, "antialias");
    double scales[5] = {0};
    int64_t sizes[5] = {0};
    int have_scales = 0, have_sizes = 0;
    if (upsample && o->opset < 9) {
        int n;
        if ((st = attr_floats(o, "scales", scales, 5, &n)) != CN_OK) return st;
        if (n != R) return ox_err(o, CN_STATUS_FORMAT, "scales has %d values for rank %d", n, R);
        have_scales = 1;
    } else {
        int si = upsample || o->opset < 11 ? 1 : 2;
        if (has_input(o, si)) {
            if ((st = need_const(o, si, "scales", &c)) != CN_OK) return st;
            if (c->t.numel) {
                if (c->t.numel != R) return ox_err(o, CN_STATUS_FORMAT, "scales has %lld values for rank %d", (long long)c->t.numel, R);
                for (int i = 0; i < R; i++) scales[i] = c->t.f[i];
                have_scales = 1;
            }
        }
        if (!upsample && o->opset >= 11 && has_input(o, 3)) {
            if ((st = need_const(o, 3, "sizes", &c)) != CN_OK) return st;
            if (c->t.numel) {
                if (c->t.numel != R) return ox_err(o, CN_STATUS_FORMAT, "sizes has %lld values for rank %d", (long long)c->t.numel, R);
                for (int i = 0; i < R; i++) sizes[i] = ival(&c->t, i);
                have_sizes = 1;
            }
        }
    }
    if (have_scales == have_sizes) return ox_err(o, CN_STATUS_FORMAT, "give exactly one of scales and sizes");
    for (int i = 0; i < 2; i++)
        if ((have_scales && scales[i] != 1) || (have_sizes && sizes[i] != x->dims[i]))
            return ox_err(o, CN_STATUS_UNSUPPORTED, "resizing the %s axis", i ? "channel" : "batch");
    cn_upsample_geom g;
    cn_upsample_geom_init(&g, nd);
    g.n = x->dims[0], g.c = x->dims[1];
    g.mode = linear ? CN_RESIZE_LINEAR : CN_RESIZE_NEAREST;
    static const char *const coords[] = {"half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric", "half_pixel_symmetric"};
    static const char *const nearests[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
    for (int i = 0; i < 5; i++)
        if (!strcmp(coord, coords[i])) g.coord = (cn_resize_coord)i;
    for (int i = 0; i < 4; i++)
        if (!strcmp(nearest, nearests[i])) g.nearest = (cn_resize_nearest)i;
    /* align_corners with scales: ONNX maps x to x*(in-1)/(in*scale-1), the UNROUNDED output length
     * (its reference resize), which the kernels' align_corners (x*(in-1)/(out-1)) matches only when
     * in*scale is whole. The same map is asymmetric with scale (in*scale-1)/(in-1) and the size given. */
    int ac_scales = have_scales && g.coord == CN_COORD_ALIGN_CORNERS;
    if (ac_scales) {
        g.coord = CN_COORD_ASYMMETRIC;
        snprintf(coord, sizeof coord, "asymmetric");
        for (int i = 0; i < nd; i++) {
            double L = (double)x->dims[2 + i] * scales[2 + i];
            sizes[2 + i] = (int64_t)floor(L);
            scales[2 + i] = x->dims[2 + i] > 1 && L > 1 ? (L - 1) / (double)(x->dims[2 + i] - 1) : 1;
        }
    }
    char vals[160];
    size_t u = 0;
    if (ac_scales) {
        for (int i = 0; i < nd; i++) u += (size_t)snprintf(vals + u, sizeof vals - u, "%s%lld", i ? "x" : "", (long long)sizes[2 + i]);
        u += (size_t)snprintf(vals + u, sizeof vals - u, " scale=");
    }
    for (int i = 0; i < nd; i++) {
        g.in[i] = x->dims[2 + i];
        if (ac_scales) g.size[i] = sizes[2 + i];
        if (have_scales) {
            if (!(scales[2 + i] > 0)) return ox_err(o, CN_STATUS_FORMAT, "scale %g", scales[2 + i]);
            g.scale[i] = scales[2 + i];
            u += (size_t)snprintf(vals + u, sizeof vals - u, "%s%.9g", i ? "," : "", scales[2 + i]);
        } else {
            g.size[i] = sizes[2 + i];
            u += (size_t)snprintf(vals + u, sizeof vals - u, "%s%lld", i ? "x" : "", (long long)sizes[2 + i]);
        }
    }
    char label[2 * CN_NAME_MAX], name[CN_NAME_MAX], opts[320];
    snprintf(label, sizeof label, "%s", node_base(o));
    if ((st = cn_upsample_geom_resolve(&g, label)) != CN_OK) return ox_wrap(o, st);
    snprintf(opts, sizeof opts, "mode=%s coord=%s nearest=%s %s=%s", linear ? "linear" : "nearest", coord, nearest,
             have_scales && !ac_scales ? "scale" : "size", vals);
    if ((st = add_layer(o, "resize", NULL, x->layer, opts, name)) != CN_OK) return st;
    int64_t dims[5] = {g.n, g.c};
    for (int i = 0; i < nd; i++) dims[2 + i] = g.out[i];
    return set_runtime(o, out, name, R, dims);
}

static cn_status op_depth_space(ox *o)
{
    int d2s = !strcmp(o->node->op_type, "DepthToSpace");
    ox_value *x, *out;
    cn_status st = need_runtime(o, 0, &x);
    if (st != CN_OK || (st = out_value(o, 0, &out)) != CN_OK) return st;
    int64_t bs;
    char mode[16];
    if ((st = attr_i(o, "blocksize", 0, &bs)) != CN_OK || (st = attr_s(o, "mode", "DCR", mode, sizeof mode)) != CN_OK) return st;
    if (bs < 1) return ox_err(o, CN_STATUS_FORMAT, "blocksize %lld", (long long)bs);
    if (x->ndim != 4) return ox_err(o, CN_STATUS_UNSUPPORTED, "input rank %d (NCHW expected)", x->ndim);
    if (strcmp(mode, "DCR") && strcmp(mode, "CRD")) return ox_err(o, CN_STATUS_FORMAT, "mode '%s'", mode);
    int64_t dims[4];
    if (d2s) {
        if (x->dims[1] % (bs * bs)) return ox_err(o, CN_STATUS_FORMAT, "%lld channels are not a multiple of blocksize^2", (long long)x->dims[1]);
        dims[0] = x->dims[0], dims[1] = x->dims[1] / (bs * bs), dims[2] = x->dims[2] * bs, dims[3] = x->dims[3] * bs;
    } else {
        if (x->dims[2] % bs || x->dims[3] % bs) return ox_err(o, CN_STATUS_FORMAT, "spatial size not a multiple of blocksize");
        dims[0] = x->dims[0], dims[1] = x->dims[1] * bs * bs, dims[2] = x->dims[2] / bs, dims[3] = x->dims[3] / bs;
    }
    char opts[64], name[CN_NAME_MAX];
    if (d2s) snprintf(opts, sizeof opts, "block=%lld order=%s", (long long)bs, !strcmp(mode, "DCR") ? "dcr" : "crd");
    else snprintf(opts, sizeof opts, "block=%lld", (long long)bs);
    if ((st = add_layer(o, d2s ? "pixel_shuffle" : "space_to_depth", NULL, x->layer, opts, name)) != CN_OK) return st;
    return set_runtime(o, out, name, 4, dims);
}

static cn_status op_gather(ox *o)
{
    ox_value *x, *q, *out;
    cn_status st = need_runtime(o, 0, &x);
    if (st != CN_OK || (st = need_const(o, 1, "indices", &q)) != CN_OK || (st = out_value(o, 0, &out)) != CN_OK) return st;
    int64_t axis64;
    int axis;
    if ((st = attr_i(o, "axis", 0, &axis64)) != CN_OK || (st = norm_axis(o, axis64, x->ndim, "axis", &axis)) != CN_OK) return st;
    if (q->ndim > CN_MAX_DIMS) return ox_err(o, CN_STATUS_UNSUPPORTED, "indices rank %d", q->ndim);
    int64_t D = x->dims[axis];
    for (int64_t j = 0; j < q->t.numel; j++) {
        int64_t k = ival(&q->t, j);
        if (k < -D || k >= D) return ox_err(o, CN_STATUS_FORMAT, "index %lld is outside axis %d of size %lld", (long long)k, axis, (long long)D);
    }
    int R = x->ndim - 1 + q->ndim;
    if (x->ndim == 1 && q->ndim != 1) return ox_err(o, CN_STATUS_UNSUPPORTED, "gathering a rank-%d result from a vector", R);
    int64_t dims[CN_ONNX_MAX_DIMS];
    int r = 0;
    for (int i = 0; i < axis; i++) dims[r++] = x->dims[i];
    for (int i = 0; i < q->ndim; i++) dims[r++] = q->dims[i];
    for (int i = axis + 1; i < x->ndim; i++) dims[r++] = x->dims[i];
    char qs[96], opts[160], name[CN_NAME_MAX];
    dims_text(q->dims, q->ndim, 'x', qs, sizeof qs);
    if (q->ndim) snprintf(opts, sizeof opts, "axis=%d indices_shape=%s", axis, qs);
    else snprintf(opts, sizeof opts, "axis=%d", axis);
    if ((st = add_layer(o, "gather", NULL, x->layer, opts, name)) != CN_OK) return st;
    if ((st = stage_param(o, name, "indices", q->t.f, q->t.numel, 1)) != CN_OK) return st;
    return set_runtime(o, out, name, R, dims);
}

/* elementwise math on a run-time tensor: the `unary` layer */
static cn_status op_unary(ox *o)
{
    static const char *const names[][2] = {{"Abs", "abs"}, {"Exp", "exp"}, {"Log", "log"}, {"Sqrt", "sqrt"}, {"Erf", "erf"},
                                           {"Neg", "neg"}, {"Reciprocal", "reciprocal"}, {"Floor", "floor"}, {"Ceil", "ceil"},
                                           {"Sign", "sign"}, {"Sin", "sin"}, {"Cos", "cos"}, {"Softsign", "softsign"}};
    ox_value *x, *out;
    cn_status st = need_runtime(o, 0, &x);
    if (st != CN_OK || (st = out_value(o, 0, &out)) != CN_OK) return st;
    const char *kind = NULL;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(names[i][0], o->node->op_type)) kind = names[i][1];
    if (!kind) return ox_err(o, CN_STATUS_INTERNAL, "no unary op for %s", o->node->op_type);
    char opts[32], name[CN_NAME_MAX];
    snprintf(opts, sizeof opts, "op=%s", kind);
    if ((st = add_layer(o, "unary", NULL, x->layer, opts, name)) != CN_OK) return st;
    return set_runtime(o, out, name, x->ndim, x->dims);
}

/* Slice of a run-time tensor: one gather per sliced axis (indices lo, lo+step, ...) */
static cn_status op_slice(ox *o)
{
    ox_value *x, *out;
    cn_status st = need_runtime(o, 0, &x);
    if (st != CN_OK || (st = out_value(o, 0, &out)) != CN_OK) return st;
    int64_t lo[8], step[8], dims[8];
    if ((st = slice_bounds(o, x->ndim, x->dims, lo, step, dims)) != CN_OK) return st;
    ox_value cur = *x, next;
    cur.t = (ox_tensor){0};
    for (int a = 0; a < x->ndim; a++) {
        if (lo[a] == 0 && step[a] == 1 && dims[a] == x->dims[a]) continue;
        if (dims[a] < 1) return ox_err(o, CN_STATUS_UNSUPPORTED, "the slice of axis %d is empty; convnet has no empty tensors", a);
        float *q = cn_malloc((size_t)dims[a] * sizeof(float), "Slice indices");
        if (!q) return CN_STATUS_NOMEM;
        for (int64_t k = 0; k < dims[a]; k++) q[k] = (float)(lo[a] + k * step[a]);
        char opts[96], name[CN_NAME_MAX], sfx[16];
        snprintf(opts, sizeof opts, "axis=%d indices_shape=%lld", a, (long long)dims[a]);
        snprintf(sfx, sizeof sfx, "_axis%d", a);
        st = add_layer(o, "gather", sfx, cur.layer, opts, name);
        if (st == CN_OK) st = stage_param(o, name, "indices", q, dims[a], 1);
        cn_free(q);
        if (st != CN_OK) return st;
        next = tmp_value(out->name);
        int64_t nd[8];
        memcpy(nd, cur.dims, sizeof nd);
        nd[a] = dims[a];
        if ((st = set_runtime(o, &next, name, cur.ndim, nd)) != CN_OK) return st;
        cur = next;
    }
    return alias(o, out, &cur);
}

/* ReduceMean / ReduceMax over every spatial axis (2 .. rank-1) of a run-time (N, C, ...) tensor:
 * global average / max pooling (then a reshape when keepdims = 0). Other reductions are not supported. */
static cn_status op_reduce(ox *o)
{
    ox_value *x, *out;
    cn_status st = need_runtime(o, 0, &x);
    if (st != CN_OK || (st = out_value(o, 0, &out)) != CN_OK) return st;
    int64_t axes[8], keep;
    int na = -1;
    if ((st = attr_i(o, "keepdims", 1, &keep)) != CN_OK) return st;
    if (o->opset >= 18 && has_input(o, 1)) {
        ox_value *c;
        if ((st = need_const(o, 1, "axes", &c)) != CN_OK || (st = const_ints(o, c, axes, 8, &na, "axes")) != CN_OK) return st;
    } else if ((st = attr_ints(o, "axes", axes, 8, &na)) != CN_OK)
        return st;
    int R = x->ndim, mark[8] = {0}, spatial = R >= 3 && R <= 5 && na == R - 2;
    for (int i = 0; i < na && spatial; i++) {
        int a;
        if ((st = norm_axis(o, axes[i], R, "axis", &a)) != CN_OK) return st;
        spatial = a >= 2 && !mark[a];
        mark[a] = 1;
    }
    if (!spatial)
        return ox_err(o, CN_STATUS_UNSUPPORTED, "%s over axes other than all the spatial ones (2..%d); convnet reduces by global pooling",
                      o->node->op_type, R - 1);
    int is_max = !strcmp(o->node->op_type, "ReduceMax");
    char name[CN_NAME_MAX];
    if ((st = add_layer(o, is_max ? "global_max_pool" : "global_avg_pool", NULL, x->layer, NULL, name)) != CN_OK) return st;
    int64_t dims[5];
    for (int i = 0; i < R; i++) dims[i] = i < 2 ? x->dims[i] : 1;
    ox_value pooled = tmp_value(out->name);
    if ((st = set_runtime(o, &pooled, name, R, dims)) != CN_OK) return st;
    if (keep) return alias(o, out, &pooled);
    return emit_reshape(o, &pooled, 2, dims, "_squeeze", out);
}

static cn_status op_identity(ox *o)
{
    ox_value *x, *out;
    cn_status st = need_runtime(o, 0, &x);
    if (st != CN_OK || (st = out_value(o, 0, &out)) != CN_OK) return st;
    if (!strcmp(o->node->op_type, "Cast")) {
        int64_t to;
        if ((st = attr_i(o, "to", 0, &to)) != CN_OK) return st;
        if (to != CN_ONNX_FLOAT && to != CN_ONNX_DOUBLE && to != CN_ONNX_FLOAT16 && to != CN_ONNX_BFLOAT16)
            return ox_err(o, CN_STATUS_UNSUPPORTED, "Cast of a run-time tensor to %s; convnet computes in float", cn_onnx_dtype_name((int)to));
    }
    return alias(o, out, x);
}

static cn_status op_dropout(ox *o)
{
    ox_value *x, *out, *c;
    cn_status st = need_runtime(o, 0, &x);
    if (st != CN_OK || (st = out_value(o, 0, &out)) != CN_OK) return st;
    double ratio = 0.5;
    int training = 0;
    if (o->opset >= 12) {
        if (has_input(o, 1)) {
            if ((st = need_const(o, 1, "ratio", &c)) != CN_OK) return st;
            if (c->t.numel) ratio = cval(&c->t, 0);
        }
        if (has_input(o, 2)) {
            if ((st = need_const(o, 2, "training_mode", &c)) != CN_OK) return st;
            training = c->t.numel && cval(&c->t, 0) != 0;
        }
    } else if ((st = attr_f(o, "ratio", 0.5, &ratio)) != CN_OK)
        return st;
    if (training && ratio > 0)
        return ox_err(o, CN_STATUS_UNSUPPORTED, "training_mode = true with ratio %g draws a random mask; convnet imports Dropout for inference", ratio);
    if ((st = alias(o, out, x)) != CN_OK) return st;
    if (has_output(o, 1)) { /* the mask: every element kept */
        ox_value *mask;
        ox_tensor r;
        if ((st = out_value(o, 1, &mask)) != CN_OK) return st;
        if ((st = const_alloc(o, &r, CN_ONNX_BOOL, x->ndim, x->dims)) != CN_OK) return st;
        for (int64_t k = 0; k < r.numel; k++) cset(&r, k, 1);
        set_const(o, mask, &r);
    }
    return CN_OK;
}

/* ---- the operator table ------------------------------------------------------------------------------ */

typedef struct {
    const char *op;
    cn_status (*fn)(ox *o);
    unsigned const_inputs; /* bit k: input k must be a constant (bound test inputs become constants there) */
} op_entry;

static const op_entry ops_table[] = {
    {"Conv", op_conv, ~1u}, {"ConvTranspose", op_conv, ~1u},
    {"MaxPool", op_pool, 0}, {"AveragePool", op_pool, 0}, {"LpPool", op_pool, 0},
    {"GlobalAveragePool", op_global_pool, 0}, {"GlobalMaxPool", op_global_pool, 0},
    {"MaxUnpool", op_maxunpool, 4},
    {"BatchNormalization", op_norm, ~1u}, {"InstanceNormalization", op_norm, ~1u}, {"LRN", op_lrn, 0},
    {"Relu", op_act, 0}, {"LeakyRelu", op_act, 0}, {"Elu", op_act, 0}, {"Selu", op_act, 0}, {"Sigmoid", op_act, 0},
    {"HardSigmoid", op_act, 0}, {"HardSwish", op_act, 0}, {"Tanh", op_act, 0}, {"Softplus", op_act, 0}, {"Clip", op_act, 6},
    {"PRelu", op_prelu, 2},
    {"Softmax", op_softmax, 0}, {"LogSoftmax", op_softmax, 0},
    {"Gemm", op_gemm, 6}, {"MatMul", op_matmul, 0},
    {"Add", op_binary, 0}, {"Sub", op_binary, 0}, {"Mul", op_binary, 0}, {"Div", op_binary, 0}, {"Pow", op_binary, 0},
    {"Max", op_binary, 0}, {"Min", op_binary, 0}, {"Sum", op_binary, 0}, {"Mean", op_binary, 0},
    {"Concat", op_concat, 0}, {"Flatten", op_reshape, 0}, {"Reshape", op_reshape, 2}, {"Squeeze", op_reshape, 2},
    {"Unsqueeze", op_reshape, 2}, {"Transpose", op_transpose, 0},
    {"Identity", op_identity, 0}, {"Cast", op_identity, 0}, {"Dropout", op_dropout, 6},
    {"Pad", op_pad, 14}, {"Upsample", op_resize, 2}, {"Resize", op_resize, 14},
    {"DepthToSpace", op_depth_space, 0}, {"SpaceToDepth", op_depth_space, 0},
    {"ReduceMean", op_reduce, 2}, {"ReduceMax", op_reduce, 2},
    {"Gather", op_gather, 2}, {"Shape", op_shape, 0}, {"Size", op_shape, 0}, {"Slice", op_slice, 30},
    {"Abs", op_unary, 0}, {"Exp", op_unary, 0}, {"Log", op_unary, 0}, {"Sqrt", op_unary, 0}, {"Erf", op_unary, 0},
    {"Neg", op_unary, 0}, {"Reciprocal", op_unary, 0}, {"Floor", op_unary, 0}, {"Ceil", op_unary, 0}, {"Sign", op_unary, 0},
    {"Sin", op_unary, 0}, {"Cos", op_unary, 0}, {"Softsign", op_unary, 0},
};

/* ops that only fold (every input constant); with run-time inputs they are unsupported */
static const char *const fold_only[] = {"Constant", "ConstantOfShape", "Range", "Where", "Equal", "Less", "Greater", "Not",
                                        NULL};

static const op_entry *find_op(const char *op)
{
    for (size_t i = 0; i < sizeof ops_table / sizeof ops_table[0]; i++)
        if (!strcmp(ops_table[i].op, op)) return &ops_table[i];
    return NULL;
}

/* input slots that need constants, for a few ops outside the table (bound inputs only) */
static int needs_const(const char *op, int k)
{
    const op_entry *e = find_op(op);
    if (e) return (e->const_inputs >> k) & 1;
    if (!strcmp(op, "Expand") || !strcmp(op, "Tile") || !strcmp(op, "TopK") || !strcmp(op, "Split")) return k >= 1;
    if (!strcmp(op, "ConstantOfShape") || !strcmp(op, "Range")) return 1;
    return 0;
}

static cn_status run_node(ox *o)
{
    const char *op = sv(o->node->op_type);
    const char *dom = sv(o->node->domain);
    if (*dom && strcmp(dom, "ai.onnx"))
        return ox_err(o, CN_STATUS_UNSUPPORTED, "operator '%s' of domain '%s' is not supported (convnet reads the default ONNX domain)", op, dom);
    int done;
    cn_status st = fold_node(o, &done);
    if (st != CN_OK || done) return st;
    const op_entry *e = find_op(op);
    if (e) return e->fn(o);
    for (int i = 0; fold_only[i]; i++)
        if (!strcmp(fold_only[i], op))
            return ox_err(o, CN_STATUS_UNSUPPORTED, "operator '%s' on run-time tensors is not supported (convnet folds it on constants only)", op);
    return ox_err(o, CN_STATUS_UNSUPPORTED, "operator '%s' is not supported", op);
}

/* ---- the import ---------------------------------------------------------------------------------------- */

static cn_status port_fill(cn_onnx_port *p, const ox_value *v, const char *name, int dtype)
{
    memset(p, 0, sizeof *p);
    size_t n = strlen(name) + 1;
    if (!(p->name = cn_malloc(n, "ONNX port"))) return CN_STATUS_NOMEM;
    memcpy(p->name, name, n);
    p->dtype = dtype ? dtype : v ? v->dtype : 0;
    if (!v) return CN_OK;
    p->ndim = v->ndim;
    memcpy(p->dims, v->dims, sizeof p->dims);
    if (v->kind == V_RUNTIME) {
        n = strlen(v->layer) + 1;
        if (!(p->layer = cn_malloc(n, "ONNX port"))) return CN_STATUS_NOMEM;
        memcpy(p->layer, v->layer, n);
        return CN_OK;
    }
    return to_public(&p->value, &v->t);
}

static int elem_type(const Onnx__ValueInfoProto *vi)
{
    if (!vi->type || vi->type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !vi->type->tensor_type) return -1;
    return vi->type->tensor_type->has_elem_type ? vi->type->tensor_type->elem_type : 0;
}

static cn_status import_graph(ox *o, cn_onnx_info *info)
{
    Onnx__GraphProto *g = o->g;
    cn_status st;
    /* the value table: every initializer, input and node output */
    size_t count = g->n_initializer + g->n_input + 16;
    for (size_t i = 0; i < g->n_node; i++) count += g->node[i] ? g->node[i]->n_output : 0;
    if (count > 10000000) return ox_err(o, CN_STATUS_LIMIT, "%zu values", count);
    o->capv = (int)count;
    for (o->nslots = 64; o->nslots < 2 * count; o->nslots *= 2) {}
    o->vals = cn_calloc(count, sizeof *o->vals, "ONNX import values");
    o->slots = cn_calloc(o->nslots, sizeof *o->slots, "ONNX import values");
    if (!o->vals || !o->slots) return CN_STATUS_NOMEM;
    for (size_t i = 0; i < g->n_node; i++)
        if (!g->node[i]) return ox_err(o, CN_STATUS_FORMAT, "node %zu is empty", i);
    /* initializers */
    for (size_t i = 0; i < g->n_initializer; i++) {
        const Onnx__TensorProto *tp = g->initializer[i];
        ox_value *v;
        if (!tp || !tp->name || !tp->name[0]) return ox_err(o, CN_STATUS_FORMAT, "initializer %zu has no name", i);
        if ((st = new_value(o, tp->name, &v)) != CN_OK) return st;
        char what[768];
        snprintf(what, sizeof what, "%s: initializer '%.500s'", o->file, tp->name);
        if ((st = decode_tensor(tp, &v->t, what)) != CN_OK) return st;
        v->kind = V_CONST;
        v->dtype = v->t.dtype;
        v->ndim = v->t.ndim;
        memcpy(v->dims, v->t.dims, sizeof v->dims);
    }
    /* graph inputs (those that are not initializers) */
    int n_real = 0;
    for (size_t i = 0; i < g->n_input; i++) {
        if (!g->input[i] || !g->input[i]->name) return ox_err(o, CN_STATUS_FORMAT, "graph input %zu has no name", i);
        ox_value *prev = find_value(o, g->input[i]->name);
        if (!prev) n_real++;
    }
    if (info) {
        info->inputs = cn_calloc((size_t)n_real + 1, sizeof(cn_onnx_port), "ONNX info");
        info->outputs = cn_calloc(g->n_output + 1, sizeof(cn_onnx_port), "ONNX info");
        if (!info->inputs || !info->outputs) return CN_STATUS_NOMEM;
    }
    const cn_onnx_import_opts *op = o->opts;
    int64_t batch = -1;
    int real_index = 0;
    for (size_t i = 0; i < g->n_input; i++) {
        const Onnx__ValueInfoProto *vi = g->input[i];
        if (find_value(o, vi->name)) continue; /* an initializer listed as an input (IR < 4) */
        ox_value *v;
        if ((st = new_value(o, vi->name, &v)) != CN_OK) return st;
        int et = elem_type(vi);
        if (et < 0) return ox_err(o, CN_STATUS_UNSUPPORTED, "graph input '%s' is not a tensor (sequence, map or optional)", vi->name);
        v->dtype = et;
        const cn_onnx_tensor *bound = NULL;
        if (op && op->bind_names) {
            for (int b = 0; b < op->n_bind; b++)
                if (op->bind_names[b] && !strcmp(op->bind_names[b], vi->name)) bound = &op->bind_values[b];
        } else if (op && real_index < op->n_bind)
            bound = &op->bind_values[real_index];
        real_index++;
        const Onnx__TensorShapeProto *shp = vi->type->tensor_type->shape;
        if (bound) {
            v->ndim = bound->ndim;
            memcpy(v->dims, bound->dims, sizeof v->dims);
        } else {
            if (!shp) return ox_err(o, CN_STATUS_UNSUPPORTED, "graph input '%s' has no shape", vi->name);
            if (shp->n_dim > CN_ONNX_MAX_DIMS) return ox_err(o, CN_STATUS_UNSUPPORTED, "graph input '%s' has rank %zu", vi->name, shp->n_dim);
            v->ndim = (int)shp->n_dim;
            for (int d = 0; d < v->ndim; d++) {
                const Onnx__TensorShapeProto__Dimension *dm = shp->dim[d];
                int known = dm && dm->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
                if (known && dm->dim_value < 0)
                    return ox_err(o, CN_STATUS_FORMAT, "graph input '%s' dimension %d is %lld", vi->name, d, (long long)dm->dim_value);
                if (!known && d > 0)
                    return ox_err(o, CN_STATUS_UNSUPPORTED, "graph input '%s' dimension %d is symbolic ('%s'); convnet needs fixed sizes "
                                  "after the batch axis", vi->name, d,
                                  dm && dm->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM ? sv(dm->dim_param) : "?");
                v->dims[d] = known ? dm->dim_value : (op && op->batch > 0 ? op->batch : 1);
            }
        }
        /* a bound input becomes a constant where a layer needs one, or when it cannot share the batch axis */
        int as_const = 0;
        if (bound) {
            as_const = v->ndim == 0 || (batch >= 0 && v->dims[0] != batch);
            for (size_t k = 0; k < g->n_node && !as_const; k++)
                for (size_t s = 0; s < g->node[k]->n_input && !as_const; s++)
                    if (g->node[k]->input[s] && !strcmp(g->node[k]->input[s], vi->name)) as_const = needs_const(sv(g->node[k]->op_type), (int)s);
        }
        if (as_const) {
            ox_tensor t;
            if ((st = const_alloc(o, &t, bound->dtype ? bound->dtype : CN_ONNX_FLOAT, bound->ndim, bound->dims)) != CN_OK) return st;
            for (int64_t k = 0; k < t.numel; k++) cset(&t, k, bound->data[k]);
            set_const(o, v, &t);
        } else {
            if (v->ndim < 1 || v->ndim > CN_MAX_DIMS)
                return ox_err(o, CN_STATUS_UNSUPPORTED, "graph input '%s' has rank %d; convnet inputs have rank 1 to %d", vi->name, v->ndim, CN_MAX_DIMS);
            for (int d = 0; d < v->ndim; d++)
                if (v->dims[d] < 1)
                    return ox_err(o, CN_STATUS_UNSUPPORTED, "graph input '%s' has a dimension of %lld; convnet has no empty tensors", vi->name,
                                  (long long)v->dims[d]);
            if (batch < 0) batch = v->dims[0];
            else if (v->dims[0] != batch)
                return ox_err(o, CN_STATUS_UNSUPPORTED, "graph inputs have first dimensions %lld and %lld; a model has one batch size",
                              (long long)batch, (long long)v->dims[0]);
            cn_shape s = cn_of(v);
            int64_t sample[CN_MAX_DIMS];
            for (int d = 1; d < s.ndim; d++) sample[d - 1] = s.dim[d];
            char sh[96], opts[128], name[CN_NAME_MAX];
            dims_text(sample, s.ndim - 1, 'x', sh, sizeof sh);
            snprintf(opts, sizeof opts, "shape=%s", sh);
            if ((st = make_name(o, vi->name, NULL, name)) != CN_OK) return st;
            if ((st = cn_model_add(o->m, "input", name, NULL, opts)) != CN_OK) return ox_wrap(o, st);
            if ((st = set_runtime(o, v, name, v->ndim, v->dims)) != CN_OK) return st;
            v->dtype = et;
        }
        if (info && (st = port_fill(&info->inputs[info->n_inputs++], v->kind == V_RUNTIME ? v : NULL, vi->name, et)) != CN_OK) return st;
        if (info && v->kind == V_RUNTIME) {
            cn_onnx_port *p = &info->inputs[info->n_inputs - 1];
            p->ndim = v->ndim;
            memcpy(p->dims, v->dims, sizeof p->dims);
        } else if (info) {
            cn_onnx_port *p = &info->inputs[info->n_inputs - 1];
            p->ndim = v->ndim;
            memcpy(p->dims, v->dims, sizeof p->dims);
        }
    }
    o->batch = batch > 0 ? batch : 1;
    /* the nodes, in order */
    for (size_t i = 0; i < g->n_node; i++) {
        o->node = g->node[i];
        o->node_index = (int)i;
        if (!o->node->op_type || !o->node->op_type[0]) return ox_err(o, CN_STATUS_FORMAT, "node has no op_type");
        if ((st = run_node(o)) != CN_OK) return st;
    }
    o->node = NULL;
    /* outputs */
    if (!g->n_output) return ox_err(o, CN_STATUS_FORMAT, "the graph has no outputs");
    for (size_t i = 0; i < g->n_output; i++) {
        const Onnx__ValueInfoProto *vi = g->output[i];
        if (!vi || !vi->name) return ox_err(o, CN_STATUS_FORMAT, "graph output %zu has no name", i);
        ox_value *v = find_value(o, vi->name);
        if (!v) return ox_err(o, CN_STATUS_FORMAT, "graph output '%s' is not computed by any node", vi->name);
        int et = elem_type(vi);
        if (info && (st = port_fill(&info->outputs[info->n_outputs++], v, vi->name, et > 0 ? et : v->dtype)) != CN_OK) return st;
    }
    return CN_OK;
}

/* plan, check every tracked shape against the planned one, copy the parameters */
static cn_status finish_model(ox *o)
{
    cn_status st;
    int flags = o->opts ? o->opts->plan_flags : CN_PLAN_INFER;
    if (cn_model_layer_count(o->m) == 0) return CN_OK;
    if ((st = cn_model_plan(o->m, o->batch, flags)) != CN_OK) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", cn_last_error());
        return cn_set_error(st, "%s: planning the imported model: %s", o->file, msg);
    }
    for (int i = 0; i < o->nv; i++) {
        const ox_value *v = &o->vals[i];
        if (v->kind != V_RUNTIME) continue;
        const float *y;
        cn_shape have, want = cn_of(v);
        if (cn_model_layer_output(o->m, v->layer, &y, &have) != CN_OK || !cn_shape_equal(&have, &want)) {
            char a[96], b[96];
            cn_shape_str(&want, a, sizeof a);
            cn_shape_str(&have, b, sizeof b);
            return cn_set_error(CN_STATUS_INTERNAL, "%s: value '%s' (layer '%s') was tracked as %s but planned as %s (a bug in convnet's ONNX import)",
                                o->file, v->name, v->layer, a, b);
        }
    }
    int np = cn_model_param_count(o->m);
    if (np != o->nparams)
        return cn_set_error(CN_STATUS_INTERNAL, "%s: the model has %d parameters, the import staged %d (a bug in convnet's ONNX import)", o->file,
                            np, o->nparams);
    for (int i = 0; i < np; i++) {
        cn_param p;
        if ((st = cn_model_param(o->m, i, &p)) != CN_OK) return st;
        const ox_param *sp = NULL;
        for (int k = 0; k < o->nparams && !sp; k++)
            if (!strcmp(o->params[k].name, p.name)) sp = &o->params[k];
        if (!sp || sp->numel != cn_shape_numel(&p.shape))
            return cn_set_error(CN_STATUS_INTERNAL, "%s: parameter '%s' (%lld values) has %s staged value (a bug in convnet's ONNX import)", o->file,
                                p.name, (long long)cn_shape_numel(&p.shape), sp ? "a mis-sized" : "no");
        memcpy(p.value, sp->data, (size_t)sp->numel * sizeof(float));
    }
    return CN_OK;
}

cn_status cn_onnx_import_buffer(cn_model **out, const void *buf, size_t len, const char *name, const cn_onnx_import_opts *opts,
                                cn_onnx_info *info)
{
    *out = NULL;
    if (info) memset(info, 0, sizeof *info);
    ox o;
    memset(&o, 0, sizeof o);
    o.file = name ? name : "onnx";
    o.opts = opts;
    cn_status st;
    if (len == 0) return cn_set_error(CN_STATUS_FORMAT, "%s: the file is empty", o.file);
    int nomem = 0;
    ProtobufCAllocator alloc = {pb_alloc, pb_free, &nomem};
    o.mp = onnx__model_proto__unpack(&alloc, len, buf);
    if (!o.mp) {
        if (nomem) return cn_set_error(CN_STATUS_NOMEM, "%s: out of memory while parsing the protobuf", o.file);
        return cn_set_error(CN_STATUS_FORMAT, "%s: not an ONNX model (the protobuf does not parse: truncated, or not a ModelProto)", o.file);
    }
    o.g = o.mp->graph;
    if (!o.g) {
        st = cn_set_error(CN_STATUS_FORMAT, "%s: the model has no graph", o.file);
        goto done;
    }
    o.opset = 0;
    for (size_t i = 0; i < o.mp->n_opset_import; i++) {
        const Onnx__OperatorSetIdProto *os = o.mp->opset_import[i];
        if (os && (!os->domain || !os->domain[0] || !strcmp(os->domain, "ai.onnx"))) o.opset = os->has_version ? os->version : 0;
    }
    if (o.opset <= 0) o.opset = 1;
    if (o.opset > 18)
        cn_log(CN_LOG_WARN, "%s: opset %lld is newer than convnet knows (17); operators are read with their opset-17 meaning", o.file,
               (long long)o.opset);
    if ((st = cn_model_create(&o.m)) != CN_OK) goto done;
    if (info && (st = CN_OK) == CN_OK) {
        info->opset = o.opset;
        info->ir_version = o.mp->has_ir_version ? o.mp->ir_version : 0;
        snprintf(info->producer, sizeof info->producer, "%s%s%s", sv(o.mp->producer_name), o.mp->producer_version && o.mp->producer_version[0] ? " " : "",
                 sv(o.mp->producer_version));
        info->n_nodes = (int)o.g->n_node;
    }
    if ((st = import_graph(&o, info)) != CN_OK) goto done;
    if ((st = finish_model(&o)) != CN_OK) goto done;
    *out = o.m;
    o.m = NULL;
done:
    if (st != CN_OK && info) cn_onnx_info_free(info);
    cn_model_destroy(o.m);
    for (int i = 0; i < o.nv; i++) ot_free(&o.vals[i].t);
    cn_free(o.vals);
    cn_free(o.slots);
    cn_free(o.names);
    for (int i = 0; i < o.nparams; i++) cn_free(o.params[i].data);
    cn_free(o.params);
    onnx__model_proto__free_unpacked(o.mp, &cn_onnx_pb_allocator);
    return st;
}

cn_status cn_onnx_import(cn_model **out, const char *path, const cn_onnx_import_opts *opts, cn_onnx_info *info)
{
    *out = NULL;
    if (info) memset(info, 0, sizeof *info);
    unsigned char *buf = NULL;
    size_t len = 0;
    cn_status st = cn_file_read_all(path, &buf, &len);
    if (st != CN_OK) return st;
    st = cn_onnx_import_buffer(out, buf, len, path, opts, info);
    cn_free(buf);
    return st;
}
#endif /* CN_HAVE_ONNX */
