/* safetensors.c — reading (strict validation, following the reference implementation's
 * rules) and atomic writing of safetensors files. The JSON header is parsed and printed by
 * cJSON; everything else (the size prefix, UTF-8, sizes, offsets, coverage) is checked here
 * before any allocation depends on it. */
#include "convnet/safetensors.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "file.h"
#include "json_cost.h"

/* ---- dtypes ------------------------------------------------------------------------------ */
static const struct {
    const char *name;
    size_t size;
    int is_float;
} dtype_info[CN_ST_DTYPE_COUNT_] = {
    [CN_ST_DTYPE_BOOL] = {"BOOL", 1, 0},      [CN_ST_DTYPE_U8] = {"U8", 1, 0},
    [CN_ST_DTYPE_I8] = {"I8", 1, 0},          [CN_ST_DTYPE_F8_E5M2] = {"F8_E5M2", 1, 1},
    [CN_ST_DTYPE_F8_E4M3] = {"F8_E4M3", 1, 1}, [CN_ST_DTYPE_I16] = {"I16", 2, 0},
    [CN_ST_DTYPE_U16] = {"U16", 2, 0},        [CN_ST_DTYPE_F16] = {"F16", 2, 1},
    [CN_ST_DTYPE_BF16] = {"BF16", 2, 1},      [CN_ST_DTYPE_I32] = {"I32", 4, 0},
    [CN_ST_DTYPE_U32] = {"U32", 4, 0},        [CN_ST_DTYPE_F32] = {"F32", 4, 1},
    [CN_ST_DTYPE_F64] = {"F64", 8, 1},        [CN_ST_DTYPE_I64] = {"I64", 8, 0},
    [CN_ST_DTYPE_U64] = {"U64", 8, 0},
};

static int dtype_ok(cn_st_dtype t) { return (int)t >= 0 && t < CN_ST_DTYPE_COUNT_; }
const char *cn_st_dtype_name(cn_st_dtype t) { return dtype_ok(t) ? dtype_info[t].name : "?"; }
size_t cn_st_dtype_size(cn_st_dtype t) { return dtype_ok(t) ? dtype_info[t].size : 0; }
int cn_st_dtype_is_float(cn_st_dtype t) { return dtype_ok(t) && dtype_info[t].is_float; }

/* ---- the parsed file --------------------------------------------------------------------- */
typedef struct st_entry {
    const char *name; /* in f->strings */
    cn_st_dtype dtype;
    int ndim;
    int64_t shape[CN_ST_MAX_DIMS];
    uint64_t numel, begin, end;
    int header_index; /* position in the JSON object, to keep sorting stable */
} st_entry;

struct cn_safetensors {
    char *label;         /* path or name for messages (owned) */
    unsigned char *buf;  /* the whole file (owned) */
    size_t len, data_off;
    int n;
    st_entry *t;         /* sorted by (begin, end, header order) */
    int *by_name;        /* indices into t, sorted by name */
    int n_meta;
    const char **meta;   /* key0, value0, key1, value1, ... in f->strings */
    char *strings;       /* every name, key and value, NUL-terminated (owned) */
};

void cn_safetensors_destroy(cn_safetensors *f)
{
    if (!f) return;
    cn_free(f->label);
    cn_free(f->buf);
    cn_free(f->t);
    cn_free(f->by_name);
    cn_free(f->meta);
    cn_free(f->strings);
    cn_free(f);
}

/* "name: offset N: <message>" */
static cn_status at_offset(cn_status s, const char *name, uint64_t off, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
static cn_status at_offset(cn_status s, const char *name, uint64_t off, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return cn_set_error(s, "%s: offset %llu: %s", name, (unsigned long long)off, msg);
}

/* "name: tensor 'x': <message>" */
static cn_status at_tensor(cn_status s, const char *name, const char *tensor, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
static cn_status at_tensor(cn_status s, const char *name, const char *tensor, const char *fmt, ...)
{
    char msg[640];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return cn_set_error(s, "%s: tensor '%.200s': %s", name, tensor, msg);
}

static uint64_t ld64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int k = 7; k >= 0; k--) v = v << 8 | p[k];
    return v;
}
static uint32_t ld32(const unsigned char *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static uint16_t ld16(const unsigned char *p) { return (uint16_t)(p[0] | p[1] << 8); }

/* Offset of the first byte that is not well-formed UTF-8 (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF), or len if all are. */
static size_t utf8_check(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        if (c < 0x80) { i++; continue; }
        size_t n;
        unsigned lo = 0x80, hi = 0xbf;
        if (c >= 0xc2 && c <= 0xdf) n = 1;
        else if (c >= 0xe0 && c <= 0xef) {
            n = 2;
            if (c == 0xe0) lo = 0xa0;       /* overlong */
            if (c == 0xed) hi = 0x9f;       /* surrogates */
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3;
            if (c == 0xf0) lo = 0x90;       /* overlong */
            if (c == 0xf4) hi = 0x8f;       /* above U+10FFFF */
        } else return i;
        if (len - i <= n) return i;
        if (s[i + 1] < lo || s[i + 1] > hi) return i;
        for (size_t k = 2; k <= n; k++)
            if ((s[i + k] & 0xc0) != 0x80) return i;
        i += n + 1;
    }
    return len;
}

