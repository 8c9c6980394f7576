/* test_norm.c — batch norm (training statistics, running averages with momentum over 3 steps,
 * evaluation mode, both backwards), instance and group norm, and ONNX LRN: PyTorch fixtures,
 * gradient checks for dx / dgamma / dbeta over a grid of shapes, eval-mode independence of
 * samples, the unbiased running variance, and the validation messages. */
#include <stdlib.h>
#include <string.h>

#include "convnet/norm.h"
#include "fixture.h"
#include "gradcheck.h"
#include "test.h"

static int verbose(void)
{
    const char *v = getenv("CONVNET_TEST_VERBOSE");
    return v && atoi(v) > 0;
}

/* CHECK_ALLCLOSE that also prints the worst absolute difference when verbose */
static void expect_close(const float *a, const float *b, int64_t n, double atol, double rtol, const char *label)
{
    double worst = 0;
    for (int64_t i = 0; i < n; i++) worst = fmax(worst, fabs((double)a[i] - b[i]));
    if (verbose()) printf("     %-40s max |diff| %.3g over %lld\n", label, worst, (long long)n);
    cn_test_allclose(a, b, n, atol, rtol, label, __FILE__, __LINE__);
}

static int64_t prod(const int64_t *d, int k)
{
    int64_t p = 1;
    for (int i = 0; i < k; i++) p *= d[i];
    return p;
}

static cn_npy load(const char *cfg, const char *what)
{
    char name[96];
    snprintf(name, sizeof name, "ops/%s_%s", cfg, what);
    return cn_fixture_load(name);
}

/* ---- batch norm fixtures ---- */

static void test_batchnorm_fixtures(void)
{
    static const char *const cases[] = {"bn0d", "bn1d", "bn2d", "bn3d"};
    for (int k = 0; k < 4; k++) {
        const char *cfg = cases[k];
        char label[96];
        cn_npy x = load(cfg, "x"), ry = load(cfg, "y"), gamma = load(cfg, "gamma"), beta = load(cfg, "beta");
        cn_npy rm = load(cfg, "rmean"), rv = load(cfg, "rvar"), dy = load(cfg, "dy"), rdx = load(cfg, "dx");
        cn_npy rdg = load(cfg, "dgamma"), rdb = load(cfg, "dbeta"), xe = load(cfg, "xeval"), rye = load(cfg, "yeval");
        cn_npy rdxe = load(cfg, "dxeval"), rdge = load(cfg, "dgammaeval"), rdbe = load(cfg, "dbetaeval");
        /* x is (3 steps, N, C, *spatial) */
        cn_norm_geom g = {.n = x.shape[1], .c = x.shape[2], .s = prod(x.shape + 3, x.ndim - 3), .groups = 1,
                          .eps = 1e-5f, .momentum = 0.1f};
        CHECK_OK(cn_batchnorm_check(&g, 1, cfg));
        int64_t numel = g.n * g.c * g.s, C = g.c;
        float *y = malloc(sizeof(float) * numel), *dx = calloc(numel, sizeof(float));
        float *cache = malloc(sizeof(float) * cn_batchnorm_cache_floats(&g));
        float run_mean[8], run_var[8], dgam[8] = {0}, dbet[8] = {0};
        for (int c = 0; c < C; c++) run_mean[c] = 0, run_var[c] = 1; /* PyTorch's initial values */
        for (int step = 0; step < 3; step++) {
            cn_batchnorm_forward_train(y, cache, run_mean, run_var, x.f32 + step * numel, gamma.f32, beta.f32, &g);
            snprintf(label, sizeof label, "%s train y step %d", cfg, step + 1);
            /* PyTorch's float32 statistics vs ours in double: |y| <= ~4, a few ulps */
            expect_close(y, ry.f32 + step * numel, numel, 1e-5, 1e-5, label);
        }
        snprintf(label, sizeof label, "%s running mean", cfg);
        expect_close(run_mean, rm.f32, C, 1e-6, 1e-5, label);
        snprintf(label, sizeof label, "%s running var (unbiased)", cfg);
        expect_close(run_var, rv.f32, C, 1e-6, 1e-5, label);
        /* backward of step 3 (the cache holds step 3's statistics) */
        cn_batchnorm_backward_train(dx, dgam, dbet, dy.f32, x.f32 + 2 * numel, cache, gamma.f32, &g);
        snprintf(label, sizeof label, "%s train dx", cfg);
        /* dx is a difference of sums of size M: float32 cancellation in PyTorch, 1e-5 */
        expect_close(dx, rdx.f32, numel, 1e-5, 1e-4, label);
        snprintf(label, sizeof label, "%s train dgamma", cfg);
        expect_close(dgam, rdg.f32, C, 1e-5, 1e-5, label);
        snprintf(label, sizeof label, "%s train dbeta", cfg);
        expect_close(dbet, rdb.f32, C, 1e-5, 1e-5, label);
        /* evaluation mode uses the running averages */
        cn_batchnorm_forward_eval(y, xe.f32, gamma.f32, beta.f32, run_mean, run_var, &g);
        snprintf(label, sizeof label, "%s eval y", cfg);
        expect_close(y, rye.f32, numel, 1e-5, 1e-5, label);
        memset(dx, 0, sizeof(float) * numel);
        memset(dgam, 0, sizeof dgam);
        memset(dbet, 0, sizeof dbet);
        cn_batchnorm_backward_eval(dx, dgam, dbet, dy.f32, xe.f32, gamma.f32, run_mean, run_var, &g);
        snprintf(label, sizeof label, "%s eval dx", cfg);
        expect_close(dx, rdxe.f32, numel, 1e-6, 1e-5, label);
        snprintf(label, sizeof label, "%s eval dgamma", cfg);
        expect_close(dgam, rdge.f32, C, 1e-5, 1e-5, label);
        snprintf(label, sizeof label, "%s eval dbeta", cfg);
        expect_close(dbet, rdbe.f32, C, 1e-5, 1e-5, label);
        free(y), free(dx), free(cache);
        cn_npy *all[] = {&x, &ry, &gamma, &beta, &rm, &rv, &dy, &rdx, &rdg, &rdb, &xe, &rye, &rdxe, &rdge, &rdbe};
        for (size_t i = 0; i < sizeof all / sizeof *all; i++) cn_npy_free(all[i]);
    }
}

