/* dist.c — data-parallel training over MPI: the cn_train_comm the trainer talks through.
 *
 * Gradients are summed in buckets. At bind time the optimized tensors are ordered by
 * descending model parameter index (backward finishes the last layers first) and grouped
 * into buckets of about cfg.bucket_bytes (by default an eighth of all gradients, within
 * 16 KiB .. 4 MiB: the first bucket is small enough to start early, and large models still
 * make few calls). During backward the model's hook reports each
 * layer whose gradients are complete; a bucket whose tensors are all complete is packed
 * (scaled by this process's weight) into its own buffer and its MPI_Iallreduce starts at
 * once, and every hook call polls the pending ones (Open MPI progresses non-blocking
 * collectives inside MPI calls), so the sums travel while backward computes the earlier
 * layers. Buckets start strictly in bucket order, which is the same on every process: MPI
 * requires collectives to be started in the same order everywhere. grad_end starts what is
 * left, waits, and unpacks.
 *
 * Every wait polls with a deadline (cfg.timeout_s) instead of blocking in MPI_Wait, so a
 * process that died or hangs turns into a status naming the operation, not a hang. MPI
 * errors are returned (MPI_ERRORS_RETURN) and become statuses too; after either the comm is
 * "broken" (a collective may still be pending) and only cn_dist_abort remains. */
#include <limits.h>
#include <mpi.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "convnet/dist.h"
#include "core/clock.h"

typedef struct bucket {
    int first, count;        /* tensors order[first .. first + count) */
    int64_t floats;
    float *buf;              /* owned: packed gradients, summed in place */
    int remaining;           /* tensors whose gradients are not complete yet this step */
    int started;
} bucket;

struct cn_dist {
    cn_train_comm comm;      /* handed to the trainer; comm.self = this */
    MPI_Comm world;          /* our duplicate of MPI_COMM_WORLD, errors returned */
    int rank, size, local_size;
    char host[MPI_MAX_PROCESSOR_NAME + 1];
    int we_initialized;
    cn_dist_config cfg;
    int broken;              /* a failure left a collective pending: only abort remains */
    int failed_together, root_failed, self_failed; /* the last agree */

    /* gradients (grad_bind) */
    int n_grads;
    float **grads;           /* owned array of borrowed views */
    int64_t *sizes;
    int *order;              /* optimizer tensor indices, bucket by bucket */
    int n_model;
    int *bucket_of;          /* per model parameter: its bucket, or -1 (not averaged) */
    int n_buckets;
    bucket *b;
    MPI_Request *reqs;       /* n_buckets + 1 (the last: the step's stats) */
    int next;                /* the next bucket to start */
    int in_step;
    int64_t step;
    float weight;
    double *stats;
    int n_stats;
    int pending_rc;          /* an MPI error met inside the (void) backward hook */

    cn_dist_stats st;
    double mark;             /* end of the last collective: a step's time runs from here */
};

int cn_dist_available(void) { return 1; }

static cn_status mpi_fail(cn_dist *d, int rc, const char *what)
{
    char msg[MPI_MAX_ERROR_STRING + 1] = "";
    int len = 0;
    MPI_Error_string(rc, msg, &len);
    msg[len > 0 && len <= MPI_MAX_ERROR_STRING ? len : 0] = '\0';
    d->broken = 1;
    return cn_set_error(CN_STATUS_IO, "process %d of %d (%s): MPI failed during %s: %s", d->rank, d->size, d->host, what, msg);
}

static cn_status broken(const cn_dist *d, const char *what)
{
    return cn_set_error(CN_STATUS_INVALID_STATE,
                        "process %d of %d: cannot %s: an earlier communication failure left the job unusable (end it with "
                        "cn_dist_abort)",
                        d->rank, d->size, what);
}

/* Poll the requests until all complete, or fail after cfg.timeout_s. Between polls the
 * process yields its core (to another process or thread that needs it; at once back if
 * none), and after 50 ms of waiting it sleeps 50 us between polls, so a long wait (rank 0
 * writing a checkpoint) does not burn a core. */