static const char *json_kind(const cJSON *j)
{
    if (cJSON_IsString(j)) return "a string";
    if (cJSON_IsNumber(j)) return "a number";
    if (cJSON_IsArray(j)) return "an array";
    if (cJSON_IsObject(j)) return "an object";
    if (cJSON_IsBool(j)) return "a boolean";
    if (cJSON_IsNull(j)) return "null";
    return "not a JSON value";
}

/* A non-negative integer that a double holds exactly (JSON readers keep numbers as doubles). */
#define MAX_EXACT 9007199254740992.0 /* 2^53 */
static int json_uint(const cJSON *j, uint64_t *v)
{
    if (!cJSON_IsNumber(j)) return 0;
    double d = j->valuedouble;
    if (!(d >= 0 && d <= MAX_EXACT) || d != floor(d)) return 0;
    *v = (uint64_t)d;
    return 1;
}
static void json_number_str(const cJSON *j, char *buf, size_t cap)
{
    if (cJSON_IsNumber(j)) snprintf(buf, cap, "%.17g", j->valuedouble);
    else snprintf(buf, cap, "%s", json_kind(j));
}

static void shape_str(const int64_t *shape, int ndim, char *buf, size_t cap)
{
    if (ndim == 0) {
        snprintf(buf, cap, "[] (scalar)");
        return;
    }
    size_t n = 0;
    buf[0] = '\0';
    for (int i = 0; i < ndim && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%lld", i ? "x" : "", (long long)shape[i]);
}

/* ---- validation of one tensor entry ------------------------------------------------------- */
static cn_status parse_entry(st_entry *e, const cJSON *item, const char *tname, const char *name, uint64_t data_len)
{
    if (!cJSON_IsObject(item))
        return at_tensor(CN_STATUS_FORMAT, name, tname, "entry is %s, expected an object with \"dtype\", \"shape\", \"data_offsets\"",
                         json_kind(item));
    static const char *const keys[3] = {"dtype", "shape", "data_offsets"};
    const cJSON *val[3] = {NULL, NULL, NULL};
    for (const cJSON *c = item->child; c; c = c->next)
        for (int k = 0; k < 3; k++)
            if (c->string && !strcmp(c->string, keys[k])) {
                if (val[k]) return at_tensor(CN_STATUS_FORMAT, name, tname, "duplicate key \"%s\"", keys[k]);
                val[k] = c;
            }
    for (int k = 0; k < 3; k++)
        if (!val[k]) return at_tensor(CN_STATUS_FORMAT, name, tname, "missing \"%s\"", keys[k]);
    /* dtype */
    if (!cJSON_IsString(val[0]))
        return at_tensor(CN_STATUS_FORMAT, name, tname, "\"dtype\" is %s, expected a string such as \"F32\"", json_kind(val[0]));
    int found = -1;
    for (int d = 0; d < CN_ST_DTYPE_COUNT_; d++)
        if (!strcmp(val[0]->valuestring, dtype_info[d].name)) found = d;
    if (found < 0)
        return at_tensor(CN_STATUS_UNSUPPORTED, name, tname,
                         "unknown dtype '%.40s' (known: BOOL U8 I8 U16 I16 U32 I32 U64 I64 F8_E5M2 F8_E4M3 F16 BF16 F32 F64)",
                         val[0]->valuestring);
    e->dtype = (cn_st_dtype)found;
    /* shape */
    if (!cJSON_IsArray(val[1]))
        return at_tensor(CN_STATUS_FORMAT, name, tname, "\"shape\" is %s, expected an array of non-negative integers",
                         json_kind(val[1]));
    int nd = cJSON_GetArraySize(val[1]);
    if (nd > CN_ST_MAX_DIMS)
        return at_tensor(CN_STATUS_UNSUPPORTED, name, tname, "shape has %d dimensions; at most %d are supported", nd, CN_ST_MAX_DIMS);
    e->ndim = 0;
    uint64_t numel = 1;
    int overflow = 0;
    for (const cJSON *c = val[1]->child; c; c = c->next) {
        uint64_t v;
        if (!json_uint(c, &v)) {
            char s[64];
            json_number_str(c, s, sizeof s);
            return at_tensor(cJSON_IsNumber(c) && c->valuedouble > MAX_EXACT ? CN_STATUS_LIMIT : CN_STATUS_FORMAT, name, tname,
                             "shape[%d] is %s, expected a non-negative integer (at most 2^53)", e->ndim, s);
        }
        e->shape[e->ndim++] = (int64_t)v;
        if (v && numel > UINT64_MAX / v) overflow = 1;
        else numel *= v;
    }
    char sh[160];
    shape_str(e->shape, e->ndim, sh, sizeof sh);
    size_t esize = dtype_info[e->dtype].size;
    if (overflow || numel > (uint64_t)INT64_MAX || numel > UINT64_MAX / esize)
        return at_tensor(CN_STATUS_LIMIT, name, tname, "shape %s of %s overflows 64-bit sizes", sh, dtype_info[e->dtype].name);
    e->numel = numel;
    uint64_t nbytes = numel * esize;
    /* data_offsets */
    if (!cJSON_IsArray(val[2]) || cJSON_GetArraySize(val[2]) != 2)
        return at_tensor(CN_STATUS_FORMAT, name, tname, "\"data_offsets\" is %s%s, expected [begin, end]", json_kind(val[2]),
                         cJSON_IsArray(val[2]) ? " of the wrong length" : "");
    uint64_t off[2];
    int k = 0;
    for (const cJSON *c = val[2]->child; c; c = c->next, k++)
        if (!json_uint(c, &off[k])) {
            char s[64];
            json_number_str(c, s, sizeof s);
            return at_tensor(cJSON_IsNumber(c) && c->valuedouble > MAX_EXACT ? CN_STATUS_LIMIT : CN_STATUS_FORMAT, name, tname,
                             "data_offsets[%d] is %s, expected a non-negative integer (at most 2^53)", k, s);
        }
    e->begin = off[0], e->end = off[1];
    if (off[1] < off[0])
        return at_tensor(CN_STATUS_FORMAT, name, tname, "data_offsets [%llu, %llu] end before they begin", (unsigned long long)off[0],
                         (unsigned long long)off[1]);
    if (off[1] - off[0] != nbytes)
        return at_tensor(CN_STATUS_FORMAT, name, tname, "data_offsets [%llu, %llu] span %llu bytes, but shape %s of %s needs %llu",
                         (unsigned long long)off[0], (unsigned long long)off[1], (unsigned long long)(off[1] - off[0]), sh,
                         dtype_info[e->dtype].name, (unsigned long long)nbytes);
    if (off[1] > data_len)
        return at_tensor(CN_STATUS_FORMAT, name, tname,
                         "data_offsets [%llu, %llu] reach past the end of the data section (%llu bytes)",
                         (unsigned long long)off[0], (unsigned long long)off[1], (unsigned long long)data_len);
    return CN_OK;
}

/* ---- sorting helpers ------------------------------------------------------------------- */
typedef struct {
    const char *s;
    int idx;
} named;
static int cmp_named(const void *a, const void *b)
{
    const named *x = a, *y = b;
    int c = strcmp(x->s, y->s);
    return c ? c : (x->idx > y->idx) - (x->idx < y->idx);
}
static int cmp_offsets(const void *a, const void *b)
{
    const st_entry *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return (x->header_index > y->header_index) - (x->header_index < y->header_index);
}

/* ---- parsing ---------------------------------------------------------------------------- */
/* The size prefix: everything that can be checked before copying or parsing anything. */
static cn_status check_prefix(const unsigned char *b, size_t len, const char *name, uint64_t *n_out)
{
    if (len < 8)
        return at_offset(CN_STATUS_FORMAT, name, 0, "the file is %zu bytes, too short for the 8-byte header size", len);
    uint64_t n = ld64(b);
    if (n > (uint64_t)(len - 8))
        return at_offset(CN_STATUS_FORMAT, name, 0,
                         "header size %llu is larger than the rest of the file (%zu bytes after the 8-byte size)",
                         (unsigned long long)n, len - 8);
    if (n > CN_ST_MAX_HEADER)
        return at_offset(CN_STATUS_LIMIT, name, 0, "header size %llu exceeds the limit of %llu bytes", (unsigned long long)n,
                         (unsigned long long)CN_ST_MAX_HEADER);
    if (n > cn_memory_limit())
        return at_offset(CN_STATUS_LIMIT, name, 0, "header size %llu exceeds the memory cap of %llu bytes", (unsigned long long)n,
                         (unsigned long long)cn_memory_limit());
    *n_out = n;
    return CN_OK;
}

static cn_status parse_header(cn_safetensors *f, uint64_t hlen)
{
    const char *name = f->label;
    const unsigned char *h = f->buf + 8;
    cJSON *root = NULL;
    named *sorted = NULL;
    cn_status st = CN_OK;
    f->data_off = 8 + (size_t)hlen;
    uint64_t data_len = f->len - f->data_off;

    size_t bad = utf8_check(h, (size_t)hlen);
    if (bad < hlen) return at_offset(CN_STATUS_FORMAT, name, 8 + bad, "header is not valid UTF-8 (byte 0x%02x)", h[bad]);
    for (size_t i = 0; i < hlen; i++) /* JSON allows no raw control characters, in strings or out */
        if (h[i] < 0x20 && h[i] != '\t' && h[i] != '\n' && h[i] != '\r')
            return at_offset(CN_STATUS_FORMAT, name, 8 + i, "header holds the control byte 0x%02x, which JSON does not allow", h[i]);
    if (hlen == 0 || h[0] != '{')
        return hlen == 0 ? at_offset(CN_STATUS_FORMAT, name, 8, "header is empty; expected a JSON object starting with '{'")
                         : at_offset(CN_STATUS_FORMAT, name, 8, "header must be a JSON object starting with '{', found byte 0x%02x",
                                     h[0]);
    if (cn_json_check_cost((const char *)h, (size_t)hlen, name) != CN_OK) return CN_STATUS_LIMIT;
    const char *end = NULL;
    root = cJSON_ParseWithLengthOpts((const char *)h, (size_t)hlen, &end, 0);
    if (!root) {
        size_t pos = end ? (size_t)(end - (const char *)h) : 0;
        return at_offset(CN_STATUS_FORMAT, name, 8 + pos, "header is not valid JSON (%s)",
                         pos + 1 >= hlen ? "it ends too early" : "syntax error here");
    }
    if (!cJSON_IsObject(root)) {
        st = at_offset(CN_STATUS_FORMAT, name, 8, "header is %s, expected a JSON object", json_kind(root));
        goto done;
    }
    for (size_t pos = (size_t)(end - (const char *)h); pos < hlen; pos++)
        if (h[pos] != ' ' && h[pos] != '\t' && h[pos] != '\r' && h[pos] != '\n') {
            st = at_offset(CN_STATUS_FORMAT, name, 8 + pos, "unexpected byte 0x%02x after the JSON header (only spaces may pad it)",
                           h[pos]);
            goto done;
        }

    /* count, and size the string block */
    const cJSON *meta = NULL;
    size_t chars = 0;
    int n = 0;
    for (const cJSON *c = root->child; c; c = c->next) {
        if (!c->string) {
            st = at_offset(CN_STATUS_INTERNAL, name, 8, "JSON member without a name");
            goto done;
        }
        if (!strcmp(c->string, "__metadata__")) {
            if (meta) {
                st = at_offset(CN_STATUS_FORMAT, name, 8, "duplicate \"__metadata__\"");
                goto done;
            }
            meta = c;
            if (!cJSON_IsObject(c)) {
                st = at_offset(CN_STATUS_FORMAT, name, 8, "\"__metadata__\" is %s, expected an object of strings", json_kind(c));
                goto done;
            }
            for (const cJSON *kv = c->child; kv; kv = kv->next) {
                if (!cJSON_IsString(kv)) {
                    st = at_offset(CN_STATUS_FORMAT, name, 8, "\"__metadata__\" value of '%.200s' is %s, expected a string",
                                   kv->string ? kv->string : "", json_kind(kv));
                    goto done;
                }
                chars += strlen(kv->string) + strlen(kv->valuestring) + 2;
                f->n_meta++;
            }
        } else {
            chars += strlen(c->string) + 1;
            n++;
        }
    }
    f->n = n;
    /* every count and size below is bounded by the header's length, which was checked */
    f->t = cn_calloc((size_t)n + 1, sizeof *f->t, name);
    f->by_name = cn_calloc((size_t)n + 1, sizeof *f->by_name, name);
    f->meta = cn_calloc(2 * (size_t)f->n_meta + 1, sizeof *f->meta, name);
    f->strings = cn_malloc(chars + 1, name);
    sorted = cn_calloc((size_t)(n > f->n_meta ? n : f->n_meta) + 1, sizeof *sorted, name);
    if (!f->t || !f->by_name || !f->meta || !f->strings || !sorted) {
        st = CN_STATUS_NOMEM; /* cn_malloc set the message */
        goto done;
    }
    char *sp = f->strings;
    int i = 0, hidx = 0;
    for (const cJSON *c = root->child; c; c = c->next, hidx++) {
        if (c == meta) continue;
        st_entry *e = &f->t[i++];
        size_t l = strlen(c->string) + 1;
        memcpy(sp, c->string, l);
        e->name = sp;
        sp += l;
        e->header_index = hidx;
        if ((st = parse_entry(e, c, e->name, name, data_len)) != CN_OK) goto done;
    }
    if (meta) {
        int k = 0;
        for (const cJSON *kv = meta->child; kv; kv = kv->next, k++) {
            size_t kl = strlen(kv->string) + 1, vl = strlen(kv->valuestring) + 1;
            memcpy(sp, kv->string, kl);
            f->meta[2 * k] = sp;
            sp += kl;
            memcpy(sp, kv->valuestring, vl);
            f->meta[2 * k + 1] = sp;
            sp += vl;
            sorted[k] = (named){f->meta[2 * k], k};
        }
        qsort(sorted, (size_t)f->n_meta, sizeof *sorted, cmp_named);
        for (k = 1; k < f->n_meta; k++)
            if (!strcmp(sorted[k].s, sorted[k - 1].s)) {
                st = at_offset(CN_STATUS_FORMAT, name, 8, "duplicate \"__metadata__\" key '%.200s'", sorted[k].s);
                goto done;
            }
    }
    /* data order, then coverage: from 0, contiguous, to the end of the file */
    qsort(f->t, (size_t)n, sizeof *f->t, cmp_offsets);
    uint64_t expect = 0;
    for (i = 0; i < n; i++) {
        const st_entry *e = &f->t[i];
        if (e->begin < expect) {
            const st_entry *p = &f->t[i - 1];
            st = at_tensor(CN_STATUS_FORMAT, name, e->name, "data_offsets [%llu, %llu] overlap those of tensor '%.200s' [%llu, %llu]",
                           (unsigned long long)e->begin, (unsigned long long)e->end, p->name, (unsigned long long)p->begin,
                           (unsigned long long)p->end);
            goto done;
        }
        if (e->begin > expect) {
            st = at_tensor(CN_STATUS_FORMAT, name, e->name,
                           "data_offsets [%llu, %llu] leave a gap of %llu bytes after %s%.200s%s (tensors must cover the data "
                           "section without holes)",
                           (unsigned long long)e->begin, (unsigned long long)e->end, (unsigned long long)(e->begin - expect),
                           i ? "tensor '" : "the start of the data section", i ? f->t[i - 1].name : "", i ? "'" : "");
            goto done;
        }
        expect = e->end;
    }
    if (expect != data_len) {
        st = at_offset(CN_STATUS_FORMAT, name, f->data_off + expect,
                       "%llu trailing bytes after the last tensor's data (the data section must hold exactly the tensors)",
                       (unsigned long long)(data_len - expect));
        goto done;
    }
    /* names: unique, and an index for find */
    for (i = 0; i < n; i++) sorted[i] = (named){f->t[i].name, i};
    qsort(sorted, (size_t)n, sizeof *sorted, cmp_named);
    for (i = 0; i < n; i++) {
        if (i && !strcmp(sorted[i].s, sorted[i - 1].s)) {
            st = at_tensor(CN_STATUS_FORMAT, name, sorted[i].s, "duplicate tensor name");
            goto done;
        }
        f->by_name[i] = sorted[i].idx;
    }
done:
    cn_free(sorted);
    cJSON_Delete(root);
    return st;
}

/* Takes ownership of buf (cn_malloc'd, len + 1 bytes). */
static cn_status parse_owned(cn_safetensors **out, unsigned char *buf, size_t len, const char *name)
{
    *out = NULL;
    uint64_t hlen;
    cn_status st = check_prefix(buf, len, name, &hlen);
    if (st != CN_OK) {
        cn_free(buf);
        return st;
    }
    cn_safetensors *f = cn_calloc(1, sizeof *f, name);
    char *label = cn_malloc(strlen(name) + 1, name);
    if (!f || !label) {
        cn_free(f), cn_free(label), cn_free(buf);
        return CN_STATUS_NOMEM;
    }
    strcpy(label, name);
    f->label = label;
    f->buf = buf;
    f->len = len;
    if ((st = parse_header(f, hlen)) != CN_OK) {
        cn_safetensors_destroy(f);
        return st;
    }
    *out = f;
    return CN_OK;
}

cn_status cn_safetensors_parse(cn_safetensors **out, const void *buf, size_t len, const char *name)
{
    *out = NULL;
    if (!name) name = "safetensors";
    if (!buf && len) return cn_set_error(CN_STATUS_INVALID_ARG, "%s: buffer is NULL", name);
    uint64_t hlen;
    cn_status st = check_prefix(buf, len, name, &hlen); /* before copying: refuse absurd sizes cheaply */
    if (st != CN_OK) return st;
    unsigned char *copy = cn_malloc(len + 1, name);
    if (!copy) return CN_STATUS_NOMEM;
    memcpy(copy, buf, len);
    copy[len] = 0;
    return parse_owned(out, copy, len, name);
}

cn_status cn_safetensors_load(cn_safetensors **out, const char *path)
{
    *out = NULL;
    unsigned char *buf;
    size_t len;
    cn_status st = cn_file_read_all(path, &buf, &len);
    if (st != CN_OK) return st;
    return parse_owned(out, buf, len, path);
}

/* ---- access ----------------------------------------------------------------------------- */
const char *cn_safetensors_name(const cn_safetensors *f) { return f ? f->label : ""; }
int cn_safetensors_count(const cn_safetensors *f) { return f ? f->n : 0; }

static void fill(const cn_safetensors *f, const st_entry *e, cn_st_tensor *t)
{
    memset(t, 0, sizeof *t);
    t->name = e->name;
    t->dtype = e->dtype;
    t->ndim = e->ndim;
    memcpy(t->shape, e->shape, sizeof e->shape);
    t->numel = (int64_t)e->numel;
    t->data = f->buf + f->data_off + e->begin;
    t->nbytes = (size_t)(e->end - e->begin);
}

cn_status cn_safetensors_get(const cn_safetensors *f, int i, cn_st_tensor *t)
{
    if (!f || i < 0 || i >= f->n)
        return cn_set_error(CN_STATUS_INVALID_ARG, "%s: tensor index %d is not in 0..%d", f ? f->label : "safetensors", i,
                            f ? f->n - 1 : -1);
    fill(f, &f->t[i], t);
    return CN_OK;
}

cn_status cn_safetensors_find(const cn_safetensors *f, const char *name, cn_st_tensor *t)
{
    if (!f || !name) return cn_set_error(CN_STATUS_INVALID_ARG, "safetensors_find: NULL file or name");
    int lo = 0, hi = f->n - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        const st_entry *e = &f->t[f->by_name[mid]];
        int c = strcmp(name, e->name);
        if (!c) {
            fill(f, e, t);
            return CN_OK;
        }
        if (c < 0) hi = mid - 1;
        else lo = mid + 1;
    }
    return cn_set_error(CN_STATUS_NOT_FOUND, "%s: no tensor named '%.200s'", f->label, name);
}

