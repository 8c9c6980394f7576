/* plot.c — a run's log.jsonl, and its loss/accuracy curves drawn on a canvas (SVG or PNG). */
#include <cjson/cJSON.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "io/file.h"
#include "viz/canvas.h"

static const struct {
    const char *key;
    size_t off;
} log_keys[] = {
    {"epoch", offsetof(cn_run_epoch, epoch)},
    {"step", offsetof(cn_run_epoch, step)},
    {"lr", offsetof(cn_run_epoch, lr)},
    {"train_loss", offsetof(cn_run_epoch, train_loss)},
    {"train_acc", offsetof(cn_run_epoch, train_acc)},
    {"val_loss", offsetof(cn_run_epoch, val_loss)},
    {"val_acc", offsetof(cn_run_epoch, val_acc)},
    {"time_s", offsetof(cn_run_epoch, time_s)},
    {"samples_per_s", offsetof(cn_run_epoch, samples_per_s)},
};
#define N_LOG_KEYS (sizeof log_keys / sizeof log_keys[0])

void cn_run_log_free(cn_run_log *log)
{
    if (!log) return;
    cn_free(log->e);
    memset(log, 0, sizeof *log);
}

cn_status cn_run_log_load(cn_run_log *log, const char *path)
{
    memset(log, 0, sizeof *log);
    unsigned char *buf;
    size_t len;
    cn_status st = cn_file_read_all(path, &buf, &len);
    if (st != CN_OK) return st;
    /* one record per non-blank line: count them first */
    size_t lines = 1;
    for (size_t i = 0; i < len; i++) lines += buf[i] == '\n';
    cn_run_epoch *e = cn_calloc(lines, sizeof *e, "log records");
    if (!e) {
        cn_free(buf);
        return CN_STATUS_NOMEM;
    }
    int n = 0, line = 0;
    size_t p = 0;
    while (p < len && st == CN_OK) {
        line++;
        size_t q = p;
        while (q < len && buf[q] != '\n') q++;
        size_t b = p, end = q;
        p = q + 1;
        while (b < end && (buf[b] == ' ' || buf[b] == '\t' || buf[b] == '\r')) b++;
        if (b == end) continue;
        cJSON *o = cJSON_ParseWithLength((const char *)buf + b, end - b);
        if (!o || !cJSON_IsObject(o)) {
            st = cn_set_error(CN_STATUS_FORMAT, "%s:%d: not a JSON object", path, line);
            cJSON_Delete(o);
            break;
        }
        cn_run_epoch *r = &e[n];
        for (size_t k = 0; k < N_LOG_KEYS; k++) {
            double *v = (double *)((char *)r + log_keys[k].off);
            *v = NAN;
            const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, log_keys[k].key);
            if (!it || cJSON_IsNull(it)) continue;
            if (!cJSON_IsNumber(it)) {
                st = cn_set_error(CN_STATUS_FORMAT, "%s:%d: \"%s\" is not a number", path, line, log_keys[k].key);
                break;
            }
            *v = it->valuedouble;
        }
        cJSON_Delete(o);
        n++;
    }
    cn_free(buf);
    if (st == CN_OK && !n) st = cn_set_error(CN_STATUS_FORMAT, "%s: no epochs (the log is empty)", path);
    if (st != CN_OK) {
        cn_free(e);
        return st;
    }
    log->n = n, log->e = e;
    return CN_OK;
}

/* ---- charts ---- */
#define C_TRAIN 0x1f77b4u
#define C_VAL 0xff7f0eu
#define C_AXIS 0x333333u
#define C_GRID 0xe4e4e4u
#define C_TEXT 0x222222u

typedef struct series {
    const char *label;
    size_t off; /* field of cn_run_epoch */
    unsigned rgb;
    double dash;
} series;

static double field(const cn_run_epoch *r, size_t off) { return *(const double *)((const char *)r + off); }

static double xval(const cn_run_log *log, int i)
{
    double x = log->e[i].epoch;
    return isfinite(x) ? x : i + 1;
}