static cn_status wait_all(cn_dist *d, int n, MPI_Request *reqs, const char *what)
{
    double start = cn_now_s();
    for (long polls = 1;; polls++) {
        int flag = 0, rc = MPI_Testall(n, reqs, &flag, MPI_STATUSES_IGNORE);
        if (rc != MPI_SUCCESS) return mpi_fail(d, rc, what);
        if (flag) return CN_OK;
        if ((polls & 63) == 0 && cn_now_s() - start > d->cfg.timeout_s) {
            d->broken = 1;
            return cn_set_error(CN_STATUS_IO,
                                "process %d of %d (%s): no answer from the other processes for %.0f s during %s: a process has "
                                "died or hangs",
                                d->rank, d->size, d->host, cn_now_s() - start, what);
        }
        if (polls > 1024 && cn_now_s() - start > 0.05) nanosleep(&(struct timespec){0, 50000}, NULL);
        else sched_yield();
    }
}

/* ---- the collectives of cn_train_comm ---- */

static cn_status op_agree(void *self, cn_status local)
{
    cn_dist *d = self;
    char msg[2048] = "";
    if (local != CN_OK) snprintf(msg, sizeof msg, "%s", cn_last_error());
    if (d->broken) return local != CN_OK ? local : broken(d, "agree with the other processes");
    /* min over processes of (failed ? rank : size) finds the first that failed; the second
     * value is 0 when rank 0 failed */
    int v[2] = {local != CN_OK ? d->rank : d->size, d->rank == 0 && local != CN_OK ? 0 : 1};
    MPI_Request req;
    int rc = MPI_Iallreduce(MPI_IN_PLACE, v, 2, MPI_INT, MPI_MIN, d->world, &req);
    cn_status st = rc != MPI_SUCCESS ? mpi_fail(d, rc, "a status check") : wait_all(d, 1, &req, "a status check");
    d->mark = cn_now_s();
    d->failed_together = 0;
    if (st != CN_OK) return local != CN_OK ? cn_set_error(local, "%s", msg) : st;
    if (v[0] == d->size) return CN_OK;
    d->failed_together = 1;
    d->root_failed = v[1] == 0;
    d->self_failed = local != CN_OK;
    if (local != CN_OK) return cn_set_error(local, "%s", msg);
    return cn_set_error(CN_STATUS_INVALID_STATE, "process %d of %d failed (its own message says why)", v[0], d->size);
}

static cn_status op_broadcast(void *self, void *buf, size_t bytes, const char *what)
{
    cn_dist *d = self;
    if (d->broken) return broken(d, "broadcast");
    cn_status st = CN_OK;
    for (size_t off = 0; off < bytes && st == CN_OK;) {
        size_t n = bytes - off < ((size_t)1 << 30) ? bytes - off : (size_t)1 << 30;
        MPI_Request req;
        int rc = MPI_Ibcast((char *)buf + off, (int)n, MPI_BYTE, 0, d->world, &req);
        st = rc != MPI_SUCCESS ? mpi_fail(d, rc, what) : wait_all(d, 1, &req, what);
        off += n;
    }
    d->mark = cn_now_s();
    return st;
}

static cn_status op_sum(void *self, double *buf, int64_t n, const char *what)
{
    cn_dist *d = self;
    if (d->broken) return broken(d, "sum");
    cn_status st = CN_OK;
    for (int64_t off = 0; off < n && st == CN_OK;) {
        int64_t k = n - off < ((int64_t)1 << 27) ? n - off : (int64_t)1 << 27;
        MPI_Request req;
        int rc = MPI_Iallreduce(MPI_IN_PLACE, buf + off, (int)k, MPI_DOUBLE, MPI_SUM, d->world, &req);
        st = rc != MPI_SUCCESS ? mpi_fail(d, rc, what) : wait_all(d, 1, &req, what);
        off += k;
    }
    d->mark = cn_now_s();
    return st;
}

/* ---- gradients ---- */

static void free_grads(cn_dist *d)
{
    for (int i = 0; i < d->n_buckets; i++) cn_free(d->b[i].buf);
    cn_free(d->b);
    cn_free(d->reqs);
    cn_free(d->grads);
    cn_free(d->sizes);
    cn_free(d->order);
    cn_free(d->bucket_of);
    d->b = NULL, d->reqs = NULL, d->grads = NULL, d->sizes = NULL, d->order = NULL, d->bucket_of = NULL;
    d->n_buckets = d->n_grads = d->n_model = 0;
}

