/* test_darknet.c — Darknet cfg/weights import:
 *   - the zoo (/usr/share/darknet/cfg: resnet18, resnet50, vgg-16, alexnet, darknet19,
 *     yolov3-tiny, yolov2-tiny) imports, and every Darknet layer's output shape and learnable
 *     parameter count, and the totals, equal Darknet's own (tests/fixtures/darknet/zoo.txt,
 *     written by libdarknet through gen_zoo.c; skipped with a message without the package);
 *   - weights land where Darknet's layout says (biases, batch-norm scales and statistics,
 *     weights; connected layers' order; the variance conversion), checked on a small cfg with a
 *     synthetic file;
 *   - equivalence with libdarknet itself (dlopen'd; skipped with a message when absent):
 *     resnet18 and yolov3-tiny built by libdarknet from the zoo cfgs (at a smaller input size, to
 *     keep the test fast), random weights and batch-norm statistics saved by libdarknet's
 *     save_weights, then convnet's output (and yolov3-tiny's two YOLO outputs) must equal
 *     libdarknet's network_predict within 1e-4;
 *   - malformed cfg and weights files give errors naming the file, the line and the value. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "convnet/convnet.h"
#include "fixture.h"
#include "test.h"

#define ZOO_DIR "/usr/share/darknet/cfg"

static int have_zoo(void) { return access(ZOO_DIR "/resnet18.cfg", R_OK) == 0; }

/* the learnable parameters of the convnet layers that make up Darknet layer i ("conv3", "conv3_bn", ...) */
static int64_t block_params(const cn_model *m, int i, cn_layer_info *final)
{
    int64_t total = 0;
    char num[16];
    snprintf(num, sizeof num, "%d", i);
    final->name = NULL;
    for (int k = 0; k < cn_model_layer_count(m); k++) {
        cn_layer_info li;
        cn_model_layer(m, k, &li);
        const char *p = li.name;
        while (*p >= 'a' && *p <= 'z') p++;
        if (p == li.name || strncmp(p, num, strlen(num)) || (p[strlen(num)] && p[strlen(num)] != '_')) continue;
        total += li.params;
        if (!p[strlen(num)]) *final = li;
    }
    return total;
}

static void test_zoo(void)
{
    if (!have_zoo()) {
        printf("skip test_zoo: %s not found (Debian package darknet)\n", ZOO_DIR);
        return;
    }
    char path[512];
    snprintf(path, sizeof path, "%s/darknet/zoo.txt", CN_FIXTURE_DIR);
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    if (!f) return;
    char line[256], cfg[64] = "";
    cn_model *m = NULL;
    int64_t total = 0;
    int layers = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#') continue;
        if (!strncmp(line, "cfg ", 4)) {
            sscanf(line + 4, "%63s %d", cfg, &layers);
            cn_model_destroy(m);
            m = NULL;
            total = 0;
            char cp[256];
            snprintf(cp, sizeof cp, "%s/%s.cfg", ZOO_DIR, cfg);
            if (cn_darknet_load(&m, cp) != CN_OK || cn_model_plan(m, 1, CN_PLAN_INFER) != CN_OK) {
                cn_test_fail(__FILE__, __LINE__, "%s: %s", cfg, cn_last_error());
                cn_model_destroy(m);
                m = NULL;
            }
            continue;
        }
        if (!m) continue;
        if (!strncmp(line, "total ", 6)) {
            long long want = atoll(line + 6);
            int64_t have = 0;
            for (int k = 0; k < cn_model_layer_count(m); k++) {
                cn_layer_info li;
                cn_model_layer(m, k, &li);
                have += li.params;
            }
            if (have != want || total != want) cn_test_fail(__FILE__, __LINE__, "%s: %lld learnable parameters, Darknet has %lld", cfg, (long long)have, want);
            CHECK(have == want);
            continue;
        }
        int i, c, h, w, outputs;
        long long n;
        if (sscanf(line, "%d %d %d %d %d %lld", &i, &c, &h, &w, &outputs, &n) != 6) continue;
        cn_layer_info li;
        int64_t p = block_params(m, i, &li);
        total += p;
        if (!li.name) {
            cn_test_fail(__FILE__, __LINE__, "%s: no convnet layer for Darknet layer %d", cfg, i);
            continue;
        }
        int64_t numel = cn_shape_numel(&li.out) / li.out.dim[0];
        int shape_ok = c ? (li.out.ndim == 4 && li.out.dim[1] == c && li.out.dim[2] == h && li.out.dim[3] == w) ||
                               (li.out.ndim == 2 && li.out.dim[1] == (int64_t)c * h * w)
                         : numel == outputs; /* Darknet leaves C H W at 0 for softmax: compare counts */
        if (!shape_ok || p != n) {
            char s[64];
            cn_shape_str(&li.out, s, sizeof s);
            cn_test_fail(__FILE__, __LINE__, "%s layer %d '%s': output %s, %lld params; Darknet %dx%dx%d (%d values), %lld params", cfg, i,
                         li.name, s, (long long)p, c, h, w, outputs, n);
        }
        cn_test_checks++;
    }
    cn_model_destroy(m);
    fclose(f);
}

