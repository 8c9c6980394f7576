/* test_schedule.c — learning-rate schedules against PyTorch 1.13's schedulers (StepLR,
 * MultiStepLR, ExponentialLR, CosineAnnealingLR, LinearLR warmup via SequentialLR,
 * ReduceLROnPlateau), plateau state round trips, and configuration errors.
 *
 * Fixtures: tests/fixtures/gen_optim.py; the case lines below are its SCHED_CASES and
 * PLATEAU_CASES, character for character. Float64 values are stored as int64 bit patterns. */
#include <stdlib.h>
#include <string.h>

#include "convnet/optim.h"
#include "fixture.h"
#include "test.h"

static const char *const SCHED_CASES[][2] = {
    {"constant", "kind=constant lr=0.1 n=30"},
    {"step", "kind=step lr=0.1 step_size=7 gamma=0.5 n=30"},
    {"multistep", "kind=multistep lr=0.1 milestones=5,12,12,20 gamma=0.3 n=30"},
    {"exponential", "kind=exponential lr=0.1 gamma=0.9 n=30"},
    {"cosine_cyclic", "kind=cosine lr=0.1 t_max=8 eta_min=0.001 cyclic=1 n=30"},
    {"cosine", "kind=cosine lr=0.1 t_max=20 eta_min=0.001 n=30"},
    {"cosine_warmup", "kind=cosine lr=0.1 t_max=20 eta_min=0.0001 warmup=5 warmup_start=0.1 n=30"},
    {"cosine_warmup_cyclic", "kind=cosine lr=0.05 t_max=6 eta_min=0 cyclic=1 warmup=4 warmup_start=0.01 n=30"},
    {"step_warmup", "kind=step lr=0.1 step_size=4 gamma=0.5 warmup=3 warmup_start=0.25 n=30"},
    {"multistep_warmup", "kind=multistep lr=1 milestones=0,10 gamma=0.1 warmup=2 warmup_start=0.5 n=30"},
};

static const char *const PLATEAU_CASES[][2] = {
    {"max_rel", "mode=max factor=0.1 patience=2 threshold=1e-4 threshold_mode=rel cooldown=0 min_lr=0 eps=1e-8 lr=0.01"},
    {"min_abs_cooldown", "mode=min factor=0.5 patience=1 threshold=0.01 threshold_mode=abs cooldown=2 min_lr=0.02 eps=1e-8 lr=0.1"},
    {"min_rel_eps", "mode=min factor=0.5 patience=0 threshold=0 threshold_mode=rel cooldown=1 min_lr=0 eps=0.01 lr=0.1"},
    {"max_abs", "mode=max factor=0.2 patience=3 threshold=0.05 threshold_mode=abs cooldown=1 min_lr=1e-5 eps=1e-8 lr=0.5"},
};

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
static int opt_is(const char *line, const char *key, const char *value)
{
    const char *v = opt_str(line, key);
    size_t n = strlen(value);
    return v && !strncmp(v, value, n) && (v[n] == ' ' || v[n] == '\0');
}

static double from_bits(int64_t b)
{
    double d;
    memcpy(&d, &b, sizeof d);
    return d;
}

/* parse a schedule line; milestones go into ms[] (which must outlive the config) */
static cn_schedule_config sched_from_line(const char *line, int64_t *ms, int cap)
{
    static const char *const kinds[] = {"constant", "step", "multistep", "exponential", "cosine", "plateau"};
    cn_schedule_kind kind = CN_SCHED_CONSTANT;
    for (int i = 0; i < 6; i++)
        if (opt_is(line, "kind", kinds[i])) kind = (cn_schedule_kind)i;
    cn_schedule_config c = cn_schedule_defaults(kind, opt_num(line, "lr", 0));
    c.gamma = opt_num(line, "gamma", c.gamma);
    c.step_size = (int64_t)opt_num(line, "step_size", (double)c.step_size);
    c.t_max = (int64_t)opt_num(line, "t_max", (double)c.t_max);
    c.eta_min = opt_num(line, "eta_min", 0);
    c.cyclic = (int)opt_num(line, "cyclic", 0);
    c.warmup = (int64_t)opt_num(line, "warmup", 0);
    c.warmup_start_factor = opt_num(line, "warmup_start", c.warmup_start_factor);
    const char *m = opt_str(line, "milestones");
    c.n_milestones = 0;
    c.milestones = ms;
    while (m && c.n_milestones < cap) {
        char *end;
        ms[c.n_milestones++] = strtoll(m, &end, 10);
        m = *end == ',' ? end + 1 : NULL;
    }
    return c;
}

