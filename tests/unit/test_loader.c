/* test_loader.c — the loader: batch counts, per-epoch permutations from the seed, sharding,
 * seeking, normalization (given and computed), failures of samples reported with their
 * message, and determinism: the same batches (inputs, masks, indices) with 0, 1, 2 and 4
 * worker threads, any prefetch depth and any thread-pool size, with augmentation on. */
#include <stdlib.h>
#include <string.h>

#include "convnet/augment.h"
#include "test.h"

enum { N = 103, XS = 3 };

/* sample i: (i, i + 0.5, -i), class i % 5 */
static cn_dataset *toy(void)
{
    float x[N * XS], t[N];
    for (int i = 0; i < N; i++) x[3 * i] = (float)i, x[3 * i + 1] = i + 0.5f, x[3 * i + 2] = (float)-i, t[i] = (float)(i % 5);
    cn_dataset_info info;
    memset(&info, 0, sizeof info);
    info.n = N, info.sample = (cn_shape){2, {1, XS}}, info.target_kind = CN_TARGET_CLASS, info.num_classes = 5;
    snprintf(info.name, sizeof info.name, "toy");
    cn_dataset *d = NULL;
    CHECK_OK(cn_dataset_from_arrays(&d, &info, x, t));
    return d;
}

/* run one epoch; order[] receives the indices; checks each row matches its index */
static int64_t epoch_order(cn_loader *l, int64_t epoch, int64_t *order)
{
    CHECK_OK(cn_loader_start_epoch(l, epoch));
    cn_batch b;
    int64_t k = 0;
    int r;
    while ((r = cn_loader_next(l, &b)) == 1)
        for (int64_t i = 0; i < b.count; i++) {
            int64_t idx = b.index[i];
            CHECK(b.x[i * XS] == (float)idx && b.x[i * XS + 2] == (float)-idx && b.target[i] == (float)(idx % 5));
            order[k++] = idx;
        }
    CHECK_EQ_INT(r, 0);
    return k;
}

static void test_epochs(void)
{
    cn_dataset *d = toy();
    cn_loader_config c = cn_loader_defaults();
    CHECK(c.batch == 32 && c.shuffle == 1 && c.shard_count == 1 && c.workers == 2 && !c.augment && c.normalize == CN_NORMALIZE_NONE);
    c.batch = 10, c.seed = 5;
    for (int workers = 0; workers <= 2; workers += 2) {
        c.workers = workers;
        cn_loader *l = NULL;
        CHECK_OK(cn_loader_create(&l, d, &c));
        if (!l) continue;
        CHECK_EQ_INT(cn_loader_batches(l), 11);
        int64_t o0[N], o1[N], o0b[N];
        CHECK_EQ_INT(epoch_order(l, 0, o0), N);
        CHECK_EQ_INT(epoch_order(l, 1, o1), N);
        CHECK_EQ_INT(epoch_order(l, 0, o0b), N);
        int seen[N] = {0}, diff = 0;
        for (int i = 0; i < N; i++) seen[o0[i]]++, diff += o0[i] != o1[i];
        for (int i = 0; i < N; i++) CHECK_EQ_INT(seen[i], 1); /* a permutation */
        CHECK(diff > N / 2);                                    /* epochs differ */
        CHECK(!memcmp(o0, o0b, sizeof o0));                     /* and repeat */
        /* the last batch is short */
        CHECK_OK(cn_loader_start_epoch(l, 3));
        cn_batch b;
        int64_t last = 0;
        while (cn_loader_next(l, &b) == 1) last = b.count;
        CHECK_EQ_INT(last, 3);
        CHECK_EQ_INT(cn_loader_next(l, &b), 0); /* and stays at the end */
        cn_loader_destroy(l);
    }
    /* drop_last, no shuffle */
    c.drop_last = 1, c.shuffle = 0, c.workers = 1;
    cn_loader *l = NULL;
    CHECK_OK(cn_loader_create(&l, d, &c));
    CHECK_EQ_INT(cn_loader_batches(l), 10);
    int64_t o[N];
    CHECK_EQ_INT(epoch_order(l, 0, o), 100);
    for (int i = 0; i < 100; i++) CHECK_EQ_INT(o[i], i);
    cn_loader_destroy(l);
    /* another seed, another order */
    c.drop_last = 0, c.shuffle = 1;
    int64_t a[N], b2[N];
    CHECK_OK(cn_loader_create(&l, d, &c));
    epoch_order(l, 0, a);
    cn_loader_destroy(l);
    c.seed = 6;
    CHECK_OK(cn_loader_create(&l, d, &c));
    epoch_order(l, 0, b2);
    cn_loader_destroy(l);
    CHECK(memcmp(a, b2, sizeof a) != 0);
    cn_dataset_destroy(d);
}

