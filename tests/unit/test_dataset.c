/* test_dataset.c — the dataset object (arrays, subsets, splits, class names, statistics) and
 * cn_dataset_open for every source: mnist1d, fashion-mnist (when installed), idx:DIR, npy:DIR
 * (layouts, target kinds, every bad input), folder:DIR (sizes, channels, cache, corrupt and
 * skipped files) and the synthetic segmentation and detection sets (determinism, masks and
 * boxes that match what is drawn). */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"

static char tmp_root[256];

static const char *tmp_path(const char *name)
{
    static char buf[16][700];
    static int k;
    char *b = buf[k++ % 16];
    snprintf(b, 700, "%s/%s", tmp_root, name);
    return b;
}

static void write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f) return;
    CHECK(fwrite(data, 1, n, f) == n);
    fclose(f);
}

static void mkdirs(const char *path)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", path);
    CHECK(system(cmd) == 0);
}

static cn_dataset_info class_info(int64_t n, cn_shape sample, int classes)
{
    cn_dataset_info info;
    memset(&info, 0, sizeof info);
    info.n = n;
    info.sample = sample;
    info.target_kind = CN_TARGET_CLASS;
    info.num_classes = classes;
    snprintf(info.name, sizeof info.name, "toy");
    return info;
}

/* ---- the dataset object --------------------------------------------------------------------- */

static void test_arrays(void)
{
    float x[10 * 3], t[10];
    for (int i = 0; i < 30; i++) x[i] = (float)i;
    for (int i = 0; i < 10; i++) t[i] = (float)(i % 3);
    cn_dataset_info info = class_info(10, (cn_shape){2, {1, 3}}, 3);
    cn_dataset *d = NULL;
    CHECK_OK(cn_dataset_from_arrays(&d, &info, x, t));
    float xs[3], ts;
    CHECK_OK(cn_dataset_get(d, 4, xs, &ts));
    CHECK(xs[0] == 12 && xs[2] == 14 && ts == 1);
    CHECK_ERR(cn_dataset_get(d, 10, xs, &ts), CN_STATUS_INVALID_ARG, "toy: sample 10 is not in 0..9");
    CHECK_ERR(cn_dataset_get(d, -1, xs, &ts), CN_STATUS_INVALID_ARG, "sample -1");
    /* the arrays were copied */
    x[12] = -5;
    CHECK_OK(cn_dataset_get(d, 4, xs, &ts));
    CHECK(xs[0] == 12);
    CHECK_EQ_INT(cn_dataset_info_sample_size(cn_dataset_info_of(d)), 3);
    CHECK_EQ_INT(cn_dataset_info_target_size(cn_dataset_info_of(d)), 1);
    /* class names */
    CHECK(cn_dataset_class_name(d, 0) == NULL);
    static const char *const names[3] = {"a", "bb", "ccc"};
    CHECK_ERR(cn_dataset_set_class_names(d, names, 2), CN_STATUS_INVALID_ARG, "toy: 2 class names for 3 classes");
    CHECK_OK(cn_dataset_set_class_names(d, names, 3));
    CHECK(!strcmp(cn_dataset_class_name(d, 2), "ccc") && !cn_dataset_class_name(d, 3) && !cn_dataset_class_name(d, -1));
    int64_t counts[3];
    CHECK_OK(cn_dataset_class_counts(d, counts));
    CHECK(counts[0] == 4 && counts[1] == 3 && counts[2] == 3);

    /* subsets see through to the base and keep its names */
    cn_dataset *s = NULL;
    int64_t idx[3] = {9, 0, 4};
    CHECK_OK(cn_dataset_subset(&s, d, idx, 3));
    CHECK_OK(cn_dataset_get(s, 0, xs, &ts));
    CHECK(xs[0] == 27 && ts == 0);
    CHECK(cn_dataset_info_of(s)->n == 3 && !strcmp(cn_dataset_class_name(s, 1), "bb"));
    cn_dataset_destroy(s);
    CHECK_ERR(cn_dataset_subset(&s, d, (int64_t[]){0, 10}, 2), CN_STATUS_INVALID_ARG, "subset index 10 is not in 0..9");
    CHECK(s == NULL);

    /* bad inputs */
    t[3] = 3;
    CHECK_ERR(cn_dataset_from_arrays(&s, &info, x, t), CN_STATUS_INVALID_ARG, "toy: target 3 of sample 3 is not a class in [0, 3)");
    t[3] = 0.5f;
    CHECK_ERR(cn_dataset_from_arrays(&s, &info, x, t), CN_STATUS_INVALID_ARG, "target 0.5 of sample 3");
    CHECK_ERR(cn_dataset_from_arrays(&s, &info, x, NULL), CN_STATUS_INVALID_ARG, "targets are NULL");
    info.n = 0;
    CHECK_ERR(cn_dataset_from_arrays(&s, &info, x, t), CN_STATUS_SHAPE, "toy: 0 samples; a dataset needs at least one");
    info.n = 10, info.num_classes = 0;
    t[3] = 0;
    CHECK_ERR(cn_dataset_from_arrays(&s, &info, x, t), CN_STATUS_INVALID_ARG, "class targets need num_classes >= 1");
    info = class_info(10, (cn_shape){2, {0, 3}}, 3);
    CHECK_ERR(cn_dataset_from_arrays(&s, &info, x, t), CN_STATUS_SHAPE, "toy");
    /* boxes: class -1 or a class; layout (B, 5) */
    cn_dataset_info bi;
    memset(&bi, 0, sizeof bi);
    bi.n = 1, bi.sample = (cn_shape){3, {1, 2, 2}}, bi.target_kind = CN_TARGET_BOXES, bi.target = (cn_shape){2, {2, 5}}, bi.num_classes = 2;
    float bt[10] = {1, 0.5f, 0.5f, 0.2f, 0.2f, -1, 0, 0, 0, 0};
    CHECK_OK(cn_dataset_from_arrays(&s, &bi, x, bt));
    cn_dataset_destroy(s);
    bt[5] = 2;
    CHECK_ERR(cn_dataset_from_arrays(&s, &bi, x, bt), CN_STATUS_INVALID_ARG, "box 1 of sample 0 has class 2; expected -1 (padding) or [0, 2)");
    bi.target = (cn_shape){2, {2, 4}};
    CHECK_ERR(cn_dataset_from_arrays(&s, &bi, x, bt), CN_STATUS_SHAPE, "box targets must be (max_boxes, 5)");
    cn_dataset_destroy(d);
}

