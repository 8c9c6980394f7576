/* test_pool_random.c — stochastic pooling (Zeiler & Fergus 2013) and fractional max pooling
 * (Graham 2014): reproducibility from the seed, independence from how the batch is split,
 * sampling frequencies, the inference rule as the expectation of training, fractional
 * regions (cover, non-empty, sizes floor/ceil(alpha), the documented formula), forward against
 * a brute-force evaluation, and gradient checks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"
#include "test.h"
#include "test_pool_spec.h"

static cn_pool_geom geom_from(const char *line)
{
    pool_spec sp;
    const char *bad = "";
    cn_pool_geom g;
    CHECK_MSG(spec_parse(&sp, line, &bad), "%s: cannot parse '%s'", line, bad);
    spec_pool_geom(&sp, &g);
    return g;
}

/* distinct values, a random permutation of a grid with step `gap`, shifted by `lo` */
static void perm_input(float *x, int64_t n, double lo, double gap, uint64_t seed)
{
    cn_rng r;
    cn_rng_init(&r, seed, CN_STREAM_USER);
    for (int64_t i = 0; i < n; i++) x[i] = (float)(lo + gap * (double)i);
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = cn_rng_below(&r, (uint32_t)(i + 1));
        float t = x[i];
        x[i] = x[j], x[j] = t;
    }
}

/* ---------------------------------- stochastic pooling ---------------------------------- */

static void test_stoch_reproducible(void)
{
    cn_pool_geom g = geom_from("nd=2 n=4 c=3 in=9x8 k=3x2 s=2x2 p=1x1 ceil=1");
    CHECK_OK(cn_pool_geom_resolve(&g, "sp"));
    const int64_t nx = cn_pool_in_count(&g), ny = cn_pool_out_count(&g), per_sample = ny / g.n;
    float *x = malloc((size_t)nx * sizeof *x), *y1 = malloc((size_t)ny * sizeof *y1), *y2 = malloc((size_t)ny * sizeof *y2);
    int64_t *c1 = malloc((size_t)ny * sizeof *c1), *c2 = malloc((size_t)ny * sizeof *c2);
    perm_input(x, nx, 0.5, 0.01, 1);
    cn_rng r1, r2;
    cn_rng_init(&r1, 42, CN_STREAM_POOL);
    cn_rng_seek(&r1, 1000);
    r2 = r1;
    cn_stochpool_forward_train(y1, c1, x, &g, &r1);
    cn_stochpool_forward_train(y2, c2, x, &g, &r2);
    CHECK(!memcmp(y1, y2, (size_t)ny * sizeof *y1) && !memcmp(c1, c2, (size_t)ny * sizeof *c1));
    CHECK_EQ_INT((int64_t)r1.counter, 1000 + ny); /* one word per output */
    /* every output is the input at its cached position, inside its window's plane */
    int ok = 1;
    for (int64_t i = 0; i < ny; i++) ok &= c1[i] >= 0 && y1[i] == x[(i / (ny / (g.n * g.c))) * (nx / (g.n * g.c)) + c1[i]];
    CHECK_MSG(ok, "outputs are not the inputs at their cached positions");
    /* a different seed, or the next call on the same stream, samples differently */
    cn_rng_init(&r2, 43, CN_STREAM_POOL);
    cn_rng_seek(&r2, 1000);
    cn_stochpool_forward_train(y2, c2, x, &g, &r2);
    int64_t diff = 0;
    for (int64_t i = 0; i < ny; i++) diff += c1[i] != c2[i];
    CHECK_MSG(diff > ny / 10, "seed 43 differs from seed 42 at only %lld of %lld outputs", (long long)diff, (long long)ny);
    cn_stochpool_forward_train(y2, c2, x, &g, &r1);
    diff = 0;
    for (int64_t i = 0; i < ny; i++) diff += c1[i] != c2[i];
    CHECK_MSG(diff > ny / 10, "the next call repeats the previous draw (%lld differences)", (long long)diff);
    /* splitting the batch at sample n0 (as threads would) gives the same numbers: the second part
     * seeks its copy of the stream to base + n0*C*prod(out) */
    const int64_t n0 = 1;
    cn_pool_geom ga = g, gb = g;
    ga.n = n0, gb.n = g.n - n0;
    cn_rng ra, rb;
    cn_rng_init(&ra, 42, CN_STREAM_POOL);
    cn_rng_seek(&ra, 1000);
    rb = ra;
    cn_rng_seek(&rb, 1000 + (uint64_t)(n0 * per_sample));
    cn_stochpool_forward_train(y2, c2, x, &ga, &ra);
    cn_stochpool_forward_train(y2 + n0 * per_sample, c2 + n0 * per_sample, x + n0 * (nx / g.n), &gb, &rb);
    CHECK(!memcmp(y1, y2, (size_t)ny * sizeof *y1) && !memcmp(c1, c2, (size_t)ny * sizeof *c1));
    free(x), free(y1), free(y2), free(c1), free(c2);
}

