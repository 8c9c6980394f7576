/* dataset.c — the dataset object: sources behind an ops table, arrays, subsets and splits. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "convnet/dataset.h"

struct cn_dataset {
    cn_dataset_info info;
    cn_dataset_ops ops;
    void *self;
    char **class_names; /* num_classes names or NULL */
    int n_class_names;
};

int64_t cn_dataset_info_sample_size(const cn_dataset_info *info) { return cn_shape_numel(&info->sample); }

int64_t cn_dataset_info_target_size(const cn_dataset_info *info)
{
    switch (info->target_kind) {
    case CN_TARGET_NONE: return 0;
    case CN_TARGET_CLASS: return 1;
    default: return info->target.ndim ? cn_shape_numel(&info->target) : 1;
    }
}

cn_status cn_dataset_create(cn_dataset **out, const cn_dataset_info *info, const cn_dataset_ops *ops, void *self)
{
    *out = NULL;
    cn_status st = CN_OK;
    const char *name = info->name[0] ? info->name : "dataset";
    if (!ops || !ops->get) st = cn_set_error(CN_STATUS_INVALID_ARG, "%s: no get function", name);
    else if (info->n < 1) st = cn_set_error(CN_STATUS_SHAPE, "%s: %lld samples; a dataset needs at least one", name, (long long)info->n);
    else if ((st = cn_shape_check(&info->sample, name)) != CN_OK) {
    } else if (info->sample.ndim > CN_MAX_DIMS - 1)
        st = cn_set_error(CN_STATUS_SHAPE, "%s: a sample has %d dimensions; at most %d (the batch makes %d)", name,
                          info->sample.ndim, CN_MAX_DIMS - 1, CN_MAX_DIMS);
    else if ((info->target_kind == CN_TARGET_CLASS || info->target_kind == CN_TARGET_DENSE_CLASS ||
              info->target_kind == CN_TARGET_BOXES) && info->num_classes < 1)
        st = cn_set_error(CN_STATUS_INVALID_ARG, "%s: class targets need num_classes >= 1", name);
    if (st == CN_OK) {
        *out = cn_calloc(1, sizeof **out, "dataset");
        if (!*out) st = CN_STATUS_NOMEM;
    }
    if (st != CN_OK) {
        if (ops && ops->destroy) ops->destroy(self);
        return st;
    }
    (*out)->info = *info;
    (*out)->ops = *ops;
    (*out)->self = self;
    return CN_OK;
}

static void free_names(cn_dataset *d)
{
    for (int k = 0; k < d->n_class_names; k++) cn_free(d->class_names[k]);
    cn_free(d->class_names);
    d->class_names = NULL;
    d->n_class_names = 0;
}

void cn_dataset_destroy(cn_dataset *d)
{
    if (!d) return;
    if (d->ops.destroy) d->ops.destroy(d->self);
    free_names(d);
    cn_free(d);
}

cn_status cn_dataset_set_class_names(cn_dataset *d, const char *const *names, int n)
{
    if (n != d->info.num_classes)
        return cn_set_error(CN_STATUS_INVALID_ARG, "%s: %d class names for %d classes", d->info.name, n, d->info.num_classes);
    char **copy = cn_calloc((size_t)(n > 0 ? n : 1), sizeof(char *), "class names");
    if (!copy) return CN_STATUS_NOMEM;
    for (int k = 0; k < n; k++) {
        const char *nm = names[k] ? names[k] : "";
        size_t len = strlen(nm) + 1;
        if (!(copy[k] = cn_malloc(len, "class names"))) {
            for (int j = 0; j < k; j++) cn_free(copy[j]);
            cn_free(copy);
            return CN_STATUS_NOMEM;
        }
        memcpy(copy[k], nm, len);
    }
    free_names(d);
    d->class_names = copy;
    d->n_class_names = n;
    return CN_OK;
}

const char *cn_dataset_class_name(const cn_dataset *d, int k)
{
    return d->class_names && k >= 0 && k < d->n_class_names ? d->class_names[k] : NULL;
}

const cn_dataset_info *cn_dataset_info_of(const cn_dataset *d) { return &d->info; }

