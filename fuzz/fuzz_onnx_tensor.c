/* fuzz_onnx_tensor.c — serialized ONNX TensorProto files (.pb, the backend tests' inputs and
 * outputs) through cn_onnx_tensor_load, which takes a path (cn_fuzz_as_file). An accepted
 * tensor has numel = product of dims and that many values. */
#include "convnet/onnx.h"
#include "fuzz.h"

static int fuzz_onnx_tensor(const uint8_t *data, size_t size)
{
    if (!cn_onnx_available()) return -1; /* a build without protobuf-c: nothing to judge */
    const char *path = cn_fuzz_as_file(data, size);
    cn_onnx_tensor t;
    memset(&t, 0, sizeof t);
    cn_status st = cn_onnx_tensor_load(&t, path);
    if (st != CN_OK) {
        cn_fuzz_expect_error(st, path);
        CN_FUZZ_ASSERT(t.data == NULL, "a failed load left data allocated");
        return 0;
    }
    CN_FUZZ_ASSERT(t.ndim >= 0 && t.ndim <= CN_ONNX_MAX_DIMS, "ndim %d", t.ndim);
    uint64_t numel = 1;
    for (int d = 0; d < t.ndim; d++) {
        CN_FUZZ_ASSERT(t.dims[d] >= 0, "dims[%d] = %lld", d, (long long)t.dims[d]);
        numel *= (uint64_t)t.dims[d];
    }
    CN_FUZZ_ASSERT((uint64_t)t.numel == numel && (t.data != NULL) == (numel > 0), "numel %lld, dims product %llu, data %p",
                   (long long)t.numel, (unsigned long long)numel, (void *)t.data);
    volatile float sum = 0;
    for (int64_t i = 0; i < t.numel; i++) sum += t.data[i];
    (void)sum;
    cn_onnx_tensor_free(&t);
    return 1;
}

CN_FUZZ_TARGET(onnx_tensor)
