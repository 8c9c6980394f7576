/* test_viz_run.c — run directories: log.jsonl parsing (missing keys, blank lines, clear errors
 * with line numbers), the curves as SVG (one polyline per series, points in epoch order at
 * the right heights) and as pixels, and the HTML report (every section, decodable inline
 * PNGs, the confusion matrix, no scripts or external resources, errors for non-runs). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "convnet/viz.h"
#include "test.h"
#include "viz/buf.h"

#define RUN_DIR CN_FIXTURE_DIR "/viz/run"

static char tmpdir[200];
/* a path in the test's folder; two buffers, so two paths can be arguments of one call */
static const char *tmp(const char *name)
{
    static char p[2][512];
    static int k;
    k ^= 1;
    snprintf(p[k], sizeof p[k], "%s/%s", tmpdir, name);
    return p[k];
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n) n = 0;
    if (s) s[n] = '\0';
    fclose(f);
    return s;
}

static void test_log(void)
{
    cn_run_log log;
    CHECK_OK(cn_run_log_load(&log, RUN_DIR "/log.jsonl"));
    CHECK_EQ_INT(log.n, 6);
    if (log.n == 6) {
        CHECK(log.e[0].epoch == 1 && log.e[5].epoch == 6 && log.e[5].step == 564);
        CHECK(log.e[5].val_acc > 0.8 && log.e[0].train_loss > log.e[5].train_loss);
        CHECK(isnan(log.e[0].samples_per_s)); /* absent key */
    }
    cn_run_log_free(&log);
    write_file(tmp("a.jsonl"),
               "{\"epoch\": 1, \"train_loss\": 2.5}\n\n   \n{\"epoch\": 2, \"train_loss\": null, \"val_acc\": 0.5}");
    CHECK_OK(cn_run_log_load(&log, tmp("a.jsonl")));
    CHECK_EQ_INT(log.n, 2);
    if (log.n == 2)
        CHECK(log.e[0].train_loss == 2.5 && isnan(log.e[1].train_loss) && log.e[1].val_acc == 0.5 &&
              isnan(log.e[0].lr));
    cn_run_log_free(&log);
    write_file(tmp("b.jsonl"), "{\"epoch\": 1}\n{\"epoch\": 2,\n");
    CHECK_ERR(cn_run_log_load(&log, tmp("b.jsonl")), CN_STATUS_FORMAT, "b.jsonl:2: not a JSON object");
    write_file(tmp("c.jsonl"), "{\"epoch\": 1}\n[1, 2]\n");
    CHECK_ERR(cn_run_log_load(&log, tmp("c.jsonl")), CN_STATUS_FORMAT, "c.jsonl:2: not a JSON object");
    write_file(tmp("d.jsonl"), "{\"epoch\": 1, \"val_loss\": \"low\"}\n");
    CHECK_ERR(cn_run_log_load(&log, tmp("d.jsonl")), CN_STATUS_FORMAT, "d.jsonl:1: \"val_loss\" is not a number");
    write_file(tmp("e.jsonl"), "\n\n");
    CHECK_ERR(cn_run_log_load(&log, tmp("e.jsonl")), CN_STATUS_FORMAT, "no epochs");
    CHECK_ERR(cn_run_log_load(&log, tmp("none.jsonl")), CN_STATUS_IO, "none.jsonl");
    CHECK(log.n == 0 && log.e == NULL);
}

/* the points of the n-th polyline with the given stroke colour that has more than 2 points
 * (2-point lines are the legend's samples) */
static int polyline_points(const char *svg, const char *color, int nth, double *x, double *y, int cap, int *dashed)
{
    char key[64];
    snprintf(key, sizeof key, "stroke=\"#%s\"", color);
    int k = 0;
    for (const char *p = strstr(svg, "<polyline"); p; p = strstr(p + 1, "<polyline")) {
        const char *end = strchr(p, '>'), *kp = strstr(p, key);
        if (!kp || kp > end) continue;
        *dashed = strstr(p, "stroke-dasharray") && strstr(p, "stroke-dasharray") < end;
        const char *q = strstr(p, "points=\"") + 8;
        int n = 0;
        while (q < end && *q != '"' && n < cap) {
            char *e;
            x[n] = strtod(q, &e);
            y[n] = strtod(e + 1, &e);
            n++;
            q = e;
            while (*q == ' ') q++;
        }
        if (n > 2 && k++ == nth) return n;
    }
    return -1;
}

