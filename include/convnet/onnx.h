/* convnet/onnx.h — ONNX interoperability: import .onnx models as convnet models, export
 * convnet models as .onnx, read ONNX tensors (.pb), and load a model from any supported file.
 *
 * Import builds an ordinary convnet model through the public builder: each ONNX node becomes
 * one or a few layers (Conv → conv, Gemm → dense, Sub with a constant → binary, ...),
 * initializers become parameters (weights are trainable, so an imported network can be
 * fine-tuned: plan it again with CN_PLAN_TRAIN), graph inputs that are not initializers become
 * input layers, and static shape computations (Shape/Gather/Unsqueeze/Concat chains,
 * Constant, arithmetic on constants) are folded at import. ONNX tensors keep their layout:
 * the first dimension of an ONNX tensor is the model's batch axis. Operators: see
 * docs/ONNX.md; an unsupported operator is an error naming it, its node and the opset.
 *
 *     cn_model *m;
 *     cn_onnx_info io;
 *     if (cn_onnx_import(&m, "resnet.onnx", NULL, &io) != CN_OK) puts(cn_last_error());
 *     cn_model_forward(m, x, 0);                      // planned for the file's input shape
 *     const float *y;
 *     cn_model_layer_output(m, io.outputs[0].layer, &y, NULL);
 *     cn_onnx_info_free(&io);
 *     cn_onnx_export(m, "again.onnx", NULL);
 *
 * Errors: malformed files (truncated, wrong types, absurd dimensions, missing tensors) fail
 * with CN_STATUS_FORMAT / LIMIT naming the file, the node or tensor, and the values; never a
 * crash. Every size is checked against the data present before anything is allocated.
 *
 * Availability: the ONNX code needs protobuf-c at build time (cmake/onnx.cmake). Without it
 * every function here except cn_onnx_available and cn_model_load_any (for other formats)
 * fails with CN_STATUS_UNSUPPORTED naming the missing package.
 */
#ifndef CONVNET_ONNX_H
#define CONVNET_ONNX_H

#include "model.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CN_ONNX_MAX_DIMS 8

/* 1 if this build reads and writes ONNX. */
int cn_onnx_available(void);

/* ---- tensors --------------------------------------------------------------------------- */
/* An ONNX tensor with its values converted to float32 (integers and booleans too: exact below
 * 2^24). Caller-owned: free with cn_onnx_tensor_free. */
typedef struct cn_onnx_tensor {
    int dtype;                       /* ONNX TensorProto.DataType: 1 FLOAT, 7 INT64, 9 BOOL, ... */
    int ndim;                        /* 0 for a scalar */
    int64_t dims[CN_ONNX_MAX_DIMS];
    int64_t numel;                   /* product of dims (1 for a scalar; may be 0) */
    float *data;                     /* numel values (cn_malloc; NULL when numel is 0) */
} cn_onnx_tensor;

/* Read a serialized TensorProto (the backend tests' input_K.pb / output_K.pb). Types read:
 * float, double, float16, bfloat16, (u)int8..64, bool. Strings, complex and external data are
 * CN_STATUS_UNSUPPORTED. */
cn_status cn_onnx_tensor_load(cn_onnx_tensor *t, const char *path);
void cn_onnx_tensor_free(cn_onnx_tensor *t); /* accepts a zeroed or freed tensor */
/* "FLOAT", "INT64", ... ("?" when unknown). Static. */
const char *cn_onnx_dtype_name(int dtype);

/* ---- import ---------------------------------------------------------------------------- */
typedef struct cn_onnx_import_opts {
    int64_t batch;        /* size for a symbolic first input dimension (0: 1) */
    int plan_flags;       /* CN_PLAN_INFER (default) or CN_PLAN_TRAIN */
    /* Known values of graph inputs (the backend tests' input_K.pb). A bound input becomes a
     * constant where a layer needs one (a weight, a shape, pads, ...) or where its first
     * dimension differs from the first input's (it cannot share the batch axis); otherwise it
     * stays an input layer, fed at run time. bind_names NULL: the values go by position to the
     * graph inputs that are not initializers (the tests' input_0.pb, input_1.pb, ...). Borrowed
     * for the call. */
    int n_bind;
    const char *const *bind_names;
    const cn_onnx_tensor *bind_values;
} cn_onnx_import_opts;

/* One graph input or output, and where it lives in the model. */
typedef struct cn_onnx_port {
    char *name;                      /* the ONNX value name (owned) */
    char *layer;                     /* the convnet layer that is (inputs) or produces (outputs) it;
                                        NULL when it was folded to a constant (owned) */
    int dtype;                       /* ONNX element type declared in the graph (0 unknown) */
    int ndim;                        /* ONNX shape (the layer's, except that a vector of n is an n x 1 layer) */
    int64_t dims[CN_ONNX_MAX_DIMS];
    cn_onnx_tensor value;            /* outputs folded to constants: their value; else empty */
} cn_onnx_port;

typedef struct cn_onnx_info {
    int n_inputs, n_outputs;
    cn_onnx_port *inputs, *outputs;  /* owned; inputs exclude initializers */
    int64_t opset;                   /* of the default domain */
    int64_t ir_version;
    char producer[64];               /* producer_name and version */
    int n_nodes;                     /* ONNX nodes in the graph */
} cn_onnx_info;

/* Build a model from an .onnx file, plan it for the batch of the file's first input (a
 * symbolic first dimension takes opts->batch) with opts->plan_flags, and load its weights.
 * opts and info may be NULL. *out is NULL on failure; info is filled only on success (free it
 * with cn_onnx_info_free). Planning again with another batch size works unless the file fixes
 * shapes that involve the batch (a Reshape to an explicit first dimension). */
cn_status cn_onnx_import(cn_model **out, const char *path, const cn_onnx_import_opts *opts, cn_onnx_info *info);
/* The same from bytes in memory; `name` labels messages. */
cn_status cn_onnx_import_buffer(cn_model **out, const void *buf, size_t len, const char *name, const cn_onnx_import_opts *opts,
                                cn_onnx_info *info);
void cn_onnx_info_free(cn_onnx_info *info); /* accepts a zeroed or freed info */

/* ---- export ---------------------------------------------------------------------------- */
typedef struct cn_onnx_export_opts {
    int opset;            /* default-domain opset to write (0: 13; 11..17 accepted) */
    int dynamic_batch;    /* 1: the first dimension of inputs and outputs is symbolic "N" */
} cn_onnx_export_opts;

/* Write a planned model (its parameters as initializers) as an ONNX model, atomically. Loss
 * layers are left out (the graph outputs the prediction: cn_model_output's layer). Layers
 * with no ONNX equivalent (locally_connected, tiled_conv, stochastic/fractional pooling, ...)
 * are CN_STATUS_UNSUPPORTED naming the layer. opts may be NULL. */
cn_status cn_onnx_export(const cn_model *m, const char *path, const cn_onnx_export_opts *opts);

/* ---- any format ------------------------------------------------------------------------ */
/* Build a model from a file of any format convnet reads, chosen by content and extension:
 *   .onnx                          ONNX (imported, planned, weights loaded)
 *   Darknet .cfg (has a [net] section)  Darknet (unplanned, no weights: see darknet.h)
 *   .safetensors with model text   convnet weights file (planned for batch 1, weights loaded)
 *   otherwise                      convnet model text (docs/FORMAT.md; unplanned)
 * The model may be planned again by the caller. *out is NULL on failure. */
cn_status cn_model_load_any(cn_model **out, const char *path);

#ifdef __cplusplus
}
#endif
#endif
