/* test_optim.c — SGD / Adam / AdamW against PyTorch 1.13 step by step, hand-computed updates,
 * gradient clipping, checkpoint state round trips, thread-count invariance, no allocation in a
 * step, clean allocation failures, and configuration errors.
 *
 * Fixtures: tests/fixtures/gen_optim.py (its docstring describes them). The case lines below
 * are the generator's, character for character. */
#include <stdlib.h>
#include <string.h>

#include "convnet/optim.h"
#include "fixture.h"
#include "test.h"

/* ---- case lines (the same as OPTIM_CASES in gen_optim.py) ---------------------------- */
static const char *const OPTIM_CASES[][2] = {
    {"sgd_plain", "kind=sgd lr=0.1 gamma=0.9"},
    {"sgd_momentum", "kind=sgd lr=0.1 gamma=0.9 momentum=0.9"},
    {"sgd_nesterov", "kind=sgd lr=0.05 gamma=0.9 momentum=0.9 nesterov=1"},
    {"sgd_dampening", "kind=sgd lr=0.1 gamma=0.9 momentum=0.8 dampening=0.3"},
    {"sgd_wd", "kind=sgd lr=0.1 gamma=0.9 momentum=0.9 wd=0.05"},
    {"sgd_wd_groups", "kind=sgd lr=0.1 gamma=0.9 momentum=0.9 wd=0.05 decay=1,0,1 lrs=1,2,0.5"},
    {"sgd_nesterov_wd", "kind=sgd lr=0.05 gamma=0.95 momentum=0.7 nesterov=1 wd=0.02"},
    {"sgdw", "kind=sgd lr=0.1 gamma=0.9 momentum=0.9 wd=0.05 decoupled=1"},
    {"sgdw_plain_groups", "kind=sgd lr=0.2 gamma=0.9 wd=0.1 decoupled=1 decay=0,1,1 lrs=1,1,2"},
    {"adam", "kind=adam lr=0.01 gamma=0.9"},
    {"adam_betas_eps", "kind=adam lr=0.02 gamma=1 beta1=0.8 beta2=0.95 eps=1e-6"},
    {"adam_wd", "kind=adam lr=0.01 gamma=0.9 wd=0.1"},
    {"adamw", "kind=adamw lr=0.01 gamma=0.9 wd=0.1"},
    {"adamw_groups", "kind=adamw lr=0.01 gamma=0.9 wd=0.1 decay=1,0,1 lrs=1,2,0.5"},
    {"adam_amsgrad", "kind=adam lr=0.01 gamma=0.9 amsgrad=1"},
    {"adamw_amsgrad", "kind=adamw lr=0.01 gamma=0.9 wd=0.1 amsgrad=1 eps=1e-6"},
};
enum { N_CASES = sizeof OPTIM_CASES / sizeof OPTIM_CASES[0], STEPS = 8, NP = 3, TOTAL = 33 };
static const int64_t SIZES[NP] = {12, 3, 18}; /* (4,3), (3,), (2,1,3,3) */

/* value of `key=` in a case line, or NULL */
static const char *opt_str(const char *line, const char *key)
{
    size_t kl = strlen(key);
    for (const char *p = line; (p = strstr(p, key)) != NULL; p++)
        if ((p == line || p[-1] == ' ') && p[kl] == '=') return p + kl + 1;
    return NULL;
}
static double opt_num(const char *line, const char *key, double def)
{
    const char *v = opt_str(line, key);
    return v ? strtod(v, NULL) : def;
}
/* "a,b,c" → three doubles (default all `def`) */
static void opt_list3(const char *line, const char *key, double def, double out[NP])
{
    const char *v = opt_str(line, key);
    for (int i = 0; i < NP; i++) {
        if (!v) {
            out[i] = def;
            continue;
        }
        char *end;
        out[i] = strtod(v, &end);
        v = *end == ',' ? end + 1 : NULL;
    }
}

static cn_optim_config config_from_line(const char *line)
{
    cn_optim_kind kind = CN_OPTIM_SGD;
    char name[16] = {0};
    const char *k = opt_str(line, "kind");
    for (int i = 0; i < 15 && k[i] && k[i] != ' '; i++) name[i] = k[i];
    CHECK_OK(cn_optim_kind_parse(&kind, name));
    cn_optim_config c = cn_optim_defaults(kind);
    c.weight_decay = opt_num(line, "wd", 0); /* the generator passes wd explicitly, also for AdamW */
    c.decoupled_wd = (int)opt_num(line, "decoupled", 0);
    c.momentum = opt_num(line, "momentum", 0);
    c.dampening = opt_num(line, "dampening", 0);
    c.nesterov = (int)opt_num(line, "nesterov", 0);
    c.beta1 = opt_num(line, "beta1", 0.9);
    c.beta2 = opt_num(line, "beta2", 0.999);
    c.eps = opt_num(line, "eps", 1e-8);
    c.amsgrad = (int)opt_num(line, "amsgrad", 0);
    return c;
}

