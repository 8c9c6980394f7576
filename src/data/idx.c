/* idx.c — IDX files (MNIST, Fashion-MNIST), plain or gzip-compressed.
 *
 * Layout: bytes 0-1 are 0, byte 2 the type code, byte 3 the dimension count n, then n
 * big-endian uint32 dimensions, then the values, big-endian, C order.
 *
 * Reading is streaming: a source delivers the (decompressed) bytes in order, the header is
 * parsed and every size checked before anything is allocated, then the values are converted
 * chunk by chunk straight into the output arrays. A gzip stream is inflated by zlib into a
 * buffer of the size the header describes and never beyond it; data past that size, a
 * missing trailer (which holds the CRC zlib verifies) or a corrupt stream are errors. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "convnet/data.h"

#define CHUNK 65536
/* deflate cannot expand more than 1032:1 (258-byte matches coded in about 2 bits) */
#define DEFLATE_MAX_RATIO 1032

/* ---- byte source: a plain file or a gzip stream ---------------------------------------- */
typedef struct src {
    const char *path;
    FILE *f;
    int gz;            /* 1: gzip stream */
    int z_ready;       /* inflateInit2 succeeded */
    int member_done;   /* the last gzip member ended (Z_STREAM_END) */
    int eof;           /* the file has no more bytes */
    z_stream zs;
    unsigned char *in; /* compressed input buffer (CHUNK) */
    uint64_t comp_read; /* compressed bytes read from the file so far */
    uint64_t pos;      /* (decompressed) bytes delivered so far */
    unsigned char peek[2]; /* the first bytes, read to detect gzip (no rewind: pipes work too) */
    size_t n_peek, peek_used;
} src;

static void *z_alloc(void *opaque, unsigned items, unsigned size)
{
    (void)opaque;
    uint64_t n;
    if (cn_mul_size(items, size, &n, "zlib state") != CN_OK) return NULL;
    return cn_malloc((size_t)n, "zlib state");
}

static void z_free(void *opaque, void *p)
{
    (void)opaque;
    cn_free(p);
}

static cn_status fill_input(src *s)
{
    size_t got = fread(s->in, 1, CHUNK, s->f);
    if (got < CHUNK) {
        if (ferror(s->f)) return cn_set_error(CN_STATUS_IO, "%s: read failed: %s", s->path, strerror(errno));
        s->eof = 1;
    }
    s->zs.next_in = s->in;
    s->zs.avail_in = (uInt)got;
    s->comp_read += got;
    return CN_OK;
}

/* Read up to n bytes into buf; *got < n only at the end of the data. Errors (I/O, a corrupt
 * or truncated gzip stream) return a status with the message set. */
static cn_status src_read(src *s, unsigned char *buf, size_t n, size_t *got)
{
    *got = 0;
    if (!s->gz) {
        size_t r = 0;
        while (r < n && s->peek_used < s->n_peek) buf[r++] = s->peek[s->peek_used++];
        if (r < n) r += fread(buf + r, 1, n - r, s->f);
        if (r < n && ferror(s->f)) return cn_set_error(CN_STATUS_IO, "%s: read failed: %s", s->path, strerror(errno));
        *got = r;
        s->pos += r;
        return CN_OK;
    }
    s->zs.next_out = buf;
    s->zs.avail_out = (uInt)n;
    cn_status st = CN_OK;
    while (s->zs.avail_out > 0) {
        if (s->zs.avail_in == 0 && !s->eof && (st = fill_input(s)) != CN_OK) break;
        if (s->member_done) {
            if (s->zs.avail_in == 0) break; /* clean end of the last member */
            inflateReset(&s->zs);          /* another member follows */
            s->member_done = 0;
        }
        if (s->zs.avail_in == 0 && s->eof) {
            uint64_t out = s->pos + (uint64_t)(n - s->zs.avail_out);
            st = cn_set_error(CN_STATUS_FORMAT,
                              "%s: gzip stream ends unexpectedly after %llu compressed bytes (decompressed offset %llu): "
                              "expected more compressed data or the gzip trailer; the file is truncated",
                              s->path, (unsigned long long)s->comp_read, (unsigned long long)out);
            break;
        }
        int ret = inflate(&s->zs, Z_NO_FLUSH);
        if (ret == Z_STREAM_END) {
            s->member_done = 1;
        } else if (ret == Z_MEM_ERROR) {
            st = cn_set_error(CN_STATUS_NOMEM, "%s: out of memory while decompressing", s->path);
            break;
        } else if (ret != Z_OK && ret != Z_BUF_ERROR) {
            uint64_t at = s->comp_read - s->zs.avail_in;
            uint64_t out = s->pos + (uint64_t)(n - s->zs.avail_out);
            st = cn_set_error(CN_STATUS_FORMAT,
                              "%s: corrupt gzip stream at compressed offset %llu (decompressed offset %llu): %s",
                              s->path, (unsigned long long)at, (unsigned long long)out,
                              s->zs.msg ? s->zs.msg : "inflate failed");
            break;
        }
    }
    *got = n - s->zs.avail_out;
    s->pos += *got;
    return st;
}

