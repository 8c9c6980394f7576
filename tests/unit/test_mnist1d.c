/* test_mnist1d.c — the MNIST-1D generator against /work/shared/mnist1d/SPEC.md and against
 * NumPy itself.
 *
 * References:
 *  - SPEC.md's checkpoints and statistics (sections 1.3, 1.5, 1.7, 1.8), quoted below;
 *  - NumPy 1.24.2 legacy RandomState outputs (printed with repr() by /usr/bin/python3);
 *  - fixtures in tests/fixtures/data/ made by tests/fixtures/data/gen_mnist1d.py with numpy's
 *    real RandomState and scipy's interp1d/gaussian_filter; that script only writes them after
 *    checking that its data hash exactly to the SPEC's SHA-256 of the frozen dataset, so they
 *    are the standard dataset;
 *  - the SPEC's SHA-256 of the .npy files (x_train, y_train, x_test, y_test, t), compared with
 *    the files cn_mnist1d_save_npy writes: equal hashes mean bit-identical data. */
#include <float.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/mnist1d_impl.h"
#include "data/mt19937.h"
#include "fixture.h"
#include "test.h"

/* ---- helpers ------------------------------------------------------------------------------ */

/* A float64 fixture at full precision (cn_npy converts to float32): validate with cn_npy_load,
 * then take the raw little-endian doubles from the end of the file. Returns malloc'd values. */
static double *load_f64(const char *name, int64_t want_numel)
{
    cn_npy a = cn_fixture_load(name);
    int ok = a.dtype == CN_DTYPE_F64 && a.numel == want_numel;
    CHECK_MSG(ok, "%s: dtype %s, %lld values, expected float64 with %lld", name, cn_dtype_name(a.dtype),
              (long long)a.numel, (long long)want_numel);
    cn_npy_free(&a);
    if (!ok) return NULL;
    double *v = malloc((size_t)want_numel * sizeof *v);
    FILE *f = fopen(cn_fixture_path(name), "rb");
    int read_ok = f && fseek(f, -(long)(want_numel * 8), SEEK_END) == 0 &&
                  fread(v, 8, (size_t)want_numel, f) == (size_t)want_numel;
    if (f) fclose(f);
    CHECK_MSG(read_ok, "%s: cannot read the values", name);
    return v; /* np.save writes '<f8' and this test runs on little-endian machines */
}

/* half an ulp of x as float32: the most float rounding may move a value */
static double half_ulp_f32(double x)
{
    int e;
    frexp(fabs(x) > FLT_MIN ? x : FLT_MIN, &e); /* |x| = m * 2^e, m in [0.5, 1) */
    return ldexp(1.0, e - 25);
}

/* SHA-256 (FIPS 180-4), to compare written files with the SPEC's hashes */
typedef struct {
    uint32_t h[8];
    unsigned char buf[64];
    uint64_t len;
} sha256;

static uint32_t ror(uint32_t x, int n) { return x >> n | x << (32 - n); }

static void sha256_block(sha256 *s, const unsigned char *p)
{
    static const uint32_t k[64] = {
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
        0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
        0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
        0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
        0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
        0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
        0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2};
    uint32_t w[64], v[8];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    memcpy(v, s->h, sizeof v);
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = v[7] + (ror(v[4], 6) ^ ror(v[4], 11) ^ ror(v[4], 25)) + ((v[4] & v[5]) ^ (~v[4] & v[6])) + k[i] + w[i];
        uint32_t t2 = (ror(v[0], 2) ^ ror(v[0], 13) ^ ror(v[0], 22)) + ((v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]));
        memmove(v + 1, v, 7 * sizeof v[0]);
        v[4] += t1;
        v[0] = t1 + t2;
    }
    for (int i = 0; i < 8; i++) s->h[i] += v[i];
}

static void sha256_hex(const unsigned char *data, size_t n, char hex[65])
{
    sha256 s = {{0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19}, {0}, 0};
    size_t i = 0;
    for (; i + 64 <= n; i += 64) sha256_block(&s, data + i);
    unsigned char tail[128] = {0};
    size_t r = n - i, tl = r + 9 <= 64 ? 64 : 128;
    memcpy(tail, data + i, r);
    tail[r] = 0x80;
    for (int b = 0; b < 8; b++) tail[tl - 1 - b] = (unsigned char)(((uint64_t)n * 8) >> (8 * b));
    for (size_t j = 0; j < tl; j += 64) sha256_block(&s, tail + j);
    for (int k = 0; k < 8; k++) snprintf(hex + 8 * k, 9, "%08x", s.h[k]);
}

static void file_sha256(const char *path, char hex[65])
{
    hex[0] = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    unsigned char *b = malloc((size_t)n + 1);
    if (fread(b, 1, (size_t)n, f) == (size_t)n) sha256_hex(b, (size_t)n, hex);
    free(b);
    fclose(f);
}

static char tmp_root[256];

static const char *tmp_dir(const char *name)
{
    static char buf[512];
    snprintf(buf, sizeof buf, "%s/%s", tmp_root, name);
    mkdir(buf, 0700);
    return buf;
}

static void rm_dir(const char *dir)
{
    const char *names[] = {"x_train", "y_train", "x_test", "y_test", "t"};
    char p[600];
    for (int i = 0; i < 5; i++) {
        snprintf(p, sizeof p, "%s/%s.npy", dir, names[i]);
        remove(p);
    }
    rmdir(dir);
}

/* ---- the RandomState emulation --------------------------------------------------------------- */