static void split(float *flat, float *ptrs[NP])
{
    int64_t off = 0;
    for (int p = 0; p < NP; p++) ptrs[p] = flat + off, off += SIZES[p];
}

/* Every case, every step, against PyTorch.
 * Tolerance: atol 2e-7, rtol 1e-6 on values of magnitude ~0.1..3. Both sides compute in
 * float32 with the same operations in the same order; the only difference is that PyTorch's
 * AVX2 kernels fuse a*b+c into one rounding (vec::fmadd) and convnet's ISO C does not, which
 * changes a result by about one ulp (6e-8 relative) per operation; over 8 steps of 3..6
 * operations each that stays below ~1e-6 relative. Measured worst (printed below): 4.8e-7
 * absolute, two ulps of a value near 3; relative differences reach 7e-6 only on values near
 * 0.01 left by cancellation (w ~ 1 minus an update ~ 1), which is the one-ulp-at-1 error that
 * atol 2e-7 covers. A wrong formula (eps inside the sqrt, a missing bias correction or
 * dampening, an off-by-one step count) moves values by 1e-4 or more. */
static void test_against_pytorch(void)
{
    cn_npy init = cn_fixture_load("optim/init"), grads = cn_fixture_load("optim/grads");
    CHECK(init.numel == TOTAL && grads.numel == STEPS * TOTAL);
    if (init.numel != TOTAL || grads.numel != STEPS * TOTAL) goto done;
    double worst_abs = 0, worst_rel = 0;
    for (int c = 0; c < N_CASES; c++) {
        const char *name = OPTIM_CASES[c][0], *line = OPTIM_CASES[c][1];
        char fx[64];
        snprintf(fx, sizeof fx, "optim/%s", name);
        cn_npy want = cn_fixture_load(fx);
        CHECK_MSG(want.numel == STEPS * TOTAL, "%s: fixture has %lld values", name, (long long)want.numel);
        if (want.numel != STEPS * TOTAL) {
            cn_npy_free(&want);
            continue;
        }
        cn_optim_config cfg = config_from_line(line);
        double decay[NP], lrs[NP];
        opt_list3(line, "decay", 1, decay);
        opt_list3(line, "lrs", 1, lrs);
        cn_optim *o = NULL;
        CHECK_OK(cn_optim_create(&o, &cfg, NP, SIZES, decay, lrs));
        if (!o) {
            cn_npy_free(&want);
            continue;
        }
        float w[TOTAL], *wp[NP], *gp[NP];
        memcpy(w, init.f32, sizeof w);
        split(w, wp);
        double lr = opt_num(line, "lr", 0), gamma = opt_num(line, "gamma", 1);
        for (int t = 0; t < STEPS; t++) {
            split(grads.f32 + t * TOTAL, gp);
            CHECK_OK(cn_optim_step(o, wp, (const float *const *)gp, lr * pow(gamma, t)));
            char label[256];
            snprintf(label, sizeof label, "%s after step %d  [%s]", name, t + 1, line);
            const float *ref = want.f32 + t * TOTAL;
            CHECK_ALLCLOSE(w, ref, TOTAL, 2e-7, 1e-6, label);
            for (int i = 0; i < TOTAL; i++) {
                double d = fabs((double)w[i] - ref[i]);
                if (d > worst_abs) worst_abs = d;
                if (d / fabs(ref[i]) > worst_rel) worst_rel = d / fabs(ref[i]);
            }
        }
        CHECK_EQ_INT(cn_optim_steps(o), STEPS);
        cn_optim_destroy(o);
        cn_npy_free(&want);
    }
    printf("     worst difference from PyTorch over %d cases x %d steps: %.3g absolute, %.3g relative\n", N_CASES,
           STEPS, worst_abs, worst_rel);
done:
    cn_npy_free(&init);
    cn_npy_free(&grads);
}

