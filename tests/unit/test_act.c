/* test_act.c — activations and PReLU: PyTorch fixtures (forward y and backward dx for a given
 * dy), central-difference gradient checks over a grid of kinds and parameters (backward
 * called with only the saved value cn_act_backward_uses names, the other pointer NULL, so a
 * kernel that reads the wrong one crashes), in-place forward, and the validation messages. */
#include <stdlib.h>
#include <string.h>

#include "convnet/act.h"
#include "fixture.h"
#include "gradcheck.h"
#include "test.h"

/* Parse "kind key=value ..." (keys: slope alpha beta threshold lo hi tanh n) into an act. */
static cn_act parse_act(const char *line, int64_t *n)
{
    char buf[256], *save = NULL;
    snprintf(buf, sizeof buf, "%s", line);
    char *tok = strtok_r(buf, " ", &save);
    cn_act_kind kind = CN_ACT_IDENTITY;
    CHECK_OK(cn_act_parse(&kind, tok));
    cn_act a = cn_act_make(kind);
    while ((tok = strtok_r(NULL, " ", &save))) {
        char *eq = strchr(tok, '=');
        if (!eq) continue;
        *eq = 0;
        double v = atof(eq + 1);
        if (!strcmp(tok, "slope")) a.slope = (float)v;
        else if (!strcmp(tok, "alpha")) a.alpha = (float)v;
        else if (!strcmp(tok, "beta")) a.beta = (float)v;
        else if (!strcmp(tok, "threshold")) a.threshold = (float)v;
        else if (!strcmp(tok, "lo")) a.lo = (float)v;
        else if (!strcmp(tok, "hi")) a.hi = (float)v;
        else if (!strcmp(tok, "tanh")) a.gelu_tanh = (int)v;
        else if (!strcmp(tok, "n") && n) *n = (int64_t)v;
        else CHECK_MSG(0, "unknown key '%s' in '%s'", tok, line);
    }
    CHECK_OK(cn_act_check(&a, line));
    return a;
}

/* ---- fixtures ---- */

static const char *const fixture_cases[] = {
    /* fixture name          activation as convnet describes it */
    "relu                    relu",
    "leaky_relu              leaky_relu slope=0.1",
    "elu                     elu alpha=1",
    "elu_a05                 elu alpha=0.5",
    "selu                    selu",
    "sigmoid                 sigmoid",
    "tanh                    tanh",
    "softplus                softplus beta=1 threshold=20",
    "softplus_b2_t5          softplus beta=2 threshold=5",
    "hard_sigmoid_onnx       hard_sigmoid alpha=0.2 beta=0.5",
    "hard_sigmoid_torch      hard_sigmoid alpha=0.16666667 beta=0.5",
    "hard_swish              hard_swish",
    "gelu                    gelu",
    "gelu_tanh               gelu tanh=1",
    "clip                    clip lo=-1 hi=2",
};

static void test_fixtures(void)
{
    cn_npy x = cn_fixture_load("ops/act_x"), dy = cn_fixture_load("ops/act_dy");
    int64_t n = x.numel;
    float *y = malloc(sizeof(float) * n), *dx = malloc(sizeof(float) * n);
    for (size_t c = 0; c < sizeof fixture_cases / sizeof *fixture_cases; c++) {
        char fx[64], name[128];
        sscanf(fixture_cases[c], "%63s", fx);
        const char *desc = fixture_cases[c] + strlen(fx);
        while (*desc == ' ') desc++;
        cn_act a = parse_act(desc, NULL);
        snprintf(name, sizeof name, "ops/act_%s_y", fx);
        cn_npy ry = cn_fixture_load(name);
        snprintf(name, sizeof name, "ops/act_%s_dx", fx);
        cn_npy rdx = cn_fixture_load(name);
        cn_act_forward(y, x.f32, n, &a);
        /* PyTorch computes in float32, we in double rounded once: a few ulps apart */
        CHECK_ALLCLOSE(y, ry.f32, n, 1e-6, 1e-5, fixture_cases[c]);
        memset(dx, 0, sizeof(float) * n);
        int uses_y = cn_act_backward_uses(&a) == CN_ACT_USES_Y;
        cn_act_backward(dx, dy.f32, uses_y ? NULL : x.f32, uses_y ? y : NULL, n, &a);
        /* from y, f' inherits y's rounding: 1 - y^2 near |y| = 1 loses up to ~1e-7 absolute */
        CHECK_ALLCLOSE(dx, rdx.f32, n, 2e-6, 1e-5, fixture_cases[c]);
        cn_npy_free(&ry);
        cn_npy_free(&rdx);
    }
    free(y);
    free(dx);
    cn_npy_free(&x);
    cn_npy_free(&dy);
}