static void test_shards_and_seek(void)
{
    cn_dataset *d = toy();
    cn_loader_config c = cn_loader_defaults();
    c.batch = 7, c.seed = 9;
    /* three shards split each epoch's order without overlap */
    int seen[N] = {0};
    int64_t total = 0;
    for (int r = 0; r < 3; r++) {
        c.shard_rank = r, c.shard_count = 3;
        cn_loader *l = NULL;
        CHECK_OK(cn_loader_create(&l, d, &c));
        int64_t o[N];
        int64_t k = epoch_order(l, 4, o);
        CHECK_EQ_INT(k, r == 0 ? 35 : 34);
        for (int64_t i = 0; i < k; i++) seen[o[i]]++;
        total += k;
        cn_loader_destroy(l);
    }
    CHECK_EQ_INT(total, N);
    for (int i = 0; i < N; i++) CHECK_EQ_INT(seen[i], 1);
    /* seeking: batches from b on are those of a straight run */
    c.shard_rank = 0, c.shard_count = 1;
    for (int workers = 0; workers <= 3; workers += 3) {
        c.workers = workers;
        cn_loader *l = NULL;
        CHECK_OK(cn_loader_create(&l, d, &c));
        int64_t full[N], part[N];
        epoch_order(l, 2, full);
        CHECK_OK(cn_loader_start_epoch(l, 2));
        cn_batch b;
        CHECK_EQ_INT(cn_loader_next(l, &b), 1); /* read ahead a little, then seek */
        CHECK_OK(cn_loader_seek(l, 5));
        int64_t k = 0;
        while (cn_loader_next(l, &b) == 1)
            for (int64_t i = 0; i < b.count; i++) part[k++] = b.index[i];
        CHECK_EQ_INT(k, N - 35);
        CHECK(!memcmp(part, full + 35, (size_t)k * sizeof(int64_t)));
        CHECK_OK(cn_loader_seek(l, cn_loader_batches(l))); /* to the end */
        CHECK_EQ_INT(cn_loader_next(l, &b), 0);
        CHECK_ERR(cn_loader_seek(l, 16), CN_STATUS_INVALID_ARG, "loader: batch 16 is not in 0..15");
        cn_loader_destroy(l);
    }
    cn_dataset_destroy(d);
}

static void test_config_errors(void)
{
    cn_dataset *d = toy();
    cn_loader *l = NULL;
    cn_loader_config c = cn_loader_defaults();
    c.batch = 0;
    CHECK_ERR(cn_loader_create(&l, d, &c), CN_STATUS_INVALID_ARG, "loader: batch size 0 must be >= 1");
    c = cn_loader_defaults(), c.shard_rank = 2, c.shard_count = 2;
    CHECK_ERR(cn_loader_create(&l, d, &c), CN_STATUS_INVALID_ARG, "loader: shard 2 of 2 is not valid");
    c = cn_loader_defaults(), c.workers = 65;
    CHECK_ERR(cn_loader_create(&l, d, &c), CN_STATUS_INVALID_ARG, "loader: 65 workers; expected 0..64");
    c = cn_loader_defaults(), c.normalize = CN_NORMALIZE_GIVEN;
    CHECK_ERR(cn_loader_create(&l, d, &c), CN_STATUS_INVALID_ARG, "normalize GIVEN needs mean and std arrays");
    float m = 0, s = 0;
    c.mean = &m, c.std = &s;
    CHECK_ERR(cn_loader_create(&l, d, &c), CN_STATUS_INVALID_ARG, "loader: channel 0 has mean 0 and std 0; std must be > 0");
    /* an augmentation that does not fit the samples */
    cn_augment *a = NULL;
    CHECK_OK(cn_augment_parse(&a, "rotate=10"));
    c = cn_loader_defaults(), c.augment = a;
    CHECK_ERR(cn_loader_create(&l, d, &c), CN_STATUS_SHAPE, "rotate needs images");
    cn_augment_destroy(a);
    CHECK(l == NULL);
    /* calls in the wrong state */
    c = cn_loader_defaults();
    CHECK_OK(cn_loader_create(&l, d, &c));
    cn_batch b;
    CHECK_EQ_INT(cn_loader_next(l, &b), -1);
    CHECK(strstr(cn_last_error(), "call cn_loader_start_epoch first") != NULL);
    CHECK_ERR(cn_loader_seek(l, 1), CN_STATUS_INVALID_STATE, "before cn_loader_seek");
    CHECK_ERR(cn_loader_start_epoch(l, -1), CN_STATUS_INVALID_ARG, "epoch -1");
    /* destroying mid-epoch with workers ahead neither hangs nor leaks */
    CHECK_OK(cn_loader_start_epoch(l, 0));
    CHECK_EQ_INT(cn_loader_next(l, &b), 1);
    cn_loader_destroy(l);
    cn_loader_destroy(NULL);
    cn_dataset_destroy(d);
}