static void src_close(src *s)
{
    if (s->z_ready) inflateEnd(&s->zs);
    cn_free(s->in);
    if (s->f) fclose(s->f);
    memset(s, 0, sizeof *s);
}

/* ---- types --------------------------------------------------------------------------- */
static int type_size(int code)
{
    switch (code) {
    case CN_IDX_U8: case CN_IDX_I8: return 1;
    case CN_IDX_I16: return 2;
    case CN_IDX_I32: case CN_IDX_F32: return 4;
    case CN_IDX_F64: return 8;
    default: return 0;
    }
}

static const char *type_name(int code)
{
    switch (code) {
    case CN_IDX_U8: return "ubyte";
    case CN_IDX_I8: return "sbyte";
    case CN_IDX_I16: return "short";
    case CN_IDX_I32: return "int";
    case CN_IDX_F32: return "float";
    case CN_IDX_F64: return "double";
    default: return "unknown";
    }
}

static int is_integer(int code) { return code == CN_IDX_U8 || code == CN_IDX_I8 || code == CN_IDX_I16 || code == CN_IDX_I32; }

static uint32_t be32(const unsigned char *b) { return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3]; }

/* convert n big-endian values of type `code` from b into f32 (and i64 if not NULL) */
static void convert(float *f32, int64_t *i64, const unsigned char *b, size_t n, int code)
{
    for (size_t i = 0; i < n; i++) {
        int64_t iv = 0;
        double dv;
        switch (code) {
        case CN_IDX_U8: iv = b[i]; dv = (double)iv; break;
        case CN_IDX_I8: iv = (int8_t)b[i]; dv = (double)iv; break;
        case CN_IDX_I16: iv = (int16_t)(uint16_t)((unsigned)b[2 * i] << 8 | b[2 * i + 1]); dv = (double)iv; break;
        case CN_IDX_I32: iv = (int32_t)be32(b + 4 * i); dv = (double)iv; break;
        case CN_IDX_F32: {
            uint32_t u = be32(b + 4 * i);
            float v;
            memcpy(&v, &u, 4);
            dv = v;
            break;
        }
        default: { /* CN_IDX_F64 */
            uint64_t u = (uint64_t)be32(b + 8 * i) << 32 | be32(b + 8 * i + 4);
            memcpy(&dv, &u, 8);
            break;
        }
        }
        f32[i] = (float)dv;
        if (i64) i64[i] = iv;
    }
}

/* "60000x28x28" */
static void dims_str(char *buf, size_t cap, const int64_t *dims, int ndim)
{
    size_t len = 0;
    buf[0] = 0;
    for (int i = 0; i < ndim && len < cap; i++) {
        int w = snprintf(buf + len, cap - len, i ? "x%lld" : "%lld", (long long)dims[i]);
        if (w < 0) break;
        len += (size_t)w;
    }
}