/* Updates small enough to do by hand (values chosen to be exact in float where it matters). */
static void test_hand_computed(void)
{
    cn_optim *o;
    /* SGD, momentum 0.5, dampening 0.5, lr 0.5: step 1 b = g = 2 → w = 1 - 0.5*2 = 0;
     * step 2 with g = 4: b = 0.5*2 + 0.5*4 = 3 → w = 0 - 0.5*3 = -1.5 (all exact in binary) */
    cn_optim_config c = cn_optim_defaults(CN_OPTIM_SGD);
    c.momentum = 0.5, c.dampening = 0.5;
    CHECK_OK(cn_optim_create(&o, &c, 1, (int64_t[]){1}, NULL, NULL));
    float w = 1, g = 2, *wp = &w;
    const float *gp = &g;
    CHECK_OK(cn_optim_step(o, &wp, &gp, 0.5));
    CHECK(w == 0.0f);
    g = 4;
    CHECK_OK(cn_optim_step(o, &wp, &gp, 0.5));
    CHECK(w == -1.5f);
    cn_optim_state_info si;
    CHECK_EQ_INT(cn_optim_state_count(o), 1);
    CHECK_OK(cn_optim_state(o, 0, &si));
    CHECK(!strcmp(si.name, "momentum_buffer") && si.param == 0 && si.n == 1 && si.data[0] == 3.0f);
    cn_optim_destroy(o);

    /* Nesterov, momentum 0.5, lr 1, coupled wd 0.25: w = 2, g = 1 → d = 1 + 0.25*2 = 1.5,
     * b = 1.5, d = 1.5 + 0.5*1.5 = 2.25, w = 2 - 2.25 = -0.25 */
    c = cn_optim_defaults(CN_OPTIM_SGD);
    c.momentum = 0.5, c.nesterov = 1, c.weight_decay = 0.25;
    CHECK_OK(cn_optim_create(&o, &c, 1, (int64_t[]){1}, NULL, NULL));
    w = 2, g = 1;
    CHECK_OK(cn_optim_step(o, &wp, &gp, 1.0));
    CHECK(w == -0.25f);
    cn_optim_destroy(o);

    /* SGDW: w = 2, g = 1, lr 0.5, wd 0.5: w = 2*(1 - 0.25) - 0.5*1 = 1 (decay not in the gradient) */
    c = cn_optim_defaults(CN_OPTIM_SGD);
    c.weight_decay = 0.5, c.decoupled_wd = 1;
    CHECK_OK(cn_optim_create(&o, &c, 1, (int64_t[]){1}, NULL, NULL));
    w = 2, g = 1;
    CHECK_OK(cn_optim_step(o, &wp, &gp, 0.5));
    CHECK(w == 1.0f);
    CHECK_EQ_INT(cn_optim_state_count(o), 0); /* no momentum, no state */
    cn_optim_destroy(o);

    /* Adam's first step: m = (1-b1) g, v = (1-b2) g^2, and after bias correction
     * w1 = w0 - lr * g / (|g| + eps): a step of lr against the gradient's sign. With eps = 0.5
     * and g = 0.5 the step is lr/2, which would be wrong if eps were inside the sqrt or
     * before the bias correction. */
    c = cn_optim_defaults(CN_OPTIM_ADAM);
    c.eps = 0.5;
    float w4[4] = {1, 1, 1, 1}, g4[4] = {0.5f, -0.5f, 100, -1e-3f}, *w4p = w4;
    const float *g4p = g4;
    CHECK_OK(cn_optim_create(&o, &c, 1, (int64_t[]){4}, NULL, NULL));
    CHECK_OK(cn_optim_step(o, &w4p, &g4p, 0.1));
    CHECK_NEAR(w4[0], 1 - 0.1 * 0.5 / (0.5 + 0.5), 1e-6);
    CHECK_NEAR(w4[1], 1 + 0.1 * 0.5 / (0.5 + 0.5), 1e-6);
    CHECK_NEAR(w4[2], 1 - 0.1 * 100 / (100 + 0.5), 1e-6);
    CHECK_NEAR(w4[3], 1 + 0.1 * 1e-3 / (1e-3 + 0.5), 1e-7);
    CHECK_EQ_INT(cn_optim_state_count(o), 2);
    CHECK_OK(cn_optim_state(o, 1, &si));
    CHECK(!strcmp(si.name, "exp_avg_sq") && si.n == 4);
    CHECK_NEAR(si.data[2], 0.001 * 100 * 100, 1e-5); /* (1 - beta2) g^2 */
    cn_optim_destroy(o);

    /* AdamW's decay uses the step's lr times decay_scale: lr 0.1, wd 0.5, zero gradient
     * (m = v = 0, so the Adam part is exactly 0): w = 1 * (1 - 0.05); decay_scale 0 → unchanged */
    c = cn_optim_defaults(CN_OPTIM_ADAMW);
    c.weight_decay = 0.5;
    float wz[2] = {1, 1}, gz[2] = {0, 0}, *wzp[2] = {wz, wz + 1};
    const float *gzp[2] = {gz, gz + 1};
    CHECK_OK(cn_optim_create(&o, &c, 2, (int64_t[]){1, 1}, (double[]){1, 0}, NULL));
    CHECK_OK(cn_optim_step(o, wzp, gzp, 0.1));
    CHECK(wz[0] == (float)(1 - 0.1 * 0.5) && wz[1] == 1.0f);
    cn_optim_destroy(o);
}

