/* source.c — cn_dataset_open: datasets by name (mnist1d, fashion-mnist, idx:DIR, npy:DIR). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "convnet/data.h"
#include "convnet/dataset.h"
#include "convnet/npy.h"

#define FASHION_DIR "/usr/share/datasets/fashion-mnist"

static cn_status from_parts(cn_dataset **out, const char *name, const cn_shape *sample, int64_t n, const float *x,
                            const int64_t *labels, const float *flabels, int classes)
{
    cn_dataset_info info = {0};
    info.n = n;
    info.sample = *sample;
    info.target_kind = CN_TARGET_CLASS;
    info.num_classes = classes;
    snprintf(info.name, sizeof info.name, "%s", name);
    float *t = cn_malloc((size_t)n * sizeof(float), name);
    if (!t) return CN_STATUS_NOMEM;
    for (int64_t i = 0; i < n; i++) t[i] = labels ? (float)labels[i] : flabels[i];
    cn_status st = cn_dataset_from_arrays(out, &info, x, t);
    cn_free(t);
    return st;
}

/* "mnist1d" or "mnist1d:seed=7,n=5000,shuffle=1" */
static cn_status open_mnist1d(cn_dataset **train, cn_dataset **test, const char *args)
{
    cn_mnist1d_params p;
    cn_mnist1d_params_default(&p);
    char buf[256];
    snprintf(buf, sizeof buf, "%s", args ? args : "");
    for (char *kv = strtok(buf, ","); kv; kv = strtok(NULL, ",")) {
        char *eq = strchr(kv, '=');
        char *end = NULL;
        long long v = eq ? strtoll(eq + 1, &end, 10) : 0;
        if (!eq || !*(eq + 1) || *end)
            return cn_set_error(CN_STATUS_INVALID_ARG, "mnist1d: option '%s' is not key=integer (seed, n, shuffle)", kv);
        *eq = '\0';
        if (!strcmp(kv, "seed")) p.seed = (uint32_t)v;
        else if (!strcmp(kv, "n")) p.num_samples = v;
        else if (!strcmp(kv, "shuffle")) p.shuffle_seq = (int)v;
        else return cn_set_error(CN_STATUS_INVALID_ARG, "mnist1d: unknown option '%s' (seed, n, shuffle)", kv);
    }
    cn_mnist1d d;
    cn_status st = cn_mnist1d_generate(&p, &d);
    if (st != CN_OK) return st;
    cn_shape s = {2, {1, d.length}};
    st = from_parts(train, "mnist1d/train", &s, d.n_train, d.x_train, d.y_train, NULL, 10);
    if (st == CN_OK && test) {
        st = from_parts(test, "mnist1d/test", &s, d.n_test, d.x_test, d.y_test, NULL, 10);
        if (st != CN_OK) {
            cn_dataset_destroy(*train);
            *train = NULL;
        }
    }
    cn_mnist1d_free(&d);
    return st;
}

static int exists(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0;
}

/* images scaled to [0, 1], shape 1 x H x W */
static cn_status open_idx_part(cn_dataset **out, const char *dir, const char *prefix, const char *name)
{
    char ip[1024], lp[1024];
    snprintf(ip, sizeof ip, "%s/%s-images-idx3-ubyte.gz", dir, prefix);
    if (!exists(ip)) snprintf(ip, sizeof ip, "%s/%s-images-idx3-ubyte", dir, prefix);
    snprintf(lp, sizeof lp, "%s/%s-labels-idx1-ubyte.gz", dir, prefix);
    if (!exists(lp)) snprintf(lp, sizeof lp, "%s/%s-labels-idx1-ubyte", dir, prefix);
    cn_idx img, lab;
    cn_status st = cn_idx_load_pair(&img, &lab, ip, lp);
    if (st != CN_OK) return st;
    if (img.ndim != 3) {
        st = cn_set_error(CN_STATUS_SHAPE, "%s: images have %d dimensions; expected N x H x W", ip, img.ndim);
        goto done;
    }
    int classes = 0;
    for (int64_t i = 0; i < lab.numel; i++) {
        if (lab.i64[i] < 0 || lab.i64[i] > 9999) {
            st = cn_set_error(CN_STATUS_FORMAT, "%s: label %lld of sample %lld is not a class index", lp, (long long)lab.i64[i],
                              (long long)i);
            goto done;
        }
        if (lab.i64[i] + 1 > classes) classes = (int)lab.i64[i] + 1;
    }
    for (int64_t i = 0; i < img.numel; i++) img.f32[i] *= 1.0f / 255.0f;
    cn_shape s = {3, {1, img.dims[1], img.dims[2]}};
    st = from_parts(out, name, &s, img.dims[0], img.f32, lab.i64, NULL, classes < 10 ? 10 : classes);
done:
    cn_idx_free(&img);
    cn_idx_free(&lab);
    return st;
}

