/* test_npy.c — .npy files written by NumPy (every dtype, both endiannesses, v1 and v2),
 * round trips through cn_npy_save, and malformed files that must fail cleanly. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture.h"
#include "test.h"

static void expect_arange(const char *name, cn_dtype dtype, int ndim, const int64_t *shape, int is_int)
{
    cn_npy a = cn_fixture_load(name);
    CHECK_MSG(a.dtype == dtype, "%s: dtype %s", name, cn_dtype_name(a.dtype));
    CHECK_EQ_INT(a.ndim, ndim);
    int64_t n = 1;
    for (int i = 0; i < ndim && i < a.ndim; i++) {
        CHECK_EQ_INT(a.shape[i], shape[i]);
        n *= shape[i];
    }
    CHECK_EQ_INT(a.numel, n);
    for (int64_t i = 0; i < a.numel && i < n; i++) {
        CHECK_MSG(a.f32[i] == (float)(i - 3), "%s[%lld] = %g", name, (long long)i, a.f32[i]);
        if (is_int) CHECK_MSG(a.i64 && a.i64[i] == i - 3, "%s[%lld] int", name, (long long)i);
    }
    if (!is_int) CHECK(a.i64 == NULL);
    cn_npy_free(&a);
}

static void test_numpy_written_files(void)
{
    expect_arange("npy/f32_2x3", CN_DTYPE_F32, 2, (int64_t[]){2, 3}, 0);
    expect_arange("npy/f64_be_4", CN_DTYPE_F64, 1, (int64_t[]){4}, 0);
    expect_arange("npy/f16_5", CN_DTYPE_F16, 1, (int64_t[]){5}, 0);
    expect_arange("npy/i64_2x2x2", CN_DTYPE_I64, 3, (int64_t[]){2, 2, 2}, 1);
    expect_arange("npy/i32_be_3", CN_DTYPE_I32, 1, (int64_t[]){3}, 1);
    expect_arange("npy/i16_3", CN_DTYPE_I16, 1, (int64_t[]){3}, 1);
    expect_arange("npy/i8_4", CN_DTYPE_I8, 1, (int64_t[]){4}, 1);
    expect_arange("npy/v2_f32_3x2", CN_DTYPE_F32, 2, (int64_t[]){3, 2}, 0);
    expect_arange("npy/scalar_f32", CN_DTYPE_F32, 0, NULL, 0);

    cn_npy a = cn_fixture_load("npy/u8_1x1x2x3x2");
    CHECK_EQ_INT(a.ndim, 5);
    CHECK(a.dtype == CN_DTYPE_U8 && a.numel == 12);
    CHECK(a.i64 && a.i64[0] == 250 && a.i64[5] == 255 && a.i64[6] == 0 && a.i64[11] == 5); /* wraps as uint8 */
    cn_npy_free(&a);
    a = cn_fixture_load("npy/bool_5");
    CHECK(a.dtype == CN_DTYPE_BOOL && a.numel == 5 && a.i64 && a.i64[1] == 1 && a.i64[2] == 0);
    cn_npy_free(&a);
    a = cn_fixture_load("npy/empty_0x3");
    CHECK(a.ndim == 2 && a.shape[0] == 0 && a.numel == 0);
    cn_npy_free(&a);

    cn_tensor *t;
    CHECK_OK(cn_npy_load_tensor(&t, cn_fixture_path("npy/u8_1x1x2x3x2")));
    CHECK(t && t->shape.ndim == 5 && t->data[0] == 250.0f);
    cn_tensor_destroy(t);
    CHECK_ERR(cn_npy_load_tensor(&t, cn_fixture_path("npy/scalar_f32")), CN_STATUS_SHAPE, "0 dimensions");
    CHECK_ERR(cn_npy_load_tensor(&t, cn_fixture_path("npy/empty_0x3")), CN_STATUS_SHAPE, "is 0");
    CHECK_ERR(cn_npy_load(&a, cn_fixture_path("npy/fortran_2x3")), CN_STATUS_UNSUPPORTED, "Fortran");
}

static const char *tmp_path(const char *name)
{
    static char buf[256];
    snprintf(buf, sizeof buf, "%s/cn_test_npy_%d_%s", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid(), name);
    return buf;
}

/* a .npy of 300 KB streamed through a pipe (its size unknown until the end) loads whole */
static void test_pipe(void)
{
    enum { N = 75000 };
    static float x[N];
    for (int i = 0; i < N; i++) x[i] = (float)i;
    const char *p = tmp_path("pipe.npy");
    CHECK_OK(cn_npy_save(p, CN_DTYPE_F32, 1, (int64_t[]){N}, x));
    int fd[2];
    CHECK(pipe(fd) == 0);
    pid_t child = fork();
    if (child == 0) { /* the writer: copies the file into the pipe in small pieces */
        close(fd[0]);
        FILE *f = fopen(p, "rb");
        char b[1000];
        size_t n;
        while (f && (n = fread(b, 1, sizeof b, f)) > 0)
            if (write(fd[1], b, n) != (ssize_t)n) _exit(1);
        _exit(0);
    }
    close(fd[1]);
    char dev[64];
    snprintf(dev, sizeof dev, "/dev/fd/%d", fd[0]);
    cn_npy a;
    CHECK_OK(cn_npy_load(&a, dev));
    CHECK(a.ndim == 1 && a.shape[0] == N && a.f32 && a.f32[N - 1] == (float)(N - 1) && !memcmp(a.f32, x, sizeof x));
    cn_npy_free(&a);
    close(fd[0]);
    int status;
    CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0);
}


