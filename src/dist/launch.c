/* launch.c — what does not need MPI itself: defaults, and whether an MPI launcher started
 * this process (built with and without MPI). */
#include <stdlib.h>
#include <string.h>

#include "convnet/dist.h"

cn_dist_config cn_dist_defaults(void)
{
    cn_dist_config c;
    memset(&c, 0, sizeof c);
    c.timeout_s = 300;
    c.bucket_bytes = 0; /* automatic */
    return c;
}

int cn_dist_launched(void)
{
    const char *force = getenv("CONVNET_MPI");
    if (force && *force) return strcmp(force, "0") != 0;
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        if (getenv(vars[i])) return 1;
    return 0;
}