cn_status cn_dataset_get(const cn_dataset *d, int64_t i, float *x, float *target)
{
    if (i < 0 || i >= d->info.n)
        return cn_set_error(CN_STATUS_INVALID_ARG, "%s: sample %lld is not in 0..%lld", d->info.name, (long long)i,
                            (long long)d->info.n - 1);
    return d->ops.get(d->self, i, x, target);
}

/* ---- arrays ---- */
typedef struct {
    float *x, *t;
    int64_t xs, ts;
} arrays;

static cn_status arrays_get(void *self, int64_t i, float *x, float *t)
{
    const arrays *a = self;
    memcpy(x, a->x + i * a->xs, (size_t)a->xs * sizeof(float));
    if (a->ts && t) memcpy(t, a->t + i * a->ts, (size_t)a->ts * sizeof(float));
    return CN_OK;
}

static void arrays_destroy(void *self)
{
    arrays *a = self;
    if (!a) return;
    cn_free(a->x);
    cn_free(a->t);
    cn_free(a);
}

cn_status cn_dataset_from_arrays(cn_dataset **out, const cn_dataset_info *info, const float *x, const float *targets)
{
    *out = NULL;
    const char *name = info->name[0] ? info->name : "dataset";
    cn_status st = cn_shape_check(&info->sample, name);
    if (st != CN_OK) return st;
    if (info->n < 1) return cn_set_error(CN_STATUS_SHAPE, "%s: %lld samples; a dataset needs at least one", name, (long long)info->n);
    int64_t xs = cn_dataset_info_sample_size(info), ts = cn_dataset_info_target_size(info);
    if (ts && !targets) return cn_set_error(CN_STATUS_INVALID_ARG, "%s: targets are NULL but the target kind needs them", name);
    if (info->target_kind == CN_TARGET_BOXES) {
        if (info->target.ndim != 2 || info->target.dim[1] != 5)
            return cn_set_error(CN_STATUS_SHAPE, "%s: box targets must be (max_boxes, 5), got %d dims", name, info->target.ndim);
        for (int64_t i = 0; i < info->n * info->target.dim[0]; i++) {
            float v = targets[5 * i];
            if (!(v == -1 || (v >= 0 && v < (float)info->num_classes && v == floorf(v))))
                return cn_set_error(CN_STATUS_INVALID_ARG, "%s: box %lld of sample %lld has class %g; expected -1 (padding) or [0, %d)",
                                    name, (long long)(i % info->target.dim[0]), (long long)(i / info->target.dim[0]), v,
                                    info->num_classes);
        }
    }
    if ((info->target_kind == CN_TARGET_CLASS || info->target_kind == CN_TARGET_DENSE_CLASS || info->target_kind == CN_TARGET_BOXES) &&
        info->num_classes < 1)
        return cn_set_error(CN_STATUS_INVALID_ARG, "%s: class targets need num_classes >= 1", name);
    if (info->target_kind == CN_TARGET_CLASS || info->target_kind == CN_TARGET_DENSE_CLASS)
        for (int64_t i = 0; i < info->n * ts; i++) {
            float v = targets[i];
            if (!(v >= 0 && v < (float)info->num_classes) || v != floorf(v))
                return cn_set_error(CN_STATUS_INVALID_ARG, "%s: target %g of sample %lld is not a class in [0, %d)", name, v,
                                    (long long)(i / ts), info->num_classes);
        }
    arrays *a = cn_calloc(1, sizeof *a, "dataset arrays");
    if (!a) return CN_STATUS_NOMEM;
    a->xs = xs, a->ts = ts;
    uint64_t xb, tb;
    if (cn_mul_size((uint64_t)info->n, (uint64_t)xs * sizeof(float), &xb, name) != CN_OK ||
        cn_mul_size((uint64_t)info->n, (uint64_t)ts * sizeof(float), &tb, name) != CN_OK) {
        arrays_destroy(a);
        return CN_STATUS_LIMIT;
    }
    a->x = cn_malloc((size_t)xb, name);
    a->t = ts ? cn_malloc((size_t)tb, name) : NULL;
    if (!a->x || (ts && !a->t)) {
        arrays_destroy(a);
        return CN_STATUS_NOMEM;
    }
    memcpy(a->x, x, (size_t)xb);
    if (ts) memcpy(a->t, targets, (size_t)tb);
    static const cn_dataset_ops ops = {arrays_get, arrays_destroy};
    return cn_dataset_create(out, info, &ops, a);
}