static void test_rng_reference(void)
{
    cn_mt19937 r;
    /* SPEC 1.5: the first three raw MT19937 outputs and the first uniform under seed 42 */
    cn_mt19937_seed(&r, 42);
    CHECK_EQ_INT(cn_mt19937_next32(&r), 1608637542LL);
    CHECK_EQ_INT(cn_mt19937_next32(&r), 3421126067LL);
    CHECK_EQ_INT(cn_mt19937_next32(&r), 4083286876LL);
    cn_mt19937_seed(&r, 42);
    CHECK(cn_mt19937_random_sample(&r) == 0.37454011884736249);
    /* numpy: np.random.seed(42); np.random.randn(3) */
    cn_mt19937_seed(&r, 42);
    double g0 = cn_mt19937_gauss(&r), g1 = cn_mt19937_gauss(&r), g2 = cn_mt19937_gauss(&r);
    CHECK_MSG(g0 == 0.4967141530112327 && g1 == -0.13826430117118466 && g2 == 0.6476885381006925, "randn: %.17g %.17g %.17g",
              g0, g1, g2);
    /* numpy, RandomState(123): randn, rand, randn (the cached second normal survives the
     * uniform in between), randint(0,1000), randint(0,2**40) (64-bit words, high first),
     * permutation(7), uniform(-2,3), normal(1.5,2), choice(48), randint(-5,5) */
    cn_mt19937_seed(&r, 123);
    CHECK(cn_mt19937_gauss(&r) == -1.0856306033005612);
    CHECK(cn_mt19937_random_sample(&r) == 0.2268514535642031);
    CHECK(cn_mt19937_gauss(&r) == 0.9973454465835858);
    CHECK_EQ_INT(cn_mt19937_randint(&r, 0, 1000), 742);
    CHECK_EQ_INT(cn_mt19937_randint(&r, 0, 1LL << 40), 76104539731LL);
    int64_t perm[7];
    cn_mt19937_permutation(&r, perm, 7);
    const int64_t perm_ref[7] = {5, 0, 4, 6, 1, 3, 2};
    CHECK(!memcmp(perm, perm_ref, sizeof perm));
    CHECK(cn_mt19937_uniform(&r, -2, 3) == 0.8984714851130504);
    CHECK(cn_mt19937_normal(&r, 1.5, 2.0) == 0.9270970580801696);
    CHECK_EQ_INT(cn_mt19937_randint(&r, 0, 48), 32);
    CHECK_EQ_INT(cn_mt19937_randint(&r, -5, 5), 4);
    /* the canonical MT19937 check value (seed 5489, 10000th output) and the words either side
     * of the first regeneration */
    cn_mt19937_seed(&r, 5489);
    uint32_t w = 0;
    for (int i = 0; i < 10000; i++) {
        w = cn_mt19937_next32(&r);
        if (i == 623) CHECK_EQ_INT(w, 4020325887LL);
        if (i == 624) CHECK_EQ_INT(w, 4178893912LL);
    }
    CHECK_EQ_INT(w, 4123659995LL);
    /* numpy: RandomState(0).shuffle(arange(10)); RandomState(2**32-1).randint(0, 2**32) */
    int64_t a[10];
    for (int i = 0; i < 10; i++) a[i] = i;
    cn_mt19937_seed(&r, 0);
    cn_mt19937_shuffle(&r, a, 10);
    const int64_t a_ref[10] = {2, 8, 4, 9, 1, 6, 7, 3, 0, 5};
    CHECK(!memcmp(a, a_ref, sizeof a));
    cn_mt19937_seed(&r, 4294967295U);
    CHECK_EQ_INT(cn_mt19937_randint(&r, 0, 1LL << 32), 419326371LL);
    /* bounded draws stay in range and hit both ends */
    cn_mt19937_seed(&r, 9);
    int seen_lo = 0, seen_hi = 0;
    for (int i = 0; i < 2000; i++) {
        uint64_t v = cn_mt19937_interval(&r, 5);
        CHECK_MSG(v <= 5, "interval(5) gave %llu", (unsigned long long)v);
        seen_lo |= v == 0, seen_hi |= v == 5;
    }
    CHECK(seen_lo && seen_hi);
    CHECK_EQ_INT(cn_mt19937_interval(&r, 0), 0);
}

/* ---- templates ------------------------------------------------------------------------------- */

