/* convnet/rng.h — deterministic random numbers.
 *
 * Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11), a
 * counter-based generator: the n-th number of stream s under seed k is a pure function of
 * (k, s, n). So any range of a stream can be produced by any thread, and a seed gives the
 * same numbers whatever the thread count. Each purpose has its own stream (CN_STREAM_INIT,
 * CN_STREAM_DROPOUT, ...), so e.g. adding augmentation never changes the initial weights.
 *
 *     cn_rng r;
 *     cn_rng_init(&r, 42, CN_STREAM_INIT);
 *     float u = cn_rng_uniform(&r);          // [0, 1)
 *     cn_rng_fill_normal(&r, w, n, 0, 0.1f); // n floats ~ N(0, 0.1^2), advances r by n
 */
#ifndef CONVNET_RNG_H
#define CONVNET_RNG_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
    CN_STREAM_INIT = 1,
    CN_STREAM_DROPOUT = 2,
    CN_STREAM_SHUFFLE = 3,
    CN_STREAM_AUGMENT = 4,
    CN_STREAM_DATA = 5, /* synthetic data generators */
    CN_STREAM_POOL = 6, /* stochastic and fractional pooling */
    CN_STREAM_USER = 1000 /* first id free for applications */
};

/* A caller-owned value; copy it to fork a position. */
typedef struct cn_rng {
    uint64_t seed;
    uint64_t stream;
    uint64_t counter; /* index of the next 32-bit word in the stream */
} cn_rng;

void cn_rng_init(cn_rng *r, uint64_t seed, uint64_t stream);
/* Position r at the n-th 32-bit word of its stream. */
void cn_rng_seek(cn_rng *r, uint64_t n);

/* The raw block function: four 32-bit words out of a 128-bit counter and a 64-bit key. */
void cn_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);

uint32_t cn_rng_u32(cn_rng *r);
/* Uniform integer in [0, n), n >= 1, without modulo bias. */
uint32_t cn_rng_below(cn_rng *r, uint32_t n);
/* Uniform float in [0, 1) with 24 random bits. */
float cn_rng_uniform(cn_rng *r);
/* Uniform double in [0, 1) with 53 random bits (uses two words). */
double cn_rng_uniform_f64(cn_rng *r);
/* Standard normal (Box-Muller on two fresh words; always consumes exactly two words). */
float cn_rng_normal(cn_rng *r);
/* 1 with probability p, else 0 (one word). */
int cn_rng_bernoulli(cn_rng *r, float p);

/* Fill x[0..n) and advance r by n (normal: 2n) words. Each element depends only on its
 * index, so the fill is split across threads with identical results. */
void cn_rng_fill_uniform(cn_rng *r, float *x, size_t n, float lo, float hi);
void cn_rng_fill_normal(cn_rng *r, float *x, size_t n, float mean, float std);
void cn_rng_fill_bernoulli(cn_rng *r, float *x, size_t n, float p);

#ifdef __cplusplus
}
#endif
#endif
