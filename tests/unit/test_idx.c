/* test_idx.c — the IDX reader: every type code, plain and gzip files written here with known
 * contents, every malformation we can think of (each must fail with a message naming the
 * file, the offset and what was expected, without crashing or leaking), allocation
 * failures, and Fashion-MNIST when the Debian package is installed. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

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

/* ---- writing test files -------------------------------------------------------------------- */

typedef struct {
    unsigned char *p;
    size_t n, cap;
} bytes;

static void put(bytes *b, const void *src, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, src, n);
    b->n += n;
}

static void put_be(bytes *b, uint64_t v, int size)
{
    unsigned char t[8];
    for (int i = 0; i < size; i++) t[i] = (unsigned char)(v >> (8 * (size - 1 - i)));
    put(b, t, (size_t)size);
}

static int elem_size(int code) { return code <= 0x09 ? 1 : code == 0x0B ? 2 : code == 0x0E ? 8 : 4; }

/* an IDX image of `code` with the given dims and values (converted to the type) */
static bytes make_idx(int code, int ndim, const uint32_t *dims, const double *vals, size_t n)
{
    bytes b = {0};
    unsigned char h[4] = {0, 0, (unsigned char)code, (unsigned char)ndim};
    put(&b, h, 4);
    for (int i = 0; i < ndim; i++) put_be(&b, dims[i], 4);
    for (size_t i = 0; i < n; i++) {
        uint64_t u = 0;
        switch (code) {
        case 0x08: u = (uint8_t)vals[i]; break;
        case 0x09: u = (uint8_t)(int8_t)vals[i]; break;
        case 0x0B: u = (uint16_t)(int16_t)vals[i]; break;
        case 0x0C: u = (uint32_t)(int32_t)vals[i]; break;
        case 0x0D: {
            float f = (float)vals[i];
            uint32_t w;
            memcpy(&w, &f, 4);
            u = w;
            break;
        }
        case 0x0E: memcpy(&u, &vals[i], 8); break;
        }
        put_be(&b, u, elem_size(code));
    }
    return b;
}

static void write_plain(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    CHECK_MSG(f && fwrite(data, 1, n, f) == n, "cannot write %s", path);
    if (f) fclose(f);
}

/* gzip with zlib's gz* interface; mode "wb" starts a file, "ab" appends a new member */
static void write_gz(const char *path, const void *data, size_t n, const char *mode)
{
    gzFile g = gzopen(path, mode);
    CHECK_MSG(g != NULL, "gzopen %s", path);
    if (!g) return;
    CHECK(n == 0 || gzwrite(g, data, (unsigned)n) == (int)n);
    CHECK(gzclose(g) == Z_OK);
}

static bytes read_file(const char *path)
{
    bytes b = {0};
    FILE *f = fopen(path, "rb");
    unsigned char buf[4096];
    size_t r;
    while (f && (r = fread(buf, 1, sizeof buf, f)) > 0) put(&b, buf, r);
    if (f) fclose(f);
    return b;
}

/* ---- values round-trip for every type, plain and gzip ------------------------------------- */

