/* explain.c — a 1D convolution as the fully connected matrix it equals: which kernel tap
 * joins each output to each (padded) input position. */
#include <string.h>

#include "convnet/viz.h"

cn_status cn_conv1d_taps(int *tap, int64_t cap, const cn_conv_geom *g)
{
    if (g->ndim != 1 || g->transposed)
        return cn_set_error(CN_STATUS_UNSUPPORTED,
                            "taps: only an ordinary 1D convolution (ndim 1, not transposed), got ndim %d%s", g->ndim,
                            g->transposed ? ", transposed" : "");
    int64_t cols = g->pad_begin[0] + g->in[0] + g->pad_end[0], rows = g->out[0];
    if (rows < 1 || cols < 1 || rows > cap / cols)
        return cn_set_error(CN_STATUS_LIMIT, "taps: a %lld x %lld matrix does not fit in %lld entries", (long long)rows,
                            (long long)cols, (long long)cap);
    for (int64_t i = 0; i < rows * cols; i++) tap[i] = -1;
    for (int64_t o = 0; o < rows; o++)
        for (int64_t j = 0; j < g->k[0]; j++) {
            /* the forward's index rule (conv.h): i = o*stride - pad_begin + j*dilation */
            int64_t col = o * g->stride[0] + j * g->dilation[0]; /* = i + pad_begin */
            if (col >= 0 && col < cols) tap[o * cols + col] = (int)j;
        }
    return CN_OK;
}