/* cn_malloc, with the status the failure deserves: LIMIT above the memory cap, else NOMEM */
static void *alloc(size_t size, const char *what, cn_status *st)
{
    void *p = cn_malloc(size, what);
    if (!p) *st = (uint64_t)size > cn_memory_limit() ? CN_STATUS_LIMIT : CN_STATUS_NOMEM;
    return p;
}

/* ---- loading ------------------------------------------------------------------------- */
void cn_idx_free(cn_idx *a)
{
    if (!a) return;
    cn_free(a->f32);
    cn_free(a->i64);
    memset(a, 0, sizeof *a);
}

cn_status cn_idx_load(cn_idx *out, const char *path)
{
    memset(out, 0, sizeof *out);
    src s;
    memset(&s, 0, sizeof s);
    s.path = path;
    cn_status st = CN_OK;
    unsigned char *chunk = NULL;
    unsigned char hdr[4 + 4 * 255];

    if (!path) return cn_set_error(CN_STATUS_INVALID_ARG, "idx: no file name given");
    s.f = fopen(path, "rb");
    if (!s.f) return cn_set_error(CN_STATUS_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fileno(s.f), &sb) != 0) {
        st = cn_set_error(CN_STATUS_IO, "%s: cannot stat: %s", path, strerror(errno));
        goto done;
    }
    if (S_ISDIR(sb.st_mode)) {
        st = cn_set_error(CN_STATUS_IO, "%s: is a directory, expected an IDX file", path);
        goto done;
    }
    const int regular = S_ISREG(sb.st_mode);
    const uint64_t file_size = regular ? (uint64_t)sb.st_size : 0;

    /* gzip or plain: look at the first two bytes */
    s.n_peek = fread(s.peek, 1, 2, s.f);
    if (s.n_peek < 2 && ferror(s.f)) {
        st = cn_set_error(CN_STATUS_IO, "%s: read failed: %s", path, strerror(errno));
        goto done;
    }
    if (s.n_peek == 2 && s.peek[0] == 0x1f && s.peek[1] == 0x8b) {
        s.gz = 1;
        if (!(s.in = alloc(CHUNK, "gzip input buffer", &st))) goto done;
        memcpy(s.in, s.peek, 2); /* the decoder starts with the peeked bytes */
        s.zs.next_in = s.in;
        s.zs.avail_in = 2;
        s.comp_read = 2;
        s.zs.zalloc = z_alloc;
        s.zs.zfree = z_free;
        int zr = inflateInit2(&s.zs, MAX_WBITS + 16); /* gzip wrapper only */
        if (zr != Z_OK) {
            st = cn_set_error(zr == Z_MEM_ERROR ? CN_STATUS_NOMEM : CN_STATUS_INTERNAL, "%s: cannot start gzip decoder: %s",
                              path, s.zs.msg ? s.zs.msg : "inflateInit2 failed");
            goto done;
        }
        s.z_ready = 1;
    }
    const char *where = s.gz ? "decompressed offset" : "offset";

    /* fixed part of the header */
    size_t got;
    if ((st = src_read(&s, hdr, 4, &got)) != CN_OK) goto done;
    if (got < 4) {
        st = cn_set_error(CN_STATUS_FORMAT,
                          "%s: truncated header: the data end at %s %zu, expected 4 bytes (00 00, type code, dimension count)",
                          path, where, got);
        goto done;
    }
    if (hdr[0] != 0 || hdr[1] != 0) {
        st = cn_set_error(CN_STATUS_FORMAT, "%s: %s 0: magic bytes %02x %02x, expected 00 00 (not an IDX file)", path, where,
                          hdr[0], hdr[1]);
        goto done;
    }
    const int code = hdr[2], esize = type_size(code), ndim = hdr[3];
    if (!esize) {
        st = cn_set_error(CN_STATUS_FORMAT,
                          "%s: %s 2: unknown type code 0x%02X, expected 0x08 (ubyte), 0x09 (sbyte), 0x0B (short), "
                          "0x0C (int), 0x0D (float) or 0x0E (double)",
                          path, where, code);
        goto done;
    }
    if (ndim == 0) {
        st = cn_set_error(CN_STATUS_FORMAT, "%s: %s 3: 0 dimensions, expected at least 1", path, where);
        goto done;
    }
    if (ndim > CN_IDX_MAX_DIMS) {
        st = cn_set_error(CN_STATUS_UNSUPPORTED, "%s: %s 3: %d dimensions, convnet reads at most %d", path, where, ndim,
                          CN_IDX_MAX_DIMS);
        goto done;
    }
    const size_t hdr_len = 4 + 4 * (size_t)ndim;
    if ((st = src_read(&s, hdr + 4, hdr_len - 4, &got)) != CN_OK) goto done;
    if (got < hdr_len - 4) {
        st = cn_set_error(CN_STATUS_FORMAT,
                          "%s: truncated header: the data end at %s %zu, expected %zu header bytes for %d dimensions", path,
                          where, 4 + got, hdr_len, ndim);
        goto done;
    }
    uint64_t numel = 1;
    for (int i = 0; i < ndim; i++) {
        uint32_t d = be32(hdr + 4 + 4 * i);
        if (d == 0) {
            st = cn_set_error(CN_STATUS_SHAPE, "%s: %s %d: dimension %d is 0, expected at least 1", path, where, 4 + 4 * i, i);
            goto done;
        }
        out->dims[i] = d;
        if ((st = cn_mul_size(numel, d, &numel, path)) != CN_OK) {
            char ds[256];
            dims_str(ds, sizeof ds, out->dims, i + 1);
            st = cn_set_error(CN_STATUS_LIMIT, "%s: the header's dimensions %s... overflow a 64-bit element count", path, ds);
            goto done;
        }
    }
    char ds[256];
    dims_str(ds, sizeof ds, out->dims, ndim);

    /* every size against overflow, the memory cap and the real length, before allocating */
    const int want_i64 = is_integer(code) && ndim == 1;
    uint64_t data_bytes, f32_bytes, i64_bytes = 0;
    if (cn_mul_size(numel, (uint64_t)esize, &data_bytes, path) != CN_OK || cn_mul_size(numel, 4, &f32_bytes, path) != CN_OK ||
        (want_i64 && cn_mul_size(numel, 8, &i64_bytes, path) != CN_OK) || f32_bytes + i64_bytes < f32_bytes) {
        st = cn_set_error(CN_STATUS_LIMIT, "%s: the header describes %s %s values (%llu elements), a size in bytes that "
                          "overflows 64 bits", path, ds, type_name(code), (unsigned long long)numel);
        goto done;
    }
    const uint64_t cap = cn_memory_limit();
    if (f32_bytes + i64_bytes > cap || f32_bytes + i64_bytes > SIZE_MAX) {
        st = cn_set_error(CN_STATUS_LIMIT,
                          "%s: the header describes %s %s values (%llu elements), which need %llu bytes, above the memory "
                          "cap of %llu bytes",
                          path, ds, type_name(code), (unsigned long long)numel,
                          (unsigned long long)(f32_bytes + i64_bytes), (unsigned long long)cap);
        goto done;
    }
    if (!s.gz && regular) {
        uint64_t need = hdr_len + data_bytes;
        if (file_size < need) {
            st = cn_set_error(CN_STATUS_FORMAT,
                              "%s: truncated data: the header describes %s %s values (%llu bytes from offset %zu), but the "
                              "file ends at offset %llu, expected %llu bytes in all",
                              path, ds, type_name(code), (unsigned long long)data_bytes, hdr_len,
                              (unsigned long long)file_size, (unsigned long long)need);
            goto done;
        }
        if (file_size > need) {
            st = cn_set_error(CN_STATUS_FORMAT,
                              "%s: offset %llu: %llu unexpected bytes after the %s %s values the header describes "
                              "(expected the file to end there)",
                              path, (unsigned long long)need, (unsigned long long)(file_size - need), ds, type_name(code));
            goto done;
        }
    }
    if (s.gz && regular && (data_bytes + hdr_len) / DEFLATE_MAX_RATIO > file_size) {
        st = cn_set_error(CN_STATUS_FORMAT,
                          "%s: truncated or corrupt: the header describes %s %s values (%llu bytes), but %llu bytes of gzip "
                          "data expand to at most %llu bytes",
                          path, ds, type_name(code), (unsigned long long)data_bytes, (unsigned long long)file_size,
                          (unsigned long long)file_size * DEFLATE_MAX_RATIO);
        goto done;
    }

    if (!(out->f32 = alloc((size_t)f32_bytes, path, &st))) goto done;
    if (want_i64 && !(out->i64 = alloc((size_t)i64_bytes, path, &st))) goto done;
    if (!(chunk = alloc(CHUNK, "idx read buffer", &st))) goto done;
    /* the values, CHUNK bytes (a whole number of elements) at a time */
    for (uint64_t done_bytes = 0; done_bytes < data_bytes;) {
        size_t want = data_bytes - done_bytes < CHUNK ? (size_t)(data_bytes - done_bytes) : CHUNK;
        if ((st = src_read(&s, chunk, want, &got)) != CN_OK) goto done;
        if (got < want) {
            st = cn_set_error(CN_STATUS_FORMAT,
                              "%s: truncated data: the data end at %s %llu, but the header describes %s %s values "
                              "(%llu bytes from offset %zu, ending at %llu)",
                              path, where, (unsigned long long)(hdr_len + done_bytes + got), ds, type_name(code),
                              (unsigned long long)data_bytes, hdr_len, (unsigned long long)(hdr_len + data_bytes));
            goto done;
        }
        uint64_t first = done_bytes / (uint64_t)esize;
        convert(out->f32 + first, out->i64 ? out->i64 + first : NULL, chunk, want / (size_t)esize, code);
        done_bytes += want;
    }
    /* nothing may follow (this also reads a gzip stream to its end, where zlib checks the CRC) */
    if ((st = src_read(&s, chunk, 1, &got)) != CN_OK) goto done;
    if (got) {
        st = cn_set_error(CN_STATUS_FORMAT,
                          "%s: %s %llu: unexpected data after the %s %s values the header describes (expected the end "
                          "of the %s)",
                          path, where, (unsigned long long)(hdr_len + data_bytes), ds, type_name(code),
                          s.gz ? "gzip stream" : "file");
        goto done;
    }
    out->type = (cn_idx_type)code;
    out->ndim = ndim;
    out->numel = (int64_t)numel;