static void test_stoch_frequencies(void)
{
    /* One 6-tap window per plane, the same activations in each of P planes:
     *   a = [0, 1, -2, 2, 3, 4] -> p = [0, .1, 0, .2, .3, .4] (negatives count as 0).
     * Each plane's draw is independent, so the count of tap i is Binomial(P, p_i). Bound: the
     * frequency must be within 5 standard deviations, 5*sqrt(p(1-p)/P) (<= 0.0122 for P = 40000);
     * a correct sampler fails one cell with probability < 6e-7 (and the seed is fixed).
     * Taps with p = 0 must never be drawn. */
    enum { P = 40000, K = 6 };
    static const float a[K] = {0, 1, -2, 2, 3, 4};
    static const double p[K] = {0, 0.1, 0, 0.2, 0.3, 0.4};
    cn_pool_geom g;
    cn_pool_geom_init(&g, 1);
    g.c = P, g.in[0] = K, g.k[0] = K;
    CHECK_OK(cn_pool_geom_resolve(&g, "freq"));
    float *x = malloc(sizeof(float) * P * K), *y = malloc(sizeof(float) * P);
    int64_t *cache = malloc(sizeof(int64_t) * P), count[K] = {0};
    for (int i = 0; i < P * K; i++) x[i] = a[i % K];
    cn_rng r;
    cn_rng_init(&r, 7, CN_STREAM_POOL);
    cn_stochpool_forward_train(y, cache, x, &g, &r);
    double mean = 0;
    int ok = 1;
    for (int i = 0; i < P; i++) {
        ok &= cache[i] >= 0 && cache[i] < K && y[i] == a[cache[i]];
        if (cache[i] >= 0 && cache[i] < K) count[cache[i]]++;
        mean += y[i];
    }
    CHECK(ok);
    for (int i = 0; i < K; i++) {
        const double f = (double)count[i] / P, bound = 5 * sqrt(p[i] * (1 - p[i]) / P);
        CHECK_MSG(fabs(f - p[i]) <= bound, "tap %d (a=%g): frequency %.4f, expected %.2f +- %.4f", i, a[i], f, p[i], bound);
        if (p[i] == 0) CHECK_EQ_INT(count[i], 0);
    }
    /* the inference rule is the expectation of the training output:
     * E[y] = sum p_i a_i = sum a_i^2 / sum a_i = (1+4+9+16)/10 = 3.
     * Var[y] = sum p_i a_i^2 - 9 = (1*.1 + 4*.2 + 9*.3 + 16*.4) - 9 = 1, so the mean of P draws is
     * within 5*sqrt(1/P) = 0.025 of 3. */
    mean /= P;
    CHECK_MSG(fabs(mean - 3.0) <= 5 * sqrt(1.0 / P), "mean of training outputs %.4f, expected 3 +- %.3f", mean,
              5 * sqrt(1.0 / P));
    float yi;
    cn_pool_geom g1 = g;
    g1.c = 1;
    cn_stochpool_forward_infer(&yi, x, &g1);
    CHECK_NEAR(yi, 3.0, 1e-6);
    free(x), free(y), free(cache);
}

