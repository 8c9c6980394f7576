/* fuzz_darknet.c — Darknet models: a .cfg through cn_darknet_parse, planned at batch 2 (convnet's
 * batch_norm needs more than one value per channel, so a [connected] with batch_normalize
 * cannot plan at batch 1), then a
 * .weights file through cn_darknet_load_weights_buffer. Input: the cfg text, optionally
 * followed by a NUL byte and the weights file. Accepted if the cfg parses. Loading weights
 * must fail cleanly or fill the parameters (all-or-nothing: on failure they are unchanged). */
#include "convnet/darknet.h"
#include "fuzz.h"

static int fuzz_darknet(const uint8_t *data, size_t size)
{
    if (size > 65536) return 0; /* as fuzz_model: nothing to gain from larger files */
    const uint8_t *nul = memchr(data, 0, size);
    size_t cfg_len = nul ? (size_t)(nul - data) : size;
    cn_model *m = NULL;
    cn_status st = cn_darknet_parse(&m, (const char *)data, cfg_len, "fuzz.cfg");
    if (st != CN_OK) {
        cn_fuzz_expect_error(st, "fuzz.cfg");
        CN_FUZZ_ASSERT(m == NULL, "a failed parse returned a model");
        return 0;
    }
    st = cn_model_plan(m, 2, CN_PLAN_INFER);
    if (st != CN_OK) {
        cn_fuzz_expect_error(st, NULL);
    } else if (nul) {
        /* snapshot the first value of every parameter: a failed load must not change them */
        int np = cn_model_param_count(m);
        float *first = calloc((size_t)np + 1, sizeof *first);
        if (!first) abort();
        for (int i = 0; i < np; i++) {
            cn_param p;
            cn_model_param(m, i, &p);
            first[i] = p.value[0];
        }
        st = cn_darknet_load_weights_buffer(m, nul + 1, size - cfg_len - 1, "fuzz.weights");
        if (st != CN_OK) {
            cn_fuzz_expect_error(st, "fuzz.weights");
            for (int i = 0; i < np; i++) {
                cn_param p;
                cn_model_param(m, i, &p);
                CN_FUZZ_ASSERT(!memcmp(&first[i], p.value, sizeof(float)), "a failed load changed parameter '%s'", p.name);
            }
        }
        free(first);
    }
    cn_model_destroy(m);
    return 1;
}

CN_FUZZ_TARGET(darknet)