static void test_types(void)
{
    static const struct {
        int code;
        double vals[6];
        int is_int;
    } cases[] = {
        {0x08, {0, 1, 127, 128, 200, 255}, 1},
        {0x09, {-128, -1, 0, 1, 100, 127}, 1},
        {0x0B, {-32768, -300, -1, 0, 258, 32767}, 1},
        {0x0C, {-2147483648.0, -70000, -1, 16777217, 123456789, 2147483647}, 1},
        {0x0D, {-1.5, 0.0, 0.1f, 3.25, 1e30f, -7e-30f}, 0},
        {0x0E, {-2.5, 0.1, 1e300, 123456789.125, -1e-300, 42}, 0},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        for (int gz = 0; gz < 2; gz++)
            for (int shape = 0; shape < 2; shape++) {
                /* 1-D [6] (a "label file") or 3-D [1, 2, 3] */
                uint32_t dims1[1] = {6}, dims3[3] = {1, 2, 3};
                bytes b = shape ? make_idx(cases[c].code, 3, dims3, cases[c].vals, 6)
                                : make_idx(cases[c].code, 1, dims1, cases[c].vals, 6);
                const char *p = tmp_path(gz ? "types.idx.gz" : "types.idx");
                if (gz) write_gz(p, b.p, b.n, "wb");
                else write_plain(p, b.p, b.n);
                free(b.p);
                cn_idx a;
                CHECK_OK(cn_idx_load(&a, p));
                CHECK_MSG((int)a.type == cases[c].code && a.numel == 6 && a.ndim == (shape ? 3 : 1),
                          "type 0x%02x gz %d: type %d numel %lld ndim %d", cases[c].code, gz, a.type, (long long)a.numel,
                          a.ndim);
                if (shape) CHECK(a.dims[0] == 1 && a.dims[1] == 2 && a.dims[2] == 3);
                else CHECK(a.dims[0] == 6);
                for (int i = 0; a.f32 && i < 6; i++)
                    CHECK_MSG(a.f32[i] == (float)cases[c].vals[i], "type 0x%02x gz %d [%d]: %.9g, expected %.9g",
                              cases[c].code, gz, i, a.f32[i], (float)cases[c].vals[i]);
                /* exact integers only for 1-D integer files */
                int want_i64 = cases[c].is_int && !shape;
                CHECK_MSG((a.i64 != NULL) == want_i64, "type 0x%02x ndim %d: i64 %s", cases[c].code, a.ndim,
                          a.i64 ? "present" : "absent");
                for (int i = 0; a.i64 && i < 6; i++)
                    CHECK_MSG(a.i64[i] == (int64_t)cases[c].vals[i], "type 0x%02x [%d]: %lld", cases[c].code, i,
                              (long long)a.i64[i]);
                cn_idx_free(&a);
                cn_idx_free(&a); /* freeing twice is harmless */
                remove(p);
            }
    }
}

/* a larger file crosses the 64 KiB read chunks; a gzip file in two members still loads */
static void test_large_and_multi_member(void)
{
    enum { N = 3, H = 200, W = 150 }; /* 90000 bytes of data */
    size_t n = (size_t)N * H * W;
    double *v = malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++) v[i] = (double)((i * 7919) % 256);
    bytes b = make_idx(0x08, 3, (uint32_t[]){N, H, W}, v, n);
    const char *p = tmp_path("large.idx.gz");
    /* member 1: the header and 1000 bytes of data; member 2: the rest */
    write_gz(p, b.p, 16 + 1000, "wb");
    write_gz(p, b.p + 16 + 1000, b.n - 16 - 1000, "ab");
    cn_idx a;
    CHECK_OK(cn_idx_load(&a, p));
    CHECK(a.ndim == 3 && a.dims[0] == N && a.dims[1] == H && a.dims[2] == W && a.numel == (int64_t)n && !a.i64);
    size_t bad = 0;
    for (size_t i = 0; a.f32 && i < n; i++) bad += a.f32[i] != (float)v[i];
    CHECK_MSG(a.f32 && bad == 0, "%zu of %zu values differ", bad, n);
    cn_idx_free(&a);
    /* the same as a plain file */
    const char *q = tmp_path("large.idx");
    write_plain(q, b.p, b.n);
    CHECK_OK(cn_idx_load(&a, q));
    bad = 0;
    for (size_t i = 0; a.f32 && i < n; i++) bad += a.f32[i] != (float)v[i];
    CHECK_MSG(a.f32 && bad == 0, "%zu of %zu values differ", bad, n);
    cn_idx_free(&a);
    remove(p);
    remove(q);
    free(b.p);
    free(v);
}

/* a pipe (no size, no rewind) works, plain and gzip: a child process writes into a FIFO */
static void test_pipe(void)
{
    double v[12];
    for (int i = 0; i < 12; i++) v[i] = 3 * i - 7;
    bytes b = make_idx(0x0B, 2, (uint32_t[]){3, 4}, v, 12);
    const char *gzp = tmp_path("pipe-src.gz"), *fifo = tmp_path("pipe.fifo");
    write_gz(gzp, b.p, b.n, "wb");
    bytes g = read_file(gzp);
    for (int gz = 0; gz < 2; gz++) {
        const bytes *src = gz ? &g : &b;
        CHECK(mkfifo(fifo, 0600) == 0);
        fflush(NULL);
        pid_t pid = fork();
        if (pid == 0) {
            FILE *f = fopen(fifo, "wb");
            if (f) fwrite(src->p, 1, src->n, f), fclose(f);
            _exit(0);
        }
        cn_idx a;
        CHECK_OK(cn_idx_load(&a, fifo));
        CHECK(a.ndim == 2 && a.dims[0] == 3 && a.dims[1] == 4 && a.f32 && a.f32[0] == -7 && a.f32[11] == 26);
        cn_idx_free(&a);
        int status = 0;
        waitpid(pid, &status, 0);
        remove(fifo);
    }
    remove(gzp);
    free(b.p);
    free(g.p);
}