static void test_stoch_degenerate(void)
{
    /* windows of zeros, or of negatives only: y = 0, cache -1, no gradient */
    cn_pool_geom g;
    cn_pool_geom_init(&g, 1);
    g.in[0] = 6, g.k[0] = 3, g.stride[0] = 3;
    CHECK_OK(cn_pool_geom_resolve(&g, "zero"));
    const float x[6] = {0, 0, 0, -1, -2, -0.5f};
    float y[2] = {9, 9}, dx[6] = {0};
    int64_t cache[2];
    cn_rng r;
    cn_rng_init(&r, 1, CN_STREAM_POOL);
    cn_stochpool_forward_train(y, cache, x, &g, &r);
    CHECK(y[0] == 0 && y[1] == 0 && cache[0] == -1 && cache[1] == -1);
    cn_stochpool_backward_train(dx, (float[]){1, 1}, cache, &g);
    cn_stochpool_forward_infer(y, x, &g);
    CHECK(y[0] == 0 && y[1] == 0);
    cn_stochpool_backward_infer(dx, (float[]){1, 1}, x, &g);
    int zero = 1;
    for (int i = 0; i < 6; i++) zero &= dx[i] == 0;
    CHECK(zero);
    /* a single positive tap is always the one sampled */
    const float x2[6] = {0, 5, 0, -1, 0, 2};
    cn_stochpool_forward_train(y, cache, x2, &g, &r);
    CHECK(y[0] == 5 && cache[0] == 1 && y[1] == 2 && cache[1] == 5); /* plane indices */
}

/* --------------------------------- fractional max pooling -------------------------------- */

__extension__ typedef unsigned __int128 u128;
/* ceil(alpha*(i + m/2^24)) with alpha = in/out, exactly */
static int64_t ceil_frac(int64_t in, int64_t out, uint32_t m, int64_t i)
{
    const u128 num = (u128)in * ((u128)i * 16777216u + m), den = (u128)out * 16777216u;
    return (int64_t)((num + den - 1) / den);
}

static void test_frac_regions(void)
{
    /* For every 1 <= out <= in <= 40 and a spread of 24-bit draws m (with the extremes 0 and
     * 2^24-1): disjoint regions start at 0, end at in, tile without gaps or overlap, and have
     * floor(alpha) or ceil(alpha) taps (alpha = in/out); overlapping regions have one more tap,
     * except where clamped at the end. Also the documented closed form
     * begin_i = ceil(alpha*(i+u)) - ceil(alpha*u), u = m/2^24, evaluated here directly as
     * ceil(in*(i*2^24 + m) / (out*2^24)) in 128-bit integers (floating point gets the many
     * exact-integer cases wrong, e.g. in 14, out 13, u = 1/2, i = 6: alpha*(i+u) = 7). */
    static const uint32_t ms[] = {0, 1, 0x7fffff, 0x800000, 0xffffff, 0x123456, 0xabcdef, 0x555555, 0xaaaaaa, 0x0f0f0f};
    long bad = 0, checked = 0;
    char first[200] = "";
    for (int64_t in = 1; in <= 40; in++)
        for (int64_t out = 1; out <= in; out++)
            for (size_t mi = 0; mi < sizeof ms / sizeof ms[0]; mi++) {
                const uint32_t m = ms[mi];
                const int64_t lo = in / out, hi = (in + out - 1) / out;
                const int64_t a0 = ceil_frac(in, out, m, 0);
                int64_t prev_end = 0;
                for (int64_t i = 0; i < out; i++) {
                    int64_t b, e, bo, eo;
                    cn_fracpool_region(&b, &e, in, out, m, 0, i);
                    cn_fracpool_region(&bo, &eo, in, out, m, 1, i);
                    const int64_t closed = ceil_frac(in, out, m, i) - a0;
                    int ok = b == prev_end && e - b >= lo && e - b <= hi && e - b >= 1 && b == closed;
                    ok &= bo == b && eo == (e < in ? e + 1 : in);
                    if (i == out - 1) ok &= e == in;
                    checked++;
                    if (!ok && !bad++)
                        snprintf(first, sizeof first, "in %lld out %lld m %#x region %lld: [%lld, %lld) overlap [%lld, %lld), closed form %lld",
                                 (long long)in, (long long)out, m, (long long)i, (long long)b, (long long)e,
                                 (long long)bo, (long long)eo, (long long)closed);
                    prev_end = e;
                }
            }
    CHECK_MSG(bad == 0, "%ld of %ld regions wrong; first: %s", bad, checked, first);
    /* huge sizes stay exact (no overflow): in = 2^31-1, out = 3 */
    int64_t b, e;
    cn_fracpool_region(&b, &e, 2147483647LL, 3, 0xffffff, 0, 2);
    CHECK(e == 2147483647LL && e - b >= 715827882 && e - b <= 715827883);
}

