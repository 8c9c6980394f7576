/* convnet/dist.h — data-parallel training over MPI (docs/DISTRIBUTED.md).
 *
 * Start the same program on P processes with the launcher of your MPI (`mpirun -np 4 prog`,
 * a hostfile for several machines); each process opens a cn_dist and hands its comm to the
 * trainer, which then trains one model together with the others:
 *
 *     cn_dist *d;
 *     cn_dist_config dc = cn_dist_defaults();
 *     if (cn_dist_create(&d, &dc) != CN_OK) { fprintf(stderr, "%s\n", cn_last_error()); return 1; }
 *     cn_train_config tc = cn_train_defaults();
 *     tc.batch = 256;                      // the global batch: 256 / P samples per process
 *     tc.comm = cn_dist_comm(d);
 *     tc.progress = cn_dist_rank(d) == 0;
 *     tc.out_dir = "runs/x";              // written by rank 0 only
 *     cn_status st = cn_trainer_create(&t, model, &tc);
 *     if (st == CN_OK) st = cn_trainer_fit(t, train, test);
 *     ...
 *     if (st != CN_OK && !cn_dist_failed_together(d)) cn_dist_abort(d, 1); // never returns
 *     cn_dist_destroy(d);                 // MPI_Finalize
 *
 * The functions exist in every build; without MPI (convnet built where find_package(MPI)
 * found none) cn_dist_create fails with CN_STATUS_UNSUPPORTED and cn_dist_available() is 0.
 *
 * Failures. MPI errors are returned (MPI_ERRORS_RETURN), never fatal inside MPI. Every wait
 * on the other processes has a deadline (config timeout_s): a process that died or hangs
 * makes the others fail with a message naming the operation and the time waited, instead of
 * hanging forever. After such a failure, or any failure that only this process saw (its
 * status did not go through the comm's agree), the other processes may be blocked inside a
 * collective: end the job with cn_dist_abort (MPI_Abort). A failure that every process
 * agreed on (cn_dist_failed_together) lets every process end normally with cn_dist_destroy.
 *
 * Threads: MPI is initialized with MPI_THREAD_FUNNELED; call cn_dist functions and the
 * trainer from the thread that created the cn_dist. The compute thread pool never calls MPI.
 */
#ifndef CONVNET_DIST_H
#define CONVNET_DIST_H

#include "train.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cn_dist_config {
    double timeout_s;     /* a wait on the other processes that sees no progress for this long
                             fails (default 300 s; checkpoints and evaluation happen in it) */
    size_t bucket_bytes;  /* gradients are summed in buckets of about this many bytes, each
                             started as soon as backward has finished its layers; 0 (default):
                             an eighth of all gradients, within 16 KiB .. 4 MiB */
} cn_dist_config;

cn_dist_config cn_dist_defaults(void);

/* 1 when convnet was built with MPI. */
int cn_dist_available(void);
/* 1 when this process was started by an MPI launcher: the environment has
 * OMPI_COMM_WORLD_SIZE (Open MPI), PMI_SIZE (MPICH, Intel MPI, Slurm's PMI) or PMIX_RANK
 * (PMIx launchers such as srun --mpi=pmix). CONVNET_MPI=0 says 0 whatever the environment;
 * CONVNET_MPI=1 says 1 (a singleton MPI process). */
int cn_dist_launched(void);

typedef struct cn_dist cn_dist;
/* Initialize MPI (unless the program already did; then it is left to the program to
 * finalize) and build the communication of data-parallel training over all processes. */
cn_status cn_dist_create(cn_dist **out, const cn_dist_config *cfg);
int cn_dist_rank(const cn_dist *d);
int cn_dist_size(const cn_dist *d);
/* processes on this machine (MPI_COMM_TYPE_SHARED): size the thread pool with it */
int cn_dist_local_size(const cn_dist *d);
/* "node7" — this process's machine (MPI_Get_processor_name); owned by d */
const char *cn_dist_host(const cn_dist *d);
/* The table for cn_train_config.comm (owned by d). */
const cn_train_comm *cn_dist_comm(cn_dist *d);
/* Collective: CN_OK when every process passed CN_OK (see cn_train_comm.agree). */
cn_status cn_dist_agree(cn_dist *d, cn_status local);
/* After a failure: 1 when the last agree saw a failure, so every process knows and can end
 * normally; 0 when this failure was this process's alone (or a timeout): abort the job. */
int cn_dist_failed_together(const cn_dist *d);
/* Whether this process should print its failure: rank 0 always; another rank when it
 * failed on its own, or rank 0 did not fail at the last agree (else rank 0's message tells). */
int cn_dist_should_report(const cn_dist *d);

/* What the gradient averaging cost, for benchmarks. Times are this process's. */
typedef struct cn_dist_stats {
    int64_t steps;         /* gradient sums done */
    int buckets;           /* per step */
    int64_t floats;        /* gradient floats summed per step */
    double step_s;         /* wall time of those steps (from the end of the previous collective
                              to the end of this step's gradient sum) */
    double wait_s;         /* of which: blocked waiting for the sums to finish */
    double work_s;         /* of which: packing, starting, polling and unpacking buckets */
} cn_dist_stats;
void cn_dist_get_stats(const cn_dist *d, cn_dist_stats *s);

/* End this process's part: MPI_Finalize (when cn_dist_create initialized MPI) and free d.
 * Every process must call it (it synchronizes). Accepts NULL. */
void cn_dist_destroy(cn_dist *d);
/* End the whole job now: MPI_Abort with `code` (the launcher stops every process). */
void cn_dist_abort(cn_dist *d, int code);

#ifdef __cplusplus
}
#endif
#endif
