/* test_image.c — image files: decoding PNG (8 and 16 bit, RGBA), BMP, PPM, PGM, GIF and JPEG
 * files written by Pillow (fixtures, so the reader is checked against another encoder),
 * channel conversion, resizing, PNG writing round trips, and every malformation: missing,
 * empty, not an image, truncated, ASCII PNM, headers claiming absurd sizes. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* a fixture file by its own name (cn_fixture_path adds .npy) */
static const char *fix(const char *name)
{
    static char buf[4][512];
    static int k;
    char *b = buf[k++ % 4];
    snprintf(b, 512, "%s/%s", CN_FIXTURE_DIR, name);
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

/* the file's pixels must equal the fixture (H x W x 3 floats) exactly, or within tol */
static void check_pixels(const char *file, const char *fixture, int channels, double tol, double mean_tol)
{
    cn_npy want = cn_fixture_load(fixture);
    cn_image im = {0};
    CHECK_OK(cn_image_load(&im, fix(file), channels));
    if (!im.px || !want.numel) {
        cn_npy_free(&want);
        return;
    }
    CHECK_EQ_INT(im.w, 7);
    CHECK_EQ_INT(im.h, 5);
    CHECK_EQ_INT(im.c, 3);
    double worst = 0, sum = 0;
    for (int64_t i = 0; i < 5 * 7 * 3; i++) {
        double d = fabs((double)im.px[i] - want.f32[i]);
        worst = fmax(worst, d), sum += d;
    }
    CHECK_MSG(worst <= tol && sum / 105 <= mean_tol, "%s: max difference %g (tolerance %g), mean %g (tolerance %g)", file, worst, tol,
              sum / 105, mean_tol);
    cn_image_free(&im);
    cn_npy_free(&want);
}

static void test_decode_fixtures(void)
{
    /* lossless formats: exact */
    check_pixels("data/img_rgb.png", "data/img_pixels", 0, 0, 0);
    check_pixels("data/img_rgb.bmp", "data/img_pixels", 0, 0, 0);
    check_pixels("data/img_rgb.ppm", "data/img_pixels", 3, 0, 0);
    check_pixels("data/img_rgb.gif", "data/img_gif_pixels", 3, 0, 0);
    /* JPEG: stb's IDCT and chroma upsampling differ from libjpeg's by a few levels */
    check_pixels("data/img_rgb.jpg", "data/img_rgb_jpg_pixels", 3, 24, 3);

    cn_npy px = cn_fixture_load("data/img_pixels");
    cn_image g = {0}, g16 = {0}, rgba = {0}, rgb = {0}, luma = {0};
    CHECK_OK(cn_image_load(&g, fix("data/img_gray.pgm"), 0));
    CHECK_OK(cn_image_load(&g16, fix("data/img_gray16.png"), 0));
    CHECK_OK(cn_image_load(&rgba, fix("data/img_rgba.png"), 0));
    CHECK_OK(cn_image_load(&rgb, fix("data/img_rgba.png"), 3));
    CHECK_OK(cn_image_load(&luma, fix("data/img_rgb.png"), 1));
    if (g.px && g16.px && rgba.px && rgb.px && luma.px && px.numel) {
        CHECK(g.c == 1 && g16.c == 1 && rgba.c == 4 && rgb.c == 3 && luma.c == 1);
        for (int i = 0; i < 35; i++) {
            CHECK(g.px[i] == (unsigned char)px.f32[3 * i]);
            CHECK(g16.px[i] == (unsigned char)px.f32[3 * i]); /* v * 257 reduced to 8 bits */
            CHECK(rgba.px[4 * i + 3] == 200);
            for (int c = 0; c < 3; c++) CHECK(rgba.px[4 * i + c] == (unsigned char)px.f32[3 * i + c] && rgb.px[3 * i + c] == rgba.px[4 * i + c]);
            int r = (int)px.f32[3 * i], gg = (int)px.f32[3 * i + 1], b = (int)px.f32[3 * i + 2];
            CHECK_EQ_INT(luma.px[i], (r * 77 + gg * 150 + b * 29) >> 8);
        }
        /* cn_image_convert agrees with stb's conversion */
        cn_image conv = {0}, back = {0};
        CHECK_OK(cn_image_convert(&conv, &rgba, 1));
        CHECK(conv.px && !memcmp(conv.px, luma.px, 35));
        CHECK_OK(cn_image_convert(&back, &g, 3));
        for (int i = 0; i < 35 && back.px; i++) CHECK(back.px[3 * i] == g.px[i] && back.px[3 * i + 2] == g.px[i]);
        cn_image_free(&conv);
        cn_image_free(&back);
        CHECK_OK(cn_image_convert(&back, &g, 4));
        CHECK(back.px && back.px[3] == 255);
        cn_image_free(&back);
        /* planar float in [0, 1] */
        float chw[3 * 35];
        cn_image_to_chw(chw, &rgb);
        CHECK_NEAR(chw[35 + 2], px.f32[3 * 2 + 1] / 255.0, 1e-7);
    }
    int w, h, c;
    CHECK_OK(cn_image_probe(fix("data/img_rgba.png"), &w, &h, &c));
    CHECK(w == 7 && h == 5 && c == 4);
    cn_image_free(&g), cn_image_free(&g16), cn_image_free(&rgba), cn_image_free(&rgb), cn_image_free(&luma);
    cn_npy_free(&px);
}

static void test_png_roundtrip_and_resize(void)
{
    for (int c = 1; c <= 4; c++) {
        unsigned char px[13 * 9 * 4];
        for (int i = 0; i < 13 * 9 * c; i++) px[i] = (unsigned char)(i * 37 + c);
        const char *p = tmp_path("rt.png");
        CHECK_OK(cn_image_save_png(p, px, 13, 9, c));
        cn_image im = {0};
        CHECK_OK(cn_image_load(&im, p, 0));
        CHECK(im.w == 13 && im.h == 9 && im.c == c && im.px && !memcmp(im.px, px, (size_t)(13 * 9 * c)));
        cn_image_free(&im);
    }
    CHECK_ERR(cn_image_save_png(tmp_path("bad.png"), (unsigned char[4]){0}, 0, 1, 1), CN_STATUS_INVALID_ARG, "0 x 1 PNG");
    CHECK_ERR(cn_image_save_png("/nonexistent-dir/x.png", (unsigned char[4]){0}, 1, 1, 1), CN_STATUS_IO, "/nonexistent-dir/x.png");
    /* a constant stays constant; a 1-pixel checkerboard shrunk 4x averages to mid-gray */
    cn_image in = {0}, out = {0};
    in.w = 16, in.h = 16, in.c = 1;
    in.px = cn_malloc(256, "test");
    for (int i = 0; i < 256; i++) in.px[i] = 77;
    CHECK_OK(cn_image_resize(&out, &in, 5, 11));
    CHECK(out.w == 5 && out.h == 11 && out.c == 1);
    for (int i = 0; i < 55 && out.px; i++) CHECK_EQ_INT(out.px[i], 77);
    cn_image_free(&out);
    for (int i = 0; i < 256; i++) in.px[i] = ((i / 16 + i % 16) & 1) ? 255 : 0;
    CHECK_OK(cn_image_resize(&out, &in, 4, 4));
    for (int i = 0; i < 16 && out.px; i++) CHECK_MSG(abs(out.px[i] - 128) <= 8, "downscaled checkerboard pixel %d is %d", i, out.px[i]);
    cn_image_free(&out);
    CHECK_OK(cn_image_resize(&out, &in, 40, 40)); /* enlarging works too */
    CHECK(out.w == 40 && out.h == 40);
    cn_image_free(&out);
    CHECK_ERR(cn_image_resize(&out, &in, 0, 4), CN_STATUS_LIMIT, "0 x 4");
    cn_image_free(&in);
}

static void test_decode_errors(void)
{
    cn_image im = {0};
    CHECK_ERR(cn_image_load(&im, tmp_path("missing.png"), 0), CN_STATUS_IO, "missing.png");
    write_file(tmp_path("empty.png"), "", 0);
    CHECK_ERR(cn_image_load(&im, tmp_path("empty.png"), 0), CN_STATUS_FORMAT, "empty.png: empty file, expected an image");
    write_file(tmp_path("text.png"), "NOPE this is text", 17);
    CHECK_ERR(cn_image_load(&im, tmp_path("text.png"), 0), CN_STATUS_FORMAT,
              "text.png: not a recognised image: bytes 0-7 are 4e 4f 50 45 20 74 68 69; expected the signature of PNG");
    write_file(tmp_path("ascii.pgm"), "P2\n2 2\n255\n0 1 2 3\n", 19);
    CHECK_ERR(cn_image_load(&im, tmp_path("ascii.pgm"), 0), CN_STATUS_UNSUPPORTED, "ascii.pgm: ASCII PGM (P2) is not supported");
    CHECK_ERR(cn_image_probe(tmp_path("ascii.pgm"), &(int){0}, &(int){0}, &(int){0}), CN_STATUS_UNSUPPORTED, "P2");
    CHECK_ERR(cn_image_decode(&im, "x", 1, 7, "mem"), CN_STATUS_INVALID_ARG, "mem: 7 channels requested");

    size_t n = 0;
    unsigned char *png = read_file(fix("data/img_rgb.png"), &n);
    CHECK(png && n > 60);
    if (!png) return;
    /* truncated in the middle of the image data: the header is fine, the pixels are not */
    write_file(tmp_path("trunc.png"), png, n - 30);
    CHECK_ERR(cn_image_load(&im, tmp_path("trunc.png"), 0), CN_STATUS_FORMAT,
              "PNG data is corrupt or truncated after a valid 7 x 5 header");
    CHECK(strstr(cn_last_error(), "trunc.png") != NULL);
    /* truncated inside the header */
    write_file(tmp_path("trunc2.png"), png, 20);
    CHECK_ERR(cn_image_load(&im, tmp_path("trunc2.png"), 0), CN_STATUS_FORMAT, "trunc2.png (20 bytes): PNG header is corrupt or truncated");
    /* corrupt compressed data */
    unsigned char *bad = malloc(n);
    memcpy(bad, png, n);
    for (size_t k = 45; k < 60; k++) bad[k] ^= 0x5a;
    write_file(tmp_path("corrupt.png"), bad, n);
    cn_status st = cn_image_load(&im, tmp_path("corrupt.png"), 0);
    CHECK_MSG(st == CN_STATUS_FORMAT && strstr(cn_last_error(), "corrupt.png"), "corrupt PNG: %s %s", cn_status_name(st), cn_last_error());
    cn_image_free(&im);
    /* a header claiming 70000 x 5 pixels (IHDR width is bytes 16-19, big-endian) */
    memcpy(bad, png, n);
    bad[16] = 0, bad[17] = 0x01, bad[18] = 0x11, bad[19] = 0x70;
    write_file(tmp_path("wide.png"), bad, n);
    CHECK_ERR(cn_image_load(&im, tmp_path("wide.png"), 0), CN_STATUS_LIMIT, "wide.png: the header says 70000 x 5 pixels; each side must be in 1..65536");
    CHECK_ERR(cn_image_probe(tmp_path("wide.png"), &(int){0}, &(int){0}, &(int){0}), CN_STATUS_LIMIT, "70000 x 5");
    /* 60000 x 60000 is within the side limit but not within a small memory cap: refused before
     * anything is decoded or allocated */
    bad[16] = 0, bad[17] = 0, bad[18] = 0xea, bad[19] = 0x60;
    bad[20] = 0, bad[21] = 0, bad[22] = 0xea, bad[23] = 0x60;
    write_file(tmp_path("huge.png"), bad, n);
    uint64_t cap = cn_memory_limit();
    cn_set_memory_limit((uint64_t)1 << 30);
    CHECK_ERR(cn_image_load(&im, tmp_path("huge.png"), 0), CN_STATUS_LIMIT, "huge.png: the header says 60000 x 60000 pixels");
    CHECK(strstr(cn_last_error(), "over the memory cap") != NULL);
    cn_set_memory_limit(cap);
    /* the same for a BMP (its size is read by stb_image): 16000 x 16000 under a 256 MiB cap */
    unsigned char bmp[54 + 16] = {'B', 'M'};
    bmp[10] = 54, bmp[14] = 40;                             /* pixel offset, BITMAPINFOHEADER size */
    bmp[18] = 0x80, bmp[19] = 0x3e, bmp[22] = 0x80, bmp[23] = 0x3e; /* 16000 x 16000 */
    bmp[26] = 1, bmp[28] = 24;                              /* planes, bits per pixel */
    write_file(tmp_path("huge.bmp"), bmp, sizeof bmp);
    cn_set_memory_limit((uint64_t)1 << 28);
    CHECK_ERR(cn_image_load(&im, tmp_path("huge.bmp"), 0), CN_STATUS_LIMIT, "huge.bmp: the header says 16000 x 16000 pixels");
    cn_set_memory_limit(cap);
    /* a truncated BMP of a sane size: the data is missing */
    bmp[18] = 4, bmp[19] = 0, bmp[22] = 4, bmp[23] = 0;
    write_file(tmp_path("short.bmp"), bmp, sizeof bmp);
    CHECK_ERR(cn_image_load(&im, tmp_path("short.bmp"), 0), CN_STATUS_FORMAT,
              "short.bmp: BMP data is truncated: a 4 x 4 image needs 102 bytes, the file has 70");
    /* stb_image would read past the end of these as zeros: they are checked */
    static const struct {
        const char *fixture, *name, *msg;
    } cut[] = {{"data/img_rgb.ppm", "cut.ppm", "cut.ppm: PPM data is truncated: a 7 x 5 image needs 116 bytes, the file has 106"},
               {"data/img_gray.pgm", "cut.pgm", "cut.pgm: PGM data is truncated: a 7 x 5 image needs 46 bytes, the file has 36"},
               {"data/img_rgb.bmp", "cut.bmp", "cut.bmp: BMP data is truncated"},
               {"data/img_rgb.gif", "cut.gif", "cut.gif (251 bytes): GIF data ends without its trailer byte 3b (truncated)"}};
    for (int k = 0; k < 4; k++) {
        size_t m = 0;
        unsigned char *d = read_file(fix(cut[k].fixture), &m);
        if (!d) continue;
        write_file(tmp_path(cut[k].name), d, m - 10);
        CHECK_ERR(cn_image_load(&im, tmp_path(cut[k].name), 0), CN_STATUS_FORMAT, cut[k].msg);
        free(d);
    }
    free(bad);
    free(png);
    /* JPEG cut short inside its headers */
    unsigned char *jpg = read_file(fix("data/img_rgb.jpg"), &n);
    if (jpg) {
        write_file(tmp_path("trunc.jpg"), jpg, 100);
        st = cn_image_load(&im, tmp_path("trunc.jpg"), 0);
        CHECK_MSG(st == CN_STATUS_FORMAT && strstr(cn_last_error(), "trunc.jpg") && strstr(cn_last_error(), "JPEG"),
                  "truncated JPEG: %s %s", cn_status_name(st), cn_last_error());
        cn_image_free(&im);
        free(jpg);
    }
    /* outputs stay zeroed on failure */
    CHECK(im.px == NULL && im.w == 0);
}

/* TGA has no signature: its header sizes are checked against the data like the others. A
 * 3x2 raw 24-bit TGA decodes to its pixels; the same header with one byte missing, a
 * 17-byte header, and a 65535 x 255 header over 40 bytes of run-length data are refused. */
static void test_tga_sizes(void)
{
    unsigned char t[18 + 18];
    memset(t, 0, sizeof t);
    t[2] = 2, t[12] = 3, t[14] = 2, t[16] = 24, t[17] = 0x20; /* raw true colour, top-left origin */
    for (int i = 0; i < 18; i++) t[18 + i] = (unsigned char)(10 * i);
    cn_image im;
    CHECK_OK(cn_image_decode(&im, t, sizeof t, 0, "t.tga"));
    CHECK(im.w == 3 && im.h == 2 && im.c == 3);
    if (im.px) CHECK(im.px[0] == 20 && im.px[2] == 0 && im.px[5] == 30); /* stored BGR */
    cn_image_free(&im);
    CHECK(cn_image_decode(&im, t, sizeof t - 1, 0, "t.tga") == CN_STATUS_FORMAT);
    CHECK(strstr(cn_last_error(), "t.tga") && strstr(cn_last_error(), "truncated"));
    unsigned char rle[18 + 40];
    memset(rle, 0, sizeof rle);
    rle[2] = 10, rle[12] = 0xff, rle[13] = 0xff, rle[14] = 0xff, rle[16] = 24;
    CHECK(cn_image_decode(&im, rle, sizeof rle, 0, "rle.tga") == CN_STATUS_FORMAT);
    CHECK(im.px == NULL);
}

int main(void)
{
    /* files are written atomically (with fsync): tmpfs keeps that fast */
    snprintf(tmp_root, sizeof tmp_root, "%s/cn_test_image_%d", access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp", (int)getpid());
    char cmd[512];
    snprintf(cmd, sizeof cmd, "mkdir -p %s", tmp_root);
    if (system(cmd) != 0) return 1;
    RUN(test_decode_fixtures);
    RUN(test_tga_sizes);
    RUN(test_png_roundtrip_and_resize);
    RUN(test_decode_errors);
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp_root);
    if (system(cmd) != 0) return 1;
    return cn_test_finish();
}