/* Global L2 norm clipping, by hand: tensors {3, 4} and {12} have norm 13. */
static void test_clip_norm(void)
{
    float a[2] = {3, 4}, b[1] = {12}, *g[2] = {a, b};
    int64_t sz[2] = {2, 1};
    double norm = 0;
    /* over the limit: every value scaled by 6.5 / (13 + 1e-6) (PyTorch's coef) */
    CHECK_OK(cn_clip_grad_norm(g, sz, 2, 6.5, &norm));
    CHECK(norm == 13.0);
    double coef = 6.5 / (13 + 1e-6);
    CHECK(a[0] == (float)3 * (float)coef && a[1] == (float)4 * (float)coef && b[0] == (float)12 * (float)coef);
    CHECK_NEAR(sqrt((double)a[0] * a[0] + (double)a[1] * a[1] + (double)b[0] * b[0]), 6.5, 1e-5);
    /* a mild clip (coef 0.8) */
    a[0] = 3, a[1] = 4, b[0] = 12;
    CHECK_OK(cn_clip_grad_norm(g, sz, 2, 10.4, &norm));
    CHECK(norm == 13.0);
    CHECK_NEAR(a[0], 2.4, 1e-6);
    CHECK_NEAR(a[1], 3.2, 1e-6);
    CHECK_NEAR(b[0], 9.6, 1e-6);
    /* under the limit: untouched, bit for bit; also just under it, where PyTorch's coef
     * (13 + 1e-5) / (13 + 1e-6) is still >= 1 */
    float a2[2] = {3, 4}, b2[1] = {12}, *g2[2] = {a2, b2};
    CHECK_OK(cn_clip_grad_norm(g2, sz, 2, 100, &norm));
    CHECK(norm == 13.0 && a2[0] == 3 && a2[1] == 4 && b2[0] == 12);
    CHECK_OK(cn_clip_grad_norm(g2, sz, 2, 13 + 1e-5, &norm));
    CHECK(a2[0] == 3 && a2[1] == 4 && b2[0] == 12);
    /* exactly at the limit PyTorch's coef 13 / (13 + 1e-6) is just below 1, so it scales (by
     * 1 - 8e-8: a one-ulp change at most); so does convnet */
    CHECK_OK(cn_clip_grad_norm(g2, sz, 2, 13, &norm));
    CHECK(a2[0] <= 3 && a2[0] >= nextafterf(3, 0) && b2[0] <= 12 && b2[0] >= nextafterf(12, 0));
    /* a NaN: the norm says so and the gradients are left alone */
    float c[2] = {1, NAN}, *g3[1] = {c};
    CHECK_OK(cn_clip_grad_norm(g3, (int64_t[]){2}, 1, 1.0, &norm));
    CHECK(isnan(norm) && c[0] == 1);
    /* an empty list has norm 0 */
    CHECK_OK(cn_clip_grad_norm(NULL, NULL, 0, 1.0, &norm));
    CHECK(norm == 0);
    CHECK_ERR(cn_clip_grad_norm(g, sz, 2, 0, &norm), CN_STATUS_INVALID_ARG, "max_norm=0");
    CHECK_ERR(cn_clip_grad_norm(g, sz, 2, NAN, &norm), CN_STATUS_INVALID_ARG, "max_norm=nan");
    CHECK_ERR(cn_clip_grad_norm(g, (int64_t[]){2, -1}, 2, 1, &norm), CN_STATUS_INVALID_ARG, "sizes[1]=-1");

    /* and PyTorch's clip_grad_norm_ on 33 random values over three tensors (max_norm 1):
     * the norm agrees to float32 rounding (PyTorch sums in float, convnet in double: rel 1e-6),
     * the clipped values to a couple of ulps of the coefficient (rel 1e-6) */
    cn_npy in = cn_fixture_load("optim/clip_in"), out = cn_fixture_load("optim/clip_out"),
           nrm = cn_fixture_load("optim/clip_norm");
    if (in.numel == TOTAL && out.numel == TOTAL && nrm.numel == 1) {
        float *gp[NP];
        split(in.f32, gp);
        CHECK_OK(cn_clip_grad_norm(gp, SIZES, NP, 1.0, &norm));
        CHECK_NEAR(norm, nrm.f32[0], 1e-6 * nrm.f32[0]);
        CHECK(norm > 1.5); /* the fixture really clips */
        CHECK_ALLCLOSE(in.f32, out.f32, TOTAL, 0, 1e-6, "clip_grad_norm_ vs PyTorch");
    } else {
        CHECK_MSG(0, "clip fixtures missing or of the wrong size");
    }
    cn_npy_free(&in), cn_npy_free(&out), cn_npy_free(&nrm);
}

