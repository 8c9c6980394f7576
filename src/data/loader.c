/* loader.c — batches of samples in a per-epoch shuffled order, prepared (read, augmented,
 * normalized) ahead of the caller by worker threads.
 *
 * Order. Epoch e's order is a permutation drawn from (seed, CN_STREAM_SHUFFLE) at word
 * e * 2^40, so it depends only on the seed and the epoch (resuming mid-run reproduces it).
 *
 * Preparation. Sample i of epoch e is read, augmented with the stream
 * cn_augment_rng(seed, e, i) and normalized; the result depends on nothing else, so a batch
 * is the same whoever prepares it, at any worker count.
 *
 * Workers. With workers > 0, S = prefetch + 1 batch slots form a ring: batch j lives in slot
 * j % S. A worker claims the next unclaimed batch j of the epoch once its slot is free (batch
 * j - S has been released: the caller has moved past it), fills it alone, and marks it
 * ready. cn_loader_next releases the caller's previous batch and waits until the next one
 * is ready, so at most `prefetch` batches are prepared ahead and the batch handed out stays
 * untouched until the following call. Starting an epoch or seeking bumps a generation
 * counter and waits until no worker is inside a batch; work finished for an old generation
 * is discarded. With workers = 0 the caller prepares each batch in cn_loader_next, spread
 * over the thread pool. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "convnet/augment.h"
#include "convnet/dataset.h"

#define MSG_CAP 512

typedef struct {
    float *x, *t;
    int64_t batch; /* the batch it holds, or -1 */
    int ready;
    cn_status st;  /* a sample failed: status and message */
    char msg[MSG_CAP];
} slot;

struct cn_loader {
    const cn_dataset *d;
    cn_loader_config cfg;
    int64_t n;          /* samples this shard sees per epoch */
    int64_t *order;     /* this shard's order for the current epoch */
    int64_t *perm;      /* the whole permutation */
    int64_t xs, ts;
    int64_t epoch;
    int started;
    /* normalization */
    int64_t nch, per;   /* channels, values per channel */
    float *mean, *std;  /* NULL: none */
    /* augmentation scratch: one per worker (workers > 0) or per pool chunk (workers = 0) */
    int64_t scratch_size;
    float **scratch;
    int nscratch;
    /* slots */
    int nslots;
    slot *slots;
    int64_t nb;         /* batches this epoch */
    int64_t cur;        /* batch the caller holds (-1: none yet) */
    int64_t claim;      /* next batch a worker may take */
    /* workers */
    int nworkers;
    pthread_t *threads;
    int threads_started;
    pthread_mutex_t mu;
    pthread_cond_t work, ready, idle;
    int sync_ready;     /* mutex and condition variables initialised */
    uint64_t gen;
    int busy;           /* workers inside a batch */
    int stop;
    void *job;          /* workers = 0: the pool job of a batch (allocated once) */
};

cn_loader_config cn_loader_defaults(void)
{
    cn_loader_config c;
    memset(&c, 0, sizeof c);
    c.batch = 32;
    c.shuffle = 1;
    c.drop_last = 0;
    c.seed = 0;
    c.shard_rank = 0, c.shard_count = 1;
    c.augment = NULL;
    c.workers = 2;
    c.prefetch = 0;
    c.normalize = CN_NORMALIZE_NONE;
    c.mean = c.std = NULL;
    return c;
}

/* ---- preparing samples and batches ------------------------------------------------------- */

/* sample `pos` of the current order into row `row` of (x, t) */
static cn_status prepare(const cn_loader *l, int64_t pos, float *x, float *t, float *scratch)
{
    int64_t i = l->order[pos];
    cn_status st = cn_dataset_get(l->d, i, x, l->ts ? t : NULL);
    if (st != CN_OK) return st;
    if (l->cfg.augment) {
        cn_rng r;
        cn_augment_rng(&r, l->cfg.seed, l->epoch, i);
        cn_augment_apply(l->cfg.augment, cn_dataset_info_of(l->d), x, l->ts ? t : NULL, &r, scratch);
    }
    if (l->mean)
        for (int64_t c = 0; c < l->nch; c++) {
            float m = l->mean[c], inv = 1.0f / l->std[c];
            for (int64_t k = 0; k < l->per; k++) x[c * l->per + k] = (x[c * l->per + k] - m) * inv;
        }
    return CN_OK;
}

