/* fuzz_npz.c — NumPy .npz archives (zip files of .npy arrays) through cn_npz_open and
 * cn_npz_read of every entry (libzip, then cn_npy_parse). cn_npz_open takes a path, so the
 * bytes go through cn_fuzz_as_file. Accepted if the archive opens; every entry is then read
 * (an entry may still be rejected: a bad CRC, a bad .npy). */
#include "fuzz.h"

static int fuzz_npz(const uint8_t *data, size_t size)
{
    const char *path = cn_fuzz_as_file(data, size);
    cn_npz *z = NULL;
    cn_status st = cn_npz_open(&z, path);
    if (st != CN_OK) {
        cn_fuzz_expect_error(st, path);
        CN_FUZZ_ASSERT(z == NULL, "a failed open returned an archive");
        return 0;
    }
    int64_t n = cn_npz_count(z);
    CN_FUZZ_ASSERT(n >= 0, "count %lld", (long long)n);
    for (int64_t i = 0; i < n; i++) {
        const char *name = cn_npz_name(z, i);
        CN_FUZZ_ASSERT(name != NULL, "entry %lld has no name", (long long)i);
        CN_FUZZ_ASSERT(cn_npz_has(z, name), "has('%s') is false for entry %lld", name, (long long)i);
        cn_npy a;
        st = cn_npz_read(z, name, &a);
        if (st != CN_OK) {
            cn_fuzz_expect_error(st, path);
            CN_FUZZ_ASSERT(a.f32 == NULL && a.i64 == NULL, "a failed read left arrays allocated");
            continue;
        }
        uint64_t numel = 1;
        for (int d = 0; d < a.ndim; d++) {
            CN_FUZZ_ASSERT(a.shape[d] >= 0, "'%s': shape[%d] = %lld", name, d, (long long)a.shape[d]);
            numel *= (uint64_t)a.shape[d];
        }
        CN_FUZZ_ASSERT((uint64_t)a.numel == numel && a.f32, "'%s': numel %lld", name, (long long)a.numel);
        volatile float sum = 0;
        for (int64_t k = 0; k < a.numel; k++) sum += a.f32[k];
        (void)sum;
        cn_npy_free(&a);
    }
    cn_npy a;
    st = cn_npz_read(z, "no such array", &a);
    CN_FUZZ_ASSERT(st == CN_STATUS_NOT_FOUND, "reading a missing array: %s", cn_status_name(st));
    cn_npz_close(z);
    return 1;
}

CN_FUZZ_TARGET(npz)