static void test_clip_value(void)
{
    float a[5] = {-3, -0.5f, 0.25f, 2, NAN}, b[1] = {1}, *g[2] = {a, b};
    CHECK_OK(cn_clip_grad_value(g, (int64_t[]){5, 1}, 2, 1.0));
    CHECK(a[0] == -1 && a[1] == -0.5f && a[2] == 0.25f && a[3] == 1 && isnan(a[4]) && b[0] == 1);
    CHECK_OK(cn_clip_grad_value(g, (int64_t[]){5, 1}, 2, 0.0));
    CHECK(a[0] == 0 && a[1] == 0 && a[3] == 0 && b[0] == 0);
    CHECK_ERR(cn_clip_grad_value(g, (int64_t[]){5, 1}, 2, -1), CN_STATUS_INVALID_ARG, "clip=-1");
}

/* deterministic pseudo-random values in (-1, 1) (a tiny LCG: tests need no RNG streams) */
static void fill(float *x, int64_t n, uint32_t seed)
{
    for (int64_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        x[i] = (float)((int32_t)seed) / 2147483648.0f;
    }
}

static const char *const ROUND_TRIP_CASES[] = {
    "kind=sgd momentum=0.9 wd=0.01",
    "kind=sgd momentum=0.9 nesterov=1 wd=0.01 decoupled=1",
    "kind=adam wd=0.01",
    "kind=adam amsgrad=1",
    "kind=adamw wd=0.1 amsgrad=1",
};

/* 3 steps, save state, a new optimizer restored from it, 3 more steps == 6 uninterrupted
 * steps, bit for bit; restoring without the step count (Adam's t) must differ. */