static void test_prelu_fixtures(void)
{
    cn_npy x = cn_fixture_load("ops/act_x"), dy = cn_fixture_load("ops/act_dy");
    int64_t n = x.shape[0], c = x.shape[1], s = x.shape[2], numel = x.numel;
    const char *cases[] = {"prelu_c", "prelu_1"};
    float y[64], dx[64], ds[3];
    for (int k = 0; k < 2; k++) {
        char name[64];
        snprintf(name, sizeof name, "ops/act_%s_slope", cases[k]);
        cn_npy sl = cn_fixture_load(name);
        snprintf(name, sizeof name, "ops/act_%s_y", cases[k]);
        cn_npy ry = cn_fixture_load(name);
        snprintf(name, sizeof name, "ops/act_%s_dx", cases[k]);
        cn_npy rdx = cn_fixture_load(name);
        snprintf(name, sizeof name, "ops/act_%s_dslope", cases[k]);
        cn_npy rds = cn_fixture_load(name);
        CHECK_OK(cn_prelu_check(sl.numel, c, cases[k]));
        cn_prelu_forward(y, x.f32, sl.f32, n, c, s, sl.numel);
        CHECK_ALLCLOSE(y, ry.f32, numel, 1e-6, 1e-6, cases[k]);
        memset(dx, 0, sizeof dx);
        memset(ds, 0, sizeof ds);
        cn_prelu_backward(dx, ds, dy.f32, x.f32, sl.f32, n, c, s, sl.numel);
        CHECK_ALLCLOSE(dx, rdx.f32, numel, 1e-6, 1e-6, cases[k]);
        /* dslope sums up to 48 products: float32 summation order in PyTorch, double here */
        CHECK_ALLCLOSE(ds, rds.f32, sl.numel, 1e-5, 1e-5, cases[k]);
        cn_npy_free(&sl);
        cn_npy_free(&ry);
        cn_npy_free(&rdx);
        cn_npy_free(&rds);
    }
    cn_npy_free(&x);
    cn_npy_free(&dy);
}

/* ---- gradient checks ---- */

typedef struct {
    const cn_act *a;
    const float *x;
    float *y;
    const double *r;
    int64_t n;
} act_ctx;

static double act_loss(void *p)
{
    act_ctx *c = p;
    cn_act_forward(c->y, c->x, c->n, c->a);
    double l = 0;
    for (int64_t i = 0; i < c->n; i++) l += c->y[i] * c->r[i];
    return l;
}

/* the points where f' jumps (or f itself, for softplus' threshold) */
static int kinks(const cn_act *a, double *k)
{
    switch (a->kind) {
    case CN_ACT_RELU: case CN_ACT_LEAKY_RELU: case CN_ACT_ELU: case CN_ACT_SELU: k[0] = 0; return 1;
    case CN_ACT_HARD_SIGMOID: k[0] = -a->beta / a->alpha, k[1] = (1 - a->beta) / a->alpha; return 2;
    case CN_ACT_HARD_SWISH: k[0] = -3, k[1] = 3; return 2;
    case CN_ACT_CLIP: k[0] = a->lo, k[1] = a->hi; return 2;
    case CN_ACT_SOFTPLUS: k[0] = a->threshold / a->beta; return 1;
    default: return 0;
    }
}

