/* test_loss.c — softmax cross-entropy (label smoothing, class weights, ignore_index, mean/sum,
 * multiclass and per pixel), BCE with logits (pos_weight, soft targets, masks), MSE and L1:
 * PyTorch fixtures for loss and gradient, gradient checks over a grid of options, extreme
 * logits, all-ignored batches, and the validation messages. */
#include <stdlib.h>
#include <string.h>

#include "convnet/loss.h"
#include "fixture.h"
#include "gradcheck.h"
#include "test.h"

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

static cn_reduction red(const char *line) { return strstr(line, "red=sum") ? CN_REDUCE_SUM : CN_REDUCE_MEAN; }

static cn_npy load(const char *cfg, const char *what)
{
    char name[96];
    snprintf(name, sizeof name, "ops/%s_%s", cfg, what);
    return cn_fixture_load(name);
}

static void test_xent_fixtures(void)
{
    static const char *const cases[] = {
        "xent_mean      ls=0    ignore=-100 red=mean w=0",
        "xent_sum       ls=0    ignore=-100 red=sum  w=0",
        "xent_ls        ls=0.1  ignore=-100 red=mean w=0",
        "xent_w         ls=0    ignore=-100 red=mean w=1",
        "xent_w_ls_sum  ls=0.2  ignore=-100 red=sum  w=1",
        "xent_w_ls      ls=0.2  ignore=-100 red=mean w=1",
        "xent_ign       ls=0    ignore=-100 red=mean w=0",
        "xent_ign7_w    ls=0    ignore=7    red=mean w=1",
        "xent_ign_ls    ls=0.3  ignore=-100 red=mean w=0",
        "xent_ign_w_ls  ls=0.3  ignore=-100 red=mean w=1",
        "xent_px        ls=0    ignore=255  red=mean w=0",
        "xent_px_w_ls   ls=0.1  ignore=255  red=mean w=1",
        "xent_px_sum    ls=0    ignore=255  red=sum  w=0",
        "xent_px3d_ls   ls=0.05 ignore=-100 red=mean w=0",
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        char cfg[32];
        sscanf(cases[c], "%31s", cfg);
        cn_npy z = load(cfg, "logits"), t = load(cfg, "targets"), rl = load(cfg, "loss"), rd = load(cfg, "dlogits");
        int weighted = opt(cases[c], "w", 0) != 0;
        cn_npy w = weighted ? load(cfg, "weight") : (cn_npy){0};
        int64_t s = 1;
        for (int d = 2; d < z.ndim; d++) s *= z.shape[d];
        cn_xent_geom g = cn_xent_geom_make(z.shape[0], z.shape[1], s);
        g.label_smoothing = (float)optf(cases[c], "ls", 0);
        g.ignore_index = opt(cases[c], "ignore", -100);
        g.reduction = red(cases[c]);
        CHECK_OK(cn_xent_check(&g, cfg));
        CHECK_OK(cn_xent_check_targets(t.i64, &g, cfg));
        float *d = malloc(sizeof(float) * z.numel);
        double loss = cn_softmax_xent(d, z.f32, t.i64, weighted ? w.f32 : NULL, &g);
        /* the fixtures are PyTorch in float64, rounded to float32 once; ours is double and
         * rounded once too: within 1 ulp of each other (2 ulps allowed: 2.4e-7 relative) */
        CHECK_MSG(fabs(loss - rl.f32[0]) <= 2.4e-7 * fabs(rl.f32[0]), "%s: loss %.9g vs %.9g", cases[c], loss,
                  rl.f32[0]);
        CHECK_ALLCLOSE(d, rd.f32, z.numel, 1e-12, 2.4e-7, cases[c]);
        /* the loss alone (dlogits NULL) is the same number */
        CHECK(cn_softmax_xent(NULL, z.f32, t.i64, weighted ? w.f32 : NULL, &g) == loss);
        free(d);
        cn_npy_free(&z), cn_npy_free(&t), cn_npy_free(&rl), cn_npy_free(&rd);
        if (weighted) cn_npy_free(&w);
    }
}

