/* dist_none.c — cn_dist without MPI (cmake/mpi.cmake builds it when find_package(MPI) finds
 * none): every process trains alone; asking for more fails with a message saying why. */
#include <stdlib.h>

#include "convnet/dist.h"

int cn_dist_available(void) { return 0; }

cn_status cn_dist_create(cn_dist **out, const cn_dist_config *cfg)
{
    (void)cfg;
    *out = NULL;
    return cn_set_error(CN_STATUS_UNSUPPORTED, "this convnet was built without MPI, so it cannot train across processes "
                                               "(install Debian's libopenmpi-dev and openmpi-bin, then rebuild)");
}

int cn_dist_rank(const cn_dist *d) { return (void)d, 0; }
int cn_dist_size(const cn_dist *d) { return (void)d, 1; }
int cn_dist_local_size(const cn_dist *d) { return (void)d, 1; }
const char *cn_dist_host(const cn_dist *d) { return (void)d, ""; }
const cn_train_comm *cn_dist_comm(cn_dist *d) { return (void)d, NULL; }
cn_status cn_dist_agree(cn_dist *d, cn_status local) { return (void)d, local; }
int cn_dist_failed_together(const cn_dist *d) { return (void)d, 1; }
int cn_dist_should_report(const cn_dist *d) { return (void)d, 1; }

void cn_dist_get_stats(const cn_dist *d, cn_dist_stats *s)
{
    (void)d;
    *s = (cn_dist_stats){0};
}

void cn_dist_destroy(cn_dist *d) { (void)d; }
void cn_dist_abort(cn_dist *d, int code)
{
    (void)d;
    exit(code);
}
