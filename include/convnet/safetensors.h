/* convnet/safetensors.h — safetensors files (Hugging Face's tensor container), and model
 * weights stored in them.
 *
 * The format: an 8-byte little-endian u64 N, then N bytes of UTF-8 JSON, then the data.
 * The JSON is an object mapping each tensor name to
 *     {"dtype": "F32", "shape": [6, 3, 5, 5], "data_offsets": [begin, end]}
 * (offsets in bytes, relative to the start of the data section), plus an optional
 * "__metadata__" object of string -> string. Data is little-endian, C order. The header may
 * be padded with spaces.
 *
 * Reading follows the reference implementation (huggingface/safetensors, tensor.rs) and is
 * strict: the header must start with '{', be valid UTF-8 and valid JSON; each tensor needs
 * a known dtype, a shape of non-negative integers and data_offsets [begin, end] with
 * end - begin = product(shape) * sizeof(dtype); sorted by offset, the tensors must cover the
 * data section exactly (first at 0, each starting where the previous ended: no gaps, no
 * overlaps, no trailing bytes); names are unique; metadata values are strings. Keys other
 * than dtype/shape/data_offsets inside a tensor entry are ignored, as the reference does.
 * Every error is CN_STATUS_FORMAT (or LIMIT for absurd sizes, UNSUPPORTED for a dtype
 * convnet does not know) with a message naming the file, the byte offset or the tensor,
 * and what was expected. Nothing is allocated from a size that was not checked first.
 * Limits: header at most CN_ST_MAX_HEADER bytes (the reference's limit) and within the
 * memory cap; at most CN_ST_MAX_DIMS dimensions; integers in the header (dimensions,
 * offsets) at most 2^53, the largest a JSON reader holds exactly.
 *
 *     cn_safetensors *f;
 *     if (cn_safetensors_load(&f, "w.safetensors") != CN_OK) puts(cn_last_error());
 *     cn_st_tensor t;
 *     if (cn_safetensors_find(f, "c1.weight", &t) == CN_OK) {
 *         float *w = malloc(t.numel * sizeof(float));
 *         cn_safetensors_to_f32(&t, w);       // any float or integer dtype
 *     }
 *     const char *text = cn_safetensors_metadata(f, "convnet.model");   // NULL if absent
 *     cn_safetensors_destroy(f);             // t.name, t.data, text die here
 *
 * Model weights (cn_model_save_weights ...) store every parameter as an F32 tensor named
 * "<layer>.<param>" ("c1.weight") and the model's text in the metadata under
 * CN_WEIGHTS_MODEL_KEY, so one file is both a valid safetensors file (readable by PyTorch's
 * safetensors.torch.load_file) and a complete, self-describing convnet model.
 */
#ifndef CONVNET_SAFETENSORS_H
#define CONVNET_SAFETENSORS_H

#include "model.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CN_ST_MAX_DIMS 8
#define CN_ST_MAX_HEADER 100000000ULL /* bytes of JSON header, as in the reference reader */

/* Element types, named as in the files ("F32", "BF16", ...). F8_E4M3 is the "fn" variant
 * (torch.float8_e4m3fn: no infinities, S.1111.111 is NaN); F8_E5M2 is IEEE-like. */
typedef enum cn_st_dtype {
    CN_ST_DTYPE_BOOL = 0, CN_ST_DTYPE_U8, CN_ST_DTYPE_I8, CN_ST_DTYPE_F8_E5M2, CN_ST_DTYPE_F8_E4M3,
    CN_ST_DTYPE_I16, CN_ST_DTYPE_U16, CN_ST_DTYPE_F16, CN_ST_DTYPE_BF16,
    CN_ST_DTYPE_I32, CN_ST_DTYPE_U32, CN_ST_DTYPE_F32,
    CN_ST_DTYPE_F64, CN_ST_DTYPE_I64, CN_ST_DTYPE_U64,
    CN_ST_DTYPE_COUNT_
} cn_st_dtype;
const char *cn_st_dtype_name(cn_st_dtype t); /* "F32"; "?" when out of range. Static. */
size_t cn_st_dtype_size(cn_st_dtype t);      /* bytes per element; 0 when out of range */
int cn_st_dtype_is_float(cn_st_dtype t);     /* F8_*, F16, BF16, F32, F64 */

/* One tensor. From a file: every pointer is borrowed from the cn_safetensors and valid until
 * cn_safetensors_destroy. For cn_safetensors_save: filled by the caller, borrowed for the
 * call. `data` is little-endian and, in a loaded file, not necessarily aligned: read it with
 * cn_safetensors_to_f32/_to_i64 or memcpy, never through a cast pointer. */
typedef struct cn_st_tensor {
    const char *name;
    cn_st_dtype dtype;
    int ndim;                        /* 0 for a scalar (shape []) */
    int64_t shape[CN_ST_MAX_DIMS];
    int64_t numel;                   /* product of shape (1 for a scalar); ignored by save */
    const void *data;
    size_t nbytes;                   /* numel * cn_st_dtype_size(dtype); save checks it if non-zero */
} cn_st_tensor;

/* A parsed file. Owns a copy of the whole file and every string it hands out. */
typedef struct cn_safetensors cn_safetensors;

/* Read and validate a file. *out is NULL on failure. */
cn_status cn_safetensors_load(cn_safetensors **out, const char *path);
/* Validate a file held in memory; `buf` is copied (the caller keeps ownership of it);
 * `name` labels error messages (NULL: "safetensors"). */
