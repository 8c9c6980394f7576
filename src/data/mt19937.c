/* mt19937.c — the 32-bit Mersenne Twister (Matsumoto & Nishimura 1998) and the NumPy legacy
 * RandomState draws built on it; see mt19937.h for the exact semantics. */
#include "data/mt19937.h"

#include <math.h>

#define MT_M 397
#define MT_MATRIX_A 0x9908b0dfU
#define MT_UPPER 0x80000000U
#define MT_LOWER 0x7fffffffU

void cn_mt19937_seed(cn_mt19937 *r, uint32_t seed)
{
    r->key[0] = seed;
    for (uint32_t i = 1; i < CN_MT19937_N; i++)
        r->key[i] = 1812433253U * (r->key[i - 1] ^ (r->key[i - 1] >> 30)) + i; /* mod 2^32 by uint32_t */
    r->pos = CN_MT19937_N;
    r->has_gauss = 0;
    r->gauss = 0.0;
}

/* regenerate all N words of the state (the "twist") */
static void twist(cn_mt19937 *r)
{
    uint32_t *k = r->key;
    for (int i = 0; i < CN_MT19937_N; i++) {
        uint32_t y = (k[i] & MT_UPPER) | (k[(i + 1) % CN_MT19937_N] & MT_LOWER);
        k[i] = k[(i + MT_M) % CN_MT19937_N] ^ (y >> 1) ^ ((y & 1U) ? MT_MATRIX_A : 0U);
    }
    r->pos = 0;
}

uint32_t cn_mt19937_next32(cn_mt19937 *r)
{
    if (r->pos >= CN_MT19937_N) twist(r);
    uint32_t y = r->key[r->pos++];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680U;
    y ^= (y << 15) & 0xefc60000U;
    y ^= y >> 18;
    return y;
}

uint64_t cn_mt19937_next64(cn_mt19937 *r)
{
    uint64_t hi = cn_mt19937_next32(r); /* high word first, as NumPy's legacy generator */
    uint64_t lo = cn_mt19937_next32(r);
    return hi << 32 | lo;
}

double cn_mt19937_random_sample(cn_mt19937 *r)
{
    uint32_t a = cn_mt19937_next32(r) >> 5, b = cn_mt19937_next32(r) >> 6;
    return ((double)a * 67108864.0 + (double)b) / 9007199254740992.0;
}

double cn_mt19937_uniform(cn_mt19937 *r, double low, double high)
{
    return low + (high - low) * cn_mt19937_random_sample(r);
}

double cn_mt19937_gauss(cn_mt19937 *r)
{
    if (r->has_gauss) {
        r->has_gauss = 0;
        double g = r->gauss;
        r->gauss = 0.0;
        return g;
    }
    double x1, x2, r2;
    do {
        x1 = 2.0 * cn_mt19937_random_sample(r) - 1.0;
        x2 = 2.0 * cn_mt19937_random_sample(r) - 1.0;
        r2 = x1 * x1 + x2 * x2;
    } while (r2 >= 1.0 || r2 == 0.0);
    double f = sqrt(-2.0 * log(r2) / r2);
    r->gauss = f * x1;
    r->has_gauss = 1;
    return f * x2;
}

double cn_mt19937_normal(cn_mt19937 *r, double loc, double scale) { return loc + scale * cn_mt19937_gauss(r); }

uint64_t cn_mt19937_interval(cn_mt19937 *r, uint64_t max)
{
    if (max == 0) return 0;
    uint64_t mask = max, v;
    mask |= mask >> 1;
    mask |= mask >> 2;
    mask |= mask >> 4;
    mask |= mask >> 8;
    mask |= mask >> 16;
    mask |= mask >> 32;
    if (max <= 0xffffffffULL) {
        while ((v = (cn_mt19937_next32(r) & mask)) > max) {}
    } else {
        while ((v = (cn_mt19937_next64(r) & mask)) > max) {}
    }
    return v;
}

int64_t cn_mt19937_randint(cn_mt19937 *r, int64_t low, int64_t high)
{
    /* high - 1 - low without signed overflow. NumPy special-cases a range of exactly 2^32-1 or
     * 2^64-1 (one raw word); the masked draw below returns that same word, so no branch. */
    uint64_t range = (uint64_t)high - (uint64_t)low - 1U;
    return (int64_t)((uint64_t)low + cn_mt19937_interval(r, range));
}

void cn_mt19937_shuffle(cn_mt19937 *r, int64_t *a, int64_t n)
{
    for (int64_t i = n - 1; i >= 1; i--) {
        int64_t j = (int64_t)cn_mt19937_interval(r, (uint64_t)i);
        int64_t t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}

void cn_mt19937_permutation(cn_mt19937 *r, int64_t *out, int64_t n)
{
    for (int64_t i = 0; i < n; i++) out[i] = i;
    cn_mt19937_shuffle(r, out, n);
}
