/* grid.c — colour maps, and grids of tiles (filters, feature maps) as one RGB image. */
#include <math.h>
#include <string.h>

#include "convnet/viz.h"

/* anchor colours, evenly spaced on [0, 1]; linear interpolation between them */
static const unsigned char viridis[][3] = {
    {68, 1, 84},    {72, 40, 120},  {62, 74, 137},  {49, 104, 142}, {38, 130, 142},
    {31, 158, 137}, {53, 183, 121}, {109, 205, 89}, {180, 222, 44}, {253, 231, 37},
};
static const unsigned char diverging[][3] = {
    {33, 102, 172}, {103, 169, 207}, {209, 229, 240}, {247, 247, 247}, {253, 219, 199}, {239, 138, 98}, {178, 24, 43},
};
static const unsigned char heat[][3] = {
    {0, 0, 0}, {128, 0, 0}, {230, 40, 0}, {255, 150, 0}, {255, 230, 60}, {255, 255, 255},
};
static const unsigned char gray[][3] = {{0, 0, 0}, {255, 255, 255}};

static const char *const cmap_names[] = {"gray", "viridis", "diverging", "heat"};

const char *cn_colormap_name(cn_colormap cm) { return cm >= 0 && cm < CN_CMAP_COUNT_ ? cmap_names[cm] : "?"; }

cn_status cn_colormap_parse(cn_colormap *cm, const char *name)
{
    for (int i = 0; i < CN_CMAP_COUNT_; i++)
        if (!strcmp(name, cmap_names[i])) {
            *cm = (cn_colormap)i;
            return CN_OK;
        }
    return cn_set_error(CN_STATUS_INVALID_ARG, "unknown colour map '%s' (known: gray, viridis, diverging, heat)", name);
}

void cn_colormap_rgb(cn_colormap cm, double t, unsigned char rgb[3])
{
    const unsigned char(*tab)[3];
    int n;
    switch (cm) {
    case CN_CMAP_VIRIDIS: tab = viridis, n = (int)(sizeof viridis / sizeof viridis[0]); break;
    case CN_CMAP_DIVERGING: tab = diverging, n = (int)(sizeof diverging / sizeof diverging[0]); break;
    case CN_CMAP_HEAT: tab = heat, n = (int)(sizeof heat / sizeof heat[0]); break;
    default: tab = gray, n = 2; break;
    }
    if (isnan(t)) {
        rgb[0] = rgb[1] = rgb[2] = 128;
        return;
    }
    if (t < 0) t = 0;
    if (t > 1) t = 1;
    double f = t * (n - 1);
    int i = (int)f;
    if (i >= n - 1) i = n - 2;
    double u = f - i;
    for (int c = 0; c < 3; c++) rgb[c] = (unsigned char)lrint(tab[i][c] + u * (tab[i + 1][c] - tab[i][c]));
}

cn_grid_config cn_grid_defaults(void)
{
    cn_grid_config g;
    memset(&g, 0, sizeof g);
    g.gap = 2;
    g.scale = CN_GRID_SCALE_TILE;
    g.cmap = CN_CMAP_GRAY;
    g.bg[0] = g.bg[1] = g.bg[2] = 255;
    return g;
}

static void range_of(const float *v, int64_t n, double *lo, double *hi)
{
    double a = INFINITY, b = -INFINITY;
    for (int64_t i = 0; i < n; i++)
        if (isfinite(v[i])) {
            if (v[i] < a) a = v[i];
            if (v[i] > b) b = v[i];
        }
    if (a > b) a = b = 0;
    *lo = a, *hi = b;
}

