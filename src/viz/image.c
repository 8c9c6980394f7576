/* image.c — more on data.h's cn_image: writing by extension and in memory (stb_image_write,
 * from Debian's libstb, linked — see cmake/data.cmake), float planes to pixels, zooming,
 * pasting. Decoding, resizing and channel conversion live in src/data/image.c. */
#include <math.h>
#include <string.h>
#include <strings.h>

#include <stb_image_write.h>

#include "convnet/viz.h"
#include "viz/buf.h"

static cn_status check_dims(int w, int h, int c, const char *what)
{
    if (w < 1 || h < 1 || w > CN_IMAGE_MAX_SIDE || h > CN_IMAGE_MAX_SIDE)
        return cn_set_error(CN_STATUS_LIMIT, "%s: %d x %d pixels; each side must be in 1..%d", what, w, h,
                            CN_IMAGE_MAX_SIDE);
    if (c < 1 || c > 4) return cn_set_error(CN_STATUS_INVALID_ARG, "%s: %d channels; expected 1..4", what, c);
    uint64_t n;
    cn_status st = cn_mul_size((uint64_t)w * (uint64_t)h, (uint64_t)c, &n, what);
    if (st == CN_OK && n > cn_memory_limit())
        st = cn_set_error(CN_STATUS_LIMIT, "%s: %d x %d x %d bytes exceed the memory cap", what, w, h, c);
    return st;
}

cn_status cn_image_alloc(cn_image *im, int w, int h, int c, unsigned char fill)
{
    cn_status st = check_dims(w, h, c, "image");
    if (st != CN_OK) return st;
    size_t n = (size_t)w * (size_t)h * (size_t)c;
    unsigned char *px = cn_malloc(n, "image pixels");
    if (!px) return CN_STATUS_NOMEM;
    memset(px, fill, n);
    cn_image_free(im);
    im->px = px, im->w = w, im->h = h, im->c = c;
    return CN_OK;
}

static void to_vbuf(void *ctx, void *data, int size) { vbuf_put(ctx, data, (size_t)size); }

static const char *ext_of(const char *path)
{
    const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');
    return dot && (!slash || dot > slash) ? dot : "";
}

static cn_status encode(const cn_image *im, const char *kind, vbuf *b, const char *name)
{
    if (!im->px) return cn_set_error(CN_STATUS_INVALID_ARG, "%s: the image has no pixels", name);
    cn_status st = check_dims(im->w, im->h, im->c, name);
    if (st != CN_OK) return st;
    if ((int64_t)im->w * im->c > 2147483647LL)
        return cn_set_error(CN_STATUS_LIMIT, "%s: rows too long to encode", name);
    int ok;
    if (!strcasecmp(kind, ".png"))
        ok = stbi_write_png_to_func(to_vbuf, b, im->w, im->h, im->c, im->px, im->w * im->c);
    else if (!strcasecmp(kind, ".bmp"))
        ok = stbi_write_bmp_to_func(to_vbuf, b, im->w, im->h, im->c, im->px);
    else if (!strcasecmp(kind, ".tga"))
        ok = stbi_write_tga_to_func(to_vbuf, b, im->w, im->h, im->c, im->px);
    else if (!strcasecmp(kind, ".jpg") || !strcasecmp(kind, ".jpeg"))
        ok = stbi_write_jpg_to_func(to_vbuf, b, im->w, im->h, im->c, im->px, 95);
    else
        return cn_set_error(CN_STATUS_INVALID_ARG, "%s: cannot write images of type '%s'; use .png, .jpg, .bmp or .tga",
                            name, *kind ? kind : "(no extension)");
    if (vbuf_status(b) != CN_OK) return vbuf_status(b);
    if (!ok) return cn_set_error(CN_STATUS_INTERNAL, "%s: stb_image_write failed", name);
    return CN_OK;
}

cn_status cn_image_save(const cn_image *im, const char *path)
{
    vbuf b;
    vbuf_init(&b);
    cn_status st = encode(im, ext_of(path), &b, path);
    if (st == CN_OK) st = vbuf_save(&b, path);
    vbuf_free(&b);
    return st;
}

