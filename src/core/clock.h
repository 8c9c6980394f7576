/* clock.h — monotonic wall time in seconds, for timings (training logs, progress, profiling,
 * communication timeouts). */
#ifndef CN_CORE_CLOCK_H
#define CN_CORE_CLOCK_H

#include <time.h>

static inline double cn_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#endif