const char *cn_safetensors_metadata(const cn_safetensors *f, const char *key)
{
    if (!f || !key) return NULL;
    for (int i = 0; i < f->n_meta; i++)
        if (!strcmp(f->meta[2 * i], key)) return f->meta[2 * i + 1];
    return NULL;
}

int cn_safetensors_metadata_count(const cn_safetensors *f) { return f ? f->n_meta : 0; }

cn_status cn_safetensors_metadata_at(const cn_safetensors *f, int i, const char **key, const char **value)
{
    if (!f || i < 0 || i >= f->n_meta)
        return cn_set_error(CN_STATUS_INVALID_ARG, "%s: metadata index %d is not in 0..%d", f ? f->label : "safetensors", i,
                            f ? f->n_meta - 1 : -1);
    if (key) *key = f->meta[2 * i];
    if (value) *value = f->meta[2 * i + 1];
    return CN_OK;
}

/* ---- conversion ------------------------------------------------------------------------- */
static float f16_to_f32(uint16_t h)
{
    int exp = (h >> 10) & 0x1f, man = h & 0x3ff;
    float v;
    if (exp == 0) v = ldexpf((float)man, -24);                       /* zero and subnormals */
    else if (exp == 31) v = man ? NAN : INFINITY;
    else v = ldexpf((float)(man | 0x400), exp - 25);
    return (h & 0x8000) ? -v : v;
}

