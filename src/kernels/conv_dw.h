/* conv_dw.h — private: direct depthwise-convolution plane kernels (one input plane, one output
 * plane, no copies), per ISA; NULL where an ISA has none (the per-plane engine of conv_rows.c
 * serves it). Stride 1, zero padding, any kernel size and dilation, 2D (1D as H = 1). */
#ifndef CN_KERNELS_CONV_DW_H
#define CN_KERNELS_CONV_DW_H

#include <stdint.h>

typedef struct cn_dw_geom {
    int64_t h, w;      /* input plane */
    int64_t oh, ow;    /* output plane */
    int64_t kh, kw;    /* kernel */
    int64_t ph, pw;    /* padding before (the output starts at input -ph, -pw) */
    int64_t dh, dw;    /* dilation */
} cn_dw_geom;

typedef struct cn_dw_ops {
    /* y[oy][ox] = (acc ? y : bias) + sum_{jy,jx} k[jy*kw + jx] * x[oy - ph + jy*dh][ox - pw + jx*dw]
     * (x outside the plane reads 0) */
    void (*plane)(float *y, const float *x, const float *k, float bias, int acc, const cn_dw_geom *g);
    /* dk[jy*kw + jx] += sum_{oy,ox} dy[oy][ox] * x[oy - ph + jy*dh][ox - pw + jx*dw] */
    void (*wgrad)(float *dk, const float *dy, const float *x, const cn_dw_geom *g);
} cn_dw_ops;

/* the table for the active ISA, or NULL */
const cn_dw_ops *cn_dw(void);

#endif