static void test_split(void)
{
    enum { N = 200 };
    float x[N], t[N];
    /* unbalanced classes: 140 of class 0, 40 of class 1, 20 of class 2 */
    for (int i = 0; i < N; i++) x[i] = (float)i, t[i] = (float)(i < 140 ? 0 : i < 180 ? 1 : 2);
    cn_dataset_info info = class_info(N, (cn_shape){1, {1}}, 3);
    cn_dataset *d = NULL, *tr = NULL, *va = NULL, *tr2 = NULL, *va2 = NULL;
    CHECK_OK(cn_dataset_from_arrays(&d, &info, x, t));
    for (int balanced = 0; balanced < 2; balanced++) {
        CHECK_OK(cn_dataset_split(&tr, &va, d, 0.25, 7, balanced));
        CHECK_OK(cn_dataset_split(&tr2, &va2, d, 0.25, 7, balanced));
        if (!tr || !va || !tr2 || !va2) return;
        int64_t ntr = cn_dataset_info_of(tr)->n, nva = cn_dataset_info_of(va)->n;
        CHECK_EQ_INT(ntr + nva, N);
        CHECK_EQ_INT(nva, 50);
        /* disjoint and complete: every sample exactly once */
        int seen[N] = {0}, cls[3] = {0};
        float xs, ts;
        for (int64_t i = 0; i < ntr; i++) {
            CHECK_OK(cn_dataset_get(tr, i, &xs, &ts));
            seen[(int)xs]++;
        }
        for (int64_t i = 0; i < nva; i++) {
            CHECK_OK(cn_dataset_get(va, i, &xs, &ts));
            seen[(int)xs]++, cls[(int)ts]++;
            float x2, t2;
            CHECK_OK(cn_dataset_get(va2, i, &x2, &t2));
            CHECK(x2 == xs); /* the same seed gives the same split */
        }
        for (int i = 0; i < N; i++) CHECK_EQ_INT(seen[i], 1);
        /* balanced: exactly a quarter of each class */
        if (balanced) CHECK(cls[0] == 35 && cls[1] == 10 && cls[2] == 5);
        CHECK(strstr(cn_dataset_info_of(va)->name, "/val") && strstr(cn_dataset_info_of(tr)->name, "/train"));
        cn_dataset_destroy(tr), cn_dataset_destroy(va), cn_dataset_destroy(tr2), cn_dataset_destroy(va2);
    }
    /* another seed, another split */
    CHECK_OK(cn_dataset_split(&tr, &va, d, 0.25, 7, 0));
    CHECK_OK(cn_dataset_split(&tr2, &va2, d, 0.25, 8, 0));
    int same = 1;
    for (int64_t i = 0; i < 50; i++) {
        float a, b, ta, tb;
        cn_dataset_get(va, i, &a, &ta), cn_dataset_get(va2, i, &b, &tb);
        same &= a == b;
    }
    CHECK(!same);
    cn_dataset_destroy(tr), cn_dataset_destroy(va), cn_dataset_destroy(tr2), cn_dataset_destroy(va2);
    CHECK_ERR(cn_dataset_split(&tr, &va, d, 1.0, 7, 0), CN_STATUS_INVALID_ARG, "validation fraction 1 is not in (0, 1)");
    CHECK_ERR(cn_dataset_split(&tr, &va, d, 0, 7, 0), CN_STATUS_INVALID_ARG, "validation fraction 0");
    /* a tiny fraction still gives one validation sample */
    CHECK_OK(cn_dataset_split(&tr, &va, d, 0.001, 7, 0));
    CHECK(va && cn_dataset_info_of(va)->n == 1);
    cn_dataset_destroy(tr), cn_dataset_destroy(va);
    cn_dataset_destroy(d);
}

static void test_channel_stats(void)
{
    enum { N = 700, C = 3, P = 10 };
    float *x = malloc(sizeof(float) * N * C * P), t[N];
    cn_rng r;
    cn_rng_init(&r, 3, CN_STREAM_USER);
    for (int i = 0; i < N; i++) {
        t[i] = 0;
        for (int c = 0; c < C; c++)
            for (int k = 0; k < P; k++) x[(i * C + c) * P + k] = 100.0f * c + (1.0f + c) * cn_rng_normal(&r);
    }
    cn_dataset_info info = class_info(N, (cn_shape){2, {C, P}}, 1);
    cn_dataset *d = NULL;
    CHECK_OK(cn_dataset_from_arrays(&d, &info, x, t));
    /* the direct two-pass answer in double */
    double mean[C] = {0}, var[C] = {0};
    for (int i = 0; i < N; i++)
        for (int c = 0; c < C; c++)
            for (int k = 0; k < P; k++) mean[c] += x[(i * C + c) * P + k];
    for (int c = 0; c < C; c++) mean[c] /= N * P;
    for (int i = 0; i < N; i++)
        for (int c = 0; c < C; c++)
            for (int k = 0; k < P; k++) var[c] += pow(x[(i * C + c) * P + k] - mean[c], 2);
    float m1[C], s1[C], m4[C], s4[C];
    cn_set_num_threads(1);
    CHECK_OK(cn_dataset_channel_stats(d, 0, m1, s1));
    cn_set_num_threads(4);
    CHECK_OK(cn_dataset_channel_stats(d, 0, m4, s4));
    cn_set_num_threads(0);
    for (int c = 0; c < C; c++) {
        /* float32 results of a double computation */
        CHECK_NEAR(m1[c], mean[c], 1e-5 * (1 + fabs(mean[c])));
        CHECK_NEAR(s1[c], sqrt(var[c] / (N * P)), 1e-5 * sqrt(var[c] / (N * P)));
        CHECK(m1[c] == m4[c] && s1[c] == s4[c]); /* the same at any thread count */
    }
    /* the first samples only; a constant channel reports std 1 */
    float mm[C], ss[C];
    CHECK_OK(cn_dataset_channel_stats(d, 1, mm, ss));
    double m0 = 0;
    for (int k = 0; k < P; k++) m0 += x[k];
    CHECK_NEAR(mm[0], m0 / P, 1e-4);
    for (int i = 0; i < N * C * P; i++) x[i] = 2;
    cn_dataset_destroy(d);
    CHECK_OK(cn_dataset_from_arrays(&d, &info, x, t));
    CHECK_OK(cn_dataset_channel_stats(d, 0, mm, ss));
    CHECK(mm[1] == 2 && ss[1] == 1);
    cn_dataset_destroy(d);
    free(x);
}

/* ---- sources ---------------------------------------------------------------------------------- */