static void test_templates(void)
{
    /* SPEC 1.3, rounded to 6 decimals */
    static const double ref[10][12] = {
        {0, 0.236940, 0.355409, 0.414644, 0.473879, 0.473879, 0.473879, 0.473879, 0.414644, 0.355409, 0.236940, 0},
        {0, -0.369863, -0.369863, -0.295891, -0.221918, -0.147945, -0.073973, 0, 0.073973, 0.147945, 0, 0},
        {0, 0.159364, 0.239046, 0.239046, 0.159364, 0.039841, -0.039841, -0.159364, -0.239046, -0.239046, -0.159364, 0},
        {0, 0.267261, 0.400892, 0.400892, 0.267261, 0, 0, 0.267261, 0.400892, 0.400892, 0.267261, 0},
        {0, -0.106000, -0.212000, -0.317999, -0.423999, -0.423999, 0, 0, 0, 0, 0, 0},
        {0, -0.247712, -0.247712, -0.247712, -0.247712, 0, 0.123856, 0.185784, 0.185784, 0.123856, -0.061928, 0},
        {0, -0.236940, -0.355409, -0.414644, -0.473879, -0.473879, -0.473879, -0.473879, -0.414644, -0.355409, -0.236940, 0},
        {0, 0.369863, 0.369863, 0.295891, 0.221918, 0.147945, 0.073973, 0, -0.073973, -0.147945, 0, 0},
        {0, -0.267261, -0.400892, -0.400892, -0.267261, 0, 0, -0.267261, -0.400892, -0.400892, -0.267261, 0},
        {0, -0.285831, -0.428746, -0.428746, -0.285831, 0, 0, 0, 0, -0.085749, -0.200082, 0},
    };
    double x[120], t[12];
    cn_mnist1d_templates(x, t);
    for (int c = 0; c < 10; c++) {
        /* first and last samples are exactly 0 (step 3 of the normalisation) */
        CHECK_MSG(x[c * 12] == 0.0 && x[c * 12 + 11] == 0.0, "template %d ends: %g %g", c, x[c * 12], x[c * 12 + 11]);
        for (int i = 0; i < 12; i++)
            /* the table is rounded to 6 decimals: |error| <= 5e-7 */
            CHECK_MSG(fabs(x[c * 12 + i] - ref[c][i]) <= 5.0001e-7, "template %d[%d] = %.9f, SPEC %.6f", c, i, x[c * 12 + i],
                      ref[c][i]);
    }
    for (int i = 0; i < 12; i++) CHECK_NEAR(t[i], (-5.0 + 10.0 * i / 11.0) / 6.0, 1e-15);
}

/* ---- one example ----------------------------------------------------------------------------- */

static void test_example_checkpoints(void)
{
    cn_mnist1d_params p;
    cn_mnist1d_params_default(&p);
    CHECK_OK(cn_mnist1d_params_check(&p));
    double tx[120], tt[12], x[40], t[40];
    cn_mnist1d_templates(tx, tt);
    double *scratch = malloc(cn_mnist1d_scratch_len(&p) * sizeof(double));
    double *raw3 = load_f64("data/mnist1d_raw3", 3 * 40);
    cn_mt19937 r;
    cn_mt19937_seed(&r, 42);
    /* SPEC 1.5, seed 42, class 0, examples 0..2. The SPEC's 17-digit values are exact doubles
     * and the port does the same float64 operations, so they must match exactly. */
    const struct {
        int padding;
        double scale;
        int shift;
        double shear;
    } ref[3] = {{45, 1.1802857225639665, 42, -0.20981921432583878},
                {53, 1.1238004184558861, 19, -0.32207343944967759},
                {52, 0.81060452421664875, 31, -0.27448857866201948}};
    double worst = 0;
    for (int e = 0; e < 3; e++) {
        cn_mnist1d_trace tr;
        cn_mnist1d_example(x, t, tx, tt, &p, &r, scratch, &tr);
        CHECK_MSG(tr.padding == ref[e].padding && tr.shift == ref[e].shift, "example %d: padding %d shift %lld", e,
                  tr.padding, (long long)tr.shift);
        CHECK_MSG(tr.scale == ref[e].scale, "example %d: scale %.17g, SPEC %.17g", e, tr.scale, ref[e].scale);
        CHECK_MSG(tr.shear == ref[e].shear, "example %d: shear %.17g, SPEC %.17g", e, tr.shear, ref[e].shear);
        CHECK_MSG(!r.has_gauss, "example %d leaves a cached normal (72 + 72 is even)", e);
        if (e == 0) {
            CHECK(tr.first_corr_normal == 0.47386083374482302);
            CHECK(tr.first_iid_normal == -0.93376284091204997);
            /* SPEC: raw example 0 starts -0.042093114 -0.124695352 -0.227655965 -0.21409547
             * (9 decimals: |error| <= 5e-10) */
            const double first4[4] = {-0.042093114, -0.124695352, -0.227655965, -0.21409547};
            for (int i = 0; i < 4; i++) CHECK_NEAR(x[i], first4[i], 5.01e-10);
        }
        /* all 40 raw values against numpy+scipy. The same float64 operations in the same
         * order; only exp() in the Gaussian weights may come from a different libm (an ulp,
         * ~1e-17 relative), which moves these O(0.5) values by far less than 1e-14. */
        for (int i = 0; raw3 && i < 40; i++) {
            double d = fabs(x[i] - raw3[e * 40 + i]);
            if (d > worst) worst = d;
        }
    }
    printf("     raw examples 0..2 vs numpy/scipy: max |diff| %.3g\n", worst);
    CHECK_MSG(worst <= 1e-14, "raw examples differ from numpy/scipy by %.3g", worst);
    free(raw3);
    free(scratch);
}

/* ---- the standard dataset -------------------------------------------------------------------- */

static void stats(const float *x, int64_t n, double *mean, double *std, double *mn, double *mx)
{
    double s = 0, ss = 0;
    *mn = INFINITY, *mx = -INFINITY;
    for (int64_t i = 0; i < n; i++) s += x[i], *mn = fmin(*mn, x[i]), *mx = fmax(*mx, x[i]);
    *mean = s / (double)n;
    for (int64_t i = 0; i < n; i++) ss += (x[i] - *mean) * (x[i] - *mean);
    *std = sqrt(ss / (double)n);
}

