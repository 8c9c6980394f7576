/* fuzz_onnx.c — ONNX models (.onnx, a protobuf ModelProto) through cn_onnx_import_buffer:
 * decoding, operator translation, constant folding, planning and weight loading. Then, as a
 * user would, one forward pass at the planned batch on small models. The input is the file.
 * Without protobuf-c in the build the import is a stub (CN_STATUS_UNSUPPORTED). */
#include "convnet/onnx.h"
#include "fuzz.h"

static int fuzz_onnx(const uint8_t *data, size_t size)
{
    if (!cn_onnx_available()) return -1; /* a build without protobuf-c: nothing to judge */
    cn_model *m = NULL;
    cn_onnx_info info;
    memset(&info, 0, sizeof info);
    cn_status st = cn_onnx_import_buffer(&m, data, size, "fuzz.onnx", NULL, &info);
    if (st != CN_OK) {
        cn_fuzz_expect_error(st, "fuzz.onnx");
        CN_FUZZ_ASSERT(m == NULL, "a failed import returned a model");
        return 0;
    }
    CN_FUZZ_ASSERT(info.n_inputs >= 0 && info.n_outputs >= 0, "ports %d, %d", info.n_inputs, info.n_outputs);
    for (int i = 0; i < info.n_outputs; i++)
        if (info.outputs[i].layer) {
            const float *y;
            CN_FUZZ_ASSERT(cn_model_layer_output(m, info.outputs[i].layer, &y, NULL) == CN_OK, "output '%s' names layer '%s', "
                           "which the model lacks", info.outputs[i].name, info.outputs[i].layer);
        }
    /* run it if it is small: every input layer gets the same pattern */
    int64_t macs = 0, most = 0;
    for (int i = 0; i < cn_model_layer_count(m); i++) {
        cn_layer_info li;
        cn_model_layer(m, i, &li);
        macs += li.macs;
        if (cn_shape_numel(&li.out) > most) most = cn_shape_numel(&li.out);
    }
    if (macs <= CN_FUZZ_MAX_MACS && most <= CN_FUZZ_MAX_FLOATS) {
        float *x = malloc((size_t)most * sizeof *x + 4);
        if (!x) abort();
        for (int64_t i = 0; i < most; i++) x[i] = (float)(i % 7) * 0.25f - 0.8f;
        for (int i = 0; i < cn_model_layer_count(m); i++) {
            cn_layer_info li;
            cn_model_layer(m, i, &li);
            if (!strcmp(li.type, "input")) cn_model_set_input(m, li.name, x);
        }
        st = cn_model_forward(m, NULL, 0);
        if (st != CN_OK) cn_fuzz_expect_error(st, NULL);
        free(x);
    }
    cn_onnx_info_free(&info);
    cn_model_destroy(m);
    return 1;
}

CN_FUZZ_TARGET(onnx)