static cn_schedule_config plateau_from_line(const char *line)
{
    cn_schedule_config c = cn_schedule_defaults(CN_SCHED_PLATEAU, opt_num(line, "lr", 0));
    c.mode_max = opt_is(line, "mode", "max");
    c.factor = opt_num(line, "factor", c.factor);
    c.patience = (int64_t)opt_num(line, "patience", (double)c.patience);
    c.threshold = opt_num(line, "threshold", c.threshold);
    c.threshold_abs = opt_is(line, "threshold_mode", "abs");
    c.cooldown = (int64_t)opt_num(line, "cooldown", 0);
    c.min_lr = opt_num(line, "min_lr", 0);
    c.eps = opt_num(line, "eps", c.eps);
    return c;
}

/* The lr at t = 0..n-1 equals PyTorch's. Tolerance: relative 1e-12. PyTorch computes most of
 * these recursively (lr *= gamma, cosine ratios of consecutive cos terms); convnet evaluates
 * the closed forms. Both are double; 30 recursive steps accumulate at most ~30 ulps (7e-15),
 * and PyTorch's cosine ratio can lose a few more digits near its zero crossings, so 1e-12
 * leaves room while still catching any off-by-one step (which changes lr by >= 1e-3
 * relative in every case here). The worst measured difference is printed.
 * Non-cyclic cosine deliberately differs from PyTorch after t_max (holds eta_min, where
 * CosineAnnealingLR rises again): compared up to warmup + t_max, then checked to be eta_min. */
static void test_against_pytorch(void)
{
    double worst = 0;
    for (size_t c = 0; c < sizeof SCHED_CASES / sizeof *SCHED_CASES; c++) {
        const char *name = SCHED_CASES[c][0], *line = SCHED_CASES[c][1];
        int64_t ms[8];
        cn_schedule_config cfg = sched_from_line(line, ms, 8);
        cn_schedule *s = NULL;
        CHECK_OK(cn_schedule_create(&s, &cfg));
        char fx[64];
        snprintf(fx, sizeof fx, "optim/sched_%s", name);
        cn_npy want = cn_fixture_load(fx);
        int n = (int)opt_num(line, "n", 0);
        CHECK_MSG(want.numel == n && want.i64, "%s: fixture has %lld values", name, (long long)want.numel);
        if (s && want.numel == n && want.i64) {
            int changes = 0;
            for (int t = 0; t < n; t++) {
                double got = cn_schedule_lr(s, t), ref = from_bits(want.i64[t]);
                if (t > 0 && ref != from_bits(want.i64[t - 1])) changes++;
                if (cfg.kind == CN_SCHED_COSINE && !cfg.cyclic && t > cfg.warmup + cfg.t_max) {
                    CHECK_MSG(got == cfg.eta_min, "[%s] t=%d: %.17g, expected eta_min %.17g", line, t, got,
                              cfg.eta_min);
                    continue;
                }
                double d = fabs(got - ref) / fmax(fabs(ref), 1e-300);
                if (ref == 0) d = fabs(got);
                if (d > worst) worst = d;
                CHECK_MSG(d <= 1e-12, "[%s] t=%d: lr %.17g, PyTorch %.17g (rel %.3g)", line, t, got, ref, d);
            }
            /* the case exercises the schedule (a constant reference would prove little) */
            CHECK_MSG(cfg.kind == CN_SCHED_CONSTANT || changes >= 2, "[%s] the lr changes only %d times", line,
                      changes);
        }
        cn_npy_free(&want);
        cn_schedule_destroy(s);
    }
    printf("     worst relative difference from PyTorch: %.3g\n", worst);
}