static float f8e4m3_to_f32(uint8_t b)
{
    int exp = (b >> 3) & 0xf, man = b & 7;
    float v;
    if (exp == 15 && man == 7) return NAN;                           /* the only NaN; no infinities */
    if (exp == 0) v = ldexpf((float)man, -9);
    else v = ldexpf((float)(man | 8), exp - 10);
    return (b & 0x80) ? -v : v;
}

static float bits_to_f32(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

cn_status cn_safetensors_to_f32(const cn_st_tensor *t, float *out)
{
    if (!t || !dtype_ok(t->dtype) || t->numel < 0 || (t->numel && (!t->data || !out)))
        return cn_set_error(CN_STATUS_INVALID_ARG, "safetensors_to_f32: bad tensor or output");
    const unsigned char *p = t->data;
    size_t es = dtype_info[t->dtype].size;
    for (int64_t i = 0; i < t->numel; i++, p += es) {
        float v;
        switch (t->dtype) {
        case CN_ST_DTYPE_BOOL: v = p[0] != 0; break;
        case CN_ST_DTYPE_U8: v = p[0]; break;
        case CN_ST_DTYPE_I8: v = (int8_t)p[0]; break;
        case CN_ST_DTYPE_F8_E5M2: v = f16_to_f32((uint16_t)(p[0] << 8)); break;
        case CN_ST_DTYPE_F8_E4M3: v = f8e4m3_to_f32(p[0]); break;
        case CN_ST_DTYPE_I16: v = (int16_t)ld16(p); break;
        case CN_ST_DTYPE_U16: v = ld16(p); break;
        case CN_ST_DTYPE_F16: v = f16_to_f32(ld16(p)); break;
        case CN_ST_DTYPE_BF16: v = bits_to_f32((uint32_t)ld16(p) << 16); break;
        case CN_ST_DTYPE_I32: v = (float)(int32_t)ld32(p); break;
        case CN_ST_DTYPE_U32: v = (float)ld32(p); break;
        case CN_ST_DTYPE_F32: v = bits_to_f32(ld32(p)); break;
        case CN_ST_DTYPE_F64: { uint64_t u = ld64(p); double d; memcpy(&d, &u, 8); v = (float)d; break; }
        case CN_ST_DTYPE_I64: v = (float)(int64_t)ld64(p); break;
        case CN_ST_DTYPE_U64: v = (float)ld64(p); break;
        default: v = 0; break;
        }
        out[i] = v;
    }
    return CN_OK;
}

cn_status cn_safetensors_to_i64(const cn_st_tensor *t, int64_t *out)
{
    if (!t || !dtype_ok(t->dtype) || t->numel < 0 || (t->numel && (!t->data || !out)))
        return cn_set_error(CN_STATUS_INVALID_ARG, "safetensors_to_i64: bad tensor or output");
    if (dtype_info[t->dtype].is_float)
        return cn_set_error(CN_STATUS_UNSUPPORTED, "tensor '%.200s': dtype %s is not an integer type; use cn_safetensors_to_f32",
                            t->name ? t->name : "", dtype_info[t->dtype].name);
    const unsigned char *p = t->data;
    size_t es = dtype_info[t->dtype].size;
    for (int64_t i = 0; i < t->numel; i++, p += es) {
        int64_t v;
        switch (t->dtype) {
        case CN_ST_DTYPE_BOOL: v = p[0] != 0; break;
        case CN_ST_DTYPE_U8: v = p[0]; break;
        case CN_ST_DTYPE_I8: v = (int8_t)p[0]; break;
        case CN_ST_DTYPE_I16: v = (int16_t)ld16(p); break;
        case CN_ST_DTYPE_U16: v = ld16(p); break;
        case CN_ST_DTYPE_I32: v = (int32_t)ld32(p); break;
        case CN_ST_DTYPE_U32: v = ld32(p); break;
        case CN_ST_DTYPE_I64: v = (int64_t)ld64(p); break;
        case CN_ST_DTYPE_U64: {
            uint64_t u = ld64(p);
            if (u > (uint64_t)INT64_MAX)
                return cn_set_error(CN_STATUS_LIMIT, "tensor '%.200s': element %lld is %llu, above INT64_MAX",
                                    t->name ? t->name : "", (long long)i, (unsigned long long)u);
            v = (int64_t)u;
            break;
        }
        default: v = 0; break;
        }
        out[i] = v;
    }
    return CN_OK;
}

/* ---- writing ---------------------------------------------------------------------------- */
static int host_is_little_endian(void)
{
    const uint16_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}

/* Write n bytes of elements of size es, as little-endian. */
static cn_status write_le(cn_atomic_file *af, const unsigned char *p, size_t n, size_t es)
{
    if (es == 1 || host_is_little_endian()) return cn_atomic_write(af, p, n);
    unsigned char chunk[4096];
    while (n) {
        size_t m = n < sizeof chunk ? n : sizeof chunk;
        for (size_t i = 0; i < m; i += es)
            for (size_t k = 0; k < es; k++) chunk[i + k] = p[i + es - 1 - k];
        cn_status st = cn_atomic_write(af, chunk, m);
        if (st != CN_OK) return st;
        p += m, n -= m;
    }
    return CN_OK;
}

static cJSON *int_array(const int64_t *v, int n)
{
    char buf[CN_ST_MAX_DIMS * 24 + 8];
    size_t k = 0;
    buf[k++] = '[';
    for (int i = 0; i < n; i++) k += (size_t)snprintf(buf + k, sizeof buf - k, "%s%lld", i ? "," : "", (long long)v[i]);
    snprintf(buf + k, sizeof buf - k, "]");
    return cJSON_CreateRaw(buf); /* exact 64-bit integers: cJSON would print doubles */
}

cn_status cn_safetensors_save(const char *path, const cn_st_tensor *tensors, int n, const char *const *meta_keys,
                              const char *const *meta_values, int n_meta)
{
    cn_status st = CN_OK;
    cJSON *root = NULL;
    char *json = NULL;
    uint64_t *begin = NULL, *size = NULL;
    int *order = NULL;
    named *sorted = NULL;
    cn_atomic_file af = {0};
    int opened = 0;
    if (!path) return cn_set_error(CN_STATUS_INVALID_ARG, "safetensors_save: path is NULL");
    if (n < 0 || (n && !tensors) || n_meta < 0 || (n_meta && (!meta_keys || !meta_values)))
        return cn_set_error(CN_STATUS_INVALID_ARG, "%s: bad tensor or metadata list (n=%d, n_meta=%d)", path, n, n_meta);
    begin = cn_calloc((size_t)n + 1, sizeof *begin, path);
    size = cn_calloc((size_t)n + 1, sizeof *size, path);
    order = cn_calloc((size_t)n + 1, sizeof *order, path);
    sorted = cn_calloc((size_t)(n > n_meta ? n : n_meta) + 1, sizeof *sorted, path);
    if (!begin || !size || !order || !sorted) {
        st = CN_STATUS_NOMEM;
        goto done;
    }
    /* validate */
    for (int i = 0; i < n; i++) {
        const cn_st_tensor *t = &tensors[i];
        const char *tn = t->name ? t->name : "(null)";
        if (!t->name || !strcmp(t->name, "__metadata__")) {
            st = cn_set_error(CN_STATUS_INVALID_ARG, "%s: tensor %d: name %s is not allowed", path, i, t->name ? "'__metadata__'" : "NULL");
            goto done;
        }
        if (utf8_check((const unsigned char *)t->name, strlen(t->name)) < strlen(t->name)) {
            st = cn_set_error(CN_STATUS_INVALID_ARG, "%s: tensor %d: name is not valid UTF-8", path, i);
            goto done;
        }
        if (!dtype_ok(t->dtype) || t->ndim < 0 || t->ndim > CN_ST_MAX_DIMS) {
            st = at_tensor(CN_STATUS_INVALID_ARG, path, tn, "dtype %d or ndim %d out of range (ndim 0..%d)", (int)t->dtype, t->ndim,
                           CN_ST_MAX_DIMS);
            goto done;
        }
        uint64_t nbytes = dtype_info[t->dtype].size;
        int overflow = 0;
        for (int d = 0; d < t->ndim; d++) {
            uint64_t v = (uint64_t)t->shape[d];
            if (t->shape[d] < 0) {
                st = at_tensor(CN_STATUS_SHAPE, path, tn, "dimension %d is negative (%lld)", d, (long long)t->shape[d]);
                goto done;
            }
            if (v && nbytes > UINT64_MAX / v) overflow = 1;
            else nbytes *= v;
        }
        if (overflow || nbytes > SIZE_MAX) {
            char sh[160];
            shape_str(t->shape, t->ndim, sh, sizeof sh);
            st = at_tensor(CN_STATUS_LIMIT, path, tn, "shape %s of %s is too large to store", sh, dtype_info[t->dtype].name);
            goto done;
        }
        if (t->nbytes && t->nbytes != nbytes) {
            st = at_tensor(CN_STATUS_INVALID_ARG, path, tn, "nbytes is %zu, but its shape and dtype %s need %llu", t->nbytes,
                           dtype_info[t->dtype].name, (unsigned long long)nbytes);
            goto done;
        }
        if (nbytes && !t->data) {
            st = at_tensor(CN_STATUS_INVALID_ARG, path, tn, "data is NULL");
            goto done;
        }
        size[i] = nbytes;
        sorted[i] = (named){t->name, i};
    }
    qsort(sorted, (size_t)n, sizeof *sorted, cmp_named);
    for (int i = 1; i < n; i++)
        if (!strcmp(sorted[i].s, sorted[i - 1].s)) {
            st = at_tensor(CN_STATUS_INVALID_ARG, path, sorted[i].s, "duplicate tensor name");
            goto done;
        }
    for (int i = 0; i < n_meta; i++) {
        if (!meta_keys[i] || !meta_values[i]) {
            st = cn_set_error(CN_STATUS_INVALID_ARG, "%s: metadata pair %d has a NULL key or value", path, i);
            goto done;
        }
        if (utf8_check((const unsigned char *)meta_keys[i], strlen(meta_keys[i])) < strlen(meta_keys[i]) ||
            utf8_check((const unsigned char *)meta_values[i], strlen(meta_values[i])) < strlen(meta_values[i])) {
            st = cn_set_error(CN_STATUS_INVALID_ARG, "%s: metadata pair %d ('%.100s') is not valid UTF-8", path, i, meta_keys[i]);
            goto done;
        }
        sorted[i] = (named){meta_keys[i], i};
    }
    qsort(sorted, (size_t)n_meta, sizeof *sorted, cmp_named);
    for (int i = 1; i < n_meta; i++)
        if (!strcmp(sorted[i].s, sorted[i - 1].s)) {
            st = cn_set_error(CN_STATUS_INVALID_ARG, "%s: duplicate metadata key '%.200s'", path, sorted[i].s);
            goto done;
        }
    /* data layout: by decreasing element size, stable */
    int k = 0;
    for (size_t es = 8; es >= 1; es /= 2)
        for (int i = 0; i < n; i++)
            if (dtype_info[tensors[i].dtype].size == es) order[k++] = i;
    uint64_t off = 0;
    for (k = 0; k < n; k++) {
        begin[order[k]] = off;
        off += size[order[k]]; /* a sum of sizes of objects in memory cannot overflow */
    }
    /* header */
    root = cJSON_CreateObject();
    if (!root) goto nomem;
    if (n_meta) {
        cJSON *meta = cJSON_AddObjectToObject(root, "__metadata__");
        if (!meta) goto nomem;
        for (int i = 0; i < n_meta; i++)
            if (!cJSON_AddStringToObject(meta, meta_keys[i], meta_values[i])) goto nomem;
    }
    for (int i = 0; i < n; i++) {
        const cn_st_tensor *t = &tensors[i];
        cJSON *e = cJSON_CreateObject();
        if (!e || !cJSON_AddItemToObject(root, t->name, e)) {
            cJSON_Delete(e);
            goto nomem;
        }
        int64_t offs[2] = {(int64_t)begin[i], (int64_t)(begin[i] + size[i])};
        cJSON *sh = int_array(t->shape, t->ndim), *of = int_array(offs, 2);
        if (!cJSON_AddStringToObject(e, "dtype", dtype_info[t->dtype].name) || !sh || !cJSON_AddItemToObject(e, "shape", sh)) {
            cJSON_Delete(sh), cJSON_Delete(of);
            goto nomem;
        }
        if (!of || !cJSON_AddItemToObject(e, "data_offsets", of)) {
            cJSON_Delete(of);
            goto nomem;
        }
    }
    json = cJSON_PrintUnformatted(root);
    if (!json) goto nomem;
    size_t hl = strlen(json), padded = (hl + 7) / 8 * 8;
    unsigned char pre[8];
    for (int b = 0; b < 8; b++) pre[b] = (unsigned char)((uint64_t)padded >> (8 * b));
    if ((st = cn_atomic_open(&af, path)) != CN_OK) goto done;
    opened = 1;
    if ((st = cn_atomic_write(&af, pre, 8)) != CN_OK || (st = cn_atomic_write(&af, json, hl)) != CN_OK ||
        (st = cn_atomic_write(&af, "        ", padded - hl)) != CN_OK)
        goto done;
    for (k = 0; k < n; k++) {
        const cn_st_tensor *t = &tensors[order[k]];
        if ((st = write_le(&af, t->data, (size_t)size[order[k]], dtype_info[t->dtype].size)) != CN_OK) goto done;
    }
    st = cn_atomic_commit(&af);
    opened = 0;
    goto done;
nomem:
    st = cn_set_error(CN_STATUS_NOMEM, "%s: out of memory building the JSON header", path);
done:
    if (opened) cn_atomic_abort(&af);
    if (json) cJSON_free(json);
    cJSON_Delete(root);
    cn_free(begin);
    cn_free(size);
    cn_free(order);
    cn_free(sorted);
    return st;
}