/* training statistics, the unbiased running variance, and several steps of running averages
 * against a direct double-precision computation */
static void test_batchnorm_statistics(void)
{
    cn_norm_geom g = {.n = 5, .c = 2, .s = 3, .groups = 1, .eps = 1e-5f, .momentum = 0.25f};
    int64_t numel = 30, M = 15;
    float x[30], y[30], cache[4], rm[2] = {0, 0}, rv[2] = {1, 1};
    float gamma[2] = {2.0f, -0.5f}, beta[2] = {0.3f, 1.0f};
    double erm[2] = {0, 0}, erv[2] = {1, 1};
    cn_rng rng;
    cn_rng_init(&rng, 3, CN_STREAM_USER);
    for (int step = 0; step < 6; step++) {
        cn_rng_fill_normal(&rng, x, (size_t)numel, (float)step, 1.0f + (float)step);
        cn_batchnorm_forward_train(y, cache, rm, rv, x, gamma, beta, &g);
        for (int c = 0; c < 2; c++) {
            double s = 0, sq = 0, ys = 0, ysq = 0;
            for (int n = 0; n < 5; n++)
                for (int i = 0; i < 3; i++) s += x[(n * 2 + c) * 3 + i];
            double mean = s / M;
            for (int n = 0; n < 5; n++)
                for (int i = 0; i < 3; i++) {
                    double d = x[(n * 2 + c) * 3 + i] - mean, v = y[(n * 2 + c) * 3 + i];
                    sq += d * d;
                    ys += v;
                    ysq += v * v;
                }
            double var = sq / M;
            CHECK_NEAR(cache[c], mean, 1e-6 * (1 + fabs(mean)));
            CHECK_NEAR(cache[2 + c], 1 / sqrt(var + 1e-5), 1e-6 / sqrt(var));
            /* y has mean beta and biased variance gamma^2 * var / (var + eps) */
            CHECK_NEAR(ys / M, beta[c], 1e-5);
            CHECK_NEAR(ysq / M - (ys / M) * (ys / M), gamma[c] * gamma[c] * var / (var + 1e-5), 1e-5);
            erm[c] = 0.75 * erm[c] + 0.25 * mean;
            erv[c] = 0.75 * erv[c] + 0.25 * var * M / (M - 1); /* unbiased */
            CHECK_NEAR(rm[c], erm[c], 1e-5 * (1 + fabs(erm[c])));
            CHECK_NEAR(rv[c], erv[c], 1e-5 * erv[c]);
        }
    }
    /* momentum 1: running var is exactly the unbiased batch variance (not the biased one) */
    g.momentum = 1;
    float xs[30];
    for (int i = 0; i < 30; i++) xs[i] = (float)(i % 3); /* every channel: five times 0, 1, 2 */
    cn_batchnorm_forward_train(y, cache, rm, rv, xs, NULL, NULL, &g);
    CHECK_NEAR(rm[0], 1.0, 1e-7);
    CHECK_NEAR(rv[0], 10.0 / 14.0, 1e-7); /* sum of squares 10 over M - 1 = 14 (biased: 10/15) */
    /* NULL running stats are skipped, NULL gamma/beta are 1/0 */
    cn_batchnorm_forward_train(y, cache, NULL, NULL, xs, NULL, NULL, &g);
    CHECK_NEAR(y[0], -1 / sqrt(10.0 / 15 + 1e-5), 1e-6);
}