static void test_state_round_trip(void)
{
    enum { N = 3 };
    int64_t sz[N] = {7, 1, 40};
    int64_t tot = 48;
    for (size_t c = 0; c < sizeof ROUND_TRIP_CASES / sizeof *ROUND_TRIP_CASES; c++) {
        const char *line = ROUND_TRIP_CASES[c];
        cn_optim_config cfg = config_from_line(line);
        float w_ref[48], w[48], grads[6][48], saved[3 * 48];
        fill(w_ref, tot, 1);
        for (int t = 0; t < 6; t++) fill(grads[t], tot, 100 + t);
        memcpy(w, w_ref, sizeof w);
        float *wr[N] = {w_ref, w_ref + 7, w_ref + 8}, *wp[N] = {w, w + 7, w + 8};
        const float *gp[6][N];
        for (int t = 0; t < 6; t++) gp[t][0] = grads[t], gp[t][1] = grads[t] + 7, gp[t][2] = grads[t] + 8;
        double lr[6] = {0.1, 0.09, 0.08, 0.07, 0.06, 0.05};

        cn_optim *a = NULL, *b = NULL, *bad = NULL;
        CHECK_OK(cn_optim_create(&a, &cfg, N, sz, (double[]){1, 0, 1}, NULL));
        CHECK_OK(cn_optim_create(&b, &cfg, N, sz, (double[]){1, 0, 1}, NULL));
        CHECK_OK(cn_optim_create(&bad, &cfg, N, sz, (double[]){1, 0, 1}, NULL));
        if (!a || !b || !bad) goto next;
        for (int t = 0; t < 6; t++) CHECK_OK(cn_optim_step(a, wr, gp[t], lr[t]));
        /* run b 3 steps, save, then wipe it to prove the restore is what matters */
        for (int t = 0; t < 3; t++) CHECK_OK(cn_optim_step(b, wp, gp[t], lr[t]));
        int ns = cn_optim_state_count(b);
        CHECK_EQ_INT(ns, N * (cfg.kind == CN_OPTIM_SGD ? 1 : (cfg.amsgrad ? 3 : 2)));
        int64_t off = 0;
        for (int i = 0; i < ns; i++) {
            cn_optim_state_info si;
            CHECK_OK(cn_optim_state(b, i, &si));
            CHECK(si.param == i / (ns / N) && si.n == sz[si.param]);
            memcpy(saved + off, si.data, (size_t)si.n * sizeof(float));
            off += si.n;
        }
        uint64_t steps = cn_optim_steps(b);
        CHECK_EQ_INT(steps, 3);
        cn_optim_destroy(b);
        b = NULL;
        float w_bad[48];
        memcpy(w_bad, w, sizeof w);
        float *wb[N] = {w_bad, w_bad + 7, w_bad + 8};
        CHECK_OK(cn_optim_create(&b, &cfg, N, sz, (double[]){1, 0, 1}, NULL));
        if (!b) goto next;
        off = 0;
        for (int i = 0; i < ns; i++) {
            cn_optim_state_info si, sj;
            CHECK_OK(cn_optim_state(b, i, &si));
            CHECK_OK(cn_optim_state(bad, i, &sj));
            memcpy(si.data, saved + off, (size_t)si.n * sizeof(float));
            memcpy(sj.data, saved + off, (size_t)si.n * sizeof(float));
            off += si.n;
        }
        cn_optim_set_steps(b, steps); /* `bad` keeps step count 0 */
        for (int t = 3; t < 6; t++) {
            CHECK_OK(cn_optim_step(b, wp, gp[t], lr[t]));
            CHECK_OK(cn_optim_step(bad, wb, gp[t], lr[t]));
        }
        CHECK_MSG(!memcmp(w, w_ref, sizeof w), "%s: resumed run differs from the uninterrupted one", line);
        CHECK_MSG(memcmp(w_bad, w_ref, sizeof w) != 0, "%s: the step count made no difference", line);
        CHECK_EQ_INT(cn_optim_steps(b), 6);
        /* reset gives a fresh optimizer */
        cn_optim_reset(b);
        CHECK_EQ_INT(cn_optim_steps(b), 0);
        cn_optim_state_info si;
        CHECK_OK(cn_optim_state(b, ns - 1, &si));
        CHECK(si.data[0] == 0 && si.data[si.n - 1] == 0);
        CHECK_ERR(cn_optim_state(b, ns, &si), CN_STATUS_NOT_FOUND, "outside");
    next:
        cn_optim_destroy(a);
        cn_optim_destroy(b);
        cn_optim_destroy(bad);
    }
}

/* A parameter larger than the parallel grain, stepped with 1 and with 4 threads: identical. */
static void test_thread_count_invariance(void)
{
    enum { N = 200003 };
    float *w1 = malloc(N * sizeof(float)), *w4 = malloc(N * sizeof(float)), *g = malloc(N * sizeof(float));
    fill(w1, N, 7);
    memcpy(w4, w1, N * sizeof(float));
    fill(g, N, 8);
    int saved = cn_num_threads();
    const char *lines[] = {"kind=sgd momentum=0.9 wd=0.001", "kind=adamw amsgrad=1"};
    for (int c = 0; c < 2; c++) {
        cn_optim_config cfg = config_from_line(lines[c]);
        cn_optim *o1 = NULL, *o4 = NULL;
        CHECK_OK(cn_optim_create(&o1, &cfg, 1, (int64_t[]){N}, NULL, NULL));
        CHECK_OK(cn_optim_create(&o4, &cfg, 1, (int64_t[]){N}, NULL, NULL));
        if (o1 && o4)
            for (int t = 0; t < 3; t++) {
                const float *gp = g;
                CHECK_OK(cn_set_num_threads(1));
                CHECK_OK(cn_optim_step(o1, &w1, &gp, 0.01));
                CHECK_OK(cn_set_num_threads(4));
                CHECK_OK(cn_optim_step(o4, &w4, &gp, 0.01));
            }
        CHECK_MSG(!memcmp(w1, w4, N * sizeof(float)), "%s: 1 and 4 threads differ", lines[c]);
        cn_optim_destroy(o1);
        cn_optim_destroy(o4);
    }
    CHECK_OK(cn_set_num_threads(saved));
    free(w1), free(w4), free(g);
}

/* ---- allocation: none in a step; each failure in create is clean ---------------------- */
static int alloc_count, fail_at, live;
static void *counting_alloc(size_t size, size_t align, void *user)
{
    (void)user;
    if (++alloc_count == fail_at) return NULL;
    void *p = aligned_alloc(align, (size + align - 1) / align * align);
    if (p) live++;
    return p;
}
static void counting_free(void *p, void *user)
{
    (void)user;
    if (p) live--;
    free(p);
}

