/* test_viz_image.c — image writing (PNG/BMP/TGA exact, JPEG close) read back by data.h's
 * decoder, PNG in memory, float planes to pixels, zoom, paste, grids and colour maps, the
 * bitmap font, base64 (RFC 4648 vectors) and the growable buffer. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "convnet/viz.h"
#include "test.h"
#include "viz/buf.h"

static char tmpdir[256];

static const char *tmp(const char *name)
{
    static char p[512];
    snprintf(p, sizeof p, "%s/%s", tmpdir, name);
    return p;
}

static void pattern(cn_image *im, int w, int h, int c)
{
    CHECK_OK(cn_image_alloc(im, w, h, c, 0));
    for (int i = 0; i < w * h * c; i++) im->px[i] = (unsigned char)((i * 37 + i / 7) & 255);
}

static void test_save_and_reload(void)
{
    const char *exts[] = {".png", ".bmp", ".tga", ".jpg"};
    for (int c = 1; c <= 4; c++)
        for (int e = 0; e < 4; e++) {
            if (e == 1 && (c == 2 || c == 4)) continue; /* stb's BMP writer drops alpha (writes 24-bit) */
            if (e == 3 && (c == 2 || c == 4)) continue; /* JPEG has no alpha */
            cn_image a = {0}, b = {0};
            pattern(&a, 13, 7, c);
            if (e == 3) /* JPEG is lossy: a smooth image, compared loosely */
                for (int i = 0; i < 13 * 7 * c; i++) a.px[i] = (unsigned char)(100 + (i / c) % 13 * 5);
            char name[32];
            snprintf(name, sizeof name, "img%d%s", c, exts[e]);
            CHECK_OK(cn_image_save(&a, tmp(name)));
            CHECK_OK(cn_image_load(&b, tmp(name), c));
            CHECK_MSG(b.w == 13 && b.h == 7 && b.c == c, "%s: %dx%dx%d", name, b.w, b.h, b.c);
            if (b.px && b.c == c) {
                int worst = 0;
                for (int i = 0; i < 13 * 7 * c; i++) worst = fmax(worst, abs((int)a.px[i] - b.px[i]));
                /* lossless formats exactly; JPEG at quality 95 on a smooth ramp within 8 levels */
                CHECK_MSG(worst <= (e == 3 ? 8 : 0), "%s: worst pixel difference %d", name, worst);
            }
            cn_image_free(&a), cn_image_free(&b);
        }
}

static void test_png_in_memory(void)
{
    cn_image a = {0}, b = {0};
    pattern(&a, 5, 9, 3);
    unsigned char *buf;
    size_t len;
    CHECK_OK(cn_image_encode_png(&a, &buf, &len));
    CHECK(len > 8 && !memcmp(buf, "\x89PNG\r\n\x1a\n", 8));
    CHECK_OK(cn_image_decode(&b, buf, len, 0, "mem"));
    CHECK(b.w == 5 && b.h == 9 && b.c == 3 && b.px && !memcmp(a.px, b.px, 5 * 9 * 3));
    cn_free(buf);
    cn_image_free(&a), cn_image_free(&b);
}

static void test_save_errors(void)
{
    cn_image a = {0};
    pattern(&a, 4, 4, 3);
    CHECK_ERR(cn_image_save(&a, tmp("x.gif")), CN_STATUS_INVALID_ARG, "cannot write images of type '.gif'");
    CHECK(access(tmp("x.gif"), F_OK) != 0);
    CHECK_ERR(cn_image_save(&a, tmp("noext")), CN_STATUS_INVALID_ARG, "(no extension)");
    CHECK_ERR(cn_image_save(&a, "/nonexistent-dir/x.png"), CN_STATUS_IO, "/nonexistent-dir/x.png");
    cn_image empty = {0};
    CHECK_ERR(cn_image_save(&empty, tmp("e.png")), CN_STATUS_INVALID_ARG, "no pixels");
    CHECK_ERR(cn_image_alloc(&a, 0, 4, 3, 0), CN_STATUS_LIMIT, "0 x 4 pixels");
    CHECK_ERR(cn_image_alloc(&a, 4, 4, 5, 0), CN_STATUS_INVALID_ARG, "5 channels");
    CHECK(a.px && a.w == 4); /* a failed alloc leaves the image as it was */
    cn_image_free(&a);
}