/* a "nice" tick step (1, 2 or 5 times a power of ten) for about `want` ticks over span */
static double nice_step(double span, int want)
{
    if (!(span > 0)) span = 1;
    double raw = span / want, p = pow(10, floor(log10(raw))), f = raw / p;
    return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * p;
}

static void fmt_tick(char *out, size_t cap, double v, double step)
{
    int dec = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
    if (dec > 6) dec = 6;
    if (fabs(v) < step * 1e-6) v = 0;
    snprintf(out, cap, "%.*f", dec, v);
}

static int has_values(const cn_run_log *log, const series *s, int ns)
{
    for (int k = 0; k < ns; k++)
        for (int i = 0; i < log->n; i++)
            if (isfinite(field(&log->e[i], s[k].off))) return 1;
    return 0;
}

static void panel(vcanvas *c, double px, double py, double pw, double ph, const char *title, const cn_run_log *log,
                  const series *s, int ns)
{
    const double ml = 58, mr = 14, mt = 28, mb = 40, fs = 12;
    double x0 = px + ml, x1 = px + pw - mr, y0 = py + mt, y1 = py + ph - mb;
    /* ranges */
    double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
    for (int i = 0; i < log->n; i++) {
        double x = xval(log, i);
        xlo = fmin(xlo, x), xhi = fmax(xhi, x);
        for (int k = 0; k < ns; k++) {
            double v = field(&log->e[i], s[k].off);
            if (isfinite(v)) ylo = fmin(ylo, v), yhi = fmax(yhi, v);
        }
    }
    if (xhi <= xlo) xlo -= 1, xhi += 1;
    if (yhi <= ylo) {
        double d = fabs(ylo) > 0 ? fabs(ylo) * 0.1 : 1;
        ylo -= d, yhi += d;
    }
    double xs = nice_step(xhi - xlo, 8), ys = nice_step(yhi - ylo, 5);
    if (xs < 1 && xhi - xlo >= 1) xs = 1;
    double ya = floor(ylo / ys) * ys, yb = ceil(yhi / ys) * ys;
    double xa = xlo, xb = xhi;
#define MX(v) (x0 + ((v)-xa) / (xb - xa) * (x1 - x0))
#define MY(v) (y1 - ((v)-ya) / (yb - ya) * (y1 - y0))
    char t[64];
    /* grid and ticks */
    for (int i = 0; i <= 100 && ya + i * ys <= yb + ys * 1e-6; i++) {
        double v = ya + i * ys, y = MY(v);
        vc_line(c, x0, y, x1, y, C_GRID, 1, 0);
        fmt_tick(t, sizeof t, v, ys);
        vc_text(c, x0 - 6, y + 4, t, fs, C_TEXT, VC_END);
    }
    for (int i = 0; i <= 100 && ceil(xa / xs) * xs + i * xs <= xb + xs * 1e-6; i++) {
        double v = ceil(xa / xs) * xs + i * xs, x = MX(v);
        vc_line(c, x, y1, x, y1 + 4, C_AXIS, 1, 0);
        fmt_tick(t, sizeof t, v, xs);
        vc_text(c, x, y1 + 17, t, fs, C_TEXT, VC_MIDDLE);
    }
    vc_rect(c, x0, y0, x1 - x0, y1 - y0, -1, C_AXIS);
    vc_text(c, (x0 + x1) / 2, py + ph - 8, "epoch", fs, C_TEXT, VC_MIDDLE);
    vc_text(c, x0, py + 18, title, 14, C_TEXT, VC_START);
    /* the curves: polylines split at missing values; markers when few points */
    double *xv = cn_malloc(sizeof(double) * (size_t)log->n * 2, "plot points");
    if (!xv) return; /* the canvas's buffer reports nothing; a missing curve is visible */
    double *yv = xv + log->n;
    for (int k = 0; k < ns; k++) {
        int m = 0;
        for (int i = 0; i <= log->n; i++) {
            double v = i < log->n ? field(&log->e[i], s[k].off) : NAN;
            if (isfinite(v)) {
                xv[m] = MX(xval(log, i)), yv[m] = MY(v), m++;
                continue;
            }
            if (m >= 2) vc_polyline(c, xv, yv, m, s[k].rgb, 2, s[k].dash);
            if (log->n <= 60 || m == 1)
                for (int j = 0; j < m; j++) vc_circle(c, xv[j], yv[j], 2.5, s[k].rgb);
            m = 0;
        }
    }
    cn_free(xv);
    /* legend, top right inside the plot */
    double lx = x1 - 10, ly = y0 + 16;
    for (int k = ns - 1; k >= 0; k--) {
        int any = 0;
        for (int i = 0; i < log->n; i++) any |= isfinite(field(&log->e[i], s[k].off));
        if (!any) continue;
        double tw = vc_text_width(c, s[k].label, fs);
        vc_text(c, lx, ly, s[k].label, fs, C_TEXT, VC_END);
        vc_line(c, lx - tw - 30, ly - 4, lx - tw - 6, ly - 4, s[k].rgb, 2, s[k].dash);
        lx -= tw + 44;
    }
#undef MX
#undef MY
}