done:
    cn_free(chunk);
    src_close(&s);
    if (st != CN_OK) cn_idx_free(out);
    return st;
}

cn_status cn_idx_load_pair(cn_idx *images, cn_idx *labels, const char *images_path, const char *labels_path)
{
    memset(labels, 0, sizeof *labels);
    cn_status st = cn_idx_load(images, images_path);
    if (st != CN_OK) return st;
    if ((st = cn_idx_load(labels, labels_path)) != CN_OK) goto done;
    if (images->ndim < 2) {
        st = cn_set_error(CN_STATUS_SHAPE, "%s: %d dimension, expected an images file with 2 or more (count first)",
                          images_path, images->ndim);
        goto done;
    }
    if (labels->ndim != 1 || !is_integer(labels->type)) {
        st = cn_set_error(CN_STATUS_SHAPE, "%s: %d dimensions of %s, expected a labels file: 1 dimension of an integer type",
                          labels_path, labels->ndim, type_name(labels->type));
        goto done;
    }
    if (images->dims[0] != labels->dims[0]) {
        st = cn_set_error(CN_STATUS_SHAPE, "%s: %lld images, %s: %lld labels; the counts must match", images_path,
                          (long long)images->dims[0], labels_path, (long long)labels->dims[0]);
        goto done;
    }
done:
    if (st != CN_OK) {
        cn_idx_free(images);
        cn_idx_free(labels);
    }
    return st;
}
