/* conv_wino_avx512.c — the Winograd transforms compiled for AVX-512F (conv_wino_body.h). */
#define WT_TABLE cn_wino_avx512
#include "kernels/conv_wino_body.h"
