/* norm_fast_avx512.c — batch norm's row loops compiled for AVX-512F (norm_fast_body.h). */
#define NF_TABLE cn_bn_rows_avx512
#include "kernels/norm_fast_body.h"
