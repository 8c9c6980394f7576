/* darknet_bench.c — Darknet's own forward time for one cfg, the other side of `convnet bench`'s
 * darknet section. Linked against Debian's libdarknet (cmake/bench.cmake builds it only when
 * /usr/lib/darknet/libdarknet.so and darknet.h are found); never part of the tests.
 *
 *   darknet_bench CFG [--size N] [--reps N] [--warmup N]
 *
 * Loads CFG with Darknet's random initialisation (no .weights), at batch 1, with the [net]
 * width and height replaced by N (default 224; the cfg is copied to a temporary file with
 * those two lines rewritten, so Darknet builds every layer at that size, as convnet's importer
 * does from the same text), sets every batch-norm layer's running variance to 1 (Darknet
 * leaves it 0, which would divide by 1e-6 in each layer and fill the activations with inf and
 * NaN), then runs `warmup` forwards and `reps` timed ones (network_predict on one random
 * 224x224 image). Darknet prints its layer table on stderr; the result is the last line on
 * stdout, prefixed so that nothing Darknet prints can be taken for it:
 *
 *   DARKNET_BENCH_JSON {"cfg": "...", "w": 224, "h": 224, "batch": 1, "layers": 31,
 *                       "reps": 5, "median_ms": ..., "min_ms": ..., "median_cpu_ms": ...,
 *                       "outputs": ..., "finite_outputs": ...}
 *
 * median_ms is wall time; median_cpu_ms the process's CPU time per forward (what the forward
 * costs when other jobs share the core).
 *
 * Exit status 0 on success, 2 on a usage error, 1 when the cfg cannot be read or written.
 * Darknet itself exits on errors in the cfg (non-zero). Darknet is single-threaded here (the
 * Debian build has no OpenMP), so the time is one thread's. */