/* evaluation mode: every sample is normalized by the running statistics alone, so changing
 * one sample of the batch leaves the others' outputs bit-identical (training mode does not) */
static void test_batchnorm_eval_independent(void)
{
    cn_norm_geom g = {.n = 4, .c = 3, .s = 4, .groups = 1, .eps = 1e-5f, .momentum = 0.1f};
    float x[48], y1[48], y2[48], cache[6], rm[3] = {0.5f, -1, 2}, rv[3] = {1.5f, 0.25f, 4}, gamma[3] = {1, 2, 3},
                                              beta[3] = {0, 1, -1};
    cn_rng rng;
    cn_rng_init(&rng, 4, CN_STREAM_USER);
    cn_rng_fill_normal(&rng, x, 48, 0, 2);
    cn_batchnorm_forward_eval(y1, x, gamma, beta, rm, rv, &g);
    for (int i = 0; i < 12; i++) x[i] = 100.0f + (float)i; /* sample 0 changes */
    cn_batchnorm_forward_eval(y2, x, gamma, beta, rm, rv, &g);
    CHECK(!memcmp(y1 + 12, y2 + 12, 36 * sizeof(float)));
    CHECK(memcmp(y1, y2, 12 * sizeof(float)) != 0);
    CHECK_NEAR(y2[12 + 4], 2 * (x[16] + 1) / sqrt(0.25 + 1e-5) + 1, 1e-5); /* sample 1, channel 1 */
    /* the control: in training mode the same change moves the other samples */
    float rm2[3] = {0}, rv2[3] = {1, 1, 1};
    cn_batchnorm_forward_train(y1, cache, rm2, rv2, x, gamma, beta, &g);
    x[0] = -100;
    cn_batchnorm_forward_train(y2, cache, rm2, rv2, x, gamma, beta, &g);
    CHECK(memcmp(y1 + 12, y2 + 12, 36 * sizeof(float)) != 0);
}

/* ---- gradient checks ---- */

enum { K_BN_TRAIN, K_BN_EVAL, K_GN, K_IN, K_LRN };

typedef struct {
    int kind;
    cn_norm_geom g;
    cn_lrn_geom lg;
    float *x, *y, *cache, *gamma, *beta, *rm, *rv;
    const double *r;
    int64_t numel;
} norm_ctx;

static void run_forward(norm_ctx *c)
{
    switch (c->kind) {
    case K_BN_TRAIN: cn_batchnorm_forward_train(c->y, c->cache, NULL, NULL, c->x, c->gamma, c->beta, &c->g); break;
    case K_BN_EVAL: cn_batchnorm_forward_eval(c->y, c->x, c->gamma, c->beta, c->rm, c->rv, &c->g); break;
    case K_GN: cn_groupnorm_forward(c->y, c->cache, c->x, c->gamma, c->beta, &c->g); break;
    case K_IN: cn_instancenorm_forward(c->y, c->cache, c->x, c->gamma, c->beta, &c->g); break;
    default: cn_lrn_forward(c->y, c->cache, c->x, &c->lg); break;
    }
}

