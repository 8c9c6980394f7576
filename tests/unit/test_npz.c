/* test_npz.c — NumPy .npz archives: files written by numpy.savez and numpy.savez_compressed
 * (fixtures), archives built here with libzip, and every malformation: not a zip, truncated,
 * a flipped byte (CRC), a missing entry, a declared size its data cannot hold, an entry over
 * the memory cap, a bad .npy inside; then npz:FILE as a dataset. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zip.h>

#include "fixture.h"
#include "test.h"

static char tmp_root[256];

static const char *tmp_path(const char *name)
{
    static char buf[8][512];
    static int k;
    char *b = buf[k++ % 8];
    snprintf(b, 512, "%s/%s", tmp_root, name);
    return b;
}

static const char *fix(const char *name)
{
    static char buf[4][512];
    static int k;
    char *b = buf[k++ % 4];
    snprintf(b, 512, "%s/%s", CN_FIXTURE_DIR, name);
    return b;
}

static unsigned char *read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    rewind(f);
    unsigned char *b = malloc(*n + 1);
    if (fread(b, 1, *n, f) != *n) *n = 0;
    fclose(f);
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

/* the bytes of an .npy file holding float32 or int64 data */
static unsigned char *npy_bytes(cn_dtype dt, int ndim, const int64_t *shape, const void *data, size_t *n)
{
    const char *p = tmp_path("entry.npy");
    CHECK_OK(cn_npy_save(p, dt, ndim, shape, data));
    return read_file(p, n);
}

/* an archive of `count` entries (names with .npy), stored or deflated */
static void make_npz(const char *path, int count, const char *const *names, unsigned char **data, const size_t *len, int deflate)
{
    int err = 0;
    zip_t *z = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &err);
    CHECK(z != NULL);
    if (!z) return;
    for (int k = 0; k < count; k++) {
        zip_source_t *s = zip_source_buffer(z, data[k], len[k], 0);
        zip_int64_t idx = zip_file_add(z, names[k], s, ZIP_FL_OVERWRITE);
        CHECK(idx >= 0);
        zip_set_file_compression(z, (zip_uint64_t)idx, deflate ? ZIP_CM_DEFLATE : ZIP_CM_STORE, 0);
    }
    CHECK(zip_close(z) == 0);
}

static void test_numpy_written(void)
{
    static const char *const files[] = {"data/arrays.npz", "data/arrays_c.npz"};
    cn_npy wx = cn_fixture_load("data/arrays_x_train"), wt = cn_fixture_load("data/arrays_x_test");
    for (int f = 0; f < 2; f++) {
        cn_npz *z = NULL;
        CHECK_OK(cn_npz_open(&z, fix(files[f])));
        if (!z) continue;
        CHECK_EQ_INT(cn_npz_count(z), 4);
        int seen = 0;
        for (int64_t i = 0; i < cn_npz_count(z); i++) {
            const char *nm = cn_npz_name(z, i);
            seen += !strcmp(nm, "x_train") + !strcmp(nm, "y_train") + !strcmp(nm, "x_test") + !strcmp(nm, "y_test");
        }
        CHECK_EQ_INT(seen, 4);
        CHECK(cn_npz_name(z, 4) == NULL);
        CHECK(cn_npz_has(z, "x_train") && cn_npz_has(z, "x_train.npy") && !cn_npz_has(z, "x_val"));
        cn_npy x = {0}, y = {0}, xt = {0}, yt = {0};
        CHECK_OK(cn_npz_read(z, "x_train", &x));
        CHECK_OK(cn_npz_read(z, "y_train.npy", &y));
        CHECK_OK(cn_npz_read(z, "x_test", &xt));
        CHECK_OK(cn_npz_read(z, "y_test", &yt));
        CHECK(x.dtype == CN_DTYPE_F32 && x.ndim == 3 && x.shape[0] == 6 && x.shape[1] == 2 && x.shape[2] == 3);
        if (x.f32 && wx.f32) CHECK_ALLCLOSE(x.f32, wx.f32, 36, 0, 0, files[f]);
        CHECK(y.dtype == CN_DTYPE_I64 && y.i64 && y.i64[1] == 1 && y.i64[5] == 2);
        CHECK(xt.dtype == CN_DTYPE_U8 && xt.numel == 12);
        if (xt.f32 && wt.f32) CHECK_ALLCLOSE(xt.f32, wt.f32, 12, 0, 0, "x_test");
        CHECK(yt.dtype == CN_DTYPE_I32 && yt.i64 && yt.i64[0] == 2 && yt.i64[1] == 1);
        cn_npy_free(&x), cn_npy_free(&y), cn_npy_free(&xt), cn_npy_free(&yt);
        CHECK_ERR(cn_npz_read(z, "x_val", &x), CN_STATUS_NOT_FOUND, "no array 'x_val' in the archive (it holds: ");
        CHECK(strstr(cn_last_error(), "x_train") && strstr(cn_last_error(), files[f]) && x.f32 == NULL);
        cn_npz_close(z);
    }
    cn_npy_free(&wx), cn_npy_free(&wt);
}

