/* convnet/core.h — status codes and error messages, the allocation hook and memory cap,
 * threads, CPU features, logging and the library version.
 *
 * Errors: every fallible function returns cn_status. On failure it also sets a
 * human-readable, thread-local message that names the object and the values involved;
 * read it with cn_last_error(). The message stays until the next failure on the same thread.
 *
 *     cn_tensor *t = NULL;
 *     if (cn_tensor_create(&t, 2, (int64_t[]){3, 4}) != CN_OK)
 *         fprintf(stderr, "convnet: %s\n", cn_last_error());
 */
#ifndef CONVNET_CORE_H
#define CONVNET_CORE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CN_VERSION_MAJOR 0
#define CN_VERSION_MINOR 1
#define CN_VERSION_PATCH 0
#define CN_VERSION_STRING "0.1.0"

/* ---- status ------------------------------------------------------------------------------ */
typedef enum cn_status {
    CN_OK = 0,
    CN_STATUS_INVALID_ARG,   /* an argument or option has a bad value */
    CN_STATUS_SHAPE,         /* shapes do not fit together, or a dimension is zero */
    CN_STATUS_NOMEM,         /* the allocator failed */
    CN_STATUS_LIMIT,         /* a size is absurd: overflows, or exceeds the memory cap */
    CN_STATUS_IO,            /* a file could not be opened, read or written */
    CN_STATUS_FORMAT,        /* a file's contents are malformed */
    CN_STATUS_UNSUPPORTED,   /* well-formed, but convnet does not handle it */
    CN_STATUS_INVALID_STATE, /* the call is not allowed in the object's current state */
    CN_STATUS_NOT_FOUND,     /* a named thing (layer, tensor, file entry) does not exist */
    CN_STATUS_INTERNAL,      /* a bug in convnet; please report it */
    CN_STATUS_COUNT_
} cn_status;

/* The message of the last failure on this thread ("" if none). Borrowed; valid until the
 * next convnet call on this thread that fails. */
const char *cn_last_error(void);
/* A short constant name for a status: "ok", "invalid argument", "shape", ... */
const char *cn_status_name(cn_status s);
/* Set the thread's error message (printf-style) and return s. For code built on convnet
 * that wants to report through the same channel. */
cn_status cn_set_error(cn_status s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Forget the last error on this thread. */
void cn_clear_error(void);

/* ---- memory ------------------------------------------------------------------------------
 * All of convnet's heap memory goes through one hook. The default uses aligned_alloc/free.
 * alloc(size, align, user) must return memory aligned to `align` (a power of two, <= 4096)
 * or NULL; free(ptr, user) accepts NULL. Set the hook before creating any convnet object:
 * memory must be freed by the hook that allocated it. Passing NULL restores the default.  */
typedef struct cn_allocator {
    void *(*alloc)(size_t size, size_t align, void *user);
    void (*free)(void *ptr, void *user);
    void *user;
} cn_allocator;
void cn_set_allocator(const cn_allocator *a);

/* The cap on any single allocation, in bytes. Default: the machine's physical memory.
 * A request above it fails with CN_STATUS_LIMIT before anything is allocated. */
void cn_set_memory_limit(uint64_t bytes);
uint64_t cn_memory_limit(void);

/* Allocate `size` bytes aligned to 64, or set an error naming `what` and return NULL.
 * Free with cn_free (accepts NULL). */
void *cn_malloc(size_t size, const char *what);
void *cn_calloc(size_t count, size_t size, const char *what);
void cn_free(void *p);
/* a*b, or CN_STATUS_LIMIT (message names `what`) if it overflows 64 bits. */
cn_status cn_mul_size(uint64_t a, uint64_t b, uint64_t *out, const char *what);

/* ---- threads -----------------------------------------------------------------------------
 * One pool owns all parallelism. The count comes, in order of precedence, from
 * cn_set_num_threads(), the CONVNET_NUM_THREADS environment variable, and the number of
 * online cores. Results never depend on the thread count (work is split statically and every
 * random number is drawn from counter-based streams). */
cn_status cn_set_num_threads(int n); /* 1..256; 0 means "back to the default" */
int cn_num_threads(void);
/* Run fn(ctx, begin, end) over [0, n) split into at most cn_num_threads() contiguous
 * chunks of at least `grain` items each. The calling thread takes part. If the pool is busy
 * (another thread is inside a parallel_for) the call runs serially on the caller. */
typedef void (*cn_range_fn)(void *ctx, int64_t begin, int64_t end);
void cn_parallel_for(int64_t n, int64_t grain, cn_range_fn fn, void *ctx);

/* ---- CPU features ------------------------------------------------------------------------ */
typedef struct cn_cpu_info {
    char vendor[16];
    char brand[64];
    int sse2, sse41, avx, avx2, fma, f16c;
    int avx512f, avx512bw, avx512dq, avx512vl;
    int logical_cores;
} cn_cpu_info;
const cn_cpu_info *cn_cpu(void);

/* The instruction set the compute kernels use, chosen once at start-up from cn_cpu() and
 * the CONVNET_ISA environment variable (generic | avx2 | avx512; a request the CPU cannot
 * honour falls back to the best available one, with a warning). */
typedef enum cn_isa { CN_ISA_GENERIC = 0, CN_ISA_AVX2, CN_ISA_AVX512, CN_ISA_COUNT_ } cn_isa;
cn_isa cn_isa_active(void);
const char *cn_isa_name(cn_isa isa);
/* Force an ISA (tests use this to run every variant). Fails with CN_STATUS_UNSUPPORTED if
 * the CPU or the build lacks it. */
cn_status cn_isa_select(cn_isa isa);
/* Whether this build and this CPU can run the given ISA. */
int cn_isa_available(cn_isa isa);

/* ---- logging ----------------------------------------------------------------------------- */
typedef enum cn_log_level { CN_LOG_QUIET = 0, CN_LOG_ERROR, CN_LOG_WARN, CN_LOG_INFO, CN_LOG_DEBUG } cn_log_level;
void cn_log_set_level(cn_log_level level);
cn_log_level cn_log_get_level(void);
/* Replace the sink (default: stderr, one line per message prefixed "convnet: ").
 * NULL restores the default. */
typedef void (*cn_log_fn)(cn_log_level level, const char *msg, void *user);
void cn_log_set_sink(cn_log_fn fn, void *user);
void cn_log(cn_log_level level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* ---- version ----------------------------------------------------------------------------- */
const char *cn_version(void);

#ifdef __cplusplus
}
#endif
#endif