static double norm_loss(void *p)
{
    norm_ctx *c = p;
    run_forward(c);
    double l = 0;
    for (int64_t i = 0; i < c->numel; i++) l += c->y[i] * c->r[i];
    return l;
}

/* one configuration per line; kinds: bn (training), bn_eval, gn, in, lrn */
static const char *const grad_cases[] = {
    "bn n=4 c=3 s=5",
    "bn n=8 c=2 s=1",
    "bn n=1 c=3 s=6",
    "bn n=2 c=2 s=12",
    "bn n=3 c=1 s=2",
    "bn_eval n=3 c=2 s=4",
    "gn n=2 c=6 s=4 groups=3",
    "gn n=2 c=4 s=3 groups=1",
    "gn n=3 c=6 s=1 groups=2",
    "gn n=1 c=8 s=2 groups=8",
    "in n=2 c=3 s=7",
    "in n=1 c=2 s=2",
    "lrn n=2 c=7 s=3 size=5 alpha=0.3 beta=0.75 bias=1",
    "lrn n=2 c=6 s=2 size=4 alpha=0.5 beta=0.6 bias=1.5",
    "lrn n=1 c=5 s=2 size=1 alpha=0.4 beta=0.5 bias=1",
    "lrn n=1 c=3 s=4 size=9 alpha=1 beta=0.75 bias=2",
    "lrn n=2 c=4 s=1 size=2 alpha=0.2 beta=1.5 bias=0.5",
};

static int64_t opt(const char *line, const char *key, int64_t def)
{
    char pat[32];
    snprintf(pat, sizeof pat, " %s=", key);
    const char *p = strstr(line, pat);
    return p ? atoll(p + strlen(pat)) : def;
}

static double optf(const char *line, const char *key, double def)
{
    char pat[32];
    snprintf(pat, sizeof pat, " %s=", key);
    const char *p = strstr(line, pat);
    return p ? atof(p + strlen(pat)) : def;
}