/* ---- malformed files ----------------------------------------------------------------------- */

/* write `data` plain (gz = 0) or gzip-compressed (gz = 1), load it, expect failure */
static void expect_fail(const void *data, size_t n, int gz, cn_status want, const char *substr, int line)
{
    const char *p = tmp_path(gz ? "bad.idx.gz" : "bad.idx");
    if (gz) write_gz(p, data, n, "wb");
    else write_plain(p, data, n);
    cn_idx a;
    memset(&a, 0x5a, sizeof a);
    cn_test_check_err(cn_idx_load(&a, p), want, substr, gz ? "cn_idx_load(gzip)" : "cn_idx_load(plain)", __FILE__, line);
    /* every message names the file */
    CHECK_MSG(strstr(cn_last_error(), p) != NULL, "line %d: message \"%s\" does not name %s", line, cn_last_error(), p);
    CHECK_MSG(a.f32 == NULL && a.i64 == NULL && a.numel == 0, "line %d: failed load left output behind", line);
    remove(p);
}
#define EXPECT_FAIL(data, n, gz, want, substr) expect_fail((data), (n), (gz), (want), (substr), __LINE__)

static void test_malformed_headers(void)
{
    uint32_t d3[3] = {2, 2, 2};
    double v8[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    bytes ok = make_idx(0x08, 3, d3, v8, 8); /* 16-byte header + 8 bytes */
    unsigned char buf[64];
    for (int gz = 0; gz < 2; gz++) {
        const char *off = gz ? "decompressed offset" : "offset";
        char want[128];
        /* wrong magic */
        memcpy(buf, ok.p, ok.n);
        buf[0] = 0x12, buf[1] = 0x34;
        snprintf(want, sizeof want, "%s 0: magic bytes 12 34, expected 00 00", off);
        EXPECT_FAIL(buf, ok.n, gz, CN_STATUS_FORMAT, want);
        /* unknown type code */
        memcpy(buf, ok.p, ok.n);
        buf[2] = 0x0A;
        snprintf(want, sizeof want, "%s 2: unknown type code 0x0A, expected 0x08 (ubyte)", off);
        EXPECT_FAIL(buf, ok.n, gz, CN_STATUS_FORMAT, want);
        /* zero dimensions, and a zero dimension */
        memcpy(buf, ok.p, ok.n);
        buf[3] = 0;
        snprintf(want, sizeof want, "%s 3: 0 dimensions, expected at least 1", off);
        EXPECT_FAIL(buf, ok.n, gz, CN_STATUS_FORMAT, want);
        memcpy(buf, ok.p, ok.n);
        memset(buf + 8, 0, 4);
        snprintf(want, sizeof want, "%s 8: dimension 1 is 0, expected at least 1", off);
        EXPECT_FAIL(buf, ok.n, gz, CN_STATUS_SHAPE, want);
        /* too many dimensions for us */
        memcpy(buf, ok.p, ok.n);
        buf[3] = 200;
        EXPECT_FAIL(buf, ok.n, gz, CN_STATUS_UNSUPPORTED, "200 dimensions, convnet reads at most 16");
        /* truncated header: in the fixed part, and in the dimensions */
        EXPECT_FAIL(ok.p, 0, gz, CN_STATUS_FORMAT, "truncated header: the data end at");
        EXPECT_FAIL(ok.p, 3, gz, CN_STATUS_FORMAT, "truncated header");
        snprintf(want, sizeof want, "truncated header: the data end at %s 10, expected 16 header bytes for 3 dimensions", off);
        EXPECT_FAIL(ok.p, 10, gz, CN_STATUS_FORMAT, want);
        /* truncated data */
        EXPECT_FAIL(ok.p, ok.n - 4, gz, CN_STATUS_FORMAT,
                    gz ? "truncated data: the data end at decompressed offset 20, but the header describes 2x2x2 ubyte "
                         "values (8 bytes from offset 16, ending at 24)"
                       : "truncated data: the header describes 2x2x2 ubyte values (8 bytes from offset 16), but the file "
                         "ends at offset 20");
        /* data after the described values */
        memcpy(buf, ok.p, ok.n);
        buf[ok.n] = 9;
        EXPECT_FAIL(buf, ok.n + 1, gz, CN_STATUS_FORMAT, gz ? "decompressed offset 24: unexpected data after the 2x2x2 ubyte"
                                                            : "offset 24: 1 unexpected bytes after the 2x2x2 ubyte values");
        /* sizes needing absurd memory: 2^31 x 2^31 bytes overflow the float32 size; 2^20 x 2^20
         * (a 4 TiB float32 array) is over the cap; 2^32-1 four times overflows the count */
        unsigned char huge[24] = {0, 0, 0x08, 2, 0x80, 0, 0, 0, 0x80, 0, 0, 0};
        EXPECT_FAIL(huge, 12, gz, CN_STATUS_LIMIT, "2147483648x2147483648 ubyte values (4611686018427387904 elements), a size in bytes that overflows 64 bits");
        unsigned char big[12] = {0, 0, 0x08, 2, 0, 0x10, 0, 0, 0, 0x10, 0, 0};
        EXPECT_FAIL(big, 12, gz, CN_STATUS_LIMIT, "1048576x1048576 ubyte values (1099511627776 elements), which need "
                                                  "4398046511104 bytes, above the memory cap");
        unsigned char over[20] = {0, 0, 0x0E, 4};
        memset(over + 4, 0xff, 16);
        EXPECT_FAIL(over, 20, gz, CN_STATUS_LIMIT, "overflow a 64-bit element count");
    }
    /* a gzip file far too small to hold what its header describes is refused before allocating:
     * 10000 x 10000 bytes (400 MB as float32, under the cap) from a ~40-byte file */
    unsigned char claim[12] = {0, 0, 0x08, 2, 0, 0, 0x27, 0x10, 0, 0, 0x27, 0x10};
    EXPECT_FAIL(claim, 12, 1, CN_STATUS_FORMAT, "bytes of gzip data expand to at most");
    free(ok.p);
}

static void test_gzip_stream_errors(void)
{
    uint32_t d[2] = {50, 40};
    double *v = calloc(2000, sizeof *v);
    for (int i = 0; i < 2000; i++) v[i] = (i * 31) % 251;
    bytes ok = make_idx(0x08, 2, d, v, 2000);
    const char *p = tmp_path("stream.idx.gz");
    write_gz(p, ok.p, ok.n, "wb");
    bytes gz = read_file(p);
    CHECK(gz.n > 40 && gz.p[0] == 0x1f && gz.p[1] == 0x8b);
    cn_idx a;
    CHECK_OK(cn_idx_load(&a, p));
    cn_idx_free(&a);
    unsigned char *buf = malloc(gz.n + 16);
    /* the compressed file cut short, in the deflate data and in the 8-byte trailer */
    write_plain(p, gz.p, gz.n / 2);
    CHECK_ERR(cn_idx_load(&a, p), CN_STATUS_FORMAT, "gzip stream ends unexpectedly");
    CHECK_ERR(cn_idx_load(&a, p), CN_STATUS_FORMAT, p);
    write_plain(p, gz.p, gz.n - 3);
    CHECK_ERR(cn_idx_load(&a, p), CN_STATUS_FORMAT, "the file is truncated");
    /* corrupt: a reserved deflate block type right after the 10-byte gzip header */
    memcpy(buf, gz.p, gz.n);
    buf[10] = 0xff;
    write_plain(p, buf, gz.n);
    CHECK_ERR(cn_idx_load(&a, p), CN_STATUS_FORMAT, "corrupt gzip stream at compressed offset");
    CHECK_ERR(cn_idx_load(&a, p), CN_STATUS_FORMAT, "invalid block type");
    /* corrupt: the CRC in the trailer (the data decode, zlib's check catches it) */
    memcpy(buf, gz.p, gz.n);
    buf[gz.n - 8] ^= 0x01;
    write_plain(p, buf, gz.n);
    CHECK_ERR(cn_idx_load(&a, p), CN_STATUS_FORMAT, "incorrect data check");
    /* corrupt: the stated length (ISIZE) in the trailer is checked too, never used to size */
    memcpy(buf, gz.p, gz.n);
    buf[gz.n - 4] ^= 0x40;
    write_plain(p, buf, gz.n);
    CHECK_ERR(cn_idx_load(&a, p), CN_STATUS_FORMAT, "corrupt gzip stream");
    /* garbage after the gzip member */
    memcpy(buf, gz.p, gz.n);
    memcpy(buf + gz.n, "garbage!", 8);
    write_plain(p, buf, gz.n + 8);
    CHECK_ERR(cn_idx_load(&a, p), CN_STATUS_FORMAT, "corrupt gzip stream");
    /* every truncation of the compressed file fails cleanly (and never crashes or leaks) */
    for (size_t k = 2; k < gz.n; k++) {
        write_plain(p, gz.p, k);
        cn_status st = cn_idx_load(&a, p);
        CHECK_MSG(st == CN_STATUS_FORMAT && a.f32 == NULL, "gzip cut at %zu of %zu: %s (%s)", k, gz.n, cn_status_name(st),
                  cn_last_error());
    }
    /* every truncation of the plain file too */
    for (size_t k = 0; k < ok.n; k++) {
        write_plain(p, ok.p, k);
        cn_status st = cn_idx_load(&a, p);
        CHECK_MSG(st == CN_STATUS_FORMAT && a.f32 == NULL, "plain cut at %zu of %zu: %s (%s)", k, ok.n, cn_status_name(st),
                  cn_last_error());
    }
    remove(p);
    free(buf);
    free(gz.p);
    free(ok.p);
    free(v);
}

static void test_files_and_pairs(void)
{
    cn_idx img, lab;
    /* missing file, directory */
    CHECK_ERR(cn_idx_load(&img, "/nonexistent-dir/train-images-idx3-ubyte"), CN_STATUS_IO,
              "/nonexistent-dir/train-images-idx3-ubyte: cannot open: No such file");
    CHECK_ERR(cn_idx_load(&img, tmp_root), CN_STATUS_IO, "is a directory, expected an IDX file");
    CHECK_ERR(cn_idx_load(&img, tmp_root), CN_STATUS_IO, tmp_root);

    /* a pair: 5 images of 2x3 and 5 labels, one file gzip-compressed */
    double pix[30], labels[5] = {3, 1, 4, 1, 5};
    for (int i = 0; i < 30; i++) pix[i] = i;
    bytes bi = make_idx(0x08, 3, (uint32_t[]){5, 2, 3}, pix, 30);
    bytes bl = make_idx(0x08, 1, (uint32_t[]){5}, labels, 5);
    bytes bl4 = make_idx(0x08, 1, (uint32_t[]){4}, labels, 4);
    bytes bl2d = make_idx(0x08, 2, (uint32_t[]){5, 1}, labels, 5);
    bytes bfl = make_idx(0x0D, 1, (uint32_t[]){5}, labels, 5);
    const char *pi = tmp_path("pair-images.gz"), *pl = tmp_path("pair-labels"), *pl4 = tmp_path("pair-labels4");
    const char *pl2d = tmp_path("pair-labels2d"), *pfl = tmp_path("pair-labels-float");
    write_gz(pi, bi.p, bi.n, "wb");
    write_plain(pl, bl.p, bl.n);
    write_plain(pl4, bl4.p, bl4.n);
    write_plain(pl2d, bl2d.p, bl2d.n);
    write_plain(pfl, bfl.p, bfl.n);
    CHECK_OK(cn_idx_load_pair(&img, &lab, pi, pl));
    CHECK(img.ndim == 3 && img.dims[0] == 5 && lab.ndim == 1 && lab.i64 && lab.i64[2] == 4 && img.f32 && img.f32[29] == 29);
    cn_idx_free(&img);
    cn_idx_free(&lab);
    char want[1200];
    snprintf(want, sizeof want, "%s: 5 images, %s: 4 labels", pi, pl4);
    memset(&lab, 0x5a, sizeof lab);
    CHECK_ERR(cn_idx_load_pair(&img, &lab, pi, pl4), CN_STATUS_SHAPE, want);
    CHECK(img.f32 == NULL && lab.f32 == NULL && lab.i64 == NULL);
    CHECK_ERR(cn_idx_load_pair(&img, &lab, pi, pl2d), CN_STATUS_SHAPE, "2 dimensions of ubyte, expected a labels file");
    CHECK_ERR(cn_idx_load_pair(&img, &lab, pi, pfl), CN_STATUS_SHAPE, "1 dimensions of float, expected a labels file");
    CHECK_ERR(cn_idx_load_pair(&img, &lab, pl, pl), CN_STATUS_SHAPE, "expected an images file");
    CHECK_ERR(cn_idx_load_pair(&img, &lab, pi, "/nonexistent-labels"), CN_STATUS_IO, "/nonexistent-labels: cannot open");
    CHECK(img.f32 == NULL && lab.f32 == NULL);

    /* the memory cap, checked against the header before allocating: 30 floats need 120 bytes
     * (plain file; a gzip file first needs its 64 KiB input buffer, also refused, as LIMIT) */
    const char *pp = tmp_path("pair-images-plain");
    write_plain(pp, bi.p, bi.n);
    cn_set_memory_limit(100);
    CHECK_ERR(cn_idx_load(&img, pp), CN_STATUS_LIMIT, "which need 120 bytes, above the memory cap of 100 bytes");
    CHECK_ERR(cn_idx_load(&img, pi), CN_STATUS_LIMIT, "above the memory cap");
    cn_set_memory_limit(0);
    CHECK_OK(cn_idx_load(&img, pp));
    cn_idx_free(&img);
    remove(pp);
    remove(pi), remove(pl), remove(pl4), remove(pl2d), remove(pfl);
    free(bi.p), free(bl.p), free(bl4.p), free(bl2d.p), free(bfl.p);
}

/* ---- allocation failures ------------------------------------------------------------------- */

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
    double v[6] = {1, 2, 3, 4, 5, 6};
    bytes b = make_idx(0x08, 1, (uint32_t[]){6}, v, 6);
    const char *p = tmp_path("fault.idx.gz"), *q = tmp_path("fault.idx");
    write_gz(p, b.p, b.n, "wb");
    write_plain(q, b.p, b.n);
    for (int gz = 0; gz < 2; gz++) {
        int k;
        for (k = 0; k < 50; k++) {
            cn_idx a;
            fail_at = k, n_allocs = 0, n_live = 0;
            cn_set_allocator(&(cn_allocator){failing_alloc, counting_free, NULL});
            cn_status st = cn_idx_load(&a, gz ? p : q);
            int live_during = n_live;
            if (st == CN_OK) cn_idx_free(&a);
            int live_after = n_live;
            cn_set_allocator(NULL);
            if (st == CN_OK) {
                CHECK_MSG(live_after == 0 && a.numel == 0, "gz %d: %d allocations leaked", gz, live_after);
                break;
            }
            CHECK_MSG(st == CN_STATUS_NOMEM && live_during == 0, "gz %d, failing allocation %d: %s, %d live (%s)", gz, k,
                      cn_status_name(st), live_during, cn_last_error());
        }
        /* plain: f32, i64, read buffer; gzip adds the input buffer and zlib's state and window */
        CHECK_MSG(k >= (gz ? 5 : 3) && k < 50, "gz %d: succeeded after %d failed allocations", gz, k);
    }
    remove(p), remove(q);
    free(b.p);
}

