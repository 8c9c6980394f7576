/* load_any.c — cn_model_load_any: a model from any file convnet reads, chosen by content
 * (ONNX is recognised by its extension: a protobuf has no magic number). */
#include <stdio.h>
#include <string.h>

#include "convnet/darknet.h"
#include "convnet/onnx.h"
#include "convnet/safetensors.h"
#include "io/file.h"

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

cn_status cn_model_load_any(cn_model **out, const char *path)
{
    *out = NULL;
    if (!path) return cn_set_error(CN_STATUS_INVALID_ARG, "load: no path");
    if (ends_with(path, ".onnx") || ends_with(path, ".ONNX")) return cn_onnx_import(out, path, NULL, NULL);
    unsigned char *buf = NULL;
    size_t len = 0;
    cn_status st = cn_file_read_all(path, &buf, &len);
    if (st != CN_OK) return st;
    if (len >= 9 && buf[8] == '{') { /* safetensors: an 8-byte header length, then JSON */
        cn_free(buf);
        if ((st = cn_model_load_file(out, path)) != CN_OK) return st;
        if ((st = cn_model_plan(*out, 1, CN_PLAN_INFER)) == CN_OK) st = cn_model_load_weights(*out, path, CN_WEIGHTS_STRICT);
        if (st != CN_OK) {
            cn_model_destroy(*out);
            *out = NULL;
        }
        return st;
    }
    if (cn_darknet_is_cfg((const char *)buf, len)) st = cn_darknet_parse(out, (const char *)buf, len, path);
    else {
        cn_free(buf);
        return cn_model_load(out, path);
    }
    cn_free(buf);
    return st;
}
