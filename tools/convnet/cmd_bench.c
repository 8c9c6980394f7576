/* cmd_bench.c — `convnet bench`: convnet's convolution kernels and small networks timed on
 * this machine, side by side with PyTorch (bench/pytorch_bench.py run with Debian's
 * /usr/bin/python3 in the same run), as ratios; then Darknet's ResNet-18 and yolov3-tiny cfgs
 * imported by convnet against Darknet itself (bench/darknet_bench.c, built when Debian's
 * libdarknet is installed); the targets of issue 8 checked per row.
 * A program, not a test: ctest never runs it. docs/PERFORMANCE.md holds a full run. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "io/file.h"
#include "kernels/vec.h"

/* ---- timing ---- */

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

#define MAX_REPS 101

/* ---- machine peak: the FMA loop of the active ISA on every thread at once ---- */

typedef struct {
    const cn_vec_ops *v;
    int64_t iters;
    float sink[256];
} peak_job;

static void peak_range(void *ctx, int64_t b, int64_t e)
{
    peak_job *j = ctx;
    for (int64_t i = b; i < e; i++) j->sink[i & 255] = j->v->fma_loop(j->iters);
}

/* best of 40 runs of ~5 ms, GFLOP/s on `threads` threads: the best run is the one no other
 * process disturbed */
static double measure_peak(int threads)
{
    peak_job j = {cn_vec(), 0, {0}};
    j.iters = (int64_t)(5e-3 * 4e9 / (double)(j.v->fma_flops_per_iter / 32 > 0 ? j.v->fma_flops_per_iter / 32 : 1));
    cn_set_num_threads(threads);
    double best = 0;
    for (int r = 0; r < 40; r++) {
        const double t0 = now_s();
        cn_parallel_for(threads, 1, peak_range, &j);
        const double t = now_s() - t0;
        const double gf = (double)threads * (double)j.iters * j.v->fma_flops_per_iter / t * 1e-9;
        if (gf > best) best = gf;
    }
    cn_set_num_threads(0);
    return best;
}

/* ---- the convolution shapes of the issue ---- */

typedef struct {
    const char *name, *what;
    int64_t n, ic, oc, h, w, k, s, p, groups;
    double t_fwd, t_fwdbwd; /* 1-thread targets: convnet / PyTorch speed ratio */
    int big;                /* b-e: also >= 75% of peak and >= 1.8x on 2 threads */
} shape_def;

static const shape_def shapes[] = {
    {"a", "ResNet stem 3->64 224x224 k7 s2 p3, N=8", 8, 3, 64, 224, 224, 7, 2, 3, 1, 1.0, 1.0, 0},
    {"b", "64->64 56x56 k3 p1, N=8", 8, 64, 64, 56, 56, 3, 1, 1, 1, 1.0, 1.0, 1},
    {"c", "128->128 28x28 k3 p1, N=32", 32, 128, 128, 28, 28, 3, 1, 1, 1, 1.0, 1.0, 1},
    {"d", "256->256 14x14 k3 p1, N=32", 32, 256, 256, 14, 14, 3, 1, 1, 1, 1.0, 1.0, 1},
    {"e", "512->512 7x7 k3 p1, N=32", 32, 512, 512, 7, 7, 3, 1, 1, 1, 1.0, 1.0, 1},
    {"f", "depthwise 256ch 28x28 k3 p1, N=32", 32, 256, 256, 28, 28, 3, 1, 1, 256, 2.5, 5.0, 0},
    {"g", "1x1 256->64 56x56, N=8", 8, 256, 64, 56, 56, 1, 1, 0, 1, 1.0, 1.0, 0},
    {"h", "MNIST first layer 1->32 28x28 k5 p2, N=64", 64, 1, 32, 28, 28, 5, 1, 2, 1, 1.0, 1.0, 0},
};
#define NSHAPES ((int)(sizeof shapes / sizeof shapes[0]))

typedef struct {
    double fwd, bwd_data, bwd_weights, fwdbwd; /* median seconds */
    double macs, bytes_fwd, bytes_fwdbwd;
    cn_conv_algo algo;
} conv_result;

static void fill(float *p, int64_t n, uint64_t seed)
{
    cn_rng r;
    cn_rng_init(&r, seed, CN_STREAM_USER);
    cn_rng_fill_uniform(&r, p, n, -1, 1);
}

static cn_status bench_conv(const shape_def *s, int threads, int reps, conv_result *res)
{
    cn_status st = CN_OK;
    cn_set_num_threads(threads);
    cn_conv_geom g;
    cn_conv_geom_init(&g, 2);
    g.n = s->n, g.ic = s->ic, g.oc = s->oc, g.groups = s->groups;
    g.in[0] = s->h, g.in[1] = s->w, g.k[0] = g.k[1] = s->k, g.stride[0] = g.stride[1] = s->s;
    g.pad_begin[0] = g.pad_begin[1] = g.pad_end[0] = g.pad_end[1] = s->p;
    float *x = NULL, *w = NULL, *b = NULL, *y = NULL, *dy = NULL, *dx = NULL, *dw = NULL, *db = NULL, *scratch = NULL;
    if ((st = cn_conv_geom_resolve(&g, s->name)) != CN_OK) goto done;
    const int64_t xn = g.n * g.ic * g.in[0] * g.in[1], yn = g.n * g.oc * g.out[0] * g.out[1];
    const int64_t wn = cn_conv_params(&g, 0);
    const size_t sf = cn_conv_scratch_floats(&g);
    x = cn_malloc((size_t)xn * 4, "bench x"), dx = cn_malloc((size_t)xn * 4, "bench dx");
    y = cn_malloc((size_t)yn * 4, "bench y"), dy = cn_malloc((size_t)yn * 4, "bench dy");
    w = cn_malloc((size_t)wn * 4, "bench w"), dw = cn_malloc((size_t)wn * 4, "bench dw");
    b = cn_malloc((size_t)g.oc * 4, "bench b"), db = cn_malloc((size_t)g.oc * 4, "bench db");
    scratch = cn_malloc((sf ? sf : 1) * 4, "bench scratch");
    if (!x || !dx || !y || !dy || !w || !dw || !b || !db || !scratch) {
        st = CN_STATUS_NOMEM;
        goto done;
    }
    fill(x, xn, 1), fill(dy, yn, 2), fill(w, wn, 3), fill(b, g.oc, 4);
    memset(dx, 0, (size_t)xn * 4), memset(dw, 0, (size_t)wn * 4), memset(db, 0, (size_t)g.oc * 4);
    double tf[MAX_REPS], td[MAX_REPS], tw[MAX_REPS], ta[MAX_REPS];
    for (int r = -2; r < reps; r++) { /* two warm-up rounds */
        double t0 = now_s();
        cn_conv_forward(y, x, w, b, &g, scratch);
        double t1 = now_s();
        cn_conv_backward_weights(dw, db, dy, x, &g, scratch);
        double t2 = now_s();
        cn_conv_backward_data(dx, dy, w, &g, scratch);
        double t3 = now_s();
        if (r >= 0) tf[r] = t1 - t0, tw[r] = t2 - t1, td[r] = t3 - t2, ta[r] = t3 - t0;
    }
    res->fwd = median(tf, reps), res->bwd_weights = median(tw, reps), res->bwd_data = median(td, reps);
    res->fwdbwd = median(ta, reps);
    res->macs = (double)cn_conv_macs(&g);
    /* the least traffic each needs: forward reads x, writes y; backward reads dy twice and x,
     * reads and writes dx (weights are small next to these here) */
    res->bytes_fwd = 4.0 * (double)(xn + yn);
    res->bytes_fwdbwd = 4.0 * (double)(4 * xn + 3 * yn);
    res->algo = cn_conv_algo_chosen(&g);
done:
    cn_free(x), cn_free(dx), cn_free(y), cn_free(dy), cn_free(w), cn_free(dw), cn_free(b), cn_free(db), cn_free(scratch);
    cn_set_num_threads(0);
    return st;
}

