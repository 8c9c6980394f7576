/* onnx_internal.h — what onnx_import.c and onnx_export.c share (internal to the library):
 * the protobuf-c allocator that routes through convnet's allocation hook, ONNX data type
 * numbers and sizes, and name sanitising. Only compiled with CN_HAVE_ONNX. */
#ifndef CN_IO_ONNX_INTERNAL_H
#define CN_IO_ONNX_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "convnet/onnx.h"

#ifdef CN_HAVE_ONNX
#include <protobuf-c/protobuf-c.h>

#include CN_ONNX_PB_H

/* protobuf-c allocations through cn_malloc/cn_free (so the memory cap and the fault-injecting
 * test allocator apply to parsing too) */
extern ProtobufCAllocator cn_onnx_pb_allocator;
#endif

/* ONNX TensorProto.DataType values */
enum {
    CN_ONNX_UNDEFINED = 0, CN_ONNX_FLOAT = 1, CN_ONNX_UINT8 = 2, CN_ONNX_INT8 = 3, CN_ONNX_UINT16 = 4, CN_ONNX_INT16 = 5,
    CN_ONNX_INT32 = 6, CN_ONNX_INT64 = 7, CN_ONNX_STRING = 8, CN_ONNX_BOOL = 9, CN_ONNX_FLOAT16 = 10, CN_ONNX_DOUBLE = 11,
    CN_ONNX_UINT32 = 12, CN_ONNX_UINT64 = 13, CN_ONNX_COMPLEX64 = 14, CN_ONNX_COMPLEX128 = 15, CN_ONNX_BFLOAT16 = 16,
};

/* bytes per element in raw_data; 0 for types convnet does not read (string, complex) */
size_t cn_onnx_dtype_size(int dtype);
/* 1 for the integer and bool types */
int cn_onnx_dtype_is_int(int dtype);

#endif