/* Tolerances. Piecewise-linear (and hard-swish, piecewise quadratic) functions have exact
 * central differences: only the float rounding of y is left, |y| <= 4 so <= 2.4e-7 per
 * evaluation over 2*eps = 0.02, i.e. <= 2.4e-5 absolute against derivatives >= 0.01 in size:
 * tol 1e-4 (floor 1e-3). Smooth ones add truncation eps^2/6 * |f'''| <= 2e-5 * |f'''| and
 * meet saturation, where f' -> 0 but y keeps |y| ~ 1 of rounding (6e-8 per evaluation ->
 * 6e-6 absolute in the quotient): with a floor of 1e-2 on the denominator that is <= 6e-4
 * relative, so tol 2e-3. A wrong derivative (a missing factor, the wrong branch) is off by
 * O(1). */
static const char *const grad_cases[] = {
    "identity n=9",
    "relu n=64",
    "relu n=1",
    "leaky_relu slope=0.01 n=64",
    "leaky_relu slope=0.3 n=17",
    "leaky_relu slope=-0.5 n=33",
    "elu alpha=1 n=64",
    "elu alpha=0.3 n=21",
    "elu alpha=-0.5 n=21",
    "selu n=64",
    "sigmoid n=64",
    "tanh n=64",
    "softplus n=64",
    "softplus beta=2 threshold=5 n=64",
    "softplus beta=0.5 threshold=1 n=40",
    "hard_sigmoid alpha=0.2 beta=0.5 n=64",
    "hard_sigmoid alpha=0.16666667 beta=0.5 n=64",
    "hard_sigmoid alpha=0.5 beta=0.2 n=31",
    "hard_swish n=64",
    "gelu n=64",
    "gelu tanh=1 n=64",
    "clip lo=-1 hi=2 n=64",
    "clip lo=0 hi=6 n=64",
    "clip lo=0.5 hi=0.5 n=12",
};

static void test_gradcheck(void)
{
    const double eps = 1e-2;
    float x[64], y[64], dx[64];
    double r[64];
    cn_rng rng;
    cn_rng_init(&rng, 7, CN_STREAM_USER);
    for (size_t c = 0; c < sizeof grad_cases / sizeof *grad_cases; c++) {
        int64_t n = 0;
        cn_act a = parse_act(grad_cases[c], &n);
        double k[2];
        int nk = kinks(&a, k);
        /* inputs uniform in [-4, 4], redrawn while within 2.5*eps of a kink */
        for (int64_t i = 0; i < n; i++) {
            int near;
            do {
                x[i] = -4 + 8 * cn_rng_uniform(&rng);
                near = 0;
                for (int j = 0; j < nk; j++) near |= fabs(x[i] - k[j]) < 2.5 * eps;
            } while (near);
            r[i] = 2 * cn_rng_uniform(&rng) - 1;
        }
        act_ctx ctx = {&a, x, y, r, n};
        act_loss(&ctx);
        float g[64];
        for (int64_t i = 0; i < n; i++) g[i] = (float)r[i];
        memset(dx, 0, sizeof dx);
        int uses_y = cn_act_backward_uses(&a) == CN_ACT_USES_Y;
        cn_act_backward(dx, g, uses_y ? NULL : x, uses_y ? y : NULL, n, &a);
        int smooth = a.kind == CN_ACT_ELU || a.kind == CN_ACT_SELU || a.kind == CN_ACT_SIGMOID ||
                     a.kind == CN_ACT_TANH || a.kind == CN_ACT_SOFTPLUS || a.kind == CN_ACT_GELU;
        /* backward accumulates: a second call doubles dx */
        float dx2[64];
        memcpy(dx2, dx, sizeof dx);
        cn_act_backward(dx2, g, uses_y ? NULL : x, uses_y ? y : NULL, n, &a);
        int ok = 1;
        for (int64_t i = 0; i < n; i++) ok &= dx2[i] == 2 * dx[i];
        CHECK_MSG(ok, "%s: backward does not accumulate", grad_cases[c]);
        cn_gc_report rep = cn_gradcheck(act_loss, &ctx, x, dx, n, eps, smooth ? 1e-2 : 1e-3);
        CHECK_GRAD(rep, smooth ? 2e-3 : 1e-4, grad_cases[c]);
    }
}