/* ---- small networks ---- */

static const char mnist1d_text[] =
    "[input]\nname = x\nshape = 1x40\n"
    "[conv]\nname = conv1\nfilters = 15\nkernel = 3\nstride = 2\ninit = he_uniform\n[act]\nkind = relu\n"
    "[conv]\nname = conv2\nfilters = 15\nkernel = 3\nstride = 2\ninit = he_uniform\n[act]\nkind = relu\n"
    "[conv]\nname = conv3\nfilters = 15\nkernel = 3\nstride = 2\ninit = he_uniform\n[act]\nkind = relu\n"
    "[flatten]\n[dense]\nname = fc\nunits = 10\ninit = he_uniform\n[softmax_cross_entropy]\nname = loss\n";

static const char lenet5_text[] =
    "[input]\nname = image\nshape = 1x28x28\n"
    "[conv]\nname = c1\nfilters = 6\nkernel = 5\npadding = 2\n[act]\nkind = tanh\n[avg_pool]\nkernel = 2\n"
    "[conv]\nname = c3\nfilters = 16\nkernel = 5\n[act]\nkind = tanh\n[avg_pool]\nkernel = 2\n"
    "[conv]\nname = c5\nfilters = 120\nkernel = 5\n[act]\nkind = tanh\n[flatten]\n"
    "[dense]\nname = f6\nunits = 84\n[act]\nkind = tanh\n[dense]\nname = out\nunits = 10\n"
    "[softmax_cross_entropy]\nname = loss\n";

/* ResNet-18 (torchvision's layout: stride on the 3x3, projection shortcuts) as model text */
static char *resnet18_text(void)
{
    size_t cap = 1 << 16, len = 0;
    char *t = malloc(cap);
    if (!t) return NULL;
#define EMIT(...) (len += (size_t)snprintf(t + len, cap - len, __VA_ARGS__))
    EMIT("[input]\nname = image\nshape = 3x224x224\n"
         "[conv]\nname = conv1\nfilters = 64\nkernel = 7\nstride = 2\npadding = 3\nbias = false\n"
         "[batch_norm]\nname = bn1\n[act]\nname = relu1\nkind = relu\n"
         "[max_pool]\nname = pool1\nkernel = 3\nstride = 2\npadding = 1\n");
    const char *prev = "pool1";
    char prevbuf[32];
    int cin = 64;
    const int widths[4] = {64, 128, 256, 512};
    for (int s = 0; s < 4; s++)
        for (int blk = 0; blk < 2; blk++) {
            const int cout = widths[s], stride = (s > 0 && blk == 0) ? 2 : 1;
            char nm[16];
            snprintf(nm, sizeof nm, "s%db%d", s + 1, blk + 1);
            EMIT("[conv]\nname = %s_c1\ninput = %s\nfilters = %d\nkernel = 3\nstride = %d\npadding = 1\nbias = false\n"
                 "[batch_norm]\nname = %s_bn1\n[act]\nname = %s_r1\nkind = relu\n"
                 "[conv]\nname = %s_c2\nfilters = %d\nkernel = 3\npadding = 1\nbias = false\n[batch_norm]\nname = %s_bn2\n",
                 nm, prev, cout, stride, nm, nm, nm, cout, nm);
            const char *shortcut = prev;
            char scbuf[32];
            if (stride != 1 || cin != cout) {
                EMIT("[conv]\nname = %s_sc\ninput = %s\nfilters = %d\nkernel = 1\nstride = %d\nbias = false\n"
                     "[batch_norm]\nname = %s_scbn\n",
                     nm, prev, cout, stride, nm);
                snprintf(scbuf, sizeof scbuf, "%s_scbn", nm);
                shortcut = scbuf;
            }
            EMIT("[add]\nname = %s_add\ninputs = %s_bn2, %s\n[act]\nname = %s_out\nkind = relu\n", nm, nm, shortcut, nm);
            snprintf(prevbuf, sizeof prevbuf, "%s_out", nm);
            prev = prevbuf;
            cin = cout;
        }
    EMIT("[global_avg_pool]\nname = gap\n[flatten]\n[dense]\nname = fc\nunits = 1000\n"
         "[softmax_cross_entropy]\nname = loss\n");
#undef EMIT
    if (len >= cap) {
        free(t);
        return NULL;
    }
    return t;
}

typedef struct {
    const char *name;
    double train_step, infer, latency; /* median seconds */
    int64_t train_batch, infer_batch;
} net_result;

static void sgd_step(cn_model *m, float lr)
{
    const int np = cn_model_param_count(m);
    for (int i = 0; i < np; i++) {
        cn_param p;
        if (cn_model_param(m, i, &p) != CN_OK || !p.trainable || !p.grad) continue;
        int64_t n = 1;
        for (int d = 0; d < p.shape.ndim; d++) n *= p.shape.dim[d];
        for (int64_t k = 0; k < n; k++) p.value[k] -= lr * p.grad[k];
    }
}

static cn_status bench_net(const char *name, const char *text, int64_t sample, int64_t classes, int64_t train_batch,
                           int64_t infer_batch, int threads, int heavy, net_result *res)
{
    cn_status st;
    cn_model *m = NULL;
    float *x = NULL, *t = NULL;
    cn_set_num_threads(threads); /* before planning: the kernels size their scratch for it */
    memset(res, 0, sizeof *res);
    res->name = name;
    res->train_batch = train_batch, res->infer_batch = infer_batch;
    const int64_t nmax = train_batch > infer_batch ? train_batch : infer_batch;
    if ((st = cn_model_parse(&m, text, name)) != CN_OK) goto done;
    if ((st = cn_model_plan(m, train_batch, CN_PLAN_TRAIN | CN_PLAN_NO_INPUT_GRAD)) != CN_OK) goto done;
    if ((st = cn_model_init(m, 1)) != CN_OK) goto done;
    x = cn_malloc((size_t)(nmax * sample) * 4, "bench data");
    t = cn_malloc((size_t)nmax * 4, "bench targets");
    if (!x || !t) {
        st = CN_STATUS_NOMEM;
        goto done;
    }
    fill(x, nmax * sample, 5);
    for (int64_t i = 0; i < nmax; i++) t[i] = (float)(i % classes);
    const int train_reps = heavy ? 3 : 21, infer_reps = heavy ? 3 : 21, lat_reps = heavy ? 5 : 201;
    double v[256];
    for (int r = -(heavy ? 1 : 3); r < train_reps; r++) {
        const double t0 = now_s();
        if ((st = cn_model_set_target(m, t)) != CN_OK || (st = cn_model_forward(m, x, 1)) != CN_OK) goto done;
        cn_model_zero_grad(m);
        if ((st = cn_model_backward(m, NULL)) != CN_OK) goto done;
        sgd_step(m, 0.01f);
        if (r >= 0) v[r] = now_s() - t0;
    }
    res->train_step = median(v, train_reps);
    if ((st = cn_model_plan(m, infer_batch, CN_PLAN_INFER | CN_PLAN_REUSE | CN_PLAN_PREPARED)) != CN_OK) goto done;
    for (int r = -(heavy ? 1 : 3); r < infer_reps; r++) {
        const double t0 = now_s();
        if ((st = cn_model_forward(m, x, 0)) != CN_OK) goto done;
        if (r >= 0) v[r] = now_s() - t0;
    }
    res->infer = median(v, infer_reps);
    if ((st = cn_model_plan(m, 1, CN_PLAN_INFER | CN_PLAN_REUSE | CN_PLAN_PREPARED)) != CN_OK) goto done;
    for (int r = -(heavy ? 2 : 20); r < lat_reps; r++) {
        const double t0 = now_s();
        if ((st = cn_model_forward(m, x, 0)) != CN_OK) goto done;
        if (r >= 0) v[r] = now_s() - t0;
    }
    res->latency = median(v, lat_reps);
done:
    cn_free(x), cn_free(t);
    cn_model_destroy(m);
    cn_set_num_threads(0);
    return st;
}

