/* shape.c — shape validation, formatting and parsing. The only place that decides whether
 * a shape is acceptable (dims 1..5, each >= 1, no overflow, within the memory cap). */
#include "convnet/tensor.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *cn_shape_str(const cn_shape *s, char *buf, size_t cap)
{
    size_t used = 0;
    if (!cap) return buf;
    buf[0] = '\0';
    if (s->ndim < 0 || s->ndim > CN_MAX_DIMS) {
        snprintf(buf, cap, "<bad rank %d>", s->ndim);
        return buf;
    }
    for (int i = 0; i < s->ndim && used < cap; i++) {
        int w = snprintf(buf + used, cap - used, "%s%lld", i ? "x" : "", (long long)s->dim[i]);
        if (w < 0) break;
        used += (size_t)w;
    }
    return buf;
}

cn_status cn_shape_check(const cn_shape *s, const char *what)
{
    if (!what) what = "tensor";
    if (s->ndim < 1 || s->ndim > CN_MAX_DIMS)
        return cn_set_error(CN_STATUS_SHAPE, "%s: rank %d is not in 1..%d", what, s->ndim, CN_MAX_DIMS);
    uint64_t total = 1;
    for (int i = 0; i < s->ndim; i++) {
        int64_t d = s->dim[i];
        if (d < 1) {
            char buf[128];
            return cn_set_error(CN_STATUS_SHAPE, "%s: dimension %d of shape %s is %lld; every dimension must be >= 1",
                                what, i, cn_shape_str(s, buf, sizeof buf), (long long)d);
        }
        if (d > CN_MAX_DIM_EXTENT) {
            char buf[128];
            return cn_set_error(CN_STATUS_LIMIT, "%s: dimension %d of shape %s is %lld, above the limit %lld", what, i,
                                cn_shape_str(s, buf, sizeof buf), (long long)d, (long long)CN_MAX_DIM_EXTENT);
        }
        if (cn_mul_size(total, (uint64_t)d, &total, what) != CN_OK) return CN_STATUS_LIMIT;
    }
    uint64_t bytes;
    if (cn_mul_size(total, sizeof(float), &bytes, what) != CN_OK || bytes > cn_memory_limit()) {
        char buf[128];
        return cn_set_error(CN_STATUS_LIMIT, "%s: shape %s has %llu elements (%.3g GiB), above the memory cap of %.3g GiB",
                            what, cn_shape_str(s, buf, sizeof buf), (unsigned long long)total,
                            (double)total * 4.0 / 1073741824.0, (double)cn_memory_limit() / 1073741824.0);
    }
    return CN_OK;
}

cn_status cn_shape_make(cn_shape *s, int ndim, const int64_t *dims)
{
    memset(s, 0, sizeof *s);
    if (ndim < 1 || ndim > CN_MAX_DIMS)
        return cn_set_error(CN_STATUS_SHAPE, "shape: rank %d is not in 1..%d", ndim, CN_MAX_DIMS);
    if (!dims) return cn_set_error(CN_STATUS_INVALID_ARG, "shape: dims is NULL");
    s->ndim = ndim;
    for (int i = 0; i < ndim; i++) s->dim[i] = dims[i];
    return cn_shape_check(s, "shape");
}

int64_t cn_shape_numel(const cn_shape *s)
{
    int64_t n = 1;
    for (int i = 0; i < s->ndim; i++) n *= s->dim[i];
    return n;
}

int cn_shape_equal(const cn_shape *a, const cn_shape *b)
{
    if (a->ndim != b->ndim) return 0;
    for (int i = 0; i < a->ndim; i++)
        if (a->dim[i] != b->dim[i]) return 0;
    return 1;
}

cn_status cn_shape_parse(cn_shape *s, const char *text)
{
    memset(s, 0, sizeof *s);
    if (!text || !*text) return cn_set_error(CN_STATUS_INVALID_ARG, "shape '': empty; expected e.g. 2x3x28x28");
    const char *p = text;
    int n = 0;
    int64_t dims[CN_MAX_DIMS];
    for (;;) {
        if (!isdigit((unsigned char)*p))
            return cn_set_error(CN_STATUS_INVALID_ARG, "shape '%s': expected a number at position %d, found '%c'", text,
                                (int)(p - text) + 1, *p ? *p : ' ');
        if (n == CN_MAX_DIMS)
            return cn_set_error(CN_STATUS_SHAPE, "shape '%s': more than %d dimensions", text, CN_MAX_DIMS);
        errno = 0;
        char *end;
        unsigned long long v = strtoull(p, &end, 10);
        if (errno == ERANGE || v > (unsigned long long)INT64_MAX)
            return cn_set_error(CN_STATUS_LIMIT, "shape '%s': dimension %d is too large", text, n);
        dims[n++] = (int64_t)v;
        p = end;
        if (!*p) break;
        if (*p != 'x' && *p != 'X' && *p != ',')
            return cn_set_error(CN_STATUS_INVALID_ARG, "shape '%s': unexpected '%c' at position %d; separate dimensions with 'x'",
                                text, *p, (int)(p - text) + 1);
        p++;
    }
    s->ndim = n;
    for (int i = 0; i < n; i++) s->dim[i] = dims[i];
    return cn_shape_check(s, "tensor");
}