static void test_normalize(void)
{
    cn_dataset *tr = NULL;
    CHECK_OK(cn_dataset_open(&tr, NULL, "synthetic-seg:n=64,size=12x10,seed=3"));
    if (!tr) return;
    cn_loader_config c = cn_loader_defaults();
    c.batch = 64, c.normalize = CN_NORMALIZE_COMPUTE, c.shuffle = 0;
    cn_loader *l = NULL;
    CHECK_OK(cn_loader_create(&l, tr, &c));
    const float *mean, *std;
    CHECK_EQ_INT(cn_loader_normalization(l, &mean, &std), 3);
    CHECK_OK(cn_loader_start_epoch(l, 0));
    cn_batch b;
    CHECK_EQ_INT(cn_loader_next(l, &b), 1);
    /* after normalization each channel has mean 0 and std 1 over the epoch */
    for (int ch = 0; ch < 3; ch++) {
        double s = 0, q = 0;
        for (int64_t i = 0; i < 64; i++)
            for (int k = 0; k < 120; k++) s += b.x[(i * 3 + ch) * 120 + k], q += pow(b.x[(i * 3 + ch) * 120 + k], 2);
        double m = s / (64 * 120);
        CHECK_NEAR(m, 0, 1e-4);
        CHECK_NEAR(sqrt(q / (64 * 120) - m * m), 1, 1e-4);
    }
    /* GIVEN with the same numbers gives the same batch */
    cn_loader_config g = c;
    g.normalize = CN_NORMALIZE_GIVEN, g.mean = mean, g.std = std;
    cn_loader *l2 = NULL;
    CHECK_OK(cn_loader_create(&l2, tr, &g));
    CHECK_OK(cn_loader_start_epoch(l2, 0));
    cn_batch b2;
    CHECK_EQ_INT(cn_loader_next(l2, &b2), 1);
    CHECK(!memcmp(b.x, b2.x, 64 * 360 * sizeof(float)));
    /* and the values are (x - mean) / std of the raw sample */
    float raw[360], mask[120];
    CHECK_OK(cn_dataset_get(tr, 5, raw, mask));
    for (int ch = 0; ch < 3; ch++) CHECK_NEAR(b2.x[5 * 360 + ch * 120 + 7], (raw[ch * 120 + 7] - mean[ch]) / std[ch], 1e-5);
    CHECK(!memcmp(b2.target + 5 * 120, mask, sizeof mask)); /* masks are not normalized */
    cn_loader_destroy(l2);
    cn_loader_destroy(l);
    c.normalize = CN_NORMALIZE_NONE;
    CHECK_OK(cn_loader_create(&l, tr, &c));
    CHECK_EQ_INT(cn_loader_normalization(l, &mean, &std), 0);
    CHECK(mean == NULL);
    cn_loader_destroy(l);
    cn_dataset_destroy(tr);
}

