/* tensor.c — creation, views, copies and destruction of cn_tensor. */
#include "convnet/tensor.h"

#include <string.h>

cn_status cn_tensor_create_shape(cn_tensor **out, const cn_shape *s)
{
    *out = NULL;
    cn_status st = cn_shape_check(s, "tensor");
    if (st != CN_OK) return st;
    cn_tensor *t = cn_malloc(sizeof *t, "tensor");
    if (!t) return CN_STATUS_NOMEM;
    size_t bytes = (size_t)cn_shape_numel(s) * sizeof(float);
    t->data = cn_malloc(bytes, "tensor data");
    if (!t->data) {
        cn_free(t);
        return CN_STATUS_NOMEM; /* the shape check already enforced the memory cap */
    }
    memset(t->data, 0, bytes);
    t->shape = *s;
    t->owns = 1;
    *out = t;
    return CN_OK;
}

cn_status cn_tensor_create(cn_tensor **out, int ndim, const int64_t *dims)
{
    cn_shape s;
    *out = NULL;
    cn_status st = cn_shape_make(&s, ndim, dims);
    if (st != CN_OK) return st;
    return cn_tensor_create_shape(out, &s);
}

cn_status cn_tensor_view(cn_tensor **out, const cn_shape *s, float *data)
{
    *out = NULL;
    if (!data) return cn_set_error(CN_STATUS_INVALID_ARG, "tensor view: data is NULL");
    cn_status st = cn_shape_check(s, "tensor view");
    if (st != CN_OK) return st;
    cn_tensor *t = cn_malloc(sizeof *t, "tensor view");
    if (!t) return CN_STATUS_NOMEM;
    t->shape = *s;
    t->data = data;
    t->owns = 0;
    *out = t;
    return CN_OK;
}

cn_status cn_tensor_clone(cn_tensor **out, const cn_tensor *src)
{
    cn_status st = cn_tensor_create_shape(out, &src->shape);
    if (st != CN_OK) return st;
    memcpy((*out)->data, src->data, (size_t)cn_shape_numel(&src->shape) * sizeof(float));
    return CN_OK;
}

cn_status cn_tensor_reshape(cn_tensor *t, int ndim, const int64_t *dims)
{
    cn_shape s;
    cn_status st = cn_shape_make(&s, ndim, dims);
    if (st != CN_OK) return st;
    if (cn_shape_numel(&s) != cn_shape_numel(&t->shape)) {
        char a[128], b[128];
        return cn_set_error(CN_STATUS_SHAPE, "reshape: %s (%lld elements) cannot become %s (%lld elements)",
                            cn_shape_str(&t->shape, a, sizeof a), (long long)cn_shape_numel(&t->shape),
                            cn_shape_str(&s, b, sizeof b), (long long)cn_shape_numel(&s));
    }
    t->shape = s;
    return CN_OK;
}

void cn_tensor_destroy(cn_tensor *t)
{
    if (!t) return;
    if (t->owns) cn_free(t->data);
    cn_free(t);
}

int64_t cn_tensor_numel(const cn_tensor *t) { return cn_shape_numel(&t->shape); }

void cn_tensor_fill(cn_tensor *t, float v)
{
    int64_t n = cn_tensor_numel(t);
    for (int64_t i = 0; i < n; i++) t->data[i] = v;
}