static void test_allocation(void)
{
    cn_set_num_threads(1); /* the pool's own start-up must not count */
    cn_allocator al = {counting_alloc, counting_free, NULL};
    cn_optim_config cfg = cn_optim_defaults(CN_OPTIM_ADAM);
    cfg.amsgrad = 1;
    float w[10] = {0}, g[10] = {1, 2, 3}, *wp[2] = {w, w + 4};
    const float *gp[2] = {g, g + 4};
    int64_t sz[2] = {4, 6};
    cn_set_allocator(&al);
    alloc_count = 0, fail_at = -1, live = 0;
    cn_optim *o = NULL;
    CHECK_OK(cn_optim_create(&o, &cfg, 2, sz, NULL, NULL));
    int needed = alloc_count;
    CHECK(needed >= 1 && needed <= 2); /* the object and one state block */
    alloc_count = 0;
    for (int t = 0; t < 5; t++) CHECK_OK(cn_optim_step(o, wp, gp, 0.01));
    CHECK_EQ_INT(alloc_count, 0);
    cn_optim_destroy(o);
    CHECK_EQ_INT(live, 0);
    for (int k = 1; k <= needed; k++) {
        alloc_count = 0, fail_at = k, live = 0;
        o = (cn_optim *)1;
        CHECK_ERR(cn_optim_create(&o, &cfg, 2, sz, NULL, NULL), CN_STATUS_NOMEM, "optimizer");
        CHECK(o == NULL);
        CHECK_EQ_INT(live, 0);
    }
    cn_set_allocator(NULL);
    cn_set_num_threads(0);
}

/* ---- configuration errors: each names the option and the value ----------------------- */
static const char *const BAD_CONFIGS[][2] = {
    /* case line                                   expected message fragment */
    {"kind=sgd momentum=1", "momentum=1 is outside [0, 1)"},
    {"kind=sgd momentum=-0.1", "momentum=-0.1 is outside [0, 1)"},
    {"kind=sgd momentum=nan", "momentum=nan"},
    {"kind=sgd momentum=0.9 dampening=1.5", "dampening=1.5 is outside [0, 1]"},
    {"kind=sgd nesterov=1", "nesterov=1 requires momentum > 0 (momentum=0)"},
    {"kind=sgd nesterov=1 momentum=0.9 dampening=0.1", "nesterov=1 requires dampening=0 (dampening=0.1)"},
    {"kind=sgd wd=-0.01", "weight_decay=-0.01 must be finite and >= 0"},
    {"kind=adam beta1=1", "optimizer adam: beta1=1 is outside [0, 1)"},
    {"kind=adamw beta2=-0.5", "optimizer adamw: beta2=-0.5 is outside [0, 1)"},
    {"kind=adam eps=0", "eps=0 must be finite and > 0"},
    {"kind=adamw eps=-1e-8", "eps=-1e-08 must be finite and > 0"},
    {"kind=adam wd=0.1 decoupled=1", "use kind adamw"},
};

