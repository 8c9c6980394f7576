/* canvas.c — the SVG and raster back ends of the drawing interface, and the 5x7 font. */
#include "viz/canvas.h"

#include <ctype.h>
#include <math.h>
#include <string.h>

/* ---- the bitmap font: 5 columns x 7 rows per glyph, '#' = ink ---- */
typedef struct glyph {
    char ch;
    const char *rows[7];
} glyph;

/* clang-format off */
static const glyph font[] = {
    {' ', {".....", ".....", ".....", ".....", ".....", ".....", "....."}},
    {'!', {"..#..", "..#..", "..#..", "..#..", "..#..", ".....", "..#.."}},
    {'"', {".#.#.", ".#.#.", ".....", ".....", ".....", ".....", "....."}},
    {'#', {".#.#.", ".#.#.", "#####", ".#.#.", "#####", ".#.#.", ".#.#."}},
    {'%', {"##...", "##..#", "...#.", "..#..", ".#...", "#..##", "...##"}},
    {'&', {".##..", "#..#.", "#.#..", ".#...", "#.#.#", "#..#.", ".##.#"}},
    {'\'', {"..#..", "..#..", ".....", ".....", ".....", ".....", "....."}},
    {'(', {"...#.", "..#..", ".#...", ".#...", ".#...", "..#..", "...#."}},
    {')', {".#...", "..#..", "...#.", "...#.", "...#.", "..#..", ".#..."}},
    {'*', {".....", "..#..", "#.#.#", ".###.", "#.#.#", "..#..", "....."}},
    {'+', {".....", "..#..", "..#..", "#####", "..#..", "..#..", "....."}},
    {',', {".....", ".....", ".....", ".....", ".##..", "..#..", ".#..."}},
    {'-', {".....", ".....", ".....", "#####", ".....", ".....", "....."}},
    {'.', {".....", ".....", ".....", ".....", ".....", ".##..", ".##.."}},
    {'/', {".....", "....#", "...#.", "..#..", ".#...", "#....", "....."}},
    {'0', {".###.", "#...#", "#..##", "#.#.#", "##..#", "#...#", ".###."}},
    {'1', {"..#..", ".##..", "..#..", "..#..", "..#..", "..#..", ".###."}},
    {'2', {".###.", "#...#", "....#", "...#.", "..#..", ".#...", "#####"}},
    {'3', {"#####", "...#.", "..#..", "...#.", "....#", "#...#", ".###."}},
    {'4', {"...#.", "..##.", ".#.#.", "#..#.", "#####", "...#.", "...#."}},
    {'5', {"#####", "#....", "####.", "....#", "....#", "#...#", ".###."}},
    {'6', {"..##.", ".#...", "#....", "####.", "#...#", "#...#", ".###."}},
    {'7', {"#####", "....#", "...#.", "..#..", ".#...", ".#...", ".#..."}},
    {'8', {".###.", "#...#", "#...#", ".###.", "#...#", "#...#", ".###."}},
    {'9', {".###.", "#...#", "#...#", ".####", "....#", "...#.", ".##.."}},
    {':', {".....", ".##..", ".##..", ".....", ".##..", ".##..", "....."}},
    {';', {".....", ".##..", ".##..", ".....", ".##..", "..#..", ".#..."}},
    {'<', {"...#.", "..#..", ".#...", "#....", ".#...", "..#..", "...#."}},
    {'=', {".....", ".....", "#####", ".....", "#####", ".....", "....."}},
    {'>', {".#...", "..#..", "...#.", "....#", "...#.", "..#..", ".#..."}},
    {'?', {".###.", "#...#", "....#", "...#.", "..#..", ".....", "..#.."}},
    {'A', {".###.", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"}},
    {'B', {"####.", "#...#", "#...#", "####.", "#...#", "#...#", "####."}},
    {'C', {".###.", "#...#", "#....", "#....", "#....", "#...#", ".###."}},
    {'D', {"###..", "#..#.", "#...#", "#...#", "#...#", "#..#.", "###.."}},
    {'E', {"#####", "#....", "#....", "####.", "#....", "#....", "#####"}},
    {'F', {"#####", "#....", "#....", "####.", "#....", "#....", "#...."}},
    {'G', {".###.", "#...#", "#....", "#.###", "#...#", "#...#", ".####"}},
    {'H', {"#...#", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"}},
    {'I', {".###.", "..#..", "..#..", "..#..", "..#..", "..#..", ".###."}},
    {'J', {"..###", "...#.", "...#.", "...#.", "...#.", "#..#.", ".##.."}},
    {'K', {"#...#", "#..#.", "#.#..", "##...", "#.#..", "#..#.", "#...#"}},
    {'L', {"#....", "#....", "#....", "#....", "#....", "#....", "#####"}},
    {'M', {"#...#", "##.##", "#.#.#", "#.#.#", "#...#", "#...#", "#...#"}},
    {'N', {"#...#", "#...#", "##..#", "#.#.#", "#..##", "#...#", "#...#"}},
    {'O', {".###.", "#...#", "#...#", "#...#", "#...#", "#...#", ".###."}},
    {'P', {"####.", "#...#", "#...#", "####.", "#....", "#....", "#...."}},
    {'Q', {".###.", "#...#", "#...#", "#...#", "#.#.#", "#..#.", ".##.#"}},
    {'R', {"####.", "#...#", "#...#", "####.", "#.#..", "#..#.", "#...#"}},
    {'S', {".####", "#....", "#....", ".###.", "....#", "....#", "####."}},
    {'T', {"#####", "..#..", "..#..", "..#..", "..#..", "..#..", "..#.."}},
    {'U', {"#...#", "#...#", "#...#", "#...#", "#...#", "#...#", ".###."}},
    {'V', {"#...#", "#...#", "#...#", "#...#", "#...#", ".#.#.", "..#.."}},
    {'W', {"#...#", "#...#", "#...#", "#.#.#", "#.#.#", "#.#.#", ".#.#."}},
    {'X', {"#...#", "#...#", ".#.#.", "..#..", ".#.#.", "#...#", "#...#"}},
    {'Y', {"#...#", "#...#", ".#.#.", "..#..", "..#..", "..#..", "..#.."}},
    {'Z', {"#####", "....#", "...#.", "..#..", ".#...", "#....", "#####"}},
    {'[', {".###.", ".#...", ".#...", ".#...", ".#...", ".#...", ".###."}},
    {']', {".###.", "...#.", "...#.", "...#.", "...#.", "...#.", ".###."}},
    {'_', {".....", ".....", ".....", ".....", ".....", ".....", "#####"}},
    {'|', {"..#..", "..#..", "..#..", "..#..", "..#..", "..#..", "..#.."}},
};
/* clang-format on */

static const glyph *find_glyph(char ch)
{
    ch = (char)toupper((unsigned char)ch);
    for (size_t i = 0; i < sizeof font / sizeof font[0]; i++)
        if (font[i].ch == ch) return &font[i];
    return ch == '?' ? &font[0] : find_glyph('?');
}

static int font_scale(double size)
{
    int s = (int)lrint(size / 10.0);
    return s < 1 ? 1 : s;
}

/* ---- raster primitives ---- */
static void blend(cn_image *im, int x, int y, unsigned rgb, double a)
{
    if (x < 0 || y < 0 || x >= im->w || y >= im->h || a <= 0) return;
    if (a > 1) a = 1;
    unsigned char *p = im->px + ((size_t)y * (size_t)im->w + (size_t)x) * 3;
    unsigned char c[3] = {(unsigned char)(rgb >> 16), (unsigned char)(rgb >> 8), (unsigned char)rgb};
    for (int k = 0; k < 3; k++) p[k] = (unsigned char)lrint(p[k] + a * (c[k] - p[k]));
}

/* a thick segment: coverage from the distance of each pixel centre to the segment; dashes by
 * the arc length s0 + t*len along the polyline */
static void raster_segment(cn_image *im, double x0, double y0, double x1, double y1, unsigned rgb, double width,
                           double dash, double s0)
{
    double r = width / 2, dx = x1 - x0, dy = y1 - y0, len2 = dx * dx + dy * dy, len = sqrt(len2);
    int bx0 = (int)floor(fmin(x0, x1) - r - 1), bx1 = (int)ceil(fmax(x0, x1) + r + 1);
    int by0 = (int)floor(fmin(y0, y1) - r - 1), by1 = (int)ceil(fmax(y0, y1) + r + 1);
    if (bx0 < 0) bx0 = 0;
    if (by0 < 0) by0 = 0;
    if (bx1 > im->w - 1) bx1 = im->w - 1;
    if (by1 > im->h - 1) by1 = im->h - 1;
    for (int py = by0; py <= by1; py++)
        for (int px = bx0; px <= bx1; px++) {
            double cx = px + 0.5, cy = py + 0.5;
            double t = len2 > 0 ? ((cx - x0) * dx + (cy - y0) * dy) / len2 : 0;
            if (t < 0) t = 0;
            if (t > 1) t = 1;
            if (dash > 0 && fmod(s0 + t * len, 2 * dash) > dash) continue;
            double ex = x0 + t * dx - cx, ey = y0 + t * dy - cy;
            double d = sqrt(ex * ex + ey * ey);
            blend(im, px, py, rgb, r + 0.5 - d);
        }
}

static void raster_text(cn_image *im, double x, double y, const char *s, double size, unsigned rgb, int anchor)
{
    int sc = font_scale(size);
    double w = (double)strlen(s) * 6 * sc - sc;
    if (anchor == VC_MIDDLE)
        x -= w / 2;
    else if (anchor == VC_END)
        x -= w;
    int ox = (int)lrint(x), oy = (int)lrint(y) - 7 * sc; /* baseline at the glyph's bottom */
    for (size_t i = 0; s[i]; i++) {
        const glyph *g = find_glyph(s[i]);
        for (int r = 0; r < 7; r++)
            for (int c = 0; c < 5; c++)
                if (g->rows[r][c] == '#')
                    for (int a = 0; a < sc; a++)
                        for (int b = 0; b < sc; b++)
                            blend(im, ox + (int)i * 6 * sc + c * sc + b, oy + r * sc + a, rgb, 1);
    }
}

/* ---- the interface ---- */
void vc_svg_begin(vcanvas *c, vbuf *b, int w, int h)
{
    memset(c, 0, sizeof *c);
    c->w = w, c->h = h, c->svg = b;
    vbuf_printf(b,
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
                "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n"
                "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n",
                w, h, w, h, w, h);
}

void vc_svg_end(vcanvas *c) { vbuf_puts(c->svg, "</svg>\n"); }

cn_status vc_image_begin(vcanvas *c, cn_image *im, int w, int h)
{
    memset(c, 0, sizeof *c);
    c->w = w, c->h = h, c->img = im;
    return cn_image_alloc(im, w, h, 3, 255);
}

static void svg_dash(vbuf *b, double dash)
{
    if (dash > 0) vbuf_printf(b, " stroke-dasharray=\"%g %g\"", dash, dash);
}

void vc_polyline(vcanvas *c, const double *x, const double *y, int n, unsigned rgb, double width, double dash)
{
    if (n < 2) return;
    if (c->svg) {
        vbuf_printf(c->svg, "<polyline fill=\"none\" stroke=\"#%06x\" stroke-width=\"%g\" stroke-linejoin=\"round\"",
                    rgb, width);
        svg_dash(c->svg, dash);
        vbuf_puts(c->svg, " points=\"");
        for (int i = 0; i < n; i++) vbuf_printf(c->svg, "%s%.2f,%.2f", i ? " " : "", x[i], y[i]);
        vbuf_puts(c->svg, "\"/>\n");
        return;
    }
    double s = 0;
    for (int i = 0; i + 1 < n; i++) {
        raster_segment(c->img, x[i], y[i], x[i + 1], y[i + 1], rgb, width, dash, s);
        s += hypot(x[i + 1] - x[i], y[i + 1] - y[i]);
    }
}

void vc_line(vcanvas *c, double x0, double y0, double x1, double y1, unsigned rgb, double width, double dash)
{
    double x[2] = {x0, x1}, y[2] = {y0, y1};
    vc_polyline(c, x, y, 2, rgb, width, dash);
}

void vc_rect(vcanvas *c, double x, double y, double w, double h, long fill, long stroke)
{
    if (c->svg) {
        vbuf_printf(c->svg, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\"", x, y, w, h);
        if (fill >= 0)
            vbuf_printf(c->svg, " fill=\"#%06lx\"", (unsigned long)fill);
        else
            vbuf_puts(c->svg, " fill=\"none\"");
        if (stroke >= 0) vbuf_printf(c->svg, " stroke=\"#%06lx\"", (unsigned long)stroke);
        vbuf_puts(c->svg, "/>\n");
        return;
    }
    if (fill >= 0)
        for (int py = (int)lrint(y); py < (int)lrint(y + h); py++)
            for (int px = (int)lrint(x); px < (int)lrint(x + w); px++) blend(c->img, px, py, (unsigned)fill, 1);
    if (stroke >= 0) {
        double xs[5] = {x, x + w, x + w, x, x}, ys[5] = {y, y, y + h, y + h, y};
        vc_polyline(c, xs, ys, 5, (unsigned)stroke, 1, 0);
    }
}

void vc_circle(vcanvas *c, double cx, double cy, double r, unsigned rgb)
{
    if (c->svg) {
        vbuf_printf(c->svg, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"%g\" fill=\"#%06x\"/>\n", cx, cy, r, rgb);
        return;
    }
    for (int py = (int)floor(cy - r - 1); py <= (int)ceil(cy + r + 1); py++)
        for (int px = (int)floor(cx - r - 1); px <= (int)ceil(cx + r + 1); px++)
            blend(c->img, px, py, rgb, r + 0.5 - hypot(px + 0.5 - cx, py + 0.5 - cy));
}

void vc_text(vcanvas *c, double x, double y, const char *s, double size, unsigned rgb, int anchor)
{
    if (c->svg) {
        static const char *const anchors[] = {"start", "middle", "end"};
        vbuf_printf(c->svg, "<text x=\"%.2f\" y=\"%.2f\" font-size=\"%g\" fill=\"#%06x\" text-anchor=\"%s\">", x, y,
                    size, rgb, anchors[anchor]);
        vbuf_escape(c->svg, s);
        vbuf_puts(c->svg, "</text>\n");
        return;
    }
    raster_text(c->img, x, y, s, size, rgb, anchor);
}

double vc_text_width(const vcanvas *c, const char *s, double size)
{
    if (c->svg) return 0.6 * size * (double)strlen(s);
    int sc = font_scale(size);
    return (double)strlen(s) * 6 * sc - sc;
}

/* ---- text on plain images (public) ---- */
int cn_image_text_width(const char *text, int scale)
{
    if (scale < 1) scale = 1;
    size_t n = strlen(text);
    return n ? (int)n * 6 * scale - scale : 0;
}

void cn_image_text(cn_image *im, int x, int y, const char *text, int scale, const unsigned char rgb[3])
{
    if (scale < 1) scale = 1;
    for (size_t i = 0; text[i]; i++) {
        const glyph *g = find_glyph(text[i]);
        for (int r = 0; r < 7; r++)
            for (int c = 0; c < 5; c++) {
                if (g->rows[r][c] != '#') continue;
                for (int a = 0; a < scale; a++)
                    for (int b = 0; b < scale; b++) {
                        int px = x + (int)i * 6 * scale + c * scale + b, py = y + r * scale + a;
                        if (px < 0 || py < 0 || px >= im->w || py >= im->h) continue;
                        unsigned char *p = im->px + ((size_t)py * (size_t)im->w + (size_t)px) * (size_t)im->c;
                        if (im->c >= 3)
                            p[0] = rgb[0], p[1] = rgb[1], p[2] = rgb[2];
                        else
                            p[0] = (unsigned char)lrint(0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]);
                    }
            }
    }
}
