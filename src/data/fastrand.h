/* fastrand.h — bulk Gaussian noise from a cn_rng stream (internal to src/data).
 *
 * cn_rng_normal computes a whole Philox block for each of the two words it uses and one
 * Box-Muller pair per value. Noise over an image needs millions of values per second, so this
 * reads the stream a block at a time (words 4k..4k+3 of the stream, as cn_rng_u32 would see
 * them) and turns each block into four normals (both halves of two Box-Muller pairs). It
 * advances the stream by exactly the words it used (rounded up to whole blocks), so a caller
 * drawing from it afterwards gets fresh words. The values are a pure function of the stream
 * position: the same on any thread. */
#ifndef CN_DATA_FASTRAND_H
#define CN_DATA_FASTRAND_H

#include <math.h>

#include "convnet/rng.h"

/* x[i] += std * N(0, 1) for i in [0, n); values for `set` = 1 replace x instead. */
static inline void cn_noise_fill(cn_rng *r, float *x, int64_t n, float mean, float std, int set)
{
    uint64_t block = (r->counter + 3) / 4; /* the first whole block not yet touched */
    const uint32_t key[2] = {(uint32_t)r->seed, (uint32_t)(r->seed >> 32)};
    int64_t i = 0;
    while (i < n) {
        uint32_t ctr[4] = {(uint32_t)block, (uint32_t)(block >> 32), (uint32_t)r->stream, (uint32_t)(r->stream >> 32)}, w[4];
        cn_philox4x32_10(ctr, key, w);
        block++;
        for (int p = 0; p < 2 && i < n; p++) {
            /* u1 in (0, 1] so the log is finite */
            float u1 = ((float)(w[2 * p] >> 8) + 1.0f) * (1.0f / 16777216.0f);
            float u2 = (float)(w[2 * p + 1] >> 8) * (1.0f / 16777216.0f);
            float rad = sqrtf(-2.0f * logf(u1)), ang = 6.2831853071795865f * u2;
            float z0 = rad * cosf(ang), z1 = rad * sinf(ang);
            x[i] = (set ? 0.0f : x[i]) + mean + std * z0;
            i++;
            if (i < n) {
                x[i] = (set ? 0.0f : x[i]) + mean + std * z1;
                i++;
            }
        }
    }
    r->counter = block * 4;
}

#endif