/* A few values by hand, independent of PyTorch. */
static void test_hand_computed(void)
{
    cn_schedule *s;
    cn_schedule_config c = cn_schedule_defaults(CN_SCHED_COSINE, 1.0);
    c.t_max = 4, c.eta_min = 0.5, c.warmup = 2, c.warmup_start_factor = 0, c.unit = CN_SCHED_PER_STEP;
    CHECK_OK(cn_schedule_create(&s, &c));
    CHECK(cn_schedule_lr(s, -5) == 0);       /* t < 0 is t = 0: warmup from factor 0 */
    CHECK(cn_schedule_lr(s, 1) == 0.5);      /* halfway through the warmup */
    CHECK(cn_schedule_lr(s, 2) == 1.0);      /* cosine starts at base_lr */
    CHECK_NEAR(cn_schedule_lr(s, 4), 0.75, 1e-15); /* u = 2 of t_max = 4: (1 + cos(pi/2))/2 */
    CHECK(cn_schedule_lr(s, 6) == 0.5 && cn_schedule_lr(s, 1000) == 0.5);
    CHECK(cn_schedule_observe(s, 1.0) == 0); /* not a plateau schedule: ignored */
    CHECK(cn_schedule_get_config(s)->unit == CN_SCHED_PER_STEP);
    cn_schedule_destroy(s);

    /* multistep copies its milestones */
    int64_t ms[2] = {3, 6};
    c = cn_schedule_defaults(CN_SCHED_MULTISTEP, 8.0);
    c.gamma = 0.5, c.milestones = ms, c.n_milestones = 2;
    CHECK_OK(cn_schedule_create(&s, &c));
    ms[0] = 100;
    CHECK(cn_schedule_lr(s, 2) == 8 && cn_schedule_lr(s, 3) == 4 && cn_schedule_lr(s, 6) == 2);
    CHECK(cn_schedule_get_config(s)->milestones != ms && cn_schedule_get_config(s)->milestones[0] == 3);
    cn_schedule_destroy(s);
    cn_schedule_destroy(NULL);

    /* AlexNet: mode max, factor 0.1, patience 0 — divide by 10 at every epoch without a new best */
    c = cn_schedule_defaults(CN_SCHED_PLATEAU, 0.01);
    c.mode_max = 1, c.patience = 0, c.threshold = 0;
    CHECK_OK(cn_schedule_create(&s, &c));
    CHECK(cn_schedule_observe(s, 0.5) == 0 && cn_schedule_lr(s, 99) == 0.01);
    CHECK(cn_schedule_observe(s, 0.6) == 0 && cn_schedule_lr(s, 0) == 0.01);
    CHECK(cn_schedule_observe(s, 0.6) == 1); /* equal is not better */
    CHECK_NEAR(cn_schedule_lr(s, 0), 0.001, 1e-18);
    CHECK(cn_schedule_observe(s, 0.61) == 0 && cn_schedule_observe(s, NAN) == 1);
    CHECK_NEAR(cn_schedule_lr(s, 0), 0.0001, 1e-18);
    cn_schedule_destroy(s);
}

/* ReduceLROnPlateau on fixed metric sequences: after every observation the lr, best,
 * num_bad_epochs and cooldown_counter equal PyTorch's exactly (the same double operations in
 * the same order: lr*factor, max with min_lr, best*(1 -/+ threshold)). One sequence holds a
 * NaN (not an improvement). */