/* ---- Fashion-MNIST (Debian package dataset-fashion-mnist) ----------------------------------- */

static void test_fashion_mnist(void)
{
    const char *dir = "/usr/share/datasets/fashion-mnist";
    char ti[512], tl[512], vi[512], vl[512];
    snprintf(ti, sizeof ti, "%s/train-images-idx3-ubyte.gz", dir);
    snprintf(tl, sizeof tl, "%s/train-labels-idx1-ubyte.gz", dir);
    snprintf(vi, sizeof vi, "%s/t10k-images-idx3-ubyte.gz", dir);
    snprintf(vl, sizeof vl, "%s/t10k-labels-idx1-ubyte.gz", dir);
    if (access(ti, R_OK) != 0 || access(tl, R_OK) != 0 || access(vi, R_OK) != 0 || access(vl, R_OK) != 0) {
        printf("     SKIPPED: Fashion-MNIST not installed at %s (apt-get install dataset-fashion-mnist)\n", dir);
        return;
    }
    /* reference numbers: numpy on the same files (gzip + frombuffer), printed by /usr/bin/python3 */
    const struct {
        const char *img, *lab;
        int64_t n, pixel_sum, weighted_sum, first_image_sum;
        int64_t first_labels[10];
        int center_pixel;
    } sets[2] = {
        {ti, tl, 60000, 3431114169LL, 1708901694491LL, 76247, {9, 0, 0, 3, 0, 2, 7, 2, 5, 5}, 217},
        {vi, vl, 10000, 573469082LL, 286034809707LL, 33456, {9, 2, 1, 1, 6, 1, 4, 6, 5, 7}, 110},
    };
    for (int s = 0; s < 2; s++) {
        cn_idx img, lab;
        CHECK_OK(cn_idx_load_pair(&img, &lab, sets[s].img, sets[s].lab));
        if (!img.f32 || !lab.i64) continue;
        CHECK(img.type == CN_IDX_U8 && img.ndim == 3 && img.dims[0] == sets[s].n && img.dims[1] == 28 && img.dims[2] == 28);
        CHECK(lab.type == CN_IDX_U8 && lab.ndim == 1 && lab.dims[0] == sets[s].n && img.i64 == NULL);
        int64_t counts[10] = {0}, out_of_range = 0;
        for (int64_t i = 0; i < lab.numel; i++) lab.i64[i] >= 0 && lab.i64[i] <= 9 ? counts[lab.i64[i]]++ : out_of_range++;
        CHECK_EQ_INT(out_of_range, 0);
        for (int c = 0; c < 10; c++) CHECK_EQ_INT(counts[c], sets[s].n / 10); /* balanced: 6000 / 1000 per class */
        CHECK(!memcmp(lab.i64, sets[s].first_labels, sizeof sets[s].first_labels));
        /* pixel checksums: the plain sum, a position-weighted sum (sum x[i] * (i mod 997), which
         * catches misplaced values), the first image's sum and its pixel (14, 14) */
        int64_t sum = 0, wsum = 0, first = 0, bad = 0;
        for (int64_t i = 0; i < img.numel; i++) {
            float f = img.f32[i];
            int64_t v = (int64_t)f;
            bad += (float)v != f || v < 0 || v > 255;
            sum += v, wsum += v * (i % 997);
            if (i < 784) first += v;
        }
        CHECK_EQ_INT(bad, 0);
        CHECK_EQ_INT(sum, sets[s].pixel_sum);
        CHECK_EQ_INT(wsum, sets[s].weighted_sum);
        CHECK_EQ_INT(first, sets[s].first_image_sum);
        CHECK_EQ_INT((int)img.f32[14 * 28 + 14], sets[s].center_pixel);
        printf("     %s: %lldx%lldx%lld images, %lld labels\n", sets[s].img, (long long)img.dims[0], (long long)img.dims[1],
               (long long)img.dims[2], (long long)lab.dims[0]);
        cn_idx_free(&img);
        cn_idx_free(&lab);
    }
    /* train images with test labels: the counts differ */
    cn_idx img, lab;
    char want[1200];
    snprintf(want, sizeof want, "%s: 10000 images, %s: 60000 labels", vi, tl);
    CHECK_ERR(cn_idx_load_pair(&img, &lab, vi, tl), CN_STATUS_SHAPE, want);
}

int main(void)
{
    snprintf(tmp_root, sizeof tmp_root, "%s/cn_test_idx_%d", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid());
    mkdir(tmp_root, 0700);
    RUN(test_types);
    RUN(test_large_and_multi_member);
    RUN(test_pipe);
    RUN(test_malformed_headers);
    RUN(test_gzip_stream_errors);
    RUN(test_files_and_pairs);
    RUN(test_alloc_failures);
    RUN(test_fashion_mnist);
    rmdir(tmp_root);
    return cn_test_finish();
}
