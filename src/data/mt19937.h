/* mt19937.h — an emulation of NumPy's legacy global RNG (numpy.random.RandomState /
 * np.random.seed), internal to the library. It exists so that datasets defined by NumPy code
 * (MNIST-1D) can be regenerated bit for bit in C. Everything else in convnet uses the Philox
 * streams of convnet/rng.h.
 *
 * Semantics follow NumPy's legacy code paths (numpy 1.17+, unchanged through 1.26):
 *   seed            init_genrand: mt[0] = seed, mt[i] = 1812433253*(mt[i-1]^(mt[i-1]>>30)) + i
 *   random_sample   ((a>>5)*2^26 + (b>>6)) / 2^53 from two 32-bit words a, b (a first)
 *   gauss           polar (Marsaglia) method; returns f*x2 and caches f*x1 for the next call
 *   interval(max)   uniform in [0, max]: words AND the smallest 2^j-1 mask >= max, rejected
 *                   while > max (32-bit words if max < 2^32, else 64-bit words, high word first)
 *   randint(lo,hi)  lo + interval(hi-1-lo) (randint, and choice(n) = randint(0, n))
 *   shuffle         for i = n-1 down to 1: j = interval(i), swap a[i], a[j]
 *   permutation(n)  shuffle of 0..n-1
 * The state is a caller-owned value; copying it forks the stream. */
#ifndef CN_DATA_MT19937_H
#define CN_DATA_MT19937_H

#include <stdint.h>

#define CN_MT19937_N 624

typedef struct cn_mt19937 {
    uint32_t key[CN_MT19937_N];
    int pos;       /* next word of key[] to temper; N means "regenerate first" */
    int has_gauss; /* a cached second normal is waiting */
    double gauss;
} cn_mt19937;

void cn_mt19937_seed(cn_mt19937 *r, uint32_t seed);
uint32_t cn_mt19937_next32(cn_mt19937 *r);
uint64_t cn_mt19937_next64(cn_mt19937 *r);
/* np.random.random_sample() / np.random.rand(): a double in [0, 1) */
double cn_mt19937_random_sample(cn_mt19937 *r);
/* np.random.uniform(low, high): low + (high - low) * random_sample */
double cn_mt19937_uniform(cn_mt19937 *r, double low, double high);
/* np.random.randn() / standard_normal() */
double cn_mt19937_gauss(cn_mt19937 *r);
/* np.random.normal(loc, scale): loc + scale * gauss */
double cn_mt19937_normal(cn_mt19937 *r, double loc, double scale);
/* uniform integer in [0, max] by masked rejection (no modulo) */
uint64_t cn_mt19937_interval(cn_mt19937 *r, uint64_t max);
/* np.random.randint(low, high): [low, high), requires low < high */
int64_t cn_mt19937_randint(cn_mt19937 *r, int64_t low, int64_t high);
/* np.random.shuffle on a 1-D array, and np.random.permutation(n) into out[n] */
void cn_mt19937_shuffle(cn_mt19937 *r, int64_t *a, int64_t n);
void cn_mt19937_permutation(cn_mt19937 *r, int64_t *out, int64_t n);

#endif