static cn_status draw_curves(vcanvas *c, const cn_run_log *log, const char *title)
{
    static const series loss[] = {{"train", offsetof(cn_run_epoch, train_loss), C_TRAIN, 0},
                                  {"validation", offsetof(cn_run_epoch, val_loss), C_VAL, 6}};
    static const series acc[] = {{"train", offsetof(cn_run_epoch, train_acc), C_TRAIN, 0},
                                 {"validation", offsetof(cn_run_epoch, val_acc), C_VAL, 6}};
    int hl = has_values(log, loss, 2), ha = has_values(log, acc, 2);
    if (!hl && !ha) return cn_set_error(CN_STATUS_FORMAT, "plot: the log has no loss or accuracy values");
    double top = title && *title ? 26 : 0;
    if (top) vc_text(c, c->w / 2.0, 19, title, 15, C_TEXT, VC_MIDDLE);
    double w = hl && ha ? c->w / 2.0 : c->w;
    if (hl) panel(c, 0, top, w, c->h - top, "loss", log, loss, 2);
    if (ha) panel(c, hl ? w : 0, top, w, c->h - top, "accuracy", log, acc, 2);
    return CN_OK;
}

static cn_status check_size(int width, int height)
{
    if (width < 200 || height < 150 || width > 8192 || height > 8192)
        return cn_set_error(CN_STATUS_INVALID_ARG,
                            "plot: size %d x %d; width and height must be in 200..8192 and 150..8192", width, height);
    return CN_OK;
}

cn_status cn_plot_curves_svg(char **svg, const cn_run_log *log, int width, int height, const char *title)
{
    *svg = NULL;
    cn_status st = check_size(width, height);
    if (st != CN_OK) return st;
    vbuf b;
    vbuf_init(&b);
    vcanvas c;
    vc_svg_begin(&c, &b, width, height);
    if ((st = draw_curves(&c, log, title)) == CN_OK) {
        vc_svg_end(&c);
        if ((st = vbuf_status(&b)) == CN_OK && !(*svg = vbuf_take(&b))) st = CN_STATUS_NOMEM;
    }
    vbuf_free(&b);
    return st;
}

cn_status cn_plot_curves_image(cn_image *im, const cn_run_log *log, int width, int height, const char *title)
{
    cn_status st = check_size(width, height);
    if (st != CN_OK) return st;
    vcanvas c;
    cn_image r;
    memset(&r, 0, sizeof r);
    if ((st = vc_image_begin(&c, &r, width, height)) == CN_OK && (st = draw_curves(&c, log, title)) == CN_OK) {
        cn_image_free(im);
        *im = r;
        return CN_OK;
    }
    cn_image_free(&r);
    return st;
}