static cn_status open_idx(cn_dataset **train, cn_dataset **test, const char *dir, const char *name)
{
    char tn[64], vn[64];
    snprintf(tn, sizeof tn, "%.40s/train", name);
    snprintf(vn, sizeof vn, "%.40s/test", name);
    cn_status st = open_idx_part(train, dir, "train", tn);
    if (st != CN_OK || !test) return st;
    if ((st = open_idx_part(test, dir, "t10k", vn)) != CN_OK) {
        cn_dataset_destroy(*train);
        *train = NULL;
    }
    return st;
}

/* x_*.npy: (N, ...) float inputs; y_*.npy: (N) integer labels */
static cn_status open_npy_part(cn_dataset **out, const char *dir, const char *part, int required)
{
    char xp[1024], yp[1024], name[64];
    snprintf(xp, sizeof xp, "%s/x_%s.npy", dir, part);
    snprintf(yp, sizeof yp, "%s/y_%s.npy", dir, part);
    snprintf(name, sizeof name, "npy/%s", part);
    if (!required && !exists(xp)) return CN_OK;
    cn_npy x, y;
    cn_status st = cn_npy_load(&x, xp);
    if (st != CN_OK) return st;
    if ((st = cn_npy_load(&y, yp)) != CN_OK) {
        cn_npy_free(&x);
        return st;
    }
    if (x.ndim < 2 || x.ndim > CN_MAX_DIMS) {
        st = cn_set_error(CN_STATUS_SHAPE, "%s: inputs have %d dimensions; expected (N, features...) with 2 to %d", xp, x.ndim,
                          CN_MAX_DIMS);
    } else if (y.ndim != 1 || !y.i64) {
        st = cn_set_error(CN_STATUS_FORMAT, "%s: labels must be a 1-D integer array, got %d-D %s", yp, y.ndim, cn_dtype_name(y.dtype));
    } else if (y.shape[0] != x.shape[0]) {
        st = cn_set_error(CN_STATUS_SHAPE, "%s has %lld samples but %s has %lld labels", xp, (long long)x.shape[0], yp,
                          (long long)y.shape[0]);
    } else {
        int classes = 0;
        for (int64_t i = 0; i < y.numel && st == CN_OK; i++) {
            if (y.i64[i] < 0 || y.i64[i] > 100000)
                st = cn_set_error(CN_STATUS_FORMAT, "%s: label %lld at %lld is not a class index", yp, (long long)y.i64[i], (long long)i);
            else if (y.i64[i] + 1 > classes) classes = (int)y.i64[i] + 1;
        }
        /* (N, L) signals become (N, 1, L): one channel, for 1D convolutions */
        cn_shape s = {0};
        if (x.ndim == 2) s = (cn_shape){2, {1, x.shape[1]}};
        else {
            s.ndim = x.ndim - 1;
            for (int i = 1; i < x.ndim; i++) s.dim[i - 1] = x.shape[i];
        }
        if (st == CN_OK) st = from_parts(out, name, &s, x.shape[0], x.f32, y.i64, NULL, classes);
    }
    cn_npy_free(&x);
    cn_npy_free(&y);
    return st;
}

cn_status cn_dataset_open(cn_dataset **train, cn_dataset **test, const char *spec)
{
    *train = NULL;
    if (test) *test = NULL;
    if (!spec || !*spec) return cn_set_error(CN_STATUS_INVALID_ARG, "data: empty dataset name");
    if (!strcmp(spec, "mnist1d")) return open_mnist1d(train, test, NULL);
    if (!strncmp(spec, "mnist1d:", 8)) return open_mnist1d(train, test, spec + 8);
    if (!strcmp(spec, "fashion-mnist")) {
        if (!exists(FASHION_DIR))
            return cn_set_error(CN_STATUS_NOT_FOUND, "fashion-mnist: %s is missing; install Debian's dataset-fashion-mnist (make deps)",
                                FASHION_DIR);
        return open_idx(train, test, FASHION_DIR, "fashion-mnist");
    }
    if (!strncmp(spec, "idx:", 4)) return open_idx(train, test, spec + 4, "idx");
    if (!strncmp(spec, "npy:", 4)) {
        cn_status st = open_npy_part(train, spec + 4, "train", 1);
        if (st != CN_OK || !test) return st;
        if ((st = open_npy_part(test, spec + 4, "test", 0)) != CN_OK) {
            cn_dataset_destroy(*train);
            *train = NULL;
        }
        return st;
    }
    return cn_set_error(CN_STATUS_INVALID_ARG, "data '%s': unknown dataset (mnist1d, fashion-mnist, idx:DIR, npy:DIR)", spec);
}