/* a small cfg with every weighted layout: conv+bn+leaky, conv with bias, connected+bn, connected */
static const char *small_cfg = "[net]\nheight=4\nwidth=4\nchannels=2\n"
                               "[convolutional]\nbatch_normalize=1\nfilters=3\nsize=3\nstride=1\npad=1\nactivation=leaky\n"
                               "[convolutional]\nfilters=2\nsize=1\nstride=1\npad=0\nactivation=linear\n"
                               "[connected]\noutput=3\nbatch_normalize=1\nactivation=relu\n"
                               "[connected]\noutput=2\nactivation=linear\n";

static const float *param_of(cn_model *m, const char *name)
{
    for (int i = 0; i < cn_model_param_count(m); i++) {
        cn_param p;
        if (cn_model_param(m, i, &p) == CN_OK && !strcmp(p.name, name)) return p.value;
    }
    cn_test_fail(__FILE__, __LINE__, "no parameter %s", name);
    static const float zero[64];
    return zero;
}

static void test_weights_layout(void)
{
    cn_model *m = NULL;
    CHECK_OK(cn_darknet_parse(&m, small_cfg, strlen(small_cfg), "small.cfg"));
    if (!m) return;
    /* batch 2: convnet's batch_norm refuses a plan with one value per channel (N=1 after a dense layer) */
    CHECK_OK(cn_model_plan(m, 2, CN_PLAN_INFER));
    /* file: header v0.2 (20 bytes: major, minor, revision, seen as 64 bits), then per layer */
    const int counts[] = {3, 3, 3, 3, 3 * 2 * 9, /* conv0: biases, scales, mean, var, weights */
                          2, 2 * 3,                /* conv1: biases, weights */
                          3, 3 * 32, 3, 3, 3,      /* fc2: biases, weights (3 x 2*4*4), scales, mean, var */
                          2, 2 * 3};               /* fc3: biases, weights */
    int nf = 0;
    for (size_t k = 0; k < sizeof counts / sizeof counts[0]; k++) nf += counts[k];
    size_t len = 20 + 4 * (size_t)nf;
    unsigned char *buf = calloc(1, len + 8);
    int32_t hdr[3] = {0, 2, 0};
    memcpy(buf, hdr, 12);
    float *v = malloc((size_t)nf * sizeof(float));
    for (int k = 0; k < nf; k++) v[k] = (float)(k + 1) * 0.5f;
    memcpy(buf + 20, v, 4 * (size_t)nf);
    CHECK_OK(cn_darknet_load_weights_buffer(m, buf, len, "small.weights"));
    /* conv0: biases → the batch norm's bias; scales → its weight; the variance converted */
    CHECK_NEAR(param_of(m, "conv0_bn.bias")[0], v[0], 0);
    CHECK_NEAR(param_of(m, "conv0_bn.weight")[2], v[5], 0);
    CHECK_NEAR(param_of(m, "conv0_bn.running_mean")[0], v[6], 0);
    /* (sqrt(var) + 1e-6)^2 - 1e-12: the variance moves by ~2e-6 sqrt(var) */
    double var = v[9], want = (sqrt(var) + 1e-6) * (sqrt(var) + 1e-6) - 1e-12;
    CHECK_NEAR(param_of(m, "conv0_bn.running_var")[0], want, 1e-6 * want);
    CHECK(param_of(m, "conv0_bn.running_var")[0] != v[9]);
    CHECK_NEAR(param_of(m, "conv0_conv.weight")[0], v[12], 0);
    /* conv1 (linear, no bn): the conv's own bias, then weights */
    CHECK_NEAR(param_of(m, "conv1.bias")[1], v[12 + 54 + 1], 0);
    CHECK_NEAR(param_of(m, "conv1.weight")[0], v[12 + 54 + 2], 0);
    /* fc2: biases, weights, then scales, mean, var */
    int o = 12 + 54 + 2 + 6;
    CHECK_NEAR(param_of(m, "fc2_bn.bias")[0], v[o], 0);
    CHECK_NEAR(param_of(m, "fc2_fc.weight")[0], v[o + 3], 0);
    CHECK_NEAR(param_of(m, "fc2_bn.weight")[0], v[o + 3 + 96], 0);
    CHECK_NEAR(param_of(m, "fc2_bn.running_mean")[2], v[o + 3 + 96 + 3 + 2], 0);
    CHECK_NEAR(param_of(m, "fc3.weight")[5], v[nf - 1], 0);
    /* a file one float short, one float long, a partial float, a bad header: errors, model unchanged */
    float before = param_of(m, "fc3.weight")[5];
    v[nf - 1] = -7;
    memcpy(buf + 20, v, 4 * (size_t)nf);
    CHECK_ERR(cn_darknet_load_weights_buffer(m, buf, len - 4, "short.weights"), CN_STATUS_FORMAT, "holds 189 floats; the cfg's layers need 190");
    CHECK_ERR(cn_darknet_load_weights_buffer(m, buf, len + 4, "long.weights"), CN_STATUS_FORMAT, "holds 191 floats");
    CHECK_ERR(cn_darknet_load_weights_buffer(m, buf, len + 2, "partial.weights"), CN_STATUS_FORMAT, "and a partial one");
    CHECK_ERR(cn_darknet_load_weights_buffer(m, buf, 10, "tiny.weights"), CN_STATUS_FORMAT, "a header of 16 or 20 bytes");
    int32_t bad[3] = {-5, 0, 0};
    memcpy(buf, bad, 12);
    CHECK_ERR(cn_darknet_load_weights_buffer(m, buf, len, "bad.weights"), CN_STATUS_FORMAT, "-5.0 is not a Darknet weights version");
    CHECK(param_of(m, "fc3.weight")[5] == before);
    /* version 0.1: a 16-byte header */
    int32_t old[4] = {0, 1, 0, 7};
    memcpy(buf, old, 16);
    memmove(buf + 16, buf + 20, 4 * (size_t)nf);
    CHECK_OK(cn_darknet_load_weights_buffer(m, buf, 16 + 4 * (size_t)nf, "v01.weights"));
    CHECK(param_of(m, "fc3.weight")[5] == -7);
    free(v);
    free(buf);
    cn_model_destroy(m);
}