/* brute force: y and argmax from the documented regions, with the draws copied from the rng */
static void frac_reference(float *y, int64_t *arg, const float *x, const cn_pool_geom *g, cn_rng r)
{
    int64_t in[3] = {1, 1, 1}, out[3] = {1, 1, 1};
    uint32_t m[3] = {0, 0, 0};
    const int off = 3 - g->ndim;
    for (int a = 0; a < g->ndim; a++) in[off + a] = g->in[a], out[off + a] = g->out[a], m[off + a] = cn_rng_u32(&r) >> 8;
    const int64_t ip = in[0] * in[1] * in[2];
    int64_t q = 0;
    for (int64_t p = 0; p < g->n * g->c; p++)
        for (int64_t o0 = 0; o0 < out[0]; o0++)
            for (int64_t o1 = 0; o1 < out[1]; o1++)
                for (int64_t o2 = 0; o2 < out[2]; o2++, q++) {
                    int64_t b[3], e[3];
                    cn_fracpool_region(&b[0], &e[0], in[0], out[0], m[0], g->overlap, o0);
                    cn_fracpool_region(&b[1], &e[1], in[1], out[1], m[1], g->overlap, o1);
                    cn_fracpool_region(&b[2], &e[2], in[2], out[2], m[2], g->overlap, o2);
                    float best = -INFINITY;
                    int64_t ba = -1;
                    for (int64_t i = 0; i < ip; i++) {
                        const int64_t i2 = i % in[2], i1 = (i / in[2]) % in[1], i0 = i / (in[1] * in[2]);
                        if (i0 < b[0] || i0 >= e[0] || i1 < b[1] || i1 >= e[1] || i2 < b[2] || i2 >= e[2]) continue;
                        if (x[p * ip + i] > best) best = x[p * ip + i], ba = i;
                    }
                    y[q] = best, arg[q] = ba;
                }
}

static const char *const FRAC_GRID[] = {
    "nd=1 n=2 c=2 in=25 os=10 ov=0",
    "nd=1 n=1 c=3 in=17 os=17 ov=1",
    "nd=2 n=2 c=2 in=11x9 os=7x5 ov=0",
    "nd=2 n=1 c=2 in=10x13 os=4x9 ov=1",
    "nd=2 n=1 c=2 in=9x12 os=1x5 ov=0",
    "nd=3 n=1 c=2 in=6x7x5 os=4x3x3 ov=0",
    "nd=3 n=1 c=1 in=5x6x7 os=3x4x5 ov=1",
};

typedef struct fctx {
    cn_pool_geom g;
    cn_rng rng;
    float *x, *y;
    int64_t *arg, ny;
    double *r;
} fctx;