static int64_t batch_count(const cn_loader *l, int64_t b)
{
    int64_t first = b * l->cfg.batch, left = l->n - first;
    return left < l->cfg.batch ? left : l->cfg.batch;
}

/* fill slot s with batch b serially; on failure keeps the first failing sample's message */
static void fill_serial(const cn_loader *l, slot *s, int64_t b, float *scratch)
{
    int64_t first = b * l->cfg.batch, count = batch_count(l, b);
    s->st = CN_OK;
    for (int64_t k = 0; k < count; k++) {
        cn_status st = prepare(l, first + k, s->x + k * l->xs, l->ts ? s->t + k * l->ts : NULL, scratch);
        if (st != CN_OK) {
            s->st = st;
            snprintf(s->msg, sizeof s->msg, "%s", cn_last_error());
            return;
        }
    }
}

/* workers = 0: the caller's batch, split into nscratch contiguous parts over the pool */
typedef struct {
    const cn_loader *l;
    slot *s;
    int64_t first, count, parts;
    cn_status st[64];
    char msg[64][MSG_CAP];
} pool_job;

static void pool_part(void *p, int64_t b, int64_t e)
{
    pool_job *j = p;
    for (int64_t part = b; part < e; part++) {
        int64_t lo = j->count * part / j->parts, hi = j->count * (part + 1) / j->parts;
        j->st[part] = CN_OK;
        for (int64_t k = lo; k < hi; k++) {
            cn_status st = prepare(j->l, j->first + k, j->s->x + k * j->l->xs, j->l->ts ? j->s->t + k * j->l->ts : NULL,
                                   j->l->scratch ? j->l->scratch[part] : NULL);
            if (st != CN_OK) {
                j->st[part] = st;
                snprintf(j->msg[part], MSG_CAP, "%s", cn_last_error());
                break;
            }
        }
    }
}

static void fill_pool(cn_loader *l, slot *s, int64_t b)
{
    pool_job *j = l->job;
    j->l = l, j->s = s;
    j->first = b * l->cfg.batch;
    j->count = batch_count(l, b);
    j->parts = l->nscratch < j->count ? l->nscratch : j->count;
    if (j->parts < 1) j->parts = 1;
    cn_parallel_for(j->parts, 1, pool_part, j);
    s->st = CN_OK;
    for (int64_t part = 0; part < j->parts; part++)
        if (j->st[part] != CN_OK) {
            s->st = j->st[part];
            snprintf(s->msg, sizeof s->msg, "%s", j->msg[part]);
            break;
        }
}

/* ---- workers ------------------------------------------------------------------------------- */

typedef struct {
    cn_loader *l;
    int id;
} worker_arg;

