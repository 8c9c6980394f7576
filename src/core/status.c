/* status.c — status names and the thread-local error message. */
#include "convnet/core.h"

#include <stdarg.h>
#include <stdio.h>

static _Thread_local char last_error[1024];

static const char *const status_names[CN_STATUS_COUNT_] = {
    [CN_OK] = "ok",
    [CN_STATUS_INVALID_ARG] = "invalid argument",
    [CN_STATUS_SHAPE] = "shape error",
    [CN_STATUS_NOMEM] = "out of memory",
    [CN_STATUS_LIMIT] = "size limit",
    [CN_STATUS_IO] = "i/o error",
    [CN_STATUS_FORMAT] = "format error",
    [CN_STATUS_UNSUPPORTED] = "unsupported",
    [CN_STATUS_INVALID_STATE] = "invalid state",
    [CN_STATUS_NOT_FOUND] = "not found",
    [CN_STATUS_INTERNAL] = "internal error",
};

const char *cn_last_error(void) { return last_error; }

const char *cn_status_name(cn_status s)
{
    if ((int)s < 0 || s >= CN_STATUS_COUNT_) return "unknown status";
    return status_names[s];
}

cn_status cn_set_error(cn_status s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return s;
}

void cn_clear_error(void) { last_error[0] = '\0'; }

const char *cn_version(void) { return CN_VERSION_STRING; }