static void test_from_chw_zoom_paste(void)
{
    float x[2 * 2 * 3] = {0, 0.5f, 1, 2, -1, NAN, /* channel 0 */ 0.25f, 0.25f, 0.25f, 0.25f, 0.25f, 0.25f};
    cn_image im = {0};
    CHECK_OK(cn_image_from_chw(&im, x, 2, 2, 3, 0, 1));
    /* pixel p channel k at px[p*2 + k]: 0 -> 0, 0.5 -> 128 (127.5 rounds to even), 1 -> 255, 2 -> clamped, -1 -> 0, NaN
     * -> 0 */
    CHECK(im.px[0] == 0 && im.px[2] == 128 && im.px[4] == 255 && im.px[6] == 255 && im.px[8] == 0 && im.px[10] == 0);
    CHECK(im.px[1] == 64 && im.px[11] == 64);
    CHECK_OK(cn_image_from_chw(&im, x, 1, 2, 3, 5, 5)); /* hi <= lo: mid-gray */
    CHECK(im.px[0] == 128);
    cn_image big = {0};
    CHECK_OK(cn_image_from_chw(&im, x, 1, 2, 3, 0, 1));
    CHECK_OK(cn_image_zoom(&big, &im, 3));
    CHECK(big.w == 9 && big.h == 6 && big.c == 1);
    for (int y = 0; y < 6; y++)
        for (int xx = 0; xx < 9; xx++) CHECK(big.px[y * 9 + xx] == im.px[(y / 3) * 3 + xx / 3]);
    CHECK_ERR(cn_image_zoom(&big, &im, 0), CN_STATUS_INVALID_ARG, "factor 0");
    /* paste gray into RGB at (-1, 1): clipped, replicated into 3 channels */
    cn_image dst = {0};
    CHECK_OK(cn_image_alloc(&dst, 4, 4, 3, 7));
    cn_image_paste(&dst, &big, -1, 1);
    CHECK(dst.px[0] == 7);                                   /* row 0 untouched */
    CHECK(dst.px[(1 * 4 + 0) * 3 + 1] == big.px[0 * 9 + 1]); /* dst (0,1) <- src (1,0) */
    CHECK(dst.px[(3 * 4 + 3) * 3 + 2] == big.px[2 * 9 + 4]); /* dst (3,3) <- src (4,2) */
    cn_image_free(&im), cn_image_free(&big), cn_image_free(&dst);
}

static void test_colormaps(void)
{
    unsigned char c[3];
    cn_colormap_rgb(CN_CMAP_GRAY, 0, c);
    CHECK(c[0] == 0 && c[1] == 0 && c[2] == 0);
    cn_colormap_rgb(CN_CMAP_GRAY, 1, c);
    CHECK(c[0] == 255 && c[2] == 255);
    cn_colormap_rgb(CN_CMAP_GRAY, 2, c); /* clamped */
    CHECK(c[0] == 255);
    cn_colormap_rgb(CN_CMAP_DIVERGING, 0.5, c); /* the middle is (near) white: 0 of a signed map */
    CHECK(c[0] > 240 && c[1] > 240 && c[2] > 240);
    cn_colormap_rgb(CN_CMAP_DIVERGING, 0, c);
    CHECK(c[2] > c[0]); /* negative end blue */
    cn_colormap_rgb(CN_CMAP_DIVERGING, 1, c);
    CHECK(c[0] > c[2]); /* positive end red */
    cn_colormap_rgb(CN_CMAP_HEAT, 0, c);
    CHECK(c[0] == 0 && c[1] == 0 && c[2] == 0);
    cn_colormap_rgb(CN_CMAP_VIRIDIS, NAN, c);
    CHECK(c[0] == 128);
    /* viridis: luminance rises monotonically */
    double prev = -1;
    for (int i = 0; i <= 20; i++) {
        cn_colormap_rgb(CN_CMAP_VIRIDIS, i / 20.0, c);
        double l = 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2];
        CHECK_MSG(l > prev, "viridis luminance at %d/20: %g after %g", i, l, prev);
        prev = l;
    }
    cn_colormap cm;
    CHECK_OK(cn_colormap_parse(&cm, "heat"));
    CHECK(cm == CN_CMAP_HEAT);
    CHECK_ERR(cn_colormap_parse(&cm, "jet"), CN_STATUS_INVALID_ARG, "unknown colour map 'jet'");
}

