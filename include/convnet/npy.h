/* convnet/npy.h — NumPy .npy files (format versions 1.0, 2.0 and 3.0).
 *
 * Reading accepts little- or big-endian float16/32/64, int8/16/32/64, uint8/16/32/64 and
 * bool arrays in C order of any rank (0..32 dims); Fortran order is refused with a clear
 * error. Every size in the header is checked against the file's real length and the memory
 * cap before anything is allocated.
 *
 *     cn_npy a;
 *     if (cn_npy_load(&a, "x.npy") != CN_OK) fprintf(stderr, "%s\n", cn_last_error());
 *     ... a.shape[0], a.f32 (values converted to float32) ...
 *     cn_npy_free(&a);
 */
#ifndef CONVNET_NPY_H
#define CONVNET_NPY_H

#include "tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CN_NPY_MAX_DIMS 32

typedef enum cn_dtype {
    CN_DTYPE_F32 = 0, CN_DTYPE_F64, CN_DTYPE_F16,
    CN_DTYPE_I8, CN_DTYPE_I16, CN_DTYPE_I32, CN_DTYPE_I64,
    CN_DTYPE_U8, CN_DTYPE_U16, CN_DTYPE_U32, CN_DTYPE_U64,
    CN_DTYPE_BOOL, CN_DTYPE_COUNT_
} cn_dtype;
const char *cn_dtype_name(cn_dtype t); /* numpy's names: "float32", "int64", ... */
size_t cn_dtype_size(cn_dtype t);

/* A loaded array. Caller-owned struct: cn_npy_load fills it, cn_npy_free releases it. */
typedef struct cn_npy {
    cn_dtype dtype;       /* the dtype stored in the file */
    int ndim;             /* 0 for a scalar */
    int64_t shape[CN_NPY_MAX_DIMS];
    int64_t numel;
    float *f32;           /* all values converted to float32 (owned) */
    int64_t *i64;         /* for integer and bool files: exact values (owned), else NULL */
} cn_npy;

cn_status cn_npy_load(cn_npy *a, const char *path);
/* Parse from memory (`name` labels error messages). */
cn_status cn_npy_parse(cn_npy *a, const void *buf, size_t len, const char *name);
void cn_npy_free(cn_npy *a);

/* Load as a tensor: the array must have 1..5 dims. */
cn_status cn_npy_load_tensor(cn_tensor **out, const char *path);

/* Write atomically (temporary file in the same folder, fsync, rename): nothing is left
 * behind on failure. `data` is float32 or int64 as `dtype` says (only those two). */
cn_status cn_npy_save(const char *path, cn_dtype dtype, int ndim, const int64_t *shape, const void *data);
cn_status cn_npy_save_tensor(const char *path, const cn_tensor *t);

#ifdef __cplusplus
}
#endif
#endif