static void test_plateau_against_pytorch(void)
{
    for (size_t c = 0; c < sizeof PLATEAU_CASES / sizeof *PLATEAU_CASES; c++) {
        const char *name = PLATEAU_CASES[c][0], *line = PLATEAU_CASES[c][1];
        cn_schedule_config cfg = plateau_from_line(line);
        cn_schedule *s = NULL;
        CHECK_OK(cn_schedule_create(&s, &cfg));
        char fx[64];
        snprintf(fx, sizeof fx, "optim/plateau_%s_metric", name);
        cn_npy metric = cn_fixture_load(fx);
        snprintf(fx, sizeof fx, "optim/plateau_%s", name);
        cn_npy want = cn_fixture_load(fx);
        int n = (int)metric.numel;
        CHECK_MSG(n == 30 && want.numel == 4 * n && metric.i64 && want.i64, "%s: fixtures of the wrong size", name);
        if (s && n == 30 && want.numel == 4 * n && metric.i64 && want.i64) {
            int reductions = 0;
            double prev = cfg.base_lr;
            for (int t = 0; t < n; t++) {
                int r = cn_schedule_observe(s, from_bits(metric.i64[t]));
                cn_schedule_state st;
                cn_schedule_get_state(s, &st);
                const int64_t *w = want.i64 + 4 * t;
                double lr = from_bits(w[0]), best = from_bits(w[1]);
                CHECK_MSG(st.lr == lr && cn_schedule_lr(s, t) == lr && st.best == best && st.num_bad == w[2] &&
                              st.cooldown_counter == w[3] && st.last_epoch == t + 1,
                          "[%s] observation %d (metric %.9g): lr %.17g best %.9g bad %lld cooldown %lld; PyTorch "
                          "lr %.17g best %.9g bad %lld cooldown %lld",
                          line, t, from_bits(metric.i64[t]), st.lr, st.best, (long long)st.num_bad,
                          (long long)st.cooldown_counter, lr, best, (long long)w[2], (long long)w[3]);
                CHECK_MSG(r == (lr != prev), "[%s] observation %d: observe returned %d", line, t, r);
                reductions += r;
                prev = lr;
            }
            CHECK_MSG(reductions >= 2, "[%s] only %d reductions: the case proves little", line, reductions);
        }
        cn_npy_free(&metric);
        cn_npy_free(&want);
        cn_schedule_destroy(s);
    }
}

/* Save the plateau state half way, restore it into a new schedule: the rest is identical. */
static void test_plateau_state_round_trip(void)
{
    const double metrics[12] = {1.0, 0.9, 0.95, 0.96, 0.97, 0.89, 0.9, 0.91, 0.92, 0.93, 0.94, 0.95};
    cn_schedule_config cfg = plateau_from_line(PLATEAU_CASES[1][1]);
    cn_schedule *a, *b, *c;
    CHECK_OK(cn_schedule_create(&a, &cfg));
    CHECK_OK(cn_schedule_create(&b, &cfg));
    CHECK_OK(cn_schedule_create(&c, &cfg));
    for (int t = 0; t < 6; t++) cn_schedule_observe(a, metrics[t]);
    cn_schedule_state st;
    cn_schedule_get_state(a, &st);
    CHECK(st.lr < cfg.base_lr && st.last_epoch == 6); /* something to restore */
    for (int t = 0; t < 6; t++) cn_schedule_observe(b, metrics[t]);
    CHECK_OK(cn_schedule_set_state(c, &st));
    for (int t = 6; t < 12; t++) {
        int rb = cn_schedule_observe(b, metrics[t]), rc = cn_schedule_observe(c, metrics[t]);
        CHECK(rb == rc && cn_schedule_lr(b, t) == cn_schedule_lr(c, t));
    }
    cn_schedule_state sb, sc;
    cn_schedule_get_state(b, &sb);
    cn_schedule_get_state(c, &sc);
    CHECK(sb.lr == sc.lr && sb.best == sc.best && sb.num_bad == sc.num_bad &&
          sb.cooldown_counter == sc.cooldown_counter && sb.last_epoch == sc.last_epoch);
    st.num_bad = -1;
    CHECK_ERR(cn_schedule_set_state(c, &st), CN_STATUS_INVALID_ARG, "num_bad=-1");
    st.num_bad = 0, st.lr = INFINITY;
    CHECK_ERR(cn_schedule_set_state(c, &st), CN_STATUS_INVALID_ARG, "lr=inf");
    cn_schedule_destroy(a), cn_schedule_destroy(b), cn_schedule_destroy(c);
}

