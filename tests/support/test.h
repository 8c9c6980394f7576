/* test.h — the tiny assertion helper every test executable uses.
 *
 *   static void test_something(void) { CHECK(1 + 1 == 2); CHECK_NEAR(x, 0.5, 1e-6); }
 *   int main(void) { RUN(test_something); return cn_test_finish(); }
 *
 * Each failed check prints file:line and the values; cn_test_finish prints a summary line
 * and returns non-zero if anything failed, so ctest sees the failure. */
#ifndef CN_TEST_H
#define CN_TEST_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>

#include "convnet/convnet.h"

extern int cn_test_checks, cn_test_failures;
extern const char *cn_test_current;

void cn_test_fail(const char *file, int line, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
void cn_test_run(const char *name, void (*fn)(void));
int cn_test_finish(void);

#define RUN(fn) cn_test_run(#fn, fn)

#define CHECK(cond)                                                                                                    \
    do {                                                                                                               \
        cn_test_checks++;                                                                                              \
        if (!(cond)) cn_test_fail(__FILE__, __LINE__, "CHECK(%s)", #cond);                                             \
    } while (0)

#define CHECK_MSG(cond, ...)                                                                                           \
    do {                                                                                                               \
        cn_test_checks++;                                                                                              \
        if (!(cond)) cn_test_fail(__FILE__, __LINE__, __VA_ARGS__);                                                    \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                                                          \
    do {                                                                                                               \
        double a_ = (double)(a), b_ = (double)(b), t_ = (double)(tol);                                                 \
        cn_test_checks++;                                                                                              \
        if (!(fabs(a_ - b_) <= t_))                                                                                    \
            cn_test_fail(__FILE__, __LINE__, "CHECK_NEAR(%s, %s): %.9g vs %.9g, diff %.3g > %.3g", #a, #b, a_, b_,     \
                         fabs(a_ - b_), t_);                                                                           \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                                                             \
    do {                                                                                                               \
        long long a_ = (long long)(a), b_ = (long long)(b);                                                            \
        cn_test_checks++;                                                                                              \
        if (a_ != b_) cn_test_fail(__FILE__, __LINE__, "CHECK_EQ_INT(%s, %s): %lld != %lld", #a, #b, a_, b_);          \
    } while (0)

/* the call must succeed; on failure prints the status and cn_last_error() */
#define CHECK_OK(expr)                                                                                                 \
    do {                                                                                                               \
        cn_status s_ = (expr);                                                                                         \
        cn_test_checks++;                                                                                              \
        if (s_ != CN_OK)                                                                                               \
            cn_test_fail(__FILE__, __LINE__, "%s -> %s: %s", #expr, cn_status_name(s_), cn_last_error());             \
    } while (0)

/* the call must fail with `status` and its message must contain `substr` */
#define CHECK_ERR(expr, status, substr) cn_test_check_err((expr), (status), (substr), #expr, __FILE__, __LINE__)
void cn_test_check_err(cn_status got, cn_status want, const char *substr, const char *expr, const char *file, int line);

/* Compare arrays: |a-b| <= atol + rtol*|b| everywhere; on failure prints the worst index,
 * both values and `label`. Returns 1 if all close. */
int cn_test_allclose(const float *a, const float *b, int64_t n, double atol, double rtol, const char *label,
                     const char *file, int line);
#define CHECK_ALLCLOSE(a, b, n, atol, rtol, label) cn_test_allclose((a), (b), (n), (atol), (rtol), (label), __FILE__, __LINE__)

#endif