static double frac_loss(void *p)
{
    fctx *c = p;
    cn_rng r = c->rng; /* every evaluation uses the same regions */
    cn_fracpool_forward(c->y, c->arg, c->x, &c->g, &r);
    double l = 0;
    for (int64_t i = 0; i < c->ny; i++) l += (double)c->y[i] * c->r[i];
    return l;
}

static void test_frac_forward_and_gradients(void)
{
    double worst = 0;
    for (size_t t = 0; t < sizeof FRAC_GRID / sizeof FRAC_GRID[0]; t++) {
        const char *line = FRAC_GRID[t];
        fctx c = {.g = geom_from(line)};
        CHECK_OK(cn_fracpool_geom_resolve(&c.g, line));
        const int64_t nx = cn_pool_in_count(&c.g);
        c.ny = cn_pool_out_count(&c.g);
        c.x = malloc((size_t)nx * sizeof *c.x), c.y = malloc((size_t)c.ny * sizeof *c.y);
        c.arg = malloc((size_t)c.ny * sizeof *c.arg), c.r = malloc((size_t)c.ny * sizeof *c.r);
        float *yr = malloc((size_t)c.ny * sizeof *yr), *dx = calloc((size_t)nx, sizeof *dx), *dy = malloc((size_t)c.ny * sizeof *dy);
        int64_t *ar = malloc((size_t)c.ny * sizeof *ar), *arg2 = malloc((size_t)c.ny * sizeof *arg2);
        /* distinct values 0.1 apart (> 2*eps = 0.04): no region holds a near-tie */
        perm_input(c.x, nx, -0.05 * (double)nx, 0.1, 100 + t);
        cn_rng_init(&c.rng, 5 + t, CN_STREAM_POOL);
        cn_rng r = c.rng;
        cn_fracpool_forward(c.y, c.arg, c.x, &c.g, &r);
        CHECK_EQ_INT((int64_t)(r.counter - c.rng.counter), c.g.ndim); /* one draw per axis */
        frac_reference(yr, ar, c.x, &c.g, c.rng);
        CHECK_ALLCLOSE(c.y, yr, c.ny, 0, 0, line);
        CHECK_MSG(!memcmp(c.arg, ar, (size_t)c.ny * sizeof *ar), "%s: argmax differs from brute force", line);
        /* same seed -> same; another seed -> other regions (these sizes have many choices) */
        cn_rng same = c.rng, other;
        cn_fracpool_forward(yr, arg2, c.x, &c.g, &same);
        CHECK_MSG(!memcmp(c.arg, arg2, (size_t)c.ny * sizeof *ar) && !memcmp(c.y, yr, (size_t)c.ny * sizeof *yr), "%s: same seed, different result", line);
        if (strstr(line, "in=17 os=17") == NULL) { /* alpha = 1 has one tiling only */
            int differs = 0;
            for (uint64_t s = 1; s <= 10 && !differs; s++) {
                cn_rng_init(&other, 5 + t + 1000 * s, CN_STREAM_POOL);
                cn_fracpool_forward(yr, arg2, c.x, &c.g, &other);
                differs = memcmp(c.arg, arg2, (size_t)c.ny * sizeof *ar) != 0;
            }
            CHECK_MSG(differs, "%s: ten other seeds all give the same result", line);
        }
        /* gradient: dy routed to the argmax of each region */
        cn_rng rr;
        cn_rng_init(&rr, 77 + t, CN_STREAM_USER);
        for (int64_t i = 0; i < c.ny; i++) dy[i] = cn_rng_uniform(&rr) * 2 - 1, c.r[i] = dy[i];
        cn_fracpool_backward(dx, dy, c.arg, &c.g);
        /* piecewise linear, loss exact up to double rounding: tol 1e-3 as for max pooling */
        cn_gc_report rep = cn_gradcheck(frac_loss, &c, c.x, dx, nx, 2e-2, 1e-2);
        if (rep.max_rel > worst) worst = rep.max_rel;
        CHECK_GRAD(rep, 1e-3, line);
        free(c.x), free(c.y), free(c.arg), free(c.r), free(yr), free(dx), free(dy), free(ar), free(arg2);
    }
    printf("  worst relative error fractional %.2e\n", worst);
}

