/* rng.c — Philox4x32-10 streams. Word n of stream s under seed k is word (n mod 4) of
 * philox(counter = {n/4 low, n/4 high, s low, s high}, key = {k low, k high}). */
#include "convnet/rng.h"
#include "convnet/core.h"

#include <math.h>

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

void cn_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4])
{
    uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
    uint32_t k0 = key[0], k1 = key[1];
    for (int round = 0; round < 10; round++) {
        uint64_t p0 = (uint64_t)PHILOX_M0 * c0;
        uint64_t p1 = (uint64_t)PHILOX_M1 * c2;
        uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
        uint32_t n1 = (uint32_t)p1;
        uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
        uint32_t n3 = (uint32_t)p0;
        c0 = n0, c1 = n1, c2 = n2, c3 = n3;
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    out[0] = c0, out[1] = c1, out[2] = c2, out[3] = c3;
}

void cn_rng_init(cn_rng *r, uint64_t seed, uint64_t stream)
{
    r->seed = seed;
    r->stream = stream;
    r->counter = 0;
}

void cn_rng_seek(cn_rng *r, uint64_t n) { r->counter = n; }

/* word n of the stream, without touching r */
static inline uint32_t word_at(const cn_rng *r, uint64_t n)
{
    uint64_t block = n >> 2;
    uint32_t ctr[4] = {(uint32_t)block, (uint32_t)(block >> 32), (uint32_t)r->stream, (uint32_t)(r->stream >> 32)};
    uint32_t key[2] = {(uint32_t)r->seed, (uint32_t)(r->seed >> 32)};
    uint32_t out[4];
    cn_philox4x32_10(ctr, key, out);
    return out[n & 3];
}

uint32_t cn_rng_u32(cn_rng *r) { return word_at(r, r->counter++); }

uint32_t cn_rng_below(cn_rng *r, uint32_t n)
{
    if (n <= 1) return 0;
    /* Lemire's multiply-and-reject */
    uint64_t m = (uint64_t)cn_rng_u32(r) * n;
    uint32_t low = (uint32_t)m;
    if (low < n) {
        uint32_t threshold = (uint32_t)(-n) % n;
        while (low < threshold) {
            m = (uint64_t)cn_rng_u32(r) * n;
            low = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

static inline float u01(uint32_t w) { return (float)(w >> 8) * (1.0f / 16777216.0f); }

static inline float normal_from(uint32_t a, uint32_t b)
{
    /* Box-Muller: u1 in (0, 1] so the log is finite */
    double u1 = ((double)(a >> 8) + 1.0) * (1.0 / 16777216.0);
    double u2 = (double)(b >> 8) * (1.0 / 16777216.0);
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

float cn_rng_uniform(cn_rng *r) { return u01(cn_rng_u32(r)); }

double cn_rng_uniform_f64(cn_rng *r)
{
    uint64_t hi = cn_rng_u32(r) >> 5, lo = cn_rng_u32(r) >> 6; /* 27 + 26 bits */
    return (double)(hi * 67108864.0 + lo) * (1.0 / 9007199254740992.0);
}

float cn_rng_normal(cn_rng *r)
{
    uint32_t a = cn_rng_u32(r), b = cn_rng_u32(r);
    return normal_from(a, b);
}

int cn_rng_bernoulli(cn_rng *r, float p) { return cn_rng_uniform(r) < p; }

typedef struct {
    cn_rng r;
    float *x;
    float a, b;
    int kind; /* 0 uniform, 1 normal, 2 bernoulli */
} fill_job;

static void fill_range(void *ctx, int64_t begin, int64_t end)
{
    const fill_job *j = ctx;
    for (int64_t i = begin; i < end; i++) {
        switch (j->kind) {
        case 0: j->x[i] = j->a + (j->b - j->a) * u01(word_at(&j->r, j->r.counter + (uint64_t)i)); break;
        case 1: {
            uint64_t n = j->r.counter + 2 * (uint64_t)i;
            j->x[i] = j->a + j->b * normal_from(word_at(&j->r, n), word_at(&j->r, n + 1));
            break;
        }
        default: j->x[i] = u01(word_at(&j->r, j->r.counter + (uint64_t)i)) < j->a ? 1.0f : 0.0f; break;
        }
    }
}

static void fill(cn_rng *r, float *x, size_t n, float a, float b, int kind)
{
    fill_job j = {*r, x, a, b, kind};
    cn_parallel_for((int64_t)n, 16384, fill_range, &j);
    r->counter += (kind == 1 ? 2 : 1) * (uint64_t)n;
}

void cn_rng_fill_uniform(cn_rng *r, float *x, size_t n, float lo, float hi) { fill(r, x, n, lo, hi, 0); }
void cn_rng_fill_normal(cn_rng *r, float *x, size_t n, float mean, float std) { fill(r, x, n, mean, std, 1); }
void cn_rng_fill_bernoulli(cn_rng *r, float *x, size_t n, float p) { fill(r, x, n, p, 0, 2); }