/* ---- PyTorch ---- */

static int file_exists(const char *p) { return p && access(p, R_OK) == 0; }

/* bench/pytorch_bench.py: --torch-script, $CONVNET_BENCH_SCRIPT, or beside the binary's tree */
static const char *find_script(const char *given, char *buf, size_t cap)
{
    if (given) return file_exists(given) ? given : NULL;
    const char *env = getenv("CONVNET_BENCH_SCRIPT");
    if (file_exists(env)) return env;
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) *slash = 0;
        static const char *const rel[] = {"/../bench/pytorch_bench.py", "/../../bench/pytorch_bench.py",
                                          "/../share/convnet/pytorch_bench.py"};
        for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
            snprintf(buf, cap, "%s%s", exe, rel[i]);
            if (file_exists(buf)) return buf;
        }
    }
    return file_exists("bench/pytorch_bench.py") ? "bench/pytorch_bench.py" : NULL;
}

/* everything a popen'ed command writes, NUL-terminated (malloc; NULL when out of memory),
 * then its pclose status in *rc */
static char *read_all_and_close(FILE *f, int *rc)
{
    size_t cap = 1 << 14, n = 0;
    char *out = malloc(cap);
    int c;
    while (out && (c = fgetc(f)) != EOF) {
        if (n + 1 >= cap) {
            char *bigger = realloc(out, cap *= 2);
            if (!bigger) {
                free(out);
                out = NULL;
                break;
            }
            out = bigger;
        }
        out[n++] = (char)c;
    }
    if (out) out[n] = 0;
    *rc = pclose(f);
    return out;
}