/* Bad configurations, one per line: the message names the option and its value. */
static const char *const BAD_SCHEDULES[][2] = {
    {"kind=step lr=-0.1", "base_lr=-0.1 must be finite and >= 0"},
    {"kind=step lr=0.1 step_size=0", "schedule step: step_size=0 must be >= 1"},
    {"kind=step lr=0.1 step_size=3 gamma=0", "gamma=0 must be finite and > 0"},
    {"kind=exponential lr=0.1 gamma=-1", "schedule exponential: gamma=-1"},
    {"kind=multistep lr=0.1", "milestones is empty (n_milestones=0)"},
    {"kind=multistep lr=0.1 milestones=5,3", "milestones[1]=3 follows milestones[0]=5"},
    {"kind=multistep lr=0.1 milestones=-2", "milestones[0]=-2 is negative"},
    {"kind=cosine lr=0.1 t_max=0", "t_max=0 must be >= 1"},
    {"kind=cosine lr=0.1 t_max=10 eta_min=-1", "eta_min=-1"},
    {"kind=cosine lr=0.1 t_max=10 warmup=-1", "warmup=-1 must be >= 0"},
    {"kind=cosine lr=0.1 t_max=10 warmup=5 warmup_start=1.5", "warmup_start_factor=1.5 is outside [0, 1]"},
    {"kind=plateau lr=0.1 warmup=5", "warmup=5 is not supported"},
};

static void test_config_errors(void)
{
    for (size_t i = 0; i < sizeof BAD_SCHEDULES / sizeof *BAD_SCHEDULES; i++) {
        int64_t ms[8];
        cn_schedule_config cfg = sched_from_line(BAD_SCHEDULES[i][0], ms, 8);
        cn_schedule *s = (cn_schedule *)1;
        cn_status st = cn_schedule_create(&s, &cfg);
        CHECK_MSG(st == CN_STATUS_INVALID_ARG && s == NULL && strstr(cn_last_error(), BAD_SCHEDULES[i][1]),
                  "[%s]: status '%s', message \"%s\", expected \"%s\"", BAD_SCHEDULES[i][0], cn_status_name(st),
                  cn_last_error(), BAD_SCHEDULES[i][1]);
    }
    /* plateau options */
    cn_schedule_config c = cn_schedule_defaults(CN_SCHED_PLATEAU, 0.1);
    cn_schedule *s;
    c.factor = 1;
    CHECK_ERR(cn_schedule_create(&s, &c), CN_STATUS_INVALID_ARG, "schedule plateau: factor=1 must be in [0, 1)");
    c.factor = 0.1, c.patience = -1;
    CHECK_ERR(cn_schedule_create(&s, &c), CN_STATUS_INVALID_ARG, "patience=-1");
    c.patience = 1, c.cooldown = -2;
    CHECK_ERR(cn_schedule_create(&s, &c), CN_STATUS_INVALID_ARG, "cooldown=-2");
    c.cooldown = 0, c.threshold = -1e-4;
    CHECK_ERR(cn_schedule_create(&s, &c), CN_STATUS_INVALID_ARG, "threshold=-0.0001");
    c.threshold = 0, c.min_lr = NAN;
    CHECK_ERR(cn_schedule_create(&s, &c), CN_STATUS_INVALID_ARG, "min_lr=nan");
    c.min_lr = 0, c.unit = (cn_schedule_unit)5;
    CHECK_ERR(cn_schedule_create(&s, &c), CN_STATUS_INVALID_ARG, "unit=5");
    c.unit = CN_SCHED_PER_EPOCH, c.kind = (cn_schedule_kind)42;
    CHECK_ERR(cn_schedule_create(&s, &c), CN_STATUS_INVALID_ARG, "kind=42");
    cn_schedule_kind k;
    CHECK_ERR(cn_schedule_kind_parse(&k, "onecycle"), CN_STATUS_INVALID_ARG, "'onecycle'");
    CHECK_OK(cn_schedule_kind_parse(&k, "plateau"));
    CHECK(k == CN_SCHED_PLATEAU && !strcmp(cn_schedule_kind_name(CN_SCHED_COSINE), "cosine"));
}

int main(void)
{
    RUN(test_against_pytorch);
    RUN(test_hand_computed);
    RUN(test_plateau_against_pytorch);
    RUN(test_plateau_state_round_trip);
    RUN(test_config_errors);
    return cn_test_finish();
}
