/* alloc.c — the one allocation hook, the memory cap, and checked size arithmetic. */
#include "convnet/core.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CN_ALIGN 64

static void *default_alloc(size_t size, size_t align, void *user)
{
    (void)user;
    /* aligned_alloc wants size to be a multiple of align */
    size_t rounded = (size + align - 1) / align * align;
    return aligned_alloc(align, rounded ? rounded : align);
}

static void default_free(void *p, void *user)
{
    (void)user;
    free(p);
}

static cn_allocator hook = {default_alloc, default_free, NULL};
static uint64_t memory_cap; /* 0 = not yet computed */

void cn_set_allocator(const cn_allocator *a)
{
    if (a && a->alloc && a->free) hook = *a;
    else hook = (cn_allocator){default_alloc, default_free, NULL};
}

static uint64_t physical_memory(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (pages <= 0 || page <= 0) return (uint64_t)1 << 34; /* 16 GiB if unknown */
    return (uint64_t)pages * (uint64_t)page;
}

void cn_set_memory_limit(uint64_t bytes) { memory_cap = bytes ? bytes : physical_memory(); }

uint64_t cn_memory_limit(void)
{
    if (!memory_cap) memory_cap = physical_memory();
    return memory_cap;
}

void *cn_malloc(size_t size, const char *what)
{
    if (!what) what = "buffer";
    if ((uint64_t)size > cn_memory_limit()) {
        cn_set_error(CN_STATUS_LIMIT, "%s: %zu bytes requested, above the memory cap of %llu bytes",
                     what, size, (unsigned long long)cn_memory_limit());
        return NULL;
    }
    if (size > SIZE_MAX - CN_ALIGN) {
        cn_set_error(CN_STATUS_LIMIT, "%s: %zu bytes requested, too large", what, size);
        return NULL;
    }
    void *p = hook.alloc(size ? size : 1, CN_ALIGN, hook.user);
    if (!p) cn_set_error(CN_STATUS_NOMEM, "%s: out of memory allocating %zu bytes", what, size);
    return p;
}

void *cn_calloc(size_t count, size_t size, const char *what)
{
    uint64_t total;
    if (cn_mul_size(count, size, &total, what) != CN_OK) return NULL;
    void *p = cn_malloc((size_t)total, what);
    if (p) memset(p, 0, (size_t)total);
    return p;
}

void cn_free(void *p)
{
    if (p) hook.free(p, hook.user);
}

cn_status cn_mul_size(uint64_t a, uint64_t b, uint64_t *out, const char *what)
{
    if (a && b > UINT64_MAX / a)
        return cn_set_error(CN_STATUS_LIMIT, "%s: size %llu x %llu overflows 64 bits", what ? what : "size",
                            (unsigned long long)a, (unsigned long long)b);
    *out = a * b;
    return CN_OK;
}