/* Run the script with the spec; returns its parsed JSON or NULL (with *why set). */
static cJSON *run_torch(const char *script, const char *python, const int *threads, int nthreads, int reps,
                        const int *which, int nets_mask, const char **why)
{
    char spec[4096];
    size_t len = 0;
    len += (size_t)snprintf(spec + len, sizeof spec - len, "{\"reps\": %d, \"warmup\": 2, \"threads\": [", reps);
    for (int i = 0; i < nthreads; i++) len += (size_t)snprintf(spec + len, sizeof spec - len, "%s%d", i ? ", " : "", threads[i]);
    len += (size_t)snprintf(spec + len, sizeof spec - len, "], \"shapes\": [");
    int first = 1;
    for (int i = 0; i < NSHAPES; i++) {
        if (!which[i]) continue;
        const shape_def *s = &shapes[i];
        len += (size_t)snprintf(spec + len, sizeof spec - len,
                                "%s{\"name\": \"%s\", \"n\": %lld, \"ic\": %lld, \"oc\": %lld, \"h\": %lld, \"w\": %lld, "
                                "\"k\": %lld, \"s\": %lld, \"p\": %lld, \"groups\": %lld}",
                                first ? "" : ", ", s->name, (long long)s->n, (long long)s->ic, (long long)s->oc,
                                (long long)s->h, (long long)s->w, (long long)s->k, (long long)s->s, (long long)s->p,
                                (long long)s->groups);
        first = 0;
    }
    len += (size_t)snprintf(spec + len, sizeof spec - len, "], \"nets\": [%s%s%s]}", nets_mask & 1 ? "\"mnist1d\"" : "",
                            (nets_mask & 2) ? ((nets_mask & 1) ? ", \"lenet5\"" : "\"lenet5\"") : "",
                            (nets_mask & 4) ? ((nets_mask & 3) ? ", \"resnet18\"" : "\"resnet18\"") : "");
    /* stable timings: glibc would otherwise return PyTorch's large buffers to the OS between calls */
    setenv("MALLOC_MMAP_THRESHOLD_", "1073741824", 1);
    setenv("MALLOC_TRIM_THRESHOLD_", "2147483648", 1);
    setenv("OMP_NUM_THREADS", "1", 1);
    setenv("OPENBLAS_NUM_THREADS", "1", 1);
    char cmdline[16384];
    snprintf(cmdline, sizeof cmdline, "%s '%s' '%s'", python, script, spec);
    FILE *f = popen(cmdline, "r");
    unsetenv("MALLOC_MMAP_THRESHOLD_"), unsetenv("MALLOC_TRIM_THRESHOLD_");
    if (!f) {
        *why = "could not start the PyTorch script";
        return NULL;
    }
    int rc;
    char *out = read_all_and_close(f, &rc);
    if (!out) {
        *why = "out of memory reading the PyTorch output";
        return NULL;
    }
    cJSON *j = rc == 0 ? cJSON_Parse(out) : NULL;
    free(out);
    if (!j) {
        *why = "the PyTorch script failed (run it by hand to see why)";
        return NULL;
    }
    const cJSON *err = cJSON_GetObjectItem(j, "error");
    if (cJSON_IsString(err)) {
        static char msg[256];
        snprintf(msg, sizeof msg, "%s", err->valuestring);
        *why = msg;
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}

static double torch_shape(const cJSON *t, const char *name, int threads, const char *key)
{
    const cJSON *arr = t ? cJSON_GetObjectItem(t, "shapes") : NULL, *e;
    cJSON_ArrayForEach(e, arr)
    {
        const cJSON *n = cJSON_GetObjectItem(e, "name"), *th = cJSON_GetObjectItem(e, "threads");
        if (cJSON_IsString(n) && !strcmp(n->valuestring, name) && cJSON_IsNumber(th) && th->valueint == threads) {
            const cJSON *v = cJSON_GetObjectItem(e, key);
            return cJSON_IsNumber(v) ? v->valuedouble : NAN;
        }
    }
    return NAN;
}

static double torch_net(const cJSON *t, const char *net, int threads, const char *what)
{
    const cJSON *arr = t ? cJSON_GetObjectItem(t, "nets") : NULL, *e;
    cJSON_ArrayForEach(e, arr)
    {
        const cJSON *n = cJSON_GetObjectItem(e, "net"), *th = cJSON_GetObjectItem(e, "threads"),
                    *w = cJSON_GetObjectItem(e, "what");
        if (cJSON_IsString(n) && !strcmp(n->valuestring, net) && cJSON_IsNumber(th) && th->valueint == threads &&
            cJSON_IsString(w) && !strcmp(w->valuestring, what)) {
            const cJSON *v = cJSON_GetObjectItem(e, "time");
            return cJSON_IsNumber(v) ? v->valuedouble : NAN;
        }
    }
    return NAN;
}

/* ---- Darknet: the same cfgs run by Debian's libdarknet (bench/darknet_bench.c) ---- */

/* issue 8: "Darknet's ResNet-18 and yolov3-tiny forward: >= 8x faster" (batch 1, one thread;
 * the issue measured Darknet at 296 ms and 135 ms at 224x224) */
#define DARKNET_TARGET 8.0
static const char *const darknet_nets[] = {"resnet18", "yolov3-tiny"};
#define NDARKNET 2

/* The cfg text with the first section's ([net]) width and height set to `size`: the lines
 * giving them are dropped and new ones follow the section header, as the helper does, so
 * both sides build the network at the same size. *res: the new text (free()), NULL on failure. */
static cn_status darknet_sized_cfg(const char *text, size_t len, int size, const char *name, char **res)
{
    char *out = *res = malloc(len + 64);
    if (!out) return cn_set_error(CN_STATUS_NOMEM, "bench: out of memory copying %s", name);
    size_t n = 0;
    int section = 0, in_net = 0, wrote = 0;
    for (size_t i = 0; i < len;) {
        size_t e = i;
        while (e < len && text[e] != '\n') e++;
        const size_t end = e < len ? e + 1 : e; /* the line with its newline */
        size_t p = i;
        while (p < e && (text[p] == ' ' || text[p] == '\t')) p++;
        int keep = 1;
        if (p < e && text[p] == '[') {
            section++;
            in_net = section == 1 && (!strncmp(text + p, "[net]", 5) || !strncmp(text + p, "[network]", 9));
        } else if (in_net) {
            for (int k = 0; k < 2; k++) {
                const char *key = k ? "height" : "width";
                const size_t kl = strlen(key);
                if (e - p > kl && !strncmp(text + p, key, kl)) {
                    size_t q = p + kl;
                    while (q < e && (text[q] == ' ' || text[q] == '\t')) q++;
                    if (q < e && text[q] == '=') keep = 0;
                }
            }
        }
        if (keep) {
            memcpy(out + n, text + i, end - i);
            n += end - i;
            if (in_net && !wrote) {
                if (end == e) out[n++] = '\n'; /* a header on the last line without a newline */
                n += (size_t)snprintf(out + n, 48, "width=%d\nheight=%d\n", size, size);
                wrote = 1;
            }
        }
        i = end;
    }
    out[n] = 0;
    if (!wrote) {
        free(out);
        *res = NULL;
        return cn_set_error(CN_STATUS_FORMAT, "bench: %s: the first section is not [net] or [network]", name);
    }
    return CN_OK;
}

/* the helper: --darknet-bench, $CONVNET_DARKNET_BENCH, or darknet_bench beside the binary */
static const char *find_darknet_helper(const char *given, char *buf, size_t cap)
{
    if (given) return access(given, X_OK) == 0 ? given : NULL;
    const char *env = getenv("CONVNET_DARKNET_BENCH");
    if (env && *env) return access(env, X_OK) == 0 ? env : NULL;
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return NULL;
    exe[n] = 0;
    char *slash = strrchr(exe, '/');
    if (!slash) return NULL;
    *slash = 0;
    if (snprintf(buf, cap, "%s/darknet_bench", exe) >= (int)cap) return NULL;
    return access(buf, X_OK) == 0 ? buf : NULL;
}

/* Run the helper on one cfg; its result is the line after the DARKNET_BENCH_JSON marker (Darknet's
 * layer table and messages come before it). NULL with *why (a static buffer) on failure. */
static cJSON *run_darknet(const char *helper, const char *cfg, int size, int reps, int warmup, const char **why)
{
    static char msg[1024];
    if (strchr(helper, '\'') || strchr(cfg, '\'')) {
        snprintf(msg, sizeof msg, "the path '%.200s' or '%.200s' holds a quote", helper, cfg);
        *why = msg;
        return NULL;
    }
    char cmdline[9000];
    snprintf(cmdline, sizeof cmdline, "'%s' '%s' --size %d --reps %d --warmup %d 2>&1", helper, cfg, size, reps, warmup);
    fflush(stdout);
    FILE *f = popen(cmdline, "r");
    if (!f) {
        snprintf(msg, sizeof msg, "could not start %.400s", helper);
        *why = msg;
        return NULL;
    }
    int rc;
    char *out = read_all_and_close(f, &rc);
    if (!out) {
        *why = "out of memory reading the Darknet helper's output";
        return NULL;
    }
    static const char marker[] = "DARKNET_BENCH_JSON ";
    char *line = NULL;
    for (char *p = strstr(out, marker); p; p = strstr(p + 1, marker))
        if (p == out || p[-1] == '\n') line = p + sizeof marker - 1;
    cJSON *j = NULL;
    if (line) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = 0;
        j = cJSON_Parse(line);
    }
    if (rc != 0 || !j || !cJSON_IsNumber(cJSON_GetObjectItem(j, "median_ms"))) {
        /* the last non-empty line says why (the helper's or Darknet's message) */
        size_t n = strlen(out);
        while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == ' ')) out[--n] = 0;
        char *last = strrchr(out, '\n');
        snprintf(msg, sizeof msg, "%.300s %.300s failed (exit status %d): %.300s", helper, cfg,
                 WIFEXITED(rc) ? WEXITSTATUS(rc) : rc, last ? last + 1 : out);
        *why = msg;
        cJSON_Delete(j);
        j = NULL;
    }
    free(out);
    return j;
}

typedef struct {
    double fwd, cpu; /* median wall and process CPU seconds of one forward */
    double macs;
    int64_t outputs;
} darknet_result;

