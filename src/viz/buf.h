/* buf.h — a growable byte/text buffer for the viz writers (SVG, HTML, PNG in memory), and
 * base64 for data URIs (internal). On allocation failure the buffer remembers the failure:
 * later appends do nothing and vbuf_status returns the error, so writers check once at the end. */
#ifndef CN_VIZ_BUF_H
#define CN_VIZ_BUF_H

#include <stddef.h>

#include "convnet/core.h"

typedef struct vbuf {
    char *data; /* cn_malloc'd, always NUL-terminated when len > 0 */
    size_t len, cap;
    cn_status err;
} vbuf;

void vbuf_init(vbuf *b);
void vbuf_free(vbuf *b);
void vbuf_put(vbuf *b, const void *data, size_t n);
void vbuf_puts(vbuf *b, const char *s);
void vbuf_printf(vbuf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Text with &, <, >, " escaped for HTML/SVG. */
void vbuf_escape(vbuf *b, const char *s);
void vbuf_base64(vbuf *b, const unsigned char *data, size_t n);
cn_status vbuf_status(const vbuf *b);
/* Hand the data over (NUL-terminated, cn_free it); the buffer is re-inited. NULL on error. */
char *vbuf_take(vbuf *b);

/* Write the buffer to a file atomically. */
cn_status vbuf_save(const vbuf *b, const char *path);

#endif