static void test_bce_fixtures(void)
{
    static const char *const cases[] = {
        "bce_mean     pw=0 red=mean",
        "bce_pw       pw=1 red=mean",
        "bce_pw_sum   pw=1 red=sum",
        "bce_soft_pw  pw=1 red=mean",
        "bce_mask_pw  pw=1 red=mean", /* (2, 1, 4, 4) mask: K = 1, S = 16 */
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        char cfg[32];
        sscanf(cases[c], "%31s", cfg);
        cn_npy z = load(cfg, "logits"), y = load(cfg, "targets"), rl = load(cfg, "loss"), rd = load(cfg, "dlogits");
        int has_pw = opt(cases[c], "pw", 0) != 0;
        cn_npy pw = has_pw ? load(cfg, "pw") : (cn_npy){0};
        int64_t s = 1;
        for (int d = 2; d < z.ndim; d++) s *= z.shape[d];
        cn_bce_geom g = {z.shape[0], z.shape[1], s, red(cases[c])};
        CHECK_OK(cn_bce_check(&g, cfg));
        float *d = malloc(sizeof(float) * z.numel);
        double loss = cn_bce_logits(d, z.f32, y.f32, has_pw ? pw.f32 : NULL, &g);
        /* float64 reference rounded once, ours rounded once (logits up to +-60 included) */
        CHECK_MSG(fabs(loss - rl.f32[0]) <= 2.4e-7 * fabs(rl.f32[0]), "%s: loss %.9g vs %.9g", cases[c], loss,
                  rl.f32[0]);
        CHECK_ALLCLOSE(d, rd.f32, z.numel, 1e-12, 2.4e-7, cases[c]);
        free(d);
        cn_npy_free(&z), cn_npy_free(&y), cn_npy_free(&rl), cn_npy_free(&rd);
        if (has_pw) cn_npy_free(&pw);
    }
}

static void test_regression_fixtures(void)
{
    cn_npy x = cn_fixture_load("ops/reg_x"), t = cn_fixture_load("ops/reg_target");
    const char *names[4] = {"mse_mean", "mse_sum", "l1_mean", "l1_sum"};
    for (int k = 0; k < 4; k++) {
        cn_npy rl = load(names[k], "loss"), rd = load(names[k], "dx");
        cn_reduction r = k % 2 ? CN_REDUCE_SUM : CN_REDUCE_MEAN;
        CHECK_OK(cn_regression_check(x.numel, r, k < 2 ? "mse" : "l1", names[k]));
        float d[21];
        double loss = (k < 2 ? cn_mse_loss : cn_l1_loss)(d, x.f32, t.f32, x.numel, r);
        CHECK_MSG(fabs(loss - rl.f32[0]) <= 2.4e-7 * fabs(rl.f32[0]), "%s: %.9g vs %.9g", names[k], loss, rl.f32[0]);
        CHECK_ALLCLOSE(d, rd.f32, x.numel, 1e-12, 2.4e-7, names[k]);
        if (k >= 2) CHECK(d[0] == 0.0f); /* the exact tie: sign(0) = 0 */
        cn_npy_free(&rl), cn_npy_free(&rd);
    }
    cn_npy_free(&x), cn_npy_free(&t);
}

/* ---- gradient checks: the loss is a double computed from float inputs, so the quotient is
 * limited only by truncation, eps^2/6 |f'''| ~ 2e-7 with eps = 1e-3 and |f'''| = O(1) (before
 * the mean's 1/norm), and by the float rounding of the analytic gradient (6e-8 relative):
 * tol 1e-4 relative with a floor of 1e-5. ---- */

typedef struct {
    int kind; /* 0 xent, 1 bce, 2 mse, 3 l1 */
    cn_xent_geom xg;
    cn_bce_geom bg;
    float *z, *w, *y;
    int64_t *t;
    int64_t n;
    cn_reduction r;
} loss_ctx;

static double loss_fn(void *p)
{
    loss_ctx *c = p;
    switch (c->kind) {
    case 0: return cn_softmax_xent(NULL, c->z, c->t, c->w, &c->xg);
    case 1: return cn_bce_logits(NULL, c->z, c->y, c->w, &c->bg);
    case 2: return cn_mse_loss(NULL, c->z, c->y, c->n, c->r);
    default: return cn_l1_loss(NULL, c->z, c->y, c->n, c->r);
    }
}