/* the same batches whatever prepares them */
static void test_workers_deterministic(void)
{
    cn_dataset *tr = NULL;
    CHECK_OK(cn_dataset_open(&tr, NULL, "synthetic-seg:n=50,size=16x20,seed=8"));
    cn_augment *a = NULL;
    CHECK_OK(cn_augment_parse(&a, "hflip,rotate=20,rrc=0.5,jitter=0.3,blur=1:p=0.5,noise=0.05,erase"));
    if (!tr || !a) return;
    const int64_t xs = 3 * 16 * 20, ts = 16 * 20, bs = 8, nb = 7, per_epoch = 50;
    float *ref_x = malloc(sizeof(float) * 2 * per_epoch * xs), *ref_t = malloc(sizeof(float) * 2 * per_epoch * ts);
    int64_t ref_i[100];
    static const struct {
        int workers, prefetch, threads;
    } cfgs[] = {{0, 0, 1}, {0, 0, 4}, {1, 0, 1}, {1, 1, 4}, {2, 0, 2}, {4, 0, 4}, {4, 2, 1}, {3, 6, 4}};
    for (size_t k = 0; k < sizeof cfgs / sizeof cfgs[0]; k++) {
        cn_set_num_threads(cfgs[k].threads);
        cn_loader_config c = cn_loader_defaults();
        c.batch = bs, c.seed = 13, c.augment = a, c.workers = cfgs[k].workers, c.prefetch = cfgs[k].prefetch;
        c.normalize = CN_NORMALIZE_COMPUTE;
        cn_loader *l = NULL;
        CHECK_OK(cn_loader_create(&l, tr, &c));
        if (!l) continue;
        CHECK_EQ_INT(cn_loader_batches(l), nb);
        int64_t row = 0;
        int mismatch = 0;
        for (int64_t e = 0; e < 2; e++) {
            CHECK_OK(cn_loader_start_epoch(l, e));
            cn_batch b;
            while (cn_loader_next(l, &b) == 1)
                for (int64_t i = 0; i < b.count; i++, row++) {
                    if (k == 0) {
                        memcpy(ref_x + row * xs, b.x + i * xs, (size_t)xs * sizeof(float));
                        memcpy(ref_t + row * ts, b.target + i * ts, (size_t)ts * sizeof(float));
                        ref_i[row] = b.index[i];
                    } else
                        mismatch += memcmp(ref_x + row * xs, b.x + i * xs, (size_t)xs * sizeof(float)) != 0 ||
                                    memcmp(ref_t + row * ts, b.target + i * ts, (size_t)ts * sizeof(float)) != 0 || ref_i[row] != b.index[i];
                }
        }
        CHECK_EQ_INT(row, 100);
        CHECK_MSG(!mismatch, "workers %d prefetch %d threads %d: %d samples differ from the single-threaded run", cfgs[k].workers,
                  cfgs[k].prefetch, cfgs[k].threads, mismatch);
        cn_loader_destroy(l);
    }
    cn_set_num_threads(0);
    /* augmentation really happened: sample index 0 differs between the two epochs */
    int64_t r0 = -1, r1 = -1;
    for (int64_t i = 0; i < 50; i++) r0 = ref_i[i] == 0 ? i : r0;
    for (int64_t i = 50; i < 100; i++) r1 = ref_i[i] == 0 ? i : r1;
    CHECK(r0 >= 0 && r1 >= 0 && memcmp(ref_x + r0 * xs, ref_x + r1 * xs, (size_t)xs * sizeof(float)) != 0);
    /* restarting an epoch while the workers are ahead gives the new epoch's batches */
    cn_loader_config c = cn_loader_defaults();
    c.batch = bs, c.seed = 13, c.augment = a, c.workers = 4, c.prefetch = 4, c.normalize = CN_NORMALIZE_COMPUTE;
    cn_loader *l = NULL;
    CHECK_OK(cn_loader_create(&l, tr, &c));
    CHECK_OK(cn_loader_start_epoch(l, 0));
    cn_batch b;
    CHECK_EQ_INT(cn_loader_next(l, &b), 1);
    CHECK_OK(cn_loader_start_epoch(l, 1));
    int64_t row = 50;
    int mismatch = 0;
    while (cn_loader_next(l, &b) == 1)
        for (int64_t i = 0; i < b.count; i++, row++) mismatch += memcmp(ref_x + row * xs, b.x + i * xs, (size_t)xs * sizeof(float)) != 0;
    CHECK_EQ_INT(row, 100);
    CHECK(!mismatch);
    cn_loader_destroy(l);
    free(ref_x), free(ref_t);
    cn_augment_destroy(a);
    cn_dataset_destroy(tr);
}

/* a source that fails at one sample */
typedef struct {
    int64_t bad;
} failing;

static cn_status failing_get(void *self, int64_t i, float *x, float *t)
{
    const failing *f = self;
    if (i == f->bad) return cn_set_error(CN_STATUS_IO, "failing: sample %lld could not be read", (long long)i);
    x[0] = (float)i;
    t[0] = 0;
    return CN_OK;
}