/* ---- subsets ---- */
typedef struct {
    const cn_dataset *base;
    int64_t *idx;
} subset;

static cn_status subset_get(void *self, int64_t i, float *x, float *t)
{
    const subset *s = self;
    return cn_dataset_get(s->base, s->idx[i], x, t);
}

static void subset_destroy(void *self)
{
    subset *s = self;
    if (!s) return;
    cn_free(s->idx);
    cn_free(s);
}

cn_status cn_dataset_subset(cn_dataset **out, const cn_dataset *base, const int64_t *idx, int64_t n)
{
    *out = NULL;
    for (int64_t i = 0; i < n; i++)
        if (idx[i] < 0 || idx[i] >= base->info.n)
            return cn_set_error(CN_STATUS_INVALID_ARG, "%s: subset index %lld is not in 0..%lld", base->info.name, (long long)idx[i],
                                (long long)base->info.n - 1);
    subset *s = cn_calloc(1, sizeof *s, "dataset subset");
    if (!s) return CN_STATUS_NOMEM;
    s->base = base;
    s->idx = cn_malloc((size_t)(n > 0 ? n : 1) * sizeof(int64_t), "dataset subset");
    if (!s->idx) {
        subset_destroy(s);
        return CN_STATUS_NOMEM;
    }
    memcpy(s->idx, idx, (size_t)n * sizeof(int64_t));
    cn_dataset_info info = base->info;
    info.n = n;
    static const cn_dataset_ops ops = {subset_get, subset_destroy};
    cn_status st = cn_dataset_create(out, &info, &ops, s);
    if (st == CN_OK && base->class_names &&
        (st = cn_dataset_set_class_names(*out, (const char *const *)base->class_names, base->n_class_names)) != CN_OK) {
        cn_dataset_destroy(*out);
        *out = NULL;
    }
    return st;
}