static void test_gradcheck(void)
{
    cn_rng rng;
    cn_rng_init(&rng, 21, CN_STREAM_USER);
    for (size_t k = 0; k < sizeof grad_cases / sizeof *grad_cases; k++) {
        const char *line = grad_cases[k];
        norm_ctx c;
        memset(&c, 0, sizeof c);
        c.kind = !strncmp(line, "bn_eval", 7) ? K_BN_EVAL : !strncmp(line, "bn", 2) ? K_BN_TRAIN
                 : !strncmp(line, "gn", 2) ? K_GN : !strncmp(line, "in", 2) ? K_IN : K_LRN;
        int64_t n = opt(line, "n", 1), ch = opt(line, "c", 1), s = opt(line, "s", 1);
        c.g = (cn_norm_geom){.n = n, .c = ch, .s = s, .groups = opt(line, "groups", 1), .eps = 1e-5f, .momentum = 0.1f};
        c.lg = (cn_lrn_geom){.n = n, .c = ch, .s = s, .size = opt(line, "size", 1), .alpha = (float)optf(line, "alpha", 0),
                             .beta = (float)optf(line, "beta", 0), .bias = (float)optf(line, "bias", 1)};
        switch (c.kind) {
        case K_BN_TRAIN: CHECK_OK(cn_batchnorm_check(&c.g, 1, line)); break;
        case K_BN_EVAL: CHECK_OK(cn_batchnorm_check(&c.g, 0, line)); break;
        case K_GN: CHECK_OK(cn_groupnorm_check(&c.g, line)); break;
        case K_IN: CHECK_OK(cn_instancenorm_check(&c.g, line)); break;
        default: CHECK_OK(cn_lrn_check(&c.lg, line)); break;
        }
        c.numel = n * ch * s;
        size_t cache_n = c.kind == K_LRN ? cn_lrn_cache_floats(&c.lg) : c.kind == K_GN ? cn_groupnorm_cache_floats(&c.g)
                         : c.kind == K_IN ? cn_instancenorm_cache_floats(&c.g) : cn_batchnorm_cache_floats(&c.g);
        c.x = malloc(sizeof(float) * c.numel);
        c.y = malloc(sizeof(float) * c.numel);
        c.cache = malloc(sizeof(float) * cache_n);
        float *dy = malloc(sizeof(float) * c.numel), *dx = calloc(c.numel, sizeof(float));
        double *r = malloc(sizeof(double) * c.numel);
        float gamma[8], beta[8], rm[8], rv[8], dg[8] = {0}, db[8] = {0};
        cn_rng_fill_normal(&rng, c.x, (size_t)c.numel, 0.5f, 1.5f);
        for (int64_t i = 0; i < c.numel; i++) {
            r[i] = 2 * cn_rng_uniform(&rng) - 1;
            dy[i] = (float)r[i];
        }
        for (int i = 0; i < 8; i++) {
            gamma[i] = 0.5f + cn_rng_uniform(&rng) * (i % 3 == 2 ? -1.5f : 1.5f); /* some negative */
            beta[i] = cn_rng_uniform(&rng) - 0.5f;
            rm[i] = cn_rng_uniform(&rng) - 0.5f;
            rv[i] = 0.5f + cn_rng_uniform(&rng);
        }
        c.gamma = gamma, c.beta = beta, c.rm = rm, c.rv = rv, c.r = r;
        run_forward(&c);
        switch (c.kind) {
        case K_BN_TRAIN: cn_batchnorm_backward_train(dx, dg, db, dy, c.x, c.cache, gamma, &c.g); break;
        case K_BN_EVAL: cn_batchnorm_backward_eval(dx, dg, db, dy, c.x, gamma, rm, rv, &c.g); break;
        case K_GN: cn_groupnorm_backward(dx, dg, db, dy, c.x, c.cache, gamma, &c.g); break;
        case K_IN: cn_instancenorm_backward(dx, dg, db, dy, c.x, c.cache, gamma, &c.g); break;
        default: cn_lrn_backward(dx, dy, c.x, c.cache, &c.lg); break;
        }
        char label[160];
        /* dx: smooth in x, eps = 1e-2 (x ~ N(0.5, 1.5^2), so sigma ~ 1.5 >> eps: truncation
         * eps^2/6 |f'''| ~ 1e-5). One perturbed x moves every y of its group (M <= 40 values
         * of |y| < 6, rounded to float: 4.8e-7 each), so the quotient carries up to
         * 40 * 4.8e-7 / 0.02 ~ 1e-3 absolute in the worst case, ~1e-4 typically; floor 1e-1 on
         * the denominator (|dx| is ~0.1-1 here, and a missing mean or variance term changes
         * it by > 0.05): tol 1e-2. */
        snprintf(label, sizeof label, "dx %s", line);
        CHECK_GRAD(cn_gradcheck(norm_loss, &c, c.x, dx, c.numel, 1e-2, 1e-1), 1e-2, label);
        if (c.kind != K_LRN) {
            /* y is affine in gamma and beta: exact differences; rounding as above over the
             * |dgamma| ~ sqrt(M) in size: tol 1e-3 */
            snprintf(label, sizeof label, "dgamma %s", line);
            CHECK_GRAD(cn_gradcheck(norm_loss, &c, gamma, dg, ch, 1e-2, 1e-1), 1e-3, label);
            snprintf(label, sizeof label, "dbeta %s", line);
            CHECK_GRAD(cn_gradcheck(norm_loss, &c, beta, db, ch, 1e-2, 1e-1), 1e-3, label);
        }
        /* NULL gamma / beta mean 1 / 0 and NULL gradients are skipped */
        if (c.kind == K_BN_TRAIN || c.kind == K_GN) {
            float *y2 = malloc(sizeof(float) * c.numel), ones[8], zeros[8] = {0};
            for (int i = 0; i < 8; i++) ones[i] = 1;
            c.gamma = ones, c.beta = zeros;
            run_forward(&c);
            memcpy(y2, c.y, sizeof(float) * c.numel);
            c.gamma = NULL, c.beta = NULL;
            run_forward(&c);
            CHECK_MSG(!memcmp(y2, c.y, sizeof(float) * c.numel), "NULL affine differs: %s", line);
            if (c.kind == K_BN_TRAIN) cn_batchnorm_backward_train(NULL, NULL, NULL, dy, c.x, c.cache, NULL, &c.g);
            else cn_groupnorm_backward(NULL, NULL, NULL, dy, c.x, c.cache, NULL, &c.g);
            free(y2);
        }
        free(c.x), free(c.y), free(c.cache), free(dy), free(dx), free(r);
    }
}