static void test_failures(void)
{
    failing *f = cn_malloc(sizeof *f, "test");
    f->bad = 17;
    cn_dataset_info info;
    memset(&info, 0, sizeof info);
    info.n = 40, info.sample = (cn_shape){1, {1}}, info.target_kind = CN_TARGET_CLASS, info.num_classes = 1;
    snprintf(info.name, sizeof info.name, "failing");
    static const cn_dataset_ops ops = {failing_get, cn_free};
    cn_dataset *d = NULL;
    CHECK_OK(cn_dataset_create(&d, &info, &ops, f));
    for (int workers = 0; workers <= 3; workers += 3) {
        cn_loader_config c = cn_loader_defaults();
        c.batch = 5, c.shuffle = 0, c.workers = workers;
        cn_loader *l = NULL;
        CHECK_OK(cn_loader_create(&l, d, &c));
        CHECK_OK(cn_loader_start_epoch(l, 0));
        cn_batch b;
        int ok = 0, failed = 0, r;
        while ((r = cn_loader_next(l, &b)) != 0) {
            if (r == 1) ok++;
            else {
                failed++;
                CHECK_MSG(strstr(cn_last_error(), "failing: sample 17 could not be read") != NULL, "workers %d: %s", workers, cn_last_error());
            }
        }
        /* batch 3 (samples 15..19) fails; the others are fine and the epoch goes on */
        CHECK(ok == 7 && failed == 1);
        cn_loader_destroy(l);
    }
    cn_dataset_destroy(d);
    /* creation failure frees the source */
    failing *g = cn_malloc(sizeof *g, "test");
    info.n = 0;
    CHECK_ERR(cn_dataset_create(&d, &info, &ops, g), CN_STATUS_SHAPE, "failing: 0 samples");
}

/* ---- allocation failures: fail the k-th allocation; a clean status and nothing leaked ---- */

static _Atomic int fail_at, n_allocs, n_live;

static void *failing_alloc(size_t size, size_t align, void *user)
{
    (void)user;
    if (n_allocs++ == fail_at) return NULL;
    size_t rounded = (size + align - 1) / align * align;
    void *p = aligned_alloc(align, rounded ? rounded : align);
    if (p) n_live++;
    return p;
}

static void counting_free(void *p, void *user)
{
    (void)user;
    if (p) {
        n_live--;
        free(p);
    }
}

/* open a dataset, build a pipeline and a loader (with workers, computed normalization),
 * run an epoch, free everything; returns the first failure */
static cn_status scenario(int workers)
{
    cn_dataset *d = NULL;
    cn_augment *a = NULL;
    cn_loader *l = NULL;
    cn_status st = cn_dataset_open(&d, NULL, "synthetic-seg:n=20,size=8,test=0");
    if (st == CN_OK) st = cn_augment_parse(&a, "hflip,rotate=10,noise=0.1");
    if (st == CN_OK) {
        cn_loader_config c = cn_loader_defaults();
        c.batch = 6, c.augment = a, c.workers = workers, c.normalize = CN_NORMALIZE_COMPUTE;
        st = cn_loader_create(&l, d, &c);
    }
    if (st == CN_OK) st = cn_loader_start_epoch(l, 0);
    cn_batch b;
    int r;
    while (st == CN_OK && (r = cn_loader_next(l, &b)) != 0)
        if (r < 0) st = CN_STATUS_NOMEM;
    cn_loader_destroy(l);
    cn_augment_destroy(a);
    cn_dataset_destroy(d);
    return st;
}

static void test_alloc_failures(void)
{
    for (int workers = 0; workers <= 2; workers += 2) {
        int k;
        for (k = 0; k < 300; k++) {
            fail_at = k;
            n_allocs = 0;
            n_live = 0;
            cn_set_allocator(&(cn_allocator){failing_alloc, counting_free, NULL});
            cn_status st = scenario(workers);
            int live = n_live;
            cn_set_allocator(NULL);
            CHECK_MSG(live == 0, "workers %d, failing allocation %d: %d allocations leaked (%s)", workers, k, live, cn_last_error());
            if (st == CN_OK) break;
            CHECK_MSG(st == CN_STATUS_NOMEM, "workers %d, failing allocation %d: %s (%s)", workers, k, cn_status_name(st), cn_last_error());
        }
        CHECK_MSG(k >= 10 && k < 300, "workers %d: succeeded after %d failed allocations", workers, k);
    }
}

int main(void)
{
    RUN(test_epochs);
    RUN(test_shards_and_seek);
    RUN(test_config_errors);
    RUN(test_normalize);
    RUN(test_workers_deterministic);
    RUN(test_failures);
    RUN(test_alloc_failures);
    return cn_test_finish();
}
