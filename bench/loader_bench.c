/* loader_bench.c — how many samples per second the data loader sustains on its own (nothing
 * trains: the consumer only touches each batch), by dataset, augmentation pipeline and worker
 * count. Prints the machine and compiler, then one line per configuration: the median over
 * three timed passes of the samples per second, and the speed-up over preparing each batch on
 * the caller (workers 0, which spreads a batch over the thread pool). Then, with a simulated
 * training step after each batch, how long the loop waits for its next batch: with workers
 * the batches are prepared during the step and the wait drops to about nothing.
 *
 *     loader_bench [--quick] [--data SPEC] [--batch N] [--threads N]
 *
 * Fashion-MNIST is used when installed (Debian's dataset-fashion-mnist), else a synthetic
 * set of the same shape. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "convnet/augment.h"
#include "convnet/convnet.h"
#include "convnet/dataset.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* samples per second of one configuration: median of three passes of `samples` samples */
static double measure(const cn_dataset *d, const cn_augment *a, int workers, int64_t batch, int64_t samples, double *checksum)
{
    cn_loader_config c = cn_loader_defaults();
    c.batch = batch, c.seed = 1, c.augment = a, c.workers = workers, c.drop_last = 1;
    cn_loader *l = NULL;
    if (cn_loader_create(&l, d, &c) != CN_OK) {
        fprintf(stderr, "loader_bench: %s\n", cn_last_error());
        exit(1);
    }
    int64_t xs = cn_dataset_info_sample_size(cn_dataset_info_of(d));
    double rates[3];
    int64_t epoch = 0;
    for (int pass = 0; pass < 3; pass++) {
        int64_t done = 0;
        double t0 = now();
        while (done < samples) {
            cn_loader_start_epoch(l, epoch++);
            cn_batch b;
            int r;
            while (done < samples && (r = cn_loader_next(l, &b)) == 1) {
                /* touch the batch the way a training step would read it */
                double s = 0;
                for (int64_t i = 0; i < b.count; i++) s += b.x[i * xs];
                *checksum += s;
                done += b.count;
            }
        }
        rates[pass] = (double)done / (now() - t0);
    }
    cn_loader_destroy(l);
    qsort(rates, 3, sizeof rates[0], cmp_double);
    return rates[1];
}

/* A training loop stand-in: each batch is followed by `step_ms` of computation on the calling
 * thread. Returns the mean time per batch spent waiting inside cn_loader_next (ms). With
 * workers the next batches are prepared during the "training" and the wait drops to ~0. */
static double measure_wait(const cn_dataset *d, const cn_augment *a, int workers, int64_t batch, int64_t nbatches, double step_ms,
                           double *checksum)
{
    cn_loader_config c = cn_loader_defaults();
    c.batch = batch, c.seed = 1, c.augment = a, c.workers = workers, c.drop_last = 1;
    cn_loader *l = NULL;
    if (cn_loader_create(&l, d, &c) != CN_OK) {
        fprintf(stderr, "loader_bench: %s\n", cn_last_error());
        exit(1);
    }
    double wait = 0;
    int64_t done = 0, epoch = 0;
    volatile double sink = 0;
    while (done < nbatches) {
        cn_loader_start_epoch(l, epoch++);
        for (;;) {
            cn_batch b;
            double t0 = now();
            int r = cn_loader_next(l, &b);
            wait += now() - t0;
            if (r != 1 || done >= nbatches) break;
            *checksum += b.x[0];
            done++;
            double until = now() + step_ms * 1e-3;
            while (now() < until) sink += 1.0; /* the "training step" */
        }
    }
    cn_loader_destroy(l);
    return wait / (double)done * 1e3;
}

