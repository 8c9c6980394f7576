/* test_core.c — status messages, the allocation hook (fault injection), size checks, logging. */
#include <stdlib.h>
#include <string.h>

#include "test.h"

static void test_status_names(void)
{
    for (int s = 0; s < CN_STATUS_COUNT_; s++) CHECK(strlen(cn_status_name((cn_status)s)) > 0);
    CHECK(!strcmp(cn_status_name(CN_OK), "ok"));
    CHECK(!strcmp(cn_status_name((cn_status)999), "unknown status"));
}

static void test_error_message(void)
{
    cn_clear_error();
    CHECK(!strcmp(cn_last_error(), ""));
    CHECK_EQ_INT(cn_set_error(CN_STATUS_SHAPE, "conv '%s': %d channels", "c1", 3), CN_STATUS_SHAPE);
    CHECK(!strcmp(cn_last_error(), "conv 'c1': 3 channels"));
}

/* a hook that fails the k-th allocation and counts live blocks */
static int alloc_count, fail_at, live;
static void *counting_alloc(size_t size, size_t align, void *user)
{
    (void)user;
    if (++alloc_count == fail_at) return NULL;
    void *p = aligned_alloc(align, (size + align - 1) / align * align);
    if (p) live++;
    return p;
}
static void counting_free(void *p, void *user)
{
    (void)user;
    if (p) live--;
    free(p);
}

static void test_alloc_hook_fault_injection(void)
{
    cn_allocator a = {counting_alloc, counting_free, NULL};
    cn_set_allocator(&a);
    /* find how many allocations tensor_create needs, then fail each one in turn */
    alloc_count = 0, fail_at = -1, live = 0;
    cn_tensor *t;
    CHECK_OK(cn_tensor_create(&t, 2, (int64_t[]){3, 5}));
    int needed = alloc_count;
    CHECK(needed >= 2);
    cn_tensor_destroy(t);
    CHECK_EQ_INT(live, 0);
    for (int k = 1; k <= needed; k++) {
        alloc_count = 0, fail_at = k, live = 0;
        t = (cn_tensor *)1;
        CHECK_ERR(cn_tensor_create(&t, 2, (int64_t[]){3, 5}), CN_STATUS_NOMEM, "out of memory");
        CHECK(t == NULL);
        CHECK_EQ_INT(live, 0); /* nothing leaked on the failure path */
    }
    cn_set_allocator(NULL);
}

static void test_alignment(void)
{
    for (size_t n = 1; n < 300; n += 37) {
        void *p = cn_malloc(n, "test");
        CHECK(p && ((uintptr_t)p % 64) == 0);
        cn_free(p);
    }
    cn_free(NULL);
}

static void test_mul_size_overflow(void)
{
    uint64_t out;
    CHECK_OK(cn_mul_size(1u << 20, 1u << 20, &out, "x"));
    CHECK(out == (uint64_t)1 << 40);
    CHECK_ERR(cn_mul_size(UINT64_MAX / 2, 3, &out, "weights"), CN_STATUS_LIMIT, "weights");
}

static void test_memory_cap(void)
{
    uint64_t old = cn_memory_limit();
    CHECK(old > 0);
    cn_set_memory_limit(1 << 20);
    CHECK(cn_malloc(2 << 20, "big buffer") == NULL);
    CHECK(strstr(cn_last_error(), "big buffer") && strstr(cn_last_error(), "memory cap"));
    void *p = cn_malloc(1 << 19, "small");
    CHECK(p != NULL);
    cn_free(p);
    cn_set_memory_limit(0); /* back to physical memory */
    CHECK(cn_memory_limit() == old);
}

static int sink_calls;
static char sink_last[256];
static void sink(cn_log_level level, const char *msg, void *user)
{
    (void)level;
    (void)user;
    sink_calls++;
    strncpy(sink_last, msg, sizeof sink_last - 1);
}

static void test_logging_levels(void)
{
    cn_log_set_sink(sink, NULL);
    cn_log_set_level(CN_LOG_WARN);
    sink_calls = 0;
    cn_log(CN_LOG_INFO, "hidden %d", 1);
    CHECK_EQ_INT(sink_calls, 0);
    cn_log(CN_LOG_WARN, "shown %d", 2);
    CHECK_EQ_INT(sink_calls, 1);
    CHECK(!strcmp(sink_last, "shown 2"));
    cn_log_set_level(CN_LOG_QUIET);
    cn_log(CN_LOG_ERROR, "silenced");
    CHECK_EQ_INT(sink_calls, 1);
    cn_log_set_level(CN_LOG_DEBUG);
    cn_log(CN_LOG_DEBUG, "debug");
    CHECK_EQ_INT(sink_calls, 2);
    cn_log_set_sink(NULL, NULL);
    cn_log_set_level(CN_LOG_WARN);
}

static void test_version(void)
{
    CHECK(!strcmp(cn_version(), CN_VERSION_STRING));
}

int main(void)
{
    RUN(test_status_names);
    RUN(test_error_message);
    RUN(test_alloc_hook_fault_injection);
    RUN(test_alignment);
    RUN(test_mul_size_overflow);
    RUN(test_memory_cap);
    RUN(test_logging_levels);
    RUN(test_version);
    return cn_test_finish();
}