/* ---- instance / group norm and LRN fixtures ---- */

static void test_group_instance_fixtures(void)
{
    static const char *const cases[] = {
        "in1d",      /* instance norm (2, 3, 7) */
        "in2d",      /* instance norm (2, 3, 4, 5) */
        "gn2d_g3",   /* group norm (2, 6, 3, 4), 3 groups */
        "gn3d_g2",   /* group norm (2, 4, 2, 2, 3), 2 groups */
        "gn1d_g1",   /* group norm (3, 4, 5), 1 group (layer norm over C, S) */
    };
    static const int64_t groups[] = {0, 0, 3, 2, 1};
    for (int k = 0; k < 5; k++) {
        const char *cfg = cases[k];
        cn_npy x = load(cfg, "x"), ry = load(cfg, "y"), gamma = load(cfg, "gamma"), beta = load(cfg, "beta");
        cn_npy dy = load(cfg, "dy"), rdx = load(cfg, "dx"), rdg = load(cfg, "dgamma"), rdb = load(cfg, "dbeta");
        cn_norm_geom g = {.n = x.shape[0], .c = x.shape[1], .s = prod(x.shape + 2, x.ndim - 2), .groups = groups[k],
                          .eps = 1e-5f};
        int inst = groups[k] == 0;
        CHECK_OK(inst ? cn_instancenorm_check(&g, cfg) : cn_groupnorm_check(&g, cfg));
        size_t cn = inst ? cn_instancenorm_cache_floats(&g) : cn_groupnorm_cache_floats(&g);
        float *y = malloc(sizeof(float) * x.numel), *dx = calloc(x.numel, sizeof(float)), *cache = malloc(sizeof(float) * cn);
        float dg[8] = {0}, db[8] = {0};
        char label[64];
        (inst ? cn_instancenorm_forward : cn_groupnorm_forward)(y, cache, x.f32, gamma.f32, beta.f32, &g);
        snprintf(label, sizeof label, "%s y", cfg);
        expect_close(y, ry.f32, x.numel, 1e-5, 1e-5, label);
        (inst ? cn_instancenorm_backward : cn_groupnorm_backward)(dx, dg, db, dy.f32, x.f32, cache, gamma.f32, &g);
        snprintf(label, sizeof label, "%s dx", cfg);
        expect_close(dx, rdx.f32, x.numel, 1e-5, 1e-4, label);
        snprintf(label, sizeof label, "%s dgamma", cfg);
        expect_close(dg, rdg.f32, g.c, 1e-5, 1e-5, label);
        snprintf(label, sizeof label, "%s dbeta", cfg);
        expect_close(db, rdb.f32, g.c, 1e-5, 1e-5, label);
        free(y), free(dx), free(cache);
        cn_npy *all[] = {&x, &ry, &gamma, &beta, &dy, &rdx, &rdg, &rdb};
        for (size_t i = 0; i < 8; i++) cn_npy_free(all[i]);
    }
}