cn_status cn_plot_signal_image(cn_image *im, const float *x, int c, int64_t n, const float *heat, int width, int height,
                               const char *title)
{
    cn_status st = check_size(width, height);
    if (st != CN_OK) return st;
    if (c < 1 || c > 8 || n < 2 || n > 100000)
        return cn_set_error(CN_STATUS_SHAPE, "plot: a signal of %d x %lld; expected 1..8 channels of 2..100000 values",
                            c, (long long)n);
    static const unsigned colors[8] = {0x1f77b4, 0xff7f0e, 0x2ca02c, 0xd62728, 0x9467bd, 0x8c564b, 0xe377c2, 0x7f7f7f};
    vcanvas cv;
    cn_image r = {0};
    if ((st = vc_image_begin(&cv, &r, width, height)) != CN_OK) return st;
    double top = title && *title ? 26 : 8, x0 = 8, x1 = width - 8.0, y0 = top, y1 = height - 8.0;
    if (top > 8) vc_text(&cv, x0, 19, title, 15, C_TEXT, VC_START);
    double lo = INFINITY, hi = -INFINITY, hmax = 0;
    for (int64_t i = 0; i < (int64_t)c * n; i++)
        if (isfinite(x[i])) lo = fmin(lo, x[i]), hi = fmax(hi, x[i]);
    if (!(hi > lo)) lo -= 1, hi += 1;
    double pad = (hi - lo) * 0.08;
    lo -= pad, hi += pad;
    for (int64_t i = 0; heat && i < n; i++)
        if (isfinite(heat[i])) hmax = fmax(hmax, heat[i]);
    double step = (x1 - x0) / (double)(n - 1);
    for (int64_t i = 0; heat && hmax > 0 && i < n; i++) { /* a band per position, white -> heat colour */
        double u = isfinite(heat[i]) && heat[i] > 0 ? heat[i] / hmax : 0;
        unsigned char hc[3];
        cn_colormap_rgb(CN_CMAP_HEAT, 0.35 + 0.5 * u, hc);
        unsigned rgb = 0;
        for (int k = 0; k < 3; k++) rgb = rgb << 8 | (unsigned)lrint(255 + u * (hc[k] - 255.0));
        double bx = x0 + (i - 0.5) * step;
        vc_rect(&cv, fmax(x0, bx), y0, fmin(x1, bx + step) - fmax(x0, bx), y1 - y0, rgb, -1);
    }
    vc_rect(&cv, x0, y0, x1 - x0, y1 - y0, -1, C_AXIS);
    if (lo < 0 && hi > 0)
        vc_line(&cv, x0, y1 - (0 - lo) / (hi - lo) * (y1 - y0), x1, y1 - (0 - lo) / (hi - lo) * (y1 - y0), C_GRID, 1,
                4);
    double *px = cn_malloc(sizeof(double) * (size_t)n * 2, "signal points");
    if (!px) {
        cn_image_free(&r);
        return CN_STATUS_NOMEM;
    }
    double *py = px + n;
    for (int ch = 0; ch < c; ch++) {
        for (int64_t i = 0; i < n; i++) {
            double v = isfinite(x[ch * n + i]) ? x[ch * n + i] : 0;
            px[i] = x0 + i * step, py[i] = y1 - (v - lo) / (hi - lo) * (y1 - y0);
        }
        vc_polyline(&cv, px, py, (int)n, colors[ch], 2, 0);
    }
    cn_free(px);
    cn_image_free(im);
    *im = r;
    return CN_OK;
}

cn_status cn_plot_curves_save(const cn_run_log *log, const char *path, int width, int height, const char *title)
{
    const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');
    cn_status st;
    if (dot && (!slash || dot > slash) && !strcmp(dot, ".svg")) {
        char *svg = NULL;
        if ((st = cn_plot_curves_svg(&svg, log, width, height, title)) != CN_OK) return st;
        vbuf b;
        vbuf_init(&b);
        vbuf_puts(&b, svg);
        cn_free(svg);
        st = vbuf_save(&b, path);
        vbuf_free(&b);
        return st;
    }
    cn_image im = {0};
    if ((st = cn_plot_curves_image(&im, log, width, height, title)) == CN_OK) st = cn_image_save(&im, path);
    cn_image_free(&im);
    return st;
}