/* malformed cfgs: each line is "cfg text | expected message part" */
static void test_bad_cfgs(void)
{
    static const char *const cases[][2] = {
        {"", "no sections"},
        {"[convolutional]\nfilters=2\n", "the first section is [convolutional]"},
        {"[net]\nheight=8\nwidth=8\n", "channels 0"},
        {"[net]\nheight=8\nwidth=8\nchannels=3\n", "no layers after [net]"},
        {"[net]\nheight=8\nwidth=8\nchannels=3\n[convolutional]\nfilters=abc\n", "bad.cfg:6: [convolutional] filters = 'abc': expected an integer"},
        {"[net]\nheight=8\nwidth=8\nchannels=3\n[convolutional]\nfilters=-4\n", "filters = -4 is outside"},
        {"[net]\nheight=8\nwidth=8\nchannels=3\n[convolutional]\nfilters=99999999999\n", "is outside"},
        {"[net]\nheight=8\nwidth=8\nchannels=3\n[convolutional]\nfilters=2\nsize=9\n", "does not fit the 8x8 input"},
        {"[net]\nheight=8\nwidth=8\nchannels=3\n[convolutional]\nfilters=2\nactivation=plse\n", "activation 'plse' is not supported"},
        {"[net]\nheight=8\nwidth=8\nchannels=3\n[lstm]\n", "section [lstm] is not supported"},
        {"[net]\nheight=8\nwidth=8\nchannels=3\n[route]\nlayers=3\n", "layer 3 does not exist before this one (this is layer 0)"},
        {"[net]\nheight=8\nwidth=8\nchannels=3\n[maxpool]\n[route]\nlayers=-5\n", "layer -4 does not exist"},
        {"[net]\nheight=8\nwidth=8\nchannels=3\n[shortcut]\nfrom=0\n", "layer 0 does not exist before this one"},
        {"[net]\nheight=8\nwidth=8\nchannels=3\n[convolutional\n", "malformed section header"},
        {"[net]\nheight=8\nwidth=8\nchannels=3\nnonsense\n", "'nonsense' is not key=value"},
        {"height=8\n[net]\n", "comes before any [section]"},
        {"[net]\nheight=8\nwidth=8\nchannels=3\n[convolutional]\nfilters=4\ngroups=3\n", "groups = 3 does not divide"},
        {"[net]\nheight=8\nwidth=8\nchannels=3\n[route]\nlayers=1,x\n", "expected numbers separated by commas"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cn_model *m = (cn_model *)1;
        cn_status st = cn_darknet_parse(&m, cases[i][0], strlen(cases[i][0]), "bad.cfg");
        CHECK(st != CN_OK && m == NULL);
        if (st == CN_OK || !strstr(cn_last_error(), cases[i][1]))
            cn_test_fail(__FILE__, __LINE__, "case %zu: got '%s', wanted '%s'", i, st == CN_OK ? "ok" : cn_last_error(), cases[i][1]);
    }
    /* every prefix of a real cfg parses or fails cleanly (no crash, no leak under ASan) */
    const char *cfg = small_cfg;
    for (size_t n = 0; n < strlen(cfg); n++) {
        cn_model *m = NULL;
        if (cn_darknet_parse(&m, cfg, n, "prefix.cfg") == CN_OK) cn_model_destroy(m);
    }
    cn_model *m = NULL;
    CHECK_ERR(cn_darknet_parse(&m, "[net]\0x", 7, "nul.cfg"), CN_STATUS_FORMAT, "byte 5 is NUL");
}


/* ---- allocation failures: fail the k-th allocation; every failure is CN_STATUS_NOMEM and leaks nothing ---- */
static int fail_at, n_allocs, n_live;
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
    if (p) n_live--, free(p);
}

