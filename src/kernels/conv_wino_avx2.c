/* conv_wino_avx2.c — the Winograd transforms compiled for AVX2 (conv_wino_body.h). */
#define WT_TABLE cn_wino_avx2
#include "kernels/conv_wino_body.h"
