/* test.c — assertion bookkeeping for test.h. */
#include "test.h"

#include <stdarg.h>
#include <string.h>

int cn_test_checks, cn_test_failures;
const char *cn_test_current = "";

void cn_test_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    cn_test_failures++;
    fprintf(stderr, "%s:%d: [%s] FAIL: ", file, line, cn_test_current);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void cn_test_run(const char *name, void (*fn)(void))
{
    int before = cn_test_failures;
    cn_test_current = name;
    fn();
    printf("%-4s %s\n", cn_test_failures == before ? "ok" : "FAIL", name);
    fflush(stdout);
}

int cn_test_finish(void)
{
    printf("%d checks, %d failed\n", cn_test_checks, cn_test_failures);
    return cn_test_failures ? 1 : 0;
}

void cn_test_check_err(cn_status got, cn_status want, const char *substr, const char *expr, const char *file, int line)
{
    cn_test_checks++;
    if (got != want) {
        cn_test_fail(file, line, "%s: expected status '%s', got '%s' (%s)", expr, cn_status_name(want),
                     cn_status_name(got), cn_last_error());
        return;
    }
    if (substr && !strstr(cn_last_error(), substr))
        cn_test_fail(file, line, "%s: message \"%s\" lacks \"%s\"", expr, cn_last_error(), substr);
}

int cn_test_allclose(const float *a, const float *b, int64_t n, double atol, double rtol, const char *label,
                     const char *file, int line)
{
    int64_t worst = -1;
    double worst_excess = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]), lim = atol + rtol * fabs((double)b[i]);
        if (!(d <= lim) && (worst < 0 || d - lim > worst_excess || isnan(d))) {
            worst = i;
            worst_excess = isnan(d) ? INFINITY : d - lim;
        }
    }
    cn_test_checks++;
    if (worst >= 0) {
        cn_test_fail(file, line, "%s: arrays differ; worst at index %lld: %.9g vs %.9g (atol %.3g, rtol %.3g)",
                     label ? label : "", (long long)worst, a[worst], b[worst], atol, rtol);
        return 0;
    }
    return 1;
}
