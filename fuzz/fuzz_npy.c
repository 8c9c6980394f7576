/* fuzz_npy.c — NumPy .npy files through cn_npy_parse (the parser cn_npy_load uses). The
 * input is the whole file. Accepted arrays must be what the header says: numel is the
 * product of the shape, every value converted, exact integers for integer dtypes. */
#include "fuzz.h"

static int fuzz_npy(const uint8_t *data, size_t size)
{
    cn_npy a;
    cn_status st = cn_npy_parse(&a, data, size, "fuzz.npy");
    if (st != CN_OK) {
        cn_fuzz_expect_error(st, "fuzz.npy");
        CN_FUZZ_ASSERT(a.f32 == NULL && a.i64 == NULL, "a failed parse left arrays allocated");
        return 0;
    }
    CN_FUZZ_ASSERT(a.ndim >= 0 && a.ndim <= CN_NPY_MAX_DIMS, "ndim %d", a.ndim);
    uint64_t numel = 1;
    for (int i = 0; i < a.ndim; i++) {
        CN_FUZZ_ASSERT(a.shape[i] >= 0, "shape[%d] = %lld", i, (long long)a.shape[i]);
        CN_FUZZ_ASSERT(!a.shape[i] || numel <= UINT64_MAX / (uint64_t)a.shape[i], "shape overflows");
        numel *= (uint64_t)a.shape[i];
    }
    CN_FUZZ_ASSERT((uint64_t)a.numel == numel, "numel %lld, shape product %llu", (long long)a.numel,
                   (unsigned long long)numel);
    /* the data is in the file: numel * itemsize bytes after the header */
    CN_FUZZ_ASSERT(numel * cn_dtype_size(a.dtype) <= size, "%llu elements of %zu bytes in a %zu-byte file",
                   (unsigned long long)numel, cn_dtype_size(a.dtype), size);
    CN_FUZZ_ASSERT(a.f32 != NULL, "no float values");
    int is_int = a.dtype != CN_DTYPE_F32 && a.dtype != CN_DTYPE_F64 && a.dtype != CN_DTYPE_F16;
    CN_FUZZ_ASSERT(is_int == (a.i64 != NULL), "dtype %s: integer values %s", cn_dtype_name(a.dtype),
                   a.i64 ? "present" : "missing");
    volatile float sum = 0; /* read every value (ASan checks the bounds) */
    for (int64_t i = 0; i < a.numel; i++) {
        sum += a.f32[i];
        if (is_int) CN_FUZZ_ASSERT(a.f32[i] == (float)a.i64[i], "element %lld: %g vs %lld", (long long)i, a.f32[i],
                                   (long long)a.i64[i]);
    }
    (void)sum;
    cn_npy_free(&a);
    CN_FUZZ_ASSERT(a.f32 == NULL && a.i64 == NULL && a.numel == 0, "cn_npy_free did not reset the struct");
    return 1;
}

CN_FUZZ_TARGET(npy)