#include <darknet.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double clock_s(clockid_t c)
{
    struct timespec t;
    clock_gettime(c, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static int usage(const char *msg, const char *val)
{
    fprintf(stderr, "darknet_bench: %s '%s'\nusage: darknet_bench CFG [--size 16..4096] [--reps 1..1000] [--warmup 0..100]\n",
            msg, val);
    return 2;
}

static int parse_int(const char *s, long lo, long hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) return 0;
    *out = (int)v;
    return 1;
}

/* the key of a "key = value" line (leading blanks skipped), compared with `key` */
static int line_is_key(const char *line, const char *key)
{
    while (*line == ' ' || *line == '\t') line++;
    size_t n = strlen(key);
    if (strncmp(line, key, n)) return 0;
    line += n;
    while (*line == ' ' || *line == '\t') line++;
    return *line == '=';
}

/* Copy cfg to a temporary file with [net]'s width and height set to `size`. Returns 1 and the
 * path in tmp, or 0 with a message on stderr. */
static int write_sized_cfg(const char *cfg, int size, char *tmp, size_t tmpcap)
{
    FILE *in = fopen(cfg, "r");
    if (!in) {
        fprintf(stderr, "darknet_bench: %s: %s\n", cfg, strerror(errno));
        return 0;
    }
    const char *dir = getenv("TMPDIR");
    snprintf(tmp, tmpcap, "%s/darknet_bench_XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(tmp);
    FILE *out = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!out) {
        fprintf(stderr, "darknet_bench: cannot create %s: %s\n", tmp, strerror(errno));
        if (fd >= 0) close(fd), unlink(tmp);
        fclose(in);
        return 0;
    }
    char line[4096];
    int section = 0, in_net = 0, wrote_size = 0, ok = 1;
    while (fgets(line, sizeof line, in)) {
        const char *p = line;
        while (*p == ' ' || *p == '\t') p++;
        if (*p == '[') {
            section++;
            in_net = section == 1 && (!strncmp(p, "[net]", 5) || !strncmp(p, "[network]", 9));
            if (fputs(line, out) == EOF) ok = 0;
            if (in_net) {
                if (fprintf(out, "width=%d\nheight=%d\n", size, size) < 0) ok = 0;
                wrote_size = 1;
            }
            continue;
        }
        if (in_net && (line_is_key(line, "width") || line_is_key(line, "height"))) continue;
        if (fputs(line, out) == EOF) ok = 0;
    }
    if (ferror(in)) ok = 0;
    fclose(in);
    if (fclose(out) != 0) ok = 0;
    if (!ok || !wrote_size) {
        fprintf(stderr, "darknet_bench: %s: %s\n", cfg, ok ? "no [net] section first" : "could not copy the cfg");
        unlink(tmp);
        return 0;
    }
    return 1;
}

int main(int argc, char **argv)
{
    const char *cfg = NULL;
    int size = 224, reps = 11, warmup = 2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--size") || !strcmp(a, "--reps") || !strcmp(a, "--warmup")) {
            if (i + 1 >= argc) return usage("missing value after", a);
            const char *v = argv[++i];
            int ok = !strcmp(a, "--size") ? parse_int(v, 16, 4096, &size)
                     : !strcmp(a, "--reps") ? parse_int(v, 1, 1000, &reps)
                                            : parse_int(v, 0, 100, &warmup);
            if (!ok) return usage(!strcmp(a, "--size") ? "--size is not in 16..4096:" : !strcmp(a, "--reps") ? "--reps is not in 1..1000:" : "--warmup is not in 0..100:", v);
        } else if (a[0] == '-' && a[1]) {
            return usage("unknown option", a);
        } else if (!cfg) {
            cfg = a;
        } else {
            return usage("a second CFG", a);
        }
    }
    if (!cfg) return usage("no CFG given", "");

    char tmp[4096];
    if (!write_sized_cfg(cfg, size, tmp, sizeof tmp)) return 1;
    gpu_index = -1;
    network *net = parse_network_cfg(tmp);
    unlink(tmp);
    if (!net) {
        fprintf(stderr, "darknet_bench: Darknet could not build %s\n", cfg);
        return 1;
    }
    set_batch_network(net, 1);
    for (int i = 0; i < net->n; i++) {
        layer *l = &net->layers[i];
        if (l->batch_normalize && l->rolling_variance)
            for (int k = 0; k < l->out_c; k++) l->rolling_variance[k] = 1;
    }
    const int inputs = net->w * net->h * net->c;
    float *x = malloc((size_t)inputs * sizeof *x);
    double *t = malloc((size_t)reps * sizeof *t), *cpu = malloc((size_t)reps * sizeof *cpu);
    if (!x || !t || !cpu) {
        fprintf(stderr, "darknet_bench: out of memory\n");
        free(x), free(t), free(cpu);
        free_network(net);
        return 1;
    }
    unsigned s = 12345;
    for (int i = 0; i < inputs; i++) {
        s = s * 1103515245u + 12345u;
        x[i] = (float)((s >> 8) & 0xffff) / 65535.0f;
    }
    float *y = NULL;
    for (int r = -warmup; r < reps; r++) {
        const double c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID), t0 = clock_s(CLOCK_MONOTONIC);
        y = network_predict(net, x);
        const double dt = clock_s(CLOCK_MONOTONIC) - t0, dc = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
        if (r >= 0) t[r] = dt, cpu[r] = dc;
    }
    /* the output Darknet returns: finite values counted, so a broken network shows */
    const int outputs = net->outputs;
    int finite = 0;
    for (int i = 0; y && i < outputs; i++) finite += isfinite(y[i]) != 0;
    const double med = median(t, reps), med_cpu = median(cpu, reps);
    printf("\nDARKNET_BENCH_JSON {\"cfg\": \"");
    for (const char *p = cfg; *p; p++) {
        if (*p == '"' || *p == '\\') putchar('\\');
        if ((unsigned char)*p >= 0x20) putchar(*p);
    }
    printf("\", \"w\": %d, \"h\": %d, \"c\": %d, \"batch\": %d, \"layers\": %d, \"reps\": %d, \"warmup\": %d, "
           "\"median_ms\": %.4f, \"min_ms\": %.4f, \"median_cpu_ms\": %.4f, \"outputs\": %d, \"finite_outputs\": %d}\n",
           net->w, net->h, net->c, net->batch, net->n, reps, warmup, med * 1e3, t[0] * 1e3, med_cpu * 1e3, outputs, finite);
    fflush(stdout);
    free(x), free(t), free(cpu);
    free_network(net);
    return 0;
}