static void test_alloc_failures(void)
{
    /* a zero weights file of the right size for small_cfg at batch 2 */
    size_t len = 20 + 4 * 190;
    unsigned char *buf = calloc(1, len);
    int32_t hdr[3] = {0, 2, 0};
    memcpy(buf, hdr, 12);
    int k, done = 0;
    for (k = 0; k < 2000 && !done; k++) {
        cn_model *m = NULL;
        fail_at = k, n_allocs = 0, n_live = 0;
        cn_set_allocator(&(cn_allocator){failing_alloc, counting_free, NULL});
        cn_status st = cn_darknet_parse(&m, small_cfg, strlen(small_cfg), "fault.cfg");
        if (st == CN_OK && (st = cn_model_plan(m, 2, CN_PLAN_INFER)) == CN_OK) st = cn_darknet_load_weights_buffer(m, buf, len, "fault.weights");
        cn_model_destroy(m);
        int live = n_live;
        cn_set_allocator(NULL);
        if (st == CN_OK) done = 1;
        else CHECK_MSG(st == CN_STATUS_NOMEM, "failing allocation %d: %s (%s)", k, cn_status_name(st), cn_last_error());
        CHECK_MSG(live == 0, "failing allocation %d: %d allocations leaked", k, live);
    }
    CHECK(done);
    free(buf);
}

