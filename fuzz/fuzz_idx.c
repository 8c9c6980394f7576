/* fuzz_idx.c — IDX files (MNIST), plain and gzip, through cn_idx_load.
 *
 * The reader has no in-memory entry point (it streams from a file), so the bytes go to an
 * in-memory file (cn_fuzz_as_file) loaded by its path — a regular file of known length.
 *
 * Input: byte 0 picks the mode, the rest is the payload.
 *   mode & 1 == 0: the payload is the file as is (a plain IDX file, or gzip bytes, corrupt
 *                  or not: the reader recognises gzip by its magic);
 *   mode & 1 == 1: the payload is an IDX file that is gzip-compressed here before loading,
 *                  so the fuzzer explores the decompressed reader without having to forge
 *                  CRCs; mode & 2 splits it into two gzip members, mode & 4 appends a byte
 *                  after the gzip stream.
 * Accepted files must hold exactly what the header says. */
#include <zlib.h>

#include "fuzz.h"

/* gzip `n` bytes into a new buffer (malloc) as one member, or two if split; *out_len set */
static unsigned char *idx_gzip(const unsigned char *p, size_t n, int split, int trailing, size_t *out_len)
{
    size_t cap = 2 * (compressBound((uLong)n) + 64) + 1;
    unsigned char *out = malloc(cap);
    if (!out) abort();
    size_t used = 0;
    size_t parts[2] = {split ? n / 2 : n, split ? n - n / 2 : 0};
    for (int k = 0; k < 1 + split; k++) {
        z_stream zs;
        memset(&zs, 0, sizeof zs);
        if (deflateInit2(&zs, 6, Z_DEFLATED, MAX_WBITS + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) abort();
        zs.next_in = (unsigned char *)(uintptr_t)(p + (k ? parts[0] : 0));
        zs.avail_in = (uInt)parts[k];
        zs.next_out = out + used;
        zs.avail_out = (uInt)(cap - used);
        if (deflate(&zs, Z_FINISH) != Z_STREAM_END) abort();
        used = cap - zs.avail_out;
        deflateEnd(&zs);
    }
    if (trailing) out[used++] = 0x42;
    *out_len = used;
    return out;
}

static int fuzz_idx(const uint8_t *data, size_t size)
{
    if (size < 1 || size > (1u << 20)) return 0;
    const char *path;
    int mode = data[0];
    const uint8_t *payload = data + 1;
    size_t n = size - 1;
    if (mode & 1) {
        size_t len;
        unsigned char *gz = idx_gzip(payload, n, (mode & 2) != 0, (mode & 4) != 0, &len);
        path = cn_fuzz_as_file(gz, len);
        free(gz);
    } else {
        path = cn_fuzz_as_file(payload, n);
    }
    cn_idx a;
    cn_status st = cn_idx_load(&a, path);
    if (st != CN_OK) {
        cn_fuzz_expect_error(st, path);
        CN_FUZZ_ASSERT(a.f32 == NULL && a.i64 == NULL && a.numel == 0, "a failed load left the output filled");
        return 0;
    }
    CN_FUZZ_ASSERT(!(mode & 1) || !(mode & 4), "a byte after the gzip stream was accepted");
    CN_FUZZ_ASSERT(a.ndim >= 1 && a.ndim <= CN_IDX_MAX_DIMS, "ndim %d", a.ndim);
    uint64_t numel = 1;
    for (int i = 0; i < a.ndim; i++) {
        CN_FUZZ_ASSERT(a.dims[i] >= 1 && a.dims[i] <= UINT32_MAX, "dims[%d] = %lld", i, (long long)a.dims[i]);
        numel *= (uint64_t)a.dims[i]; /* no overflow: the values are in the file */
    }
    CN_FUZZ_ASSERT((uint64_t)a.numel == numel, "numel %lld, dims product %llu", (long long)a.numel, (unsigned long long)numel);
    /* plain files hold exactly header + values; the decompressed payload is the same */
    size_t esize = a.type == CN_IDX_U8 || a.type == CN_IDX_I8 ? 1 : a.type == CN_IDX_I16 ? 2 : a.type == CN_IDX_F64 ? 8 : 4;
    if (!(mode & 1)) {
        int gz = n >= 2 && payload[0] == 0x1f && payload[1] == 0x8b;
        if (!gz) CN_FUZZ_ASSERT(4 + 4 * (uint64_t)a.ndim + numel * esize == n, "%zu bytes accepted for %llu values of %zu bytes",
                                n, (unsigned long long)numel, esize);
    } else {
        CN_FUZZ_ASSERT(4 + 4 * (uint64_t)a.ndim + numel * esize == n, "%zu bytes (gzipped) accepted for %llu values of %zu bytes",
                       n, (unsigned long long)numel, esize);
    }
    int want_i64 = a.ndim == 1 && a.type != CN_IDX_F32 && a.type != CN_IDX_F64;
    CN_FUZZ_ASSERT(a.f32 && want_i64 == (a.i64 != NULL), "arrays: f32 %p, i64 %p", (void *)a.f32, (void *)a.i64);
    volatile float sum = 0;
    for (int64_t i = 0; i < a.numel; i++) sum += a.f32[i];
    (void)sum;
    cn_idx_free(&a);
    return 1;
}

CN_FUZZ_TARGET(idx)