static void test_svg(void)
{
    cn_run_log log;
    CHECK_OK(cn_run_log_load(&log, RUN_DIR "/log.jsonl"));
    char *svg = NULL;
    CHECK_OK(cn_plot_curves_svg(&svg, &log, 960, 360, "run <1>"));
    if (!svg) return;
    CHECK(!strncmp(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\"", 39));
    CHECK(strstr(svg, "</svg>") != NULL);
    CHECK(strstr(svg, ">run &lt;1&gt;</text>") != NULL); /* escaped title */
    CHECK(strstr(svg, ">loss</text>") && strstr(svg, ">accuracy</text>") && strstr(svg, ">validation</text>"));
    /* train (blue, solid) and validation (orange, dashed), loss panel first: 6 points each,
     * x increasing, and the lowest value highest on the page (SVG y grows downwards) */
    const char *colors[2] = {"1f77b4", "ff7f0e"};
    for (int series = 0; series < 2; series++)
        for (int panel = 0; panel < 2; panel++) {
            double x[16], y[16];
            int dashed;
            int n = polyline_points(svg, colors[series], panel, x, y, 16, &dashed);
            CHECK_MSG(n == 6, "series %d panel %d: %d points", series, panel, n);
            if (n != 6) continue;
            CHECK(dashed == (series == 1));
            for (int i = 1; i < 6; i++) CHECK(x[i] > x[i - 1]);
            CHECK(panel == 0 ? x[0] < 480 : x[0] > 480);
            for (int i = 0; i < 6; i++)
                for (int j = 0; j < 6; j++) {
                    double vi = panel ? (series ? log.e[i].val_acc : log.e[i].train_acc)
                                      : (series ? log.e[i].val_loss : log.e[i].train_loss);
                    double vj = panel ? (series ? log.e[j].val_acc : log.e[j].train_acc)
                                      : (series ? log.e[j].val_loss : log.e[j].train_loss);
                    if (vi < vj)
                        CHECK_MSG(y[i] > y[j], "panel %d series %d: value %g above %g on the page", panel, series, vi,
                                  vj);
                }
        }
    cn_free(svg);
    /* only losses recorded: one panel over the whole width */
    cn_run_epoch e[2] = {{1, NAN, NAN, 1.0, NAN, NAN, NAN, NAN, NAN}, {2, NAN, NAN, 0.5, NAN, NAN, NAN, NAN, NAN}};
    cn_run_log l2 = {2, e};
    CHECK_OK(cn_plot_curves_svg(&svg, &l2, 600, 300, NULL));
    if (svg) CHECK(strstr(svg, ">loss</text>") && !strstr(svg, ">accuracy</text>"));
    cn_free(svg);
    /* nothing to draw */
    for (int i = 0; i < 2; i++) e[i].train_loss = NAN;
    CHECK_ERR(cn_plot_curves_svg(&svg, &l2, 600, 300, NULL), CN_STATUS_FORMAT, "no loss or accuracy");
    CHECK_ERR(cn_plot_curves_svg(&svg, &log, 50, 300, NULL), CN_STATUS_INVALID_ARG, "size 50 x 300");
    cn_run_log_free(&log);
}

static void test_png_plot(void)
{
    cn_run_log log;
    CHECK_OK(cn_run_log_load(&log, RUN_DIR "/log.jsonl"));
    cn_image im = {0};
    CHECK_OK(cn_plot_curves_image(&im, &log, 800, 300, "RUN"));
    CHECK(im.w == 800 && im.h == 300 && im.c == 3);
    /* both series' colours are drawn, in both panels */
    int blue[2] = {0, 0}, orange[2] = {0, 0};
    for (int y = 0; y < im.h && im.px; y++)
        for (int x = 0; x < im.w; x++) {
            const unsigned char *p = im.px + (y * im.w + x) * 3;
            int half = x >= 400;
            blue[half] += p[0] == 0x1f && p[1] == 0x77 && p[2] == 0xb4;
            orange[half] += p[0] == 0xff && p[1] == 0x7f && p[2] == 0x0e;
        }
    CHECK_MSG(blue[0] > 100 && blue[1] > 100 && orange[0] > 100 && orange[1] > 100, "blue %d %d, orange %d %d", blue[0],
              blue[1], orange[0], orange[1]);
    CHECK_OK(cn_image_save(&im, tmp("curves.png")));
    cn_image back = {0};
    CHECK_OK(cn_image_load(&back, tmp("curves.png"), 3));
    CHECK(back.w == 800 && back.px && !memcmp(back.px, im.px, 800 * 300 * 3));
    cn_image_free(&im), cn_image_free(&back);
    cn_run_log_free(&log);
}