static cn_status op_grad_bind(void *self, int n, float *const *grads, const int64_t *sizes, const int *model_param,
                              int n_model_params)
{
    cn_dist *d = self;
    free_grads(d);
    d->grads = cn_malloc(((size_t)n + 1) * sizeof(float *), "gradient views");
    d->sizes = cn_malloc(((size_t)n + 1) * sizeof(int64_t), "gradient sizes");
    d->order = cn_malloc(((size_t)n + 1) * sizeof(int), "gradient order");
    d->bucket_of = cn_malloc(((size_t)n_model_params + 1) * sizeof(int), "gradient buckets");
    d->b = cn_calloc((size_t)n + 1, sizeof(bucket), "gradient buckets");
    d->reqs = cn_malloc(((size_t)n + 2) * sizeof(MPI_Request), "gradient requests");
    if (!d->grads || !d->sizes || !d->order || !d->bucket_of || !d->b || !d->reqs) {
        free_grads(d);
        return CN_STATUS_NOMEM;
    }
    d->n_grads = n;
    d->n_model = n_model_params;
    for (int i = 0; i < n; i++) {
        d->grads[i] = grads[i], d->sizes[i] = sizes[i], d->order[i] = i;
        if (sizes[i] > INT_MAX)
            return cn_set_error(CN_STATUS_UNSUPPORTED, "process %d: gradient %d has %lld values, more than one MPI call sums",
                                d->rank, i, (long long)sizes[i]);
    }
    /* descending model parameter index: the order in which backward completes them */
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && model_param[d->order[j]] > model_param[d->order[j - 1]]; j--) {
            int x = d->order[j];
            d->order[j] = d->order[j - 1], d->order[j - 1] = x;
        }
    for (int p = 0; p < n_model_params; p++) d->bucket_of[p] = -1;
    int64_t total = 0;
    for (int i = 0; i < n; i++) total += sizes[i];
    size_t target = d->cfg.bucket_bytes / sizeof(float);
    if (!target) { /* automatic: about 8 buckets, each 16 KiB .. 4 MiB */
        target = (size_t)(total / 8);
        if (target < 4096) target = 4096;
        if (target > 1048576) target = 1048576;
    }
    for (int i = 0; i < n; i++) {
        int g = d->order[i];
        bucket *cur = d->n_buckets ? &d->b[d->n_buckets - 1] : NULL;
        if (!cur || (size_t)cur->floats >= target || cur->floats + d->sizes[g] > INT_MAX) {
            cur = &d->b[d->n_buckets++];
            cur->first = i;
        }
        cur->count++;
        cur->floats += d->sizes[g];
        if (model_param[g] >= 0 && model_param[g] < n_model_params) d->bucket_of[model_param[g]] = (int)(cur - d->b);
    }
    for (int k = 0; k < d->n_buckets; k++)
        if (!(d->b[k].buf = cn_malloc((size_t)(d->b[k].floats ? d->b[k].floats : 1) * sizeof(float), "gradient bucket"))) {
            free_grads(d);
            return CN_STATUS_NOMEM;
        }
    d->st.buckets = d->n_buckets;
    d->st.floats = 0;
    for (int i = 0; i < n; i++) d->st.floats += d->sizes[i];
    return CN_OK;
}

/* start every bucket whose gradients are complete, in bucket order */
static void start_ready(cn_dist *d)
{
    while (d->next < d->n_buckets && d->b[d->next].remaining <= 0 && !d->pending_rc) {
        bucket *bk = &d->b[d->next];
        float *dst = bk->buf, w = d->weight;
        for (int i = bk->first; i < bk->first + bk->count; i++) {
            const float *g = d->grads[d->order[i]];
            int64_t n = d->sizes[d->order[i]];
            if (w == 1.0f) memcpy(dst, g, (size_t)n * sizeof(float));
            else
                for (int64_t k = 0; k < n; k++) dst[k] = w * g[k];
            dst += n;
        }
        int rc = MPI_Iallreduce(MPI_IN_PLACE, bk->buf, (int)bk->floats, MPI_FLOAT, MPI_SUM, d->world, &d->reqs[d->next]);
        if (rc != MPI_SUCCESS) {
            d->pending_rc = rc;
            d->reqs[d->next] = MPI_REQUEST_NULL;
        }
        bk->started = 1;
        d->next++;
    }
}