static void test_grid(void)
{
    /* 5 tiles of 2x3: tile t holds t*10 + i, except tile 4: constant */
    float t[5 * 6];
    for (int k = 0; k < 5; k++)
        for (int i = 0; i < 6; i++) t[k * 6 + i] = k == 4 ? 3.0f : (float)(k * 10 + i);
    cn_grid_config g = cn_grid_defaults();
    g.zoom = 2, g.gap = 1, g.cols = 3;
    cn_image im = {0};
    CHECK_OK(cn_grid(&im, t, 5, 1, 2, 3, &g));
    /* 3 columns x 2 rows of (3*2) x (2*2) tiles with 1-pixel gaps */
    CHECK_EQ_INT(im.w, 3 * 6 + 4);
    CHECK_EQ_INT(im.h, 2 * 4 + 3);
    CHECK_EQ_INT(im.c, 3);
    /* per-tile scale: every tile's first value is black, its last white */
    for (int k = 0; k < 4 && im.px; k++) {
        int x0 = 1 + (k % 3) * 7, y0 = 1 + (k / 3) * 5;
        CHECK_MSG(im.px[(y0 * im.w + x0) * 3] == 0, "tile %d first value not black", k);
        CHECK_MSG(im.px[((y0 + 3) * im.w + x0 + 5) * 3] == 255, "tile %d last value not white", k);
    }
    /* a constant tile is the low end (black); gaps are the background (white) */
    if (im.px) {
        CHECK(im.px[((1 + 5) * im.w + 1 + 7) * 3] == 0);
        CHECK(im.px[0] == 255 && im.px[(7 * im.w + 7) * 3] == 255);
    }
    /* one scale for all: tile 0 (0..5 of 0..35) is dark everywhere */
    g.scale = CN_GRID_SCALE_ALL;
    CHECK_OK(cn_grid(&im, t, 5, 1, 2, 3, &g));
    if (im.px) CHECK(im.px[((1 + 3) * im.w + 1 + 5) * 3] == (unsigned char)lrint(5.0 / 35 * 255));
    /* symmetric on a diverging map: 0 is white-ish, the largest |v| a saturated end */
    float s[4] = {-2, 0, 1, 2};
    g = cn_grid_defaults();
    g.zoom = 1, g.gap = 0, g.scale = CN_GRID_SCALE_SYMMETRIC, g.cmap = CN_CMAP_DIVERGING;
    CHECK_OK(cn_grid(&im, s, 1, 1, 1, 4, &g));
    unsigned char lo[3], mid[3], hi[3];
    cn_colormap_rgb(CN_CMAP_DIVERGING, 0, lo);
    cn_colormap_rgb(CN_CMAP_DIVERGING, 0.5, mid);
    cn_colormap_rgb(CN_CMAP_DIVERGING, 1, hi);
    if (im.px) CHECK(!memcmp(im.px, lo, 3) && !memcmp(im.px + 3, mid, 3) && !memcmp(im.px + 9, hi, 3));
    /* RGB tiles: channels kept apart, scaled jointly */
    float rgb[3] = {0, 1, 0.5f};
    CHECK_OK(cn_grid(&im, rgb, 1, 3, 1, 1, &(cn_grid_config){.zoom = 1, .gap = 0, .scale = CN_GRID_SCALE_TILE}));
    if (im.px) CHECK(im.px[0] == 0 && im.px[1] == 255 && im.px[2] == 128);
    /* auto zoom: small tiles grow to at least 48 px */
    CHECK_OK(cn_grid(&im, t, 4, 1, 2, 3, NULL));
    CHECK(im.w >= 2 * 48);
    CHECK_ERR(cn_grid(&im, t, 0, 1, 2, 3, NULL), CN_STATUS_SHAPE, "0 tiles");
    CHECK_ERR(cn_grid(&im, t, 2, 2, 2, 3, NULL), CN_STATUS_SHAPE, "1 or 3 channels");
    CHECK_ERR(cn_grid(&im, t, 1000, 1, 1000, 1000, &(cn_grid_config){.zoom = 1}), CN_STATUS_LIMIT, "max side");
    cn_image_free(&im);
}