/* one configuration per line; ign=k ignores every k-th position */
static const char *const grad_cases[] = {
    "xent n=4 k=5 s=1 ls=0 red=mean w=0 ign=0",
    "xent n=4 k=5 s=1 ls=0 red=sum w=0 ign=0",
    "xent n=4 k=5 s=1 ls=0.1 red=mean w=0 ign=0",
    "xent n=5 k=3 s=1 ls=0 red=mean w=1 ign=0",
    "xent n=5 k=3 s=1 ls=0.25 red=mean w=1 ign=2",
    "xent n=3 k=4 s=1 ls=0.2 red=sum w=1 ign=3",
    "xent n=2 k=4 s=6 ls=0 red=mean w=0 ign=5",
    "xent n=2 k=3 s=8 ls=0.1 red=mean w=1 ign=4",
    "xent n=1 k=2 s=5 ls=1 red=sum w=1 ign=0",
    "xent n=3 k=1 s=2 ls=0 red=mean w=0 ign=0",
    "bce n=3 k=4 s=1 red=mean pw=1 soft=0",
    "bce n=3 k=4 s=1 red=sum pw=0 soft=1",
    "bce n=2 k=1 s=9 red=mean pw=1 soft=0",
    "bce n=2 k=3 s=2 red=sum pw=1 soft=1",
    "mse n=11 red=mean",
    "mse n=5 red=sum",
    "l1 n=11 red=mean",
    "l1 n=5 red=sum",
};

static void test_gradcheck(void)
{
    cn_rng rng;
    cn_rng_init(&rng, 61, CN_STREAM_USER);
    for (size_t c = 0; c < sizeof grad_cases / sizeof *grad_cases; c++) {
        const char *line = grad_cases[c];
        loss_ctx x;
        memset(&x, 0, sizeof x);
        x.kind = !strncmp(line, "xent", 4) ? 0 : !strncmp(line, "bce", 3) ? 1 : !strncmp(line, "mse", 3) ? 2 : 3;
        int64_t n = opt(line, "n", 1), k = opt(line, "k", 1), s = opt(line, "s", 1), total = x.kind >= 2 ? n : n * k * s;
        x.r = red(line);
        x.n = n;
        x.z = malloc(sizeof(float) * total);
        x.y = malloc(sizeof(float) * total);
        x.t = malloc(sizeof(int64_t) * n * s);
        float w[8], *d = malloc(sizeof(float) * total);
        cn_rng_fill_normal(&rng, x.z, (size_t)total, 0, 2);
        for (int i = 0; i < 8; i++) w[i] = 0.25f + 2 * cn_rng_uniform(&rng);
        if (x.kind == 0) {
            x.xg = cn_xent_geom_make(n, k, s);
            x.xg.label_smoothing = (float)optf(line, "ls", 0);
            x.xg.reduction = x.r;
            int64_t ign = opt(line, "ign", 0);
            for (int64_t i = 0; i < n * s; i++) x.t[i] = ign && i % ign == 1 ? -100 : (int64_t)cn_rng_below(&rng, (uint32_t)k);
            x.w = opt(line, "w", 0) ? w : NULL;
            CHECK_OK(cn_xent_check(&x.xg, line));
            CHECK_OK(cn_xent_check_targets(x.t, &x.xg, line));
            cn_softmax_xent(d, x.z, x.t, x.w, &x.xg);
        } else if (x.kind == 1) {
            x.bg = (cn_bce_geom){n, k, s, x.r};
            int soft = (int)opt(line, "soft", 0);
            for (int64_t i = 0; i < total; i++) x.y[i] = soft ? cn_rng_uniform(&rng) : (float)(cn_rng_uniform(&rng) < 0.4f);
            x.w = opt(line, "pw", 0) ? w : NULL;
            CHECK_OK(cn_bce_check(&x.bg, line));
            cn_bce_logits(d, x.z, x.y, x.w, &x.bg);
        } else {
            /* L1's kink at pred = target: keep |pred - target| >= 0.1 > 2*eps */
            for (int64_t i = 0; i < total; i++) x.y[i] = x.z[i] + (0.1f + cn_rng_uniform(&rng)) * (i % 2 ? 1 : -1);
            CHECK_OK(cn_regression_check(n, x.r, x.kind == 2 ? "mse" : "l1", line));
            (x.kind == 2 ? cn_mse_loss : cn_l1_loss)(d, x.z, x.y, n, x.r);
        }
        CHECK_GRAD(cn_gradcheck(loss_fn, &x, x.z, d, total, 1e-3, 1e-5), 1e-4, line);
        /* ignored positions get exactly zero gradient */
        if (x.kind == 0)
            for (int64_t i = 0; i < n * s; i++)
                if (x.t[i] == -100)
                    for (int64_t j = 0; j < k; j++) CHECK(d[(i / s) * k * s + j * s + i % s] == 0.0f);
        free(x.z), free(x.y), free(x.t), free(d);
    }
}