static void test_round_trip(void)
{
    float x[24];
    for (int i = 0; i < 24; i++) x[i] = (float)i * 0.5f - 3;
    const char *p = tmp_path("rt.npy");
    CHECK_OK(cn_npy_save(p, CN_DTYPE_F32, 3, (int64_t[]){2, 3, 4}, x));
    cn_npy a;
    CHECK_OK(cn_npy_load(&a, p));
    CHECK(a.ndim == 3 && a.shape[2] == 4 && !memcmp(a.f32, x, sizeof x));
    cn_npy_free(&a);
    int64_t lab[5] = {0, 9, -1, 1LL << 40, 3};
    CHECK_OK(cn_npy_save(p, CN_DTYPE_I64, 1, (int64_t[]){5}, lab));
    CHECK_OK(cn_npy_load(&a, p));
    CHECK(a.dtype == CN_DTYPE_I64 && !memcmp(a.i64, lab, sizeof lab));
    cn_npy_free(&a);
    remove(p);
    /* a failed write leaves nothing behind */
    CHECK_ERR(cn_npy_save("/nonexistent-dir/x.npy", CN_DTYPE_F32, 1, (int64_t[]){1}, x), CN_STATUS_IO, "/nonexistent-dir/x.npy");
    CHECK_ERR(cn_npy_save(p, CN_DTYPE_U8, 1, (int64_t[]){1}, x), CN_STATUS_UNSUPPORTED, "uint8");
    CHECK(access(p, F_OK) != 0);
}

/* build a v1 file from a header dict and a payload size */
static size_t make_npy(unsigned char *buf, const char *dict, size_t payload)
{
    size_t hl = strlen(dict);
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (unsigned char)(hl & 0xff), buf[9] = (unsigned char)(hl >> 8);
    memcpy(buf + 10, dict, hl);
    memset(buf + 10 + hl, 0, payload);
    return 10 + hl + payload;
}

static void test_malformed(void)
{
    unsigned char buf[512];
    cn_npy a;
    size_t n;
    CHECK_ERR(cn_npy_parse(&a, "hello world", 11, "m.npy"), CN_STATUS_FORMAT, "m.npy: offset 0: not a .npy");
    n = make_npy(buf, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }\n", 24);
    CHECK_OK(cn_npy_parse(&a, buf, n, "ok.npy"));
    cn_npy_free(&a);
    CHECK_ERR(cn_npy_parse(&a, buf, n - 1, "short.npy"), CN_STATUS_FORMAT, "need 24 bytes of data, the file has 23");
    CHECK_ERR(cn_npy_parse(&a, buf, 30, "cut.npy"), CN_STATUS_FORMAT, "header claims");
    n = make_npy(buf, "{'descr': '<f4', 'fortran_order': False, 'shape': (1048576, 1048576, 1048576, 1048576), }\n", 4);
    CHECK_ERR(cn_npy_parse(&a, buf, n, "huge.npy"), CN_STATUS_LIMIT, "overflows");
    n = make_npy(buf, "{'descr': '<f4', 'fortran_order': False, 'shape': (1048576, 1048576), }\n", 4);
    CHECK_ERR(cn_npy_parse(&a, buf, n, "big.npy"), CN_STATUS_FORMAT, "need 4398046511104 bytes");
    n = make_npy(buf, "{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }\n", 8);
    CHECK_ERR(cn_npy_parse(&a, buf, n, "complex.npy"), CN_STATUS_UNSUPPORTED, "'<c8'");
    n = make_npy(buf, "{'descr': '<f4', 'shape': (1,), }\n", 4);
    CHECK_ERR(cn_npy_parse(&a, buf, n, "nokey.npy"), CN_STATUS_FORMAT, "lacks");
    n = make_npy(buf, "{'descr': '<f4', 'fortran_order': False, 'shape': (1, x), }\n", 4);
    CHECK_ERR(cn_npy_parse(&a, buf, n, "badshape.npy"), CN_STATUS_FORMAT, "expected a dimension");
    n = make_npy(buf, "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (1,), }\n", 4);
    CHECK_ERR(cn_npy_parse(&a, buf, n, "order.npy"), CN_STATUS_FORMAT, "True or False");
    n = make_npy(buf, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'extra': 1}\n", 4);
    CHECK_ERR(cn_npy_parse(&a, buf, n, "extra.npy"), CN_STATUS_FORMAT, "unknown header key 'extra'");
    n = make_npy(buf, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,)", 4);
    CHECK_ERR(cn_npy_parse(&a, buf, n, "open.npy"), CN_STATUS_FORMAT, "offset");
    memcpy(buf, "\x93NUMPY\x09\x00", 8);
    CHECK_ERR(cn_npy_parse(&a, buf, n, "v9.npy"), CN_STATUS_UNSUPPORTED, "version 9");
    CHECK_ERR(cn_npy_load(&a, "/no/such/file.npy"), CN_STATUS_IO, "/no/such/file.npy: cannot open");
    CHECK_ERR(cn_npy_load(&a, "/tmp"), CN_STATUS_IO, "directory");
    /* every truncation of a valid file fails cleanly */
    n = make_npy(buf, "{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }\n", 24);
    for (size_t k = 0; k < n; k++) {
        cn_status st = cn_npy_parse(&a, buf, k, "trunc.npy");
        CHECK_MSG(st == CN_STATUS_FORMAT, "truncated at %zu: %s", k, cn_status_name(st));
    }
}

int main(void)
{
    RUN(test_numpy_written_files);
    RUN(test_round_trip);
    RUN(test_pipe);
    RUN(test_malformed);
    return cn_test_finish();
}