static void test_text(void)
{
    cn_image im = {0};
    CHECK_OK(cn_image_alloc(&im, 40, 12, 3, 255));
    const unsigned char ink[3] = {0, 0, 255};
    CHECK_EQ_INT(cn_image_text_width("AB", 1), 11);
    CHECK_EQ_INT(cn_image_text_width("AB", 2), 22);
    CHECK_EQ_INT(cn_image_text_width("", 2), 0);
    cn_image_text(&im, 1, 1, "I", 1, ink);
    /* 'I' is ".###." on top: pixels (2..4, 1) inked, (1, 1) not */
    CHECK(im.px[(1 * 40 + 2) * 3 + 2] == 255 && im.px[(1 * 40 + 2) * 3] == 0);
    CHECK(im.px[(1 * 40 + 1) * 3] == 255);
    /* lower case is drawn as upper case; clipped text does not crash */
    cn_image a = {0}, b = {0};
    CHECK_OK(cn_image_alloc(&a, 40, 12, 1, 0));
    CHECK_OK(cn_image_alloc(&b, 40, 12, 1, 0));
    const unsigned char w[3] = {255, 255, 255};
    cn_image_text(&a, 0, 0, "loss", 1, w);
    cn_image_text(&b, 0, 0, "LOSS", 1, w);
    CHECK(!memcmp(a.px, b.px, 40 * 12));
    int inked = 0;
    for (int i = 0; i < 40 * 12; i++) inked += a.px[i] != 0;
    CHECK(inked > 20);
    cn_image_text(&a, 35, 8, "CLIPPED", 3, w);
    cn_image_text(&a, -100, -100, "X", 1, w);
    cn_image_free(&im), cn_image_free(&a), cn_image_free(&b);
}

static void test_buffer_and_base64(void)
{
    const char *in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    const char *out[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    for (int i = 0; i < 7; i++) {
        vbuf b;
        vbuf_init(&b);
        vbuf_base64(&b, (const unsigned char *)in[i], strlen(in[i]));
        char *s = vbuf_take(&b);
        CHECK_MSG(s && !strcmp(s, out[i]), "base64(\"%s\") = \"%s\", expected \"%s\"", in[i], s ? s : "(null)", out[i]);
        cn_free(s);
    }
    vbuf b;
    vbuf_init(&b);
    vbuf_escape(&b, "<a href=\"x\">&</a>");
    for (int i = 0; i < 3000; i++) vbuf_printf(&b, "%d,", i); /* grows past the first block */
    CHECK_OK(vbuf_status(&b));
    CHECK(!strncmp(b.data, "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;0,1,2,", 49));
    CHECK(strstr(b.data, ",2999,") != NULL);
    CHECK_OK(vbuf_save(&b, tmp("buf.txt")));
    vbuf_free(&b);
    FILE *f = fopen(tmp("buf.txt"), "rb");
    CHECK(f != NULL);
    if (f) {
        char head[8] = {0};
        CHECK(fread(head, 1, 7, f) == 7 && !strcmp(head, "&lt;a h"));
        fclose(f);
    }
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/cn_test_viz_image_%d", (int)getpid());
    char cmd[400];
    snprintf(cmd, sizeof cmd, "mkdir -p %s", tmpdir);
    if (system(cmd) != 0) return 1;
    RUN(test_save_and_reload);
    RUN(test_png_in_memory);
    RUN(test_save_errors);
    RUN(test_from_chw_zoom_paste);
    RUN(test_colormaps);
    RUN(test_grid);
    RUN(test_text);
    RUN(test_buffer_and_base64);
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0) return 1;
    return cn_test_finish();
}
