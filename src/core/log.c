/* log.c — levelled logging to a replaceable sink. */
#include "convnet/core.h"

#include <stdarg.h>
#include <stdio.h>

static cn_log_level level = CN_LOG_WARN;
static cn_log_fn sink;
static void *sink_user;

void cn_log_set_level(cn_log_level l)
{
    if (l < CN_LOG_QUIET) l = CN_LOG_QUIET;
    if (l > CN_LOG_DEBUG) l = CN_LOG_DEBUG;
    level = l;
}

cn_log_level cn_log_get_level(void) { return level; }

void cn_log_set_sink(cn_log_fn fn, void *user)
{
    sink = fn;
    sink_user = user;
}

void cn_log(cn_log_level l, const char *fmt, ...)
{
    if (l == CN_LOG_QUIET || l > level) return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (sink) {
        sink(l, msg, sink_user);
        return;
    }
    static const char *const tag[] = {"", "error: ", "warning: ", "", "debug: "};
    fprintf(stderr, "convnet: %s%s\n", tag[l], msg);
}
