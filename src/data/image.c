/* image.c — image files: decoding with stb_image, resizing with stb_image_resize and PNG
 * writing with stb_image_write, all from Debian's libstb (linked, see cmake/data.cmake; the
 * headers are included without any STB_*_IMPLEMENTATION). stb allocates with malloc; its
 * results are copied into cn_malloc'd buffers so callers free everything with cn_free. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stb_image.h>
#include <stb_image_resize.h>
#include <stb_image_write.h>

#include "convnet/data.h"
#include "io/file.h"

/* The format a buffer's leading bytes announce, or NULL. */
static const char *sniff(const unsigned char *b, size_t n)
{
    if (n >= 8 && !memcmp(b, "\x89PNG\r\n\x1a\n", 8)) return "PNG";
    if (n >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF) return "JPEG";
    if (n >= 2 && b[0] == 'B' && b[1] == 'M') return "BMP";
    if (n >= 4 && !memcmp(b, "GIF8", 4)) return "GIF";
    if (n >= 2 && b[0] == 'P' && (b[1] == '5' || b[1] == '6')) return b[1] == '5' ? "PGM" : "PPM";
    if (n >= 2 && b[0] == 'P' && (b[1] == '2' || b[1] == '3')) return b[1] == '2' ? "ASCII PGM" : "ASCII PPM";
    if (n >= 4 && !memcmp(b, "8BPS", 4)) return "PSD";
    if (n >= 2 && b[0] == '#' && b[1] == '?') return "HDR";
    if (n >= 4 && !memcmp(b, "\x53\x80\xf6\x34", 4)) return "PIC";
    return NULL;
}

static cn_status not_an_image(const unsigned char *b, size_t n, const char *name)
{
    char hex[3 * 8 + 1] = "";
    size_t k = n < 8 ? n : 8;
    for (size_t i = 0; i < k; i++) snprintf(hex + 3 * i, sizeof hex - 3 * i, "%02x%s", b[i], i + 1 < k ? " " : "");
    if (!n) return cn_set_error(CN_STATUS_FORMAT, "%s: empty file, expected an image", name);
    return cn_set_error(CN_STATUS_FORMAT,
                        "%s: not a recognised image: bytes 0-%zu are %s; expected the signature of PNG (89 50 4e 47), "
                        "JPEG (ff d8 ff), BMP ('BM'), GIF ('GIF8'), binary PGM/PPM ('P5'/'P6'), PSD, HDR or a TGA header",
                        name, k - 1, hex);
}

/* Check a decoded size against the limits; w, h, c come from a header. */
static cn_status check_size(int w, int h, int c, const char *name)
{
    if (w < 1 || h < 1 || w > CN_IMAGE_MAX_SIDE || h > CN_IMAGE_MAX_SIDE)
        return cn_set_error(CN_STATUS_LIMIT, "%s: the header says %d x %d pixels; each side must be in 1..%d", name, w, h,
                            CN_IMAGE_MAX_SIDE);
    uint64_t bytes = (uint64_t)w * (uint64_t)h * (uint64_t)(c < 4 ? 4 : c);
    if (bytes > cn_memory_limit())
        return cn_set_error(CN_STATUS_LIMIT, "%s: the header says %d x %d pixels (%llu bytes decoded), over the memory cap of %llu bytes",
                            name, w, h, (unsigned long long)bytes, (unsigned long long)cn_memory_limit());
    return CN_OK;
}

/* A PNG's size is in its first chunk (IHDR, bytes 16-23): check it here, because stb_image
 * refuses large images without saying why. */
static cn_status png_header_size(const unsigned char *b, const char *name)
{
    uint32_t w = (uint32_t)b[16] << 24 | (uint32_t)b[17] << 16 | (uint32_t)b[18] << 8 | b[19];
    uint32_t h = (uint32_t)b[20] << 24 | (uint32_t)b[21] << 16 | (uint32_t)b[22] << 8 | b[23];
    if (memcmp(b + 12, "IHDR", 4)) return CN_OK; /* stb_image reports it */
    if (w > 0x7fffffffu || h > 0x7fffffffu)
        return cn_set_error(CN_STATUS_LIMIT, "%s: the header says %u x %u pixels; each side must be in 1..%d", name, w, h, CN_IMAGE_MAX_SIDE);
    return check_size((int)w, (int)h, 4, name);
}