static double cpu_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* convnet's forward of the imported cfg text: batch 1, inference, random initialisation */
static cn_status bench_darknet_convnet(const char *text, const char *name, int threads, int reps, int warmup,
                                       darknet_result *res)
{
    cn_status st;
    cn_model *m = NULL;
    float *x = NULL;
    memset(res, 0, sizeof *res);
    cn_set_num_threads(threads); /* before planning: the kernels size their scratch for it */
    if ((st = cn_darknet_parse(&m, text, strlen(text), name)) != CN_OK) goto done;
    if ((st = cn_model_plan(m, 1, CN_PLAN_INFER | CN_PLAN_REUSE | CN_PLAN_PREPARED)) != CN_OK || (st = cn_model_init(m, 1)) != CN_OK) goto done;
    cn_shape in;
    if ((st = cn_viz_input_shape(m, &in)) != CN_OK) goto done;
    int64_t sample = 1;
    for (int d = 0; d < in.ndim; d++) sample *= in.dim[d];
    for (int i = 0; i < cn_model_layer_count(m); i++) {
        cn_layer_info li;
        if (cn_model_layer(m, i, &li) == CN_OK) res->macs += (double)li.macs;
    }
    if (!(x = cn_malloc((size_t)sample * 4, "bench darknet input"))) {
        st = CN_STATUS_NOMEM;
        goto done;
    }
    cn_rng r;
    cn_rng_init(&r, 6, CN_STREAM_USER);
    cn_rng_fill_uniform(&r, x, sample, 0, 1);
    double tw[MAX_REPS], tc[MAX_REPS];
    for (int k = -warmup; k < reps; k++) {
        const double c0 = cpu_s(), t0 = now_s();
        if ((st = cn_model_forward(m, x, 0)) != CN_OK) goto done;
        const double dt = now_s() - t0, dc = cpu_s() - c0;
        if (k >= 0) tw[k] = dt, tc[k] = dc;
    }
    res->fwd = median(tw, reps), res->cpu = median(tc, reps);
    cn_shape os;
    cn_model_output(m, &os);
    res->outputs = 1;
    for (int d = 1; d < os.ndim; d++) res->outputs *= os.dim[d];
done:
    cn_free(x);
    cn_model_destroy(m);
    cn_set_num_threads(0);
    return st;
}

