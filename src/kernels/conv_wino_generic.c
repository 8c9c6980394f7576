/* conv_wino_generic.c — the Winograd transforms for the baseline ISA (conv_wino_body.h). */
#define WT_TABLE cn_wino_generic
#include "kernels/conv_wino_body.h"