static void test_open_names(void)
{
    cn_dataset *tr = NULL, *te = NULL;
    CHECK_ERR(cn_dataset_open(&tr, &te, ""), CN_STATUS_INVALID_ARG, "empty dataset name");
    CHECK_ERR(cn_dataset_open(&tr, &te, "cifar"), CN_STATUS_INVALID_ARG, "data 'cifar': unknown dataset (mnist1d, fashion-mnist");
    CHECK_ERR(cn_dataset_open(&tr, &te, "npy:"), CN_STATUS_INVALID_ARG, "give a location, e.g. npy:PATH");
    CHECK_ERR(cn_dataset_open(&tr, &te, "mnist1d:sed=3"), CN_STATUS_INVALID_ARG, "mnist1d: unknown option 'sed' — did you mean 'seed'?");
    CHECK_ERR(cn_dataset_open(&tr, &te, "mnist1d:n=abc"), CN_STATUS_INVALID_ARG, "mnist1d: n='abc' is not an integer");
    CHECK_ERR(cn_dataset_open(&tr, &te, "mnist1d:n"), CN_STATUS_INVALID_ARG, "option 'n' is not key=value");
    CHECK_ERR(cn_dataset_open(&tr, &te, "fashion-mnist:x=1"), CN_STATUS_INVALID_ARG, "fashion-mnist: takes no options");
    CHECK(tr == NULL && te == NULL);
    CHECK_OK(cn_dataset_open(&tr, &te, "mnist1d:n=200,seed=3"));
    if (tr && te) {
        const cn_dataset_info *i = cn_dataset_info_of(tr);
        CHECK(i->n == 160 && cn_dataset_info_of(te)->n == 40 && i->sample.ndim == 2 && i->sample.dim[0] == 1 && i->sample.dim[1] == 40);
        CHECK(i->num_classes == 10 && i->target_kind == CN_TARGET_CLASS);
    }
    cn_dataset_destroy(tr), cn_dataset_destroy(te);
    /* no test part wanted */
    CHECK_OK(cn_dataset_open(&tr, NULL, "mnist1d"));
    CHECK(tr && cn_dataset_info_of(tr)->n == 4000);
    cn_dataset_destroy(tr);
}

static void test_fashion(void)
{
    struct stat sb;
    if (stat("/usr/share/datasets/fashion-mnist", &sb) != 0) {
        printf("skip test_fashion: dataset-fashion-mnist is not installed\n");
        return;
    }
    cn_dataset *tr = NULL, *te = NULL;
    CHECK_OK(cn_dataset_open(&tr, &te, "fashion-mnist"));
    if (!tr || !te) return;
    const cn_dataset_info *i = cn_dataset_info_of(tr);
    CHECK(i->n == 60000 && cn_dataset_info_of(te)->n == 10000 && i->num_classes == 10);
    CHECK(i->sample.ndim == 3 && i->sample.dim[0] == 1 && i->sample.dim[1] == 28 && i->sample.dim[2] == 28);
    CHECK(!strcmp(cn_dataset_class_name(tr, 9), "Ankle boot") && !strcmp(cn_dataset_class_name(te, 0), "T-shirt/top"));
    float x[784], t;
    CHECK_OK(cn_dataset_get(tr, 0, x, &t));
    float lo = 1, hi = 0;
    for (int k = 0; k < 784; k++) lo = fminf(lo, x[k]), hi = fmaxf(hi, x[k]);
    CHECK(lo >= 0 && hi <= 1 && hi > 0.5f);
    CHECK(t == 9); /* the first training item of Fashion-MNIST is an ankle boot */
    cn_dataset_destroy(tr), cn_dataset_destroy(te);
}

/* raw IDX bytes: magic, type 8, dims, data */
static void write_idx(const char *path, int ndim, const uint32_t *dims, const unsigned char *data, size_t n)
{
    unsigned char h[4 + 4 * 3] = {0, 0, 8, (unsigned char)ndim};
    for (int i = 0; i < ndim; i++)
        for (int b = 0; b < 4; b++) h[4 + 4 * i + b] = (unsigned char)(dims[i] >> (24 - 8 * b));
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f) return;
    fwrite(h, 1, 4 + 4 * (size_t)ndim, f);
    fwrite(data, 1, n, f);
    fclose(f);
}

static void test_idx_dir(void)
{
    mkdirs(tmp_path("idx"));
    unsigned char img[5 * 2 * 3], lab[5] = {1, 0, 3, 2, 1};
    for (int i = 0; i < 30; i++) img[i] = (unsigned char)(i * 8);
    write_idx(tmp_path("idx/train-images-idx3-ubyte"), 3, (uint32_t[]){5, 2, 3}, img, 30);
    write_idx(tmp_path("idx/train-labels-idx1-ubyte"), 1, (uint32_t[]){5}, lab, 5);
    write_idx(tmp_path("idx/t10k-images-idx3-ubyte"), 3, (uint32_t[]){2, 2, 3}, img, 12);
    write_idx(tmp_path("idx/t10k-labels-idx1-ubyte"), 1, (uint32_t[]){2}, lab, 2);
    char spec[700];
    snprintf(spec, sizeof spec, "idx:%s", tmp_path("idx"));
    cn_dataset *tr = NULL, *te = NULL;
    CHECK_OK(cn_dataset_open(&tr, &te, spec));
    if (tr && te) {
        float x[6], t;
        CHECK_OK(cn_dataset_get(tr, 2, x, &t));
        CHECK(t == 3);
        CHECK_NEAR(x[1], 13 * 8 / 255.0, 1e-7);
        CHECK(cn_dataset_info_of(te)->n == 2 && cn_dataset_info_of(tr)->num_classes == 10);
    }
    cn_dataset_destroy(tr), cn_dataset_destroy(te);
    /* label/image count mismatch: the IDX reader names both files */
    write_idx(tmp_path("idx/t10k-labels-idx1-ubyte"), 1, (uint32_t[]){3}, lab, 3);
    CHECK_ERR(cn_dataset_open(&tr, &te, spec), CN_STATUS_SHAPE, "2 images");
    CHECK(strstr(cn_last_error(), "3 labels") && tr == NULL);
    /* missing files */
    snprintf(spec, sizeof spec, "idx:%s", tmp_path("nowhere"));
    CHECK_ERR(cn_dataset_open(&tr, &te, spec), CN_STATUS_IO, "nowhere/train-images-idx3-ubyte");
}

/* a .npy file with any dtype descr and raw little-endian data */
static void write_npy_raw(const char *path, const char *descr, const char *shape, const void *data, size_t n)
{
    char header[256];
    int hl = snprintf(header, sizeof header, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, shape);
    int total = 10 + hl + 1, pad = (64 - total % 64) % 64;
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f) return;
    unsigned short len = (unsigned short)(hl + pad + 1);
    fwrite("\x93NUMPY\x01\x00", 1, 8, f);
    fputc(len & 0xff, f), fputc(len >> 8, f);
    fwrite(header, 1, (size_t)hl, f);
    for (int i = 0; i < pad; i++) fputc(' ', f);
    fputc('\n', f);
    fwrite(data, 1, n, f);
    fclose(f);
}