/* ---- libdarknet itself ---------------------------------------------------------------------------- */
#if defined(__has_include)
#if __has_include("/usr/lib/darknet/include/darknet.h")
#define HAVE_DARKNET_H 1
#endif
#endif

#ifdef HAVE_DARKNET_H
#include <dlfcn.h>

#include "/usr/lib/darknet/include/darknet.h"

/* libdarknet does not free everything it allocates (free_network leaves some layer buffers):
 * those leaks are Darknet's, so LeakSanitizer (sanitizer builds) is told to ignore its library */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) { return "leak:libdarknet.so\n"; }

typedef struct {
    void *so;
    network *(*parse)(char *);
    void (*save)(network *, char *);
    float *(*predict)(network *, float *);
    void (*set_batch)(network *, int);
    void (*free_net)(network *);
} libdn;

static int libdn_open(libdn *d)
{
    d->so = dlopen("/usr/lib/darknet/libdarknet.so", RTLD_NOW | RTLD_LOCAL);
    if (!d->so) return 0;
    *(void **)&d->parse = dlsym(d->so, "parse_network_cfg");
    *(void **)&d->save = dlsym(d->so, "save_weights");
    *(void **)&d->predict = dlsym(d->so, "network_predict");
    *(void **)&d->set_batch = dlsym(d->so, "set_batch_network");
    *(void **)&d->free_net = dlsym(d->so, "free_network");
    return d->parse && d->save && d->predict && d->set_batch && d->free_net;
}

/* the zoo cfg with the input size changed (a smaller image: same network, less work) */
static int write_cfg(const char *zoo, int size, const char *out)
{
    char path[256], line[512];
    snprintf(path, sizeof path, "%s/%s.cfg", ZOO_DIR, zoo);
    FILE *in = fopen(path, "r"), *o = fopen(out, "w");
    if (!in || !o) {
        if (in) fclose(in);
        if (o) fclose(o);
        return 0;
    }
    while (fgets(line, sizeof line, in)) {
        if (!strncmp(line, "height=", 7)) fprintf(o, "height=%d\n", size);
        else if (!strncmp(line, "width=", 6)) fprintf(o, "width=%d\n", size);
        else if (!strncmp(line, "batch=", 6)) fprintf(o, "batch=1\n");
        else if (!strncmp(line, "subdivisions=", 13)) fprintf(o, "subdivisions=1\n");
        else fputs(line, o);
    }
    fclose(in);
    fclose(o);
    return 1;
}

static void fill(cn_rng *r, float *v, int n, float lo, float hi)
{
    if (v && n > 0) cn_rng_fill_uniform(r, v, (size_t)n, lo, hi);
}