/* stochastic pooling gradients through a fixed draw, over 1D/2D/3D with padding and ceil */
typedef struct sctx {
    cn_pool_geom g;
    cn_rng rng;
    float *x, *y;
    int64_t *cache, ny;
    double *r;
    int64_t *first_cache;
    long flips;
} sctx;

static double stoch_loss(void *p)
{
    sctx *c = p;
    cn_rng r = c->rng;
    cn_stochpool_forward_train(c->y, c->cache, c->x, &c->g, &r);
    for (int64_t i = 0; i < c->ny; i++) c->flips += c->cache[i] != c->first_cache[i];
    double l = 0;
    for (int64_t i = 0; i < c->ny; i++) l += (double)c->y[i] * c->r[i];
    return l;
}

static void test_stoch_train_gradients(void)
{
    static const char *const lines[] = {
        "nd=1 n=2 c=2 in=11 k=3 s=2 pb=1 pe=2 ceil=1",
        "nd=2 n=1 c=2 in=7x6 k=3x2 s=2x2 p=1x1 d=1x2 ceil=1",
        "nd=3 n=1 c=1 in=5x4x5 k=2x2x3 s=2x1x2 pb=1x0x1 pe=0x1x1",
    };
    for (size_t t = 0; t < sizeof lines / sizeof lines[0]; t++) {
        sctx c = {.g = geom_from(lines[t])};
        CHECK_OK(cn_pool_geom_resolve(&c.g, lines[t]));
        const int64_t nx = cn_pool_in_count(&c.g);
        c.ny = cn_pool_out_count(&c.g);
        c.x = malloc((size_t)nx * sizeof *c.x), c.y = malloc((size_t)c.ny * sizeof *c.y);
        c.cache = malloc((size_t)c.ny * sizeof *c.cache), c.first_cache = malloc((size_t)c.ny * sizeof *c.cache);
        c.r = malloc((size_t)c.ny * sizeof *c.r);
        float *dx = calloc((size_t)nx, sizeof *dx), *dy = malloc((size_t)c.ny * sizeof *dy);
        perm_input(c.x, nx, 0.5, 0.05, 200 + t);
        cn_rng_init(&c.rng, 11 + t, CN_STREAM_POOL);
        cn_rng r = c.rng;
        cn_stochpool_forward_train(c.y, c.first_cache, c.x, &c.g, &r);
        for (int64_t i = 0; i < c.ny; i++) dy[i] = (float)((i * 37) % 11) / 5.0f - 1.0f, c.r[i] = dy[i];
        cn_stochpool_backward_train(dx, dy, c.first_cache, &c.g);
        /* y copies the sampled x: exact while the sample holds; eps 1e-4 moves a sampling
         * boundary by ~1e-4/sum(a), so a flip is unlikely, and counted below if it happens */
        cn_gc_report rep = cn_gradcheck(stoch_loss, &c, c.x, dx, nx, 1e-4, 1e-2);
        CHECK_GRAD(rep, 1e-3, lines[t]);
        CHECK_MSG(c.flips == 0, "%s: a perturbation changed %ld samples", lines[t], c.flips);
        free(c.x), free(c.y), free(c.cache), free(c.first_cache), free(c.r), free(dx), free(dy);
    }
}

int main(void)
{
    RUN(test_stoch_reproducible);
    RUN(test_stoch_frequencies);
    RUN(test_stoch_degenerate);
    RUN(test_stoch_train_gradients);
    RUN(test_frac_regions);
    RUN(test_frac_forward_and_gradients);
    return cn_test_finish();
}