cn_status cn_dataset_split(cn_dataset **train, cn_dataset **val, const cn_dataset *base, double fraction, uint64_t seed,
                           int balanced)
{
    *train = *val = NULL;
    int64_t n = base->info.n;
    if (!(fraction > 0 && fraction < 1))
        return cn_set_error(CN_STATUS_INVALID_ARG, "%s: validation fraction %g is not in (0, 1)", base->info.name, fraction);
    if (n < 2) return cn_set_error(CN_STATUS_SHAPE, "%s: %lld samples cannot be split", base->info.name, (long long)n);
    if (balanced && base->info.target_kind != CN_TARGET_CLASS)
        return cn_set_error(CN_STATUS_INVALID_ARG, "%s: a class-balanced split needs class targets", base->info.name);
    int64_t *perm = cn_malloc((size_t)n * sizeof(int64_t), "split"), *is_val = cn_calloc((size_t)n, sizeof(int64_t), "split");
    int64_t *tr = cn_malloc((size_t)n * sizeof(int64_t), "split"), *va = cn_malloc((size_t)n * sizeof(int64_t), "split");
    float *xbuf = NULL;
    cn_status st = CN_OK;
    if (!perm || !is_val || !tr || !va) {
        st = CN_STATUS_NOMEM;
        goto done;
    }
    cn_rng r;
    cn_rng_init(&r, seed, CN_STREAM_SHUFFLE);
    cn_rng_seek(&r, (uint64_t)1 << 62); /* away from the loader's epoch orders */
    for (int64_t i = 0; i < n; i++) perm[i] = i;
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)cn_rng_below(&r, (uint32_t)(i + 1));
        int64_t t = perm[i];
        perm[i] = perm[j], perm[j] = t;
    }
    if (!balanced) {
        int64_t nv = (int64_t)floor(fraction * (double)n);
        if (nv < 1) nv = 1;
        if (nv >= n) nv = n - 1;
        for (int64_t i = 0; i < nv; i++) is_val[perm[i]] = 1;
    } else {
        /* per class, the first floor(fraction * count) of the shuffled order (at least one where a class has 2+) */
        int k = base->info.num_classes;
        int64_t *count = cn_calloc((size_t)k, sizeof(int64_t), "split"), *taken = cn_calloc((size_t)k, sizeof(int64_t), "split");
        xbuf = cn_malloc((size_t)cn_dataset_info_sample_size(&base->info) * sizeof(float), "split");
        float t;
        if (!count || !taken || !xbuf) {
            cn_free(count), cn_free(taken);
            st = CN_STATUS_NOMEM;
            goto done;
        }
        int *label = cn_malloc((size_t)n * sizeof(int), "split");
        if (!label) {
            cn_free(count), cn_free(taken);
            st = CN_STATUS_NOMEM;
            goto done;
        }
        for (int64_t i = 0; i < n && st == CN_OK; i++) {
            st = cn_dataset_get(base, i, xbuf, &t);
            label[i] = (int)t;
            count[label[i]]++;
        }
        for (int64_t i = 0; i < n && st == CN_OK; i++) {
            int c = label[perm[i]];
            int64_t want = (int64_t)floor(fraction * (double)count[c]);
            if (want < 1 && count[c] > 1) want = 1;
            if (taken[c] < want) is_val[perm[i]] = 1, taken[c]++;
        }
        cn_free(label), cn_free(count), cn_free(taken);
        if (st != CN_OK) goto done;
    }
    int64_t ntr = 0, nva = 0;
    for (int64_t i = 0; i < n; i++) {
        if (is_val[i]) va[nva++] = i;
        else tr[ntr++] = i;
    }
    if (!nva || !ntr) {
        st = cn_set_error(CN_STATUS_SHAPE, "%s: the split left an empty part (%lld train, %lld validation)", base->info.name,
                          (long long)ntr, (long long)nva);
        goto done;
    }
    if ((st = cn_dataset_subset(train, base, tr, ntr)) != CN_OK) goto done;
    if ((st = cn_dataset_subset(val, base, va, nva)) != CN_OK) {
        cn_dataset_destroy(*train);
        *train = NULL;
        goto done;
    }
    snprintf((*train)->info.name, sizeof (*train)->info.name, "%.50s/train", base->info.name);
    snprintf((*val)->info.name, sizeof (*val)->info.name, "%.50s/val", base->info.name);
done:
    cn_free(perm), cn_free(is_val), cn_free(tr), cn_free(va), cn_free(xbuf);
    return st;
}

/* ---- statistics ---- */

#define STATS_BLOCK 256

typedef struct {
    const cn_dataset *d;
    int64_t n, nch, per; /* samples, channels, values per channel */
    double *cnt, *mean, *m2; /* [blocks][nch] */
    cn_status *st;
} stats_job;

/* Welford within a block; blocks are merged afterwards in order (Chan et al.) */
static void stats_blocks(void *p, int64_t b0, int64_t b1)
{
    stats_job *j = p;
    const cn_dataset_info *info = &j->d->info;
    float *x = cn_malloc((size_t)cn_dataset_info_sample_size(info) * sizeof(float), "channel statistics");
    float *t = cn_malloc((size_t)(cn_dataset_info_target_size(info) + 1) * sizeof(float), "channel statistics");
    for (int64_t b = b0; b < b1; b++) {
        if (!x || !t) {
            j->st[b] = CN_STATUS_NOMEM;
            continue;
        }
        double *cnt = j->cnt + b * j->nch, *mean = j->mean + b * j->nch, *m2 = j->m2 + b * j->nch;
        int64_t end = (b + 1) * STATS_BLOCK < j->n ? (b + 1) * STATS_BLOCK : j->n;
        for (int64_t i = b * STATS_BLOCK; i < end && j->st[b] == CN_OK; i++) {
            if ((j->st[b] = cn_dataset_get(j->d, i, x, t)) != CN_OK) break;
            for (int64_t c = 0; c < j->nch; c++)
                for (int64_t k = 0; k < j->per; k++) {
                    double v = x[c * j->per + k], delta = v - mean[c];
                    cnt[c] += 1;
                    mean[c] += delta / cnt[c];
                    m2[c] += delta * (v - mean[c]);
                }
        }
    }
    cn_free(x);
    cn_free(t);
}

