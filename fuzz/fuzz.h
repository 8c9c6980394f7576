/* fuzz.h — what every fuzz target shares: the limits it runs under, the invariants it checks,
 * and the CN_FUZZ_TARGET line that turns its entry point into a libFuzzer program or into an
 * entry of the regression replayer (tests/unit/test_fuzz_regressions.c).
 *
 * A target is one file, fuzz/fuzz_<name>.c:
 *
 *     #include "fuzz.h"
 *     // everything static, and prefixed <name>_: all targets share one translation unit in
 *     // the regression test
 *     static int fuzz_<name>(const uint8_t *data, size_t size)
 *     {
 *         ... feed data to the library's parser through its in-memory entry point ...
 *         ... on failure:  cn_fuzz_expect_error(st, "fuzz.<ext>");  return 0;
 *         ... on success:  check what the parser promises with CN_FUZZ_ASSERT; return 1;
 *     }
 *     CN_FUZZ_TARGET(<name>)
 *
 * plus one line `#include "fuzz_<name>.c"` in fuzz/targets.h, a few seed inputs in
 * fuzz/corpus/<name>/ (names starting with "bad-" are inputs the parser must reject; every
 * other seed must be accepted) and optionally a libFuzzer dictionary fuzz/fuzz_<name>.dict.
 * The entry point returns 1 if the input was accepted, 0 if it was rejected, -1 if this build
 * cannot judge it (a feature left out, e.g. ONNX without protobuf-c); it must never crash,
 * leak, hang or read or write out of bounds, whatever the bytes.
 */
#ifndef CN_FUZZ_H
#define CN_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "convnet/convnet.h"

/* Every target runs with this memory cap (cn_set_memory_limit): a header that asks for more
 * must be refused with CN_STATUS_LIMIT before anything is allocated, as it would be under a
 * user's cap. Small enough that libFuzzer's own RSS limit (2 GB) is never the one that trips. */
#define CN_FUZZ_MEMORY_CAP ((uint64_t)64 << 20)

/* Work bounds for targets that run what they parsed (models: forward and backward), so one
 * input takes milliseconds, not seconds. */
#define CN_FUZZ_MAX_MACS 200000   /* at batch 1; the training pass at batch 2 does about 6x this */
#define CN_FUZZ_MAX_FLOATS 200000

static inline void cn_fuzz_setup(void)
{
    cn_set_memory_limit(CN_FUZZ_MEMORY_CAP);
    cn_log_set_level(CN_LOG_QUIET);
    cn_set_num_threads(1);
}

/* A promise of the library that failed: report it and abort, which libFuzzer records as a
 * crash with the input that caused it. */
#define CN_FUZZ_ASSERT(cond, ...)                                                                                      \
    do {                                                                                                               \
        if (!(cond)) {                                                                                                 \
            fprintf(stderr, "fuzz: invariant failed at %s:%d: %s\n    ", __FILE__, __LINE__, #cond);                   \
            fprintf(stderr, __VA_ARGS__);                                                                              \
            fprintf(stderr, "\n    last error: %s\n", cn_last_error());                                                \
            abort();                                                                                                   \
        }                                                                                                              \
    } while (0)

/* A call that failed must say why: a real status (not CN_OK, not CN_STATUS_INTERNAL, which
 * means a bug in convnet) and a message; if `label` is not NULL the message names it (the
 * file name the parser was given). */
static inline void cn_fuzz_expect_error(cn_status st, const char *label)
{
    const char *msg = cn_last_error();
    CN_FUZZ_ASSERT(st != CN_OK && st < CN_STATUS_COUNT_, "status %d", (int)st);
    CN_FUZZ_ASSERT(st != CN_STATUS_INTERNAL, "internal error: %s", msg);
    CN_FUZZ_ASSERT(msg && msg[0], "status '%s' without a message", cn_status_name(st));
    if (label) CN_FUZZ_ASSERT(strstr(msg, label) != NULL, "message does not name '%s': %s", label, msg);
}

/* A copy of the input with a terminating NUL (for text formats); free with free(). */
static inline char *cn_fuzz_strdup(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s) abort();
    if (size) memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/* The bytes as a regular file, for readers that take a path (cn_idx_load, checkpoints):
 * one in-memory file (memfd; an unlinked temporary file where memfd is missing), rewritten
 * for each input and read through its /proc/self/fd path — a regular file of known length,
 * as on disk. Returns that path (static). */
static inline const char *cn_fuzz_as_file(const void *data, size_t size)
{
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        fd = memfd_create("cn_fuzz", 0);
        if (fd < 0) {
            char tmpl[] = "/tmp/cn_fuzz_XXXXXX";
            if ((fd = mkstemp(tmpl)) < 0) abort();
            unlink(tmpl);
        }
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) != 0) abort();
    for (size_t off = 0; off < size;) {
        ssize_t w = pwrite(fd, (const char *)data + off, size - off, (off_t)off);
        if (w <= 0) abort();
        off += (size_t)w;
    }
    return path;
}

#ifdef CN_FUZZ_LIBFUZZER
/* a libFuzzer program: fuzz/fuzz_<name>.c compiled alone (cmake/fuzz.cmake) */
#define CN_FUZZ_TARGET(name)                                                                                           \
    int LLVMFuzzerInitialize(int *argc, char ***argv);                                                                 \
    int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);                                                      \
    int LLVMFuzzerInitialize(int *argc, char ***argv)                                                                  \
    {                                                                                                                  \
        (void)argc, (void)argv;                                                                                        \
        cn_fuzz_setup();                                                                                               \
        return 0;                                                                                                      \
    }                                                                                                                  \
    int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)                                                       \
    {                                                                                                                  \
        (void)fuzz_##name(data, size);                                                                                 \
        return 0;                                                                                                      \
    }
#else
/* the regression replayer: every target in one program, registered in a table at start-up */
typedef int (*cn_fuzz_fn)(const uint8_t *data, size_t size);
typedef struct cn_fuzz_entry {
    const char *name;
    cn_fuzz_fn fn;
} cn_fuzz_entry;
#define CN_FUZZ_MAX_TARGETS 64
static cn_fuzz_entry cn_fuzz_table[CN_FUZZ_MAX_TARGETS];
static int cn_fuzz_count;
static inline void cn_fuzz_register(const char *name, cn_fuzz_fn fn)
{
    if (cn_fuzz_count < CN_FUZZ_MAX_TARGETS) cn_fuzz_table[cn_fuzz_count++] = (cn_fuzz_entry){name, fn};
}
#define CN_FUZZ_TARGET(name)                                                                                           \
    __attribute__((constructor)) static void cn_fuzz_register_##name(void) { cn_fuzz_register(#name, fuzz_##name); }
#endif

#endif
