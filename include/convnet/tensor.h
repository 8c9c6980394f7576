/* convnet/tensor.h — float32 tensors of up to 5 dimensions, and the arena.
 *
 * Layout: contiguous, row-major, NCHW family: a 5-D tensor is (N, C, D, H, W), 4-D
 * (N, C, H, W), 3-D (N, C, W). Every dimension is >= 1. Data is 64-byte aligned.
 *
 * Ownership: a tensor made by cn_tensor_create owns its data and frees it in
 * cn_tensor_destroy. A view (cn_tensor_view) borrows data that someone else owns: the
 * caller keeps that memory alive while the view is used; destroying a view frees only the
 * cn_tensor struct. cn_tensor_destroy accepts NULL.
 *
 *     cn_tensor *x;
 *     if (cn_tensor_create(&x, 4, (int64_t[]){8, 3, 32, 32}) != CN_OK) { ... }
 *     x->data[0] = 1.0f;
 *     cn_tensor_destroy(x);
 */
#ifndef CONVNET_TENSOR_H
#define CONVNET_TENSOR_H

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CN_MAX_DIMS 5
/* No single dimension may exceed this (2^31 - 1): kernels index with 64-bit products of
 * 32-bit-safe extents. */
#define CN_MAX_DIM_EXTENT 2147483647LL

typedef struct cn_shape {
    int ndim;
    int64_t dim[CN_MAX_DIMS];
} cn_shape;

typedef struct cn_tensor {
    cn_shape shape;
    float *data;  /* 64-byte aligned; owned iff `owns` */
    int owns;
} cn_tensor;

/* ---- shapes ---- */
/* Build and validate a shape: 1..5 dims, each in [1, CN_MAX_DIM_EXTENT], product without
 * overflow and within the memory cap. Errors name the offending dimension and value. */
cn_status cn_shape_make(cn_shape *s, int ndim, const int64_t *dims);
/* Validate an existing shape (the same rules). `what` names it in messages. */
cn_status cn_shape_check(const cn_shape *s, const char *what);
/* Number of elements (the shape must be valid). */
int64_t cn_shape_numel(const cn_shape *s);
int cn_shape_equal(const cn_shape *a, const cn_shape *b);
/* "2x3x4" into buf (always terminated); returns buf. */
char *cn_shape_str(const cn_shape *s, char *buf, size_t cap);
/* Parse "2x3x4" (also "2,3,4"); errors name the text and the position. */
cn_status cn_shape_parse(cn_shape *s, const char *text);

/* ---- tensors ---- */
/* New zero-filled tensor owning its data. *out is NULL on failure. */
cn_status cn_tensor_create(cn_tensor **out, int ndim, const int64_t *dims);
cn_status cn_tensor_create_shape(cn_tensor **out, const cn_shape *s);
/* New tensor borrowing `data` (not copied, not freed). */
cn_status cn_tensor_view(cn_tensor **out, const cn_shape *s, float *data);
/* Deep copy (owns its data). */
cn_status cn_tensor_clone(cn_tensor **out, const cn_tensor *t);
/* Change the shape, keeping the element count; error names both shapes. */
cn_status cn_tensor_reshape(cn_tensor *t, int ndim, const int64_t *dims);
void cn_tensor_destroy(cn_tensor *t);
int64_t cn_tensor_numel(const cn_tensor *t);
void cn_tensor_fill(cn_tensor *t, float v);

/* ---- arena ----------------------------------------------------------------------------
 * One block of memory carved into regions at fixed offsets: planning reserves regions
 * (cn_arena_reserve returns an offset), cn_arena_commit allocates the block once, and
 * cn_arena_at turns an offset into a pointer. Nothing is allocated after commit, so a
 * model runs many steps without touching the allocator. Regions are 64-byte aligned.
 * The arena is caller-owned: cn_arena_init / cn_arena_free. */
typedef struct cn_arena {
    size_t size;     /* bytes reserved so far */
    size_t capacity; /* bytes committed (0 before commit) */
    unsigned char *base;
} cn_arena;

void cn_arena_init(cn_arena *a);
/* Reserve `bytes` (rounded up to 64); *offset receives its position. Fails with
 * CN_STATUS_LIMIT on overflow or beyond the memory cap; `what` names the region. */
cn_status cn_arena_reserve(cn_arena *a, size_t bytes, size_t *offset, const char *what);
/* Allocate the block (zero-filled). Committing again after more reservations reallocates
 * (old pointers become invalid); committing with nothing new is a no-op. */
cn_status cn_arena_commit(cn_arena *a);
/* Pointer to the region at `offset` (arena must be committed). */
void *cn_arena_at(const cn_arena *a, size_t offset);
/* Forget all reservations (keeps the block for reuse if large enough). */
void cn_arena_reset(cn_arena *a);
void cn_arena_free(cn_arena *a);

#ifdef __cplusplus
}
#endif
#endif