/* PReLU over a grid of (N, C, S) and slope counts: dx and dslope */
typedef struct {
    float *x, *slope, *y;
    const double *r;
    int64_t n, c, s, ns;
} prelu_ctx;

static double prelu_loss(void *p)
{
    prelu_ctx *q = p;
    cn_prelu_forward(q->y, q->x, q->slope, q->n, q->c, q->s, q->ns);
    double l = 0;
    for (int64_t i = 0; i < q->n * q->c * q->s; i++) l += q->y[i] * q->r[i];
    return l;
}

static void test_prelu_gradcheck(void)
{
    static const char *const cases[] = {
        "n=2 c=3 s=5 slopes=3",
        "n=2 c=3 s=5 slopes=1",
        "n=4 c=1 s=1 slopes=1",
        "n=1 c=6 s=1 slopes=6",
        "n=3 c=2 s=12 slopes=2",
    };
    cn_rng rng;
    cn_rng_init(&rng, 8, CN_STREAM_USER);
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        long long n, c, s, ns;
        sscanf(cases[k], "n=%lld c=%lld s=%lld slopes=%lld", &n, &c, &s, &ns);
        int64_t total = n * c * s;
        float *x = malloc(sizeof(float) * total), *y = malloc(sizeof(float) * total);
        float *dx = calloc(total, sizeof(float)), *g = malloc(sizeof(float) * total);
        double *r = malloc(sizeof(double) * total);
        float slope[6], ds[6] = {0};
        for (int64_t i = 0; i < ns; i++) slope[i] = -0.8f + 0.45f * (float)i; /* negative, small, > 1 */
        for (int64_t i = 0; i < total; i++) {
            /* |x| >= 0.1 > 2*eps keeps every x on its side of the kink at 0 */
            float m = 0.1f + 2.9f * cn_rng_uniform(&rng);
            x[i] = cn_rng_uniform(&rng) < 0.5f ? -m : m;
            r[i] = 2 * cn_rng_uniform(&rng) - 1;
            g[i] = (float)r[i];
        }
        CHECK_OK(cn_prelu_check(ns, c, cases[k]));
        cn_prelu_backward(dx, ds, g, x, slope, n, c, s, ns);
        prelu_ctx ctx = {x, slope, y, r, n, c, s, ns};
        char label[128];
        /* piecewise linear in x and linear in slope: exact differences up to rounding (1e-4) */
        snprintf(label, sizeof label, "prelu dx %s", cases[k]);
        CHECK_GRAD(cn_gradcheck(prelu_loss, &ctx, x, dx, total, 1e-2, 1e-3), 1e-4, label);
        snprintf(label, sizeof label, "prelu dslope %s", cases[k]);
        CHECK_GRAD(cn_gradcheck(prelu_loss, &ctx, slope, ds, ns, 1e-2, 1e-3), 1e-4, label);
        free(x), free(y), free(dx), free(g), free(r);
    }
    CHECK_ERR(cn_prelu_check(3, 16, "p1"), CN_STATUS_SHAPE, "3 slopes for 16 channels");
}