static void test_npy_dir(void)
{
    const char *dir = tmp_path("npy");
    mkdirs(dir);
    char p[700], spec[700];
    float x[5 * 4];
    int64_t y[5] = {0, 2, 1, 2, 0};
    for (int i = 0; i < 20; i++) x[i] = (float)i;
    snprintf(p, sizeof p, "%s/x_train.npy", dir);
    CHECK_OK(cn_npy_save(p, CN_DTYPE_F32, 2, (int64_t[]){5, 4}, x));
    snprintf(p, sizeof p, "%s/y_train.npy", dir);
    CHECK_OK(cn_npy_save(p, CN_DTYPE_I64, 1, (int64_t[]){5}, y));
    snprintf(spec, sizeof spec, "npy:%s", dir);
    cn_dataset *tr = NULL, *te = NULL;
    CHECK_OK(cn_dataset_open(&tr, &te, spec));
    CHECK(te == NULL); /* no x_test.npy: no test part */
    if (tr) {
        const cn_dataset_info *i = cn_dataset_info_of(tr);
        CHECK(i->n == 5 && i->sample.ndim == 2 && i->sample.dim[0] == 1 && i->sample.dim[1] == 4 && i->num_classes == 3);
        float xs[4], ts;
        CHECK_OK(cn_dataset_get(tr, 3, xs, &ts));
        CHECK(xs[0] == 12 && ts == 2);
    }
    cn_dataset_destroy(tr);
    /* a test part with 3 labels for 2 inputs */
    snprintf(p, sizeof p, "%s/x_test.npy", dir);
    CHECK_OK(cn_npy_save(p, CN_DTYPE_F32, 2, (int64_t[]){2, 4}, x));
    snprintf(p, sizeof p, "%s/y_test.npy", dir);
    CHECK_OK(cn_npy_save(p, CN_DTYPE_I64, 1, (int64_t[]){3}, y));
    CHECK_ERR(cn_dataset_open(&tr, &te, spec), CN_STATUS_SHAPE, "x_test.npy has 2 samples but");
    CHECK(strstr(cn_last_error(), "y_test.npy has 3 targets") && tr == NULL && te == NULL);
    /* the test part must look like the training part */
    CHECK_OK(cn_npy_save(p, CN_DTYPE_I64, 1, (int64_t[]){2}, y));
    snprintf(p, sizeof p, "%s/x_test.npy", dir);
    CHECK_OK(cn_npy_save(p, CN_DTYPE_F32, 2, (int64_t[]){2, 5}, x));
    CHECK_ERR(cn_dataset_open(&tr, &te, spec), CN_STATUS_SHAPE, "x_test.npy: samples 1x5 do not match the training part's 1x4");
    /* a missing y_test beside x_test */
    snprintf(p, sizeof p, "%s/y_test.npy", dir);
    unlink(p);
    CHECK_ERR(cn_dataset_open(&tr, &te, spec), CN_STATUS_IO, "y_test.npy: missing; ");
    snprintf(p, sizeof p, "%s/x_test.npy", dir);
    unlink(p);
    /* corrupt x_train: truncated data */
    snprintf(p, sizeof p, "%s/x_train.npy", dir);
    write_npy_raw(p, "<f4", "(5, 4)", x, 40);
    CHECK_ERR(cn_dataset_open(&tr, &te, spec), CN_STATUS_FORMAT, "x_train.npy");
    /* a negative label */
    CHECK_OK(cn_npy_save(p, CN_DTYPE_F32, 2, (int64_t[]){5, 4}, x));
    snprintf(p, sizeof p, "%s/y_train.npy", dir);
    int64_t yb[5] = {0, -1, 1, 0, 0};
    CHECK_OK(cn_npy_save(p, CN_DTYPE_I64, 1, (int64_t[]){5}, yb));
    CHECK_ERR(cn_dataset_open(&tr, &te, spec), CN_STATUS_FORMAT, "y_train.npy: target -1 at element 1 is not a class index");
    /* float targets: regression */
    float yf[5 * 2] = {0.5f, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    CHECK_OK(cn_npy_save(p, CN_DTYPE_F32, 2, (int64_t[]){5, 2}, yf));
    CHECK_OK(cn_dataset_open(&tr, &te, spec));
    if (tr) {
        const cn_dataset_info *i = cn_dataset_info_of(tr);
        CHECK(i->target_kind == CN_TARGET_TENSOR && i->target.ndim == 1 && i->target.dim[0] == 2);
        float xs[4], ts[2];
        CHECK_OK(cn_dataset_get(tr, 0, xs, ts));
        CHECK(ts[0] == 0.5f && ts[1] == 1);
    }
    cn_dataset_destroy(tr);
    /* images (N, H, W) uint8 with masks (N, H, W): per-pixel classes, inputs scaled by 1/255 */
    unsigned char u8[3 * 2 * 2] = {0, 255, 51, 102, 1, 2, 3, 4, 5, 6, 7, 8};
    int64_t masks[12] = {0, 1, 1, 0, 2, 2, 0, 0, 1, 1, 1, 1};
    snprintf(p, sizeof p, "%s/x_train.npy", dir);
    write_npy_raw(p, "|u1", "(3, 2, 2)", u8, 12);
    snprintf(p, sizeof p, "%s/y_train.npy", dir);
    CHECK_OK(cn_npy_save(p, CN_DTYPE_I64, 3, (int64_t[]){3, 2, 2}, masks));
    CHECK_OK(cn_dataset_open(&tr, &te, spec));
    if (tr) {
        const cn_dataset_info *i = cn_dataset_info_of(tr);
        char s[32];
        CHECK(i->target_kind == CN_TARGET_DENSE_CLASS && i->num_classes == 3 && !strcmp(cn_shape_str(&i->sample, s, sizeof s), "1x2x2"));
        float xs[4], ts[4];
        CHECK_OK(cn_dataset_get(tr, 0, xs, ts));
        CHECK(ts[1] == 1);
        CHECK_NEAR(xs[1], 1.0, 1e-7);
        CHECK_NEAR(xs[2], 0.2, 1e-7);
    }
    cn_dataset_destroy(tr);
    /* masks of the wrong shape */
    CHECK_OK(cn_npy_save(p, CN_DTYPE_I64, 3, (int64_t[]){3, 2, 2}, masks));
    CHECK_OK(cn_npy_save(p, CN_DTYPE_I64, 2, (int64_t[]){3, 4}, masks));
    CHECK_ERR(cn_dataset_open(&tr, &te, spec), CN_STATUS_SHAPE, "integer targets of shape 4 per sample; expected one class per sample");
    /* channels-last images are transposed */
    float hwc[2 * 2 * 3 * 2]; /* N=2, H=2, W=3, C=2 */
    for (int i = 0; i < 24; i++) hwc[i] = (float)i;
    snprintf(p, sizeof p, "%s/x_train.npy", dir);
    CHECK_OK(cn_npy_save(p, CN_DTYPE_F32, 4, (int64_t[]){2, 2, 3, 2}, hwc));
    snprintf(p, sizeof p, "%s/y_train.npy", dir);
    CHECK_OK(cn_npy_save(p, CN_DTYPE_I64, 1, (int64_t[]){2}, y));
    snprintf(spec, sizeof spec, "npy:%s:layout=nhwc", dir);
    CHECK_OK(cn_dataset_open(&tr, &te, spec));
    if (tr) {
        float xs[12], ts;
        CHECK_OK(cn_dataset_get(tr, 1, xs, &ts));
        /* channel c, pixel (h, w) of sample 1 is hwc[((1*2 + h)*3 + w)*2 + c] */
        for (int c = 0; c < 2; c++)
            for (int k = 0; k < 6; k++) CHECK(xs[c * 6 + k] == hwc[(6 + k) * 2 + c]);
    }
    cn_dataset_destroy(tr);
    snprintf(spec, sizeof spec, "npy:%s:layout=ncw", dir);
    CHECK_ERR(cn_dataset_open(&tr, &te, spec), CN_STATUS_SHAPE, "layout=ncw needs 3 dimensions (N, C, W); the array has 4");
    /* a missing folder */
    snprintf(spec, sizeof spec, "npy:%s", tmp_path("nothing"));
    CHECK_ERR(cn_dataset_open(&tr, &te, spec), CN_STATUS_IO, "nothing/x_train.npy");
    /* absurd header sizes are refused by the .npy reader before allocating */
    snprintf(p, sizeof p, "%s/x_train.npy", dir);
    write_npy_raw(p, "<f4", "(100000000000, 100000)", x, 16);
    snprintf(spec, sizeof spec, "npy:%s", dir);
    cn_status st = cn_dataset_open(&tr, &te, spec);
    CHECK_MSG((st == CN_STATUS_LIMIT || st == CN_STATUS_FORMAT) && strstr(cn_last_error(), "x_train.npy"), "absurd npy: %s %s",
              cn_status_name(st), cn_last_error());
}

/* ---- image folders ---------------------------------------------------------------------------- */

static void save_png(const char *path, int w, int h, int c, int seed)
{
    unsigned char px[64 * 64 * 4];
    for (int i = 0; i < w * h * c; i++) px[i] = (unsigned char)(i * 7 + seed * 31);
    CHECK_OK(cn_image_save_png(path, px, w, h, c));
}

static void test_folder(void)
{
    const char *root = tmp_path("imgs");
    char p[800], spec[800];
    static const char *const classes[] = {"zebra", "ant", "cat"};
    for (int k = 0; k < 3; k++) {
        for (int part = 0; part < 2; part++) {
            snprintf(p, sizeof p, "%s/%s/%s", root, part ? "test" : "train", classes[k]);
            mkdirs(p);
            for (int i = 0; i < (part ? 1 : 3); i++) {
                snprintf(p, sizeof p, "%s/%s/%s/img%d.png", root, part ? "test" : "train", classes[k], i);
                save_png(p, 6, 4, 3, k * 10 + i);
            }
        }
    }
    snprintf(p, sizeof p, "%s/train/ant/notes.txt", root); /* not an image: ignored */
    write_file(p, "hello", 5);
    cn_dataset *tr = NULL, *te = NULL;
    snprintf(spec, sizeof spec, "folder:%s", root);
    CHECK_OK(cn_dataset_open(&tr, &te, spec));
    if (!tr || !te) return;
    const cn_dataset_info *i = cn_dataset_info_of(tr);
    char s[64];
    CHECK(i->n == 9 && i->num_classes == 3 && !strcmp(cn_shape_str(&i->sample, s, sizeof s), "3x4x6"));
    CHECK(cn_dataset_info_of(te)->n == 3);
    /* classes are the sorted folder names */
    CHECK(!strcmp(cn_dataset_class_name(tr, 0), "ant") && !strcmp(cn_dataset_class_name(tr, 2), "zebra"));
    /* sample 0 is ant/img0.png: its pixels, planar, / 255 */
    float x[72], t;
    CHECK_OK(cn_dataset_get(tr, 0, x, &t));
    CHECK(t == 0);
    unsigned char want[72];
    for (int q = 0; q < 72; q++) want[q] = (unsigned char)(q * 7 + 10 * 31);
    for (int c = 0; c < 3; c++)
        for (int q = 0; q < 24; q++) CHECK_NEAR(x[c * 24 + q], want[q * 3 + c] / 255.0, 1e-7);
    CHECK_OK(cn_dataset_get(te, 2, x, &t));
    CHECK(t == 2);
    cn_dataset_destroy(tr), cn_dataset_destroy(te);

    /* the same without the cache, gray, resized */
    float xc[8 * 5], xn[8 * 5];
    snprintf(spec, sizeof spec, "folder:%s:size=5x8,channels=1,cache=1", root);
    CHECK_OK(cn_dataset_open(&tr, NULL, spec));
    snprintf(spec, sizeof spec, "folder:%s:size=5x8,channels=1,cache=0", root);
    CHECK_OK(cn_dataset_open(&te, NULL, spec));
    if (tr && te) {
        CHECK(!strcmp(cn_shape_str(&cn_dataset_info_of(tr)->sample, s, sizeof s), "1x5x8"));
        CHECK_OK(cn_dataset_get(tr, 4, xc, &t));
        CHECK_OK(cn_dataset_get(te, 4, xn, &t));
        CHECK(!memcmp(xc, xn, sizeof xc));
    }
    cn_dataset_destroy(tr), cn_dataset_destroy(te);

    /* a corrupt file stops the open and is named; bad=skip leaves it out */
    snprintf(p, sizeof p, "%s/train/cat/broken.png", root);
    write_file(p, "\x89PNG\r\n\x1a\n garbage", 17);
    snprintf(spec, sizeof spec, "folder:%s", root);
    CHECK_ERR(cn_dataset_open(&tr, &te, spec), CN_STATUS_FORMAT, "train/cat/broken.png");
    CHECK(strstr(cn_last_error(), "bad=skip") && tr == NULL);
    snprintf(spec, sizeof spec, "folder:%s:bad=skip", root);
    CHECK_OK(cn_dataset_open(&tr, &te, spec));
    CHECK(tr && cn_dataset_info_of(tr)->n == 9);
    cn_dataset_destroy(tr), cn_dataset_destroy(te);
    /* a file whose header is fine but whose data is cut: caught when decoding (cache) */
    unsigned char px[6 * 4 * 3] = {0};
    snprintf(p, sizeof p, "%s/trunc.png", tmp_root);
    CHECK_OK(cn_image_save_png(p, px, 6, 4, 3));
    FILE *f = fopen(p, "rb");
    unsigned char buf[4096];
    size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
    if (f) fclose(f);
    snprintf(p, sizeof p, "%s/train/cat/broken.png", root);
    write_file(p, buf, n - 20);
    snprintf(spec, sizeof spec, "folder:%s:cache=1", root);
    CHECK_ERR(cn_dataset_open(&tr, &te, spec), CN_STATUS_FORMAT, "broken.png");
    snprintf(spec, sizeof spec, "folder:%s:cache=1,bad=skip", root);
    CHECK_OK(cn_dataset_open(&tr, NULL, spec));
    CHECK(tr && cn_dataset_info_of(tr)->n == 9);
    cn_dataset_destroy(tr);
    /* without the cache the broken file is found when read, and named */
    snprintf(spec, sizeof spec, "folder:%s:cache=0", root);
    CHECK_OK(cn_dataset_open(&tr, NULL, spec));
    if (tr) {
        CHECK(cn_dataset_info_of(tr)->n == 10);
        int failed = 0;
        for (int64_t k = 0; k < 10; k++)
            if (cn_dataset_get(tr, k, x, &t) != CN_OK) {
                failed++;
                CHECK(strstr(cn_last_error(), "broken.png") != NULL);
            }
        CHECK_EQ_INT(failed, 1);
    }
    cn_dataset_destroy(tr);
    unlink(p);

    /* an image of another size: an error naming it unless size= is given */
    snprintf(p, sizeof p, "%s/train/ant/big.png", root);
    save_png(p, 9, 7, 3, 1);
    snprintf(spec, sizeof spec, "folder:%s", root);
    /* big.png sorts first, so it sets the size and img0.png is the odd one out */
    CHECK_ERR(cn_dataset_open(&tr, &te, spec), CN_STATUS_SHAPE, "ant/img0.png: 6 x 4 pixels (W x H), but the first image");
    CHECK(strstr(cn_last_error(), "big.png is 9 x 7; give size=HxW"));
    snprintf(spec, sizeof spec, "folder:%s:size=4x6", root);
    CHECK_OK(cn_dataset_open(&tr, &te, spec));
    CHECK(tr && cn_dataset_info_of(tr)->n == 10);
    cn_dataset_destroy(tr), cn_dataset_destroy(te);
    unlink(p);

    /* a test class the training part does not have */
    snprintf(p, sizeof p, "%s/test/dog", root);
    mkdirs(p);
    snprintf(spec, sizeof spec, "folder:%s", root);
    CHECK_ERR(cn_dataset_open(&tr, &te, spec), CN_STATUS_FORMAT, "test/dog: class 'dog' does not exist in the training part");
    snprintf(p, sizeof p, "rm -rf '%s/test/dog'", root);
    CHECK(system(p) == 0);

    /* bad options and folders */
    snprintf(spec, sizeof spec, "folder:%s:size=4x", root);
    CHECK_ERR(cn_dataset_open(&tr, &te, spec), CN_STATUS_INVALID_ARG, "size='4x' is not a size HxW");
    snprintf(spec, sizeof spec, "folder:%s:chanels=1", root);
    CHECK_ERR(cn_dataset_open(&tr, &te, spec), CN_STATUS_INVALID_ARG, "unknown option 'chanels' — did you mean 'channels'?");
    snprintf(spec, sizeof spec, "folder:%s:bad=ignore", root);
    CHECK_ERR(cn_dataset_open(&tr, &te, spec), CN_STATUS_INVALID_ARG, "bad='ignore' is not one of stop, skip");
    snprintf(spec, sizeof spec, "folder:%s", tmp_path("nofolder"));
    CHECK_ERR(cn_dataset_open(&tr, &te, spec), CN_STATUS_IO, "nofolder: not a folder");
    mkdirs(tmp_path("flat"));
    snprintf(spec, sizeof spec, "folder:%s", tmp_path("flat"));
    CHECK_ERR(cn_dataset_open(&tr, &te, spec), CN_STATUS_FORMAT, "no class subfolders");
    mkdirs(tmp_path("flat/emptyclass"));
    CHECK_ERR(cn_dataset_open(&tr, &te, spec), CN_STATUS_FORMAT, "no image files");
    /* every file bad, even with skip */
    snprintf(p, sizeof p, "%s/flat/emptyclass/a.png", tmp_root);
    write_file(p, "junk", 4);
    snprintf(spec, sizeof spec, "folder:%s:bad=skip", tmp_path("flat"));
    CHECK_ERR(cn_dataset_open(&tr, &te, spec), CN_STATUS_FORMAT, "none of its 1 image files could be read");
}

/* ---- synthetic sets ----------------------------------------------------------------------------- */

/* the background is a plane: fit it through three corners of channel c */
static double plane(const float *x, int64_t H, int64_t W, int64_t i, int64_t j)
{
    double a = x[0], b = x[W - 1], c = x[(H - 1) * W];
    return a + (b - a) * j / (double)(W - 1) + (c - a) * i / (double)(H - 1);
}

static void test_synthetic_seg(void)
{
    cn_dataset *tr = NULL, *te = NULL, *again = NULL;
    CHECK_OK(cn_dataset_open(&tr, &te, "synthetic-seg:n=20,test=5,size=32x40,seed=4,noise=0"));
    CHECK_OK(cn_dataset_open(&again, NULL, "synthetic-seg:n=20,test=5,size=32x40,seed=4,noise=0"));
    if (!tr || !te || !again) return;
    const cn_dataset_info *i = cn_dataset_info_of(tr);
    char s[64];
    CHECK(i->n == 20 && cn_dataset_info_of(te)->n == 5 && i->target_kind == CN_TARGET_DENSE_CLASS && i->num_classes == 4);
    CHECK(!strcmp(cn_shape_str(&i->sample, s, sizeof s), "3x32x40") && !strcmp(cn_shape_str(&i->target, s, sizeof s), "32x40"));
    CHECK(!strcmp(cn_dataset_class_name(tr, 3), "triangle"));
    const int64_t H = 32, W = 40, HW = H * W;
    float *x = malloc(3 * HW * sizeof(float)), *m = malloc(HW * sizeof(float)), *x2 = malloc(3 * HW * sizeof(float)),
          *m2 = malloc(HW * sizeof(float));
    int classes_seen[4] = {0};
    for (int64_t k = 0; k < 20; k++) {
        CHECK_OK(cn_dataset_get(tr, k, x, m));
        CHECK_OK(cn_dataset_get(again, k, x2, m2));
        CHECK(!memcmp(x, x2, 3 * HW * sizeof(float)) && !memcmp(m, m2, HW * sizeof(float))); /* seeded */
        /* background pixels lie on the plane; shape pixels (mostly) do not */
        int64_t bg_off = 0, fg = 0, fg_on = 0;
        for (int64_t p = 0; p < HW; p++) {
            CHECK(m[p] >= 0 && m[p] <= 3 && m[p] == floorf(m[p]));
            classes_seen[(int)m[p]]++;
            int off = 0;
            for (int c = 0; c < 3; c++) off |= fabs(x[c * HW + p] - plane(x + c * HW, H, W, p / W, p % W)) > 1e-4;
            if (m[p] == 0) bg_off += off;
            else fg++, fg_on += !off;
        }
        /* a shape covering a corner spoils the plane fit: skip those samples */
        if (m[0] == 0 && m[W - 1] == 0 && m[(H - 1) * W] == 0) {
            CHECK_MSG(bg_off == 0, "sample %lld: %lld background pixels off the background", (long long)k, (long long)bg_off);
            CHECK_MSG(fg_on <= fg / 20, "sample %lld: %lld of %lld shape pixels look like background", (long long)k, (long long)fg_on, (long long)fg);
        }
    }
    for (int c = 0; c < 4; c++) CHECK_MSG(classes_seen[c] > 0, "class %d never drawn", c);
    /* the test part is other samples */
    CHECK_OK(cn_dataset_get(te, 0, x2, m2));
    CHECK_OK(cn_dataset_get(tr, 0, x, m));
    CHECK(memcmp(x, x2, 3 * HW * sizeof(float)) != 0);
    cn_dataset_destroy(again);
    /* another seed, other images; noise keeps values in [0, 1] */
    CHECK_OK(cn_dataset_open(&again, NULL, "synthetic-seg:n=20,size=32x40,seed=5,noise=0.3"));
    if (again) {
        CHECK_OK(cn_dataset_get(again, 0, x2, m2));
        CHECK(memcmp(x, x2, 3 * HW * sizeof(float)) != 0);
        for (int64_t p = 0; p < 3 * HW; p++) CHECK(x2[p] >= 0 && x2[p] <= 1);
    }
    cn_dataset_destroy(again);
    cn_dataset_destroy(tr), cn_dataset_destroy(te);
    free(x), free(m), free(x2), free(m2);
    CHECK_ERR(cn_dataset_open(&tr, &te, "synthetic-seg:shapes=0"), CN_STATUS_INVALID_ARG, "shapes=0 is not in 1..64");
    CHECK_ERR(cn_dataset_open(&tr, &te, "synthetic-seg:objects=3"), CN_STATUS_INVALID_ARG, "unknown option 'objects'");
}

static void test_synthetic_det(void)
{
    cn_dataset *tr = NULL, *te = NULL;
    CHECK_OK(cn_dataset_open(&tr, &te, "synthetic-det:n=40,test=4,size=48x64,seed=2,noise=0,objects=1,min_size=8,max_size=16"));
    if (!tr || !te) return;
    const cn_dataset_info *i = cn_dataset_info_of(tr);
    char s[64];
    CHECK(i->target_kind == CN_TARGET_BOXES && i->num_classes == 3 && !strcmp(cn_shape_str(&i->target, s, sizeof s), "8x5"));
    const int64_t H = 48, W = 64, HW = H * W;
    float *x = malloc(3 * HW * sizeof(float)), t[40];
    int checked = 0;
    for (int64_t k = 0; k < 40; k++) {
        CHECK_OK(cn_dataset_get(tr, k, x, t));
        CHECK(t[0] >= 0 && t[0] < 3);
        for (int b = 1; b < 8; b++) CHECK(t[5 * b] == -1 && t[5 * b + 3] == 0);
        /* the box holds exactly the pixels that are off the background plane */
        int corners_free = 1;
        double bx0 = (t[1] - t[3] / 2) * W, bx1 = (t[1] + t[3] / 2) * W, by0 = (t[2] - t[4] / 2) * H, by1 = (t[2] + t[4] / 2) * H;
        CHECK(bx0 >= -1e-4 && by0 >= -1e-4 && bx1 <= W + 1e-4 && by1 <= H + 1e-4);
        if (bx0 < 1 && by0 < 1) corners_free = 0;
        if (bx1 > W - 1 && by0 < 1) corners_free = 0;
        if (bx0 < 1 && by1 > H - 1) corners_free = 0;
        if (!corners_free) continue;
        double lo_x = 1e9, hi_x = -1, lo_y = 1e9, hi_y = -1;
        for (int64_t p = 0; p < HW; p++) {
            int off = 0;
            for (int c = 0; c < 3; c++) off |= fabs(x[c * HW + p] - plane(x + c * HW, H, W, p / W, p % W)) > 1e-4;
            if (off) lo_x = fmin(lo_x, p % W), hi_x = fmax(hi_x, p % W + 1), lo_y = fmin(lo_y, p / W), hi_y = fmax(hi_y, p / W + 1);
        }
        /* the box is the painted pixels' bounds (to float rounding of the fractions) */
        double err = fmax(fmax(fabs(lo_x - bx0), fabs(hi_x - bx1)), fmax(fabs(lo_y - by0), fabs(hi_y - by1)));
        CHECK_MSG(err <= 1e-4, "sample %lld class %g: box %.1f..%.1f x %.1f..%.1f, drawn %.0f..%.0f x %.0f..%.0f", (long long)k, t[0], bx0, bx1,
                  by0, by1, lo_x, hi_x, lo_y, hi_y);
        checked++;
    }
    CHECK(checked >= 30);
    cn_dataset_destroy(tr), cn_dataset_destroy(te);
    /* several objects: valid rows first, IoU between them at most 0.3 */
    CHECK_OK(cn_dataset_open(&tr, NULL, "synthetic-det:n=30,objects=6,max_boxes=6"));
    int multi = 0;
    for (int64_t k = 0; tr && k < 30; k++) {
        float x3[3 * 64 * 64], tt[30];
        CHECK_OK(cn_dataset_get(tr, k, x3, tt));
        int nb = 0;
        while (nb < 6 && tt[5 * nb] >= 0) nb++;
        for (int b = nb; b < 6; b++) CHECK(tt[5 * b] == -1);
        multi += nb > 1;
        for (int a = 0; a < nb; a++)
            for (int b = a + 1; b < nb; b++) {
                double ax0 = tt[5 * a + 1] - tt[5 * a + 3] / 2, ax1 = tt[5 * a + 1] + tt[5 * a + 3] / 2;
                double ay0 = tt[5 * a + 2] - tt[5 * a + 4] / 2, ay1 = tt[5 * a + 2] + tt[5 * a + 4] / 2;
                double bx0 = tt[5 * b + 1] - tt[5 * b + 3] / 2, bx1 = tt[5 * b + 1] + tt[5 * b + 3] / 2;
                double by0 = tt[5 * b + 2] - tt[5 * b + 4] / 2, by1 = tt[5 * b + 2] + tt[5 * b + 4] / 2;
                double ix = fmin(ax1, bx1) - fmax(ax0, bx0), iy = fmin(ay1, by1) - fmax(ay0, by0);
                double in = ix > 0 && iy > 0 ? ix * iy : 0;
                double u = (ax1 - ax0) * (ay1 - ay0) + (bx1 - bx0) * (by1 - by0) - in;
                /* a disc's box is recomputed inside its placement box, so allow a little over 0.3 */
                CHECK_MSG(in / u <= 0.3 + 1e-6 || in / u <= 0.35, "sample %lld: boxes %d and %d overlap with IoU %.2f", (long long)k, a, b, in / u);
            }
    }
    CHECK(multi > 10);
    cn_dataset_destroy(tr);
    CHECK_ERR(cn_dataset_open(&tr, NULL, "synthetic-det:objects=9,max_boxes=8"), CN_STATUS_INVALID_ARG, "objects=9 is above max_boxes=8");
    CHECK_ERR(cn_dataset_open(&tr, NULL, "synthetic-det:min_size=20,max_size=10"), CN_STATUS_INVALID_ARG, "min_size=20 is above max_size=10");
    CHECK_ERR(cn_dataset_open(&tr, NULL, "synthetic-det:size=16,max_size=20"), CN_STATUS_INVALID_ARG, "max_size=20 does not fit a 16x16 canvas");
    CHECK_ERR(cn_dataset_open(&tr, NULL, "synthetic-det:source=cifar"), CN_STATUS_INVALID_ARG, "source='cifar' is not one of shapes, fashion");
    free(x);
    /* Fashion-MNIST items, when installed */
    struct stat sb;
    if (stat("/usr/share/datasets/fashion-mnist", &sb) != 0) {
        printf("skip synthetic-det source=fashion: dataset-fashion-mnist is not installed\n");
        return;
    }
    CHECK_OK(cn_dataset_open(&tr, &te, "synthetic-det:n=10,test=3,source=fashion,noise=0"));
    if (tr && te) {
        CHECK(cn_dataset_info_of(tr)->num_classes == 10 && cn_dataset_info_of(tr)->sample.dim[0] == 1);
        CHECK(!strcmp(cn_dataset_class_name(tr, 0), "T-shirt/top"));
        float xf[64 * 64], tf[40];
        for (int64_t k = 0; k < 10; k++) {
            CHECK_OK(cn_dataset_get(tr, k, xf, tf));
            CHECK(tf[0] >= 0 && tf[0] < 10);
            /* the box is tight around the item's visible pixels (> 0.1) */
            for (int b = 0; b < 8 && tf[5 * b] >= 0; b++) {
                int64_t x0 = (int64_t)llround((tf[5 * b + 1] - tf[5 * b + 3] / 2) * 64), x1 = (int64_t)llround((tf[5 * b + 1] + tf[5 * b + 3] / 2) * 64);
                int64_t y0 = (int64_t)llround((tf[5 * b + 2] - tf[5 * b + 4] / 2) * 64), y1 = (int64_t)llround((tf[5 * b + 2] + tf[5 * b + 4] / 2) * 64);
                float mx = 0;
                for (int64_t yy = y0; yy < y1; yy++)
                    for (int64_t xx = x0; xx < x1; xx++) mx = fmaxf(mx, xf[yy * 64 + xx]);
                CHECK(mx > 0.1f);
            }
        }
        float tt2[40];
        CHECK_OK(cn_dataset_get(te, 2, xf, tt2));
    }
    cn_dataset_destroy(tr), cn_dataset_destroy(te);
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

/* open `spec` (both parts), read a sample of each, split the training part, compute its
 * statistics; free everything */
static cn_status fault_scenario(const char *spec)
{
    cn_dataset *tr = NULL, *te = NULL, *a = NULL, *b = NULL;
    float x[4096], t[4096], m[64], sd[64];
    cn_status st = cn_dataset_open(&tr, &te, spec);
    if (st == CN_OK) st = cn_dataset_get(tr, 0, x, t);
    if (st == CN_OK && te) st = cn_dataset_get(te, 0, x, t);
    if (st == CN_OK) st = cn_dataset_split(&a, &b, tr, 0.5, 1, cn_dataset_info_of(tr)->target_kind == CN_TARGET_CLASS);
    if (st == CN_OK) st = cn_dataset_channel_stats(a, 0, m, sd);
    cn_dataset_destroy(a), cn_dataset_destroy(b), cn_dataset_destroy(tr), cn_dataset_destroy(te);
    return st;
}

static void test_alloc_failures(void)
{
    char dir[800], p[900];
    snprintf(dir, sizeof dir, "%s/fault", tmp_root);
    for (int c = 0; c < 2; c++) {
        snprintf(p, sizeof p, "%s/c%d", dir, c);
        mkdirs(p);
        for (int i = 0; i < 2; i++) {
            snprintf(p, sizeof p, "%s/c%d/%d.png", dir, c, i);
            save_png(p, 5, 4, 3, c + i);
        }
    }
    char specs[5][1000];
    snprintf(specs[0], sizeof specs[0], "folder:%s:cache=1", dir);
    snprintf(specs[1], sizeof specs[1], "folder:%s:cache=0,size=3x3", dir);
    snprintf(specs[2], sizeof specs[2], "npz:%s/data/arrays_c.npz", CN_FIXTURE_DIR);
    snprintf(specs[3], sizeof specs[3], "synthetic-det:n=4,test=2,size=16,min_size=4,max_size=8");
    snprintf(specs[4], sizeof specs[4], "mnist1d:n=40");
    for (int s = 0; s < 5; s++) {
        int k;
        for (k = 0; k < 400; k++) {
            fail_at = k;
            n_allocs = 0;
            n_live = 0;
            cn_set_allocator(&(cn_allocator){failing_alloc, counting_free, NULL});
            cn_status st = fault_scenario(specs[s]);
            int live = n_live;
            cn_set_allocator(NULL);
            CHECK_MSG(live == 0, "%s, failing allocation %d: %d allocations leaked (%s)", specs[s], k, live, cn_last_error());
            if (st == CN_OK) break;
            CHECK_MSG(st == CN_STATUS_NOMEM, "%s, failing allocation %d: %s (%s)", specs[s], k, cn_status_name(st), cn_last_error());
        }
        CHECK_MSG(k >= 5 && k < 400, "%s: succeeded after %d failed allocations", specs[s], k);
    }
}

int main(void)
{
    /* files are written atomically (with fsync): tmpfs keeps that fast */
    snprintf(tmp_root, sizeof tmp_root, "%s/cn_test_dataset_%d", access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp", (int)getpid());
    mkdirs(tmp_root);
    cn_log_set_level(CN_LOG_ERROR); /* bad=skip warns */
    RUN(test_arrays);
    RUN(test_split);
    RUN(test_channel_stats);
    RUN(test_open_names);
    RUN(test_fashion);
    RUN(test_idx_dir);
    RUN(test_npy_dir);
    RUN(test_folder);
    RUN(test_synthetic_seg);
    RUN(test_synthetic_det);
    RUN(test_alloc_failures);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_root);
    if (system(cmd) != 0) return 1;
    return cn_test_finish();
}
