/* npy.c — NumPy .npy reading (v1/v2/v3, any endianness, numeric dtypes) and atomic writing.
 * Format: "\x93NUMPY", major, minor, header length (u16 for v1, u32 for v2/v3), then a
 * Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } padded
 * with spaces and ending in '\n', then the raw data in C order. */
#include "convnet/npy.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "file.h"

static const struct {
    char kind;
    int size;
    cn_dtype dtype;
    const char *name;
} dtypes[] = {
    {'f', 4, CN_DTYPE_F32, "float32"}, {'f', 8, CN_DTYPE_F64, "float64"}, {'f', 2, CN_DTYPE_F16, "float16"},
    {'i', 1, CN_DTYPE_I8, "int8"},     {'i', 2, CN_DTYPE_I16, "int16"},   {'i', 4, CN_DTYPE_I32, "int32"},
    {'i', 8, CN_DTYPE_I64, "int64"},   {'u', 1, CN_DTYPE_U8, "uint8"},    {'u', 2, CN_DTYPE_U16, "uint16"},
    {'u', 4, CN_DTYPE_U32, "uint32"},  {'u', 8, CN_DTYPE_U64, "uint64"},  {'b', 1, CN_DTYPE_BOOL, "bool"},
};
#define N_DTYPES (sizeof dtypes / sizeof dtypes[0])

const char *cn_dtype_name(cn_dtype t)
{
    for (size_t i = 0; i < N_DTYPES; i++)
        if (dtypes[i].dtype == t) return dtypes[i].name;
    return "unknown";
}

size_t cn_dtype_size(cn_dtype t)
{
    for (size_t i = 0; i < N_DTYPES; i++)
        if (dtypes[i].dtype == t) return (size_t)dtypes[i].size;
    return 0;
}

void cn_npy_free(cn_npy *a)
{
    if (!a) return;
    cn_free(a->f32);
    cn_free(a->i64);
    memset(a, 0, sizeof *a);
}

/* ---- header dict parsing ---- */
typedef struct {
    const char *p, *end, *name;
} cursor;

static void skip_ws(cursor *c)
{
    while (c->p < c->end && isspace((unsigned char)*c->p)) c->p++;
}

static int eat(cursor *c, char ch)
{
    skip_ws(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return 1;
    }
    return 0;
}

