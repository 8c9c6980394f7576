/* buf.c — growable buffer, HTML escaping, base64, atomic save. */
#include "viz/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "io/file.h"

void vbuf_init(vbuf *b) { memset(b, 0, sizeof *b); }

void vbuf_free(vbuf *b)
{
    cn_free(b->data);
    vbuf_init(b);
}

static int grow(vbuf *b, size_t need)
{
    if (b->err != CN_OK) return 0;
    if (need < b->len) { /* overflow */
        b->err = cn_set_error(CN_STATUS_LIMIT, "buffer: size overflows");
        return 0;
    }
    if (need + 1 <= b->cap) return 1;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < need + 1) {
        if (cap > (size_t)-1 / 2) {
            b->err = cn_set_error(CN_STATUS_LIMIT, "buffer: %zu bytes is too large", need);
            return 0;
        }
        cap *= 2;
    }
    char *d = cn_malloc(cap, "text buffer");
    if (!d) {
        b->err = CN_STATUS_NOMEM;
        return 0;
    }
    if (b->len) memcpy(d, b->data, b->len);
    cn_free(b->data);
    b->data = d;
    b->cap = cap;
    return 1;
}

void vbuf_put(vbuf *b, const void *data, size_t n)
{
    if (!grow(b, b->len + n)) return;
    if (n) memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void vbuf_puts(vbuf *b, const char *s) { vbuf_put(b, s, strlen(s)); }

void vbuf_printf(vbuf *b, const char *fmt, ...)
{
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < sizeof small) {
        vbuf_put(b, small, (size_t)n);
        return;
    }
    if (!grow(b, b->len + (size_t)n)) return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void vbuf_escape(vbuf *b, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&': vbuf_puts(b, "&amp;"); break;
        case '<': vbuf_puts(b, "&lt;"); break;
        case '>': vbuf_puts(b, "&gt;"); break;
        case '"': vbuf_puts(b, "&quot;"); break;
        default: vbuf_put(b, s, 1);
        }
    }
}

void vbuf_base64(vbuf *b, const unsigned char *d, size_t n)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    if (!grow(b, b->len + (n + 2) / 3 * 4)) return;
    char *o = b->data + b->len;
    size_t i = 0;
    for (; i + 2 < n; i += 3) {
        unsigned v = (unsigned)d[i] << 16 | (unsigned)d[i + 1] << 8 | d[i + 2];
        *o++ = tab[v >> 18], *o++ = tab[(v >> 12) & 63], *o++ = tab[(v >> 6) & 63], *o++ = tab[v & 63];
    }
    if (i < n) {
        unsigned v = (unsigned)d[i] << 16 | (i + 1 < n ? (unsigned)d[i + 1] << 8 : 0);
        *o++ = tab[v >> 18], *o++ = tab[(v >> 12) & 63];
        *o++ = i + 1 < n ? tab[(v >> 6) & 63] : '=';
        *o++ = '=';
    }
    b->len = (size_t)(o - b->data);
    b->data[b->len] = '\0';
}

cn_status vbuf_status(const vbuf *b) { return b->err; }

char *vbuf_take(vbuf *b)
{
    if (b->err != CN_OK) return NULL;
    if (!b->data && !grow(b, 0)) return NULL;
    b->data[b->len] = '\0';
    char *d = b->data;
    vbuf_init(b);
    return d;
}

cn_status vbuf_save(const vbuf *b, const char *path)
{
    if (b->err != CN_OK) return b->err;
    cn_atomic_file af;
    cn_status st = cn_atomic_open(&af, path);
    if (st != CN_OK) return st;
    if ((st = cn_atomic_write(&af, b->data ? b->data : "", b->len)) != CN_OK) {
        cn_atomic_abort(&af);
        return st;
    }
    return cn_atomic_commit(&af);
}