static void test_archive_errors(void)
{
    cn_npz *z = NULL;
    CHECK_ERR(cn_npz_open(&z, tmp_path("missing.npz")), CN_STATUS_IO, "missing.npz: cannot open as an .npz archive");
    CHECK(z == NULL);
    write_file(tmp_path("text.npz"), "this is not a zip archive at all, just text", 43);
    CHECK_ERR(cn_npz_open(&z, tmp_path("text.npz")), CN_STATUS_FORMAT, "text.npz: cannot open as an .npz archive: not a zip archive");
    write_file(tmp_path("empty.npz"), "", 0);
    cn_status st = cn_npz_open(&z, tmp_path("empty.npz"));
    CHECK_MSG(st != CN_OK && strstr(cn_last_error(), "empty.npz"), "empty archive: %s %s", cn_status_name(st), cn_last_error());
    cn_npz_close(z), z = NULL;

    size_t n = 0;
    unsigned char *a = read_file(fix("data/arrays.npz"), &n), *b = malloc(n);
    CHECK(a != NULL && n > 500);
    if (!a) return;
    /* truncated: the central directory at the end is gone */
    write_file(tmp_path("trunc.npz"), a, n / 2);
    CHECK_ERR(cn_npz_open(&z, tmp_path("trunc.npz")), CN_STATUS_FORMAT, "trunc.npz: cannot open as an .npz archive");

    /* a flipped byte in x_train's data (stored, so the .npy bytes are visible): the CRC catches it */
    memcpy(b, a, n);
    unsigned char *magic = NULL;
    for (size_t k = 0; k + 6 < n && !magic; k++)
        if (!memcmp(b + k, "\x93NUMPY", 6)) magic = b + k;
    CHECK(magic != NULL);
    if (magic) magic[140] ^= 0x01;
    write_file(tmp_path("crc.npz"), b, n);
    CHECK_OK(cn_npz_open(&z, tmp_path("crc.npz")));
    if (z) {
        const char *first = cn_npz_name(z, 0);
        cn_npy x = {0};
        char msg[600];
        snprintf(msg, sizeof msg, "entry '%s.npy': CRC error", first);
        CHECK_ERR(cn_npz_read(z, first, &x), CN_STATUS_FORMAT, msg);
        CHECK(strstr(cn_last_error(), "crc.npz") && strstr(cn_last_error(), "the archive is corrupt"));
        CHECK(x.f32 == NULL);
        cn_npz_close(z);
    }

    /* a declared size the stored data cannot hold: patch the uncompressed size (offset 22 of
     * the local header, 24 of the central one) of the first entry, both alike */
    memcpy(b, a, n);
    int patched = 0;
    for (size_t k = 0; k + 46 < n; k++) {
        if (!memcmp(b + k, "PK\x03\x04", 4) && !patched) b[k + 22] = 0xff, b[k + 23] = 0xff, b[k + 24] = 0xff, b[k + 25] = 0x0f, patched |= 1;
        else if (!memcmp(b + k, "PK\x01\x02", 4) && !(patched & 2))
            b[k + 24] = 0xff, b[k + 25] = 0xff, b[k + 26] = 0xff, b[k + 27] = 0x0f, patched |= 2;
    }
    CHECK(patched == 3);
    write_file(tmp_path("size.npz"), b, n);
    st = cn_npz_open(&z, tmp_path("size.npz"));
    if (st == CN_OK) {
        cn_npy x = {0};
        CHECK_ERR(cn_npz_read(z, cn_npz_name(z, 0), &x), CN_STATUS_FORMAT, "declares 268435455 bytes but holds");
        cn_npz_close(z);
    } else /* libzip may refuse the archive outright: the message still names the file */
        CHECK_MSG(strstr(cn_last_error(), "size.npz") != NULL, "%s", cn_last_error());

    /* an entry over the memory cap is refused before it is read */
    CHECK_OK(cn_npz_open(&z, fix("data/arrays.npz")));
    if (z) {
        uint64_t cap = cn_memory_limit();
        cn_set_memory_limit(100);
        cn_npy x = {0};
        CHECK_ERR(cn_npz_read(z, "x_train", &x), CN_STATUS_LIMIT, "entry 'x_train.npy' declares 272 bytes, over the memory cap of 100 bytes");
        cn_set_memory_limit(cap);
        cn_npz_close(z);
    }
    free(a);
    free(b);

    /* a bad .npy inside: the message names archive and entry */
    const char *names[1] = {"x_train.npy"};
    unsigned char junk[64] = "\x93NUMPY\x01\x00\x10\x00{'descr': '<f4'";
    unsigned char *data[1] = {junk};
    size_t len[1] = {sizeof junk};
    make_npz(tmp_path("badnpy.npz"), 1, names, data, len, 1);
    CHECK_OK(cn_npz_open(&z, tmp_path("badnpy.npz")));
    if (z) {
        cn_npy x = {0};
        st = cn_npz_read(z, "x_train", &x);
        CHECK_MSG(st == CN_STATUS_FORMAT && strstr(cn_last_error(), "badnpy.npz:x_train.npy"), "bad npy in npz: %s %s", cn_status_name(st),
                  cn_last_error());
        cn_npz_close(z);
    }
}

