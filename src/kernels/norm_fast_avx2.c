/* norm_fast_avx2.c — batch norm's row loops compiled for AVX2 + FMA (norm_fast_body.h). */
#define NF_TABLE cn_bn_rows_avx2
#include "kernels/norm_fast_body.h"