static void test_lrn_fixtures(void)
{
    /* fixture, size alpha beta bias (as gen_ops.py); lrn_s4 is even: ONNX's window, not torch's */
    static const char *const cases[] = {
        "lrn_s5 5 0.01 0.75 2",
        "lrn_s3 3 0.0001 0.75 1",
        "lrn_s4 4 0.1 0.6 1.5",
        "lrn_s1 1 0.3 0.5 1",
    };
    for (int k = 0; k < 4; k++) {
        char cfg[16];
        long long size;
        double alpha, beta, bias;
        sscanf(cases[k], "%15s %lld %lf %lf %lf", cfg, &size, &alpha, &beta, &bias);
        cn_npy x = load(cfg, "x"), ry = load(cfg, "y"), dy = load(cfg, "dy"), rdx = load(cfg, "dx");
        cn_lrn_geom g = {.n = x.shape[0], .c = x.shape[1], .s = prod(x.shape + 2, x.ndim - 2), .size = size,
                         .alpha = (float)alpha, .beta = (float)beta, .bias = (float)bias};
        CHECK_OK(cn_lrn_check(&g, cfg));
        float *y = malloc(sizeof(float) * x.numel), *dx = calloc(x.numel, sizeof(float));
        float *cache = malloc(sizeof(float) * cn_lrn_cache_floats(&g));
        char label[64];
        cn_lrn_forward(y, cache, x.f32, &g);
        snprintf(label, sizeof label, "%s y", cases[k]);
        expect_close(y, ry.f32, x.numel, 1e-6, 1e-5, label);
        cn_lrn_backward(dx, dy.f32, x.f32, cache, &g);
        snprintf(label, sizeof label, "%s dx", cases[k]);
        expect_close(dx, rdx.f32, x.numel, 1e-6, 1e-5, label);
        free(y), free(dx), free(cache);
        cn_npy_free(&x), cn_npy_free(&ry), cn_npy_free(&dy), cn_npy_free(&rdx);
    }
    /* the ONNX window by hand: C = 4, size 2 -> channel c sums [c, c + 1] */
    float x[4] = {1, 2, 3, 4}, y[4], cache[4];
    cn_lrn_geom g = {.n = 1, .c = 4, .s = 1, .size = 2, .alpha = 2, .beta = 1, .bias = 1};
    cn_lrn_forward(y, cache, x, &g);
    CHECK_NEAR(cache[0], 1 + 1.0 * (1 + 4), 1e-6);
    CHECK_NEAR(cache[2], 1 + 1.0 * (9 + 16), 1e-6);
    CHECK_NEAR(cache[3], 1 + 1.0 * 16, 1e-6);
    CHECK_NEAR(y[1], 2.0 / (1 + 4 + 9), 1e-7);
}

static void test_validation(void)
{
    cn_norm_geom g = {.n = 1, .c = 4, .s = 1, .groups = 3, .eps = 1e-5f, .momentum = 0.1f};
    CHECK_ERR(cn_batchnorm_check(&g, 1, "bn1"), CN_STATUS_SHAPE, "more than one value per channel (N=1, S=1)");
    CHECK_OK(cn_batchnorm_check(&g, 0, "bn1")); /* evaluation mode is fine */
    g.momentum = 1.5f;
    CHECK_ERR(cn_batchnorm_check(&g, 0, "bn1"), CN_STATUS_INVALID_ARG, "momentum=1.5");
    g.momentum = 0.1f, g.eps = 0;
    CHECK_ERR(cn_batchnorm_check(&g, 0, "bn1"), CN_STATUS_INVALID_ARG, "eps=0");
    g.eps = 1e-5f;
    CHECK_ERR(cn_groupnorm_check(&g, "gn1"), CN_STATUS_SHAPE, "groupnorm 'gn1': groups=3 does not divide C=4");
    g.c = 0;
    CHECK_ERR(cn_instancenorm_check(&g, "in1"), CN_STATUS_SHAPE, "C=0");
    cn_lrn_geom l = {.n = 1, .c = 3, .s = 1, .size = 0, .alpha = 1e-4f, .beta = 0.75f, .bias = 1};
    CHECK_ERR(cn_lrn_check(&l, "norm1"), CN_STATUS_INVALID_ARG, "lrn 'norm1': size=0 must be >= 1");
    l.size = 3, l.bias = 0;
    CHECK_ERR(cn_lrn_check(&l, "norm1"), CN_STATUS_INVALID_ARG, "bias=0");
}

int main(void)
{
    RUN(test_batchnorm_fixtures);
    RUN(test_batchnorm_statistics);
    RUN(test_batchnorm_eval_independent);
    RUN(test_gradcheck);
    RUN(test_group_instance_fixtures);
    RUN(test_lrn_fixtures);
    RUN(test_validation);
    return cn_test_finish();
}
