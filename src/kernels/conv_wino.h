/* conv_wino.h — private: the input and output transforms of the Winograd F(2x2, 3x3)
 * convolution (conv_wino.c), one table per ISA built from conv_wino_body.h. ISO C adds and
 * subtracts in a fixed order (no contraction): every ISA computes the same bits.
 *
 * A "segment" is `len` consecutive tiles of one image and one channel in row-major order
 * over tile rows of `tw` tiles, starting at tile (ty0, tx0). Tile (ty, tx) covers input rows
 * 2ty - pt .. 2ty - pt + 3 and columns 2tx - pl .. 2tx - pl + 3 (outside the input: zero)
 * and output rows 2ty, 2ty + 1 and columns 2tx, 2tx + 1 (outside the output: dropped). */
#ifndef CN_KERNELS_CONV_WINO_H
#define CN_KERNELS_CONV_WINO_H

#include <stdint.h>

#include "convnet/core.h"

/* Segments are computed in whole vectors: CN_WINO_PAD(len) tiles, the ones past len junk
 * (read from and written to the padding of V's and M's rows, which have room for them) */
#define CN_WINO_PAD(len) (((len) + 15) & ~(int64_t)15)
/* floats of `tmp` a segment of len tiles needs */
#define CN_WINO_TMP(len) (32 * (CN_WINO_PAD(len) + 16))
/* floats of padding after each row of V and M */
#define CN_WINO_ROWPAD 16

typedef struct cn_wino_ops {
    /* for channels ch < nch (plane x + ch*cs, ih x iw): V[ch*ldv + k*vs + i] = (B^T d_i B)[k]
     * for the 16 points k of tile i < CN_WINO_PAD(len) (tiles past len: zero patches), d_i
     * its 4x4 patch; B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1] */
    void (*input)(float *V, int64_t vs, int64_t ldv, const float *x, int64_t cs, int64_t nch, int64_t ih, int64_t iw,
                  int64_t pt, int64_t pl, int64_t tw, int64_t ty0, int64_t tx0, int64_t len, float *tmp);
    /* for channels ch < nch: the 2x2 outputs A^T m_i A (+ bias[ch]; bias may be NULL) of tiles
     * i < len, m_i[k] = M[ch*ldm + k*ms + i] (read up to CN_WINO_PAD(len)),
     * A^T = [1 1 1 0; 0 1 -1 -1], stored (acc: added) into the plane y + ch*cs (oh x ow) */
    void (*output)(float *y, int64_t cs, int64_t nch, int64_t oh, int64_t ow, int64_t tw, int64_t ty0, int64_t tx0,
                   const float *M, int64_t ms, int64_t ldm, int64_t len, const float *bias, int acc, float *tmp);
} cn_wino_ops;

extern const cn_wino_ops cn_wino_generic;
#ifdef CN_HAVE_AVX2
extern const cn_wino_ops cn_wino_avx2;
#endif
#ifdef CN_HAVE_AVX512
extern const cn_wino_ops cn_wino_avx512;
#endif

#endif
