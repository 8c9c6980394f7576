/* arena.c — one committed block carved into regions reserved at plan time. */
#include "convnet/tensor.h"

#include <string.h>

#define ARENA_ALIGN 64

void cn_arena_init(cn_arena *a) { memset(a, 0, sizeof *a); }

cn_status cn_arena_reserve(cn_arena *a, size_t bytes, size_t *offset, const char *what)
{
    if (!what) what = "arena region";
    size_t rounded = (bytes + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    if (rounded < bytes || a->size > SIZE_MAX - rounded || (uint64_t)(a->size + rounded) > cn_memory_limit())
        return cn_set_error(CN_STATUS_LIMIT, "%s: %zu bytes on top of %zu already reserved exceeds the memory cap of %llu bytes",
                            what, bytes, a->size, (unsigned long long)cn_memory_limit());
    *offset = a->size;
    a->size += rounded;
    return CN_OK;
}

cn_status cn_arena_commit(cn_arena *a)
{
    if (a->base && a->capacity >= a->size) {
        memset(a->base, 0, a->size);
        return CN_OK;
    }
    unsigned char *p = cn_malloc(a->size ? a->size : ARENA_ALIGN, "arena");
    if (!p) return CN_STATUS_NOMEM; /* reserve already enforced the memory cap */
    memset(p, 0, a->size);
    cn_free(a->base);
    a->base = p;
    a->capacity = a->size;
    return CN_OK;
}

void *cn_arena_at(const cn_arena *a, size_t offset) { return a->base ? a->base + offset : NULL; }

void cn_arena_reset(cn_arena *a) { a->size = 0; }

void cn_arena_free(cn_arena *a)
{
    cn_free(a->base);
    memset(a, 0, sizeof *a);
}
