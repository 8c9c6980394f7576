/* test_viz_explain.c — the 1D convolution as a fully connected matrix (cn_conv1d_taps) agrees
 * with what the conv kernel computes: probing it with one-hot inputs and one-hot kernels,
 * output o responds to input i through tap j exactly where the matrix says so. Plus the
 * lecture's example written out by hand. */
#include <string.h>

#include "convnet/viz.h"
#include "test.h"

/* configurations, one per line: in k stride dilation pad_begin pad_end */
static const char *const grid[] = {
    "8 3 2 1 1 1", "8 3 1 1 0 0",  "8 3 1 2 2 2", "10 4 3 1 2 1", "7 2 2 3 0 3",
    "5 5 1 1 2 2", "12 3 4 2 1 0", "6 1 2 1 0 0", "9 3 2 2 3 3",  "4 4 1 1 0 0",
};

static void test_taps_match_conv(void)
{
    for (size_t c = 0; c < sizeof grid / sizeof grid[0]; c++) {
        int in, k, s, d, pb, pe;
        sscanf(grid[c], "%d %d %d %d %d %d", &in, &k, &s, &d, &pb, &pe);
        cn_conv_geom g;
        cn_conv_geom_init(&g, 1);
        g.ic = g.oc = 1;
        g.in[0] = in, g.k[0] = k, g.stride[0] = s, g.dilation[0] = d, g.pad_begin[0] = pb, g.pad_end[0] = pe;
        CHECK_OK(cn_conv_geom_resolve(&g, "probe"));
        int64_t out = g.out[0], cols = pb + in + pe;
        int taps[64 * 64];
        CHECK_OK(cn_conv1d_taps(taps, 64 * 64, &g));
        for (int j = 0; j < k; j++)
            for (int i = 0; i < in; i++) {
                float x[64] = {0}, w[16] = {0}, y[64];
                x[i] = 1, w[j] = 1;
                cn_conv_forward(y, x, w, NULL, &g, NULL);
                for (int64_t o = 0; o < out; o++) {
                    int expect = taps[o * cols + pb + i] == j;
                    CHECK_MSG((y[o] == 1.0f) == expect && (y[o] == 0.0f) == !expect,
                              "[%s] output %lld, input %d, tap %d: conv gives %g, matrix says %d", grid[c],
                              (long long)o, i, j, y[o], taps[o * cols + pb + i]);
                }
            }
        /* each row holds every tap exactly once (padded columns included) */
        for (int64_t o = 0; o < out; o++) {
            int seen[16] = {0};
            for (int64_t col = 0; col < cols; col++)
                if (taps[o * cols + col] >= 0) seen[taps[o * cols + col]]++;
            for (int j = 0; j < k; j++)
                CHECK_MSG(seen[j] == 1, "[%s] row %lld has tap %d %d times", grid[c], (long long)o, j, seen[j]);
        }
    }
}

static void test_lecture_example(void)
{
    /* input 8, kernel 3, stride 2, dilation 1, padding 1: 4 outputs */
    cn_conv_geom g;
    cn_conv_geom_init(&g, 1);
    g.ic = g.oc = 1, g.in[0] = 8, g.k[0] = 3, g.stride[0] = 2, g.pad_begin[0] = g.pad_end[0] = 1;
    CHECK_OK(cn_conv_geom_resolve(&g, "lecture"));
    CHECK_EQ_INT(g.out[0], 4);
    int taps[4 * 10];
    CHECK_OK(cn_conv1d_taps(taps, 40, &g));
    /* columns: p x0 .. x7 p */
    static const char *const rows[] = {"abc.......", "..abc.....", "....abc...", "......abc."};
    for (int o = 0; o < 4; o++)
        for (int c = 0; c < 10; c++) {
            int want = rows[o][c] == '.' ? -1 : rows[o][c] - 'a';
            CHECK_MSG(taps[o * 10 + c] == want, "row %d col %d: %d, expected %d", o, c, taps[o * 10 + c], want);
        }
    CHECK_EQ_INT(cn_conv_params(&g, 1), 4);
    CHECK_EQ_INT(cn_conv_macs(&g), 12);
    CHECK_ERR(cn_conv1d_taps(taps, 39, &g), CN_STATUS_LIMIT, "does not fit in 39");
    cn_conv_geom g2;
    cn_conv_geom_init(&g2, 2);
    CHECK_ERR(cn_conv1d_taps(taps, 40, &g2), CN_STATUS_UNSUPPORTED, "ndim 2");
}

int main(void)
{
    RUN(test_taps_match_conv);
    RUN(test_lecture_example);
    return cn_test_finish();
}
