/* loader.c — batches of samples in a per-epoch shuffled order. The order of epoch e is a
 * permutation drawn from (seed, CN_STREAM_SHUFFLE) at word e * 2^40, so it depends only on
 * the seed and the epoch (resuming mid-run reproduces it). Samples of a batch are fetched in
 * parallel; each writes its own slot, so the batch is the same at any thread count. */
#include <string.h>

#include "convnet/dataset.h"

struct cn_loader {
    const cn_dataset *d;
    cn_loader_config cfg;
    int64_t n;          /* samples this shard sees per epoch */
    int64_t *order;     /* this shard's order for the current epoch */
    int64_t *perm;      /* the whole permutation */
    int64_t pos;
    int64_t xs, ts;
    float *x, *t;       /* batch buffers */
    int started;
};

cn_loader_config cn_loader_defaults(void)
{
    cn_loader_config c = {32, 1, 0, 0, 0, 1};
    return c;
}

void cn_loader_destroy(cn_loader *l)
{
    if (!l) return;
    cn_free(l->order);
    cn_free(l->perm);
    cn_free(l->x);
    cn_free(l->t);
    cn_free(l);
}

cn_status cn_loader_create(cn_loader **out, const cn_dataset *d, const cn_loader_config *cfg)
{
    *out = NULL;
    const cn_dataset_info *info = cn_dataset_info_of(d);
    if (cfg->batch < 1) return cn_set_error(CN_STATUS_INVALID_ARG, "loader: batch size %lld must be >= 1", (long long)cfg->batch);
    if (cfg->shard_count < 1 || cfg->shard_rank < 0 || cfg->shard_rank >= cfg->shard_count)
        return cn_set_error(CN_STATUS_INVALID_ARG, "loader: shard %d of %d is not valid", cfg->shard_rank, cfg->shard_count);
    cn_loader *l = cn_calloc(1, sizeof *l, "loader");
    if (!l) return CN_STATUS_NOMEM;
    l->d = d;
    l->cfg = *cfg;
    l->n = (info->n - cfg->shard_rank + cfg->shard_count - 1) / cfg->shard_count;
    l->xs = cn_dataset_info_sample_size(info);
    l->ts = cn_dataset_info_target_size(info);
    uint64_t xb, tb;
    cn_status st = CN_OK;
    if (cn_mul_size((uint64_t)cfg->batch, (uint64_t)l->xs * sizeof(float), &xb, "batch") != CN_OK ||
        cn_mul_size((uint64_t)cfg->batch, (uint64_t)(l->ts ? l->ts : 1) * sizeof(float), &tb, "batch") != CN_OK) {
        cn_loader_destroy(l);
        return CN_STATUS_LIMIT;
    }
    l->perm = cn_malloc((size_t)info->n * sizeof(int64_t), "loader order");
    l->order = cn_malloc((size_t)(l->n > 0 ? l->n : 1) * sizeof(int64_t), "loader order");
    l->x = cn_malloc((size_t)xb, "batch inputs");
    l->t = cn_malloc((size_t)tb, "batch targets");
    if (!l->perm || !l->order || !l->x || !l->t) st = CN_STATUS_NOMEM;
    if (st != CN_OK) {
        cn_loader_destroy(l);
        return st;
    }
    *out = l;
    return CN_OK;
}

int64_t cn_loader_batches(const cn_loader *l)
{
    return l->cfg.drop_last ? l->n / l->cfg.batch : (l->n + l->cfg.batch - 1) / l->cfg.batch;
}

cn_status cn_loader_start_epoch(cn_loader *l, int64_t epoch)
{
    int64_t n = cn_dataset_info_of(l->d)->n;
    for (int64_t i = 0; i < n; i++) l->perm[i] = i;
    if (l->cfg.shuffle) {
        cn_rng r;
        cn_rng_init(&r, l->cfg.seed, CN_STREAM_SHUFFLE);
        cn_rng_seek(&r, (uint64_t)epoch << 40);
        for (int64_t i = n - 1; i > 0; i--) { /* Fisher-Yates */
            int64_t j = (int64_t)cn_rng_below(&r, (uint32_t)(i + 1));
            int64_t t = l->perm[i];
            l->perm[i] = l->perm[j], l->perm[j] = t;
        }
    }
    int64_t k = 0;
    for (int64_t i = l->cfg.shard_rank; i < n; i += l->cfg.shard_count) l->order[k++] = l->perm[i];
    l->pos = 0;
    l->started = 1;
    return CN_OK;
}

typedef struct {
    cn_loader *l;
    int64_t first;
    cn_status st;
} fetch_job;

static void fetch(void *p, int64_t b, int64_t e)
{
    fetch_job *j = p;
    cn_loader *l = j->l;
    for (int64_t i = b; i < e; i++) {
        cn_status st = cn_dataset_get(l->d, l->order[j->first + i], l->x + i * l->xs, l->ts ? l->t + i * l->ts : NULL);
        if (st != CN_OK) j->st = st; /* the message is thread-local; the caller re-reads below */
    }
}

int cn_loader_next(cn_loader *l, cn_batch *b)
{
    if (!l->started) {
        cn_set_error(CN_STATUS_INVALID_STATE, "loader: call cn_loader_start_epoch first");
        return -1;
    }
    int64_t left = l->n - l->pos;
    if (left <= 0 || (l->cfg.drop_last && left < l->cfg.batch)) return 0;
    int64_t count = left < l->cfg.batch ? left : l->cfg.batch;
    fetch_job j = {l, l->pos, CN_OK};
    cn_parallel_for(count, 16, fetch, &j);
    if (j.st != CN_OK) {
        /* re-fetch serially to report the message on this thread */
        for (int64_t i = 0; i < count; i++)
            if (cn_dataset_get(l->d, l->order[l->pos + i], l->x + i * l->xs, l->ts ? l->t + i * l->ts : NULL) != CN_OK) return -1;
        cn_set_error(j.st, "loader: a sample failed to load");
        return -1;
    }
    b->count = count;
    b->x = l->x;
    b->target = l->ts ? l->t : NULL;
    b->index = l->order + l->pos;
    l->pos += count;
    return 1;
}