int main(int argc, char **argv)
{
    int quick = 0, threads = 0;
    int64_t batch = 128;
    const char *spec = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick")) quick = 1;
        else if (!strcmp(argv[i], "--data") && i + 1 < argc) spec = argv[++i];
        else if (!strcmp(argv[i], "--batch") && i + 1 < argc) batch = atoll(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: loader_bench [--quick] [--data SPEC] [--batch N] [--threads N]\n");
            return 2;
        }
    }
    if (threads > 0) cn_set_num_threads(threads);
    struct stat sb;
    const char *specs[3];
    int nspecs = 0;
    if (spec) specs[nspecs++] = spec;
    else {
        specs[nspecs++] = stat("/usr/share/datasets/fashion-mnist", &sb) == 0 ? "fashion-mnist" : "synthetic-seg:size=28,channels=1,n=20000";
        specs[nspecs++] = "synthetic-seg:n=4000,size=64";
    }
    static const char *const pipes[] = {"", "hflip,crop=4", "hflip,rotate=15,rrc=0.3,jitter=0.2,blur=1:p=0.5,noise=0.02,erase"};
    static const int workers[] = {0, 1, 2, 4, 8};
    const cn_cpu_info *cpu = cn_cpu();
    printf("loader_bench: convnet %s, %s, %d logical cores, %d pool threads, compiler %s\n", cn_version(), cpu->brand, cpu->logical_cores,
           cn_num_threads(),
#if defined(__clang__)
           "clang " __clang_version__
#elif defined(__GNUC__)
           "gcc " __VERSION__
#else
           "unknown"
#endif
    );
    printf("batch %lld; each figure is the median of 3 passes; speed-up is against workers 0\n\n", (long long)batch);
    printf("%-44s %-62s %7s %12s %8s\n", "dataset", "augmentation", "workers", "samples/s", "speed-up");
    double checksum = 0;
    for (int s = 0; s < nspecs; s++) {
        cn_dataset *d = NULL;
        if (cn_dataset_open(&d, NULL, specs[s]) != CN_OK) {
            fprintf(stderr, "loader_bench: %s\n", cn_last_error());
            return 1;
        }
        const cn_dataset_info *info = cn_dataset_info_of(d);
        int64_t samples = quick ? 4 * batch : (info->n < 20000 ? info->n : 20000);
        if (samples < batch) samples = batch;
        for (size_t p = 0; p < sizeof pipes / sizeof pipes[0]; p++) {
            cn_augment *a = NULL;
            if (cn_augment_parse(&a, pipes[p]) != CN_OK) {
                fprintf(stderr, "loader_bench: %s\n", cn_last_error());
                return 1;
            }
            double base = 0;
            for (size_t w = 0; w < sizeof workers / sizeof workers[0]; w++) {
                if (quick && workers[w] > 2) continue;
                double rate = measure(d, cn_augment_count(a) ? a : NULL, workers[w], batch, samples, &checksum);
                if (!w) base = rate;
                printf("%-44.44s %-62.62s %7d %12.0f %7.2fx\n", specs[s], *pipes[p] ? pipes[p] : "(none)", workers[w], rate, rate / base);
                fflush(stdout);
            }
            cn_augment_destroy(a);
        }
        cn_dataset_destroy(d);
    }
    /* overlap with a training step as long as preparing a batch on the caller takes */
    printf("\ntime the training loop waits for its next batch, with a simulated step of S ms per batch\n");
    printf("%-44s %-62s %7s %8s %10s\n", "dataset", "augmentation", "workers", "step ms", "wait ms");
    {
        const char *ws = specs[0];
        const char *heavy = pipes[2];
        cn_dataset *d = NULL;
        cn_augment *a = NULL;
        if (cn_dataset_open(&d, NULL, ws) != CN_OK || cn_augment_parse(&a, heavy) != CN_OK) {
            fprintf(stderr, "loader_bench: %s\n", cn_last_error());
            return 1;
        }
        int64_t nb = quick ? 8 : 40;
        /* the step: as long as the caller takes to prepare one batch itself */
        double prep = (double)batch / measure(d, a, 0, batch, 2 * batch, &checksum) * 1e3;
        static const int ow[] = {0, 1, 2, 4};
        for (size_t w = 0; w < sizeof ow / sizeof ow[0]; w++) {
            if (quick && ow[w] > 2) continue;
            double wait = measure_wait(d, a, ow[w], batch, nb, prep, &checksum);
            printf("%-44.44s %-62.62s %7d %8.2f %10.3f\n", ws, heavy, ow[w], prep, wait);
            fflush(stdout);
        }
        cn_augment_destroy(a);
        cn_dataset_destroy(d);
    }
    printf("\n(checksum %g)\n", checksum);
    return 0;
}