/* a quoted string ('...' or "...") into out */
static int read_str(cursor *c, char *out, size_t cap)
{
    skip_ws(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"')) return 0;
    char q = *c->p++;
    size_t n = 0;
    while (c->p < c->end && *c->p != q) {
        if (n + 1 >= cap) return 0;
        out[n++] = *c->p++;
    }
    if (c->p >= c->end) return 0;
    c->p++;
    out[n] = '\0';
    return 1;
}

static float half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
    if (exp == 0) {
        if (!man) bits = sign;
        else { /* subnormal: normalize */
            int e = -1;
            do { man <<= 1; e++; } while (!(man & 0x400));
            bits = sign | ((uint32_t)(127 - 15 - e) << 23) | ((man & 0x3ff) << 13);
        }
    } else if (exp == 31) bits = sign | 0x7f800000u | (man << 13);
    else bits = sign | ((exp + 127 - 15) << 23) | (man << 13);
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static cn_status bad(const char *name, const char *what, long offset)
{
    return cn_set_error(CN_STATUS_FORMAT, "%s: offset %ld: %s", name, offset, what);
}

cn_status cn_npy_parse(cn_npy *a, const void *buf, size_t len, const char *name)
{
    memset(a, 0, sizeof *a);
    const unsigned char *b = buf;
    if (!name) name = "npy";
    if (len < 10 || memcmp(b, "\x93NUMPY", 6) != 0) return bad(name, "not a .npy file (expected the magic \\x93NUMPY)", 0);
    int major = b[6];
    size_t hlen, hstart;
    if (major == 1) {
        hlen = (size_t)b[8] | (size_t)b[9] << 8;
        hstart = 10;
    } else if (major == 2 || major == 3) {
        if (len < 12) return bad(name, "truncated header length", 8);
        hlen = (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 | (size_t)b[11] << 24;
        hstart = 12;
    } else {
        return cn_set_error(CN_STATUS_UNSUPPORTED, "%s: offset 6: .npy format version %d.%d is not supported (1, 2, 3 are)",
                            name, major, b[7]);
    }
    if (hlen > len - hstart) {
        char msg[128];
        snprintf(msg, sizeof msg, "header claims %zu bytes but the file has %zu after offset %zu", hlen, len - hstart, hstart);
        return bad(name, msg, (long)hstart - 2);
    }
    cursor c = {(const char *)b + hstart, (const char *)b + hstart + hlen, name};
    char descr[32] = "";
    int have_descr = 0, have_order = 0, have_shape = 0, fortran = 0;
    if (!eat(&c, '{')) return bad(name, "header does not start with '{'", (long)hstart);
    while (!eat(&c, '}')) {
        char key[32];
        long off = (long)(c.p - (const char *)b);
        if (!read_str(&c, key, sizeof key) || !eat(&c, ':')) return bad(name, "expected 'key': in the header dict", off);
        if (!strcmp(key, "descr")) {
            if (!read_str(&c, descr, sizeof descr)) return bad(name, "expected a dtype string for 'descr'", off);
            have_descr = 1;
        } else if (!strcmp(key, "fortran_order")) {
            skip_ws(&c);
            if (c.end - c.p >= 4 && !memcmp(c.p, "True", 4)) fortran = 1, c.p += 4;
            else if (c.end - c.p >= 5 && !memcmp(c.p, "False", 5)) c.p += 5;
            else return bad(name, "expected True or False for 'fortran_order'", off);
            have_order = 1;
        } else if (!strcmp(key, "shape")) {
            if (!eat(&c, '(')) return bad(name, "expected '(' after 'shape':", off);
            while (!eat(&c, ')')) {
                skip_ws(&c);
                long doff = (long)(c.p - (const char *)b);
                if (c.p >= c.end || !isdigit((unsigned char)*c.p)) return bad(name, "expected a dimension in 'shape'", doff);
                uint64_t v = 0;
                while (c.p < c.end && isdigit((unsigned char)*c.p)) {
                    uint64_t digit = (uint64_t)(*c.p - '0');
                    if (v > ((uint64_t)INT64_MAX - digit) / 10) return bad(name, "dimension in 'shape' overflows", doff);
                    v = v * 10 + digit;
                    c.p++;
                }
                skip_ws(&c);
                if (c.p < c.end && *c.p == 'L') c.p++; /* Python 2 longs */
                if (a->ndim == CN_NPY_MAX_DIMS) return bad(name, "more than 32 dimensions in 'shape'", doff);
                a->shape[a->ndim++] = (int64_t)v;
                if (!eat(&c, ',') && !(skip_ws(&c), c.p < c.end && *c.p == ')'))
                    return bad(name, "expected ',' or ')' in 'shape'", (long)(c.p - (const char *)b));
            }
            have_shape = 1;
        } else {
            char msg[96];
            snprintf(msg, sizeof msg, "unknown header key '%s'", key);
            return bad(name, msg, off);
        }
        if (!eat(&c, ',')) {
            if (!eat(&c, '}')) return bad(name, "expected ',' or '}' in the header dict", (long)(c.p - (const char *)b));
            break;
        }
    }
    if (!have_descr || !have_order || !have_shape)
        return bad(name, "header lacks one of 'descr', 'fortran_order', 'shape'", (long)hstart);
    if (fortran)
        return cn_set_error(CN_STATUS_UNSUPPORTED, "%s: Fortran-order arrays are not supported; save with np.ascontiguousarray",
                            name);
    /* dtype */
    char endian = descr[0];
    if (endian != '<' && endian != '>' && endian != '|' && endian != '=')
        return cn_set_error(CN_STATUS_UNSUPPORTED, "%s: dtype '%s' is not supported", name, descr);
    char kind = descr[1];
    int size = atoi(descr + 2);
    if (strspn(descr + 2, "0123456789") != strlen(descr + 2)) size = -1; /* '<f4x' is not float32 */
    int found = -1;
    for (size_t i = 0; i < N_DTYPES; i++)
        if (dtypes[i].kind == kind && dtypes[i].size == size && descr[2] && isdigit((unsigned char)descr[2])) found = (int)i;
    if (found < 0)
        return cn_set_error(CN_STATUS_UNSUPPORTED, "%s: dtype '%s' is not supported (float16/32/64, [u]int8..64 and bool are)",
                            name, descr);
    a->dtype = dtypes[found].dtype;
    int swap = endian == '>' && size > 1;
    /* sizes */
    uint64_t numel = 1;
    for (int i = 0; i < a->ndim; i++)
        if (cn_mul_size(numel, (uint64_t)a->shape[i], &numel, name) != CN_OK) return CN_STATUS_LIMIT;
    size_t data_off = hstart + hlen;
    uint64_t bytes;
    if (cn_mul_size(numel, (uint64_t)size, &bytes, name) != CN_OK) return CN_STATUS_LIMIT;
    if (bytes != (uint64_t)(len - data_off)) {
        cn_npy_free(a);
        return cn_set_error(CN_STATUS_FORMAT, "%s: offset %zu: shape and dtype need %llu bytes of data, the file has %zu", name,
                            data_off, (unsigned long long)bytes, len - data_off);
    }
    a->numel = (int64_t)numel;
    a->f32 = cn_calloc(numel ? numel : 1, sizeof(float), name);
    int is_int = kind != 'f';
    if (is_int) a->i64 = cn_calloc(numel ? numel : 1, sizeof(int64_t), name);
    if (!a->f32 || (is_int && !a->i64)) {
        cn_npy_free(a);
        return CN_STATUS_NOMEM; /* cn_calloc set the message (cap or out of memory) */
    }
    const unsigned char *d = b + data_off;
    for (uint64_t i = 0; i < numel; i++) {
        unsigned char e[8];
        for (int k = 0; k < size; k++) e[k] = d[i * (uint64_t)size + (uint64_t)(swap ? size - 1 - k : k)];
        uint64_t u = 0;
        for (int k = size - 1; k >= 0; k--) u = u << 8 | e[k];
        switch (a->dtype) {
        case CN_DTYPE_F32: { float f; uint32_t w = (uint32_t)u; memcpy(&f, &w, 4); a->f32[i] = f; break; }
        case CN_DTYPE_F64: { double f; memcpy(&f, &u, 8); a->f32[i] = (float)f; break; }
        case CN_DTYPE_F16: a->f32[i] = half_to_float((uint16_t)u); break;
        case CN_DTYPE_I8: a->i64[i] = (int8_t)u; break;
        case CN_DTYPE_I16: a->i64[i] = (int16_t)u; break;
        case CN_DTYPE_I32: a->i64[i] = (int32_t)u; break;
        case CN_DTYPE_I64: a->i64[i] = (int64_t)u; break;
        case CN_DTYPE_BOOL: a->i64[i] = u != 0; break;
        default: a->i64[i] = (int64_t)u; break; /* unsigned; u64 above 2^63 wraps, as numpy's astype does */
        }
        if (is_int) a->f32[i] = (float)a->i64[i];
    }
    return CN_OK;
}

cn_status cn_npy_load(cn_npy *a, const char *path)
{
    memset(a, 0, sizeof *a);
    unsigned char *buf;
    size_t len;
    cn_status st = cn_file_read_all(path, &buf, &len);
    if (st != CN_OK) return st;
    st = cn_npy_parse(a, buf, len, path);
    cn_free(buf);
    return st;
}

cn_status cn_npy_load_tensor(cn_tensor **out, const char *path)
{
    *out = NULL;
    cn_npy a;
    cn_status st = cn_npy_load(&a, path);
    if (st != CN_OK) return st;
    if (a.ndim < 1 || a.ndim > CN_MAX_DIMS) {
        st = cn_set_error(CN_STATUS_SHAPE, "%s: array has %d dimensions; a tensor needs 1..%d", path, a.ndim, CN_MAX_DIMS);
        goto done;
    }
    cn_shape s = {.ndim = a.ndim};
    for (int i = 0; i < a.ndim; i++) s.dim[i] = a.shape[i];
    if ((st = cn_shape_check(&s, path)) != CN_OK) goto done;
    if ((st = cn_tensor_create_shape(out, &s)) != CN_OK) goto done;
    memcpy((*out)->data, a.f32, (size_t)a.numel * sizeof(float));
done:
    cn_npy_free(&a);
    return st;
}

cn_status cn_npy_save(const char *path, cn_dtype dtype, int ndim, const int64_t *shape, const void *data)
{
    if (dtype != CN_DTYPE_F32 && dtype != CN_DTYPE_I64)
        return cn_set_error(CN_STATUS_UNSUPPORTED, "%s: writing dtype %s is not supported (float32, int64 are)", path,
                            cn_dtype_name(dtype));
    if (ndim < 0 || ndim > CN_NPY_MAX_DIMS)
        return cn_set_error(CN_STATUS_INVALID_ARG, "%s: %d dimensions is not in 0..%d", path, ndim, CN_NPY_MAX_DIMS);
    char header[1024];
    int n = snprintf(header, sizeof header, "{'descr': '%s', 'fortran_order': False, 'shape': (",
                     dtype == CN_DTYPE_F32 ? "<f4" : "<i8");
    uint64_t numel = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0) return cn_set_error(CN_STATUS_SHAPE, "%s: dimension %d is negative (%lld)", path, i, (long long)shape[i]);
        if (cn_mul_size(numel, (uint64_t)shape[i], &numel, path) != CN_OK) return CN_STATUS_LIMIT;
        n += snprintf(header + n, sizeof header - (size_t)n, "%lld%s", (long long)shape[i], ndim == 1 ? "," : (i + 1 < ndim ? ", " : ""));
    }
    n += snprintf(header + n, sizeof header - (size_t)n, "), }");
    /* pad so that magic(6)+version(2)+len(2)+header is a multiple of 64, ending in '\n' */
    size_t total = 10 + (size_t)n + 1;
    size_t padded = (total + 63) / 64 * 64;
    while ((size_t)n < padded - 10 - 1) header[n++] = ' ';
    header[n++] = '\n';
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(n & 0xff), (unsigned char)(n >> 8)};
    uint64_t bytes;
    if (cn_mul_size(numel, 8 - 4 * (dtype == CN_DTYPE_F32), &bytes, path) != CN_OK) return CN_STATUS_LIMIT;
    cn_atomic_file af;
    cn_status st = cn_atomic_open(&af, path);
    if (st != CN_OK) return st;
    if ((st = cn_atomic_write(&af, pre, sizeof pre)) != CN_OK || (st = cn_atomic_write(&af, header, (size_t)n)) != CN_OK ||
        (st = cn_atomic_write(&af, data, (size_t)bytes)) != CN_OK) {
        cn_atomic_abort(&af);
        return st;
    }
    return cn_atomic_commit(&af);
}

cn_status cn_npy_save_tensor(const char *path, const cn_tensor *t)
{
    return cn_npy_save(path, CN_DTYPE_F32, t->shape.ndim, t->shape.dim, t->data);
}