cn_status cn_dataset_channel_stats(const cn_dataset *d, int64_t max_samples, float *mean, float *std)
{
    const cn_dataset_info *info = &d->info;
    int64_t n = max_samples > 0 && max_samples < info->n ? max_samples : info->n;
    int64_t nch = info->sample.ndim >= 2 ? info->sample.dim[0] : 1;
    int64_t per = cn_dataset_info_sample_size(info) / nch;
    int64_t blocks = (n + STATS_BLOCK - 1) / STATS_BLOCK;
    stats_job j = {d, n, nch, per, NULL, NULL, NULL, NULL};
    j.cnt = cn_calloc((size_t)(blocks * nch), sizeof(double), "channel statistics");
    j.mean = cn_calloc((size_t)(blocks * nch), sizeof(double), "channel statistics");
    j.m2 = cn_calloc((size_t)(blocks * nch), sizeof(double), "channel statistics");
    j.st = cn_calloc((size_t)blocks, sizeof(cn_status), "channel statistics");
    cn_status st = CN_OK;
    if (!j.cnt || !j.mean || !j.m2 || !j.st) {
        st = CN_STATUS_NOMEM;
        goto done;
    }
    cn_parallel_for(blocks, 1, stats_blocks, &j);
    for (int64_t b = 0; b < blocks; b++)
        if (j.st[b] != CN_OK) {
            if (j.st[b] == CN_STATUS_NOMEM) {
                st = cn_set_error(CN_STATUS_NOMEM, "%s: out of memory computing channel statistics", info->name);
                goto done;
            }
            /* the message was set on a worker thread: read the failing block again here */
            for (int64_t k = 0; k < nch; k++) j.cnt[b * nch + k] = j.mean[b * nch + k] = j.m2[b * nch + k] = 0;
            cn_status first = j.st[b];
            j.st[b] = CN_OK;
            stats_blocks(&j, b, b + 1);
            st = j.st[b] != CN_OK ? j.st[b] : cn_set_error(first, "%s: a sample failed to load (and loaded on a second try)", info->name);
            goto done;
        }
    for (int64_t c = 0; c < nch; c++) {
        double cnt = 0, mu = 0, m2 = 0;
        for (int64_t b = 0; b < blocks; b++) {
            double nb = j.cnt[b * nch + c], mb = j.mean[b * nch + c], qb = j.m2[b * nch + c];
            if (nb == 0) continue;
            double tot = cnt + nb, delta = mb - mu;
            mu += delta * nb / tot;
            m2 += qb + delta * delta * cnt * nb / tot;
            cnt = tot;
        }
        double var = cnt > 0 ? m2 / cnt : 0;
        mean[c] = (float)mu;
        std[c] = var > 0 ? (float)sqrt(var) : 1.0f;
    }
done:
    cn_free(j.cnt), cn_free(j.mean), cn_free(j.m2), cn_free(j.st);
    return st;
}

cn_status cn_dataset_class_counts(const cn_dataset *d, int64_t *counts)
{
    const cn_dataset_info *info = &d->info;
    if (info->target_kind != CN_TARGET_CLASS)
        return cn_set_error(CN_STATUS_INVALID_ARG, "%s: class counts need class targets", info->name);
    for (int k = 0; k < info->num_classes; k++) counts[k] = 0;
    float *x = cn_malloc((size_t)cn_dataset_info_sample_size(info) * sizeof(float), "class counts");
    if (!x) return CN_STATUS_NOMEM;
    cn_status st = CN_OK;
    for (int64_t i = 0; i < info->n && st == CN_OK; i++) {
        float t;
        if ((st = cn_dataset_get(d, i, x, &t)) == CN_OK) counts[(int)t]++;
    }
    cn_free(x);
    return st;
}