static void test_standard_dataset(void)
{
    cn_mnist1d d;
    CHECK_OK(cn_mnist1d_generate(NULL, &d));
    CHECK(d.n_train == 4000 && d.n_test == 1000 && d.length == 40 && d.seq_perm == NULL);
    if (d.n_train != 4000 || d.n_test != 1000 || d.length != 40) {
        cn_mnist1d_free(&d);
        return;
    }
    /* SPEC 1.5: mean -0.0055075064312771795, std 0.15467803420593054 (17 digits: exact
     * doubles). Same values in the same (numpy pairwise) summation order: allow 2 ulps. */
    CHECK_NEAR(d.mean, -0.0055075064312771795, 2 * 8.7e-19);
    CHECK_NEAR(d.std, 0.15467803420593054, 2 * 2.8e-17);

    /* SPEC 1.8: labels */
    const int64_t first20[20] = {2, 6, 4, 5, 6, 6, 6, 0, 3, 1, 6, 9, 4, 3, 4, 5, 1, 9, 0, 3};
    const int64_t first10_test[10] = {2, 6, 3, 9, 4, 3, 1, 9, 5, 2};
    const int train_counts[10] = {398, 396, 411, 394, 394, 402, 401, 404, 402, 398};
    const int test_counts[10] = {102, 104, 89, 106, 106, 98, 99, 96, 98, 102};
    CHECK(!memcmp(d.y_train, first20, sizeof first20));
    CHECK(!memcmp(d.y_test, first10_test, sizeof first10_test));
    int cnt_train[10] = {0}, cnt_test[10] = {0}, bad = 0;
    for (int i = 0; i < 4000; i++) d.y_train[i] >= 0 && d.y_train[i] < 10 ? cnt_train[d.y_train[i]]++ : bad++;
    for (int i = 0; i < 1000; i++) d.y_test[i] >= 0 && d.y_test[i] < 10 ? cnt_test[d.y_test[i]]++ : bad++;
    CHECK_EQ_INT(bad, 0);
    for (int c = 0; c < 10; c++) {
        CHECK_MSG(cnt_train[c] == train_counts[c], "train count of %d: %d, SPEC %d", c, cnt_train[c], train_counts[c]);
        CHECK_MSG(cnt_test[c] == test_counts[c], "test count of %d: %d, SPEC %d", c, cnt_test[c], test_counts[c]);
    }
    /* every label, in order, against the frozen dataset (numpy regeneration, hash-verified) */
    cn_npy lab = cn_fixture_load("data/mnist1d_labels");
    if (lab.numel == 5000 && lab.i64) {
        int64_t mism = 0, first = -1;
        for (int i = 0; i < 5000; i++) {
            int64_t mine = i < 4000 ? d.y_train[i] : d.y_test[i - 4000];
            if (mine != lab.i64[i]) mism++, first = first < 0 ? i : first;
        }
        CHECK_MSG(mism == 0, "%lld of 5000 labels differ, first at row %lld", (long long)mism, (long long)first);
    }
    cn_npy_free(&lab);

    /* SPEC 1.8 values (6 decimals: rounding <= 5e-7, plus float32 rounding <= 1.2e-7 for |x| < 2) */
    const double xtr0[5] = {-0.332006, -0.471910, -0.778697, -1.009741, -0.882353};
    const double xte0[5] = {-0.078771, -0.210732, -0.091751, 0.282671, 0.326058};
    for (int i = 0; i < 5; i++) {
        CHECK_NEAR(d.x_train[i], xtr0[i], 6.3e-7);
        CHECK_NEAR(d.x_test[i], xte0[i], 6.3e-7);
    }
    /* SPEC 1.8 statistics (computed there in float64 from the float64 data; here from the
     * float32 data, whose rounding moves a mean or std by < 3e-7 and min/max by < 2.4e-7).
     * mean/std are printed to 6 decimals (5e-7), min/max to 6 significant digits (5e-6). */
    double m, s, mn, mx;
    stats(d.x_train, 4000 * 40, &m, &s, &mn, &mx);
    CHECK_NEAR(m, -0.000324, 8e-7);
    CHECK_NEAR(s, 0.997648, 8e-7);
    CHECK_NEAR(mn, -5.47942, 5.3e-6);
    CHECK_NEAR(mx, 4.53352, 5.3e-6);
    stats(d.x_test, 1000 * 40, &m, &s, &mn, &mx);
    CHECK_NEAR(m, 0.001295, 8e-7);
    /* SPEC 1.8 prints x_test std = 1.009350, but the frozen data (this output is bit-identical
     * to it: see the SHA-256 check below; numpy on the hash-verified regeneration agrees) have
     * std 1.0093522562. The SPEC value is a misprint off by 2.26e-6; test the true value at the
     * same tolerance and report the SPEC's deviation. */
    CHECK_NEAR(s, 1.009352, 8e-7);
    printf("     x_test std %.9f (SPEC prints 1.009350: off by %.3g, a misprint in the SPEC)\n", s, fabs(s - 1.009350));
    CHECK_NEAR(mn, -4.20338, 5.3e-6);
    CHECK_NEAR(mx, 4.41357, 5.3e-6);
    /* the whole set (train + test) is standardised: mean 0, std 1 (up to float32 rounding) */
    {
        double s1 = 0, s2 = 0;
        for (int i = 0; i < 160000; i++) s1 += d.x_train[i], s2 += (double)d.x_train[i] * d.x_train[i];
        for (int i = 0; i < 40000; i++) s1 += d.x_test[i], s2 += (double)d.x_test[i] * d.x_test[i];
        CHECK_NEAR(s1 / 200000, 0.0, 1e-8);
        CHECK_NEAR(sqrt(s2 / 200000), 1.0, 1e-7);
    }
    /* SPEC 1.7: t = linspace(-5/6, 5/6, 40) / std, t[0] = -5.387535 (6 decimals) */
    CHECK_NEAR(d.t[0], -5.387535, 5e-7 + 4.8e-7);
    CHECK_NEAR(d.t[39], 5.387535, 5e-7 + 4.8e-7);

    /* Every value against the frozen data. (a) 10 full rows: each float must be the float64
     * reference rounded to float32 (|diff| <= half an ulp; the SPEC's port reached 2.4e-7). */
    double *rows = load_f64("data/mnist1d_rows", 10 * 40);
    const int row_ids[10] = {0, 1, 999, 3999, 4000, 4001, 4500, 4999, 17, 2345};
    double worst_ulps = 0, worst_abs = 0;
    for (int k = 0; rows && k < 10; k++) {
        const float *mine = row_ids[k] < 4000 ? d.x_train + row_ids[k] * 40 : d.x_test + (row_ids[k] - 4000) * 40;
        for (int j = 0; j < 40; j++) {
            double ref = rows[k * 40 + j], diff = fabs(mine[j] - ref);
            worst_ulps = fmax(worst_ulps, diff / (2 * half_ulp_f32(ref)));
            worst_abs = fmax(worst_abs, diff);
        }
    }
    printf("     10 full rows vs frozen data: max |diff| %.3g (%.3f float32 ulp)\n", worst_abs, worst_ulps);
    CHECK_MSG(worst_ulps <= 0.5, "rows differ from the frozen data by %.3f float32 ulp", worst_ulps);
    free(rows);
    /* (b) all 5000 rows through three sums (sum, sum of squares, position-weighted sum): if
     * each float is within half an ulp h_i of the reference, |sum diff| <= sum h_i,
     * |sumsq diff| <= sum h_i (2|x_i| + h_i), |weighted diff| <= sum i h_i; 1e-12 covers the
     * float64 summation itself. */
    double *rs = load_f64("data/mnist1d_rowstats", 5000 * 3);
    int64_t bad_rows = 0, first_bad = -1;
    for (int r = 0; rs && r < 5000; r++) {
        const float *mine = r < 4000 ? d.x_train + r * 40 : d.x_test + (r - 4000) * 40;
        double s0 = 0, s1 = 0, s2 = 0, b0 = 1e-12, b1 = 1e-12, b2 = 1e-12;
        for (int j = 0; j < 40; j++) {
            double v = mine[j], h = half_ulp_f32(v);
            s0 += v, s1 += v * v, s2 += v * j;
            b0 += h, b1 += h * (2 * fabs(v) + h), b2 += h * j;
        }
        if (fabs(s0 - rs[r * 3]) > b0 || fabs(s1 - rs[r * 3 + 1]) > b1 || fabs(s2 - rs[r * 3 + 2]) > b2)
            bad_rows++, first_bad = first_bad < 0 ? r : first_bad;
    }
    CHECK_MSG(bad_rows == 0, "%lld of 5000 rows disagree with the frozen data, first: row %lld", (long long)bad_rows,
              (long long)first_bad);
    free(rs);
    double *tref = load_f64("data/mnist1d_t", 40);
    for (int j = 0; tref && j < 40; j++) CHECK_NEAR(d.t[j], tref[j], half_ulp_f32(tref[j]));
    free(tref);

    /* bit-for-bit: the .npy files written here hash exactly as the SPEC's files (numpy 1.24
     * np.save of the frozen arrays cast to float32/int64) */
    const char *dir = tmp_dir("standard");
    CHECK_OK(cn_mnist1d_save_npy(&d, dir));
    const char *names[5] = {"x_train", "y_train", "x_test", "y_test", "t"};
    const char *want[5] = {"88324c8902778fbd2316ae1f8acbf36d87897390c1c2ad68212f4290790fa2b5",
                           "c718026182802e01693cbbad83b2af62a4e717da302e71815ac77fdbed4c5dde",
                           "d67069fc4db4b87677475f89583e9191285825f1eee33060f2fa2dc99fe5a53a",
                           "4134144e011c5abc45fc2a1f8fcad9556a4addd3bab819f191c3245d7018c243",
                           "e1e68230ee4754342546a46c7161f942dc2c5da0acfabc22cd59944901b603ca"};
    for (int i = 0; i < 5; i++) {
        char path[600], hex[65];
        snprintf(path, sizeof path, "%s/%s.npy", dir, names[i]);
        file_sha256(path, hex);
        CHECK_MSG(!strcmp(hex, want[i]), "%s.npy: sha256 %s, SPEC %s", names[i], hex, want[i]);
    }
    rm_dir(dir);
    cn_mnist1d_free(&d);
    cn_mnist1d_free(&d); /* a freed struct may be freed again */
}

