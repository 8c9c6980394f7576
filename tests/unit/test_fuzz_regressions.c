/* test_fuzz_regressions.c — replays, through the fuzz targets' own entry points
 * (fuzz/targets.h), every seed in fuzz/corpus/<target>/ and every input the fuzzers ever
 * crashed on or that a review found worth keeping, in tests/fuzz_regressions/<target>/.
 *
 * What can fail here:
 *   - a crash, hang or sanitizer report on any input (the entry points also abort when a
 *     parser breaks a promise: an error without a message or without the file name, a
 *     failed parse that leaves memory allocated, a model that does not survive a text round
 *     trip, a loaded tensor whose size disagrees with its shape ...);
 *   - a seed named bad-* that is accepted, or any other seed that is rejected (so the seeds
 *     stay meaningful: they reach the parser's accepting paths);
 *   - a target without seeds.
 * Regression inputs may be accepted or rejected; they must only be handled cleanly.
 * Each input is printed before it runs, so a crash names the file. */
#include <dirent.h>
#include <sys/stat.h>

#include "../../fuzz/fuzz.h"
#include "../../fuzz/targets.h"
#include "test.h"

#define CORPUS_DIR CN_FIXTURE_DIR "/../../fuzz/corpus"
#define REGRESSION_DIR CN_FIXTURE_DIR "/../fuzz_regressions"

static unsigned char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    unsigned char *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? 2 * cap : 4096;
            unsigned char *nb = realloc(buf, cap);
            if (!nb) abort();
            buf = nb;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    fclose(f);
    *len = n;
    return buf;
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Run every regular file of dir (sorted) through fn. expect: 0 = any outcome; 1 = seeds
 * (bad-* rejected, others accepted). Returns the number of files, or -1 if dir is missing. */
static int replay_dir(const cn_fuzz_entry *t, const char *dir, int expect)
{
    DIR *d = opendir(dir);
    if (!d) return -1;
    char *names[4096];
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL && n < 4096;) {
        if (e->d_name[0] == '.') continue;
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof *names, by_name);
    int accepted = 0, files = 0, skipped = 0;
    for (int i = 0; i < n; i++) {
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        struct stat sb;
        if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) {
            free(names[i]);
            continue;
        }
        size_t len;
        unsigned char *buf = read_file(path, &len);
        CHECK_MSG(buf != NULL, "%s: cannot read", path);
        if (!buf) {
            free(names[i]);
            continue;
        }
        printf("  %-12s %s (%zu bytes)\n", t->name, path, len);
        fflush(stdout);
        int ok = t->fn(buf, len);
        files++;
        if (ok < 0) { /* this build lacks the feature (ONNX without protobuf-c) */
            skipped++;
            free(buf);
            free(names[i]);
            continue;
        }
        accepted += ok;
        if (expect) {
            int bad = !strncmp(names[i], "bad-", 4);
            CHECK_MSG(ok == !bad, "%s: %s, but the seed is meant to be %s (last error: %s)", path, ok ? "accepted" : "rejected",
                      bad ? "rejected" : "accepted", cn_last_error());
        }
        free(buf);
        free(names[i]);
    }
    printf("  %-12s %s: %d files, %d accepted%s\n", t->name, dir, files, accepted,
           skipped ? " (the others not judged: the feature is not in this build)" : "");
    return files;
}

static void test_replay(void)
{
    CHECK_MSG(cn_fuzz_count >= 4, "only %d fuzz targets registered", cn_fuzz_count);
    for (int i = 0; i < cn_fuzz_count; i++) {
        const cn_fuzz_entry *t = &cn_fuzz_table[i];
        char dir[1024];
        snprintf(dir, sizeof dir, "%s/%s", CORPUS_DIR, t->name);
        int seeds = replay_dir(t, dir, 1);
        CHECK_MSG(seeds > 0, "fuzz target '%s' has no seeds in %s", t->name, dir);
        snprintf(dir, sizeof dir, "%s/%s", REGRESSION_DIR, t->name);
        replay_dir(t, dir, 0); /* may not exist yet for a new target */
    }
}

/* The entry points hold the replay's checks: prove that they can fail. A seed of one
 * target fed to another must be rejected (an npy file is not a model, ...), and the
 * entries must not crash on the empty input or on a single byte of every value. */
static void test_entry_points_reject(void)
{
    static const unsigned char npy_head[] = "\x93NUMPY\x01\x00\x10\x00{'descr': '<f4'}";
    for (int i = 0; i < cn_fuzz_count; i++) {
        const cn_fuzz_entry *t = &cn_fuzz_table[i];
        CHECK_MSG(t->fn((const uint8_t *)"", 0) <= 0, "%s accepts the empty input", t->name);
        for (int b = 0; b < 256; b++) {
            uint8_t byte = (uint8_t)b;
            int ok = t->fn(&byte, 1);
            CHECK_MSG(ok <= 0, "%s accepts the single byte 0x%02x", t->name, b);
        }
        CHECK_MSG(t->fn(npy_head, sizeof npy_head - 1) <= 0, "%s accepts a truncated npy header", t->name);
    }
}

int main(void)
{
    cn_fuzz_setup();
    RUN(test_replay);
    RUN(test_entry_points_reject);
    return cn_test_finish();
}