/* stb_image reads past the end of BMP, PGM/PPM and GIF data as zeros instead of failing:
 * check that those files are long enough for what their headers describe. */
static uint32_t le32(const unsigned char *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }

static cn_status check_complete(const unsigned char *b, size_t len, const char *fmt, int w, int h, const char *name)
{
    uint64_t need = 0;
    if (!strcmp(fmt, "BMP") && len >= 34) {
        uint32_t offset = le32(b + 10), compression = le32(b + 30);
        unsigned bpp = (unsigned)b[28] | (unsigned)b[29] << 8;
        if (le32(b + 14) < 40 || (compression != 0 && compression != 3)) return CN_OK; /* old or RLE: no fixed size */
        need = offset + (((uint64_t)w * bpp + 31) / 32) * 4 * (uint64_t)h;
    } else if (!strcmp(fmt, "PGM") || !strcmp(fmt, "PPM")) {
        /* P5|P6, then width, height and maxval as text separated by white space and comments,
         * then one white space character and the samples */
        size_t pos = 2;
        unsigned long v[3] = {0, 0, 0};
        for (int k = 0; k < 3; k++) {
            for (;;) {
                while (pos < len && (b[pos] == ' ' || b[pos] == '\t' || b[pos] == '\n' || b[pos] == '\r')) pos++;
                if (pos < len && b[pos] == '#')
                    while (pos < len && b[pos] != '\n') pos++;
                else break;
            }
            while (pos < len && b[pos] >= '0' && b[pos] <= '9' && v[k] < 100000000) v[k] = v[k] * 10 + (unsigned long)(b[pos++] - '0');
        }
        pos++;
        need = pos + (uint64_t)w * (uint64_t)h * (fmt[1] == 'P' ? 3u : 1u) * (v[2] > 255 ? 2u : 1u);
    } else if (!strcmp(fmt, "GIF")) {
        if (len && b[len - 1] != 0x3B)
            return cn_set_error(CN_STATUS_FORMAT, "%s (%zu bytes): GIF data ends without its trailer byte 3b (truncated)", name, len);
        return CN_OK;
    } else if (!strcmp(fmt, "TGA")) {
        /* 18-byte header: id length, colour-map type, image type (1-3 raw, 9-11 run-length),
         * colour map (first entry, count, entry bits), origin, width, height, bits per pixel */
        if (len < 18) return cn_set_error(CN_STATUS_FORMAT, "%s (%zu bytes): TGA header is truncated (18 bytes needed)", name, len);
        unsigned type = b[2], bpp = b[16], map_bits = b[7];
        uint64_t map = b[1] ? ((uint64_t)b[5] | (uint64_t)b[6] << 8) * ((map_bits + 7) / 8) : 0;
        uint64_t px = (uint64_t)w * (uint64_t)h, bytes = (bpp + 7) / 8 ? (bpp + 7) / 8 : 1;
        need = 18 + (uint64_t)b[0] + map;
        /* run-length packets hold at most 128 pixels: one count byte and one pixel value each */
        need += type >= 9 ? (px + 127) / 128 * (1 + bytes) : px * bytes;
    } else return CN_OK;
    if ((uint64_t)len < need)
        return cn_set_error(CN_STATUS_FORMAT, "%s: %s data is truncated: a %d x %d image needs %llu bytes, the file has %zu", name, fmt, w,
                            h, (unsigned long long)need, len);
    return CN_OK;
}

static void zero(cn_image *im) { memset(im, 0, sizeof *im); }