/* the SHA-256 helper itself, on the FIPS 180-2 examples (so a hash mismatch above is real) */
static void test_sha256_helper(void)
{
    char hex[65];
    sha256_hex((const unsigned char *)"abc", 3, hex);
    CHECK(!strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    sha256_hex((const unsigned char *)m, strlen(m), hex);
    CHECK(!strcmp(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"));
}

/* ---- variants ------------------------------------------------------------------------------- */

static void test_seed_sensitivity(void)
{
    cn_mnist1d_params p;
    cn_mnist1d_params_default(&p);
    p.seed = 7;
    cn_mnist1d a, b;
    CHECK_OK(cn_mnist1d_generate(&p, &a));
    CHECK_OK(cn_mnist1d_generate(NULL, &b));
    if (!a.x_train || !b.x_train) goto done;
    /* seed 7 is numpy's seed 7 */
    double *ref = load_f64("data/mnist1d_seed7", 2 * 40);
    for (int i = 0; ref && i < 80; i++) CHECK_NEAR(a.x_train[i], ref[i], half_ulp_f32(ref[i]));
    free(ref);
    cn_npy lab = cn_fixture_load("data/mnist1d_seed7_labels");
    for (int i = 0; i < 8 && lab.i64; i++) CHECK_EQ_INT(a.y_train[i], lab.i64[i]);
    cn_npy_free(&lab);
    /* and it differs from seed 42: inputs and label order */
    int64_t diff_x = 0, diff_y = 0;
    for (int i = 0; i < 4000 * 40; i++) diff_x += a.x_train[i] != b.x_train[i];
    for (int i = 0; i < 4000; i++) diff_y += a.y_train[i] != b.y_train[i];
    CHECK_MSG(diff_x > 150000 && diff_y > 3000, "seed 7 vs 42: %lld values and %lld labels differ", (long long)diff_x,
              (long long)diff_y);
    /* the same seed twice gives the same data */
    cn_mnist1d c;
    CHECK_OK(cn_mnist1d_generate(&p, &c));
    CHECK(c.x_train && !memcmp(a.x_train, c.x_train, 4000 * 40 * sizeof(float)) &&
          !memcmp(a.y_test, c.y_test, 1000 * sizeof(int64_t)));
    cn_mnist1d_free(&c);
done:
    cn_mnist1d_free(&a);
    cn_mnist1d_free(&b);
}

static void test_shuffled_variant(void)
{
    cn_mnist1d_params p;
    cn_mnist1d_params_default(&p);
    p.shuffle_seq = 1;
    cn_mnist1d s, d;
    CHECK_OK(cn_mnist1d_generate(&p, &s));
    CHECK_OK(cn_mnist1d_generate(NULL, &d));
    if (!s.seq_perm || !d.x_train) goto done;
    /* the permutation is numpy's np.random.permutation(40), drawn right after the examples'
     * permutation under seed 42 */
    cn_npy perm = cn_fixture_load("data/mnist1d_seqperm");
    CHECK(perm.numel == 40 && perm.i64 && !memcmp(perm.i64, s.seq_perm, 40 * sizeof(int64_t)));
    cn_npy_free(&perm);
    double *ref = load_f64("data/mnist1d_shuffled", 4 * 40);
    for (int k = 0; ref && k < 4; k++) {
        const float *mine = k < 2 ? s.x_train + k * 40 : s.x_test + (k - 2) * 40;
        for (int j = 0; j < 40; j++) CHECK_NEAR(mine[j], ref[k * 40 + j], half_ulp_f32(ref[k * 40 + j]));
    }
    free(ref);
    /* same examples and labels; every row's columns permuted the same way. Mean and std are
     * summed in another order, so values may move by a float32 ulp (<= 4.8e-7 for |x| < 8). */
    CHECK(!memcmp(s.y_train, d.y_train, 4000 * sizeof(int64_t)));
    double worst = 0;
    for (int i = 0; i < 4000; i++)
        for (int j = 0; j < 40; j++) worst = fmax(worst, fabs(s.x_train[i * 40 + j] - d.x_train[i * 40 + s.seq_perm[j]]));
    CHECK_MSG(worst <= 4.8e-7, "shuffled rows differ from permuted standard rows by %.3g", worst);
    int identity = 1;
    for (int j = 0; j < 40; j++) identity &= s.seq_perm[j] == j;
    CHECK(!identity);
done:
    cn_mnist1d_free(&s);
    cn_mnist1d_free(&d);
}

static void test_params(void)
{
    cn_mnist1d_params p;
    cn_mnist1d d;
    /* a small, unusual configuration: working length 9 + 8 = 17 (an odd number of normals per
     * draw, so the cached second normal crosses draws and examples), shifts up to 98 (those
     * >= 17 leave the signal in place, as Python's slicing does), 20 outputs. The reference is
     * numpy+scipy with the same parameters. */
    cn_mnist1d_params_default(&p);
    p.num_samples = 105; /* 10 per class: 100 examples */
    p.train_split = 0.75;
    p.template_len = 9;
    p.padding_min = 5;
    p.padding_max = 8;
    p.max_translation = 99;
    p.final_seq_length = 20;
    p.seed = 3;
    CHECK_OK(cn_mnist1d_generate(&p, &d));
    CHECK(d.n_train == 75 && d.n_test == 25 && d.length == 20);
    double *ref = load_f64("data/mnist1d_small", 100 * 20);
    cn_npy lab = cn_fixture_load("data/mnist1d_small_labels");
    if (d.x_train && ref && lab.numel == 100) {
        double worst = 0;
        int64_t label_mism = 0;
        for (int i = 0; i < 100; i++) {
            const float *mine = i < 75 ? d.x_train + i * 20 : d.x_test + (i - 75) * 20;
            for (int j = 0; j < 20; j++) worst = fmax(worst, fabs(mine[j] - ref[i * 20 + j]) / (2 * half_ulp_f32(ref[i * 20 + j])));
            label_mism += (i < 75 ? d.y_train[i] : d.y_test[i - 75]) != lab.i64[i];
        }
        CHECK_MSG(worst <= 0.5, "small configuration differs from numpy by %.3f float32 ulp", worst);
        CHECK_EQ_INT(label_mism, 0);
    }
    free(ref);
    cn_npy_free(&lab);
    cn_mnist1d_free(&d);

    struct {
        const char *what;
        void (*set)(cn_mnist1d_params *);
    } bad[] = {
        {"num_samples = 9", NULL}, {"train_split = 1", NULL}, {"train_split = nan", NULL},
        {"both must be >= 1", NULL}, {"padding = [10, 5]", NULL}, {"max_translation = 0", NULL},
        {"final_seq_length = 1", NULL}, {"shear_scale = inf", NULL}, {"template_len = 0", NULL},
        {"shuffle_seq = 2", NULL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cn_mnist1d_params_default(&p);
        switch (i) {
        case 0: p.num_samples = 9; break;
        case 1: p.train_split = 1.0; break;
        case 2: p.train_split = NAN; break;
        case 3: p.num_samples = 10, p.train_split = 0.05; break;
        case 4: p.padding_min = 10, p.padding_max = 5; break;
        case 5: p.max_translation = 0; break;
        case 6: p.final_seq_length = 1; break;
        case 7: p.shear_scale = INFINITY; break;
        case 8: p.template_len = 0; break;
        case 9: p.shuffle_seq = 2; break;
        }
        memset(&d, 0x5a, sizeof d);
        CHECK_ERR(cn_mnist1d_generate(&p, &d), CN_STATUS_INVALID_ARG, bad[i].what);
        CHECK_MSG(d.x_train == NULL && d.n_train == 0, "case '%s' left output behind", bad[i].what);
    }
    /* the memory cap is honoured before allocating */
    cn_mnist1d_params_default(&p);
    p.num_samples = 1000000000;
    p.final_seq_length = 1 << 20;
    CHECK_ERR(cn_mnist1d_generate(&p, &d), CN_STATUS_LIMIT, "mnist1d");
}

/* ---- .npy round trip and errors -------------------------------------------------------------- */

static void save_arr(const char *dir, const char *name, cn_dtype dt, int ndim, const int64_t *shape, const void *data)
{
    char p[600];
    snprintf(p, sizeof p, "%s/%s.npy", dir, name);
    CHECK_OK(cn_npy_save(p, dt, ndim, shape, data));
}

static void test_save_load(void)
{
    cn_mnist1d_params p;
    cn_mnist1d_params_default(&p);
    p.num_samples = 50;
    p.train_split = 0.6;
    cn_mnist1d d, e;
    CHECK_OK(cn_mnist1d_generate(&p, &d));
    if (!d.x_train) return;
    const char *dir = tmp_dir("roundtrip");
    CHECK_OK(cn_mnist1d_save_npy(&d, dir));
    CHECK_OK(cn_mnist1d_load_npy(&e, dir));
    CHECK(e.n_train == 30 && e.n_test == 20 && e.length == 40 && e.seq_perm == NULL);
    if (e.x_train) {
        CHECK(!memcmp(d.x_train, e.x_train, 30 * 40 * sizeof(float)));
        CHECK(!memcmp(d.x_test, e.x_test, 20 * 40 * sizeof(float)));
        CHECK(!memcmp(d.y_train, e.y_train, 30 * sizeof(int64_t)));
        CHECK(!memcmp(d.y_test, e.y_test, 20 * sizeof(int64_t)));
        CHECK(!memcmp(d.t, e.t, 40 * sizeof(float)));
    }
    cn_mnist1d_free(&e);
    /* the files hold what the SPEC's layout says */
    char path[600];
    snprintf(path, sizeof path, "%s/x_train.npy", dir);
    cn_npy a;
    CHECK_OK(cn_npy_load(&a, path));
    CHECK(a.dtype == CN_DTYPE_F32 && a.ndim == 2 && a.shape[0] == 30 && a.shape[1] == 40);
    cn_npy_free(&a);
    snprintf(path, sizeof path, "%s/y_test.npy", dir);
    CHECK_OK(cn_npy_load(&a, path));
    CHECK(a.dtype == CN_DTYPE_I64 && a.ndim == 1 && a.shape[0] == 20);
    cn_npy_free(&a);

    /* broken layouts: each names the file and what is wrong, and leaves the output zeroed */
    float xs[30 * 40] = {0}, t39[39] = {0};
    int64_t labels[30] = {0};
    labels[7] = 10;
    save_arr(dir, "y_train", CN_DTYPE_F32, 1, (int64_t[]){30}, xs);
    CHECK_ERR(cn_mnist1d_load_npy(&e, dir), CN_STATUS_FORMAT, "y_train.npy: dtype float32, expected an integer dtype");
    CHECK(e.x_train == NULL && e.n_train == 0);
    save_arr(dir, "y_train", CN_DTYPE_I64, 1, (int64_t[]){30}, labels);
    CHECK_ERR(cn_mnist1d_load_npy(&e, dir), CN_STATUS_FORMAT, "y_train.npy: label [7] = 10, expected 0..9");
    save_arr(dir, "y_train", CN_DTYPE_I64, 1, (int64_t[]){29}, d.y_train);
    CHECK_ERR(cn_mnist1d_load_npy(&e, dir), CN_STATUS_SHAPE, "has 30 examples but");
    CHECK_ERR(cn_mnist1d_load_npy(&e, dir), CN_STATUS_SHAPE, "y_train.npy has 29 labels");
    save_arr(dir, "y_train", CN_DTYPE_I64, 2, (int64_t[]){30, 1}, d.y_train);
    CHECK_ERR(cn_mnist1d_load_npy(&e, dir), CN_STATUS_SHAPE, "y_train.npy: 2 dimensions, expected 1");
    save_arr(dir, "y_train", CN_DTYPE_I64, 1, (int64_t[]){30}, d.y_train);
    save_arr(dir, "x_train", CN_DTYPE_F32, 1, (int64_t[]){1200}, xs);
    CHECK_ERR(cn_mnist1d_load_npy(&e, dir), CN_STATUS_SHAPE, "x_train.npy: 1 dimensions, expected 2");
    save_arr(dir, "x_train", CN_DTYPE_F32, 2, (int64_t[]){30, 40}, xs);
    save_arr(dir, "t", CN_DTYPE_F32, 1, (int64_t[]){39}, t39);
    CHECK_ERR(cn_mnist1d_load_npy(&e, dir), CN_STATUS_SHAPE, "x_train has 40 columns, x_test 40, t 39");
    save_arr(dir, "t", CN_DTYPE_I64, 1, (int64_t[]){30}, labels);
    CHECK_ERR(cn_mnist1d_load_npy(&e, dir), CN_STATUS_FORMAT, "t.npy: dtype int64, expected float32 or float64");
    save_arr(dir, "t", CN_DTYPE_F32, 1, (int64_t[]){40}, d.t);
    CHECK_OK(cn_mnist1d_load_npy(&e, dir)); /* repaired */
    cn_mnist1d_free(&e);
    snprintf(path, sizeof path, "%s/x_test.npy", dir);
    remove(path);
    CHECK_ERR(cn_mnist1d_load_npy(&e, dir), CN_STATUS_IO, "x_test.npy: cannot open");
    rm_dir(dir);

    /* bad directories */
    CHECK_ERR(cn_mnist1d_load_npy(&e, "/nonexistent-dir/mnist1d"), CN_STATUS_IO, "'/nonexistent-dir/mnist1d' does not exist");
    CHECK_ERR(cn_mnist1d_save_npy(&d, "/nonexistent-dir/mnist1d"), CN_STATUS_IO, "does not exist");
    snprintf(path, sizeof path, "%s/plainfile", tmp_root);
    FILE *f = fopen(path, "w");
    if (f) fclose(f);
    CHECK_ERR(cn_mnist1d_save_npy(&d, path), CN_STATUS_IO, "is not a directory");
    CHECK_ERR(cn_mnist1d_load_npy(&e, path), CN_STATUS_IO, "is not a directory");
    remove(path);
    const char *empty = tmp_dir("empty");
    CHECK_ERR(cn_mnist1d_load_npy(&e, empty), CN_STATUS_IO, "x_train.npy: cannot open");
    rmdir(empty);
    cn_mnist1d z = {0};
    CHECK_ERR(cn_mnist1d_save_npy(&z, tmp_root), CN_STATUS_INVALID_ARG, "empty");
    cn_mnist1d_free(&d);
}

/* ---- allocation failures --------------------------------------------------------------------- */

static int fail_at, n_allocs, n_live;
static void *failing_alloc(size_t size, size_t align, void *user)
{
    (void)user;
    if (n_allocs++ == fail_at) return NULL;
    size_t rounded = (size + align - 1) / align * align;
    void *p = aligned_alloc(align, rounded ? rounded : align);
    if (p) n_live++;
    return p;
}
static void counting_free(void *p, void *user)
{
    (void)user;
    if (p) n_live--, free(p);
}

static void test_alloc_failures(void)
{
    cn_mnist1d_params p;
    cn_mnist1d_params_default(&p);
    p.num_samples = 40;
    const char *dir = tmp_dir("faults");
    cn_mnist1d d;
    CHECK_OK(cn_mnist1d_generate(&p, &d));
    CHECK_OK(cn_mnist1d_save_npy(&d, dir));
    cn_mnist1d_free(&d);
    /* fail the k-th allocation of generate, then of load: a clean NOMEM, nothing left behind */
    for (int which = 0; which < 2; which++) {
        int k;
        for (k = 0; k < 200; k++) {
            fail_at = k, n_allocs = 0, n_live = 0;
            cn_set_allocator(&(cn_allocator){failing_alloc, counting_free, NULL});
            cn_status st = which == 0 ? cn_mnist1d_generate(&p, &d) : cn_mnist1d_load_npy(&d, dir);
            int live_during = n_live;
            if (st == CN_OK) cn_mnist1d_free(&d);
            int live_after = n_live;
            cn_set_allocator(NULL);
            if (st == CN_OK) {
                CHECK_MSG(live_after == 0, "%s: %d allocations leaked", which ? "load" : "generate", live_after);
                break;
            }
            CHECK_MSG(st == CN_STATUS_NOMEM && live_during == 0 && d.x_train == NULL,
                      "%s, failing allocation %d: %s, %d live allocations (%s)", which ? "load" : "generate", k,
                      cn_status_name(st), live_during, cn_last_error());
        }
        CHECK_MSG(k > 3 && k < 200, "%s: succeeded after %d failures", which ? "load" : "generate", k);
    }
    rm_dir(dir);
}

int main(void)
{
    snprintf(tmp_root, sizeof tmp_root, "%s/cn_test_mnist1d_%d", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid());
    mkdir(tmp_root, 0700);
    RUN(test_rng_reference);
    RUN(test_templates);
    RUN(test_example_checkpoints);
    RUN(test_sha256_helper);
    RUN(test_standard_dataset);
    RUN(test_seed_sensitivity);
    RUN(test_shuffled_variant);
    RUN(test_params);
    RUN(test_save_load);
    RUN(test_alloc_failures);
    rmdir(tmp_root);
    return cn_test_finish();
}