static void equivalence(libdn *d, const char *zoo, int size, const char *const *extra_outputs, const int *extra_layers, int n_extra)
{
    char cfg[128], wts[128];
    snprintf(cfg, sizeof cfg, "/tmp/cn_dn_%d_%s.cfg", (int)getpid(), zoo);
    snprintf(wts, sizeof wts, "/tmp/cn_dn_%d_%s.weights", (int)getpid(), zoo);
    if (!write_cfg(zoo, size, cfg)) {
        cn_test_fail(__FILE__, __LINE__, "cannot write %s", cfg);
        return;
    }
    network *net = d->parse(cfg);
    d->set_batch(net, 1);
    /* random weights Darknet-style, and batch-norm parameters and statistics that are not the
     * identity (libdarknet starts them at scale 1, mean 0, variance 0) */
    cn_rng r;
    cn_rng_init(&r, 77, CN_STREAM_USER);
    for (int i = 0; i < net->n; i++) {
        layer *l = &net->layers[i];
        if (l->type != CONVOLUTIONAL && l->type != CONNECTED) continue;
        int n = l->type == CONVOLUTIONAL ? l->n : l->outputs;
        fill(&r, l->biases, n, -0.1f, 0.1f);
        if (l->batch_normalize) {
            fill(&r, l->scales, n, 0.5f, 1.5f);
            fill(&r, l->rolling_mean, n, -0.1f, 0.1f);
            fill(&r, l->rolling_variance, n, 0.5f, 2.0f);
        }
    }
    d->save(net, wts);
    int64_t in_n = (int64_t)net->c * net->h * net->w;
    float *x = malloc((size_t)in_n * sizeof(float));
    fill(&r, x, (int)in_n, 0, 1);
    float *dn_out = d->predict(net, x);
    int out_n = net->outputs;
    cn_model *m = NULL;
    const float *y = NULL;
    cn_shape s;
    if (cn_darknet_load(&m, cfg) != CN_OK || cn_model_plan(m, 1, CN_PLAN_INFER) != CN_OK || cn_darknet_load_weights(m, wts) != CN_OK ||
        cn_model_forward(m, x, 0) != CN_OK) {
        cn_test_fail(__FILE__, __LINE__, "%s: %s", zoo, cn_last_error());
        goto done;
    }
    y = cn_model_output(m, &s);
    cn_shape s_last = s;
    CHECK(cn_shape_numel(&s) == out_n);
    if (cn_shape_numel(&s) == out_n) {
        /* 1e-4 absolute: both sum in float with different orders over up to ~4600 products per
         * output (resnet18's last 3x3x512 convolutions), through ~20 layers of batch norm */
        CHECK_ALLCLOSE(y, dn_out, out_n, 1e-4, 0, zoo);
    }
    for (int k = 0; k < n_extra; k++) {
        const float *ye;
        if (cn_model_layer_output(m, extra_outputs[k], &ye, &s) != CN_OK) {
            cn_test_fail(__FILE__, __LINE__, "%s", cn_last_error());
            continue;
        }
        layer *l = &net->layers[extra_layers[k]];
        CHECK(cn_shape_numel(&s) == l->outputs);
        if (cn_shape_numel(&s) == l->outputs) CHECK_ALLCLOSE(ye, l->output, l->outputs, 1e-4, 0, extra_outputs[k]);
    }
    double worst = 0;
    for (int i = 0; y && i < out_n && cn_shape_numel(&s_last) >= out_n; i++) worst = fmax(worst, fabs((double)y[i] - dn_out[i]));
    printf("%s at %dx%d: convnet vs libdarknet, %d outputs, max |diff| %.3g\n", zoo, size, size, out_n, worst);
done:
    cn_model_destroy(m);
    free(x);
    d->free_net(net);
    remove(cfg);
    remove(wts);
}

static void test_libdarknet(void)
{
    libdn d;
    if (!have_zoo() || !libdn_open(&d)) {
        printf("skip test_libdarknet: /usr/lib/darknet/libdarknet.so or the zoo cfgs are absent (Debian package darknet)\n");
        return;
    }
    /* Darknet prints every layer on stderr while building; keep the test output readable */
    fflush(stderr);
    FILE *saved = fdopen(dup(2), "w");
    if (!freopen("/dev/null", "w", stderr)) stderr = saved;
    equivalence(&d, "resnet18", 64, NULL, NULL, 0);
    static const char *const yolo_names[] = {"yolo16", "yolo23"};
    static const int yolo_layers[] = {16, 23};
    equivalence(&d, "yolov3-tiny", 128, yolo_names, yolo_layers, 2);
    equivalence(&d, "yolov2-tiny", 128, NULL, NULL, 0);
    equivalence(&d, "alexnet", 99, NULL, NULL, 0);
    fflush(stderr);
    if (saved) {
        dup2(fileno(saved), 2);
        fclose(saved);
    }
}
#else
static void test_libdarknet(void)
{
    printf("skip test_libdarknet: /usr/lib/darknet/include/darknet.h not found at build time (Debian package darknet)\n");
}
#endif

int main(void)
{
    RUN(test_zoo);
    RUN(test_weights_layout);
    RUN(test_bad_cfgs);
    RUN(test_alloc_failures);
    RUN(test_libdarknet);
    return cn_test_finish();
}