cn_status cn_image_encode_png(const cn_image *im, unsigned char **buf, size_t *len)
{
    vbuf b;
    vbuf_init(&b);
    *buf = NULL, *len = 0;
    cn_status st = encode(im, ".png", &b, "image");
    if (st == CN_OK) {
        *len = b.len;
        if (!(*buf = (unsigned char *)vbuf_take(&b))) st = CN_STATUS_NOMEM;
    }
    vbuf_free(&b);
    return st;
}

cn_status cn_image_from_chw(cn_image *im, const float *x, int c, int h, int w, float lo, float hi)
{
    cn_status st = cn_image_alloc(im, w, h, c, 0);
    if (st != CN_OK) return st;
    double scale = hi > lo ? 255.0 / ((double)hi - lo) : 0.0;
    size_t plane = (size_t)w * (size_t)h;
    for (int k = 0; k < c; k++)
        for (size_t p = 0; p < plane; p++) {
            double v = scale ? ((double)x[k * plane + p] - lo) * scale : 127.5;
            if (!(v > 0)) v = 0; /* NaN -> 0 */
            if (v > 255) v = 255;
            im->px[p * (size_t)c + (size_t)k] = (unsigned char)lrint(v);
        }
    return CN_OK;
}

cn_status cn_image_zoom(cn_image *out, const cn_image *in, int factor)
{
    if (factor < 1 || factor > 256)
        return cn_set_error(CN_STATUS_INVALID_ARG, "zoom: factor %d is not in 1..256", factor);
    if ((int64_t)in->w * factor > CN_IMAGE_MAX_SIDE || (int64_t)in->h * factor > CN_IMAGE_MAX_SIDE)
        return cn_set_error(CN_STATUS_LIMIT, "zoom: %d x %d times %d is larger than %d pixels a side", in->w, in->h,
                            factor, CN_IMAGE_MAX_SIDE);
    cn_image r = {0};
    cn_status st = cn_image_alloc(&r, in->w * factor, in->h * factor, in->c, 0);
    if (st != CN_OK) return st;
    for (int y = 0; y < r.h; y++)
        for (int x = 0; x < r.w; x++)
            memcpy(r.px + ((size_t)y * (size_t)r.w + (size_t)x) * (size_t)r.c,
                   in->px + ((size_t)(y / factor) * (size_t)in->w + (size_t)(x / factor)) * (size_t)in->c,
                   (size_t)in->c);
    cn_image_free(out);
    *out = r;
    return CN_OK;
}

/* one pixel between channel counts, by cn_image_convert's rules (its luma) */
static void convert_px(unsigned char *d, int dc, const unsigned char *s, int sc)
{
    unsigned char g = sc >= 3 ? (unsigned char)((s[0] * 77 + s[1] * 150 + s[2] * 29) >> 8) : s[0];
    unsigned char a = sc == 2 ? s[1] : sc == 4 ? s[3] : 255;
    switch (dc) {
    case 1: d[0] = g; break;
    case 2: d[0] = g, d[1] = a; break;
    default:
        if (sc >= 3)
            d[0] = s[0], d[1] = s[1], d[2] = s[2];
        else
            d[0] = d[1] = d[2] = s[0];
        if (dc == 4) d[3] = a;
    }
}

void cn_image_paste(cn_image *dst, const cn_image *src, int x, int y)
{
    for (int sy = 0; sy < src->h; sy++) {
        int dy = y + sy;
        if (dy < 0 || dy >= dst->h) continue;
        for (int sx = 0; sx < src->w; sx++) {
            int dx = x + sx;
            if (dx < 0 || dx >= dst->w) continue;
            convert_px(dst->px + ((size_t)dy * (size_t)dst->w + (size_t)dx) * (size_t)dst->c, dst->c,
                       src->px + ((size_t)sy * (size_t)src->w + (size_t)sx) * (size_t)src->c, src->c);
        }
    }
}
