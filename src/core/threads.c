/* threads.c — the thread pool that owns all of convnet's parallelism.
 *
 * A fixed set of worker threads sleeps on a condition variable. cn_parallel_for publishes a
 * job (function, context, range, chunk count), wakes the workers, runs chunk 0 itself and
 * waits until every chunk is done. Chunks are contiguous and fixed by (n, chunk count)
 * alone, so work assignment is deterministic. Only one job runs at a time: a caller that
 * finds the pool busy (another user thread, or a nested call from inside a job) runs its
 * range serially instead of waiting, which also makes nested parallelism safe. */
#include "convnet/core.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#define MAX_THREADS 256

static int requested;        /* from cn_set_num_threads; 0 = default */
static int default_threads;  /* env or core count, computed once */
static pthread_once_t default_once = PTHREAD_ONCE_INIT;

static struct {
    pthread_mutex_t busy;     /* held by the thread that owns the current job */
    pthread_mutex_t lock;     /* protects everything below */
    pthread_cond_t wake, done;
    pthread_t thread[MAX_THREADS];
    int nworkers;
    int shutdown;
    unsigned long generation;
    /* current job */
    cn_range_fn fn;
    void *ctx;
    int64_t n;
    int chunks;
    int remaining;
    unsigned long spawn_generation; /* generation when the current workers were started */
} pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
          PTHREAD_COND_INITIALIZER, {0}, 0, 0, 0, NULL, NULL, 0, 0, 0, 0};

static void compute_default(void)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    default_threads = cores > 0 ? (int)(cores > MAX_THREADS ? MAX_THREADS : cores) : 1;
    const char *env = getenv("CONVNET_NUM_THREADS");
    if (env && *env) {
        char *end;
        errno = 0;
        long v = strtol(env, &end, 10);
        if (errno || *end || v < 1 || v > MAX_THREADS)
            cn_log(CN_LOG_WARN, "CONVNET_NUM_THREADS='%s' is not a number in 1..%d; using %d", env,
                   MAX_THREADS, default_threads);
        else
            default_threads = (int)v;
    }
}

int cn_num_threads(void)
{
    if (requested) return requested;
    pthread_once(&default_once, compute_default);
    return default_threads;
}

cn_status cn_set_num_threads(int n)
{
    if (n < 0 || n > MAX_THREADS)
        return cn_set_error(CN_STATUS_INVALID_ARG, "threads: %d is not in 0..%d (0 = default)", n, MAX_THREADS);
    requested = n;
    return CN_OK;
}

static inline void chunk_range(int64_t n, int chunks, int i, int64_t *b, int64_t *e)
{
    *b = n * i / chunks;
    *e = n * (i + 1) / chunks;
}

static void *worker_main(void *arg)
{
    int index = (int)(intptr_t)arg; /* 1..nworkers: the chunk this worker runs */
    pthread_mutex_lock(&pool.lock);
    unsigned long seen = pool.spawn_generation; /* jobs before our start are not ours */
    for (;;) {
        while (!pool.shutdown && pool.generation == seen) pthread_cond_wait(&pool.wake, &pool.lock);
        if (pool.shutdown) break;
        seen = pool.generation;
        if (index >= pool.chunks) continue;
        cn_range_fn fn = pool.fn;
        void *ctx = pool.ctx;
        int64_t b, e;
        chunk_range(pool.n, pool.chunks, index, &b, &e);
        pthread_mutex_unlock(&pool.lock);
        fn(ctx, b, e);
        pthread_mutex_lock(&pool.lock);
        if (--pool.remaining == 0) pthread_cond_signal(&pool.done);
    }
    pthread_mutex_unlock(&pool.lock);
    return NULL;
}

static void stop_workers(void) /* call with `busy` held and no job running */
{
    pthread_mutex_lock(&pool.lock);
    pool.shutdown = 1;
    pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.lock);
    for (int i = 0; i < pool.nworkers; i++) pthread_join(pool.thread[i], NULL);
    pool.nworkers = 0;
    pool.shutdown = 0;
}

static void at_exit_stop(void)
{
    if (pthread_mutex_trylock(&pool.busy) == 0) {
        stop_workers();
        pthread_mutex_unlock(&pool.busy);
    }
}

/* Make the pool have exactly `want` workers; returns how many it has. */
static int resize(int want)
{
    static int registered;
    if (pool.nworkers == want) return want;
    if (pool.nworkers) stop_workers();
    if (!registered) {
        atexit(at_exit_stop);
        registered = 1;
    }
    pool.spawn_generation = pool.generation; /* stable: no job runs while we hold `busy` */
    for (int i = 0; i < want; i++) {
        if (pthread_create(&pool.thread[i], NULL, worker_main, (void *)(intptr_t)(i + 1)) != 0) {
            cn_log(CN_LOG_WARN, "threads: could only start %d of %d worker threads", i, want);
            break;
        }
        pool.nworkers = i + 1;
    }
    return pool.nworkers;
}

void cn_parallel_for(int64_t n, int64_t grain, cn_range_fn fn, void *ctx)
{
    if (n <= 0) return;
    if (grain < 1) grain = 1;
    int threads = cn_num_threads();
    int64_t max_chunks = (n + grain - 1) / grain;
    int chunks = max_chunks < threads ? (int)max_chunks : threads;
    if (chunks <= 1 || pthread_mutex_trylock(&pool.busy) != 0) {
        fn(ctx, 0, n);
        return;
    }
    int workers = resize(threads - 1);
    if (chunks > workers + 1) chunks = workers + 1;
    if (chunks <= 1) {
        pthread_mutex_unlock(&pool.busy);
        fn(ctx, 0, n);
        return;
    }
    pthread_mutex_lock(&pool.lock);
    pool.fn = fn;
    pool.ctx = ctx;
    pool.n = n;
    pool.chunks = chunks;
    pool.remaining = chunks - 1;
    pool.generation++;
    pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.lock);

    int64_t b, e;
    chunk_range(n, chunks, 0, &b, &e);
    fn(ctx, b, e);

    pthread_mutex_lock(&pool.lock);
    while (pool.remaining > 0) pthread_cond_wait(&pool.done, &pool.lock);
    pthread_mutex_unlock(&pool.lock);
    pthread_mutex_unlock(&pool.busy);
}