cn_status cn_safetensors_parse(cn_safetensors **out, const void *buf, size_t len, const char *name);
void cn_safetensors_destroy(cn_safetensors *f); /* accepts NULL */

/* The path or name the file was opened with (owned by f). */
const char *cn_safetensors_name(const cn_safetensors *f);
/* Tensors, in the order of their data in the file (by data_offsets). */
int cn_safetensors_count(const cn_safetensors *f);
cn_status cn_safetensors_get(const cn_safetensors *f, int i, cn_st_tensor *t);
/* By name (binary search). CN_STATUS_NOT_FOUND if absent. */
cn_status cn_safetensors_find(const cn_safetensors *f, const char *name, cn_st_tensor *t);

/* __metadata__: the value for `key`, or NULL if absent (owned by f). Keys are in file order. */
const char *cn_safetensors_metadata(const cn_safetensors *f, const char *key);
int cn_safetensors_metadata_count(const cn_safetensors *f);
cn_status cn_safetensors_metadata_at(const cn_safetensors *f, int i, const char **key, const char **value);

/* Convert all t->numel elements into out (caller-owned). to_f32 accepts every dtype (bool
 * gives 0/1; 64-bit integers round to the nearest float). to_i64 accepts integer and bool
 * dtypes only (CN_STATUS_UNSUPPORTED otherwise) and fails with CN_STATUS_LIMIT, naming the
 * index, on a U64 value above INT64_MAX. */
cn_status cn_safetensors_to_f32(const cn_st_tensor *t, float *out);
cn_status cn_safetensors_to_i64(const cn_st_tensor *t, int64_t *out);

/* Write n tensors and n_meta metadata pairs (keys/values borrowed; NULL when n_meta is 0)
 * atomically: temporary file, fsync, rename; nothing is left behind on failure. Any dtype
 * may be written; `data` is in host order (swapped to little-endian on big-endian hosts).
 * Tensors appear in the header in the given order; their data is laid out by decreasing
 * element size (stable), after a header padded to a multiple of 8, so every tensor is
 * aligned to its element size in the file. Names must be unique and not "__metadata__";
 * metadata keys unique. */
cn_status cn_safetensors_save(const char *path, const cn_st_tensor *tensors, int n, const char *const *meta_keys,
                              const char *const *meta_values, int n_meta);

/* ---- model weights ---------------------------------------------------------------------- */

/* The metadata key under which cn_model_save_weights stores the model text. */
#define CN_WEIGHTS_MODEL_KEY "convnet.model"

/* Flags for the loaders. */
enum {
    CN_WEIGHTS_STRICT = 0,      /* every tensor in the file must be a model parameter */
    CN_WEIGHTS_ALLOW_EXTRA = 1, /* ignore file tensors the model does not have */
};

/* Every parameter (cn_model_param: weights, biases, running statistics) as an F32 tensor
 * with its shape, plus the model text (cn_model_to_text) under CN_WEIGHTS_MODEL_KEY and
 * the caller's metadata pairs (which may not use that key). Requires a plan. Atomic. */
cn_status cn_model_save_weights(const cn_model *m, const char *path, const char *const *meta_keys,
                                const char *const *meta_values, int n_meta);

/* Load every parameter of a planned model from a file. Each must be present with exactly
 * the model's shape and a float dtype (F32, F64, F16, BF16, F8_*; converted to float32).
 * Integer and bool tensors are refused (CN_STATUS_UNSUPPORTED): they are not weights, and
 * quantized weights need their scales. Errors name the file, the tensor and both shapes or
 * dtypes: "w.st: tensor 'c1.weight': file has shape 6x1x5x5, model expects 6x3x5x5".
 * Missing parameters and (without CN_WEIGHTS_ALLOW_EXTRA) extra tensors are
 * CN_STATUS_NOT_FOUND. Everything is checked before anything is written, so on failure the
 * model's parameters are unchanged. The metadata (model text) is not compared: a model may
 * load weights saved from a differently written but parameter-compatible model. */
cn_status cn_model_load_weights(cn_model *m, const char *path, int flags);

/* Transfer learning: load only the parameters of the named layers (a parameter belongs to
 * the layer whose name, followed by '.', is its longest prefix). Parameters of other layers
 * keep their values; file tensors of other layers are ignored; the rules above hold within
 * the named layers. Every name must be a layer of the model (CN_STATUS_NOT_FOUND); an empty
 * list (n_layers 0) means every layer, as cn_model_load_weights. */
cn_status cn_model_load_weights_layers(cn_model *m, const char *path, const char *const *layers, int n_layers,
                                       int flags);

/* The same from an already parsed file (n_layers 0: all layers; the file stays the caller's). */
cn_status cn_model_load_weights_from(cn_model *m, const cn_safetensors *f, const char *const *layers, int n_layers,
                                     int flags);

/* Build a model from the CN_WEIGHTS_MODEL_KEY metadata of a weights file (cn_model_parse),
 * unplanned and without weights: the caller plans it and may then load the weights.
 * CN_STATUS_NOT_FOUND if the file carries no model text. *out is NULL on failure. */
cn_status cn_model_load_file(cn_model **out, const char *path);
/* Build, plan for `batch` with `plan_flags` (CN_PLAN_INFER / CN_PLAN_TRAIN), and load the
 * weights (strictly), reading the file once. *out is NULL on failure. */
cn_status cn_model_load_file_weights(cn_model **out, const char *path, int64_t batch, int plan_flags);

#ifdef __cplusplus
}
#endif
#endif
