/* targets.h — the fuzz targets, one line each: #include "fuzz_<name>.c".
 * cmake/fuzz.cmake builds a libFuzzer program fuzz_<name> from every line; scripts/fuzz.sh
 * (`make fuzz`) runs them; tests/unit/test_fuzz_regressions.c includes this file to replay
 * fuzz/corpus/<name>/ and tests/fuzz_regressions/<name>/ through the same entry points.
 * Adding a target: write fuzz/fuzz_<name>.c (see fuzz.h), add its line here, put a few seed
 * files in fuzz/corpus/<name>/. */
#include "fuzz_npy.c"
#include "fuzz_safetensors.c"
#include "fuzz_model.c"
#include "fuzz_idx.c"
#include "fuzz_checkpoint.c"
#include "fuzz_image.c"
#include "fuzz_npz.c"
#include "fuzz_onnx.c"
#include "fuzz_onnx_tensor.c"
#include "fuzz_darknet.c"