static void test_extremes_and_edges(void)
{
    /* logits of +-1e4 stay finite and give the exact answer */
    float z[6] = {1e4f, -1e4f, 0, 1e4f, -1e4f, 0}, d[6];
    int64_t t[2] = {0, 1};
    cn_xent_geom g = cn_xent_geom_make(2, 3, 1);
    g.reduction = CN_REDUCE_SUM;
    double l = cn_softmax_xent(d, z, t, NULL, &g);
    CHECK_NEAR(l, 2e4, 1e-9); /* sample 0: -log 1 = 0; sample 1: 1e4 - (-1e4) */
    CHECK(d[0] == 0 && d[1] == 0 && d[2] == 0 && d[3] == 1 && d[4] == -1 && d[5] == 0);
    /* all positions ignored: mean is 0 with a zero gradient (PyTorch gives NaN) */
    int64_t ti[2] = {-100, -100};
    g.reduction = CN_REDUCE_MEAN;
    l = cn_softmax_xent(d, z, ti, NULL, &g);
    CHECK(l == 0);
    for (int i = 0; i < 6; i++) CHECK(d[i] == 0);
    /* BCE with saturated logits: l = max(z, 0) - z y + log(1 + e^-|z|) */
    float bz[4] = {1e4f, -1e4f, 1e4f, -1e4f}, by[4] = {0, 1, 1, 0}, bd[4];
    cn_bce_geom bg = {1, 4, 1, CN_REDUCE_SUM};
    l = cn_bce_logits(bd, bz, by, NULL, &bg);
    CHECK_NEAR(l, 2e4, 1e-9);
    CHECK(bd[0] == 1 && bd[1] == -1 && bd[2] == 0 && bd[3] == 0);
    /* label smoothing 1 with uniform weights: the target does not matter */
    float zz[3] = {0.3f, -1, 2};
    int64_t ta[1] = {0}, tb[1] = {2};
    cn_xent_geom g1 = cn_xent_geom_make(1, 3, 1);
    g1.label_smoothing = 1;
    CHECK(cn_softmax_xent(NULL, zz, ta, NULL, &g1) == cn_softmax_xent(NULL, zz, tb, NULL, &g1));
}

static void test_validation(void)
{
    cn_xent_geom g = cn_xent_geom_make(4, 5, 1);
    int64_t t[4] = {0, 4, 7, -100};
    CHECK_ERR(cn_xent_check_targets(t, &g, "loss"), CN_STATUS_INVALID_ARG,
              "xent 'loss': target 7 at position 2 (sample 2, pixel 0) is outside [0, 5) and is not ignore_index=-100");
    t[2] = -1;
    CHECK_ERR(cn_xent_check_targets(t, &g, "loss"), CN_STATUS_INVALID_ARG, "target -1");
    t[2] = 2;
    CHECK_OK(cn_xent_check_targets(t, &g, "loss"));
    g.label_smoothing = 1.5f;
    CHECK_ERR(cn_xent_check(&g, "loss"), CN_STATUS_INVALID_ARG, "xent 'loss': label_smoothing=1.5 must be in [0, 1]");
    g.label_smoothing = 0, g.reduction = (cn_reduction)7;
    CHECK_ERR(cn_xent_check(&g, "loss"), CN_STATUS_INVALID_ARG, "reduction 7 is not mean (0) or sum (1)");
    g.reduction = CN_REDUCE_MEAN, g.k = 0;
    CHECK_ERR(cn_xent_check(&g, "loss"), CN_STATUS_SHAPE, "K=0");
    cn_bce_geom b = {0, 3, 1, CN_REDUCE_MEAN};
    CHECK_ERR(cn_bce_check(&b, "loss"), CN_STATUS_SHAPE, "bce 'loss': sizes must be >= 1 (N=0, K=3, S=1)");
    CHECK_ERR(cn_regression_check(0, CN_REDUCE_MEAN, "mse", "loss"), CN_STATUS_SHAPE, "mse 'loss'");
    CHECK_ERR(cn_regression_check(3, (cn_reduction)7, "l1", "loss"), CN_STATUS_INVALID_ARG, "l1 'loss': reduction 7");
}

int main(void)
{
    RUN(test_xent_fixtures);
    RUN(test_bce_fixtures);
    RUN(test_regression_fixtures);
    RUN(test_gradcheck);
    RUN(test_extremes_and_edges);
    RUN(test_validation);
    return cn_test_finish();
}
