/* source.c — cn_dataset_open: datasets by name (mnist1d, fashion-mnist, idx:DIR, npy:DIR,
 * npz:FILE, folder:DIR, synthetic-seg, synthetic-det). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "convnet/data.h"
#include "convnet/dataset.h"
#include "convnet/npy.h"
#include "data/spec.h"

const char *const cn_fashion_classes[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                            "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

#define MAX_CLASSES 100000

static cn_status from_parts(cn_dataset **out, const char *name, const cn_shape *sample, int64_t n, const float *x,
                            const int64_t *labels, int classes)
{
    cn_dataset_info info = {0};
    info.n = n;
    info.sample = *sample;
    info.target_kind = CN_TARGET_CLASS;
    info.num_classes = classes;
    snprintf(info.name, sizeof info.name, "%s", name);
    float *t = cn_malloc((size_t)(n > 0 ? n : 1) * sizeof(float), name);
    if (!t) return CN_STATUS_NOMEM;
    for (int64_t i = 0; i < n; i++) t[i] = (float)labels[i];
    cn_status st = cn_dataset_from_arrays(out, &info, x, t);
    cn_free(t);
    return st;
}

/* "mnist1d" or "mnist1d:seed=7,n=5000,shuffle=1" */
static cn_status open_mnist1d(cn_dataset **train, cn_dataset **test, const char *args)
{
    static const char *const keys[] = {"seed", "n", "shuffle", NULL};
    spec_opts o;
    cn_status st = spec_parse(&o, "mnist1d", args, keys);
    if (st != CN_OK) return st;
    cn_mnist1d_params p;
    cn_mnist1d_params_default(&p);
    int64_t seed, n, shuffle;
    if ((st = spec_int(&o, "seed", p.seed, 0, 0xffffffffLL, &seed)) != CN_OK ||
        (st = spec_int(&o, "n", p.num_samples, 10, 100000000, &n)) != CN_OK ||
        (st = spec_int(&o, "shuffle", 0, 0, 1, &shuffle)) != CN_OK)
        return st;
    p.seed = (uint32_t)seed, p.num_samples = n, p.shuffle_seq = (int)shuffle;
    cn_mnist1d d;
    if ((st = cn_mnist1d_generate(&p, &d)) != CN_OK) return st;
    cn_shape s = {2, {1, d.length}};
    st = from_parts(train, "mnist1d/train", &s, d.n_train, d.x_train, d.y_train, 10);
    if (st == CN_OK && test && d.n_test > 0) {
        st = from_parts(test, "mnist1d/test", &s, d.n_test, d.x_test, d.y_test, 10);
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
    int classes = 0;
    if (img.ndim != 3) {
        st = cn_set_error(CN_STATUS_SHAPE, "%s: images have %d dimensions; expected N x H x W", ip, img.ndim);
        goto done;
    }
    for (int64_t i = 0; i < lab.numel; i++) {
        if (lab.i64[i] < 0 || lab.i64[i] >= MAX_CLASSES) {
            st = cn_set_error(CN_STATUS_FORMAT, "%s: label %lld of item %lld is not a class index (0..%d)", lp, (long long)lab.i64[i],
                              (long long)i, MAX_CLASSES - 1);
            goto done;
        }
        if (lab.i64[i] + 1 > classes) classes = (int)lab.i64[i] + 1;
    }
    for (int64_t i = 0; i < img.numel; i++) img.f32[i] *= 1.0f / 255.0f;
    cn_shape s = {3, {1, img.dims[1], img.dims[2]}};
    st = from_parts(out, name, &s, img.dims[0], img.f32, lab.i64, classes < 10 ? 10 : classes);
done:
    cn_idx_free(&img);
    cn_idx_free(&lab);
    return st;
}

static cn_status open_idx(cn_dataset **train, cn_dataset **test, const char *dir, const char *name, int fashion)
{
    char tn[64], vn[64];
    snprintf(tn, sizeof tn, "%.40s/train", name);
    snprintf(vn, sizeof vn, "%.40s/test", name);
    cn_status st = open_idx_part(train, dir, "train", tn);
    if (st == CN_OK && fashion) st = cn_dataset_set_class_names(*train, cn_fashion_classes, 10);
    if (st == CN_OK && test) {
        st = open_idx_part(test, dir, "t10k", vn);
        if (st == CN_OK && fashion) st = cn_dataset_set_class_names(*test, cn_fashion_classes, 10);
    }
    if (st != CN_OK) {
        cn_dataset_destroy(*train);
        *train = NULL;
        if (test) {
            cn_dataset_destroy(*test);
            *test = NULL;
        }
    }
    return st;
}

/* ---- arrays: npy:DIR and npz:FILE ------------------------------------------------------- */

enum { LAYOUT_AUTO, LAYOUT_NCW, LAYOUT_NCHW, LAYOUT_NHWC };

typedef struct {
    const char *xname, *yname; /* for messages: file paths or "archive:entry" */
    cn_npy x, y;
} part_arrays;

/* Turn loaded arrays into a dataset. `classes` is the class count to use (max over parts). */
static cn_status build_part(cn_dataset **out, part_arrays *p, int layout, const char *name, int classes, cn_dataset_info *shape_of)
{
    cn_npy *x = &p->x, *y = &p->y;
    char xs[128] = "", ys[128] = "";
    cn_dataset_info info = {0};
    snprintf(info.name, sizeof info.name, "%s", name);
    if (x->ndim < 1)
        return cn_set_error(CN_STATUS_SHAPE, "%s: inputs are a scalar; expected an array with samples along the first axis", p->xname);
    if (y->ndim < 1 || y->shape[0] != x->shape[0])
        return cn_set_error(CN_STATUS_SHAPE, "%s has %lld samples but %s has %lld targets", p->xname, (long long)x->shape[0], p->yname,
                            y->ndim < 1 ? 0LL : (long long)y->shape[0]);
    if (x->shape[0] < 1) return cn_set_error(CN_STATUS_SHAPE, "%s: no samples (first axis is 0)", p->xname);
    info.n = x->shape[0];
    /* sample shape */
    int nd = x->ndim;
    cn_shape s = {0};
    int transpose = 0;
    switch (layout) {
    case LAYOUT_NCW:
        if (nd != 3) return cn_set_error(CN_STATUS_SHAPE, "%s: layout=ncw needs 3 dimensions (N, C, W); the array has %d", p->xname, nd);
        s = (cn_shape){2, {x->shape[1], x->shape[2]}};
        break;
    case LAYOUT_NHWC:
        if (nd != 4) return cn_set_error(CN_STATUS_SHAPE, "%s: layout=nhwc needs 4 dimensions (N, H, W, C); the array has %d", p->xname, nd);
        s = (cn_shape){3, {x->shape[3], x->shape[1], x->shape[2]}};
        transpose = 1;
        break;
    default:
        if (nd > 5)
            return cn_set_error(CN_STATUS_SHAPE, "%s: inputs have %d dimensions; at most 5 (N, C, D, H, W)", p->xname, nd);
        if (nd == 1) s = (cn_shape){1, {1}};
        else if (nd == 2) s = (cn_shape){2, {1, x->shape[1]}};
        else if (nd == 3 && layout == LAYOUT_AUTO) s = (cn_shape){3, {1, x->shape[1], x->shape[2]}};
        else {
            s.ndim = nd - 1;
            for (int i = 1; i < nd; i++) s.dim[i - 1] = x->shape[i];
        }
    }
    info.sample = s;
    cn_status st = cn_shape_check(&s, p->xname);
    if (st != CN_OK) return st;
    /* targets */
    float *t = NULL;
    if (y->i64 && y->ndim == 1) {
        info.target_kind = CN_TARGET_CLASS;
        info.num_classes = classes;
    } else if (y->i64) {
        /* per-position classes: the target's shape must be the sample's spatial shape */
        cn_shape spatial = {0};
        if (s.ndim >= 2) {
            spatial.ndim = s.ndim - 1;
            for (int i = 1; i < s.ndim; i++) spatial.dim[i - 1] = s.dim[i];
        } else spatial = s;
        cn_shape ts = {y->ndim - 1, {0}};
        for (int i = 1; i < y->ndim && i <= CN_MAX_DIMS; i++) ts.dim[i - 1] = y->shape[i];
        if (y->ndim - 1 > CN_MAX_DIMS || !cn_shape_equal(&ts, &spatial)) {
            cn_shape_str(&spatial, xs, sizeof xs);
            if (y->ndim - 1 <= CN_MAX_DIMS) cn_shape_str(&ts, ys, sizeof ys);
            return cn_set_error(CN_STATUS_SHAPE,
                                "%s: integer targets of shape %s per sample; expected one class per sample (1-D) or a mask of the "
                                "inputs' spatial shape %s", p->yname, y->ndim - 1 <= CN_MAX_DIMS ? ys : "(too many dims)", xs);
        }
        info.target_kind = CN_TARGET_DENSE_CLASS;
        info.target = spatial;
        info.num_classes = classes;
    } else {
        info.target_kind = CN_TARGET_TENSOR;
        if (y->ndim - 1 > CN_MAX_DIMS)
            return cn_set_error(CN_STATUS_SHAPE, "%s: targets have %d dimensions per sample; at most %d", p->yname, y->ndim - 1, CN_MAX_DIMS);
        if (y->ndim == 1) info.target = (cn_shape){1, {1}};
        else {
            info.target.ndim = y->ndim - 1;
            for (int i = 1; i < y->ndim; i++) info.target.dim[i - 1] = y->shape[i];
        }
    }
    if (shape_of && shape_of->n) {
        /* the test part must look like the training part */
        if (!cn_shape_equal(&shape_of->sample, &info.sample) || shape_of->target_kind != info.target_kind ||
            (info.target_kind != CN_TARGET_CLASS && !cn_shape_equal(&shape_of->target, &info.target)))
            return cn_set_error(CN_STATUS_SHAPE, "%s: samples %s do not match the training part's %s (or the targets differ in kind or shape)",
                                p->xname, cn_shape_str(&info.sample, xs, sizeof xs), cn_shape_str(&shape_of->sample, ys, sizeof ys));
    }
    /* targets as floats */
    int64_t ts = cn_dataset_info_target_size(&info);
    t = cn_malloc((size_t)(info.n * ts) * sizeof(float), name);
    if (!t) return CN_STATUS_NOMEM;
    for (int64_t i = 0; i < info.n * ts; i++) t[i] = y->i64 ? (float)y->i64[i] : y->f32[i];
    /* inputs: uint8 is scaled to [0, 1]; channels-last is transposed */
    float *xv = x->f32, *tmp = NULL;
    int64_t per = cn_dataset_info_sample_size(&info);
    if (transpose) {
        tmp = cn_malloc((size_t)(info.n * per) * sizeof(float), name);
        if (!tmp) {
            cn_free(t);
            return CN_STATUS_NOMEM;
        }
        int64_t C = s.dim[0], HW = s.dim[1] * s.dim[2];
        for (int64_t i = 0; i < info.n; i++)
            for (int64_t k = 0; k < HW; k++)
                for (int64_t c = 0; c < C; c++) tmp[i * per + c * HW + k] = xv[i * per + k * C + c];
        xv = tmp;
    }
    if (x->dtype == CN_DTYPE_U8)
        for (int64_t i = 0; i < info.n * per; i++) xv[i] *= 1.0f / 255.0f;
    st = cn_dataset_from_arrays(out, &info, xv, t);
    if (shape_of && st == CN_OK) *shape_of = info;
    cn_free(tmp);
    cn_free(t);
    return st;
}

/* class count over the parts' integer targets; labels must be in 0..MAX_CLASSES-1 */
static cn_status count_classes(const part_arrays *p, int *classes)
{
    if (!p->y.i64) return CN_OK;
    for (int64_t i = 0; i < p->y.numel; i++) {
        int64_t v = p->y.i64[i];
        if (v < 0 || v >= MAX_CLASSES)
            return cn_set_error(CN_STATUS_FORMAT, "%s: target %lld at element %lld is not a class index (0..%d)", p->yname, (long long)v,
                                (long long)i, MAX_CLASSES - 1);
        if (v + 1 > *classes) *classes = (int)v + 1;
    }
    return CN_OK;
}

static cn_status open_arrays(cn_dataset **train, cn_dataset **test, const char *spec, int npz)
{
    char loc[1024], optext[512];
    spec_split(spec, loc, sizeof loc, optext, sizeof optext);
    static const char *const keys[] = {"layout", NULL};
    static const char *const layouts[] = {"auto", "ncw", "nchw", "nhwc", NULL};
    spec_opts o;
    int layout;
    cn_status st = spec_parse(&o, npz ? "npz" : "npy", optext, keys);
    if (st == CN_OK) st = spec_choice(&o, "layout", layouts, LAYOUT_AUTO, &layout);
    if (st != CN_OK) return st;
    part_arrays parts[2];
    char names[4][1100];
    memset(parts, 0, sizeof parts);
    int have_test = 0;
    cn_npz *z = NULL;
    if (npz && (st = cn_npz_open(&z, loc)) != CN_OK) return st;
    static const char *const base[2][2] = {{"x_train", "y_train"}, {"x_test", "y_test"}};
    for (int k = 0; k < 2 && st == CN_OK; k++) {
        for (int a = 0; a < 2; a++) {
            if (npz) snprintf(names[2 * k + a], sizeof names[0], "%s:%s.npy", loc, base[k][a]);
            else snprintf(names[2 * k + a], sizeof names[0], "%s/%s.npy", loc, base[k][a]);
        }
        parts[k].xname = names[2 * k], parts[k].yname = names[2 * k + 1];
        if (k == 1) {
            int present = npz ? cn_npz_has(z, "x_test") : exists(names[2]);
            if (!present || !test) break;
            have_test = 1;
        }
        if (npz) {
            if ((st = cn_npz_read(z, base[k][0], &parts[k].x)) == CN_OK) st = cn_npz_read(z, base[k][1], &parts[k].y);
        } else if ((st = cn_npy_load(&parts[k].x, names[2 * k])) == CN_OK) {
            if (!exists(names[2 * k + 1]))
                st = cn_set_error(CN_STATUS_IO, "%s: missing; %s needs its targets beside it", names[2 * k + 1], names[2 * k]);
            else st = cn_npy_load(&parts[k].y, names[2 * k + 1]);
        }
    }
    cn_npz_close(z);
    int classes = 0;
    for (int k = 0; k < 1 + have_test && st == CN_OK; k++) st = count_classes(&parts[k], &classes);
    cn_dataset_info shape_of = {0};
    char nm[64];
    if (st == CN_OK) {
        snprintf(nm, sizeof nm, "%s/train", npz ? "npz" : "npy");
        st = build_part(train, &parts[0], layout, nm, classes, &shape_of);
    }
    if (st == CN_OK && have_test) {
        snprintf(nm, sizeof nm, "%s/test", npz ? "npz" : "npy");
        if ((st = build_part(test, &parts[1], layout, nm, classes, &shape_of)) != CN_OK) {
            cn_dataset_destroy(*train);
            *train = NULL;
        }
    }
    for (int k = 0; k < 2; k++) cn_npy_free(&parts[k].x), cn_npy_free(&parts[k].y);
    return st;
}

cn_status cn_dataset_open(cn_dataset **train, cn_dataset **test, const char *spec)
{
    *train = NULL;
    if (test) *test = NULL;
    if (!spec || !*spec) return cn_set_error(CN_STATUS_INVALID_ARG, "data: empty dataset name");
    const char *colon = strchr(spec, ':');
    size_t nl = colon ? (size_t)(colon - spec) : strlen(spec);
    const char *rest = colon ? colon + 1 : "";
#define IS(name) (nl == strlen(name) && !strncmp(spec, name, nl))
    if (IS("mnist1d")) return open_mnist1d(train, test, rest);
    if (IS("fashion-mnist")) {
        if (*rest) return cn_set_error(CN_STATUS_INVALID_ARG, "fashion-mnist: takes no options (got '%s')", rest);
        if (!exists(CN_FASHION_DIR))
            return cn_set_error(CN_STATUS_NOT_FOUND,
                                "fashion-mnist: %s is missing; install Debian's dataset-fashion-mnist (make deps) or use idx:DIR",
                                CN_FASHION_DIR);
        return open_idx(train, test, CN_FASHION_DIR, "fashion-mnist", 1);
    }
    if (IS("idx") || IS("npy") || IS("npz") || IS("folder")) {
        if (!*rest) return cn_set_error(CN_STATUS_INVALID_ARG, "data '%s': give a location, e.g. %.*s:PATH", spec, (int)nl, spec);
        if (IS("idx")) return open_idx(train, test, rest, "idx", 0);
        if (IS("npy")) return open_arrays(train, test, rest, 0);
        if (IS("npz")) return open_arrays(train, test, rest, 1);
        char loc[1024], optext[512];
        spec_split(rest, loc, sizeof loc, optext, sizeof optext);
        return cn_open_folder(train, test, loc, optext);
    }
    if (IS("synthetic-seg")) return cn_open_synthetic_seg(train, test, rest);
    if (IS("synthetic-det")) return cn_open_synthetic_det(train, test, rest);
#undef IS
    return cn_set_error(CN_STATUS_INVALID_ARG,
                        "data '%s': unknown dataset (mnist1d, fashion-mnist, idx:DIR, npy:DIR, npz:FILE, folder:DIR, synthetic-seg, "
                        "synthetic-det)", spec);
}