static double json_num(const cJSON *o, const char *key)
{
    const cJSON *v = o ? cJSON_GetObjectItem(o, key) : NULL;
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* ---- the command ---- */

static void add_num(cJSON *o, const char *k, double v)
{
    if (isfinite(v)) cJSON_AddNumberToObject(o, k, v);
}

static const char *verdict(double v, double target, int ge)
{
    if (!isfinite(v)) return "n/a";
    return (ge ? v >= target : v <= target) ? "met" : "NOT met";
}

int cmd_bench(const cli_cmd *cmd, int argc, char **argv, cli_global *g)
{
    const char *pos[1], *only = NULL, *script_opt = NULL, *python = "/usr/bin/python3", *threads_opt = NULL;
    const char *nets_opt = NULL, *dn_helper_opt = NULL, *dn_cfg_dir = "/usr/share/darknet/cfg", *dn_nets_opt = NULL;
    int npos, reps = 7, no_torch = 0, quick = 0, no_nets = 0, resnet = -1, no_darknet = 0, dn_size = 224;
    cli_opt opts[] = {
        {"--shapes", OPT_STR, &only, "LIST", "only these shapes, e.g. b,c,f, or none (default: a-h)", 0},
        {"--nets", OPT_STR, &nets_opt, "LIST", "only these networks: mnist1d,lenet5,resnet18 or none", 0},
        {"--threads-list", OPT_STR, &threads_opt, "LIST", "thread counts to run, e.g. 1,2 (default: 1 and the core count)", 0},
        {"--reps", OPT_INT, &reps, "N", "timed repetitions per measurement, the median is reported (default 7)", 0},
        {"--no-torch", OPT_FLAG, &no_torch, NULL, "skip the PyTorch side", 0},
        {"--torch-script", OPT_STR, &script_opt, "FILE", "bench/pytorch_bench.py (found beside the build by default)", 0},
        {"--python", OPT_STR, &python, "EXE", "the Python with torch (default /usr/bin/python3)", 0},
        {"--no-nets", OPT_FLAG, &no_nets, NULL, "skip the small networks", 0},
        {"--resnet", OPT_INT, &resnet, "0|1", "ResNet-18 at 224x224 (default 1, 0 with --quick)", 0},
        {"--no-darknet", OPT_FLAG, &no_darknet, NULL, "skip the Darknet section (Darknet's ResNet-18 and yolov3-tiny)", 0},
        {"--darknet-bench", OPT_STR, &dn_helper_opt, "FILE",
         "the darknet_bench helper (default: $CONVNET_DARKNET_BENCH, or darknet_bench beside the binary)", 0},
        {"--darknet-cfgs", OPT_STR, &dn_cfg_dir, "DIR", "where resnet18.cfg and yolov3-tiny.cfg are (default /usr/share/darknet/cfg)", 0},
        {"--darknet-nets", OPT_STR, &dn_nets_opt, "LIST", "only these Darknet cfgs: resnet18,yolov3-tiny (default both)", 0},
        {"--darknet-size", OPT_INT, &dn_size, "N", "input width and height for the Darknet cfgs, a multiple of 32 (default 224)", 0},
        {"--quick", OPT_FLAG, &quick, NULL, "3 repetitions, no ResNet-18 among the networks (the Darknet section keeps its cfgs)", 0},
        {NULL, OPT_FLAG, NULL, NULL, NULL, 0},
    };
    int rc = cli_parse(cmd, argc, argv, opts, g, pos, 0, &npos);
    if (rc != CLI_OK) return rc == CLI_HELP_SHOWN ? CLI_OK : rc;
    if ((rc = cli_apply_global(cmd, g)) != CLI_OK) return rc;
    if (quick) reps = 3;
    if (resnet < 0) resnet = !quick;
    if (reps < 1 || reps > MAX_REPS) return cli_usage_error(cmd, "--reps %d is not in 1..%d", reps, MAX_REPS);
    if (dn_size < 32 || dn_size > 1024 || dn_size % 32)
        return cli_usage_error(cmd, "--darknet-size %d is not a multiple of 32 in 32..1024", dn_size);
    int dn_which[NDARKNET] = {1, 1};
    if (dn_nets_opt) {
        int any = 0;
        for (int k = 0; k < NDARKNET; k++) any |= dn_which[k] = strstr(dn_nets_opt, darknet_nets[k]) != NULL;
        if (!any && strcmp(dn_nets_opt, "none"))
            return cli_usage_error(cmd, "--darknet-nets: '%s' names none of resnet18, yolov3-tiny", dn_nets_opt);
        if (!any) no_darknet = 1;
    }

    int which[NSHAPES];
    for (int i = 0; i < NSHAPES; i++) which[i] = only == NULL;
    if (only && strcmp(only, "none")) {
        for (const char *p = only; *p; p++) {
            if (*p == ',' || *p == ' ') continue;
            int found = 0;
            for (int i = 0; i < NSHAPES; i++)
                if (shapes[i].name[0] == *p) which[i] = found = 1;
            if (!found) return cli_usage_error(cmd, "--shapes: no shape '%c' (the shapes are a-h)", *p);
        }
    }
    int threads[8], nthreads = 0;
    const int cores = cn_cpu()->logical_cores > 0 ? cn_cpu()->logical_cores : 1;
    if (threads_opt) {
        for (const char *p = threads_opt; *p && nthreads < 8;) {
            char *end;
            long v = strtol(p, &end, 10);
            if (end == p || v < 1 || v > 256) return cli_usage_error(cmd, "--threads-list: '%s' is not a list of 1..256", threads_opt);
            threads[nthreads++] = (int)v;
            p = *end == ',' ? end + 1 : end;
            if (*end && *end != ',') return cli_usage_error(cmd, "--threads-list: '%s' is not a list of 1..256", threads_opt);
        }
    } else {
        threads[nthreads++] = 1;
        if (cores > 1) threads[nthreads++] = cores;
    }

    /* machine */
    const cn_cpu_info *cpu = cn_cpu();
    double peak[8];
    for (int i = 0; i < nthreads; i++) peak[i] = measure_peak(threads[i]);
    const double peak1 = measure_peak(1);
    time_t tt = time(NULL);
    char date[64];
    strftime(date, sizeof date, "%Y-%m-%d %H:%M", localtime(&tt));
    if (!g->json) {
        printf("convnet bench, %s\n", date);
        printf("machine:  %s, %d logical cores; kernels %s; compiler %s\n", cpu->brand, cores, cn_isa_name(cn_isa_active()),
               __VERSION__);
        printf("peak:     %.0f GFLOP/s on 1 thread (FMA loop, best of 40)", peak1);
        for (int i = 0; i < nthreads; i++)
            if (threads[i] != 1) printf(", %.0f on %d", peak[i], threads[i]);
        printf("\n");
    }

    /* PyTorch first (its own process), then convnet */
    char scriptbuf[4096];
    const char *why = NULL;
    cJSON *torch = NULL;
    int nets_mask = no_nets ? 0 : (1 | 2 | (resnet ? 4 : 0));
    if (nets_opt) {
        nets_mask = (strstr(nets_opt, "mnist1d") ? 1 : 0) | (strstr(nets_opt, "lenet5") ? 2 : 0) | (strstr(nets_opt, "resnet18") ? 4 : 0);
        if (!nets_mask && strcmp(nets_opt, "none"))
            return cli_usage_error(cmd, "--nets: '%s' names none of mnist1d, lenet5, resnet18", nets_opt);
        no_nets = !nets_mask;
        resnet = (nets_mask & 4) != 0;
    }
    if (no_torch) why = "--no-torch";
    else if (!file_exists(python)) why = "no /usr/bin/python3 (Debian python3-torch) on this machine";
    else {
        const char *script = find_script(script_opt, scriptbuf, sizeof scriptbuf);
        if (!script) why = "bench/pytorch_bench.py not found (give --torch-script)";
        else torch = run_torch(script, python, threads, nthreads, reps, which, nets_mask, &why);
    }
    if (!g->json) {
        if (torch) {
            const cJSON *v = cJSON_GetObjectItem(torch, "torch");
            printf("pytorch:  %s (oneDNN %s), same shapes, this run\n", cJSON_IsString(v) ? v->valuestring : "?",
                   cJSON_IsTrue(cJSON_GetObjectItem(torch, "mkldnn")) ? "on" : "off");
        } else {
            printf("pytorch:  skipped: %s\n", why);
        }
    }

    cJSON *out = g->json ? cJSON_CreateObject() : NULL;
    if (out) {
        cJSON *mach = cli_json_cpu();
        cJSON_AddStringToObject(mach, "isa", cn_isa_name(cn_isa_active()));
        cJSON_AddNumberToObject(mach, "peak_gflops_1thread", peak1);
        cJSON *pk = cJSON_AddArrayToObject(mach, "peak_gflops");
        for (int i = 0; i < nthreads; i++) {
            cJSON *e = cJSON_CreateObject();
            cJSON_AddNumberToObject(e, "threads", threads[i]);
            cJSON_AddNumberToObject(e, "gflops", peak[i]);
            cJSON_AddItemToArray(pk, e);
        }
        cJSON_AddStringToObject(out, "date", date);
        cJSON_AddItemToObject(out, "machine", mach);
        cJSON_AddStringToObject(out, "compiler", __VERSION__);
        if (torch) cJSON_AddItemToObject(out, "pytorch", cJSON_Duplicate(cJSON_GetObjectItem(torch, "torch"), 1));
        else cJSON_AddStringToObject(out, "pytorch_skipped", why);
    }

    /* convolutions */
    cJSON *jshapes = out ? cJSON_AddArrayToObject(out, "shapes") : NULL;
    int any_shape = 0;
    for (int i = 0; i < NSHAPES; i++) any_shape |= which[i];
    if (!g->json && any_shape)
        printf("\nconvolutions (float32, NCHW; GFLOP/s = 2*MACs/time, fwd+bwd = forward + both backwards = 3x the forward's "
               "FLOPs)\n"
               "%-2s %2s %-5s %9s %7s %5s %9s %7s %5s | %9s %9s %6s %6s | %-9s %s\n",
               "", "th", "algo", "fwd ms", "GFLOP/s", "%pk", "f+b ms", "GFLOP/s", "%pk", "torch fwd", "torch f+b",
               "x fwd", "x f+b", "target", "verdict");
    double fwd1[NSHAPES], fwdbwd1[NSHAPES];
    for (int i = 0; i < NSHAPES; i++) fwd1[i] = fwdbwd1[i] = NAN;
    for (int i = 0; i < NSHAPES; i++) {
        if (!which[i]) continue;
        const shape_def *s = &shapes[i];
        if (!g->json) printf("(%s) %s\n", s->name, s->what);
        for (int ti = 0; ti < nthreads; ti++) {
            conv_result r;
            memset(&r, 0, sizeof r);
            cn_status st = bench_conv(s, threads[ti], reps, &r);
            if (st != CN_OK) {
                if (out) cJSON_Delete(out);
                if (torch) cJSON_Delete(torch);
                return cli_fail(cmd, g, st);
            }
            const double gf = 2 * r.macs / r.fwd * 1e-9, gfb = 6 * r.macs / r.fwdbwd * 1e-9;
            const double tf = torch_shape(torch, s->name, threads[ti], "fwd"), tfb = torch_shape(torch, s->name, threads[ti], "fwdbwd");
            const double xf = tf / r.fwd, xfb = tfb / r.fwdbwd;
            char target[64] = "", ver[96] = "";
            if (threads[ti] == 1) {
                fwd1[i] = r.fwd, fwdbwd1[i] = r.fwdbwd;
                snprintf(target, sizeof target, ">=%.1fx%s", s->t_fwd, s->big ? ",75%" : "");
                int ok = isfinite(xf) && xf >= s->t_fwd && isfinite(xfb) && xfb >= s->t_fwdbwd;
                if (s->big) ok &= 2 * r.macs / r.fwd * 1e-9 >= 0.75 * peak1 && 6 * r.macs / r.fwdbwd * 1e-9 >= 0.75 * peak1;
                snprintf(ver, sizeof ver, "%s", !isfinite(xf) ? "n/a (no torch)" : ok ? "met" : "NOT met");
                if (s->t_fwdbwd != s->t_fwd) snprintf(target, sizeof target, ">=%.1fx/%.1fx", s->t_fwd, s->t_fwdbwd);
            } else if (s->big && isfinite(fwd1[i])) {
                const double sp = fwd1[i] / r.fwd, spb = fwdbwd1[i] / r.fwdbwd;
                snprintf(target, sizeof target, ">=1.8x 1T");
                snprintf(ver, sizeof ver, "%s (%.2fx, %.2fx)", sp >= 1.8 && spb >= 1.8 ? "met" : "NOT met", sp, spb);
            }
            const double pk = peak1 * threads[ti];
            if (!g->json) {
                printf("%-2s %2d %-5s %9.3f %7.1f %4.0f%% %9.3f %7.1f %4.0f%% | %9.3f %9.3f %6.2f %6.2f | %-9s %s\n", "",
                       threads[ti], cn_conv_algo_name(r.algo), r.fwd * 1e3, gf, 100 * gf / pk, r.fwdbwd * 1e3, gfb,
                       100 * gfb / pk, tf * 1e3, tfb * 1e3, xf, xfb, target, ver);
                printf("%-2s %2s       bwd-data %.3f ms, bwd-weights %.3f ms", "", "", r.bwd_data * 1e3, r.bwd_weights * 1e3);
                if (s->groups > 1)
                    printf("; %.1f GB/s fwd, %.1f GB/s f+b", r.bytes_fwd / r.fwd * 1e-9, r.bytes_fwdbwd / r.fwdbwd * 1e-9);
                printf("\n");
            } else {
                cJSON *e = cJSON_CreateObject();
                cJSON_AddStringToObject(e, "name", s->name);
                cJSON_AddStringToObject(e, "what", s->what);
                cJSON_AddNumberToObject(e, "threads", threads[ti]);
                cJSON_AddStringToObject(e, "algo", cn_conv_algo_name(r.algo));
                cJSON_AddNumberToObject(e, "macs", r.macs);
                add_num(e, "fwd_s", r.fwd);
                add_num(e, "bwd_data_s", r.bwd_data);
                add_num(e, "bwd_weights_s", r.bwd_weights);
                add_num(e, "fwdbwd_s", r.fwdbwd);
                add_num(e, "fwd_gflops", gf);
                add_num(e, "fwdbwd_gflops", gfb);
                add_num(e, "fwd_peak_fraction", gf / pk);
                add_num(e, "fwdbwd_peak_fraction", gfb / pk);
                if (s->groups > 1) {
                    add_num(e, "fwd_gbytes_per_s", r.bytes_fwd / r.fwd * 1e-9);
                    add_num(e, "fwdbwd_gbytes_per_s", r.bytes_fwdbwd / r.fwdbwd * 1e-9);
                }
                add_num(e, "torch_fwd_s", tf);
                add_num(e, "torch_fwdbwd_s", tfb);
                add_num(e, "ratio_fwd", xf);
                add_num(e, "ratio_fwdbwd", xfb);
                if (*target) cJSON_AddStringToObject(e, "target", target);
                if (*ver) cJSON_AddStringToObject(e, "verdict", ver);
                cJSON_AddItemToArray(jshapes, e);
            }
        }
    }

    /* networks */
    if (!no_nets) {
        char *rtext = resnet ? resnet18_text() : NULL;
        struct {
            const char *name, *text;
            int64_t sample, classes, train_batch, infer_batch;
            int heavy;
            double t_train; /* target: convnet/torch training speed ratio */
            double t_latency_us; /* target: batch-1 latency in us, or <0: <= torch's */
        } nets[3] = {
            {"mnist1d", mnist1d_text, 40, 10, 100, 100, 0, 10.0, 0},
            {"lenet5", lenet5_text, 28 * 28, 10, 64, 64, 0, 3.0, 25.0},
            {"resnet18", rtext, 3 * 224 * 224, 1000, 8, 8, 1, 1.0, -1},
        };
        cJSON *jnets = out ? cJSON_AddArrayToObject(out, "nets") : NULL;
        if (!g->json)
            printf("\nnetworks (train: forward + loss + backward + SGD step; samples/s = batch/time; latency: batch 1)\n"
                   "%-9s %2s %12s %12s %10s | %12s %12s %10s | %6s %6s | %s\n",
                   "net", "th", "train smp/s", "infer smp/s", "lat us", "torch train", "torch infer", "torch lat",
                   "x trn", "x lat", "targets");
        for (int k = 0; k < 3; k++) {
            if (!(nets_mask & (1 << k)) || !nets[k].text) continue;
            for (int ti = 0; ti < nthreads; ti++) {
                net_result r;
                cn_status st = bench_net(nets[k].name, nets[k].text, nets[k].sample, nets[k].classes, nets[k].train_batch,
                                         nets[k].infer_batch, threads[ti], nets[k].heavy, &r);
                if (st != CN_OK) {
                    free(rtext);
                    if (out) cJSON_Delete(out);
                    if (torch) cJSON_Delete(torch);
                    return cli_fail(cmd, g, st);
                }
                const double t_train = torch_net(torch, r.name, threads[ti], "train_step"), ti_ = torch_net(torch, r.name, threads[ti], "infer"),
                             tl = torch_net(torch, r.name, threads[ti], "latency");
                const double xt = t_train / r.train_step, xl = tl / r.latency;
                char tg[160] = "";
                if (threads[ti] == 1 || k == 2) {
                    if (k == 0) snprintf(tg, sizeof tg, "train >=10x: %s", verdict(xt, 10.0, 1));
                    if (k == 1)
                        snprintf(tg, sizeof tg, "train >=3x: %s; latency <=25us: %s", verdict(xt, 3.0, 1),
                                 verdict(r.latency * 1e6, 25.0, 0));
                    if (k == 2)
                        snprintf(tg, sizeof tg, "latency <=torch: %s; train >=torch: %s", verdict(xl, 1.0, 1), verdict(xt, 1.0, 1));
                }
                if (!g->json) {
                    printf("%-9s %2d %12.0f %12.0f %10.1f | %12.0f %12.0f %10.1f | %6.2f %6.2f | %s\n", r.name, threads[ti],
                           (double)r.train_batch / r.train_step, (double)r.infer_batch / r.infer, r.latency * 1e6,
                           (double)r.train_batch / t_train, (double)r.infer_batch / ti_, tl * 1e6, xt, xl, tg);
                    if (k == 0) printf("%-9s %2s steps/s: convnet %.0f, torch %.0f\n", "", "", 1.0 / r.train_step, 1.0 / t_train);
                } else {
                    cJSON *e = cJSON_CreateObject();
                    cJSON_AddStringToObject(e, "net", r.name);
                    cJSON_AddNumberToObject(e, "threads", threads[ti]);
                    cJSON_AddNumberToObject(e, "train_batch", (double)r.train_batch);
                    cJSON_AddNumberToObject(e, "infer_batch", (double)r.infer_batch);
                    add_num(e, "train_step_s", r.train_step);
                    add_num(e, "infer_s", r.infer);
                    add_num(e, "latency_s", r.latency);
                    add_num(e, "torch_train_step_s", t_train);
                    add_num(e, "torch_infer_s", ti_);
                    add_num(e, "torch_latency_s", tl);
                    add_num(e, "ratio_train", xt);
                    add_num(e, "ratio_infer", ti_ / r.infer);
                    add_num(e, "ratio_latency", xl);
                    if (*tg) cJSON_AddStringToObject(e, "targets", tg);
                    cJSON_AddItemToArray(jnets, e);
                }
            }
        }
        free(rtext);
    }
    /* Darknet: the same cfgs, imported by convnet, and run by Darknet itself in a helper */
    cn_status dst = CN_OK;
    if (!no_darknet) {
        char helperbuf[4096], whybuf[600];
        const char *helper = find_darknet_helper(dn_helper_opt, helperbuf, sizeof helperbuf);
        const char *dn_note = NULL;
        if (!helper) {
            const char *env = getenv("CONVNET_DARKNET_BENCH");
            if (dn_helper_opt) snprintf(whybuf, sizeof whybuf, "--darknet-bench %.500s: not an executable file", dn_helper_opt);
            else if (env && *env) snprintf(whybuf, sizeof whybuf, "CONVNET_DARKNET_BENCH=%.500s: not an executable file", env);
            else
                snprintf(whybuf, sizeof whybuf,
                         "no darknet_bench helper (cmake builds it beside convnet when Debian's darknet is installed: "
                         "/usr/lib/darknet/libdarknet.so and include/darknet.h)");
            dn_note = whybuf;
        }
        const int dn_warmup = quick ? 1 : 2;
        cJSON *jdn = out ? cJSON_AddObjectToObject(out, "darknet") : NULL;
        cJSON *jdnets = NULL;
        if (jdn) {
            cJSON_AddNumberToObject(jdn, "size", dn_size);
            cJSON_AddNumberToObject(jdn, "batch", 1);
            cJSON_AddStringToObject(jdn, "cfg_dir", dn_cfg_dir);
            if (helper) cJSON_AddStringToObject(jdn, "helper", helper);
            else cJSON_AddStringToObject(jdn, "skipped", dn_note);
            cJSON_AddNumberToObject(jdn, "target_ratio", DARKNET_TARGET);
            jdnets = cJSON_AddArrayToObject(jdn, "nets");
        } else {
            printf("\ndarknet cfgs (forward, batch 1, %dx%d, random weights; convnet: the cfg through its Darknet importer;\n"
                   "Darknet: %s%s; cpu = process CPU time per forward; x = Darknet time / convnet time)\n",
                   dn_size, dn_size, helper ? helper : "not run", helper ? " on 1 thread" : "");
            if (dn_note) printf("darknet:  skipped: %s\n", dn_note);
            printf("%-12s %2s %6s %10s %8s | %10s %8s | %7s %7s | %-6s %s\n", "net", "th", "GMAC", "convnet ms", "cpu ms",
                   "darknet ms", "cpu ms", "x wall", "x cpu", "target", "verdict");
        }
        for (int k = 0; k < NDARKNET && dst == CN_OK; k++) {
            if (!dn_which[k]) continue;
            char path[4096];
            snprintf(path, sizeof path, "%s/%s.cfg", dn_cfg_dir, darknet_nets[k]);
            if (!file_exists(path)) {
                if (jdnets) {
                    cJSON *e = cJSON_CreateObject();
                    cJSON_AddStringToObject(e, "net", darknet_nets[k]);
                    cJSON_AddStringToObject(e, "cfg", path);
                    cJSON_AddStringToObject(e, "skipped", "cfg not found (Debian's darknet package installs it)");
                    cJSON_AddItemToArray(jdnets, e);
                } else {
                    printf("%-12s skipped: %s not found (Debian's darknet package installs it; --darknet-cfgs DIR)\n",
                           darknet_nets[k], path);
                }
                continue;
            }
            unsigned char *buf = NULL;
            size_t len = 0;
            if ((dst = cn_file_read_all(path, &buf, &len)) != CN_OK) break;
            char *text = NULL;
            dst = darknet_sized_cfg((const char *)buf, len, dn_size, path, &text);
            cn_free(buf);
            if (dst != CN_OK) break;
            /* Darknet first, in its own process */
            const char *dn_why = dn_note;
            cJSON *dn = helper ? run_darknet(helper, path, dn_size, reps, dn_warmup, &dn_why) : NULL;
            const double dn_s = json_num(dn, "median_ms") * 1e-3, dn_cpu = json_num(dn, "median_cpu_ms") * 1e-3;
            const double dn_outputs = json_num(dn, "outputs"), dn_finite = json_num(dn, "finite_outputs");
            for (int ti = 0; ti < nthreads; ti++) {
                darknet_result r;
                if ((dst = bench_darknet_convnet(text, path, threads[ti], reps, dn_warmup, &r)) != CN_OK) break;
                const double x = dn_s / r.fwd, xc = dn_cpu / r.cpu;
                char target[16] = "", ver[64] = "";
                if (threads[ti] == 1) {
                    snprintf(target, sizeof target, ">=%.0fx", DARKNET_TARGET);
                    snprintf(ver, sizeof ver, "%s",
                             !isfinite(x)     ? "n/a (no Darknet time)"
                             : dn_size != 224 ? "n/a (the target is at 224x224)"
                                              : verdict(x, DARKNET_TARGET, 1));
                }
                if (!g->json) {
                    printf("%-12s %2d %6.2f %10.3f %8.3f | %10.3f %8.3f | %7.2f %7.2f | %-6s %s\n", darknet_nets[k],
                           threads[ti], r.macs * 1e-9, r.fwd * 1e3, r.cpu * 1e3, dn_s * 1e3, dn_cpu * 1e3, x, xc, target, ver);
                } else {
                    cJSON *e = cJSON_CreateObject();
                    cJSON_AddStringToObject(e, "net", darknet_nets[k]);
                    cJSON_AddStringToObject(e, "cfg", path);
                    cJSON_AddNumberToObject(e, "threads", threads[ti]);
                    cJSON_AddNumberToObject(e, "macs", r.macs);
                    add_num(e, "fwd_s", r.fwd);
                    add_num(e, "fwd_cpu_s", r.cpu);
                    add_num(e, "darknet_fwd_s", dn_s);
                    add_num(e, "darknet_fwd_cpu_s", dn_cpu);
                    add_num(e, "ratio", x);
                    add_num(e, "ratio_cpu", xc);
                    cJSON_AddNumberToObject(e, "outputs", (double)r.outputs);
                    add_num(e, "darknet_outputs", dn_outputs);
                    add_num(e, "darknet_finite_outputs", dn_finite);
                    if (*target) cJSON_AddStringToObject(e, "target", target);
                    if (*ver) cJSON_AddStringToObject(e, "verdict", ver);
                    if (!dn && dn_why) cJSON_AddStringToObject(e, "darknet_skipped", dn_why);
                    cJSON_AddItemToArray(jdnets, e);
                }
                if (ti == 0 && isfinite(dn_outputs) && dn_outputs != (double)r.outputs && !g->json)
                    printf("%-12s    note: output sizes differ: convnet %lld, Darknet %.0f\n", "", (long long)r.outputs, dn_outputs);
                if (ti == 0 && isfinite(dn_finite) && dn_finite != dn_outputs && !g->json)
                    printf("%-12s    note: %.0f of Darknet's %.0f outputs are inf or NaN\n", "", dn_outputs - dn_finite, dn_outputs);
            }
            if (!g->json && helper && !dn) printf("%-12s    darknet failed: %s\n", "", dn_why);
            cJSON_Delete(dn);
            free(text);
        }
    }
    if (dst != CN_OK) {
        if (out) cJSON_Delete(out);
        if (torch) cJSON_Delete(torch);
        return cli_fail(cmd, g, dst);
    }
    if (torch) cJSON_Delete(torch);
    if (!g->json) {
        printf("\nnotes: ratios are PyTorch (or Darknet) time / convnet time (> 1: convnet faster), from this one run; "
               "medians of %d repetitions.\n",
               reps);
        return CLI_OK;
    }
    return cli_print_json(out);
}
