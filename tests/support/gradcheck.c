/* gradcheck.c — central-difference gradient checks (see gradcheck.h). */
#include "gradcheck.h"

#include <math.h>
#include <stdlib.h>

#include "test.h"

static void check_one(cn_gc_report *r, double (*loss)(void *ctx), void *ctx, float *x, const float *grad, int64_t i,
                      double eps, double floor)
{
    float orig = x[i];
    float xp = (float)(orig + eps), xm = (float)(orig - eps);
    x[i] = xp;
    double lp = loss(ctx);
    x[i] = xm;
    double lm = loss(ctx);
    x[i] = orig;
    double numeric = (lp - lm) / ((double)xp - (double)xm);
    double analytic = grad[i];
    double rel = fabs(analytic - numeric) / fmax(fmax(fabs(analytic), fabs(numeric)), floor);
    if (isnan(rel)) rel = INFINITY;
    if (r->worst < 0 || rel > r->max_rel) {
        r->max_rel = rel;
        r->worst = i;
        r->analytic = analytic;
        r->numeric = numeric;
    }
    r->count++;
}

cn_gc_report cn_gradcheck_strided(double (*loss)(void *ctx), void *ctx, float *x, const float *grad, int64_t n,
                                  int64_t stride, double eps, double floor)
{
    cn_gc_report r = {0, -1, 0, 0, 0};
    if (stride < 1) stride = 1;
    int64_t last_visited = -1;
    for (int64_t i = 0; i < n; i += stride) {
        check_one(&r, loss, ctx, x, grad, i, eps, floor);
        last_visited = i;
    }
    if (n > 0 && last_visited != n - 1) check_one(&r, loss, ctx, x, grad, n - 1, eps, floor);
    return r;
}

cn_gc_report cn_gradcheck(double (*loss)(void *ctx), void *ctx, float *x, const float *grad, int64_t n, double eps,
                          double floor)
{
    return cn_gradcheck_strided(loss, ctx, x, grad, n, 1, eps, floor);
}

void cn_gradcheck_expect(cn_gc_report r, double tol, const char *label, const char *file, int line)
{
    static int verbose = -1;
    if (verbose < 0) verbose = getenv("CONVNET_TEST_VERBOSE") && atoi(getenv("CONVNET_TEST_VERBOSE")) > 0;
    cn_test_checks++;
    if (!(r.max_rel <= tol))
        cn_test_fail(file, line, "gradcheck %s: worst relative error %.3g > %.3g at index %lld (analytic %.9g, numeric %.9g, %lld checked)",
                     label, r.max_rel, tol, (long long)r.worst, r.analytic, r.numeric, (long long)r.count);
    else if (verbose)
        printf("     gradcheck %s: worst rel err %.3g at %lld (%lld checked)\n", label, r.max_rel, (long long)r.worst,
               (long long)r.count);
}