static void *worker_main(void *p)
{
    cn_loader *l = ((worker_arg *)p)->l;
    int id = ((worker_arg *)p)->id;
    cn_free(p);
    pthread_mutex_lock(&l->mu);
    for (;;) {
        if (l->stop) break;
        if (l->started && l->claim < l->nb && l->claim < l->cur + l->nslots) {
            int64_t b = l->claim++;
            uint64_t gen = l->gen;
            slot *s = &l->slots[b % l->nslots];
            s->ready = 0;
            s->batch = -1;
            l->busy++;
            pthread_mutex_unlock(&l->mu);
            fill_serial(l, s, b, l->scratch ? l->scratch[id] : NULL);
            pthread_mutex_lock(&l->mu);
            l->busy--;
            if (gen == l->gen) {
                s->batch = b;
                s->ready = 1;
                pthread_cond_broadcast(&l->ready);
            }
            if (!l->busy) pthread_cond_broadcast(&l->idle);
            continue;
        }
        pthread_cond_wait(&l->work, &l->mu);
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

/* stop the workers' current work (caller holds mu): bump the generation, wait until idle */
static void quiesce(cn_loader *l)
{
    l->gen++;
    while (l->busy) pthread_cond_wait(&l->idle, &l->mu);
    for (int k = 0; k < l->nslots; k++) l->slots[k].ready = 0, l->slots[k].batch = -1;
}

/* ---- lifetime ------------------------------------------------------------------------------ */

void cn_loader_destroy(cn_loader *l)
{
    if (!l) return;
    if (l->threads_started) {
        pthread_mutex_lock(&l->mu);
        l->stop = 1;
        pthread_cond_broadcast(&l->work);
        pthread_mutex_unlock(&l->mu);
        for (int k = 0; k < l->threads_started; k++) pthread_join(l->threads[k], NULL);
    }
    if (l->sync_ready) {
        pthread_mutex_destroy(&l->mu);
        pthread_cond_destroy(&l->work);
        pthread_cond_destroy(&l->ready);
        pthread_cond_destroy(&l->idle);
    }
    cn_free(l->threads);
    if (l->slots)
        for (int k = 0; k < l->nslots; k++) cn_free(l->slots[k].x), cn_free(l->slots[k].t);
    cn_free(l->slots);
    if (l->scratch)
        for (int k = 0; k < l->nscratch; k++) cn_free(l->scratch[k]);
    cn_free(l->scratch);
    cn_free(l->mean);
    cn_free(l->std);
    cn_free(l->job);
    cn_free(l->order);
    cn_free(l->perm);
    cn_free(l);
}

cn_status cn_loader_create(cn_loader **out, const cn_dataset *d, const cn_loader_config *cfg)
{
    *out = NULL;
    const cn_dataset_info *info = cn_dataset_info_of(d);
    if (cfg->batch < 1) return cn_set_error(CN_STATUS_INVALID_ARG, "loader: batch size %lld must be >= 1", (long long)cfg->batch);
    if (cfg->shard_count < 1 || cfg->shard_rank < 0 || cfg->shard_rank >= cfg->shard_count)
        return cn_set_error(CN_STATUS_INVALID_ARG, "loader: shard %d of %d is not valid (rank must be in 0..count-1)", cfg->shard_rank,
                            cfg->shard_count);
    if (cfg->workers < 0 || cfg->workers > 64)
        return cn_set_error(CN_STATUS_INVALID_ARG, "loader: %d workers; expected 0..64", cfg->workers);
    if (cfg->prefetch < 0 || cfg->prefetch > 64)
        return cn_set_error(CN_STATUS_INVALID_ARG, "loader: prefetch %d; expected 0..64 (0 = workers + 1)", cfg->prefetch);
    if (cfg->normalize < CN_NORMALIZE_NONE || cfg->normalize > CN_NORMALIZE_COMPUTE)
        return cn_set_error(CN_STATUS_INVALID_ARG, "loader: normalize %d is not NONE, GIVEN or COMPUTE", cfg->normalize);
    if (cfg->normalize == CN_NORMALIZE_GIVEN && (!cfg->mean || !cfg->std))
        return cn_set_error(CN_STATUS_INVALID_ARG, "loader: normalize GIVEN needs mean and std arrays");
    cn_status st;
    if (cfg->augment && (st = cn_augment_check(cfg->augment, info)) != CN_OK) return st;

    cn_loader *l = cn_calloc(1, sizeof *l, "loader");
    if (!l) return CN_STATUS_NOMEM;
    l->d = d;
    l->cfg = *cfg;
    l->n = (info->n - cfg->shard_rank + cfg->shard_count - 1) / cfg->shard_count;
    l->xs = cn_dataset_info_sample_size(info);
    l->ts = cn_dataset_info_target_size(info);
    l->nch = info->sample.ndim >= 2 ? info->sample.dim[0] : 1;
    l->per = l->xs / l->nch;
    l->cur = -1;
    uint64_t xb, tb;
    st = CN_OK;
    if (cn_mul_size((uint64_t)cfg->batch, (uint64_t)l->xs * sizeof(float), &xb, "batch inputs") != CN_OK ||
        cn_mul_size((uint64_t)cfg->batch, (uint64_t)(l->ts ? l->ts : 1) * sizeof(float), &tb, "batch targets") != CN_OK) {
        st = CN_STATUS_LIMIT;
        goto fail;
    }
    l->perm = cn_malloc((size_t)info->n * sizeof(int64_t), "loader order");
    l->order = cn_malloc((size_t)(l->n > 0 ? l->n : 1) * sizeof(int64_t), "loader order");
    if (!l->perm || !l->order) goto nomem;

    /* normalization */
    if (cfg->normalize != CN_NORMALIZE_NONE) {
        l->mean = cn_malloc((size_t)l->nch * sizeof(float), "loader mean");
        l->std = cn_malloc((size_t)l->nch * sizeof(float), "loader std");
        if (!l->mean || !l->std) goto nomem;
        if (cfg->normalize == CN_NORMALIZE_GIVEN) {
            for (int64_t c = 0; c < l->nch; c++) {
                if (!(cfg->std[c] > 0) || !(cfg->mean[c] == cfg->mean[c])) {
                    st = cn_set_error(CN_STATUS_INVALID_ARG, "loader: channel %lld has mean %g and std %g; std must be > 0", (long long)c,
                                      cfg->mean[c], cfg->std[c]);
                    goto fail;
                }
                l->mean[c] = cfg->mean[c], l->std[c] = cfg->std[c];
            }
        } else if ((st = cn_dataset_channel_stats(d, 0, l->mean, l->std)) != CN_OK) goto fail;
    }
    l->cfg.mean = l->mean, l->cfg.std = l->std;

    /* scratch for augmentation */
    l->nworkers = cfg->workers;
    l->nscratch = cfg->workers > 0 ? cfg->workers : (cn_num_threads() < 64 ? cn_num_threads() : 64);
    if (l->nscratch < 1) l->nscratch = 1;
    if (cfg->augment) {
        l->scratch_size = cn_augment_scratch_size(cfg->augment, info);
        l->scratch = cn_calloc((size_t)l->nscratch, sizeof(float *), "augment scratch");
        if (!l->scratch) goto nomem;
        for (int k = 0; k < l->nscratch; k++)
            if (!(l->scratch[k] = cn_malloc((size_t)l->scratch_size * sizeof(float), "augment scratch"))) goto nomem;
    }

    /* slots */
    l->nslots = cfg->workers > 0 ? (cfg->prefetch > 0 ? cfg->prefetch : cfg->workers + 1) + 1 : 1;
    l->slots = cn_calloc((size_t)l->nslots, sizeof(slot), "loader slots");
    if (!l->slots) goto nomem;
    for (int k = 0; k < l->nslots; k++) {
        l->slots[k].batch = -1;
        l->slots[k].x = cn_malloc((size_t)xb, "batch inputs");
        l->slots[k].t = cn_malloc((size_t)tb, "batch targets");
        if (!l->slots[k].x || !l->slots[k].t) goto nomem;
    }

    if (!cfg->workers && !(l->job = cn_malloc(sizeof(pool_job), "loader batch job"))) goto nomem;
    /* workers */
    if (cfg->workers > 0) {
        if (pthread_mutex_init(&l->mu, NULL) || pthread_cond_init(&l->work, NULL) || pthread_cond_init(&l->ready, NULL) ||
            pthread_cond_init(&l->idle, NULL)) {
            st = cn_set_error(CN_STATUS_INTERNAL, "loader: cannot create its locks");
            goto fail;
        }
        l->sync_ready = 1;
        l->threads = cn_calloc((size_t)cfg->workers, sizeof(pthread_t), "loader threads");
        if (!l->threads) goto nomem;
        for (int k = 0; k < cfg->workers; k++) {
            worker_arg *a = cn_malloc(sizeof *a, "loader thread");
            if (!a) goto nomem;
            a->l = l, a->id = k;
            if (pthread_create(&l->threads[k], NULL, worker_main, a) != 0) {
                cn_free(a);
                st = cn_set_error(CN_STATUS_INTERNAL, "loader: cannot start worker thread %d of %d", k + 1, cfg->workers);
                goto fail;
            }
            l->threads_started++;
        }
    }
    *out = l;
    return CN_OK;
nomem:
    st = CN_STATUS_NOMEM;
fail:
    cn_loader_destroy(l);
    return st;
}

int64_t cn_loader_batches(const cn_loader *l)
{
    return l->cfg.drop_last ? l->n / l->cfg.batch : (l->n + l->cfg.batch - 1) / l->cfg.batch;
}

int cn_loader_normalization(const cn_loader *l, const float **mean, const float **std)
{
    if (mean) *mean = l->mean;
    if (std) *std = l->std;
    return l->mean ? (int)l->nch : 0;
}

/* ---- epochs and batches -------------------------------------------------------------------- */

static void set_position(cn_loader *l, int64_t b)
{
    l->cur = b - 1;
    l->claim = b;
}

cn_status cn_loader_start_epoch(cn_loader *l, int64_t epoch)
{
    /* the order's stream position is epoch << 40 */
    if (epoch < 0 || epoch >= ((int64_t)1 << 24))
        return cn_set_error(CN_STATUS_INVALID_ARG, "loader: epoch %lld is not in 0..16777215", (long long)epoch);
    if (l->nworkers) {
        pthread_mutex_lock(&l->mu);
        quiesce(l);
    }
    int64_t n = cn_dataset_info_of(l->d)->n;
    for (int64_t i = 0; i < n; i++) l->perm[i] = i;
    if (l->cfg.shuffle) {
        cn_rng r;
        cn_rng_init(&r, l->cfg.seed, CN_STREAM_SHUFFLE);
        cn_rng_seek(&r, (uint64_t)epoch << 40);
        for (int64_t i = n - 1; i > 0; i--) { /* Fisher-Yates */
            int64_t j = i < 0xffffffffLL ? (int64_t)cn_rng_below(&r, (uint32_t)(i + 1))
                                         : (int64_t)(((uint64_t)cn_rng_u32(&r) << 32 | cn_rng_u32(&r)) % (uint64_t)(i + 1));
            int64_t t = l->perm[i];
            l->perm[i] = l->perm[j], l->perm[j] = t;
        }
    }
    int64_t k = 0;
    for (int64_t i = l->cfg.shard_rank; i < n; i += l->cfg.shard_count) l->order[k++] = l->perm[i];
    l->epoch = epoch;
    l->nb = cn_loader_batches(l);
    set_position(l, 0);
    l->started = 1;
    if (l->nworkers) {
        pthread_cond_broadcast(&l->work);
        pthread_mutex_unlock(&l->mu);
    }
    return CN_OK;
}

cn_status cn_loader_seek(cn_loader *l, int64_t b)
{
    if (!l->started) return cn_set_error(CN_STATUS_INVALID_STATE, "loader: call cn_loader_start_epoch before cn_loader_seek");
    if (b < 0 || b > l->nb)
        return cn_set_error(CN_STATUS_INVALID_ARG, "loader: batch %lld is not in 0..%lld", (long long)b, (long long)l->nb);
    if (l->nworkers) {
        pthread_mutex_lock(&l->mu);
        quiesce(l);
        set_position(l, b);
        pthread_cond_broadcast(&l->work);
        pthread_mutex_unlock(&l->mu);
    } else set_position(l, b);
    return CN_OK;
}

int cn_loader_next(cn_loader *l, cn_batch *b)
{
    if (!l->started) {
        cn_set_error(CN_STATUS_INVALID_STATE, "loader: call cn_loader_start_epoch first");
        return -1;
    }
    slot *s;
    int64_t want;
    if (!l->nworkers) {
        if (l->cur + 1 >= l->nb) {
            l->cur = l->nb;
            return 0;
        }
        want = ++l->cur;
        s = &l->slots[0];
        fill_pool(l, s, want);
    } else {
        pthread_mutex_lock(&l->mu);
        if (l->cur + 1 >= l->nb) {
            l->cur = l->nb;
            pthread_cond_broadcast(&l->work);
            pthread_mutex_unlock(&l->mu);
            return 0;
        }
        want = ++l->cur; /* releases the previous batch's slot */
        pthread_cond_broadcast(&l->work);
        s = &l->slots[want % l->nslots];
        while (!(s->ready && s->batch == want)) pthread_cond_wait(&l->ready, &l->mu);
        pthread_mutex_unlock(&l->mu);
    }
    if (s->st != CN_OK) {
        cn_set_error(s->st, "%s", s->msg);
        return -1;
    }
    b->count = batch_count(l, want);
    b->x = s->x;
    b->target = l->ts ? s->t : NULL;
    b->index = l->order + want * l->cfg.batch;
    return 1;
}