static void test_npz_dataset(void)
{
    cn_dataset *tr = NULL, *te = NULL;
    char spec[600];
    snprintf(spec, sizeof spec, "npz:%s", fix("data/arrays_c.npz"));
    CHECK_OK(cn_dataset_open(&tr, &te, spec));
    if (tr && te) {
        const cn_dataset_info *i = cn_dataset_info_of(tr);
        char s[64];
        /* (6, 2, 3) read as 1 x 2 x 3 images by default */
        CHECK(i->n == 6 && !strcmp(cn_shape_str(&i->sample, s, sizeof s), "1x2x3") && i->num_classes == 3);
        CHECK(i->target_kind == CN_TARGET_CLASS);
        CHECK(cn_dataset_info_of(te)->n == 2);
        float x[6], t;
        cn_npy want = cn_fixture_load("data/arrays_x_test");
        CHECK_OK(cn_dataset_get(te, 1, x, &t));
        CHECK(t == 1);
        /* uint8 inputs are scaled to [0, 1] */
        if (want.f32) CHECK_NEAR(x[4], want.f32[6 + 4] / 255.0, 1e-7);
        cn_npy_free(&want);
    }
    cn_dataset_destroy(tr), cn_dataset_destroy(te);
    /* layout=ncw: 2 x 3 signals */
    snprintf(spec, sizeof spec, "npz:%s:layout=ncw", fix("data/arrays.npz"));
    CHECK_OK(cn_dataset_open(&tr, NULL, spec));
    if (tr) {
        char s[64];
        CHECK(!strcmp(cn_shape_str(&cn_dataset_info_of(tr)->sample, s, sizeof s), "2x3"));
    }
    cn_dataset_destroy(tr);
    snprintf(spec, sizeof spec, "npz:%s:layout=nwhc", fix("data/arrays.npz"));
    CHECK_ERR(cn_dataset_open(&tr, NULL, spec), CN_STATUS_INVALID_ARG, "layout='nwhc' is not one of auto, ncw, nchw, nhwc");
    snprintf(spec, sizeof spec, "npz:%s:layot=ncw", fix("data/arrays.npz"));
    CHECK_ERR(cn_dataset_open(&tr, NULL, spec), CN_STATUS_INVALID_ARG, "unknown option 'layot' — did you mean 'layout'?");

    /* 6 inputs and 5 labels */
    float xs[6 * 4] = {0};
    int64_t ys[5] = {0, 1, 0, 1, 0};
    size_t lx, ly;
    unsigned char *bx = npy_bytes(CN_DTYPE_F32, 2, (int64_t[]){6, 4}, xs, &lx);
    unsigned char *by = npy_bytes(CN_DTYPE_I64, 1, (int64_t[]){5}, ys, &ly);
    const char *names[2] = {"x_train.npy", "y_train.npy"};
    unsigned char *data[2] = {bx, by};
    size_t len[2] = {lx, ly};
    make_npz(tmp_path("mismatch.npz"), 2, names, data, len, 1);
    snprintf(spec, sizeof spec, "npz:%s", tmp_path("mismatch.npz"));
    char msg[1200];
    snprintf(msg, sizeof msg, "%s:x_train.npy has 6 samples but %s:y_train.npy has 5 targets", tmp_path("mismatch.npz"), tmp_path("mismatch.npz"));
    CHECK_ERR(cn_dataset_open(&tr, &te, spec), CN_STATUS_SHAPE, msg);
    CHECK(tr == NULL && te == NULL);
    /* no y_train at all */
    make_npz(tmp_path("nolabels.npz"), 1, names, data, len, 0);
    snprintf(spec, sizeof spec, "npz:%s", tmp_path("nolabels.npz"));
    CHECK_ERR(cn_dataset_open(&tr, NULL, spec), CN_STATUS_NOT_FOUND, "no array 'y_train' in the archive (it holds: x_train)");
    free(bx), free(by);
}

int main(void)
{
    /* files are written atomically (with fsync): tmpfs keeps that fast */
    snprintf(tmp_root, sizeof tmp_root, "%s/cn_test_npz_%d", access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp", (int)getpid());
    char cmd[512];
    snprintf(cmd, sizeof cmd, "mkdir -p %s", tmp_root);
    if (system(cmd) != 0) return 1;
    RUN(test_numpy_written);
    RUN(test_archive_errors);
    RUN(test_npz_dataset);
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp_root);
    if (system(cmd) != 0) return 1;
    return cn_test_finish();
}