cn_status cn_image_decode(cn_image *out, const void *buf, size_t len, int channels, const char *name)
{
    zero(out);
    if (!name) name = "image";
    if (channels < 0 || channels > 4)
        return cn_set_error(CN_STATUS_INVALID_ARG, "%s: %d channels requested; expected 0 (as stored) or 1..4", name, channels);
    const unsigned char *b = buf;
    const char *fmt = sniff(b, len);
    if (len > (size_t)0x7fffffff)
        return cn_set_error(CN_STATUS_LIMIT, "%s: %zu bytes; images larger than 2 GiB are not supported", name, len);
    if (fmt && !strncmp(fmt, "ASCII", 5))
        return cn_set_error(CN_STATUS_UNSUPPORTED, "%s: %s (P%c) is not supported; convert it to binary P%c (e.g. pnmtopnm)", name,
                            fmt, b[1], b[1] + 3);
    int w = 0, h = 0, c = 0;
    cn_status st;
    if (fmt && !strcmp(fmt, "PNG") && len >= 24 && (st = png_header_size(b, name)) != CN_OK) return st;
    if (!stbi_info_from_memory(b, (int)len, &w, &h, &c)) {
        if (!fmt) return not_an_image(b, len, name);
        return cn_set_error(CN_STATUS_FORMAT, "%s (%zu bytes): %s header is corrupt or truncated, or describes an image over 1 GiB "
                            "(stb_image: %s)", name, len, fmt, stbi_failure_reason());
    }
    if ((st = check_size(w, h, channels ? channels : c, name)) != CN_OK) return st;
    if (!fmt) fmt = "TGA"; /* the one format stb_image reads that has no signature */
    if ((st = check_complete(b, len, fmt, w, h, name)) != CN_OK) return st;
    int ww, hh, cc;
    unsigned char *px = stbi_load_from_memory(b, (int)len, &ww, &hh, &cc, channels);
    if (!px) {
        const char *why = stbi_failure_reason();
        if (why && !strcmp(why, "outofmem"))
            return cn_set_error(CN_STATUS_NOMEM, "%s: out of memory decoding a %d x %d %s image", name, w, h, fmt ? fmt : "");
        return cn_set_error(CN_STATUS_FORMAT, "%s (%zu bytes): %s data is corrupt or truncated after a valid %d x %d header (stb_image: %s)",
                            name, len, fmt ? fmt : "image", w, h, why ? why : "unknown");
    }
    int oc = channels ? channels : cc;
    size_t bytes = (size_t)ww * (size_t)hh * (size_t)oc;
    out->px = cn_malloc(bytes, name);
    if (!out->px) {
        stbi_image_free(px);
        return CN_STATUS_NOMEM;
    }
    memcpy(out->px, px, bytes);
    stbi_image_free(px);
    out->w = ww, out->h = hh, out->c = oc;
    return CN_OK;
}

cn_status cn_image_load(cn_image *out, const char *path, int channels)
{
    zero(out);
    unsigned char *buf = NULL;
    size_t len = 0;
    cn_status st = cn_file_read_all(path, &buf, &len);
    if (st != CN_OK) return st;
    st = cn_image_decode(out, buf, len, channels, path);
    cn_free(buf);
    return st;
}

cn_status cn_image_probe(const char *path, int *w, int *h, int *c)
{
    *w = *h = *c = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return cn_set_error(CN_STATUS_IO, "%s: cannot open: %s", path, strerror(errno));
    unsigned char head[16];
    size_t n = fread(head, 1, sizeof head, f);
    rewind(f);
    cn_status st = CN_OK;
    const char *fmt = sniff(head, n);
    if (!stbi_info_from_file(f, w, h, c)) {
        if (!fmt) st = not_an_image(head, n, path);
        else if (!strncmp(fmt, "ASCII", 5))
            st = cn_set_error(CN_STATUS_UNSUPPORTED, "%s: %s (P%c) is not supported; convert it to binary P%c", path, fmt, head[1],
                              head[1] + 3);
        else st = cn_set_error(CN_STATUS_FORMAT, "%s: %s header is corrupt or truncated (stb_image: %s)", path, fmt, stbi_failure_reason());
    } else st = check_size(*w, *h, *c, path);
    fclose(f);
    if (st != CN_OK) *w = *h = *c = 0;
    return st;
}

void cn_image_free(cn_image *im)
{
    if (!im) return;
    cn_free(im->px);
    zero(im);
}