static void test_config_errors(void)
{
    for (size_t i = 0; i < sizeof BAD_CONFIGS / sizeof *BAD_CONFIGS; i++) {
        cn_optim_config cfg = config_from_line(BAD_CONFIGS[i][0]);
        cn_optim *o = (cn_optim *)1;
        cn_status st = cn_optim_create(&o, &cfg, 1, (int64_t[]){3}, NULL, NULL);
        CHECK_MSG(st == CN_STATUS_INVALID_ARG && o == NULL && strstr(cn_last_error(), BAD_CONFIGS[i][1]),
                  "[%s]: status '%s', message \"%s\", expected \"%s\"", BAD_CONFIGS[i][0], cn_status_name(st),
                  cn_last_error(), BAD_CONFIGS[i][1]);
    }
    cn_optim_config cfg = cn_optim_defaults(CN_OPTIM_SGD);
    cn_optim *o = NULL;
    CHECK_ERR(cn_optim_create(&o, &cfg, 2, (int64_t[]){3, -2}, NULL, NULL), CN_STATUS_INVALID_ARG, "sizes[1]=-2");
    CHECK_ERR(cn_optim_create(&o, &cfg, 2, (int64_t[]){3, 2}, (double[]){1, -1}, NULL), CN_STATUS_INVALID_ARG,
              "decay_scale[1]=-1");
    CHECK_ERR(cn_optim_create(&o, &cfg, 1, (int64_t[]){3}, NULL, (double[]){INFINITY}), CN_STATUS_INVALID_ARG,
              "lr_scale[0]=inf");
    cfg.kind = (cn_optim_kind)7;
    CHECK_ERR(cn_optim_create(&o, &cfg, 1, (int64_t[]){3}, NULL, NULL), CN_STATUS_INVALID_ARG, "kind=7");
    cn_optim_kind k;
    CHECK_ERR(cn_optim_kind_parse(&k, "adagrad"), CN_STATUS_INVALID_ARG, "'adagrad'");
    CHECK_OK(cn_optim_kind_parse(&k, "adamw"));
    CHECK(k == CN_OPTIM_ADAMW && !strcmp(cn_optim_kind_name(CN_OPTIM_SGD), "sgd"));
    CHECK(cn_optim_kind_name((cn_optim_kind)-1) == NULL);

    /* a bad lr in a step changes nothing */
    cfg = cn_optim_defaults(CN_OPTIM_SGD);
    cfg.momentum = 0.9;
    CHECK_OK(cn_optim_create(&o, &cfg, 1, (int64_t[]){2}, NULL, NULL));
    float w[2] = {1, 2}, g[2] = {1, 1}, *wp = w;
    const float *gp = g;
    CHECK_ERR(cn_optim_step(o, &wp, &gp, -0.1), CN_STATUS_INVALID_ARG, "lr=-0.1 must be finite and >= 0");
    CHECK_ERR(cn_optim_step(o, &wp, &gp, NAN), CN_STATUS_INVALID_ARG, "lr=nan");
    CHECK(w[0] == 1 && w[1] == 2 && cn_optim_steps(o) == 0);
    float *nullw = NULL;
    CHECK_ERR(cn_optim_step(o, &nullw, &gp, 0.1), CN_STATUS_INVALID_ARG, "parameter 0 has a NULL value");
    /* lr 0 is allowed and, without decay, leaves w alone (the momentum still accumulates) */
    CHECK_OK(cn_optim_step(o, &wp, &gp, 0));
    CHECK(w[0] == 1 && w[1] == 2 && cn_optim_steps(o) == 1);
    CHECK(cn_optim_get_config(o)->momentum == 0.9 && cn_optim_param_count(o) == 1);
    cn_optim_destroy(o);
    cn_optim_destroy(NULL);

    /* zero parameters, and zero-sized ones, are fine */
    CHECK_OK(cn_optim_create(&o, &cfg, 0, NULL, NULL, NULL));
    CHECK_OK(cn_optim_step(o, NULL, NULL, 0.1));
    CHECK_EQ_INT(cn_optim_state_count(o), 0);
    cn_optim_destroy(o);
    cfg = cn_optim_defaults(CN_OPTIM_ADAM);
    CHECK_OK(cn_optim_create(&o, &cfg, 2, (int64_t[]){0, 2}, NULL, NULL));
    float *wp2[2] = {NULL, w};
    const float *gp2[2] = {NULL, g};
    CHECK_OK(cn_optim_step(o, wp2, gp2, 0.1));
    CHECK(w[0] < 1 && w[1] < 2);
    cn_optim_destroy(o);
}

static void test_defaults(void)
{
    cn_optim_config c = cn_optim_defaults(CN_OPTIM_ADAMW);
    CHECK(c.beta1 == 0.9 && c.beta2 == 0.999 && c.eps == 1e-8 && c.weight_decay == 0.01 && !c.amsgrad);
    c = cn_optim_defaults(CN_OPTIM_ADAM);
    CHECK(c.weight_decay == 0);
    c = cn_optim_defaults(CN_OPTIM_SGD);
    CHECK(c.momentum == 0 && c.dampening == 0 && !c.nesterov && c.weight_decay == 0);
    CHECK_OK(cn_optim_config_check(&c));
    cn_param bias = {.name = "c1.bias", .shape = {1, {8}}}, weight = {.name = "c1.weight", .shape = {4, {8, 3, 3, 3}}};
    CHECK(cn_optim_default_decay_scale(&bias) == 0 && cn_optim_default_decay_scale(&weight) == 1);
}

int main(void)
{
    RUN(test_against_pytorch);
    RUN(test_hand_computed);
    RUN(test_clip_norm);
    RUN(test_clip_value);
    RUN(test_state_round_trip);
    RUN(test_thread_count_invariance);
    RUN(test_allocation);
    RUN(test_config_errors);
    RUN(test_defaults);
    return cn_test_finish();
}