static void test_signal_plot(void)
{
    float x[2 * 40], heat[40] = {0};
    for (int i = 0; i < 40; i++) x[i] = sinf(i * 0.3f), x[40 + i] = 0.5f * cosf(i * 0.2f);
    heat[10] = 1; /* one hot position: its band is the heat map's top colour mix */
    cn_image im = {0};
    CHECK_OK(cn_plot_signal_image(&im, x, 2, 40, heat, 600, 220, "SIGNAL"));
    CHECK(im.w == 600 && im.h == 220 && im.c == 3);
    int c0 = 0, c1 = 0, band = 0, white_band = 0;
    double step = (600 - 16) / 39.0, bx = 8 + 10 * step, wx = 8 + 30 * step;
    unsigned char hc[3];
    cn_colormap_rgb(CN_CMAP_HEAT, 0.85, hc);
    for (int y = 30; y < 210 && im.px; y++)
        for (int xx = 0; xx < 600; xx++) {
            const unsigned char *p = im.px + (y * 600 + xx) * 3;
            c0 += p[0] == 0x1f && p[1] == 0x77 && p[2] == 0xb4;
            c1 += p[0] == 0xff && p[1] == 0x7f && p[2] == 0x0e;
            if (xx == (int)bx) band += !memcmp(p, hc, 3);
            if (xx == (int)wx) white_band += p[0] == 255 && p[1] == 255 && p[2] == 255;
        }
    CHECK_MSG(c0 > 200 && c1 > 200, "channel lines: %d and %d pixels", c0, c1);
    CHECK_MSG(band > 100, "the hot position's band: %d pixels", band);
    CHECK_MSG(white_band > 100, "a cold position's band stays white: %d pixels", white_band);
    CHECK_OK(cn_plot_signal_image(&im, x, 1, 40, NULL, 300, 150, NULL));
    CHECK_ERR(cn_plot_signal_image(&im, x, 1, 1, NULL, 300, 150, NULL), CN_STATUS_SHAPE, "1 x 1");
    CHECK_ERR(cn_plot_signal_image(&im, x, 1, 40, NULL, 30, 150, NULL), CN_STATUS_INVALID_ARG, "size 30 x 150");
    cn_image_free(&im);
}

/* decode every data:image/png;base64 URI of the page; returns how many, checks each decodes */
static int check_data_uris(const char *html)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    int n = 0;
    for (const char *p = strstr(html, "data:image/png;base64,"); p; p = strstr(p, "data:image/png;base64,")) {
        p += 22;
        size_t len = strcspn(p, "\"");
        unsigned char *bin = malloc(len);
        size_t m = 0;
        unsigned v = 0;
        int bits = 0;
        for (size_t i = 0; i < len && p[i] != '='; i++) {
            const char *c = strchr(b64, p[i]);
            if (!c) break;
            v = v << 6 | (unsigned)(c - b64), bits += 6;
            if (bits >= 8) bin[m++] = (unsigned char)(v >> (bits - 8)), bits -= 8;
        }
        cn_image im = {0};
        CHECK_OK(cn_image_decode(&im, bin, m, 0, "data uri"));
        CHECK(im.w > 0 && im.h > 0);
        cn_image_free(&im);
        free(bin);
        n++;
        p += len;
    }
    return n;
}