static void test_in_place_and_extremes(void)
{
    /* in place: y = x gives the same as out of place */
    float x[8] = {-50, -3.5f, -0.25f, 0.75f, 2.5f, 40, -1e4f, 1e4f}, y[8], z[8];
    for (int k = 0; k < CN_ACT_KIND_COUNT_; k++) {
        cn_act a = cn_act_make((cn_act_kind)k);
        cn_act_forward(y, x, 8, &a);
        memcpy(z, x, sizeof z);
        cn_act_forward(z, z, 8, &a);
        CHECK_MSG(!memcmp(y, z, sizeof y), "%s in place differs", cn_act_name(a.kind));
        for (int i = 0; i < 8; i++) CHECK_MSG(isfinite(y[i]), "%s(%g) = %g", cn_act_name(a.kind), x[i], y[i]);
    }
    cn_act a = cn_act_make(CN_ACT_SIGMOID);
    cn_act_forward(y, x, 8, &a);
    CHECK(y[6] == 0.0f && y[7] == 1.0f && y[0] > 0);
    a = cn_act_make(CN_ACT_SOFTPLUS);
    cn_act_forward(y, x, 8, &a);
    CHECK(y[7] == 1e4f && y[6] == 0.0f && y[5] == 40.0f);
    CHECK_NEAR(y[2], log1p(exp(-0.25)), 1e-7);
    a = cn_act_make(CN_ACT_GELU);
    cn_act_forward(y, x, 8, &a);
    CHECK(y[0] == 0.0f && y[7] == 1e4f); /* -50 * Phi(-50) underflows to -0 */
    /* documented kink choices */
    float k0[3] = {0, -3, 3}, d[3] = {0}, one[3] = {1, 1, 1};
    a = cn_act_make(CN_ACT_RELU);
    cn_act_forward(y, k0, 1, &a);
    cn_act_backward(d, one, k0, y, 1, &a);
    CHECK(d[0] == 0); /* ReLU'(0) = 0 */
    a = cn_act_make(CN_ACT_HARD_SWISH);
    memset(d, 0, sizeof d);
    cn_act_backward(d, one, k0, NULL, 3, &a);
    CHECK(d[0] == 0.5f && d[1] == 0 && d[2] == 1); /* f'(0) = 1/2, f'(-3) = 0, f'(3) = 1 */
    a = cn_act_make(CN_ACT_LEAKY_RELU);
    memset(d, 0, sizeof d);
    cn_act_forward(y, k0, 1, &a);
    cn_act_backward(d, one, NULL, y, 1, &a);
    CHECK(d[0] == 0.01f); /* leaky'(0) = slope */
}

static void test_validation(void)
{
    cn_act a = cn_act_make(CN_ACT_CLIP);
    a.lo = 2, a.hi = 1;
    CHECK_ERR(cn_act_check(&a, "a3"), CN_STATUS_INVALID_ARG, "clip 'a3': lo=2 > hi=1");
    a = cn_act_make(CN_ACT_SOFTPLUS);
    a.beta = 0;
    CHECK_ERR(cn_act_check(&a, "sp"), CN_STATUS_INVALID_ARG, "beta=0");
    a = cn_act_make(CN_ACT_LEAKY_RELU);
    a.slope = NAN;
    CHECK_ERR(cn_act_check(&a, "l"), CN_STATUS_INVALID_ARG, "slope=nan");
    a.kind = (cn_act_kind)99;
    CHECK_ERR(cn_act_check(&a, "l"), CN_STATUS_INVALID_ARG, "kind 99");
    cn_act_kind k;
    CHECK_ERR(cn_act_parse(&k, "relux"), CN_STATUS_NOT_FOUND, "'relux'");
    for (int i = 0; i < CN_ACT_KIND_COUNT_; i++) {
        CHECK_OK(cn_act_parse(&k, cn_act_name((cn_act_kind)i)));
        CHECK_EQ_INT(k, i);
    }
    CHECK(cn_act_make(CN_ACT_HARD_SIGMOID).alpha == 0.2f && cn_act_make(CN_ACT_ELU).alpha == 1.0f);
}

int main(void)
{
    RUN(test_fixtures);
    RUN(test_prelu_fixtures);
    RUN(test_gradcheck);
    RUN(test_prelu_gradcheck);
    RUN(test_in_place_and_extremes);
    RUN(test_validation);
    return cn_test_finish();
}