/* let MPI move the started sums along (it progresses them inside MPI calls) */
static void poll_started(cn_dist *d)
{
    int flag;
    for (int k = 0; k < d->next; k++)
        if (d->reqs[k] != MPI_REQUEST_NULL) {
            if (MPI_Test(&d->reqs[k], &flag, MPI_STATUS_IGNORE) != MPI_SUCCESS || !flag) break;
        }
}

static cn_status op_grad_begin(void *self, int64_t step, float weight, double *stats, int n_stats)
{
    cn_dist *d = self;
    if (d->broken) return broken(d, "sum gradients");
    double t0 = cn_now_s();
    d->in_step = 1;
    d->step = step;
    d->weight = weight;
    d->next = 0;
    d->pending_rc = MPI_SUCCESS;
    for (int k = 0; k < d->n_buckets; k++) {
        d->b[k].remaining = d->b[k].count;
        d->b[k].started = 0;
        d->reqs[k] = MPI_REQUEST_NULL;
    }
    d->stats = stats;
    d->n_stats = n_stats;
    d->reqs[d->n_buckets] = MPI_REQUEST_NULL;
    if (n_stats > 0) {
        int rc = MPI_Iallreduce(MPI_IN_PLACE, stats, n_stats, MPI_DOUBLE, MPI_SUM, d->world, &d->reqs[d->n_buckets]);
        if (rc != MPI_SUCCESS) return mpi_fail(d, rc, "the training statistics");
    }
    start_ready(d); /* buckets without tensors, if any */
    d->st.work_s += cn_now_s() - t0;
    return CN_OK;
}

static void op_grad_ready(void *self, int first, int n)
{
    cn_dist *d = self;
    if (!d->in_step || d->broken) return;
    double t0 = cn_now_s();
    for (int p = first; p < first + n; p++)
        if (p >= 0 && p < d->n_model && d->bucket_of[p] >= 0) d->b[d->bucket_of[p]].remaining--;
    start_ready(d);
    poll_started(d);
    d->st.work_s += cn_now_s() - t0;
}

static cn_status op_grad_end(void *self)
{
    cn_dist *d = self;
    if (d->broken) return broken(d, "sum gradients");
    if (!d->in_step) return cn_set_error(CN_STATUS_INVALID_STATE, "process %d: grad_end without grad_begin", d->rank);
    double t0 = cn_now_s();
    for (int k = 0; k < d->n_buckets; k++) d->b[k].remaining = 0; /* backward is over (or was skipped) */
    start_ready(d);
    char what[96];
    snprintf(what, sizeof what, "the gradient sum of step %lld", (long long)d->step + 1);
    if (d->pending_rc) return mpi_fail(d, d->pending_rc, what);
    double t1 = cn_now_s();
    cn_status st = wait_all(d, d->n_buckets + 1, d->reqs, what);
    double t2 = cn_now_s();
    d->in_step = 0;
    if (st != CN_OK) return st;
    for (int k = 0; k < d->n_buckets; k++) {
        const float *src = d->b[k].buf;
        for (int i = d->b[k].first; i < d->b[k].first + d->b[k].count; i++) {
            int64_t n = d->sizes[d->order[i]];
            memcpy(d->grads[d->order[i]], src, (size_t)n * sizeof(float));
            src += n;
        }
    }
    double t3 = cn_now_s();
    d->st.steps++;
    d->st.wait_s += t2 - t1;
    d->st.work_s += (t1 - t0) + (t3 - t2);
    d->st.step_s += t3 - d->mark;
    d->mark = t3;
    return CN_OK;
}

/* ---- the object ---- */

