/* test_tensor.c — shapes (valid, zero, absurd, parsed), tensors, views, reshape, arena. */
#include <string.h>

#include "test.h"

static void test_shape_rules(void)
{
    cn_shape s;
    CHECK_OK(cn_shape_make(&s, 4, (int64_t[]){2, 3, 4, 5}));
    CHECK_EQ_INT(cn_shape_numel(&s), 120);
    char buf[64];
    CHECK(!strcmp(cn_shape_str(&s, buf, sizeof buf), "2x3x4x5"));
    CHECK_ERR(cn_shape_make(&s, 0, (int64_t[]){1}), CN_STATUS_SHAPE, "rank 0");
    CHECK_ERR(cn_shape_make(&s, 6, (int64_t[]){1, 1, 1, 1, 1, 1}), CN_STATUS_SHAPE, "rank 6");
    CHECK_ERR(cn_shape_make(&s, 3, (int64_t[]){2, 0, 4}), CN_STATUS_SHAPE, "dimension 1 of shape 2x0x4 is 0");
    CHECK_ERR(cn_shape_make(&s, 2, (int64_t[]){-3, 4}), CN_STATUS_SHAPE, "is -3");
}

static void test_absurd_shapes(void)
{
    cn_tensor *t = (cn_tensor *)1;
    /* 2^40 elements = 4 TiB of floats: refused before allocating, with the shape in the message */
    CHECK_ERR(cn_tensor_create(&t, 2, (int64_t[]){1 << 20, 1 << 20}), CN_STATUS_LIMIT, "1048576x1048576");
    CHECK(t == NULL);
    CHECK_ERR(cn_tensor_create(&t, 5, (int64_t[]){1LL << 31, 1LL << 31, 1LL << 31, 2, 2}), CN_STATUS_LIMIT, "above the limit");
    CHECK_ERR(cn_tensor_create(&t, 4, (int64_t[]){1 << 30, 1 << 30, 1 << 30, 1 << 30}), CN_STATUS_LIMIT, "overflows");
}

static void test_shape_parse(void)
{
    cn_shape s;
    CHECK_OK(cn_shape_parse(&s, "8x3x32x32"));
    CHECK_EQ_INT(s.ndim, 4);
    CHECK_EQ_INT(s.dim[1], 3);
    CHECK_OK(cn_shape_parse(&s, "5,7"));
    CHECK_EQ_INT(s.dim[1], 7);
    CHECK_ERR(cn_shape_parse(&s, ""), CN_STATUS_INVALID_ARG, "empty");
    CHECK_ERR(cn_shape_parse(&s, "3xax4"), CN_STATUS_INVALID_ARG, "position 3");
    CHECK_ERR(cn_shape_parse(&s, "3x0"), CN_STATUS_SHAPE, "is 0");
    CHECK_ERR(cn_shape_parse(&s, "1x2x3x4x5x6"), CN_STATUS_SHAPE, "more than 5");
    CHECK_ERR(cn_shape_parse(&s, "99999999999999999999999"), CN_STATUS_LIMIT, "too large");
    CHECK_ERR(cn_shape_parse(&s, "1048576x1048576"), CN_STATUS_LIMIT, "memory cap");
}

static void test_tensor_lifecycle(void)
{
    cn_tensor *t, *c, *v;
    CHECK_OK(cn_tensor_create(&t, 3, (int64_t[]){2, 3, 4}));
    CHECK(t->owns && ((uintptr_t)t->data % 64) == 0);
    float zero_sum = 0;
    for (int i = 0; i < 24; i++) zero_sum += t->data[i];
    CHECK(zero_sum == 0);
    for (int i = 0; i < 24; i++) t->data[i] = (float)i;
    CHECK_OK(cn_tensor_clone(&c, t));
    CHECK(c->data != t->data && !memcmp(c->data, t->data, 24 * 4));
    CHECK_OK(cn_tensor_reshape(c, 2, (int64_t[]){6, 4}));
    CHECK_EQ_INT(c->shape.dim[0], 6);
    CHECK_ERR(cn_tensor_reshape(c, 2, (int64_t[]){5, 5}), CN_STATUS_SHAPE, "24 elements");
    CHECK_OK(cn_tensor_view(&v, &t->shape, t->data + 0));
    CHECK(!v->owns && v->data == t->data);
    v->data[5] = -1;
    CHECK(t->data[5] == -1);
    cn_tensor_destroy(v); /* frees only the struct */
    CHECK(t->data[5] == -1);
    cn_tensor_fill(c, 2.5f);
    CHECK(c->data[23] == 2.5f);
    cn_tensor_destroy(c);
    cn_tensor_destroy(t);
    cn_tensor_destroy(NULL);
    CHECK_ERR(cn_tensor_view(&v, &(cn_shape){1, {4}}, NULL), CN_STATUS_INVALID_ARG, "NULL");
}

static void test_arena(void)
{
    cn_arena a;
    cn_arena_init(&a);
    size_t o1, o2, o3;
    CHECK_OK(cn_arena_reserve(&a, 10, &o1, "x"));
    CHECK_OK(cn_arena_reserve(&a, 100, &o2, "y"));
    CHECK_OK(cn_arena_reserve(&a, 0, &o3, "z"));
    CHECK(o1 == 0 && o2 == 64 && o3 == 64 + 128);
    CHECK(cn_arena_at(&a, o1) == NULL); /* not committed yet */
    CHECK_OK(cn_arena_commit(&a));
    float *x = cn_arena_at(&a, o2);
    CHECK(((uintptr_t)x % 64) == 0);
    x[24] = 3; /* within the 100-byte region */
    unsigned char *base = a.base;
    cn_arena_reset(&a);
    CHECK_OK(cn_arena_reserve(&a, 50, &o1, "again"));
    CHECK_OK(cn_arena_commit(&a)); /* fits: block reused, no reallocation */
    CHECK(a.base == base);
    size_t big;
    CHECK_ERR(cn_arena_reserve(&a, SIZE_MAX - 10, &big, "activations"), CN_STATUS_LIMIT, "activations");
    cn_arena_free(&a);
    CHECK(a.base == NULL);
}

int main(void)
{
    RUN(test_shape_rules);
    RUN(test_absurd_shapes);
    RUN(test_shape_parse);
    RUN(test_tensor_lifecycle);
    RUN(test_arena);
    return cn_test_finish();
}