cn_status cn_image_resize(cn_image *out, const cn_image *in, int w, int h)
{
    zero(out);
    cn_status st = check_size(w, h, in->c, "resize");
    if (st != CN_OK) return st;
    out->px = cn_malloc((size_t)w * (size_t)h * (size_t)in->c, "resized image");
    if (!out->px) return CN_STATUS_NOMEM;
    if (w == in->w && h == in->h) memcpy(out->px, in->px, (size_t)w * (size_t)h * (size_t)in->c);
    else if (!stbir_resize_uint8(in->px, in->w, in->h, 0, out->px, w, h, 0, in->c)) {
        cn_free(out->px);
        out->px = NULL;
        return cn_set_error(CN_STATUS_NOMEM, "resize %dx%d -> %dx%d: stb_image_resize failed (out of memory)", in->w, in->h, w, h);
    }
    out->w = w, out->h = h, out->c = in->c;
    return CN_OK;
}

/* the luma stb_image uses when it converts to gray, so both paths agree */
static unsigned char luma(const unsigned char *p) { return (unsigned char)((p[0] * 77 + p[1] * 150 + p[2] * 29) >> 8); }

cn_status cn_image_convert(cn_image *out, const cn_image *in, int channels)
{
    zero(out);
    if (channels < 1 || channels > 4)
        return cn_set_error(CN_STATUS_INVALID_ARG, "convert: %d channels requested; expected 1..4", channels);
    size_t n = (size_t)in->w * (size_t)in->h;
    out->px = cn_malloc(n * (size_t)channels, "converted image");
    if (!out->px) return CN_STATUS_NOMEM;
    int ic = in->c, oc = channels;
    for (size_t i = 0; i < n; i++) {
        const unsigned char *s = in->px + i * (size_t)ic;
        unsigned char *d = out->px + i * (size_t)oc;
        unsigned char g = ic >= 3 ? luma(s) : s[0];
        unsigned char a = ic == 2 ? s[1] : ic == 4 ? s[3] : 255;
        switch (oc) {
        case 1: d[0] = g; break;
        case 2: d[0] = g, d[1] = a; break;
        default:
            if (ic >= 3) d[0] = s[0], d[1] = s[1], d[2] = s[2];
            else d[0] = d[1] = d[2] = s[0];
            if (oc == 4) d[3] = a;
        }
    }
    out->w = in->w, out->h = in->h, out->c = oc;
    return CN_OK;
}

void cn_image_to_chw(float *chw, const cn_image *im)
{
    size_t n = (size_t)im->w * (size_t)im->h;
    for (int c = 0; c < im->c; c++)
        for (size_t i = 0; i < n; i++) chw[(size_t)c * n + i] = (float)im->px[i * (size_t)im->c + (size_t)c] * (1.0f / 255.0f);
}

/* stbi_write_png_to_func hands the encoded bytes over in pieces: gather them */
typedef struct {
    unsigned char *p;
    size_t n, cap;
    int failed;
} membuf;

static void gather(void *ctx, void *data, int size)
{
    membuf *m = ctx;
    if (m->failed || size <= 0) return;
    if (m->n + (size_t)size > m->cap) {
        size_t cap = (m->n + (size_t)size) * 2;
        unsigned char *q = cn_malloc(cap, "PNG encoding");
        if (!q) {
            m->failed = 1;
            return;
        }
        if (m->n) memcpy(q, m->p, m->n);
        cn_free(m->p);
        m->p = q, m->cap = cap;
    }
    memcpy(m->p + m->n, data, (size_t)size);
    m->n += (size_t)size;
}

cn_status cn_image_save_png(const char *path, const unsigned char *px, int w, int h, int c)
{
    if (w < 1 || h < 1 || c < 1 || c > 4 || (uint64_t)w * (uint64_t)c > 0x7fffffff || w > CN_IMAGE_MAX_SIDE || h > CN_IMAGE_MAX_SIDE)
        return cn_set_error(CN_STATUS_INVALID_ARG, "%s: cannot write a %d x %d PNG with %d channels", path, w, h, c);
    membuf m = {0};
    if (!stbi_write_png_to_func(gather, &m, w, h, c, px, w * c) || m.failed) {
        cn_free(m.p);
        return cn_set_error(CN_STATUS_NOMEM, "%s: out of memory encoding a %d x %d PNG", path, w, h);
    }
    cn_atomic_file af;
    cn_status st = cn_atomic_open(&af, path);
    if (st == CN_OK) {
        st = cn_atomic_write(&af, m.p, m.n);
        if (st == CN_OK) st = cn_atomic_commit(&af);
        else cn_atomic_abort(&af);
    }
    cn_free(m.p);
    return st;
}