cn_status cn_grid(cn_image *out, const float *tiles, int n, int tc, int th, int tw, const cn_grid_config *cfg)
{
    cn_grid_config d = cn_grid_defaults();
    if (!cfg) cfg = &d;
    if (n < 1 || th < 1 || tw < 1 || (tc != 1 && tc != 3))
        return cn_set_error(CN_STATUS_SHAPE, "grid: %d tiles of %d x %d x %d; need n, h, w >= 1 and 1 or 3 channels", n,
                            tc, th, tw);
    if (cfg->gap < 0 || cfg->gap > 64 || cfg->zoom < 0 || cfg->zoom > 64 || cfg->cols < 0)
        return cn_set_error(CN_STATUS_INVALID_ARG, "grid: gap %d, zoom %d or cols %d out of range", cfg->gap, cfg->zoom,
                            cfg->cols);
    int cols = cfg->cols ? cfg->cols : (int)ceil(sqrt((double)n));
    if (cols > n) cols = n;
    int rows = (n + cols - 1) / cols;
    int zoom = cfg->zoom;
    if (!zoom) {
        int side = th > tw ? th : tw;
        zoom = side >= 48 ? 1 : (48 + side - 1) / side;
        if (zoom > 16) zoom = 16;
    }
    int64_t W = (int64_t)cols * tw * zoom + (int64_t)(cols + 1) * cfg->gap;
    int64_t H = (int64_t)rows * th * zoom + (int64_t)(rows + 1) * cfg->gap;
    if (W > CN_IMAGE_MAX_SIDE || H > CN_IMAGE_MAX_SIDE || W * H > CN_GRID_MAX_PIXELS)
        return cn_set_error(
            CN_STATUS_LIMIT,
            "grid: %d tiles of %dx%d at zoom %d make a %lld x %lld image (max side %d, max %lld pixels)", n, th, tw,
            zoom, (long long)W, (long long)H, CN_IMAGE_MAX_SIDE, (long long)CN_GRID_MAX_PIXELS);
    cn_image im;
    memset(&im, 0, sizeof im);
    cn_status st = cn_image_alloc(&im, (int)W, (int)H, 3, 0);
    if (st != CN_OK) return st;
    for (int64_t p = 0; p < W * H; p++) memcpy(im.px + p * 3, cfg->bg, 3);
    int64_t tsize = (int64_t)tc * th * tw;
    int sym = cfg->scale == CN_GRID_SCALE_SYMMETRIC || cfg->scale == CN_GRID_SCALE_SYMMETRIC_ALL;
    int all = cfg->scale == CN_GRID_SCALE_ALL || cfg->scale == CN_GRID_SCALE_SYMMETRIC_ALL;
    double flat = sym ? 0.5 : 0.0; /* a constant tile: the colour of 0 (symmetric) or the low end */
    double glo, ghi;
    range_of(tiles, tsize * n, &glo, &ghi);
    for (int t = 0; t < n; t++) {
        const float *v = tiles + tsize * t;
        double lo = glo, hi = ghi;
        if (!all) range_of(v, tsize, &lo, &hi);
        if (sym) {
            double m = fmax(fabs(lo), fabs(hi));
            lo = -m, hi = m;
        }
        int x0 = cfg->gap + (t % cols) * (tw * zoom + cfg->gap), y0 = cfg->gap + (t / cols) * (th * zoom + cfg->gap);
        for (int y = 0; y < th; y++)
            for (int x = 0; x < tw; x++) {
                unsigned char rgb[3];
                if (tc == 1) {
                    double u = hi > lo ? (v[(int64_t)y * tw + x] - lo) / (hi - lo) : flat;
                    cn_colormap_rgb(cfg->cmap, u, rgb);
                } else {
                    for (int c = 0; c < 3; c++) {
                        double u = hi > lo ? (v[((int64_t)c * th + y) * tw + x] - lo) / (hi - lo) : flat;
                        if (!(u > 0)) u = 0;
                        if (u > 1) u = 1;
                        rgb[c] = (unsigned char)lrint(u * 255);
                    }
                }
                for (int zy = 0; zy < zoom; zy++)
                    for (int zx = 0; zx < zoom; zx++)
                        memcpy(im.px + ((int64_t)(y0 + y * zoom + zy) * W + x0 + x * zoom + zx) * 3, rgb, 3);
            }
    }
    cn_image_free(out);
    *out = im;
    return CN_OK;
}
