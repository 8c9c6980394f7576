/* canvas.h — one drawing interface, two back ends: SVG text, or pixels in an RGB cn_image
 * (anti-aliased lines from the distance to each segment, a built-in 5x7 bitmap font).
 * Charts draw once and come out as either (internal). Coordinates in pixels, y down;
 * colours 0xRRGGBB. */
#ifndef CN_VIZ_CANVAS_H
#define CN_VIZ_CANVAS_H

#include "convnet/viz.h"
#include "viz/buf.h"

typedef struct vcanvas {
    int w, h;
    vbuf *svg;     /* SVG back end when non-NULL */
    cn_image *img; /* else the raster back end: an RGB image of w x h */
} vcanvas;

enum { VC_START = 0, VC_MIDDLE = 1, VC_END = 2 };

/* SVG: writes the <svg> opening tag (with a white background) / the closing tag. */
void vc_svg_begin(vcanvas *c, vbuf *b, int w, int h);
void vc_svg_end(vcanvas *c);
/* raster: allocate a white RGB image */
cn_status vc_image_begin(vcanvas *c, cn_image *im, int w, int h);

/* dash: 0 solid, else the length of dashes and gaps */
void vc_polyline(vcanvas *c, const double *x, const double *y, int n, unsigned rgb, double width, double dash);
void vc_line(vcanvas *c, double x0, double y0, double x1, double y1, unsigned rgb, double width, double dash);
/* fill / stroke: -1 for none */
void vc_rect(vcanvas *c, double x, double y, double w, double h, long fill, long stroke);
void vc_circle(vcanvas *c, double cx, double cy, double r, unsigned rgb);
/* text with its baseline at y; size in pixels (the raster font scales by whole pixels);
 * the raster font has upper-case letters, digits and common punctuation only */
void vc_text(vcanvas *c, double x, double y, const char *s, double size, unsigned rgb, int anchor);
/* width of a text in pixels as vc_text draws it (SVG: an estimate) */
double vc_text_width(const vcanvas *c, const char *s, double size);

#endif