static void test_report(void)
{
    cn_report_config cfg = cn_report_defaults();
    cfg.classes = "top,trouser,pullover,dress,coat,sandal,shirt,sneaker,bag,boot";
    cfg.data = ""; /* no examples: the page does not depend on the dataset being installed */
    CHECK_OK(cn_report_write(RUN_DIR, tmp("r.html"), &cfg));
    char *h = read_file(tmp("r.html"));
    CHECK(h != NULL);
    if (!h) return;
    CHECK(!strncmp(h, "<!DOCTYPE html>", 15) && strstr(h, "</html>"));
    const char *sections[] = {"id=\"metrics\"", "id=\"curves\"",   "id=\"model\"",
                              "id=\"filters\"", "id=\"examples\"", "id=\"confusion\""};
    for (int i = 0; i < 6; i++) CHECK_MSG(strstr(h, sections[i]) != NULL, "no section %s", sections[i]);
    CHECK(strstr(h, "<svg xmlns") != NULL); /* curves inline */
    CHECK_EQ_INT(check_data_uris(h), 2);    /* the filter grids of c1 and c2 */
    CHECK(strstr(h, "<td>c2</td><td>conv</td><td>p1</td><td>1x16x10x10</td><td class=\"num\">3216</td>") != NULL);
    CHECK(strstr(h, "<th>top1</th><td>0.8475</td>") != NULL);
    CHECK(strstr(h, "<th>trouser</th>") != NULL); /* class names from the config */
    /* confusion matrix: 10 x 10 cells, the diagonal marked */
    int cells = 0, diag = 0;
    const char *cm = strstr(h, "<table class=\"cm\">");
    for (const char *p = cm; p && (p = strstr(p, "<td style=\"background:")); p++)
        cells++, diag += !strncmp(strchr(p, '"') + 1 + strcspn(strchr(p, '"') + 1, "\"") + 1, " class=\"diag\"", 13);
    CHECK_EQ_INT(cells, 100);
    CHECK_EQ_INT(diag, 10);
    /* self-contained: no scripts, no external resources */
    CHECK(!strstr(h, "<script"));
    for (const char *p = strstr(h, "src=\""); p; p = strstr(p + 1, "src=\"")) CHECK(!strncmp(p, "src=\"data:", 10));
    CHECK(!strstr(h, "href=\"http"));
    free(h);
    /* a run with only a model file and a log */
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "mkdir -p %s/partial && cp %s/model.cfg %s/log.jsonl %s/partial/", tmpdir, RUN_DIR,
             RUN_DIR, tmpdir);
    CHECK(system(cmd) == 0);
    CHECK_OK(cn_report_write(tmp("partial"), tmp("p.html"), NULL));
    h = read_file(tmp("p.html"));
    if (h) {
        CHECK(strstr(h, "Only model.cfg: no trained weights") && strstr(h, "No metrics.json"));
        CHECK_EQ_INT(check_data_uris(h), 0);
        free(h);
    }
    /* the dataset named in metrics.json is used for examples when it opens, and a note says so
     * when it does not */
    snprintf(cmd, sizeof cmd,
             "mkdir -p %s/auto && cp %s/weights.safetensors %s/auto/ && "
             "echo '{\"dataset\": \"nosuchdata/test\", \"top1\": 0.5}' > %s/auto/metrics.json",
             tmpdir, RUN_DIR, tmpdir, tmpdir);
    CHECK(system(cmd) == 0);
    CHECK_OK(cn_report_write(tmp("auto"), tmp("a.html"), NULL));
    h = read_file(tmp("a.html"));
    if (h) {
        CHECK(strstr(h, "metrics.json names the dataset 'nosuchdata', which could not be opened") != NULL);
        free(h);
    }
    if (access("/usr/share/datasets/fashion-mnist", F_OK) == 0) {
        CHECK_OK(cn_report_write(RUN_DIR, tmp("f.html"), NULL)); /* metrics.json: fashion-mnist/test[:2000] */
        h = read_file(tmp("f.html"));
        if (h) {
            CHECK_EQ_INT(check_data_uris(h), 2 + 16); /* filters, and 16 example images */
            CHECK(strstr(h, "Ankle boot") != NULL);
            free(h);
        }
    } else {
        printf("     (Fashion-MNIST is not installed: examples from metrics.json's dataset not tested)\n");
    }
    /* errors */
    CHECK_ERR(cn_report_write(tmp("nope"), tmp("x.html"), NULL), CN_STATUS_IO, "nope: cannot open the run directory");
    CHECK_ERR(cn_report_write(RUN_DIR "/log.jsonl", tmp("x.html"), NULL), CN_STATUS_INVALID_ARG, "not a directory");
    snprintf(cmd, sizeof cmd, "mkdir -p %s/empty", tmpdir);
    CHECK(system(cmd) == 0);
    CHECK_ERR(cn_report_write(tmp("empty"), tmp("x.html"), NULL), CN_STATUS_NOT_FOUND, "not a run directory");
    snprintf(cmd, sizeof cmd, "mkdir -p %s/badm && echo '[1,' > %s/badm/metrics.json", tmpdir, tmpdir);
    CHECK(system(cmd) == 0);
    CHECK_ERR(cn_report_write(tmp("badm"), tmp("x.html"), NULL), CN_STATUS_FORMAT, "metrics.json: not a JSON object");
    CHECK(access(tmp("x.html"), F_OK) != 0); /* nothing written on failure */
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/cn_test_viz_run_%d", (int)getpid());
    char cmd[400];
    snprintf(cmd, sizeof cmd, "mkdir -p %s", tmpdir);
    if (system(cmd) != 0) return 1;
    RUN(test_log);
    RUN(test_svg);
    RUN(test_png_plot);
    RUN(test_signal_plot);
    RUN(test_report);
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0) return 1;
    return cn_test_finish();
}
