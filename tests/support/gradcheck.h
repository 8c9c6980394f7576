/* gradcheck.h — numerical gradient checks by central differences.
 *
 * loss(ctx) evaluates the scalar loss (accumulated in double) at the current contents of the
 * array under test. For each element i of x[0..n) the helper perturbs x[i] by +-eps (the
 * perturbation actually applied, after rounding to float, is used in the quotient),
 * restores it, and compares the numeric derivative with grad[i]:
 *     rel_err = |analytic - numeric| / max(|analytic|, |numeric|, floor)
 * `floor` keeps tiny gradients from inflating the relative error. The report gives the worst
 * relative error with its index and both values, so a failing check says where it failed.
 * Layers are float32, so the usual recipe is: a loss L = sum_i y_i * r_i with fixed random
 * r (in double), eps around 1e-2 for piecewise-linear ops (exact up to rounding) and inputs
 * kept at least 2*eps away from kinks (ReLU at 0, max-pool ties). */
#ifndef CN_GRADCHECK_H
#define CN_GRADCHECK_H

#include <stdint.h>

typedef struct cn_gc_report {
    double max_rel;   /* worst relative error */
    int64_t worst;    /* its index, -1 if n == 0 */
    double analytic;  /* the two values there */
    double numeric;
    int64_t count;    /* elements checked */
} cn_gc_report;

cn_gc_report cn_gradcheck(double (*loss)(void *ctx), void *ctx, float *x, const float *grad, int64_t n, double eps,
                          double floor);

/* Checks every `stride`-th element (stride >= 1) starting at 0, plus the last one: for large
 * tensors where checking every element would be slow. */
cn_gc_report cn_gradcheck_strided(double (*loss)(void *ctx), void *ctx, float *x, const float *grad, int64_t n,
                                  int64_t stride, double eps, double floor);

/* CHECK that r.max_rel <= tol, printing the report with `label` either way when verbose
 * (CONVNET_TEST_VERBOSE=1) and always on failure. */
#define CHECK_GRAD(r, tol, label) cn_gradcheck_expect((r), (tol), (label), __FILE__, __LINE__)
void cn_gradcheck_expect(cn_gc_report r, double tol, const char *label, const char *file, int line);

#endif