cn_status cn_dist_create(cn_dist **out, const cn_dist_config *cfg)
{
    *out = NULL;
    if (!(cfg->timeout_s > 0))
        return cn_set_error(CN_STATUS_INVALID_ARG, "dist: timeout %g s must be > 0", cfg->timeout_s);
    if (cfg->bucket_bytes && cfg->bucket_bytes < sizeof(float))
        return cn_set_error(CN_STATUS_INVALID_ARG, "dist: bucket size %zu bytes must hold at least one float", cfg->bucket_bytes);
    cn_dist *d = cn_calloc(1, sizeof *d, "dist");
    if (!d) return CN_STATUS_NOMEM;
    d->cfg = *cfg;
    d->world = MPI_COMM_NULL;
    int inited = 0, provided = 0, rc;
    MPI_Initialized(&inited);
    if (!inited) {
        if ((rc = MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided)) != MPI_SUCCESS) {
            cn_free(d);
            return cn_set_error(CN_STATUS_IO, "dist: MPI_Init_thread failed (error %d)", rc);
        }
        d->we_initialized = 1;
    }
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm node = MPI_COMM_NULL;
    int len = 0;
    if ((rc = MPI_Comm_dup(MPI_COMM_WORLD, &d->world)) != MPI_SUCCESS ||
        (rc = MPI_Comm_set_errhandler(d->world, MPI_ERRORS_RETURN)) != MPI_SUCCESS ||
        (rc = MPI_Comm_rank(d->world, &d->rank)) != MPI_SUCCESS || (rc = MPI_Comm_size(d->world, &d->size)) != MPI_SUCCESS ||
        (rc = MPI_Comm_split_type(d->world, MPI_COMM_TYPE_SHARED, d->rank, MPI_INFO_NULL, &node)) != MPI_SUCCESS ||
        (rc = MPI_Comm_size(node, &d->local_size)) != MPI_SUCCESS || (rc = MPI_Get_processor_name(d->host, &len)) != MPI_SUCCESS) {
        cn_status st = mpi_fail(d, rc, "setup");
        if (node != MPI_COMM_NULL) MPI_Comm_free(&node);
        cn_dist_destroy(d);
        return st;
    }
    MPI_Comm_free(&node);
    d->host[len > 0 && len <= MPI_MAX_PROCESSOR_NAME ? len : 0] = '\0';
    d->comm = (cn_train_comm){d->rank, d->size, d, op_agree, op_broadcast, op_sum, op_grad_bind, op_grad_begin, op_grad_ready,
                              op_grad_end};
    d->mark = cn_now_s();
    *out = d;
    return CN_OK;
}

int cn_dist_rank(const cn_dist *d) { return d ? d->rank : 0; }
int cn_dist_size(const cn_dist *d) { return d ? d->size : 1; }
int cn_dist_local_size(const cn_dist *d) { return d && d->local_size > 0 ? d->local_size : 1; }
const char *cn_dist_host(const cn_dist *d) { return d ? d->host : ""; }
const cn_train_comm *cn_dist_comm(cn_dist *d) { return d ? &d->comm : NULL; }
cn_status cn_dist_agree(cn_dist *d, cn_status local) { return d ? op_agree(d, local) : local; }
int cn_dist_failed_together(const cn_dist *d) { return !d || d->failed_together; }

int cn_dist_should_report(const cn_dist *d)
{
    if (!d || d->rank == 0) return 1;
    if (!d->failed_together) return 1;          /* its own failure */
    return d->self_failed && !d->root_failed;   /* else rank 0's message tells */
}

void cn_dist_get_stats(const cn_dist *d, cn_dist_stats *s)
{
    if (d) *s = d->st;
    else memset(s, 0, sizeof *s);
}

void cn_dist_destroy(cn_dist *d)
{
    if (!d) return;
    free_grads(d);
    if (d->world != MPI_COMM_NULL) MPI_Comm_free(&d->world);
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (d->we_initialized && !finalized) MPI_Finalize();
    cn_free(d);
}

void cn_dist_abort(cn_dist *d, int code)
{
    int inited = 0;
    MPI_Initialized(&inited);
    if (inited) MPI_Abort(d && d->world != MPI_COMM_NULL ? d->world : MPI_COMM_WORLD, code);
    exit(code);
}
